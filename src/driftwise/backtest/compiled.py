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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from driftwise._jit import record_array
from driftwise._kernels import arg
from driftwise._types import BoolArray, FloatArray
from driftwise.backtest import _kernels as _k
from driftwise.backtest import segments
from driftwise.backtest.batches import Batch, BatchState, DayCosts, Outputs
from driftwise.backtest.history import MarketHistory
from driftwise.errors import DataError
from driftwise.policy._kernels import NO_LANDING, OK, liquidity_limits
from driftwise.policy.constraints import FIXED_POINT_MAX_ITER, no_cash_fit_error
from driftwise.policy.context import BookMarks, DayContext
from driftwise.policy.destination import Destination
from driftwise.policy.rule import Rule
from driftwise.policy.sizing import no_landing_error, sizing_settings
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
        name)."""
        cols = batch.columns
        for name in _k.DAY_FIELDS:
            getattr(out, name)[:, cols] = self.days[name]


def advance(batch: Batch, state: BatchState, out: Outputs, k: int) -> int:
    """Simulate from day ``k`` through the next day on which a row fires; return the next
    day to simulate (the number of days when done, the result then written to ``out``)."""
    h, book = batch.history, state.book
    loop = state.loop
    if not isinstance(loop, Loop):
        loop = state.loop = Loop.start(batch)
        if segments.eligible(batch) and segments.run(batch, state, out, loop) is None:
            return h.n_days  # on shared books, exact (segments.run checked every day)
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
    if status == _k.NAV_NOT_POSITIVE:
        raise DataError("NAV must be positive", field="nav_usd", expected="a positive amount",
                        found=str(loop.days["nav"][k, int(failed[0])]))
    if status == NO_LANDING:
        raise no_landing_error(FIXED_POINT_MAX_ITER)
    if status != OK:
        raise no_cash_fit_error()
