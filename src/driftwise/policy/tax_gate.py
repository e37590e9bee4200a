"""The decision after tax: the tax of each sale weighed next to its trading cost.

:func:`tax_step` runs :func:`~driftwise.policy.rule.step` (without its cost–benefit skip),
then, for one portfolio (C = 1) with tax lots:

1. **Relief and deferral.** Each sale relieves its asset's lots in the relief order.
   A short-term gain lot that turns long-term within the deferral horizon is left out
   when the tracking penalty of waiting is below the tax saved by waiting
   (:mod:`driftwise.tax.deferral`): the plan says "deferred until DATE".
2. **Wash sales.** A loss lot of an asset bought within the wash-sale window before
   today is not sold (its loss would be disallowed), and a buy of an asset sold at a
   loss within the window (the recent-sales file) is not made, unless wash sales are
   allowed: then the trade stays and its reason says so. A loss lot of an asset bought
   (or proposed to be bought) within the window in another account of the same
   household (``household_buy_assets``) is not sold either (IRC §1091 spans the
   household's accounts).
3. **Each sale cut to its best lot boundary.** For a sold asset, with the other trades
   fixed, the sale is evaluated at every lot boundary of its relief order (nothing, the
   first lot, the first two, ..., the whole sale) and kept at the boundary with the
   largest net value ``benefit − trading cost − tax`` (USD; benefit
   ``(γ/2)(TE_before² − TE_after²)(H/252) × NAV``; ties: the larger sale). An asset
   whose every sale costs more in tax than it brings is left alone; one whose cheap lots
   pay but expensive ones do not is traded partially.
4. **Gain budget.** If the realized net gain of the sales plus the gains realized so
   far this year exceeds the yearly budget, the last relieved gain lots are peeled off
   (the one giving up least benefit per USD of gain first), partly for the last one,
   until the budget holds.
5. **Cash.** Buys are scaled down (the cash fit of sizing) so that cash still meets the
   buffer with the smaller sales; sales below the minimum trade are dropped.
6. **Cost–benefit after tax.** With the rule's skip, a rebalance whose trading cost
   plus borrow plus tax exceeds its benefit is skipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from driftwise._types import TRADING_DAYS, BoolArray, FloatArray, IntArray
from driftwise.policy.constraints import fit_cash
from driftwise.policy.context import DayContext
from driftwise.policy.destination import Destination
from driftwise.policy.rule import AssetDay, Rule, StepResult, added_borrow, step
from driftwise.policy.sizing import SizingResult
from driftwise.policy.tax_terms import TaxTerms, tax_terms
from driftwise.policy.triggers import TriggerResult
from driftwise.tax.deferral import (
    days_to_long_term,
    deferral_candidates,
    deferred_lots,
    rate_saving_usd,
    waiting_penalty_usd,
)
from driftwise.tax.lots import (
    DayArray,
    Relief,
    TaxRates,
    day_of,
    is_long_term,
    long_term_from,
    lot_rates,
    lot_tax,
    relief_order,
    relieve,
)
from driftwise.tax.wash import WASH_WINDOW_DAYS, washed_buys


@dataclass(frozen=True)
class TaxLots:
    """The long tax lots of one portfolio, aligned to the universe.

    Attributes
    ----------
    asset : ndarray of int, shape (L,)
        Index of each lot's asset in the universe (N,).
    shares, basis_usd : ndarray, shape (L,)
        Shares (> 0) and whole-lot cost basis, USD.
    acquired : ndarray of datetime64[D], shape (L,)
        Start of the holding period.
    ids : tuple of str
        Each lot's id (specific relief).
    """

    asset: IntArray
    shares: FloatArray
    basis_usd: FloatArray
    acquired: DayArray
    ids: tuple[str, ...] = ()

    @property
    def n_lots(self) -> int:
        """L."""
        return int(self.shares.shape[0])


@dataclass(frozen=True)
class TaxSettings:
    """What the decision after tax needs besides the lots.

    Attributes
    ----------
    rates : TaxRates
    relief : Relief
    specific : tuple of str
        Lot ids relieved first under specific relief.
    gain_budget_usd : float or None
        Most realized net gain in the calendar year, USD; None: no cap.
    realized_ytd_usd : float
        Net gain realized so far this year (recent-sales file), USD.
    defer_horizon_days : float
        Short-term gain lots turning long-term within this many calendar days may be
        deferred (0: never).
    wash_window_days : int
    allow_wash_sales : bool
        Propose trades that wash a loss (said in the reasons) instead of holding them.
    loss_sale_days : ndarray of datetime64[D], shape (S,)
    loss_sale_assets : ndarray of int, shape (S,)
        Recent sales at a loss (day, asset index): a buy within the window washes them.
    household_buy_assets : ndarray of int, shape (B,)
        Assets bought (or proposed to be bought) within the window in another account
        of the same household: a sale of a loss lot of one of them would be washed.
    harvest_discount_rate_annual, harvest_years_to_sale : float
        ρ and T of a realized loss's worth in the optimized destination's solve
        (:func:`optimizer_terms`): the tax saved now less the tax paid back on the lower
        basis T years later at the long-term rate, discounted at ρ
        (:mod:`driftwise.tax.harvest`).
    """

    rates: TaxRates
    relief: Relief = Relief.HIFO
    specific: tuple[str, ...] = ()
    gain_budget_usd: float | None = None
    realized_ytd_usd: float = 0.0
    defer_horizon_days: float = 0.0
    wash_window_days: int = WASH_WINDOW_DAYS
    allow_wash_sales: bool = False
    loss_sale_days: DayArray = field(default_factory=lambda: np.zeros(0, "datetime64[D]"))
    loss_sale_assets: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    household_buy_assets: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    harvest_discount_rate_annual: float = 0.05
    harvest_years_to_sale: float = 10.0


@dataclass(frozen=True)
class TaxedStep:
    """The step after tax (one portfolio).

    Attributes
    ----------
    outcome : StepResult
        As :func:`step` returns it, with the trades after tax; its costs and benefit
        count the tax.
    taken_shares : ndarray, shape (L,)
        Shares each lot gives up to the sales.
    gain_usd, tax_usd : ndarray, shape (L,)
        Realized gain and its tax per lot.
    long_term : ndarray of bool, shape (L,)
    deferred : ndarray of bool, shape (L,)
        Lots held back to turn long-term; ``long_term_from`` is the day they do.
    long_term_from : ndarray of datetime64[D], shape (L,)
    tax_by_asset_usd : ndarray, shape (N,)
    reasons : tuple of (int, str)
        Asset index and what the tax changed for it (-1: the whole plan).
    changed : bool
        Some trade was cut or held back for tax.
    """

    outcome: StepResult
    taken_shares: FloatArray
    gain_usd: FloatArray
    tax_usd: FloatArray
    long_term: BoolArray
    deferred: BoolArray
    long_term_from: DayArray
    tax_by_asset_usd: FloatArray
    reasons: tuple[tuple[int, str], ...]
    changed: bool


class _Portfolio:
    """The benefit and trading cost of a trade vector of the one row (USD)."""

    def __init__(self, rule: Rule, ctx: DayContext, day: AssetDay) -> None:
        self.rule, self.ctx, self.day = rule, ctx, day
        self.nav = float(ctx.nav_usd[0])
        self.held = ctx.weights[0] * self.nav
        self.target = np.broadcast_to(ctx.target, ctx.weights.shape)[0]
        self.te_before = float(ctx.te_before[0])
        self.scale = 0.5 * rule.gamma * rule.horizon_days / TRADING_DAYS * self.nav

    def benefit_usd(self, trade: FloatArray) -> float:
        return float(self.benefits_usd(trade[None, :])[0])

    def benefits_usd(self, trades: FloatArray) -> FloatArray:
        """The benefit of each row of ``trades`` (B, N), USD (B,). Each row's tracking
        error is evaluated alone: numpy's einsum may sum a batch in another order than one
        row (it does for N = 2), and a lot boundary's value must not depend on how many
        boundaries are weighed with it."""
        drift = (self.held + trades) / self.nav - self.target
        te_after = np.array([self.ctx.te(row[None, :])[0] for row in drift], dtype=np.float64)
        return np.asarray(self.scale * (self.te_before**2 - te_after**2), dtype=np.float64)

    def cost_usd(self, trade: FloatArray) -> FloatArray:
        return np.asarray(self.costs_usd(trade[None, :])[0], dtype=np.float64)

    def costs_usd(self, trades: FloatArray) -> FloatArray:
        """Trading cost per asset of each row of ``trades`` (B, N), USD (B, N)."""
        return np.asarray(self.day.cost_fn(trades), dtype=np.float64)


def tax_step(rule: Rule, ctx: DayContext, day: AssetDay, lots: TaxLots,
             settings: TaxSettings, as_of: np.datetime64, *,
             evaluated: TriggerResult | None = None) -> TaxedStep:
    """Decide and size one day's trades of one portfolio after tax (module docstring).

    Parameters
    ----------
    rule, ctx, day
        As :func:`~driftwise.policy.rule.step`, with ``ctx.n_configs == 1``.
    lots : TaxLots
    settings : TaxSettings
    as_of : datetime64
        The sale date.
    evaluated : TriggerResult, optional
        ``rule.trigger.evaluate(ctx)`` when the caller has it already.
    """
    if ctx.n_configs != 1:
        raise ValueError("tax_step decides for one portfolio (C = 1)")
    day_d = day_of(as_of)
    lt_from = long_term_from(lots.acquired, settings.rates)
    long_term = is_long_term(lots.acquired, day_d, settings.rates)
    empty = np.zeros(lots.n_lots)
    if rule.destination is Destination.OPTIMIZED:
        solved = _solved_sales(rule, ctx, day, lots, settings, day_d, long_term, lt_from,
                               evaluated)
        if isinstance(solved, TaxedStep):
            return solved
        outcome, day, orders, deferred, reasons, said = solved
        port = _Portfolio(rule, ctx, day)
        prices = np.asarray(day.prices_usd, dtype=np.float64)
        first = outcome.sizing.trade_usd[0].copy()
        trade = first.copy()
    else:
        outcome = step(dataclasses.replace(rule, skip_if_cost_exceeds_benefit=False), ctx,
                       day, evaluated=evaluated)
        if not bool(outcome.trigger.fired[0]) or not bool(outcome.traded[0]):
            return _untraded(rule, ctx, day, outcome, lots, long_term, lt_from)
        port = _Portfolio(rule, ctx, day)
        prices = np.asarray(day.prices_usd, dtype=np.float64)
        first = outcome.sizing.trade_usd[0].copy()
        trade = first.copy()
        reasons, said = [], []
        deferred = np.zeros(lots.n_lots, dtype=bool)
        orders = {}
        for i in (int(a) for a in np.flatnonzero(trade < 0.0)):
            mine = np.flatnonzero(lots.asset == i)
            if not len(mine):
                continue
            order, held_back = _eligible(i, mine, trade, port, lots, settings, long_term,
                                         lt_from, day_d, prices[i], reasons)
            deferred[held_back] = True
            orders[int(i)] = order
            trade[i] = _best_cut(i, order, trade, port, lots, settings, long_term, prices[i],
                                 rule.constraints.whole_shares)
    trade = _gain_budget(trade, orders, port, lots, settings, long_term, prices, reasons,
                         rule.constraints.whole_shares)
    trade = _wash_buys(trade, settings, day_d, reasons)
    trade = _drop_small(trade, first, prices, rule)
    for i in (int(a) for a in np.flatnonzero((trade != first) & (first < 0.0))):
        if trade[i] == 0.0 and not any(a == i for a, _ in reasons):
            reasons.append((i, "not sold: its tax exceeds what the sale brings"))
        elif trade[i] != 0.0:
            reasons.append((i, f"sold in part ({-trade[i]:,.0f} of {-first[i]:,.0f} "
                                    "USD): the rest costs more in tax than it brings"))
    taken = np.zeros(lots.n_lots)
    for i, order in orders.items():
        taken += relieve(lots.shares, order, -trade[i] / prices[i])
    gain, tax = lot_tax(taken, lots.shares, lots.basis_usd, _lot_prices(lots, prices),
                        long_term, settings.rates)
    by_asset = np.zeros(len(trade))
    np.add.at(by_asset, lots.asset, tax)
    sized = _resize(trade, outcome.sizing, port, rule, prices)
    final = _weigh(rule, ctx, day, outcome, sized, by_asset)
    if bool(final.skipped_for_cost[0]):
        taken, gain, tax, by_asset = empty, empty, empty, np.zeros(len(trade))
        reasons = [r for r in reasons if r not in said]  # what the skipped sales would do
    changed = bool(np.any(sized.trade_usd[0] != first))
    return TaxedStep(final, taken, gain, tax, long_term, deferred, lt_from, by_asset,
                     tuple(reasons), changed)


def _lot_prices(lots: TaxLots, prices: FloatArray) -> FloatArray:
    return prices[lots.asset]


def _untraded(rule: Rule, ctx: DayContext, day: AssetDay, outcome: StepResult, lots: TaxLots,
              long_term: BoolArray, lt_from: DayArray) -> TaxedStep:
    """The step of a day that trades nothing (not fired, or nothing to trade)."""
    empty = np.zeros(lots.n_lots)
    plain = step(rule, ctx, day, evaluated=outcome.trigger)
    return TaxedStep(plain, empty, empty, empty, long_term, np.zeros(lots.n_lots, bool),
                     lt_from, np.zeros(ctx.weights.shape[1]), (), False)


def optimizer_terms(lots: TaxLots, settings: TaxSettings, orders: dict[int, IntArray],
                    prices: FloatArray, long_term: BoolArray, day: np.datetime64,
                    n_assets: int) -> TaxTerms:
    """The tax pieces the optimized destination weighs (:mod:`driftwise.policy.tax_terms`)
    from the lots each asset's sale may relieve, in relief order: each lot's value, gain
    and rate on ``day``; a washed loss lot kept by ``allow_wash_sales`` has tax 0.

    A gain lot's rate is its all-in rate (the tax paid now). A loss lot's is what a
    realized loss is worth (:func:`driftwise.tax.harvest.harvest_values`): the
    tax saved now at its rate ``r_now`` less the tax paid back on the lower basis of what
    replaces it, at the long-term rate ``r_lt`` after ``T`` years discounted at ``ρ``,
    i.e. ``r_now − r_lt (1 + ρ)^−T`` per USD of loss, the rate arbitrage plus the
    deferral; counting the whole ``r_now`` would sell every loss lot for a saving that is
    mostly paid back."""
    price = _lot_prices(lots, prices)
    value = lots.shares * price
    gain = value - lots.basis_usd
    rate = lot_rates(long_term, settings.rates)
    later = (1.0 + settings.harvest_discount_rate_annual) ** -settings.harvest_years_to_sale
    rate = np.where(gain < 0.0, rate - settings.rates.long_term_total * later, rate)
    room = (float("inf") if settings.gain_budget_usd is None
            else settings.gain_budget_usd - settings.realized_ytd_usd)
    disallowed = (_washed_losses(lots, settings, day, prices) if settings.allow_wash_sales
                  else np.zeros(lots.n_lots, dtype=bool))
    return tax_terms(orders, value, gain, rate, disallowed, n_assets, gain_room_usd=room)


def _washed_losses(lots: TaxLots, settings: TaxSettings, day: np.datetime64,
                   prices: FloatArray) -> BoolArray:
    """Loss lots whose loss a purchase washes (L,): another lot of the asset bought within
    the window, or a purchase in another account of the household (as :func:`_eligible`)."""
    loss = lots.basis_usd > lots.shares * _lot_prices(lots, prices)
    recent = (day - lots.acquired) <= np.timedelta64(settings.wash_window_days, "D")
    out = np.zeros(lots.n_lots, dtype=bool)
    for j in np.flatnonzero(loss):
        mine = lots.asset == lots.asset[j]
        others = mine & recent
        others[j] = False
        out[j] = bool(others.any()) or bool(np.any(settings.household_buy_assets
                                                   == lots.asset[j]))
    return out


def _solved_sales(rule: Rule, ctx: DayContext, day: AssetDay, lots: TaxLots,
                  settings: TaxSettings, day_d: np.datetime64, long_term: BoolArray,
                  lt_from: DayArray, evaluated: TriggerResult | None
                  ) -> TaxedStep | tuple[StepResult, AssetDay, dict[int, IntArray], BoolArray,
                                         list[tuple[int, str]], list[tuple[int, str]]]:
    """The optimized destination with the tax in its objective (steps 1-4 of the module
    inside the solve): the step, the day it was solved with, the relief order of each
    asset's lots, the deferred lots, the reasons and those of them that explain the
    solver's sales (dropped when the rebalance is skipped); a :class:`TaxedStep` when
    nothing trades.

    Each asset's lots in relief order, without the loss lots a purchase would wash (unless
    wash sales are allowed), are the pieces of its tax (:func:`optimizer_terms`); buys that
    would wash a recent loss sale are do-not-buy. The solver's sales are then checked for
    deferral as the formula destinations' are (:mod:`driftwise.tax.deferral`); the lots
    it defers among those its sales reach leave the pieces and the row is solved once
    more, so a lot said to be "deferred until DATE" is one the solver sold and the final
    solve could not sell.
    """
    port = _Portfolio(rule, ctx, day)
    prices = np.asarray(day.prices_usd, dtype=np.float64)
    n = ctx.weights.shape[1]
    reasons: list[tuple[int, str]] = []
    no_defer = dataclasses.replace(settings, defer_horizon_days=0.0)
    orders: dict[int, IntArray] = {}
    for i in (int(a) for a in np.unique(lots.asset)):
        mine = np.flatnonzero(lots.asset == i)
        orders[i], _ = _eligible(i, mine, np.zeros(n), port, lots, no_defer, long_term,
                                 lt_from, day_d, prices[i], reasons)
    locked = np.zeros(n, dtype=bool)
    if not settings.allow_wash_sales:
        locked = washed_buys(list(settings.loss_sale_days), list(settings.loss_sale_assets), n,
                             day_d, window_days=settings.wash_window_days)
    no_buy = np.asarray(day.no_buy, dtype=bool) | locked
    quiet = dataclasses.replace(rule, skip_if_cost_exceeds_benefit=False)

    def solve(orders: dict[int, IntArray]) -> tuple[StepResult, AssetDay]:
        terms = optimizer_terms(lots, settings, orders, prices, long_term, day_d, n)
        taxed_day = dataclasses.replace(day, tax=terms, no_buy=no_buy)
        return step(quiet, ctx, taxed_day, evaluated=evaluated), taxed_day

    outcome, taxed_day = solve(orders)
    if not bool(outcome.trigger.fired[0]) or not bool(outcome.traded[0]):
        return _untraded(rule, ctx, taxed_day, outcome, lots, long_term, lt_from)
    deferred = np.zeros(lots.n_lots, dtype=bool)
    if settings.defer_horizon_days > 0:
        trade = outcome.sizing.trade_usd[0]
        found: list[tuple[int, str]] = []
        for i in (int(a) for a in np.flatnonzero(trade < 0.0)):
            if i in orders:
                _, held = _eligible(i, orders[i], trade, port, lots, settings, long_term,
                                    lt_from, day_d, prices[i], found)
                taken = relieve(lots.shares, orders[i], -trade[i] / prices[i])
                deferred[held[taken[held] > 0.0]] = True  # lots the solver's sale reaches
        if deferred.any():
            named = {f"lot {_lot_name(lots, int(j))} deferred" for j in np.flatnonzero(deferred)}
            reasons += [r for r in found if any(r[1].startswith(n) for n in named)]
            orders = {i: o[~deferred[o]] for i, o in orders.items()}
            outcome, taxed_day = solve(orders)
            if not bool(outcome.traded[0]):
                untraded = _untraded(rule, ctx, taxed_day, outcome, lots, long_term, lt_from)
                return dataclasses.replace(untraded, deferred=deferred,
                                           reasons=tuple(reasons), changed=True)
    under = np.broadcast_to(ctx.target, ctx.weights.shape)[0] > ctx.weights[0]
    for k in np.flatnonzero(locked & under):
        reasons.append((int(k), "not bought: within "
                                f"{settings.wash_window_days} days of a sale at a loss, the "
                                "buy would wash that loss"))
    sold = outcome.sizing.trade_usd[0] < 0.0  # a disallowed loss is one sold
    reasons = [(i, text) for i, text in reasons
               if not (text.startswith("wash sale: the loss") and not sold[i])]
    said = _solver_reasons(outcome, taxed_day, lots, settings, float(ctx.nav_usd[0]))
    return outcome, taxed_day, orders, deferred, reasons + said, said


def _solver_reasons(outcome: StepResult, day: AssetDay, lots: TaxLots, settings: TaxSettings,
                    nav: float) -> list[tuple[int, str]]:
    """Why the tax-aware solve sold each taxed asset as it did (row 0): the next lot's tax
    against the sale's marginal benefit, the losses sold first, the convex envelope."""
    solved, terms = outcome.sizing.optimized, day.tax
    if solved is None or terms is None or solved.failed[0] or solved.gradient is None \
            or solved.marginal_tax is None:
        return []
    z = solved.trade[0]
    out: list[tuple[int, str]] = []
    relief = settings.relief.value
    for i in (int(a) for a in np.flatnonzero(terms.taxed)):
        pieces = np.flatnonzero(terms.asset == i)
        sold_usd = max(-float(z[i]), 0.0) * nav
        net = float(solved.gradient[0, i] - solved.marginal_cost[0, i])
        tax_next = float(solved.marginal_tax[0, i])
        left = sold_usd
        losses: list[int] = []
        nxt = -1
        for k in pieces:
            take = min(left, float(terms.value_usd[k]))
            left -= take
            if take > 0.0 and terms.rate[k] < 0.0:
                losses += [int(j) for j in terms.lots[k]]
            if nxt < 0 and take < float(terms.value_usd[k]) * (1.0 - 1e-9):
                nxt = int(k)
        names = (", ".join(_lot_name(lots, int(j)) for j in terms.lots[nxt]) if nxt >= 0
                 else "")
        if sold_usd > 0.0 and losses:
            out.append((i, f"loss lots {', '.join(_lot_name(lots, j) for j in losses)} sold "
                           "first: their loss lowers the tax of the sale"))
        if sold_usd > 0.0 and nxt >= 0 and tax_next > 0.0 and net > 0.0:
            out.append((i, f"sold {sold_usd:,.0f} USD, not more: the next lot ({names}) "
                           f"would add {tax_next:.2%} of each USD sold in tax (tax weight "
                           "× rate × gain per USD of value), above the sale's marginal "
                           f"tracking benefit net of trading cost ({net:.2%})"))
        elif sold_usd == 0.0 and nxt >= 0 and net > 0.0 and tax_next >= net:
            out.append((i, f"not sold: the tax of its first lot ({names}: {tax_next:.2%} of "
                           "each USD sold, tax weight × rate × gain per USD of value) "
                           "exceeds the sale's marginal tracking benefit net of trading "
                           f"cost ({net:.2%})"))
        if sold_usd > 0.0 and terms.envelope[i]:
            out.append((i, f"the tax of selling by {relief}, a loss counted at what it is "
                           "worth, is not convex in the amount sold (a lot weighing more per "
                           "USD comes before one weighing less); the optimizer weighed its "
                           "convex envelope, at most that tax, and the sale relieves the "
                           "lots in that order"))
    return out


def _eligible(i: int, mine: IntArray, trade: FloatArray, port: _Portfolio, lots: TaxLots,
              settings: TaxSettings, long_term: BoolArray, lt_from: DayArray,
              day: np.datetime64, price: float, reasons: list[tuple[int, str]]
              ) -> tuple[IntArray, IntArray]:
    """Asset ``i``'s lots in relief order without the deferred and washed ones, and the
    deferred lots (indices into L)."""
    order = mine[relief_order(lots.shares[mine], lots.basis_usd[mine], lots.acquired[mine],
                              price, day, settings.relief, settings.rates,
                              lot_ids=[lots.ids[j] for j in mine] if lots.ids else (),
                              specific=settings.specific)]
    sold_shares = -trade[i] / price
    gain_ps = price - lots.basis_usd[order] / lots.shares[order]
    held_back = np.zeros(0, dtype=np.intp)
    days = days_to_long_term(lt_from[order], day) if settings.defer_horizon_days > 0 else None
    if days is not None and deferral_candidates(gain_ps * lots.shares[order], long_term[order],
                                                days, settings.defer_horizon_days).any():
        both = np.stack([trade, trade])
        both[1, i] = 0.0
        with_sale, without = port.benefits_usd(both)
        per_share = (with_sale - without) / sold_shares
        defer = deferred_lots(gain_ps * lots.shares[order], long_term[order], days,
                              per_share * lots.shares[order],
                              horizon_days=port.rule.horizon_days,
                              defer_horizon_days=settings.defer_horizon_days,
                              rates=settings.rates)
        held_back = order[defer]
        saving = rate_saving_usd(gain_ps * lots.shares[order], settings.rates)
        penalty = waiting_penalty_usd(per_share * lots.shares[order], days,
                                      port.rule.horizon_days)
        for k in np.flatnonzero(defer):
            j = int(order[k])
            reasons.append((i, f"lot {_lot_name(lots, j)} deferred until {lt_from[j]}: the "
                               f"tax saved by waiting ({saving[k]:,.0f} USD) exceeds the "
                               f"tracking penalty of waiting ({penalty[k]:,.0f} USD)"))
        order = order[~defer]
        gain_ps = gain_ps[~defer]
    recent = np.flatnonzero((lots.asset == i) & ((day - lots.acquired) <= np.timedelta64(
        settings.wash_window_days, "D")))
    # a loss lot is washed by another lot of the asset bought within the window (the rest
    # of a lot never replaces its own shares)
    other_recent = (len(recent) > 1) | ((len(recent) == 1) & (order != (
        recent[0] if len(recent) else -1)))
    loss = (gain_ps < 0.0) & other_recent
    household = bool(np.any(settings.household_buy_assets == i))
    if household and (gain_ps < 0.0).any():
        lost = gain_ps < 0.0
        names = ", ".join(_lot_name(lots, j) for j in order[lost])
        if settings.allow_wash_sales:
            reasons.append((i, f"wash sale: the loss of lots {names} is disallowed (bought "
                               f"within {settings.wash_window_days} days in another "
                               "account of the household)"))
        else:
            reasons.append((i, f"loss lots {names} not sold: a purchase within "
                               f"{settings.wash_window_days} days in another account of "
                               "the household would wash the loss"))
            order, gain_ps = order[~lost], gain_ps[~lost]
            loss = loss[~lost]
    if loss.any():
        names = ", ".join(_lot_name(lots, j) for j in order[loss])
        if settings.allow_wash_sales:
            reasons.append((i, f"wash sale: the loss of lots {names} is disallowed (bought "
                               f"within {settings.wash_window_days} days) and moves to the "
                               "basis of the recent lot"))
        else:
            reasons.append((i, f"loss lots {names} not sold: a purchase within "
                               f"{settings.wash_window_days} days would wash the loss"))
            order = order[~loss]
    return order, held_back


def _lot_name(lots: TaxLots, j: int) -> str:
    return lots.ids[j] if lots.ids else str(lots.acquired[j])


def _best_cut(i: int, order: IntArray, trade: FloatArray, port: _Portfolio, lots: TaxLots,
              settings: TaxSettings, long_term: BoolArray, price: float,
              whole_shares: bool) -> float:
    """The trade of asset ``i`` (USD, <= 0) cut at its best lot boundary (step 3): the
    sale as sized when that is the best."""
    wanted = -trade[i] / price
    bounds = np.minimum(np.concatenate([[0.0], np.cumsum(lots.shares[order])]), wanted)
    if whole_shares:
        bounds = np.floor(bounds + 1e-9)
    cuts = np.unique(bounds)
    trials = np.repeat(trade[None, :], len(cuts), axis=0)
    trials[:, i] = -cuts * price
    taken = np.stack([relieve(lots.shares, order, shares) for shares in cuts])
    _, tax = lot_tax(taken, lots.shares, lots.basis_usd, price, long_term, settings.rates)
    values = port.benefits_usd(trials) - port.costs_usd(trials)[:, i] - tax.sum(axis=1)
    best, best_value = 0.0, -np.inf
    for shares, value in zip(cuts.tolist(), values.tolist(), strict=True):
        if value >= best_value - 1e-9 * port.nav:
            best, best_value = float(shares), value
    return float(trade[i]) if best >= wanted - 1e-6 else -best * price


def _gain_budget(trade: FloatArray, orders: dict[int, IntArray], port: _Portfolio,
                 lots: TaxLots, settings: TaxSettings, long_term: BoolArray,
                 prices: FloatArray, reasons: list[tuple[int, str]],
                 whole_shares: bool) -> FloatArray:
    """Peel gain lots off the end of the sales until the year's net gain fits (step 4)."""
    if settings.gain_budget_usd is None:
        return trade
    room = settings.gain_budget_usd - settings.realized_ytd_usd
    trade = trade.copy()

    def realized() -> tuple[float, dict[int, FloatArray]]:
        total, taken_by = 0.0, {}
        for i, order in orders.items():
            taken = relieve(lots.shares, order, -trade[i] / prices[i])
            gain, _ = lot_tax(taken, lots.shares, lots.basis_usd, prices[i], long_term,
                              settings.rates)
            total += float(gain.sum())
            taken_by[i] = taken
        return total, taken_by

    total, taken_by = realized()
    peeled: set[int] = set()
    while total > room + 1e-6:
        best: tuple[float, int, float] | None = None
        for i, order in orders.items():
            used = [j for j in order if taken_by[i][j] > 0.0]
            if not used:
                continue
            last = used[-1]
            gain_ps = prices[i] - lots.basis_usd[last] / lots.shares[last]
            if gain_ps <= 0.0:
                continue
            trial = trade.copy()
            trial[i] = 0.0
            per_share = (port.benefit_usd(trade) - port.benefit_usd(trial)) / (
                -trade[i] / prices[i])
            score = per_share / gain_ps
            if best is None or score < best[0]:
                best = (score, i, gain_ps)
        if best is None:
            reasons.append((-1, f"gain budget: the sales realize {total:,.0f} USD of net "
                                f"gain, above the {room:,.0f} USD left this year, and no "
                                "gain lot can be left unsold to meet it"))
            break
        _, i, gain_ps = best
        last = [j for j in orders[i] if taken_by[i][j] > 0.0][-1]
        cut = min(float(taken_by[i][last]), (total - room) / gain_ps)
        shares = -trade[i] / prices[i] - cut
        if whole_shares:
            shares = float(np.floor(shares + 1e-9))
        trade[i] = -max(shares, 0.0) * prices[i]
        peeled.add(i)
        total, taken_by = realized()
    for i in sorted(peeled):
        reasons.append((i, f"sale reduced to keep the year's realized net gain within the "
                           f"gain budget ({settings.gain_budget_usd:,.0f} USD)"))
    return trade


def _wash_buys(trade: FloatArray, settings: TaxSettings, day: np.datetime64,
               reasons: list[tuple[int, str]]) -> FloatArray:
    """Buys that would wash a recent loss sale: held back, or kept and said (step 2)."""
    washed = washed_buys(list(settings.loss_sale_days), list(settings.loss_sale_assets),
                         len(trade), day, window_days=settings.wash_window_days)
    out = trade.copy()
    for i in np.flatnonzero(washed & (trade > 0.0)):
        if settings.allow_wash_sales:
            reasons.append((int(i), "wash sale: this buy falls within "
                                    f"{settings.wash_window_days} days of a loss sale; the "
                                    "loss is disallowed and moves to the new lot's basis"))
        else:
            out[i] = 0.0
            reasons.append((int(i), "not bought: within "
                                    f"{settings.wash_window_days} days of a sale at a loss, "
                                    "the buy would wash that loss"))
    return out


def _drop_small(trade: FloatArray, first: FloatArray, prices: FloatArray,
                rule: Rule) -> FloatArray:
    """Cut sales below the minimum trade are dropped."""
    c = rule.constraints
    floor = np.maximum(c.min_trade_usd, c.min_trade_shares * prices)
    small = (trade != first) & (np.abs(trade) < floor)
    return np.where(small, 0.0, trade)


def _resize(trade: FloatArray, before: SizingResult, port: _Portfolio, rule: Rule,
            prices: FloatArray) -> SizingResult:
    """The sizing result of the trades after tax, buys refitted to the cash (step 5)."""
    c = rule.constraints
    ctx = port.ctx
    cash = ctx.cash_weight * ctx.nav_usd
    fit = fit_cash(trade[None, :], cash_usd=cash, nav_usd=ctx.nav_usd,
                   cash_floor=c.cash_buffer, cost_fn=port.day.cost_fn, prices_usd=prices,
                   whole_shares=c.whole_shares, min_trade_usd=c.min_trade_usd,
                   min_trade_shares=c.min_trade_shares)
    x = np.asarray(fit.trade_usd, dtype=np.float64)
    k = np.asarray(fit.cost_usd, dtype=np.float64)
    post_nav = ctx.nav_usd - k.sum(axis=1)
    post_cash = (fit.cash_after_usd if fit.cash_after_usd is not None
                 else cash - x.sum(axis=1) - k.sum(axis=1))
    shares = x / prices
    if c.whole_shares:
        shares = np.rint(shares)
    binding = dict(before.binding)
    binding["cash"] = np.asarray(before.binding["cash"]) | fit.scaled
    binding["cash_short"] = np.asarray(before.binding["cash_short"]) | fit.short
    return SizingResult(x, shares, k, post_nav, (port.held + x) / post_nav[:, None],
                        post_cash / post_nav, binding, post_cash_usd=post_cash,
                        iterations=before.iterations,
                        intended_traded_usd=before.intended_traded_usd,
                        optimized=before.optimized)


def _weigh(rule: Rule, ctx: DayContext, day: AssetDay, before: StepResult,
           sized: SizingResult, tax_usd: FloatArray) -> StepResult:
    """Cost (trading + borrow + tax) against benefit, and the rule's skip (step 6)."""
    nav = ctx.nav_usd
    borrow = added_borrow(rule, ctx, day, sized.trade_usd).sum(axis=1)
    cost = (sized.cost_usd.sum(axis=1) + borrow + float(tax_usd.sum())) / nav
    te_after = ctx.te(sized.post_weights - ctx.target)
    benefit = 0.5 * rule.gamma * (ctx.te_before**2 - te_after**2) * (
        rule.horizon_days / TRADING_DAYS)
    skipped = np.zeros(1, dtype=bool)
    if rule.skip_if_cost_exceeds_benefit:
        skipped = (cost > benefit) & (cost > 0.0)
    if not skipped[0]:
        return dataclasses.replace(before, sizing=sized, cost_fraction=cost, benefit=benefit,
                                   te_after=te_after, weighed_cost=cost,
                                   weighed_benefit=benefit, skipped_for_cost=skipped)
    zero = np.zeros_like(sized.trade_usd)
    none = SizingResult(zero, zero.copy(), zero.copy(), nav.copy(), ctx.weights.copy(),
                        np.asarray(ctx.cash_weight, dtype=np.float64).copy(), sized.binding,
                        post_cash_usd=ctx.cash_weight * nav, iterations=sized.iterations,
                        intended_traded_usd=np.zeros(1))
    return dataclasses.replace(before, sizing=none, cost_fraction=np.zeros(1),
                               benefit=np.zeros(1), te_after=ctx.te_before,
                               weighed_cost=cost, weighed_benefit=benefit,
                               skipped_for_cost=skipped)
