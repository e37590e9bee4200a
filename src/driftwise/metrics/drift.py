"""Drift from target: portfolio and asset drift, tolerance bands, capping.

Every function is a pure function over arrays shaped ``(..., n_assets)``: the leading
axes are configurations (or dates) and broadcast. Weights are signed fractions of NAV
(negative = short); cash is its own scalar per portfolio, never a row.

The asset axis is the **union** of held and target tickers: an unheld target asset
enters with ``w_i = 0`` and a held non-target asset with ``t_i = 0``, so both count as
drifted. Aligning to that union is the caller's job.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from driftwise import _kernels
from driftwise._types import BoolArray, FloatArray
from driftwise.errors import ConfigError
from driftwise.metrics._kernels import mark_rows

DEFAULT_DRIFT_CAP = 0.5
"""Largest believable |d_i|; larger drifts are capped and flagged."""

DEFAULT_BAND_ABS = 0.05
"""Absolute band used when a row gives neither ``band_abs`` nor ``band_rel`` (5 points)."""

BAND_ATOL = 1e-12
"""Tolerance so that a drift equal to the band edge up to rounding counts as a breach."""


class BandMode(StrEnum):
    """How a per-asset tolerance band is computed from its parameters."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    LARGER = "larger"


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def asset_drift(weights: npt.ArrayLike, target_weights: npt.ArrayLike) -> FloatArray:
    """Per-asset drift ``d = w - t``.

    Parameters
    ----------
    weights : array_like, shape (..., n_assets)
        Current weights, fractions of NAV (signed; negative = short).
    target_weights : array_like, shape (..., n_assets)
        Target weights, fractions of NAV; broadcast against ``weights``.

    Returns
    -------
    ndarray, shape (..., n_assets)
        Drift in weight units (fractions of NAV); positive = overweight.
    """
    return np.asarray(_f64(weights) - _f64(target_weights), dtype=np.float64)


def portfolio_drift(
    weights: npt.ArrayLike,
    target_weights: npt.ArrayLike,
    cash_weight: npt.ArrayLike = 0.0,
    target_cash_weight: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Portfolio drift ``D = 1/2 (sum_i |w_i - t_i| + |w_cash - t_cash|)``.

    Parameters
    ----------
    weights, target_weights : array_like, shape (..., n_assets)
        Current and target weights over the union of held and target tickers.
    cash_weight, target_cash_weight : float or array_like, shape (...)
        Current and target cash weights, one per portfolio (broadcast over ``...``).

    Returns
    -------
    ndarray, shape (...)
        Drift as a fraction of NAV: 0 exactly on target, 1 when a long-only portfolio
        has nothing in common with its target. NaN weights propagate.

    Notes
    -----
    ``D = 1/2 sum_i |d_i|``. Cash counts as one more asset: with
    long-only weights that sum with cash to 1 on both sides, ``D`` is the total
    variation distance between two distributions, hence in ``[0, 1]``, and it is the
    one-way turnover of a full rebalance. Leaving cash out would make a portfolio
    that holds 10% cash against a fully invested target look only 5% off. With
    shorts the absolute values still count every gross deviation, so ``D`` may
    exceed 1 (gross exposure above 1).
    """
    d = asset_drift(weights, target_weights)
    cash_d = _f64(cash_weight) - _f64(target_cash_weight)
    return np.asarray(0.5 * (np.sum(np.abs(d), axis=-1) + np.abs(cash_d)), dtype=np.float64)


def mark_to_market(shares: FloatArray, prices_usd: FloatArray, cash_usd: FloatArray,
                   target_weights: FloatArray, target_cash_weight: float,
                   ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weights, NAV and portfolio drift of share holdings at one or more days' closes.

    Parameters
    ----------
    shares : ndarray, shape (C, N)
        Shares held by C portfolios (signed).
    prices_usd : ndarray, shape (N,) or (K, N)
        Closes of one day or of K days.
    cash_usd : ndarray, shape (C,)
    target_weights : ndarray, shape (N,)
    target_cash_weight : float

    Returns
    -------
    weights : ndarray, shape (C, N) or (K, C, N)
        ``w = shares * price / NAV``.
    nav_usd : ndarray, shape (C,) or (K, C)
        ``NAV = sum_i shares_i * price_i + cash``.
    drift : ndarray, shape (C,) or (K, C)
        :func:`portfolio_drift` of ``w`` and ``cash / NAV`` against the target.

    Notes
    -----
    One compiled pass per portfolio and day (:func:`driftwise.metrics._kernels.mark_row`: the
    backtest's mark to market, step 1 of its day, and the drift its triggers read),
    instead of the ten array passes of the same formulas in numpy; its sums follow
    numpy's order, so it equals them to the bit (``tests/metrics/test_drift.py``).
    """
    one_day = prices_usd.ndim == 1
    prices = _kernels.arg(prices_usd[None, :] if one_day else prices_usd, dtype=np.float64)
    held = _kernels.arg(shares, dtype=np.float64)
    n_days, (n_rows, n_assets) = prices.shape[0], held.shape
    weights = np.empty((n_days, n_rows, n_assets))
    nav = np.empty((n_days, n_rows))
    drift = np.empty((n_days, n_rows))
    mark_rows(held, prices, _kernels.arg(cash_usd, dtype=np.float64),
              _kernels.arg(target_weights, dtype=np.float64),
              float(target_cash_weight), weights, nav, drift)
    if one_day:
        return weights[0], nav[0], drift[0]
    return weights, nav, drift


def _check_codes(group_codes: npt.ArrayLike, n_assets: int, n_groups: int) -> npt.NDArray[np.intp]:
    codes = np.asarray(group_codes)
    if codes.ndim != 1 or codes.shape[0] != n_assets:
        raise ConfigError(
            f"group_codes must have one code per asset: expected shape ({n_assets},), "
            f"found {codes.shape}"
        )
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise ConfigError(f"group_codes must be integers, found dtype {codes.dtype}")
    if n_groups < 1:
        raise ConfigError(f"n_groups must be at least 1, found {n_groups}")
    if codes.size and (codes.min() < 0 or codes.max() >= n_groups):
        raise ConfigError(
            f"group_codes must lie in [0, {n_groups}), found {codes.min()}..{codes.max()}"
        )
    return codes.astype(np.intp)


def group_weights(weights: npt.ArrayLike, group_codes: npt.ArrayLike, n_groups: int) -> FloatArray:
    """Sum asset weights per group (sector or asset class).

    Parameters
    ----------
    weights : array_like, shape (..., n_assets)
        Asset weights, fractions of NAV.
    group_codes : array_like of int, shape (n_assets,)
        Group of each asset, in ``[0, n_groups)``.
    n_groups : int
        Number of groups; groups with no asset get weight 0.

    Returns
    -------
    ndarray, shape (..., n_groups)
        Group weights. A NaN weight makes only its own group NaN.

    Raises
    ------
    ConfigError
        If ``group_codes`` has the wrong shape, is not integer or is out of range.
    """
    w = _f64(weights)
    codes = _check_codes(group_codes, w.shape[-1], n_groups)
    lead = w.shape[:-1]
    flat = w.reshape(-1, w.shape[-1])
    out = np.zeros((n_groups, flat.shape[0]), dtype=np.float64)
    np.add.at(out, codes, flat.T)
    return np.asarray(out.T.reshape(*lead, n_groups), dtype=np.float64)


def group_drift(
    weights: npt.ArrayLike,
    group_target_weights: npt.ArrayLike,
    group_codes: npt.ArrayLike,
    n_groups: int | None = None,
) -> FloatArray:
    """Drift of each group's weight from its target (group-level targets).

    Parameters
    ----------
    weights : array_like, shape (..., n_assets)
        Asset weights, fractions of NAV.
    group_target_weights : array_like, shape (..., n_groups)
        Target weight per group.
    group_codes : array_like of int, shape (n_assets,)
        Group of each asset, in ``[0, n_groups)``.
    n_groups : int, optional
        Number of groups; must equal the last dimension of ``group_target_weights``
        (which is the default).

    Returns
    -------
    ndarray, shape (..., n_groups)
        ``W_g - T_g`` with ``W_g`` the summed weight of group ``g``. Moves inside a group
        do not count. :func:`group_portfolio_drift` gives the portfolio figure.
    """
    target = _f64(group_target_weights)
    if n_groups is not None and n_groups != target.shape[-1]:
        raise ConfigError(
            f"n_groups ({n_groups}) differs from the number of group targets ({target.shape[-1]})"
        )
    return asset_drift(group_weights(weights, group_codes, target.shape[-1]), target)


def group_portfolio_drift(
    weights: npt.ArrayLike,
    group_target_weights: npt.ArrayLike,
    group_codes: npt.ArrayLike,
    cash_weight: npt.ArrayLike = 0.0,
    target_cash_weight: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Portfolio drift measured on group weights, shape (...).

    ``1/2 (sum_g |W_g - T_g| + |w_cash - t_cash|)``: :func:`portfolio_drift` applied to
    :func:`group_weights`; parameters as in :func:`group_drift` and
    :func:`portfolio_drift`. It never exceeds the asset-level drift against asset
    targets whose group sums are these group targets (triangle inequality).
    """
    target = _f64(group_target_weights)
    grouped = group_weights(weights, group_codes, target.shape[-1])
    return portfolio_drift(grouped, target, cash_weight, target_cash_weight)


def cap_drift(d: npt.ArrayLike, cap: float = DEFAULT_DRIFT_CAP) -> tuple[FloatArray, BoolArray]:
    """Cap implausible per-asset drifts.

    Parameters
    ----------
    d : array_like, shape (..., n_assets)
        Per-asset drift, fractions of NAV.
    cap : float
        Largest believable ``|d_i|``; default 0.5.

    Returns
    -------
    capped_d : ndarray, shape (..., n_assets)
        ``sign(d_i) * min(|d_i|, cap)``; NaN stays NaN.
    capped_mask : ndarray of bool, shape (..., n_assets)
        True where ``|d_i| > cap``: a probable data error or unhandled corporate
        action, to be reported with ``Flag.DRIFT_CAPPED``.

    Raises
    ------
    ConfigError
        If ``cap`` is not positive.
    """
    if not cap > 0.0:
        raise ConfigError(f"drift cap must be positive, found {cap}")
    x = _f64(d)
    mask = np.abs(x) > cap
    return np.asarray(np.clip(x, -cap, cap), dtype=np.float64), np.asarray(mask, dtype=np.bool_)


def _given(x: FloatArray, name: str) -> FloatArray:
    if np.any(x < 0.0):
        raise ConfigError(f"{name} must be non-negative (NaN = not given), found {x[x < 0.0][0]}")
    return x


def band_width(
    target_weights: npt.ArrayLike,
    band_abs: npt.ArrayLike = np.nan,
    band_rel: npt.ArrayLike = np.nan,
    mode: BandMode | str = BandMode.LARGER,
    default_band_abs: float = DEFAULT_BAND_ABS,
) -> FloatArray:
    """Half-width of each asset's tolerance band around its target.

    Parameters
    ----------
    target_weights : array_like, shape (..., n_assets)
        Target weights, fractions of NAV.
    band_abs : float or array_like, broadcastable to (..., n_assets)
        Absolute band in weight units (0.05 = five points); NaN = not given.
    band_rel : float or array_like, broadcastable to (..., n_assets)
        Relative band as a fraction of the target (0.25 = 25% of ``t_i``); NaN = not given.
    mode : BandMode or str
        ``ABSOLUTE``: ``band_abs``; ``RELATIVE``: ``band_rel * |t_i|``;
        ``LARGER``: ``max(band_abs, band_rel * |t_i|)``.
    default_band_abs : float
        Absolute band used where the parameter the mode needs is not given.

    Returns
    -------
    ndarray, shape (..., n_assets)
        Band half-width in weight units, never NaN for finite targets.

    Raises
    ------
    ConfigError
        Unknown mode, or a negative band parameter.

    Notes
    -----
    bands are absolute, relative, or ``max(abs, rel * t_i)``, and never
    divide by a zero target. A relative band multiplies the target, so a zero target
    gets a zero-width relative band: any holding of a non-target asset breaches it.
    Fallbacks: ``ABSOLUTE`` without ``band_abs`` and ``RELATIVE`` without ``band_rel``
    use ``default_band_abs``; ``LARGER`` uses ``default_band_abs`` for a missing
    ``band_abs`` and ignores a missing ``band_rel``.
    """
    try:
        mode = BandMode(mode)
    except ValueError:
        raise ConfigError(
            f"unknown band mode {mode!r}; expected one of {[m.value for m in BandMode]}"
        ) from None
    if not default_band_abs >= 0.0:
        raise ConfigError(f"default_band_abs must be non-negative, found {default_band_abs}")
    t = np.abs(_f64(target_weights))
    abs_ = _given(_f64(band_abs), "band_abs")
    rel = _given(_f64(band_rel), "band_rel")
    abs_eff = np.where(np.isnan(abs_), default_band_abs, abs_)
    rel_width = rel * t
    if mode is BandMode.ABSOLUTE:
        width = abs_eff + 0.0 * t
    elif mode is BandMode.RELATIVE:
        width = np.where(np.isnan(rel_width), default_band_abs, rel_width)
    else:
        width = np.where(np.isnan(rel_width), abs_eff, np.maximum(abs_eff, rel_width))
    return np.asarray(width, dtype=np.float64)


def outside_band(d: npt.ArrayLike, width: npt.ArrayLike, atol: float = BAND_ATOL) -> BoolArray:
    """Whether each asset's drift breaches its band.

    Parameters
    ----------
    d : array_like, shape (..., n_assets)
        Per-asset drift, fractions of NAV.
    width : array_like, broadcastable to (..., n_assets)
        Band half-widths from :func:`band_width`.
    atol : float
        Rounding tolerance at the band edge.

    Returns
    -------
    ndarray of bool, shape (..., n_assets)
        True where ``|d_i| >= width_i - atol`` and ``|d_i| > atol``. A drift on the
        edge is a breach (triggers use ``>=``); an asset on target never is, even
        with a zero-width band. NaN drift or width gives False (the caller flags NaN).
    """
    a = np.abs(_f64(d))
    w = _f64(width)
    return np.asarray((a >= w - atol) & (a > atol), dtype=np.bool_)


def relative_drift(d: npt.ArrayLike, target_weights: npt.ArrayLike) -> FloatArray:
    """Drift relative to the target, ``d_i / |t_i|``, for display only.

    Parameters
    ----------
    d : array_like, shape (..., n_assets)
        Per-asset drift, fractions of NAV.
    target_weights : array_like, shape (..., n_assets)
        Target weights.

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``d_i / |t_i|`` where ``t_i != 0`` (0.25 = 25% above target); NaN where
        ``t_i == 0``.

    Notes
    -----
    Relative drift is undefined at a zero target, so it is **never** used for
    decisions there: bands use :func:`band_width`, which multiplies instead of
    dividing. Dividing by ``|t_i|`` keeps the sign of ``d_i`` meaningful for short
    targets (positive = above target).
    """
    x = _f64(d)
    t = np.abs(_f64(target_weights))
    safe = np.where(t > 0.0, t, 1.0)
    with np.errstate(over="ignore"):  # a tiny target gives +-inf, not a warning
        ratio = x / safe
    return np.asarray(np.where(t > 0.0, ratio, np.nan), dtype=np.float64)
