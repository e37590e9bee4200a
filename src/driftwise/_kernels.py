"""The compiled cores of driftwise (numba), in one module.

Each public function that uses them is their only entry point, and the formulas are
documented there:

* costs: :func:`driftwise.costs.trade_costs` and :func:`~driftwise.costs.row_trading_costs`
  (:func:`cost_rows`);
* sizing: :func:`driftwise.policy.sizing.size_trades` (:func:`size_rows`),
  :func:`~driftwise.policy.sizing.land_on_destination` (:func:`land_rows`) and the
  constraint functions of :mod:`driftwise.policy.constraints` (:func:`fit_cash_rows`,
  :func:`whole_rows`, :func:`drop_rows`);
* the day's decision: :func:`driftwise.policy.rule.illiquid_assets` (:func:`illiquid_rows`),
  :meth:`driftwise.policy.triggers.DriftThreshold.evaluate` (:func:`at_threshold`),
  :func:`driftwise.metrics.drift.mark_to_market` (:func:`mark_rows`) and
  :func:`driftwise.metrics.liquidity.liquidity_days` (:func:`liquidity_days_flat`);
* the backtest's compiled day loop of drift thresholds (:mod:`driftwise.backtest.compiled`:
  :func:`threshold_scan`, :func:`threshold_event`), which calls the row kernels above.

The planner and the backtest engine reach the same compiled code through them.

Why one module: sizing prices every trade with the cost model inside its loops, and the
day loop sizes with the planner's :func:`size_row`. numba's on-disk cache checks only the
source file of the function it compiled, so a kernel calling a kernel of another file
could keep a stale copy of it; within one file every change recompiles everything that
uses it.

Costs: a :class:`~driftwise.costs.CostTable` of P parameter sets over N assets, passed
as the tuple ``table = (spread_frac, commission_frac, min_ticket_usd, flat_frac,
flat_by_regime, impact_coef, impact_power)``; row ``r`` of a trade array uses set
``which[r]`` with regime multiplier ``mult[r]``.

Rows are independent: every row is solved on its own, as it would be alone. Callers pass
plain writable C-contiguous arrays (:func:`arg`) and flags computed at run time, so that
every kernel compiles for one signature only (about 10 s on the first run on a machine,
then loaded from the disk cache).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from driftwise._jit import kernel

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
Table = tuple[Any, ...]

EPS = float(np.finfo(np.float64).eps)
SHARE_SNAP = 1e-9
"""A trade within this many shares of a whole number is that whole number."""

CASH_POLISH_ROUNDS = 60
TRADING_DAYS = 252.0

# destinations (driftwise.policy.destination.Destination)
FULL, HALF, BAND_EDGE, COST_CONSTRAINED = 0, 1, 2, 3

# binding masks: per asset, then per row (driftwise.policy.sizing.BINDING_KEYS)
B_EXCLUDED, B_NO_PRICE, B_LONG_ONLY, B_DO_NOT_BUY, B_DO_NOT_SELL = 0, 1, 2, 3, 4
B_CC_SKIP, B_MIN_TRADE, B_WHOLE_SHARES = 5, 6, 7
N_ASSET_KEYS = 8
B_CASH, B_CASH_SHORT, B_MAX_TURNOVER = 0, 1, 2
N_ROW_KEYS = 3

# status of a row
OK, NO_LANDING, NO_CASH_FIT = 0, 1, 2


def arg(values: npt.ArrayLike, dtype: npt.DTypeLike | None = None) -> npt.NDArray[Any]:
    """``values`` as a writable C-contiguous array (of ``dtype``), to pass to a kernel.

    numba compiles a kernel once per type of its arguments, and a read-only or strided
    array is another type than a plain one: every caller passes plain arrays, so that each
    kernel compiles once (copied only when the values are read-only or strided).
    """
    out = np.ascontiguousarray(values, dtype=dtype)
    return out if out.flags.writeable else out.copy()


# ---------------------------------------------------------------------- sums


@kernel
def _block_sum(a: FloatArray, lo: int, n: int) -> float:
    """numpy's pairwise sum of at most 128 elements (8 accumulators)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = float(a[lo]), float(a[lo + 1]), float(a[lo + 2]), float(a[lo + 3])
    r4, r5, r6, r7 = float(a[lo + 4]), float(a[lo + 5]), float(a[lo + 6]), float(a[lo + 7])
    i = 8
    end = n - (n % 8)
    while i < end:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@kernel
def _half(n: int) -> int:
    """Where numpy splits a range of ``n > 128`` elements (a multiple of 8)."""
    half = n // 2
    return half - half % 8


# Ranges of up to _CAP_k elements are summed by _sum_k without a stack: a range of n
# elements splits into parts of at most (n + 1) / 2 + 7, so _CAP_k = 2 _CAP_{k-1} - 15.
_CAP_0 = 128
_CAP_4 = 1823


@kernel
def _sum_1(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _block_sum(a, lo, h) + _block_sum(a, lo + h, n - h)


@kernel
def _sum_2(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _sum_1(a, lo, h) + _sum_1(a, lo + h, n - h)


@kernel
def _sum_3(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _sum_2(a, lo, h) + _sum_2(a, lo + h, n - h)


@kernel
def _sum_4(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _sum_3(a, lo, h) + _sum_3(a, lo + h, n - h)


@kernel
def pairwise_sum(a: FloatArray, lo: int, n: int) -> float:
    """``a[lo:lo + n].sum()`` in numpy's own order (its pairwise summation), to the bit.

    Sizing's cash check must hold for the sums the caller computes with numpy, and the
    tests compare sizing's results with numpy formulas exactly; a plain loop would
    differ in the last bits from 8 elements on. numpy halves a range (keeping multiples
    of 8) until it has at most 128 elements. Up to :data:`_CAP_4` elements (every
    portfolio of fewer than about 1,800 assets) the halving is four nested functions;
    longer ranges walk it with an explicit stack (numba cannot cache a recursive
    function).
    """
    if n <= _CAP_4:
        return _sum_4(a, lo, n)
    stack = np.empty((64, 4))  # start, length, phase, left sum
    sp = 0
    stack[0, 0], stack[0, 1], stack[0, 2] = lo, n, 0.0
    ret = 0.0
    while True:
        start, m, phase = int(stack[sp, 0]), int(stack[sp, 1]), stack[sp, 2]
        half = _half(m)
        if m <= _CAP_4:
            ret = _sum_4(a, start, m)
            sp -= 1
        elif phase == 0.0:
            stack[sp, 2] = 1.0
            sp += 1
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = start, half, 0.0
            continue
        elif phase == 1.0:
            stack[sp, 3] = ret
            stack[sp, 2] = 2.0
            sp += 1
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = start + half, m - half, 0.0
            continue
        else:
            ret = stack[sp, 3] + ret
            sp -= 1
        if sp < 0:
            return ret


@kernel
def total(a: FloatArray) -> float:
    """``a.sum()`` of a 1-d array, in numpy's order."""
    n = a.shape[0]
    # a start computed at run time: a literal 0 would make numba compile every function
    # of the sum a second time for the constant
    return pairwise_sum(a, n - n, n)


# --------------------------------------------------------------------- costs


@kernel
def cost_row(x: FloatArray, p: int, m: float, table: Table, spread: FloatArray,
             commission: FloatArray, impact: FloatArray, flat: FloatArray,
             out: FloatArray) -> None:
    """Every component of the trades ``x`` (N,) under parameter set ``p`` with regime
    multiplier ``m``, and their total (the formulas of :func:`driftwise.costs.trade_costs`).
    """
    spread_frac, commission_frac, min_ticket, flat_frac, flat_by_regime, coef, power = table
    sf, cf, tk, ff = spread_frac[p], commission_frac[p], min_ticket[p], flat_frac[p]
    cp, pp = coef[p], power[p]
    m_flat = m if flat_by_regime[p] else 1.0
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


# ------------------------------------------------------------ trade rounding


@kernel
def whole_trade(x: float, price: float) -> tuple[float, bool]:
    """Shares of a trade rounded toward zero (snapped to a whole number within
    ``SHARE_SNAP * max(1, |nearest|)``) and whether rounding changed it."""
    raw = x / price
    near = np.rint(raw)
    snap = abs(raw - near) <= SHARE_SNAP * max(1.0, abs(near))
    return (near if snap else np.trunc(raw)), not snap


@kernel
def is_small(x: float, floor: float) -> bool:
    """A non-zero trade below its minimum size."""
    a = abs(x)
    return a < floor and a > 0.0


@kernel
def whole_rows(x: FloatArray, prices: FloatArray, value: FloatArray, shares: FloatArray,
               changed: BoolArray) -> None:
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            whole, moved = whole_trade(x[r, i], prices[i])
            shares[r, i] = whole
            value[r, i] = whole * prices[i]
            changed[r, i] = moved


@kernel
def drop_rows(x: FloatArray, floor: FloatArray, out: FloatArray, small: BoolArray) -> bool:
    found = False
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            hit = is_small(x[r, i], floor[i])
            small[r, i] = hit
            out[r, i] = 0.0 if hit else x[r, i]
            found |= hit
    return found


# ------------------------------------------------------------------- landing


@kernel
def land_row(dest: FloatArray, trade: BoolArray, held: FloatArray, nav: float,
             sell_only: BoolArray, buy_only: BoolArray, start: float, p: int, m: float,
             table: Table, tol: float, max_iter: int, x: FloatArray, k: FloatArray,
             scratch: FloatArray) -> tuple[float, float, int]:
    """Trades ``x`` landing the traded assets on ``dest`` times the post-cost NAV.

    Returns ``(post_nav, eval_nav, iterations)``; iterations 0: no convergence.
    Fixed point ``V' = NAV - K(V')`` with the secant step of
    :func:`driftwise.policy.sizing.land_on_destination`.
    """
    v = start
    v_prev = 0.0
    k_prev = 0.0
    have_prev = False
    for it in range(1, max_iter + 1):
        for i in range(x.shape[0]):
            xi = (dest[i] if trade[i] else 0.0) * v - (held[i] if trade[i] else 0.0)
            if sell_only[i] and xi > 0.0:
                xi = 0.0
            if buy_only[i] and xi < 0.0:
                xi = 0.0
            x[i] = xi
        trading_costs(x, p, m, table, scratch, k)
        cost_sum = total(k)
        v_post = nav - cost_sum
        if abs(v_post - v) <= tol * nav:
            return v_post, v, it
        v_next = v_post
        if have_prev:
            slope = (cost_sum - k_prev) / (v - v_prev)
            if np.isfinite(slope) and abs(slope) < 0.5:
                v_next = (nav - cost_sum + slope * v) / (1.0 + slope)
        v_prev, k_prev, have_prev = v, cost_sum, True
        v = v_next
    return v, v, 0


@kernel
def land_rows(dest: FloatArray, trade: BoolArray, held: FloatArray, nav: FloatArray,
              sell_only: BoolArray, buy_only: BoolArray, start: FloatArray, which: IntArray,
              mult: FloatArray, table: Table, tol: float, max_iter: int, x: FloatArray,
              k: FloatArray, post: FloatArray, evaluated: FloatArray) -> int:
    """:func:`land_row` for every row; returns the most iterations (0: one failed)."""
    most = 0
    scratch = np.empty((4, x.shape[1]))
    for r in range(x.shape[0]):
        v_post, v_eval, it = land_row(dest[r], trade[r], held[r], nav[r], sell_only[r],
                                      buy_only[r], start[r], which[r], mult[r], table, tol,
                                      max_iter, x[r], k[r], scratch)
        if it == 0:
            return 0
        post[r] = v_post
        evaluated[r] = v_eval
        most = max(most, it)
    return most


# ------------------------------------------------------------------ cash fit


@kernel
def _scale_step(avail: float, big_b: float, k_buy: float, s: float, floor: float) -> float:
    rate = k_buy / (s * big_b) if s > 0.0 else 0.0
    if not (avail > 0.0 and big_b > 0.0):
        return 0.0
    new = avail / (big_b * (1.0 + (1.0 - floor) * rate))
    return min(max(new, 0.0), 1.0)


@kernel
def fit_cash_row(x: FloatArray, k: FloatArray, cash: float, nav: float, floor: float,
                 prices: FloatArray, whole: bool, min_floor: FloatArray, use_min: bool,
                 p: int, m: float, table: Table, tol: float, max_iter: int,
                 out: FloatArray, out_k: FloatArray, shares: FloatArray,
                 scratch: FloatArray) -> tuple[bool, bool, int, float, float]:
    """Buys scaled down until cash after trading meets ``floor`` (fraction of the
    post-trade NAV), sells kept; ``k`` holds the costs of ``x``.

    Writes the trades and their costs to ``out`` / ``out_k`` (and whole shares to
    ``shares`` when ``whole``); returns ``(scaled, short, status, sum of trades, sum of
    costs)``, the sums being the ones the cash check used, so that ``cash - trades -
    costs`` computed from them meets the floor exactly. Formulas:
    :func:`driftwise.policy.constraints.fit_cash`.
    """
    n = x.shape[0]
    total_k = total(k)
    total_x = total(x)
    if not (cash - total_x - total_k < floor * (nav - total_k)):
        for i in range(n):
            out[i] = x[i]
            out_k[i] = k[i]
            shares[i] = x[i] / prices[i]
        return False, False, OK, total_x, total_k
    buys = np.empty(n)
    sells = np.empty(n)
    part = np.empty(n)
    for i in range(n):
        buys[i] = x[i] if x[i] > 0.0 else 0.0
        sells[i] = x[i] - buys[i]
        part[i] = k[i] if sells[i] != 0.0 else 0.0
    big_b = total(buys)
    k_sell = total(part)
    k_buy = total_k - k_sell
    avail = cash - total(sells) - floor * nav - (1.0 - floor) * k_sell
    s = _scale_step(avail, big_b, k_buy, 1.0, floor)
    done = s <= 0.0
    for _ in range(max_iter):
        if done:
            break
        for i in range(n):  # the scaled buys (cost of a zero trade: exactly 0)
            scaled = buys[i] * s
            out[i] = sells[i] + scaled if scaled > 0.0 else 0.0
        trading_costs(out, p, m, table, scratch, part)
        s_new = _scale_step(avail, big_b, total(part), s, floor)
        done = abs(s_new - s) <= tol
        s = s_new
    for _ in range(CASH_POLISH_ROUNDS):
        for i in range(n):
            xi = sells[i] + buys[i] * s
            if whole:
                sh, _moved = whole_trade(xi, prices[i])
                xi = sh * prices[i]
            if use_min and is_small(xi, min_floor[i]):
                xi = 0.0
            out[i] = xi
        trading_costs(out, p, m, table, scratch, out_k)
        total_k = total(out_k)
        total_x = total(out)
        shortfall = floor * (nav - total_k) - (cash - total_x - total_k)
        if not (shortfall > 0.0 and s > 0.0):
            for i in range(n):
                shares[i] = out[i] / prices[i]
            return True, shortfall > 0.0, OK, total_x, total_k
        cut = 2.0 * shortfall / big_b + 4.0 * EPS
        s = max(s * (1.0 - 4.0 * EPS) - cut, 0.0)
    return True, True, NO_CASH_FIT, 0.0, 0.0


@kernel
def fit_cash_rows(x: FloatArray, k: FloatArray, cash: FloatArray, nav: FloatArray,
                  floor: float, prices: FloatArray, whole: bool, min_floor: FloatArray,
                  use_min: bool, which: IntArray, mult: FloatArray, table: Table, tol: float,
                  max_iter: int, out: FloatArray, out_k: FloatArray, shares: FloatArray,
                  scaled: BoolArray, short: BoolArray, sums: FloatArray) -> int:
    """:func:`fit_cash_row` for every row; returns a failing status, else OK."""
    scratch = np.empty((4, x.shape[1]))
    for r in range(x.shape[0]):
        sc, sh, status, total_x, total_k = fit_cash_row(
            x[r], k[r], cash[r], nav[r], floor, prices, whole, min_floor, use_min, which[r],
            mult[r], table, tol, max_iter, out[r], out_k[r], shares[r], scratch)
        if status != OK:
            return status
        scaled[r] = sc
        short[r] = sh
        sums[r, 0] = total_x
        sums[r, 1] = total_k
    return OK


# -------------------------------------------------------------------- sizing


@kernel
def benefit_row(d: FloatArray, vol: FloatArray, cov: FloatArray, use_cov: bool, gamma: float,
                horizon: float, out: FloatArray) -> None:
    """Certainty-equivalent gain of bringing each asset alone back to target
    (:func:`driftwise.policy.destination.marginal_benefit`)."""
    n = d.shape[0]
    for i in range(n):
        if use_cov:
            acc = 0.0
            for j in range(n):
                acc += d[j] * cov[j, i]
            q = d[i] * (2.0 * acc - cov[i, i] * d[i])
        else:
            q = d[i] * d[i] * (vol[i] * vol[i])
        out[i] = gamma * 0.5 * horizon / TRADING_DAYS * q


@kernel
def benefit_rows(d: FloatArray, vol: FloatArray, cov: FloatArray, use_cov: bool,
                 gamma: FloatArray, horizon: FloatArray, out: FloatArray) -> None:
    for r in range(d.shape[0]):
        benefit_row(d[r], vol[r], cov, use_cov, gamma[r], horizon[r], out[r])


@kernel
def _drop_into(x: FloatArray, min_floor: FloatArray, bind: BoolArray) -> bool:
    """Minimum trades in place; marks ``bind``; whether any was dropped."""
    found = False
    for i in range(x.shape[0]):
        if is_small(x[i], min_floor[i]):
            x[i] = 0.0
            bind[i] = True
            found = True
    return found


@kernel
def size_row(w: FloatArray, t: FloatArray, cash: float, nav: float, held: FloatArray,
             prices: FloatArray, price_ok: BoolArray, kind: int, width: FloatArray,
             has_width: bool, no_buy: BoolArray, no_sell: BoolArray, assets: BoolArray,
             exclude: BoolArray, vol: FloatArray, cov: FloatArray, use_cov: bool,
             gamma: float, horizon: float, cc_multiple: float, long_only: bool,
             cash_buffer: float, min_floor: FloatArray, use_min: bool, whole: bool,
             max_turnover: float, p: int, m: float, table: Table, tol: float, max_iter: int,
             x: FloatArray, k: FloatArray, bind: BoolArray, row_bind: BoolArray, sums: FloatArray,
             scratch: FloatArray) -> tuple[int, int]:
    """Steps 1-7 of :func:`driftwise.policy.sizing.size_trades` for one active row.

    Writes the final trades ``x`` and their costs ``k``, the asset binding masks
    ``bind`` (8, N), the row's ``row_bind`` (3,) and ``sums`` (3,): the sums of the
    trades and of the costs that the last cash check used, and the intended traded value
    ``sum |trade|`` after the cash fit (step 3), before minimum trades and whole-share
    rounding drop any of it (capped at the turnover cap, ``2 * max_turnover * NAV``).
    Returns ``(status, iterations)``.
    """
    n = w.shape[0]
    dest = np.empty(n)
    clipped = np.zeros(n, dtype=np.bool_)
    selected = np.ones(n, dtype=np.bool_)
    trade = np.zeros(n, dtype=np.bool_)
    tradable = np.zeros(n, dtype=np.bool_)
    sell_only = np.zeros(n, dtype=np.bool_)
    buy_only = np.zeros(n, dtype=np.bool_)
    # step 1: destination, traded assets, direction limits
    for i in range(n):
        d = w[i] - t[i]
        if kind == HALF:
            di = 0.5 * (w[i] + t[i])
        elif kind == BAND_EDGE:
            di = t[i] + min(max(d, -width[i]), width[i])
            selected[i] = abs(d) > width[i]
        else:
            di = t[i]
        if long_only and di < 0.0:
            clipped[i] = True
            di = 0.0
        dest[i] = di
        tradable[i] = assets[i] and price_ok[i] and not exclude[i]
    if kind == COST_CONSTRAINED:  # benefit of each asset's full trade > cc_multiple × cost
        benefit = np.empty(n)
        for i in range(n):
            x[i] = w[i] - t[i]
        benefit_row(x, vol, cov, use_cov, gamma, horizon, benefit)
        for i in range(n):
            x[i] = (dest[i] - w[i]) * nav
        trading_costs(x, p, m, table, scratch, k)
        for i in range(n):
            selected[i] = benefit[i] > cc_multiple * (k[i] / nav)
            bind[B_CC_SKIP, i] = tradable[i] and not selected[i] and dest[i] != w[i]
    for i in range(n):
        di = dest[i]
        want = assets[i] and selected[i]
        would = want and di != w[i]
        bind[B_EXCLUDED, i] = would and exclude[i]
        bind[B_NO_PRICE, i] = would and not price_ok[i]
        ti = want and tradable[i]
        bind[B_LONG_ONLY, i] = ti and clipped[i]
        if ti and no_buy[i] and di > w[i]:
            bind[B_DO_NOT_BUY, i] = True
            ti = False
        sell_only[i] = ti and no_buy[i]
        if ti and no_sell[i] and di < w[i]:
            bind[B_DO_NOT_SELL, i] = True
            ti = False
        buy_only[i] = ti and no_sell[i]
        trade[i] = ti
    # step 2: land on the destination after costs
    v_post, v_eval, iterations = land_row(dest, trade, held, nav, sell_only, buy_only, nav, p,
                                          m, table, tol, max_iter, x, k, scratch)
    if iterations == 0:
        return NO_LANDING, 0
    if kind == BAND_EDGE and has_width:
        for _ in range(n + 1):
            pushed = False
            for i in range(n):
                grown = w[i] * (nav / v_post) - t[i]
                up = grown > width[i] + tol and not no_sell[i]
                down = grown < -width[i] - tol and not no_buy[i]
                if tradable[i] and not trade[i] and (up or down):
                    trade[i] = True
                    pushed = True
            if not pushed:
                break
            v_post, v_eval, extra = land_row(dest, trade, held, nav, sell_only, buy_only,
                                             v_eval, p, m, table, tol, max_iter, x, k, scratch)
            if extra == 0:
                return NO_LANDING, 0
            iterations += extra
    # step 3: cash buffer, sells before buys (without rounding or minimums: a flag computed
    # at run time, since a literal False would compile fit_cash_row a second time)
    off = n < 0
    x1 = np.empty(n)
    k1 = np.empty(n)
    shares = np.empty(n)
    scaled, short, status, total_x, total_k = fit_cash_row(
        x, k, cash, nav, cash_buffer, prices, off, min_floor, off, p, m, table, tol,
        max_iter, x1, k1, shares, scratch)
    if status != OK:
        return status, iterations
    row_bind[B_CASH] = scaled
    intended = np.empty(n)
    for i in range(n):
        intended[i] = abs(x1[i])
    sums[2] = min(total(intended), 2.0 * max_turnover * nav)
    # step 4: minimum trades
    changed = use_min and _drop_into(x1, min_floor, bind[B_MIN_TRADE])
    # step 5: maximum turnover
    if np.isfinite(max_turnover):
        gross = np.empty(n)
        for i in range(n):
            gross[i] = abs(x1[i])
        half_gross = 0.5 * total(gross)
        limit = max_turnover * nav
        if half_gross > limit:
            factor = limit / half_gross
            for i in range(n):
                x1[i] *= factor
            row_bind[B_MAX_TURNOVER] = True
            if use_min:
                _drop_into(x1, min_floor, bind[B_MIN_TRADE])
            changed = True
    # step 6: whole shares
    if whole:
        for i in range(n):
            sh, moved = whole_trade(x1[i], prices[i])
            xi = sh * prices[i]
            if long_only:
                xi = max(xi, -max(held[i], 0.0))
            x1[i] = xi
            if moved:
                bind[B_WHOLE_SHARES, i] = True
        if use_min:
            _drop_into(x1, min_floor, bind[B_MIN_TRADE])
        changed = True
    # step 7: sells before buys, cash never below the buffer, on the final trades
    if changed:
        trading_costs(x1, p, m, table, scratch, k1)
        scaled, short, status, total_x, total_k = fit_cash_row(
            x1, k1, cash, nav, cash_buffer, prices, whole, min_floor, use_min, p, m, table, tol,
            max_iter, x, k, shares, scratch)
        if status != OK:
            return status, iterations
        if scaled:
            row_bind[B_CASH] = True
            for i in range(n):
                if x[i] == 0.0 and x1[i] != 0.0:
                    bind[B_MIN_TRADE, i] = True
    else:
        for i in range(n):
            x[i] = x1[i]
            k[i] = k1[i]
    row_bind[B_CASH_SHORT] = short
    sums[0] = total_x
    sums[1] = total_k
    return OK, iterations


@kernel
def size_rows(w: FloatArray, t: FloatArray, cash: FloatArray, nav: FloatArray,
              held: FloatArray, prices: FloatArray, price_ok: BoolArray, active: BoolArray,
              kind: int, width: FloatArray, has_width: bool, no_buy: BoolArray,
              no_sell: BoolArray, assets: BoolArray, exclude: BoolArray, vol: FloatArray,
              cov: FloatArray, use_cov: bool, gamma: FloatArray, horizon: FloatArray,
              cc_multiple: FloatArray, long_only: bool, cash_buffer: float,
              min_floor: FloatArray, use_min: bool,
              whole: bool, max_turnover: float, which: IntArray, mult: FloatArray,
              table: Table, tol: float, max_iter: int, x: FloatArray, k: FloatArray,
              bind: BoolArray, row_bind: BoolArray, sums: FloatArray) -> tuple[int, int]:
    """:func:`size_row` for every active row (inactive rows: no trade, nothing binds).

    Returns ``(status, most iterations)``; the first failing status stops.
    """
    most = 0
    n_assets = w.shape[1]
    scratch = np.empty((4, n_assets))
    # each row's masks in contiguous buffers: size_row then has one signature for every
    # caller (threshold_event passes its own buffers), so it compiles once
    row_assets = np.empty((N_ASSET_KEYS, n_assets), dtype=np.bool_)
    row_flags = np.empty(N_ROW_KEYS, dtype=np.bool_)
    for r in range(w.shape[0]):
        if not active[r]:
            continue
        row_assets.fill(False)
        row_flags.fill(False)
        status, it = size_row(w[r], t[r], cash[r], nav[r], held[r], prices, price_ok, kind,
                              width[r], has_width, no_buy[r], no_sell[r], assets[r],
                              exclude[r], vol[r], cov, use_cov, gamma[r], horizon[r],
                              cc_multiple[r], long_only, cash_buffer, min_floor, use_min,
                              whole, max_turnover,
                              which[r], mult[r], table, tol, max_iter, x[r], k[r], row_assets,
                              row_flags, sums[r], scratch)
        for j in range(N_ASSET_KEYS):  # loops: a broadcasting copy compiles slowly
            for i in range(n_assets):
                bind[j, r, i] = row_assets[j, i]
        for j in range(N_ROW_KEYS):
            row_bind[j, r] = row_flags[j]
        if status != OK:
            return status, it
        most = max(most, it)
    return OK, most


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


# ------------------------------------------------------------------ triggers


@kernel
def at_threshold(drift: FloatArray, threshold: FloatArray, met: BoolArray) -> bool:
    """``met = drift >= threshold and drift > 0`` per row (the drift-threshold trigger; a
    threshold of 0 fires on any drift, never on none); whether any."""
    found = False
    for c in range(drift.shape[0]):
        hit = drift[c] >= threshold[c] and drift[c] > 0.0
        met[c] = hit
        found |= hit
    return found


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


@kernel
def illiquid_row(w: FloatArray, t: FloatArray, nav: float, prices: FloatArray,
                 adv: FloatArray, participation: float, min_adv_usd: float,
                 max_days: float, out: BoolArray) -> None:
    """Assets too illiquid for their full-rebalance trade ``-(w - t) NAV / price``: ADV in
    USD below ``min_adv_usd`` or more than ``max_days`` of trading (the rule of
    :func:`driftwise.policy.rule.illiquid_assets`)."""
    for i in range(w.shape[0]):
        shares = -(w[i] - t[i]) * nav / prices[i]
        days = liquidity_day(abs(shares), adv[i], participation)
        thin = adv[i] * prices[i] < min_adv_usd
        out[i] = (thin or days > max_days) and shares != 0.0


@kernel
def illiquid_rows(w: FloatArray, t: FloatArray, nav: FloatArray, prices: FloatArray,
                  adv: FloatArray, participation: float, min_adv_usd: float,
                  max_days: float, out: BoolArray) -> None:
    """:func:`illiquid_row` for every row of ``w`` and ``t`` (C, N)."""
    for c in range(w.shape[0]):
        illiquid_row(w[c], t[c], nav[c], prices, adv, participation, min_adv_usd, max_days,
                     out[c])


# ------------------------------------------------------- backtest: borrow


@kernel
def borrow_row(shares: FloatArray, prices: FloatArray, daily_rate: FloatArray) -> float:
    """Borrow one portfolio pays for one night on its shorts, USD:
    ``sum_i max(-shares_i * price_i, 0) * daily_rate_i`` (``daily_rate`` = the annual fee
    / 1e4 / 252, :func:`driftwise.costs.borrow_cost_usd` for one day); summed in asset
    order, so every path of the backtest pays the same bits."""
    paid = 0.0
    for i in range(shares.shape[0]):
        value = shares[i] * prices[i]
        if value < 0.0:
            paid += -value * daily_rate[i]
    return paid


@kernel
def borrow_rows(shares: FloatArray, prices: FloatArray, daily_rate: FloatArray,
                paid: FloatArray) -> None:
    """:func:`borrow_row` of every portfolio (C, N), written to ``paid`` (C,); the caller
    takes it from cash (``cash - paid``)."""
    for c in range(shares.shape[0]):
        paid[c] = borrow_row(shares[c], prices, daily_rate)


# ------------------------------------- backtest: drift threshold and calendar

NAV_NOT_POSITIVE = 3
"""Status of a row whose NAV is not positive when it would be sized."""


@kernel
def _quiet(k: int, c: int, nav: float, drift: float, cash: float, out_nav: FloatArray,
           out_drift: FloatArray, out_post: FloatArray, out_traded: FloatArray,
           out_cost: FloatArray, out_cash: FloatArray, out_intended: FloatArray) -> None:
    out_nav[k, c] = nav
    out_drift[k, c] = drift
    out_post[k, c] = drift
    out_traded[k, c] = 0.0
    out_intended[k, c] = 0.0
    out_cost[k, c] = 0.0
    out_cash[k, c] = cash


@kernel
def threshold_scan(start: int, shares: FloatArray, cash: FloatArray, since: FloatArray,
                   prices: FloatArray, target: FloatArray, target_cash: float,
                   threshold: FloatArray, calendar: BoolArray, invalid: BoolArray,
                   borrow_rate: FloatArray, out_nav: FloatArray, out_drift: FloatArray,
                   out_post: FloatArray, out_traded: FloatArray, out_cost: FloatArray,
                   out_cash: FloatArray, out_intended: FloatArray,
                   out_borrow: FloatArray) -> int:
    """Quiet days of a batch from day ``start``: the first day on which a calendar review
    falls (``calendar``, shape (T,)) or a row's drift reaches its threshold (``inf``: no
    threshold), the plan being valid; or the number of days.

    Every day before it pays the borrow of its shorts (``borrow_rate`` (N,) a day; empty:
    none can be held; never on day 0), is recorded as quiet (no trade) and counts one
    more day since trading; the event day itself is left to :func:`threshold_event`
    (which pays that day's borrow).
    """
    n_rows, n_assets = shares.shape
    weights = np.empty(n_assets)
    gaps = np.empty(n_assets)
    nav = np.empty(n_rows)
    drift = np.empty(n_rows)
    met = np.empty(n_rows, dtype=np.bool_)
    paid = np.zeros(n_rows)
    after = np.empty(n_rows)
    charge = borrow_rate.shape[0] == n_assets
    for k in range(start, prices.shape[0]):
        for c in range(n_rows):
            if charge and k > 0:
                paid[c] = borrow_row(shares[c], prices[k], borrow_rate)
            after[c] = cash[c] - paid[c]
            nav[c], drift[c] = mark_row(shares[c], prices[k], after[c], target, target_cash,
                                        weights, gaps)
        if not invalid[k] and (calendar[k] or at_threshold(drift, threshold, met)):
            return k  # threshold_event pays that day's borrow
        for c in range(n_rows):
            cash[c] = after[c]
            out_borrow[k, c] = paid[c]
            _quiet(k, c, nav[c], drift[c], cash[c], out_nav, out_drift, out_post, out_traded,
                   out_cost, out_cash, out_intended)
            since[c] += 1.0
    return int(prices.shape[0])


@kernel
def threshold_event(k: int, shares: FloatArray, cash: FloatArray, since: FloatArray,
                    prices: FloatArray, target: FloatArray, target_cash: float,
                    threshold: FloatArray, review: bool, band_width: FloatArray,
                    no_buy: BoolArray, no_sell: BoolArray, vol: FloatArray, adv: FloatArray,
                    participation: float, min_adv_usd: float, max_days: float, kind: int,
                    gamma: float, horizon: float, cc_multiple: float, long_only: bool,
                    cash_buffer: float, min_trade_usd: float, min_trade_shares: float,
                    whole: bool, max_turnover: float, which: IntArray, mult: FloatArray,
                    table: Table, tol: float, max_iter: int, borrow_rate: FloatArray,
                    out_nav: FloatArray, out_drift: FloatArray,
                    out_post: FloatArray, out_traded: FloatArray, out_cost: FloatArray,
                    out_cash: FloatArray, out_rebalanced: BoolArray,
                    out_intended: FloatArray, out_borrow: FloatArray,
                    failed: IntArray) -> int:
    """Day ``k`` of a batch (steps 1-4 of the backtest's day), every row.

    Pay the borrow of the shorts held overnight (``borrow_rate`` as in
    :func:`threshold_scan`); mark to market at the close; on a calendar review day
    (``review``) every row fires, otherwise the rows whose drift reaches their threshold.
    The rows that fire leave their illiquid assets out (:func:`illiquid_row`), are sized
    (:func:`size_row`: the planner's sizing, cost-benefit skip off) and pay their trades
    and costs from cash (sells before buys: the sizing's own sums). Returns a status
    (``failed[0]``: the row) and records the day.
    """
    n_rows, n_assets = shares.shape
    weights = np.empty((n_rows, n_assets))
    gaps = np.empty(n_assets)
    nav = np.empty(n_rows)
    drift = np.empty(n_rows)
    met = np.empty(n_rows, dtype=np.bool_)
    if borrow_rate.shape[0] == n_assets and k > 0:
        for c in range(n_rows):
            fee = borrow_row(shares[c], prices, borrow_rate)
            out_borrow[k, c] = fee
            cash[c] = cash[c] - fee
    for c in range(n_rows):
        nav[c], drift[c] = mark_row(shares[c], prices, cash[c], target, target_cash,
                                    weights[c], gaps)
        _quiet(k, c, nav[c], drift[c], cash[c], out_nav, out_drift, out_post, out_traded,
               out_cost, out_cash, out_intended)
        since[c] += 1.0
    if review:  # a calendar review: every row fires (the calendar or the threshold)
        met.fill(True)
    elif not at_threshold(drift, threshold, met):
        return OK
    price_ok = np.empty(n_assets, dtype=np.bool_)
    safe = np.empty(n_assets)
    floor = np.empty(n_assets)
    for i in range(n_assets):
        price_ok[i] = prices[i] > 0.0 and prices[i] < np.inf
        safe[i] = prices[i] if price_ok[i] else 1.0
        floor[i] = max(min_trade_usd, min_trade_shares * safe[i])
    use_min = min_trade_usd > 0.0 or min_trade_shares > 0.0
    every = np.ones(n_assets, dtype=np.bool_)
    exclude = np.empty(n_assets, dtype=np.bool_)
    held = np.empty(n_assets)
    x = np.empty(n_assets)
    cost = np.empty(n_assets)
    bind = np.zeros((N_ASSET_KEYS, n_assets), dtype=np.bool_)
    row_bind = np.zeros(N_ROW_KEYS, dtype=np.bool_)
    sums = np.zeros(3)
    scratch = np.empty((4, n_assets))
    no_cov = np.zeros((0, 0))
    use_cov = no_cov.shape[0] > 0  # False; flags computed at run time compile size_row once
    has_width = band_width.shape[0] == n_assets  # True
    moved = np.empty(n_assets)
    for c in range(n_rows):
        if not met[c]:
            continue
        v = nav[c]
        if not (v > 0.0 and v < np.inf):
            failed[0] = c
            return NAV_NOT_POSITIVE
        w = weights[c]
        cash_usd = cash[c] / v * v  # the planner's cash weight times NAV
        for i in range(n_assets):
            held[i] = w[i] * v
        illiquid_row(w, target, v, prices, adv, participation, min_adv_usd, max_days,
                     exclude)
        status, _ = size_row(w, target, cash_usd, v, held, safe, price_ok, kind, band_width,
                             has_width, no_buy, no_sell, every, exclude, vol, no_cov, use_cov,
                             gamma, horizon, cc_multiple, long_only, cash_buffer, floor,
                             use_min, whole, max_turnover, which[c], mult[c], table, tol,
                             max_iter, x, cost,
                             bind, row_bind, sums, scratch)
        if status != OK:
            failed[0] = c
            return status
        out_intended[k, c] = sums[2]
        traded = False
        for i in range(n_assets):
            traded |= x[i] != 0.0
        if not traded:
            continue
        for i in range(n_assets):
            sh = x[i] / safe[i]
            shares[c, i] += np.rint(sh) if whole else sh
            moved[i] = abs(x[i])
        cash[c] = cash_usd - sums[0] - sums[1]
        post_nav, post_drift = mark_row(shares[c], prices, cash[c], target, target_cash,
                                        weights[c], gaps)
        out_traded[k, c] = total(moved)
        out_cost[k, c] = total(cost)
        out_nav[k, c] = post_nav
        out_cash[k, c] = cash[c]
        out_rebalanced[k, c] = True
        out_post[k, c] = post_drift
        since[c] = 1.0
    return OK
