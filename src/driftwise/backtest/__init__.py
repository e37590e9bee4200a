"""Backtest: the same rule and cost kernels over (configurations x assets), day by day.

:func:`run_backtest` simulates many configurations at once;
:func:`run_reference` is the plain per-configuration loop over the planner that the
engine is tested against; :mod:`~driftwise.backtest.policies` names the standard
policies; :class:`MarketHistory` holds the per-day market inputs shared by all.
"""

from driftwise.backtest.engine import BacktestResult, run_backtest
from driftwise.backtest.history import MarketHistory, build_history
from driftwise.backtest.policies import methodology_rules, policy_name, standard_policies
from driftwise.backtest.reference import run_reference

__all__ = [
           "BacktestResult",
           "MarketHistory",
           "build_history",
           "methodology_rules",
           "policy_name",
           "run_backtest",
           "run_reference",
           "standard_policies",
]
