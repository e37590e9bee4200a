"""A rule = when (trigger) + what to (destination) + how (constraints), and its daily step.

:func:`step` is the one place where a day's decision is made: evaluate the trigger, leave
illiquid assets out, size the trades with the cost model, and skip a rebalance whose cost
exceeds its benefit. The planner calls it with one configuration; the backtest engine
calls it with C configurations every simulated day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from driftwise import _kernels
from driftwise._types import TRADING_DAYS, BoolArray, FloatArray, IntArray
from driftwise.costs.components import added_borrow_usd
from driftwise.policy._kernels import illiquid_rows, liquidity_limits
from driftwise.policy.constraints import Constraints, CostFn
from driftwise.policy.context import DayContext
from driftwise.policy.destination import COST_CONSTRAINED_MULTIPLE, Destination
from driftwise.policy.optimize import OptimizerSettings
from driftwise.policy.sizing import SizingResult, size_trades
from driftwise.policy.tax_terms import TaxTerms
from driftwise.policy.triggers import Trigger, TriggerResult


@dataclass(frozen=True)
class Rule:
    """One rebalancing rule.

    Attributes
    ----------
    trigger : Trigger
        When.
    destination : Destination
        What to.
    constraints : Constraints
        How (long-only, cash buffer, minimum trade, whole shares, lists, turnover).
    skip_if_cost_exceeds_benefit : bool
        Skip a fired rebalance whose cost (fraction of NAV: trading cost plus the borrow
        over H of the shorts it opens or increases) exceeds its benefit
        ``(γ/2)(TE_before² − TE_after²)(H/252)``.
    gamma, horizon_days : float
        γ and H of the benefit (also used by the cost-constrained destination).
    cost_constrained_multiple : float
        The cost-constrained destination trades an asset only if its benefit exceeds
        this multiple of its cost.
    min_adv_usd, max_liquidity_days, participation : float
        An asset whose ADV is below ``min_adv_usd`` or whose trade needs more than
        ``max_liquidity_days`` at ``participation`` of ADV is illiquid: left out, flagged.
    optimizer : OptimizerSettings
        γ, γ_trade and the bounds of the OPTIMIZED destination (read by it alone).
    """

    trigger: Trigger
    destination: Destination = Destination.FULL
    constraints: Constraints = field(default_factory=Constraints)
    skip_if_cost_exceeds_benefit: bool = False
    gamma: float = 2.0
    horizon_days: float = float(TRADING_DAYS)
    cost_constrained_multiple: float = COST_CONSTRAINED_MULTIPLE
    min_adv_usd: float = 1e6
    max_liquidity_days: float = 10.0
    participation: float = 0.10
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)


@dataclass(frozen=True)
class AssetDay:
    """Per-asset data of the day, shared by every configuration.

    Attributes
    ----------
    prices_usd : ndarray, shape (N,)
    adv_shares : ndarray, shape (N,)
        Average daily volume in shares (the cost model's, proxies included); NaN unknown.
    no_buy, no_sell : ndarray of bool, shape (N,)
        Restricted lists.
    cost_fn : RowCosts
        The day's cost model of each row (callable: signed trades (C, N) in USD -> trading
        cost per asset (C, N) in USD).
    borrow_bps_annual : ndarray, shape (N,), optional
        Borrow fee of shorts (the cost model's, default fee included); None: no short can
        be opened (a long-only book), no borrow is weighed.
    groups : ndarray of int, shape (N,), optional
        Group (sector of the security master) of each asset, -1 for none: the OPTIMIZED
        destination's group bounds.
    factor_betas : ndarray, shape (N, F), optional
        The day's factor betas (:mod:`driftwise.policy.factors`, estimated up to the day):
        the OPTIMIZED destination's factor exposure targets.
    tax : TaxTerms, optional
        The tax of each asset's sale from the portfolio's lots (one portfolio): the
        OPTIMIZED destination weighs it (set by :func:`driftwise.policy.tax_gate.tax_step`).
    """

    prices_usd: FloatArray
    adv_shares: FloatArray
    no_buy: BoolArray
    no_sell: BoolArray
    cost_fn: CostFn
    borrow_bps_annual: FloatArray | None = None
    groups: IntArray | None = None
    factor_betas: FloatArray | None = None
    tax: TaxTerms | None = None


@dataclass(frozen=True)
class StepResult:
    """What happened on one day for C configurations.

    Attributes
    ----------
    trigger : TriggerResult
    sizing : SizingResult
        Trades as executed (zero for configurations that do not trade).
    illiquid : ndarray of bool, shape (C, N)
        Assets left out of a fired rebalance as illiquid.
    skipped_for_cost : ndarray of bool, shape (C,)
        Fired, but the cost exceeded the benefit: no trade.
    cost_fraction, benefit : ndarray, shape (C,)
        Cost of the sized trades (trading cost plus the borrow over the horizon of the
        shorts they open or increase) and their benefit, both as fractions of NAV (0 where
        nothing trades, skipped rows included).
    te_before, te_after : ndarray, shape (C,)
        Annualized tracking error before and after the sized trades.
    weighed_cost, weighed_benefit : ndarray, shape (C,)
        The cost and benefit the cost-benefit skip compared: those of the trades sized
        before the skip (for a skipped row, the trades it did not make); equal to
        ``cost_fraction`` and ``benefit`` elsewhere.

    The cost, benefit and tracking-error fields are NaN when ``step`` was told not to
    weigh the trades (``weigh=False``, a rule without the cost-benefit skip).
    """

    trigger: TriggerResult
    sizing: SizingResult
    illiquid: BoolArray
    skipped_for_cost: BoolArray
    cost_fraction: FloatArray
    benefit: FloatArray
    te_before: FloatArray
    te_after: FloatArray
    weighed_cost: FloatArray | None = None
    weighed_benefit: FloatArray | None = None

    @cached_property
    def traded(self) -> BoolArray:
        """Configurations with at least one non-zero trade, shape (C,)."""
        return np.asarray((self.sizing.trade_usd != 0.0).any(axis=1), dtype=bool)


def illiquid_assets(rule: Rule, ctx: DayContext, day: AssetDay) -> BoolArray:
    """Assets too illiquid for their full-rebalance trade, shape (C, N).

    ADV in USD below ``rule.min_adv_usd``, or more than ``rule.max_liquidity_days`` of
    trading at ``rule.participation`` of ADV. Unknown ADV is not illiquid here (the cost
    model already proxies it and flags "estimated liquidity").
    """
    shape = ctx.weights.shape
    out = np.empty(shape, dtype=np.bool_)
    illiquid_rows(
        _kernels.arg(ctx.weights, dtype=np.float64),
        _kernels.arg(_rows_of(ctx.target, shape), dtype=np.float64),
        _kernels.arg(ctx.nav_usd, dtype=np.float64),
        _kernels.arg(day.prices_usd, dtype=np.float64),
        _kernels.arg(day.adv_shares, dtype=np.float64),
        liquidity_limits(float(rule.participation), float(rule.min_adv_usd),
                         float(rule.max_liquidity_days)), out)
    return out


def _rows_of(values: FloatArray, shape: tuple[int, int]) -> FloatArray:
    """Values (N,) or (C, N) as (C, N) rows, to read (one row: a view; several: numpy's
    broadcast, which costs more than the kernel it feeds on 20 assets)."""
    if np.shape(values) == shape:
        return values
    if shape[0] == 1:
        return np.reshape(values, shape)
    return np.broadcast_to(values, shape)


def step(rule: Rule, ctx: DayContext, day: AssetDay, *,
         evaluated: TriggerResult | None = None, weigh: bool = True) -> StepResult:
    """Decide and size one day's trades for every configuration of ``ctx``.

    ``evaluated`` is ``rule.trigger.evaluate(ctx)`` when the caller already has it (the
    backtest engine evaluates the trigger before it knows whether anything fires).
    ``weigh`` False (a caller that reads only the trigger and the trades, the backtest
    engine): a rule without the cost-benefit skip does not weigh its trades, and the
    result's cost, benefit and tracking errors are NaN; the trades are the same.
    """
    result = rule.trigger.evaluate(ctx) if evaluated is None else evaluated
    illiquid = illiquid_assets(rule, ctx, day) & result.fired[:, None]
    sizing = _size(rule, ctx, day, result, result.fired, illiquid)
    if not weigh and not rule.skip_if_cost_exceeds_benefit:
        unweighed = np.full(ctx.n_configs, np.nan)
        return StepResult(trigger=result, sizing=sizing, illiquid=illiquid,
                          skipped_for_cost=np.zeros(ctx.n_configs, dtype=bool),
                          cost_fraction=unweighed, benefit=unweighed, te_before=unweighed,
                          te_after=unweighed, weighed_cost=unweighed,
                          weighed_benefit=unweighed)
    cost, benefit, te_after = _cost_and_benefit(rule, ctx, day, sizing)
    weighed_cost, weighed_benefit = cost, benefit
    skipped = np.zeros(ctx.n_configs, dtype=bool)
    if rule.skip_if_cost_exceeds_benefit:
        skipped = result.fired & (cost > benefit) & (cost > 0.0)
        if skipped.any():
            sizing = _size(rule, ctx, day, result, result.fired & ~skipped, illiquid)
            cost, benefit, te_after = _cost_and_benefit(rule, ctx, day, sizing)
    return StepResult(trigger=result, sizing=sizing, illiquid=illiquid, skipped_for_cost=skipped,
                      cost_fraction=cost, benefit=benefit, te_before=ctx.te_before,
                      te_after=te_after, weighed_cost=weighed_cost,
                      weighed_benefit=weighed_benefit)


def added_borrow(rule: Rule, ctx: DayContext, day: AssetDay, trade_usd: FloatArray) -> FloatArray:
    """Borrow over the horizon ``H`` of the shorts that ``trade_usd`` (C, N) opens or
    increases, USD (C, N) (:func:`~driftwise.costs.added_borrow_usd`); zeros without
    borrow rates."""
    if day.borrow_bps_annual is None:
        return np.zeros_like(trade_usd)
    before = ctx.weights * ctx.nav_usd[:, None]
    return added_borrow_usd(before, before + trade_usd, day.borrow_bps_annual,
                            rule.horizon_days)


def _size(rule: Rule, ctx: DayContext, day: AssetDay, result: TriggerResult,
          active: BoolArray, illiquid: BoolArray) -> SizingResult:
    return size_trades(
        weights=ctx.weights, cash_weight=ctx.cash_weight, target=ctx.target,
        target_cash=ctx.target_cash, nav_usd=ctx.nav_usd, prices_usd=day.prices_usd,
        active=active, destination=rule.destination, cost_fn=day.cost_fn,
        constraints=rule.constraints, no_buy=day.no_buy, no_sell=day.no_sell,
        assets=result.assets, exclude=illiquid, band_width=ctx.band_width,
        vol_annual=ctx.vol_annual, cov_annual=ctx.cov_annual, gamma=rule.gamma,
        horizon_days=rule.horizon_days, cost_multiple=rule.cost_constrained_multiple,
        optimizer=rule.optimizer, borrow_bps_annual=day.borrow_bps_annual, groups=day.groups,
        factor_betas=day.factor_betas, tax=day.tax)


def _cost_and_benefit(rule: Rule, ctx: DayContext, day: AssetDay,
                      sizing: SizingResult) -> tuple[FloatArray, FloatArray, FloatArray]:
    cost = sizing.cost_usd.sum(axis=1) / ctx.nav_usd
    if day.borrow_bps_annual is not None:
        cost = cost + added_borrow(rule, ctx, day, sizing.trade_usd).sum(axis=1) / ctx.nav_usd
    te_after = ctx.te(sizing.post_weights - ctx.target)
    years = rule.horizon_days / TRADING_DAYS
    benefit = 0.5 * rule.gamma * (ctx.te_before**2 - te_after**2) * years
    return cost, benefit, te_after
