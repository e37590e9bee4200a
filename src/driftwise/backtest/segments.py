"""Shared books of a compiled batch: every row that rebalanced on the same day holds the
same book, up to its scale.

A full rebalance with costs in proportion to the traded value lands every portfolio on
the target after costs, whatever it held before: two rows of a batch that rebalanced on
day ``s`` hold the same weights from ``s`` on, one book times its own NAV. Their drift,
their trigger and their returns from ``s`` to the next trade are the same path. This
module runs such a batch on its distinct books (**segments**, one per rebalance day still
held by some row, at most one per row) instead of its rows: each day marks each segment
once (:func:`~driftwise.backtest._kernels.segment_scan`), a row's NAV, cash, borrow and
costs being its segment's times the row's scale (a segment's cash earns the night's interest
as a book's does, so the scale holds); on an event day the rows that fire are
sized once per segment and cost set, and every group that trades joins the day's new
segment (:func:`~driftwise.backtest._kernels.segment_event`). A 1,000-threshold sweep
holds a few dozen segments on a typical day instead of 1,000 books.

When it is exact (:func:`eligible`, then checked on every event day): the full
destination without whole shares or minimum trades (a book ``f`` times another trades
``f`` times its trades), every cost set a flat cost (proportional: no impact, no minimum
ticket; the kernel checks each day's table), the illiquid assets the same at the NAV of
every row of a group, and every post-trade book of a day within
:data:`~driftwise.backtest._kernels.MERGE_TOL` of the day's segment. Any check that fails
stops it, and the batch runs in the general compiled loop from its first day
(:mod:`driftwise.backtest.compiled`): the result is the same either way, to
floating-point rounding (a scale times a book instead of the book; the tests hold both
within 1e-12 of NAV). A batch of fewer than :data:`MIN_ROWS` rows always takes the
general loop, whose results are bit for bit the Python day loop's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from driftwise._kernels import arg
from driftwise._types import FloatArray
from driftwise.backtest import _kernels as _k
from driftwise.backtest.batches import Batch, BatchState, DayCosts, Outputs
from driftwise.costs import RowCosts, regime_multiplier
from driftwise.errors import DataError
from driftwise.policy._kernels import NO_LANDING, OK
from driftwise.policy.constraints import FIXED_POINT_MAX_ITER, no_cash_fit_error
from driftwise.policy.destination import Destination
from driftwise.policy.sizing import no_landing_error

if TYPE_CHECKING:
    from driftwise.backtest.compiled import Loop

MIN_ROWS = 16
"""Fewest rows of a batch run on shared books: below it the general loop is as fast."""


def eligible(batch: Batch) -> bool:
    """Whether ``batch`` (a compiled batch) may run on shared books: at least
    :data:`MIN_ROWS` rows, the full destination, no whole shares, no minimum trade, and
    a flat cost in every cost set (the day's checks are the kernel's)."""
    c = batch.rule.constraints
    return (len(batch.members) >= MIN_ROWS
            and Destination(batch.rule.destination) is Destination.FULL
            and not c.whole_shares and c.min_trade_usd == 0.0 and c.min_trade_shares == 0.0
            and all_flat(batch))


def all_flat(batch: Batch) -> bool:
    """Whether every cost set of ``batch`` is a flat cost (its event days' cost model then
    depends on the day through the regime multipliers alone: :class:`FlatCosts`)."""
    return all(p.flat_cost_bps is not None for p in batch.params)


STOPPED = {_k.STOP_COSTS: "a cost not proportional to the traded value",
           _k.STOP_ILLIQUID: "illiquid assets that depend on the NAV",
           _k.STOP_BOOKS: "post-trade books that differ"}
"""Why a run on shared books stopped, by the kernel's code."""


def run(batch: Batch, state: BatchState, out: Outputs, loop: Loop) -> str | None:
    """Every day of ``batch`` on shared books, from the start of ``state`` (left as it
    was), written to ``out``; None when done, else why it is not exact on some day
    (:data:`STOPPED`, with the day), nothing written: the caller then runs the general
    loop.

    ``loop`` is the batch's :class:`~driftwise.backtest.compiled.Loop` (its thresholds,
    review days, settings, limits and day records are used as they are).
    """
    h, book = batch.history, state.book
    n_rows, n_assets = book.shares.shape
    seg_shares = np.zeros((n_rows + 1, n_assets))
    seg_shares[0] = book.shares[0]  # every row starts from one book (start_state)
    seg_cash = np.zeros(n_rows + 1)
    seg_cash[0] = book.cash_usd[0]
    seg_count = np.zeros(n_rows + 1, dtype=np.intp)
    seg_count[0] = n_rows
    seg_of = np.zeros(n_rows, dtype=np.intp)
    scale = np.ones(n_rows)
    nav, seg_drift, paid = (np.empty(n_rows + 1) for _ in range(3))  # each segment's marks
    drift = np.empty(n_rows)
    failed = np.zeros(1, dtype=np.intp)
    days = loop.days
    no_vol = np.zeros(n_assets)
    day_costs = FlatCosts(batch)
    k = 0
    while True:
        k = _k.segment_scan(k, seg_shares, seg_cash, seg_count, seg_of, scale, h.prices,
                            batch.target, float(batch.target_cash), loop.threshold,
                            loop.calendar, batch.invalid, loop.borrow_rate, loop.cash_growth,
                            days, nav, seg_drift, paid, drift)
        if k >= h.n_days:
            break
        model, adv = day_costs.on(k)
        status = _k.segment_event(
            k, seg_shares, seg_cash, seg_count, seg_of, scale, h.prices[k], batch.target,
            float(batch.target_cash), loop.threshold, bool(loop.calendar[k]),
            batch.band_width, batch.no_buy, batch.no_sell, no_vol,
            adv, loop.limits,
            loop.settings, model.which, model.multiplier,
            model.table.kernel_table, loop.borrow_rate, loop.cash_growth, days, failed, nav,
            seg_drift, paid, drift)
        if status == _k.SEGMENT_ABORT:
            days[...] = np.zeros((), dtype=_k.DAY)  # as Loop.start made them
            return f"{STOPPED[int(failed[0])]} on day {k}"
        raise_failed(status, days, k, int(failed[0]))
        k += 1
    loop.write(out, batch)
    return None


class FlatCosts:
    """The cost model of an event day of a batch whose every cost set is flat, and the
    day's ADV for its illiquid assets, without the day's cost inputs where they add
    nothing.

    A flat cost set prices every asset at its rate times its regime multiplier
    (:func:`~driftwise.costs.cost_coefficients` reads only the number of assets of the
    day's inputs), so the day's table is the one of any day with the same multipliers:
    built once per distinct multipliers (:class:`~driftwise.backtest.batches.DayCosts`),
    the multipliers of every day of the window looked up at once. The cost inputs' ADV
    is the history's rolling ADV where it is known (:meth:`MarketHistory.adv_on`), the
    proxy where not: the day's cost inputs are built only on a day with an unknown ADV.
    A batch of at least :data:`MIN_ROWS` rows (a sweep: some row trades on most days)
    estimates the rolling ADV of the whole window at once (:meth:`prepare`).
    """

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.models: dict[tuple[float, ...], RowCosts] = {}
        vix = batch.history.vix  # NaN: unknown, the lowest regime (as DayCosts' None)
        self.multipliers = np.stack([np.broadcast_to(regime_multiplier(vix, p), vix.shape)
                                     for p in batch.params], axis=1)
        self.prepare(batch)

    @staticmethod
    def prepare(batch: Batch) -> None:
        """Estimate the rolling ADV of the whole window now when ``batch`` has at least
        :data:`MIN_ROWS` rows (before threads share its history)."""
        if len(batch.members) >= MIN_ROWS:
            _ = batch.history.adv_shares  # None without volumes

    def on(self, k: int) -> tuple[RowCosts, FloatArray]:
        """Day ``k``'s cost model of the batch's rows and ADV (N,), shares a day."""
        batch = self.batch
        key = tuple(self.multipliers[k].tolist())
        model = self.models.get(key)
        if model is None:
            model = self.models[key] = DayCosts(batch, k).model
        adv = batch.history.adv_on(k)
        if adv is None or not np.isfinite(adv).all():
            adv = DayCosts(batch, k).inputs.adv_shares
        return model, arg(adv, np.float64)


def raise_failed(status: int, days: npt.NDArray[np.void], k: int, row: int) -> None:
    """The planner's error of a failed status (as the general loop raises it)."""
    if status == _k.NAV_NOT_POSITIVE:
        raise DataError("NAV must be positive", field="nav_usd", expected="a positive amount",
                        found=str(days["nav"][k, row]))
    if status == NO_LANDING:
        raise no_landing_error(FIXED_POINT_MAX_ITER)
    if status != OK:
        raise no_cash_fit_error()
