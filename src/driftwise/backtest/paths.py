"""Many paths: every rule over rolling start dates and random point-in-time portfolios.

One backtest is one path (one start date, one portfolio), and ranks on one path cannot be
told apart. :func:`make_paths` lays out the paths of a window: start dates every
``step_days`` sessions, each path ``length_days`` sessions long, and on each start date
either the given portfolio or ``portfolios`` random equal-weight portfolios of ``size``
stocks drawn from the stocks one could have chosen on that date
(:func:`driftwise.data.universe.eligible`: enough history up to the date, no look-ahead).
:func:`run_paths` runs every rule of a :class:`~driftwise.backtest.grid.RuleGrid` on every
path as one batch, each path one call of the engine's entry point
:func:`~driftwise.backtest.engine.run_backtest` with all the rules as its configurations
(a path is exactly the single-path run of the same portfolio and window,
``tests/backtest/test_paths.py``), and keeps each path's metrics and its
within-path block-bootstrap draws for :mod:`driftwise.backtest.path_stats`.

**Delistings.** A stock of a path that stops trading before the path's end
(:func:`driftwise.data.universe.stops_trading`, which reads the path's own sessions only)
does not end the path: it runs to its full end. The stock is carried at its last price
after its last session and sold there on the next session, the day its stop is known
(:func:`driftwise.data.universe.delisting_day`), by every rule: from that day a target
version without the stock is in force, its weight spread over the path's other stocks in
proportion to their weights (:func:`driftwise.data.universe.delisting_versions`, the rule
study's own; the given portfolio's versions each lose the stock the same way,
:func:`path_versions`), and the switch is an event of the engine
(:mod:`driftwise.backtest.versions`). The version names the stock it sells (its "delisted
or suspended" notice), so on the switch day every row first sells its whole position at
the carried price, paying the day's cost model's cost of the sale
(:func:`driftwise.backtest.engine.sell_exits`), whatever its rule's destination (half-way,
the band's edge, the optimized trade) or liquidity limits, and the stock is on every
row's no-buy list afterwards; then every rule rebalances on the event with its own sizing.
The path is flagged (the path table's ``stopped``: the stock and its last session; a
"delisted or suspended" notice with the sale day). Nothing before the sale day changes,
and a stop after a path's end changes nothing of it (``tests/backtest/test_paths_delisting.py``).

**Targets by sector or asset class.** The given portfolio keeps its group targets: a
path's inputs hold the group target (or versions) as given, and its stocks are the
members of the target groups in the security master that have a price on the path's
start date (:func:`given_stocks`; a member that starts trading later could not have been
chosen then), so the engine splits each group over them day by day as in a single run
(:mod:`driftwise.backtest.groups`). A member that stops trading inside the path is sold
on the next session like any stock: a version of the same group weights takes effect that
day naming it (:func:`path_versions`), and its group's weight is split over the members
left. Random portfolios (``portfolios`` > 0) are equal weight over their drawn stocks
whatever the level of the given targets, as with asset targets: they take only the
targets' cash weight.

**Cost tiers.** Each path's security master carries the market caps known on its start
date (:func:`driftwise.data.universe.caps_asof`: dated snapshots, else the dollar-volume
proxy); a stock with neither keeps the master's undated cap, flagged.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._types import FloatArray
from driftwise.backtest import cluster
from driftwise.backtest.batches import Window
from driftwise.backtest.bootstrap import bootstrap_metric
from driftwise.backtest.engine import BacktestResult, run_backtest
from driftwise.backtest.grid import RuleGrid
from driftwise.backtest.groups import members_of
from driftwise.backtest.metrics import policy_metrics
from driftwise.backtest.versions import exits_of
from driftwise.data.model import Inputs, SecurityMaster, TargetLevel, Targets
from driftwise.data.universe import (
    Universe,
    caps_asof,
    delisting_day,
    delisting_versions,
    eligible,
    stops_trading,
)
from driftwise.errors import ConfigError
from driftwise.flags import Flag, Notice
from driftwise.state import UNKNOWN_GROUP, group_column

PATH_METRICS = ("te_annual", "cost_per_year", "turnover_per_year", "n_rebalances",
                "return_annual", "vol_annual", "sharpe", "sharpe_diff", "max_drift",
                "mean_drift")
"""The metrics reported across paths (columns of ``policy_metrics``), plus ``score``."""
WITHIN_PATH = ("te_annual", "cost_per_year", "turnover_per_year", "return_annual",
               "vol_annual", "sharpe", "mean_drift")
"""The metrics whose within-path block-bootstrap draws enter the intervals."""


@dataclass(frozen=True)
class PathSettings:
    """How the paths of a window are laid out.

    Attributes
    ----------
    length_days : int
        Sessions per path (>= 21).
    step_days : int
        Sessions between consecutive start dates (>= 1).
    portfolios : int
        Random portfolios per start date; 0: the given portfolio on every start date.
    size : int
        Stocks per random portfolio (>= 2).
    seed : int
        Random seed of the draws.
    min_history_days : int
        Priced sessions a stock needs up to a start date to be drawn on it.
    """

    length_days: int = 756
    step_days: int = 63
    portfolios: int = 0
    size: int = 20
    seed: int = 0
    min_history_days: int = 252

    def __post_init__(self) -> None:
        for name, low in (("length_days", 21), ("step_days", 1), ("size", 2),
                          ("portfolios", 0), ("min_history_days", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"paths: {name} must be a whole number >= {low}; "
                                  f"found {value!r}")


@dataclass(frozen=True)
class PathSpec:
    """One path: its window, its stocks (empty: the given targets) and the stocks that
    stop trading inside it, each with its last session (sold on the next one)."""

    number: int
    start: pd.Timestamp
    end: pd.Timestamp
    start_index: int
    portfolio: int
    tickers: tuple[str, ...] = ()
    stopped: tuple[tuple[str, pd.Timestamp], ...] = ()

    @property
    def label(self) -> str:
        """``"2015-01-02 #3"`` (the start date and the portfolio's number)."""
        who = "given" if not self.tickers else f"#{self.portfolio + 1}"
        return f"{self.start.date()} {who}"


def make_paths(universe: Universe, first: pd.Timestamp | str, last: pd.Timestamp | str,
               settings: PathSettings, given: Sequence[str] = ()) -> list[PathSpec]:
    """The paths of ``[first, last]``: rolling start dates, and portfolios on each.

    Parameters
    ----------
    universe : Universe
        The stocks and their prices (NaN where a stock did not trade).
    first, last : timestamp
        The window every path lies in.
    settings : PathSettings
    given : sequence of str
        The given portfolio's stocks (used when ``settings.portfolios`` is 0, to find
        the ones that stop trading).

    Raises
    ------
    ConfigError
        The window holds fewer sessions than one path, or a start date has fewer
        eligible stocks than ``settings.size``.
    """
    days = universe.prices.index
    window = days[(days >= pd.Timestamp(first)) & (days <= pd.Timestamp(last))]
    n = settings.length_days
    if len(window) < n:
        raise ConfigError(f"paths: the window {pd.Timestamp(first).date()} .. "
                          f"{pd.Timestamp(last).date()} holds {len(window)} sessions, "
                          f"fewer than one path of {n} (--paths-length)")
    out: list[PathSpec] = []
    for k, i in enumerate(range(0, len(window) - n + 1, settings.step_days)):
        start, end = pd.Timestamp(window[i]), pd.Timestamp(window[i + n - 1])
        picks = _draws(universe, start, settings, k) if settings.portfolios else [()]
        for j, pick in enumerate(picks):
            stocks = list(pick) if pick else list(given)
            stopped = stops_trading(universe, stocks, start, end)
            out.append(PathSpec(len(out), start, end, k, j, tuple(pick),
                                tuple(sorted(stopped.items()))))
    return out


def _draws(universe: Universe, start: pd.Timestamp, settings: PathSettings,
           k: int) -> list[tuple[str, ...]]:
    pool = eligible(universe, start, min_history_days=settings.min_history_days)
    if len(pool) < settings.size:
        raise ConfigError(f"paths: {len(pool)} stocks could be chosen on {start.date()} "
                          f"(priced with {settings.min_history_days} sessions of history), "
                          f"fewer than --paths-size {settings.size}")
    rng = np.random.default_rng([settings.seed, k])
    return [tuple(sorted(rng.choice(np.asarray(pool), size=settings.size,
                                    replace=False).tolist()))
            for _ in range(settings.portfolios)]


def path_inputs(inputs: Inputs, universe: Universe, path: PathSpec) -> tuple[Inputs,
                                                                              tuple[Notice, ...]]:
    """The inputs of one path: its stocks, prices up to its end, caps known at its start.

    A random portfolio is equal weight over its stocks with the given targets' cash
    weight (0 without targets), one version over the path; the given portfolio keeps its
    target versions (the stocks of every version are the path's). A stock that stops
    trading inside the path is carried at its last price after its last session, and the
    target versions sell it on the next session (:func:`path_versions`), flagged.
    """
    targets, versions = inputs.targets, inputs.target_versions
    if path.tickers:
        cash = float(targets.cash_weight) if targets is not None else 0.0
        index = pd.Index(list(path.tickers), name="ticker")
        weights = pd.Series((1.0 - cash) / len(index), index=index)
        targets = Targets(level=TargetLevel.ASSET, weights=weights,
                          band_abs=pd.Series(np.nan, index=index),
                          band_rel=pd.Series(np.nan, index=index), cash_weight=cash)
        versions = ()
    if targets is None:
        raise ConfigError("paths: the given portfolio has no targets; give --targets or "
                          "--paths-portfolios")
    tickers = (list(path.tickers) if path.tickers else given_stocks(
        dataclasses.replace(inputs, targets=targets, target_versions=versions), path))
    market = inputs.market
    prices = market.prices.loc[:path.end, tickers]
    volumes = None if market.volumes is None else \
        market.volumes.reindex(index=prices.index, columns=tickers)
    notes: tuple[Notice, ...] = ()
    if path.stopped:
        prices = _carried(prices, path.stopped)
        versions = path_versions(targets, versions, path, universe)
        notes += (_stop_notice(path, universe),)
    market = dataclasses.replace(market, prices=prices, volumes=volumes)
    master, cap_notes = _master(inputs.master, universe, tickers, path.start)
    return dataclasses.replace(inputs, targets=targets, target_versions=versions,
                               market=market, master=master), notes + cap_notes


def given_stocks(inputs: Inputs, path: PathSpec | None = None) -> list[str]:
    """The stocks of the given portfolio: the tickers of its asset-level targets (and
    versions), and the members of its target groups in the security master that have a
    price (on ``path``'s start date when given, else on some day).

    Raises
    ------
    ConfigError
        A target group none of whose members has a price then (naming the path).
    """
    prices = inputs.market.prices
    if path is None:
        priced = {str(t) for t in prices.columns[prices.notna().any().to_numpy()]}
    else:
        before = prices.loc[:path.start]
        priced = (set() if before.empty
                  else {str(t) for t in before.columns[before.iloc[-1].notna().to_numpy()]})
    out: list[str] = []
    for version in (*(() if inputs.targets is None else (inputs.targets,)),
                    *inputs.target_versions):
        if version.level is TargetLevel.ASSET:
            out += [str(t) for t in version.weights.index]
            continue
        names = members_of(inputs.master, version)
        for group in version.weights.index:
            inside = [t for t in names if t in priced and _label(inputs, version, t) == group]
            if not inside:
                when = "" if path is None else f" on {path.start.date()}"
                where = "" if path is None else f"path {path.label}: "
                raise ConfigError(f"{where}no member of the {version.level.value} "
                                  f"{group!r} of {version.source} has a price{when}")
            out += inside
    return list(dict.fromkeys(out))


def _label(inputs: Inputs, version: Targets, ticker: str) -> str:
    """The group of ``ticker`` for ``version``, as the planner labels it."""
    value = inputs.master.frame[group_column(version)].get(ticker)
    return UNKNOWN_GROUP if value is None or pd.isna(value) else str(value)


def _carried(prices: pd.DataFrame, stopped: Sequence[tuple[str, pd.Timestamp]]
             ) -> pd.DataFrame:
    """``prices`` with each stopped stock's last price carried over the sessions after its
    last one (the price it is sold at; nothing before its last session is touched)."""
    out = prices.copy()
    for ticker, last in stopped:
        if ticker in out.columns:
            values = out[ticker].to_numpy(dtype=np.float64, copy=True)
            pos = int(pd.DatetimeIndex(out.index).searchsorted(last, side="right"))
            values[pos:] = values[pos - 1]
            out[ticker] = values
    return out


def path_versions(targets: Targets, versions: Sequence[Targets], path: PathSpec,
                  universe: Universe) -> tuple[Targets, ...]:
    """The target versions of a path whose stocks stop trading: each stock sold on the
    session after its last one, its weight spread over the others pro rata.

    Without target versions: :func:`~driftwise.data.universe.delisting_versions` of
    ``targets`` (in force from the start, then one version per sale day). With versions
    (each with its effective date, sorted): every version loses the stocks already sold
    by its effective date (its weight spread over its other stocks, in proportion), then
    :func:`~driftwise.data.universe.delisting_versions` sells those that stop while it is
    in force. Every version without a stopped stock is the given one, unchanged.

    Raises
    ------
    ConfigError
        Every stock of a version has stopped trading (nothing to spread the weight over).
    """
    stops = dict(path.stopped)
    try:
        if not versions and targets.level is TargetLevel.ASSET:
            out = delisting_versions(targets, stops, universe)
            return _selling(out, stops) if len(out) > 1 else ()
        ordered = sorted(versions or (dataclasses.replace(targets, effective_date=None),),
                         key=_effective)
        sale = {t: delisting_day(universe, last) for t, last in stops.items()}
        result: list[Targets] = []
        for j, version in enumerate(ordered):
            begin = _effective(version)
            until = _effective(ordered[j + 1]) if j + 1 < len(ordered) else pd.Timestamp.max
            if version.level is not TargetLevel.ASSET:
                result += _group_sales(version, sale, begin, until)
                continue
            sold = {t for t, day in sale.items() if day is not None and day <= begin}
            first = _without(version, sold, begin) if sold & set(version.weights.index) \
                else version
            later = {t: stops[t] for t, day in sale.items()
                     if day is not None and begin < day < until}
            parts = delisting_versions(first, later, universe)
            result += [first, *parts[1:]]
        if not versions and len(result) == 1:
            return ()
        return _selling(tuple(result), stops)
    except ConfigError as e:
        raise ConfigError(f"path {path.label}: {e}") from None


def _group_sales(version: Targets, sale: dict[str, pd.Timestamp | None],
                 begin: pd.Timestamp, until: pd.Timestamp) -> list[Targets]:
    """A group version and, on each sale day while it is in force, a version of the same
    group weights that names the stocks sold that day (its "delisted or suspended" notice:
    the engine sells them in full and takes them out of their groups,
    :mod:`driftwise.backtest.versions`); a stock sold on the version's own first day is
    named by the version itself."""
    def selling(v: Targets, gone: list[str], day: pd.Timestamp) -> Targets:
        return dataclasses.replace(
            v, effective_date=day,
            source=f"{version.source}, without {', '.join(gone)} (stopped trading; "
                   f"sold on {day.date()})",
            notices=(*v.notices, Notice(Flag.NO_PRICE_TODAY, "stopped trading: sold in "
                                        "full at the last price when this version takes "
                                        "effect", tuple(gone))))
    at_begin = sorted(t for t, day in sale.items() if day is not None and day == begin)
    out = [selling(version, at_begin, begin) if at_begin else version]
    by_day: dict[pd.Timestamp, list[str]] = {}
    for t, day in sale.items():
        if day is not None and begin < day < until:
            by_day.setdefault(day, []).append(t)
    out += [selling(version, sorted(by_day[day]), day) for day in sorted(by_day)]
    return out


def _selling(versions: Sequence[Targets], stops: dict[str, pd.Timestamp]
             ) -> tuple[Targets, ...]:
    """Each version that drops stocks of ``stops`` held by the one before it, with a
    "delisted or suspended" notice naming those it does not name yet (the versions of
    :func:`~driftwise.data.universe.delisting_versions` name theirs): the engine sells
    them in full on its switch day (:func:`driftwise.backtest.versions.exits_of`)."""
    out = [versions[0]]
    for before, version in itertools.pairwise(versions):
        named = set(exits_of(version))
        gone = tuple(sorted(t for t in before.weights.index
                            if t in stops and t not in version.weights.index
                            and t not in named))
        if gone:
            version = dataclasses.replace(version, notices=(*version.notices, Notice(
                Flag.NO_PRICE_TODAY, "stopped trading: sold in full at the last price when "
                "this version takes effect", gone)))
        out.append(version)
    return tuple(out)


def _effective(version: Targets) -> pd.Timestamp:
    """A version's effective date (the earliest timestamp when it has none)."""
    return pd.Timestamp.min if version.effective_date is None else \
        pd.Timestamp(version.effective_date)


def _without(version: Targets, gone: set[str], day: pd.Timestamp) -> Targets:
    """``version`` without the stocks ``gone``, their weight spread over the others in
    proportion to their weights (as :func:`~driftwise.data.universe.delisting_versions`)."""
    weights = version.weights.astype(np.float64)
    drop = sorted(t for t in gone if t in weights.index)
    left = weights.drop(drop)
    if left.empty or float(left.sum()) <= 0.0:
        raise ConfigError(f"every stock of the target {version.source} has stopped trading "
                          f"by {day.date()}; nothing is left to hold")
    return dataclasses.replace(
        version, weights=left * (float(weights.sum()) / float(left.sum())),
        band_abs=version.band_abs.drop(drop, errors="ignore"),
        band_rel=version.band_rel.drop(drop, errors="ignore"),
        source=f"{version.source}, without {', '.join(drop)} (stopped trading before it "
               "took effect)")


def _stop_notice(path: PathSpec, universe: Universe) -> Notice:
    """The "delisted or suspended" notice of a path whose stocks stop trading."""
    parts = []
    for ticker, last in path.stopped:
        day = delisting_day(universe, last)
        sold = f"sold at its last price on {day.date()}" if day is not None else \
            "valued at its last price"
        parts.append(f"{ticker} stopped trading after {last.date()} ({sold})")
    return Notice(Flag.NO_PRICE_TODAY, f"path {path.label}: " + ", ".join(parts)
                  + "; every rule sells it on the next session and spreads its target "
                  "weight over the other stocks in proportion; the path runs to its end "
                  f"on {path.end.date()}", tuple(t for t, _ in path.stopped))


def _master(master: SecurityMaster, universe: Universe, tickers: list[str],
            start: pd.Timestamp) -> tuple[SecurityMaster, tuple[Notice, ...]]:
    caps, notes = caps_asof(universe, tickers, start)
    frame = master.frame.reindex(pd.Index(tickers, name=master.frame.index.name))
    undated = frame["market_cap_usd"] if "market_cap_usd" in frame else \
        pd.Series(np.nan, index=frame.index)
    known = caps.reindex(frame.index)
    frame = frame.assign(market_cap_usd=known.where(known.notna(), undated))
    fallback = [str(t) for t in frame.index if pd.isna(known[t]) and pd.notna(undated[t])]
    kept = tuple(n for n in notes if "no market cap or dollar volume" not in n.detail)
    if fallback:
        kept += (Notice(Flag.UNKNOWN_MARKET_CAP, "no dated market cap or dollar volume on "
                        "a path's start date: the security master's undated cap is used",
                        tuple(fallback)),)
    return dataclasses.replace(master, frame=frame), kept


@dataclass(frozen=True, eq=False)
class PathRuns:
    """Every rule on every path.

    Attributes
    ----------
    paths : list of PathSpec, length P
    names : list of str, length C
    metrics : pd.DataFrame
        One row per (path, rule): ``path``, ``config``, then :data:`PATH_METRICS`.
    draws : dict of str to ndarray, each shape (P, S, C)
        Within-path block-bootstrap draws of each metric of :data:`WITHIN_PATH`.
    notices : tuple of Notice
    """

    paths: list[PathSpec]
    names: list[str]
    metrics: pd.DataFrame
    draws: dict[str, FloatArray]
    notices: tuple[Notice, ...]

    def values(self, metric: str) -> FloatArray:
        """One metric, shape (P, C)."""
        table = self.metrics.pivot(index="path", columns="config", values=metric)
        return np.asarray(table.loc[:, self.names].to_numpy(dtype=np.float64))

    def table(self) -> pd.DataFrame:
        """One row per path: number, start, end, sessions, portfolio, stocks, stops."""
        return pd.DataFrame({
            "path": [p.number for p in self.paths],
            "start": [p.start for p in self.paths], "end": [p.end for p in self.paths],
            "portfolio": [p.portfolio for p in self.paths],
            "tickers": [" ".join(p.tickers) for p in self.paths],
            "stopped": [" ".join(f"{t}@{d.date()}" for t, d in p.stopped)
                        for p in self.paths]})


def run_path(inputs: Inputs, universe: Universe, grid: RuleGrid, path: PathSpec,
             nav_usd: float, cash_earns_risk_free: bool = True
             ) -> tuple[BacktestResult, tuple[Notice, ...]]:
    """One path's run: the engine on the path's inputs and window, every rule at once
    (``cash_earns_risk_free`` as :class:`~driftwise.backtest.batches.Window`)."""
    data, notes = path_inputs(inputs, universe, path)
    window = Window(path.start, path.end, False, nav_usd, "the paths' starting NAV",
                    cash_earns_risk_free=cash_earns_risk_free)
    return run_backtest(data, grid, window, workers=1), notes


@dataclass(frozen=True, eq=False)
class _Shared:
    """What every path's task reads (sent once to each Dask worker)."""

    inputs: Inputs
    universe: Universe
    grid: RuleGrid
    nav_usd: float
    samples: int
    block: int
    seed: int
    cash_earns_risk_free: bool


_PathOut = tuple[list[str], pd.DataFrame, dict[str, FloatArray], list[Notice]]


def _one_path(shared: _Shared, path: PathSpec) -> _PathOut:
    """One path's rule names, metrics, within-path draws and notices."""
    result, notes = run_path(shared.inputs, shared.universe, shared.grid, path,
                             shared.nav_usd, shared.cash_earns_risk_free)
    m = policy_metrics(result).reset_index()
    frame = m.assign(path=path.number)[["path", "config", *PATH_METRICS]]
    draws = {metric: bootstrap_metric(result, metric, block=shared.block,
                                      samples=shared.samples,
                                      seed=shared.seed + path.number)[1]
             for metric in WITHIN_PATH}
    return list(result.names), frame, draws, [*notes, *result.notices]


def run_paths(inputs: Inputs, universe: Universe, grid: RuleGrid, paths: Sequence[PathSpec],
              *, nav_usd: float, samples: int, block: int, seed: int,
              progress: Callable[[int, int], None] | None = None,
              cash_earns_risk_free: bool = True, workers: int | None = None,
              scheduler: str | None = None) -> PathRuns:
    """Run every rule of ``grid`` on every path, one batch (see the module notes).

    ``samples``, ``block`` and ``seed`` drive each path's within-path circular block
    bootstrap (path ``p`` uses ``seed + p``).

    ``workers`` above 1 (processes of a local Dask cluster) or ``scheduler`` (the address
    of a running one) run the paths as tasks of :mod:`driftwise.backtest.cluster`, the
    inputs sent to each worker once; each path is the same computation wherever it runs
    and the results are put back in path order, so the result is the serial one bit for
    bit. Otherwise (the default) this process runs them one after the other.
    """
    if not paths:
        raise ConfigError("paths: no path to run")
    cluster.check_workers(workers)
    shared = _Shared(inputs, universe, grid, nav_usd, samples, block, seed,
                     cash_earns_risk_free)
    if scheduler is None and (workers is None or workers == 1):
        outs = []
        for done, path in enumerate(paths):
            outs.append(_one_path(shared, path))
            if progress is not None:
                progress(done + 1, len(paths))
    else:
        with cluster.client(workers, scheduler) as dask_client:
            outs = cluster.run_tasks(dask_client, _one_path, list(paths), shared, progress)
    notices = [n for out in outs for n in out[3]]
    return PathRuns(paths=list(paths), names=outs[-1][0],
                    metrics=pd.concat([out[1] for out in outs], ignore_index=True),
                    draws={m: np.stack([out[2][m] for out in outs]) for m in WITHIN_PATH},
                    notices=_merge(notices))


def _merge(notices: list[Notice]) -> tuple[Notice, ...]:
    """One notice per flag and detail, the tickers of all of them."""
    seen: dict[tuple[Flag, str], list[str]] = {}
    for n in notices:
        names = seen.setdefault((n.flag, n.detail), [])
        names += [t for t in n.tickers if t not in names]
    return tuple(Notice(flag, detail, tuple(sorted(names)))
                 for (flag, detail), names in seen.items())


def universe_of(inputs: Inputs) -> Universe:
    """The universe of a backtest's inputs: their prices (NaN where a stock did not
    trade), the dollar volume when volumes are given, no dated caps."""
    market = inputs.market
    dollars = None if market.volumes is None else \
        (market.volumes.reindex_like(market.prices) * market.prices)
    return Universe(prices=market.prices, dollar_volume_usd=dollars, caps=None,
                    source=market.source)
