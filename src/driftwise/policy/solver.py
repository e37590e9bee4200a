"""The convex problem of one row of the optimized destination, and its solve.

:class:`RowProblem` holds one row's numbers in fractions of NAV (drift, risk factor, cost
coefficients, bounds, cash, turnover, groups); :func:`solve_row` solves it with Clarabel
on conic data built by hand (:mod:`driftwise.policy.conic`). Formulation, screening and
choices: :mod:`driftwise.policy.optimize`. Clarabel is imported on the first solve only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from driftwise._types import BoolArray, FloatArray, IntArray
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
    tax_asset : ndarray of int, shape (S,)
        The asset each tax segment sells (none: shape (0,)). The segments of one asset
        come in the order they are sold, their rates non-decreasing (a convex tax).
    tax_cap : ndarray, shape (S,)
        Most of each segment that can be sold, fraction of NAV (its lots' value).
    tax_rate : ndarray, shape (S,)
        Tax per unit of NAV sold from the segment: ``rate × (1 − basis / value)`` (a
        loss: negative).
    tax_gain : ndarray, shape (S,)
        Realized net gain per unit of NAV sold (the gain budget's row).
    tax_exact : ndarray of bool, shape (N,)
        Assets whose sale equals their segments' sum (``z_i = −Σ_j s_ij``, with
        ``z_i <= 0``): those with a loss segment, whose loss is worth something only when
        sold. Other taxed assets: ``Σ_j s_ij >= −z_i`` (a tax non-negative in every
        segment, the least is taken).
    gamma_tax : float
        Weight of the tax in the objective (1: at face value, like the cost).
    gain_room : float
        ``Σ_j tax_gain_j s_j <= gain_room`` (the year's gain budget left, fraction of
        NAV; inf: none).
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
    tax_asset: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    tax_cap: FloatArray = field(default_factory=lambda: np.zeros(0))
    tax_rate: FloatArray = field(default_factory=lambda: np.zeros(0))
    tax_gain: FloatArray = field(default_factory=lambda: np.zeros(0))
    tax_exact: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    gamma_tax: float = 1.0
    gain_room: float = float("inf")

    @property
    def has_tax(self) -> bool:
        """The row carries a tax term (tax segments)."""
        return len(self.tax_asset) > 0

    @property
    def exact_assets(self) -> IntArray:
        """Assets whose sale equals their segments' sum (indices, ascending)."""
        return np.flatnonzero(self.tax_exact) if len(self.tax_exact) else np.zeros(0, np.intp)

    @property
    def linked_assets(self) -> IntArray:
        """Taxed assets other than :attr:`exact_assets`: ``Σ_j s_ij >= −z_i``."""
        taxed = np.zeros(len(self.drift), dtype=bool)
        taxed[self.tax_asset] = True
        if len(self.tax_exact):
            taxed &= ~self.tax_exact
        return np.flatnonzero(taxed)

    def sold_by_segment(self, trade: FloatArray) -> FloatArray:
        """The part of each segment (S,) a trade sells, each asset's sale taken from its
        segments in order (fractions of NAV): the least tax of a convex tax."""
        out = np.zeros(len(self.tax_asset))
        left = np.maximum(-np.asarray(trade, dtype=np.float64), 0.0)
        for k, i in enumerate(self.tax_asset):
            out[k] = min(left[i], self.tax_cap[k])
            left[i] -= out[k]
        return out

    def trade_tax(self, trade: FloatArray) -> FloatArray:
        """The tax term's tax of ``trade`` per asset, fractions of NAV (N,): each sale taken
        from its asset's segments in order (before the weight ``gamma_tax``)."""
        out = np.zeros(len(self.drift))
        if self.has_tax:
            np.add.at(out, self.tax_asset, self.tax_rate * self.sold_by_segment(trade))
        return out

    def realized_gain(self, trade: FloatArray) -> float:
        """Realized net gain of ``trade``'s sales, fraction of NAV (the budget's row)."""
        if not self.has_tax:
            return 0.0
        return float(self.tax_gain @ self.sold_by_segment(trade))

    def objective(self, trade: FloatArray) -> float:
        """The objective at ``trade``: ``(γ/2) d'Σd + λ ||B'd||² + γ_trade cost(z)
        + γ_tax tax(z)`` with ``d = w0 − t + z`` (fractions of NAV)."""
        d = self.drift + np.asarray(trade, dtype=np.float64)
        pen = self.penalized_exposures
        risk = 0.5 * self.gamma * (float(np.sum((self.factor @ d) ** 2))
                                   + float(np.sum((self.factor_diag * d) ** 2)))
        risk += self.exposure_penalty * float(np.sum((pen @ d) ** 2))
        return (risk + self.gamma_trade * float(self.trade_cost(trade).sum())
                + self.gamma_tax * float(self.trade_tax(trade).sum()))

    def next_tax_rate(self, trade: FloatArray) -> FloatArray:
        """The tax per unit of NAV of the next dollar each asset would sell beyond
        ``trade``'s sale (N,): its first segment not sold out (0: untaxed or none left)."""
        out = np.zeros(len(self.drift))
        if not self.has_tax:
            return out
        sold = self.sold_by_segment(trade)
        seen = np.zeros(len(self.drift), dtype=bool)
        for k, i in enumerate(self.tax_asset):
            if not seen[i] and sold[k] < self.tax_cap[k] * (1.0 - 1e-9):
                out[i], seen[i] = self.tax_rate[k], True
        return out

    def first_tax_rate(self) -> FloatArray:
        """The tax per unit of NAV of each asset's first dollar sold (N,): its first
        segment with room (0: untaxed)."""
        out = np.zeros(len(self.drift))
        seen = np.zeros(len(self.drift), dtype=bool)
        for k, i in enumerate(self.tax_asset):
            if not seen[i] and self.tax_cap[k] > 0.0:
                out[i], seen[i] = self.tax_rate[k], True
        return out

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
            cov = self.factor.T @ self.factor
            if self.factor_diag.any():  # an exact factor (Cholesky) has no diagonal part
                cov = cov + np.diag(self.factor_diag**2)
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
            coefs = np.empty((len(self.powers), n))
            for j, (c, _) in enumerate(self.powers):  # np.stack's checks cost more
                coefs[j] = c
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
        return self._gradient(self.drift + trade)

    def _gradient(self, d: FloatArray) -> FloatArray:
        """:meth:`risk_gradient` at the deviation ``d = w − t`` (N,)."""
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
        free to move both ways (one-sided assets need only the side they may take); with a
        tax term, a sale's side adds ``γ_tax`` times the tax rate of the asset's first
        dollar sold (a convex tax: its subgradient at 0 on that side)."""
        if (self.cash < self.cash_floor or (self.lower > 0.0).any()
                or (self.upper < 0.0).any()):
            return False
        if len(self.groups) and (np.abs(self.groups @ self.drift)
                                 > self.group_deviation).any():
            return False
        bounded = self.bounded_exposures
        if len(bounded) and (np.abs(bounded @ self.drift) > self.exposure_bound).any():
            return False
        if self.has_tax and self.gain_room < 0.0:
            return False
        g = self._gradient(self.drift)  # at z = 0 (drift + 0 but for the sign of a zero)
        slack = self.gamma_trade * self.linear * (1.0 + 1e-12)
        # a sale also pays the tax of its first dollar (a loss: a saving)
        sell_slack = slack + self.gamma_tax * self.first_tax_rate() if self.has_tax else slack
        can_buy, can_sell = self.upper > 0.0, self.lower < 0.0
        # buying lowers the objective if -g > slack; selling if g > sell_slack
        return not ((can_buy & (-g > slack)).any() or (can_sell & (g > sell_slack)).any())


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
