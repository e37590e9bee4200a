"""The rule-validation study: portfolios x paths x rules x cost settings, on both cores.

:func:`run_study` splits the work into tasks (a chunk of one portfolio's paths, or one
portfolio's falsification backtest), runs them on a Dask cluster
(:mod:`driftwise.backtest.cluster`: a local cluster of ``workers`` processes, or the
running scheduler at ``scheduler``; inline with one worker and no scheduler), reports
progress after each task, and aggregates the events into hit rates, intervals,
verdicts and breakdowns (:mod:`driftwise.validation.stats`).

Portfolios: the embedded sample (its own targets), random sub-portfolios of the sample's
20 stocks, or random equal-weight portfolios of 10-50 US stocks drawn from the 504-stock
Alpha Vantage data (``--universe sp500``), drawn point in time
(:mod:`driftwise.data.universe`): the stocks one could have chosen on the study's first
day from the data up to it, among that day's S&P 500 members
(:mod:`driftwise.data.membership`, :func:`eligible_sp500`), cost tiers from the market
caps known on that day (or the dollar-volume proxy), a stock that stops trading sold at
its last price on the next session (a target version without it,
:func:`version_portfolios`). The sample's random portfolios are drawn point in time too
(:func:`eligible_sample`). The data itself holds April-2021 members only (the data
README's survivorship note): the day's members drawn are those still members in 2021,
and the sample's 20 stocks all survive to 2022, which no selection rule can undo (caveats
of the output).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise import _display
from driftwise._types import FloatArray
from driftwise.backtest import cluster
from driftwise.backtest.batches import Window
from driftwise.backtest.engine import cash_growth, run_backtest
from driftwise.backtest.falsification import falsification_tests, yearly_cells
from driftwise.backtest.grid import RuleGrid
from driftwise.backtest.history import HistorySettings, RiskSettings, build_history
from driftwise.backtest.metrics import policy_metrics
from driftwise.costs import CostParams
from driftwise.data.loader import with_risk_free, with_vix
from driftwise.data.market import cash_rate_notices, read_vix
from driftwise.data.membership import MEMBERSHIP_FILE, membership_path, sp500_membership
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, Targets
from driftwise.data.sample import load_sample
from driftwise.data.targets import read_targets
from driftwise.data.universe import (
    Universe,
    caps_asof,
    delisting_day,
    delisting_versions,
    eligible,
    read_sp500,
    stops_trading,
)
from driftwise.errors import ConfigError
from driftwise.flags import Flag, Notice, merge_notices, notice
from driftwise.policy.context import Frequency
from driftwise.policy.rule import Rule
from driftwise.validation.branching import branch_rule
from driftwise.validation.events import Paths, Portfolio, make_paths, path_days, rebalance_cost
from driftwise.validation.rules import (
    COST_LIMIT_COLUMNS,
    COST_LIMITS,
    MEASUREMENTS_OF,
    MEASURES,
    RULES,
    Measurement,
    RuleInput,
    Thresholds,
    cost_limit_counts,
    run_measurements,
)
from driftwise.validation.stats import (
    COST_LIMIT_FIGURES,
    MODEL,
    NO_VIX_SCALING,
    by_cost,
    by_regime,
    clustered_mean,
    cost_limit_figures,
    effects,
    falsification_pooled,
    label_events,
    pooled_verdict,
    rules_table,
    sensitivity,
)

Progress = Callable[[int, int], None]
SP500_DIR = "sp500-daily-ohlcv-alphavantage"
CASH_TARGET = 0.02
"""Cash target of the random portfolios (as the sample's)."""
STUDY_MIN_HISTORY_DAYS = 40
"""Priced sessions a stock needs up to the study's first day to be drawn (the data starts
on 1999-11-01, 42 sessions before the default first day)."""


@dataclass(frozen=True)
class PortfolioSpec:
    """Which portfolio to validate on (hashable, cheap to send to a worker).

    ``universe`` is ``"sample"`` or ``"sp500"``; ``tickers`` empty means the sample's own
    targets, else an equal-weight target over ``tickers`` with 2% cash.
    """

    label: str
    universe: str = "sample"
    tickers: tuple[str, ...] = ()
    data_dir: str | None = None
    vix_file: str | None = None
    """A VIX file replacing the universe's own VIX (``--vix``)."""
    risk_free_file: str | None = None
    """A risk-free rate file (``date, rate_annual``; ``--risk-free``): the rate cash earns
    in the falsification backtest and the events' branches, and the Sharpe ratios' (none:
    cash earns nothing, flagged)."""
    as_of: str | None = None
    """The day the portfolio was drawn: its cost tiers use the market caps known then."""


FALSIFICATION_POLICIES = ("threshold 5%", "calendar", "monthly")
"""The rules of the falsification backtest: threshold 5% against the review calendar and
against a monthly one, each under every cost setting but the one without VIX scaling."""


def run_name(policy: str, setting_label: str) -> str:
    """The name of one run of the falsification backtest (``"calendar | flat 10 bps"``)."""
    return f"{policy} | {setting_label}"


@dataclass(frozen=True, eq=False)
class Falsification:
    """The falsification backtest of a study, assembled once from the configuration.

    Attributes
    ----------
    grid : RuleGrid
        One row per policy of :data:`FALSIFICATION_POLICIES` and cost setting, named by
        :func:`run_name`, in the order cost setting then policy.
    window : Window
        The backtest window and starting NAV (the study's).
    review : Frequency
        The calendar the threshold rule is compared with (besides monthly).
    cost_levels_bps : tuple of float
        The flat cost levels of the grid's cost settings.
    """

    grid: RuleGrid
    window: Window
    review: Frequency
    cost_levels_bps: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class StudyModel:
    """What a study takes from the configuration, as domain objects.

    Built at the edge by :func:`driftwise.config.assemble.study_settings`; every field pickles
    (the settings are sent to the worker processes).

    Attributes
    ----------
    rule : Rule
        The configured rule (its trigger, destination, constraints and sizing).
    costs : CostParams
        The model costs.
    risk : RiskSettings
        Risk estimation windows and TE model of the market history.
    tracking_aversion : float
        γ of the cost-benefit comparisons, per unit of TE variance.
    falsification : Falsification
        The falsification backtest.
    config : mapping of str to object
        The configuration's non-default fields as plain data (``{"policy.threshold":
        0.03}``), stored in the JSON output.
    """

    rule: Rule
    costs: CostParams
    risk: RiskSettings
    tracking_aversion: float
    falsification: Falsification
    config: Mapping[str, object] = field(default_factory=dict)

    @property
    def history(self) -> HistorySettings:
        """What the market history is estimated with (risk windows, cost inputs)."""
        return HistorySettings.of(self.risk, self.costs)


@dataclass(frozen=True)
class StudySettings:
    """Everything a study run depends on (stored in its JSON output).

    Build it with :func:`driftwise.config.assemble.study_settings` (from a configuration).
    """

    model: StudyModel
    nav_usd: float
    start: str | None
    end: str | None
    review: Frequency
    cost_levels_bps: tuple[float, ...]
    gap_days: int = 5
    warmup_days: int = 252
    limits: Thresholds = field(default_factory=Thresholds)
    rules: tuple[str, ...] = tuple(r.key for r in RULES)
    workers: int = 2
    scheduler: str | None = None
    chunks: int = 8
    falsification: bool = True
    bootstrap_samples: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if self.workers < 1 or self.chunks < 1 or self.gap_days < 1:
            raise ConfigError("validate-rules: workers, chunks and event gap must be >= 1")
        unknown = set(self.rules) - set(MEASURES)
        if unknown:
            raise ConfigError(f"validate-rules: unknown rule(s) {sorted(unknown)}; "
                              f"expected some of {list(MEASURES)}")
        f = self.model.falsification
        window = f.window
        if (window.initial_nav_usd != self.nav_usd or f.review is not self.review
                or f.cost_levels_bps != self.cost_levels_bps
                or (self.start is not None and window.start != self.start)
                or (self.end is not None and window.end != self.end)):
            raise ConfigError("validate-rules: the falsification backtest was assembled for "
                              "another NAV, window, review or cost levels than the study's")


@dataclass(frozen=True)
class CostSetting:
    """One cost model of the study: the configured one, a flat level, or no VIX scaling."""

    label: str
    params: CostParams
    level_bps: float | None = None


def cost_settings(settings: StudySettings) -> list[CostSetting]:
    """Model costs, each flat level (regime-free, as ``--cost-bps``), and no VIX scaling."""
    return cost_models(settings.model.costs, settings.cost_levels_bps)


def cost_models(model: CostParams, levels_bps: Sequence[float]) -> list[CostSetting]:
    """``model``, ``model`` at each flat level of ``levels_bps``, and ``model`` without VIX
    scaling (multipliers 1), in that order."""
    out = [CostSetting(MODEL, model)]
    out += [CostSetting(f"flat {level:g} bps", dataclasses.replace(model, flat_cost_bps=level),
                        level) for level in levels_bps]
    out.append(CostSetting(NO_VIX_SCALING, dataclasses.replace(
        model, vix_multipliers=(1.0,) * len(model.vix_multipliers))))
    return out


# ------------------------------------------------------------------ inputs


_CACHE: dict[tuple[object, ...], tuple[Inputs, Portfolio]] = {}
_INPUTS: dict[PortfolioSpec, Inputs] = {}


INPUTS_KEPT_CELLS = 8_000_000
"""Most (day, asset) price cells of the portfolios' inputs a process keeps (16 bytes a cell with
the volumes: 128 MB, 20 portfolios of 50 stocks over 21 years; each portfolio
is read by its falsification task and by its events tasks: the falsification tasks run
first); the last portfolio's are kept whatever their size."""


def load_inputs(spec: PortfolioSpec) -> Inputs:
    """The inputs of ``spec`` (kept per process for its other tasks, the most recent
    portfolios' up to :data:`INPUTS_KEPT_CELLS` price cells)."""
    if spec not in _INPUTS:
        inputs = _inputs(spec)
        _INPUTS[spec] = inputs
        while len(_INPUTS) > 1 and sum(v.market.prices.size for v in _INPUTS.values()) \
                > INPUTS_KEPT_CELLS:
            del _INPUTS[next(iter(_INPUTS))]  # the oldest first
    return _INPUTS[spec]


def load_portfolio(spec: PortfolioSpec, settings: StudySettings) -> tuple[Inputs, Portfolio]:
    """Inputs and market history of ``spec`` (kept per process for its other tasks)."""
    model = settings.model
    key = (spec, settings.start, settings.end, model.risk, model.costs)
    if key not in _CACHE:
        inputs = load_inputs(spec)
        history = build_history(inputs, model.history, start=settings.start, end=settings.end)
        # every path day's cost inputs are read: their staleness at once, not day by day
        history.prepare(frozenset(), stale=True)
        targets = inputs.targets
        assert targets is not None
        target = targets.weights.reindex(history.tickers, fill_value=0.0).to_numpy(np.float64)
        _CACHE.clear()
        _CACHE[key] = (inputs, Portfolio(spec.label, history, target, float(targets.cash_weight),
                                         model.risk.full_te))
    return _CACHE[key]


def version_portfolios(inputs: Inputs, portfolio: Portfolio) -> list[tuple[int, Portfolio]]:
    """The portfolio of each target version with the history row it comes into force on.

    ``[(0, portfolio)]`` without ``inputs.target_versions``; else one entry per version in
    force on some day of the history (the first on row 0), each ``portfolio`` with that
    version's target (the same history and kept covariances) and the target of every
    day (``Portfolio.day_targets``: an event's branches that cross a change follow it, so
    a stock sold on a switch is not bought back).
    """
    versions = sorted(inputs.target_versions, key=lambda v: (
        v.effective_date is not None, pd.Timestamp(v.effective_date or pd.Timestamp.min)))
    if len(versions) < 2:
        return [(0, portfolio)]
    h = portfolio.history
    rows: list[tuple[int, FloatArray, float]] = []
    for v in versions:
        row = 0 if v.effective_date is None else int(h.dates.searchsorted(
            pd.Timestamp(v.effective_date)))
        if row >= h.n_days:
            break
        target = v.weights.reindex(h.tickers, fill_value=0.0).to_numpy(np.float64)
        if rows and rows[-1][0] >= row:  # a later version on the same row wins
            rows[-1] = (rows[-1][0], target, float(v.cash_weight))
        else:
            rows.append((row, target, float(v.cash_weight)))
    if len(rows) < 2:
        return [(0, portfolio)]
    # every day's target: the branches that cross a change follow it
    starts = np.array([r for r, _, _ in rows])
    in_force = np.searchsorted(starts, np.arange(h.n_days), side="right") - 1
    day_targets = (np.stack([t for _, t, _ in rows])[in_force],
                   np.array([c for _, _, c in rows])[in_force])
    return [(row, dataclasses.replace(portfolio, target=target, target_cash=cash,
                                      day_targets=day_targets))
            for row, target, cash in rows]


def _inputs(spec: PortfolioSpec) -> Inputs:
    inputs = _universe_inputs(spec)
    if spec.vix_file is None and spec.risk_free_file is None:
        return inputs
    market = with_risk_free(with_vix(inputs.market, spec.vix_file, None), spec.risk_free_file,
                            None)
    return dataclasses.replace(inputs, market=market)


def _universe_inputs(spec: PortfolioSpec) -> Inputs:
    if spec.universe == "sample":
        inputs = load_sample()
        if not spec.tickers:
            return inputs
        return dataclasses.replace(inputs, targets=_equal_targets(spec.tickers))
    if spec.universe == "sp500" and spec.data_dir is not None:
        return _sp500_inputs(Path(spec.data_dir), spec.tickers, spec.as_of)
    raise ConfigError(f"validate-rules: unknown universe {spec.universe!r} (sample or sp500, "
                      "the latter with a data folder)")


def _equal_targets(tickers: Sequence[str]) -> Targets:
    weight = (1.0 - CASH_TARGET) / len(tickers)
    return read_targets(pd.DataFrame({"ticker": [*tickers, "CASH"],
                                      "target_weight": [weight] * len(tickers) + [CASH_TARGET]}))


def _sp500_inputs(data_dir: Path, tickers: Sequence[str], as_of: str | None) -> Inputs:
    """Alpha Vantage stocks: adjusted closes, volume in adjusted shares, CBOE VIX.

    Volume is expressed in adjusted shares, ``close * volume / adjusted_close``, so that
    ADV times the adjusted price is the dollar volume (raw close times raw volume, right
    across splits and dividends); zero-volume days are missing. A missing session is
    carried from the previous close, flagged. A stock that stops trading is sold at its
    last price on the next session: :func:`~driftwise.data.universe.delisting_versions`
    gives the target versions without it (its weight spread over the others), the
    falsification backtest switches to them (an event every rule rebalances on) and the
    event paths end there, those after it start on the new target
    (:func:`version_portfolios`); flagged.
    Market caps are those known on ``as_of`` (:func:`~driftwise.data.universe.caps_asof`).
    """
    panel = read_sp500(data_dir, tickers)
    raw = panel.prices
    px = raw.ffill()  # a missing session, and the days after a stop (sold: see the versions)
    dollar = panel.dollar_volume_usd
    assert dollar is not None
    vol = (dollar / raw).reindex(index=px.index, columns=px.columns)
    notes = list(_gap_notices(raw))
    vix, vix_notes = read_vix(data_dir / "cboe-vix" / "vix-daily.csv", today=px.index[-1]
                              + pd.Timedelta(days=3650))
    day = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(px.index[0])
    caps, cap_notes = caps_asof(panel, tickers, day)
    market = MarketData(prices=px, volumes=vol, vix=vix, source=panel.source,
                        notices=(*vix_notes, *notes, *cap_notes,
                                 *membership_notices(data_dir, as_of)))
    targets = _equal_targets(list(tickers))
    stopped = stops_trading(panel, list(tickers), raw.index[0], raw.index[-1])
    versions = delisting_versions(targets, stopped, panel) if stopped else ()
    index = pd.Index(list(tickers), name="ticker", dtype=object)
    master = SecurityMaster(frame=pd.DataFrame(
        {"sector": pd.Series(None, index=index, dtype=object),
         "asset_class": pd.Series("US Equity", index=index, dtype=object),
         "market_cap_usd": caps.reindex(index).astype(float)}),
        source=f"market caps known on {day.date()}")
    return Inputs(holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=1.0),
                  targets=targets, master=master, market=market,
                  target_versions=versions if len(versions) > 1 else ())


def _gap_notices(raw: pd.DataFrame) -> tuple[Notice, ...]:
    """Flags of the prices :func:`_sp500_inputs` carries forward."""
    stopped = stops_trading(Universe(raw), [str(t) for t in raw.columns], raw.index[0],
                            raw.index[-1])
    gaps = [str(t) for t in raw.columns
            if str(t) not in stopped and raw[t].loc[raw[t].first_valid_index():].isna().any()]
    out = []
    panel = Universe(raw)
    for t, last in stopped.items():
        day = delisting_day(panel, last)
        sold = "" if day is None else f" on {day.date()}, the next session"
        out.append(Notice(Flag.NO_PRICE_TODAY, f"{t} stopped trading after {last.date()}: "
                          f"sold at its last price{sold}, its target weight spread over the "
                          "other stocks (a new target version: every rule rebalances on it, "
                          "and the study's paths end there)", (t,)))
    if gaps:
        out.append(Notice(Flag.PRICE_GAP_FILLED, "missing sessions carried from the "
                          "previous close", tuple(gaps)))
    return tuple(out)


def eligible_sample(start: str | None) -> list[str]:
    """The sample's stocks one could have chosen on ``start`` (default: the sample's first
    session), from its prices up to that day only.

    :func:`driftwise.data.universe.eligible`, as :func:`eligible_sp500`: priced on the
    last session on or before ``start``, with :data:`STUDY_MIN_HISTORY_DAYS` sessions of
    history (or every session up to ``start`` when the sample has fewer: its window may
    begin on its first day) and no daily move beyond ±50% up to it. The 20 stocks
    themselves were picked by the sample's publisher among stocks listed to 2022-12-28:
    every one survives the whole window, a survivorship no draw can undo (a caveat of the
    study's output, :func:`driftwise.validation.output.caveats`).
    """
    from driftwise.data.sample import load_sample_market

    prices = load_sample_market().prices
    panel = Universe(prices=prices, source="the embedded sample")
    day = pd.Timestamp(start) if start is not None else pd.Timestamp(prices.index[0])
    known = len(panel.upto(day))
    return eligible(panel, day, min_history_days=max(1, min(STUDY_MIN_HISTORY_DAYS, known)))


def eligible_sp500(data_dir: Path, start: str) -> list[str]:
    """The stocks one could have chosen on ``start``, from what was known that day only.

    The S&P 500 members of ``start`` (:func:`driftwise.data.membership.sp500_membership`:
    the shared folder's membership history, former tickers of renamed stocks matched)
    among :func:`driftwise.data.universe.eligible` on the 504-stock panel read up to
    ``start``: priced on ``start`` with :data:`STUDY_MIN_HISTORY_DAYS` sessions of history
    and no daily move beyond ±50% before it (the data's split artefacts, as far as then
    visible). Nothing after ``start`` is read: neither a later crash, nor the end of a
    stock's data, nor a later index membership. Without the membership file the members
    of the day cannot be told: every eligible stock is kept and the portfolios' inputs
    carry a "no index membership" notice (:func:`membership_notices`).
    """
    panel = read_sp500(data_dir, until=start)
    pool = eligible(panel, pd.Timestamp(start), min_history_days=STUDY_MIN_HISTORY_DAYS)
    membership = sp500_membership(data_dir)
    return pool if membership is None else membership.keep_members(pool, start)


def membership_notices(data_dir: Path, as_of: str | None) -> tuple[Notice, ...]:
    """A "no index membership" notice for the portfolios drawn on ``as_of`` when the data
    folder has no membership history (they were drawn among the April-2021 members
    priced that day, index members then or not); none otherwise."""
    if as_of is None or membership_path(data_dir).is_file():
        return ()
    return (Notice(Flag.NO_MEMBERSHIP,
                   f"no S&P 500 membership history ({'/'.join(MEMBERSHIP_FILE)} is not in "
                   f"{data_dir}): the stocks were drawn among the April-2021 members priced "
                   f"on {pd.Timestamp(as_of).date()}, whether index members that day or not "
                   "(hindsight)"),)


def random_portfolios(tickers: Sequence[str], n: int, *, seed: int, universe: str,
                      data_dir: str | None = None, low: int = 10,
                      high: int = 50, as_of: str | None = None) -> list[PortfolioSpec]:
    """``n`` random portfolios of ``low..high`` holdings (capped at the universe size)."""
    if n and not len(tickers):
        raise ConfigError(f"validate-rules: no {universe} stock could be chosen"
                          + (f" on {as_of}" if as_of else "")
                          + (" (none an index member that day priced with enough history)"
                             if universe == "sp500" else
                             " (none priced that day with enough history)") + "; start later")
    rng = np.random.default_rng(seed)
    pool = np.asarray(sorted(tickers))
    hi = min(high, len(pool))
    lo = min(low, hi)
    out = []
    for j in range(n):
        size = int(rng.integers(lo, hi + 1))
        pick = tuple(sorted(rng.choice(pool, size=size, replace=False).tolist()))
        out.append(PortfolioSpec(f"{universe} random {j + 1} ({size} stocks)", universe, pick,
                                 data_dir, as_of=as_of))
    return out


# ------------------------------------------------------------------ tasks


@dataclass(frozen=True)
class Task:
    """One unit of work: a chunk of a portfolio's paths, or its falsification backtest."""

    spec: PortfolioSpec
    kind: str
    chunk: int = 0
    n_chunks: int = 1


@dataclass(frozen=True, eq=False)
class TaskResult:
    """Events (one row per event, rule and cost setting) or falsification rows."""

    events: pd.DataFrame
    falsification: pd.DataFrame | None
    notices: tuple[Notice, ...]
    n_paths: int
    seconds: float
    cost_limits: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Events removed by the cost limits per rule and cost setting (:func:`measure_paths`)."""


def run_task(task: Task, settings: StudySettings) -> TaskResult:
    """Run one task (in a worker process or inline)."""
    began = time.perf_counter()
    if task.kind == "falsification":  # the backtest builds its own history; the events
        inputs = load_inputs(task.spec)  # tasks of the portfolio give its cost notes
        frame = falsification(inputs, settings, task.spec.label)
        window = settings.model.falsification.window
        dates = inputs.market.prices.index
        first = pd.Timestamp(settings.start) if settings.start is not None else dates[0]
        last = pd.Timestamp(settings.end) if settings.end is not None else dates[-1]
        cash = cash_rate_notices(inputs.market, max(first, dates[0]), min(last, dates[-1]),
                                 earns=window.cash_earns_risk_free)
        return TaskResult(pd.DataFrame(), frame, merge_notices(inputs.market.notices, cash), 0,
                          time.perf_counter() - began)
    inputs, portfolio = load_portfolio(task.spec, settings)
    notes = merge_notices(inputs.market.notices, _cost_notes(portfolio))
    # a target version (a stock that stopped trading sold) is an event: paths end on it
    # and those from it on follow its target
    parts = version_portfolios(inputs, portfolio)
    switches = np.array([row for row, _ in parts[1:]], dtype=np.intp)
    everything = make_paths(portfolio, settings.nav_usd, review=settings.review,
                            warmup_days=settings.warmup_days, events=switches)
    starts = np.array_split(everything.start, task.n_chunks)[task.chunk]
    limits: list[pd.DataFrame] = []
    frames, n_paths = [], 0
    for k, (first, version) in enumerate(parts):
        until = parts[k + 1][0] if k + 1 < len(parts) else portfolio.history.n_days
        mine = starts[(starts >= first) & (starts < until)]
        if not len(mine):
            continue
        paths = make_paths(version, settings.nav_usd, review=settings.review, starts=mine,
                           events=switches)
        frame = measure_paths(version, paths, settings, limits)
        n_paths += paths.n_paths
        if len(frame):
            frame["path"] = frame["path"] + int(np.searchsorted(everything.start, mine[0]))
            frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return TaskResult(frame, None, notes, n_paths, time.perf_counter() - began,
                      pd.concat(limits, ignore_index=True) if limits else pd.DataFrame())


def measure_paths(portfolio: Portfolio, paths: Paths, settings: StudySettings,
                  cost_limits: list[pd.DataFrame] | None = None) -> pd.DataFrame:
    """Every rule under every cost setting on ``paths`` (Rule 4 also without VIX scaling).

    The forks of every rule and cost setting are simulated together
    (:func:`~driftwise.validation.rules.run_measurements`): one sizing call per calendar
    day for all the events trading that day. With ``cost_limits``, the counts of
    :func:`~driftwise.validation.rules.cost_limit_counts` of each cost setting (with
    columns ``setting`` and ``cost_level_bps``) are appended to it.
    """
    days = path_days(portfolio, paths)
    rule = branch_rule(settings.model.rule)
    # the branches' cash earns the rate as in the falsification backtest (the engine's own)
    growth = cash_growth(portfolio.history,
                         settings.model.falsification.window.cash_earns_risk_free)
    runs: list[tuple[str, CostSetting, int]] = []
    measurements: list[Measurement] = []
    for setting in cost_settings(settings):
        keys = [k for k in settings.rules if setting.label != NO_VIX_SCALING or k == "Rule 4"]
        if not keys:
            continue
        cost = rebalance_cost(days, portfolio.history, setting.params)
        inp = RuleInput(portfolio, paths, days, cost, setting.params, rule,
                        gamma=settings.model.tracking_aversion,
                        gap_days=settings.gap_days, limits=settings.limits,
                        cash_growth=growth)
        if cost_limits is not None and any(k in COST_LIMITS for k in keys):
            counts = cost_limit_counts(inp, keys)
            counts.insert(1, "setting", setting.label)
            counts.insert(2, "cost_level_bps", setting.level_bps)
            cost_limits.append(counts)
        for key in keys:
            chunks = MEASUREMENTS_OF[key](inp)
            runs.append((key, setting, len(chunks)))
            measurements += chunks
    results = iter(run_measurements(portfolio, rule, measurements, growth))
    frames = []
    for key, setting, n_chunks in runs:
        parts = [next(results) for _ in range(n_chunks)]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if len(frame):
            frame.insert(0, "cost_level_bps", setting.level_bps)
            frame.insert(0, "setting", setting.label)
            frame.insert(0, "rule", key)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _cost_notes(portfolio: Portfolio) -> tuple[Notice, ...]:
    h = portfolio.history
    inputs = h.cost_inputs(h.n_days - 1)
    names = np.asarray(h.tickers, dtype=object)
    out = []
    for mask, flag, text in ((inputs.spread_estimated, Flag.TIER_SPREAD,
                              "spread from the market-cap tier (no quoted spread)"),
                             (inputs.liquidity_estimated, Flag.ESTIMATED_LIQUIDITY,
                              "ADV from the market-cap proxy (no volume)"),
                             (inputs.costs_estimated, Flag.ESTIMATED_COSTS,
                              "tier all-in cost (no cost data)")):
        if mask.any():
            out.append(notice(flag, f"{portfolio.label}: {text}", map(str, names[mask])))
    return tuple(out)


def falsification(inputs: Inputs, settings: StudySettings, label: str) -> pd.DataFrame:
    """The falsification test on one portfolio, with the backtest engine.

    Threshold 5% against the calendar (the base policy's frequency, and monthly), under
    the model costs and each flat level: annualized TE and costs per year, the TE
    difference with a paired block-bootstrap interval, and the three-valued verdict of
    :mod:`driftwise.backtest.falsification` in utility and in ratio form (whether costs
    exceed the TE reduction is not applicable when the threshold rule does not reduce TE).
    """
    runs = settings.model.falsification
    # one process: the study already shares its tasks among the cluster's workers
    result = run_backtest(inputs, runs.grid, runs.window, workers=1)
    m = policy_metrics(result)
    count = m["n_rebalances"].astype(float).to_dict()
    threshold, *calendars = FALSIFICATION_POLICIES
    cases = [(s, cal) for s in cost_settings(settings)[:-1] for cal in calendars]
    pairs = [(run_name(threshold, s.label), run_name(cal, s.label)) for s, cal in cases]
    tests = falsification_tests(result, pairs, te=m["te_annual"], cost=m["cost_per_year"],
                                tracking_aversion=settings.model.tracking_aversion,
                                samples=settings.bootstrap_samples, seed=settings.seed)
    rows = []
    gamma = settings.model.tracking_aversion
    for (s, cal), (thr, other), test in zip(cases, pairs, tests, strict=True):
        cells = yearly_cells(result, thr, other, tracking_aversion=gamma)
        te = clustered_mean(cells["te_diff"], cells["years"])
        ex = clustered_mean(cells["excess"], cells["years"])
        rows.append({
            "portfolio": label, "setting": s.label, "cost_level_bps": s.level_bps,
            "calendar": settings.review.value if cal == "calendar" else "month",
            **test.record(),
            "rebalances_threshold": count[thr], "rebalances_calendar": count[other],
            "basis": f"one path ({result.dates[0].date()} .. {result.dates[-1].date()})",
            "n_years": len(cells["years"]),
            "te_diff_years_mean": te[0], "te_diff_years_low": te[1],
            "te_diff_years_high": te[2], "excess_years_mean": ex[0],
            "excess_years_low": ex[1], "excess_years_high": ex[2],
            "verdict_years": pooled_verdict(te[2], ex[1], ex[2]),
            "years": cells["years"], "te_diff_by_year": cells["te_diff"],
            "excess_by_year": cells["excess"]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ run


def make_tasks(specs: Sequence[PortfolioSpec], settings: StudySettings) -> list[Task]:
    """Falsification tasks first (the longest), then path chunks of every portfolio."""
    tasks = ([Task(s, "falsification") for s in specs] if settings.falsification else [])
    per = max(1, settings.chunks // max(1, len(specs))) if len(specs) > 1 else settings.chunks
    for s in specs:
        tasks += [Task(s, "events", j, per) for j in range(per)]
    return tasks


def execute(tasks: Sequence[Task], settings: StudySettings,
            progress: Progress | None = None) -> list[TaskResult]:
    """Run ``tasks`` on a Dask cluster: ``settings.workers`` local processes, or the
    scheduler at ``settings.scheduler`` (inline for one worker and no scheduler).

    Results come back in the order of ``tasks`` whatever order they finish in, so a run
    gives the same numbers with any number of workers, on any cluster.
    """
    done: list[TaskResult] = []
    if settings.workers == 1 and settings.scheduler is None:
        for task in tasks:
            done.append(run_task(task, settings))
            if progress is not None:
                progress(len(done), len(tasks))
        return done
    with cluster.client(settings.workers, settings.scheduler) as dask_client:
        return cluster.run_tasks(dask_client, _run_task, list(tasks), settings, progress)


def _run_task(settings: StudySettings, task: Task) -> TaskResult:
    """:func:`run_task` with the settings first (the data a cluster sends each worker once)."""
    return run_task(task, settings)


# ------------------------------------------------------------ aggregate


@dataclass(frozen=True, eq=False)
class StudyResult:
    """Everything a validation run measured (see ``docs/rule-validation.md``).

    Attributes
    ----------
    settings : StudySettings
    portfolios : list of PortfolioSpec
    events : pd.DataFrame
        One row per event, rule and cost setting (columns of the rule's measurement plus
        ``rule, setting, cost_level_bps, cluster, vix_regime``).
    rules : pd.DataFrame
        One row per rule under the model costs: events, hit rate and interval, stated
        confidence and whether it lies in the interval, verdict, median effect.
    by_regime, by_cost : pd.DataFrame
        Per rule and VIX regime at the event (model costs), and per rule and flat cost
        level: events, clusters ``G``, the mean effect with its CR2 ``t(G-1)`` interval,
        the claim's bar and the verdict on them, the hit rate with its interval and its
        own verdict (:func:`~driftwise.validation.stats.breakdown`).
    sensitivity : pd.DataFrame
        The claims' parts and other benefit definitions, with the same columns
        (:func:`~driftwise.validation.stats.sensitivity`).
    effects : pd.DataFrame
        Effect sizes per rule and measurement.
    falsification : pd.DataFrame
        The falsification test per portfolio and cost setting.
    cost_limits : pd.DataFrame
        Events removed by the cost limits of rules 1 and 3, per rule and cost setting
        (:func:`cost_limit_table`).
    notices : tuple of Notice
    n_paths : int
    seconds : float
        Wall-clock time of the run.
    """

    settings: StudySettings
    portfolios: list[PortfolioSpec]
    events: pd.DataFrame
    rules: pd.DataFrame
    by_regime: pd.DataFrame
    by_cost: pd.DataFrame
    sensitivity: pd.DataFrame
    effects: pd.DataFrame
    falsification: pd.DataFrame
    notices: tuple[Notice, ...]
    n_paths: int
    seconds: float
    cost_limits: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def falsification_pooled(self) -> pd.DataFrame:
        """The falsification criterion pooled over portfolios, with intervals across
        calendar years (:func:`~driftwise.validation.stats.falsification_pooled`)."""
        return falsification_pooled(self.falsification)

    def to_frame(self) -> pd.DataFrame:
        """The verdicts, tidy: one row per rule under the model costs (:attr:`rules`)."""
        return self.rules.copy()

    def _title(self) -> str:
        return (f"Rule validation: {len(self.portfolios)} portfolio(s), {self.n_paths} paths, "
                f"{len(self.events)} event rows")

    def _figures(self) -> list[tuple[str, object]]:
        return [(str(row["rule"]), f"{row['verdict']} ({int(row['n_events'])} events, hit rate "
                 f"{row['hit_rate']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}])")
                for _, row in self.rules.iterrows()]

    def __repr__(self) -> str:
        return _display.text(self._title(), self._figures())

    def _repr_html_(self) -> str:
        return _display.html_card(self._title(), self._figures(), [("Verdicts", self.rules)])


def run_study(specs: Sequence[PortfolioSpec], settings: StudySettings, *,
              progress: Progress | None = None) -> StudyResult:
    """Validate the methodology's insight rules on ``specs`` (see the module docstring).

    ``settings`` come from :func:`driftwise.config.assemble.study_settings` (a configuration and
    the study's options).
    """
    if not specs:
        raise ConfigError("validate-rules: no portfolio to validate on")
    began = time.perf_counter()
    results = execute(make_tasks(specs, settings), settings, progress)
    frames = [r.events for r in results if len(r.events)]
    events = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["rule", "setting", "cost_level_bps", "date", "vix", "hit", "effect"])
    events = label_events(events)
    fals = [r.falsification for r in results if r.falsification is not None]
    return StudyResult(
        settings=settings, portfolios=list(specs), events=events,
        rules=rules_table(events), by_regime=by_regime(events), by_cost=by_cost(events),
        sensitivity=sensitivity(events, settings.limits, settings.model.tracking_aversion),
        effects=effects(events),
        falsification=pd.concat(fals, ignore_index=True) if fals else pd.DataFrame(),
        # each portfolio's notices (its events tasks') in the order of the portfolios
        notices=merge_notices(*(r.notices for r in results if r.falsification is None),
                              *(r.notices for r in results)),
        n_paths=sum(r.n_paths for r in results), seconds=time.perf_counter() - began,
        cost_limits=cost_limit_table([r.cost_limits for r in results]))


def cost_limit_table(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The counts of every task summed per rule and cost setting, in the order of the
    settings (model costs first, then the flat levels ascending), with what explains them.

    Columns: ``rule, setting, cost_level_bps, limit_bps``, the counts of
    :data:`~driftwise.validation.rules.COST_LIMIT_COLUMNS`, ``removed_share``
    (``removed / candidates``, NaN without candidates), then the candidate events' cost
    and where the limit binds (:data:`~driftwise.validation.stats.COST_LIMIT_FIGURES`,
    :func:`~driftwise.validation.stats.cost_limit_figures`).
    """
    keys = ["rule", "setting", "cost_level_bps", "limit_bps"]
    lists = ["event_cost_bps", "event_turnover"]
    counts = [c for c in COST_LIMIT_COLUMNS if c not in keys and c not in lists]
    frames = [p for p in parts if len(p)]
    if not frames:
        return pd.DataFrame(columns=[*keys, *counts, "removed_share", *COST_LIMIT_FIGURES])
    both = pd.concat(frames, ignore_index=True)
    grouped = both.groupby(keys, dropna=False, sort=False)
    out = (grouped[counts].sum().reset_index()
           .sort_values(["rule", "cost_level_bps"], na_position="first", kind="stable"))
    out = out[keys + counts]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["removed_share"] = np.where(out["candidates"] > 0,
                                        out["removed"] / out["candidates"], np.nan)
    figures = []
    for _, row in out.iterrows():
        part = both[(both["rule"] == row["rule"]) & (both["setting"] == row["setting"])]
        cost, traded = ([np.concatenate([np.asarray(v, dtype=np.float64) for v in part[c]])
                         if c in part else np.zeros(0) for c in lists])
        figures.append(cost_limit_figures(cost, traded, float(row["limit_bps"]),
                                          row["cost_level_bps"]))
    return pd.concat([out.reset_index(drop=True),
                      pd.DataFrame(figures, columns=list(COST_LIMIT_FIGURES))], axis=1)


SP500_WINDOW = ("2000-01-03", "2021-04-20")
"""Default window of the 504-stock data (full coverage starts 1999-11-01)."""


def study_portfolios(universe: str, data_dir: Path | None, n: int | None, seed: int,
                     start: str | None, end: str | None) -> list[PortfolioSpec]:
    """The portfolios of a study: the sample's, plus ``n`` random ones of ``universe``.

    ``universe`` is ``"sample"`` (random sub-portfolios of the sample's stocks eligible on
    ``start``, :func:`eligible_sample`; ``n`` default 0) or ``"sp500"`` (10-50 stocks of
    the 504-stock data in ``data_dir``, default ``$DRIFTWISE_SHARED_DATA``, eligible and
    S&P 500 members on ``start``, :func:`eligible_sp500`; ``n`` default 20).

    Raises
    ------
    ConfigError
        Another universe, or ``"sp500"`` without a data folder.
    """
    specs = [PortfolioSpec("sample")]
    if universe == "sample":
        if n:
            specs += random_portfolios(eligible_sample(start), n, seed=seed,
                                       universe="sample", as_of=start)
        return specs
    if universe != "sp500":
        raise ConfigError(f"--universe must be sample or sp500; found {universe!r}")
    folder = data_dir or (Path(os.environ["DRIFTWISE_SHARED_DATA"])
                          if "DRIFTWISE_SHARED_DATA" in os.environ else None)
    if folder is None:
        raise ConfigError("--universe sp500 needs --data-dir (the shared real-data folder)")
    first = start or SP500_WINDOW[0]
    pool = eligible_sp500(folder, first)
    return specs + random_portfolios(pool, 20 if n is None else n, seed=seed, universe="sp500",
                                     data_dir=str(folder), as_of=first)


def study_window(universe: str, start: str | None, end: str | None
                 ) -> tuple[str | None, str | None]:
    """The study's window: ``start`` / ``end``; for ``"sp500"`` :data:`SP500_WINDOW` by default."""
    if universe != "sp500":
        return start, end
    return start or SP500_WINDOW[0], end or SP500_WINDOW[1]
