"""Destinations: *what to* a rebalance trades, before costs and constraints.

FULL takes the traded assets to target (``u = t``), HALF halves each drift
(``u = w - d/2``), BAND_EDGE moves assets outside their band to its nearest edge
(``u = t + clip(d, -width, width)`` for ``|d| > width``), COST_CONSTRAINED trades only the
assets whose benefit (:func:`marginal_benefit`) exceeds a multiple of their cost
(``policy.cost_constrained_multiple``, :data:`COST_CONSTRAINED_MULTIPLE` = 2 by default:
the rule's "benefit > 2× cost"); under long-only ``u = max(u, 0)``.
:func:`driftwise.policy.sizing.size_trades` computes them (in its compiled kernel,
:func:`driftwise.policy._kernels.size_row`), lands the portfolio on them after costs and
applies the constraints.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._kernels import arg
from driftwise._types import TRADING_DAYS, FloatArray
from driftwise._types import Destination as Destination  # its public home
from driftwise.errors import ConfigError
from driftwise.policy import _kernels as _k

COST_CONSTRAINED_MULTIPLE = 2.0
"""Default multiple of its cost an asset's benefit must exceed under COST_CONSTRAINED."""


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
    the cost-benefit rule, one asset at a time). With ``TE^2 = d' S d`` the difference is
    ``2 d_i (S d)_i - S_ii d_i^2``; diagonal ``S`` gives ``d_i^2 sigma_i^2``.
    """
    d = arg(drift, dtype=np.float64)
    n_rows, n_assets = d.shape
    if cov_annual is None and vol_annual is None:
        raise ConfigError("cost-constrained sizing needs vol_annual or cov_annual")
    use_cov = cov_annual is not None
    vol = (np.zeros((n_rows, n_assets)) if vol_annual is None
           else arg(np.broadcast_to(vol_annual, (n_rows, n_assets)), dtype=np.float64))
    cov = (np.zeros((0, 0)) if cov_annual is None
           else arg(cov_annual, dtype=np.float64))
    out = np.empty((n_rows, n_assets))
    _k.benefit_rows(d, vol, cov, use_cov, per_row(gamma, n_rows), per_row(horizon_days, n_rows),
                    out)
    return out


def per_row(value: float | npt.ArrayLike, n_rows: int) -> FloatArray:
    """A scalar or (C,) parameter as a contiguous (C,) array."""
    if isinstance(value, float | int):
        return np.full(n_rows, float(value))
    return arg(np.broadcast_to(np.asarray(value, dtype=np.float64), (n_rows,)))
