"""The hand-built conic problem equals the problem as stated with cvxpy, on random rows."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.policy import conic
from driftwise.policy.solver import RowProblem


def _row(seed: int, n: int, k: int, shorts: bool, n_groups: int,
         powers: tuple[float, ...], turnover: float, buffer: float) -> RowProblem:
    rng = np.random.default_rng(seed)
    target = rng.dirichlet(np.ones(n)) * 0.95
    weights = np.clip(target + rng.normal(0, 0.03, n), 0.0, None) * 0.95
    if shorts:
        weights[0] = -0.02
    groups = (rng.integers(0, max(n_groups, 1), n)[None, :]
              == np.arange(n_groups)[:, None]).astype(np.float64)
    return RowProblem(
        drift=weights - target, weights=weights, cash=1.0 - weights.sum(),
        factor=rng.normal(size=(k, n)) * 0.05,
        factor_diag=rng.uniform(0.0, 0.1, n) if k < n else np.zeros(n),
        linear=rng.uniform(1e-4, 1e-3, n),
        powers=tuple((rng.uniform(0.0, 1e-2, n), p) for p in powers),
        borrow=rng.uniform(0.0, 0.01, n) if shorts else np.zeros(n),
        lower=np.full(n, -1.0) if shorts else -weights, upper=np.ones(n) - weights,
        cash_floor=buffer, max_traded=2.0 * turnover, groups=groups, group_deviation=0.02,
        gamma=float(rng.choice([2.0, 20.0, 200.0])), gamma_trade=float(rng.choice([1.0, 5.0])))


KKT_RESIDUAL = 1e-10
"""How far both solvers' answers may leave the optimality conditions (Clarabel's gap 1e-11
and feasibility 1e-9 at an objective of order 1e-4), fraction of NAV per unit traded."""


def trade_atol(prob: RowProblem) -> float:
    """The tolerance of two answers' trades: 1e-5 of NAV, wider on an ill-conditioned
    objective. Where the objective over γ_trade curves by ``μ`` at least (the least
    eigenvalue of ``(γ/γ_trade) Σ``; the cost's powers only add curvature), a point whose
    optimality conditions are off by ``r`` lies within ``r / μ`` of the optimum: an objective
    nearly flat in some direction leaves the trades there known to ``KKT_RESIDUAL / μ``
    only, however well the objective values agree."""
    cov = prob.factor.T @ prob.factor + np.diag(prob.factor_diag**2)
    mu = float(np.linalg.eigvalsh(prob.gamma / prob.gamma_trade * cov)[0])
    return max(1e-5, KKT_RESIDUAL / mu) if mu > 0.0 else float("inf")


def _objective(prob: RowProblem, z: np.ndarray) -> float:
    """The stated objective divided by γ_trade, recomputed from the definition."""
    d = prob.drift + z
    cov = prob.factor.T @ prob.factor + np.diag(prob.factor_diag**2)
    risk = 0.5 * prob.gamma * d @ cov @ d
    return float(risk / prob.gamma_trade + prob.trade_cost(z).sum())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.sampled_from([3, 8, 20]),
       factors=st.sampled_from(["full", "few"]), shorts=st.booleans(),
       n_groups=st.sampled_from([0, 2]),
       powers=st.sampled_from([(), (1.5,), (1.6, 2.0)]),
       turnover=st.sampled_from([1.0, 0.02]), buffer=st.sampled_from([0.0, 0.04]))
def test_hand_built_equals_cvxpy(seed: int, n: int, factors: str, shorts: bool,
                                 n_groups: int, powers: tuple[float, ...], turnover: float,
                                 buffer: float) -> None:
    """Same optimal value (to the solvers' tolerance) and, the problem being strictly
    convex in ``z`` with a full-rank Σ, the same trades (to a tolerance that widens with
    the objective's conditioning: :func:`trade_atol`)."""
    k = n if factors == "full" else 2
    prob = _row(seed, n, k, shorts, n_groups, powers, turnover, buffer)
    mine, status = conic.solve_conic(prob, long_only=not shorts)
    problem, z, _ = conic.reference_problem(prob, long_only=not shorts)
    with warnings.catch_warnings():  # cvxpy warns of an inaccurate answer; the check tells
        warnings.simplefilter("ignore")
        problem.solve(solver="CLARABEL", **conic.TOLERANCES)
    if problem.status in ("infeasible", "infeasible_inaccurate"):
        assert mine is None
        return
    assert mine is not None, status
    ref = np.asarray(z.value)
    f_mine, f_ref = _objective(prob, mine), _objective(prob, ref)
    assert f_mine == pytest.approx(f_ref, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(mine, ref, atol=trade_atol(prob))
    tol = 1e-7  # and the hand-built answer is feasible for the problem as stated
    assert np.all(mine >= prob.lower - tol) and np.all(mine <= prob.upper + tol)
    assert np.abs(mine).sum() <= prob.max_traded + tol
    assert mine.sum() + prob.trade_cost(mine).sum() <= prob.cash - prob.cash_floor + tol
    if n_groups:
        assert np.all(np.abs(prob.groups @ (prob.drift + mine)) <= prob.group_deviation + tol)


def test_large_problem_has_factor_sized_data() -> None:
    """500 assets and 20 factors: O(N·K) nonzeros in A, a diagonal P."""
    prob = _row(1, 500, 20, False, 0, (1.5,), 1.0, 0.0)
    lay = conic.layout_of(prob, True)
    p_mat, _, a_mat, b, _ = conic.conic_data(prob, lay)
    assert p_mat.nnz <= lay.n_vars
    assert a_mat.nnz <= 500 * 20 + 20 + 25 * 500  # F, -I, and a few per asset
    assert a_mat.shape == (len(b), lay.n_vars)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), powers=st.sampled_from([(), (1.5,), (1.6, 2.0)]))
def test_polish_solves_the_kkt_conditions(seed: int, powers: tuple[float, ...]) -> None:
    """Polished trades: stationarity over the traded assets to 1e-12, every untraded
    asset inside its band, and within 1e-6 of the interior-point answer."""
    row = _row(seed, 8, 8, False, 0, powers, 1.0, 0.0)
    prob = replace(row, cash=row.cash + 1.0)  # ample cash: no row binds but the bounds
    z, _ = conic.solve_conic(prob, long_only=True)
    assert z is not None
    cov = prob.factor.T @ prob.factor + np.diag(prob.factor_diag**2)
    g = prob.gamma / prob.gamma_trade * cov @ (prob.drift + z)
    traded = (z != 0.0) & (z > prob.lower + 1e-9) & (z < prob.upper - 1e-9)
    for coef, power in prob.powers:
        g = g + power * coef * np.abs(z) ** (power - 1.0) * np.sign(z)
    # polished: the untraded exactly at zero or at a bound, the traded stationary
    assert np.all((z[~traded] == 0.0) | (z[~traded] == prob.lower[~traded])
                  | (z[~traded] == prob.upper[~traded]))
    np.testing.assert_allclose(g[traded], -prob.linear[traded] * np.sign(z[traded]),
                               atol=1e-12)
    # a zero: no side it may take lowers the objective (an asset not held cannot be sold)
    band = prob.linear * (1 + 1e-9) + 1e-15
    zero = z == 0.0
    assert not np.any(zero & (prob.upper > 0) & (-g > band))
    assert not np.any(zero & (prob.lower < 0) & (g > band))
    problem, ref, _ = conic.reference_problem(prob, long_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem.solve(solver="CLARABEL", **conic.TOLERANCES)
    np.testing.assert_allclose(z, np.asarray(ref.value), atol=trade_atol(prob))


def test_polish_declines_when_a_constraint_binds() -> None:
    """A tight turnover cap binds: the polish (which ignores it) keeps the solver's answer."""
    prob = _row(3, 8, 8, False, 0, (1.5,), 0.001, 0.0)
    z, status = conic.solve_conic(prob, long_only=True)
    assert z is not None and status in ("optimal", "optimal_inaccurate")
    assert np.abs(z).sum() == pytest.approx(0.002, rel=1e-6)
    assert conic.polish(prob, z) is None
