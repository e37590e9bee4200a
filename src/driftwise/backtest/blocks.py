"""Quiet blocks: many days of a batch evaluated at once.

On most days nothing fires. Between trades the shares and cash are constant, so the
weights of days ``t .. t + K - 1`` follow from their prices: :func:`quiet_days` builds one
context whose rows are (day, configuration) pairs, each with its day's VIX, calendar flags
and volatility (:meth:`MarketHistory.block <driftwise.backtest.history.MarketHistory.block>`
and :meth:`DayContext.of <driftwise.policy.context.DayContext.of>`), and evaluates the
batch's own trigger on it once. The days before the first event (a row fires, a delay
starts or ends) are recorded with a vectorized mark to market, and the batch's
:class:`~driftwise.policy.book.Book` pays their borrow and lets them pass
(:meth:`~driftwise.policy.book.Book.pay`,
:meth:`~driftwise.policy.book.Book.pass_quiet_days`); the event day goes through
:func:`~driftwise.backtest.engine.simulate_day` as before. ``K`` doubles while the days
stay quiet and restarts at one day after an event (:func:`~driftwise.backtest.engine.advance`),
and is at most :func:`max_span` days. Triggers that read each day's cost model or
covariance (cost-benefit) run day by day (:func:`block_safe`, from what the trigger says
it reads).
"""

from __future__ import annotations

import numpy as np

from driftwise import _kernels
from driftwise._types import FloatArray
from driftwise.backtest._kernels import borrow_rows
from driftwise.backtest.batches import (
    Batch,
    BatchState,
    DayCosts,
    Outputs,
)
from driftwise.backtest.grid import take_trigger
from driftwise.policy.book import Book
from driftwise.policy.context import BookMarks, CostFunction, DayContext
from driftwise.policy.triggers import (
    DayInput,
    Trigger,
)

PER_ROW_INPUTS = frozenset({DayInput.DRIFT, DayInput.BANDS, DayInput.CALENDAR, DayInput.VIX,
                            DayInput.VOLATILITY, DayInput.PENDING})
"""The day's inputs a block context carries per (day, configuration) row."""
BLOCK_CELLS = 1 << 21
"""At most this many (day, configuration, asset) cells in one block (16 MB per array)."""


def block_safe(trigger: Trigger) -> bool:
    """Whether ``trigger`` may be evaluated on a block of days at once (:func:`quiet_days`).

    It must be row-wise and read only the day's inputs the block context carries per row
    (:data:`PER_ROW_INPUTS`: drift, bands, calendar, VIX, volatility, the pending wait), as
    it declares (:attr:`Trigger.reads <driftwise.policy.triggers.Trigger.reads>`, its
    children's included). A trigger reading the day's costs or covariance (cost-benefit)
    is left to the day-by-day path: its full-rebalance cost needs each day's cost inputs
    and, under the full TE model, each day's covariance.
    """
    return trigger.row_wise and trigger.reads <= PER_ROW_INPUTS


def max_span(trigger: Trigger, n_rows: int, n_assets: int) -> int:
    """Most days of a batch evaluated at once: 1 (day by day) unless :func:`block_safe`.

    A block holds at most :data:`BLOCK_CELLS` (day, configuration, asset) cells.
    """
    return max(1, BLOCK_CELLS // (n_rows * n_assets)) if block_safe(trigger) else 1


def quiet_days(batch: Batch, state: BatchState, out: Outputs, k: int, span: int) -> int:
    """Days ``k .. k + span - 1`` evaluated at once; record the quiet ones; return their count.

    Between trades the shares and cash are constant, so the weights of every day of the
    block follow from its prices. One :class:`DayContext` holds a row per (day,
    configuration) pair, day-major, with each row's VIX, calendar flags, volatility,
    days since trading and pending wait (a waiting delay is assumed to stay delayed),
    and the batch's own trigger evaluates it. The first day on which any configuration
    fires, or on which a delay starts or ends (or a stale-cost day clears one), is an
    event: the days before it are quiet (no trade) and recorded with a vectorized mark
    to market; the event day itself is left to
    :func:`~driftwise.backtest.engine.simulate_day`.
    """
    book = state.book
    n_rows = len(batch.members)
    weights, nav, drift, cash, paid = _marks(batch, book, k, span)  # (span, C, [N])
    offsets = np.arange(span, dtype=np.float64)[:, None]
    waiting = np.isfinite(book.pending_days)
    pending = np.where(waiting, book.pending_days + offsets, np.nan)

    marks = BookMarks(
        weights=weights.reshape(span * n_rows, -1), cash_weight=(cash / nav).reshape(-1),
        nav_usd=nav.reshape(-1),
        days_since_rebalance=(book.days_since_rebalance + offsets).reshape(-1),
        pending_days=pending.reshape(-1), drift=drift.reshape(-1))
    reads = batch.rule.trigger.reads
    market = batch.history.block(k, span, n_rows, with_vol=DayInput.VOLATILITY in reads,
                                 with_calendar=DayInput.CALENDAR in reads)
    ctx = DayContext.of(market, marks, target=batch.target,
                        target_cash=batch.target_cash, band_width=batch.band_width,
                        full_cost_usd=_block_costs(batch, k, span))
    result = _tiled_trigger(batch, span).evaluate(ctx)
    valid = ~batch.invalid[k: k + span, None]
    fired = result.fired.reshape(span, n_rows) & valid
    delayed = (np.zeros_like(fired) if result.delayed is None
               else result.delayed.reshape(span, n_rows) & valid)
    event = (fired | (delayed != waiting)).any(axis=1)
    quiet = int(np.argmax(event)) if event.any() else span
    if quiet:
        days = slice(k, k + quiet)
        if cash.ndim == 1:  # constant cash: no interest, no borrow
            out.quiet(days, batch.columns, nav[:quiet], drift[:quiet], book.cash_usd)
        else:
            out.quiet(days, batch.columns, nav[:quiet], drift[:quiet], cash[:quiet])
            if paid is not None:
                out.borrow[days, batch.columns] = paid[:quiet]
            book.cash_usd = cash[quiet - 1].copy()  # the last quiet day's, as the day loop
        book.pass_quiet_days(quiet)
    return quiet


def night_interest(batch: Batch, book: Book, k: int) -> None:
    """The cash of ``book`` grown over the night before day ``k`` (``cash *
    batch.cash_growth[k]``: the risk-free rate of day ``k - 1``); nothing on day 0 or when
    cash earns nothing."""
    if batch.cash_growth is not None and k > 0:
        book.cash_usd = book.cash_usd * batch.cash_growth[k]


def night_borrow(batch: Batch, shares: FloatArray, k: int) -> FloatArray | None:
    """Borrow (C,) the rows of ``shares`` (C, N) pay at the close of day ``k`` for the
    night before (:func:`driftwise.backtest._kernels.borrow_rows`); None when there is none
    to pay (no short can be held, or the first day)."""
    if batch.borrow_daily is None or k == 0:
        return None
    paid = np.empty(shares.shape[0])
    borrow_rows(_kernels.arg(shares, dtype=np.float64),
                _kernels.arg(batch.history.prices[k], dtype=np.float64),
                batch.borrow_daily, paid)
    return paid


def _marks(batch: Batch, book: Book, k: int, span: int
           ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """Weights (span, C, N), NAV, drift and cash (span, C) of days ``k .. k + span - 1``,
    and the borrow paid each day (span, C) (None when the batch holds no short).

    Without shorts and without interest on cash the cash is constant (returned as (C,)):
    one vectorized mark to market. Otherwise each day first grows its cash over the night
    (:func:`night_interest`) and pays the borrow of the night before (:func:`night_borrow`,
    taken from cash in the same order as the day loop), then is marked at its cash.
    ``book`` is left as it was: the quiet days take the last quiet day's cash once they
    are known (:func:`quiet_days`).
    """
    h = batch.history
    if batch.borrow_daily is None and batch.cash_growth is None:
        weights, nav, drift = book.mark_to_market(h.prices[k: k + span], batch.target,
                                                  batch.target_cash)
        return weights, nav, drift, book.cash_usd, None
    n_rows, n_assets = book.shares.shape
    weights, nav, drift = (np.empty((span, n_rows, n_assets)), np.empty((span, n_rows)),
                           np.empty((span, n_rows)))
    cash, paid = np.empty((span, n_rows)), np.zeros((span, n_rows))
    # the days ahead pay from a second book on the same arrays (pay replaces cash)
    ahead = Book(book.shares, book.cash_usd, book.days_since_rebalance, book.pending_days)
    for j in range(span):
        night_interest(batch, ahead, k + j)
        fee = night_borrow(batch, book.shares, k + j)
        if fee is not None:
            paid[j] = fee
            ahead.pay(fee)
        cash[j] = ahead.cash_usd
        weights[j], nav[j], drift[j] = ahead.mark_to_market(h.prices[k + j], batch.target,
                                                            batch.target_cash)
    return weights, nav, drift, cash, (None if batch.borrow_daily is None else paid)


def _tiled_trigger(batch: Batch, span: int) -> Trigger:
    """The batch's trigger with its parameters repeated for ``span`` days (cached)."""
    trigger = batch.tiled.get(span)
    if trigger is None:
        rows = np.tile(np.arange(len(batch.members)), span)
        trigger = batch.tiled[span] = take_trigger(batch.rule.trigger, rows)
    return trigger


def _block_costs(batch: Batch, k: int, span: int) -> CostFunction:
    """Total cost (rows,) of trades (rows, N) of a block: each day's rows at that day's costs
    (each row with its own configuration's cost parameters)."""
    def total(trade_usd: FloatArray) -> FloatArray:
        by_day = trade_usd.reshape(span, -1, trade_usd.shape[-1])
        return np.concatenate([DayCosts(batch, k + j).total(by_day[j]) for j in range(span)])
    return total
