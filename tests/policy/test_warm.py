"""The active-set solve from the last answer (the backtest's shortcut past the interior
point) gives the answer of a cold Clarabel solve, whatever the guess."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.policy import conic
from driftwise.policy import optimize as opt
from driftwise.policy.solver import RowProblem


def _row(seed: int, n: int, powers: tuple[float, ...], penalty: float, bound: float,
         scale: float = 0.04) -> RowProblem:
    rng = np.random.default_rng(seed)
    target = rng.dirichlet(np.ones(n)) * 0.95
    weights = np.clip(target + rng.normal(0, scale, n), 0.0, None) * 0.95
    k = min(n, 4)
    return RowProblem(
        drift=weights - target, weights=weights, cash=1.0 - weights.sum(),
        factor=rng.normal(size=(k, n)) * 0.05, factor_diag=rng.uniform(0.01, 0.1, n),
        linear=rng.uniform(1e-4, 1e-3, n),
        powers=tuple((rng.uniform(0.0, 1e-2, n), p) for p in powers), borrow=np.zeros(n),
        lower=-weights, upper=np.minimum(1.0, 0.2) - weights, cash_floor=0.0,
        max_traded=2.0, groups=np.zeros((0, n)), group_deviation=0.0,
        gamma=float(rng.choice([2.0, 20.0, 200.0])), gamma_trade=float(rng.choice([1.0, 5.0])),
        exposures=rng.normal(1.0, 0.3, (2, n)), exposure_bound=bound, exposure_penalty=penalty)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.sampled_from([3, 10, 25]),
       powers=st.sampled_from([(), (1.5,), (1.6, 2.0)]),
       penalty=st.sampled_from([0.0, 20.0]), bound=st.sampled_from([float("inf"), 0.02]),
       guess=st.sampled_from(["cold", "noisy", "other day", "random signs"]))
def test_active_set_equals_the_cold_solve(seed: int, n: int, powers: tuple[float, ...],
                                          penalty: float, bound: float, guess: str) -> None:
    """Whenever the shortcut answers, it is the cold solve's answer to 1e-8 of NAV (how
    often it answers: the next test). Compared as ``optimize_rows`` answers a row: a trade
    below :data:`~driftwise.policy.optimize.TRADE_TOL` (1e-7, the interior point's
    accuracy) is none; the shortcut's answer is the exact optimum (it passed the KKT
    check), a cold answer the polish declined is the interior point's, off by up to a few
    1e-8."""
    prob = _row(seed, n, powers, penalty, bound)
    cold, _ = conic.solve_conic(prob, long_only=True)
    if cold is None:
        return
    rng = np.random.default_rng(seed + 7)
    if guess == "cold":
        start = cold
    elif guess == "noisy":
        start = np.where(np.abs(cold) > 1e-7, cold * rng.uniform(0.5, 1.5, n), 0.0)
    elif guess == "other day":
        start = conic.solve_conic(_row(seed + 1, n, powers, penalty, bound), long_only=True)[0]
        if start is None:
            return
    else:
        start = rng.choice([-1.0, 0.0, 1.0], n) * 0.01
    warm = conic.active_set_solve(prob, start)
    if warm is not None:  # as a row's answer: trades below the solver's accuracy are none
        np.testing.assert_allclose(_answer(warm), _answer(cold), rtol=0.0, atol=1e-8)


def _answer(z: np.ndarray) -> np.ndarray:
    return np.where(np.abs(z) > opt.TRADE_TOL, z, 0.0)


def test_the_shortcut_answers_most_days_of_a_drifting_book() -> None:
    """A book drifting day by day, solved each day by ``optimize_rows`` with the last
    answer kept (as the backtest) and with none (as the planner): the same trades to 1e-8,
    and the interior point skipped on most days."""
    from driftwise.costs import AssetCostInputs, CostParams, RowCosts, cost_coefficients
    from driftwise.policy.constraints import Constraints

    n, days = 12, 40
    rng = np.random.default_rng(3)
    inputs = AssetCostInputs(
        price_usd=rng.uniform(20, 200, n), half_spread_bps=rng.uniform(1, 10, n),
        commission_bps=np.full(n, 1.0), commission_per_share_usd=np.full(n, 0.005),
        min_ticket_usd=np.zeros(n), sigma_daily=rng.uniform(0.01, 0.03, n),
        adv_shares=rng.uniform(2e5, 5e6, n), borrow_bps_annual=rng.uniform(20, 300, n),
        outstanding_over_adv=rng.uniform(50, 300, n))
    cost_fn = RowCosts.of(cost_coefficients(inputs, CostParams(), 15.0), 1, n)
    a = rng.normal(size=(3 * n, n)) * 0.015
    cov = a.T @ a / (3 * n) * 252
    target = np.full(n, 0.95 / n)
    weights = target.copy()
    kept = opt.OptimizerSettings(gamma=20.0, gamma_trade=1.0)
    cold_calls = 0
    real = conic.solve_conic

    def counting(prob: RowProblem, *, long_only: bool) -> tuple[np.ndarray | None, str]:
        nonlocal cold_calls
        cold_calls += 1
        return real(prob, long_only=long_only)
    for _ in range(days):
        weights = np.clip(weights * np.exp(rng.normal(0, 0.02, n)), 0, None)
        weights *= 0.95 / weights.sum()
        args = dict(weights=weights[None, :], cash_weight=np.array([0.05]),
                    target=target[None, :], nav_usd=np.array([1e7]), active=np.array([True]),
                    tradable=np.ones((1, n), bool), no_buy=np.zeros((1, n), bool),
                    no_sell=np.zeros((1, n), bool), cost_fn=cost_fn, constraints=Constraints(),
                    cov_annual=cov, vol_annual=None)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(conic, "solve_conic", counting)
            warm = opt.optimize_rows(settings=kept, **args)  # type: ignore[arg-type]
        cold = opt.optimize_rows(settings=opt.OptimizerSettings(gamma=20.0, gamma_trade=1.0),
                                 **args)  # type: ignore[arg-type]
        np.testing.assert_allclose(warm.trade, cold.trade, rtol=0.0, atol=1e-8)
        weights = weights + warm.trade[0]
    assert cold_calls < days // 2
