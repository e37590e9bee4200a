"""Compiled backtest kernels (numba): the night's interest on cash, the borrow of shorts held
overnight and the day loop
of drift-threshold and calendar batches (:mod:`driftwise.backtest.compiled`), which calls
the planner's own kernels: the mark to market, the threshold comparison, the illiquid
assets and the sizing with its cost model.
"""

from __future__ import annotations

from typing import NamedTuple

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


@kernel
def night_cash(cash: float, k: int, cash_growth: FloatArray, paid: float) -> float:
    """Cash at the close of day ``k`` before trading: the previous close's cash grown over
    the night (``cash * cash_growth[k]``, ``cash_growth[k] = 1 + rf_{k-1} / 252``; empty
    ``cash_growth``: cash earns nothing) less the borrow ``paid`` that night; the one
    formula of every path of the backtest."""
    grown: float = cash * cash_growth[k] if cash_growth.shape[0] > 0 and k > 0 else cash
    return grown - paid


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
                   borrow_rate: FloatArray, cash_growth: FloatArray,
                   days: npt.NDArray[np.void], nav: FloatArray, drift: FloatArray,
                   paid: FloatArray) -> int:
    """Quiet days of a batch from day ``start``: the first day on which a calendar review
    falls (``calendar``, shape (T,)) or a row's drift reaches its threshold (``inf``: no
    threshold), the plan being valid; or the number of days.

    Every day before it grows its cash by the night's interest (``cash_growth`` (T,):
    :func:`night_cash`), pays the borrow of its shorts (``borrow_rate`` (N,) a day; empty:
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
            after[c] = night_cash(cash[c], k, cash_growth, paid[c])
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
                    cash_growth: FloatArray, days: npt.NDArray[np.void], failed: IntArray,
                    nav: FloatArray, drift: FloatArray, paid: FloatArray) -> int:
    """Day ``k`` of a batch (steps 1-4 of the backtest's day), every row, as
    :func:`threshold_scan` stopped on it.

    Grow the cash over the night and pay the borrow of the shorts held overnight
    (:func:`night_cash`; ``paid``, the scan's; ``borrow_rate``, ``cash_growth`` as in
    :func:`threshold_scan`); the marks at the close are the scan's (``nav``, ``drift``:
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
    grow = cash_growth.shape[0] > 0 and k > 0
    for c in range(n_rows):
        if charge:
            days[k, c].borrow = paid[c]
        if charge or grow:
            cash[c] = night_cash(cash[c], k, cash_growth, paid[c])
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
def _priced(prices: FloatArray, price_ok: BoolArray, safe: FloatArray) -> None:
    """``price_ok``: the assets with a positive, finite price; ``safe``: their price, 1.0
    where there is none (the sizing's divisor), both written in place."""
    for i in range(len(prices)):
        price_ok[i] = prices[i] > 0.0 and prices[i] < np.inf
        safe[i] = prices[i] if price_ok[i] else 1.0


@kernel
def _size_and_book(k: int, shares: FloatArray, cash: FloatArray, since: FloatArray,
                   prices: FloatArray, target: FloatArray, target_cash: float,
                   band_width: FloatArray, no_buy: BoolArray, no_sell: BoolArray,
                   vol: FloatArray, adv: FloatArray, limits: Record,
                   settings: npt.NDArray[np.void], which: IntArray, mult: FloatArray,
                   table: Table, weights: FloatArray, nav: FloatArray, met: BoolArray,
                   days: npt.NDArray[np.void], failed: IntArray) -> int:
    """The rows of :func:`threshold_event` that fire (``met``), marked at ``weights`` and
    ``nav``: each sized and booked by :func:`_size_book_row`; the first failing row stops
    (``failed[0]``: the row)."""
    n_rows, n_assets = shares.shape
    buffers = _buffers(n_assets, no_buy, no_sell)
    _priced(prices, buffers.price_ok, buffers.safe)
    for c in range(n_rows):
        if not met[c]:
            continue
        status = _size_book_row(c, shares, cash, since, prices, target, target_cash,
                                band_width, vol, adv, limits, settings[c], which[c], mult[c],
                                table, weights[c], nav[c], days[k, c], buffers)
        if status != OK:
            failed[0] = c
            return status
    return OK


class _Buffers(NamedTuple):
    """The scratch arrays of one row's sizing and booking (:func:`_size_book_row`), N
    each unless said: the prices as sizing reads them (``price_ok``, ``safe``:
    :func:`_priced`), the minimum trades, the row's masks (the illiquid assets in
    ``masks.exclude``), the holdings in USD, sizing's output, its scratch (4, N), an
    empty covariance, the traded values and the mark's gaps."""

    price_ok: BoolArray
    safe: FloatArray
    floor: FloatArray
    masks: Masks
    held: FloatArray
    sized: Sized
    scratch: FloatArray
    no_cov: FloatArray
    moved: FloatArray
    gaps: FloatArray


@kernel
def _buffers(n_assets: int, no_buy: BoolArray, no_sell: BoolArray) -> _Buffers:
    """Fresh :class:`_Buffers` for N assets and the batch's restrictions (sizing never
    reads what a previous row left in them)."""
    return _Buffers(np.empty(n_assets, dtype=np.bool_), np.empty(n_assets),
                    np.empty(n_assets),
                    Masks(no_buy, no_sell, np.ones(n_assets, dtype=np.bool_),
                          np.empty(n_assets, dtype=np.bool_)),
                    np.empty(n_assets),
                    Sized(np.empty(n_assets), np.empty(n_assets),
                          np.zeros((N_ASSET_KEYS, n_assets), dtype=np.bool_),
                          np.zeros(N_ROW_KEYS, dtype=np.bool_), np.zeros(3)),
                    np.empty((4, n_assets)), np.zeros((0, 0)), np.empty(n_assets),
                    np.empty(n_assets))


@kernel
def _size_book_row(c: int, shares: FloatArray, cash: FloatArray, since: FloatArray,
                   prices: FloatArray, target: FloatArray, target_cash: float,
                   band_width: FloatArray, vol: FloatArray, adv: FloatArray, limits: Record,
                   s: Record, p: int, m: float, table: Table, w: FloatArray, v: float,
                   day: Record, b: _Buffers) -> int:
    """Row ``c`` on a day it fires, marked at weights ``w`` (overwritten) and NAV ``v``:
    its illiquid assets left out (:func:`illiquid_row` under ``limits``), sized
    (:func:`size_row` with its settings ``s``, cost set ``p`` at multiplier ``m``) and
    booked (:func:`book_row`), the day's trades recorded in ``day`` (a :data:`DAY`
    record); ``b.price_ok`` and ``b.safe`` hold the day's :func:`_priced`. Returns a
    status."""
    n_assets = w.shape[0]
    if not (v > 0.0 and v < np.inf):
        return NAV_NOT_POSITIVE
    held, floor, sized, safe = b.held, b.floor, b.sized, b.safe
    x, cost, sums = sized.trade_usd, sized.cost_usd, sized.sums
    cash_usd = cash[c] / v * v  # the planner's cash weight times NAV
    for i in range(n_assets):
        held[i] = w[i] * v
    illiquid_row(w, target, v, prices, adv, limits, b.masks.exclude)
    use_min = min_trade_floor(s, safe, floor)
    status, _ = size_row(w, target, cash_usd, v, held, safe, b.price_ok, b.masks, band_width,
                         vol, b.no_cov, s, floor, use_min, p, m, table, sized, b.scratch)
    if status != OK:
        return status
    day.intended = sums[2]
    if not book_row(shares, cash, since, c, x, safe, s.whole_shares,
                    cash_usd - sums[0] - sums[1]):
        return OK
    moved = b.moved
    for i in range(n_assets):
        moved[i] = abs(x[i])
    post_nav, post_drift = mark_row(shares[c], prices, cash[c], target, target_cash, w, b.gaps)
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


# --------------------------------------------- backtest: each row on its own

WAIT = 5
"""Status of :func:`threshold_row` stopped on a day it fires whose inputs are not laid
out yet (``ready`` false): the caller builds them and runs the row again from that day."""


@kernel
def threshold_row(c: int, start: int, shares: FloatArray, cash: FloatArray,
                  since: FloatArray, prices: FloatArray, target: FloatArray,
                  target_cash: float, threshold: FloatArray, calendar: BoolArray,
                  invalid: BoolArray, band_width: FloatArray, no_buy: BoolArray,
                  no_sell: BoolArray, vol: FloatArray, adv: FloatArray, ready: BoolArray,
                  model_of: IntArray, which: IntArray, mult: FloatArray, table: Table,
                  limits: npt.NDArray[np.void], settings: npt.NDArray[np.void],
                  borrow_rate: FloatArray, cash_growth: FloatArray,
                  days: npt.NDArray[np.void]) -> tuple[int, int]:
    """Row ``c`` of a batch from day ``start`` on, alone: what :func:`threshold_scan` and
    :func:`threshold_event` do to it, day after day, in the same operations.

    Rows never read each other: the scan and the event visit the rows of a day one after
    the other, and a row's day depends only on its own book, its threshold and the day's
    inputs. Each day the row pays the night's borrow and interest and is marked
    (:func:`threshold_scan`'s formulas); a day it fires (a review day, or its drift at its
    threshold, the plan being valid) is :func:`threshold_event`'s for this row: the day's
    cost model is ``which[d, c]``, ``mult[d, c]`` of ``table`` with ``d = model_of[k]``,
    its ADV ``adv[k]`` (T, N), both laid out where ``ready[k]``. Returns the next day and
    a status: the number of days and OK when done; a day it fires that is not ready and
    :data:`WAIT`; the day and a failing status of :func:`threshold_event`.
    """
    n_days, n_assets = prices.shape
    weights = np.empty(n_assets)
    gaps = np.empty(n_assets)
    buffers = _buffers(n_assets, no_buy, no_sell)
    charge = borrow_rate.shape[0] == n_assets
    grow = cash_growth.shape[0] > 0
    book = shares[c]
    for k in range(start, n_days):
        paid = borrow_row(book, prices[k], borrow_rate) if charge and k > 0 else 0.0
        after = night_cash(cash[c], k, cash_growth, paid)
        nav, drift = mark_row(book, prices[k], after, target, target_cash, weights, gaps)
        day = days[k, c]
        fires = not invalid[k] and (calendar[k] or (drift >= threshold[c] and drift > 0.0))
        if not fires:  # threshold_scan's quiet day
            cash[c] = after
            day.borrow = paid
            _quiet(day, nav, drift, cash[c])
            since[c] += 1.0
            continue
        if not ready[k]:
            return k, WAIT
        if charge and k > 0:  # threshold_event's day, for this row
            day.borrow = paid
        if (charge or grow) and k > 0:
            cash[c] = night_cash(cash[c], k, cash_growth, paid)
        # cash[c] is now ``after`` to the bit (night_cash of the same cash, or ``cash -
        # 0.0`` = cash when nothing was charged or grown): the weights marked above are
        # the ones threshold_event marks again for the sizing
        _quiet(day, nav, drift, cash[c])
        _priced(prices[k], buffers.price_ok, buffers.safe)
        d = model_of[k]
        status = _size_book_row(c, shares, cash, since, prices[k], target, target_cash,
                                band_width, vol, adv[k], limits[0], settings[c], which[d, c],
                                mult[d, c], table, weights, nav, day, buffers)
        if status != OK:
            return k, status
        since[c] += 1.0
    return n_days, OK


@kernel
def threshold_rows(rows: IntArray, next_day: IntArray, status: IntArray, shares: FloatArray,
                   cash: FloatArray, since: FloatArray, prices: FloatArray,
                   target: FloatArray, target_cash: float, threshold: FloatArray,
                   calendar: BoolArray, invalid: BoolArray, band_width: FloatArray,
                   no_buy: BoolArray, no_sell: BoolArray, vol: FloatArray, adv: FloatArray,
                   ready: BoolArray, model_of: IntArray, which: IntArray, mult: FloatArray,
                   table: Table, limits: npt.NDArray[np.void],
                   settings: npt.NDArray[np.void], borrow_rate: FloatArray,
                   cash_growth: FloatArray, days: npt.NDArray[np.void]) -> None:
    """:func:`threshold_row` of each row of ``rows`` that can go on: its status OK and its
    next day (``next_day`` (C,)) not past the last, or waiting (:data:`WAIT`) on a day
    now ``ready``; each row's next day and status written back (a failed row stays where
    it failed). Calls on disjoint ``rows`` write disjoint parts of the arrays (the GIL
    released: threads may run them side by side)."""
    n_days = prices.shape[0]
    for c in rows:
        k = next_day[c]
        if k < n_days and (status[c] == OK or (status[c] == WAIT and ready[k])):
            next_day[c], status[c] = threshold_row(
                c, k, shares, cash, since, prices, target, target_cash, threshold, calendar,
                invalid, band_width, no_buy, no_sell, vol, adv, ready, model_of, which, mult,
                table, limits, settings, borrow_rate, cash_growth, days)


# ------------------------------------ backtest: rows on the same book, marked once


@kernel
def _copy_day(src: Record, dst: Record) -> None:
    """Every field of one :data:`DAY` record into another."""
    dst.nav = src.nav
    dst.drift = src.drift
    dst.post_drift = src.post_drift
    dst.traded = src.traded
    dst.cost = src.cost
    dst.cash = src.cash
    dst.intended = src.intended
    dst.borrow = src.borrow
    dst.rebalanced = src.rebalanced


@kernel
def _copy_book(shares: FloatArray, cash: FloatArray, since: FloatArray, src: int,
               dst: int) -> None:
    """Row ``src``'s book (shares, cash, days since rebalancing) into row ``dst``."""
    if src == dst:
        return
    for i in range(shares.shape[1]):
        shares[dst, i] = shares[src, i]
    cash[dst] = cash[src]
    since[dst] = since[src]


@kernel
def _partition(order: IntArray, lo: int, hi: int, keep: BoolArray, scratch: IntArray) -> int:
    """Reorder ``order[lo:hi]`` so that the rows whose ``keep`` (by position: ``keep[j -
    lo]``) is true come first, each part in its previous order; return where the rest
    starts."""
    n_keep = 0
    for j in range(lo, hi):
        if keep[j - lo]:
            scratch[n_keep] = order[j]
            n_keep += 1
    n_rest = n_keep
    for j in range(lo, hi):
        if not keep[j - lo]:
            scratch[n_rest] = order[j]
            n_rest += 1
    for j in range(hi - lo):
        order[lo + j] = scratch[j]
    return lo + n_keep


@kernel
def _leave(order: IntArray, lo: int, hi: int, lead: int, k: int, stat: int,
           next_day: IntArray, status: IntArray, peer: IntArray, shares: FloatArray,
           cash: FloatArray, since: FloatArray) -> None:
    """The rows ``order[lo:hi]`` of a group led by row ``lead`` stop on day ``k`` with
    ``stat``: each gets the leader's book, next day and status, and ``lead`` as its peer."""
    for j in range(lo, hi):
        c = order[j]
        _copy_book(shares, cash, since, lead, c)
        next_day[c] = k
        status[c] = stat
        peer[c] = lead


@kernel
def threshold_groups(order: IntArray, bounds: IntArray, next_day: IntArray,
                     status: IntArray, peer: IntArray, shares: FloatArray, cash: FloatArray,
                     since: FloatArray, prices: FloatArray, target: FloatArray,
                     target_cash: float, threshold: FloatArray, calendar: BoolArray,
                     invalid: BoolArray, band_width: FloatArray, no_buy: BoolArray,
                     no_sell: BoolArray, vol: FloatArray, adv: FloatArray, ready: BoolArray,
                     model_of: IntArray, which: IntArray, mult: FloatArray, table: Table,
                     limits: npt.NDArray[np.void], settings: npt.NDArray[np.void],
                     borrow_rate: FloatArray, cash_growth: FloatArray,
                     days: npt.NDArray[np.void]) -> None:
    """:func:`threshold_row` of every row of groups of rows that hold the same book, each
    group's book marked once a day.

    Group ``g`` is ``order[bounds[g]:bounds[g + 1]]``: rows with the same book (shares,
    cash and days since rebalancing, bit for bit), the same sizing settings, the same
    next day and a status that lets them go on (the caller's grouping). Such rows compute
    the same operations on the same numbers for as long as they fire on the same days
    with the same cost model, so the group's first row (its leader) is simulated as
    :func:`threshold_row` simulates it and each day's record is copied to the others.
    A day on which only some rows fire (their thresholds) splits the group: the rows
    that stay quiet record the day and go on as a group of their own, led by their first
    row with the leader's book; so do the rows that fire with another cost model
    (``which``, ``mult`` of the day) than the leader's, from the day itself. A group that
    stops (done, waiting on a day not ready, or failing) gives every row the leader's
    book, the next day and status :func:`threshold_row` returns, and the leader as its
    ``peer`` (rows left waiting together keep the same book). Calls on disjoint groups
    write disjoint parts of the arrays (threads may run them side by side).
    """
    n_days, n_assets = prices.shape
    n = order.shape[0]
    weights = np.empty(n_assets)
    gaps = np.empty(n_assets)
    buffers = _buffers(n_assets, no_buy, no_sell)
    charge = borrow_rate.shape[0] == n_assets
    grow = cash_growth.shape[0] > 0
    keep = np.empty(n, dtype=np.bool_)
    scratch = np.empty(n, dtype=np.intp)
    stack = np.empty((n + 1, 3), dtype=np.intp)  # (lo, hi, next day) of groups to run
    for g in range(bounds.shape[0] - 1):
        stack[0, 0], stack[0, 1] = bounds[g], bounds[g + 1]
        stack[0, 2] = next_day[order[bounds[g]]]
        top = 1
        while top > 0:
            top -= 1
            lo, hi, k = stack[top, 0], stack[top, 1], stack[top, 2]
            lead = order[lo]
            book = shares[lead]
            stat = OK
            while k < n_days:
                paid = borrow_row(book, prices[k], borrow_rate) if charge and k > 0 else 0.0
                after = night_cash(cash[lead], k, cash_growth, paid)
                nav, drift = mark_row(book, prices[k], after, target, target_cash, weights,
                                      gaps)
                valid, review = not invalid[k], calendar[k]
                n_fire = 0
                for j in range(lo, hi):
                    keep[j - lo] = valid and (review or (drift >= threshold[order[j]]
                                                         and drift > 0.0))
                    n_fire += keep[j - lo]
                if n_fire < hi - lo:  # some rows stay quiet: their day, then on as a group
                    mid = lo
                    if n_fire > 0:  # the rows that fire first, led by the first of them
                        mid = _partition(order, lo, hi, keep, scratch)
                        _copy_book(shares, cash, since, lead, order[lo])
                    quiet = order[mid]
                    _copy_book(shares, cash, since, lead, quiet)
                    cash[quiet] = after
                    day = days[k, quiet]
                    day.borrow = paid
                    _quiet(day, nav, drift, cash[quiet])
                    since[quiet] += 1.0
                    for j in range(mid + 1, hi):
                        _copy_day(day, days[k, order[j]])
                    if n_fire == 0:
                        lead = quiet
                        book = shares[lead]
                        k += 1
                        continue
                    stack[top, 0], stack[top, 1], stack[top, 2] = mid, hi, k + 1
                    top += 1
                    hi = mid
                    lead = order[lo]
                    book = shares[lead]
                if not ready[k]:
                    stat = WAIT
                    break
                d = model_of[k]
                p, m = which[d, lead], mult[d, lead]
                for j in range(lo, hi):
                    keep[j - lo] = which[d, order[j]] == p and mult[d, order[j]] == m
                keep[0] = True  # the leader (a NaN multiplier equals none)
                mid = _partition(order, lo, hi, keep, scratch)
                if mid < hi:  # another cost model: from this day, a group of their own
                    _copy_book(shares, cash, since, lead, order[mid])
                    stack[top, 0], stack[top, 1], stack[top, 2] = mid, hi, k
                    top += 1
                    hi = mid
                day = days[k, lead]
                if charge and k > 0:  # threshold_row's day it fires, for the leader
                    day.borrow = paid
                if (charge or grow) and k > 0:
                    cash[lead] = night_cash(cash[lead], k, cash_growth, paid)
                _quiet(day, nav, drift, cash[lead])
                # the weights of the day's mark (cash[lead] is ``after`` to the bit, as in
                # threshold_row; a leader changed above holds the same book)
                _priced(prices[k], buffers.price_ok, buffers.safe)
                stat = _size_book_row(lead, shares, cash, since, prices[k], target,
                                      target_cash, band_width, vol, adv[k], limits[0],
                                      settings[lead], p, m, table, weights, nav, day, buffers)
                for j in range(lo + 1, hi):
                    _copy_day(day, days[k, order[j]])
                if stat != OK:
                    break
                since[lead] += 1.0
                k += 1
            _leave(order, lo, hi, lead, k, stat, next_day, status, peer, shares, cash, since)

# ------------------------------------------- backtest: segments of equal books

SEGMENT_ABORT = 4
"""Status of :func:`segment_event` when the shared-segment path is not exact on that day
(a cost that is not proportional to the traded value, an illiquid asset whose exclusion
depends on the NAV, or post-trade books that differ by more than :data:`MERGE_TOL`): the
batch then runs in the general loop."""

STOP_COSTS, STOP_ILLIQUID, STOP_BOOKS = 0, 1, 2
"""Why :func:`segment_event` returned :data:`SEGMENT_ABORT` (in ``failed[0]``): a cost
not proportional to the traded value, illiquid assets that depend on the NAV, post-trade
books that differ."""

MERGE_TOL = 1e-12
"""Largest difference of a post-trade weight (asset or cash, fraction of NAV) between two
books merged into one segment: the relative tolerance of the sizing's own cost fixed
point (``policy.constraints.FIXED_POINT_TOL``), within which the landing leaves the
post-trade cash of any one book (two landings on the target from different books differ
by their fixed points' residuals, about 1e-13 of NAV in cash)."""


@kernel
def _segment_marks(k: int, seg_shares: FloatArray, seg_cash: FloatArray, seg_count: IntArray,
                   prices: FloatArray, target: FloatArray, target_cash: float,
                   borrow_rate: FloatArray, cash_growth: FloatArray, seg_nav: FloatArray,
                   seg_drift: FloatArray, seg_paid: FloatArray, weights: FloatArray,
                   gaps: FloatArray) -> None:
    """Mark every live segment (``seg_count > 0``) at the close of day ``k``, after the
    night's interest and the borrow it is to pay (:func:`night_cash`; ``seg_paid``, not
    yet taken from ``seg_cash``)."""
    charge = borrow_rate.shape[0] == seg_shares.shape[1] and k > 0
    for s in range(seg_shares.shape[0]):
        if seg_count[s] == 0:
            continue
        seg_paid[s] = borrow_row(seg_shares[s], prices, borrow_rate) if charge else 0.0
        seg_nav[s], seg_drift[s] = mark_row(seg_shares[s], prices,
                                            night_cash(seg_cash[s], k, cash_growth,
                                                       seg_paid[s]),
                                            target, target_cash, weights, gaps)


@kernel
def segment_scan(start: int, seg_shares: FloatArray, seg_cash: FloatArray,
                 seg_count: IntArray, seg_of: IntArray, scale: FloatArray,
                 prices: FloatArray, target: FloatArray, target_cash: float,
                 threshold: FloatArray, calendar: BoolArray, invalid: BoolArray,
                 borrow_rate: FloatArray, cash_growth: FloatArray,
                 days: npt.NDArray[np.void], seg_nav: FloatArray, seg_drift: FloatArray,
                 seg_paid: FloatArray, drift: FloatArray) -> int:
    """:func:`threshold_scan` of a batch whose rows share books: row ``c`` holds
    ``scale[c]`` times the book of segment ``seg_of[c]`` (``seg_shares`` (S, N),
    ``seg_cash`` (S,), ``seg_count`` (S,) rows in each; 0: a free slot).

    Each live segment is marked once a day; a row's NAV, cash and borrow are its
    segment's times its scale, its drift its segment's (weights do not scale). Returns
    the first day a review falls or a row's drift reaches its threshold (its marks left
    in ``seg_nav``, ``seg_drift``, ``seg_paid`` and each row's drift in ``drift`` (C,)),
    or the number of days.
    """
    n_rows = seg_of.shape[0]
    weights = np.empty(seg_shares.shape[1])
    gaps = np.empty(seg_shares.shape[1])
    met = np.empty(n_rows, dtype=np.bool_)
    for k in range(start, prices.shape[0]):
        _segment_marks(k, seg_shares, seg_cash, seg_count, prices[k], target, target_cash,
                       borrow_rate, cash_growth, seg_nav, seg_drift, seg_paid, weights, gaps)
        for c in range(n_rows):
            drift[c] = seg_drift[seg_of[c]]
        if not invalid[k] and (calendar[k] or at_threshold(drift, threshold, met)):
            return k
        for s in range(seg_shares.shape[0]):
            if seg_count[s] > 0:
                seg_cash[s] = night_cash(seg_cash[s], k, cash_growth, seg_paid[s])
        for c in range(n_rows):
            s, f = seg_of[c], scale[c]
            days[k, c].borrow = f * seg_paid[s]
            _quiet(days[k, c], f * seg_nav[s], seg_drift[s], f * seg_cash[s])
    return int(prices.shape[0])


@kernel
def proportional(table: Table, p: int) -> bool:
    """Whether parameter set ``p`` of ``table`` prices a trade in proportion to its value
    (no minimum ticket, no impact term): then a book ``f`` times another pays ``f`` times
    its costs."""
    for i in range(table.min_ticket_usd.shape[1]):
        if table.min_ticket_usd[p, i] != 0.0:
            return False
    coef = table.impact_coef[p]
    for j in range(coef.shape[0]):
        for i in range(coef.shape[1]):
            if coef[j, i] != 0.0:
                return False
    return True


@kernel
def _same_book(a: FloatArray, a_cash: float, b: FloatArray, b_cash: float) -> bool:
    """Post-trade weights ``a`` and ``b`` (N,) and cash weights within :data:`MERGE_TOL`."""
    same = abs(a_cash - b_cash) <= MERGE_TOL  # False for a NaN
    for i in range(a.shape[0]):
        same &= abs(a[i] - b[i]) <= MERGE_TOL
    return same


@kernel
def segment_event(k: int, seg_shares: FloatArray, seg_cash: FloatArray, seg_count: IntArray,
                  seg_of: IntArray, scale: FloatArray, prices: FloatArray, target: FloatArray,
                  target_cash: float, threshold: FloatArray, review: bool,
                  band_width: FloatArray, no_buy: BoolArray, no_sell: BoolArray,
                  vol: FloatArray, adv: FloatArray, limits: npt.NDArray[np.void],
                  settings: npt.NDArray[np.void], which: IntArray, mult: FloatArray,
                  table: Table, borrow_rate: FloatArray, cash_growth: FloatArray,
                  days: npt.NDArray[np.void], failed: IntArray, seg_nav: FloatArray,
                  seg_drift: FloatArray, seg_paid: FloatArray, drift: FloatArray) -> int:
    """:func:`threshold_event` of a batch whose rows share books (:func:`segment_scan`).

    The rows that fire are grouped by segment and cost parameter set; each group is
    sized once, on its segment's book (:func:`size_row` at the segment's NAV), and each
    row of it books the same trades times its scale. Exact when a book ``f`` times
    another trades ``f`` times its trades: the costs are proportional
    (:func:`proportional`), the illiquid assets are the same at every row's NAV of the
    group, and the sizing has no whole shares and no minimum trade (the caller's
    condition). Every group that trades lands on one post-trade book (the full
    destination after proportional costs), held as one new segment; a group whose
    weights differ by more than :data:`MERGE_TOL` returns :data:`SEGMENT_ABORT`, as does
    any other inexact case. Other statuses as :func:`threshold_event`.
    """
    n_slots, n_assets = seg_shares.shape
    n_rows, n_sets = seg_of.shape[0], table.spread_frac.shape[0]
    charge = borrow_rate.shape[0] == n_assets and k > 0
    for s in range(n_slots):
        if seg_count[s] > 0:
            seg_cash[s] = night_cash(seg_cash[s], k, cash_growth, seg_paid[s])
    met = np.empty(n_rows, dtype=np.bool_)
    for c in range(n_rows):
        s, f = seg_of[c], scale[c]
        if charge:
            days[k, c].borrow = f * seg_paid[s]
        _quiet(days[k, c], f * seg_nav[s], seg_drift[s], f * seg_cash[s])
    if review:
        met.fill(True)
    elif not at_threshold(drift, threshold, met):
        return OK
    # the groups: (segment, parameter set) of the rows that fire, each row's scale range
    group = np.full((n_slots, n_sets), -1, dtype=np.intp)
    low = np.empty(n_rows)
    high = np.empty(n_rows)
    first = np.empty(n_rows, dtype=np.intp)
    members = np.empty(n_rows, dtype=np.intp)  # each row's group
    n_groups = 0
    for c in range(n_rows):
        if not met[c]:
            continue
        g = group[seg_of[c], which[c]]
        if g < 0:
            g = group[seg_of[c], which[c]] = n_groups
            low[g] = high[g] = scale[c]
            first[g] = c
            n_groups += 1
        low[g] = min(low[g], scale[c])
        high[g] = max(high[g], scale[c])
        members[c] = g
    # sizing scratch, as _size_and_book
    price_ok = np.empty(n_assets, dtype=np.bool_)
    safe = np.empty(n_assets)
    _priced(prices, price_ok, safe)
    floor = np.empty(n_assets)
    exclude = np.empty(n_assets, dtype=np.bool_)
    other = np.empty(n_assets, dtype=np.bool_)
    masks = Masks(no_buy, no_sell, np.ones(n_assets, dtype=np.bool_), exclude)
    held = np.empty(n_assets)
    sized = Sized(np.empty(n_assets), np.empty(n_assets),
                  np.zeros((N_ASSET_KEYS, n_assets), dtype=np.bool_),
                  np.zeros(N_ROW_KEYS, dtype=np.bool_), np.zeros(3))
    x, cost, sums = sized.trade_usd, sized.cost_usd, sized.sums
    scratch = np.empty((4, n_assets))
    no_cov = np.zeros((0, 0))
    w = np.empty(n_assets)
    gaps = np.empty(n_assets)
    moved = np.empty(n_assets)
    post = np.zeros((1, n_assets))  # a group's post-trade book, booked by book_row
    post_cash = np.zeros(1)
    since = np.zeros(1)
    new_w = np.empty(n_assets)  # the new segment's post-trade weights
    new_cash_w = 0.0
    new_nav = 0.0
    new = -1
    # per group: traded (the new segment's slot or -1) and the sums to scale
    g_into = np.full(n_groups, -1, dtype=np.intp)
    g_out = np.empty((n_groups, 6))  # intended, traded, cost, post NAV, cash, post drift
    for g in range(n_groups):
        c0 = first[g]
        s, p = seg_of[c0], which[c0]
        if not proportional(table, p):
            failed[0] = STOP_COSTS
            return SEGMENT_ABORT
        v = seg_nav[s]
        if not (v * low[g] > 0.0 and v * high[g] < np.inf):
            failed[0] = c0
            return NAV_NOT_POSITIVE
        mark_row(seg_shares[s], prices, seg_cash[s], target, target_cash, w, gaps)
        illiquid_row(w, target, v * low[g], prices, adv, limits[0], other)
        illiquid_row(w, target, v * high[g], prices, adv, limits[0], exclude)
        for i in range(n_assets):
            if other[i] != exclude[i]:
                failed[0] = STOP_ILLIQUID
                return SEGMENT_ABORT
        cash_usd = seg_cash[s] / v * v
        for i in range(n_assets):
            held[i] = w[i] * v
        st = settings[c0]
        use_min = min_trade_floor(st, safe, floor)
        status, _ = size_row(w, target, cash_usd, v, held, safe, price_ok, masks, band_width,
                             vol, no_cov, st, floor, use_min, p, mult[c0], table, sized,
                             scratch)
        if status != OK:
            failed[0] = c0
            return status
        g_out[g, 0] = sums[2]
        for i in range(n_assets):
            post[0, i] = seg_shares[s, i]
        if not book_row(post, post_cash, since, 0, x, safe, False,
                        cash_usd - sums[0] - sums[1]):
            continue
        for i in range(n_assets):
            moved[i] = abs(x[i])
        g_out[g, 1] = total(moved)
        g_out[g, 2] = total(cost)
        g_out[g, 3], g_out[g, 5] = mark_row(post[0], prices, post_cash[0], target,
                                            target_cash, w, gaps)
        g_out[g, 4] = post_cash[0]
        cash_w = post_cash[0] / g_out[g, 3]
        if new < 0:  # the day's new segment, in a free slot
            for slot in range(n_slots):
                if seg_count[slot] == 0:
                    new = slot
                    break
            if new < 0:  # pragma: no cover (S = C + 1 slots: one is always free)
                return SEGMENT_ABORT
            for i in range(n_assets):
                seg_shares[new, i] = post[0, i]
                new_w[i] = w[i]
            seg_cash[new] = post_cash[0]
            new_cash_w, new_nav = cash_w, g_out[g, 3]
        elif not _same_book(w, cash_w, new_w, new_cash_w):
            failed[0] = STOP_BOOKS
            return SEGMENT_ABORT
        g_into[g] = new
    for c in range(n_rows):  # every group is exact: record the rows and move them
        if not met[c]:
            continue
        g = members[c]
        f = scale[c]
        day = days[k, c]
        day.intended = f * g_out[g, 0]
        if g_into[g] < 0:
            continue
        day.traded = f * g_out[g, 1]
        day.cost = f * g_out[g, 2]
        day.nav = f * g_out[g, 3]
        day.cash = f * g_out[g, 4]
        day.post_drift = g_out[g, 5]
        day.rebalanced = True
        seg_count[seg_of[c]] -= 1
        seg_of[c] = g_into[g]
        seg_count[g_into[g]] += 1
        scale[c] = f * g_out[g, 3] / new_nav
    return OK
