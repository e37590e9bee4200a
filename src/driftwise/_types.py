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
