"""Calendar years as clusters: yearly metrics, the one-path ranking with intervals.

The intervals are recomputed from their definitions with scipy.stats (the module uses
scipy.special): one value a year, so the CR2 interval is the one-sample t interval
``mean ± t(G − 1, 0.975) · s / sqrt(G)``."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwise.backtest.cluster_robust import clustered_mean, clustered_means
from driftwise.backtest.years import (
    YearlyMetrics,
    difference_to,
    ranking_line,
    year_pairs,
    year_ranking,
    yearly_metrics,
)
from driftwise.errors import ConfigError

GAMMA = 2.0


def years_of(te: list[list[float]], cost: list[list[float]],
             names: tuple[str, ...] = ("a", "b", "c")) -> YearlyMetrics:
    g = len(te)
    return YearlyMetrics(names=names, years=np.arange(2010, 2010 + g),
                         days=np.full(g, 252), te=np.asarray(te, dtype=float),
                         cost=np.asarray(cost, dtype=float))


def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """The one-sample t interval, by hand."""
    m = float(np.mean(x))
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * float(np.std(x, ddof=1)) / math.sqrt(
        len(x))
    return m, m - half, m + half


# a hand-made case: five years, three rules; a and b close, c clearly worse
TE = [[0.010, 0.011, 0.020], [0.012, 0.010, 0.022], [0.009, 0.010, 0.019],
      [0.011, 0.012, 0.021], [0.010, 0.009, 0.020]]
COST = [[2e-4, 1e-4, 0.0], [1e-4, 2e-4, 0.0], [2e-4, 2e-4, 1e-4],
        [1e-4, 1e-4, 0.0], [2e-4, 2e-4, 0.0]]


def test_ranking_oracle() -> None:
    y = years_of(TE, COST)
    score = 0.5 * GAMMA * np.asarray(TE) ** 2 + np.asarray(COST)
    ranked = year_ranking(y, GAMMA)
    for c, name in enumerate("abc"):
        m, lo, hi = t_interval(score[:, c])
        row = ranked.loc[name]
        assert row["score"] == pytest.approx(m, rel=1e-12)
        assert (row["score_low"], row["score_high"]) == pytest.approx((lo, hi), rel=1e-9)
        assert row["n_years"] == 5
    pairs = year_pairs(y, GAMMA).set_index(["a", "b"])
    for i, j in ((0, 1), (0, 2), (1, 2)):
        # each pair at the rank intervals' level: 1 - 0.05/2 with three rules
        m, lo, hi = t_interval(score[:, i] - score[:, j], 1 - 0.05 / 2)
        row = pairs.loc[("abc"[i], "abc"[j])]
        assert row["pair_level"] == pytest.approx(0.975, rel=1e-15)
        assert (row["estimate"], row["low"], row["high"]) == pytest.approx((m, lo, hi),
                                                                         rel=1e-9)
        assert row["told_apart"] == (lo > 0 or hi < 0)
    # rank intervals: each rule's two comparisons at 1 - 0.05/2 (Bonferroni), by hand
    joint = 1 - 0.05 / 2
    for j, name in enumerate("abc"):
        better = worse = 0
        for k in range(3):
            if k == j:
                continue
            _, lo, hi = t_interval(score[:, k] - score[:, j], joint)
            better += hi < 0
            worse += lo > 0
        assert (ranked.loc[name, "rank_low"], ranked.loc[name, "rank_high"]) == (
            1 + better, 3 - worse)


def test_a_clear_difference_is_ranked_and_a_non_difference_is_not_told_apart() -> None:
    y = years_of(TE, COST)
    ranked = year_ranking(y, GAMMA)
    assert list(ranked.index[-1:]) == ["c"]  # c tracks at 2% every year: clearly worst
    assert (ranked.loc["c", "rank_low"], ranked.loc["c", "rank_high"]) == (3, 3)
    assert ranked.loc["a", "tied_with"] == "b" and ranked.loc["b", "tied_with"] == "a"
    assert ranked.loc["c", "tied_with"] == ""
    assert (ranked.loc["a", "rank_low"], ranked.loc["a", "rank_high"]) == (1, 2)
    line = ranking_line(ranked)
    assert line.endswith("cannot be told apart: a ~ b") or line.endswith(
        "cannot be told apart: b ~ a")
    assert "3 c [3–3]" in line


def test_fewer_than_two_years_tell_nothing_apart() -> None:
    y = years_of(TE[:1], COST[:1])
    ranked = year_ranking(y, GAMMA)
    assert ranked["rank_low"].tolist() == [1, 1, 1] and ranked["rank_high"].tolist() == [3] * 3
    assert ranked["score_low"].isna().all()
    assert all(len(t.split(", ")) == 2 for t in ranked["tied_with"])
    assert not year_pairs(y, GAMMA)["told_apart"].any()


def test_window_score_stands_beside() -> None:
    y = years_of(TE, COST)
    ranked = year_ranking(y, GAMMA, window_score=pd.Series({"a": 1.0, "b": 2.0, "c": 3.0}))
    assert ranked.loc["b", "window_score"] == 2.0


def test_bad_gamma_and_unknown_rule() -> None:
    with pytest.raises(ConfigError, match="tracking_aversion"):
        year_ranking(years_of(TE, COST), -1.0)
    with pytest.raises(ConfigError, match="unknown configuration"):
        years_of(TE, COST).column("zzz")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 12), st.integers(2, 5),
       st.floats(-1e-3, 1e-3))
def test_invariants(seed: int, g: int, c: int, shift: float) -> None:
    """The rank interval holds the rank; a cost common to every rule in a year changes no
    difference, rank or tie; the order of the years changes nothing."""
    rng = np.random.default_rng(seed)
    te = rng.uniform(0.005, 0.03, (g, c))
    cost = rng.uniform(0.0, 5e-4, (g, c))
    names = tuple(f"r{k}" for k in range(c))
    y = YearlyMetrics(names=names, years=np.arange(2000, 2000 + g), days=np.full(g, 252),
                      te=te, cost=cost)
    ranked = year_ranking(y, GAMMA)
    assert (ranked["rank_low"] <= ranked["rank"]).all()
    assert (ranked["rank"] <= ranked["rank_high"]).all()
    # one level for ties and rank intervals: a rule's interval spans it and its ties only
    ties = [len([t for t in str(row).split(", ") if t]) for row in ranked["tied_with"]]
    assert (ranked["rank_high"] - ranked["rank_low"]).tolist() == ties
    pairs = year_pairs(y, GAMMA)
    for row in pairs.itertuples():
        assert (str(row.b) in str(ranked.loc[str(row.a), "tied_with"]).split(", ")) is \
            (not row.told_apart)
    common = cost + shift * rng.uniform(0.5, 1.5, (g, 1))
    moved = year_ranking(YearlyMetrics(names, y.years, y.days, te, common), GAMMA)
    for column in ("rank_low", "rank_high", "tied_with"):
        assert moved.loc[list(names), column].tolist() == ranked.loc[list(names),
                                                                     column].tolist()
    order = rng.permutation(g)
    shuffled = year_ranking(YearlyMetrics(names, y.years[order], y.days, te[order],
                                          cost[order]), GAMMA)
    pd.testing.assert_frame_equal(shuffled[["rank", "rank_low", "rank_high", "tied_with"]],
                                  ranked[["rank", "rank_low", "rank_high", "tied_with"]])


def test_difference_to_the_base_is_zero() -> None:
    values = np.asarray(TE)
    mean, low, high = difference_to(values, np.arange(5), 1)
    assert (mean[1], low[1], high[1]) == (0.0, 0.0, 0.0)


def fake_result(n_days: int = 900, seed: int = 1) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2017-03-01", periods=n_days)
    ref = 100.0 * np.cumprod(1.0 + rng.normal(0.0003, 0.01, n_days))
    nav = np.column_stack([ref * np.cumprod(1.0 + rng.normal(0.0, s, n_days))
                           for s in (0.001, 0.002, 0.004)])
    cost = rng.uniform(0.0, 0.05, (n_days, 3)) * (rng.random((n_days, 3)) < 0.05)
    zeros = np.zeros((n_days, 3))
    return SimpleNamespace(names=["a", "b", "c"], dates=dates, nav_usd=nav, ref_nav_usd=ref,
                           cost_usd=cost, traded_usd=zeros, rebalanced=zeros, drift=zeros,
                           risk_free_annual=np.zeros(n_days))


def test_yearly_metrics_follow_the_definitions() -> None:
    """Plain loops over each year's days: TE of the active returns (ddof 1, x sqrt 252),
    252 x the mean daily cost over NAV."""
    r = fake_result()
    y = yearly_metrics(r)
    year = r.dates.year.to_numpy()
    expected = [v for v in np.unique(year[1:]) if (year[1:] == v).sum() >= 126]
    assert y.years.tolist() == expected and y.n_years >= 3
    for g, v in enumerate(y.years):
        days = [t for t in range(1, len(r.dates)) if r.dates[t].year == v]
        assert y.days[g] == len(days)
        for c in range(3):
            act = [r.nav_usd[t, c] / r.nav_usd[t - 1, c] - r.ref_nav_usd[t] / r.ref_nav_usd[t - 1]
                   for t in days]
            assert y.te[g, c] == pytest.approx(np.std(act, ddof=1) * math.sqrt(252), rel=1e-12)
            assert y.cost[g, c] == pytest.approx(
                252 * np.mean([r.cost_usd[t, c] / r.nav_usd[t, c] for t in days]), rel=1e-12)
    sub = yearly_metrics(r, ["c", "a"])
    np.testing.assert_array_equal(sub.te, y.te[:, [2, 0]])
    with pytest.raises(ConfigError, match="unknown configuration"):
        yearly_metrics(r, ["zzz"])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30), st.integers(1, 6), st.booleans())
def test_clustered_means_equal_the_one_column_mean(seed: int, n: int, k: int,
                                                   with_nan: bool) -> None:
    """The vectorized means equal :func:`clustered_mean` column by column (several events
    per cluster, a column with a NaN left to the plain path)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 1.0, (n, k))
    if with_nan:
        values[rng.integers(0, n), rng.integers(0, k)] = np.nan
    cluster = rng.integers(0, max(1, n // 3), n)
    mean, low, high = clustered_means(values, cluster)
    for c in range(k):
        expected = clustered_mean(values[:, c], cluster)
        np.testing.assert_allclose([mean[c], low[c], high[c]], expected, rtol=1e-12,
                                   atol=1e-14)
