"""Calendar years of one path as independent clusters: a ranking and verdicts with intervals.

One backtest path (one start date, one portfolio) gives one number per rule for the
whole window: an order of the rules without an interval. Its calendar years give ``G``
independent looks at the same rules (each year's market is its own; the state carried
over a year end is a portfolio's drift, which a rebalancing rule resets within weeks),
so a rule's **yearly score** ``γ/2 · TE_y² + cost_y`` (each year's days with the
whole-window definitions of :func:`~driftwise.backtest.metrics.policy_metrics`) is one
observation per cluster:

* the **mean yearly score** of a rule has the CR2 ``t(G − 1)`` interval of
  :func:`~driftwise.backtest.cluster_robust.clustered_mean` (one value a year: the
  one-sample t interval);
* a rule's **rank interval** counts the rules shown better (rank low) and worse (rank
  high) than it, each comparison at level ``1 − α/(C − 1)`` (Bonferroni over the rule's
  ``C − 1`` comparisons, :func:`joint_level`), so that it covers the rule's rank with
  probability 95% (Mogstad, Romano, Shaikh and Wolf 2024, "Inference for Ranks", Rev.
  Econ. Stud. 91(1), the marginal confidence set from simultaneous pairwise intervals);
* two rules **cannot be told apart** when the interval of their mean yearly score
  difference (paired by year) at that same level contains 0, or when there are fewer
  than two years. A rule's rank interval therefore spans exactly itself and the rules it
  cannot be told apart from: a rule told apart from another is never shown in a rank
  interval that lets it trade places with it.

Rules are ranked by their mean yearly score, the estimate the intervals belong to (the
whole-window score, ``window_score``, weighs the years by their days and counts the
spread of the yearly mean active returns into the tracking error; it stays beside).
A year needs :data:`MIN_YEAR_DAYS` daily returns: a window's partial first and last
years with fewer are left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._types import FloatArray, IntArray
from driftwise.backtest.cluster_robust import LEVEL, clustered_means
from driftwise.backtest.metrics import (
    ResultLike,
    cost_per_year,
    daily_returns,
    result_arrays,
    tracking_error,
)
from driftwise.errors import ConfigError

__all__ = [
    "MIN_YEAR_DAYS", "YearlyMetrics", "difference_to", "joint_level", "year_pairs",
    "year_ranking", "yearly_metrics",
]

MIN_YEAR_DAYS = 126
"""Fewest daily returns a calendar year needs to be one of the clusters (half a year)."""

RANKING_BASIS = ("ranked by the mean over the window's calendar years of each rule's yearly "
                 "γ/2·TE² + cost; intervals CR2 t(G−1) across the years (G shown); rank "
                 "intervals at 95% over each rule's comparisons (Bonferroni: each pair at "
                 "1 − 5%/(C−1)); two rules cannot be told apart when the interval of their "
                 "yearly difference at that level holds 0")
"""What the one-path ranking rests on, in words (the JSON's ``ranking_basis``)."""


@dataclass(frozen=True, eq=False)
class YearlyMetrics:
    """TE and cost per calendar year of one backtest, per configuration.

    Attributes
    ----------
    names : tuple of str
        Configuration names, ``C``.
    years : ndarray of int, shape (G,)
        The calendar years kept (each with at least ``min_days`` daily returns).
    days : ndarray of int, shape (G,)
        Daily returns in each year.
    te : ndarray, shape (G, C)
        Annualized tracking error against the reference in each year, fraction.
    cost : ndarray, shape (G, C)
        Costs per year (``252 · mean(cost/NAV)`` over the year's days), fraction of NAV.
    """

    names: tuple[str, ...]
    years: IntArray
    days: IntArray
    te: FloatArray
    cost: FloatArray

    def score(self, tracking_aversion: float) -> FloatArray:
        """The yearly score ``γ/2 · TE_y² + cost_y``, shape (G, C)."""
        gamma = _gamma(tracking_aversion)
        return np.asarray(0.5 * gamma * self.te ** 2 + self.cost, dtype=np.float64)

    @property
    def n_years(self) -> int:
        """``G``, the number of clusters."""
        return len(self.years)

    def column(self, name: str) -> int:
        """The position of configuration ``name``."""
        if name not in self.names:
            raise ConfigError(f"unknown configuration {name!r}; the years hold "
                              f"{', '.join(self.names[:10])}")
        return self.names.index(name)


def _gamma(tracking_aversion: float) -> float:
    gamma = float(tracking_aversion)
    if not (math.isfinite(gamma) and gamma >= 0.0):
        raise ConfigError(f"tracking_aversion must be a non-negative number, found {gamma}")
    return gamma


def yearly_metrics(result: ResultLike, configs: Sequence[str] | None = None, *,
                   min_days: int = MIN_YEAR_DAYS) -> YearlyMetrics:
    """TE and cost of each configuration in each calendar year of ``result``.

    A daily return belongs to the year of the day it ends on; the year's cost is the cost
    paid on those days (the first day of a window trades nothing). Years with fewer than
    ``min_days`` returns are left out.
    """
    a = result_arrays(result)
    names = [str(n) for n in result.names]
    chosen = list(configs) if configs is not None else names
    missing = [c for c in chosen if c not in names]
    if missing:
        raise ConfigError(f"unknown configuration(s) {missing}; the result holds "
                          f"{', '.join(names[:10])}")
    cols = [names.index(c) for c in chosen]
    nav = a["nav_usd"][:, cols]
    active = daily_returns(nav) - daily_returns(a["ref_nav_usd"][:, None])
    cost = a["cost_usd"][:, cols]
    year = pd.DatetimeIndex(result.dates).year.to_numpy()
    kept, counts, te_rows, cost_rows = [], [], [], []
    for y in np.unique(year[1:]):
        days = np.flatnonzero(year[1:] == y)  # returns ending in year y (day index - 1)
        if len(days) < min_days:
            continue
        kept.append(int(y))
        counts.append(len(days))
        te_rows.append(tracking_error(active[days], 0.0))
        cost_rows.append(cost_per_year(cost[days + 1], nav[days + 1]))
    n = len(cols)
    return YearlyMetrics(
        names=tuple(chosen), years=np.asarray(kept, dtype=np.int64),
        days=np.asarray(counts, dtype=np.int64),
        te=np.asarray(te_rows, dtype=np.float64).reshape(len(kept), n),
        cost=np.asarray(cost_rows, dtype=np.float64).reshape(len(kept), n))


def difference_to(values: FloatArray, years: IntArray, base: int, *,
                  level: float = LEVEL) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean yearly difference of every column to column ``base``, with its CR2
    ``t(G − 1)`` interval: ``(mean, low, high)``, each shape (C,). The base column's own
    difference is 0 with the interval [0, 0]; NaN intervals with fewer than two years."""
    return clustered_means(values - values[:, [base]], years, level=level)


def joint_level(n_rules: int, level: float = LEVEL) -> float:
    """The level of each of a rule's ``n_rules − 1`` comparisons so that all of them hold
    together with probability ``level`` (Bonferroni): ``1 − (1 − level)/(n_rules − 1)``."""
    return 1.0 - (1.0 - level) / max(n_rules - 1, 1)


def _apart(low: float, high: float) -> bool:
    """The interval lies on one side of 0 (NaN: not told apart)."""
    return bool(low > 0.0 or high < 0.0)


def year_pairs(yearly: YearlyMetrics, tracking_aversion: float, *,
               level: float = LEVEL) -> pd.DataFrame:
    """Every pair ``(a, b)``, ``a`` before ``b`` in the configurations' order: the mean
    yearly score difference ``a − b`` (``estimate``) with its CR2 ``t(G − 1)`` interval
    (``low``, ``high``) at the ranking's level for each pair (``pair_level``:
    :func:`joint_level` of ``level``), ``n_years`` and ``told_apart`` (the interval
    excludes 0): the ties of :func:`year_ranking`."""
    score = yearly.score(tracking_aversion)
    each = joint_level(len(yearly.names), level)
    ia, ib = np.triu_indices(len(yearly.names), k=1)
    mean, low, high = clustered_means(score[:, ia] - score[:, ib], yearly.years, level=each)
    rows = [{"a": yearly.names[i], "b": yearly.names[j], "estimate": float(mean[p]),
             "low": float(low[p]), "high": float(high[p]), "pair_level": each,
             "n_years": yearly.n_years, "told_apart": _apart(float(low[p]), float(high[p]))}
            for p, (i, j) in enumerate(zip(ia, ib, strict=True))]
    return pd.DataFrame(rows, columns=["a", "b", "estimate", "low", "high", "pair_level",
                                       "n_years", "told_apart"])


def year_ranking(yearly: YearlyMetrics, tracking_aversion: float, *,
                 window_score: pd.Series | None = None, level: float = LEVEL) -> pd.DataFrame:
    """The rules ranked by mean yearly score with intervals (module notes).

    Returns
    -------
    pd.DataFrame
        Index ``config``, best first: ``rank``, ``score`` (mean yearly score, fraction of
        NAV a year), ``score_low``, ``score_high`` (its CR2 ``t(G − 1)`` interval),
        ``rank_low``, ``rank_high``, ``tied_with`` (the rules it cannot be told apart
        from, comma-separated), ``n_years`` and, when given, ``window_score`` (the
        whole-window score of :func:`~driftwise.backtest.metrics.ranking`).
    """
    score = yearly.score(tracking_aversion)
    names = list(yearly.names)
    n = len(names)
    means, lows, highs = clustered_means(score, yearly.years, level=level)
    pairs = year_pairs(yearly, tracking_aversion, level=level)
    tied: dict[str, list[str]] = {name: [] for name in names}
    for row in pairs.itertuples():
        if not row.told_apart:
            tied[str(row.a)].append(str(row.b))
            tied[str(row.b)].append(str(row.a))
    joint = joint_level(n, level)
    better = np.zeros(n, dtype=np.int64)
    worse = np.zeros(n, dtype=np.int64)
    for j in range(n):
        _, low, high = difference_to(score, yearly.years, j, level=joint)
        better[j] = int(np.sum(high < 0.0))  # rules whose score is below j's
        worse[j] = int(np.sum(low > 0.0))
    frame = pd.DataFrame({
        "score": means, "score_low": lows, "score_high": highs,
        "rank_low": 1 + better, "rank_high": n - worse,
        "tied_with": [", ".join(tied[name]) for name in names],
        "n_years": yearly.n_years}, index=pd.Index(names, name="config"))
    if window_score is not None:
        frame["window_score"] = window_score.reindex(names).to_numpy(dtype=np.float64)
    order = np.lexsort((np.arange(n), frame["score"].to_numpy(dtype=np.float64)))
    frame = frame.iloc[order]
    frame.insert(0, "rank", np.arange(1, n + 1))
    return frame


def ranking_line(ranked: pd.DataFrame) -> str:
    """The ranking in one line: ``1 a [1–2], 2 b [1–3], ...`` and the pairs not told apart."""
    parts = [f"{int(r['rank'])} {name} [{int(r['rank_low'])}–{int(r['rank_high'])}]"
             for name, r in ranked.iterrows()]
    names = list(ranked.index)
    ties = sorted({tuple(sorted((str(a), b.strip()), key=names.index))
                   for a, row in ranked.iterrows() for b in str(row["tied_with"]).split(",")
                   if b.strip()})
    text = ", ".join(parts)
    if ties:
        text += "; cannot be told apart: " + "; ".join(f"{a} ~ {b}" for a, b in ties)
    elif len(names) > 1:
        text += "; every pair told apart"
    return text
