"""Estimate cost-model inputs from daily market data.

Every function takes arrays shaped ``(n_days, n_assets)`` in date order (oldest first,
already cut at the as-of date by the caller) and returns one value per asset from the
trailing window. NaN marks a missing observation; a window with fewer valid observations
than ``min_periods`` gives NaN, which the builder turns into a flagged fallback.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._kernels import arg
from driftwise._types import FloatArray
from driftwise.costs._kernels import rolling_mean
from driftwise.metrics._kernels import rolling_std


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _window_mean(values: FloatArray, window: int, min_periods: int) -> FloatArray:
    """Mean of the valid (finite) values of the last ``window`` rows, per column."""
    tail = values[-window:]
    valid = np.isfinite(tail)
    count = valid.sum(axis=0)
    total = np.where(valid, tail, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.asarray(np.where(count >= max(min_periods, 1), mean, np.nan), dtype=np.float64)


def _min_periods(window: int, min_periods: int | None) -> int:
    return window // 2 if min_periods is None else min_periods


def daily_volatility(prices: npt.ArrayLike, window: int = 20,
                     min_periods: int | None = None) -> FloatArray:
    """Daily volatility: standard deviation of the last ``window`` daily log returns.

    Parameters
    ----------
    prices : array_like, shape (n_days, n_assets)
        Adjusted close (USD), NaN where missing.
    window : int
        Number of trailing returns (20 or 60 in driftwise).
    min_periods : int, optional
        Fewest valid returns for an estimate (default ``window // 2``).

    Returns
    -------
    ndarray, shape (n_assets,)
        Sample standard deviation (``ddof = 1``) of ``log(p_t / p_{t-1})``; NaN when fewer
        than ``min_periods`` returns are valid. A return across a missing price is missing.
    """
    p = _f64(prices)[-(window + 1):]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.diff(np.log(np.where(p > 0.0, p, np.nan)), axis=0)
    valid = np.isfinite(r)
    count = valid.sum(axis=0)
    z = np.where(valid, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=0) / count
        ss = (np.where(valid, r - mean, 0.0) ** 2).sum(axis=0)
        sd = np.sqrt(ss / (count - 1))
    need = max(_min_periods(window, min_periods), 2)
    return np.asarray(np.where(count >= need, sd, np.nan), dtype=np.float64)


def adv_shares(volumes: npt.ArrayLike, window: int = 60,
               min_periods: int | None = None) -> FloatArray:
    """Average daily volume in shares over the last ``window`` days.

    Parameters
    ----------
    volumes : array_like, shape (n_days, n_assets)
        Split-adjusted shares traded (:func:`split_adjusted_volume` for raw data).
    window : int
        Trailing days (60 in driftwise).
    min_periods : int, optional
        Fewest valid days (default ``window // 2``).

    Returns
    -------
    ndarray, shape (n_assets,)
        Mean volume; zero-volume days count as missing (in the vendor data they are days
        with no trade recorded, mostly data gaps), NaN below ``min_periods`` valid days.
    """
    v = _f64(volumes)
    v = np.where(v > 0.0, v, np.nan)
    return _window_mean(v, window, _min_periods(window, min_periods))


def rolling_daily_volatility(prices: npt.ArrayLike, ends: npt.ArrayLike, window: int = 20,
                             min_periods: int | None = None) -> FloatArray:
    """:func:`daily_volatility` of the windows ending at each row of ``ends``, at once.

    Parameters
    ----------
    prices : array_like, shape (n_days, n_assets)
        Adjusted close (USD), NaN where missing.
    ends : array_like of int, shape (D,)
        Last row (the as-of day) of each window.
    window, min_periods
        As in :func:`daily_volatility`.

    Returns
    -------
    ndarray, shape (D, n_assets)
        Row ``d`` equals ``daily_volatility(prices[: ends[d] + 1], window, min_periods)``
        to the bit (for more than one asset): the log returns of the rows read, then one
        compiled pass per window (:func:`driftwise.metrics._kernels.rolling_std`).
    """
    p = _f64(prices)
    rows = np.asarray(ends, dtype=np.intp).reshape(-1)
    out = np.empty((len(rows), p.shape[1]))
    if not len(rows):
        return out
    lo = max(int(rows.min()) - window, 0)
    read = p[lo: int(rows.max()) + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.diff(np.log(np.where(read > 0.0, read, np.nan)), axis=0)
    # r[j] is the return ending at row lo + j + 1
    need = max(_min_periods(window, min_periods), 2)
    rolling_std(arg(r), arg(rows - lo - 1, np.int64), window, need, 1.0, out)
    return out


def rolling_adv_shares(volumes: npt.ArrayLike, ends: npt.ArrayLike, window: int = 60,
                       min_periods: int | None = None) -> FloatArray:
    """:func:`adv_shares` of the windows ending at each row of ``ends``, at once.

    Parameters
    ----------
    volumes : array_like, shape (n_days, n_assets)
        Split-adjusted shares traded.
    ends : array_like of int, shape (D,)
        Last row (the as-of day) of each window.
    window, min_periods
        As in :func:`adv_shares`.

    Returns
    -------
    ndarray, shape (D, n_assets)
        Row ``d`` equals ``adv_shares(volumes[: ends[d] + 1], window, min_periods)`` to
        the bit (for more than one asset): one compiled pass per window
        (:func:`driftwise.costs._kernels.rolling_mean`).
    """
    v = _f64(volumes)
    rows = np.asarray(ends, dtype=np.intp).reshape(-1)
    out = np.empty((len(rows), v.shape[1]))
    if not len(rows):
        return out
    lo = max(int(rows.min()) - window + 1, 0)
    read = v[lo: int(rows.max()) + 1]
    rolling_mean(arg(np.where(read > 0.0, read, np.nan)), arg(rows - lo, np.int64), window,
                 _min_periods(window, min_periods), out)
    return out


def adv_usd(close_usd: npt.ArrayLike, volumes: npt.ArrayLike, window: int = 60,
            min_periods: int | None = None) -> FloatArray:
    """Average daily traded value in USD, ``mean(close * volume)`` over ``window`` days.

    Parameters
    ----------
    close_usd : array_like, shape (n_days, n_assets)
        Close price of each day in the same share units as ``volumes`` (raw close with
        raw volume, or split-adjusted close with split-adjusted volume).
    volumes : array_like, shape (n_days, n_assets)
    window, min_periods
        As in :func:`adv_shares`.

    Returns
    -------
    ndarray, shape (n_assets,)
        Mean dollar volume (USD); zero-volume days missing.
    """
    v = _f64(volumes)
    value = _f64(close_usd) * np.where(v > 0.0, v, np.nan)
    return _window_mean(value, window, _min_periods(window, min_periods))


def spread_average_bps(spread_bps: npt.ArrayLike, window: int = 20,
                       min_periods: int | None = None) -> FloatArray:
    """Average quoted spread over the last ``window`` days.

    Parameters
    ----------
    spread_bps : array_like, shape (n_days, n_assets)
        Daily quoted bid-ask spread (full spread, bps of mid), NaN where unknown.
    window, min_periods
        Trailing days (20 in driftwise) and fewest valid days (default ``window // 2``).

    Returns
    -------
    ndarray, shape (n_assets,)
        Mean of the valid non-negative values; NaN below ``min_periods``.
    """
    s = _f64(spread_bps)
    s = np.where(s >= 0.0, s, np.nan)
    return _window_mean(s, window, _min_periods(window, min_periods))
