"""The compiled active-set rounds: a trade smaller than where the rounds start a new one."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from driftwise.policy import conic
from driftwise.policy.solver import RowProblem

from .test_conic import _row


def _tiny_trade_row() -> RowProblem:
    """A row (8 assets, 3/2-power impact, ample cash) whose optimum trades asset 5 by less
    than 1e-9 of NAV: below the 1e-6 the rounds start a new trade at."""
    row = _row(359, 8, 8, False, 0, (1.5,), 1.0, 0.0)
    return replace(row, cash=row.cash + 1.0)


def _stationary(prob: RowProblem, z: np.ndarray) -> np.ndarray:
    cov = prob.factor.T @ prob.factor + np.diag(prob.factor_diag**2)
    g = prob.gamma / prob.gamma_trade * cov @ (prob.drift + z)
    for coef, power in prob.powers:
        g = g + power * coef * np.abs(z) ** (power - 1.0) * np.sign(z)
    return np.asarray(g + prob.linear * np.sign(z))


def test_a_trade_below_the_start_is_found() -> None:
    """From the answer without asset 5's trade, the rounds add it, restart it nearer zero
    when Newton's step crosses zero, and return the KKT point: the traded assets
    stationary to 1e-12, equal to cvxpy's answer to its tolerance."""
    prob = _tiny_trade_row()
    guess = np.zeros(8)
    guess[3], guess[4] = 0.0086, -0.0022
    z = conic.active_set_solve(prob, guess)
    assert z is not None
    assert 0.0 < z[5] < 1e-6
    traded = z != 0.0
    np.testing.assert_allclose(_stationary(prob, z)[traded], 0.0, atol=1e-12)
    problem, ref, _ = conic.reference_problem(prob, long_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem.solve(solver="CLARABEL", **conic.TOLERANCES)
    np.testing.assert_allclose(z, np.asarray(ref.value), atol=1e-6)


def test_the_cold_solve_reaches_the_same_point() -> None:
    """Clarabel's answer (asset 5 at about 1e-7, inexact) is finished by the same rounds: the
    planner's cold solve and the backtest's warm one give the same trades."""
    prob = _tiny_trade_row()
    cold, status = conic.solve_conic(prob, long_only=True)
    assert cold is not None and status == "optimal"
    warm = conic.active_set_solve(prob, cold)
    assert warm is not None
    np.testing.assert_allclose(cold, warm, atol=1e-15)
    traded = cold != 0.0
    np.testing.assert_allclose(_stationary(prob, cold)[traded], 0.0, atol=1e-12)
