"""Hit rates with cluster-robust intervals, effect sizes and verdicts.

Events of one calendar period share the market (and events of one path share their
drift history), so they are not independent. Events are grouped into **clusters** (the
calendar period of the event, :func:`cluster_ids`). With few clusters (13-25 in the S&P
study) the plain sandwich variance is too small, so every interval here carries a
**small-sample correction**: the CR2 (Bell-McCaffrey) cluster-robust variance and a
Student t quantile with ``G - 1`` degrees of freedom, ``G`` the number of clusters
(Bell and McCaffrey 2002, Survey Methodology 28(2); Imbens and Kolesar 2016, REStat
98(4); Cameron and Miller 2015, J. Human Resources 50(2), section VI). The number of
clusters is reported beside every interval.

* The mean of a per-event value (an effect size) has the interval
  ``m ± t(G-1) · se_CR2`` (:func:`clustered_mean`).
* A hit rate has a **Wilson interval at the effective sample size** (the number of events
  divided by the design effect, the CR2 variance over the variance under independence)
  with the ``t(G-1)`` quantile in place of the normal one (:func:`clustered_hit_rate`).

Decision criterion (written down before looking at the results, also in
``docs/rule-validation.md``). Each rule's claim is about an expected gain (a TE cut, a
benefit multiple, a Sharpe gain, a cost cut, each with the bar the claim states:
:data:`EFFECT_BARS`), so the **verdict rests on the mean effect and its interval**:

* **supported**: the interval of the mean effect lies entirely at or above the claim's bar;
* **not supported**: the interval lies entirely below the bar;
* **inconclusive**: the interval contains the bar, or there are fewer than ``min_events``
  events or ``min_clusters`` clusters.

The hit rate (the share of events where the claim held) is secondary, with its own
verdict by the same rule against 0.5 (``hit_verdict``), and whether the methodology's
stated confidence lies inside its interval. Results of the first event of each path
(the first day of a drifted spell) stand beside those of all events: the events of one
long spell repeat one decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import FloatArray, IntArray
from driftwise.backtest.cluster_robust import LEVEL as LEVEL
from driftwise.backtest.cluster_robust import clustered_mean as clustered_mean
from driftwise.backtest.cluster_robust import cr2_variance as cr2_variance
from driftwise.backtest.cluster_robust import t_critical as t_critical
from driftwise.backtest.falsification import Verdict as FalsificationVerdict
from driftwise.backtest.falsification import interval_verdict
from driftwise.errors import ConfigError
from driftwise.validation.rules import MEASUREMENTS, RULES, Thresholds, vix_regime_label

MODEL = "model"
NO_VIX_SCALING = "model, no VIX scaling"
"""Labels of the configured cost model and of the same model without VIX scaling."""

Z_95 = 1.959963984540054
"""Standard normal quantile of a two-sided 95% interval."""

EFFECT_BARS: dict[str, float] = {"Rule 1": 0.5, "Rule 2": 2.0, "Rule 3": 0.1, "Rule 4": 0.3}
"""The bar each rule's claim sets on its mean effect (the ``effect`` column of its events):
rule 1 cuts expected TE by at least 50%, rule 2 earns at least 2x its cost, rule 3 raises
the Sharpe ratio by at least 0.1, rule 4 cuts costs by at least 30%."""

SECOND_BARS: dict[str, tuple[str, float]] = {"Rule 1": ("ce_gain_bps", 0.0)}
"""A second expected gain a claim makes, by column and bar: rule 1 also beats waiting on a
risk-adjusted basis (a certainty-equivalent gain over waiting above 0). Its verdict is
supported only when both parts are, not supported when either part is not."""


class Verdict(StrEnum):
    """The outcome of testing one rule."""

    SUPPORTED = "supported"
    NOT_SUPPORTED = "not supported"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class HitRate:
    """A measured hit rate and its cluster-robust interval.

    Attributes
    ----------
    n_events, n_hits, n_clusters : int
    hit_rate : float
        ``n_hits / n_events`` (NaN without events).
    ci_low, ci_high : float
        Wilson interval at the effective sample size.
    design_effect : float
        Cluster-robust variance over the independent-events variance (>= 1).
    n_effective : float
        ``n_events / design_effect``.
    """

    n_events: int
    n_hits: int
    n_clusters: int
    hit_rate: float
    ci_low: float
    ci_high: float
    design_effect: float
    n_effective: float


def wilson_interval(hits: float, n: float, *, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``n`` may be fractional (effective).

    Notes
    -----
    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = hits / n``
    (Wilson 1927, JASA 22(158); Agresti and Coull 1998, Am. Stat. 52(2)).
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = hits / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(max(p * (1.0 - p) / n + z * z / (4.0 * n * n), 0.0)) / denom
    low = 0.0 if p <= 0.0 else max(0.0, min(p, centre - half))
    high = 1.0 if p >= 1.0 else min(1.0, max(p, centre + half))
    return (low, high)


def cluster_ids(dates: pd.DatetimeIndex | pd.Series, months: int) -> IntArray:
    """Cluster of each event: its calendar period of ``months`` months (from year 0)."""
    if months < 1:
        raise ConfigError(f"cluster length must be at least one month; found {months}")
    index = pd.DatetimeIndex(dates)
    serial = np.asarray(index.year, dtype=np.int64) * 12 + np.asarray(index.month) - 1
    return np.asarray(serial // months, dtype=np.intp)


def design_effect(hit: npt.ArrayLike, cluster: npt.ArrayLike) -> float:
    """CR2 cluster-robust variance of the hit rate over its variance under independence.

    Notes
    -----
    The hit rate is the mean of 0/1 values; its cluster-robust variance is the CR2 form
    of :func:`cr2_variance`, ``Σ_c (y_c - p n_c)² / (1 - n_c / N) / N²``. Clipped to
    ``[1, N]``. When every event agrees (``p`` is 0 or 1) both variances are 0; the
    design effect is then ``N / C`` (one independent observation per cluster).
    """
    y = np.asarray(hit, dtype=np.float64)
    n = len(y)
    if n == 0:
        return math.nan
    p, robust, c = cr2_variance(y, cluster)
    if c < 2:
        return float(n)
    srs = p * (1.0 - p) / n
    if srs <= 0.0:
        return float(n) / c
    return float(min(max(robust / srs, 1.0), n))


def clustered_hit_rate(hit: npt.ArrayLike, cluster: npt.ArrayLike, *,
                       z: float | None = None) -> HitRate:
    """Hit rate of events with a cluster-robust, small-sample-corrected Wilson interval.

    Parameters
    ----------
    hit : array_like of bool, shape (E,)
        Whether the claim held at each event.
    cluster : array_like, shape (E,)
        Cluster of each event (:func:`cluster_ids`).
    z : float, optional
        Quantile of the interval; default the 95% quantile of ``t(G - 1)``
        (:func:`t_critical`), ``G`` the number of clusters (the normal 1.96 with a
        single cluster, where the design effect already counts one observation).

    Notes
    -----
    Wilson's interval at the effective size ``N / deff`` (:func:`design_effect`, CR2),
    with ``t(G-1)`` in place of the normal quantile.
    """
    y = np.asarray(hit, dtype=bool)
    n = len(y)
    if n == 0:
        return HitRate(0, 0, 0, math.nan, math.nan, math.nan, math.nan, 0.0)
    hits = int(y.sum())
    groups = len(np.unique(np.asarray(cluster)))
    if z is None:
        z = t_critical(groups) if groups >= 2 else Z_95
    deff = design_effect(y, cluster)
    n_eff = n / deff
    low, high = wilson_interval(hits / n * n_eff, n_eff, z=z)
    return HitRate(n, hits, groups, hits / n, low, high, deff, n_eff)


def verdict(rate: HitRate, *, bar: float = 0.5, min_events: int = 10,
            min_clusters: int = 5) -> Verdict:
    """The verdict of the module's criterion."""
    if rate.n_events < min_events or rate.n_clusters < min_clusters:
        return Verdict.INCONCLUSIVE
    if rate.ci_low > bar:
        return Verdict.SUPPORTED
    if rate.ci_high < bar:
        return Verdict.NOT_SUPPORTED
    return Verdict.INCONCLUSIVE


def effect_verdict(low: float, high: float, bar: float, *, n_events: int, n_clusters: int,
                   min_events: int = 10, min_clusters: int = 5) -> Verdict:
    """The verdict on a mean effect from its interval ``[low, high]`` and the claim's bar."""
    if n_events < min_events or n_clusters < min_clusters or not math.isfinite(low):
        return Verdict.INCONCLUSIVE
    if low >= bar:
        return Verdict.SUPPORTED
    if high < bar:
        return Verdict.NOT_SUPPORTED
    return Verdict.INCONCLUSIVE


def first_events(events: pd.DataFrame) -> pd.DataFrame:
    """The first event of each path (per rule and setting): the day a drifted spell began.

    Events carry ``portfolio`` and ``path`` (the path's number in its portfolio); without
    them every event counts as its own path.
    """
    keys = [k for k in ("rule", "setting", "cost_level_bps", "portfolio", "path")
            if k in events]
    if not {"portfolio", "path"} <= set(keys) or not len(events):
        return events
    ordered = events.sort_values("date", kind="stable")
    return ordered.drop_duplicates(keys, keep="first").sort_index()


def cluster_bootstrap_hit_rate(hit: npt.ArrayLike, cluster: npt.ArrayLike, *,
                               samples: int = 2000, seed: int = 0,
                               level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the hit rate, resampling whole clusters (a cross-check).

    Draws ``C`` clusters with replacement ``samples`` times; each resample's hit rate is
    its hits over its events (Cameron, Gelbach and Miller 2008, REStat 90(3)).
    """
    y = np.asarray(hit, dtype=np.float64)
    if len(y) == 0:
        return (math.nan, math.nan)
    _, inv = np.unique(np.asarray(cluster), return_inverse=True)
    n_c = np.bincount(inv).astype(np.float64)
    y_c = np.bincount(inv, weights=y)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, len(n_c), size=(samples, len(n_c)))
    rates = y_c[draw].sum(axis=1) / n_c[draw].sum(axis=1)
    q = (1.0 - level) / 2.0
    low, high = np.quantile(rates, [q, 1.0 - q])
    return (float(low), float(high))


def summarize(events: pd.DataFrame, by: list[str], *, hit: str = "hit",
              cluster: str = "cluster") -> pd.DataFrame:
    """One row per group of ``by``: events, hits, clusters, hit rate and interval.

    Parameters
    ----------
    events : pd.DataFrame
        One row per event with the columns ``by``, ``hit`` (bool) and ``cluster``.
    by : list of str
        Grouping columns (e.g. ``["rule", "setting"]``).

    Returns
    -------
    pd.DataFrame
        Columns ``by`` then ``n_events, n_hits, n_clusters, hit_rate, ci_low, ci_high,
        design_effect, n_effective``.
    """
    rows = []
    if len(events):
        for key, part in events.groupby(by, sort=False, dropna=False):
            keys = key if isinstance(key, tuple) else (key,)
            rate = clustered_hit_rate(part[hit].to_numpy(dtype=bool),
                                      part[cluster].to_numpy())
            rows.append({**dict(zip(by, keys, strict=True)), **rate.__dict__})
    columns = [*by, *HitRate.__dataclass_fields__]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------ study tables


def effect_summary(events: pd.DataFrame, column: str) -> dict[str, float]:
    """Mean (with its CR2 ``t(G-1)`` interval and ``G``), median and quartiles of one column."""
    values = events[column].to_numpy(dtype=np.float64)
    clusters = events["cluster"].to_numpy()
    mean, low, high = clustered_mean(values, clusters)
    finite = values[np.isfinite(values)]
    q = np.quantile(finite, [0.25, 0.5, 0.75]) if len(finite) else [math.nan] * 3
    n_clusters = len(np.unique(clusters[np.isfinite(values)]))
    return {"mean": mean, "ci_low": low, "ci_high": high, "n_clusters": float(n_clusters),
            "q25": float(q[0]),
            "median": float(q[1]), "q75": float(q[2])}


def label_events(events: pd.DataFrame) -> pd.DataFrame:
    """Add ``cluster`` (the rule's calendar period) and ``vix_regime`` to every event."""
    out = events.copy()
    out["cluster"] = np.zeros(len(out), dtype=np.intp)
    for spec in RULES:
        at = (out["rule"] == spec.key).to_numpy()
        if at.any():
            out.loc[at, "cluster"] = cluster_ids(pd.DatetimeIndex(out.loc[at, "date"]),
                                                 spec.cluster_months)
    out["vix_regime"] = vix_regime_label(out["vix"].to_numpy(dtype=np.float64))
    return out


PART_NAMES: dict[str, str] = {"Rule 1": "TE cut", "Rule 2": "benefit / cost",
                              "Rule 3": "Sharpe gain", "Rule 4": "cost cut"}
"""The name of each claim's first part (its ``effect``) in the verdicts' reasons."""

SECOND_NAMES: dict[str, str] = {"Rule 1": "certainty-equivalent gain over waiting (bps)"}
"""The name of each claim's second part (:data:`SECOND_BARS`) in the verdicts' reasons."""


@dataclass(frozen=True)
class ClaimPart:
    """One part of a claim judged on its own: the mean of its per-event values with the
    CR2 ``t(G-1)`` interval, the bar it must clear and the verdict on them."""

    name: str
    mean: float
    low: float
    high: float
    bar: float
    n_events: int
    n_clusters: int
    verdict: Verdict


def claim_parts(rule: str, part: pd.DataFrame) -> list[ClaimPart]:
    """The parts of ``rule``'s claim measured on the events ``part``: its effect against
    :data:`EFFECT_BARS`, then any second part (:data:`SECOND_BARS`), each with its verdict
    (:func:`effect_verdict`)."""
    parts = [(PART_NAMES.get(rule, "effect"), "effect", EFFECT_BARS.get(rule, math.nan))]
    if rule in SECOND_BARS:
        column, second_bar = SECOND_BARS[rule]
        parts.append((SECOND_NAMES[rule], column, second_bar))
    out = []
    for name, column, bar in parts:
        eff = _effect(part, column)
        judged = effect_verdict(eff["ci_low"], eff["ci_high"], bar, n_events=len(part),
                                n_clusters=int(eff["n_clusters"]))
        out.append(ClaimPart(name, eff["mean"], eff["ci_low"], eff["ci_high"], bar, len(part),
                             int(eff["n_clusters"]), judged))
    return out


def combined_verdict(parts: Sequence[ClaimPart]) -> Verdict:
    """A claim's verdict from its parts': not supported when any part is, supported when
    every part is, inconclusive otherwise."""
    verdicts = [p.verdict for p in parts]
    if Verdict.NOT_SUPPORTED in verdicts:
        return Verdict.NOT_SUPPORTED
    if verdicts and all(v is Verdict.SUPPORTED for v in verdicts):
        return Verdict.SUPPORTED
    return Verdict.INCONCLUSIVE


def verdict_reason(parts: Sequence[ClaimPart], min_events: int = 10,
                   min_clusters: int = 5) -> str:
    """Why a claim got its verdict, naming the part that decided it.

    Not supported: the parts whose interval lies below the bar. Supported: every part's
    interval lies at or above its bar. Inconclusive: too few events or clusters, no
    interval, or the parts whose interval holds the bar.
    """
    judged = combined_verdict(parts)
    if judged is Verdict.SUPPORTED:
        return "every part's interval lies at or above its bar (" + "; ".join(
            f"{p.name} ≥ {p.bar:g}" for p in parts) + ")"
    if judged is Verdict.NOT_SUPPORTED:
        return "; ".join(f"{p.name}: interval below its bar {p.bar:g}" for p in parts
                         if p.verdict is Verdict.NOT_SUPPORTED)
    few = [p for p in parts if p.n_events < min_events or p.n_clusters < min_clusters]
    if few:
        p = few[0]
        return (f"too few to judge: {p.n_events} events in {p.n_clusters} clusters (at least "
                f"{min_events} events and {min_clusters} clusters)")
    return "; ".join((f"{p.name}: no interval" if not math.isfinite(p.low)
                      else f"{p.name}: interval holds its bar {p.bar:g}") for p in parts
                     if p.verdict is Verdict.INCONCLUSIVE)


RULE_SECOND_COLUMNS = ("second_effect_mean", "second_effect_ci_low", "second_effect_ci_high",
                       "second_effect_bar", "second_n_clusters")
"""The second part of a claim in the verdicts table (rule 1's certainty-equivalent gain over
waiting, bps of NAV, bar 0): its mean, CR2 ``t(G-1)`` interval, bar and ``G``; NaN for the
rules without one. The ``first_`` columns repeat them on the first event of each path."""


def _part_columns(parts: Sequence[ClaimPart], prefix: str = "") -> dict[str, object]:
    """The verdicts table's columns of a claim's parts (``prefix`` ``"first_"`` for the first
    events): each part's verdict, the second part's figures and the reason."""
    second = parts[1] if len(parts) > 1 else None
    figures = (dict.fromkeys(RULE_SECOND_COLUMNS, math.nan) if second is None else
               dict(zip(RULE_SECOND_COLUMNS, (second.mean, second.low, second.high, second.bar,
                                              float(second.n_clusters)), strict=True)))
    return {**{prefix + k: v for k, v in figures.items()},
            prefix + "effect_verdict": parts[0].verdict.value,
            prefix + "second_verdict": "" if second is None else second.verdict.value,
            prefix + "verdict_reason": verdict_reason(parts)}


def rules_table(events: pd.DataFrame, setting: str = MODEL) -> pd.DataFrame:
    """One row per rule: the columns of :class:`~driftwise.report.ValidationPageData`.

    ``verdict`` rests on the mean effect against the claim's bar (:data:`EFFECT_BARS`):
    ``effect_mean`` with ``effect_ci_low`` / ``effect_ci_high`` (CR2, ``t(G-1)``), and for
    a claim with a second part (rule 1) on it as well (:data:`RULE_SECOND_COLUMNS`);
    ``effect_verdict`` and ``second_verdict`` judge each part alone and ``verdict_reason``
    names the part that decided the verdict. The hit rate and its ``hit_verdict`` are
    secondary. ``n_clusters`` stands beside the intervals; the ``first_*`` columns repeat
    the hit rate, the parts and the verdict on the first event of each path
    (:func:`first_events`).
    """
    model = events[events["setting"] == setting]
    firsts = first_events(model)
    rows = []
    for spec in RULES:
        part = model[model["rule"] == spec.key]
        first = firsts[firsts["rule"] == spec.key]
        rate = clustered_hit_rate(part["hit"].to_numpy(dtype=bool), part["cluster"].to_numpy())
        rate1 = clustered_hit_rate(first["hit"].to_numpy(dtype=bool),
                                   first["cluster"].to_numpy())
        parts, parts1 = claim_parts(spec.key, part), claim_parts(spec.key, first)
        eff = _effect(part)
        bar = EFFECT_BARS[spec.key]
        rows.append({"rule": spec.key, "claim": spec.claim, "n_events": rate.n_events,
                     "hit_rate": rate.hit_rate, "ci_low": rate.ci_low, "ci_high": rate.ci_high,
                     "stated_confidence": spec.stated_confidence,
                     "stated_in_interval": bool(rate.ci_low <= spec.stated_confidence
                                              <= rate.ci_high),
                     "verdict": combined_verdict(parts).value,
                     "hit_verdict": verdict(rate).value, "effect": eff["median"],
                     "effect_measure": spec.effect, "effect_bar": bar,
                     "effect_mean": parts[0].mean, "effect_ci_low": parts[0].low,
                     "effect_ci_high": parts[0].high, "n_clusters": rate.n_clusters,
                     "n_effective": rate.n_effective, "design_effect": rate.design_effect,
                     **_part_columns(parts),
                     "first_n_events": rate1.n_events, "first_n_clusters": rate1.n_clusters,
                     "first_hit_rate": rate1.hit_rate, "first_ci_low": rate1.ci_low,
                     "first_ci_high": rate1.ci_high, "first_effect_mean": parts1[0].mean,
                     "first_effect_ci_low": parts1[0].low,
                     "first_effect_ci_high": parts1[0].high,
                     "first_verdict": combined_verdict(parts1).value,
                     **_part_columns(parts1, "first_")})
    return pd.DataFrame(rows)


def _claim_verdict(rule: str, part: pd.DataFrame) -> tuple[Verdict, str]:
    """The effect verdict of a claim, its second part (:data:`SECOND_BARS`) included, and
    its reason (:func:`verdict_reason`)."""
    parts = claim_parts(rule, part)
    return combined_verdict(parts), verdict_reason(parts)


def _effect(part: pd.DataFrame, column: str = "effect") -> dict[str, float]:
    if len(part) and column in part:
        return effect_summary(part, column)
    return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n_clusters": 0.0,
            "median": math.nan}


BREAKDOWN_EFFECT_COLUMNS = ("n_clusters", "effect_mean", "effect_ci_low", "effect_ci_high",
                            "effect_bar", "verdict", "hit_verdict")
"""What every row of a breakdown (:func:`by_regime`, :func:`by_cost`) and of
:func:`sensitivity` carries beside the hit rate: ``G``, the mean effect with its CR2
``t(G-1)`` interval and the bar it is judged against, the verdict resting on that interval
and the hit rate's own (secondary) verdict."""


SECOND_EFFECT_COLUMNS = ("second_effect_mean", "second_effect_ci_low",
                         "second_effect_ci_high", "second_effect_bar")
"""The second part of a claim in a breakdown's row (rule 1's certainty-equivalent gain over
waiting, bps of NAV, against its bar 0): its mean, CR2 ``t(G-1)`` interval and bar."""


def breakdown(events: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per group of ``by`` (``rule`` among them): the hit rate as :func:`summarize`
    gives it, then the mean effect of the rule's ``effect`` column with its CR2 ``t(G-1)``
    interval, the claim's bar (:data:`EFFECT_BARS`) and the verdict on them
    (:func:`_claim_verdict`: rule 1 needs both parts of its claim, as in :func:`rules_table`),
    and the hit rate's verdict against 0.5 (``hit_verdict``).

    ``n_clusters`` is the number of clusters ``G`` of the group's events (those of the hit
    rate's interval); the effect's interval counts the clusters of its finite values. A
    claim with a second part (:data:`SECOND_BARS`: rule 1's certainty-equivalent gain over
    waiting) has it in :data:`SECOND_EFFECT_COLUMNS` (NaN for the other rules).
    """
    rows = []
    if len(events):
        for key, part in events.groupby(by, sort=False, dropna=False):
            keys = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
            rule = str(keys["rule"])
            bar = EFFECT_BARS.get(rule, math.nan)
            eff = _effect(part)
            rate = clustered_hit_rate(part["hit"].to_numpy(dtype=bool),
                                      part["cluster"].to_numpy())
            judged, reason = (_claim_verdict(rule, part) if rule in EFFECT_BARS
                              else (Verdict.INCONCLUSIVE, "no bar for this rule"))
            second = dict.fromkeys(SECOND_EFFECT_COLUMNS, math.nan)
            if rule in SECOND_BARS and SECOND_BARS[rule][0] in part:
                column, second_bar = SECOND_BARS[rule]
                more = _effect(part, column)
                second = dict(zip(SECOND_EFFECT_COLUMNS, (more["mean"], more["ci_low"],
                                                          more["ci_high"], second_bar),
                                  strict=True))
            rows.append({**keys, **rate.__dict__, "effect_mean": eff["mean"],
                         "effect_ci_low": eff["ci_low"], "effect_ci_high": eff["ci_high"],
                         "effect_bar": bar, "verdict": judged.value,
                         "hit_verdict": verdict(rate).value, **second,
                         "verdict_reason": reason})
    columns = [*by, *HitRate.__dataclass_fields__, *BREAKDOWN_EFFECT_COLUMNS[1:],
               *SECOND_EFFECT_COLUMNS, "verdict_reason"]
    return pd.DataFrame(rows, columns=columns)


def by_regime(events: pd.DataFrame) -> pd.DataFrame:
    """Per rule and VIX regime at the event (model costs): events, ``G``, the mean effect with
    its interval and verdict, and the hit rate with its interval (:func:`breakdown`)."""
    model = events[events["setting"] == MODEL]
    frame = breakdown(model, ["rule", "vix_regime"])
    order = {"< 20": 0, "20-30": 1, "> 30": 2, "unknown": 3}
    return frame.sort_values(["rule", "vix_regime"], key=lambda s: s.map(order).fillna(s)
                             if s.name == "vix_regime" else s).reset_index(drop=True)


def by_cost(events: pd.DataFrame) -> pd.DataFrame:
    """Per rule and flat cost level (the IF's cost condition at that level too): as
    :func:`by_regime`."""
    flat = events[events["cost_level_bps"].notna()]
    frame = breakdown(flat, ["rule", "cost_level_bps"])
    return frame.sort_values(["rule", "cost_level_bps"]).reset_index(drop=True)


def _ratio(part: pd.DataFrame, benefit: str, cost: str = "trade_cost_bps") -> FloatArray:
    """``benefit / cost`` per event (NaN where the cost is not positive)."""
    num = part[benefit].to_numpy(dtype=np.float64)
    den = part[cost].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0.0, num / den, np.nan)


def sensitivity(events: pd.DataFrame, limits: Thresholds,
                tracking_aversion: float) -> pd.DataFrame:
    """The claims' parts and alternative definitions (model costs), each as a breakdown row:
    events, ``G``, the mean effect of that definition with its CR2 ``t(G-1)`` interval, its
    bar and the verdict on them, and the hit rate with its interval and verdict.

    The effect of each variant is the quantity its hit compares with the bar: rule 1's TE
    cut (part a, bar :data:`EFFECT_BARS`) and certainty-equivalent gain over waiting in bps
    (part b, bar 0); rule 2's benefit over the trade's cost with the benefit as the
    certainty equivalent of ex-ante tracking variance at the configured γ
    (``tracking_aversion``, the events' ``effect``), at each γ of ``limits.r2_gammas``
    (``effect · γ' / γ``), realized tracking variance, or the return difference (bar 2);
    rule 4's cost cut without VIX scaling (bar 0.3).

    Raises
    ------
    ConfigError
        ``tracking_aversion`` not positive (the γ' / γ scaling needs it).
    """
    if not tracking_aversion > 0.0:
        raise ConfigError("validate-rules: the tracking aversion γ must be positive; found "
                          f"{tracking_aversion!r}")
    model = events[events["setting"] == MODEL]

    def scaled(g: float) -> Callable[[pd.DataFrame], FloatArray]:
        return lambda p: p["effect"].to_numpy(dtype=np.float64) * (g / tracking_aversion)

    def column(name: str) -> Callable[[pd.DataFrame], FloatArray]:
        return lambda p: p[name].to_numpy(dtype=np.float64)

    bar1, bar2 = EFFECT_BARS["Rule 1"], EFFECT_BARS["Rule 2"]
    variants: list[tuple[str, str, str, Callable[[pd.DataFrame], FloatArray], float,
                         tuple[str, ...]]] = [
        ("Rule 1", "hit_te", "part (a) only: TE cut ≥ 50%", column("effect"), bar1,
         ("effect",)),
        ("Rule 1", "hit_return", "part (b) only: beats waiting on risk-adjusted return",
         column(SECOND_BARS["Rule 1"][0]), SECOND_BARS["Rule 1"][1],
         (SECOND_BARS["Rule 1"][0],)),
        ("Rule 2", "hit", "benefit = CE of ex-ante tracking variance, γ of the config",
         column("effect"), bar2, ("effect",)),
        *(("Rule 2", f"hit_gamma_{g:g}", f"benefit = CE of ex-ante tracking variance, "
           f"γ = {g:g}", scaled(g), bar2, ("effect",)) for g in limits.r2_gammas),
        ("Rule 2", "hit_realized", "benefit = CE of realized tracking variance",
         lambda p: _ratio(p, "benefit_realized_bps"), bar2,
         ("benefit_realized_bps", "trade_cost_bps")),
        ("Rule 2", "hit_pnl", "benefit = return difference (gross of cost)",
         lambda p: _ratio(p, "benefit_pnl_bps"), bar2, ("benefit_pnl_bps", "trade_cost_bps"))]
    rows = []
    for rule, hit, label, effect, bar, needs in variants:
        part = model[model["rule"] == rule]
        if hit in part and all(c in part for c in needs) and len(part):
            rows.append(_variant_row(rule, label, part, hit, effect(part), bar))
    novix = events[(events["setting"] == NO_VIX_SCALING) & (events["rule"] == "Rule 4")]
    if len(novix):
        rows.append(_variant_row("Rule 4", "costs without VIX scaling (multipliers 1, 1, 1)",
                                 novix, "hit", novix["effect"].to_numpy(dtype=np.float64),
                                 EFFECT_BARS["Rule 4"]))
    columns = ["rule", "variant", *HitRate.__dataclass_fields__, *BREAKDOWN_EFFECT_COLUMNS[1:],
               "verdict_reason"]
    return pd.DataFrame(rows, columns=columns)


def _variant_row(rule: str, label: str, part: pd.DataFrame, hit: str, effect: FloatArray,
                 bar: float) -> dict[str, object]:
    """One row of :func:`sensitivity`: the hit rate of ``hit`` and the mean of ``effect``."""
    clusters = part["cluster"].to_numpy()
    rate = clustered_hit_rate(part[hit].to_numpy(dtype=bool), clusters)
    mean, low, high = clustered_mean(effect, clusters)
    finite = np.isfinite(effect)
    n_finite, g = int(finite.sum()), len(np.unique(clusters[finite]))
    judged = effect_verdict(low, high, bar, n_events=n_finite, n_clusters=g)
    reason = verdict_reason([ClaimPart("mean effect", mean, low, high, bar, n_finite, g, judged)])
    return {"rule": rule, "variant": label, **rate.__dict__, "effect_mean": mean,
            "effect_ci_low": low, "effect_ci_high": high, "effect_bar": bar,
            "verdict": judged.value, "hit_verdict": verdict(rate).value,
            "verdict_reason": reason}


def effects(events: pd.DataFrame) -> pd.DataFrame:
    """Effect sizes: per rule and measurement, mean with interval, median, quartiles."""
    model = events[events["setting"] == MODEL]
    rows = []
    for rule, measures in MEASUREMENTS.items():
        part = model[model["rule"] == rule]
        if not len(part):
            continue
        for column, meaning in measures:
            if column in part:
                rows.append({"rule": rule, "measure": column, "meaning": meaning,
                             **effect_summary(part, column)})
    return pd.DataFrame(rows)


COST_LIMIT_FIGURES = ("rate_bps", "breakeven_turnover", "breakeven_drift", "cost_median_bps",
                      "cost_p90_bps", "cost_max_bps", "turnover_median", "turnover_p90")
"""What explains a cost limit's count (:func:`cost_limit_figures`)."""


def cost_limit_figures(cost_bps: FloatArray, turnover: FloatArray, limit_bps: float,
                       level_bps: float | None) -> dict[str, float]:
    """Where a cost limit binds, and how far the candidate events are from it.

    A full rebalance trading ``T`` of NAV at ``c`` bps per unit traded costs ``T·c`` bps of
    NAV, so a limit of ``L`` bps of NAV binds above the **break-even turnover** ``L / c``,
    the **break-even drift** ``L / (2c)`` (a rebalance at drift ``D`` trades ``2D`` when
    cash is on target): at 50 bps per trade the 20 bps limit binds above 40% of NAV traded,
    a drift of 20%.

    Parameters
    ----------
    cost_bps, turnover : ndarray, shape (E,)
        The candidate events' rebalance cost (bps of NAV) and value traded over NAV.
    limit_bps : float
        The limit, bps of NAV.
    level_bps : float or None
        The flat cost per trade, bps; None (NaN) under the cost model, whose rate per unit
        traded is the candidate events' median ``cost / turnover``.

    Returns
    -------
    dict
        ``rate_bps`` (the cost per unit traded the break-even uses), ``breakeven_turnover``
        and ``breakeven_drift`` (fractions of NAV), the median, 90th percentile and largest
        of the events' cost (bps of NAV), and the median and 90th percentile of their
        turnover. NaN without events (the rates) or without a positive rate.
    """
    cost = np.asarray(cost_bps, dtype=np.float64)
    traded = np.asarray(turnover, dtype=np.float64)
    moved = traded > 0
    rates = cost[moved] / traded[moved]
    if level_bps is not None and math.isfinite(float(level_bps)):
        rate = float(level_bps)
    else:
        rate = float(np.median(rates)) if len(rates) else math.nan
    turn = limit_bps / rate if rate > 0 else math.nan

    def q(x: FloatArray, p: float) -> float:
        return float(np.quantile(x, p)) if len(x) else math.nan

    return {"rate_bps": rate, "breakeven_turnover": turn, "breakeven_drift": turn / 2.0,
            "cost_median_bps": q(cost, 0.5), "cost_p90_bps": q(cost, 0.9),
            "cost_max_bps": float(cost.max()) if len(cost) else math.nan,
            "turnover_median": q(traded, 0.5), "turnover_p90": q(traded, 0.9)}


FALSIFICATION_BASIS = ("each portfolio's verdict rests on one path (its whole window, one "
                       "start date): the TE difference's interval is a paired block "
                       "bootstrap of that path's days, the excess cost's interval is CR2 "
                       "t(G−1) across its calendar years; the pooled verdict carries the "
                       "intervals across independent calendar years of every portfolio")
"""What a falsification verdict rests on, in words (the table's ``basis``)."""

POOLED_UNDECIDED = FalsificationVerdict.UNDECIDED.value
"""The verdict when TE falls but the excess cost's interval holds 0."""


def pooled_verdict(te_high: float, excess_low: float, excess_high: float) -> str:
    """The falsification verdict from intervals
    (:func:`driftwise.backtest.falsification.interval_verdict`): the threshold rule does
    not reduce TE unless the TE difference's interval lies below 0; then costs exceed the
    reduction if the excess cost's interval lies above 0, the criterion holds if it lies
    below 0, and it is undecided otherwise (or without an interval)."""
    return interval_verdict(te_high, excess_low, excess_high).value


def falsification_pooled(falsification: pd.DataFrame) -> pd.DataFrame:
    """The falsification criterion pooled over portfolios, per cost setting and calendar,
    with intervals across calendar years.

    Each row of ``falsification`` (one portfolio, setting and calendar) carries its
    yearly cells (``years``, ``te_diff_by_year``, ``excess_by_year``:
    :func:`driftwise.backtest.falsification.yearly_cells`). The cells of every portfolio
    are pooled and clustered by calendar year (portfolios of one year share its market),
    and the means of ``TE_thr − TE_cal`` and of the excess cost get CR2 ``t(G − 1)``
    intervals (:func:`clustered_mean`), ``G`` the number of years; the verdict is
    :func:`pooled_verdict`'s. Empty without yearly cells.
    """
    if not len(falsification) or "years" not in falsification:
        return pd.DataFrame()
    rows = []
    for (setting, cal), part in falsification.groupby(["setting", "calendar"], sort=False):
        years = np.concatenate([np.asarray(v, dtype=np.int64) for v in part["years"]])
        te = np.concatenate([np.asarray(v, dtype=np.float64) for v in part["te_diff_by_year"]])
        ex = np.concatenate([np.asarray(v, dtype=np.float64) for v in part["excess_by_year"]])
        te_m, te_lo, te_hi = clustered_mean(te, years)
        ex_m, ex_lo, ex_hi = clustered_mean(ex, years)
        rows.append({"setting": setting, "calendar": cal, "portfolios": len(part),
                     "cells": len(years), "n_years": len(np.unique(years)),
                     "te_diff_mean": te_m, "te_diff_low": te_lo, "te_diff_high": te_hi,
                     "excess_mean": ex_m, "excess_low": ex_lo, "excess_high": ex_hi,
                     "verdict": pooled_verdict(te_hi, ex_lo, ex_hi),
                     "basis": FALSIFICATION_BASIS})
    return pd.DataFrame(rows)
