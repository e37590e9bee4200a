"""Tests of driftwise.backtest.bootstrap: paired block-bootstrap intervals."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.backtest import bootstrap as bs
from driftwise.backtest.bootstrap import (
    BOOTSTRAP_METRICS,
    block_bootstrap_indices,
    bootstrap_metric,
    difference_ci,
    difference_cis,
    pairwise_differences,
)
from driftwise.backtest.metrics import policy_metrics
from driftwise.errors import ConfigError

P = 252


@dataclass(frozen=True)
class FakeResult:
    """The engine's result contract, built by hand."""

    names: list[str]
    nav_usd: np.ndarray
    ref_nav_usd: np.ndarray
    traded_usd: np.ndarray
    cost_usd: np.ndarray
    drift: np.ndarray
    rebalanced: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    risk_free_annual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dates: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    params: pd.DataFrame = field(default_factory=pd.DataFrame)
    post_drift: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cash_usd: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    config_toml: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        T = self.nav_usd.shape[0]
        if self.rebalanced.size == 0:
            object.__setattr__(self, "rebalanced", self.traded_usd > 0)
        if self.risk_free_annual.size == 0:
            object.__setattr__(self, "risk_free_annual", np.full(T, 0.02))
        object.__setattr__(self, "dates", pd.bdate_range("2000-01-03", periods=T))


def from_returns(r: np.ndarray, ref_r: np.ndarray, traded_frac: np.ndarray,
                 names: list[str] | None = None) -> FakeResult:
    """A result whose NAV follows returns r (n, C) and who trades traded_frac * NAV a day."""
    C = r.shape[1]
    nav = 1e6 * np.vstack([np.ones(C), np.cumprod(1 + r, axis=0)])
    ref = 1e6 * np.concatenate([[1.0], np.cumprod(1 + ref_r)])
    traded = traded_frac * nav
    drift = np.vstack([np.zeros(C), np.abs(np.cumsum(r - ref_r[:, None], axis=0))])
    return FakeResult(names=names or [f"c{j}" for j in range(C)], nav_usd=nav,
                      ref_nav_usd=ref, traded_usd=traded, cost_usd=traded * 0.001,
                      drift=drift.clip(0.0, 1.0))


def random_result(n_days: int = 300, n_configs: int = 3, seed: int = 0) -> FakeResult:
    rng = np.random.default_rng(seed)
    ref_r = rng.normal(3e-4, 0.01, n_days - 1)
    r = ref_r[:, None] + rng.normal(0, 0.002, (n_days - 1, n_configs))
    traded = np.where(rng.random((n_days, n_configs)) < 0.05, 0.2, 0.0)
    return from_returns(r, ref_r, traded)


# ------------------------------------------------------------------ indices


def test_circular_indices_are_consecutive_blocks() -> None:
    idx = block_bootstrap_indices(50, 7, 20, np.random.default_rng(0))
    assert idx.shape == (20, 50)
    assert idx.min() >= 0
    assert idx.max() < 50
    for row in idx:
        for start in range(0, 50, 7):
            block = row[start:start + 7]
            assert all((b - a) % 50 == 1 for a, b in itertools.pairwise(block))


def test_circular_indices_draw_every_day_equally() -> None:
    idx = block_bootstrap_indices(40, 5, 4000, np.random.default_rng(1))
    counts = np.bincount(idx.ravel(), minlength=40) / idx.size
    assert np.allclose(counts, 1 / 40, rtol=0.05)


def test_stationary_indices_have_geometric_blocks_of_the_mean_length() -> None:
    idx = block_bootstrap_indices(400, 10, 300, np.random.default_rng(2), kind="stationary")
    assert idx.shape == (300, 400)
    assert idx.min() >= 0 and idx.max() < 400
    breaks = (np.diff(idx, axis=1) % 400) != 1
    mean_block = idx.size / (breaks.sum() + idx.shape[0])
    assert mean_block == pytest.approx(10, rel=0.1)


def test_indices_follow_the_seed() -> None:
    a = block_bootstrap_indices(30, 4, 5, np.random.default_rng(7))
    b = block_bootstrap_indices(30, 4, 5, np.random.default_rng(7))
    assert np.array_equal(a, b)


@given(n=st.integers(1, 60), block=st.integers(1, 80), samples=st.integers(1, 5),
       kind=st.sampled_from(["circular", "stationary"]))
def test_indices_shape_and_range(n: int, block: int, samples: int, kind: str) -> None:
    idx = block_bootstrap_indices(n, block, samples, np.random.default_rng(0), kind=kind)
    assert idx.shape == (samples, n)
    assert idx.min() >= 0 and idx.max() < n


@pytest.mark.parametrize(("n", "block", "samples"), [(0, 5, 10), (10, 0, 10), (10, 5, 0),
                                                      (10, 2.5, 10)])
def test_bad_index_arguments(n: int, block: int, samples: int) -> None:
    with pytest.raises(ConfigError, match="whole number"):
        block_bootstrap_indices(n, block, samples, np.random.default_rng(0))


def test_unknown_kind() -> None:
    with pytest.raises(ConfigError, match="kind"):
        block_bootstrap_indices(10, 2, 3, np.random.default_rng(0), kind="moving")


# ---------------------------------------------------------------- intervals


@pytest.mark.parametrize("metric", BOOTSTRAP_METRICS)
def test_estimate_is_the_difference_of_policy_metrics(metric: str) -> None:
    res = random_result()
    m = policy_metrics(res)
    ci = difference_ci(res, "c0", "c2", metric, samples=50)
    assert ci.estimate == pytest.approx(m.loc["c0", metric] - m.loc["c2", metric], abs=1e-13)
    assert ci.low <= ci.high


@pytest.mark.parametrize("metric", BOOTSTRAP_METRICS)
def test_identical_policies_give_a_zero_interval(metric: str) -> None:
    res = random_result(n_configs=1)
    twin = FakeResult(names=["x", "y"], nav_usd=np.repeat(res.nav_usd, 2, axis=1),
                      ref_nav_usd=res.ref_nav_usd,
                      traded_usd=np.repeat(res.traded_usd, 2, axis=1),
                      cost_usd=np.repeat(res.cost_usd, 2, axis=1),
                      drift=np.repeat(res.drift, 2, axis=1))
    assert tuple(difference_ci(twin, "x", "y", metric, samples=100)) == (0.0, 0.0, 0.0, 1.0)


def test_draws_equal_a_loop_over_resamples() -> None:
    res = random_result(n_days=60, n_configs=2)
    estimate, draws = bootstrap_metric(res, "te_annual", block=5, samples=30, seed=4)
    days = block_bootstrap_indices(59, 5, 30, np.random.default_rng(4))
    active = [[res.nav_usd[t + 1, j] / res.nav_usd[t, j]
               - res.ref_nav_usd[t + 1] / res.ref_nav_usd[t] for t in range(59)]
              for j in range(2)]
    for s in range(30):
        for j in range(2):
            xs = [active[j][t] for t in days[s]]
            m = sum(xs) / len(xs)
            te = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) * P)
            assert draws[s, j] == pytest.approx(te, rel=1e-9)
    assert estimate.shape == (2,)


def test_chunking_does_not_change_the_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    res = random_result(n_days=100, n_configs=3)
    _, whole = bootstrap_metric(res, "cost_per_year", samples=40, seed=1)
    monkeypatch.setattr(bs, "CHUNK_ELEMENTS", 700)
    _, chunked = bootstrap_metric(res, "cost_per_year", samples=40, seed=1)
    assert np.array_equal(whole, chunked)


def _lognormal_ar(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """A stationary AR(1) x_t with marginal sd `sd`, returned as exp(x - sd^2/2) (mean 1)."""
    e = rng.normal(0, sd * math.sqrt(1 - phi**2), n)
    x = np.empty(n)
    x[0] = rng.normal(0, sd)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return np.exp(x - sd**2 / 2)


def _turnover_case(rng: np.random.Generator, n_days: int) -> FakeResult:
    # turnover per day = m * (mean-one autocorrelated noise); true turnover per year is
    # 252 * 0.5 * m, so the true difference a - b is 126 * (0.004 - 0.003) = 0.126
    common = _lognormal_ar(rng, n_days, 0.6, 0.5)
    fa = 0.004 * common * _lognormal_ar(rng, n_days, 0.6, 0.3)
    fb = 0.003 * common * _lognormal_ar(rng, n_days, 0.6, 0.3)
    flat = np.zeros((n_days - 1, 2))
    return from_returns(flat, np.zeros(n_days - 1), np.column_stack([fa, fb]), ["a", "b"])


def test_interval_covers_a_known_difference_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(11)
    truth, reps, hits = 126 * 0.001, 200, 0
    for rep in range(reps):
        ci = difference_ci(_turnover_case(rng, 750), "a", "b", "turnover_per_year",
                           block=20, samples=200, alpha=0.1, seed=rep)
        hits += ci.low <= truth <= ci.high
    assert 0.80 <= hits / reps <= 0.97  # nominal 0.90


def test_tracking_error_interval_covers_the_truth() -> None:
    # iid active returns with daily sd 0.002 and 0.001: TE_a - TE_b = 0.001 * sqrt(252)
    rng = np.random.default_rng(5)
    truth, reps, hits = 0.001 * math.sqrt(P), 150, 0
    for rep in range(reps):
        ref_r = rng.normal(0, 0.01, 600)
        r = ref_r[:, None] + rng.normal(0, 1, (600, 2)) * np.array([0.002, 0.001])
        res = from_returns(r, ref_r, np.zeros((601, 2)), ["a", "b"])
        ci = difference_ci(res, "a", "b", "te_annual", block=10, samples=200, seed=rep)
        hits += ci.low <= truth <= ci.high
    assert 0.88 <= hits / reps <= 0.995  # nominal 0.95


def test_interval_narrows_with_more_days() -> None:
    rng = np.random.default_rng(3)
    short = difference_ci(_turnover_case(rng, 250), "a", "b", "turnover_per_year", seed=1)
    long = difference_ci(_turnover_case(rng, 4000), "a", "b", "turnover_per_year", seed=1)
    assert long.high - long.low < 0.5 * (short.high - short.low)


def test_share_below_zero_tracks_the_sign() -> None:
    res = _turnover_case(np.random.default_rng(0), 2000)
    assert difference_ci(res, "a", "b", "turnover_per_year").share_le_zero < 0.05
    assert difference_ci(res, "b", "a", "turnover_per_year").share_le_zero > 0.95


def test_same_seed_same_interval() -> None:
    res = random_result()
    assert difference_ci(res, "c0", "c1", "sharpe") == difference_ci(res, "c0", "c1", "sharpe")


def test_stationary_bootstrap_runs() -> None:
    res = random_result()
    ci = difference_ci(res, "c0", "c1", "return_annual", kind="stationary", samples=200)
    assert ci.low <= ci.estimate <= ci.high


# ------------------------------------------------------------------ pairwise


def test_pairwise_rows_equal_difference_ci() -> None:
    res = random_result(n_configs=4)
    table = pairwise_differences(res, "te_annual", samples=200, seed=3)
    assert list(zip(table["a"], table["b"], strict=True)) == [
        ("c0", "c1"), ("c0", "c2"), ("c0", "c3"), ("c1", "c2"), ("c1", "c3"), ("c2", "c3")]
    assert set(table["metric"]) == {"te_annual"}
    for row in table.itertuples():
        ci = difference_ci(res, row.a, row.b, "te_annual", samples=200, seed=3)
        assert (row.estimate, row.low, row.high, row.share_le_zero) == pytest.approx(tuple(ci))


def test_pairwise_against_a_baseline() -> None:
    res = random_result(n_configs=3)
    table = pairwise_differences(res, "cost_per_year", baseline="c1", samples=100)
    assert list(table["a"]) == ["c0", "c2"]
    assert list(table["b"]) == ["c1", "c1"]


def test_pairwise_single_configuration_is_empty() -> None:
    table = pairwise_differences(random_result(n_configs=1), "sharpe", samples=10)
    assert table.empty
    assert list(table.columns) == ["a", "b", "metric", "estimate", "low", "high",
                                   "share_le_zero"]


def test_unknown_configuration() -> None:
    with pytest.raises(ConfigError, match="unknown configuration 'zz'"):
        difference_ci(random_result(), "c0", "zz", "sharpe")


def test_unknown_baseline() -> None:
    with pytest.raises(ConfigError, match="unknown configuration"):
        pairwise_differences(random_result(), "sharpe", baseline="nope")


def test_unknown_metric() -> None:
    with pytest.raises(ConfigError, match="metric must be one of"):
        difference_ci(random_result(), "c0", "c1", "max_drift")


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 2.0])
def test_bad_alpha(alpha: float) -> None:
    with pytest.raises(ConfigError, match="alpha"):
        difference_ci(random_result(), "c0", "c1", "sharpe", alpha=alpha)


@pytest.mark.parametrize("metric", BOOTSTRAP_METRICS)
def test_pairs_from_one_set_of_resamples_equal_each_pair_alone(metric: str) -> None:
    """Resampling every named configuration once changes no interval, to the bit."""
    res = random_result(n_configs=5)
    pairs = [("c0", "c1"), ("c0", "c3"), ("c2", "c1"), ("c4", "c4"), ("c3", "c0")]
    together = difference_cis(res, pairs, metric, samples=120, seed=4, block=7)
    for (a, b), ci in zip(pairs, together, strict=True):
        assert tuple(ci) == tuple(difference_ci(res, a, b, metric, samples=120, seed=4, block=7))
    assert difference_cis(res, [], metric) == []
    alone = difference_cis(res, [("c2", "c2")], metric, samples=50)
    assert tuple(alone[0]) == tuple(difference_ci(res, "c2", "c2", metric, samples=50))
