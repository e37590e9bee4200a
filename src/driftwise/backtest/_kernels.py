"""Compiled backtest kernels (numba): the borrow of shorts held overnight and the day loop
of drift-threshold and calendar batches (:mod:`driftwise.backtest.compiled`), which calls
the planner's own kernels: the mark to market, the threshold comparison, the illiquid
assets and the sizing with its cost model.
"""

from __future__ import annotations

import numpy as np

from driftwise._jit import kernel
from driftwise._kernels import at_threshold, total
from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.costs._kernels import Table
from driftwise.metrics._kernels import mark_row
from driftwise.policy._kernels import (
    N_ASSET_KEYS,
    N_ROW_KEYS,
    OK,
    book_row,
    illiquid_row,
    size_row,
)

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
    (:func:`size_row`: the planner's sizing, cost-benefit skip off) and are booked with
    their costs (:func:`book_row`, the twin of :func:`driftwise.policy.book.book_trades`:
    cash after the sizing's own sums, sells before buys); then every row counts one more
    day since rebalancing. Returns a status (``failed[0]``: the row) and records the day.
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
    if review:  # a calendar review: every row fires (the calendar or the threshold)
        met.fill(True)
    elif not at_threshold(drift, threshold, met):
        _end_day(since)
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
        if not book_row(shares, cash, since, c, x, safe, whole, cash_usd - sums[0] - sums[1]):
            continue
        for i in range(n_assets):
            moved[i] = abs(x[i])
        post_nav, post_drift = mark_row(shares[c], prices, cash[c], target, target_cash,
                                        weights[c], gaps)
        out_traded[k, c] = total(moved)
        out_cost[k, c] = total(cost)
        out_nav[k, c] = post_nav
        out_cash[k, c] = cash[c]
        out_rebalanced[k, c] = True
        out_post[k, c] = post_drift
    _end_day(since)
    return OK


@kernel
def _end_day(since: FloatArray) -> None:
    """One more day since rebalancing in every row (:meth:`driftwise.policy.book.Book.end_day`
    without a delay: the compiled loop runs no delaying trigger)."""
    for c in range(since.shape[0]):
        since[c] += 1.0

