"""Hit-rate intervals, design effect and verdicts, on cases where the truth is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.validation.stats import (
    HitRate,
    Verdict,
    cluster_bootstrap_hit_rate,
    cluster_ids,
    clustered_hit_rate,
    clustered_mean,
    design_effect,
    summarize,
    verdict,
    wilson_interval,
)


def test_wilson_hand_worked() -> None:
    # 8 of 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416,
    # half 1.96 sqrt(0.016 + 0.009604) / 1.38416
    low, high = wilson_interval(8, 10)
    centre = (0.8 + 1.96**2 / 20) / (1 + 1.96**2 / 10)
    half = 1.96 * math.sqrt(0.8 * 0.2 / 10 + 1.96**2 / 400) / (1 + 1.96**2 / 10)
    assert low == pytest.approx(centre - half, abs=1e-4)
    assert high == pytest.approx(centre + half, abs=1e-4)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def _loop_design_effect(y: np.ndarray, c: np.ndarray) -> float:
    n = len(y)
    p = sum(y) / n
    groups = sorted(set(c.tolist()))
    robust = 0.0
    for g in groups:
        members = [float(y[i]) for i in range(n) if c[i] == g]
        robust += (sum(members) - p * len(members)) ** 2 / (1 - len(members) / n)
    robust /= n**2
    return min(max(robust / (p * (1 - p) / n), 1.0), n)


def test_design_effect_oracle() -> None:
    rng = np.random.default_rng(3)
    cluster = rng.integers(0, 12, 200)
    level = rng.random(12)[cluster]
    y = rng.random(200) < level
    assert design_effect(y, cluster) == pytest.approx(_loop_design_effect(y, cluster), rel=1e-12)


def test_design_effect_perfectly_clustered() -> None:
    # every event of a cluster agrees: the effective size is the number of clusters less
    # one (CR2 with equal clusters: the factor 1 / (1 - n_g/N) = C/(C-1))
    cluster = np.repeat(np.arange(10), 8)
    y = np.repeat(np.arange(10) % 2 == 0, 8)
    rate = clustered_hit_rate(y, cluster)
    assert rate.n_effective == pytest.approx(9.0, rel=1e-9)


def test_always_holds_is_supported() -> None:
    cluster = np.repeat(np.arange(40), 5)
    rate = clustered_hit_rate(np.ones(200, dtype=bool), cluster)
    assert rate.hit_rate == 1.0 and rate.n_effective == 40.0
    assert verdict(rate) is Verdict.SUPPORTED


def test_never_holds_is_not_supported() -> None:
    cluster = np.repeat(np.arange(40), 5)
    assert verdict(clustered_hit_rate(np.zeros(200, dtype=bool), cluster)) is Verdict.NOT_SUPPORTED


def test_coin_flip_is_inconclusive() -> None:
    rng = np.random.default_rng(11)
    y = rng.random(2000) < 0.5
    rate = clustered_hit_rate(y, rng.integers(0, 100, 2000))
    assert rate.ci_low < 0.5 < rate.ci_high
    assert verdict(rate) is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("seed", range(5))
def test_clustered_coin_flip_is_inconclusive(seed: int) -> None:
    # a coin flipped once per cluster and shared by its 50 events: 30 independent draws
    rng = np.random.default_rng(seed)
    flips = rng.random(30) < 0.5
    y = np.repeat(flips, 50)
    rate = clustered_hit_rate(y, np.repeat(np.arange(30), 50))
    assert rate.n_effective == pytest.approx(30.0, rel=0.35)
    assert verdict(rate) is Verdict.INCONCLUSIVE


def test_too_few_events_or_clusters_is_inconclusive() -> None:
    assert verdict(clustered_hit_rate(np.ones(8, dtype=bool), np.arange(8))) is \
        Verdict.INCONCLUSIVE
    assert verdict(clustered_hit_rate(np.ones(400, dtype=bool), np.arange(400) % 4)) is \
        Verdict.INCONCLUSIVE


def test_empty_hit_rate() -> None:
    rate = clustered_hit_rate(np.zeros(0, dtype=bool), np.zeros(0))
    assert rate.n_events == 0 and math.isnan(rate.hit_rate)
    assert verdict(rate) is Verdict.INCONCLUSIVE


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=1, max_size=80))
def test_interval_contains_estimate(pairs: list[tuple[bool, int]]) -> None:
    y = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    rate = clustered_hit_rate(y, c)
    assert 0.0 <= rate.ci_low <= rate.hit_rate <= rate.ci_high <= 1.0
    assert 1.0 <= rate.design_effect <= len(y)


def test_bootstrap_agrees_with_wilson_on_independent_events() -> None:
    rng = np.random.default_rng(5)
    y = rng.random(3000) < 0.7
    cluster = np.arange(3000) // 10
    rate = clustered_hit_rate(y, cluster)
    low, high = cluster_bootstrap_hit_rate(y, cluster, samples=800, seed=1)
    assert low == pytest.approx(rate.ci_low, abs=0.01)
    assert high == pytest.approx(rate.ci_high, abs=0.01)


def test_clustered_mean_oracle() -> None:
    x = np.array([1.0, 2.0, 3.0, 10.0, 12.0, np.nan])
    c = np.array([0, 0, 1, 1, 2, 2])
    mean, low, high = clustered_mean(x, c)
    m = 28.0 / 5
    sums, counts = [3.0, 13.0, 12.0], [2, 2, 1]
    se = math.sqrt(sum((s - m * k) ** 2 / (1 - k / 5)
                       for s, k in zip(sums, counts, strict=True))) / 5
    t2 = 4.302652729911275  # t(2) two-sided 95% quantile, from a table
    assert mean == pytest.approx(m)
    assert (low, high) == pytest.approx((m - t2 * se, m + t2 * se))


def test_cluster_ids_by_quarter_and_year() -> None:
    dates = pd.DatetimeIndex(["2020-01-02", "2020-03-31", "2020-04-01", "2021-01-04"])
    q = cluster_ids(dates, 3)
    assert q[0] == q[1] != q[2] != q[3]
    y = cluster_ids(dates, 12)
    assert y[0] == y[2] != y[3]
    with pytest.raises(ConfigError):
        cluster_ids(dates, 0)


def test_summarize_groups() -> None:
    events = pd.DataFrame({"rule": ["a"] * 30 + ["b"] * 30, "hit": [True] * 30 + [False] * 30,
                           "cluster": list(range(30)) * 2})
    table = summarize(events, ["rule"])
    assert list(table["rule"]) == ["a", "b"]
    assert list(table["hit_rate"]) == [1.0, 0.0]
    assert set(HitRate.__dataclass_fields__) <= set(table.columns)
