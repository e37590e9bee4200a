"""Tests of driftwise.backtest.metrics: SPEC section 8 metrics, each against a plain loop."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.backtest.metrics import (
    METRIC_COLUMNS,
    annualized_return,
    annualized_volatility,
    cost_per_year,
    daily_returns,
    policy_metrics,
    ranking,
    sharpe_ratio,
    tracking_error,
    turnover_per_year,
)
from driftwise.errors import ConfigError, DataError

P = 252


@dataclass(frozen=True)
class FakeResult:
    """The engine's result contract, built by hand."""

    dates: pd.DatetimeIndex
    names: list[str]
    nav_usd: np.ndarray
    ref_nav_usd: np.ndarray
    traded_usd: np.ndarray
    cost_usd: np.ndarray
    rebalanced: np.ndarray
    drift: np.ndarray
    risk_free_annual: np.ndarray
    params: pd.DataFrame = field(default_factory=pd.DataFrame)
    post_drift: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cash_usd: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    config_toml: list[str] = field(default_factory=list)
    borrow_usd: np.ndarray | None = None


def make_result(n_days: int = 80, n_configs: int = 3, seed: int = 1) -> FakeResult:
    rng = np.random.default_rng(seed)
    ref_r = rng.normal(3e-4, 0.01, n_days - 1)
    r = ref_r[:, None] + rng.normal(0.0, 0.002, (n_days - 1, n_configs))
    nav = 1e6 * np.vstack([np.ones(n_configs), np.cumprod(1 + r, axis=0)])
    ref = 1e6 * np.concatenate([[1.0], np.cumprod(1 + ref_r)])
    rebalanced = rng.random((n_days, n_configs)) < 0.1
    traded = np.where(rebalanced, rng.uniform(1e4, 1e5, (n_days, n_configs)), 0.0)
    return FakeResult(
        dates=pd.bdate_range("2020-01-02", periods=n_days),
        names=[f"rule{j}" for j in range(n_configs)],
        nav_usd=nav, ref_nav_usd=ref, traded_usd=traded, cost_usd=traded * 0.002,
        rebalanced=rebalanced, drift=rng.uniform(0.0, 0.08, (n_days, n_configs)),
        risk_free_annual=rng.uniform(0.0, 0.05, n_days),
        borrow_usd=rng.uniform(0.0, 5.0, (n_days, n_configs)),
    )


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _std(xs: list[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _oracle(res: FakeResult, j: int) -> dict[str, float]:
    """Every metric of configuration j recomputed with plain Python loops."""
    T = len(res.dates)
    nav = [float(res.nav_usd[t, j]) for t in range(T)]
    ref = [float(res.ref_nav_usd[t]) for t in range(T)]
    r = [nav[t] / nav[t - 1] - 1 for t in range(1, T)]
    rr = [ref[t] / ref[t - 1] - 1 for t in range(1, T)]
    rf = [float(res.risk_free_annual[t - 1]) / P for t in range(1, T)]
    ex = [a - b for a, b in zip(r, rf, strict=True)]
    ex_ref = [a - b for a, b in zip(rr, rf, strict=True)]
    growth, ref_growth = 1.0, 1.0
    for a, b in zip(r, rr, strict=True):
        growth *= 1 + a
        ref_growth *= 1 + b
    cost = [float(res.cost_usd[t, j]) for t in range(T)]
    turn = [0.5 * float(res.traded_usd[t, j]) / nav[t] for t in range(T)]
    drift = [float(res.drift[t, j]) for t in range(T)]
    sharpe = _mean(ex) / _std(ex) * math.sqrt(P)
    ref_sharpe = _mean(ex_ref) / _std(ex_ref) * math.sqrt(P)
    return {
        "te_annual": _std([a - b for a, b in zip(r, rr, strict=True)]) * math.sqrt(P),
        "cost_per_year": P * _mean([c / v for c, v in zip(cost, nav, strict=True)]),
        "cost_total_usd": sum(cost),
        "borrow_total_usd": sum(float(res.borrow_usd[t, j]) for t in range(T))  # type: ignore[index]
        if res.borrow_usd is not None else 0.0,
        "turnover_per_year": P * _mean(turn),
        "n_rebalances": sum(1 for t in range(T) if res.rebalanced[t, j]),
        "return_annual": growth ** (P / (T - 1)) - 1,
        "total_return": nav[-1] / nav[0] - 1,
        "final_nav_usd": nav[-1],
        "vol_annual": _std(r) * math.sqrt(P),
        "sharpe": sharpe,
        "ref_return_annual": ref_growth ** (P / (T - 1)) - 1,
        "ref_vol_annual": _std(rr) * math.sqrt(P),
        "ref_sharpe": ref_sharpe,
        "sharpe_diff": sharpe - ref_sharpe,
        "max_drift": max(drift),
        "mean_drift": _mean(drift),
    }


def test_every_metric_matches_a_plain_loop() -> None:
    res = make_result()
    got = policy_metrics(res)
    assert list(got.columns) == list(METRIC_COLUMNS)
    assert list(got.index) == res.names
    assert got.index.name == "config"
    for j, name in enumerate(res.names):
        want = _oracle(res, j)
        for column in METRIC_COLUMNS:
            expected = pytest.approx(want[column], rel=1e-10, abs=1e-14)
            assert got.loc[name, column] == expected, column


def test_daily_returns_loop() -> None:
    nav = np.array([[100.0, 50.0], [110.0, 50.0], [99.0, 55.0]])
    got = daily_returns(nav)
    assert got.shape == (2, 2)
    for t in range(2):
        for j in range(2):
            assert got[t, j] == pytest.approx(nav[t + 1, j] / nav[t, j] - 1)
    assert got[0, 0] == pytest.approx(0.10)
    assert got[1, 0] == pytest.approx(-0.10)


def test_hand_worked_growth_and_turnover() -> None:
    # NAV grows 0.1% a day for 252 days: return_annual = 1.001^252 - 1 = 0.28643
    nav = 1e6 * 1.001 ** np.arange(253.0)
    assert annualized_return(daily_returns(nav)[:, None])[0] == pytest.approx(1.001**252 - 1)
    assert annualized_volatility(daily_returns(nav)[:, None])[0] == pytest.approx(0, abs=1e-12)
    # one full round trip of a $1m portfolio in a year of 252 days on $1m NAV:
    # sum|trade| = 2e6 once, turnover = 252 * (0.5 * 2e6 / 1e6) / 252 = 1.0
    traded = np.zeros((252, 1))
    traded[100] = 2e6
    assert turnover_per_year(traded, np.full((252, 1), 1e6))[0] == pytest.approx(1.0)
    # $2,000 of costs in a year on an average NAV of $1m: 20 bps a year
    cost = np.zeros((252, 1))
    cost[[10, 200]] = 1000.0
    assert cost_per_year(cost, np.full((252, 1), 1e6))[0] == pytest.approx(0.002)


def test_cost_per_year_weighs_each_day_by_its_own_nav() -> None:
    # SPEC 8: 252 * mean_t(cost_t / NAV_t). Two days of 1,000 USD costs, on a NAV of
    # 1m and of 4m, over 252 days: 252 * (1e-3 + 2.5e-4) / 252 = 12.5 bps a year, whatever
    # the other days' NAV (the ratio of means would give 2,000 / mean NAV instead)
    cost = np.zeros((252, 1))
    cost[[10, 200]] = 1000.0
    nav = np.full((252, 1), 2e6)
    nav[10], nav[200] = 1e6, 4e6
    assert cost_per_year(cost, nav)[0] == pytest.approx(1e-3 + 2.5e-4, rel=1e-12)
    # a NAV that doubles while the cost fraction of each day stays the same: the same
    # cost per year as on a flat NAV (it does not shift with growth, like turnover)
    growing = 1e6 * 2.0 ** (np.arange(252.0) / 251.0)[:, None]
    assert cost_per_year(1e-4 * growing, growing)[0] == pytest.approx(252 * 1e-4, rel=1e-12)
    assert turnover_per_year(2e-4 * growing, growing)[0] == pytest.approx(252 * 1e-4, rel=1e-12)


def test_tracking_error_zero_when_portfolio_is_the_reference() -> None:
    res = make_result()
    same = dataclasses.replace(res, nav_usd=np.repeat(res.ref_nav_usd[:, None] * 2.0, 3, axis=1))
    assert np.allclose(policy_metrics(same)["te_annual"], 0.0, atol=1e-12)


def test_sharpe_of_constant_excess_is_nan() -> None:
    x = np.full((10, 1), 1e-4)
    assert np.isnan(sharpe_ratio(x)[0])


def test_kernels_broadcast_over_a_leading_samples_axis() -> None:
    rng = np.random.default_rng(3)
    r = rng.normal(0, 0.01, (4, 30, 2))
    ref = rng.normal(0, 0.01, (4, 30, 1))
    nav = rng.uniform(1e5, 2e5, (4, 30, 2))
    flows = rng.uniform(0, 1e3, (4, 30, 2))
    for s in range(4):
        assert np.allclose(tracking_error(r, ref)[s], tracking_error(r[s], ref[s]))
        assert np.allclose(annualized_return(r)[s], annualized_return(r[s]))
        assert np.allclose(sharpe_ratio(r)[s], sharpe_ratio(r[s]))
        assert np.allclose(cost_per_year(flows, nav)[s], cost_per_year(flows[s], nav[s]))
        assert np.allclose(turnover_per_year(flows, nav)[s], turnover_per_year(flows[s], nav[s]))


@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_fraction_metrics_do_not_depend_on_the_nav_scale(scale: float, seed: int) -> None:
    res = make_result(n_days=20, n_configs=2, seed=seed)
    scaled = dataclasses.replace(
        res, nav_usd=res.nav_usd * scale, ref_nav_usd=res.ref_nav_usd * scale,
        traded_usd=res.traded_usd * scale, cost_usd=res.cost_usd * scale)
    a, b = policy_metrics(res), policy_metrics(scaled)
    for column in ("te_annual", "cost_per_year", "turnover_per_year", "return_annual",
                   "vol_annual", "sharpe", "ref_sharpe", "max_drift"):
        assert np.allclose(a[column], b[column], rtol=1e-8, atol=1e-12), column


@given(seed=st.integers(0, 10_000))
def test_more_costs_never_lower_cost_per_year(seed: int) -> None:
    res = make_result(n_days=15, n_configs=2, seed=seed)
    more = dataclasses.replace(res, cost_usd=res.cost_usd * 2.0 + 1.0)
    assert np.all(policy_metrics(more)["cost_per_year"] > policy_metrics(res)["cost_per_year"])


# ---------------------------------------------------------------- bad input


def test_wrong_shape_is_a_data_error() -> None:
    res = make_result()
    with pytest.raises(DataError, match="cost_usd"):
        policy_metrics(dataclasses.replace(res, cost_usd=res.cost_usd[:, :2]))


def test_nan_is_a_data_error() -> None:
    res = make_result()
    nav = res.nav_usd.copy()
    nav[5, 1] = np.nan
    with pytest.raises(DataError, match="nav_usd"):
        policy_metrics(dataclasses.replace(res, nav_usd=nav))


def test_non_positive_nav_is_a_data_error() -> None:
    res = make_result()
    with pytest.raises(DataError, match="ref_nav_usd"):
        policy_metrics(dataclasses.replace(res, ref_nav_usd=res.ref_nav_usd * 0.0))


def test_negative_traded_is_a_data_error() -> None:
    res = make_result()
    with pytest.raises(DataError, match="traded_usd"):
        policy_metrics(dataclasses.replace(res, traded_usd=-res.traded_usd - 1.0))


def test_too_few_days_is_a_data_error() -> None:
    res = make_result(n_days=2)
    with pytest.raises(DataError, match="at least 3 days"):
        policy_metrics(res)


def test_wrong_risk_free_length_is_a_data_error() -> None:
    res = make_result()
    with pytest.raises(DataError, match="risk_free_annual"):
        policy_metrics(dataclasses.replace(res, risk_free_annual=res.risk_free_annual[1:]))


# ------------------------------------------------------------------ ranking


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {"te_annual": [0.02, 0.01, 0.03, 0.01], "cost_per_year": [0.0001, 0.0010, 0.0, 0.0005],
         "sharpe": [0.5, 0.7, 0.6, 0.7]},
        index=pd.Index(["a", "b", "c", "d"], name="config"))


def test_utility_ranking_hand_worked() -> None:
    # gamma = 2: score = te^2 + cost
    # a: 4e-4 + 1e-4 = 5e-4; b: 1e-4 + 1e-3 = 1.1e-3; c: 9e-4; d: 1e-4 + 5e-4 = 6e-4
    got = ranking(_table())
    assert list(got.index) == ["a", "d", "c", "b"]
    assert list(got["rank"]) == [1, 2, 3, 4]
    assert got["score"].to_list() == pytest.approx([5e-4, 6e-4, 9e-4, 1.1e-3])


def test_lexicographic_ranking_respects_direction() -> None:
    got = ranking(_table(), by=("sharpe", "cost_per_year"), tracking_aversion=None)
    # sharpe high first; b and d tie on sharpe, d is cheaper
    assert list(got.index) == ["d", "b", "c", "a"]
    assert "score" not in got.columns


def test_ranking_breaks_utility_ties_by_columns() -> None:
    table = pd.DataFrame({"te_annual": [0.0, 0.0], "cost_per_year": [0.001, 0.001],
                          "turnover_per_year": [0.5, 0.2]}, index=["x", "y"])
    got = ranking(table, by=("turnover_per_year",))
    assert list(got.index) == ["y", "x"]


def test_ranking_a_ranked_frame_again() -> None:
    once = ranking(_table())
    twice = ranking(once, tracking_aversion=None, by=("cost_per_year",))
    assert list(twice.index) == ["c", "a", "d", "b"]
    assert list(twice["rank"]) == [1, 2, 3, 4]
    assert "score" not in twice.columns


def test_ranking_unknown_column() -> None:
    with pytest.raises(ConfigError, match="unknown column"):
        ranking(_table(), by=("speed",))


def test_ranking_negative_aversion() -> None:
    with pytest.raises(ConfigError, match="tracking_aversion"):
        ranking(_table(), tracking_aversion=-1.0)


def test_ranking_needs_a_key() -> None:
    with pytest.raises(ConfigError, match="at least one column"):
        ranking(_table(), by=(), tracking_aversion=None)
