"""The compiled day loop of drift-threshold and calendar batches.

A batch whose trigger says it has a compiled form (``trigger.compiled``, a
:class:`~driftwise.policy.triggers.DayLoopForm`: a (stacked) drift threshold, calendar
reviews, or any of them with at most one threshold: the hybrid rule), and whose rule
needs neither the cost-benefit skip nor the covariance, runs
its days in compiled code (:mod:`driftwise.backtest._kernels`): :func:`threshold_scan
<driftwise.backtest._kernels.threshold_scan>` takes the borrow of the shorts held overnight
from cash (:func:`~driftwise.backtest._kernels.borrow_row`, the day loop's own) after the
night's interest on cash (:func:`~driftwise.backtest._kernels.night_cash`), marks the
quiet days to market and stops on the first review day or the first day a row's drift
reaches its threshold; :func:`~driftwise.backtest._kernels.threshold_event` simulates
that day from the scan's marks of it (borrow, NAV and drift, so the day is marked once;
the rows that fire are marked again for their weights, leave their illiquid assets out, are
sized and are booked with :func:`~driftwise.policy._kernels.book_row`, the compiled twin of
:func:`driftwise.policy.book.book_trades`). Both kernels move the batch's
:class:`~driftwise.policy.book.Book`; Python only builds the day's cost table between
the two (:class:`~driftwise.backtest.batches.DayCosts`).

Nothing here is a second implementation: the review days are the calendar trigger's own
evaluation on a context whose rows are the days of the window (one call before the loop),
and the loop calls the kernels the planner's code calls, each through its own public
function elsewhere: the mark to market (:func:`driftwise.metrics.drift.mark_to_market`),
the threshold's comparison (:meth:`DriftThreshold.evaluate
<driftwise.policy.triggers.DriftThreshold.evaluate>`), the illiquid assets
(:func:`driftwise.policy.rule.illiquid_assets`), the sizing with its cost model
(:func:`driftwise.policy.sizing.size_trades`); it books the trades with the compiled twin
of :func:`driftwise.policy.book.book_trades` (``book_row``: a test holds the two equal).
The order of :func:`driftwise.policy.rule.step` (trigger, illiquid assets, sizing) is the
kernel's, and a review day fires every row as ``AnyOf`` does. Tests require this loop to
equal the Python day loop of the same batch bit for bit, and the engine to equal the
reference simulator.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwise._jit import record_array
from driftwise._kernels import arg
from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.backtest import _kernels as _k
from driftwise.backtest import segments
from driftwise.backtest.batches import Batch, BatchState, DayCosts, Outputs
from driftwise.backtest.history import MarketHistory
from driftwise.costs import CostTable, RowCosts
from driftwise.costs._kernels import Table
from driftwise.policy._kernels import OK, liquidity_limits
from driftwise.policy.context import BookMarks, DayContext
from driftwise.policy.destination import Destination
from driftwise.policy.rule import Rule
from driftwise.policy.sizing import sizing_settings
from driftwise.policy.triggers import AnyOf, Trigger


def supports(rule: Rule, with_cov: bool) -> bool:
    """Whether a batch of ``rule`` runs in the compiled loop.

    Its trigger has a :class:`~driftwise.policy.triggers.DayLoopForm` (it says so itself:
    never, a threshold, a calendar, or any of calendars and at most one threshold), the
    cost-benefit skip is off and sizing needs no covariance; every destination but the
    optimized one (a solver, called from Python) and every constraint is supported.
    """
    return (rule.trigger.compiled is not None and not rule.skip_if_cost_exceeds_benefit
            and not with_cov and rule.destination is not Destination.OPTIMIZED)


def review_days(calendars: tuple[Trigger, ...], history: MarketHistory) -> BoolArray:
    """The days of the window on which any of ``calendars`` (triggers that read only the
    calendar) fires, shape (T,): the triggers' own evaluation on a context with one row per
    day (:meth:`MarketHistory.block`, a portfolio of cash alone; never the first day of the
    window)."""
    n_days = history.n_days
    if not calendars:
        return np.zeros(n_days, dtype=np.bool_)
    market = history.block(0, n_days, 1, with_vol=False)
    cash_only = BookMarks(weights=np.zeros((n_days, 0)), cash_weight=np.ones(n_days),
                          nav_usd=np.ones(n_days), days_since_rebalance=np.zeros(n_days),
                          pending_days=np.full(n_days, np.nan))
    days = DayContext.of(market, cash_only, target=np.zeros(0), target_cash=1.0,
                         band_width=np.zeros(0), full_cost_usd=_no_cost)
    trigger = calendars[0] if len(calendars) == 1 else AnyOf(calendars)
    return arg(trigger.evaluate(days).fired, np.bool_)


def _no_cost(trade_usd: FloatArray) -> FloatArray:
    raise AssertionError("a calendar review prices no trade")  # pragma: no cover


@dataclass
class Loop:
    """One run of a compiled batch, built once: its thresholds, calendar, settings and
    result records.

    Attributes
    ----------
    threshold : ndarray, shape (C_g,)
        Each row's drift threshold (inf: none).
    calendar : ndarray of bool, shape (T,)
        The review days.
    days : ndarray of :data:`~driftwise.backtest._kernels.DAY` records, shape (T, C_g)
        What each row did each day, written into the run's :class:`Outputs` when the last
        day is done.
    borrow_rate : ndarray, shape (N,)
        The batch's borrow fee per night, or empty when it holds no short.
    cash_growth : ndarray, shape (T,)
        The growth of cash over the night before each day (``Batch.cash_growth``), or
        empty when cash earns nothing.
    nav, drift, paid : ndarray, shape (C_g,)
        The marks and borrow of the day the scan stopped on, handed to the event.
    flat : FlatCosts or None
        The event days' cost model kept per regime multipliers, when every cost set of
        the batch is a flat cost (:class:`~driftwise.backtest.segments.FlatCosts`: the
        day's cost inputs are then built only on a day whose ADV is unknown); None: the
        day's :class:`~driftwise.backtest.batches.DayCosts`.
    settings : ndarray of :data:`~driftwise.policy._kernels.SIZING` records, shape (C_g,)
        The rule's sizing settings (:func:`~driftwise.policy.sizing.sizing_settings`).
    limits : ndarray of :data:`~driftwise.policy._kernels.LIQUIDITY` records, shape (1,)
        The rule's liquidity limits.
    """

    threshold: FloatArray
    calendar: BoolArray
    days: npt.NDArray[np.void]
    borrow_rate: FloatArray
    cash_growth: FloatArray
    settings: npt.NDArray[np.void]
    limits: npt.NDArray[np.void]
    nav: FloatArray
    drift: FloatArray
    paid: FloatArray
    flat: segments.FlatCosts | None = None

    @classmethod
    def start(cls, batch: Batch) -> Loop:
        rule = batch.rule
        form = rule.trigger.compiled
        assert form is not None  # supports() checked it
        n_days, n_rows = batch.history.n_days, len(batch.members)
        threshold = np.asarray(np.inf if form.threshold is None else form.threshold,
                               dtype=np.float64)
        # every day of the window is visited (quiet by threshold_scan, an event by
        # threshold_event), and both write every field but the flag and the borrow (zero
        # unless set): no fill is needed
        days = record_array(np.zeros((n_days, n_rows), dtype=_k.DAY))
        settings = sizing_settings(
            Destination(rule.destination), rule.constraints, n_rows, gamma=float(rule.gamma),
            horizon_days=float(rule.horizon_days),
            cost_multiple=float(rule.cost_constrained_multiple),
            has_width=batch.band_width.shape[-1] == batch.target.shape[-1], use_cov=False)
        limits = liquidity_limits(float(rule.participation), float(rule.min_adv_usd),
                                  float(rule.max_liquidity_days))
        return cls(arg(np.broadcast_to(threshold, (n_rows,))),
                   review_days(form.reviews, batch.history), days,
                   np.zeros(0) if batch.borrow_daily is None else batch.borrow_daily,
                   np.zeros(0) if batch.cash_growth is None else batch.cash_growth,
                   settings, limits, np.empty(n_rows), np.empty(n_rows), np.zeros(n_rows),
                   segments.FlatCosts(batch) if segments.all_flat(batch) else None)

    def write(self, out: Outputs, batch: Batch) -> None:
        """Copy the day records into the run's result arrays (a field to the array of its
        name), about :data:`WRITE_RECORDS` records at a time (whole days): each block of
        records is read from memory once for all its fields, rather than the whole (T, C)
        array once a field (the same values: a copy)."""
        cols = batch.columns
        targets = [(getattr(out, name), name) for name in _k.DAY_FIELDS]
        step = max(1, WRITE_RECORDS // max(1, self.days.shape[1]))
        for lo in range(0, len(self.days), step):
            block = self.days[lo: lo + step]
            for array, name in targets:
                array[lo: lo + step, cols] = block[name]


WRITE_RECORDS = 32_768
"""Day records :meth:`Loop.write` copies at a time (2.4 MB: about a core's second-level
cache; 32 days of a 1,000-row batch, the whole window of a batch of up to 13 rows)."""


def advance(batch: Batch, state: BatchState, out: Outputs, k: int) -> int:
    """Simulate from day ``k`` through the next day on which a row fires; return the next
    day to simulate (the number of days when done, the result then written to ``out``)."""
    h, book = batch.history, state.book
    loop = state.loop
    if not isinstance(loop, Loop):
        loop = state.loop = Loop.start(batch)
        if segments.eligible(batch) and segments.run(batch, state, out, loop) is None:
            return h.n_days  # on shared books, exact (segments.run checked every day)
        if rows_at_once(batch, loop):
            run_rows(batch, state, loop, k)
            loop.write(out, batch)
            return h.n_days
    day = _k.threshold_scan(k, book.shares, book.cash_usd, book.days_since_rebalance, h.prices,
                            batch.target, float(batch.target_cash), loop.threshold, loop.calendar,
                            batch.invalid, loop.borrow_rate, loop.cash_growth, loop.days,
                            loop.nav, loop.drift, loop.paid)
    if day < h.n_days:
        _event(batch, state, loop, day)
        day += 1
    if day >= h.n_days:
        loop.write(out, batch)
    return day


def _event(batch: Batch, state: BatchState, loop: Loop, k: int) -> None:
    h, book = batch.history, state.book
    if loop.flat is not None:
        model, adv = loop.flat.on(k)
    else:
        costs = DayCosts(batch, k)
        model, adv = costs.model, arg(costs.inputs.adv_shares, np.float64)
    # the sizing reads the volatility for the cost-constrained destination only (as
    # size_trades without one)
    vol = (h.vol_on(k) if Destination(batch.rule.destination) is Destination.COST_CONSTRAINED
           else np.zeros(len(h.tickers)))
    failed = np.zeros(1, dtype=np.intp)
    status = _k.threshold_event(
        k, book.shares, book.cash_usd, book.days_since_rebalance, h.prices[k], batch.target,
        float(batch.target_cash), loop.threshold, bool(loop.calendar[k]), batch.band_width,
        batch.no_buy, batch.no_sell, arg(vol), adv, loop.limits, loop.settings, model.which,
        model.multiplier, model.table.kernel_table, loop.borrow_rate, loop.cash_growth,
        loop.days, failed, loop.nav, loop.drift, loop.paid)
    segments.raise_failed(status, loop.days, k, int(failed[0]))


# ------------------------------------------------------------ rows at once

MIN_ROWS_AT_ONCE = 16
"""Fewest rows of a batch run row by row on numba's threads (:func:`run_rows`); below it
the day loop above, which builds each day's inputs only on a day some row fires."""


def rows_at_once(batch: Batch, loop: Loop) -> bool:
    """Whether ``batch`` runs row by row (:func:`run_rows`): at least
    :data:`MIN_ROWS_AT_ONCE` rows, every cost set flat (the day's cost model is then
    one of a few tables, :class:`~driftwise.backtest.segments.FlatCosts`) and a
    destination that reads no volatility (every one but cost-constrained)."""
    return (loop.flat is not None and len(batch.members) >= MIN_ROWS_AT_ONCE
            and Destination(batch.rule.destination) is not Destination.COST_CONSTRAINED)


ROW_CHUNK = 8
"""Rows of one kernel call of :func:`run_rows` (a task of its threads)."""


def thread_count() -> int:
    """Threads :func:`run_rows` shares its rows among: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def run_rows(batch: Batch, state: BatchState, loop: Loop, start: int) -> None:
    """Every day of ``batch`` from ``start``, each row as if on its own
    (:func:`~driftwise.backtest._kernels.threshold_rows`), written to ``loop.days``; the
    same numbers as the day loop (:func:`advance` without this path), bit for bit.

    Rows that hold the same book (from the shared start, :func:`shared_start`, or left
    waiting together) with the same sizing settings run as one group, its book marked
    once a day until the rows fire on different days or with different cost models
    (:func:`~driftwise.backtest._kernels.threshold_groups`, :func:`group_tasks`;
    :data:`GROUPS`). The groups go in tasks of about :data:`ROW_CHUNK` rows to
    :func:`thread_count` threads, each thread taking the next task when done with one
    (the kernel releases the GIL; a low threshold trades on most days, a high one
    rarely). A row never reads another's book, so the threads change no bit of it. The
    rows run until each is done or fires on a day whose inputs are not laid out (a cost
    model not built yet, an ADV unknown); the earliest such day is built as the day loop
    builds it (:meth:`FlatCosts.on <driftwise.backtest.segments.FlatCosts.on>`), and the
    rows go on. The days built are
    the day loop's: the first day each cost model is used, and each day with an unknown
    ADV on which some row fires. A row that fails stops; when no row waits on an earlier
    day, the earliest failure (day, then row) raises the day loop's error.
    """
    flat = loop.flat
    assert flat is not None  # rows_at_once checked it
    h, book = batch.history, state.book
    n_days, n_rows = h.n_days, len(batch.members)
    days = Days(batch, flat)
    next_day = np.full(n_rows, start, dtype=np.intp)
    # rows on the same book as row peer[c] (equal next days and statuses: the same book)
    peer = (np.zeros(n_rows, dtype=np.intp) if same_books(book)
            else np.arange(n_rows, dtype=np.intp))
    if SHARED_START:
        shared_start(batch, state, loop, start, next_day)
    status = np.full(n_rows, OK, dtype=np.intp)
    sizing = settings_key(loop.settings)
    vol = np.zeros(len(h.tickers))  # read by the cost-constrained destination only
    # plain writable arrays (a Dask worker's unpickled history may be read-only: another
    # type to numba, compiled again), copied only where they are not
    fixed = [arg(a) for a in (h.prices, batch.target, loop.threshold, loop.calendar,
                              batch.invalid, batch.band_width, batch.no_buy, batch.no_sell)]
    threads = min(thread_count(), -(-n_rows // ROW_CHUNK))
    with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
        while True:
            which, mult, table = days.models()
            inputs: tuple[Any, ...] = (
                next_day, status, book.shares, book.cash_usd, book.days_since_rebalance,
                *fixed[:2], float(batch.target_cash), *fixed[2:], vol, days.adv, days.ready,
                days.model_of, which, mult, table, loop.limits, loop.settings,
                loop.borrow_rate, loop.cash_growth, loop.days)
            runnable = np.flatnonzero(
                (next_day < n_days) & ((status == OK) | ((status == _k.WAIT)
                                       & days.ready[np.minimum(next_day, n_days - 1)])))
            if GROUPS:
                tasks: list[Any] = group_tasks(runnable, (sizing, peer, next_day, status),
                                               loop.threshold)
                task: Callable[[Any, tuple[Any, ...]], None] = _groups
                task_inputs = (peer, *inputs)
            else:
                tasks = [arg(runnable[i: i + ROW_CHUNK], np.intp)
                         for i in range(0, len(runnable), ROW_CHUNK)]
                task, task_inputs = _rows, inputs
            if pool is None:
                for one in tasks:
                    task(one, task_inputs)
            else:
                list(pool.map(task, tasks, [task_inputs] * len(tasks)))
            waiting = status == _k.WAIT
            failing = (status != OK) & ~waiting
            wait_day = int(next_day[waiting].min()) if waiting.any() else n_days
            fail_day = n_days
            if failing.any():
                rows = np.flatnonzero(failing)
                first = rows[np.lexsort((rows, next_day[rows]))[0]]
                fail_day = int(next_day[first])
                if fail_day < wait_day:
                    segments.raise_failed(int(status[first]), loop.days, fail_day, int(first))
            if wait_day >= n_days:
                return
            days.build(wait_day)
            if BUILD_AHEAD:
                build_ahead(days, next_day[waiting], wait_day, fail_day)


BUILD_AHEAD = True
"""Whether :func:`run_rows` builds, after the earliest day rows wait on, every later day
some row waits on (:func:`build_ahead`), rather than one day a round."""


def build_ahead(days: Days, waits: IntArray, built: int, fail_day: int) -> None:
    """Build the days rows wait on after day ``built`` (built) and before ``fail_day``
    (the earliest day a row failed on), in order, so that the rows waiting on them go on
    in the next round together rather than one round a day.

    Each such day is one the day loop builds too: a row fires on it with inputs not laid
    out, and no row fails before it. A build that raises stops here, the day left unbuilt:
    it is built again in its own round, after every earlier day's rows have run, where its
    error is raised in the day loop's order.
    """
    for k in np.unique(waits):
        if k <= built or k >= fail_day or days.ready[k]:
            continue
        try:
            days.build(int(k))
        except Exception:  # raised again in its own round, in the day loop's order
            return


SHARED_START = True
"""Whether :func:`run_rows` marks the days before each row first fires once for all rows
when they start from the same book (:func:`shared_start`)."""


def shared_start(batch: Batch, state: BatchState, loop: Loop, start: int,
                 next_day: IntArray) -> None:
    """The quiet days every row of ``batch`` spends on its starting book, marked once.

    Rows that start from the same book (shares, cash and days since rebalancing equal)
    hold the same book, pay the same borrow and interest and are marked to the same NAV
    and drift every day until the first day each fires: the days before are one path,
    and only the threshold tells the rows apart. The path is marked once
    (:func:`~driftwise.backtest._kernels.threshold_scan` of one row without a threshold,
    to the first review day); each row's days before its first firing day are that
    path's records, its cash the path's cash on the day before, its days since
    rebalancing one more per day, and its next day (``next_day``, written) the day it
    fires, from which :func:`~driftwise.backtest._kernels.threshold_row` runs it as
    before. The same operations on the same numbers: the same bits (a count of days since
    rebalancing that is not a whole number of at most 2^52 keeps every row's own days).
    """
    h, book = batch.history, state.book
    shares, cash, since = book.shares, book.cash_usd, book.days_since_rebalance
    n_days = h.n_days
    if start >= n_days or len(since) < 2 or not all(
            np.array_equal(a, np.broadcast_to(a[:1], a.shape), equal_nan=True)
            for a in (shares, cash, since)):
        return
    first_since = float(since[0])
    if np.isfinite(first_since) and (first_since != np.floor(first_since)
                                     or abs(first_since) >= 2.0**52):
        return
    path = record_array(np.zeros((n_days, 1), dtype=_k.DAY))
    end = _k.threshold_scan(start, shares[:1].copy(), cash[:1].copy(), since[:1].copy(),
                            h.prices, batch.target, float(batch.target_cash),
                            np.full(1, np.inf), loop.calendar, batch.invalid,
                            loop.borrow_rate, loop.cash_growth, path, np.empty(1),
                            np.empty(1), np.zeros(1))
    drift = path["drift"][start:end, 0]
    fires = ((drift[:, None] >= loop.threshold[None, :]) & (drift[:, None] > 0.0)
             & ~batch.invalid[start:end, None])
    first = np.where(fires.any(axis=0), start + fires.argmax(axis=0), end)
    for c in np.flatnonzero(first > start):
        loop.days[start:first[c], c] = path[start:first[c], 0]
        cash[c] = path["cash"][first[c] - 1, 0]
        since[c] = first_since + float(first[c] - start)
    next_day[:] = first


def _rows(rows: IntArray, inputs: tuple[Any, ...]) -> None:
    """One task of :func:`run_rows`' threads, row by row."""
    _k.threshold_rows(rows, *inputs)


GROUPS = True
"""Whether :func:`run_rows` runs rows that hold the same book as groups, each group's
book marked once a day (:func:`~driftwise.backtest._kernels.threshold_groups`), rather
than each row on its own (:func:`~driftwise.backtest._kernels.threshold_rows`)."""


def same_books(book: Any) -> bool:
    """Whether every row of ``book`` holds the same shares, cash and days since
    rebalancing, bit for bit."""
    def equal(a: Any) -> bool:
        if len(a) < 2:
            return True
        raw = a.view(np.uint8).reshape(len(a), a.itemsize * (a.size // len(a)))
        return bool((raw == raw[:1]).all())
    return all(equal(arg(a)) for a in (book.shares, book.cash_usd, book.days_since_rebalance))


def settings_key(settings: npt.NDArray[np.void]) -> IntArray:
    """A label of each row's sizing settings (:data:`~driftwise.policy._kernels.SIZING`
    records), equal for rows whose every field is equal bit for bit."""
    n_rows = len(settings)
    fields = [np.ascontiguousarray(settings[name]).view(np.uint8).reshape(n_rows, -1)
              for name in settings.dtype.names or ()]
    if not fields or n_rows == 0:
        return np.zeros(n_rows, dtype=np.intp)
    _, label = np.unique(np.hstack(fields), axis=0, return_inverse=True)
    return label.reshape(-1).astype(np.intp)


def group_tasks(rows: IntArray, keys: tuple[IntArray, ...], threshold: FloatArray
                ) -> list[tuple[IntArray, IntArray]]:
    """The tasks of :func:`run_rows`' threads in groups: ``rows`` whose ``keys`` (each
    (C,): the sizing settings' label, the peer, the next day, the status) are all equal
    form a group (:func:`~driftwise.backtest._kernels.threshold_groups`), its rows by
    threshold, lowest first (the leader fires whenever another row does); consecutive
    groups go in one task up to :data:`ROW_CHUNK` rows. Each task: the rows and the
    bounds of its groups among them."""
    if len(rows) == 0:
        return []
    order = rows[np.lexsort((threshold[rows], *(key[rows] for key in reversed(keys))))]
    changed = np.zeros(len(order), dtype=np.bool_)
    changed[0] = True
    for key in keys:
        changed[1:] |= key[order[1:]] != key[order[:-1]]
    starts = np.flatnonzero(changed)
    tasks = []
    first = 0
    while first < len(starts):
        last = first + 1  # groups starts[first:last], at least one
        while last < len(starts) and starts[last] - starts[first] < ROW_CHUNK:
            last += 1
        lo = starts[first]
        hi = starts[last] if last < len(starts) else len(order)
        tasks.append((arg(order[lo:hi], np.intp), arg(np.append(starts[first:last], hi) - lo,
                                                      np.intp)))
        first = last
    return tasks


def _groups(task: tuple[IntArray, IntArray], inputs: tuple[Any, ...]) -> None:
    """One task of :func:`run_rows`' threads, in groups of rows on the same book."""
    order, bounds = task
    next_day, status, peer = inputs[1], inputs[2], inputs[0]
    _k.threshold_groups(order, bounds, next_day, status, peer, *inputs[3:])


class Days:
    """The event days' inputs of a batch run row by row (:func:`run_rows`), laid out as
    the kernel reads them, built day by day as the rows need them.

    Attributes
    ----------
    adv : ndarray, shape (T, N)
        Each day's ADV in shares: the history's rolling ADV, a built day's proxy where it
        is unknown (NaN until built).
    ready : ndarray of bool, shape (T,)
        Days whose ADV is known and whose cost model is built.
    model_of : ndarray of int, shape (T,)
        Each ready day's cost model (its position among the models built).
    """

    def __init__(self, batch: Batch, flat: segments.FlatCosts) -> None:
        self.flat = flat
        h = batch.history
        rolling = h.adv_shares
        self.adv = (np.full(h.prices.shape, np.nan) if rolling is None
                    else arg(rolling, np.float64).copy())
        self._known = np.isfinite(self.adv).all(axis=1)
        _, key_of = np.unique(flat.multipliers, axis=0, return_inverse=True)
        self._key_of = key_of.reshape(-1).astype(np.intp)  # each day's distinct multipliers
        self._model_of_key = np.full(int(self._key_of.max(initial=-1)) + 1, -1, dtype=np.intp)
        self._models: list[RowCosts] = []
        self.ready = np.zeros(h.n_days, dtype=np.bool_)
        self.model_of = np.zeros(h.n_days, dtype=np.intp)

    def build(self, k: int) -> None:
        """Day ``k``'s inputs, as the day loop builds them on an event day
        (:meth:`FlatCosts.on <driftwise.backtest.segments.FlatCosts.on>`)."""
        model, adv = self.flat.on(k)
        key = self._key_of[k]
        if self._model_of_key[key] < 0:
            self._model_of_key[key] = len(self._models)
            self._models.append(model)
        if not self._known[k]:
            self.adv[k] = adv
            self._known[k] = True
        model_of = self._model_of_key[self._key_of]
        self.ready = arg(self._known & (model_of >= 0))
        self.model_of = arg(np.maximum(model_of, 0), np.intp)

    def models(self) -> tuple[IntArray, FloatArray, Table]:
        """The cost models built so far as one table: ``which`` and ``mult`` (D, C), row
        ``d`` the ``d``-th model's, its parameter sets offset to their place in the
        table's stack (:meth:`CostTable.stack <driftwise.costs.CostTable.stack>`'s
        layout: impact terms padded with zero coefficients and exponent 1)."""
        if not self._models:
            empty = np.zeros((0, 0), dtype=np.intp)
            return empty, np.zeros((0, 0)), _empty_table()
        tables = [m.table for m in self._models]
        offsets = np.cumsum([0] + [t.spread_frac.shape[0] for t in tables])
        which = np.stack([m.which + offsets[d] for d, m in enumerate(self._models)])
        mult = np.stack([m.multiplier for m in self._models])
        n_terms = max(t.impact_power.shape[1] for t in tables)
        n_assets = tables[0].n_assets

        def padded(t: CostTable) -> tuple[FloatArray, FloatArray]:
            n_sets, k = t.impact_power.shape
            coef = np.zeros((n_sets, n_terms, n_assets))
            power = np.ones((n_sets, n_terms))
            coef[:, :k], power[:, :k] = t.impact_coef, t.impact_power
            return coef, power
        impact = [padded(t) for t in tables]

        def stacked(name: str) -> Any:
            return arg(np.concatenate([getattr(t, name) for t in tables]))
        table = Table(spread_frac=stacked("spread_frac"),
                      commission_frac=stacked("commission_frac"),
                      min_ticket_usd=stacked("min_ticket_usd"), flat_frac=stacked("flat_frac"),
                      flat_by_regime=stacked("flat_by_regime"),
                      impact_coef=arg(np.concatenate([c for c, _ in impact])),
                      impact_power=arg(np.concatenate([p for _, p in impact])))
        return arg(which, np.intp), arg(mult, np.float64), table


def _empty_table() -> Table:
    """A table of no parameter set (no day is ready before the first is built)."""
    return Table(np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)),
                 np.zeros(0, dtype=np.bool_), np.zeros((0, 0, 0)), np.zeros((0, 0)))
