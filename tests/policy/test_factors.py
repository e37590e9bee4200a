"""Factor exposure targets: betas recomputed independently, point in time, the bound held
at the solution, the penalty, the conic data equal to the problem stated with cvxpy."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.policy import conic
from driftwise.policy.factors import (
    FactorHistory,
    FactorSettings,
    estimate_betas,
    factor_history,
    factor_returns,
    parse_factor,
    simple_returns,
)
from driftwise.policy.solver import RowProblem


def _returns(seed: int, days: int, n: int, n_factors: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    fx = rng.normal(0.0, 0.01, (days, n_factors))
    beta = rng.normal(1.0, 0.5, (n, n_factors))
    y = 2e-4 + fx @ beta.T + rng.normal(0.0, 0.005, (days, n))
    return y, fx, beta


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), n_factors=st.integers(1, 3),
       holes=st.floats(0.0, 0.2))
def test_betas_equal_numpy_lstsq_asset_by_asset(seed: int, n: int, n_factors: int,
                                                holes: float) -> None:
    """The masked normal equations equal ``numpy.linalg.lstsq`` of each asset on its own
    days (intercept and factors), with returns missing at random."""
    y, fx, _ = _returns(seed, 120, n, n_factors)
    rng = np.random.default_rng(seed + 1)
    y[rng.random(y.shape) < holes] = np.nan
    fx[rng.random(len(fx)) < holes / 4, 0] = np.nan
    betas, known = estimate_betas(y, fx)
    for i in range(n):
        ok = np.isfinite(y[:, i]) & np.all(np.isfinite(fx), axis=1)
        x = np.column_stack([np.ones(ok.sum()), fx[ok]])
        coef = np.linalg.lstsq(x, y[ok, i], rcond=None)[0]
        assert known[i]
        np.testing.assert_allclose(betas[i], coef[1:], rtol=1e-9, atol=1e-12)


def test_betas_recover_the_true_exposures() -> None:
    y, fx, beta = _returns(3, 2000, 4, 3)
    betas, known = estimate_betas(y, fx)
    assert known.all()
    np.testing.assert_allclose(betas, beta, atol=0.05)


def test_an_asset_with_too_few_returns_has_no_betas() -> None:
    y, fx, _ = _returns(4, 60, 2, 2)
    y[:45, 1] = np.nan  # 15 days left
    betas, known = estimate_betas(y, fx)
    assert known.tolist() == [True, False]
    assert np.all(betas[1] == 0.0)


def test_betas_are_point_in_time() -> None:
    """The betas of row r read the ``window_days`` returns ending on r: nothing after it
    changes them, and the window is exactly that long."""
    y, fx, _ = _returns(5, 400, 3, 2)
    fs = FactorSettings(factors=(("a", "X", None), ("b", "Y", None)), window_days=100)
    hist = FactorHistory(y, fx, fs)
    before, _ = hist.betas(250)
    later = y.copy()
    later[251:] *= -3.0
    after, _ = FactorHistory(later, fx, fs).betas(250)
    np.testing.assert_array_equal(before, after)
    np.testing.assert_allclose(before, estimate_betas(y[151:251], fx[151:251])[0], rtol=1e-12)


def test_factor_returns_are_long_minus_short_legs() -> None:
    dates = pd.bdate_range("2020-01-01", periods=5)
    prices = pd.DataFrame({"AAA": [10, 11, 12, 11, 13.0], "MKT": [100, 101, 99, 100, 102.0],
                           "SML": [50, 52, 51, 50, 53.0]}, index=dates)
    fs = FactorSettings(factors=(("market", "MKT", None), ("size", "SML", "MKT")),
                        window_days=20)
    hist = factor_history(prices, pd.Index(["AAA"]), fs)
    mkt, sml = prices["MKT"].pct_change().to_numpy(), prices["SML"].pct_change().to_numpy()
    np.testing.assert_allclose(hist.factor_ret[1:, 0], mkt[1:])
    np.testing.assert_allclose(hist.factor_ret[1:, 1], sml[1:] - mkt[1:])
    np.testing.assert_allclose(hist.asset_returns[1:, 0], prices["AAA"].pct_change()[1:])
    assert np.isnan(hist.factor_ret[0]).all()
    np.testing.assert_allclose(factor_returns(prices[["MKT", "SML"]].to_numpy(), fs),
                               hist.factor_ret, equal_nan=True)
    assert np.isnan(simple_returns(np.array([[1.0], [np.nan], [2.0]]))[1:]).all()


def test_a_factor_ticker_without_prices_is_a_configuration_error() -> None:
    dates = pd.bdate_range("2020-01-01", periods=5)
    prices = pd.DataFrame({"AAA": np.arange(5.0) + 1}, index=dates)
    fs = FactorSettings(factors=(("market", "NOPE", None),), window_days=20)
    with pytest.raises(ConfigError, match=r"optimizer\.factors.*'NOPE'"):
        factor_history(prices, pd.Index(["AAA"]), fs)


def test_the_reference_series_fill_a_missing_leg() -> None:
    """SIZE and SP500 are not in these prices: the reference series give them."""
    dates = pd.bdate_range("2021-06-01", "2021-12-31")
    prices = pd.DataFrame({"AAA": np.linspace(10, 12, len(dates))}, index=dates)
    fs = FactorSettings(window_days=60)
    hist = factor_history(prices, pd.Index(["AAA"]), fs)
    assert np.isfinite(hist.factor_ret[-60:]).mean() > 0.9


@pytest.mark.parametrize(("spec", "parsed"), [
    ("market = SPY", ("market", "SPY", None)), ("size=iwm - spy", ("size", "IWM", "SPY")),
    ("quality = BRK-B - SPY", ("quality", "BRK-B", "SPY"))])
def test_factor_specs_parse(spec: str, parsed: tuple[str, str, str | None]) -> None:
    assert parse_factor(spec) == parsed


@pytest.mark.parametrize("spec", ["SPY", "market = ", "market = SPY - SPY", "1x = SPY",
                                  "m = A - B - C"])
def test_bad_factor_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="name = TICKER"):
        parse_factor(spec)


def test_factor_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="factor_window_days"):
        FactorSettings(window_days=5)
    with pytest.raises(ConfigError, match="factor_bound"):
        FactorSettings(bound=-0.1)
    with pytest.raises(ConfigError, match="factor_penalty"):
        FactorSettings(penalty=float("nan"))
    with pytest.raises(ConfigError, match="unique"):
        FactorSettings(factors=(("a", "X", None), ("a", "Y", None)))


# ------------------------------------------------------------------ the optimization


def _row(seed: int, n: int, n_factors: int, bound: float, penalty: float,
         powers: tuple[float, ...] = (1.5,)) -> RowProblem:
    rng = np.random.default_rng(seed)
    target = rng.dirichlet(np.ones(n)) * 0.95
    weights = np.clip(target + rng.normal(0, 0.04, n), 0.0, None) * 0.95
    k = min(n, 3)
    return RowProblem(
        drift=weights - target, weights=weights, cash=1.0 - weights.sum(),
        factor=rng.normal(size=(k, n)) * 0.05, factor_diag=rng.uniform(0.01, 0.1, n),
        linear=rng.uniform(1e-4, 1e-3, n),
        powers=tuple((rng.uniform(0.0, 1e-2, n), p) for p in powers), borrow=np.zeros(n),
        lower=-weights, upper=np.ones(n) - weights, cash_floor=0.0, max_traded=2.0,
        groups=np.zeros((0, n)), group_deviation=0.0, gamma=float(rng.choice([2.0, 20.0])),
        gamma_trade=float(rng.choice([1.0, 5.0])),
        exposures=rng.normal(1.0, 0.4, (n_factors, n)), exposure_bound=bound,
        exposure_penalty=penalty)


def _objective(prob: RowProblem, z: np.ndarray) -> float:
    """The stated objective over γ_trade, from the definition: (γ/2) d'Σd + λ||B'd||²."""
    d = prob.drift + z
    cov = prob.factor.T @ prob.factor + np.diag(prob.factor_diag**2)
    b = prob.exposures
    pen = prob.exposure_penalty * float(np.sum((b @ d) ** 2))
    return float((0.5 * prob.gamma * d @ cov @ d + pen) / prob.gamma_trade
                 + prob.trade_cost(z).sum())


def _trade_tolerance(prob: RowProblem, f_mine: float, f_ref: float) -> float:
    """How far two answers within the solvers' tolerance of the optimum may lie apart.

    The objective is μ-strongly convex with μ the least eigenvalue of its quadratic part
    ``(γ Σ + 2 λ B B') / γ_trade`` (the power terms only add curvature), so an answer whose
    objective is within ε of the optimum lies within ``sqrt(2 ε / μ)`` of it. Each answer
    is taken within ``|f_mine − f_ref| + 1e-11`` (the solvers' absolute gap) of the optimum:
    on a well-conditioned row the trades must agree to 1e-5 of NAV; on a flat one (small γ,
    a binding cash row that the polish leaves to the interior point) by the bound.
    """
    mu = float(np.linalg.eigvalsh(prob.quadratic() / prob.gamma_trade)[0])
    gap = abs(f_mine - f_ref) + 1e-11
    return max(1e-5, 2.0 * float(np.sqrt(2.0 * gap / mu)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.sampled_from([4, 12]), n_factors=st.integers(1, 3),
       bound=st.sampled_from([float("inf"), 0.01, 0.0]),
       penalty=st.sampled_from([0.0, 5.0, 500.0]),
       powers=st.sampled_from([(), (1.5,), (1.6, 2.0)]))
@example(seed=2882, n=12, n_factors=1, bound=float("inf"), penalty=500.0, powers=())  # cash binds
def test_hand_built_with_factors_equals_cvxpy(seed: int, n: int, n_factors: int, bound: float,
                                              penalty: float, powers: tuple[float, ...]
                                              ) -> None:
    """The conic data with factor bounds and penalties solve the problem stated with
    cvxpy: same optimal value, same trades, the bound held at the solution."""
    prob = _row(seed, n, n_factors, bound, penalty, powers)
    mine, status = conic.solve_conic(prob, long_only=True)
    problem, z, _ = conic.reference_problem(prob, long_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem.solve(solver="CLARABEL", **conic.TOLERANCES)
    if problem.status in ("infeasible", "infeasible_inaccurate"):
        assert mine is None
        return
    assert mine is not None, status
    ref = np.asarray(z.value)
    f_mine, f_ref = _objective(prob, mine), _objective(prob, ref)
    assert f_mine == pytest.approx(f_ref, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(mine, ref, atol=_trade_tolerance(prob, f_mine, f_ref))
    if np.isfinite(bound):
        assert np.all(np.abs(prob.exposures @ (prob.drift + mine)) <= bound + 1e-7)


def test_the_penalty_pulls_the_exposures_to_target() -> None:
    """A larger λ leaves a smaller ||B'(w − t)||, and a bound of 0 none at all."""
    gaps = []
    for penalty in (0.0, 1.0, 100.0):
        prob = _row(11, 10, 2, float("inf"), penalty)
        z, _ = conic.solve_conic(prob, long_only=True)
        assert z is not None
        gaps.append(float(np.linalg.norm(prob.exposures @ (prob.drift + z))))
    assert gaps[0] > gaps[1] > gaps[2]
    prob = _row(11, 10, 2, 0.0, 0.0)
    z, _ = conic.solve_conic(prob, long_only=True)
    assert z is not None
    assert np.max(np.abs(prob.exposures @ (prob.drift + z))) <= 1e-7


def test_the_screen_sends_a_row_outside_its_factor_bound_to_the_solver() -> None:
    """Inside the no-trade region of the risk and cost alone, but off the factor bound:
    not screened; within the bound: screened."""
    prob = _row(2, 6, 1, float("inf"), 0.0)
    prob = replace(prob, gamma=1e-6)  # no risk benefit: zero is optimal
    assert prob.zero_is_optimal()
    gap = float(np.abs(prob.exposures @ prob.drift)[0])
    assert not replace(prob, exposure_bound=0.5 * gap).zero_is_optimal()
    assert replace(prob, exposure_bound=2.0 * gap).zero_is_optimal()


def test_the_risk_gradient_counts_the_penalty() -> None:
    prob = _row(7, 5, 2, float("inf"), 3.0)
    z = np.full(5, 0.001)
    eps = 1e-6
    numeric = np.array([(_objective(prob, z + eps * e) - _objective(prob, z - eps * e))
                        / (2 * eps) for e in np.eye(5)]) * prob.gamma_trade
    cost_slope = prob.gamma_trade * np.array(
        [(prob.trade_cost(z + eps * e).sum() - prob.trade_cost(z - eps * e).sum()) / (2 * eps)
         for e in np.eye(5)])
    np.testing.assert_allclose(prob.risk_gradient(z), numeric - cost_slope, rtol=1e-5,
                               atol=1e-9)
