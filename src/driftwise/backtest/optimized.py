"""The day of an optimized rule reviewed at every close, without the generic layers.

A batch whose rule trades to the optimized destination at every NYSE close
(:func:`driftwise.backtest.engine.reviews_every_close`) fires every row on every day but
the first, and :func:`driftwise.backtest.engine.simulate_day` then builds, each day, the
objects the general step needs for any rule (the market day, the context, the day's
cost object, the trigger's result with its reasons, the step's and the sizing's results)
and validates again what the batch fixed once. :func:`simulate_day` here runs the same
day in the same order on the same arrays:

1. the night's interest on cash (:func:`driftwise.backtest.blocks.night_interest`);
2. the book marked to market at the close (:func:`driftwise.metrics.drift.mark_to_market`)
   and recorded as a quiet day;
3. the illiquid assets (the kernel of :func:`driftwise.policy.rule.illiquid_assets`);
4. the inputs' checks of :func:`driftwise.policy.sizing.size_trades` (positive NAV,
   weights and target summing to 1 with cash), the solve
   (:func:`driftwise.policy.optimize.optimize_rows`, the planner's own), the
   destination and its check (:func:`driftwise.policy.sizing.optimized_destination`) and
   its FULL sizing (:func:`driftwise.policy.sizing.size_rows_checked`, the planner's
   kernel call, with the settings built once per batch);
5. the trades booked (:func:`driftwise.policy.book.book_trades`' arithmetic) and
   recorded as :func:`driftwise.backtest.engine._record` records them.

Every array the backtest returns equals the general day's to the bit
(``tests/backtest/test_optimized_day.py`` runs both over the sample's ten years, with
restrictions, minimum trades, whole shares, a cash buffer, a turnover cap and several
rows). A batch outside its scope (another trigger or destination, shorts, groups,
factors, target versions or group targets, several cost parameter sets, the cost-benefit
skip, the Python mode of the kernels) and a day it does not cover (the first, a day whose
plan is invalid, a cost model not yet read from the whole window) take the general day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from driftwise import _jit
from driftwise._kernels import arg
from driftwise._types import TRADING_DAYS, BoolArray, Destination, FloatArray
from driftwise.backtest import blocks
from driftwise.costs import CostTable, RowCosts
from driftwise.metrics.drift import mark_to_market
from driftwise.policy import _kernels as _pk
from driftwise.policy import sizing
from driftwise.policy.book import Book
from driftwise.policy.constraints import (
    FIXED_POINT_MAX_ITER,
    FIXED_POINT_TOL,
    cost_model,
)
from driftwise.policy.context import Frequency
from driftwise.policy.destination import COST_CONSTRAINED_MULTIPLE
from driftwise.policy.optimize import optimize_rows
from driftwise.policy.triggers import Calendar

if TYPE_CHECKING:
    from driftwise.backtest.batches import Batch, BatchState, Outputs
    from driftwise.policy.optimize import Optimized

_NO_COV = np.zeros((0, 0))
_OFF = "off"
"""What :func:`plan_of` keeps for a batch outside this module's scope."""


@dataclass(frozen=True, eq=False)
class Plan:
    """What an eligible batch's days share, built once per run.

    Attributes
    ----------
    calendar_key : tuple
        The (frequency, anchor) the daily review fires on.
    target_rows : ndarray, shape (C, N)
        The target as the sizing broadcasts it (a read-only view).
    target_copy : ndarray, shape (C, N)
        The same rows, contiguous and writable (as the liquidity kernel reads them).
    no_buy_rows, no_sell_rows : ndarray of bool, shape (C, N)
        The restrictions broadcast to the rows (contiguous).
    limits : ndarray
        The rule's liquidity limits as the kernel reads them.
    settings : ndarray
        The FULL sizing's settings records of the rows.
    horizon_days : float
    groups : ndarray of int or None
    target_cash_rows : ndarray, shape (C,)
    active : ndarray of bool, shape (C,)
        Every row (each fires).
    zeros : ndarray, shape (C, N)
        The FULL sizing's unread band widths and volatilities (read only).
    cost_table : tuple
        The window's cost table of the batch's parameter set and each day's multiplier
        (:meth:`MarketHistory.cost_table <driftwise.backtest.history.MarketHistory.cost_table>`).
    """

    calendar_key: tuple[Frequency, object]
    target_rows: FloatArray
    target_copy: FloatArray
    no_buy_rows: BoolArray
    no_sell_rows: BoolArray
    limits: np.ndarray
    settings: np.ndarray
    horizon_days: float
    groups: np.ndarray | None
    target_cash_rows: FloatArray
    active: BoolArray
    zeros: FloatArray
    cost_table: tuple[CostTable, FloatArray]


def eligible(batch: Batch) -> bool:
    """Whether ``batch``'s days can run here (module docstring)."""
    rule = batch.rule
    trigger = rule.trigger
    settings = rule.optimizer
    return (_jit.mode() == "compiled"
            and rule.destination is Destination.OPTIMIZED
            and isinstance(trigger, Calendar) and trigger.frequency is Frequency.DAY
            and not rule.skip_if_cost_exceeds_benefit
            and rule.constraints.long_only and batch.borrow_daily is None
            and batch.versions is None and batch.group_targets is None
            and batch.factors is None and not settings.factors.active
            and settings.group_deviation is None
            and len(batch.params) == 1
            and isinstance(rule.horizon_days, float))


def plan_of(batch: Batch, state: BatchState) -> Plan | None:
    """The batch's :class:`Plan`, built on its first day here (kept in ``state``; the
    history's cost window must be whole: ``costs_whole``); None when the batch is outside
    this module's scope."""
    kept = state.optimized
    if kept is not None:
        return None if kept == _OFF else kept  # type: ignore[return-value]
    if not eligible(batch):
        state.optimized = _OFF
        return None
    window = batch.history.cost_table(batch.params[0])
    assert window is not None  # costs_whole (the caller's check): the window is kept
    rule = batch.rule
    n_rows, n_assets = len(batch.members), len(batch.target)
    shape = (n_rows, n_assets)
    trigger = rule.trigger
    assert isinstance(trigger, Calendar)
    plan = Plan(
        calendar_key=(trigger.frequency, trigger.anchor),
        target_rows=np.asarray(np.broadcast_to(batch.target, shape), dtype=np.float64),
        target_copy=np.array(np.broadcast_to(batch.target, shape), dtype=np.float64),
        no_buy_rows=np.ascontiguousarray(np.broadcast_to(batch.no_buy, shape), dtype=np.bool_),
        no_sell_rows=np.ascontiguousarray(np.broadcast_to(batch.no_sell, shape),
                                          dtype=np.bool_),
        limits=_pk.liquidity_limits(float(rule.participation), float(rule.min_adv_usd),
                                    float(rule.max_liquidity_days)),
        settings=sizing.sizing_settings(
            Destination.FULL, rule.constraints, n_rows, gamma=2.0,
            horizon_days=float(TRADING_DAYS), cost_multiple=COST_CONSTRAINED_MULTIPLE,
            has_width=False, use_cov=False, tol=FIXED_POINT_TOL, max_iter=FIXED_POINT_MAX_ITER),
        horizon_days=float(rule.horizon_days),
        groups=None if batch.groups is None else np.asarray(batch.groups, dtype=np.intp),
        target_cash_rows=np.array([float(batch.target_cash)] * n_rows),
        active=np.ones(n_rows, dtype=np.bool_), zeros=np.zeros(shape), cost_table=window)
    # the target is the batch's on every day: its sum checked once, before the first
    # day's sizing (the general day checks it each day, after the book's checks)
    sizing.check_target(batch.target, plan.target_cash_rows, plan.active)
    state.optimized = plan
    return plan


def simulate_day(batch: Batch, state: BatchState, out: Outputs, k: int) -> bool:
    """Steps 1-4 of the engine's day for ``batch`` on day ``k``, every row firing (module
    docstring); False, with nothing done, when the day is not one this module covers."""
    history = batch.history
    if k == 0 or not history.costs_whole():
        return False
    plan = plan_of(batch, state)
    if plan is None or batch.invalid[k] or plan.calendar_key not in history.calendar[k]:
        return False
    book = state.book
    blocks.night_interest(batch, book, k)
    prices = history.prices[k]
    vol = history.vol_on(k)
    cov = history.cov_rolling_on(k) if batch.with_cov else None
    weights, nav, drift = mark_to_market(book.shares, prices, book.cash_usd, batch.target,
                                         batch.target_cash)
    cash_weight = book.cash_usd / nav
    out.quiet(slice(k, k + 1), batch.columns, nav, drift, book.cash_usd)
    cost_fn = _day_costs(plan, k)
    n_rows = weights.shape[0]
    illiquid = np.empty(weights.shape, dtype=np.bool_)
    _pk.illiquid_rows(arg(weights, dtype=np.float64), plan.target_copy,
                      arg(nav, dtype=np.float64), arg(prices, dtype=np.float64),
                      arg(history.cost_cells(k, "adv_shares"), dtype=np.float64),
                      plan.limits, illiquid)
    sized = _size(batch, plan, weights, cash_weight, nav, prices, illiquid, vol, cov, cost_fn)
    trade_usd, cost_usd, trade_shares, post_cash, intended, solved = sized
    rows = np.arange(n_rows)
    out.intended[k, batch.columns] = intended
    out.fallback[k, batch.columns] = solved.failed
    traded = (trade_usd != 0.0).any(axis=1)
    booked = rows[traded]
    book.shares[booked] += trade_shares[traded]
    book.cash_usd[booked] = post_cash[traded]
    book.days_since_rebalance[booked] = 0.0
    if len(booked):
        _record(batch, book, out, k, booked, trade_usd[traded], cost_usd[traded])
    book.end_day(None)
    return True


def _day_costs(plan: Plan, k: int) -> RowCosts:
    """:attr:`DayCosts.model <driftwise.backtest.batches.DayCosts.model>` of one
    parameter set read from the whole window (set ``k`` of its table is day ``k``)."""
    table, multiplier = plan.cost_table
    n_rows = len(plan.active)
    return RowCosts(table, np.array([k] * n_rows, dtype=np.intp),
                    np.array([float(multiplier[k])] * n_rows))


def _size(batch: Batch, plan: Plan, weights: FloatArray, cash_weight: FloatArray,
          nav: FloatArray, prices_usd: FloatArray, illiquid: BoolArray, vol: FloatArray,
          cov: FloatArray | None, cost_fn: RowCosts
          ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, Optimized]:
    """:func:`driftwise.policy.sizing.size_trades` of the optimized destination, every
    row active: the trades, their costs, the shares, the cash after trading, the intended
    traded value and the solver's answer."""
    rule = batch.rule
    active = plan.active
    price_ok = (prices_usd > 0.0) & (prices_usd < np.inf)  # NaN fails both
    sizing.check_book(weights, cash_weight, nav, active)
    cash_usd = cash_weight * nav
    priced = np.where(price_ok, prices_usd, 1.0)
    may = ~illiquid & price_ok
    solved = optimize_rows(
        weights=weights, cash_weight=cash_weight, target=plan.target_copy, nav_usd=nav,
        active=active, tradable=may, no_buy=plan.no_buy_rows, no_sell=plan.no_sell_rows,
        cost_fn=cost_model(cost_fn, "sizing"), constraints=rule.constraints,
        settings=rule.optimizer, cov_annual=cov, vol_annual=vol, borrow_bps_annual=None,
        horizon_days=plan.horizon_days, groups=plan.groups, factor_betas=None, tax=None)
    dest, assets = sizing.optimized_destination(solved, plan.target_rows,
                                                plan.target_cash_rows, may, active)
    masks = _pk.Masks(plan.no_buy_rows, plan.no_sell_rows, assets, illiquid)
    out, _ = sizing.size_rows_checked(
        arg(weights), arg(dest, dtype=np.float64), arg(cash_usd), arg(nav),
        arg(weights * nav[:, None]), priced, price_ok, active, masks, plan.zeros,
        plan.zeros, _NO_COV, plan.settings, cost_fn, FIXED_POINT_MAX_ITER)
    x, sums = out.trade_usd, out.sums
    shares = x / priced
    if rule.constraints.whole_shares:
        np.rint(shares, out=shares)
    post_cash = cash_usd - sums[:, 0] - sums[:, 1]
    return x, out.cost_usd, shares, post_cash, sums[:, 2], solved


def _record(batch: Batch, book: Book, out: Outputs, k: int, rows: np.ndarray,
            trade_usd: FloatArray, cost_usd: FloatArray) -> None:
    """The rows booked, recorded by :func:`driftwise.backtest.engine._record` (the engine
    imports this module, so it is reached on first use)."""
    from driftwise.backtest.engine import _record as record

    record(batch, book, out, k, rows, trade_usd, cost_usd)
