"""Compiled policy kernels (numba): sizing, landing, the constraints, the marginal
benefit, the illiquid assets and the booking of trades.

Their public functions document the formulas: :func:`driftwise.policy.sizing.size_trades`
(:func:`size_rows`), :func:`~driftwise.policy.sizing.land_on_destination`
(:func:`land_rows`), the constraint functions of :mod:`driftwise.policy.constraints`
(:func:`fit_cash_rows`, :func:`whole_rows`, :func:`drop_rows`),
:func:`driftwise.policy.destination.marginal_benefit` (:func:`benefit_rows`) and
:func:`driftwise.policy.rule.illiquid_assets` (:func:`illiquid_rows`). Sizing prices every
trade with the cost kernels (:mod:`driftwise.costs._kernels`) inside its loops; the
backtest's day loop sizes with :func:`size_row` and books the trades with :func:`book_row`
(the twin of :func:`driftwise.policy.book.book_trades`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from driftwise._jit import kernel, record_array
from driftwise._kernels import EPS, total
from driftwise._types import TRADING_DAYS, BoolArray, Destination, FloatArray, IntArray
from driftwise.costs._kernels import Table, trading_costs
from driftwise.metrics._kernels import liquidity_day

SHARE_SNAP = 1e-9
"""A trade within this many shares of a whole number is that whole number."""

CASH_POLISH_ROUNDS = 60

DESTINATION_CODES = {d: code for code, d in enumerate(Destination)}
"""The kernels' integer code of each destination."""
FULL = DESTINATION_CODES[Destination.FULL]
HALF = DESTINATION_CODES[Destination.HALF]
BAND_EDGE = DESTINATION_CODES[Destination.BAND_EDGE]
COST_CONSTRAINED = DESTINATION_CODES[Destination.COST_CONSTRAINED]

# binding masks: per asset, then per row (driftwise.policy.sizing.BINDING_KEYS)
B_EXCLUDED, B_NO_PRICE, B_LONG_ONLY, B_DO_NOT_BUY, B_DO_NOT_SELL = 0, 1, 2, 3, 4
B_CC_SKIP, B_MIN_TRADE, B_WHOLE_SHARES = 5, 6, 7
N_ASSET_KEYS = 8
B_CASH, B_CASH_SHORT, B_MAX_TURNOVER = 0, 1, 2
N_ROW_KEYS = 3

# status of a row
OK, NO_LANDING, NO_CASH_FIT = 0, 1, 2

# ------------------------------------------------------------- typed arguments
#
# Settings that hold for a whole call reach the kernels as numba records (one structured
# array, typed by numba's dispatcher as fast as a plain array); groups of arrays that the
# kernels build for each row are named tuples (built in compiled code: no cost per call).

SIZING = np.dtype([
    ("destination", np.intp),  # DESTINATION_CODES
    ("has_width", np.bool_),  # band widths given
    ("use_cov", np.bool_),  # the benefit from the covariance (else the volatility)
    ("long_only", np.bool_),
    ("whole_shares", np.bool_),
    ("cash_buffer", np.float64),  # fraction of the post-trade NAV
    ("min_trade_usd", np.float64),
    ("min_trade_shares", np.float64),
    ("max_turnover", np.float64),  # fraction of NAV, inf: none
    ("gamma", np.float64),  # risk aversion of the cost-constrained benefit
    ("horizon_days", np.float64),  # its horizon, trading days
    ("cost_multiple", np.float64),  # benefit over cost an asset must beat (cost-constrained)
    ("tol", np.float64),  # relative tolerance of the cost fixed points
    ("max_iter", np.intp),  # their most iterations
], align=True)
"""A row's sizing settings: the rule's destination and constraints and the fixed points'
tolerance (one record per row, :func:`driftwise.policy.sizing.sizing_settings`)."""

LIQUIDITY = np.dtype([
    ("participation", np.float64),  # fraction of ADV traded a day
    ("min_adv_usd", np.float64),  # ADV below it: illiquid
    ("max_days", np.float64),  # more trading days than this: illiquid
], align=True)
"""The liquidity limits of a rule (:func:`liquidity_limits`)."""


def liquidity_limits(participation: float, min_adv_usd: float,
                     max_days: float) -> npt.NDArray[np.void]:
    """The liquidity limits of a rule as the kernels read them: one :data:`LIQUIDITY`
    record, shape (1,)."""
    out = np.empty(1, dtype=LIQUIDITY)
    out["participation"], out["min_adv_usd"], out["max_days"] = (
        participation, min_adv_usd, max_days)
    return record_array(out)


class Masks(NamedTuple):
    """Per-asset masks of the rows being sized, (N,) for one row or (C, N) for C rows."""

    no_buy: BoolArray  # restricted from buying
    no_sell: BoolArray  # restricted from selling
    assets: BoolArray  # traded at all (a trigger's restriction)
    exclude: BoolArray  # left out (illiquid)


class Sized(NamedTuple):
    """What sizing writes, for one row (or C rows: a leading axis on each array)."""

    trade_usd: FloatArray  # (N,) the final trades
    cost_usd: FloatArray  # (N,) their costs
    bind: BoolArray  # (N_ASSET_KEYS, N) the asset binding masks
    row_bind: BoolArray  # (N_ROW_KEYS,) the row's binding flags
    sums: FloatArray  # (3,) trades and costs of the last cash check, intended traded value


Record = Any
"""A numba record (a row of a structured array) as a kernel parameter."""


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
def min_trade_floor(s: Record, prices: FloatArray, floor: FloatArray) -> bool:
    """The minimum trade of each asset under settings ``s`` (:data:`SIZING`), USD:
    ``max(min_trade_usd, min_trade_shares * price)`` into ``floor``; whether any applies."""
    for i in range(prices.shape[0]):
        floor[i] = max(s.min_trade_usd, s.min_trade_shares * prices[i])
    return bool(s.min_trade_usd > 0.0 or s.min_trade_shares > 0.0)


@kernel
def size_row(w: FloatArray, t: FloatArray, cash: float, nav: float, held: FloatArray,
             prices: FloatArray, price_ok: BoolArray, masks: Masks, width: FloatArray,
             vol: FloatArray, cov: FloatArray, s: Record, min_floor: FloatArray, use_min: bool,
             p: int, m: float, table: Table, out: Sized, scratch: FloatArray) -> tuple[int, int]:
    """Steps 1-7 of :func:`driftwise.policy.sizing.size_trades` for one active row.

    ``s`` holds the row's settings (a :data:`SIZING` record), ``min_floor`` (N,) the
    minimum trades (:func:`min_trade_floor`, which says ``use_min``). Writes to ``out``
    the final trades and their costs, the asset binding masks (8, N), the row's flags (3,)
    and the sums (3,): those of the trades and of the costs that the last cash check
    used, and the intended traded value ``sum |trade|`` after the cash fit (step 3),
    before minimum trades and whole-share rounding drop any of it (capped at the turnover
    cap, ``2 * max_turnover * NAV``). Returns ``(status, iterations)``.
    """
    kind, long_only, whole = s.destination, s.long_only, s.whole_shares
    cash_buffer, max_turnover, tol, max_iter = s.cash_buffer, s.max_turnover, s.tol, s.max_iter
    no_buy, no_sell, assets, exclude = masks.no_buy, masks.no_sell, masks.assets, masks.exclude
    x, k, bind, row_bind, sums = out.trade_usd, out.cost_usd, out.bind, out.row_bind, out.sums
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
        benefit_row(x, vol, cov, s.use_cov, s.gamma, s.horizon_days, benefit)
        for i in range(n):
            x[i] = (dest[i] - w[i]) * nav
        trading_costs(x, p, m, table, scratch, k)
        for i in range(n):
            selected[i] = benefit[i] > s.cost_multiple * (k[i] / nav)
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
    if kind == BAND_EDGE and s.has_width:
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
              masks: Masks, width: FloatArray, vol: FloatArray, cov: FloatArray,
              settings: npt.NDArray[np.void], which: IntArray, mult: FloatArray, table: Table,
              out: Sized) -> tuple[int, int]:
    """:func:`size_row` for every active row (inactive rows: no trade, nothing binds).

    ``masks`` and ``out`` hold (C, N) arrays (``out.bind`` (8, C, N), ``out.row_bind``
    (3, C), ``out.sums`` (C, 3)); ``settings`` is one :data:`SIZING` record per row.
    Returns ``(status, most iterations)``; the first failing status stops.
    """
    most = 0
    n_assets = w.shape[1]
    scratch = np.empty((4, n_assets))
    floor = np.empty(n_assets)
    # each row's masks in contiguous buffers: size_row then has one signature for every
    # caller (threshold_event passes its own buffers), so it compiles once
    row_assets = np.empty((N_ASSET_KEYS, n_assets), dtype=np.bool_)
    row_flags = np.empty(N_ROW_KEYS, dtype=np.bool_)
    for r in range(w.shape[0]):
        if not active[r]:
            continue
        row_assets.fill(False)
        row_flags.fill(False)
        s = settings[r]
        use_min = min_trade_floor(s, prices, floor)
        row_masks = Masks(masks.no_buy[r], masks.no_sell[r], masks.assets[r], masks.exclude[r])
        row_out = Sized(out.trade_usd[r], out.cost_usd[r], row_assets, row_flags, out.sums[r])
        status, it = size_row(w[r], t[r], cash[r], nav[r], held[r], prices, price_ok,
                              row_masks, width[r], vol[r], cov, s, floor, use_min, which[r],
                              mult[r], table, row_out, scratch)
        for j in range(N_ASSET_KEYS):  # loops: a broadcasting copy compiles slowly
            for i in range(n_assets):
                out.bind[j, r, i] = row_assets[j, i]
        for j in range(N_ROW_KEYS):
            out.row_bind[j, r] = row_flags[j]
        if status != OK:
            return status, it
        most = max(most, it)
    return OK, most


# ----------------------------------------------------------------- liquidity

@kernel
def illiquid_row(w: FloatArray, t: FloatArray, nav: float, prices: FloatArray,
                 adv: FloatArray, limits: Record, out: BoolArray) -> None:
    """Assets too illiquid for their full-rebalance trade ``-(w - t) NAV / price`` under
    ``limits`` (a :data:`LIQUIDITY` record): ADV in USD below ``min_adv_usd`` or more
    than ``max_days`` of trading at ``participation`` (the rule of
    :func:`driftwise.policy.rule.illiquid_assets`)."""
    for i in range(w.shape[0]):
        shares = -(w[i] - t[i]) * nav / prices[i]
        days = liquidity_day(abs(shares), adv[i], limits.participation)
        thin = adv[i] * prices[i] < limits.min_adv_usd
        out[i] = (thin or days > limits.max_days) and shares != 0.0


@kernel
def illiquid_rows(w: FloatArray, t: FloatArray, nav: FloatArray, prices: FloatArray,
                  adv: FloatArray, limits: npt.NDArray[np.void], out: BoolArray) -> None:
    """:func:`illiquid_row` for every row of ``w`` and ``t`` (C, N); ``limits``: one
    :data:`LIQUIDITY` record (:func:`liquidity_limits`)."""
    for c in range(w.shape[0]):
        illiquid_row(w[c], t[c], nav[c], prices, adv, limits[0], out[c])


# ------------------------------------------------------------------ booking


@kernel
def book_row(shares: FloatArray, cash: FloatArray, since: FloatArray, c: int,
             trade_usd: FloatArray, prices: FloatArray, whole: bool, post_cash: float) -> bool:
    """Book row ``c``'s trades ``trade_usd`` (N,) with their costs; return whether it traded.

    The compiled twin of :func:`driftwise.policy.book.book_trades`: a row with a non-zero
    trade gets the shares the sizing traded (``trade_usd / price``, rounded to whole
    shares under ``whole``, as :func:`driftwise.policy.sizing.size_trades` gives them;
    ``prices`` are the sizing's, 1 where there is no price), its post-trade cash
    ``post_cash`` and 0 days since rebalancing; a row without one is left as it was.
    """
    n_assets = trade_usd.shape[0]
    traded = False
    for i in range(n_assets):
        traded |= trade_usd[i] != 0.0
    if not traded:
        return False
    for i in range(n_assets):
        sh = trade_usd[i] / prices[i]
        shares[c, i] += np.rint(sh) if whole else sh
    cash[c] = post_cash
    since[c] = 0.0
    return True
