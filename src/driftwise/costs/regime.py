"""VIX regimes and the spread/impact multiplier they carry.

Regimes are half-open intervals of the VIX close: with the default breaks ``(20, 30)``,
``VIX < 20`` is calm, ``20 <= VIX < 30`` elevated and ``VIX >= 30`` stressed (a VIX equal
to a break belongs to the higher regime, matching the ``VIX >= 30`` of the stress rule).
The default multipliers ``1.0 / 1.5 / 2.5`` are **assumptions to sweep, not facts**: the
methodology's "2-3x normal" under stress has no public source.
"""

from __future__ import annotations

import bisect
import math
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray, IntArray
from driftwise.costs.params import CostParams


class VixRegime(IntEnum):
    """Regime index for the default three-regime split."""

    CALM = 0
    ELEVATED = 1
    STRESSED = 2


def vix_regime(vix: npt.ArrayLike, params: CostParams) -> IntArray:
    """Regime index of each VIX level (0 = lowest regime).

    Parameters
    ----------
    vix : float or array_like, shape (...)
        VIX close in index points. NaN maps to regime 0 (the caller flags the missing
        VIX with ``Flag.NO_VIX``).
    params : CostParams

    Returns
    -------
    ndarray of intp, shape (...)
    """
    level = np.asarray(vix, dtype=np.float64)
    index = np.searchsorted(np.asarray(params.vix_breaks), level, side="right")
    return np.asarray(np.where(np.isnan(level), 0, index), dtype=np.intp)


def regime_multiplier(vix: npt.ArrayLike | None, params: CostParams) -> FloatArray:
    """Multiplier of spread and impact for each VIX level.

    Parameters
    ----------
    vix : float, array_like of shape (...), or None
        VIX close; None (no VIX) and NaN give the lowest regime's multiplier.
    params : CostParams

    Returns
    -------
    ndarray, shape (...)
        ``params.vix_multipliers[regime]`` (a 0-d array for a scalar VIX).

    Notes
    -----
    spread and impact are multiplied by 1.0 below VIX 20, 1.5 for 20-30
    and 2.5 above 30 by default.
    """
    mults = params.vix_multipliers
    if vix is None:
        return np.asarray(float(mults[0]))
    if isinstance(vix, float | int):  # one day's VIX: no array work
        regime = 0 if math.isnan(vix) else bisect.bisect_right(params.vix_breaks, vix)
        return np.asarray(float(mults[regime]))
    return np.asarray(np.asarray(mults, dtype=np.float64)[vix_regime(vix, params)],
                      dtype=np.float64)


STRESS_CLAIM = (2.0, 3.0)
"""The methodology's claim for spreads and impact with VIX above 30: "2-3x normal"."""


def claim_verdict(low: float, high: float, claim: tuple[float, float] = STRESS_CLAIM) -> str:
    """A measured multiplier's interval ``[low, high]`` judged against a claimed range.

    ``supported`` when the interval lies inside the range, ``not supported`` when it lies
    wholly outside it (below its low end or above its high end), ``inconclusive`` when it
    straddles an end, or is undefined (NaN).
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return "inconclusive"
    if claim[0] <= low and high <= claim[1]:
        return "supported"
    if high < claim[0] or low > claim[1]:
        return "not supported"
    return "inconclusive"
