"""Compare rules on history: metrics, intervals, ranking, and the sweep's optimum.

:func:`compare` runs the engine once over every configuration (policies and, optionally,
a sweep grid), then computes the backtest metrics, a block-bootstrap interval for
each policy's TE and cost, paired intervals for every policy's difference to a baseline,
a ranking with intervals across the window's calendar years
(:mod:`driftwise.backtest.years`), and, for a sweep, the empirical optimal threshold with
the thresholds not told apart from it, beside the corrected band.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise import _display
from driftwise.app.monitor import monitor, one_way_cost_rate
from driftwise.app.paths import PathComparison, compare_paths
from driftwise.app.sweep import SweepGrid, threshold_comparison, tidy
from driftwise.backtest.bootstrap import bootstrap_metric, pairwise_differences
from driftwise.backtest.engine import BacktestResult
from driftwise.backtest.falsification import falsification_tests
from driftwise.backtest.metrics import policy_metrics, ranking
from driftwise.backtest.paths import PathSettings
from driftwise.backtest.years import (
    ranking_line,
    year_pairs,
    year_ranking,
    yearly_metrics,
)
from driftwise.calendar import DateLike
from driftwise.config import Config, TriggerKind
from driftwise.config.assemble import backtest_configs, cost_params, monitor_config
from driftwise.data.market import cash_rate_notices, refuse_jumps, vix_window_notices
from driftwise.data.model import (
    DefaultTarget,
    Holdings,
    Inputs,
    MarketData,
    SecurityMaster,
    TargetLevel,
    Targets,
)
from driftwise.flags import Notice, merge_notices
from driftwise.metrics.threshold import ThresholdInputs

YEARS_BY_DEFAULT = 10
"""Years of history a backtest covers when no start is given."""
INTERVAL_METRICS = ("te_annual", "cost_per_year")
REPRESENTATIVE_TURNOVER = 0.05
DIFFERENCE_METRICS = ("te_annual", "cost_per_year", "turnover_per_year", "sharpe")


@dataclass(frozen=True)
class Comparison:
    """What ``driftwise backtest`` shows.

    Attributes
    ----------
    result : BacktestResult
        The policies' run (the sweep's is separate).
    metrics : pd.DataFrame
        One row per policy, with ``te_low/te_high`` and ``cost_low/cost_high`` intervals.
    ranked : pd.DataFrame
        The rules best first by their mean yearly ``γ/2·TE² + cost per year`` across the
        window's calendar years, with intervals, rank intervals, the rules each cannot
        be told apart from and ``n_years`` (:func:`~driftwise.backtest.years.year_ranking`;
        ``window_score`` the whole-window score).
    ranked_pairs : pd.DataFrame
        Every pair's mean yearly score difference with its interval
        (:func:`~driftwise.backtest.years.year_pairs`).
    differences : pd.DataFrame
        Each policy minus the baseline, per metric, with a paired bootstrap interval.
    sweep : pd.DataFrame or None
        The tidy sweep table (one row per grid point).
    optimum : pd.DataFrame or None
        Empirical optimal threshold per cost level beside the corrected theoretical band.
    theory : ThresholdInputs or None
        Inputs of the theoretical band (at-target portfolio on the last day).
    sweep_result : BacktestResult or None
        The sweep's run.
    falsification : pd.DataFrame
        The methodology's falsification criterion for every threshold / calendar pair of
        the compared policies (:func:`falsification_table`; empty without such a pair).
    paths : PathComparison or None
        Every policy over many paths (rolling start dates, random portfolios) with
        intervals across paths (:func:`driftwise.app.paths.compare_paths`), when asked.
    notices : tuple of Notice
        The run's flags, those ``driftwise backtest`` prints (:func:`run_notices`): the
        targets' and the market data's, the days of the window without a usable VIX, the
        days on which cash earns nothing (no risk-free series for them, or
        ``backtest.cash_earns_risk_free = false``), and the many paths' when asked.
    """

    result: BacktestResult
    metrics: pd.DataFrame
    ranked: pd.DataFrame
    differences: pd.DataFrame
    sweep: pd.DataFrame | None
    optimum: pd.DataFrame | None
    theory: ThresholdInputs | None
    sweep_result: BacktestResult | None = None
    falsification: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    paths: PathComparison | None = None
    notices: tuple[Notice, ...] = ()
    ranked_pairs: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """The metrics, tidy: one row per rule (column ``config``), the table of ``--table``;
        ``attrs["notices"]`` holds the run's flags."""
        out = self.metrics.reset_index()
        out.attrs["notices"] = self.notices
        return out

    def _title(self) -> str:
        r = self.result
        return (f"Backtest {pd.Timestamp(r.dates[0]).date()} .. {pd.Timestamp(r.dates[-1]).date()}"
                f" ({len(r.dates)} trading days, starting NAV USD {r.initial_nav_usd:,.0f})")

    def _figures(self) -> list[tuple[str, object]]:
        rows: list[tuple[str, object]] = [
            (str(name), f"TE {_display.pct(row['te_annual'])}, cost/yr "
             f"{1e4 * float(row['cost_per_year']):.1f} bps, {int(row['n_rebalances'])} "
             "rebalances") for name, row in self.metrics.iterrows()]
        years = int(self.ranked["n_years"].iloc[0]) if len(self.ranked) else 0
        rows.append((f"ranking over {years} calendar years, rank [95%]",
                     ranking_line(self.ranked)))
        rows += [(f"flag: {n.flag.value}", n.detail) for n in self.notices]
        if self.paths is not None:
            rows += [(f"over {self.paths.stats.n_paths} paths: {name}", text)
                     for name, text in self.paths._figures()]
        return rows

    def __repr__(self) -> str:
        return _display.text(self._title(), self._figures())

    def _repr_html_(self) -> str:
        return _display.html_card(self._title(), self._figures(), [("Metrics", self.metrics)])


def compare(inputs: Inputs, configs: Sequence[Config], names: Sequence[str] | None = None, *,
            start: DateLike | None = None, end: DateLike | None = None,
            grid: SweepGrid | None = None, grid_base: Config | None = None,
            progress: Callable[[int, int], None] | None = None,
            samples: int = 1000, block: int = 21, seed: int = 0,
            workers: int | None = None, scheduler: str | None = None,
            paths: PathSettings | None = None) -> Comparison:
    """Run and compare policies (and a sweep) on the same window.

    ``workers``: processes of each run's local Dask cluster; ``scheduler``: the address
    of a running Dask scheduler instead (:func:`~driftwise.backtest.engine.run_backtest`).
    ``paths``: also run the policies over the many paths of the window it lays out
    (:func:`driftwise.app.paths.compare_paths`).
    """
    result = backtest_configs(inputs, configs, start=start, end=end, names=names,
                              progress=progress, workers=workers, scheduler=scheduler)
    metrics = with_intervals(result, policy_metrics(result), samples=samples, block=block,
                             seed=seed)
    tracking_aversion = configs[0].policy.tracking_aversion
    differences = pd.concat(
        [pairwise_differences(result, m, baseline=result.names[0], block=block,
                              samples=samples, seed=seed) for m in DIFFERENCE_METRICS],
        ignore_index=True) if len(result.names) > 1 else pd.DataFrame()
    theory = theory_inputs(inputs, configs[0], pd.Timestamp(result.dates[-1]))
    sweep = optimum = None
    sweep_result = None
    if grid is not None:
        base = grid_base if grid_base is not None else configs[0]
        sweep_result = backtest_configs(inputs, grid.configs(base), start=start, end=end,
                                        progress=progress, workers=workers,
                                        scheduler=scheduler)
        sweep = tidy(sweep_result, policy_metrics(sweep_result))
        if theory is not None and sweep["threshold"].notna().any():
            optimum = threshold_comparison(sweep, theory, tracking_aversion=tracking_aversion,
                                           yearly=yearly_metrics(sweep_result))
    falsification = falsification_table(result, configs, metrics,
                                        tracking_aversion=tracking_aversion, samples=samples,
                                        block=block, seed=seed)
    many = None
    if paths is not None:
        many = compare_paths(inputs, configs, result.names, first=result.dates[0],
                             last=result.dates[-1], settings=paths, samples=samples,
                             block=block, seed=seed, progress=progress, workers=workers,
                             scheduler=scheduler)
    first, last = pd.Timestamp(result.dates[0]), pd.Timestamp(result.dates[-1])
    yearly = yearly_metrics(result)
    window = ranking(metrics, tracking_aversion=tracking_aversion)["score"]
    return Comparison(result=result, metrics=metrics,
                      ranked=year_ranking(yearly, tracking_aversion, window_score=window),
                      ranked_pairs=year_pairs(yearly, tracking_aversion),
                      differences=differences, sweep=sweep, optimum=optimum, theory=theory,
                      sweep_result=sweep_result, falsification=falsification, paths=many,
                      notices=run_notices(inputs, first, last,
                                          earns=configs[0].backtest.cash_earns_risk_free,
                                          paths=many))


def run_notices(inputs: Inputs, first: pd.Timestamp, last: pd.Timestamp, *, earns: bool,
                paths: PathComparison | None = None) -> tuple[Notice, ...]:
    """The flags of a backtest from ``first`` to ``last``: the targets' and the market
    data's, the window's days without a usable VIX (:func:`vix_window_notices`), the days
    on which cash earns nothing (:func:`cash_rate_notices`; ``earns``:
    ``backtest.cash_earns_risk_free``) and the many paths' (``paths``)."""
    return merge_notices(inputs.targets.notices if inputs.targets is not None else (),
                         inputs.market.notices, vix_window_notices(inputs.market, first, last),
                         cash_rate_notices(inputs.market, first, last, earns=earns),
                         paths.runs.notices if paths is not None else ())


def backtest_window(inputs: Inputs, config: Config, start: DateLike | None = None,
                    end: DateLike | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last day of a backtest, after refusing suspect price jumps in them.

    ``start`` / ``end``, else the configuration's ``backtest.start`` / ``backtest.end``,
    else the last price date and the first session of the last :data:`YEARS_BY_DEFAULT`
    years before it.

    Raises
    ------
    DataError
        A suspect one-day price jump, not accepted, in the prices the backtest reads (the
        window and the risk estimators' look-back before it).
    """
    b = config.backtest
    start = start if start is not None or b.start is None else b.start.isoformat()
    end = end if end is not None or b.end is None else b.end.isoformat()
    dates = inputs.market.prices.index
    last = pd.Timestamp(end) if end is not None else pd.Timestamp(dates[-1])
    first = pd.Timestamp(start) if start is not None else \
        pd.Timestamp(dates[dates >= last - pd.DateOffset(years=YEARS_BY_DEFAULT)][0])
    refuse_jumps(inputs.market, inputs.market.prices.columns, last,
                 int(((dates >= first) & (dates <= last)).sum())
                 + max(*config.risk.cov_windows_days, config.risk.vol_window_days),
                 what="the backtest")
    return first, last


@dataclass(frozen=True)
class RecordVersions:
    """What a backtest reads from the record: an account's target versions, and the
    record's market (prices, volumes, VIX) and security master.

    Attributes
    ----------
    versions : tuple of Targets
        Every version in force on some day, as the planner picks them
        (:func:`driftwise.record.inputs.target_history`).
    market : MarketData or None
        The recorded market, when asked (no price file given).
    master : SecurityMaster or None
        The recorded security master (None: the record has none).
    """

    versions: tuple[Targets, ...]
    market: MarketData | None
    master: SecurityMaster | None


def record_versions(url: str, account: str, *, with_market: bool,
                    accept_jumps: Sequence[str] = ()) -> RecordVersions:
    """The target versions of ``account`` in the record at ``url`` (and its market when
    ``with_market``: every price recorded up to its last session).

    Raises
    ------
    DataError
        No record at ``url``, no such account, an account without target versions, no
        price recorded (with ``with_market``), or what the price reader refuses.
    """
    from driftwise.app.daily import last_session
    from driftwise.errors import DataError
    from driftwise.record import open_record
    from driftwise.record.holdings import account_id
    from driftwise.record.inputs import load_market, load_master, target_history

    with open_record(url).connect() as connection:
        versions = target_history(connection, account_id(connection, account))
        if not versions:
            raise DataError(f"account {account!r} has no target versions in the record",
                            file="<record>", field="targets",
                            expected="targets imported with driftwise import --targets "
                            f"--account {account}", found="none")
        market = (load_market(connection, last_session(connection), accept_jumps=accept_jumps)
                  if with_market else None)
        master = load_master(connection)
    return RecordVersions(versions=versions, market=market,
                          master=None if master.frame.empty else master)


def backtest_default_target(config: Config) -> DefaultTarget | None:
    """``portfolio.default_target`` when the configuration sets it, else None: without
    targets or that key, a backtest of given prices asks for targets rather than guess."""
    p = config.portfolio
    return p.default_target if "default_target" in p.model_fields_set else None


def falsification_table(result: BacktestResult, configs: Sequence[Config],
                        metrics: pd.DataFrame, *, tracking_aversion: float, samples: int,
                        block: int, seed: int) -> pd.DataFrame:
    """The falsification criterion for every (drift threshold, calendar) pair of policies.

    Returns one row per pair: ``threshold`` and ``calendar`` (policy names), then the
    fields of :meth:`~driftwise.backtest.falsification.FalsificationTest.record` (the
    verdict in utility form and in the methodology's form). Empty when the policies hold
    no drift-threshold rule (without the stress delay) or no calendar rule.
    """
    kinds = [(name, c.policy.trigger, c.policy.stress_delay)
             for name, c in zip(result.names, configs, strict=True)]
    thresholds = [n for n, kind, delay in kinds if kind is TriggerKind.THRESHOLD and not delay]
    calendars = [n for n, kind, _ in kinds if kind is TriggerKind.CALENDAR]
    te, cost = metrics["te_annual"], metrics["cost_per_year"]
    pairs = [(thr, cal) for thr in thresholds for cal in calendars]
    tests = falsification_tests(result, pairs, te=te, cost=cost,
                                tracking_aversion=tracking_aversion, samples=samples,
                                block=block, seed=seed)
    rows = [{"threshold": thr, "calendar": cal, **test.record()}
            for (thr, cal), test in zip(pairs, tests, strict=True)]
    return pd.DataFrame(rows)


def with_intervals(result: BacktestResult, metrics: pd.DataFrame, *, samples: int, block: int,
                   seed: int, alpha: float = 0.05) -> pd.DataFrame:
    """Add block-bootstrap percentile intervals of TE and cost per year per policy."""
    out = metrics.copy()
    for metric, prefix in zip(INTERVAL_METRICS, ("te", "cost"), strict=True):
        _, draws = bootstrap_metric(result, metric, block=block, samples=samples, seed=seed)
        out[f"{prefix}_low"] = np.nanquantile(draws, alpha / 2, axis=0)
        out[f"{prefix}_high"] = np.nanquantile(draws, 1 - alpha / 2, axis=0)
    return out


def theory_inputs(inputs: Inputs, config: Config, day: pd.Timestamp) -> ThresholdInputs | None:
    """Inputs of the corrected band for the target portfolio on ``day`` (None without targets).

    The portfolio is put exactly at target (USD 1 million) so that the band depends on the
    targets, the risk model and the cost model only, not on today's drift.
    """
    if inputs.targets is None:
        return None
    weights = inputs.targets.weights
    prices = inputs.market.prices.loc[day].reindex(weights.index).to_numpy(dtype=np.float64)
    nav = 1e6
    amounts = weights.to_numpy(dtype=np.float64) * nav / prices
    held = np.isfinite(amounts) & (amounts != 0)
    shares = pd.Series(amounts[held], index=weights.index[held])
    at_target = Holdings(shares=shares, cash_usd=nav * inputs.targets.cash_weight)
    probe = Inputs(holdings=at_target, targets=inputs.targets, master=inputs.master,
                   market=inputs.market, last_rebalance=day, costs=inputs.costs)
    report = monitor(probe, as_of=day, config=monitor_config(config))
    # k: the cost model's one-way rate on a representative trade, 5% of NAV pro rata to
    # the targets (at target the rebalancing trade itself is zero)
    trade = REPRESENTATIVE_TURNOVER * nav * report.state.target_weights
    k, _ = one_way_cost_rate(probe, report.state, cost_params(config), trade)
    return dataclasses.replace(report.thresholds.inputs, one_way_cost=k)


FREQUENCY_POLICIES = ("daily", "weekly", "monthly", "quarterly", "annual", "never")

FRICTIONLESS = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
                "constraints.min_trade_shares": 0.0, "constraints.min_adv_usd": 0.0,
                "constraints.max_turnover": 1e9, "backtest.initial_nav_usd": 1e6}
"""The frictionless setting of :func:`frequency_table`: fractional shares, no minimum
trade, no liquidity screen, no turnover cap (the cost is the table's flat level)."""


def frequency_table(inputs: Inputs, *, start: DateLike | None = None,
                    end: DateLike | None = None, cost_bps: float | None = 0.0,
                    progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Turnover and TE of calendar rebalancing from daily to never (Boyd et al. 2017, 7.1).

    Boyd, Busseti, Diamond, Kahn, Koh, Nystrup and Speth (2017), "Multi-Period Trading via
    Convex Optimization", Table 7.1: an equal-weight S&P 500 portfolio rebalanced daily,
    weekly, monthly, quarterly, annually or never; turnover falls and tracking error
    grows as the interval grows.

    Returns one row per frequency (:data:`FREQUENCY_POLICIES`) with ``turnover_per_year``,
    ``te_annual``, ``cost_per_year``, ``n_rebalances`` and the ratio of each to the
    previous (more frequent) row. The run is frictionless (:data:`FRICTIONLESS`:
    fractional shares, no minimum trade, no liquidity screen, no turnover cap, a USD 1
    million start) with a flat ``cost_bps`` of traded value (default 0: no costs; None:
    the full cost model); ``table.attrs["setting"]`` says so in words, and
    ``table.attrs["notices"]`` holds the run's notices.
    """
    from driftwise.config import policies

    makers = {"daily": policies.daily, "weekly": policies.weekly,
              "monthly": policies.monthly, "quarterly": policies.quarterly,
              "annual": policies.annual}
    base = Config().with_overrides(FRICTIONLESS, source="frequency table")
    if cost_bps is not None:
        base = base.with_overrides({"costs.flat_cost_bps": cost_bps}, source="frequency table")
    configs = [makers[name](base=base) for name in FREQUENCY_POLICIES[:-1]]
    configs.append(policies.never(base=base))
    result = backtest_configs(inputs, configs, start=start, end=end,
                              names=list(FREQUENCY_POLICIES), progress=progress)
    metrics = policy_metrics(result)
    table = metrics.loc[list(FREQUENCY_POLICIES),
                        ["turnover_per_year", "te_annual", "cost_per_year", "n_rebalances"]]
    table["turnover_ratio"] = table["turnover_per_year"].shift(1) / table["turnover_per_year"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["te_ratio"] = table["te_annual"] / table["te_annual"].shift(1)
    costs = ("the full cost model" if cost_bps is None else
             "no trading costs" if cost_bps == 0 else f"a flat {cost_bps:g} bps of traded value")
    table.attrs["setting"] = (
        "calendar rebalancing to target on the first NYSE session of each period, "
        "frictionless: fractional shares, no minimum trade, no liquidity screen, no turnover "
        f"cap, USD 1,000,000 at the start, {costs}; tracking error against the target "
        "rebalanced daily at no cost")
    table.attrs["notices"] = result.notices
    return table


def equal_weight_inputs(market: MarketData) -> Inputs:
    """Backtest inputs: equal weight over the tickers priced on every day of ``market``."""
    full = market.prices.columns[market.prices.notna().all().to_numpy()]
    market = dataclasses.replace(market, prices=market.prices[full],
                                 volumes=None if market.volumes is None
                                 else market.volumes[full])
    weights = pd.Series(1.0 / len(full), index=pd.Index(full, name="ticker"))
    targets = Targets(level=TargetLevel.ASSET, weights=weights,
                      band_abs=pd.Series(np.nan, index=weights.index),
                      band_rel=pd.Series(np.nan, index=weights.index))
    return Inputs(holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=0.0),
                  targets=targets, master=SecurityMaster.empty(), market=market)
