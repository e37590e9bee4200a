"""Names every module shares, defined once: array aliases, the trading year, the enums.

The compiled kernels read these values (a kernel freezes a global into its machine code),
so this module is one of the kernel sources whose change recompiles every kernel
(:mod:`driftwise._jit`).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

TRADING_DAYS = 252
"""Trading days in a year: annualizes daily volatility, borrow fees and horizons."""


class Destination(StrEnum):
    """Where a rebalance takes the traded assets."""

    FULL = "full"
    HALF = "half"
    BAND_EDGE = "band_edge"
    COST_CONSTRAINED = "cost_constrained"
    OPTIMIZED = "optimized"


class ImpactModel(StrEnum):
    """Which market-impact law to use."""

    SQUARE_ROOT = "square_root"
    ALMGREN_2005 = "almgren_2005"


# The names the configuration's fields take from the domains (re-exported there), defined
# here so that reading a configuration imports neither the execution nor the optimizer nor
# the triggers (``driftwise monitor`` uses none of them).


class CostBenefitForm(StrEnum):
    """How benefit is measured in the cost-benefit rule
    (:class:`driftwise.policy.triggers.CostBenefit`)."""

    RATIO = "ratio"
    UTILITY = "utility"


class ExecutionStyle(StrEnum):
    """How a parent order is sliced within a day (:mod:`driftwise.execution.schedule`)."""

    TWAP = "twap"
    VWAP = "vwap"
    POV = "pov"


class OrderType(StrEnum):
    """Order type of the child orders (``execution.order_type``)."""

    MARKET = "market"
    LIMIT = "limit"


class GroupBy(StrEnum):
    """The security master's column that groups assets for the optimizer's group bounds
    (:mod:`driftwise.policy.optimize`)."""

    SECTOR = "sector"
    ASSET_CLASS = "asset_class"


DEFAULT_GAMMA = 2.0
"""Default risk aversion γ of the optimizer (that of the cost-benefit benefit)."""
AUTO = "auto"
"""``gamma_trade = "auto"`` (the configuration's default):
:func:`driftwise.policy.optimize.auto_gamma_trade` of the row's target weights."""
