"""The backtest engine: many configurations, one loop over days (SPEC section 8).

Each trading day ``t`` of the window, for every configuration, in this order:

1. **mark to market** at the close of ``t``: ``NAV = sum(shares * close_t) + cash``;
2. **evaluate the trigger** with data up to and including ``t``
   (:class:`~driftwise.policy.context.DayContext` built from the
   :class:`~driftwise.backtest.history.MarketHistory` row of ``t``);
3. **size the trades** at the close of ``t`` (:func:`driftwise.policy.rule.step`, the
   planner's own decision, with the cost model of ``t``);
4. **pay the costs from cash** at ``t`` (``cash -= sum(trade_usd) + sum(cost_usd)``);
5. the return from ``t`` to ``t + 1`` applies to the post-trade shares (prices are
   adjusted closes, so dividends are in the returns).

Start: invested at the target weights at the first day's close at no cost (whole shares
rounded toward zero under ``whole_shares``, the rest in cash), or from the given holdings
(``backtest.start_from_holdings``). Calendar rules never fire on the first day.

Configurations that differ only in trigger parameters form one **batch**: their
triggers, built one by one by :func:`driftwise.assemble.build_rule`, are stacked into
one trigger whose parameters are arrays shaped ``(C_g,)`` (thresholds 3/5/7/10% are one
:class:`~driftwise.policy.triggers.DriftThreshold` with four thresholds). Each day a batch
builds one context with ``C_g`` rows, evaluates its trigger, and calls ``step`` only on
the rows that fire (:meth:`DayContext.take` and :func:`take_trigger`: each row is sized as
it would be alone). Anything else that differs (cost parameters such as the cost scale,
VIX multipliers or impact model; destination; constraints; windows) makes a separate
batch. No rule and no cost is implemented here: the engine only moves state.

**Quiet blocks.** On most days nothing fires. Between trades the shares and cash are
constant, so the weights of days ``t .. t + K - 1`` follow from their prices:
:func:`quiet_days` builds one context whose rows are (day, configuration) pairs, each
with its day's VIX, calendar flags and volatility, and evaluates the batch's own trigger
on it once. The days before the first event (a row fires, a delay starts or ends) are
recorded with a vectorized mark to market; the event day goes through
:func:`simulate_day` as before. ``K`` doubles while the days stay quiet and restarts at
one day after an event (:func:`advance`). Triggers that need each day's cost model or
covariance (cost-benefit) run day by day (:func:`block_safe`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise.assemble import build_rule, cost_params
from driftwise.backtest.history import (
    HistorySettings,
    MarketHistory,
    build_history,
    universe,
)
from driftwise.backtest.policies import describe_configs, unique_names
from driftwise.calendar import DateLike
from driftwise.config import Config
from driftwise.costs import AssetCostInputs, CostBreakdown, CostParams, trade_costs
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError
from driftwise.metrics.drift import band_width, portfolio_drift
from driftwise.monitor import trading_days_between
from driftwise.policy.context import BoolArray, CostFunction, DayContext, FloatArray
from driftwise.policy.destination import Destination
from driftwise.policy.rule import AssetDay, Rule, step
from driftwise.policy.triggers import (
    AllOf,
    AnyOf,
    AssetBands,
    Calendar,
    CostBenefit,
    DriftThreshold,
    DynamicThreshold,
    Never,
    StressDelay,
    Trigger,
    VolatilityAware,
)

IntArray = npt.NDArray[np.intp]
_G = TypeVar("_G", bound=np.generic)
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
        destination, cost scale, VIX multipliers, impact model, batch, ...
    nav_usd : ndarray, shape (T, C)
        Post-trade NAV at each close (costs paid).
    ref_nav_usd : ndarray, shape (T,)
        Reference portfolio: target weights rebalanced daily at zero cost, same start NAV.
    traded_usd : ndarray, shape (T, C)
        ``sum_i |trade_usd_i|``.
    cost_usd : ndarray, shape (T, C)
        Trading costs paid.
    rebalanced : ndarray of bool, shape (T, C)
        At least one trade that day.
    drift : ndarray, shape (T, C)
        Portfolio drift before trading at the close.
    post_drift : ndarray, shape (T, C)
        Portfolio drift after trading.
    cash_usd : ndarray, shape (T, C)
        Cash after trading.
    risk_free_annual : ndarray, shape (T,)
        Risk-free rate (annual fraction; 0 when none). Cash earns nothing in the
        simulation; this is for excess returns in the metrics.
    config_toml : list of str, length C
        Each configuration as TOML.
    tickers : list of str, length N
        The universe.
    """

    dates: pd.DatetimeIndex
    names: list[str]
    params: pd.DataFrame
    nav_usd: FloatArray
    ref_nav_usd: FloatArray
    traded_usd: FloatArray
    cost_usd: FloatArray
    rebalanced: BoolArray
    drift: FloatArray
    post_drift: FloatArray
    cash_usd: FloatArray
    risk_free_annual: FloatArray
    config_toml: list[str]
    tickers: list[str] = dataclasses.field(default_factory=list)

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


@dataclass(frozen=True)
class Window:
    """The window and start shared by every configuration of one run."""

    start: DateLike | None
    end: DateLike | None
    from_holdings: bool
    initial_nav_usd: float


def backtest_window(configs: Sequence[Config], start: DateLike | None = None,
                    end: DateLike | None = None) -> Window:
    """The common window of ``configs`` (``start``/``end`` override ``[backtest]``).

    Raises
    ------
    ConfigError
        No configuration, or configurations disagreeing on the window, the start from
        holdings or the initial NAV (one run has one window and one start).
    """
    if not configs:
        raise ConfigError("backtest: no configuration to run")
    b = configs[0].backtest
    fields = ["start_from_holdings", "initial_nav_usd"]
    fields += ["start"] if start is None else []
    fields += ["end"] if end is None else []
    for name in fields:
        values = {getattr(c.backtest, name) for c in configs}
        if len(values) > 1:
            raise ConfigError(f"backtest: every configuration of one run needs the same "
                              f"backtest.{name}; found {sorted(map(str, values))}")
    return Window(b.start if start is None else start, b.end if end is None else end,
                  b.start_from_holdings, b.initial_nav_usd)


# ----------------------------------------------------------------- batches


def _is_trigger(value: object) -> bool:
    return dataclasses.is_dataclass(value) and hasattr(value, "evaluate")


def _is_param(f: dataclasses.Field[object]) -> bool:
    """A trigger parameter that may be an array shaped (C,) (annotated ``ParamArray``)."""
    return "ParamArray" in str(f.type)


def trigger_structure(trigger: Trigger) -> tuple[object, ...]:
    """Everything of a trigger but its array-capable parameters (and labels), hashable.

    Two triggers with equal structure can be stacked into one (:func:`stack_triggers`).
    """
    out: list[object] = [type(trigger).__name__]
    for f in dataclasses.fields(trigger):  # type: ignore[arg-type]
        value = getattr(trigger, f.name)
        if f.name == "label" or _is_param(f):
            continue
        if isinstance(value, tuple) and value and all(_is_trigger(v) for v in value):
            out.append((f.name, tuple(trigger_structure(v) for v in value)))
        elif _is_trigger(value):
            out.append((f.name, trigger_structure(value)))
        else:
            out.append((f.name, value))
    return tuple(out)


def stack_triggers(triggers: Sequence[Trigger]) -> Trigger:
    """One trigger whose parameters are arrays over ``triggers`` (all of one structure).

    A parameter equal in every trigger stays a scalar; one that differs becomes an
    array shaped ``(len(triggers),)``, row ``c`` holding trigger ``c``'s value.
    """
    first = triggers[0]
    changes: dict[str, object] = {}
    for f in dataclasses.fields(first):  # type: ignore[arg-type]
        values = [getattr(t, f.name) for t in triggers]
        if _is_param(f):
            arr = np.array([float(np.asarray(v)) for v in values])
            if not (arr == arr[0]).all():
                changes[f.name] = arr
        elif isinstance(values[0], tuple) and values[0] and all(map(_is_trigger, values[0])):
            changes[f.name] = tuple(stack_triggers([v[i] for v in values])
                                    for i in range(len(values[0])))
        elif _is_trigger(values[0]):
            changes[f.name] = stack_triggers(values)
    return dataclasses.replace(first, **changes)  # type: ignore[type-var]


def _children(trigger: object) -> list[object]:
    """The triggers nested in a trigger (``AnyOf.children``, ``StressDelay.inner``)."""
    out: list[object] = []
    for f in dataclasses.fields(trigger):  # type: ignore[arg-type]
        value = getattr(trigger, f.name)
        if _is_trigger(value):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if _is_trigger(v))
    return out


def _uses_risk(rule: Rule) -> bool:
    """Whether tracking error can change this rule's trades (then the covariance is needed).

    TE decides only in the cost-benefit trigger, the cost-benefit skip and the
    cost-constrained destination; elsewhere ``step`` reports it without acting on it.
    """
    def walk(trigger: object) -> bool:
        return isinstance(trigger, CostBenefit) or any(walk(c) for c in _children(trigger))
    return (rule.skip_if_cost_exceeds_benefit or rule.destination is Destination.COST_CONSTRAINED
            or walk(rule.trigger))


def batch_key(config: Config) -> tuple[object, ...]:
    """What must be equal for two configurations to share a batch."""
    rule = build_rule(config)
    p = config.policy
    return (dataclasses.replace(rule, trigger=Never()), trigger_structure(rule.trigger),
            cost_params(config), HistorySettings.from_config(config),
            (p.band_abs, p.band_rel, p.band_mode), config.costs.accept_stale_costs)


def group_configs(configs: Sequence[Config]) -> list[list[int]]:
    """Positions of ``configs`` grouped into batches (first appearance order)."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(batch_key(config), []).append(i)
    return list(groups.values())


@dataclass(frozen=True, eq=False)
class Batch:
    """Configurations simulated together, and everything constant over the days.

    Attributes
    ----------
    members : ndarray of int, shape (C_g,)
        Positions in the run's configuration list.
    rule : Rule
        The shared rule with the stacked trigger (parameters shaped (C_g,)).
    params : CostParams
    history : MarketHistory
    target : ndarray, shape (N,)
    target_cash : float
    band_width : ndarray, shape (N,)
    no_buy, no_sell : ndarray of bool, shape (N,)
    with_cov : bool
        Pass the covariance (``te_model = "full"`` and a rule whose trades depend on TE).
    invalid : ndarray of bool, shape (T,)
        Days the planner's plan is invalid (stale cost inputs not accepted): no trade.
    columns : slice or ndarray of int
        ``members`` as a slice when contiguous (cheaper to index the result arrays).
    max_span : int
        Most days evaluated at once in a quiet block (1: day by day, the trigger is not
        :func:`block_safe`).
    tiled : dict of int to Trigger
        The trigger repeated for a block of that many days (filled on use).
    cost_buffers : dict of shape to CostBreakdown
        ``out=`` buffers of ``trade_costs`` by trade shape (filled on use).
    """

    members: IntArray
    rule: Rule
    params: CostParams
    history: MarketHistory
    target: FloatArray
    target_cash: float
    band_width: FloatArray
    no_buy: BoolArray
    no_sell: BoolArray
    with_cov: bool
    invalid: BoolArray
    columns: slice | IntArray
    max_span: int = 1
    tiled: dict[int, Trigger] = dataclasses.field(default_factory=dict)
    cost_buffers: dict[tuple[int, ...], CostBreakdown] = dataclasses.field(default_factory=dict)


def _columns(members: list[int]) -> slice | IntArray:
    if members == list(range(members[0], members[-1] + 1)):
        return slice(members[0], members[-1] + 1)
    return np.asarray(members, dtype=np.intp)


def make_batches(inputs: Inputs, configs: Sequence[Config], window: Window,
                 tickers: pd.Index,
                 histories: dict[HistorySettings, MarketHistory] | None = None) -> list[Batch]:
    """Group ``configs`` and build each batch's rule, masks and (shared) history.

    ``histories`` caches the per-day market inputs by settings: pass the same dict to
    several runs over the same inputs and window to build them once.
    """
    targets = inputs.targets
    assert targets is not None  # universe() checked it
    target = targets.weights.reindex(tickers, fill_value=0.0).to_numpy(dtype=np.float64)
    file_abs = targets.band_abs.reindex(tickers).to_numpy(dtype=np.float64)
    file_rel = targets.band_rel.reindex(tickers).to_numpy(dtype=np.float64)
    histories = {} if histories is None else histories
    out = []
    for members in group_configs(configs):
        config = configs[members[0]]
        rules = [build_rule(configs[i]) for i in members]
        rule = dataclasses.replace(rules[0], trigger=stack_triggers([r.trigger for r in rules]))
        settings = HistorySettings.from_config(config)
        if settings not in histories:
            histories[settings] = build_history(inputs, config, start=window.start,
                                                end=window.end, tickers=tickers)
        p, c = config.policy, config.constraints
        out.append(Batch(
            members=np.asarray(members, dtype=np.intp), rule=rule, params=cost_params(config),
            history=histories[settings], target=target,
            target_cash=float(targets.cash_weight),
            band_width=band_width(target, np.where(np.isfinite(file_abs), file_abs, p.band_abs),
                                  np.where(np.isfinite(file_rel), file_rel, p.band_rel),
                                  p.band_mode),
            no_buy=np.asarray(tickers.isin(list(c.do_not_buy)), dtype=bool),
            no_sell=np.asarray(tickers.isin(list(c.do_not_sell)), dtype=bool),
            with_cov=settings.full_te and _uses_risk(rule),
            invalid=(np.zeros(histories[settings].n_days, dtype=bool)
                     if config.costs.accept_stale_costs else histories[settings].stale_any),
            columns=_columns(members),
            max_span=(max(1, BLOCK_CELLS // (len(members) * len(tickers)))
                      if block_safe(rule.trigger) else 1)))
    return out


# -------------------------------------------------------------- simulation


class _DayCosts:
    """The cost model bound to one day: built only when a trade or a trigger asks.

    ``trade_costs`` writes into the batch's buffers of the trade's shape (``out=``), so
    a day's cost evaluations allocate only the returned array.
    """

    def __init__(self, batch: Batch, k: int) -> None:
        self.history, self.k, self.params = batch.history, k, batch.params
        vix = float(batch.history.vix[k])
        self.vix = None if np.isnan(vix) else vix
        self.buffers = batch.cost_buffers

    @cached_property
    def inputs(self) -> AssetCostInputs:
        return self.history.cost_inputs(self.k)

    def per_asset(self, trade_usd: FloatArray) -> FloatArray:
        """Signed trades (C, N) USD -> trading cost (C, N) USD (``trade_costs``)."""
        shape = np.shape(trade_usd)
        out = self.buffers.get(shape)
        if out is None:
            out = self.buffers[shape] = CostBreakdown(*(np.empty(shape) for _ in range(6)))
        costs = trade_costs(trade_usd, self.inputs, self.params, self.vix, out=out)
        return np.asarray(costs.trading_usd, dtype=np.float64)  # a new array, not a buffer

    def total(self, trade_usd: FloatArray) -> FloatArray:
        """Signed trades (C, N) USD -> total cost (C,) USD."""
        return np.asarray(self.per_asset(trade_usd).sum(axis=1), dtype=np.float64)


@dataclass
class _State:
    """Holdings of one batch: shares (C_g, N), cash, delayed wait and days since trading."""

    shares: FloatArray
    cash: FloatArray
    pending: FloatArray
    since: FloatArray
    scratch: FloatArray | None = None

    def mark_to_market(self, prices: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Step 1: weights ``shares * price / NAV`` (C, N) and ``NAV`` (C,) at ``prices``.

        The weights live in a buffer reused every day (no (C, N) allocation); they are
        valid until the next call.
        """
        if self.scratch is None:
            self.scratch = np.empty(self.shares.shape)
        weights = np.multiply(self.shares, prices, out=self.scratch)
        nav = weights.sum(axis=1) + self.cash
        weights /= nav[:, None]
        return weights, nav


@dataclass
class _Out:
    """The result arrays being filled, (T, C) each."""

    nav: FloatArray
    traded: FloatArray
    cost: FloatArray
    rebalanced: BoolArray
    drift: FloatArray
    post_drift: FloatArray
    cash: FloatArray

    @classmethod
    def empty(cls, n_days: int, n_configs: int) -> _Out:
        def nan() -> FloatArray:
            return np.full((n_days, n_configs), np.nan)
        return cls(nan(), nan(), nan(), np.zeros((n_days, n_configs), dtype=bool), nan(), nan(),
                   nan())

    def quiet(self, days: slice, columns: slice | IntArray, nav: FloatArray, drift: FloatArray,
              cash: FloatArray) -> None:
        """Record days without a trade: NAV, drift (before = after), cash; nothing traded."""
        self.nav[days, columns] = nav
        self.drift[days, columns] = drift
        self.post_drift[days, columns] = drift
        self.traded[days, columns] = 0.0
        self.cost[days, columns] = 0.0
        self.cash[days, columns] = cash


def next_pending(pending: FloatArray, delayed: BoolArray | None) -> FloatArray:
    """Trading days a delayed rebalance will have waited on the next day (NaN: none).

    A rebalance delayed today has waited 1 day tomorrow, and one more each day it stays
    delayed; a day without a delay (taken, or nothing pending) clears it.
    """
    if delayed is None:
        return np.full(pending.shape, np.nan)
    return np.asarray(np.where(delayed, np.where(np.isnan(pending), 1.0, pending + 1.0),
                               np.nan), dtype=np.float64)


def take_trigger(trigger: Trigger, rows: IntArray) -> Trigger:
    """A stacked trigger restricted to ``rows``: every array parameter ``(C,)`` indexed.

    With ``rows = np.tile(np.arange(C), K)`` it is the trigger of a block context whose
    rows are (day, configuration) pairs (:func:`quiet_days`).
    """
    changes: dict[str, object] = {}
    for f in dataclasses.fields(trigger):  # type: ignore[arg-type]
        value = getattr(trigger, f.name)
        if _is_param(f):
            if isinstance(value, np.ndarray) and value.ndim == 1:
                changes[f.name] = value[rows]
        elif isinstance(value, tuple) and value and all(_is_trigger(v) for v in value):
            taken = tuple(take_trigger(v, rows) for v in value)
            if any(a is not b for a, b in zip(taken, value, strict=True)):
                changes[f.name] = taken
        elif _is_trigger(value):
            taken_one = take_trigger(value, rows)
            if taken_one is not value:
                changes[f.name] = taken_one
    return dataclasses.replace(trigger, **changes) if changes else trigger  # type: ignore[type-var]


def simulate_day(batch: Batch, state: _State, out: _Out, k: int) -> bool:
    """SPEC section 8 steps 1-4 for one batch on day ``k`` (step 5 is the next close).

    Only the rows that fire are sized (``step`` on ``ctx.take(rows)`` with the trigger's
    parameters of those rows): each row is decided as it would be alone. Returns whether
    any row fired.
    """
    h = batch.history
    weights, nav = state.mark_to_market(h.prices[k])
    costs = _DayCosts(batch, k)
    ctx = DayContext(
        date=h.days[k], weights=weights,
        cash_weight=state.cash / nav, target=batch.target, target_cash=batch.target_cash,
        nav_usd=nav, vol_annual=h.vol_annual[k], band_width=batch.band_width,
        full_cost_usd=costs.total, cov_annual=h.cov_on(k) if batch.with_cov else None,
        vix=float(h.vix[k]), calendar=h.calendar[k], first_day=k == 0,
        days_since_rebalance=state.since, pending_days=state.pending)
    out.quiet(slice(k, k + 1), batch.columns, nav, ctx.portfolio_drift, state.cash)
    since = state.since + 1.0
    fired: IntArray = np.zeros(0, dtype=np.intp)
    if batch.invalid[k]:
        delayed = None  # the planner's plan is invalid: no trade, nothing stays pending
    else:
        result = batch.rule.trigger.evaluate(ctx)
        delayed = result.delayed
        fired = np.flatnonzero(result.fired)
        if len(fired):
            traded, fired_delayed = _trade(batch, state, out, k, ctx, costs, fired)
            if delayed is not None and fired_delayed is not None:
                delayed = delayed.copy()
                delayed[fired] = fired_delayed
            since[traded] = 1.0
    state.pending = next_pending(state.pending, delayed)
    state.since = since
    return len(fired) > 0


def _trade(batch: Batch, state: _State, out: _Out, k: int, ctx: DayContext, costs: _DayCosts,
           fired: IntArray) -> tuple[IntArray, BoolArray | None]:
    """``step`` on the fired rows; apply their trades. Returns the rows that traded."""
    rule, sub = batch.rule, ctx
    if len(fired) < ctx.n_configs:
        rule = dataclasses.replace(rule, trigger=take_trigger(rule.trigger, fired))
        sub = ctx.take(fired)
    day = AssetDay(prices_usd=batch.history.prices[k], adv_shares=costs.inputs.adv_shares,
                   no_buy=batch.no_buy, no_sell=batch.no_sell, cost_fn=costs.per_asset)
    outcome = step(rule, sub, day)
    pick = outcome.traded
    if pick.any():
        s = outcome.sizing
        _apply(batch, state, out, k, fired[pick], s.trade_usd[pick], s.trade_shares[pick],
               s.cost_usd[pick])
    return fired[pick], outcome.trigger.delayed


def _apply(batch: Batch, state: _State, out: _Out, k: int, rows: IntArray, trade_usd: FloatArray,
           trade_shares: FloatArray, cost_usd: FloatArray) -> None:
    """Step 4 for ``rows``: trades into shares, their value and costs out of cash; record."""
    state.shares[rows] += trade_shares
    state.cash[rows] = state.cash[rows] - trade_usd.sum(axis=1) - cost_usd.sum(axis=1)
    cash = state.cash[rows]
    post_values = state.shares[rows] * batch.history.prices[k]
    post_nav = post_values.sum(axis=1) + cash
    m = batch.members[rows]
    out.traded[k, m] = np.abs(trade_usd).sum(axis=1)
    out.cost[k, m] = cost_usd.sum(axis=1)
    out.nav[k, m] = post_nav
    out.cash[k, m] = cash
    out.rebalanced[k, m] = True
    out.post_drift[k, m] = portfolio_drift(post_values / post_nav[:, None], batch.target,
                                           cash / post_nav, batch.target_cash)


# ------------------------------------------------------------ quiet blocks

_ROW_WISE = (Never, Calendar, DriftThreshold, AssetBands, VolatilityAware, DynamicThreshold,
             AnyOf, AllOf, StressDelay)
BLOCK_CELLS = 1 << 21
"""At most this many (day, configuration, asset) cells in one block (16 MB per array)."""


def block_safe(trigger: object) -> bool:
    """Whether ``trigger`` may be evaluated on a block of days at once (:func:`quiet_days`).

    Every node must be a row-wise trigger whose day data the block context carries per
    row (VIX, calendar, volatility). Cost-benefit is left to the day-by-day path: its
    full-rebalance cost needs each day's cost inputs and, under the full TE model, each
    day's covariance.
    """
    return isinstance(trigger, _ROW_WISE) and all(block_safe(c) for c in _children(trigger))


def quiet_days(batch: Batch, state: _State, out: _Out, k: int, span: int) -> int:
    """Days ``k .. k + span - 1`` evaluated at once; record the quiet ones; return their count.

    Between trades the shares and cash are constant, so the weights of every day of the
    block follow from its prices. One :class:`DayContext` holds a row per (day,
    configuration) pair, day-major, with each row's VIX, calendar flags, volatility,
    days since trading and pending wait (a waiting delay is assumed to stay delayed),
    and the batch's own trigger evaluates it. The first day on which any configuration
    fires, or on which a delay starts or ends (or a stale-cost day clears one), is an
    event: the days before it are quiet (no trade) and recorded with a vectorized mark
    to market; the event day itself is left to :func:`simulate_day`.
    """
    h = batch.history
    n_rows = len(batch.members)
    prices = h.prices[k: k + span]
    values = state.shares[None, :, :] * prices[:, None, :]  # (span, C, N)
    nav = values.sum(axis=2) + state.cash  # (span, C)
    offsets = np.arange(span, dtype=np.float64)[:, None]
    waiting = np.isfinite(state.pending)
    pending = np.where(waiting, state.pending + offsets, np.nan)

    def per_row(day_values: npt.NDArray[_G]) -> npt.NDArray[_G]:
        return day_values if n_rows == 1 else np.repeat(day_values, n_rows, axis=0)

    vol = h.vol_annual[k: k + span]
    ctx = DayContext(
        date=per_row(h.days[k: k + span]),
        weights=(values / nav[:, :, None]).reshape(span * n_rows, -1),
        cash_weight=(state.cash / nav).reshape(-1), target=batch.target,
        target_cash=batch.target_cash, nav_usd=nav.reshape(-1),
        vol_annual=per_row(vol), band_width=batch.band_width,
        full_cost_usd=_block_costs(batch, k, span), vix=per_row(h.vix[k: k + span]),
        calendar={key: per_row(mask[k: k + span]) for key, mask in h.calendar_masks.items()},
        first_day=per_row(np.arange(k, k + span) == 0),
        days_since_rebalance=(state.since + offsets).reshape(-1),
        pending_days=pending.reshape(-1))
    result = _tiled_trigger(batch, span).evaluate(ctx)
    valid = ~batch.invalid[k: k + span, None]
    fired = result.fired.reshape(span, n_rows) & valid
    delayed = (np.zeros_like(fired) if result.delayed is None
               else result.delayed.reshape(span, n_rows) & valid)
    event = (fired | (delayed != waiting)).any(axis=1)
    quiet = int(np.argmax(event)) if event.any() else span
    if quiet:
        drift = ctx.portfolio_drift.reshape(span, n_rows)[:quiet]
        out.quiet(slice(k, k + quiet), batch.columns, nav[:quiet], drift, state.cash)
        state.since = state.since + quiet
        state.pending = np.where(waiting, state.pending + quiet, np.nan)
    return quiet


def _tiled_trigger(batch: Batch, span: int) -> Trigger:
    """The batch's trigger with its parameters repeated for ``span`` days (cached)."""
    trigger = batch.tiled.get(span)
    if trigger is None:
        rows = np.tile(np.arange(len(batch.members)), span)
        trigger = batch.tiled[span] = take_trigger(batch.rule.trigger, rows)
    return trigger


def _block_costs(batch: Batch, k: int, span: int) -> CostFunction:
    """Total cost (rows,) of trades (rows, N) of a block: each day's rows at that day's costs."""
    def total(trade_usd: FloatArray) -> FloatArray:
        by_day = trade_usd.reshape(span, -1, trade_usd.shape[-1])
        return np.concatenate([_DayCosts(batch, k + j).total(by_day[j]) for j in range(span)])
    return total


def advance(batch: Batch, state: _State, out: _Out, k: int, span: int) -> tuple[int, int]:
    """Simulate from day ``k``: a quiet block of up to ``span`` days, or day ``k`` alone.

    Returns the next day to simulate and the next block length: the block doubles while
    nothing happens and falls back to one day after an event (a day-by-day stretch costs
    no block evaluation).
    """
    span = min(span, batch.history.n_days - k, batch.max_span)
    if span > 1:
        quiet = quiet_days(batch, state, out, k, span)
        if quiet == span:
            return k + span, 2 * span
        simulate_day(batch, state, out, k + quiet)
        return k + quiet + 1, 1
    fired = simulate_day(batch, state, out, k)
    return k + 1, 1 if fired or not batch.max_span > 1 else 2


def start_state(inputs: Inputs, batch: Batch, configs: Sequence[Config],
                window: Window) -> _State:
    """Holdings at the first close: at target at no cost, or the given holdings."""
    h = batch.history
    n_rows, n_assets = len(batch.members), len(h.tickers)
    if window.from_holdings:
        held = inputs.holdings.shares.reindex(h.tickers, fill_value=0.0).to_numpy(np.float64)
        shares = np.broadcast_to(held, (n_rows, n_assets)).copy()
        cash = np.full(n_rows, float(inputs.holdings.cash_usd))
        last = inputs.last_rebalance
        since = (float(trading_days_between(pd.DatetimeIndex(inputs.market.prices.index),
                                            last, h.dates[0])) if last is not None else np.nan)
    else:
        nav0 = window.initial_nav_usd
        shares = np.broadcast_to(batch.target * nav0 / h.prices[0], (n_rows, n_assets)).copy()
        whole = np.array([configs[i].constraints.whole_shares for i in batch.members])
        shares[whole] = np.trunc(shares[whole])
        cash = nav0 - (shares * h.prices[0]).sum(axis=1)
        since = 0.0
    return _State(shares, cash, np.full(n_rows, np.nan), np.full(n_rows, since))


def reference_nav(prices: FloatArray, target: FloatArray, target_cash: float,
                  nav0: float) -> FloatArray:
    """Target weights rebalanced every close at zero cost, shape (T,).

    ``NAV_{t+1} = NAV_t (sum_i t_i p_{t+1,i} / p_{t,i} + t_cash)`` (cash earns nothing).
    """
    growth = (prices[1:] / prices[:-1]) @ target + target_cash
    return np.asarray(nav0 * np.concatenate([[1.0], np.cumprod(growth)]), dtype=np.float64)


def run_backtest(inputs: Inputs, configs: Sequence[Config], *, start: DateLike | None = None,
                 end: DateLike | None = None, names: Sequence[str] | None = None,
                 progress: Progress | None = None,
                 histories: dict[HistorySettings, MarketHistory] | None = None
                 ) -> BacktestResult:
    """Simulate every configuration over the window and return their daily paths.

    Parameters
    ----------
    inputs : Inputs
        Asset-level targets (their effective date is ignored: the backtest applies this
        target version to the whole window), market data, master, cost file; holdings
        only with ``backtest.start_from_holdings``.
    configs : sequence of Config
        One per configuration; they must agree on the ``[backtest]`` window and start.
    start, end : date, optional
        Override ``backtest.start`` / ``backtest.end``.
    names : sequence of str, optional
        Labels (default :func:`~driftwise.backtest.policies.policy_name`, made unique).
    progress : callable, optional
        ``progress(days_done, n_days)`` after each day.

    Returns
    -------
    BacktestResult

    histories : dict, optional
        Cache of per-day market inputs (see :func:`make_batches`); only valid for the
        same ``inputs`` and window.

    Raises
    ------
    ConfigError
        No configuration, disagreeing windows, missing or group-level targets, an empty
        window, names of the wrong length.
    DataError
        An asset without a price on a day of the window.
    """
    configs = list(configs)
    window = backtest_window(configs, start, end)
    labels = unique_names(configs, names)
    tickers = universe(inputs, from_holdings=window.from_holdings)
    batches = make_batches(inputs, configs, window, tickers, histories)
    history = batches[0].history
    n_days = history.n_days
    out = _Out.empty(n_days, len(configs))
    states = [start_state(inputs, b, configs, window) for b in batches]
    nav0 = float((states[0].shares[0] * history.prices[0]).sum() + states[0].cash[0])
    cursors = [(0, 1) for _ in batches]  # (next day to simulate, next block length)
    for k in range(n_days):
        for j, (batch, state) in enumerate(zip(batches, states, strict=True)):
            while cursors[j][0] <= k:
                cursors[j] = advance(batch, state, out, *cursors[j])
        if progress is not None:
            progress(k + 1, n_days)
    params = describe_configs(configs, labels)
    batch_of = np.zeros(len(configs), dtype=np.intp)
    for j, b in enumerate(batches):
        batch_of[b.members] = j
    params["batch"] = batch_of
    return BacktestResult(
        dates=history.dates, names=labels, params=params, nav_usd=out.nav,
        ref_nav_usd=reference_nav(history.prices, batches[0].target, batches[0].target_cash,
                                  nav0),
        traded_usd=out.traded, cost_usd=out.cost, rebalanced=out.rebalanced, drift=out.drift,
        post_drift=out.post_drift, cash_usd=out.cash,
        risk_free_annual=history.risk_free_annual.copy(),
        config_toml=[c.to_toml() for c in configs], tickers=[str(t) for t in tickers])
