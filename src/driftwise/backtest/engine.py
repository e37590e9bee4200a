"""The backtest engine: many configurations, one loop over days.

Each trading day ``t`` of the window, for every configuration, in this order (the state
is a :class:`~driftwise.policy.book.Book` per batch, the order of operations is its
module's):

1. **mark to market** at the close of ``t``: the cash held overnight earns the risk-free rate
   of the day before (``cash_t = cash_{t-1} * (1 + rf_{t-1} / 252)``, ``rf`` the last known
   annual rate on or before each day, 0 without a series; not on the first day; none under
   ``Window.cash_earns_risk_free = False``), the shorts held overnight pay their borrow from
   cash (``sum_i max(-shares_i * close_t, 0) * borrow_bps_annual_i / 1e4 / 252``, not
   on the first day; :meth:`Book.pay`), then ``NAV = sum(shares * close_t) + cash``
   (:meth:`Book.marks`);
2. **evaluate the trigger** with data up to and including ``t``
   (:meth:`DayContext.of <driftwise.policy.context.DayContext.of>` the book's marks and
   :meth:`MarketHistory.day <driftwise.backtest.history.MarketHistory.day>` of ``t``);
3. **size the trades** at the close of ``t`` (:func:`driftwise.policy.rule.step`, the
   planner's own decision, with the cost model of ``t``);
4. **book the trades and pay the costs from cash** at ``t``
   (:func:`~driftwise.policy.book.book_trades`: cash becomes the sizing's own
   ``cash - sum(trade_usd) - sum(cost_usd)``), then the day ends (:meth:`Book.end_day`:
   days since rebalancing and the wait of a delayed rebalance move on);
5. the return from ``t`` to ``t + 1`` applies to the post-trade shares (prices are
   adjusted closes, so dividends are in the returns).

Start: invested at the target weights at the first day's close at no cost (whole shares
rounded toward zero under ``whole_shares``, the rest in cash), or from the given holdings
(``backtest.start_from_holdings``). Calendar rules never fire on the first day.

The run simulates a :class:`~driftwise.backtest.grid.RuleGrid`: each of its blocks is one
**batch**, a rule whose trigger parameters are arrays shaped ``(C_g,)`` (thresholds
3/5/7/10% are one :class:`~driftwise.policy.triggers.DriftThreshold` with four
thresholds), each row priced with its own cost parameters. Each day a batch builds one
context with ``C_g`` rows, evaluates its trigger, and calls ``step`` only on the rows that
fire (:meth:`DayContext.take` and :func:`~driftwise.backtest.grid.take_trigger`: each row
is sized as it would be alone). The engine reads no configuration: the grid is typed, and
each block's market history is built from the block's own settings
(:attr:`RuleBlock.history <driftwise.backtest.grid.RuleBlock.history>`). No rule and no
cost is implemented here: the engine only moves state.

**Quiet blocks.** On most days nothing fires; :func:`advance` hands stretches of days
to :func:`driftwise.backtest.blocks.quiet_days`, which evaluates them at once and leaves
the first day with an event to :func:`simulate_day`. The per-batch bookkeeping (state,
result arrays, the day's costs) lives in :mod:`driftwise.backtest.batches`.

**Compiled batches.** A batch of thresholds, calendar reviews or both (``Batch.compiled``)
skips this Python day loop: :func:`driftwise.backtest.compiled.advance` runs its days in
compiled kernels that call the same row kernels as ``step`` and book with the compiled twin
of ``book_trades``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from driftwise._blas import one_blas_thread
from driftwise._types import TRADING_DAYS, BoolArray, Destination, FloatArray, IntArray
from driftwise.backtest import blocks, cluster, compiled, optimized, versions
from driftwise.backtest.batches import (
    Batch,
    BatchState,
    DayCosts,
    Outputs,
    Window,
    start_state,
    starting_nav,
)
from driftwise.backtest.grid import RuleGrid, take_trigger
from driftwise.backtest.groups import reference_growth
from driftwise.backtest.history import (
    HistorySettings,
    MarketHistory,
    build_history,
    universe,
)
from driftwise.backtest.metrics import turnover_notices
from driftwise.data.model import Inputs, TargetLevel
from driftwise.flags import Flag, Notice
from driftwise.metrics.drift import mark_to_market, portfolio_drift
from driftwise.policy.book import Book, Trades, book_trades
from driftwise.policy.context import DayContext, Frequency
from driftwise.policy.factors import factor_history
from driftwise.policy.optimize import group_codes
from driftwise.policy.rule import AssetDay, Rule, step
from driftwise.policy.triggers import AnyOf, Calendar, DayInput, Event, TriggerResult

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Daily paths of C configurations over T days.

    Attributes
    ----------
    dates : pd.DatetimeIndex, shape (T,)
    names : list of str, length C
        Policy labels.
    params : pd.DataFrame
        One row per configuration (index ``names``): policy, trigger, threshold,
        destination, cost scale, VIX multipliers, impact model, batch, ... Built on first
        use by ``describe`` (a backtest whose table is never read does not pay for it).
    nav_usd : ndarray, shape (T, C)
        Post-trade NAV at each close (costs paid).
    ref_nav_usd : ndarray, shape (T,)
        Reference portfolio: target weights rebalanced daily at zero cost, same start NAV
        (targets by group: the group weights, each group split by the reference's own
        holdings, :mod:`driftwise.backtest.groups`).
    traded_usd : ndarray, shape (T, C)
        ``sum_i |trade_usd_i|``.
    cost_usd : ndarray, shape (T, C)
        Costs paid: trading costs plus the borrow of shorts held overnight.
    rebalanced : ndarray of bool, shape (T, C)
        At least one trade that day.
    drift : ndarray, shape (T, C)
        Portfolio drift before trading at the close.
    post_drift : ndarray, shape (T, C)
        Portfolio drift after trading.
    cash_usd : ndarray, shape (T, C)
        Cash after trading.
    intended_usd : ndarray, shape (T, C)
        ``sum_i |trade_usd_i|`` the sizing intended on the days a rule fired, before
        minimum trades and whole-share rounding dropped any of it
        (``SizingResult.intended_traded_usd``); 0 on other days.
    risk_free_annual : ndarray, shape (T,)
        Risk-free rate (annual fraction; the last known on or before each day, 0 when
        none): the metrics' excess returns, and what cash earns over the night after each
        day (unless ``Window.cash_earns_risk_free`` is False).
    config_toml : sequence of str, length C
        Each configuration as TOML (:class:`ConfigTexts`: written when first read).
    tickers : list of str, length N
        The universe.
    initial_nav_usd : float
        Starting NAV at target (or of the holdings, when starting from them), USD.
    initial_nav_source : str
        Where it came from: ``backtest.initial_nav_usd``, the holdings' NAV, or the
        default USD 1,000,000.
    borrow_usd : ndarray, shape (T, C)
        The borrow part of ``cost_usd`` (0 where no short was held overnight).
    """

    dates: pd.DatetimeIndex
    names: list[str]
    nav_usd: FloatArray
    ref_nav_usd: FloatArray
    traded_usd: FloatArray
    cost_usd: FloatArray
    rebalanced: BoolArray
    drift: FloatArray
    post_drift: FloatArray
    cash_usd: FloatArray
    risk_free_annual: FloatArray
    intended_usd: FloatArray
    config_toml: Sequence[str]
    describe: Callable[[], pd.DataFrame] = dataclasses.field(repr=False)
    tickers: list[str] = dataclasses.field(default_factory=list)
    initial_nav_usd: float = float("nan")
    initial_nav_source: str = ""
    borrow_usd: FloatArray | None = None
    optimizer_fallback: BoolArray | None = None
    """(T, C): days the optimized destination's solver failed (the full destination used)."""

    @cached_property
    def notices(self) -> tuple[Notice, ...]:
        """What distorted the run: configurations whose whole-share rounding and minimum
        trades dropped more than 5% of their intended turnover
        (:func:`~driftwise.backtest.metrics.turnover_notices`), and those whose optimizer
        fell back to the full destination on some days."""
        out = turnover_notices(self.names, self.traded_usd, self.intended_usd)
        failed = (np.zeros((0, 0), dtype=bool) if self.optimizer_fallback is None
                  else self.optimizer_fallback)
        for c in np.flatnonzero(failed.any(axis=0)) if failed.size else ():
            out += (Notice(Flag.OPTIMIZER_FALLBACK,
                           f"{self.names[c]}: the optimizer did not solve on "
                           f"{int(failed[:, c].sum())} day(s); the full destination was used"),)
        return out

    @cached_property
    def params(self) -> pd.DataFrame:
        """The configurations' parameter table (``describe()``, built once)."""
        return self.describe()

    @property
    def n_days(self) -> int:
        """T."""
        return len(self.dates)

    @property
    def n_configs(self) -> int:
        """C."""
        return len(self.names)

    def frame(self, name: str = "nav_usd") -> pd.DataFrame:
        """One (T, C) array as a DataFrame (index dates, columns names)."""
        return pd.DataFrame(getattr(self, name), index=self.dates, columns=self.names)


# ----------------------------------------------------------------- batches

def _columns(members: list[int]) -> slice | IntArray:
    if members == list(range(members[0], members[-1] + 1)):
        return slice(members[0], members[-1] + 1)
    return np.asarray(members, dtype=np.intp)


def make_batches(inputs: Inputs, grid: RuleGrid, window: Window, tickers: pd.Index,
                 histories: dict[HistorySettings, MarketHistory] | None = None) -> list[Batch]:
    """Bind each block of ``grid`` to its market history, targets, bands and restrictions.

    ``histories`` caches the per-day market inputs by settings: pass the same dict to
    several runs over the same inputs and window to build them once.
    """
    targets = inputs.targets
    assert targets is not None  # universe() checked it
    histories = {} if histories is None else histories
    sched: versions.Schedule | None = None
    out = []
    for j, block in enumerate(grid.blocks):
        rule, settings = block.rule, block.history
        if settings not in histories:
            histories[settings] = build_history(inputs, settings, start=window.start,
                                                end=window.end, tickers=tickers)
        history = histories[settings]
        if j == 0:  # the same days in every history
            sched = versions.schedule(inputs, tickers, history.dates)
            if sched is not None:
                targets = sched.first()
            if (sched is not None and not sched.several and not sched.by_group
                    and not versions.pending_at_start(sched, inputs.last_rebalance,
                                                      window.from_holdings)):
                sched = None  # one version over the whole window, no event: the plain target
        by_group = None
        if targets.level is TargetLevel.ASSET:
            target = targets.weights.reindex(tickers, fill_value=0.0).to_numpy(
                dtype=np.float64, copy=True)
            file_abs = targets.band_abs.reindex(tickers).to_numpy(dtype=np.float64)
            file_rel = targets.band_rel.reindex(tickers).to_numpy(dtype=np.float64)
        else:  # split by the holdings of the first day, as the planner splits them
            assert sched is not None  # a group version is always read from its schedule
            by_group = sched.groups[int(sched.day_version[0])]
            assert by_group is not None
            held = (inputs.holdings.shares.reindex(tickers, fill_value=0.0).to_numpy(np.float64)
                    if window.from_holdings else np.zeros(len(tickers)))
            target = by_group.expand(held * history.prices[0])[0]
            file_abs = file_rel = np.full(len(tickers), np.nan)
        c = rule.constraints
        out.append(Batch(
            members=block.positions, rule=rule, params=block.costs, param_rows=block.cost_rows,
            history=history, target=target, target_cash=float(targets.cash_weight),
            band_width=block.bands.widths(target, file_abs, file_rel),
            no_buy=np.asarray(tickers.isin(list(c.do_not_buy)), dtype=bool),
            no_sell=np.asarray(tickers.isin(list(c.do_not_sell)), dtype=bool),
            with_cov=block.with_cov,
            invalid=(np.zeros(history.n_days, dtype=bool) if block.accept_stale_costs
                     else history.stale_any),
            columns=_columns(block.positions.tolist()),
            max_span=(1 if sched is not None or by_group is not None
                      else blocks.max_span(rule.trigger, block.n_rows, len(tickers))),
            compiled=(sched is None and by_group is None
                      and compiled.supports(rule, block.with_cov)),
            group_targets=by_group, bands=block.bands,
            versions=sched,
            version_widths=(None if sched is None else np.stack([
                block.bands.widths(sched.weights[v], sched.band_abs[v], sched.band_rel[v])
                for v in range(len(sched.versions))])),
            borrow_daily=_borrow_daily(inputs, c.long_only, window, tickers, history),
            cash_growth=cash_growth(history, window.cash_earns_risk_free),
            groups=group_codes(inputs.master.frame[rule.optimizer.group_by.value]
                               .reindex(tickers)),
            factors=(factor_history(inputs.market.prices, tickers, rule.optimizer.factors)
                     if rule.destination is Destination.OPTIMIZED
                     and rule.optimizer.factors.active else None)))
    return out


def _borrow_daily(inputs: Inputs, long_only: bool, window: Window, tickers: pd.Index,
                  history: MarketHistory) -> FloatArray | None:
    """The borrow fee of a short per night (N,), or None when no short can be held: a
    long-only batch never opens one and holds one only when it starts from short holdings.
    """
    short_start = window.from_holdings and bool((inputs.holdings.shares < 0).any())
    if long_only and not short_start:
        return None
    fee = history.cost_inputs(0).borrow_bps_annual
    return np.ascontiguousarray(np.asarray(fee, dtype=np.float64) / 1e4 / TRADING_DAYS)


def cash_growth(history: MarketHistory, earns: bool) -> FloatArray | None:
    """Growth of cash over the night before each day (T,): ``1 + rf_{k-1} / 252`` on day
    ``k > 0``, 1 on day 0; None when cash earns nothing (``earns`` False, or the rate is 0
    on every day but the last)."""
    rf = history.risk_free_annual
    if not earns or not np.any(rf[:-1]):
        return None
    growth = np.ones(history.n_days)
    growth[1:] = 1.0 + rf[:-1] / TRADING_DAYS
    return growth


# -------------------------------------------------------------- simulation

def pay_borrow(batch: Batch, state: BatchState, out: Outputs, k: int, *,
               interest: bool = True) -> None:
    """Step 1 of the backtest's day, first: the cash held overnight earns its interest
    (:func:`~driftwise.backtest.blocks.night_interest`; ``interest`` False: the caller
    credited it), then the shorts held overnight pay their borrow from cash."""
    if interest:
        blocks.night_interest(batch, state.book, k)
    paid = blocks.night_borrow(batch, state.book.shares, k)
    if paid is not None:
        state.book.pay(paid)
        out.borrow[k, batch.columns] = paid


def open_day(batch: Batch, state: BatchState, k: int
             ) -> tuple[Batch, DayContext, DayCosts]:
    """Step 2 of the backtest's day (after the night's interest and borrow): the version
    in force on day ``k`` (a new one marks the rows whose last trade is known as pending:
    ``state.version_pending``), the book marked to market at the close against the day's
    targets (each row's split of its group targets, at today's values), and the day's
    :class:`DayContext` and cost model. Returns the batch with the day's version, the
    context and the costs. The engine's day and the after-tax loop both start so."""
    book = state.book
    pending = state.version_pending
    if batch.versions is not None and pending is not None:
        if batch.versions.switch[k]:  # a new version: an event where the last trade is known
            state.version_pending = pending | np.isfinite(book.days_since_rebalance)
        batch = batch.on_day(k)
    market = batch.history.day(k, with_cov=batch.with_cov,
                               with_calendar=DayInput.CALENDAR in batch.rule.trigger.reads,
                               rolling_cov=batch.rule.destination is Destination.OPTIMIZED)
    marks = book.marks(market.prices_usd, batch.target, batch.target_cash)
    target, width = batch.target, batch.band_width
    if batch.group_targets is not None:  # each row's split of the groups, at today's values
        assert batch.bands is not None
        target = batch.group_targets.expand(book.shares * market.prices_usd)
        nan = np.full(target.shape[1], np.nan)
        width = batch.bands.widths(target, nan, nan)
        marks = dataclasses.replace(marks, drift=portfolio_drift(
            marks.weights, target, marks.cash_weight, batch.target_cash))
    costs = DayCosts(batch, k)
    ctx = DayContext.of(market, marks, target=target, target_cash=batch.target_cash,
                        band_width=width, full_cost_usd=costs)
    return batch, ctx, costs


def event_rule(rule: Rule) -> Rule:
    """``rule`` acting on a new target version, as the planner does: its trigger with an
    event beside it (``AnyOf``: every row fires, none is delayed) and no cost skip."""
    return dataclasses.replace(
        rule, trigger=AnyOf((Event("a new target version is in force"), rule.trigger),
                            label=rule.trigger.name),
        skip_if_cost_exceeds_benefit=False)


def simulate_day(batch: Batch, state: BatchState, out: Outputs, k: int) -> bool:
    """Steps 1-4 of the backtest's day for one batch on day ``k`` (step 5 is the next close).

    Only the rows that fire are sized (``step`` on ``ctx.take(rows)`` with the trigger's
    parameters of those rows): each row is decided as it would be alone. Returns whether
    any row fired. An optimized rule reviewed at every close runs its days in
    :func:`driftwise.backtest.optimized.simulate_day` (the same arrays, to the bit).
    """
    if optimized.simulate_day(batch, state, out, k):
        return True
    book = state.book
    pay_borrow(batch, state, out, k)
    batch, ctx, costs = open_day(batch, state, k)
    pending = state.version_pending
    out.quiet(slice(k, k + 1), batch.columns, ctx.nav_usd, ctx.portfolio_drift, book.cash_usd)
    if sell_exits(batch, state, out, k, costs):  # the rule sizes the book after the sale
        batch, ctx, costs = open_day(batch, state, k)
    fired: IntArray = np.zeros(0, dtype=np.intp)
    if batch.invalid[k]:
        delayed = None  # the planner's plan is invalid: no trade, nothing stays pending
    else:
        result = batch.rule.trigger.evaluate(ctx)
        delayed = result.delayed
        forced = (np.zeros(0, dtype=np.intp) if pending is None
                  else np.flatnonzero(pending))
        fired = np.flatnonzero(result.fired if pending is None or not len(forced)
                               else result.fired & ~pending)
        if len(fired):
            fired_delayed = _trade(batch, state, out, k, ctx, costs, fired, result)
            if delayed is not None and fired_delayed is not None:
                delayed = delayed.copy()
                delayed[fired] = fired_delayed
        if len(forced):  # the new version's event: these rows fire, undelayed
            _trade(batch, state, out, k, ctx, costs, forced, result, event=True)
            if delayed is not None:
                delayed = delayed.copy()
                delayed[forced] = False
            fired = np.union1d(fired, forced)
    book.end_day(delayed)
    return len(fired) > 0


def sell_exits(batch: Batch, state: BatchState, out: Outputs, k: int, costs: DayCosts) -> bool:
    """On the switch day of a version that sells stocks in full (``Schedule.exits``: stocks
    that stopped trading), every row holding them sells its whole position at the day's
    close, paying the day's cost model's cost of each sale from cash
    (:meth:`DayCosts.per_asset <driftwise.backtest.batches.DayCosts.per_asset>`), booked by
    :func:`book_trades` and recorded (traded, cost, intended, post-trade NAV and cash).
    The row's rule then sizes the event on the book after the sale. Returns whether any
    row sold."""
    sched = batch.versions
    if sched is None or not sched.switch[k]:
        return False
    exits = sched.exits[int(sched.day_version[k])]
    if not exits.any():
        return False
    book = state.book
    held = np.where(exits[None, :], book.shares, 0.0)
    rows = np.flatnonzero((held != 0.0).any(axis=1))
    if not len(rows):
        return False
    trade_shares = -held[rows]
    trade_usd = trade_shares * batch.history.prices[k]
    cost_usd = costs.take(rows).per_asset(trade_usd)
    post_cash = book.cash_usd[rows] - trade_usd.sum(axis=1) - cost_usd.sum(axis=1)
    booked = book_trades(book, rows, Trades(trade_usd, trade_shares, post_cash))
    out.intended[k, batch.members[rows]] = np.abs(trade_usd).sum(axis=1)
    _record(batch, book, out, k, booked, trade_usd, cost_usd)
    return True


def _trade(batch: Batch, state: BatchState, out: Outputs, k: int, ctx: DayContext, costs: DayCosts,
           fired: IntArray, evaluated: TriggerResult, *, event: bool = False
           ) -> BoolArray | None:
    """``step`` on the fired rows; book their trades (:func:`book_trades`) and record them.
    Returns the fired rows' delays.

    ``evaluated`` is the trigger's result on ``ctx``, reused when every row fired.
    ``event``: the rows act on a new target version, as the planner does: the rule's
    trigger with an event beside it (``AnyOf``: every row fires, none is delayed) and no
    cost skip; a row that trades has acted on it.
    """
    rule, sub = batch.rule, ctx
    known: TriggerResult | None = evaluated
    if len(fired) < ctx.n_configs:
        rule = dataclasses.replace(rule, trigger=take_trigger(rule.trigger, fired),
                                   optimizer=rule.optimizer.take(fired))
        sub = ctx.take(fired)
        costs = costs.take(fired)
        known = None  # evaluated again on the rows taken
    if event:
        rule, known = event_rule(rule), None
    day = AssetDay(prices_usd=batch.history.prices[k], adv_shares=costs.adv_shares,
                   no_buy=batch.no_buy, no_sell=batch.no_sell, cost_fn=costs.model,
                   borrow_bps_annual=(None if batch.borrow_daily is None
                                      else costs.borrow_bps_annual),
                   groups=batch.groups,
                   factor_betas=(None if batch.factors is None
                                 else batch.factors.betas(int(batch.history.rows[k]))[0]))
    outcome = step(rule, sub, day, evaluated=known, weigh=False)
    s = outcome.sizing
    out.intended[k, batch.members[fired]] += s.intended_traded_usd
    if s.optimized is not None:
        out.fallback[k, batch.members[fired]] = s.optimized.failed
    traded = book_trades(state.book, fired, s)
    if state.version_pending is not None and len(traded):
        state.version_pending[traded] = False
    if len(traded):
        pick = outcome.traded
        _record(batch, state.book, out, k, traded, s.trade_usd[pick], s.cost_usd[pick],
                None if np.ndim(ctx.target) < 2 else ctx.target[traded])
    return outcome.trigger.delayed


def _record(batch: Batch, book: Book, out: Outputs, k: int, rows: IntArray,
            trade_usd: FloatArray, cost_usd: FloatArray, target: FloatArray | None = None
            ) -> None:
    """Record the trades of ``rows`` (booked): traded value, costs, and the post-trade
    NAV, cash and drift at the close (against ``target`` (R, N), the rows' own, when
    given)."""
    cash = book.cash_usd[rows]
    prices = batch.history.prices[k]
    weights, post_nav, post_drift = mark_to_market(book.shares[rows], prices,
                                                   cash, batch.target, batch.target_cash)
    if target is None and batch.group_targets is not None:  # the rows' split after trading
        target = batch.group_targets.expand(book.shares[rows] * prices)
    if target is not None:
        post_drift = portfolio_drift(weights, target, cash / post_nav, batch.target_cash)
    m = batch.members[rows]
    out.traded[k, m] += np.abs(trade_usd).sum(axis=1)  # 0 before the day's first trade
    out.cost[k, m] += cost_usd.sum(axis=1)
    out.nav[k, m] = post_nav
    out.cash[k, m] = cash
    out.rebalanced[k, m] = True
    out.post_drift[k, m] = post_drift

def advance(batch: Batch, state: BatchState, out: Outputs, k: int, span: int) -> tuple[int, int]:
    """Simulate from day ``k``: a quiet block of up to ``span`` days, or day ``k`` alone.

    Returns the next day to simulate and the next block length: the block doubles while
    nothing happens and halves after an event, so that a policy trading every few weeks
    covers each quiet stretch in two or three blocks, while one trading every day soon
    runs day by day (which costs no block evaluation). The block length changes only the
    speed, never the result.
    """
    if batch.compiled:
        return compiled.advance(batch, state, out, k), span
    span = min(span, batch.history.n_days - k, batch.max_span)
    if span > 1:
        quiet = blocks.quiet_days(batch, state, out, k, span)
        if quiet == span:
            return k + span, 2 * span
        simulate_day(batch, state, out, k + quiet)
        return k + quiet + 1, max(1, span // 2)
    fired = simulate_day(batch, state, out, k)
    return k + 1, 1 if fired or not batch.max_span > 1 else 2


def reference_nav(history: MarketHistory, target: FloatArray, target_cash: float,
                  nav0: float, cash_growth: FloatArray | None = None,
                  schedule: versions.Schedule | None = None) -> FloatArray:
    """Target weights rebalanced every close at zero cost, shape (T,).

    ``NAV_{t+1} = NAV_t g_t`` with the daily growth ``g_t`` of
    :meth:`MarketHistory.reference_growth`; its cash grows by ``cash_growth`` (the
    batches' :func:`cash_growth`; None: cash earns nothing). With target versions
    (``schedule``), ``g_t`` is that of the version in force on day ``t``. Targets by
    group (a version of ``schedule`` by sector or asset class): the group weights
    rebalanced every close, each group split by the reference's own holdings
    (:func:`driftwise.backtest.groups.reference_growth`; ``target``, the first day's split).
    """
    if schedule is not None and schedule.by_group:
        growth = reference_growth(history.prices, target, schedule.weights, schedule.cash,
                                  schedule.groups, schedule.day_version, cash_growth)
        return np.asarray(nav0 * np.concatenate([[1.0], np.cumprod(growth)]),
                          dtype=np.float64)
    growth = history.reference_growth(target, target_cash, cash_growth)
    if schedule is not None:
        growth = growth.copy()
        in_force = schedule.day_version[:-1]
        for v in np.unique(in_force).tolist():
            days = in_force == v
            growth[days] = history.reference_growth(
                np.ascontiguousarray(schedule.weights[v]), float(schedule.cash[v]),
                cash_growth)[days]
    return np.asarray(nav0 * np.concatenate([[1.0], np.cumprod(growth)]), dtype=np.float64)


def run_backtest(inputs: Inputs, grid: RuleGrid, window: Window | None = None, *,
                 progress: Progress | None = None,
                 histories: dict[HistorySettings, MarketHistory] | None = None,
                 workers: int | None = None, scheduler: str | None = None) -> BacktestResult:
    """Simulate every configuration of ``grid`` over the window and return their daily paths.

    Parameters
    ----------
    inputs : Inputs
        Targets at asset level or by sector or asset class
        (:mod:`driftwise.backtest.groups`): ``targets`` over the whole window (its
        effective date ignored), or ``target_versions``, each in force from its effective
        date, the switch an event (:mod:`driftwise.backtest.versions`); market data,
        master, cost file; holdings only when the window starts from them.
    grid : RuleGrid
        The configurations (:func:`~driftwise.backtest.grid.sweep`,
        :func:`driftwise.config.assemble.rule_grid`).
    window : Window, optional
        First and last day, start from holdings, starting NAV (default: the whole price
        history, at target, with :func:`~driftwise.backtest.batches.starting_nav`).
    progress : callable, optional
        ``progress(days_done, n_days)`` as the days are simulated.
    histories : dict, optional
        Cache of per-day market inputs (see :func:`make_batches`); only valid for the
        same ``inputs`` and window.
    workers : int, optional
        Processes of a local Dask cluster to share the configurations among
        (:mod:`driftwise.backtest.cluster`); default: every core for a run large enough to
        gain from it, unless every batch runs on shared books
        (:func:`driftwise.backtest.segments.eligible`: one process is faster than sending
        the work to others) or in the compiled loop (one process was as fast as two Dask
        workers on two cores, without copying the history; threads of one process
        were slower: the loop's Python between kernel calls holds the GIL); 1: this
        process alone. The result does not depend on it (to floating-point rounding,
        within 1e-12 of NAV, where rows on shared books are split among workers).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``) to run the chunks on
        instead of a local cluster. The result does not depend on it.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ConfigError
        Missing targets, an empty window, target versions none of which is in force on
        the first day or two of which share an effective date.
    DataError
        An asset without a price on a day of the window.
    ValueError
        ``workers`` below 1.
    DriftwiseError
        The scheduler cannot be reached.
    """
    if window is None:
        window = Window(None, None, False, *starting_nav(inputs, None))
    tickers = universe(inputs, from_holdings=window.from_holdings)
    histories = {} if histories is None else histories
    batches = make_batches(inputs, grid, window, tickers, histories)
    history = batches[0].history
    n_days, n_configs = history.n_days, grid.n_configs
    first = start_state(inputs, batches[0], window)
    nav0 = float((first.book.shares[0] * history.prices[0]).sum() + first.book.cash_usd[0])
    n_jobs = cluster.job_count(workers, n_configs, len(tickers), n_days)
    if workers is None and all(b.compiled for b in batches):
        n_jobs = 1  # compiled rows (shared books or not): one process beats the transfer
    if n_jobs == 1 and scheduler is None:
        out = Outputs.empty(n_days, n_configs)
        simulate(inputs, window, batches, out, progress)
    else:
        for b in batches:  # what the grid reads every day, built once for the workers
            b.history.prepare(b.rule.trigger.reads)
        out = run_chunks(ChunkRun(inputs, grid, window, tickers, histories, n_days),
                         n_jobs, scheduler, progress)
    batch_of = np.zeros(n_configs, dtype=np.intp)
    for j, b in enumerate(batches):
        batch_of[b.members] = j

    def describe() -> pd.DataFrame:
        params = grid.describe()
        params["batch"] = batch_of
        return params
    return BacktestResult(
        dates=history.dates, names=list(grid.names), describe=describe, nav_usd=out.nav,
        ref_nav_usd=reference_nav(history, batches[0].target, batches[0].target_cash,
                                  nav0, batches[0].cash_growth, batches[0].versions),
        traded_usd=out.traded, cost_usd=out.cost + out.borrow, rebalanced=out.rebalanced,
        drift=out.drift, post_drift=out.post_drift, cash_usd=out.cash,
        intended_usd=out.intended, risk_free_annual=history.risk_free_annual.copy(),
        config_toml=grid.texts, tickers=[str(t) for t in tickers],
        initial_nav_usd=nav0,
        initial_nav_source=("the holdings (start_from_holdings)" if window.from_holdings
                            else window.nav_source),
        borrow_usd=np.array(out.borrow), optimizer_fallback=np.array(out.fallback))


def reviews_every_close(rule: Rule) -> bool:
    """Whether ``rule``'s trigger is the calendar review of every NYSE close (each day
    fires but the first)."""
    trigger = rule.trigger
    return isinstance(trigger, Calendar) and trigger.frequency is Frequency.DAY


def simulate(inputs: Inputs, window: Window, batches: list[Batch], out: Outputs,
             progress: Progress | None = None) -> None:
    """The day loop: every batch from the first close to the last, written into ``out``.

    ``out`` holds the columns of the batches' configurations (a view of a larger run's
    arrays in a worker process).
    """
    n_days = batches[0].history.n_days
    states = [start_state(inputs, b, window) for b in batches]
    for batch in batches:
        if not batch.compiled and reviews_every_close(batch.rule):
            # it prices trades on nearly every day: the cost model's inputs of the whole
            # window at once (about 125 days built alone), not an eighth of them day by day
            # first (MarketHistory.costs_whole); the same numbers, to the bit
            batch.history.cost_window  # noqa: B018
    cursors = [(0, 1) for _ in batches]  # (next day to simulate, next block length)
    k = 0  # every batch has simulated the days before k
    with one_blas_thread():  # one day's matrices: see driftwise._blas
        while k < n_days:
            for j, (batch, state) in enumerate(zip(batches, states, strict=True)):
                while cursors[j][0] <= k:
                    cursors[j] = advance(batch, state, out, *cursors[j])
            k = min(day for day, _ in cursors)  # days no batch needs are not visited
            if progress is not None:
                progress(min(k, n_days), n_days)


@dataclass(frozen=True)
class ChunkRun:
    """What every chunk of a run reads, sent to each worker once: the inputs, the grid,
    the window and the per-day market histories, already built."""

    inputs: Inputs
    grid: RuleGrid
    window: Window
    tickers: pd.Index
    histories: dict[HistorySettings, MarketHistory]
    n_days: int


def simulate_chunk(run: ChunkRun, share: slice) -> Outputs:
    """The columns ``share`` of ``run``: its configurations simulated alone, shape
    ``(T, len(share))`` each (a task of :func:`run_chunks`)."""
    part = make_batches(run.inputs, run.grid.share(share), run.window, run.tickers,
                        run.histories)
    out = Outputs.empty(run.n_days, len(range(run.grid.n_configs)[share]))
    simulate(run.inputs, run.window, part, out)
    return out


def run_chunks(run: ChunkRun, n_jobs: int, scheduler: str | None,
               progress: Progress | None = None) -> Outputs:
    """Every configuration of ``run``, in interleaved chunks on a Dask cluster (``n_jobs``
    local processes, or the cluster at ``scheduler``), gathered into one ``(T, C)`` result.

    ``progress(days, n_days)`` reports the share of the chunks done, in days.
    """
    n_days, n_configs = run.n_days, run.grid.n_configs
    out = Outputs.empty(n_days, n_configs)
    with cluster.client(n_jobs, scheduler) as dask_client:
        parts = cluster.shares(n_configs, cluster.chunk_count(
            cluster.worker_count(dask_client), n_configs))

        def report(done: int, total: int) -> None:
            if progress is not None:
                progress(n_days * done // total, n_days)
        chunks = cluster.run_tasks(dask_client, simulate_chunk, parts, run, report)
    for share, chunk in zip(parts, chunks, strict=True):
        columns = out.columns(share)
        for f in dataclasses.fields(Outputs):
            getattr(columns, f.name)[...] = getattr(chunk, f.name)
    return out
