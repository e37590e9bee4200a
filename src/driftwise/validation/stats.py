"""Hit rates with cluster-robust intervals, effect sizes and verdicts.

Events of one calendar period share the market (and events of one path share their
drift history), so they are not independent. Events are grouped into **clusters** (the
calendar period of the event, :func:`cluster_ids`), and the interval of a hit rate is a
**Wilson interval with an effective sample size**: the number of events divided by the
design effect, the ratio of the cluster-robust variance of the hit rate to its variance
under independence.

Decision criterion (written down before looking at the results, also in
``docs/rule-validation.md``):

* **supported**: the interval lies entirely above 0.5 (the claim holds more often than
  not, with 95% confidence);
* **not supported**: the interval lies entirely below 0.5;
* **inconclusive**: the interval contains 0.5, or there are fewer than ``min_events``
  events or ``min_clusters`` clusters.

Separately, whether the methodology's stated confidence lies inside the interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import IntArray
from driftwise.errors import ConfigError
from driftwise.validation.rules import MEASUREMENTS, RULES, Thresholds, vix_regime_label

MODEL = "model"
NO_VIX_SCALING = "model, no VIX scaling"
"""Labels of the configured cost model and of the same model without VIX scaling."""

Z_95 = 1.959963984540054
"""Standard normal quantile of a two-sided 95% interval."""


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
    """Cluster-robust variance of the hit rate over its variance under independence.

    Notes
    -----
    Ratio estimator ``p = Σ y_c / Σ n_c`` over clusters ``c``, with the linearized
    (sandwich) variance ``C/(C-1) Σ_c (y_c - p n_c)² / N²`` (Cochran 1977, *Sampling
    Techniques*, §6.8; Cameron and Miller 2015, J. Human Resources 50(2)). Clipped to
    ``[1, N]``. When every event agrees (``p`` is 0 or 1) both variances are 0; the
    design effect is then ``N / C`` (one independent observation per cluster).
    """
    y = np.asarray(hit, dtype=np.float64)
    n = len(y)
    if n == 0:
        return math.nan
    _, inv = np.unique(np.asarray(cluster), return_inverse=True)
    n_c = np.bincount(inv).astype(np.float64)
    y_c = np.bincount(inv, weights=y)
    c = len(n_c)
    p = float(y.mean())
    srs = p * (1.0 - p) / n
    if c < 2:
        return float(n)
    robust = c / (c - 1.0) * float(np.sum((y_c - p * n_c) ** 2)) / (n * n)
    if srs <= 0.0:
        return float(n) / c
    return float(min(max(robust / srs, 1.0), n))


def clustered_hit_rate(hit: npt.ArrayLike, cluster: npt.ArrayLike, *,
                       z: float = Z_95) -> HitRate:
    """Hit rate of events with a cluster-robust Wilson interval.

    Parameters
    ----------
    hit : array_like of bool, shape (E,)
        Whether the claim held at each event.
    cluster : array_like, shape (E,)
        Cluster of each event (:func:`cluster_ids`).
    z : float
        Normal quantile of the interval (1.96: 95%).
    """
    y = np.asarray(hit, dtype=bool)
    n = len(y)
    if n == 0:
        return HitRate(0, 0, 0, math.nan, math.nan, math.nan, math.nan, 0.0)
    hits = int(y.sum())
    deff = design_effect(y, cluster)
    n_eff = n / deff
    low, high = wilson_interval(hits / n * n_eff, n_eff, z=z)
    return HitRate(n, hits, len(np.unique(np.asarray(cluster))), hits / n, low, high, deff,
                   n_eff)


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


def clustered_mean(values: npt.ArrayLike, cluster: npt.ArrayLike, *,
                   z: float = Z_95) -> tuple[float, float, float]:
    """Mean of per-event values with a cluster-robust normal interval.

    Non-finite values are left out. Returns ``(mean, low, high)`` (NaN when empty; the
    interval is NaN with a single cluster).

    Notes
    -----
    Standard error ``sqrt(C/(C-1) Σ_c (s_c - m n_c)²) / N`` with ``s_c`` the cluster
    sums (the same sandwich form as :func:`design_effect`).
    """
    x = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(x)
    x, groups = x[keep], np.asarray(cluster)[keep]
    n = len(x)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    _, inv = np.unique(groups, return_inverse=True)
    n_c = np.bincount(inv).astype(np.float64)
    s_c = np.bincount(inv, weights=x)
    c = len(n_c)
    if c < 2:
        return (m, math.nan, math.nan)
    se = math.sqrt(c / (c - 1.0) * float(np.sum((s_c - m * n_c) ** 2))) / n
    return (m, m - z * se, m + z * se)


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
    """Mean (with its cluster-robust interval), median and quartiles of one column."""
    values = events[column].to_numpy(dtype=np.float64)
    mean, low, high = clustered_mean(values, events["cluster"].to_numpy())
    finite = values[np.isfinite(values)]
    q = np.quantile(finite, [0.25, 0.5, 0.75]) if len(finite) else [math.nan] * 3
    return {"mean": mean, "ci_low": low, "ci_high": high, "q25": float(q[0]),
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


def rules_table(events: pd.DataFrame, setting: str = MODEL) -> pd.DataFrame:
    """One row per rule: the columns of :class:`~driftwise.report.ValidationPageData`."""
    model = events[events["setting"] == setting]
    rows = []
    for spec in RULES:
        part = model[model["rule"] == spec.key]
        rate = clustered_hit_rate(part["hit"].to_numpy(dtype=bool), part["cluster"].to_numpy())
        eff = effect_summary(part, "effect") if len(part) else {"median": np.nan}
        rows.append({"rule": spec.key, "claim": spec.claim, "n_events": rate.n_events,
                     "hit_rate": rate.hit_rate, "ci_low": rate.ci_low, "ci_high": rate.ci_high,
                     "stated_confidence": spec.stated_confidence,
                     "stated_in_interval": bool(rate.ci_low <= spec.stated_confidence
                                              <= rate.ci_high),
                     "verdict": verdict(rate).value, "effect": eff["median"],
                     "effect_measure": spec.effect, "n_clusters": rate.n_clusters,
                     "n_effective": rate.n_effective, "design_effect": rate.design_effect})
    return pd.DataFrame(rows)


def by_regime(events: pd.DataFrame) -> pd.DataFrame:
    """Hit rate per rule and VIX regime at the event (model costs)."""
    model = events[events["setting"] == MODEL]
    frame = summarize(model, ["rule", "vix_regime"])
    order = {"< 20": 0, "20-30": 1, "> 30": 2, "unknown": 3}
    return frame.sort_values(["rule", "vix_regime"], key=lambda s: s.map(order).fillna(s)
                             if s.name == "vix_regime" else s).reset_index(drop=True)


def by_cost(events: pd.DataFrame) -> pd.DataFrame:
    """Hit rate per rule and flat cost level (the IF's cost condition at that level too)."""
    flat = events[events["cost_level_bps"].notna()]
    frame = summarize(flat, ["rule", "cost_level_bps"])
    return frame.sort_values(["rule", "cost_level_bps"]).reset_index(drop=True)


def sensitivity(events: pd.DataFrame, limits: Thresholds) -> pd.DataFrame:
    """Hit rates of the claims' parts and alternative definitions (model costs)."""
    model = events[events["setting"] == MODEL]
    variants = [("Rule 1", "hit_te", "part (a) only: TE cut ≥ 50%"),
                ("Rule 1", "hit_return", "part (b) only: beats waiting on risk-adjusted return"),
                ("Rule 2", "hit", "benefit = CE of ex-ante tracking variance, γ of the config"),
                *(("Rule 2", f"hit_gamma_{g:g}", f"benefit = CE of ex-ante tracking variance, "
                   f"γ = {g:g}") for g in limits.r2_gammas),
                ("Rule 2", "hit_realized", "benefit = CE of realized tracking variance"),
                ("Rule 2", "hit_pnl", "benefit = return difference (gross of cost)")]
    rows = []
    for rule, column, label in variants:
        part = model[model["rule"] == rule]
        if column in part and len(part):
            rate = clustered_hit_rate(part[column].to_numpy(dtype=bool),
                                      part["cluster"].to_numpy())
            rows.append({"rule": rule, "variant": label, **rate.__dict__})
    novix = events[(events["setting"] == NO_VIX_SCALING) & (events["rule"] == "Rule 4")]
    if len(novix):
        rate = clustered_hit_rate(novix["hit"].to_numpy(dtype=bool), novix["cluster"].to_numpy())
        rows.append({"rule": "Rule 4", "variant": "costs without VIX scaling (multipliers 1, 1, 1)",
                     **rate.__dict__})
    return pd.DataFrame(rows)


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
