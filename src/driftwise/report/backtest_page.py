"""The backtest page: paths, the TE-cost frontier, sensitivity maps and the optimal threshold.

Every chart function takes plain DataFrames so the page can be built from any engine's
output. :func:`backtest_data` adapts an object with the attributes of a
``BacktestResult`` (``dates`` (T,), ``names`` (C,), ``nav_usd`` (T, C), ``ref_nav_usd``
(T,), ``drift`` (T, C), ``metrics`` DataFrame and optionally ``sweep``) into a
:class:`BacktestPageData`.

Conventions (fractions inside, percents only on screen): ``te_annual`` is the annualized
tracking error against the reference; ``cost_per_year`` the yearly cost as a fraction of
NAV (each day's cost over that day's NAV, averaged); ``turnover_per_year`` a fraction;
thresholds are portfolio-drift fractions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from driftwise._types import TRADING_DAYS
from driftwise.flags import Notice
from driftwise.metrics.threshold import (
    ThresholdInputs,
    optimal_half_band,
    square_root_threshold,
)
from driftwise.report.html import (
    Block,
    Chart,
    Formatter,
    HeatPanel,
    HeatTable,
    Note,
    Page,
    Table,
    Tile,
    Tone,
    color,
    fmt_bps,
    fmt_num,
    fmt_pct,
    fmt_usd,
    styled,
)

MAX_POINTS = 500
"""Most points drawn per path (longer histories are thinned evenly for display)."""
MAX_PATHS = 10
MAX_LABELS = 15
"""Frontier points are labelled on the chart up to this many configurations (hover beyond)."""
REF_NAME = "reference (daily rebalanced, no cost)"
COST_CI = (("cost_low", "cost_high"), ("cost_per_year_low", "cost_per_year_high"))
TE_CI = (("te_low", "te_high"), ("te_annual_low", "te_annual_high"))
COST_COLUMNS = ("cost_level_bps", "flat_cost_bps")
"""Sweep columns holding the cost level in bps, in order of preference."""


@dataclass(frozen=True)
class BacktestPageData:
    """What the backtest page shows.

    Attributes
    ----------
    nav_usd : pd.DataFrame, shape (T, C)
        NAV per configuration, index dates, columns configuration names.
    ref_nav_usd : pd.Series, shape (T,)
        NAV of the reference portfolio.
    drift : pd.DataFrame, shape (T, C)
        Portfolio drift per configuration (fraction).
    metrics : pd.DataFrame
        Index configuration names; ``te_annual``, ``cost_per_year``, ``turnover_per_year``,
        ``n_rebalances`` (and any other columns, shown in the table); optional confidence
        intervals ``te_low``/``te_high`` and ``cost_low``/``cost_high``.
    sweep : pd.DataFrame, optional
        Tidy sensitivity table, one row per configuration: ``threshold`` (NaN for rules
        without one), a cost level in bps (``cost_level_bps`` or ``flat_cost_bps``; NaN
        where the full cost model ran), VIX regime multiplier column(s) (``vix_regime`` or
        names starting with ``vix``; NaN where they do not apply), ``te_annual``,
        ``cost_per_year``. Rows with a NaN coordinate stay out of the maps concerned.
    theoretical : pd.DataFrame, optional
        ``cost_level_bps``, ``half_band`` (corrected band) and optionally
        ``square_root_threshold`` (see :func:`theoretical_bands`).
    tracking_aversion : float
        γ of the ranking loss ``cost_per_year + γ/2 · te_annual²``.
    description : str
        One line on the history (universe, window).
    cost_column : str, optional
        The sweep's cost-level column (default: the first of :data:`COST_COLUMNS` with values).
    """

    nav_usd: pd.DataFrame
    ref_nav_usd: pd.Series
    drift: pd.DataFrame
    metrics: pd.DataFrame
    sweep: pd.DataFrame | None = None
    theoretical: pd.DataFrame | None = None
    tracking_aversion: float = 2.0
    description: str = ""
    cost_column: str | None = None
    paths_ranking: pd.DataFrame | None = None
    """Across many paths: the ranking with intervals (``PathStats.ranking``)."""
    paths_summary: pd.DataFrame | None = None
    """Across many paths: mean and interval per rule and metric (``PathStats.summary``)."""
    paths_description: str = ""
    flags: tuple[Notice, ...] = ()
    """The run's flags (each drawn as a line under the tables), e.g. cash earning nothing."""
    ranking: pd.DataFrame | None = None
    """On this one path: the ranking with intervals across its calendar years
    (:func:`driftwise.backtest.years.year_ranking`)."""
    optimum: pd.DataFrame | None = None
    """The sweep's empirical optimal threshold per cost setting with the thresholds not
    told apart from it (:func:`driftwise.app.sweep.threshold_comparison`)."""


def backtest_data(result: object, *, metrics: pd.DataFrame | None = None,
                  sweep: pd.DataFrame | None = None, theoretical: pd.DataFrame | None = None,
                  threshold_inputs: ThresholdInputs | None = None,
                  tracking_aversion: float = 2.0, description: str = "",
                  paths_ranking: pd.DataFrame | None = None,
                  paths_summary: pd.DataFrame | None = None,
                  paths_description: str = "",
                  flags: Sequence[Notice] = (), ranking: pd.DataFrame | None = None,
                  optimum: pd.DataFrame | None = None) -> BacktestPageData:
    """Adapt a ``BacktestResult``-like object (arrays, names, dates) to page data.

    ``metrics`` and ``sweep`` default to the result's attributes of those names when it
    has them. Without ``theoretical``, ``threshold_inputs`` (e.g.
    ``MonitorReport.thresholds.inputs``) price the corrected band at each cost level of
    the sweep.

    Raises
    ------
    ValueError
        No metrics given and none on the result.
    """
    dates = pd.DatetimeIndex(getattr(result, "dates"))  # noqa: B009
    names = [str(n) for n in getattr(result, "names")]  # noqa: B009

    def frame(attr: str) -> pd.DataFrame:
        values = np.asarray(getattr(result, attr), dtype=np.float64)
        return pd.DataFrame(values.reshape(len(dates), len(names)), index=dates, columns=names)

    ref = pd.Series(np.asarray(getattr(result, "ref_nav_usd"), dtype=np.float64),  # noqa: B009
                    index=dates, name="reference")
    metrics = metrics if metrics is not None else getattr(result, "metrics", None)
    if metrics is None:
        raise ValueError("the backtest page needs per-configuration metrics (te_annual, "
                         "cost_per_year, ...): pass metrics=")
    sweep = sweep if sweep is not None else getattr(result, "sweep", None)
    column = None if sweep is None else cost_column(sweep)
    if theoretical is None and threshold_inputs is not None and column is not None:
        levels = sorted(float(c) for c in pd.unique(sweep[column].dropna()))  # type: ignore[index]
        theoretical = theoretical_bands(
            levels, drift_vol=threshold_inputs.drift_vol,
            tracking_penalty=threshold_inputs.tracking_penalty,
            portfolio_vol=threshold_inputs.portfolio_vol,
            horizon_years=threshold_inputs.horizon_years)
    return BacktestPageData(
        nav_usd=frame("nav_usd"), ref_nav_usd=ref, drift=frame("drift"), metrics=metrics,
        sweep=sweep, theoretical=theoretical, tracking_aversion=tracking_aversion,
        description=description, paths_ranking=paths_ranking, paths_summary=paths_summary,
        paths_description=paths_description, flags=tuple(flags), ranking=ranking,
        optimum=optimum)


# ---------------------------------------------------------------- numbers

def cost_column(sweep: pd.DataFrame) -> str | None:
    """The sweep's cost-level column: the first of :data:`COST_COLUMNS` holding a value."""
    for column in COST_COLUMNS:
        if column in sweep and sweep[column].notna().any():
            return column
    return None


def ranking_loss(metrics: pd.DataFrame, tracking_aversion: float) -> pd.Series:
    """Yearly certainty-equivalent loss ``cost_per_year + γ/2 · te_annual²`` (fraction of NAV).

    Notes
    -----
    The utility form of the cost-benefit rule applied to a year: tracking error costs
    ``(γ/2)·TE²`` of certainty-equivalent return, trading costs count one for one.
    """
    te = metrics["te_annual"].astype(float)
    return (metrics["cost_per_year"].astype(float) + 0.5 * tracking_aversion * te**2).rename("loss")


def pareto_front(metrics: pd.DataFrame) -> list[str]:
    """Names of the configurations no other beats on both TE and cost, by increasing cost."""
    ordered = metrics.sort_values(["cost_per_year", "te_annual"])
    front, best_te = [], math.inf
    for name, te in zip(ordered.index, ordered["te_annual"].astype(float), strict=True):
        if te < best_te:
            front.append(str(name))
            best_te = te
    return front


def select_paths(metrics: pd.DataFrame, tracking_aversion: float,
                 max_paths: int = MAX_PATHS) -> list[str]:
    """Configurations to draw as paths: the efficient ones first, then the best by loss."""
    chosen = pareto_front(metrics)
    for name in ranking_loss(metrics, tracking_aversion).sort_values().index:
        if str(name) not in chosen:
            chosen.append(str(name))
    keep = set(chosen[:max_paths])
    return [str(n) for n in metrics.index if str(n) in keep]


def thin(frame: pd.DataFrame | pd.Series, max_points: int = MAX_POINTS
         ) -> pd.DataFrame | pd.Series:
    """Every k-th row (and the last) so that at most about ``max_points`` remain."""
    step = max(1, math.ceil(len(frame) / max_points))
    if step == 1:
        return frame
    rows = np.unique(np.append(np.arange(0, len(frame), step), len(frame) - 1))
    return frame.iloc[rows]


def regime_labels(sweep: pd.DataFrame) -> pd.Series:
    """One label per row for the VIX-regime axis of the sweep.

    A ``vix_regime`` column is used as it is; otherwise the columns whose names start with
    ``vix`` (the regime cost multipliers) are joined, e.g. ``×1/×1.5/×2.5`` from
    ``vix_mult_low``, ``vix_mult_mid``, ``vix_mult_high`` (:func:`regime_title` names
    them). A row whose multipliers are all missing (a flat cost ignores them) gets no
    label (None).

    Raises
    ------
    ValueError
        No VIX column.
    """
    if "vix_regime" in sweep:
        return sweep["vix_regime"].where(sweep["vix_regime"].notna(), None).rename("vix_regime")
    columns = _vix_columns(sweep)
    labels = []
    for row in sweep[columns].itertuples(index=False):
        parts = [text for value in row if (text := _multiplier(value))]
        labels.append("/".join(parts) if parts else None)
    return pd.Series(labels, index=sweep.index, name="vix_regime", dtype=object)


def _vix_columns(sweep: pd.DataFrame) -> list[str]:
    columns = [str(c) for c in sweep.columns if str(c).lower().startswith("vix")]
    if not columns:
        raise ValueError("the sweep has no VIX regime column (vix_regime or vix_*)")
    return columns


def regime_title(sweep: pd.DataFrame) -> str:
    """Axis title of the VIX-regime axis, naming the multiplier columns (``low/mid/high``)."""
    if "vix_regime" in sweep:
        return "VIX regime"
    names = [re.sub(r"(^|_)mult(iplier)?s?(_|$)", " ", re.sub(r"^vix_?", "", c.lower()))
             .replace("_", " ").strip() for c in _vix_columns(sweep)]
    named = "/".join(n for n in names if n)
    return f"VIX cost multipliers ({named})" if named else "VIX cost multipliers"


def _multiplier(value: object) -> str:
    if isinstance(value, list | tuple | np.ndarray):
        return "/".join(f"×{float(v):g}" for v in value)
    if isinstance(value, int | float | np.number):
        return "" if math.isnan(float(value)) else f"×{float(value):g}"
    return "" if value is None or value is pd.NA else str(value)


def empirical_optimum(sweep: pd.DataFrame, tracking_aversion: float,
                      by: str | None = None) -> pd.DataFrame:
    """The threshold with the lowest loss at each cost level of the sweep.

    Rows sharing (``by``, ``threshold``) are averaged first (over the other sweep axes);
    rows without a threshold or a cost level are left out. ``by`` defaults to
    :func:`cost_column`.

    Returns
    -------
    pd.DataFrame
        Index ``by``; ``threshold``, ``te_annual``, ``cost_per_year``, ``loss`` (empty when
        nothing qualifies).
    """
    by = by or cost_column(sweep) or COST_COLUMNS[0]
    rows = sweep[sweep["threshold"].notna() & sweep[by].notna()] if by in sweep else sweep.iloc[:0]
    if rows.empty:
        return pd.DataFrame(columns=["threshold", "te_annual", "cost_per_year", "loss"],
                            index=pd.Index([], name=by), dtype=float)
    mean = (rows.groupby([by, "threshold"])[["te_annual", "cost_per_year"]].mean()
            .reset_index())
    mean["loss"] = ranking_loss(mean, tracking_aversion).to_numpy()
    best = mean.loc[mean.groupby(by)["loss"].idxmin()]
    return best.set_index(by)[["threshold", "te_annual", "cost_per_year", "loss"]]


def theoretical_bands(cost_levels_bps: Sequence[float], *, drift_vol: float,
                      tracking_penalty: float, portfolio_vol: float | None = None,
                      horizon_years: float = 1.0) -> pd.DataFrame:
    """Corrected half-band ``(3 k s² / (4 λ))^(1/3)`` (and the square-root formula) per cost level.

    Parameters
    ----------
    cost_levels_bps : sequence of float
        One-way costs ``k`` in bps of traded value.
    drift_vol : float
        ``s``, volatility of the weight deviation (annual fraction).
    tracking_penalty : float
        ``λ``.
    portfolio_vol : float, optional
        ``σ_p`` for the square-root formula ``sqrt(2 TC / (σ_p² T))``, reported for fidelity only.
    """
    k = np.asarray(cost_levels_bps, dtype=np.float64) / 1e4
    out = pd.DataFrame({"cost_level_bps": np.asarray(cost_levels_bps, dtype=np.float64),
                        "half_band": optimal_half_band(k, drift_vol, tracking_penalty)})
    if portfolio_vol is not None:
        out["square_root_threshold"] = square_root_threshold(k, portfolio_vol, horizon_years)
    return out


def _ci(metrics: pd.DataFrame, pairs: tuple[tuple[str, str], ...], center: str
        ) -> tuple[np.ndarray, np.ndarray] | None:
    for low, high in pairs:
        if low in metrics and high in metrics:
            mid = metrics[center].astype(float).to_numpy()
            return (metrics[high].astype(float).to_numpy() - mid,
                    mid - metrics[low].astype(float).to_numpy())
    return None


# ---------------------------------------------------------------- charts

def _days(index: pd.Index) -> list[str]:
    """Dates as ``YYYY-MM-DD`` (half the bytes of plotly's default time stamps)."""
    return [str(d) for d in pd.DatetimeIndex(index).strftime("%Y-%m-%d")]


def _light(series: pd.Series | pd.DataFrame) -> np.ndarray:
    """A path's values in single precision: 7 significant digits, half the bytes."""
    return series.to_numpy(dtype=np.float32)


def nav_figure(nav_usd: pd.DataFrame, ref_nav_usd: pd.Series) -> go.Figure:
    """NAV paths per configuration and the reference (top), and NAV relative to it (bottom)."""
    nav, ref = thin(nav_usd), thin(ref_nav_usd)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38],
                        vertical_spacing=0.06)
    days = _days(nav.index)
    for i, name in enumerate(nav.columns):
        line = {"width": 1.3, "color": color(i)}
        fig.add_trace(go.Scatter(x=days, y=_light(nav[name]), mode="lines", name=str(name),
                                 legendgroup=str(name), line=line), row=1, col=1)
        fig.add_trace(go.Scatter(x=days, y=_light(nav[name] / ref - 1.0), mode="lines",
                                 name=str(name), legendgroup=str(name), showlegend=False,
                                 line=line), row=2, col=1)
    fig.add_trace(go.Scatter(x=_days(ref.index), y=_light(ref), mode="lines", name=REF_NAME,
                             line={"color": "#1d2733", "dash": "dash", "width": 1.6}),
                  row=1, col=1)
    styled(fig)
    fig.update_yaxes(title_text="NAV (USD)", tickformat=",.3s", row=1, col=1)
    fig.update_yaxes(title_text="vs reference", tickformat=".1%", row=2, col=1)
    return fig


def drift_paths_figure(drift: pd.DataFrame) -> go.Figure:
    """Portfolio drift over time per configuration."""
    thinned = thin(drift)
    days = _days(thinned.index)
    fig = go.Figure([go.Scatter(x=days, y=_light(thinned[c]), mode="lines", name=str(c),
                                line={"width": 1.2, "color": color(i)})
                     for i, c in enumerate(thinned.columns)])
    return styled(fig, y_title="portfolio drift", y_format=".1%")


def frontier_figure(metrics: pd.DataFrame) -> go.Figure:
    """Tracking error against cost per year, one point per configuration, with intervals.

    The line joins the efficient configurations (none cheaper with a lower TE). Error
    bars come from ``te_low``/``te_high`` and ``cost_low``/``cost_high`` when present.
    """
    te_ci, cost_ci = _ci(metrics, TE_CI, "te_annual"), _ci(metrics, COST_CI, "cost_per_year")
    front = metrics.loc[pareto_front(metrics)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=front["cost_per_year"].astype(float) * 1e4, y=front["te_annual"].astype(float),
        mode="lines", name="efficient frontier", hoverinfo="skip",
        line={"color": "#8a96a3", "dash": "dot"}))
    fig.add_trace(go.Scatter(
        x=metrics["cost_per_year"].astype(float) * 1e4, y=metrics["te_annual"].astype(float),
        mode="markers+text" if len(metrics) <= MAX_LABELS else "markers",
        name="configurations", text=[str(n) for n in metrics.index],
        textposition="top right", marker={"size": 9, "color": "#4c78a8"},
        error_y=(None if te_ci is None else
                 {"type": "data", "array": te_ci[0], "arrayminus": te_ci[1], "thickness": 1}),
        error_x=(None if cost_ci is None else
                 {"type": "data", "array": cost_ci[0] * 1e4, "arrayminus": cost_ci[1] * 1e4,
                  "thickness": 1}),
        hovertemplate="%{text}<br>cost %{x:.1f} bp/yr<br>TE %{y:.2%}<extra></extra>"))
    return styled(fig, x_title="cost per year (bp of NAV)",
                  y_title="tracking error (annual)", y_format=".2%", legend=True)


def sensitivity_table(sweep: pd.DataFrame, x: str, y: str | pd.Series, x_title: str,
                      y_title: str, *, key: str, title: str, x_percent: bool = True) -> HeatTable:
    """Two heat panels over (``y`` rows, ``x`` columns): tracking error and cost per year.

    Each cell is the mean over the sweep rows sharing its (``x``, ``y``). ``y`` is a sweep
    column name or a Series of labels aligned with the sweep's rows. Rows with a missing
    ``x`` or ``y`` are left out. ``x`` values are labelled as percents (thresholds) unless
    ``x_percent`` is false.
    """
    labels = sweep[y] if isinstance(y, str) else y
    table = sweep.assign(_y=labels.to_numpy())
    table = table[table[x].notna() & table["_y"].notna()]
    panels = []
    grid = pd.DataFrame()
    for value, panel_title, scale_to, digits, scale in (
            ("te_annual", "Tracking error (annual)", 100.0, 2, ("#f7fbff", "#08519c")),
            ("cost_per_year", "Cost per year (bp of NAV)", 1e4, 1, ("#fff5eb", "#a63603"))):
        grid = table.pivot_table(index="_y", columns=x, values=value, aggfunc="mean")
        percent = "%" if scale_to == 100.0 else ""
        texts = tuple(tuple(fmt_num(scale_to * v, digits) + (percent if np.isfinite(v) else "")
                            for v in row) for row in grid.to_numpy(dtype=float))
        panels.append(HeatPanel(panel_title, grid.to_numpy(dtype=float), texts, scale))
    return HeatTable(key, title, tuple(_label(v, percent=x_percent) for v in grid.columns),
                     tuple(_label(v) for v in grid.index), x_title, y_title, tuple(panels))


def _label(value: object, *, percent: bool = False) -> str:
    """Axis label of a grid value: a percent for thresholds, else a compact number."""
    if isinstance(value, int | float | np.number):
        return fmt_pct(float(value), 1) if percent else f"{float(value):g}"
    return str(value)


def activity_figure(metrics: pd.DataFrame) -> go.Figure:
    """Turnover per year and number of rebalances per configuration (two panels)."""
    names = [str(n) for n in metrics.index]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Turnover per year",
                                                        "Number of rebalances"))
    fig.add_trace(go.Bar(x=names, y=metrics["turnover_per_year"].astype(float),
                         marker={"color": "#4c78a8"}, hovertemplate="%{x}: %{y:.1%}"
                         "<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=metrics["n_rebalances"].astype(float),
                         marker={"color": "#f58518"}, hovertemplate="%{x}: %{y:.0f}"
                         "<extra></extra>"), row=1, col=2)
    styled(fig, legend=False)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    return fig


def threshold_figure(empirical: pd.DataFrame, theoretical: pd.DataFrame | None) -> go.Figure:
    """Empirical optimal threshold per cost level against the corrected theoretical band.

    Parameters
    ----------
    empirical : pd.DataFrame
        Index cost level (bps); ``threshold`` (see :func:`empirical_optimum`).
    theoretical : pd.DataFrame, optional
        ``cost_level_bps``, ``half_band``.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=empirical.index.astype(float), y=empirical["threshold"],
                             mode="lines+markers", name="empirical optimum (backtest)",
                             marker={"size": 10, "color": "#4c78a8"},
                             hovertemplate="%{x:g} bp: %{y:.1%}<extra></extra>"))
    if theoretical is not None and len(theoretical):
        t = theoretical.sort_values("cost_level_bps")
        fig.add_trace(go.Scatter(x=t["cost_level_bps"], y=t["half_band"], mode="lines+markers",
                                 name="corrected band (3ks²/4λ)^(1/3)",
                                 line={"color": "#f58518", "dash": "dash"},
                                 hovertemplate="%{x:g} bp: %{y:.1%}<extra></extra>"))
    values = [float(v) for trace in fig.data for v in trace.y if math.isfinite(float(v))]
    fig.update_yaxes(range=[0.0, 1.3 * max(values, default=0.1) or 0.1])
    return styled(fig, x_title="one-way cost (bp)", y_title="drift threshold", y_format=".1%")


# ---------------------------------------------------------------- page

LABELS = {"te_annual": "TE a year", "cost_per_year": "cost a year",
          "turnover_per_year": "turnover a year", "n_rebalances": "rebalances",
          "sharpe_diff": "Sharpe − reference", "te_low": "TE low", "te_high": "TE high",
          "cost_low": "cost low", "cost_high": "cost high"}


def metric_label(name: str) -> str:
    """Column heading of a metric: units read from the name become words."""
    if name in LABELS:
        return LABELS[name]
    text = re.sub(r"^ref_", "reference ", name)
    text = re.sub(r"_usd$", "", re.sub(r"_annual$", " a year", text))
    return text.replace("_", " ").replace("nav", "NAV").replace("vol ", "volatility ")


def metric_format(name: str) -> Formatter:
    """Display format of a metric column, from its name's unit conventions."""
    if name.endswith("_usd"):
        return fmt_usd
    if name.startswith("n_"):
        return partial(fmt_num, digits=0)
    if "cost" in name:
        return fmt_bps
    if "sharpe" in name:
        return partial(fmt_num, digits=3)
    if (name.startswith("te") or name.endswith("_annual")
            or any(w in name for w in ("turnover", "drift", "return", "vol"))):
        return fmt_pct
    return partial(fmt_num, digits=3)


def metrics_table(metrics: pd.DataFrame) -> Table:
    """Every numeric metric per configuration, units from the column names.

    ``*_usd`` dollars; ``n_*`` counts; ``*cost*`` basis points; Sharpe ratios plain
    numbers; TE, ``*_annual``, turnover, drift, return and volatility columns percents;
    anything else a plain number.
    """
    numeric = metrics.select_dtypes(include="number")
    labels = {str(c): metric_label(str(c)) for c in numeric.columns}
    formats = {labels[str(c)]: metric_format(str(c)) for c in numeric.columns}
    return Table("backtest-metrics", "Metrics per configuration", numeric.rename(columns=labels),
                 formats, caption="TE and turnover in percent a year; costs in bp of average "
                                  "NAV a year.")


def best_configuration(data: BacktestPageData) -> tuple[str, pd.Series]:
    """Name and metrics row of the configuration with the lowest ranking loss."""
    where = int(np.nanargmin(ranking_loss(data.metrics, data.tracking_aversion).to_numpy()))
    return str(data.metrics.index[where]), data.metrics.iloc[where]


def backtest_headline(data: BacktestPageData) -> str:
    """The best trade-off in one sentence, with the rules it cannot be told apart from."""
    best, row = best_configuration(data)
    years = max(len(data.nav_usd) / TRADING_DAYS, 1e-9)
    text = (f"Best trade-off on this history: {best}. Tracking error "
            f"{fmt_pct(row['te_annual'])} a year for {fmt_bps(row['cost_per_year'])} a year in "
            f"costs, {fmt_num(row['n_rebalances'], 0)} rebalances over {years:.1f} years "
            f"(ranked by cost + γ/2·TE², γ = {data.tracking_aversion:g}, on this one path")
    text += _years_clause(data.ranking, best)
    r = data.paths_ranking
    if r is None or not len(r):
        return text
    top = r.sort_values("rank", kind="stable").iloc[0]
    ties = str(top["tied_with"]) if "tied_with" in r and str(top["tied_with"]) else ""
    return (f"{text} Across the many paths the best is {top.name}: rank "
            f"{int(top['rank_low'])}–{int(top['rank_high'])} at 95%, "
            + (f"not told apart from {ties}." if ties else "told apart from every other rule."))


def _years_clause(ranking: pd.DataFrame | None, best: str) -> str:
    """The end of the headline: what the one-path ranking's intervals say of ``best``."""
    if ranking is None or best not in ranking.index:
        return ", without an interval)."
    at = list(ranking.index).index(best)
    g = int(ranking["n_years"].iloc[at])
    if g < 2:
        return ("; fewer than two calendar years of at least 126 days give no interval, so "
                "no rule is told apart from another on this path).")
    ties = str(ranking["tied_with"].iloc[at])
    low, high = int(ranking["rank_low"].iloc[at]), int(ranking["rank_high"].iloc[at])
    return (f"; over its {g} calendar years rank {low}–{high} "
            f"at 95%, " + (f"not told apart from {ties})." if ties
                           else "told apart from every other rule)."))


def backtest_blocks(data: BacktestPageData) -> tuple[Block, ...]:
    """Charts and tables of the page (sweep charts only when a sweep is given)."""
    shown = select_paths(data.metrics, data.tracking_aversion)
    n = len(data.metrics)
    note = f" {len(shown)} of {n} configurations drawn (efficient ones first)." if n > len(
        shown) else ""
    blocks: list[Block] = [
        Chart("backtest-nav", "NAV per policy", nav_figure(data.nav_usd[shown], data.ref_nav_usd),
              caption="Top: NAV in USD; bottom: NAV relative to the reference." + note,
              height_px=520),
        Chart("backtest-drift", "Portfolio drift per policy", drift_paths_figure(
            data.drift[shown]), caption="Drift ½Σ|w − t| over time." + note),
        Chart("backtest-frontier", "Tracking error against cost",
              frontier_figure(data.metrics), height_px=460,
              caption="Lower left is better. Bars: confidence intervals where computed."),
        Chart("backtest-activity", "Turnover and rebalances", activity_figure(data.metrics),
              height_px=380),
    ]
    blocks.extend(sweep_blocks(data))
    blocks.append(metrics_table(data.metrics))
    blocks.extend(ranking_blocks(data))
    blocks.extend(paths_blocks(data))
    if data.flags:
        blocks.append(Note("Flags: " + "; ".join(f"{n.flag.value}: {n.detail}"
                                                for n in data.flags)))
    return tuple(blocks)


def ranking_blocks(data: BacktestPageData) -> list[Block]:
    """On this one path: the ranking with intervals across its calendar years."""
    r = data.ranking
    if r is None or not len(r):
        return []
    g = int(r["n_years"].iloc[0])
    frame = pd.DataFrame({
        "rank [95%]": [f"{k} [{lo}–{hi}]" for k, lo, hi in
                       zip(r["rank"], r["rank_low"], r["rank_high"], strict=True)],
        "mean yearly score [95%]": [
            f"{fmt_bps(x)} [{fmt_bps(lo)}, {fmt_bps(hi)}]" if lo == lo else
            f"{fmt_bps(x)} (no interval)"
            for x, lo, hi in zip(r["score"], r["score_low"], r["score_high"], strict=True)],
        **({"whole-window score": [fmt_bps(x) for x in r["window_score"]]}
           if "window_score" in r else {}),
        "cannot be told apart from": [t or "—" for t in r["tied_with"]]},
        index=pd.Index(r.index, name="rule"))
    return [Table("backtest-ranking", f"Ranking on this path, over its {g} calendar years",
                  frame, caption="Score cost + γ/2·TE² of each calendar year (at least 126 "
                  "trading days); mean with its 95% CR2 t(G−1) interval across the G years. "
                  "Rank intervals cover each rule's comparisons at 95% together "
                  "(Bonferroni: each pair at 1 − 5%/(C−1)); two rules cannot be told apart "
                  "when the interval of their mean yearly difference at that level holds 0.")]


PATH_TABLE_METRICS = (("te_annual", "TE", fmt_pct), ("cost_per_year", "cost/yr", fmt_bps),
                      ("turnover_per_year", "turnover/yr", fmt_pct),
                      ("sharpe_diff", "Sharpe − ref", partial(fmt_num, digits=3)))


def paths_blocks(data: BacktestPageData) -> list[Block]:
    """Across many paths: what was run, the ranking with intervals, a chart of the scores."""
    r, summary = data.paths_ranking, data.paths_summary
    if r is None or summary is None:
        return []
    cells = {}
    for metric, label, show in PATH_TABLE_METRICS:
        part = summary[summary["metric"] == metric].set_index("config")
        cells[label] = [f"{show(part.loc[n, 'mean'])} [{show(part.loc[n, 'low'])}, "
                        f"{show(part.loc[n, 'high'])}]" for n in r.index]
    frame = pd.DataFrame({
        "rank [95%]": [f"{k} [{lo}–{hi}]" for k, lo, hi in
                       zip(r["rank"], r["rank_low"], r["rank_high"], strict=True)],
        "score [95%]": [f"{fmt_bps(x)} [{fmt_bps(lo)}, {fmt_bps(hi)}]" for x, lo, hi in
                        zip(r["score"], r["score_low"], r["score_high"], strict=True)],
        "P(best)": [fmt_pct(x) for x in r["p_best"]], **cells,
        "cannot be told apart from": [t or "—" for t in r["tied_with"]]},
        index=pd.Index(r.index, name="rule"))
    figure = go.Figure(go.Scatter(
        x=[1e4 * float(x) for x in r["score"]], y=list(r.index), mode="markers",
        error_x={"type": "data", "symmetric": False,
                 "array": [1e4 * float(h - x) for x, h in zip(r["score"], r["score_high"],
                                                              strict=True)],
                 "arrayminus": [1e4 * float(x - lo) for x, lo in
                                zip(r["score"], r["score_low"], strict=True)]}))
    figure.update_layout(xaxis_title="cost + γ/2·TE², bp a year (mean across paths)",
                         yaxis={"autorange": "reversed"}, margin={"l": 160})
    return [Note(data.paths_description),
            Table("backtest-paths", "Across many paths: ranking with intervals", frame,
                  caption="Means across paths with 95% intervals; two rules cannot be told "
                          "apart when the interval of their score difference contains 0."),
            Chart("backtest-paths-score", "Score across paths", figure,
                  caption="Mean score across paths, 95% interval (smaller is better).")]


def sweep_blocks(data: BacktestPageData) -> list[Block]:
    """Heat maps and the optimal-threshold chart, or a note saying what the sweep lacks."""
    sweep = data.sweep
    if sweep is None or not len(sweep) or "threshold" not in sweep:
        return [Note("No threshold sweep in this backtest: the heat maps and the optimal "
                     "threshold need one.")]
    rows = sweep[sweep["threshold"].notna()]
    cost = data.cost_column or cost_column(rows)
    blocks: list[Block] = []
    if cost is not None and rows[cost].notna().any():
        blocks.append(sensitivity_table(rows, "threshold", cost, "threshold", "cost level (bp)",
                                        key="backtest-heat-cost",
                                        title="Sensitivity: threshold × cost level"))
    else:
        blocks.append(Note("The sweep has no cost levels: no threshold × cost map."))
    try:
        regimes = regime_labels(rows)
    except ValueError:
        regimes = pd.Series(dtype=object)
    if regimes.notna().any():
        blocks.append(sensitivity_table(rows, "threshold", regimes, "threshold",
                                        regime_title(rows), key="backtest-heat-vix",
                                        title="Sensitivity: threshold × VIX regime"))
    else:
        blocks.append(Note("The sweep has no VIX regime axis: no threshold × VIX map."))
    optimum = empirical_optimum(rows, data.tracking_aversion, cost)
    if len(optimum):
        blocks.append(Chart("backtest-threshold", "Optimal threshold: history against theory",
                            threshold_figure(optimum, data.theoretical),
                            caption="Empirical: the swept threshold with the lowest cost + "
                                    "γ/2·TE² at each cost level (averaged over the other "
                                    "axes), a point estimate on one path; the table below "
                                    "gives the thresholds not told apart from it. The "
                                    "square-root formula sqrt(2TC/σ²T) is not drawn: "
                                    "it gives ~40%, an erratum."))
    blocks.extend(optimum_blocks(data.optimum))
    return blocks


def _cost_label(row: pd.Series) -> str:
    """A sweep row's cost setting: a flat level in bp, or the model with its VIX
    multipliers and impact model."""
    flat = pd.to_numeric(pd.Series([row.get("flat_cost_bps")]), errors="coerce").iloc[0]
    if pd.notna(flat):
        return f"{float(flat):g} bp"
    vix = pd.to_numeric(pd.Series([row.get(f"vix_mult_{k}") for k in ("low", "mid", "high")]),
                        errors="coerce")
    text = "cost model"
    if vix.notna().all():
        text += " VIX ×" + "/".join(f"{float(v):g}" for v in vix)
    impact = row.get("impact_model")
    return text + (f", {str(impact).replace('_', ' ')}" if isinstance(impact, str) else "")


def optimum_blocks(optimum: pd.DataFrame | None) -> list[Block]:
    """The optimal threshold per cost setting with the thresholds not told apart from it
    (or the label of a one-path point estimate)."""
    if optimum is None or not len(optimum) or "not_told_apart" not in optimum:
        return []
    labels = [_cost_label(row) for _, row in optimum.iterrows()]

    def told(t: object, g: object) -> str:
        if not isinstance(t, str) or not t:
            return "point estimate on one path, no interval"
        return ", ".join(fmt_pct(float(h)) for h in str(t).split("/")) + f" (G = {g} years)"

    frame = pd.DataFrame({
        "optimal threshold": [fmt_pct(h) for h in optimum["optimal_threshold"]],
        "not told apart from it (95%)": [told(t, g) for t, g in zip(
            optimum["not_told_apart"], optimum["n_years"], strict=True)]},
        index=pd.Index(labels, name="cost setting"))
    return [Table("backtest-optimum", "Optimal threshold and the thresholds not told apart",
                  frame, caption="Thresholds whose 95% CR2 t(G−1) interval of the mean "
                  "yearly difference in cost + γ/2·TE² to the optimum reaches 0 or below, "
                  "across the window's G calendar years.")]


def backtest_page(data: BacktestPageData) -> Page:
    """The backtest page of the report."""
    name, best = best_configuration(data)
    dates = data.nav_usd.index
    span = f"{pd.Timestamp(dates[0]).date()} to {pd.Timestamp(dates[-1]).date()}"
    tiles = (Tile("Period", span, f"{len(dates)} trading days"),
             Tile("Configurations", str(len(data.metrics)), "policies × parameters"),
             Tile("Its tracking error", fmt_pct(best["te_annual"]), name),
             Tile("Its cost", fmt_bps(best["cost_per_year"]), "per year, of NAV"))
    subtitle = data.description or f"History {span}"
    return Page(key="backtest", title="Backtest", headline=backtest_headline(data),
                tone=Tone.INFO, tiles=tiles, blocks=backtest_blocks(data), subtitle=subtitle)
