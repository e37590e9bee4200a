"""driftwise: when and how to rebalance a US portfolio.

A rebalancing rule is *when* (a trigger) + *what to* (a destination) + *how* (sizing,
constraints, execution). Metrics, costs, triggers and sizing are pure array functions
over ``(configurations, assets)``; the daily plan runs them with one configuration on one
day and the backtest with many configurations over many days.

The library API (``docs/api.md``), with the command line's defaults::

    import driftwise as dw
    inputs = dw.load()            # files or DataFrames; nothing given: the sample
    dw.monitor(inputs)            # drift, tracking error, drift speed, flags
    dw.plan(inputs)               # today's decision and trade list
    dw.backtest(inputs, ["monthly", "threshold"], thresholds=[0.05])
    dw.validate_rules()           # the methodology's insight rules on history
    dw.report(inputs, "report.html")

Its functions are imported on first use, so ``import driftwise`` stays light. Two of
them share a name with a subpackage (``driftwise.backtest``, ``driftwise.report``): the
package keeps those names for the functions when the subpackages are imported
(``from driftwise.report import write_report`` works as ever; the attribute
``driftwise.report`` is the function).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from driftwise.errors import ConfigError, DataError, DriftwiseError
from driftwise.flags import Flag, Notice

API = ("as_config", "backtest", "load", "monitor", "plan", "report", "validate_rules")
"""The library functions of :mod:`driftwise.api`, exported here on first use."""

__all__ = ["ConfigError", "DataError", "DriftwiseError", "Flag", "Notice", *API]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``driftwise.plan`` and the other API functions, imported when first asked for."""
    if name in API:
        from driftwise import api
        return getattr(api, name)
    raise AttributeError(f"module 'driftwise' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})


class _Package(types.ModuleType):
    """The package module, whose API names are not rebound to the modules of those names.

    Importing the subpackage ``driftwise.report`` would set the attribute
    ``driftwise.report`` to that module and hide the function; the import system's
    assignment is ignored instead, so :func:`__getattr__` keeps answering with the function.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
