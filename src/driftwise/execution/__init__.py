"""Execution: schedule child orders, export orders, import fills.

- :func:`build_schedule`: TWAP / VWAP / POV child orders, multi-day spreading, expected
  impact cost and risk, with the Almgren–Chriss optimum for comparison.
- :func:`orders_frame`, :func:`write_orders_csv`, :func:`write_orders_json`,
  :func:`fix_new_order_single`: orders out.
- :func:`read_fills`, :func:`apply_fills`: fills in, holdings updated.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftwise.execution.fills import apply_fills, last_fill_date, read_fills
    from driftwise.execution.orders import (
        fix_new_order_single,
        orders_frame,
        write_orders_csv,
        write_orders_fix,
        write_orders_json,
    )
    from driftwise.execution.schedule import (
        ExecutionStyle,
        OrderType,
        Schedule,
        build_schedule,
    )

_MODULES = {"apply_fills": "fills", "last_fill_date": "fills", "read_fills": "fills",
            "fix_new_order_single": "orders", "orders_frame": "orders",
            "write_orders_csv": "orders", "write_orders_fix": "orders",
            "write_orders_json": "orders", "ExecutionStyle": "schedule",
            "OrderType": "schedule", "Schedule": "schedule", "build_schedule": "schedule"}
"""The module of this package defining each exported name: a name is imported with its
module when first asked for, so a plan, which schedules, does not load the fills' reader
(and the tax lots it brings)."""


def __getattr__(name: str) -> Any:
    """An exported name, imported from its module (:data:`_MODULES`) on first use."""
    if name in _MODULES:
        value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ExecutionStyle",
    "OrderType",
    "Schedule",
    "apply_fills",
    "build_schedule",
    "fix_new_order_single",
    "last_fill_date",
    "orders_frame",
    "read_fills",
    "write_orders_csv",
    "write_orders_fix",
    "write_orders_json",
]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
