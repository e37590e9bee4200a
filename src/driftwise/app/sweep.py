"""Sensitivity sweeps: the grid, the tidy results table, the empirical optimal threshold.

The sensitivity study asks for thresholds x cost levels x VIX regime multipliers x impact model
as one vectorized run, a tidy table (CSV, Parquet), a ranking, and (section 3.6) the
empirical optimal threshold next to the corrected theoretical band.

* :class:`SweepGrid` expands into :class:`~driftwise.config.Config` variants that the
  engine runs as one configurations axis.
* :func:`tidy` joins each configuration's grid coordinates (read back from the TOML the
  result stores, so they do not depend on how the engine labels its ``params``) with
  :func:`~driftwise.backtest.metrics.policy_metrics`.
* :func:`empirical_optimal_threshold` and :func:`threshold_comparison` read that table;
  given the sweep's calendar years (:func:`~driftwise.backtest.years.yearly_metrics`),
  the optimum carries the set of thresholds not told apart from it (the 95% CR2
  ``t(G − 1)`` interval of their mean yearly objective difference to the optimum reaches
  0 or below), else it is labelled a one-path point estimate without an interval.

A **flat cost level** replaces the whole cost model (``costs.flat_cost_bps``; it is not
scaled by the VIX regime), so the VIX multipliers and impact model only matter for the
full model (cost level ``None``): the grid expands them only there, and the tidy table
leaves them empty (NaN / NA) on flat-cost rows.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum, auto
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from driftwise._atomic import atomic_path
from driftwise.backtest.metrics import ResultLike
from driftwise.backtest.years import YearlyMetrics, difference_to
from driftwise.config import (
    BacktestConfig,
    Config,
    Destination,
    ImpactModel,
    TriggerKind,
    loads_config,
)
from driftwise.errors import ConfigError, DataError
from driftwise.metrics.threshold import ThresholdInputs, ThresholdReport

__all__ = [
    "GRID_COLUMNS", "Objective", "SweepGrid", "empirical_optimal_threshold", "progress_bar",
    "threshold_comparison", "tidy", "write_table",
]

POINT_ESTIMATE = "one path, whole window: a point estimate without an interval"
YEARS_BASIS = ("thresholds not told apart from the optimum: 95% CR2 t(G−1) interval of the "
               "mean yearly objective difference across the window's G calendar years")
"""What the optimum rests on (the ``basis`` column), without and with calendar years."""

BPS = 1e4
GRID_COLUMNS = (
    "trigger", "threshold", "destination", "flat_cost_bps", "cost_scale",
    "vix_mult_low", "vix_mult_mid", "vix_mult_high", "impact_model",
)
"""Grid coordinates :func:`tidy` reads from each configuration's TOML."""

_THRESHOLD_TRIGGERS = frozenset({TriggerKind.THRESHOLD, TriggerKind.DYNAMIC})
_SUPERSEDED = frozenset({
    "policy.trigger", "policy.threshold", "policy.destination", "costs.flat_cost_bps",
    "costs.cost_scale", "costs.vix_multipliers", "costs.impact_model",
})
"""Dotted ``params`` columns that :data:`GRID_COLUMNS` replace in :func:`tidy`."""
Triple = tuple[float, float, float]


class Objective(StrEnum):
    """What the empirical optimal threshold minimizes."""

    UTILITY = auto()
    """``gamma / 2 * te_annual^2 + cost_per_year`` (the ranking's utility score)."""
    MIN_TE_UNDER_BUDGET = auto()
    """Smallest ``te_annual`` among thresholds with ``cost_per_year <= cost_budget``."""


def _floats(values: Iterable[Any], name: str, *, low: float, high: float = math.inf,
            low_open: bool = False) -> tuple[float, ...]:
    out = []
    for v in values:
        f = float(v)
        if not (math.isfinite(f) and (f > low if low_open else f >= low) and f <= high):
            raise ConfigError(f"sweep grid, field '{name}': expected numbers "
                              f"{'>' if low_open else '>='} {low:g}"
                              + (f" and <= {high:g}" if math.isfinite(high) else "")
                              + f", found {v!r}")
        out.append(f)
    return tuple(out)


def _unique(values: tuple[Any, ...], name: str) -> tuple[Any, ...]:
    if len(set(values)) != len(values) or not values:
        raise ConfigError(f"sweep grid, field '{name}': expected at least one value, "
                          f"each once, found {list(values)!r}")
    return values


@dataclass(frozen=True)
class SweepGrid:
    """A grid of threshold rules over cost assumptions (the sensitivity study).

    Attributes
    ----------
    thresholds : tuple of float
        Portfolio drift thresholds, fractions of NAV in ``[0, 1]`` (0: any drift fires).
    cost_levels_bps : tuple of float or None
        Flat all-in costs in bps of traded value; ``None`` = the full cost model.
    vix_multipliers : tuple of (float, float, float)
        Spread and impact multipliers by VIX regime (full model only).
    impact_models : tuple of ImpactModel
        Impact models (full model only).
    destinations : tuple of Destination
        What a rebalance trades to (default: full).
    seed : int
        Random seed written into every configuration (``backtest.seed``).

    Raises
    ------
    ConfigError
        An empty or repeated list, or a value out of range.
    """

    thresholds: tuple[float, ...]
    cost_levels_bps: tuple[float | None, ...]
    vix_multipliers: tuple[Triple, ...] = ((1.0, 1.5, 2.5),)
    impact_models: tuple[ImpactModel, ...] = (ImpactModel.SQUARE_ROOT,)
    destinations: tuple[Destination, ...] = (Destination.FULL,)
    seed: int = 0

    def __post_init__(self) -> None:
        def put(name: str, value: tuple[Any, ...]) -> None:
            object.__setattr__(self, name, _unique(value, name))

        put("thresholds", _floats(self.thresholds, "thresholds", low=0.0, high=1.0))
        put("cost_levels_bps", tuple(
            None if c is None else _floats([c], "cost_levels_bps", low=0.0)[0]
            for c in self.cost_levels_bps))
        triples = []
        for t in self.vix_multipliers:
            values = _floats(t, "vix_multipliers", low=0.0, low_open=True)
            if len(values) != 3:
                raise ConfigError(f"sweep grid, field 'vix_multipliers': expected triples, "
                                  f"found {t!r}")
            triples.append((values[0], values[1], values[2]))
        put("vix_multipliers", tuple(triples))
        try:
            put("impact_models", tuple(ImpactModel(m) for m in self.impact_models))
            put("destinations", tuple(Destination(d) for d in self.destinations))
        except ValueError as exc:
            raise ConfigError(f"sweep grid: {exc}") from None
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"sweep grid, field 'seed': expected a whole number >= 0, "
                              f"found {self.seed!r}")

    @classmethod
    def from_config(cls, backtest: BacktestConfig, *, full_model: bool = True,
                    destinations: Sequence[Destination | str] = (Destination.FULL,)
                    ) -> SweepGrid:
        """The grid of a ``[backtest]`` section.

        Parameters
        ----------
        backtest : BacktestConfig
            Its ``thresholds``, ``cost_levels_bps``, ``vix_multipliers``,
            ``impact_models`` and ``seed``.
        full_model : bool
            Also sweep the full cost model (cost level ``None``) next to the flat
            levels (default True: otherwise the VIX and impact sweeps have no effect).
        destinations : sequence of Destination or str
            Destinations to sweep (the TOML has no such list).
        """
        levels: tuple[float | None, ...] = tuple(backtest.cost_levels_bps)
        return cls(
            thresholds=tuple(backtest.thresholds),
            cost_levels_bps=(*levels, None) if full_model else levels,
            vix_multipliers=tuple((m[0], m[1], m[2]) for m in backtest.vix_multipliers),
            impact_models=tuple(backtest.impact_models),
            destinations=tuple(Destination(d) for d in destinations),
            seed=backtest.seed,
        )

    def points(self) -> list[dict[str, object]]:
        """The grid as dotted-field overrides, one dict per configuration.

        Order: destination, then cost level, then VIX triple, then impact model, then
        threshold (the fastest). A flat cost level gives one point per threshold and
        destination; the full model (``None``) one per VIX triple and impact model too.
        """
        out: list[dict[str, object]] = []
        for dest, level in itertools.product(self.destinations, self.cost_levels_bps):
            costs: list[dict[str, object]] = (
                [{"costs.flat_cost_bps": level}] if level is not None else
                [{"costs.flat_cost_bps": None, "costs.vix_multipliers": vix,
                  "costs.impact_model": model}
                 for vix, model in itertools.product(self.vix_multipliers, self.impact_models)])
            for cost, h in itertools.product(costs, self.thresholds):
                out.append({"policy.trigger": TriggerKind.THRESHOLD, "policy.threshold": h,
                            "policy.destination": dest, **cost, "backtest.seed": self.seed})
        return out

    def configs(self, base: Config) -> list[Config]:
        """``base`` with each grid point applied (:meth:`Config.with_overrides`).

        Raises
        ------
        ConfigError
            A grid value the configuration rejects.
        """
        return [base.with_overrides(point, source="sweep grid") for point in self.points()]

    def __len__(self) -> int:
        """Number of configurations of the grid."""
        n_flat = sum(level is not None for level in self.cost_levels_bps)
        n_full = len(self.cost_levels_bps) - n_flat
        per_rule = n_flat + n_full * len(self.vix_multipliers) * len(self.impact_models)
        return len(self.thresholds) * len(self.destinations) * per_rule


# ------------------------------------------------------------------ the table


def _grid_row(toml: str, source: str) -> dict[str, object]:
    """Grid coordinates of one configuration (NaN / None where not applicable)."""
    cfg = loads_config(toml, source=source)
    policy, costs = cfg.policy, cfg.costs
    full = costs.flat_cost_bps is None
    vix = costs.vix_multipliers if full else (math.nan,) * 3
    return {
        "trigger": policy.trigger.value,
        "threshold": policy.threshold if policy.trigger in _THRESHOLD_TRIGGERS else math.nan,
        "destination": policy.destination.value,
        "flat_cost_bps": math.nan if costs.flat_cost_bps is None else costs.flat_cost_bps,
        "cost_scale": costs.cost_scale,
        "vix_mult_low": vix[0], "vix_mult_mid": vix[1], "vix_mult_high": vix[2],
        "impact_model": costs.impact_model.value if full else None,
    }


def _plain(value: object) -> object:
    """A table cell a CSV or Parquet file holds: enums as text, sequences joined by ``/``."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return value


def tidy(result: ResultLike, metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: its grid coordinates, then its metrics.

    Parameters
    ----------
    result : ResultLike
        The backtest result (its ``names``, ``config_toml`` and ``params``).
    metrics : pandas.DataFrame
        :func:`~driftwise.backtest.metrics.policy_metrics` of the same result (indexed
        by configuration name).

    Returns
    -------
    pandas.DataFrame
        Columns ``config`` (the name), :data:`GRID_COLUMNS` read from each
        configuration's TOML (``threshold`` NaN unless the trigger is ``threshold`` or
        ``dynamic``; ``flat_cost_bps`` NaN for the full model; the VIX multipliers and
        ``impact_model`` empty for a flat cost, which ignores them), then the other
        ``params`` columns (sequences joined by ``/``; the dotted columns the grid
        columns replace, such as ``policy.threshold``, left out), then the metrics.
        Fractions, not percents.

    Raises
    ------
    DataError
        ``params``, ``config_toml`` or ``metrics`` not matching the configurations.
    ConfigError
        A stored configuration that does not parse.
    """
    names = [str(n) for n in result.names]
    tomls = list(result.config_toml)
    if len(tomls) != len(names) or len(result.params) != len(names):
        raise DataError("one row per configuration expected", file="backtest result",
                        field="params/config_toml", expected=f"{len(names)} rows",
                        found=f"{len(result.params)} params, {len(tomls)} config_toml")
    missing = [n for n in result.names if n not in metrics.index]
    if missing:
        raise DataError("metrics miss configurations", file="metrics", field="config",
                        found=", ".join(map(str, missing[:5])))
    grid = pd.DataFrame([_grid_row(t, f"config_toml[{i}] ({names[i]})")
                         for i, t in enumerate(tomls)])
    out = pd.concat([pd.DataFrame({"config": names}), grid], axis=1)
    taken = set(out.columns) | set(metrics.columns) | _SUPERSEDED
    for column in result.params.columns:
        if str(column) not in taken:
            out[str(column)] = pd.Series([_plain(v) for v in result.params[column].tolist()])
    values = metrics.loc[list(result.names)].reset_index(drop=True)
    return pd.concat([out, values], axis=1)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a results table as CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; its index is not written (tidy tables carry their keys as columns).
    path : str or Path
        Destination; the suffix chooses the format; parent folders are created.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ConfigError
        An unknown suffix, or a path that cannot be written.
    """
    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".csv", ".csv.gz", ".parquet")):
        raise ConfigError(f"{path}: unknown table format; use a .csv, .csv.gz or .parquet "
                          "file name")
    try:
        with atomic_path(path) as temp:
            if name.endswith(".parquet"):
                frame.to_parquet(temp, index=False)
            else:
                frame.to_csv(temp, index=False)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write table ({exc.strerror or exc})") from None
    return path


# ----------------------------------------------------------- optimal threshold


def _objective_values(rows: pd.DataFrame, objective: Objective, tracking_aversion: float,
                      cost_budget: float | None) -> np.ndarray[Any, np.dtype[np.float64]]:
    te = rows["te_annual"].to_numpy(dtype=np.float64)
    cost = rows["cost_per_year"].to_numpy(dtype=np.float64)
    if objective is Objective.UTILITY:
        return np.asarray(0.5 * tracking_aversion * te**2 + cost, dtype=np.float64)
    if cost_budget is None:
        raise ConfigError("objective 'min_te_under_budget' needs a cost_budget "
                          "(cost per year, fraction of NAV)")
    return np.where(cost <= cost_budget, te, np.nan)


def empirical_optimal_threshold(
    table: pd.DataFrame, *, by: Sequence[str] | None = None,
    objective: Objective | str = Objective.UTILITY, tracking_aversion: float = 2.0,
    cost_budget: float | None = None, yearly: YearlyMetrics | None = None,
) -> pd.DataFrame:
    """The swept threshold with the best objective, per cost level and other grid values.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`tidy` table (needs ``threshold``, ``te_annual``, ``cost_per_year``);
        rows without a threshold (calendar rules...) are ignored.
    by : sequence of str, optional
        Columns defining a group; default: the :data:`GRID_COLUMNS` other than
        ``threshold`` present in the table (so each cost level, VIX triple, impact model
        and destination gets its own optimum). Missing values form their own group.
    objective : Objective or str
        ``"utility"`` (default): minimize ``gamma / 2 * te_annual^2 + cost_per_year``;
        ``"min_te_under_budget"``: minimize ``te_annual`` subject to
        ``cost_per_year <= cost_budget``.
    tracking_aversion : float
        ``gamma`` of the utility (2.0, the ``policy.tracking_aversion`` default).
    cost_budget : float, optional
        Yearly cost budget, fraction of NAV (required by ``min_te_under_budget``).
    yearly : YearlyMetrics, optional
        TE and cost of every configuration of the table (column ``config``) in each
        calendar year of the window (:func:`~driftwise.backtest.years.yearly_metrics`):
        the thresholds not told apart from the optimum come from them.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns, ``optimal_threshold`` (NaN when no
        threshold meets the budget), ``objective_value``, its ``te_annual`` and
        ``cost_per_year``, ``config`` (when the table has it), ``n_thresholds``,
        ``at_grid_edge`` (the optimum is the smallest or largest threshold swept, so
        the true optimum may lie outside the grid), then ``not_told_apart`` (the
        thresholds whose 95% interval of the mean yearly objective difference to the
        optimum reaches 0 or below, "/"-joined fractions, the optimum included),
        ``not_told_apart_low`` / ``not_told_apart_high`` (their smallest and largest),
        ``n_years`` (``G``) and ``basis`` (what the optimum rests on, in words). Without
        ``yearly`` those are empty, ``n_years`` is 0 and ``basis`` says the optimum is a
        one-path point estimate. Ties go to the smaller threshold.

    Raises
    ------
    ConfigError
        An unknown objective or column, a missing budget, a bad ``tracking_aversion``,
        or ``yearly`` without the table's configurations (or a table without ``config``).

    Notes
    -----
    The yearly objective of a threshold is the objective on each calendar year's days
    (``γ/2·TE_y² + cost_y``, or ``TE_y`` of a threshold within the budget). With ``G``
    years, the interval of the mean yearly difference is CR2 with ``t(G − 1)``, the
    one-sample t interval (:mod:`driftwise.backtest.years`); with fewer than two years
    there is none, and no threshold is told apart from the optimum.
    """
    try:
        goal = Objective(objective)
    except ValueError:
        raise ConfigError(f"objective must be one of {[o.value for o in Objective]}, "
                          f"found {objective!r}") from None
    gamma = float(tracking_aversion)
    if not (math.isfinite(gamma) and gamma >= 0.0):
        raise ConfigError(f"tracking_aversion must be a non-negative number, found {gamma}")
    keys = ([c for c in GRID_COLUMNS if c != "threshold" and c in table.columns]
            if by is None else list(by))
    missing = [c for c in (*keys, "threshold", "te_annual", "cost_per_year")
               if c not in table.columns]
    if missing:
        raise ConfigError(f"empirical_optimal_threshold: unknown column(s) {missing}")
    rows = table[table["threshold"].notna()].sort_values("threshold", kind="stable")
    rows = rows.assign(objective_value=_objective_values(rows, goal, gamma, cost_budget))
    if yearly is not None:
        _check_years(rows, yearly)
    out = []
    groups = rows.groupby(keys, dropna=False, sort=True) if keys else [((), rows)]
    for _, group in groups:
        row = _best(group, keys)
        row.update(_not_told_apart(group, row, goal, gamma, yearly))
        out.append(row)
    columns = [*keys, "optimal_threshold", "objective_value", "te_annual", "cost_per_year",
               *(["config"] if "config" in table.columns else []),
               "n_thresholds", "at_grid_edge", "not_told_apart", "not_told_apart_low",
               "not_told_apart_high", "n_years", "basis"]
    return pd.DataFrame(out, columns=columns)


def _check_years(rows: pd.DataFrame, yearly: YearlyMetrics) -> None:
    if "config" not in rows.columns:
        raise ConfigError("empirical_optimal_threshold: calendar years need the table's "
                          "'config' column")
    missing = sorted(set(map(str, rows["config"])) - set(yearly.names))
    if missing:
        raise ConfigError(f"empirical_optimal_threshold: the calendar years miss "
                          f"configuration(s) {missing[:5]}")


def _not_told_apart(group: pd.DataFrame, best: dict[str, object], goal: Objective,
                    gamma: float, yearly: YearlyMetrics | None) -> dict[str, object]:
    """The thresholds of ``group`` not told apart from its optimum (module notes)."""
    empty: dict[str, object] = {"not_told_apart": None, "not_told_apart_low": math.nan,
                                "not_told_apart_high": math.nan, "n_years": 0,
                                "basis": POINT_ESTIMATE}
    if yearly is None or best.get("config") is None:
        return empty
    names = [str(c) for c in group["config"]]
    cols = [yearly.column(n) for n in names]
    if goal is Objective.UTILITY:
        values = yearly.score(gamma)[:, cols]
    else:  # TE in each year of the thresholds within the budget
        feasible = np.isfinite(group["objective_value"].to_numpy(dtype=np.float64))
        values = np.where(feasible[None, :], yearly.te[:, cols], np.nan)
    _, low, _ = difference_to(values, yearly.years, names.index(str(best["config"])))
    thresholds = group["threshold"].to_numpy(dtype=np.float64)
    finite = np.isfinite(values).all(axis=0)
    keep = finite & ~(low > 0.0)  # a NaN interval (fewer than two years) tells none apart
    kept = np.unique(thresholds[keep])
    return {"not_told_apart": "/".join(f"{h:g}" for h in kept),
            "not_told_apart_low": float(kept.min()), "not_told_apart_high": float(kept.max()),
            "n_years": yearly.n_years, "basis": YEARS_BASIS}


def _best(group: pd.DataFrame, keys: list[str]) -> dict[str, object]:
    score = group["objective_value"].to_numpy(dtype=np.float64)
    first = group.iloc[0]
    row: dict[str, object] = {k: first[k] for k in keys}
    thresholds = group["threshold"].to_numpy(dtype=np.float64)
    row["n_thresholds"] = int(np.unique(thresholds).size)
    if np.all(np.isnan(score)):
        row.update(optimal_threshold=math.nan, objective_value=math.nan, te_annual=math.nan,
                   cost_per_year=math.nan, config=None, at_grid_edge=False)
        return row
    best = group.iloc[int(np.nanargmin(score))]
    h = float(best["threshold"])
    row.update(optimal_threshold=h, objective_value=float(best["objective_value"]),
               te_annual=float(best["te_annual"]), cost_per_year=float(best["cost_per_year"]),
               at_grid_edge=bool(h in (thresholds.min(), thresholds.max())))
    if "config" in group.columns:
        row["config"] = best["config"]
    return row


def threshold_comparison(
    table: pd.DataFrame, theory: ThresholdInputs, *, by: Sequence[str] | None = None,
    objective: Objective | str = Objective.UTILITY, tracking_aversion: float = 2.0,
    cost_budget: float | None = None, yearly: YearlyMetrics | None = None,
) -> pd.DataFrame:
    """The empirical optimal threshold beside the theoretical ones for the same cost.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`tidy` table.
    theory : ThresholdInputs
        Inputs of :class:`~driftwise.metrics.threshold.ThresholdReport`; its
        ``one_way_cost`` is replaced per row by the row's cost level
        (``flat_cost_bps / 1e4``), and kept for full-model rows (the caller's average
        cost of the model); either is multiplied by the row's ``cost_scale``.
    by, objective, tracking_aversion, cost_budget, yearly :
        As in :func:`empirical_optimal_threshold`.

    Returns
    -------
    pandas.DataFrame
        :func:`empirical_optimal_threshold` plus ``one_way_cost`` (fraction),
        ``half_band`` (corrected no-trade half-band ``(3 k s^2 / (4 lambda))^(1/3)``),
        ``square_root_threshold`` (the square-root formula, shown for comparison) and
        ``empirical_over_band``.

    Notes
    -----
    The empirical threshold bounds the portfolio drift ``1/2 sum_i |d_i|``; the band is
    in the same units, measured along the drift direction
    (:func:`~driftwise.metrics.threshold.corrected_band`, whose ``s`` and ``lambda`` the
    ``theory`` carries: the band at each row's cost is that function's at the same
    inputs). For two assets (or one risky asset and cash) the drift moves along one
    direction and the theory is exact up to its diffusion assumptions; for more assets
    the ratio shows how far the one-dimensional theory carries.
    """
    optimum = empirical_optimal_threshold(table, by=by, objective=objective,
                                          tracking_aversion=tracking_aversion,
                                          cost_budget=cost_budget, yearly=yearly)
    flat = (optimum["flat_cost_bps"].to_numpy(dtype=np.float64)
            if "flat_cost_bps" in optimum.columns else np.full(len(optimum), np.nan))
    scale = (optimum["cost_scale"].to_numpy(dtype=np.float64)
             if "cost_scale" in optimum.columns else np.ones(len(optimum)))
    k = np.where(np.isnan(flat), theory.one_way_cost, flat / BPS) * np.nan_to_num(scale, nan=1.0)
    reports = [ThresholdReport.from_inputs(dataclasses.replace(theory, one_way_cost=float(c)))
               for c in k]
    optimum["one_way_cost"] = k
    optimum["half_band"] = [r.half_band for r in reports]
    optimum["square_root_threshold"] = [r.square_root_threshold for r in reports]
    band = optimum["half_band"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        optimum["empirical_over_band"] = optimum["optimal_threshold"].to_numpy(
            dtype=np.float64) / band
    return optimum


# -------------------------------------------------------------------- progress


@contextmanager
def progress_bar(description: str = "backtest", *, enabled: bool = True,
                 console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for a long run, as a ``progress(done, total)`` callback.

    The callback fits the engine's ``run_backtest(..., progress=...)`` (days done out of
    the window's days) or any other loop. The bar goes to standard error (or
    ``console``) so that tables written to standard output stay clean, and disappears
    when the run ends.

    Parameters
    ----------
    description : str
        Label in front of the bar.
    enabled : bool
        False yields a callback that does nothing (``--quiet``, tests, batch jobs).
    console : rich.console.Console, optional
        Where to draw (default: standard error).

    Yields
    ------
    callable
        ``progress(done, total)``.
    """
    if not enabled:
        yield lambda done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console or Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
