"""Destinations: *what to* a rebalance trades (SPEC section 5), before costs and constraints.

FULL takes the traded assets to target, HALF halves each drift, BAND_EDGE moves assets
outside their band to its nearest edge, COST_CONSTRAINED trades only the assets whose
benefit (:func:`marginal_benefit`) exceeds twice their cost. :mod:`driftwise.policy.sizing`
lands the portfolio on these weights after costs and applies the constraints.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from driftwise.errors import ConfigError
from driftwise.policy.constraints import BoolArray, FloatArray

TRADING_DAYS = 252


class Destination(StrEnum):
    """Where a rebalance takes the traded assets (SPEC section 5)."""

    FULL = "full"
    HALF = "half"
    BAND_EDGE = "band_edge"
    COST_CONSTRAINED = "cost_constrained"


def per_config(value: float | FloatArray) -> float | FloatArray:
    """A scalar, or a (C,) array shaped (C, 1) to broadcast over assets."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr[:, None]


def marginal_benefit(drift: FloatArray, *, vol_annual: FloatArray | None = None,
                     cov_annual: FloatArray | None = None, gamma: float | FloatArray = 2.0,
                     horizon_days: float | FloatArray = float(TRADING_DAYS)) -> FloatArray:
    """Certainty-equivalent gain of bringing each asset alone back to target.

    Parameters
    ----------
    drift : ndarray, shape (C, N)
        ``d = w - t`` over the assets (fractions of NAV).
    vol_annual : ndarray, shape (N,), optional
        Annualized volatility; used when ``cov_annual`` is None.
    cov_annual : ndarray, shape (N, N), optional
        Annualized covariance.
    gamma : float or ndarray of shape (C,)
        Risk aversion.
    horizon_days : float or ndarray of shape (C,)
        Horizon H in trading days.

    Returns
    -------
    ndarray, shape (C, N)
        Benefit as a fraction of NAV (same units as a cost divided by NAV).

    Notes
    -----
    ``benefit_i = (gamma/2) (H/252) (TE^2(d) - TE^2(d with d_i = 0))`` (utility form of
    SPEC section 3.5, one asset at a time). With ``TE^2 = d' S d`` the difference is
    ``2 d_i (S d)_i - S_ii d_i^2``; diagonal ``S`` gives ``d_i^2 sigma_i^2``.
    """
    if cov_annual is None:
        if vol_annual is None:
            raise ConfigError("cost-constrained sizing needs vol_annual or cov_annual")
        q = drift * drift * (vol_annual * vol_annual)
    else:
        q = drift * (2.0 * (drift @ cov_annual) - np.diagonal(cov_annual) * drift)
    return np.asarray(per_config(gamma) * 0.5 * per_config(horizon_days) / TRADING_DAYS * q,
                      dtype=np.float64)


def destination_weights(weights: FloatArray, target: FloatArray, destination: Destination, *,
                        band_width: FloatArray | None = None, long_only: bool = True
                        ) -> tuple[FloatArray, BoolArray | None, BoolArray | None]:
    """Destination weight of every asset, before costs and constraints.

    Parameters
    ----------
    weights : ndarray, shape (C, N)
    target : ndarray, shape (C, N) or (N,)
    destination : Destination
    band_width : ndarray, shape (C, N) or (N,), optional
        Half-width of each asset's band (fraction of NAV); needed for BAND_EDGE.
    long_only : bool
        Clip destinations at 0.

    Returns
    -------
    dest : ndarray, broadcastable to (C, N)
        FULL and COST_CONSTRAINED ``t``; HALF ``w - d/2``; BAND_EDGE
        ``t + clip(d, -width, width)`` (equal to ``w`` inside the band).
    selected : ndarray of bool, shape (C, N), or None
        BAND_EDGE: the assets outside their band (``|d| > width``); None = every asset.
    clipped : ndarray of bool, or None
        Where long-only raised a negative destination to 0 (None when nowhere).
    """
    selected: BoolArray | None = None
    if destination is Destination.HALF:
        dest = 0.5 * (weights + target)
    elif destination is Destination.BAND_EDGE:
        if band_width is None:
            raise ConfigError("band-edge sizing needs band_width")
        d = weights - target
        dest = target + np.clip(d, -band_width, band_width)
        selected = np.abs(d) > band_width
    else:
        dest = target
    clipped: BoolArray | None = None
    if long_only:
        neg = dest < 0.0
        if neg.any():
            clipped = neg
            dest = np.maximum(dest, 0.0)
    return np.asarray(dest, dtype=np.float64), selected, clipped
