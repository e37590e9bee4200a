"""Compiled cost kernels (numba): every component of a trade, the formulas of
:func:`driftwise.costs.trade_costs` (documented there).

A :class:`~driftwise.costs.CostTable` of P parameter sets over N assets reaches the kernels
as a :class:`Table` (a named tuple, read by field name); row ``r`` of a trade array uses
set ``which[r]`` with regime multiplier ``mult[r]``. :func:`rolling_mean` is the ADV of
the backtest's per-day inputs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from driftwise._jit import kernel
from driftwise._kernels import window_sum
from driftwise._types import BoolArray, FloatArray, IntArray


class Table(NamedTuple):
    """The cost coefficients of P parameter sets over N assets, as the kernels read them
    (:class:`driftwise.costs.CostTable` builds it once per table).

    Attributes
    ----------
    spread_frac, commission_frac, min_ticket_usd, flat_frac : ndarray, shape (P, N)
        Half-spread and commission (fractions of the traded value), the minimum
        commission per ticket (USD) and the flat cost (fraction).
    flat_by_regime : ndarray of bool, shape (P,)
        Whether the flat cost is scaled by the VIX regime multiplier.
    impact_coef : ndarray, shape (P, K, N)
        Impact power-term coefficients (0 where padded).
    impact_power : ndarray, shape (P, K)
        Their exponents.
    """

    spread_frac: FloatArray
    commission_frac: FloatArray
    min_ticket_usd: FloatArray
    flat_frac: FloatArray
    flat_by_regime: BoolArray
    impact_coef: FloatArray
    impact_power: FloatArray


# --------------------------------------------------------------------- costs


@kernel
def cost_row(x: FloatArray, p: int, m: float, table: Table, spread: FloatArray,
             commission: FloatArray, impact: FloatArray, flat: FloatArray,
             out: FloatArray) -> None:
    """Every component of the trades ``x`` (N,) under parameter set ``p`` with regime
    multiplier ``m``, and their total (the formulas of :func:`driftwise.costs.trade_costs`).
    """
    sf, cf = table.spread_frac[p], table.commission_frac[p]
    tk, ff = table.min_ticket_usd[p], table.flat_frac[p]
    cp, pp = table.impact_coef[p], table.impact_power[p]
    m_flat = m if table.flat_by_regime[p] else 1.0
    for i in range(x.shape[0]):
        a = abs(x[i])
        s = a * sf[i] * m
        c = a * cf[i]
        if a > 0.0 and c < tk[i]:
            c = tk[i]
        im = 0.0
        for k in range(pp.shape[0]):
            ck = cp[k, i]
            if ck == 0.0:  # a padded term (or no impact): adds exactly zero
                continue
            e = pp[k]
            if e == 1.5:
                ap = a * np.sqrt(a)
            elif e == 2.0:
                ap = a * a
            elif e == 1.0:
                ap = a
            else:
                ap = a ** e
            im += ck * ap
        im *= m
        f = a * ff[i] * m_flat
        spread[i] = s
        commission[i] = c
        impact[i] = im
        flat[i] = f
        out[i] = s + c + im + f


@kernel
def trading_costs(x: FloatArray, p: int, m: float, table: Table, scratch: FloatArray,
                  out: FloatArray) -> None:
    """Total trading cost of each trade of ``x`` (N,) into ``out`` (``scratch``: (4, N))."""
    cost_row(x, p, m, table, scratch[0], scratch[1], scratch[2], scratch[3], out)


@kernel
def cost_rows(trade: FloatArray, which: IntArray, mult: FloatArray, table: Table,
              spread: FloatArray, commission: FloatArray, impact: FloatArray,
              flat: FloatArray, total: FloatArray) -> None:
    """Every component of every trade (rows, N): :func:`cost_row` row by row."""
    for r in range(trade.shape[0]):
        cost_row(trade[r], which[r], mult[r], table, spread[r], commission[r], impact[r],
                 flat[r], total[r])


# ------------------------------------------------------------ rolling means


@kernel
def rolling_mean(values: FloatArray, ends: IntArray, window: int, min_periods: int,
                 out: FloatArray) -> None:
    """Mean of the finite values of each column of ``values`` (R, N) over the trailing
    ``window`` rows ending at each row of ``ends`` (D,), written to ``out`` (D, N).

    The formula of :func:`driftwise.costs.adv_shares` on ``values[e - window + 1 : e +
    1]`` (zero and negative volumes already NaN): NaN where fewer than ``min_periods``
    (at least 1) values are finite; rows before the first are missing. The window's rows
    are added oldest first, one after the other, as numpy's ``sum(axis=0)`` of a
    ``(window, N)`` array (N > 1) does, so each value equals the numpy function's to the
    bit.
    """
    n_assets = values.shape[1]
    count = np.empty(n_assets, dtype=np.int64)
    acc = np.empty(n_assets)
    for d in range(ends.shape[0]):
        hi = ends[d] + 1
        lo = max(hi - window, 0)
        window_sum(values, lo, hi, count, acc)
        for i in range(n_assets):
            n = count[i]
            out[d, i] = acc[i] / n if n >= max(min_periods, 1) else np.nan
