"""driftwise: when and how to rebalance a US portfolio.

A rebalancing rule is *when* (a trigger) + *what to* (a destination) + *how* (sizing,
constraints, execution). Metrics, costs, triggers and sizing are pure array functions
over ``(configurations, assets)``; the daily plan runs them with one configuration on one
day and the backtest with many configurations over many days.
"""

from driftwise.errors import ConfigError, DataError, DriftwiseError
from driftwise.flags import Flag, Notice

__all__ = ["ConfigError", "DataError", "DriftwiseError", "Flag", "Notice"]
__version__ = "0.1.0"
