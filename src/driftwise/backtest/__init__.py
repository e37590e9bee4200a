"""Backtest: the same rule and cost kernels over (configurations x assets), day by day.

:func:`run_backtest` simulates a :class:`RuleGrid` (:func:`sweep` builds one from a rule
and its axes); :func:`run_reference` is the plain per-configuration loop over the planner
that the engine is tested against; :mod:`~driftwise.backtest.policies` names the standard
policies; :class:`MarketHistory` holds the per-day market inputs shared by all.

The names are imported on first use, so that importing a submodule (the rule grid, the
history) does not import the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftwise.backtest.engine import BacktestResult, run_backtest
    from driftwise.backtest.grid import RuleGrid, sweep
    from driftwise.backtest.history import MarketHistory, build_history
    from driftwise.backtest.policies import methodology_rules, policy_name, standard_policies
    from driftwise.backtest.reference import run_reference

_HOME = {
    "BacktestResult": "engine", "run_backtest": "engine", "RuleGrid": "grid", "sweep": "grid",
    "MarketHistory": "history", "build_history": "history",
    "methodology_rules": "policies", "policy_name": "policies", "standard_policies": "policies",
    "run_reference": "reference",
}

__all__ = ["BacktestResult", "MarketHistory", "RuleGrid", "build_history", "methodology_rules",
           "policy_name", "run_backtest", "run_reference", "standard_policies", "sweep"]


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'driftwise.backtest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"driftwise.backtest.{home}"), name)
