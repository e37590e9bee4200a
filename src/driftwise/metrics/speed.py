"""Drift speed and estimated days to a threshold breach.

Volatilities are annualized fractions, covariances annualized ``(n_assets, n_assets)``,
weights fractions of NAV shaped ``(..., n_assets)`` with a leading configurations axis.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from driftwise._types import TRADING_DAYS, FloatArray
from driftwise.errors import ConfigError

"""Trading days per year."""

HALF_MEAN_ABS_NORMAL = 0.5 * math.sqrt(2.0 / math.pi)
"""``1/2 * E|Z|`` for a standard normal ``Z``: turns sum of stds into expected ``D``."""


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def drift_speed(vol_annual: npt.ArrayLike, days_since_rebalance: npt.ArrayLike) -> FloatArray:
    """Expected absolute drift scale per asset, ``sigma_i * sqrt(days / 252)``.

    Parameters
    ----------
    vol_annual : array_like, shape (..., n_assets)
        Annualized volatility per asset.
    days_since_rebalance : float or array_like, shape (...)
        Trading days since the last rebalance, one per portfolio (configuration);
        NaN when unknown.

    Returns
    -------
    ndarray, shape (..., n_assets)
        Drift speed (annual volatility scaled to the elapsed time).

    Raises
    ------
    ConfigError
        If a number of days is negative.
    """
    days = _f64(days_since_rebalance)
    if np.any(days < 0.0):
        raise ConfigError(f"days_since_rebalance must be non-negative, found {days[days < 0][0]}")
    return np.asarray(_f64(vol_annual) * np.sqrt(days / TRADING_DAYS)[..., np.newaxis])


def percentile_rank(x: npt.ArrayLike) -> FloatArray:
    """Percentile rank along the last axis, ``average_rank / n_valid``.

    Parameters
    ----------
    x : array_like, shape (..., n_assets)
        Values to rank (e.g. drift speeds); NaN = not ranked.

    Returns
    -------
    ndarray, shape (..., n_assets)
        In ``(0, 1]``: the largest value gets 1.0, ties share their average rank, a
        single asset gets 1.0, NaN stays NaN and does not count in ``n_valid``. This
        is ``pandas.Series.rank(pct=True)``.
    """
    v = _f64(x)
    if v.shape[-1] == 0:
        return v.copy()
    valid = ~np.isnan(v)
    n = valid.sum(axis=-1, keepdims=True)
    ranks = _average_ranks(np.where(valid, v, np.inf))
    return np.asarray(np.where(valid, ranks / np.maximum(n, 1), np.nan), dtype=np.float64)


def _average_ranks(v: FloatArray) -> FloatArray:
    """1-based ranks along the last axis, ties sharing their average rank.

    The same as ``scipy.stats.rankdata(method="average", axis=-1)`` (the tests' oracle),
    written here because importing ``scipy.stats`` costs about a second per command.
    """
    flat = v.reshape(-1, v.shape[-1])
    out = np.empty_like(flat)
    for row, values in enumerate(flat):
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        # start of each run of equal values, and the average 1-based rank of each run
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], ordered.size]
        run = np.repeat(np.arange(starts.size), ends - starts)
        out[row, order] = ((starts + ends + 1) / 2.0)[run]
    return out.reshape(v.shape)


def relative_volatility(cov: npt.ArrayLike, target_weights: npt.ArrayLike) -> FloatArray:
    """Volatility of each asset's return relative to the target portfolio's.

    Parameters
    ----------
    cov : array_like, shape (n_assets, n_assets) or (..., n_assets, n_assets)
        Annualized covariance of asset returns (cash has zero variance, not a row).
    target_weights : array_like, shape (..., n_assets)
        Target weights; the target portfolio return is ``r_p = sum_i t_i r_i``
        (cash earns a riskless 0 in excess terms).

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``std(r_i - r_p) = sqrt(S_ii - 2 (S t)_i + t^T S t)``, annualized; rounding
        negatives clipped to 0.
    """
    s = _f64(cov)
    t = _f64(target_weights)
    st = np.einsum("...ij,...j->...i", s, t)
    tst = np.einsum("...i,...i->...", t, st)
    var = np.diagonal(s, axis1=-2, axis2=-1) - 2.0 * st + tst[..., np.newaxis]
    return np.asarray(np.sqrt(np.maximum(var, 0.0)), dtype=np.float64)


def drift_rate(
    target_weights: npt.ArrayLike,
    rel_vol: npt.ArrayLike,
    target_cash_weight: npt.ArrayLike = 0.0,
    portfolio_vol_annual: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Expected portfolio drift one year after a rebalance to target, ``v``.

    Parameters
    ----------
    target_weights : array_like, shape (..., n_assets)
        Target weights.
    rel_vol : array_like, shape (..., n_assets)
        :func:`relative_volatility` (annualized).
    target_cash_weight : float or array_like, shape (...)
        Target cash weight; cash drifts by ``-t_cash * r_p``.
    portfolio_vol_annual : float or array_like, shape (...)
        Volatility of the target portfolio, ``sqrt(t^T S t)`` (needed only with cash).

    Returns
    -------
    ndarray, shape (...)
        ``v = 1/2 sqrt(2/pi) (sum_i |t_i| rel_vol_i + |t_cash| sigma_p)``, a fraction
        of NAV per ``sqrt(year)``.

    Notes
    -----
    After a horizon ``tau`` from target, weight ``i`` is
    ``t_i (1 + r_i) / (1 + r_p) ~= t_i (1 + r_i - r_p)``, so ``d_i ~= t_i (r_i - r_p)``
    with standard deviation ``|t_i| rel_vol_i sqrt(tau)``. For a normal ``X``,
    ``E|X| = sqrt(2/pi) std(X)``, and the expectation of ``D = 1/2 sum |d_i|`` is the
    sum of the expectations. Approximations: first order in returns (weights move
    little), normal returns over the horizon, mean returns ignored (they add a
    deterministic drift of order ``tau`` against the ``sqrt(tau)`` diffusion).
    """
    t = np.abs(_f64(target_weights))
    total = np.sum(t * _f64(rel_vol), axis=-1)
    total = total + np.abs(_f64(target_cash_weight)) * _f64(portfolio_vol_annual)
    return np.asarray(HALF_MEAN_ABS_NORMAL * total, dtype=np.float64)


def days_to_breach(
    current_drift: npt.ArrayLike, threshold: npt.ArrayLike, rate: npt.ArrayLike
) -> FloatArray:
    """Estimated trading days until portfolio drift reaches a threshold.

    Parameters
    ----------
    current_drift : float or array_like, shape (...)
        Current portfolio drift ``D0`` (fraction of NAV).
    threshold : float or array_like, shape (...)
        Drift threshold ``h`` (fraction of NAV), non-negative.
    rate : float or array_like, shape (...)
        Drift rate ``v`` from :func:`drift_rate`, non-negative.

    Returns
    -------
    ndarray, shape (...)
        ``252 (h^2 - D0^2) / v^2``; 0 if ``D0 >= h``; ``inf`` if ``v == 0`` and
        ``D0 < h``; NaN if an input is NaN.

    Notes
    -----
    Diffusion assumption: drift grows like a random walk, ``D(tau)^2 = D0^2 +
    v^2 tau / 252`` (tau in trading days), i.e. the drift accumulated from now adds in
    quadrature to the drift already present. From target (``D0 = 0``) this is the
    expected drift ``v sqrt(tau / 252)`` of :func:`drift_rate`.
    """
    d0 = _f64(current_drift)
    h = _f64(threshold)
    v = _f64(rate)
    if np.any(h < 0.0):
        raise ConfigError(f"threshold must be non-negative, found {h[h < 0.0][0]}")
    if np.any(v < 0.0):
        raise ConfigError(f"drift rate must be non-negative, found {v[v < 0.0][0]}")
    with np.errstate(divide="ignore", invalid="ignore"):
        days = TRADING_DAYS * (h**2 - d0**2) / v**2
    days = np.where(v == 0.0, np.inf, days)
    days = np.where(d0 >= h, 0.0, days)
    nan = np.isnan(d0) | np.isnan(h) | np.isnan(v)
    return np.asarray(np.where(nan, np.nan, days), dtype=np.float64)
