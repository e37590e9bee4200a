"""Compiled metric kernels (numba): the mark to market
(:func:`driftwise.metrics.drift.mark_to_market`), the liquidity days
(:func:`driftwise.metrics.liquidity.liquidity_days`) and the rolling volatility of the
backtest's per-day inputs (:func:`rolling_std`)."""

from __future__ import annotations

import numpy as np

from driftwise._jit import kernel
from driftwise._kernels import total, window_sum
from driftwise._types import FloatArray, IntArray

# ------------------------------------------------------------ mark to market


@kernel
def mark_row(shares: FloatArray, prices: FloatArray, cash: float, target: FloatArray,
             target_cash: float, weights: FloatArray, gaps: FloatArray) -> tuple[float, float]:
    """Weights (written to ``weights``), NAV and portfolio drift of one portfolio at one
    close (the formulas of :func:`driftwise.metrics.drift.mark_to_market`).

    The sums are numpy's (:func:`total`), so the result does not depend on where the
    arrays sit in memory and equals the numpy formulas to the bit; ``gaps`` is scratch.
    """
    n = shares.shape[0]
    for i in range(n):
        weights[i] = shares[i] * prices[i]
    nav = total(weights) + cash
    for i in range(n):
        w = weights[i] / nav
        weights[i] = w
        gaps[i] = abs(w - target[i])
    return nav, 0.5 * (total(gaps) + abs(cash / nav - target_cash))


@kernel
def mark_rows(shares: FloatArray, prices: FloatArray, cash: FloatArray, target: FloatArray,
              target_cash: float, weights: FloatArray, nav: FloatArray,
              drift: FloatArray) -> None:
    """:func:`mark_row` for every portfolio (C, N) at every close (K, N)."""
    gaps = np.empty(shares.shape[1])
    for k in range(prices.shape[0]):
        for c in range(shares.shape[0]):
            nav[k, c], drift[k, c] = mark_row(shares[c], prices[k], cash[c], target,
                                              target_cash, weights[k, c], gaps)

# ----------------------------------------------------------------- liquidity


@kernel
def liquidity_day(quantity: float, adv: float, participation: float) -> float:
    """Trading days for ``quantity`` shares (unsigned) at ``participation`` of ``adv``:
    0 for no trade, inf for a trade on zero volume, NaN for an unknown (NaN) volume."""
    if quantity == 0.0:
        return 0.0
    return quantity / (participation * adv)


@kernel
def liquidity_days_flat(trade: FloatArray, adv: FloatArray, participation: FloatArray,
                        out: FloatArray) -> None:
    """:func:`liquidity_day` of signed trades, element by element (flattened arrays)."""
    for i in range(trade.shape[0]):
        out[i] = liquidity_day(abs(trade[i]), adv[i], participation[i])

# ------------------------------------------------------- rolling volatility


@kernel
def rolling_std(values: FloatArray, ends: IntArray, window: int, min_periods: int,
                scale: float, out: FloatArray) -> None:
    """Sample standard deviation (``ddof = 1``) of each column of ``values`` (R, N) over
    the trailing ``window`` rows ending at each row of ``ends`` (D,), times ``sqrt(scale)``,
    written to ``out`` (D, N).

    The formula of :func:`driftwise.metrics.risk.annualized_volatility` (``scale`` 252)
    and :func:`driftwise.costs.daily_volatility` (``scale`` 1) on ``values[e - window + 1 :
    e + 1]``: non-finite values are missing; NaN where fewer than ``min_periods`` (at least
    2) are valid; rows before the first are missing. The mean and the sum of squared
    deviations add the window's rows oldest first, one after the other, as numpy's
    ``sum(axis=0)`` of a ``(window, N)`` array (N > 1) does, so each value equals the
    numpy function's to the bit.
    """
    n_assets = values.shape[1]
    count = np.empty(n_assets, dtype=np.int64)
    acc = np.empty(n_assets)
    mean = np.empty(n_assets)
    for d in range(ends.shape[0]):
        hi = ends[d] + 1
        lo = max(hi - window, 0)
        window_sum(values, lo, hi, count, acc)
        for i in range(n_assets):
            mean[i] = acc[i] / max(count[i], 2)
            acc[i] = 0.0
        for r in range(lo, hi):
            for i in range(n_assets):
                x = values[r, i]
                if np.isfinite(x):
                    dev = x - mean[i]
                    acc[i] += dev * dev
        for i in range(n_assets):
            n = count[i]
            out[d, i] = np.sqrt(acc[i] / (n - 1) * scale) if n >= min_periods else np.nan


# ------------------------------------------------------- rolling covariance


@kernel
def rolling_covariance(values: FloatArray, ends: IntArray, window: int, min_periods: int,
                       span: int, scale: float, out: FloatArray) -> None:
    """Sample covariance (``ddof = 1``, pairwise-complete) of the columns of ``values``
    (R, N) over the trailing ``window`` rows ending at each row of ``ends`` (K,, sorted
    ascending), times ``scale``, written to ``out`` (K, N, N).

    The formula of :func:`driftwise.metrics.risk.sample_covariance` on ``values[e - window
    + 1 : e + 1]`` (rows before the first are missing; non-finite values are missing; NaN
    where a pair has fewer than ``min_periods`` common rows): ``(Sxy - Sx Sy / n) / (n -
    1)`` over the ``n`` rows both have. The ends are taken in blocks of at most ``span``
    rows: the sums of the window ending at the block's first row are added row by row,
    every return shifted by its column's mean over that window (the covariance is
    unchanged, the sums stay small); each later end of the block adds the rows entering
    and subtracts the rows leaving. The blocks start at the multiples of ``span`` (the rows
    ``b * span``), so each end's value is the same whatever other ends are asked for.
    Equal to the numpy function to rounding (about 1e-15 of ``sqrt(var_i var_j)``), not
    to the bit.
    """
    n_assets = values.shape[1]
    cnt = np.zeros((n_assets, n_assets))
    sx = np.zeros((n_assets, n_assets))
    sxy = np.zeros((n_assets, n_assets))
    shift = np.zeros(n_assets)
    x = np.zeros(n_assets)
    m = np.zeros(n_assets)
    k = 0
    while k < ends.shape[0]:
        first = (ends[k] // span) * span  # blocks on a fixed grid of rows: a day's value
        lo = max(first - window + 1, 0)  # never depends on the other days asked for
        for i in range(n_assets):
            acc = 0.0
            c = 0
            for r in range(lo, first + 1):
                v = values[r, i]
                if np.isfinite(v):
                    acc += v
                    c += 1
            shift[i] = acc / max(c, 1)
        cnt[:, :] = 0.0
        sx[:, :] = 0.0
        sxy[:, :] = 0.0
        for r in range(lo, first + 1):
            _add_row(values, r, shift, x, m, cnt, sx, sxy, 1.0)
        at = first
        while k < ends.shape[0] and ends[k] < first + span:
            while at < ends[k]:
                at += 1
                _add_row(values, at, shift, x, m, cnt, sx, sxy, 1.0)
                if at - window >= 0:
                    _add_row(values, at - window, shift, x, m, cnt, sx, sxy, -1.0)
            for i in range(n_assets):
                for j in range(n_assets):
                    n = cnt[i, j]
                    if n >= min_periods:
                        out[k, i, j] = (sxy[i, j] - sx[i, j] * sx[j, i] / n) / (n - 1.0) * scale
                    else:
                        out[k, i, j] = np.nan
            k += 1


@kernel
def _add_row(values: FloatArray, r: int, shift: FloatArray, x: FloatArray, m: FloatArray,
             cnt: FloatArray, sx: FloatArray, sxy: FloatArray, sign: float) -> None:
    """Add (``sign`` 1) or remove (-1) row ``r`` of ``values`` to the window sums:
    ``cnt += m m'``, ``sx += x m'``, ``sxy += x x'`` of its shifted returns ``x`` and
    presence ``m``."""
    n_assets = values.shape[1]
    present = 0
    for i in range(n_assets):
        v = values[r, i]
        if np.isfinite(v):
            m[i] = 1.0
            x[i] = v - shift[i]
            present += 1
        else:
            m[i] = 0.0
            x[i] = 0.0
    if present == 0:
        return
    if present == n_assets:  # every asset priced: the same sums without the tests (SIMD)
        for i in range(n_assets):
            xi = x[i] * sign
            for j in range(n_assets):
                cnt[i, j] += sign
                sx[i, j] += xi
                sxy[i, j] += xi * x[j]
        return
    for i in range(n_assets):
        if m[i] == 0.0:
            continue
        xi = x[i] * sign
        for j in range(n_assets):
            if m[j] == 0.0:
                continue
            cnt[i, j] += sign
            sx[i, j] += xi
            sxy[i, j] += xi * x[j]
