"""Tests of driftwise.metrics.risk: returns, volatility, covariance, fallbacks, TE."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError, DataError
from driftwise.metrics.risk import (
    CovarianceEstimator,
    annualized_volatility,
    estimate_covariance,
    fill_covariance,
    log_or_simple_returns,
    nearest_psd,
    sample_covariance,
    sector_average_volatility,
    shrunk_covariance,
    tracking_error,
    tracking_error_diag,
)

# Golden three-asset portfolio: vols 20% / 10% / 30%, every correlation 0.5.
#   Sigma_ij = rho * s_i * s_j: S11 = 0.04, S22 = 0.01, S33 = 0.09,
#   S12 = 0.5*0.2*0.1 = 0.01, S13 = 0.5*0.2*0.3 = 0.03, S23 = 0.5*0.1*0.3 = 0.015
VOLS = np.array([0.2, 0.1, 0.3])
COV = np.array([[0.04, 0.01, 0.03], [0.01, 0.01, 0.015], [0.03, 0.015, 0.09]])


def random_returns(seed: int, n_days: int, n_assets: int, missing: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0005, 0.01, (n_days, n_assets)) @ rng.uniform(0.5, 1.5, (n_assets, n_assets))
    r[rng.uniform(size=r.shape) < missing] = np.nan
    return r


# ---------------------------------------------------------------- returns


def test_simple_and_log_returns_match_loop() -> None:
    p = np.array([[100.0, 50.0], [110.0, np.nan], [99.0, 55.0]])
    simple = log_or_simple_returns(p)
    logr = log_or_simple_returns(p, log=True)
    assert simple.shape == (2, 2)
    for t in range(2):
        for i in range(2):
            a, b = p[t, i], p[t + 1, i]
            if math.isnan(a) or math.isnan(b):
                assert math.isnan(simple[t, i]) and math.isnan(logr[t, i])
            else:
                assert simple[t, i] == pytest.approx(b / a - 1)
                assert logr[t, i] == pytest.approx(math.log(b / a))


def test_non_positive_price_is_a_data_error() -> None:
    with pytest.raises(DataError, match="positive"):
        log_or_simple_returns(np.array([[100.0], [0.0]]))


def test_one_dimensional_prices_rejected() -> None:
    with pytest.raises(ConfigError, match="n_days, n_assets"):
        log_or_simple_returns(np.array([100.0, 101.0]))


# ---------------------------------------------------------------- volatility


def test_volatility_matches_loop_with_missing_days() -> None:
    r = random_returns(3, 80, 4, missing=0.2)
    r[:, 3] = np.nan
    r[-5:, 3] = 0.01 * np.arange(5)  # 5 observations, fewer than 60 // 2
    got = annualized_volatility(r, 60)
    for i in range(3):
        obs = [x for x in r[-60:, i] if not math.isnan(x)]
        assert got[i] == pytest.approx(statistics.stdev(obs) * math.sqrt(252), rel=1e-12)
    assert math.isnan(got[3])
    assert annualized_volatility(r, 60, min_periods=5)[3] == pytest.approx(
        statistics.stdev(0.01 * np.arange(5)) * math.sqrt(252)
    )


def test_window_too_short() -> None:
    with pytest.raises(ConfigError, match="window"):
        annualized_volatility(random_returns(0, 10, 2), 1)


def test_min_periods_out_of_range() -> None:
    with pytest.raises(ConfigError, match="min_periods"):
        annualized_volatility(random_returns(0, 10, 2), 5, min_periods=6)


def test_returns_must_be_two_dimensional() -> None:
    with pytest.raises(ConfigError, match="n_days, n_assets"):
        annualized_volatility(np.zeros(10), 5)


# ---------------------------------------------------------------- covariance


def loop_pairwise_cov(r: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    x = r[-window:]
    n = x.shape[1]
    out = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            pairs = [
                (a, b)
                for a, b in zip(x[:, i], x[:, j], strict=True)
                if not (math.isnan(a) or math.isnan(b))
            ]
            if len(pairs) < min_periods:
                continue
            ma = sum(a for a, _ in pairs) / len(pairs)
            mb = sum(b for _, b in pairs) / len(pairs)
            out[i, j] = 252 * sum((a - ma) * (b - mb) for a, b in pairs) / (len(pairs) - 1)
    return out


def test_sample_covariance_matches_loop_and_pandas() -> None:
    r = random_returns(4, 70, 5, missing=0.3)
    r[:40, 4] = np.nan  # asset 4 has too few observations in the window
    got = sample_covariance(r, 60, min_periods=25)
    np.testing.assert_allclose(got, loop_pairwise_cov(r, 60, 25), rtol=1e-10, equal_nan=True)
    pandas_cov = pd.DataFrame(r[-60:]).cov(min_periods=25).to_numpy() * 252
    np.testing.assert_allclose(got, pandas_cov, rtol=1e-10, equal_nan=True)
    assert np.isnan(got[4]).all()


def test_sample_covariance_diagonal_is_volatility_squared() -> None:
    r = random_returns(5, 100, 3, missing=0.1)
    np.testing.assert_allclose(
        np.sqrt(np.diag(sample_covariance(r, 60))), annualized_volatility(r, 60), rtol=1e-12
    )


def loop_ledoit_wolf(x: np.ndarray) -> np.ndarray:
    """Ledoit and Wolf (2004) by hand: S, mu = tr(S)/p, beta, delta, shrinkage."""
    n, p = x.shape
    xc = x - x.mean(axis=0)
    s = sum(np.outer(row, row) for row in xc) / n
    mu = np.trace(s) / p
    delta = float(np.sum((s - mu * np.eye(p)) ** 2))
    beta = sum(float(np.sum((np.outer(row, row) - s) ** 2)) for row in xc) / n**2
    shrink = min(beta, delta) / delta
    return np.asarray((1 - shrink) * s + shrink * mu * np.eye(p), dtype=np.float64)


def test_shrunk_covariance_matches_hand_formula() -> None:
    r = random_returns(6, 80, 4)
    got = shrunk_covariance(r, 60)
    np.testing.assert_allclose(got, 252 * loop_ledoit_wolf(r[-60:]), rtol=1e-10)


def test_shrunk_covariance_leaves_out_assets_without_data() -> None:
    r = random_returns(7, 80, 4)
    r[-60:-45, 1] = np.nan  # asset 1: 45 of 60 days, kept; rows with its gaps dropped
    r[-60:-10, 3] = np.nan  # asset 3: 10 of 60 days, left out
    got = shrunk_covariance(r, 60)
    assert np.isnan(got[3]).all() and np.isnan(got[:, 3]).all()
    expected = 252 * loop_ledoit_wolf(r[-45:, :3])
    np.testing.assert_allclose(got[:3, :3], expected, rtol=1e-10)


def test_shrunk_covariance_drops_sparsest_asset_when_rows_run_out() -> None:
    r = random_returns(8, 60, 3)
    r[:25, 0] = np.nan  # 35 days
    r[30:, 1] = np.nan  # 30 days; only 5 complete rows with asset 0, so asset 1 goes
    got = shrunk_covariance(r, 60)
    assert np.isnan(got[1]).all()
    np.testing.assert_allclose(
        got[np.ix_([0, 2], [0, 2])], 252 * loop_ledoit_wolf(r[25:][:, [0, 2]]), rtol=1e-10
    )


def test_shrunk_covariance_all_missing_is_nan() -> None:
    assert np.isnan(shrunk_covariance(np.full((60, 2), np.nan), 60)).all()


def test_estimate_covariance_dispatch() -> None:
    r = random_returns(9, 70, 3)
    np.testing.assert_array_equal(estimate_covariance(r, 60), sample_covariance(r, 60))
    np.testing.assert_array_equal(
        estimate_covariance(r, 60, "ledoit_wolf"), shrunk_covariance(r, 60)
    )
    assert CovarianceEstimator("sample") is CovarianceEstimator.SAMPLE


def test_unknown_estimator() -> None:
    with pytest.raises(ConfigError, match="unknown covariance estimator"):
        estimate_covariance(random_returns(0, 70, 2), 60, "shrinkage")


# ---------------------------------------------------------------- fallbacks


def test_sector_average_volatility_matches_loop() -> None:
    vol = np.array([0.2, np.nan, 0.4, np.nan, np.nan, 0.3])
    codes = np.array([0, 0, 0, 1, -1, 2])
    got = sector_average_volatility(vol, codes, market_vol=0.16)
    for i in range(6):
        peers = [vol[j] for j in range(6) if codes[j] == codes[i] >= 0 and not math.isnan(vol[j])]
        expected = sum(peers) / len(peers) if peers else 0.16
        assert got[i] == pytest.approx(expected)


def test_sector_average_volatility_configs_axis() -> None:
    vol = np.array([[0.2, np.nan, 0.4], [np.nan, 0.1, np.nan]])
    got = sector_average_volatility(vol, [0, 0, 1], 0.15)
    for c in range(2):
        np.testing.assert_array_equal(got[c], sector_average_volatility(vol[c], [0, 0, 1], 0.15))


def test_sector_codes_wrong_shape() -> None:
    with pytest.raises(ConfigError, match="sector_codes"):
        sector_average_volatility([0.2, 0.3], [0], 0.15)


def test_market_vol_not_a_number() -> None:
    with pytest.raises(ConfigError, match="market_vol"):
        sector_average_volatility([0.2], [0], math.nan)


def test_fill_covariance_fills_and_flags() -> None:
    cov = COV.copy()
    cov[2, :] = cov[:, 2] = np.nan  # no data at all for asset 2
    cov[0, 1] = cov[1, 0] = np.nan  # no common history for 0 and 1
    filled, no_vol, no_corr = fill_covariance(cov, [0.5, 0.5, 0.25])
    expected = np.array([[0.04, 0.0, 0.0], [0.0, 0.01, 0.0], [0.0, 0.0, 0.0625]])
    np.testing.assert_allclose(filled, expected)
    assert no_vol.tolist() == [False, False, True]
    assert no_corr.tolist() == [True, True, True]
    assert not np.isnan(cov[0, 0])  # the input is not modified
    _, no_vol, no_corr = fill_covariance(COV, [np.nan] * 3)  # complete: nothing needed
    assert not no_vol.any() and not no_corr.any()


def test_fill_covariance_missing_fallback() -> None:
    cov = np.array([[np.nan, np.nan], [np.nan, 0.04]])
    with pytest.raises(ConfigError, match="vol_fallback"):
        fill_covariance(cov, [np.nan, 0.2])


def test_fill_covariance_not_square() -> None:
    with pytest.raises(ConfigError, match="square"):
        fill_covariance(np.zeros((2, 3)), [0.1, 0.1, 0.1])


def test_nearest_psd_repairs_only_when_needed() -> None:
    same, repaired = nearest_psd(COV)
    assert not repaired
    np.testing.assert_array_equal(same, COV)
    bad = np.array([[0.04, 0.05], [0.05, 0.04]])  # correlation 1.25
    fixed, repaired = nearest_psd(bad)
    assert repaired
    assert np.linalg.eigvalsh(fixed).min() >= -1e-15
    assert math.isnan(float(tracking_error([1.0, -1.0], bad)))
    assert tracking_error([1.0, -1.0], fixed) == pytest.approx(0.0, abs=1e-7)


# ---------------------------------------------------------------- tracking error


def test_golden_tracking_error() -> None:
    # weights 0.5/0.3/0.2 vs targets 0.4/0.4/0.2: d = (+0.1, -0.1, 0)
    d = np.array([0.1, -0.1, 0.0])
    # diagonal: sqrt(0.1^2 * 0.2^2 + 0.1^2 * 0.1^2) = sqrt(0.0004 + 0.0001) = sqrt(0.0005)
    assert tracking_error_diag(d, VOLS) == pytest.approx(math.sqrt(0.0005))  # 2.236%
    # full: 0.0004 + 0.0001 + 2 * (0.1)(-0.1)(0.01) = 0.0003 -> sqrt(0.0003) = 1.732%
    assert tracking_error(d, COV) == pytest.approx(math.sqrt(0.0003))


def loop_quadratic(d: np.ndarray, cov: np.ndarray) -> float:
    n = len(d)
    return math.sqrt(max(sum(d[i] * cov[i, j] * d[j] for i in range(n) for j in range(n)), 0.0))


def test_tracking_error_matches_loop_over_configs() -> None:
    rng = np.random.default_rng(10)
    a = rng.normal(size=(5, 5))
    cov = a @ a.T * 0.01
    d = rng.normal(0, 0.05, (4, 5))
    got = tracking_error(d, cov)
    diag = tracking_error_diag(d, np.sqrt(np.diag(cov)))
    assert got.shape == (4,)
    for c in range(4):
        assert got[c] == pytest.approx(loop_quadratic(d[c], cov), rel=1e-12)
        assert diag[c] == pytest.approx(loop_quadratic(d[c], np.diag(np.diag(cov))), rel=1e-12)


def test_tracking_error_per_config_covariance() -> None:
    covs = np.stack([COV, 2 * COV])
    d = np.array([0.1, -0.1, 0.0])
    assert tracking_error(d, covs).tolist() == pytest.approx([math.sqrt(0.0003), math.sqrt(0.0006)])


@st.composite
def pd_cov_and_drift(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.1, (n, n))
    cov = a @ a.T + 1e-3 * np.eye(n)
    mags = draw(st.lists(st.floats(1e-6, 1.0), min_size=n, max_size=n))
    signs = draw(st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=n, max_size=n))
    return cov, np.array(mags) * np.array(signs)


@given(pd_cov_and_drift())
def test_tracking_error_zero_exactly_when_on_target(p: tuple[np.ndarray, np.ndarray]) -> None:
    cov, d = p
    te = float(tracking_error(d, cov))
    te_diag = float(tracking_error_diag(d, np.sqrt(np.diag(cov))))
    if np.all(d == 0.0):
        assert te == 0.0 and te_diag == 0.0
    else:
        assert te > 0.0 and te_diag > 0.0


@given(st.integers(1, 5), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_tracking_error_configs_axis_equals_loop(n_cfg: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.1, (n, n))
    cov = a @ a.T
    d = rng.normal(0, 0.05, (n_cfg, n))
    vol = np.sqrt(np.diag(cov))
    te_all, diag_all = tracking_error(d, cov), tracking_error_diag(d, vol)
    for c in range(n_cfg):
        assert te_all[c] == pytest.approx(float(tracking_error(d[c], cov)), rel=1e-12, abs=1e-15)
        assert diag_all[c] == tracking_error_diag(d[c], vol)


# ---------------------------------------------------------------- real data


def load_sp500(folder: Path, tickers: list[str]) -> pd.DataFrame:
    daily = folder / "sp500-daily-ohlcv-alphavantage" / "daily"
    frames = {
        t: pd.read_csv(daily / f"{t}.csv.gz", parse_dates=["date"], index_col="date")[
            "adjusted_close"
        ]
        for t in tickers
    }
    return pd.DataFrame(frames).loc["2019-01-01":"2020-12-31"]


@pytest.mark.realdata
def test_real_prices_with_gaps(shared_data: Path) -> None:
    # WELL misses a few days inside its history: pairwise covariance must match pandas
    prices = load_sp500(shared_data, ["AAPL", "MSFT", "JPM", "WELL"])
    r = log_or_simple_returns(prices.to_numpy())
    expected = prices.pct_change(fill_method=None).iloc[1:].iloc[-252:].cov(min_periods=126)
    np.testing.assert_allclose(sample_covariance(r, 252), expected.to_numpy() * 252, rtol=1e-9)
    vol = annualized_volatility(r, 252)
    assert np.all((vol > 0.15) & (vol < 0.8))  # 2020: large caps between 15% and 80%
    lw = shrunk_covariance(r, 252)
    assert np.linalg.eigvalsh(lw).min() > 0.0
    d = np.array([0.05, -0.05, 0.02, -0.02])
    assert 0.0 < tracking_error(d, lw) < tracking_error_diag(d, vol) * 2


def test_ledoit_wolf_matches_scikit_learn() -> None:
    """The numpy Ledoit-Wolf equals scikit-learn's (the oracle) on random data."""
    from sklearn.covariance import ledoit_wolf as sk_ledoit_wolf

    from driftwise.metrics.risk import ledoit_wolf

    rng = np.random.default_rng(7)
    for n, p in [(60, 5), (30, 40), (252, 20), (10, 1)]:
        x = rng.normal(0.0, 0.02, (n, p)) @ rng.normal(0, 1, (p, p)) * 0.3
        got, shrink = ledoit_wolf(x)
        expected, expected_shrink = sk_ledoit_wolf(x)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
        assert shrink == pytest.approx(expected_shrink, abs=1e-12)
