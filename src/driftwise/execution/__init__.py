"""Execution: schedule child orders, export orders, import fills.

- :func:`build_schedule`: TWAP / VWAP / POV child orders, multi-day spreading, expected
  impact cost and risk, with the Almgren–Chriss optimum for comparison.
- :func:`orders_frame`, :func:`write_orders_csv`, :func:`write_orders_json`,
  :func:`fix_new_order_single`: orders out.
- :func:`read_fills`, :func:`apply_fills`: fills in, holdings updated.
"""

from driftwise.execution.fills import apply_fills, last_fill_date, read_fills
from driftwise.execution.orders import (
    fix_new_order_single,
    orders_frame,
    write_orders_csv,
    write_orders_fix,
    write_orders_json,
)
from driftwise.execution.schedule import ExecutionStyle, OrderType, Schedule, build_schedule

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
