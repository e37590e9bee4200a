"""Study results as display tables, JSON, a markdown report and the HTML page's data."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from driftwise.validation.literature import research_table
from driftwise.validation.rules import RULES
from driftwise.validation.study import STUDY_MIN_HISTORY_DAYS, StudyResult

CRITERION = ("each claim is about an expected gain with a bar, and its verdict rests on the "
             "mean effect and its 95% cluster-robust interval (CR2, Student t on G − 1 "
             "degrees of freedom, G the number of clusters): supported if the interval lies "
             "at or above the bar; not supported if it lies below it; inconclusive otherwise "
             "or with fewer than 10 events or 5 clusters; rule 1 needs both parts of its "
             "claim. The hit rate is secondary: its own verdict by the same rule against "
             "0.5, and whether the methodology's stated confidence lies inside its interval.")


def _pct(x: Any, digits: int = 1) -> str:
    return "" if _missing(x) else f"{100.0 * float(x):.{digits}f}%"


def _num(x: Any, digits: int = 3) -> str:
    return "" if _missing(x) else f"{float(x):,.{digits}f}"


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _interval(lo: Any, hi: Any) -> str:
    return f"{_pct(lo)} – {_pct(hi)}"


NO_INTERVAL = "[no interval: G < 2]"
"""What stands in place of an interval that cannot be measured (G < 2, or no events)."""


def _effect_interval(lo: Any, hi: Any) -> str:
    return NO_INTERVAL if _missing(lo) or _missing(hi) else f"[{_num(lo)}, {_num(hi)}]"


def describe(result: StudyResult) -> str:
    """One sentence: what was run, on what, in how long."""
    s = result.settings
    n_events = int((result.events["setting"] == "model").sum()) if len(result.events) else 0
    names = ", ".join(p.label for p in result.portfolios[:3])
    more = f" and {len(result.portfolios) - 3} more" if len(result.portfolios) > 3 else ""
    return ((f"{len(result.portfolios)} portfolio(s) ({names}{more}), {result.n_paths} paths "
            f"(monthly starts, buy and hold until the next {s.review.value} review), "
            f"{n_events} events under the model costs; {result.seconds:.1f} s on ")
            + (f"the Dask scheduler at {s.scheduler}." if s.scheduler is not None
               else f"{s.workers} worker(s)."))


def rules_display(result: StudyResult) -> pd.DataFrame:
    """The verdict table as text, one row per rule (index rule).

    The verdict rests on the mean effect and its interval against the claim's bar, every
    part of the claim shown (rule 1: the TE cut, then the certainty-equivalent gain over
    waiting), and ``reason`` names the part that decided it; the hit rate is secondary;
    ``G`` is the number of clusters behind each interval; the first event of each path
    stands beside all events, with its own verdict.
    """
    r = result.rules
    return pd.DataFrame({
        "events": r["n_events"].astype(int).astype(str).to_numpy(),
        "G": r["n_clusters"].astype(int).astype(str).to_numpy(),
        "mean effect [95%] vs bar": [
            f"{_num(m)} {_effect_interval(lo, hi)} vs {_num(b)} ({k})" + second_part_text(r, i)
            for i, (m, lo, hi, b, k) in enumerate(zip(
                r["effect_mean"], r["effect_ci_low"], r["effect_ci_high"], r["effect_bar"],
                r["effect_measure"], strict=True))],
        "verdict (effect)": r["verdict"].to_numpy(),
        "reason": r["verdict_reason"].astype(str).to_numpy(),
        "hit rate [95%]": [f"{_pct(x)} {_interval(lo, hi)}" for x, lo, hi in
                           zip(r["hit_rate"], r["ci_low"], r["ci_high"], strict=True)],
        "stated": [_pct(x, 0) for x in r["stated_confidence"]],
        "stated in interval": ["yes" if x else "no" for x in r["stated_in_interval"]],
        "first event per path: verdict; mean effect [95%]; hit rate [95%] (events, G)": [
            f"{v}; {_num(m)} {_effect_interval(mlo, mhi)}"
            + second_part_text(r, i, "first_")
            + f"; {_pct(h)} {_interval(lo, hi)} ({n}, {g})"
            for i, (v, h, lo, hi, m, mlo, mhi, n, g) in enumerate(zip(
                r["first_verdict"], r["first_hit_rate"], r["first_ci_low"],
                r["first_ci_high"], r["first_effect_mean"], r["first_effect_ci_low"],
                r["first_effect_ci_high"], r["first_n_events"].astype(int),
                r["first_n_clusters"].astype(int), strict=True))],
        "median effect": [_num(x) for x in r["effect"]],
        "hit-rate verdict": r["hit_verdict"].to_numpy()},
        index=pd.Index(r["rule"], name="rule"))


def effect_cells(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The columns every verdict row shows, as text: events, ``G``, the mean effect with its
    95% interval against the bar, the verdict resting on it, and the hit rate with its
    interval and its own verdict (secondary).

    ``frame`` holds the columns of :func:`driftwise.validation.stats.breakdown`.
    """
    return {
        "events": [str(int(n)) for n in frame["n_events"]],
        "G": [str(int(g)) for g in frame["n_clusters"]],
        "mean effect [95%] vs bar": [
            f"{_num(m)} {_effect_interval(lo, hi)} vs {_num(b)}" + second_part_text(frame, i)
            for i, (m, lo, hi, b) in enumerate(zip(
                frame["effect_mean"], frame["effect_ci_low"], frame["effect_ci_high"],
                frame["effect_bar"], strict=True))],
        "verdict (effect)": [str(v) for v in frame["verdict"]],
        "hit rate [95%]": [f"{_pct(x)} {_interval(lo, hi)}" for x, lo, hi in
                           zip(frame["hit_rate"], frame["ci_low"], frame["ci_high"],
                               strict=True)],
        "hit-rate verdict": [str(v) for v in frame["hit_verdict"]],
        **({"reason": [str(v) for v in frame["verdict_reason"]]}
           if "verdict_reason" in frame else {})}


def second_part_text(frame: pd.DataFrame, i: int, prefix: str = "") -> str:
    """``"; CE gain over waiting 3.300 [...] vs 0.000 bps"``: the second part of a claim
    (rule 1) in row ``i`` (``prefix`` ``"first_"``: on the first events), empty for a claim
    without one."""
    mean = prefix + "second_effect_mean"
    if mean not in frame or _missing(frame[mean].iloc[i]):
        return ""
    row = frame.iloc[i]
    lo, hi = row[prefix + "second_effect_ci_low"], row[prefix + "second_effect_ci_high"]
    return (f"; CE gain over waiting {_num(row[mean])} {_effect_interval(lo, hi)} "
            f"vs {_num(row[prefix + 'second_effect_bar'])} bps")


def breakdown_display(frame: pd.DataFrame, column: str, label: str) -> pd.DataFrame:
    """A breakdown (by regime or cost level) as text: one row per rule and group (index
    rule), the group under ``label``, then :func:`effect_cells`."""
    if not len(frame):
        return pd.DataFrame()
    groups = [f"{c:g}" if isinstance(c, float) else str(c) for c in frame[column]]
    return pd.DataFrame({label: groups, **effect_cells(frame)},
                        index=pd.Index(frame["rule"].astype(str), name="rule"))


BREAKDOWN_NOTE = ("Each row: the events of the group and the number of clusters G behind its "
                  "intervals; the mean effect with its 95% cluster-robust interval (CR2, "
                  "Student t on G − 1 degrees of freedom) against the claim's bar, and the "
                  "verdict resting on it (inconclusive with fewer than 10 events or 5 "
                  "clusters; rule 1 also needs its certainty-equivalent gain over waiting "
                  "above 0, shown after its TE cut); the hit rate with its interval and its "
                  "own verdict against 0.5 are secondary.")
"""What the columns of :func:`breakdown_display` and :func:`sensitivity_display` mean."""

SENSITIVITY_NOTE = ("Each claim's parts alone and other definitions of its benefit: the mean "
                    "effect is the quantity the variant's hit compares with the bar (rule 1 "
                    "part (b): the certainty-equivalent gain over waiting in bps, bar 0; rule "
                    "2: benefit over cost under that definition, bar 2). " + BREAKDOWN_NOTE)
"""What the sensitivity table shows, in words."""


COST_LIMITS_NOTE = ("The cost in the IF is the cost of the whole rebalance as a fraction of NAV "
                    "(Σ |trade| × cost per trade / NAV): a rebalance at drift D trades 2D of "
                    "NAV, so at c bps per trade it costs 2·D·c bps of NAV and a limit L binds "
                    "only above L / c of NAV traded, a drift of L / (2c) (under the cost model "
                    "c is the events' median cost per unit traded; 'never' when that drift is "
                    "beyond 100%). The events' cost and value traded (median, 90th "
                    "percentile) show how far they are from it.")
"""What the table of :func:`cost_limits_display` counts, in words."""


def binds_text(turnover: float, drift: float, rate: float, pct: Callable[[Any, int], str],
               num: Callable[[Any, int], str]) -> str:
    """``"40.0% (20.0%) at 50.0"``: where a cost limit binds, the value traded (and drift)
    at the cost per unit traded; ``"never: 545% (272%) at 3.7"`` when the drift it needs
    is beyond 100% (no portfolio drifts that far)."""
    text = f"{pct(turnover, 1)} ({pct(drift, 1)}) at {num(rate, 1)}"
    return f"never: {text}" if drift > 1.0 else text


def cost_limits_display(result: StudyResult) -> pd.DataFrame:
    """Events each cost limit removes, per rule and cost setting, as text.

    One row per rule and setting: the limit (bps of NAV), the events without the limit,
    the events removed by it (count and share), the path days over the limit, where the
    limit binds (the value traded and the drift above which a rebalance costs more than
    it, at the setting's cost per unit traded) and the candidate events' cost and value
    traded (median, 90th percentile).
    """
    c = result.cost_limits
    if not len(c):
        return pd.DataFrame()
    return pd.DataFrame({
        "rule": c["rule"], "costs": c["setting"],
        "limit (bps of NAV)": [_num(x, 0) for x in c["limit_bps"]],
        "events without the limit": c["candidates"].astype(int),
        "removed": [f"{int(n)} ({_pct(x)})" if not _missing(x) else f"{int(n)}"
                    for n, x in zip(c["removed"], c["removed_share"], strict=True)],
        "days over / candidate days": [f"{int(a)} / {int(b)}" for a, b in
                                       zip(c["days_over_limit"], c["candidate_days"],
                                           strict=True)],
        "binds above: traded (drift), at bps per trade": [
            binds_text(t, d, r, _pct, _num) for t, d, r in
            zip(c["breakeven_turnover"], c["breakeven_drift"], c["rate_bps"], strict=True)],
        "events' cost, bps of NAV: median / 90th pct / max": [
            f"{_num(m, 2)} / {_num(p, 2)} / {_num(x, 2)}" for m, p, x in
            zip(c["cost_median_bps"], c["cost_p90_bps"], c["cost_max_bps"], strict=True)],
        "events' traded: median / 90th pct": [
            f"{_pct(m)} / {_pct(p)}" for m, p in
            zip(c["turnover_median"], c["turnover_p90"], strict=True)]})


def falsification_display(result: StudyResult) -> pd.DataFrame:
    """The falsification test, summarized over portfolios per setting and calendar.

    The verdict columns count the portfolios per verdict ("holds", "fails: threshold
    does not reduce TE", "fails: costs exceed the TE reduction", "undecided: extra cost
    and TE reduction cannot be told apart", each from intervals:
    :mod:`driftwise.backtest.falsification`); the cost comparison is n/a on a portfolio
    where the threshold rule does not reduce TE.
    """
    f = result.falsification
    if not len(f):
        return pd.DataFrame()
    rows = []
    for (setting, cal), part in f.groupby(["setting", "calendar"], sort=False):
        rows.append({"costs": setting, "vs calendar": cal, "portfolios": len(part),
                     "TE threshold": _pct(part["te_threshold"].mean(), 2),
                     "TE calendar": _pct(part["te_calendar"].mean(), 2),
                     "threshold cuts TE (CI < 0)": f"{int(part['threshold_reduces_te'].sum())}"
                                                   f"/{len(part)}",
                     "extra cost / yr": f"{1e4 * part['cost_diff'].mean():.2f} bps",
                     "verdict": verdict_counts(part["verdict"]),
                     "verdict (methodology's ΔTE form)": verdict_counts(part["verdict_seed"]),
                     **({"verdict across its years": verdict_counts(part["verdict_years"])}
                        if "verdict_years" in part else {})})
    return pd.DataFrame(rows).set_index("costs")


def falsification_pooled_display(result: StudyResult) -> pd.DataFrame:
    """The pooled falsification verdict per setting and calendar, with its intervals
    across calendar years (:attr:`StudyResult.falsification_pooled`), as text."""
    p = result.falsification_pooled
    if not len(p):
        return pd.DataFrame()
    return pd.DataFrame({
        "costs": p["setting"], "vs calendar": p["calendar"], "portfolios": p["portfolios"],
        "years (G)": p["n_years"],
        "TE thr − cal [95%]": [f"{_pct(m, 2)} [{_pct(lo, 2)}, {_pct(hi, 2)}]" for m, lo, hi in
                               zip(p["te_diff_mean"], p["te_diff_low"], p["te_diff_high"],
                                   strict=True)],
        "extra cost − TE gain [95%]": [
            f"{_num(1e4 * m, 2)} [{_num(1e4 * lo, 2)}, {_num(1e4 * hi, 2)}] bps"
            for m, lo, hi in zip(p["excess_mean"], p["excess_low"], p["excess_high"],
                                 strict=True)],
        "verdict (pooled)": p["verdict"]}).set_index("costs")


FALSIFICATION_NOTE = (
    "Each portfolio's verdict rests on one path (its whole window from one start date): the "
    "interval of its TE difference is a paired block bootstrap of that path's days, and "
    "'verdict across its years' repeats the test on its calendar years (t interval on the "
    "years). The pooled verdict below carries the interval: every portfolio's calendar "
    "years, clustered by year (CR2, Student t on G − 1 degrees of freedom, G the years); "
    "the excess cost is the extra cost a year less the TE reduction (γ/2)(TE_cal² − TE_thr²).")
"""How the falsification verdicts are built, in words."""


def verdict_counts(verdicts: pd.Series) -> str:
    """``"2 holds; 1 fails: ..."``: portfolios per verdict, most frequent first."""
    counts = verdicts.astype(str).value_counts(sort=True)
    return "; ".join(f"{n} {v}" for v, n in counts.items())


def caveats(result: StudyResult) -> list[str]:
    """What the numbers rest on, in plain words."""
    out = [
        "Rule 4's cost claim rests on the cost model's VIX scaling (spread and impact × "
        f"{', '.join(f'{m:g}' for m in result.settings.model.costs.vix_multipliers)} by "
        "regime, the configured multipliers: assumptions, not measurements; `driftwise "
        "calibrate-costs` estimates them from daily bars, where on the S&P 500 data the "
        "estimates' intervals hold both 1 and 3, and --multipliers shows them beside): "
        "without it the delayed trade is not cheaper (see the 'no VIX scaling' and "
        "flat-cost rows).",
        f"Flat cost levels ({'/'.join(f'{v:g}' for v in result.settings.cost_levels_bps)} "
        "bps) replace the whole cost model and are not scaled by VIX; the IF's cost "
        "condition uses the same level.",
        "Tracking error is ex-ante with the risk model of the event day (covariance of the "
        "last 252 days when risk.te_model = full); realized tracking error is reported beside.",
        "Events of one calendar period are clustered (quarters; years for Rule 3's 12-month "
        "horizon); overlapping horizons across adjacent periods still make the intervals "
        "somewhat optimistic.",
    ]
    if any(p.universe == "sample" for p in result.portfolios):
        out.append("The sample's cost file (late-2022 spreads) is applied to every day since "
                   "1990, when spreads were far wider; its ADV comes from a market-cap proxy.")
    if any(p.universe == "sample" and p.tickers for p in result.portfolios):
        out.append("Survivorship bias of the sample: its 20 stocks were picked by its "
                   "publisher among stocks still listed on 2022-12-28, so every one survives "
                   "the whole window and none stops trading. The random portfolios are drawn "
                   "point in time among them (priced on the first day with "
                   f"{STUDY_MIN_HISTORY_DAYS} sessions of history, or all the sample has "
                   "before it, and no daily move beyond ±50% before it), which cannot undo "
                   "that choice.")
    if any(p.universe == "sp500" for p in result.portfolios):
        out.append("Survivorship bias: the 504-stock data holds only April-2021 S&P 500 "
                   "members. The portfolios are drawn point in time among those that were "
                   "index members on the first day (the membership history; without it "
                   "among all of them, flagged), priced then with "
                   f"{STUDY_MIN_HISTORY_DAYS} sessions of history and no daily move beyond "
                   "±50% before it; nothing after the first day is read (a stock that stops "
                   "trading is sold at its last price on the next session, its weight spread "
                   "over the others, flagged). Still biased: the day's members that left the "
                   "index before April 2021 (taken over, delisted or dropped after a fall: "
                   "271 of the 491 members of 2000-01-03, the default first day) cannot be "
                   "drawn, so the draws hold "
                   "only the day's members that survived and stayed in the index; the "
                   "failures among them are missing, which flatters returns and understates "
                   "delistings.")
    flags = sorted({n.flag.value for n in result.notices})
    if flags:
        out.append("Flags raised: " + ", ".join(flags) + ".")
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def research_display(result: StudyResult, multipliers: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
    """The research table (claim, measured verdict with interval, independent
    observations, literature figure and source) as text."""
    r = research_table(result, multipliers)
    return pd.DataFrame({
        "claim": r["claim"], "measured": r["measured"], "interval": r["interval"],
        "independent observations": [
            "" if _missing(n) else f"{int(n)} {u}"
            for n, u in zip(r["observations"], r["observations_unit"], strict=True)],
        "literature figure": r["literature_figure"],
        "what it measures": r["literature_measures"], "source": r["source"]})


def to_dict(result: StudyResult, multipliers: pd.DataFrame | None = None) -> dict[str, Any]:
    """Every table of the study as plain data (for JSON); ``multipliers`` (a calibration's
    table) measures the VIX claim of the research table."""
    s = result.settings
    return {
        "summary": describe(result), "criterion": CRITERION,
        "settings": {"nav_usd": s.nav_usd, "start": s.start, "end": s.end,
                     "review": s.review.value, "event_gap_days": s.gap_days,
                     "warmup_days": s.warmup_days, "cost_levels_bps": list(s.cost_levels_bps),
                     "thresholds": {k: (list(v) if isinstance(v, tuple) else v)
                                    for k, v in s.limits.__dict__.items()},
                     "workers": s.workers, "scheduler": s.scheduler,
                     "config": dict(s.model.config)},
        "portfolios": [{"label": p.label, "universe": p.universe, "tickers": list(p.tickers)}
                       for p in result.portfolios],
        "n_paths": result.n_paths, "seconds": result.seconds,
        "rules": _records(result.rules), "by_vix_regime": _records(result.by_regime),
        "by_cost_level": _records(result.by_cost), "cost_limits": _records(result.cost_limits),
        "sensitivity": _records(result.sensitivity),
        "effects": _records(result.effects), "falsification": _records(result.falsification),
        "falsification_pooled": _records(result.falsification_pooled),
        "falsification_basis": FALSIFICATION_NOTE,
        "research": _records(research_table(result, multipliers)),
        "caveats": caveats(result), "flags": [n.to_dict() for n in result.notices],
    }


def _md_table(frame: pd.DataFrame, index: str | None = None) -> str:
    if not len(frame):
        return "_none_\n"
    data = frame.reset_index() if index is not None else frame
    head = "| " + " | ".join(map(str, data.columns)) + " |"
    rule = "|" + "---|" * len(data.columns)
    body = ["| " + " | ".join(str(v).replace("|", "/") for v in row) + " |"
            for row in data.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def markdown(result: StudyResult, multipliers: pd.DataFrame | None = None) -> str:
    """The validation report in markdown (``multipliers``: as :func:`to_dict`)."""
    parts = ["# Validation of the insight rules\n", describe(result) + "\n",
             f"**Decision criterion.** {CRITERION}\n", "## Verdicts\n",
             _md_table(rules_display(result), "rule")]
    for spec in RULES:
        parts.append(f"- **{spec.key}** ({spec.title}): {spec.claim}.")
    parts += ["\n## By VIX regime at the event (model costs)\n",
              f"{BREAKDOWN_NOTE}\n",
              _md_table(breakdown_display(result.by_regime, "vix_regime", "VIX"), "rule"),
              "\n## By cost level (flat cost, also in the IF)\n",
              _md_table(breakdown_display(result.by_cost, "cost_level_bps", "cost bps"), "rule"),
              "\n## Events removed by the cost limits (rules 1 and 3)\n",
              f"{COST_LIMITS_NOTE}\n", _md_table(cost_limits_display(result)),
              "\n## Sensitivity of the claims\n", f"{SENSITIVITY_NOTE}\n",
              _md_table(sensitivity_display(result), "rule"),
              "\n## Effect sizes (model costs)\n", _md_table(_effects_display(result)),
              "\n## The falsification test (backtest engine)\n",
              "Does threshold rebalancing (5%) reduce annualized TE versus calendar "
              "rebalancing, and does its extra cost exceed the TE reduction?\n",
              f"{FALSIFICATION_NOTE}\n",
              _md_table(falsification_display(result), "costs"),
              "\n### Pooled over portfolios, intervals across calendar years\n",
              _md_table(falsification_pooled_display(result), "costs"),
              "\n## Claims beside the literature\n",
              _md_table(research_display(result, multipliers)), "\n## Caveats\n",
              *(f"- {c}" for c in caveats(result)), ""]
    return "\n".join(parts)


def sensitivity_display(result: StudyResult) -> pd.DataFrame:
    """The claims' parts and other definitions as text: one row per rule and variant
    (index rule), then :func:`effect_cells`."""
    s = result.sensitivity
    if not len(s):
        return pd.DataFrame()
    return pd.DataFrame({"variant": s["variant"].astype(str).to_numpy(), **effect_cells(s)},
                        index=pd.Index(s["rule"].astype(str), name="rule"))


def _effects_display(result: StudyResult) -> pd.DataFrame:
    e = result.effects
    if not len(e):
        return pd.DataFrame()
    return pd.DataFrame({"rule": e["rule"], "measure": e["meaning"],
                         "mean [95% CI]": [f"{_num(m, 4)} [{_num(lo, 4)}, {_num(hi, 4)}]"
                                           for m, lo, hi in zip(e["mean"], e["ci_low"],
                                                                e["ci_high"], strict=True)],
                         "median": [_num(x, 4) for x in e["median"]],
                         "quartiles": [f"{_num(a, 4)} .. {_num(b, 4)}" for a, b in
                                       zip(e["q25"], e["q75"], strict=True)]})


__all__ = [
    "BREAKDOWN_NOTE",
    "COST_LIMITS_NOTE",
    "CRITERION",
    "FALSIFICATION_NOTE",
    "NO_INTERVAL",
    "SENSITIVITY_NOTE",
    "binds_text",
    "breakdown_display",
    "caveats",
    "cost_limits_display",
    "describe",
    "effect_cells",
    "falsification_display",
    "falsification_pooled_display",
    "markdown",
    "research_display",
    "rules_display",
    "second_part_text",
    "sensitivity_display",
    "to_dict",
    "verdict_counts",
]
