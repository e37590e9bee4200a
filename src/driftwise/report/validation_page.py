"""The validation page: each insight rule's measured hit rate against its stated confidence.

Inputs are plain DataFrames:

- ``rules``: one row per rule: ``rule``, ``hit_rate``, ``ci_low``, ``ci_high`` (fractions),
  ``stated_confidence`` (the confidence the methodology states, fraction), ``verdict``
  (supported / not supported / inconclusive), optional ``n_events``, ``effect`` and
  ``claim`` (the rule in words).
- breakdowns (optional), tidy: ``rule``, the group column (``vix_regime`` or
  ``cost_level_bps``), ``hit_rate``, ``ci_low``, ``ci_high``, optional ``n_events``;
  with the study's columns (:func:`driftwise.validation.stats.breakdown`: ``n_clusters``,
  ``effect_mean``, ``effect_ci_low``, ``effect_ci_high``, ``effect_bar``, ``verdict``,
  ``hit_verdict``) each is also a table of the mean effect with its interval, ``G`` and
  the verdict, the hit rate secondary.
- ``sensitivity`` (optional): the claims' parts and other definitions, the breakdowns'
  columns with ``variant`` in place of the group
  (:func:`driftwise.validation.stats.sensitivity`).
- ``falsification`` (optional): the falsification test per portfolio, cost setting and
  calendar (``StudyResult.falsification``): ``portfolio``, ``setting``, ``calendar``,
  ``verdict``, ``te_diff`` with ``te_diff_low`` / ``te_diff_high``, ``excess_mean`` with
  ``excess_low`` / ``excess_high`` (the mean yearly excess cost and its interval) and
  ``n_years`` (``G``).
- ``cost_limits`` (optional): the events each rule's cost limit removes, one row per rule
  and cost setting: ``rule``, ``setting``, ``limit_bps`` (bps of NAV), ``candidates``
  (events without the limit), ``removed``
  (:attr:`~driftwise.validation.study.StudyResult.cost_limits`); with the study's
  :data:`~driftwise.validation.stats.COST_LIMIT_FIGURES` also where each limit binds and
  the candidate events' cost and value traded.
- ``multipliers`` (optional): the calibrated VIX multipliers of spreads
  (``Calibration.table`` of :mod:`driftwise.app.calibrate`): ``estimator``, ``tier``,
  ``regime``, ``multiplier`` with ``multiplier_low`` / ``multiplier_high`` (its interval),
  optional ``regime_index`` (the order of the regimes), ``configured`` (the cost model's
  multiplier) and ``pairs``.
- ``ranking`` (optional): the many-path ranking of rules
  (``PathStats.ranking`` of :mod:`driftwise.backtest.path_stats`), index the rule's name:
  ``rank``, ``score`` (lower is better) with ``score_low`` / ``score_high``, ``rank_low``,
  ``rank_high``, ``p_best``, optional ``tied_with``.
- ``research`` (optional): each claim beside the literature
  (:func:`driftwise.validation.literature.research_table`).
- ``falsification_pooled`` (optional): the falsification verdict pooled over portfolios
  with intervals across calendar years (``StudyResult.falsification_pooled``).
- ``flags``: the study's notices (e.g. cash earning nothing in the falsification
  backtest), drawn as one note.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from driftwise.flags import Notice
from driftwise.report.html import (
    Block,
    Chart,
    Note,
    Page,
    Table,
    Tile,
    Tone,
    color,
    fmt_num,
    fmt_pct,
    styled,
)
from driftwise.validation import literature
from driftwise.validation.output import (
    COST_LIMITS_NOTE,
    FALSIFICATION_NOTE,
    NO_INTERVAL,
    binds_text,
    describe,
    second_part_text,
)
from driftwise.validation.stats import COST_LIMIT_FIGURES
from driftwise.validation.study import StudyResult

VERDICT_COLORS = {"supported": "#1b7f4b", "not supported": "#b3261e",
                  "inconclusive": "#a86b00"}
OTHER_COLOR = "#5b6b7c"
ORDERED = ("#9ecae9", "#4c78a8", "#f58518", "#b3261e")
"""Colours of ordered groups (low to high VIX or cost) when there are few of them."""
RULE_COLUMNS = ("rule", "hit_rate", "ci_low", "ci_high", "stated_confidence", "verdict")
BREAKDOWN_COLUMNS = ("rule", "hit_rate", "ci_low", "ci_high")
COST_LIMIT_COLUMNS = ("rule", "setting", "limit_bps", "candidates", "removed")
MULTIPLIER_COLUMNS = ("estimator", "tier", "regime", "multiplier", "multiplier_low",
                      "multiplier_high")
RANKING_COLUMNS = ("rank", "score", "score_low", "score_high", "rank_low", "rank_high",
                   "p_best")
RESEARCH_COLUMNS = literature.COLUMNS
BREAKDOWN_EFFECT_COLUMNS = ("n_events", "n_clusters", "effect_mean", "effect_ci_low",
                            "effect_ci_high", "effect_bar", "verdict")
"""The columns of a breakdown's table (beside :data:`BREAKDOWN_COLUMNS`)."""
SENSITIVITY_COLUMNS = ("rule", "variant", *BREAKDOWN_COLUMNS[1:], *BREAKDOWN_EFFECT_COLUMNS)
FALSIFICATION_COLUMNS = ("portfolio", "setting", "calendar", "verdict", "te_diff",
                         "te_diff_low", "te_diff_high", "excess_mean", "excess_low",
                         "excess_high", "n_years")
POOLED_COLUMNS = ("setting", "calendar", "portfolios", "n_years", "te_diff_mean",
                  "te_diff_low", "te_diff_high", "excess_mean", "excess_low", "excess_high",
                  "verdict")
ALL_TIERS = "all"
"""The tier of a calibration's rows pooled over size tiers (the one drawn)."""


@dataclass(frozen=True)
class ValidationPageData:
    """What the validation page shows (see the module docstring for the columns)."""

    rules: pd.DataFrame
    by_regime: pd.DataFrame | None = None
    by_cost: pd.DataFrame | None = None
    regime_column: str = "vix_regime"
    cost_column: str = "cost_level_bps"
    description: str = ""
    cost_limits: pd.DataFrame | None = None
    multipliers: pd.DataFrame | None = None
    ranking: pd.DataFrame | None = None
    research: pd.DataFrame | None = None
    falsification_pooled: pd.DataFrame | None = None
    flags: tuple[Notice, ...] = ()
    sensitivity: pd.DataFrame | None = None
    falsification: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        _require(self.rules, RULE_COLUMNS, "rules")
        if self.by_regime is not None:
            _require(self.by_regime, (*BREAKDOWN_COLUMNS, self.regime_column), "by_regime")
        if self.by_cost is not None:
            _require(self.by_cost, (*BREAKDOWN_COLUMNS, self.cost_column), "by_cost")
        if self.cost_limits is not None:
            _require(self.cost_limits, COST_LIMIT_COLUMNS, "cost_limits")
        if self.multipliers is not None:
            _require(self.multipliers, MULTIPLIER_COLUMNS, "multipliers")
        if self.ranking is not None:
            _require(self.ranking, RANKING_COLUMNS, "ranking")
        if self.research is not None:
            _require(self.research, RESEARCH_COLUMNS, "research")
        if self.falsification_pooled is not None:
            _require(self.falsification_pooled, POOLED_COLUMNS, "falsification_pooled")
        if self.sensitivity is not None:
            _require(self.sensitivity, SENSITIVITY_COLUMNS, "sensitivity")
        if self.falsification is not None:
            _require(self.falsification, FALSIFICATION_COLUMNS, "falsification")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"validation table {name!r} lacks column(s) {', '.join(missing)}")


def _verdict(value: object) -> str:
    return str(value).strip().lower().replace("_", " ")


def hit_rate_figure(rules: pd.DataFrame) -> go.Figure:
    """Hit rate per rule with its confidence interval, beside the methodology's stated confidence.

    One marker per rule coloured by verdict, horizontal bars for the interval, and a
    hollow diamond at the stated confidence.
    """
    fig = go.Figure()
    verdicts = rules["verdict"].map(_verdict)
    for verdict in dict.fromkeys(verdicts):
        part = rules[verdicts == verdict]
        hit = part["hit_rate"].astype(float)
        fig.add_trace(go.Scatter(
            x=hit, y=part["rule"].astype(str), mode="markers", name=f"measured: {verdict}",
            marker={"size": 12, "color": VERDICT_COLORS.get(verdict, OTHER_COLOR)},
            error_x={"type": "data", "array": part["ci_high"].astype(float) - hit,
                     "arrayminus": hit - part["ci_low"].astype(float), "thickness": 2},
            hovertemplate="%{y}: hit rate %{x:.1%}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=rules["stated_confidence"].astype(float), y=rules["rule"].astype(str), mode="markers",
        name="stated confidence",
        marker={"symbol": "diamond-open", "size": 13, "color": "#1d2733",
                "line": {"width": 2}},
        hovertemplate="%{y}: stated %{x:.0%}<extra></extra>"))
    fig.update_xaxes(range=[0, 1.02])
    fig.update_yaxes(categoryorder="array", categoryarray=list(rules["rule"].astype(str))[::-1])
    return styled(fig, x_title="hit rate (share of events where the claim held)",
                  x_format=".0%")


def breakdown_figure(frame: pd.DataFrame, by: str, stated: pd.Series | None = None,
                     group_label: Callable[[object], str] = str) -> go.Figure:
    """Hit rate per rule and group (VIX regime or cost level), with intervals.

    Parameters
    ----------
    frame : pd.DataFrame
        ``rule``, ``by``, ``hit_rate``, ``ci_low``, ``ci_high``.
    by : str
        The group column.
    stated : pd.Series, optional
        Stated confidence per rule (index rule), drawn as a dash across each rule's group.
    group_label : callable
        Legend text of a group value.
    """
    fig = go.Figure()
    rules = list(dict.fromkeys(frame["rule"].astype(str)))
    groups = list(dict.fromkeys(frame[by]))
    for i, group in enumerate(groups):
        part = frame[frame[by] == group]
        hit = part["hit_rate"].astype(float)
        label = group_label(group)
        shade = ORDERED[i] if len(groups) <= len(ORDERED) else color(i)
        fig.add_trace(go.Bar(
            x=part["rule"].astype(str), y=hit, name=label, marker={"color": shade},
            error_y={"type": "data", "array": part["ci_high"].astype(float) - hit,
                     "arrayminus": hit - part["ci_low"].astype(float), "thickness": 1.2},
            hovertemplate=f"%{{x}}, {label}: %{{y:.1%}}<extra></extra>"))
    if stated is not None:
        known = stated.reindex(rules).astype(float)
        fig.add_trace(go.Scatter(
            x=rules, y=known, mode="markers", name="stated confidence",
            marker={"symbol": "line-ew-open", "size": 60, "color": "#1d2733",
                    "line": {"width": 2}},
            hovertemplate="%{x}: stated %{y:.0%}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.05])
    return styled(fig, y_title="hit rate", y_format=".0%")


def cost_limits_figure(frame: pd.DataFrame) -> go.Figure:
    """Events kept and removed by each rule's cost limit, one bar per rule and cost setting.

    Stacked bars: the events the limit keeps (``candidates - removed``) and those it
    removes, on a category axis of ``"<rule> (≤ <limit> bps)"`` per setting.
    """
    fig = go.Figure()
    rules = [f"{r} (≤ {fmt_num(lim, 0)} bps)" for r, lim in
             zip(frame["rule"].astype(str), frame["limit_bps"], strict=True)]
    x = [rules, frame["setting"].astype(str).tolist()]
    removed = frame["removed"].astype(float)
    kept = frame["candidates"].astype(float) - removed
    for name, values, shade in (("kept", kept, ORDERED[1]), ("removed by the limit", removed,
                                                             ORDERED[3])):
        fig.add_trace(go.Bar(x=x, y=values, name=name, marker={"color": shade},
                             hovertemplate="%{x}: %{y:,.0f} events<extra></extra>"))
    fig.update_layout(barmode="stack")
    return styled(fig, y_title="events (without the cost limit)")


def cost_limits_table(frame: pd.DataFrame) -> Table:
    """Per rule and cost setting: the limit, the events without it, those it removes."""
    out = pd.DataFrame({"costs": frame["setting"].astype(str).to_numpy(),
                        "limit (bps of NAV)": frame["limit_bps"].to_numpy(),
                        "events without the limit": frame["candidates"].to_numpy(),
                        "removed": frame["removed"].to_numpy()},
                       index=pd.Index(frame["rule"].astype(str), name="rule"))
    cand = frame["candidates"].astype(float).to_numpy()
    out["removed share"] = [r / c if c > 0 else float("nan")
                            for r, c in zip(frame["removed"].astype(float), cand, strict=True)]
    formats = {"limit (bps of NAV)": lambda x: fmt_num(x, 0),
               "events without the limit": lambda x: fmt_num(x, 0),
               "removed": lambda x: fmt_num(x, 0), "removed share": lambda x: fmt_pct(x, 1)}
    if all(c in frame for c in COST_LIMIT_FIGURES):
        out["binds above: traded (drift), at bps per trade"] = [
            binds_text(t, d, r, fmt_pct, fmt_num) for t, d, r in
            zip(frame["breakeven_turnover"], frame["breakeven_drift"], frame["rate_bps"],
                strict=True)]
        out["events' cost, bps of NAV: median / 90th pct / max"] = [
            f"{fmt_num(m, 2)} / {fmt_num(p, 2)} / {fmt_num(x, 2)}" for m, p, x in
            zip(frame["cost_median_bps"], frame["cost_p90_bps"], frame["cost_max_bps"],
                strict=True)]
        out["events' traded: median / 90th pct"] = [
            f"{fmt_pct(m, 1)} / {fmt_pct(p, 1)}" for m, p in
            zip(frame["turnover_median"], frame["turnover_p90"], strict=True)]
    return Table("validation-cost-limits-table", "Events removed by the cost limits", out,
                 formats, caption=COST_LIMITS_NOTE)


def _pooled(table: pd.DataFrame) -> pd.DataFrame:
    """The rows pooled over tiers (all rows when there are none): per estimator (in order
    of appearance), in regime order."""
    rows = table[table["tier"].astype(str) == ALL_TIERS]
    rows = rows if len(rows) else table
    first = {e: i for i, e in enumerate(dict.fromkeys(rows["estimator"]))}
    keys = ["_estimator", *(["regime_index"] if "regime_index" in rows else [])]
    return (rows.assign(_estimator=rows["estimator"].map(first))
            .sort_values(keys, kind="stable").drop(columns="_estimator"))


def multipliers_figure(table: pd.DataFrame) -> go.Figure:
    """The calibrated VIX multiplier of each regime, one marker series per estimator.

    The rows pooled over size tiers (``tier == "all"``), the bootstrap interval as error
    bars, and a dashed line at 1 (the calm regime's, by construction).
    """
    fig = go.Figure()
    rows = _pooled(table)
    for i, (estimator, part) in enumerate(rows.groupby("estimator", sort=False)):
        m = part["multiplier"].astype(float)
        fig.add_trace(go.Scatter(
            x=part["regime"].astype(str), y=m, mode="markers", name=str(estimator),
            marker={"size": 11, "color": ORDERED[1 + 2 * i] if i < 2 else color(i)},
            error_y={"type": "data", "array": part["multiplier_high"].astype(float) - m,
                     "arrayminus": m - part["multiplier_low"].astype(float), "thickness": 1.5},
            hovertemplate=f"{estimator}, %{{x}}: ×%{{y:.2f}}<extra></extra>"))
    fig.add_hline(y=1.0, line={"dash": "dash", "color": OTHER_COLOR, "width": 1})
    return styled(fig, y_title="spread multiplier (regime / calm)")


def multipliers_table(table: pd.DataFrame) -> Table:
    """Per estimator and regime (pooled over tiers): the multiplier and its interval."""
    rows = _pooled(table)
    out = pd.DataFrame({"regime": rows["regime"].astype(str).to_numpy(),
                        "multiplier": rows["multiplier"].to_numpy(),
                        "interval": [f"{fmt_num(lo, 2)} – {fmt_num(hi, 2)}" for lo, hi in
                                     zip(rows["multiplier_low"], rows["multiplier_high"],
                                         strict=True)]},
                       index=pd.Index(rows["estimator"].astype(str), name="estimator"))
    if "configured" in rows:
        out["configured"] = rows["configured"].to_numpy()
    if "pairs" in rows:
        out["pairs"] = rows["pairs"].to_numpy()
    if "months" in rows:
        out["months"] = rows["months"].to_numpy()
    if "episodes" in rows:
        out["episodes"] = rows["episodes"].to_numpy()
    formats = {"multiplier": lambda x: fmt_num(x, 2), "pairs": lambda x: fmt_num(x, 0),
               "months": lambda x: fmt_num(x, 0), "episodes": lambda x: fmt_num(x, 0),
               "configured": lambda x: fmt_num(x, 2)}
    return Table("validation-vix-multipliers-table", "Calibrated VIX multipliers of spreads",
                 out, formats, caption="Spread in the regime over the calm regime's, estimated "
                 "from daily bars (driftwise calibrate-costs); the interval is a circular "
                 "block bootstrap of calendar months ('months': the months behind it; "
                 "'episodes': their runs of consecutive months, the independent "
                 "observations); an empty multiplier: the calm spread is not positive, no "
                 "ratio; 'configured' is the cost model's multiplier the rules were tested "
                 "with. The methodology claims spreads and impact of 2–3× normal when VIX is "
                 "above 30.")


def ranking_figure(ranking: pd.DataFrame) -> go.Figure:
    """Each rule's mean score across paths with its interval, best (lowest) on top."""
    rows = ranking.sort_values("rank", kind="stable")
    names = rows.index.astype(str).tolist()
    score = rows["score"].astype(float)
    fig = go.Figure(go.Scatter(
        x=score, y=names, mode="markers", name="mean score across paths",
        marker={"size": 11, "color": ORDERED[1]},
        error_x={"type": "data", "array": rows["score_high"].astype(float) - score,
                 "arrayminus": score - rows["score_low"].astype(float), "thickness": 2},
        hovertemplate="%{y}: score %{x:.4g}<extra></extra>"))
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1])
    return styled(fig, x_title="score (lower is better), with its interval across paths")


def ranking_table(ranking: pd.DataFrame) -> Table:
    """The many-path ranking: rank with its interval, score with its, P(best), ties."""
    rows = ranking.sort_values("rank", kind="stable")
    out = pd.DataFrame({
        "rank": rows["rank"].to_numpy(),
        "rank interval": [f"{int(lo)} – {int(hi)}" for lo, hi in
                          zip(rows["rank_low"], rows["rank_high"], strict=True)],
        "score": rows["score"].to_numpy(),
        "score interval": [f"{fmt_num(lo, 4)} – {fmt_num(hi, 4)}" for lo, hi in
                           zip(rows["score_low"], rows["score_high"], strict=True)],
        "P(best)": rows["p_best"].to_numpy()},
        index=pd.Index(rows.index.astype(str), name="rule"))
    if "tied_with" in rows:
        out["cannot be told apart from"] = rows["tied_with"].astype(str).to_numpy()
    formats = {"rank": lambda x: fmt_num(x, 0), "score": lambda x: fmt_num(x, 4),
               "P(best)": lambda x: fmt_pct(x, 0)}
    return Table("validation-path-ranking-table", "Ranking across many paths", out, formats,
                 caption="Rules ranked by their mean score over the backtest's paths; the "
                         "intervals come from resampling blocks of start dates.")


EFFECT_COLUMNS = ("effect_mean", "effect_ci_low", "effect_ci_high", "effect_bar")
"""The columns of the verdict's own figure: the mean effect, its interval and the claim's bar."""
FIRST_COLUMNS = ("first_hit_rate", "first_effect_mean", "first_effect_ci_low",
                 "first_effect_ci_high", "first_n_events", "first_n_clusters")
"""The same on the first event of each path."""


def _interval_text(lo: float, hi: float) -> str:
    """``[lo, hi]`` of a mean effect, or :data:`NO_INTERVAL`."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return NO_INTERVAL
    return f"[{fmt_num(lo, 3)}, {fmt_num(hi, 3)}]"


def rules_table(rules: pd.DataFrame) -> Table:
    """Per rule: the claim, its verdict with the interval it rests on, the independent
    observations, then the hit rate with its interval beside the stated confidence.

    With the study's columns (:func:`driftwise.validation.stats.rules_table`) the verdict's
    interval is the mean effect's (CR2, ``t(G-1)``) against the claim's bar, and ``G`` the
    number of independent clusters; a table without them shows the hit rate's interval.
    """
    frame = pd.DataFrame(index=pd.Index(rules["rule"].astype(str), name="rule"))
    if "claim" in rules:
        frame["claim"] = rules["claim"].astype(str).to_numpy()
    frame["verdict"] = rules["verdict"].map(_verdict).to_numpy()
    on_effect = all(c in rules for c in EFFECT_COLUMNS)
    if on_effect:
        measure = rules["effect_measure"].astype(str) if "effect_measure" in rules else \
            pd.Series("effect", index=rules.index)
        frame["mean effect [95%] vs bar"] = [
            f"{m} {fmt_num(e, 3)} {_interval_text(lo, hi)} vs {fmt_num(b, 3)}"
            + second_part_text(rules, i)
            for i, (m, e, lo, hi, b) in enumerate(zip(
                measure, rules["effect_mean"], rules["effect_ci_low"], rules["effect_ci_high"],
                rules["effect_bar"], strict=True))]
    if "verdict_reason" in rules:
        frame["reason"] = rules["verdict_reason"].astype(str).to_numpy()
    if "n_events" in rules:
        frame["events"] = rules["n_events"].to_numpy()
    if "n_clusters" in rules:
        frame["independent clusters (G)"] = rules["n_clusters"].to_numpy()
    frame["hit rate"] = rules["hit_rate"].to_numpy()
    frame["interval"] = [f"{fmt_pct(lo, 1)} – {fmt_pct(hi, 1)}" for lo, hi in
                         zip(rules["ci_low"], rules["ci_high"], strict=True)]
    frame["stated confidence"] = rules["stated_confidence"].to_numpy()
    if "effect" in rules:
        frame["effect" if not on_effect else "median effect"] = rules["effect"].to_numpy()
    if on_effect and all(c in rules for c in FIRST_COLUMNS):
        verdicts = (rules["first_verdict"].map(_verdict) if "first_verdict" in rules
                    else pd.Series("", index=rules.index))
        lows = rules.get("first_ci_low", pd.Series(float("nan"), index=rules.index))
        highs = rules.get("first_ci_high", pd.Series(float("nan"), index=rules.index))
        frame["first event per path: verdict; mean effect [95%]; hit rate [95%] (events, G)"] = [
            f"{v}; {fmt_num(m, 3)} {_interval_text(lo, hi)}"
            + second_part_text(rules, i, "first_")
            + f"; {fmt_pct(h, 1)} [{fmt_pct(hlo, 1)}, {fmt_pct(hhi, 1)}] "
            f"({fmt_num(n, 0)}, {fmt_num(g, 0)})"
            for i, (v, h, hlo, hhi, m, lo, hi, n, g) in enumerate(zip(
                verdicts, rules["first_hit_rate"], lows, highs, rules["first_effect_mean"],
                rules["first_effect_ci_low"], rules["first_effect_ci_high"],
                rules["first_n_events"], rules["first_n_clusters"], strict=True))]
    formats = {"events": lambda x: fmt_num(x, 0), "hit rate": lambda x: fmt_pct(x, 1),
               "independent clusters (G)": lambda x: fmt_num(x, 0),
               "stated confidence": lambda x: fmt_pct(x, 0), "effect": lambda x: fmt_num(x, 4),
               "median effect": lambda x: fmt_num(x, 4)}
    caption = ("The verdict rests on the mean effect and its 95% interval (cluster-robust CR2, "
               "Student t on G − 1 degrees of freedom) against the claim's bar, every part of "
               "the claim (rule 1: its TE cut and its certainty-equivalent gain over waiting) "
               "shown and the part that decided it named; G is the number of independent "
               "calendar clusters of events. The hit rate, with its interval, is secondary; "
               "the first event of each path has its own verdict." if on_effect else
               "Verdicts as judged by the validation run; the interval is the confidence "
               "interval of the measured hit rate.")
    return Table("validation-rules", "Verdicts", frame, formats, caption=caption)


def falsification_pooled_table(pooled: pd.DataFrame) -> Table:
    """The falsification verdict pooled over portfolios, per cost setting and calendar,
    with its intervals across calendar years and their number (G)."""
    out = pd.DataFrame({
        "vs calendar": pooled["calendar"].astype(str).to_numpy(),
        "portfolios": pooled["portfolios"].to_numpy(),
        "years (G)": pooled["n_years"].to_numpy(),
        "TE threshold − calendar [95%]": [
            f"{fmt_pct(m, 2)} [{fmt_pct(lo, 2)}, {fmt_pct(hi, 2)}]" for m, lo, hi in
            zip(pooled["te_diff_mean"], pooled["te_diff_low"], pooled["te_diff_high"],
                strict=True)],
        "extra cost − TE gain, bps a year [95%]": [
            f"{fmt_num(1e4 * m, 2)} [{fmt_num(1e4 * lo, 2)}, {fmt_num(1e4 * hi, 2)}]"
            for m, lo, hi in zip(pooled["excess_mean"], pooled["excess_low"],
                                 pooled["excess_high"], strict=True)],
        "verdict": pooled["verdict"].astype(str).to_numpy()},
        index=pd.Index(pooled["setting"].astype(str), name="costs"))
    formats = {"portfolios": lambda x: fmt_num(x, 0), "years (G)": lambda x: fmt_num(x, 0)}
    return Table("validation-falsification-pooled", "Falsification test, pooled", out, formats,
                 caption=FALSIFICATION_NOTE)


EFFECT_TABLE_CAPTION = (
    "Each row: the events and the number of independent calendar clusters G behind its "
    "intervals; the mean effect with its 95% interval (cluster-robust CR2, Student t on "
    "G − 1 degrees of freedom) against the claim's bar, and the verdict resting on it "
    "(inconclusive with fewer than 10 events or 5 clusters); the hit rate with its interval "
    "and its own verdict against 0.5 are secondary.")
"""What a breakdown's and the sensitivity's table show, in words."""


def _effect_columns(frame: pd.DataFrame) -> dict[str, list[object]]:
    """The verdict row's figures: events, G, mean effect [95%] vs bar, verdict, then the
    hit rate with its interval (and its verdict when the frame has it)."""
    out: dict[str, list[object]] = {
        "events": frame["n_events"].tolist(),
        "independent clusters (G)": frame["n_clusters"].tolist(),
        "mean effect [95%] vs bar": [
            f"{fmt_num(m, 3)} "
            + (NO_INTERVAL if pd.isna(lo) or pd.isna(hi)
               else f"[{fmt_num(lo, 3)}, {fmt_num(hi, 3)}]") + f" vs {fmt_num(b, 3)}"
            + second_part_text(frame, i)
            for i, (m, lo, hi, b) in enumerate(zip(
                frame["effect_mean"], frame["effect_ci_low"], frame["effect_ci_high"],
                frame["effect_bar"], strict=True))],
        "verdict": [_verdict(v) for v in frame["verdict"]],
        "hit rate": frame["hit_rate"].tolist(),
        "hit-rate interval": [f"{fmt_pct(lo, 1)} – {fmt_pct(hi, 1)}" for lo, hi in
                              zip(frame["ci_low"], frame["ci_high"], strict=True)]}
    if "hit_verdict" in frame:
        out["hit-rate verdict"] = [_verdict(v) for v in frame["hit_verdict"]]
    return out


EFFECT_FORMATS = {"events": lambda x: fmt_num(x, 0),
                  "independent clusters (G)": lambda x: fmt_num(x, 0),
                  "hit rate": lambda x: fmt_pct(x, 1)}


def breakdown_table(frame: pd.DataFrame, by: str, key: str, title: str,
                    group_label: Callable[[object], str] = str) -> Table | None:
    """A breakdown as a table, one row per rule and group: the group, then the events, ``G``,
    the mean effect with its interval against the bar, the verdict, and the hit rate with
    its interval (secondary). None when the frame lacks the study's effect columns
    (:data:`BREAKDOWN_EFFECT_COLUMNS`)."""
    if not all(c in frame for c in BREAKDOWN_EFFECT_COLUMNS):
        return None
    out = pd.DataFrame({"group": [group_label(g) for g in frame[by]], **_effect_columns(frame)},
                       index=pd.Index(frame["rule"].astype(str), name="rule"))
    return Table(key, title, out, EFFECT_FORMATS, caption=EFFECT_TABLE_CAPTION)


def sensitivity_table(frame: pd.DataFrame) -> Table:
    """The claims' parts and other definitions, one row per rule and variant, with the
    columns of :func:`breakdown_table`."""
    out = pd.DataFrame({"variant": frame["variant"].astype(str).tolist(),
                        **_effect_columns(frame)},
                       index=pd.Index(frame["rule"].astype(str), name="rule"))
    return Table("validation-sensitivity", "Sensitivity of the claims", out, EFFECT_FORMATS,
                 caption="Each claim's parts alone and other definitions of its benefit; the "
                         "mean effect is the quantity the variant's hit compares with the bar. "
                         + EFFECT_TABLE_CAPTION)


def falsification_table(frame: pd.DataFrame) -> Table:
    """The falsification test per portfolio, cost setting and calendar: the verdict (holds,
    fails either way, or undecided), the TE difference with its block-bootstrap interval,
    the mean yearly excess cost with its interval across the path's calendar years, and
    their number ``G``."""
    out = pd.DataFrame({
        "costs": frame["setting"].astype(str).to_numpy(),
        "vs calendar": frame["calendar"].astype(str).to_numpy(),
        "verdict": frame["verdict"].astype(str).to_numpy(),
        "TE threshold − calendar [95%]": [
            f"{fmt_pct(m, 2)} [{fmt_pct(lo, 2)}, {fmt_pct(hi, 2)}]" for m, lo, hi in
            zip(frame["te_diff"], frame["te_diff_low"], frame["te_diff_high"], strict=True)],
        "mean yearly extra cost − TE gain, bps [95%]": [
            f"{fmt_num(1e4 * m, 2)} [{fmt_num(1e4 * lo, 2)}, {fmt_num(1e4 * hi, 2)}]"
            for m, lo, hi in zip(frame["excess_mean"], frame["excess_low"],
                                 frame["excess_high"], strict=True)],
        "years (G)": frame["n_years"].to_numpy()},
        index=pd.Index(frame["portfolio"].astype(str), name="portfolio"))
    return Table("validation-falsification", "Falsification test per portfolio", out,
                 {"years (G)": lambda x: fmt_num(x, 0)}, sortable=True,
                 caption="Threshold 5% against the calendar, per portfolio and cost setting. "
                         + FALSIFICATION_NOTE)


def research_table(research: pd.DataFrame) -> Table:
    """Each methodology claim: its measured verdict with interval, the independent
    observations behind it, and the literature figure with its source, side by side."""
    obs = [("" if pd.isna(n) else f"{int(n)} {u}") for n, u in
           zip(research["observations"], research["observations_unit"], strict=True)]
    out = pd.DataFrame({
        "measured": research["measured"].astype(str).to_numpy(),
        "interval": research["interval"].astype(str).to_numpy(),
        "independent observations": obs,
        "literature figure": research["literature_figure"].astype(str).to_numpy(),
        "what it measures": research["literature_measures"].astype(str).to_numpy(),
        "source": research["source"].astype(str).to_numpy()},
        index=pd.Index(research["claim"].astype(str), name="claim"))
    return Table("validation-research", "Claims beside the literature", out, {},
                 caption="Each claim's measured verdict with the interval it rests on and "
                         "the independent observations behind it, beside the published "
                         f"figure; '{literature.NO_FIGURE}' where no source gives one.")


def validation_headline(rules: pd.DataFrame) -> str:
    """How many rules history supports, by name."""
    verdicts = rules["verdict"].map(_verdict)
    names = rules["rule"].astype(str)
    parts = []
    for verdict in ("supported", "not supported", "inconclusive"):
        which = list(names[verdicts == verdict])
        if which:
            parts.append(f"{verdict}: {', '.join(which)}")
    other = list(names[~verdicts.isin(list(VERDICT_COLORS))])
    if other:
        parts.append(f"other: {', '.join(other)}")
    n_ok = int((verdicts == "supported").sum())
    return (f"Rule validation: history supports {n_ok} of {len(rules)} insight rules "
            f"({'; '.join(parts)}).")


def validation_page(data: ValidationPageData | pd.DataFrame) -> Page:
    """The validation page of the report (a bare DataFrame is the ``rules`` table)."""
    if isinstance(data, pd.DataFrame):
        data = ValidationPageData(rules=data)
    rules = data.rules
    stated = pd.Series(rules["stated_confidence"].astype(float).to_numpy(),
                     index=rules["rule"].astype(str))
    blocks: list[Block] = [Chart("validation-hit-rates",
                                 "Hit rate per rule against its stated confidence",
                                 hit_rate_figure(rules),
                                 height_px=max(300, 60 * len(rules) + 140),
                                 caption="Dots: measured hit rate with its confidence interval; "
                                         "diamonds: the confidence the methodology states.")]
    for frame, by, key, title, label in (
            (data.by_regime, data.regime_column, "validation-by-regime", "by VIX regime",
             lambda g: f"VIX {g}"),
            (data.by_cost, data.cost_column, "validation-by-cost", "by cost level",
             lambda g: f"{fmt_num(g, 0)} bp cost")):
        if frame is None or not len(frame):
            continue
        blocks.append(Chart(key, f"Hit rate {title}",
                            breakdown_figure(frame, by, stated, label)))
        table = breakdown_table(frame, by, f"{key}-table",
                                f"Mean effect and hit rate {title}", label)
        if table is not None:
            blocks.append(table)
    if data.by_regime is None and data.by_cost is None:
        blocks.append(Note("No breakdown by VIX regime or cost level was given."))
    if data.cost_limits is not None and len(data.cost_limits):
        blocks.append(Chart("validation-cost-limits", "Events removed by the cost limits",
                            cost_limits_figure(data.cost_limits),
                            caption="Rules 1 and 3 keep an event only when the rebalance "
                                    "costs at most the limit, as a fraction of NAV."))
        blocks.append(cost_limits_table(data.cost_limits))
    if data.multipliers is not None and len(data.multipliers):
        blocks.append(Chart("validation-vix-multipliers", "Calibrated VIX multipliers of spreads",
                            multipliers_figure(data.multipliers),
                            caption="The rule 4 claim rests on these: dots with the bootstrap "
                                    "interval, per spread estimator, pooled over size tiers."))
        blocks.append(multipliers_table(data.multipliers))
    if data.ranking is not None and len(data.ranking):
        blocks.append(Chart("validation-path-ranking", "Ranking across many paths",
                            ranking_figure(data.ranking),
                            height_px=max(260, 50 * len(data.ranking) + 140)))
        blocks.append(ranking_table(data.ranking))
    blocks.append(rules_table(rules))
    if data.sensitivity is not None and len(data.sensitivity):
        blocks.append(sensitivity_table(data.sensitivity))
    if data.falsification is not None and len(data.falsification):
        blocks.append(falsification_table(data.falsification))
    if data.falsification_pooled is not None and len(data.falsification_pooled):
        blocks.append(falsification_pooled_table(data.falsification_pooled))
    if data.research is not None and len(data.research):
        blocks.append(research_table(data.research))
    if data.flags:
        blocks.append(Note("Flags: " + "; ".join(
            f"{n.flag.value}: {n.detail}" + (f" ({', '.join(n.tickers)})" if n.tickers else "")
            for n in data.flags)))
    verdicts = rules["verdict"].map(_verdict)
    tiles = tuple(Tile(label.capitalize(), str(int((verdicts == label).sum())), "rules")
                  for label in VERDICT_COLORS)
    if "n_events" in rules:
        tiles += (Tile("Events tested", fmt_num(rules["n_events"].sum(), 0), "all rules"),)
    tone = Tone.GO if bool((verdicts == "supported").all()) else Tone.INFO
    return Page(key="validation", title="Rule validation", headline=validation_headline(rules),
                tone=tone, tiles=tiles, blocks=tuple(blocks), subtitle=data.description or
                "Each insight rule tested as a falsifiable claim on history.")


def page_data(result: StudyResult, multipliers: pd.DataFrame | None = None,
              ranking: pd.DataFrame | None = None) -> ValidationPageData:
    """What :func:`driftwise.report.write_report` needs for the validation page.

    ``multipliers``: a calibration's table (``Calibration.table``); ``ranking``: a
    many-path ranking (``PathStats.ranking``); each drawn beside the study when given.
    """
    pooled = result.falsification_pooled
    return ValidationPageData(rules=result.rules, by_regime=result.by_regime,
                              by_cost=result.by_cost, description=describe(result),
                              cost_limits=result.cost_limits, multipliers=multipliers,
                              ranking=ranking,
                              research=literature.research_table(result, multipliers),
                              falsification_pooled=pooled if len(pooled) else None,
                              flags=tuple(result.notices),
                              sensitivity=result.sensitivity if len(result.sensitivity)
                              else None,
                              falsification=result.falsification
                              if len(result.falsification) else None)
