"""Liquidity days."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray
from driftwise.errors import ConfigError, DataError
from driftwise.metrics._kernels import liquidity_days_flat

DEFAULT_PARTICIPATION = 0.10
"""Default share of average daily volume a trade may take (10%, a common POV cap)."""


def liquidity_days(
    trade_shares: npt.ArrayLike,
    adv_shares: npt.ArrayLike,
    participation: float | npt.ArrayLike = DEFAULT_PARTICIPATION,
) -> FloatArray:
    """Trading days needed to execute a trade at a participation cap.

    Parameters
    ----------
    trade_shares : array_like, shape (..., n_assets)
        Signed trade in shares (the sign is ignored).
    adv_shares : array_like, shape (..., n_assets)
        Average daily volume in shares.
    participation : float or array_like, broadcastable
        Fraction of ADV the trade may take per day, in (0, 1].

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``|trade_shares| / (participation * adv_shares)``; 0 for a zero trade, ``inf``
        for a non-zero trade with zero ADV, NaN where ADV is unknown (NaN).

    Raises
    ------
    ConfigError
        If a participation is not in (0, 1].
    DataError
        If an ADV is negative.

    Notes
    -----
    ``liquidity_days = |trade_shares| / (participation * ADV_shares)``.
    """
    q = np.abs(np.asarray(trade_shares, dtype=np.float64))
    adv = np.asarray(adv_shares, dtype=np.float64)
    part = np.asarray(participation, dtype=np.float64)
    ok = (part > 0.0) & (part <= 1.0)
    if not (ok if part.ndim == 0 else ok.all()):
        bad = part[~ok][0] if part.ndim else part
        raise ConfigError(f"participation must lie in (0, 1], found {bad}")
    if (adv < 0.0).any():
        raise DataError(
            "average daily volume must be non-negative",
            field="adv_shares",
            expected="shares >= 0",
            found=str(adv[adv < 0.0][0]),
        )
    shape = np.broadcast_shapes(q.shape, adv.shape, part.shape)
    out = np.empty(shape)
    trade, volume, rate = (np.array(np.broadcast_to(a, shape), dtype=np.float64).reshape(-1)
                           for a in (q, adv, part))  # copies
    liquidity_days_flat(trade, volume, rate, out.reshape(-1))
    return out
