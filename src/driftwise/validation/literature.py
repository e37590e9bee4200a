"""Published figures beside the study's verdicts: the research report's literature column.

:data:`LITERATURE` is the one place the sources live. Each entry names the methodology
claim it stands beside, the published figure (or None: no published figure was found,
and the report says so rather than invent one), what exactly that figure measures, and
its source (authors, year, title, venue, address). Every figure was read in the source's
own abstract or executive summary; none is written from memory.

:func:`research_table` puts each claim, its measured verdict with the interval it rests
on, the number of independent observations behind it, and the literature figure side by
side (the HTML section, ``--json`` key ``research`` and the markdown report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from driftwise.costs.regime import STRESS_CLAIM, claim_verdict
from driftwise.validation.rules import RULES
from driftwise.validation.stats import SECOND_BARS
from driftwise.validation.study import StudyResult

NO_FIGURE = "no published figure found"
"""What the literature column says where no source gives a figure for the claim."""


@dataclass(frozen=True)
class Source:
    """A citable publication."""

    authors: str
    year: int
    title: str
    venue: str
    url: str

    def cite(self) -> str:
        """``Authors (year), "Title", venue.``"""
        return f'{self.authors} ({self.year}), "{self.title}", {self.venue}'


@dataclass(frozen=True)
class LiteratureFigure:
    """One published figure beside one methodology claim.

    Attributes
    ----------
    claim : str
        The claim's key: a rule (``"Rule 1"`` .. ``"Rule 4"``), ``"Falsification"``,
        ``"VIX multipliers"`` or ``"Tax-loss harvesting"``.
    figure : str or None
        The figure as published; None when no published figure was found.
    measures : str
        What exactly the figure measures (sample, period, definition), or, without a
        figure, what was looked for.
    source : Source or None
        Where the figure is published (None without a figure and without a method source).
    estimator : str or None
        The spread estimator whose measurement stands beside the row (``corwin-schultz``,
        ``abdi-ranaldo``; the VIX claim only), None where the claim has one measurement.
    """

    claim: str
    figure: str | None
    measures: str
    source: Source | None = None
    estimator: str | None = None


VANGUARD_2010 = Source(
    "Jaconetti, C. M., Kinniry, F. M. Jr. and Zilbering, Y.", 2010,
    "Best practices for portfolio rebalancing", "Vanguard Research (July 2010)",
    "https://vdocument.in/portfolio-rebalancing.html")
DARYANANI_2008 = Source(
    "Daryanani, G.", 2008, "Opportunistic Rebalancing: A New Paradigm for Wealth Managers",
    "Journal of Financial Planning 21(1), January 2008",
    "https://www.scribd.com/document/714074483/Opportunistic-Rebalancing")
CORWIN_SCHULTZ_2012 = Source(
    "Corwin, S. A. and Schultz, P.", 2012,
    "A Simple Way to Estimate Bid-Ask Spreads from Daily High and Low Prices",
    "Journal of Finance 67(2), 719-760", "https://doi.org/10.1111/j.1540-6261.2012.01729.x")
ABDI_RANALDO_2017 = Source(
    "Abdi, F. and Ranaldo, A.", 2017,
    "A Simple Estimation of Bid-Ask Spreads from Daily Close, High, and Low Prices",
    "Review of Financial Studies 30(12), 4437-4480", "https://doi.org/10.1093/rfs/hhx084")
CHAUDHURI_BURNHAM_LO_2020 = Source(
    "Chaudhuri, S. E., Burnham, T. C. and Lo, A. W.", 2020,
    "An Empirical Evaluation of Tax-Loss-Harvesting Alpha",
    "Financial Analysts Journal 76(3), 99-108", "https://doi.org/10.1080/0015198X.2020.1760064")

LITERATURE: tuple[LiteratureFigure, ...] = (
    LiteratureFigure(
        "Rule 1", "1,008 rebalancing events (monthly, no threshold) against 15 (annual "
        "monitoring, 10% threshold); risk-adjusted returns not meaningfully different",
        "A 50% stock / 50% bond portfolio, 1926-2009: number of rebalancing events and "
        "risk-adjusted return of calendar and threshold strategies; no figure for the TE "
        "cut of a threshold rebalance against waiting for the calendar",
        VANGUARD_2010),
    LiteratureFigure(
        "Rule 1", "rebalancing return benefit more than doubled against annual rebalancing",
        "Bands of 20% of each class's target looked at every two weeks against annual "
        "calendar rebalancing, US asset classes, 1992-2004: the return benefit of "
        "rebalancing (not tracking error)", DARYANANI_2008),
    LiteratureFigure(
        "Rule 2", None, "the benefit of trading a high-volatility asset at once, as a "
        "multiple of its cost"),
    LiteratureFigure(
        "Rule 3", None, "the 12-month Sharpe-ratio gain of a cost-benefit rebalance"),
    LiteratureFigure(
        "Rule 4", None, "the cost saved by delaying a rebalance 10-20 days when VIX is "
        "above 30"),
    LiteratureFigure(
        "Falsification", "risk-adjusted returns not meaningfully different whether "
        "rebalanced monthly, quarterly or annually; annual or semiannual monitoring with "
        "5% thresholds a reasonable balance of risk control and cost",
        "A 50% stock / 50% bond portfolio, 1926-2009 (the paper's conclusion, not a TE "
        "difference with an interval)", VANGUARD_2010),
    LiteratureFigure(
        "VIX multipliers", None, "a published ratio of effective spreads with VIX above 30 "
        "to calm markets (the methodology's '2-3x normal'); the estimator measured on this "
        "row is Corwin-Schultz's (two-day high-low ranges, validated against TAQ effective "
        "spreads), in moment form over each cell", CORWIN_SCHULTZ_2012, "corwin-schultz"),
    LiteratureFigure(
        "VIX multipliers", None, "the same ratio; the estimator measured on this row is "
        "Abdi-Ranaldo's (close, high and low; the highest correlations with TAQ effective "
        "spreads among low-frequency estimates, most accurate for less liquid stocks)",
        ABDI_RANALDO_2017, "abdi-ranaldo"),
    LiteratureFigure(
        "Tax-loss harvesting", "1.08% a year before transaction costs; 0.82% a year under "
        "the wash-sale rule",
        "Tax alpha of monthly harvesting in the 500 largest CRSP stocks, 1926-2018, at "
        "15% long-term and 35% short-term capital-gains rates", CHAUDHURI_BURNHAM_LO_2020),
)
"""Every literature figure the report shows, one row per (claim, source); the VIX claim's
rows each name the estimator measured beside them."""

CLAIMS: dict[str, str] = {
    **{spec.key: spec.claim for spec in RULES},
    "Falsification": "threshold rebalancing reduces TE against calendar rebalancing, and "
                     "its extra cost does not exceed the TE reduction",
    "VIX multipliers": "spreads and impact are 2-3x normal when VIX is above 30",
    "Tax-loss harvesting": "harvesting losses of at least 10% of basis adds after-tax return",
}
"""The methodology's claims in the report's order."""

COLUMNS = ("claim", "methodology_claim", "measured", "interval", "observations",
           "observations_unit", "literature_figure", "literature_measures", "source", "url")
"""The research table's columns."""


def _num(x: Any, digits: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else \
        f"{float(x):,.{digits}f}"


ESTIMATOR_NAMES = {"corwin-schultz": "Corwin-Schultz", "abdi-ranaldo": "Abdi-Ranaldo"}
"""The spread estimators' names as the research table writes them."""

Measured = tuple[str, str, float, str]
"""(verdict and figure, interval, independent observations, their unit)."""


def _measured(result: StudyResult, multipliers: pd.DataFrame | None
              ) -> dict[tuple[str, str | None], Measured]:
    """Per (claim, estimator): (verdict and figure, interval, independent observations,
    their unit); the estimator is None except for the VIX claim."""
    out: dict[tuple[str, str | None], Measured] = {}
    for _, r in result.rules.iterrows():
        rule = str(r["rule"])
        interval = ((f"[{_num(r['effect_ci_low'])}, {_num(r['effect_ci_high'])}]"
                     if math.isfinite(float(r["effect_ci_low"])) else "no interval (G < 2)")
                    + f" vs bar {_num(r['effect_bar'])}")
        if rule in SECOND_BARS and "second_effect_mean" in r:  # the verdicts table's own
            m, lo, hi, bar = (r["second_effect_mean"], r["second_effect_ci_low"],
                              r["second_effect_ci_high"], r["second_effect_bar"])
            interval += (f"; second part, certainty-equivalent gain over waiting "
                         f"{_num(m, 1)} bps [{_num(lo, 1)}, {_num(hi, 1)}] vs bar {_num(bar, 0)}")
        out[(rule, None)] = (f"{r['verdict']}: {r['effect_measure']} "
                             f"{_num(r['effect_mean'])}",
                             interval, float(r["n_clusters"]), "calendar clusters")
    pooled = getattr(result, "falsification_pooled", None)
    if pooled is not None and len(pooled):
        row = pooled[(pooled["setting"] == "model")].iloc[0]
        out[("Falsification", None)] = (
            f"{row['verdict']} (vs {row['calendar']} calendar, model costs): TE threshold − "
            f"calendar {100 * row['te_diff_mean']:.2f}% a year",
            f"[{100 * row['te_diff_low']:.2f}%, {100 * row['te_diff_high']:.2f}%]; extra "
            f"cost − TE gain {1e4 * row['excess_mean']:.2f} bps [{1e4 * row['excess_low']:.2f},"
            f" {1e4 * row['excess_high']:.2f}]", float(row["n_years"]), "calendar years")
    if multipliers is not None and len(multipliers):
        for estimator in ESTIMATOR_NAMES:
            found = _vix_row(multipliers, estimator)
            if found is not None:
                out[("VIX multipliers", estimator)] = found
    return out


def _vix_row(multipliers: pd.DataFrame, estimator: str) -> Measured | None:
    """The VIX claim measured by one estimator (all stocks, the top regime over the calm
    one), judged on its interval against the methodology's range
    (:func:`~driftwise.costs.regime.claim_verdict`)."""
    rows = multipliers[(multipliers["estimator"].astype(str) == estimator)
                       & (multipliers["tier"].astype(str) == "all")]
    if "regime_index" in rows:
        rows = rows.sort_values("regime_index", kind="stable")
    if not len(rows):
        return None
    stress = rows.iloc[-1]  # the regimes in order: the last is VIX above the top break
    low, high = float(stress["multiplier_low"]), float(stress["multiplier_high"])
    claim = f"{STRESS_CLAIM[0]:g}-{STRESS_CLAIM[1]:g}x"
    verdict = f"{claim_verdict(low, high)} (claim {claim})"
    name = f"{ESTIMATOR_NAMES[estimator]}, all stocks, VIX {stress['regime']}"
    if math.isfinite(float(stress["multiplier"])):
        figure = f"{verdict}: {name}: ×{_num(stress['multiplier'], 2)}"
        interval = f"[{_num(low, 2)}, {_num(high, 2)}] (bootstrap of months)"
    else:
        calm = ""
        if "spread_bps" in rows:
            calm = f" ({_num(rows.iloc[0]['spread_bps'], 1)} bps)"
        figure = (f"{verdict}: {name}: no multiplier, the calm spread{calm} is not "
                  "positive (the estimator does not resolve these spreads)")
        interval = "undefined"
    for column, unit in (("episodes", "episodes of consecutive months"), ("months", "months")):
        if column in rows:
            return figure, interval, float(stress[column]), unit
    return (figure, interval + "; the number of months is not in the calibration's table",
            math.nan, "")


def research_table(result: StudyResult, multipliers: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """Each claim, its measured verdict with interval and independent observations, and
    the literature figure, one row per (claim, source) of :data:`LITERATURE`.

    ``multipliers``: a calibration's table (``Calibration.table``): each VIX row shows the
    multiplier of the stressed regime (all stocks) of its own estimator, with the verdict
    of its interval against the methodology's "2-3x" and the episodes (runs of consecutive
    months) behind it; without it, and for a claim the study does not test, ``measured``
    says so.
    """
    measured = _measured(result, multipliers)
    rows = []
    for claim, text in CLAIMS.items():
        missing = ("not measured by this run" if claim != "Tax-loss harvesting" else
                   "not measured by validate-rules (driftwise backtest --after-tax measures "
                   "it on a portfolio)", "", math.nan, "")
        for lit in (x for x in LITERATURE if x.claim == claim):
            verdict, interval, n, unit = measured.get((claim, lit.estimator), missing)
            rows.append({
                "claim": claim, "methodology_claim": text, "measured": verdict,
                "interval": interval, "observations": n, "observations_unit": unit,
                "literature_figure": lit.figure if lit.figure is not None else NO_FIGURE,
                "literature_measures": lit.measures,
                "source": lit.source.cite() if lit.source is not None else "",
                "url": lit.source.url if lit.source is not None else ""})
    return pd.DataFrame(rows, columns=list(COLUMNS))


__all__ = ["CLAIMS", "LITERATURE", "NO_FIGURE", "LiteratureFigure", "Source", "research_table"]
