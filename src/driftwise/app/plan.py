"""The daily plan: one portfolio, one day, a decision a portfolio manager can explain.

Workflow: validate inputs → current weights and drift → triggers →
cost estimate → cost-benefit → market regime → trade list → execution schedule. The
decision itself is :func:`driftwise.policy.rule.step` with one configuration, the very
function the backtest engine runs over many configurations and days.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise import _display
from driftwise.app import tax as plan_tax
from driftwise.app.optimized import (
    factor_report,
    fallback_notice,
    no_trade_reason,
    plan_factor_betas,
    rounding_effect,
)
from driftwise.calendar import (
    next_session,
    nyse_sessions,
    period_first_sessions,
    period_last_sessions,
    trading_days_between,
)
from driftwise.config import Config, TeModel
from driftwise.config.assemble import build_rule, cost_params, monitor_config
from driftwise.config.model import ExecutionConfig
from driftwise.costs import (
    AssetCostInputs,
    CostParams,
    RowCosts,
    build_cost_inputs,
    cost_arrays,
    cost_coefficients,
    cost_columns,
    cost_notices,
    short_notices,
    trade_costs,
)
from driftwise.costs.build import UniverseCosts
from driftwise.data.loader import with_default_targets
from driftwise.data.market import refuse_jumps, vix_reading
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError, DataError
from driftwise.execution import ExecutionStyle, OrderType, Schedule, build_schedule
from driftwise.flags import Flag, Notice, merge_notices, notice
from driftwise.metrics.drift import band_width
from driftwise.metrics.risk import annualized_volatility
from driftwise.metrics.risk_model import MonitorConfig, plan_risk, window_returns
from driftwise.policy.book import Book, book_trades
from driftwise.policy.constraints import CostFn
from driftwise.policy.context import Anchor, BookMarks, DayContext, Frequency, MarketDay
from driftwise.policy.destination import Destination
from driftwise.policy.optimize import group_codes
from driftwise.policy.rule import AssetDay, Rule, StepResult, added_borrow, step
from driftwise.policy.triggers import AnyOf, Event, vix_regime
from driftwise.state import MasterRows, PortfolioState, PriceRows, build_state

REBALANCE_REASON = "rebalance"
"""The ``reason`` of the rule's own trades in the trade list (harvest trades say
``harvest``)."""

REGIMES = ("calm (VIX < 20)", "elevated (VIX 20-30)", "stress (VIX > 30)")


class Decision(StrEnum):
    """What the plan says to do today."""

    REBALANCE = "rebalance"
    PARTIAL = "partial"
    DELAY = "delay"
    SKIP = "skip"
    INVALID = "invalid"


@dataclass(frozen=True)
class Check:
    """One quality check."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, eq=False)
class TradeList:
    """A trade list as its columns, before its frame is built: the planner's workers
    make and send these (a frame of strings costs more to build and to pickle than the
    plan's arithmetic), and :attr:`Plan.trades` builds the frame when it is first read.

    Attributes
    ----------
    tickers : list of str
        The index (``ticker``), one per trade, in the trade list's order.
    columns : dict of str to ndarray, list or scalar
        The frame's columns in its order: an array or a list per column, or one value
        for every row; ``flags`` a list of str (a string column when built).
    rows : ndarray of intp, optional
        Each trade's position among the portfolio's tickers (``PortfolioState.tickers``).
    """

    tickers: list[str]
    columns: dict[str, Any]
    rows: npt.NDArray[np.intp] | None = None

    def __len__(self) -> int:
        return len(self.tickers)

    def column(self, name: str) -> np.ndarray:
        """Column ``name`` as an array (one value per trade)."""
        value = self.columns[name]
        if isinstance(value, str | float):
            return np.full(len(self.tickers), value, dtype=object if isinstance(value, str)
                           else np.float64)
        return np.asarray(value)

    def frame(self) -> pd.DataFrame:
        """The trade list's frame (index ``ticker``), a new one at each call."""
        columns = dict(self.columns)
        columns["flags"] = pd.array(columns["flags"], dtype="str")
        return pd.DataFrame(columns, index=pd.Index(self.tickers, dtype=object,
                                                    name="ticker"))


class _TradesField:
    """:attr:`Plan.trades`: kept as given in the plan's ``__dict__``, a frame or a
    :class:`TradeList`, whose frame is built when first read and kept (a plan is
    pickled, sent and copied with its trade list as columns until then)."""

    def __get__(self, plan: object, owner: type | None = None) -> pd.DataFrame:
        if plan is None:
            raise AttributeError("Plan.trades is read on a plan")
        value = plan.__dict__["trades"]
        if isinstance(value, TradeList):
            value = value.frame()
            plan.__dict__["trades"] = value
        return value  # type: ignore[no-any-return]

    def __set__(self, plan: object, value: pd.DataFrame | TradeList) -> None:
        plan.__dict__["trades"] = value


@dataclass(frozen=True)
class Plan:
    """The plan of one portfolio on one day.

    Attributes
    ----------
    as_of : pd.Timestamp
    decision : Decision
    delay_until : pd.Timestamp or None
        For a delay: the first session on which the rebalance is reconsidered.
    reasons : tuple of str
        Every reason that led to the decision, the deciding ones first.
    checks : tuple of Check
    before, after : dict
        Drift, TE, cost (bps of NAV and USD) and cost-benefit ratio before and after.
    trades : pd.DataFrame
        The trade list (index ticker); given as a frame or as a :class:`TradeList`,
        whose frame is built when ``trades`` is first read.
    schedule : Schedule or None
    notices : tuple of Notice
    rule : str
        The rule in words.
    config_toml : str
        The configuration the plan ran with.
    harvest : pd.DataFrame or None
        Under ``[tax] enabled`` with lots: the loss-harvest candidates
        (:func:`driftwise.app.tax.harvest_table`).
    donation : pd.DataFrame or None
        With ``donate_usd``: the lots given and the tax each avoids
        (:func:`driftwise.app.tax.donate`); the plan is that of the holdings after it.
    """

    as_of: pd.Timestamp
    decision: Decision
    delay_until: pd.Timestamp | None
    reasons: tuple[str, ...]
    checks: tuple[Check, ...]
    before: dict[str, float]
    after: dict[str, float]
    if TYPE_CHECKING:  # read as a frame; handed a frame or a TradeList (_TradesField)
        trades: pd.DataFrame
    else:
        trades: _TradesField
    schedule: Schedule | None
    notices: tuple[Notice, ...]
    rule: str
    nav_usd: float
    config_toml: str = field(repr=False, default="")
    harvest: pd.DataFrame | None = None
    donation: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {
            "as_of": self.as_of, "decision": self.decision.value,
            "delay_until": self.delay_until, "rule": self.rule, "nav_usd": self.nav_usd,
            "reasons": list(self.reasons),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "before": self.before, "after": self.after, "trades": self.trades,
            "schedule": None if self.schedule is None else self.schedule.summary,
            "child_orders": None if self.schedule is None else self.schedule.child_orders,
            "flags": list(self.notices), "config": self.config_toml,
            **({"harvest": self.harvest} if self.harvest is not None else {}),
            **({"donation": self.donation} if self.donation is not None else {}),
        }

    @property
    def n_trades(self) -> int:
        """The number of trades (``len(trades)``, the frame not built)."""
        return len(self.__dict__["trades"])

    def replaced(self, **changes: Any) -> Plan:
        """``dataclasses.replace(self, **changes)``, the trade list kept as it is held
        (a :class:`TradeList` is not built into a frame to be copied)."""
        return dataclasses.replace(self, **{"trades": self.__dict__["trades"], **changes})

    def to_frame(self) -> pd.DataFrame:
        """The trade list, tidy: one row per trade (column ``ticker``), sells first."""
        return self.trades.reset_index()

    def _figures(self) -> list[tuple[str, object]]:
        b, a = self.before, self.after
        title = self.decision.value + (f" until {self.delay_until.date()}"
                                       if self.delay_until is not None else "")
        return [("decision", title), ("rule", self.rule), ("NAV (USD)", f"{self.nav_usd:,.0f}"),
                ("portfolio drift",
                 f"{_display.pct(b.get('drift'))} -> {_display.pct(a.get('drift'))}"),
                ("cost of the trades", f"{a.get('cost_bps', float('nan')):.2f} bps of NAV"),
                ("trades", self.n_trades), ("flags", len(self.notices)),
                *(("reason", r) for r in self.reasons)]

    def __repr__(self) -> str:
        return _display.text(f"Plan on {self.as_of.date()}", self._figures())

    def _repr_html_(self) -> str:
        return _display.html_card(f"Plan on {self.as_of.date()}", self._figures(),
                                  [("Trade list", self.trades)] if len(self.trades) else [])


# the descriptor set once the dataclass is made (a field without a default: the frame, or
# the columns, handed to __init__ go through it)
setattr(Plan, "trades", _TradesField())  # noqa: B010


@dataclass(frozen=True, eq=False)
class SharedDay:
    """The per-asset estimates of one day computed once for a universe (every ticker of a
    batch of accounts), which each account's plan slices instead of recomputing them: the
    cost model's day estimates and the master's and cost file's columns
    (:class:`~driftwise.costs.build.UniverseCosts`) and the risk window's returns
    (:func:`~driftwise.metrics.risk_model.window_returns`). Each is an asset's own,
    computed column by column, so a slice equals the account's own computation; what
    pools assets (covariances, fallbacks, notices) is still computed per account.

    Attributes
    ----------
    as_of : pd.Timestamp
    settings : MonitorConfig
        The risk windows the returns were cut for.
    costs : UniverseCosts
        With its cost parameters.
    returns : ndarray, shape (W, U)
        The risk window's daily returns of the universe's tickers (``costs.index``),
        contiguous in the order an account's own are laid out (which a pickle keeps).
    column_major : bool
        An account's own returns are laid out column by column (the covariances read
        them in that order, and their last bits depend on it).
    vix : (float or None, tuple of Notice)
        The day's VIX reading (:func:`~driftwise.data.market.vix_reading`).
    master : MasterRows or None
        The security master's columns with each ticker's row (None: its index repeats a
        ticker, and each account reads the master itself).
    prices : PriceRows or None
        The day's closes with each ticker's column (None: the price frame repeats a
        ticker or a date, and each account reads the frame itself).
    vol : ndarray, shape (U,), or None
        The annualized volatility of each ticker's risk returns over the volatility
        window (``annualized_volatility(returns, ...)``: each column its own, in the
        layout an account's returns have), before any fallback.
    """

    as_of: pd.Timestamp
    settings: MonitorConfig
    costs: UniverseCosts
    returns: np.ndarray
    column_major: bool
    vix: tuple[float | None, tuple[Notice, ...]]
    master: MasterRows | None
    prices: PriceRows | None = None
    vol: np.ndarray | None = None

    @classmethod
    def of(cls, inputs: Inputs, config: Config, tickers: pd.Index | list[str],
           as_of: pd.Timestamp | str | None = None) -> SharedDay:
        """The estimates of ``tickers`` (each priced in ``inputs.market``) on ``as_of``
        (default: the last price date) with ``config``'s cost and risk settings."""
        market = inputs.market
        day = market.last_date if as_of is None else pd.Timestamp(as_of).normalize()
        settings = monitor_config(config)
        universe = pd.Index([str(t) for t in tickers], dtype=object).unique()
        costs = UniverseCosts.of(universe, market.prices, market.volumes, inputs.master,
                                 inputs.costs, as_of=day, params=cost_params(config))
        returns = window_returns(market.prices, day, universe, settings)
        column_major = returns.strides[0] <= returns.strides[1]
        returns = np.asfortranarray(returns) if column_major else np.ascontiguousarray(returns)
        return cls(as_of=day, settings=settings, costs=costs, returns=returns,
                   column_major=column_major, vix=vix_reading(market.vix, day),
                   master=MasterRows.of(inputs.master), prices=PriceRows.of(market.prices, day),
                   vol=_volatility(returns, settings.vol_window_days))

    def serves(self, state: PortfolioState, settings: MonitorConfig,
               params: CostParams) -> bool:
        """Whether these estimates are those a plan of ``state`` with these settings
        reads: the same day, windows and cost parameters, and every ticker covered."""
        return (state.as_of == self.as_of and settings == self.settings
                and params == self.costs.params and self.costs.covers(state.tickers))

    def returns_for(self, tickers: pd.Index) -> np.ndarray:
        """The risk returns of ``tickers`` (all in the universe), laid out in memory as
        the account's own would be (the covariances read them in that order)."""
        return self.risk_for(tickers)[0]

    def risk_for(self, tickers: pd.Index) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`returns_for` and the tickers' volatilities (:attr:`vol`, None when
        these estimates have none)."""
        pos = self.costs.positions(tickers)
        part = self.returns[:, pos]
        part = np.asfortranarray(part) if self.column_major else np.ascontiguousarray(part)
        return part, None if self.vol is None else self.vol[pos]


def _volatility(returns: np.ndarray, window: int) -> np.ndarray | None:
    """``annualized_volatility(returns, window)``; None where it refuses the window (each
    account's own estimate then says so)."""
    try:
        return annualized_volatility(returns, window)
    except ConfigError:
        return None


def make_plan(inputs: Inputs, config: Config, *, as_of: pd.Timestamp | str | None = None,
              pending_days: float = float("nan"), first_day: bool = False,
              with_schedule: bool = True, donate_usd: float = 0.0) -> Plan:
    """Run the daily workflow for one portfolio and return its :class:`Plan`.

    The workflow is :func:`plan_steps`, its execution schedule built here
    (:meth:`ScheduleRequest.build`).

    Parameters
    ----------
    inputs : Inputs
    config : Config
    as_of : date, optional
        Default: the last price date.
    pending_days : float
        Trading days a delayed rebalance has already waited (NaN: none pending); the
        portfolio record, or the backtest's reference simulator, carries it.
    first_day : bool
        The first day of a backtest window: calendar rules do not fire.
    with_schedule : bool
        Build the execution schedule (the reference simulator does not need it).
    donate_usd : float
        Give this amount first, in appreciated long-term lots of overweight assets
        (:func:`driftwise.app.tax.donate`); the plan is that of what is left.
    """
    steps = plan_steps(inputs, config, as_of=as_of, pending_days=pending_days,
                       first_day=first_day, with_schedule=with_schedule,
                       donate_usd=donate_usd)
    request = next(steps)
    return finish_plan(steps, None if request is None else request.build())


def finish_plan(steps: PlanSteps, schedule: Schedule | None) -> Plan:
    """The plan of ``steps`` (:func:`plan_steps`, advanced to its schedule request) given
    the schedule it asked for (None when it asked for none)."""
    try:
        steps.send(schedule)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise RuntimeError("the planning steps asked for a second schedule")


PlanSteps: TypeAlias = "Generator[ScheduleRequest | None, Schedule | None, Plan]"
"""The planning workflow of one portfolio, paused once for its execution schedule."""


def plan_steps(inputs: Inputs, config: Config, *,
               as_of: pd.Timestamp | str | None = None, pending_days: float = float("nan"),
               first_day: bool = False, with_schedule: bool = True,
               donate_usd: float = 0.0, shared: SharedDay | None = None) -> PlanSteps:
    """:func:`make_plan`'s workflow as a generator: it yields the
    :class:`ScheduleRequest` of the plan's trades (None: no trade, or no schedule wanted),
    takes the schedule back (``send``) and returns the :class:`Plan`. A batch of accounts
    builds every account's schedule in one call between the two
    (:func:`driftwise.app.batch.plan_chunk`); the parameters are :func:`make_plan`'s, and
    ``shared`` the per-asset estimates a batch computes once for all its accounts
    (:class:`SharedDay`, of the same market, master and cost file as ``inputs``; used
    where it serves the plan, which is then the same)."""
    if inputs.targets is None:  # portfolio.default_target, flagged
        inputs = with_default_targets(inputs, config.portfolio.default_target)
    rows = shared.master if shared is not None else None
    state = build_state(inputs.holdings, inputs.targets, inputs.market, inputs.master,
                        as_of=as_of, rows=rows,
                        closes=shared.prices if shared is not None else None)
    donation, gift = None, []
    if donate_usd > 0:
        inputs, donation, said = plan_tax.donate(inputs, state, config, donate_usd)
        gift = [said]
        state = build_state(inputs.holdings, inputs.targets, inputs.market, inputs.master,
                            as_of=as_of)
    settings, params, rule, lookback = _settings(config)
    refuse_jumps(inputs.market, state.tickers, state.as_of, lookback, what="the plan")
    shared = shared if shared is not None and shared.serves(state, settings, params) else None
    returns, vol = (None, None) if shared is None else shared.risk_for(state.tickers)
    risk = plan_risk(state, inputs.market.prices, settings, returns=returns, vol=vol,
                     with_cov=config.risk.te_model is TeModel.FULL)
    costs, cost_notes = (
        shared.costs.inputs_for(state.tickers) if shared is not None else
        build_cost_inputs(state.tickers, inputs.market.prices, inputs.market.volumes,
                          inputs.master, inputs.costs, as_of=state.as_of, params=params))
    vix, vix_notes = (shared.vix if shared is not None
                      else vix_reading(inputs.market.vix, state.as_of))
    cost_fn = _cost_fn(costs, params, vix)
    ctx = _context(state, inputs, config, risk.vol_annual, risk.cov_long, cost_fn, vix,
                   pending_days=pending_days, first_day=first_day)
    invalid, event = _validity(inputs, state, config, cost_notes)
    if event is not None:  # a mandate change rebalances whatever the cost
        rule = dataclasses.replace(
            build_rule(config, AnyOf((Event(event), rule.trigger), label=rule.trigger.name)),
            skip_if_cost_exceeds_benefit=False)
    factors = rule.optimizer.factors
    betas = (plan_factor_betas(inputs.market.prices, state.tickers, state.as_of, factors)
             if rule.destination is Destination.OPTIMIZED and factors.active else None)
    day = AssetDay(prices_usd=state.prices_usd, adv_shares=costs.adv_shares,
                   no_buy=_mask(state, config.constraints.do_not_buy) | state.frozen,
                   no_sell=_mask(state, config.constraints.do_not_sell) | state.frozen,
                   cost_fn=cost_fn,
                   borrow_bps_annual=costs.borrow_bps_annual,
                   groups=group_codes(
                       rows.column(rule.optimizer.group_by.value, state.tickers)
                       if rows is not None and rows.frame is inputs.master.frame else
                       inputs.master.frame[rule.optimizer.group_by.value]
                       .reindex(state.tickers)),
                   factor_betas=None if betas is None else betas[0])
    taxed = (plan_tax.taxed_step(rule, ctx, day, inputs, state, config)
             if plan_tax.applies(inputs, config) else None)
    outcome = taxed[0].outcome if taxed is not None else step(rule, ctx, day)
    decision, delay_until, reasons = decide(outcome, rule, invalid, state, pending_days)
    if decision is Decision.INVALID:
        outcome, taxed = step(rule, ctx, _frozen(day)), None
    elif decision is not Decision.DELAY:
        reasons = [*reasons, *no_trade_reason(outcome, state.tickers,
                                              ~state.frozen & ~outcome.illiquid[0])]
    reasons = [*reasons, *gift]
    if taxed is not None:
        reasons = [*reasons, *plan_tax.tax_reasons(taxed[0], state.tickers)]
        if decision is Decision.REBALANCE and taxed[0].changed:
            decision = Decision.PARTIAL
    borrow = added_borrow(rule, ctx, day, outcome.sizing.trade_usd)[0]
    trades: pd.DataFrame | TradeList = _trade_list(outcome, state, costs, params, vix,
                                                   inputs, config, borrow, taxed)
    harvest = (plan_tax.harvest_table(inputs, state, config)
               if plan_tax.applies(inputs, config) else None)
    if harvest is not None and config.tax.harvest_in_trades and decision is not \
            Decision.INVALID:
        trades, harvested = _harvest_trades(
            trades.frame() if isinstance(trades, TradeList) else trades, harvest, state,
            costs, params, vix, config)
        reasons = [*reasons, *harvested]
        _refuse_above_nav(trades, state, inputs)
    schedule = yield (schedule_request(trades, state, costs, params, vix, config)
                      if len(trades) and with_schedule else None)
    notes = merge_notices(state.notices, _capped_notes(state, config), risk.notices, cost_notes,
                          _illiquid_notes(outcome, state),
                          cost_notices(outcome.sizing.trade_usd[0], costs, params,
                                       position_after_usd=state.values_usd
                                       + outcome.sizing.trade_usd[0]),
                          short_notices(pd.Series(outcome.sizing.trade_shares[0],
                                                  index=state.tickers),
                                        pd.Series(state.shares, index=state.tickers)),
                          schedule.notices if schedule is not None else (), vix_notes,
                          fallback_notice(outcome))
    before, after = _metrics(outcome, ctx, params, state, float(borrow.sum()),
                             _tax_total(trades) if taxed is not None else 0.0)
    after |= rounding_effect(outcome, ctx)
    if betas is not None:
        exposed, exp_before, exp_after = factor_report(outcome, ctx, betas[0], betas[1],
                                                       state.tickers, factors)
        reasons, before, after = [*reasons, *exposed], before | exp_before, after | exp_after
    return Plan(
        as_of=state.as_of, decision=decision, delay_until=delay_until, reasons=tuple(reasons),
        checks=_checks(state, notes, config, invalid), before=before, after=after,
        # (a TradeList is built into the frame when the plan's trades are first read)
        trades=cast(pd.DataFrame, trades), schedule=schedule, notices=notes, rule=rule.trigger.name,
        nav_usd=state.nav_usd, config_toml=config_toml(config),
        harvest=harvest, donation=donation)


def _tax_total(trades: pd.DataFrame | TradeList) -> float:
    """The trade list's tax (the sum of its ``tax_usd`` column, as pandas sums it)."""
    column = (pd.Series(trades.column("tax_usd"), dtype=np.float64)
              if isinstance(trades, TradeList) else trades["tax_usd"])
    return float(column.sum())


@functools.lru_cache(maxsize=64)
def config_toml(config: Config) -> str:
    """``config.to_toml()``, kept for the configurations in use (every account of a batch
    plans with one, or a few)."""
    return config.to_toml()


def _lookback(settings: MonitorConfig, config: Config) -> int:
    """Sessions of prices before the as-of date that the plan reads (risk, costs)."""
    return max(settings.long_window_days, settings.short_window_days, settings.vol_window_days,
               config.costs.adv_window_days)


_KEPT = 64
"""Values kept per configuration or price index in use (every account of a batch plans
with one configuration, or a few, on one day)."""

_BY_CONFIG: dict[int, tuple[Config, tuple[MonitorConfig, CostParams, Rule, int]]] = {}
_SESSIONS: dict[tuple[int, pd.Timestamp, pd.Timestamp], tuple[pd.Index, int]] = {}

K = TypeVar("K")
V = TypeVar("V")


def _kept(table: dict[K, tuple[Any, V]], obj: object, key: K, make: Callable[[], V]) -> V:
    """``make()``, kept in ``table`` under ``key`` (whose first part is ``id(obj)``) with
    ``obj`` itself, so that a hit is the same object (its id cannot have been reused);
    the table emptied when it holds :data:`_KEPT` values."""
    hit = table.get(key)
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = make()
    if len(table) >= _KEPT:
        table.clear()
    table[key] = (obj, value)
    return value


def _settings(config: Config) -> tuple[MonitorConfig, CostParams, Rule, int]:
    """The risk settings, cost parameters, rule and lookback (sessions) of ``config``
    (each a frozen value), kept for the configuration objects in use: found by identity
    (hashing a configuration costs as much as building them)."""
    def make() -> tuple[MonitorConfig, CostParams, Rule, int]:
        settings = monitor_config(config)
        return settings, cost_params(config), build_rule(config), _lookback(settings, config)

    return _kept(_BY_CONFIG, config, id(config), make)


def _sessions_since(dates: pd.Index, last: pd.Timestamp, day: pd.Timestamp) -> int:
    """``trading_days_between(dates, last, day)`` (the price dates after the last
    rebalance up to ``day``), kept per price index object, last rebalance and day."""
    return _kept(_SESSIONS, dates, (id(dates), last, day),
                 lambda: trading_days_between(dates if isinstance(dates, pd.DatetimeIndex)
                                              else pd.DatetimeIndex(dates), last, day))


def _context(state: PortfolioState, inputs: Inputs, config: Config, vol: np.ndarray,
             cov: np.ndarray | None, cost_fn: CostFn, vix: float | None, *,
             pending_days: float, first_day: bool) -> DayContext:
    """The rule's view of the day: ``cov`` the long-window covariance under
    ``risk.te_model = "full"`` (None: diagonal), ``cost_fn`` the day's cost model
    (:func:`_cost_fn`, at ``vix``)."""
    p = config.policy
    band_abs = np.where(np.isfinite(state.band_abs), state.band_abs, p.band_abs)
    band_rel = np.where(np.isfinite(state.band_rel), state.band_rel, p.band_rel)
    width = band_width(state.target_weights, band_abs, band_rel, p.band_mode)
    last = inputs.last_rebalance
    days = (_sessions_since(inputs.market.prices.index, last, state.as_of)
            if last is not None else np.nan)
    market = MarketDay(date=np.datetime64(state.as_of.date()), prices_usd=state.prices_usd,
                       vol_annual=vol, cov_annual=cov,
                       vix=float("nan") if vix is None else vix,
                       calendar=calendar_flags(state.as_of), first_day=first_day)
    marks = BookMarks(weights=state.weights[None, :], cash_weight=np.array([state.cash_weight]),
                      nav_usd=np.array([state.nav_usd]),
                      days_since_rebalance=np.array([days], dtype=float),
                      pending_days=np.array([pending_days], dtype=float))
    return DayContext.of(market, marks, target=state.target_weights,
                         target_cash=state.target_cash_weight, band_width=width,
                         full_cost_usd=lambda trade: cost_fn(trade).sum(axis=1))


@functools.lru_cache(maxsize=64)
def calendar_flags(day: pd.Timestamp) -> frozenset[tuple[Frequency, Anchor]]:
    """The (frequency, anchor) period boundaries ``day`` is on the NYSE calendar (kept
    for the day: every account of a batch plans on the same one)."""
    sessions = nyse_sessions(day - pd.Timedelta(days=400), day + pd.Timedelta(days=400))
    where = sessions.get_loc(day) if day in sessions else None
    if where is None:
        return frozenset()
    flags: set[tuple[Frequency, Anchor]] = set()
    for freq in Frequency:
        if period_first_sessions(sessions, freq.value)[where]:
            flags.add((freq, Anchor.FIRST))
        if period_last_sessions(sessions, freq.value)[where]:
            flags.add((freq, Anchor.LAST))
    return frozenset(flags)


def _cost_fn(costs: AssetCostInputs, params: CostParams, vix: float | None) -> CostFn:
    """The cost model bound to today's inputs: trades (C, N) -> trading cost (C, N) USD
    (``trade_costs(...).trading_usd``, the same kernel)."""
    return RowCosts.of(cost_coefficients(costs, params, vix), 1, costs.n_assets)


def _mask(state: PortfolioState, tickers: tuple[str, ...]) -> np.ndarray:
    if not tickers:  # (no list: isin on a string index still costs a frame's worth)
        return np.zeros(len(state.tickers), dtype=bool)
    return np.asarray(state.tickers.isin(list(tickers)), dtype=bool)


def _frozen(day: AssetDay) -> AssetDay:
    """The same day with every asset restricted both ways: an invalid plan trades nothing."""
    everything = np.ones_like(day.no_buy)
    return dataclasses.replace(day, no_buy=everything, no_sell=everything)


def _validity(inputs: Inputs, state: PortfolioState, config: Config,
              cost_notes: tuple[Notice, ...]) -> tuple[list[str], str | None]:
    """Reasons the plan is invalid, and a target-change event."""
    invalid: list[str] = []
    stale = [n for n in cost_notes if n.flag is Flag.STALE_COSTS]
    if stale and not config.costs.accept_stale_costs:
        invalid.append(f"cost inputs are stale ({stale[0].detail}): refresh them or set "
                       "costs.accept_stale_costs = true")
    targets = inputs.targets
    event = None
    if targets is not None and targets.effective_date is not None:
        if targets.effective_date > state.as_of:
            invalid.append(f"the target version takes effect on {targets.effective_date.date()}, "
                           f"after the as-of date {state.as_of.date()}")
        elif inputs.last_rebalance is not None and targets.effective_date > inputs.last_rebalance:
            event = (f"new target version effective {targets.effective_date.date()} since the "
                     f"last rebalance ({inputs.last_rebalance.date()}): rebalance now")
    return invalid, event


def _delay_until(outcome: StepResult, as_of: pd.Timestamp, pending_days: float) -> pd.Timestamp:
    """The session on which a delayed rebalance is reconsidered: ``delay_days`` sessions
    after the delay began (at least the next session)."""
    waited = int(pending_days) if np.isfinite(pending_days) else 0
    until = as_of
    for _ in range(max(outcome.trigger.delay_days - waited, 1)):
        until = next_session(until)
    return until


def decide(outcome: StepResult, rule: Rule, invalid: list[str], state: PortfolioState,
            pending_days: float = float("nan")
            ) -> tuple[Decision, pd.Timestamp | None, list[str]]:
    reasons = outcome.trigger.explain(0)
    if invalid:
        # no trade on invalid inputs, so no delay either: the stress gate is left unsaid
        kept = [r for r in outcome.trigger.reasons if r.code != "stress_delay"]
        said = [r.text(0) for r in sorted(kept, key=lambda r: not bool(r.met[0]))]
        return Decision.INVALID, None, [*invalid, *said]
    fired = bool(outcome.trigger.fired[0])
    delayed = outcome.trigger.delayed is not None and bool(outcome.trigger.delayed[0])
    if delayed:
        return Decision.DELAY, _delay_until(outcome, state.as_of, pending_days), reasons
    if not fired:
        return Decision.SKIP, None, ["no trigger fired", *reasons]
    if bool(outcome.skipped_for_cost[0]):
        return Decision.SKIP, None, [skip_for_cost_reason(outcome), *reasons]
    if not bool(outcome.traded[0]):
        return Decision.SKIP, None, ["triggered, but no trade survives the constraints",
                                     *reasons, *_binding_reasons(outcome, state)]
    partial = (rule.destination is not Destination.FULL or outcome.trigger.assets is not None
               or bool(outcome.illiquid[0].any()) or _restricted(outcome))
    return (Decision.PARTIAL if partial else Decision.REBALANCE, None,
            [*reasons, *_binding_reasons(outcome, state)])


def skip_for_cost_reason(outcome: StepResult, config: int = 0) -> str:
    """The reason of a skip for cost: the cost and benefit of the trades it did not make."""
    cost = outcome.weighed_cost if outcome.weighed_cost is not None else outcome.cost_fraction
    gain = (outcome.weighed_benefit if outcome.weighed_benefit is not None
            else outcome.benefit)
    return (f"cost {1e4 * cost[config]:.2f} bps of NAV exceeds the benefit "
            f"{1e4 * gain[config]:.2f} bps (γ/2·ΔTE²·H/252): no trade")


def _restricted(outcome: StepResult) -> bool:
    keys = ("excluded", "do_not_buy", "do_not_sell", "cost_constrained_skip", "max_turnover",
            "cash_short")
    return any(bool(np.any(outcome.sizing.binding[k][0])) for k in keys
               if k in outcome.sizing.binding)


BINDING_TEXT = {
    "excluded": "left out as illiquid", "do_not_buy": "on the do-not-buy list",
    "do_not_sell": "on the do-not-sell list", "long_only": "clipped at zero (long-only)",
    "cost_constrained_skip": "benefit not above policy.cost_constrained_multiple × its cost",
    "min_trade": "below the minimum trade", "no_price": "without a price",
}


def _binding_reasons(outcome: StepResult, state: PortfolioState) -> list[str]:
    out = _frozen_reasons(state)
    tradable = ~state.frozen
    listed: list[str] | None = None  # (indexing a string index by a mask costs a frame)
    for key, text in BINDING_TEXT.items():
        where = outcome.sizing.binding.get(key)
        if where is None or np.ndim(where) != 2:
            continue
        bound = where[0] & tradable
        if bound.any():
            listed = state.tickers.tolist() if listed is None else listed
            names = ", ".join(str(t) for t, b in zip(listed, bound.tolist(), strict=True)
                              if b)
            out.append(f"{text}: {names}")
    for key, text in (("cash", "buys scaled down to keep cash at or above the buffer"),
                      ("cash_short", "sells cannot fund the buys: buys dropped"),
                      ("max_turnover", "trades scaled down to the maximum turnover")):
        where = outcome.sizing.binding.get(key)
        if where is not None and bool(np.asarray(where).reshape(-1)[0]):
            out.append(text)
    return out


def _frozen_reasons(state: PortfolioState) -> list[str]:
    """Held assets without a price today: valued at their last close, traded neither way."""
    since = state.no_price_since
    if since.empty:
        return []
    return [f"delisted or suspended: no price since {pd.Timestamp(date).date()}, not traded: "
            + ", ".join(str(t) for t in group.index) for date, group in since.groupby(since)]


def _capped_notes(state: PortfolioState, config: Config) -> tuple[Notice, ...]:
    """Drift above the cap: a probable data error or corporate action.

    The plan still trades to the actual weights; the flag asks for a check first.
    """
    big = np.abs(state.weights - state.target_weights) > config.risk.drift_cap
    if not big.any():
        return ()
    return (notice(Flag.DRIFT_CAPPED, f"asset drift above {config.risk.drift_cap:.0%}: probable "
                   "data error or corporate action; check holdings and prices before trading "
                   "(metrics cap it, trades use actual weights)", state.tickers[big]),)


def _illiquid_notes(outcome: StepResult, state: PortfolioState) -> tuple[Notice, ...]:
    mask = outcome.illiquid[0] & ~state.frozen
    if not mask.any():  # (indexing a string index by a mask costs as much as a frame)
        return ()
    left = state.tickers[mask]
    return (notice(Flag.ILLIQUID, "left out of the rebalance as illiquid (ADV below the "
                   "minimum or too many liquidity days)", (str(t) for t in left)),)


def _trade_list(outcome: StepResult, state: PortfolioState, costs: AssetCostInputs,
                params: CostParams, vix: float | None, inputs: Inputs, config: Config,
                borrow_usd: np.ndarray,
                taxed: tuple[plan_tax.TaxedStep, plan_tax.TaxLots] | None = None
                ) -> TradeList:
    """The trade list, as its columns (:class:`TradeList`); ``borrow_usd`` (N,) is the
    borrow over the benefit horizon of the shorts each trade opens or increases (its own
    column, not in ``cost_usd``, which is paid when trading); ``taxed``: the decision
    after tax, whose relieved lots and tax the sales show."""
    cols, index, at = _priced_arrays(
        np.asarray(outcome.sizing.trade_usd[0], dtype=np.float64),
        np.asarray(outcome.sizing.trade_shares[0]), state, costs, params, vix, borrow_usd,
        REBALANCE_REASON)
    # sells first, each side by signed value (a stable sort, as sort_values on both keys);
    # the columns put in that order
    order = np.lexsort((cols["trade_usd"], cols["side"] != "SELL"))
    picked = order.tolist()
    cols = {k: v if isinstance(v, str | float) else
            [v[i] for i in picked] if isinstance(v, list) else v[order]
            for k, v in cols.items()}
    index, at = [index[i] for i in picked], at[order]
    if taxed is not None:
        step_, lots = taxed
        relief = config.tax.lot_relief.value
        cols["tax_usd"] = step_.tax_by_asset_usd[at]
        cols["loss_usd"] = np.bincount(lots.asset, weights=np.maximum(-step_.gain_usd, 0.0),
                                       minlength=len(state.tickers))[at]
        cols["lots"] = [plan_tax.lot_text(step_, lots, int(i), relief) for i in at]
    else:
        sales = [_lot_sales(inputs, str(t), float(s), float(p), state.as_of, config)
                 if side == "SELL" else ("", 0.0, 0.0) for t, s, p, side in
                 zip(index, cols["shares"], cols["price_usd"], cols["side"], strict=True)]
        cols["tax_usd"] = [tax for _, tax, _ in sales]
        cols["loss_usd"] = [loss for _, _, loss in sales]
        cols["lots"] = [text for text, _, _ in sales]
    out = TradeList(tickers=index, columns=cols, rows=at)
    if (np.abs(cols["trade_usd"]) > state.nav_usd).any():  # (read before the frame is)
        _refuse_above_nav(out.frame(), state, inputs)
    return out


def _priced_rows(trade_usd: pd.Series, trade_shares: pd.Series, state: PortfolioState,
                 costs: AssetCostInputs, params: CostParams, vix: float | None,
                 borrow_usd: np.ndarray, reason: str | pd.Series) -> pd.DataFrame:
    """Rows of the trade list for the nonzero trades of ``trade_usd`` (signed USD by
    ticker of the universe) and ``trade_shares``, each priced by the one cost model
    (:func:`~driftwise.costs.cost_table`); ``reason`` says why each is made."""
    cols, index, _ = _priced_columns(trade_usd, trade_shares, state, costs, params, vix,
                                     borrow_usd, reason)
    return TradeList(tickers=index, columns=cols).frame()


def _priced_columns(trade_usd: pd.Series, trade_shares: pd.Series, state: PortfolioState,
                    costs: AssetCostInputs, params: CostParams, vix: float | None,
                    borrow_usd: np.ndarray, reason: str | pd.Series
                    ) -> tuple[dict[str, Any], list[str], npt.NDArray[np.intp]]:
    """:func:`_priced_rows` as its columns (arrays, lists, or a scalar for every row;
    ``flags`` a list of str), its tickers and their positions in ``state.tickers``,
    before a frame is built."""
    value, shares = ((v if v.index is state.tickers else
                      v.reindex(state.tickers, fill_value=0.0)).to_numpy()
                     for v in (trade_usd, trade_shares))
    return _priced_arrays(np.asarray(value, dtype=np.float64), shares, state, costs,
                          params, vix, borrow_usd, reason)


def _priced_arrays(trade_usd: npt.NDArray[np.float64], trade_shares: np.ndarray,
                   state: PortfolioState, costs: AssetCostInputs, params: CostParams,
                   vix: float | None, borrow_usd: np.ndarray, reason: str | pd.Series
                   ) -> tuple[dict[str, Any], list[str], npt.NDArray[np.intp]]:
    """:func:`_priced_columns` of trades given as arrays over ``state.tickers``."""
    listed = state.tickers.tolist()
    names = list(costs.tickers)
    if names == listed and bool(np.isfinite(trade_usd).all()):
        # the trades already in the cost inputs' order: no labels matched
        table = cost_arrays(np.array(trade_usd, dtype=np.float64), costs, params, vix=vix,
                            nav_usd=state.nav_usd)
    else:
        table, universe = cost_columns(pd.Series(trade_usd, index=state.tickers), costs,
                                       params, vix=vix, nav_usd=state.nav_usd)
        names = universe.tolist()
    # the cost table's columns read as arrays at the traded rows, no frame built for it
    value = np.asarray(table["trade_usd"], dtype=np.float64)
    rows = np.flatnonzero(value != 0)
    trade = value[rows]

    def column(name: str) -> np.ndarray:
        return np.asarray(table[name], dtype=np.float64)[rows]

    picked = rows.tolist()
    index = [names[i] for i in picked]
    at = rows if names == listed else positions(state.tickers, index)
    shares = trade_shares[at]
    spread, commission, impact = (column(c) for c in ("spread_usd", "commission_usd",
                                                      "impact_usd"))
    cost = spread + commission + impact + column("flat_usd")
    flags = table["flags"]
    return {
        "side": np.where(trade > 0, "BUY", "SELL"), "shares": np.abs(shares),
        "price_usd": state.prices_usd[at], "trade_usd": trade, "spread_usd": spread,
        "commission_usd": commission, "impact_usd": impact, "tax_usd": 0.0, "loss_usd": 0.0,
        "cost_usd": cost, "borrow_usd": np.asarray(borrow_usd)[at],
        "liquidity_days": column("liquidity_days"),
        "flags": [flags[i] for i in picked],
        "cost_bps": 1e4 * cost / np.abs(trade),
        "reason": reason if isinstance(reason, str) else
        reason.reindex(pd.Index(index, dtype=object, name="ticker")).array,
    }, index, at


def _harvest_trades(trades: pd.DataFrame, harvest: pd.DataFrame, state: PortfolioState,
                    costs: AssetCostInputs, params: CostParams, vix: float | None,
                    config: Config) -> tuple[pd.DataFrame, list[str]]:
    """The trade list with the proposed loss harvests added (``tax.harvest_in_trades``).

    Each ticker with proposed harvest lots (:func:`driftwise.app.tax.harvest_table`) is
    sold, those lots whole, as a row with reason ``harvest``; its tax is the tax the loss
    saves now (negative). Its replacement of ``tax.harvest_pairs``, when the universe holds
    it, is bought for the proceeds (whole shares under ``constraints.whole_shares``) as a
    row with reason ``harvest replacement of TICKER``; without a pair the proceeds stay in
    cash until the wash-sale window ends. Both are priced by the one cost model. A ticker
    the rebalance trades today is not harvested (a buy would wash the loss; a sale
    already relieves its lots in the relief order), nor is a replacement the rebalance
    trades bought. Returns the trade list (rebalance rows first) and what was done.
    """
    from driftwise.tax.harvest import replacement_pairs

    proposed = harvest[harvest["proposed"].astype(bool)]
    pairs = replacement_pairs(config.tax.harvest_pairs)
    busy = set(map(str, trades.index))
    reasons: list[str] = []
    sells = proposed[proposed["ticker"].isin(list(state.tickers))]
    skipped = sorted(set(sells["ticker"]) & busy)
    if skipped:
        reasons.append(f"not harvested today: {', '.join(skipped)} (the rebalance trades "
                       "them: a buy would wash the loss; a sale relieves their lots in the "
                       "relief order)")
    sells = sells[~sells["ticker"].isin(skipped)]
    if sells.empty:
        return trades, reasons
    by_ticker = sells.groupby("ticker", sort=True)
    sold_shares = by_ticker["shares"].sum()
    prices = pd.Series(state.prices_usd, index=state.tickers)
    trade_usd = -sold_shares * prices[sold_shares.index]
    shares = -sold_shares
    why = pd.Series("harvest", index=sold_shares.index, dtype=object)
    tax = -by_ticker["tax_saved_now_usd"].sum()
    lot_text = pd.Series({ticker: "harvest: " + ", ".join(
        f"{lot}×{n:.12g} ({term}, loss {loss:,.0f})" for lot, n, term, loss in
        zip(g["lot"], g["shares"], g["term"], g["loss_usd"], strict=True))
        for ticker, g in by_ticker}, dtype=object)
    for ticker in sold_shares.index:
        pair = pairs.get(str(ticker))
        if pair is None:
            continue
        if pair not in state.tickers:
            reasons.append(f"{ticker}: harvest replacement {pair} is not in the portfolio's "
                           "universe (no price or cost): buy it by hand, or the proceeds "
                           "stay in cash")
            continue
        if pair in busy or pair in sold_shares.index:
            reasons.append(f"{ticker}: harvest replacement {pair} not bought (traded today "
                           "by the rebalance or harvested itself); the proceeds stay in cash")
            continue
        n = float(-trade_usd[ticker]) / float(prices[pair])
        n = float(np.floor(n + 1e-9)) if config.constraints.whole_shares else n
        if n <= 0.0:
            continue
        trade_usd[pair], shares[pair] = n * float(prices[pair]), n
        why[pair] = f"harvest replacement of {ticker}"
    rows = _priced_rows(trade_usd, shares, state, costs, params, vix,
                        np.zeros(len(state.tickers)), why)
    rows["tax_usd"] = tax.reindex(rows.index, fill_value=0.0)
    rows["lots"] = lot_text.reindex(rows.index, fill_value="")
    rows["loss_usd"] = by_ticker["loss_usd"].sum().reindex(rows.index, fill_value=0.0)
    said = ", ".join(f"{t} ({-float(rows.loc[t, 'trade_usd']):,.0f} USD)"
                     for t in sold_shares.index if t in rows.index)
    reasons.append(f"loss harvest in the trade list: sell {said}; tax saved now "
                   f"{-float(tax.sum()):,.2f} USD (the drift and cost figures are the "
                   "rebalance's)")
    return pd.concat([trades, rows.sort_values("trade_usd", kind="stable")]), reasons


def _refuse_above_nav(trades: pd.DataFrame, state: PortfolioState, inputs: Inputs) -> None:
    """No single order may exceed the portfolio's NAV: that is a bad price or holding.

    Raises
    ------
    DataError
        Naming the ticker, the order and the NAV; the plan emits no order at all.
    """
    big = np.abs(trades["trade_usd"].to_numpy(dtype=np.float64)) > state.nav_usd
    if not big.any():
        return
    above = trades[big]
    ticker = str(above.index[0])
    order = above.iloc[0]
    held = ticker in inputs.holdings.lines.index
    raise DataError(
        f"plan refused: the order for {ticker} ({order['side']} {abs(order['trade_usd']):,.2f} "
        f"USD at {order['price_usd']:g}) exceeds the portfolio's NAV of {state.nav_usd:,.2f} "
        f"USD; a price, a holding or a target is probably wrong (check {ticker} in "
        f"{inputs.market.source} and {inputs.holdings.source})",
        file=inputs.holdings.source,
        row=int(inputs.holdings.lines[ticker]) if held else None, field="ticker",
        expected="every order at most the NAV", found=f"{len(above)} order(s) above it")


def _lot_sales(inputs: Inputs, ticker: str, shares: float, price: float, as_of: pd.Timestamp,
               config: Config) -> tuple[str, float, float]:
    """The lots a sale relieves (as text), its tax (0: tax is shown and decided on only
    under ``[tax] enabled``, by :mod:`driftwise.app.tax`) and the loss of its lots sold
    below their basis (USD, >= 0)."""
    lots = inputs.holdings.lots
    if lots is None:
        return "", 0.0, 0.0
    mine = lots[(lots["ticker"] == ticker) & (lots["shares"] > 0)]
    if mine.empty:
        return "", 0.0, 0.0
    from driftwise.tax import Relief, relieve_lots

    t = config.tax
    method = Relief(t.lot_relief.value)
    sold = relieve_lots(mine, shares, price, as_of, method, plan_tax.rates(config),
                        specific=t.specific_lots)
    text = f"{method.value}: " + ", ".join(
        f"{s.lot_id or s.acquired.date()}×{s.shares:.12g} ({'LT' if s.long_term else 'ST'})"
        for s in sold)
    return (text, (sum(s.tax_usd for s in sold) if t.enabled else 0.0),
            sum(max(-s.gain_usd, 0.0) for s in sold))


@dataclass(frozen=True)
class ScheduleRequest:
    """What a plan's execution schedule is built from: its trades (one entry each, in
    the trade list's order) with their cost inputs, and the day's cost and execution
    settings.

    Attributes
    ----------
    tickers : tuple of str
    shares : ndarray
        Signed trade in shares (+ buy).
    price_usd, trade_usd : ndarray
        The priced close and the signed traded value.
    costs : AssetCostInputs
        The cost inputs of the traded assets, in the same order.
    params : CostParams
    vix : float or None
    execution : ExecutionConfig
        ``[execution]``.
    start_date : pd.Timestamp
        The first session the schedule trades on.
    """

    tickers: tuple[str, ...]
    shares: np.ndarray
    price_usd: np.ndarray
    trade_usd: np.ndarray
    costs: AssetCostInputs
    params: CostParams
    vix: float | None
    execution: ExecutionConfig
    start_date: pd.Timestamp

    def build(self) -> Schedule:
        """The schedule (:func:`~driftwise.execution.build_schedule`), each child's impact
        and each trade's price cost from the cost model."""
        costs, params, vix = self.costs, self.params, self.vix
        adv_usd = costs.adv_shares * costs.price_usd

        def impact_bps(rate: np.ndarray) -> np.ndarray:
            # the cost model's own impact at a participation rate: price a trade of
            # rate × ADV
            value = np.asarray(rate, dtype=np.float64) * adv_usd
            impact = trade_costs(value, costs, params, vix).impact_usd
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(value > 0, 1e4 * impact / value, 0.0)

        e = self.execution
        return build_schedule(
            list(self.tickers), self.shares, self.price_usd, costs.adv_shares,
            costs.sigma_daily, style=ExecutionStyle(e.style.value),
            participation=e.participation, multi_day_after=e.multi_day_after_days,
            slices_per_day=e.slices_per_day, start_date=self.start_date,
            risk_aversion=e.risk_aversion, impact_bps=impact_bps,
            order_type=OrderType(e.order_type.value),
            price_cost_bps=_price_cost_bps(self.trade_usd, costs, params, vix))


def schedule_request(trades: pd.DataFrame | TradeList, state: PortfolioState,
                     costs: AssetCostInputs, params: CostParams, vix: float | None,
                     config: Config) -> ScheduleRequest:
    """The :class:`ScheduleRequest` of a trade list (a frame, or its columns)."""
    if isinstance(trades, TradeList):
        names = trades.tickers
        pos = (trades.rows if trades.rows is not None
               else positions(state.tickers, names))
        side, shares = trades.column("side"), trades.column("shares")
        price, value = trades.column("price_usd"), trades.column("trade_usd")
    else:
        names = trades.index.tolist()
        pos = positions(state.tickers, names)
        # the sides compared as objects (a comparison of a string column builds a series)
        side = trades["side"].to_numpy(dtype=object)
        shares, price = trades["shares"].to_numpy(), trades["price_usd"].to_numpy()
        value = trades["trade_usd"].to_numpy(dtype=np.float64)
    signed = np.where(side == "BUY", 1.0, -1.0) * shares
    return ScheduleRequest(
        tickers=tuple(names), shares=signed, price_usd=price,
        trade_usd=np.asarray(value, dtype=np.float64),
        costs=costs.take(pos), params=params, vix=vix, execution=config.execution,
        start_date=_first_session_after(state.as_of))


@functools.lru_cache(maxsize=16)
def _first_session_after(day: pd.Timestamp) -> pd.Timestamp:
    """:func:`~driftwise.calendar.next_session`, kept for the days in use (every account
    of a batch plans on one)."""
    return next_session(day)


def positions(index: pd.Index, labels: list[str]) -> npt.NDArray[np.intp]:
    """``index.get_indexer(labels)`` for an index of unique labels, read through a dict
    of its labels (pandas matches a string index against a few labels in some 0.3 ms)."""
    row = {t: i for i, t in enumerate(index.tolist())}
    return np.fromiter((row.get(t, -1) for t in labels), dtype=np.intp, count=len(labels))


def _price_cost_bps(value: np.ndarray, costs: AssetCostInputs, params: CostParams,
                    vix: float | None) -> np.ndarray:
    """Each trade's price cost besides impact (the half-spread, or the flat all-in cost) in
    bps of traded value ``value``, from the cost model: what a limit order concedes beyond
    impact."""
    split = trade_costs(value, costs, params, vix)
    return np.asarray(1e4 * (split.spread_usd + split.flat_usd) / np.abs(value),
                      dtype=np.float64)


def _post_trade_drift(outcome: StepResult, state: PortfolioState) -> float:
    """Portfolio drift after the trades: the step's trades booked into a one-row
    :class:`~driftwise.policy.book.Book` of the holdings (:func:`book_trades`, as the
    backtest books them) and marked to market at the day's closes."""
    book = Book.start(state.shares[None, :], np.array([state.cash_usd]))
    book_trades(book, np.zeros(1, dtype=np.intp), outcome.sizing)
    _, _, drift = book.mark_to_market(state.prices_usd, state.target_weights,
                                      state.target_cash_weight)
    return float(drift[0])


def _metrics(outcome: StepResult, ctx: DayContext, params: CostParams,
             state: PortfolioState, borrow_usd: float, tax_usd: float = 0.0
             ) -> tuple[dict[str, float], dict[str, float]]:
    """Before and after; the cost-benefit ratios count the borrow of the shorts the
    trades open (``borrow_usd`` over the benefit horizon) and, when the plan decides
    after tax, the tax of the sales (``tax_usd``), as the skip decision does."""
    drift_after = _post_trade_drift(outcome, state)
    cost_usd = float(outcome.sizing.cost_usd[0].sum())
    full_cost = float(ctx.full_rebalance_cost[0])
    te_b, te_a = float(outcome.te_before[0]), float(outcome.te_after[0])
    benefit = float(outcome.benefit[0])
    vix = float(ctx.vix_rows()[0])  # the planner's context has one row
    regime = vix_regime(vix, (params.vix_breaks[0], params.vix_breaks[1]))
    before = {"drift": float(ctx.portfolio_drift[0]), "te": te_b,
              "full_rebalance_cost_bps": 1e4 * full_cost,
              "full_rebalance_cost_usd": full_cost * state.nav_usd,
              "vix": vix, "regime": regime}
    weighed = (cost_usd + borrow_usd + tax_usd) / state.nav_usd
    after = {"drift": float(drift_after), "te": te_a, "cost_bps": 1e4 * cost_usd / state.nav_usd,
             "cost_usd": cost_usd, "borrow_usd": borrow_usd,
             "borrow_bps": 1e4 * borrow_usd / state.nav_usd,
             "te_reduction": te_b - te_a, "benefit_bps": 1e4 * benefit,
             "cost_benefit_ratio": weighed / benefit if benefit > 0 else float("inf"),
             "cost_te_ratio": weighed / (te_b - te_a) if te_b > te_a else float("inf"),
             "turnover": float(0.5 * np.abs(outcome.sizing.trade_usd[0]).sum() / state.nav_usd)}
    if tax_usd:
        after["tax_usd"] = tax_usd
    return before, after


def _checks(state: PortfolioState, notes: tuple[Notice, ...], config: Config,
            invalid: list[str]) -> tuple[Check, ...]:
    total = float(state.weights.sum() + state.cash_weight)
    target_total = float(state.target_weights.sum() + state.target_cash_weight)
    below = state.target_weights < 0
    negative = state.tickers[below] if below.any() else ()
    flags = {n.flag for n in notes}
    illiquid = [t for n in notes if n.flag in (Flag.ILLIQUID, Flag.MULTI_DAY) for t in n.tickers]
    return (
        Check("weights sum to 1 with cash", abs(total - 1) < 1e-9, f"sum {total:.12f}"),
        Check("targets valid", abs(target_total - 1) < 1e-9, f"targets + cash target sum "
              f"{target_total:.12f}"),
        Check("targets feasible", not (config.constraints.long_only and len(negative)),
              "no negative target under long-only" if not len(negative) else
              "negative targets under long-only: " + ", ".join(map(str, negative))),
        Check("costs fresh", Flag.STALE_COSTS not in flags,
              "cost inputs within 30 days" if Flag.STALE_COSTS not in flags else
              "stale cost inputs" + (" (accepted)" if config.costs.accept_stale_costs else "")),
        Check("cost data", Flag.ESTIMATED_COSTS not in flags,
              "modelled costs" if Flag.ESTIMATED_COSTS not in flags else
              "tier all-in estimates for some assets"),
        Check("liquidity", not illiquid, "all trades within liquidity limits" if not illiquid
              else "illiquid or multi-day: " + ", ".join(sorted(set(illiquid)))),
        Check("plan valid", not invalid, "; ".join(invalid) or "no invalidating event"),
    )
