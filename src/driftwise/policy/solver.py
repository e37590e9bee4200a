"""The convex problem of one row of the optimized destination, and its solve.

:class:`RowProblem` holds one row's numbers in fractions of NAV (drift, risk factor, cost
coefficients, bounds, cash, turnover, groups); :func:`solve_row` solves it with Clarabel
on conic data built by hand (:mod:`driftwise.policy.conic`). Formulation, screening and
choices: :mod:`driftwise.policy.optimize`. Clarabel is imported on the first solve only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from driftwise._types import FloatArray
from driftwise.policy import conic

BOUND = 10.0
"""Largest trade the solver considers, fraction of NAV (a finite box for the solver)."""


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
    exposures : ndarray, shape (F, N)
        ``B'``: each factor's beta per asset (none: shape (0, N) or (0, 0)).
    exposure_bound : float
        ``|B'(d + z)| <= exposure_bound`` per factor (inf: no constraint).
    exposure_penalty : float
        λ of ``λ ||B'(d + z)||²`` added to the objective (0: none).
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
    exposures: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    exposure_bound: float = float("inf")
    exposure_penalty: float = 0.0

    @property
    def bounded_exposures(self) -> FloatArray:
        """The rows of ``B'`` under the constraint, shape (F, N) or (0, N) (kept)."""
        hit = self.__dict__.get("_bounded")
        if hit is None:
            hit = self.__dict__["_bounded"] = (
                self.exposures if len(self.exposures) and np.isfinite(self.exposure_bound)
                else np.zeros((0, len(self.drift))))
        return hit

    @property
    def penalized_exposures(self) -> FloatArray:
        """The rows of ``B'`` under the penalty, shape (F, N) or (0, N) (kept)."""
        hit = self.__dict__.get("_penalized")
        if hit is None:
            hit = self.__dict__["_penalized"] = (
                self.exposures if len(self.exposures) and self.exposure_penalty > 0.0
                else np.zeros((0, len(self.drift))))
        return hit

    def quadratic(self) -> FloatArray:
        """``Q = γ Σ + 2 λ B B'`` (N, N): the objective's Hessian of its quadratic part
        (computed once per problem; the caller must not write to it)."""
        hit = self.__dict__.get("_quadratic")
        if hit is None:
            cov = self.factor.T @ self.factor + np.diag(self.factor_diag**2)
            pen = self.penalized_exposures
            quad = self.gamma * cov
            if len(pen):  # no penalty: the zero matrix is not added
                quad = quad + 2.0 * self.exposure_penalty * (pen.T @ pen)
            hit = self.__dict__["_quadratic"] = np.asarray(quad, dtype=np.float64)
        return hit

    def kkt_data(self) -> tuple[FloatArray, ...]:
        """The arrays the compiled active set and KKT check read (computed once per
        problem): ``Q / γ_trade`` (N, N), drift, κ, the impact's coefficients (P, N) and
        powers (P,), the bounds, the weights, the borrow, the group rows (G, N) and the
        bounded exposures (F, N), each a plain C-contiguous float array."""
        hit = self.__dict__.get("_kkt_data")
        if hit is None:
            n = len(self.drift)
            coefs = (np.stack([np.asarray(c, dtype=np.float64) for c, _ in self.powers])
                     if self.powers else np.zeros((0, n)))
            hit = self.__dict__["_kkt_data"] = tuple(
                np.ascontiguousarray(a, dtype=np.float64) for a in (
                    self.quadratic() / self.gamma_trade, self.drift, self.linear, coefs,
                    np.array([p for _, p in self.powers], dtype=np.float64), self.lower,
                    self.upper, self.weights, self.borrow,
                    self.groups if len(self.groups) else np.zeros((0, n)),
                    self.bounded_exposures))
        return hit

    def risk_gradient(self, trade: FloatArray) -> FloatArray:
        """``γ Σ (w − t) + 2 λ B B'(w − t)`` at ``w = w0 + trade``, shape (N,): the
        gradient of the tracking penalty (and of the factor penalty when there is one)."""
        d = self.drift + trade
        pen = self.penalized_exposures
        out = self.gamma * (self.factor.T @ (self.factor @ d) + self.factor_diag**2 * d)
        if len(pen):  # no penalty: the zero vector is not added
            out = out + 2.0 * self.exposure_penalty * (pen.T @ (pen @ d))
        return np.asarray(out, dtype=np.float64)

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
        if (self.cash < self.cash_floor or (self.lower > 0.0).any()
                or (self.upper < 0.0).any()):
            return False
        if len(self.groups) and (np.abs(self.groups @ self.drift)
                                 > self.group_deviation).any():
            return False
        bounded = self.bounded_exposures
        if len(bounded) and (np.abs(bounded @ self.drift) > self.exposure_bound).any():
            return False
        g = self.risk_gradient(np.zeros_like(self.drift))
        slack = self.gamma_trade * self.linear * (1.0 + 1e-12)
        can_buy, can_sell = self.upper > 0.0, self.lower < 0.0
        # buying lowers the objective if -g > slack; selling if g > slack
        return not ((can_buy & (-g > slack)).any() or (can_sell & (g > slack)).any())


def solve_row(prob: RowProblem, *, long_only: bool) -> tuple[FloatArray | None, str]:
    """Solve one row; returns the trades (None on failure) and the solver status.

    The conic data are built by hand from the row's numbers
    (:func:`driftwise.policy.conic.conic_data`, O(N·K) nonzeros with the risk factor) and
    handed to Clarabel directly: no modelling layer, nothing compiled, the same cost per
    row for 20 or 500 assets."""
    try:  # any failure (a value Clarabel refuses, the solver) falls back, flagged by the caller
        return conic.solve_conic(prob, long_only=long_only)
    except Exception as exc:
        return None, f"solver error: {type(exc).__name__}: {exc}"[:200]
