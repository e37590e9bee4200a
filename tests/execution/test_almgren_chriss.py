"""Almgren-Chriss: trajectory, E and V against plain-loop and closed-form oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.execution.almgren_chriss import (
    ac_kappa,
    calibrate_eta,
    expected_shortfall,
    optimal_trajectory,
    shortfall_variance,
    sigma_usd,
)

# Almgren & Chriss (2000) section 3 example: 1e6 shares at $50, 30% annual vol,
# eta = 2.5e-6, gamma = 2.5e-7, epsilon = 0.0625, T = 5 days, N = 5, lambda = 1e-6.
X, SIGMA, ETA, GAMMA, EPS = 1e6, 0.95, 2.5e-6, 2.5e-7, 0.0625
T, N, LAM = 5.0, 5, 1e-6


def loop_e(x: list[float], horizon: float, eta: float, gamma: float, eps: float) -> float:
    n = len(x) - 1
    tau = horizon / n
    eta_t = eta - gamma * tau / 2
    total = 0.5 * gamma * x[0] ** 2
    for k in range(1, n + 1):
        trade = x[k - 1] - x[k]
        total += eps * abs(trade) + eta_t / tau * trade * trade
    return total


def loop_v(x: list[float], horizon: float, sigma: float) -> float:
    n = len(x) - 1
    tau = horizon / n
    total = 0.0
    for k in range(1, n + 1):
        total += sigma * sigma * tau * x[k] * x[k]
    return total


def closed_form(kappa: float) -> tuple[float, float]:
    """Almgren & Chriss (2000) eqs. (20)-(21) for the optimal trajectory."""
    tau = T / N
    eta_t = ETA - GAMMA * tau / 2
    sh = math.sinh
    e = (0.5 * GAMMA * X**2 + EPS * X + eta_t * X**2 * math.tanh(0.5 * kappa * tau)
         * (tau * sh(2 * kappa * T) + 2 * T * sh(kappa * tau)) / (2 * tau**2 * sh(kappa * T) ** 2))
    v = (0.5 * SIGMA**2 * X**2 * (tau * sh(kappa * T) * math.cosh(kappa * (T - tau))
                                   - T * sh(kappa * tau)) / (sh(kappa * T) ** 2 * sh(kappa * tau)))
    return e, v


def test_kappa_solves_the_defining_equation() -> None:
    tau = T / N
    kappa = float(ac_kappa(SIGMA, ETA, LAM, tau, GAMMA))
    lhs = 2 * (math.cosh(kappa * tau) - 1) / tau**2
    assert lhs == pytest.approx(LAM * SIGMA**2 / (ETA - GAMMA * tau / 2), rel=1e-10)


def test_trajectory_is_the_sinh_formula() -> None:
    traj = optimal_trajectory(X, T, N, sigma=SIGMA, eta=ETA, risk_aversion=LAM, gamma=GAMMA)
    kappa = float(ac_kappa(SIGMA, ETA, LAM, T / N, GAMMA))
    expected = [X * math.sinh(kappa * (T - k * T / N)) / math.sinh(kappa * T) for k in range(N + 1)]
    np.testing.assert_allclose(traj, expected, rtol=1e-12, atol=1e-6)
    assert traj[0] == X and traj[-1] == 0.0


def test_zero_risk_aversion_gives_twap() -> None:
    traj = optimal_trajectory(X, T, N, sigma=SIGMA, eta=ETA, risk_aversion=0.0)
    np.testing.assert_allclose(traj, X * (1 - np.arange(N + 1) / N), rtol=1e-15)


@pytest.mark.parametrize("lam", [1e-12, 1e-15, 1e-20])
def test_vanishing_risk_aversion_tends_to_twap(lam: float) -> None:
    traj = optimal_trajectory(X, T, 50, sigma=SIGMA, eta=ETA, risk_aversion=lam)
    np.testing.assert_allclose(traj, X * (1 - np.arange(51) / 50), rtol=1e-4, atol=1e-3)


def test_e_and_v_match_the_papers_closed_form() -> None:
    traj = optimal_trajectory(X, T, N, sigma=SIGMA, eta=ETA, risk_aversion=LAM, gamma=GAMMA)
    kappa = float(ac_kappa(SIGMA, ETA, LAM, T / N, GAMMA))
    e_cf, v_cf = closed_form(kappa)
    assert float(expected_shortfall(traj, T, eta=ETA, gamma=GAMMA, epsilon_usd=EPS)) == (
        pytest.approx(e_cf, rel=1e-10))
    assert float(shortfall_variance(traj, T, sigma=SIGMA)) == pytest.approx(v_cf, rel=1e-10)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20),
       st.floats(0.1, 20.0), st.floats(0.0, 1e-7), st.floats(0.0, 0.1), st.floats(0.01, 5.0))
def test_e_and_v_equal_plain_loops_for_any_trajectory(
    inner: list[float], horizon: float, gamma: float, eps: float, sigma: float
) -> None:
    x = [5e5, *inner, 0.0]
    eta = 1e-6 + gamma * horizon  # keeps eta_tilde > 0
    e = float(expected_shortfall(np.array(x), horizon, eta=eta, gamma=gamma, epsilon_usd=eps))
    v = float(shortfall_variance(np.array(x), horizon, sigma=sigma))
    assert e == pytest.approx(loop_e(x, horizon, eta, gamma, eps), rel=1e-9)
    assert v == pytest.approx(loop_v(x, horizon, sigma), rel=1e-9)


def test_optimal_trajectory_beats_perturbations() -> None:
    rng = np.random.default_rng(7)
    traj = optimal_trajectory(X, T, 10, sigma=SIGMA, eta=ETA, risk_aversion=LAM, gamma=GAMMA)

    def objective(x: np.ndarray) -> float:
        return float(expected_shortfall(x, T, eta=ETA, gamma=GAMMA)
                     + LAM * shortfall_variance(x, T, sigma=SIGMA))

    best = objective(traj)
    for _ in range(50):
        bumped = traj.copy()
        bumped[1:-1] += rng.normal(0, 2e4, size=9)
        assert objective(bumped) > best


@pytest.mark.parametrize("intervals_per_day", [None, 4])
def test_longer_horizon_lowers_cost_and_raises_risk_when_risk_neutral(
    intervals_per_day: int | None,
) -> None:
    costs, risks = [], []
    for horizon in [0.5, 1.0, 2.0, 5.0, 10.0]:
        n = 20 if intervals_per_day is None else max(1, int(horizon * intervals_per_day))
        traj = optimal_trajectory(X, horizon, n, sigma=SIGMA, eta=ETA, risk_aversion=0.0,
                                  gamma=GAMMA)
        costs.append(float(expected_shortfall(traj, horizon, eta=ETA, gamma=GAMMA)))
        risks.append(float(shortfall_variance(traj, horizon, sigma=SIGMA)))
    assert np.all(np.diff(costs) < 0)
    assert np.all(np.diff(risks) > 0)


def test_more_risk_aversion_trades_cost_for_risk() -> None:
    es, vs = [], []
    for lam in [0.0, 1e-7, 1e-6, 1e-5]:
        traj = optimal_trajectory(X, T, 20, sigma=SIGMA, eta=ETA, risk_aversion=lam)
        es.append(float(expected_shortfall(traj, T, eta=ETA)))
        vs.append(float(shortfall_variance(traj, T, sigma=SIGMA)))
    assert np.all(np.diff(es) > 0)
    assert np.all(np.diff(vs) < 0)


def test_broadcasts_over_configs_and_assets() -> None:
    shares = np.array([[1e5, -2e5, 3e4], [5e4, 0.0, -1e3]])
    lam = np.array([[0.0], [1e-6]])
    traj = optimal_trajectory(shares, 2.0, 8, sigma=np.array([0.5, 1.0, 2.0]), eta=1e-6,
                              risk_aversion=lam)
    assert traj.shape == (2, 3, 9)
    np.testing.assert_array_equal(traj[..., 0], shares)
    assert np.all(traj[..., -1] == 0.0)
    single = optimal_trajectory(-2e5, 2.0, 8, sigma=1.0, eta=1e-6, risk_aversion=0.0)
    np.testing.assert_allclose(traj[0, 1], single)
    assert expected_shortfall(traj, 2.0, eta=1e-6).shape == (2, 3)


def test_huge_urgency_does_not_overflow() -> None:
    # kappa T is about 1240: sinh(kappa T) overflows a float64, the stable form does not
    traj = optimal_trajectory(X, 50.0, 500, sigma=5.0, eta=1e-9, risk_aversion=1.0)
    assert np.all(np.isfinite(traj))
    assert traj[0] == X and 0 < traj[1] < 1e-5 * X  # nearly all done in the first interval


def test_sigma_usd() -> None:
    assert float(sigma_usd(0.02, 50.0)) == pytest.approx(1.0)


def test_calibrate_eta_matches_cost_model_at_rate() -> None:
    price, adv, rate = 40.0, 2e6, 0.05
    bps = 1e4 * 0.015 * math.sqrt(rate)  # square-root law, sigma_daily 1.5%
    eta = float(calibrate_eta(bps, rate, price, adv))
    shares = rate * adv  # one day at the planned rate
    linear_cost = eta * (shares / 1.0) * shares  # eta * v per share, v = shares/day
    assert linear_cost == pytest.approx(bps * 1e-4 * price * shares, rel=1e-12)


def test_calibrate_eta_unknown_volume_is_nan() -> None:
    out = calibrate_eta([10.0, 10.0, 10.0], [0.1, 0.0, 0.1], 50.0, [1e6, 1e6, np.nan])
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])


def test_rejects_negative_risk_aversion() -> None:
    with pytest.raises(ConfigError):
        optimal_trajectory(X, T, N, sigma=SIGMA, eta=ETA, risk_aversion=-1e-6)


def test_rejects_permanent_impact_dominating() -> None:
    with pytest.raises(ConfigError, match="eta - gamma"):
        optimal_trajectory(X, 10.0, 1, sigma=SIGMA, eta=1e-7, risk_aversion=0.0, gamma=1e-6)


@pytest.mark.parametrize(("horizon", "n"), [(0.0, 5), (-1.0, 5), (5.0, 0)])
def test_rejects_bad_grid(horizon: float, n: int) -> None:
    with pytest.raises(ConfigError):
        optimal_trajectory(X, horizon, n, sigma=SIGMA, eta=ETA, risk_aversion=0.0)
