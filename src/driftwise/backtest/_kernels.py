"""Compiled backtest kernels (numba): the borrow of shorts held overnight and the day loop
of drift-threshold and calendar batches (:mod:`driftwise.backtest.compiled`), which calls
the planner's own kernels: the mark to market, the threshold comparison, the illiquid
assets and the sizing with its cost model.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._jit import kernel
from driftwise._kernels import at_threshold, total
from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.costs._kernels import Table
from driftwise.metrics._kernels import mark_row
from driftwise.policy._kernels import (
    N_ASSET_KEYS,
    N_ROW_KEYS,
    OK,
    Masks,
    Record,
    Sized,
    book_row,
    illiquid_row,
    min_trade_floor,
    size_row,
)

DAY = np.dtype([
    ("nav", np.float64),  # NAV at the close, after trading (USD)
    ("drift", np.float64),  # portfolio drift before trading
    ("post_drift", np.float64),  # after trading
    ("traded", np.float64),  # sum |trade| (USD)
    ("cost", np.float64),  # trading cost (USD)
    ("cash", np.float64),  # cash after trading (USD)
    ("intended", np.float64),  # traded value intended before minimums and rounding (USD)
    ("borrow", np.float64),  # borrow paid overnight (USD)
    ("rebalanced", np.bool_),
], align=True)
"""What the day loop records of each row on each day: a (T, C) array of these records
(:class:`driftwise.backtest.compiled.Loop`)."""
DAY_FIELDS: tuple[str, ...] = tuple(DAY.names or ())

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
def _quiet(day: Record, nav: float, drift: float, cash: float) -> None:
    """Record a day without a trade (``day``: one :data:`DAY` record)."""
    day.nav = nav
    day.drift = drift
    day.post_drift = drift
    day.traded = 0.0
    day.intended = 0.0
    day.cost = 0.0
    day.cash = cash


@kernel
def threshold_scan(start: int, shares: FloatArray, cash: FloatArray, since: FloatArray,
                   prices: FloatArray, target: FloatArray, target_cash: float,
                   threshold: FloatArray, calendar: BoolArray, invalid: BoolArray,
                   borrow_rate: FloatArray, days: npt.NDArray[np.void], nav: FloatArray,
                   drift: FloatArray, paid: FloatArray) -> int:
    """Quiet days of a batch from day ``start``: the first day on which a calendar review
    falls (``calendar``, shape (T,)) or a row's drift reaches its threshold (``inf``: no
    threshold), the plan being valid; or the number of days.

    Every day before it pays the borrow of its shorts (``borrow_rate`` (N,) a day; empty:
    none can be held; never on day 0), is recorded as quiet (no trade; ``days``: (T, C)
    :data:`DAY` records) and counts one more day since trading; the event day itself is
    left to :func:`threshold_event`, with its marks: each row's NAV and drift at the close
    (``nav``, ``drift`` (C,)) after the borrow it is to pay (``paid`` (C,), not yet taken
    from cash), so that the event day is marked once.
    """
    n_rows, n_assets = shares.shape
    weights = np.empty(n_assets)
    gaps = np.empty(n_assets)
    met = np.empty(n_rows, dtype=np.bool_)
    after = np.empty(n_rows)
    charge = borrow_rate.shape[0] == n_assets
    for k in range(start, prices.shape[0]):
        for c in range(n_rows):
            paid[c] = borrow_row(shares[c], prices[k], borrow_rate) if charge and k > 0 else 0.0
            after[c] = cash[c] - paid[c]
            nav[c], drift[c] = mark_row(shares[c], prices[k], after[c], target, target_cash,
                                        weights, gaps)
        if not invalid[k] and (calendar[k] or at_threshold(drift, threshold, met)):
            return k  # threshold_event pays that day's borrow
        for c in range(n_rows):
            cash[c] = after[c]
            days[k, c].borrow = paid[c]
            _quiet(days[k, c], nav[c], drift[c], cash[c])
            since[c] += 1.0
    return int(prices.shape[0])


@kernel
def threshold_event(k: int, shares: FloatArray, cash: FloatArray, since: FloatArray,
                    prices: FloatArray, target: FloatArray, target_cash: float,
                    threshold: FloatArray, review: bool, band_width: FloatArray,
                    no_buy: BoolArray, no_sell: BoolArray, vol: FloatArray, adv: FloatArray,
                    limits: npt.NDArray[np.void], settings: npt.NDArray[np.void],
                    which: IntArray, mult: FloatArray, table: Table, borrow_rate: FloatArray,
                    days: npt.NDArray[np.void], failed: IntArray, nav: FloatArray,
                    drift: FloatArray, paid: FloatArray) -> int:
    """Day ``k`` of a batch (steps 1-4 of the backtest's day), every row, as
    :func:`threshold_scan` stopped on it.

    Pay the borrow of the shorts held overnight (``paid``, the scan's; ``borrow_rate`` as
    in :func:`threshold_scan`); the marks at the close are the scan's (``nav``, ``drift``:
    the same formula on the same cash, so the day is not marked twice; the weights of
    the rows that fire are marked again for their sizing); on a calendar review day
    (``review``) every row fires, otherwise the rows whose drift reaches their threshold.
    The rows that fire leave their illiquid assets out (:func:`illiquid_row` under
    ``limits``, one :data:`~driftwise.policy._kernels.LIQUIDITY` record), are sized
    (:func:`size_row` with their ``settings``, one
    :data:`~driftwise.policy._kernels.SIZING` record per row: the planner's sizing,
    cost-benefit skip off) and are booked with their costs (:func:`book_row`, the twin of
    :func:`driftwise.policy.book.book_trades`: cash after the sizing's own sums, sells
    before buys); then every row counts one more day since rebalancing. Returns a status
    (``failed[0]``: the row) and records the day in ``days[k]`` (:data:`DAY` records).
    """
    n_rows, n_assets = shares.shape
    met = np.empty(n_rows, dtype=np.bool_)
    charge = borrow_rate.shape[0] == n_assets and k > 0
    for c in range(n_rows):
        if charge:
            days[k, c].borrow = paid[c]
            cash[c] = cash[c] - paid[c]
        _quiet(days[k, c], nav[c], drift[c], cash[c])
    if review:  # a calendar review: every row fires (the calendar or the threshold)
        met.fill(True)
    elif not at_threshold(drift, threshold, met):
        _end_day(since)
        return OK
    weights = np.empty((n_rows, n_assets))  # the rows that fire
    gaps = np.empty(n_assets)
    for c in range(n_rows):
        if met[c]:
            mark_row(shares[c], prices, cash[c], target, target_cash, weights[c], gaps)
    status = _size_and_book(k, shares, cash, since, prices, target, target_cash, band_width,
                            no_buy, no_sell, vol, adv, limits[0], settings, which, mult, table,
                            weights, nav, met, days, failed)
    _end_day(since)
    return status


@kernel
def _size_and_book(k: int, shares: FloatArray, cash: FloatArray, since: FloatArray,
                   prices: FloatArray, target: FloatArray, target_cash: float,
                   band_width: FloatArray, no_buy: BoolArray, no_sell: BoolArray,
                   vol: FloatArray, adv: FloatArray, limits: Record,
                   settings: npt.NDArray[np.void], which: IntArray, mult: FloatArray,
                   table: Table, weights: FloatArray, nav: FloatArray, met: BoolArray,
                   days: npt.NDArray[np.void], failed: IntArray) -> int:
    """The rows of :func:`threshold_event` that fire (``met``), marked at ``weights`` and
    ``nav``: illiquid assets left out, sized, booked; their day recorded."""
    n_rows, n_assets = shares.shape
    gaps = np.empty(n_assets)
    price_ok = np.empty(n_assets, dtype=np.bool_)
    safe = np.empty(n_assets)
    for i in range(n_assets):
        price_ok[i] = prices[i] > 0.0 and prices[i] < np.inf
        safe[i] = prices[i] if price_ok[i] else 1.0
    floor = np.empty(n_assets)
    exclude = np.empty(n_assets, dtype=np.bool_)
    masks = Masks(no_buy, no_sell, np.ones(n_assets, dtype=np.bool_), exclude)
    held = np.empty(n_assets)
    sized = Sized(np.empty(n_assets), np.empty(n_assets),
                  np.zeros((N_ASSET_KEYS, n_assets), dtype=np.bool_),
                  np.zeros(N_ROW_KEYS, dtype=np.bool_), np.zeros(3))
    x, cost, sums = sized.trade_usd, sized.cost_usd, sized.sums
    scratch = np.empty((4, n_assets))
    no_cov = np.zeros((0, 0))
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
        illiquid_row(w, target, v, prices, adv, limits, exclude)
        s = settings[c]
        use_min = min_trade_floor(s, safe, floor)
        status, _ = size_row(w, target, cash_usd, v, held, safe, price_ok, masks, band_width,
                             vol, no_cov, s, floor, use_min, which[c], mult[c], table, sized,
                             scratch)
        if status != OK:
            failed[0] = c
            return status
        day = days[k, c]
        day.intended = sums[2]
        if not book_row(shares, cash, since, c, x, safe, s.whole_shares,
                        cash_usd - sums[0] - sums[1]):
            continue
        for i in range(n_assets):
            moved[i] = abs(x[i])
        post_nav, post_drift = mark_row(shares[c], prices, cash[c], target, target_cash,
                                        weights[c], gaps)
        day.traded = total(moved)
        day.cost = total(cost)
        day.nav = post_nav
        day.cash = cash[c]
        day.rebalanced = True
        day.post_drift = post_drift
    return OK


@kernel
def _end_day(since: FloatArray) -> None:
    """One more day since rebalancing in every row (:meth:`driftwise.policy.book.Book.end_day`
    without a delay: the compiled loop runs no delaying trigger)."""
    for c in range(since.shape[0]):
        since[c] += 1.0
