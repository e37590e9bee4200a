"""Tests of driftwise.metrics.speed: drift speed, ranks, drift rate, days to breach."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.metrics.drift import portfolio_drift
from driftwise.metrics.risk import tracking_error
from driftwise.metrics.speed import (
    days_to_breach,
    drift_rate,
    drift_speed,
    percentile_rank,
    relative_volatility,
)

# Golden three-asset portfolio (see test_risk): vols 20% / 10% / 30%, correlations 0.5,
# targets 0.4 / 0.4 / 0.2.
COV = np.array([[0.04, 0.01, 0.03], [0.01, 0.01, 0.015], [0.03, 0.015, 0.09]])
TARGET = np.array([0.4, 0.4, 0.2])


# ---------------------------------------------------------------- drift speed


def test_golden_drift_speed_and_rank() -> None:
    # 63 days = a quarter: sqrt(63/252) = 0.5, so speeds are half the vols
    speed = drift_speed([0.2, 0.1, 0.3], 63)
    assert speed.tolist() == pytest.approx([0.1, 0.05, 0.15])
    # ranks 2, 1, 3 of 3
    assert percentile_rank(speed).tolist() == pytest.approx([2 / 3, 1 / 3, 1.0])


def test_drift_speed_days_per_config() -> None:
    vol = np.array([[0.2, 0.1], [0.2, 0.1]])
    got = drift_speed(vol, np.array([252.0, 0.0]))
    assert got.tolist() == [[0.2, 0.1], [0.0, 0.0]]
    assert np.isnan(drift_speed([0.2], np.nan)).all()  # no last rebalance date


def test_negative_days() -> None:
    with pytest.raises(ConfigError, match="days_since_rebalance"):
        drift_speed([0.2], -1)


def test_percentile_rank_ties_nan_single() -> None:
    got = percentile_rank([[0.3, np.nan, 0.1, 0.3], [0.5, 0.5, 0.5, 0.5]])
    # row 0: valid values 0.1 < 0.3 = 0.3 -> ranks 1, 2.5, 2.5 of 3
    assert got[0, [0, 2, 3]].tolist() == pytest.approx([2.5 / 3, 1 / 3, 2.5 / 3])
    assert math.isnan(got[0, 1])
    assert got[1].tolist() == pytest.approx([0.625] * 4)  # all tied: (1+2+3+4)/4/4
    assert percentile_rank([0.7]).tolist() == [1.0]
    assert np.isnan(percentile_rank([np.nan, np.nan])).all()


@given(st.lists(st.one_of(st.floats(-1.0, 1.0), st.just(math.nan)), min_size=1, max_size=12))
def test_percentile_rank_matches_pandas(values: list[float]) -> None:
    got = percentile_rank(values)
    expected = pd.Series(values, dtype="float64").rank(pct=True).to_numpy()
    np.testing.assert_allclose(got, expected, equal_nan=True)
    finite = got[~np.isnan(got)]
    assert np.all((finite > 0.0) & (finite <= 1.0))


def loop_rank(values: list[float]) -> list[float]:
    valid = [v for v in values if not math.isnan(v)]
    out = []
    for v in values:
        if math.isnan(v):
            out.append(math.nan)
            continue
        below = sum(1 for u in valid if u < v)
        equal = sum(1 for u in valid if u == v)
        out.append((below + (equal + 1) / 2) / len(valid))
    return out


def test_percentile_rank_matches_loop_over_configs() -> None:
    rng = np.random.default_rng(11)
    x = np.round(rng.uniform(size=(4, 9)), 1)  # rounding makes ties
    x[1, 3] = np.nan
    got = percentile_rank(x)
    for c in range(4):
        np.testing.assert_allclose(got[c], loop_rank(list(x[c])), equal_nan=True)


# ---------------------------------------------------------------- relative vol, rate


def test_golden_relative_volatility_and_rate() -> None:
    # S t = (0.016+0.004+0.006, 0.004+0.004+0.003, 0.012+0.006+0.018) = (0.026, 0.011, 0.036)
    # t'S t = 0.4*0.026 + 0.4*0.011 + 0.2*0.036 = 0.022
    # var(r_i - r_p) = S_ii - 2 (S t)_i + t'S t:
    #   0.04 - 0.052 + 0.022 = 0.010 -> 0.1
    #   0.01 - 0.022 + 0.022 = 0.010 -> 0.1
    #   0.09 - 0.072 + 0.022 = 0.040 -> 0.2
    rel = relative_volatility(COV, TARGET)
    assert rel.tolist() == pytest.approx([0.1, 0.1, 0.2])
    # v = 1/2 sqrt(2/pi) (0.4*0.1 + 0.4*0.1 + 0.2*0.2) = 0.06 sqrt(2/pi) = 0.047873
    v = drift_rate(TARGET, rel)
    assert v == pytest.approx(0.06 * math.sqrt(2 / math.pi))
    # from D0 = 3% to h = 5%: 252 (0.0025 - 0.0009) / v^2, v^2 = 0.0072/pi -> 56 pi days
    assert days_to_breach(0.03, 0.05, v) == pytest.approx(56 * math.pi)
    # already drifted 10% > 5%: breached now
    assert days_to_breach(0.1, 0.05, v) == 0.0


def loop_relative_vol(cov: np.ndarray, t: np.ndarray) -> list[float]:
    n = len(t)
    out = []
    for i in range(n):
        # r_i - r_p = sum_j (e_i - t)_j r_j
        a = [(1.0 if j == i else 0.0) - t[j] for j in range(n)]
        var = sum(a[j] * cov[j, k] * a[k] for j in range(n) for k in range(n))
        out.append(math.sqrt(max(var, 0.0)))
    return out


def test_relative_volatility_and_rate_match_loop() -> None:
    rng = np.random.default_rng(12)
    a = rng.normal(0, 0.1, (5, 5))
    cov = a @ a.T
    t = rng.dirichlet(np.ones(5), size=3) * 0.9  # 10% cash target
    rel = relative_volatility(cov, t)
    sigma_p = tracking_error(t, cov)  # sqrt(t'S t)
    v = drift_rate(t, rel, 0.1, sigma_p)
    for c in range(3):
        expected = loop_relative_vol(cov, t[c])
        assert rel[c] == pytest.approx(expected, rel=1e-10)
        total = sum(t[c, i] * expected[i] for i in range(5)) + 0.1 * float(sigma_p[c])
        assert v[c] == pytest.approx(0.5 * math.sqrt(2 / math.pi) * total, rel=1e-10)


def test_single_asset_never_drifts() -> None:
    rel = relative_volatility([[0.04]], [1.0])
    assert rel.tolist() == [0.0]
    assert days_to_breach(0.0, 0.05, drift_rate([1.0], rel)) == math.inf


def test_days_to_breach_edges() -> None:
    got = days_to_breach([0.0, 0.06, 0.02, np.nan], 0.05, [0.0, 0.0, 0.1, 0.1])
    assert got[:3].tolist() == [math.inf, 0.0, pytest.approx(252 * 0.0021 / 0.01)]
    assert math.isnan(got[3])


def test_threshold_negative() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        days_to_breach(0.01, -0.01, 0.1)


def test_threshold_zero_is_breached_at_once() -> None:
    # a threshold of 0 fires on any drift: no day to wait
    assert days_to_breach([0.0, 0.01], 0.0, 0.1).tolist() == [0.0, 0.0]


def test_negative_rate() -> None:
    with pytest.raises(ConfigError, match="rate"):
        days_to_breach(0.01, 0.05, -0.1)


@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_configs_axis_equals_per_config_loop(n_cfg: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.1, (n, n))
    cov = a @ a.T
    t = rng.dirichlet(np.ones(n), size=n_cfg)
    vol = rng.uniform(0.05, 0.5, (n_cfg, n))
    days = rng.integers(0, 300, n_cfg).astype(float)
    d0 = rng.uniform(0, 0.1, n_cfg)
    speed_all = drift_speed(vol, days)
    rank_all = percentile_rank(speed_all)
    rel_all = relative_volatility(cov, t)
    v_all = drift_rate(t, rel_all)
    days_all = days_to_breach(d0, 0.05, v_all)
    for c in range(n_cfg):
        np.testing.assert_array_equal(speed_all[c], drift_speed(vol[c], days[c]))
        np.testing.assert_array_equal(rank_all[c], percentile_rank(speed_all[c]))
        rel = relative_volatility(cov, t[c])
        np.testing.assert_allclose(rel_all[c], rel, rtol=1e-12, atol=1e-15)
        assert v_all[c] == pytest.approx(float(drift_rate(t[c], rel)), rel=1e-12)
        assert days_all[c] == pytest.approx(float(days_to_breach(d0[c], 0.05, v_all[c])))


# ---------------------------------------------------------------- Monte Carlo


def simulated_mean_drift(
    vols: np.ndarray, target: np.ndarray, cash: float, days: float, seed: int
) -> float:
    """Mean drift after ``days`` of independent zero-drift GBM assets, from target."""
    rng = np.random.default_rng(seed)
    tau = days / 252
    z = rng.standard_normal((20_000, len(vols)))
    growth = np.exp(-0.5 * vols**2 * tau + vols * math.sqrt(tau) * z)
    values = target * growth
    nav = values.sum(axis=1) + cash
    drift = portfolio_drift(values / nav[:, None], target, cash / nav, cash)
    return float(drift.mean())


@pytest.mark.parametrize("days", [21.0, 63.0, 252.0])
def test_expected_drift_matches_monte_carlo(days: float) -> None:
    vols = np.array([0.10, 0.20, 0.30, 0.40, 0.15])
    target = np.array([0.30, 0.20, 0.20, 0.10, 0.10])
    cash = 0.10
    cov = np.diag(vols**2)
    v = drift_rate(target, relative_volatility(cov, target), cash, tracking_error(target, cov))
    predicted = float(v) * math.sqrt(days / 252)
    simulated = simulated_mean_drift(vols, target, cash, days, seed=2024)
    assert simulated == pytest.approx(predicted, rel=0.10)


def test_days_to_breach_matches_monte_carlo() -> None:
    vols = np.array([0.25, 0.35, 0.15])
    target = np.array([0.5, 0.3, 0.2])
    cov = np.diag(vols**2)
    v = drift_rate(target, relative_volatility(cov, target))
    days = float(days_to_breach(0.0, 0.05, v))
    assert 10 < days < 252  # a horizon where the approximation is meant to hold
    assert simulated_mean_drift(vols, target, 0.0, days, seed=7) == pytest.approx(0.05, rel=0.10)


def test_average_ranks_match_scipy() -> None:
    from scipy.stats import rankdata

    from driftwise.metrics.speed import _average_ranks

    rng = np.random.default_rng(3)
    for shape in [(7,), (3, 9), (2, 4, 6)]:
        x = rng.integers(0, 4, shape).astype(float)  # many ties
        x[..., 0] = np.inf
        np.testing.assert_array_equal(_average_ranks(x), rankdata(x, method="average", axis=-1))
