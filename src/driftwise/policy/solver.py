"""The convex problem of one row of the optimized destination, and its solve (cvxpy).

:class:`RowProblem` holds one row's numbers in fractions of NAV (drift, risk factor, cost
coefficients, bounds, cash, turnover, groups); :func:`solve_row` solves it with Clarabel
through cvxpy. Formulation, screening and choices: :mod:`driftwise.policy.optimize`.
cvxpy is imported on the first solve only.
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray

DPP_MAX_ASSETS = 60
"""Problems of at most this many assets are compiled once (DPP); larger ones per call."""
BOUND = 10.0
"""Largest trade the solver considers, fraction of NAV (a finite box for the solver)."""
SOLVER = "CLARABEL"
SOLVER_OPTIONS: dict[str, float] = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10,
                                    "tol_feas": 1e-10}
"""Clarabel's tolerances, tighter than its defaults (1e-8): a weight in the no-trade region
comes back within about 1e-8 of untouched."""



@dataclass(frozen=True, eq=False)
class RowProblem:
    """The numbers of one row's problem (fractions of NAV), shared by the screen, the
    solver and the tests.

    Attributes
    ----------
    drift : ndarray, shape (N,)
        ``w0 − t``.
    weights : ndarray, shape (N,)
        ``w0``.
    cash : float
        Cash weight before trading.
    factor, factor_diag : ndarray, shapes (K, N) and (N,)
        ``Σ ≈ factor' factor + diag(factor_diag²)`` (annualized).
    linear : ndarray, shape (N,)
        κ: cost per unit of NAV traded (spread, commission, flat, regime-scaled).
    powers : tuple of (ndarray of shape (N,), float)
        ``(a_k, p_k)``: impact ``Σ a_k |z|^p_k`` in fractions of NAV.
    borrow : ndarray, shape (N,)
        Borrow over the horizon per unit of NAV of added short.
    lower, upper : ndarray, shape (N,)
        Bounds of ``z``.
    cash_floor : float
        Cash weight the trades must leave (the buffer).
    max_traded : float
        ``Σ |z|`` at most (twice the turnover cap).
    groups : ndarray, shape (G, N)
        0/1 membership; ``group_deviation`` bounds.
    group_deviation : float
    gamma, gamma_trade : float
    """

    drift: FloatArray
    weights: FloatArray
    cash: float
    factor: FloatArray
    factor_diag: FloatArray
    linear: FloatArray
    powers: tuple[tuple[FloatArray, float], ...]
    borrow: FloatArray
    lower: FloatArray
    upper: FloatArray
    cash_floor: float
    max_traded: float
    groups: FloatArray
    group_deviation: float
    gamma: float
    gamma_trade: float

    def risk_gradient(self, trade: FloatArray) -> FloatArray:
        """``γ Σ (w − t)`` at ``w = w0 + trade``, shape (N,)."""
        d = self.drift + trade
        return np.asarray(self.gamma * (self.factor.T @ (self.factor @ d)
                                        + self.factor_diag**2 * d), dtype=np.float64)

    def trade_cost(self, trade: FloatArray) -> FloatArray:
        """The convex cost of ``trade`` per asset, fractions of NAV (borrow included)."""
        a = np.abs(trade)
        out = self.linear * a
        for coef, power in self.powers:
            out = out + coef * a**power
        added = np.maximum(np.maximum(-(self.weights + trade), 0.0)
                           - np.maximum(-self.weights, 0.0), 0.0)
        return np.asarray(out + self.borrow * added, dtype=np.float64)

    def zero_is_optimal(self) -> bool:
        """KKT at ``z = 0``: feasible, and ``|γ (Σ d)_i| <= γ_trade κ_i`` for every asset
        free to move both ways (one-sided assets need only the side they may take)."""
        if self.cash < self.cash_floor or np.any(self.lower > 0.0) or np.any(self.upper < 0.0):
            return False
        if len(self.groups) and np.any(np.abs(self.groups @ self.drift)
                                       > self.group_deviation):
            return False
        g = self.risk_gradient(np.zeros_like(self.drift))
        slack = self.gamma_trade * self.linear * (1.0 + 1e-12)
        can_buy, can_sell = self.upper > 0.0, self.lower < 0.0
        # buying lowers the objective if -g > slack; selling if g > slack
        return not (np.any(can_buy & (-g > slack)) or np.any(can_sell & (g > slack)))


@dataclass
class _Compiled:
    """One parameterized problem, its trade variable, its cost expression (the convex
    cost model the solver minimizes, fractions of NAV) and its parameters, by name."""

    problem: Any
    z: Any
    cost: Any
    params: dict[str, Any]


_PROBLEMS: dict[tuple[object, ...], _Compiled] = {}


def _shape_key(prob: RowProblem, long_only: bool) -> tuple[object, ...]:
    return (len(prob.drift), prob.factor.shape[0], bool(np.any(prob.factor_diag)),
            tuple(p for _, p in prob.powers), len(prob.groups), long_only)


def _values(prob: RowProblem) -> dict[str, npt.ArrayLike]:
    """Every parameter's value; γ and γ_trade folded into the risk factor (DPP forbids a
    product of parameters): the objective divided by γ_trade has the same minimizer."""
    scale = math.sqrt(prob.gamma / (2.0 * prob.gamma_trade))
    f = scale * prob.factor
    dg = scale * prob.factor_diag
    out: dict[str, npt.ArrayLike] = {
        "F": f, "Fd": f @ prob.drift, "D": dg, "Dd": dg * prob.drift, "linear": prob.linear,
        "borrow": prob.borrow, "short0": np.maximum(-prob.weights, 0.0), "w0": prob.weights,
        "lower": prob.lower, "upper": prob.upper,
        "cash_room": prob.cash - prob.cash_floor, "max_traded": prob.max_traded,
        "G": prob.groups, "Gd": prob.groups @ prob.drift if len(prob.groups) else
        np.zeros(0), "dev": prob.group_deviation}
    for k, (coef, _) in enumerate(prob.powers):
        out[f"power{k}"] = coef
    return out


def _build(prob: RowProblem, long_only: bool, values: dict[str, npt.ArrayLike] | None
           ) -> _Compiled:
    """The problem with parameters (``values`` None) or with the values as constants."""
    cp: Any = importlib.import_module("cvxpy")  # only an optimized rule pays for the import

    n, k, n_g = len(prob.drift), prob.factor.shape[0], len(prob.groups)
    params: dict[str, Any] = {}

    def par(name: str, shape: tuple[int, ...], **kind: bool) -> Any:
        if values is not None:
            return values[name]
        params[name] = cp.Parameter(shape, name=name, **kind)
        return params[name]
    z = cp.Variable(n, name="z")
    a = cp.abs(z)
    cost = par("linear", (n,), nonneg=True) @ a
    for j, (_, power) in enumerate(prob.powers):
        cost = cost + par(f"power{j}", (n,), nonneg=True) @ cp.power(a, power)
    cons = []
    if not long_only:  # s >= max(-w - short0, 0): the short added beyond the one held
        added = cp.Variable(n, nonneg=True, name="added_short")
        cons.append(added >= -(par("w0", (n,)) + z) - par("short0", (n,), nonneg=True))
        cost = cost + par("borrow", (n,), nonneg=True) @ added
    risk = cp.sum_squares(par("Fd", (k,)) + par("F", (k, n)) @ z) if k else 0.0
    if np.any(prob.factor_diag):
        risk = risk + cp.sum_squares(par("Dd", (n,)) + cp.multiply(par("D", (n,), nonneg=True), z))
    cons += [z >= par("lower", (n,)), z <= par("upper", (n,)),
            cp.sum(z) + cost <= par("cash_room", ()),
            cp.norm1(z) <= par("max_traded", (), nonneg=True)]
    if n_g:
        grp = par("Gd", (n_g,)) + par("G", (n_g, n)) @ z
        dev = par("dev", (), nonneg=True)
        cons += [grp <= dev, grp >= -dev]
    return _Compiled(cp.Problem(cp.Minimize(risk + cost), cons), z, cost, params)


def solve_row(prob: RowProblem, *, long_only: bool) -> tuple[FloatArray | None, str]:
    """Solve one row; returns the trades (None on failure) and the solver status.

    Problems of at most :data:`DPP_MAX_ASSETS` assets reuse one compiled, parameterized
    problem per shape; larger ones are built with constants."""
    values = _values(prob)
    try:  # any failure (a value cvxpy refuses, the solver) falls back, flagged by the caller
        if len(prob.drift) <= DPP_MAX_ASSETS:
            key = _shape_key(prob, long_only)
            compiled = _PROBLEMS.get(key)
            if compiled is None:
                compiled = _PROBLEMS[key] = _build(prob, long_only, None)
            for name, param in compiled.params.items():
                param.value = values[name]
        else:
            compiled = _build(prob, long_only, values)
        with warnings.catch_warnings():  # an inaccurate solution is told by its status
            warnings.simplefilter("ignore", UserWarning)
            compiled.problem.solve(solver=SOLVER, warm_start=False, **SOLVER_OPTIONS)
    except Exception as exc:
        return None, f"solver error: {type(exc).__name__}: {exc}"[:200]
    status = str(compiled.problem.status)
    value = compiled.z.value
    if status not in ("optimal", "optimal_inaccurate") or value is None:
        return None, status
    return np.asarray(value, dtype=np.float64), status
