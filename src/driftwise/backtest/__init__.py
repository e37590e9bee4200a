"""Backtest: the same rule and cost kernels over (configurations x assets), day by day.

:func:`run_backtest` simulates a :class:`RuleGrid` (:func:`sweep` builds one from a rule
and its axes; :func:`driftwise.config.assemble.rule_grid` from configurations);
:class:`MarketHistory` holds the per-day market inputs shared by all. The package reads no
configuration. The engine's oracle, the planner run day by day, is
:func:`driftwise.app.reference.run_reference`.

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

_HOME = {
    "BacktestResult": "engine", "run_backtest": "engine", "RuleGrid": "grid", "sweep": "grid",
    "MarketHistory": "history", "build_history": "history",
}

__all__ = ["BacktestResult", "MarketHistory", "RuleGrid", "build_history", "run_backtest",
           "sweep"]


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'driftwise.backtest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"driftwise.backtest.{home}"), name)
