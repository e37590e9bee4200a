"""One row's problem as Clarabel's conic data, built by hand and solved directly.

The optimized destination's problem (:mod:`driftwise.policy.optimize`), divided by
``γ_trade`` (same minimizer), is written as Clarabel's standard form

``min ½ x'Px + q'x  s.t.  Ax + s = b,  s ∈ K``

over ``x = [z (N), u (N), t_1 .. t_P (N each), y (K), a (N, shorts only), v (N per 3/2
power), s (S, tax pieces)]``:

* ``y = F z`` (K zero-cone rows): the risk ``||F d + F z||² + ||D∘d + D∘z||²`` with the risk
  factor ``F`` (K, N) and ``D`` (N,) scaled by ``sqrt(γ / (2 γ_trade))`` is
  ``y'y + 2 (F d)'y + Σ D_i² z_i² + 2 Σ D_i² d_i z_i`` plus a constant: ``P`` is diagonal
  and ``A`` has O(N·K) nonzeros, so 500 assets × 20 factors stay small;
* ``u >= |z|`` (2N rows), the cost's linear part ``κ'u``;
* ``t_p >= u^p`` as the power cone ``(t_p, 1, u) ∈ K_pow(1/p)`` (N cones per impact
  power), or for ``p = 3/2`` as ``u² <= t_p v``, ``v² <= u`` (two second-order cones per
  asset, an auxiliary ``v`` (N)): the cost's power part ``Σ_p c_p't_p``;
* ``a >= 0``, ``a >= −(w0 + z) − max(−w0, 0)`` (shorts allowed): the added short, ``borrow'a``;
* bounds ``lower <= z <= upper``; cash ``1'z + cost <= c0 − buffer``; turnover
  ``1'u <= max_traded``; groups ``|G d + G z| <= dev``; factor exposures
  ``|B'd + B'z| <= bound`` (:mod:`driftwise.policy.factors`);
* a factor penalty ``λ ||B'(d + z)||²`` enters as ``F``'s rows ``sqrt(λ / γ_trade) B'``
  (the same ``y`` block, K grows by F);
* with a tax term (:mod:`driftwise.policy.tax_terms`), the sales of its S pieces ``s`` (S)
  after every other block: ``0 <= s <= cap``, ``Σ_{j of i} s_j >= −z_i`` per taxed asset (a
  zero-cone row ``z_i + Σ s_j = 0`` for an asset on its sell side), the gain budget
  ``gain's <= room``, and ``(γ_tax / γ_trade) rate's`` in ``q``; the pattern then depends on
  which asset each piece sells, so it is not cached, and the answer is not polished.

The epigraph variables are tight at the optimum (the objective and the cash row both
prefer them small), so the minimizer in ``z`` is that of the problem as stated. The
sparsity pattern depends only on the shape (N, K, the powers, the groups, shorts); each
row only fills in values. :func:`reference_problem` states the same problem with cvxpy
(the tests hold the two equal on random instances). Clarabel is not warm-started: every
row is solved as it would be alone. Its answer (exact to about 1e-8 of NAV) is then
polished (:func:`polish`): Newton's method on the stationarity conditions of its active
set, kept only when the result passes the KKT check, so that the backtest and the planner,
whose data differ in the last bits, trade the same to 1e-9 of NAV.

:func:`active_set_solve` reaches the same polished answer without the interior point, from
a guessed active set (the backtest's last answer of the same settings): Newton's method on
the traded assets, the set moved while the stationarity conditions say so, the result kept
only when :func:`polish` finds it passes the KKT check; otherwise the row goes to Clarabel.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray, IntArray

if TYPE_CHECKING:
    from driftwise.policy.solver import RowProblem

TOLERANCES: dict[str, float] = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-9}
"""Clarabel's tolerances, tighter than its defaults (1e-8): the objective is of order 1e-4
(fractions of NAV). Measured on a 5-asset row with 3/2-power impact: the gap at 1e-10
leaves the trades off the KKT conditions by 3e-7, at 1e-11 by 2e-8; a feasibility
tolerance below 1e-9 makes Clarabel stop short ("almost solved") on most rows."""

SOC_POWER = 1.5
"""``t >= u^(3/2)`` is written as two second-order cones, ``u² <= t v`` and ``v² <= u``
(faster and more accurate in Clarabel than the power cone); other powers as power cones."""


@dataclass(frozen=True)
class Layout:
    """Where each block of ``x`` sits; N assets, K factors, P powers, G groups."""

    n: int
    k: int
    powers: tuple[float, ...]
    n_groups: int
    shorts: bool
    n_exposures: int = 0
    n_tax: int = 0
    n_exact: int = 0
    n_linked: int = 0
    budget: bool = False

    @property
    def n_soc(self) -> int:
        """Powers 3/2 (the square-root impact), written with second-order cones."""
        return sum(p == SOC_POWER for p in self.powers)

    @property
    def n_vars(self) -> int:
        return self.x + self.n_tax

    @property
    def x(self) -> int:
        """Start of the tax segments' sales ``s`` (S)."""
        return self.n * (2 + len(self.powers) + int(self.shorts) + self.n_soc) + self.k

    def v(self, j: int) -> int:
        """Start of the auxiliary ``v`` of power ``j`` (a 3/2 power)."""
        return self.a + self.n * (int(self.shorts) + sum(p == SOC_POWER
                                                          for p in self.powers[:j]))

    def t(self, j: int) -> int:
        """Start of ``t_j``."""
        return self.n * (2 + j)

    @property
    def y(self) -> int:
        return self.n * (2 + len(self.powers))

    @property
    def a(self) -> int:
        return self.y + self.k


def layout_of(prob: RowProblem, long_only: bool) -> Layout:
    return Layout(len(prob.drift), prob.factor.shape[0] + len(prob.penalized_exposures),
                  tuple(p for _, p in prob.powers), len(prob.groups), not long_only,
                  len(prob.bounded_exposures), len(prob.tax_asset),
                  len(prob.exact_assets) if prob.has_tax else 0,
                  len(prob.linked_assets) if prob.has_tax else 0,
                  bool(prob.has_tax and np.isfinite(prob.gain_room)))


def conic_data(prob: RowProblem, lay: Layout) -> tuple[Any, FloatArray, Any, FloatArray,
                                                      list[Any]]:
    """``P`` (upper triangle), ``q``, ``A``, ``b`` and the cone list of one row.

    Returns
    -------
    P : csc_matrix, shape (V, V)
    q : ndarray, shape (V,)
    A : csc_matrix, shape (M, V)
    b : ndarray, shape (M,)
    cones : list of clarabel cones (zero, nonnegative, power)
    """
    sp: Any = importlib.import_module("scipy.sparse")  # imported by the first solve only
    n, k, nv = lay.n, lay.k, lay.n_vars
    scale = math.sqrt(prob.gamma / (2.0 * prob.gamma_trade))
    pen = prob.penalized_exposures  # λ ||B'(d + z)||² / γ_trade: more rows of the factor
    f = np.concatenate([scale * prob.factor,
                        math.sqrt(prob.exposure_penalty / prob.gamma_trade) * pen], axis=0)
    dg = scale * prob.factor_diag
    z_idx, u_idx = np.arange(n), n + np.arange(n)
    p_diag = np.zeros(nv)
    p_diag[:n] = 2.0 * dg**2
    p_diag[lay.y:lay.y + k] = 2.0
    q = np.zeros(nv)
    q[:n] = 2.0 * dg**2 * prob.drift
    q[lay.y:lay.y + k] = 2.0 * (f @ prob.drift)
    cost = np.zeros(nv)  # the cost's coefficients (objective and cash row)
    cost[u_idx] = prob.linear
    for j, (coef, _) in enumerate(prob.powers):
        cost[lay.t(j):lay.t(j) + n] = coef
    if lay.shorts:
        cost[lay.a:lay.a + n] = prob.borrow
    q += cost
    x_idx = lay.x + np.arange(lay.n_tax)
    if lay.n_tax:  # the tax of each segment sold, weighed as the rest (over γ_trade)
        q[x_idx] = prob.gamma_tax / prob.gamma_trade * prob.tax_rate
    rows: list[npt.NDArray[Any]] = []
    cols: list[npt.NDArray[Any]] = []
    vals: list[FloatArray] = []
    rhs: list[FloatArray] = []
    m = 0

    def block(r: npt.ArrayLike, c: npt.ArrayLike, v: npt.ArrayLike, b: npt.ArrayLike) -> None:
        nonlocal m
        rows.append(m + np.asarray(r))
        cols.append(np.asarray(c))
        vals.append(np.asarray(v, dtype=np.float64))
        rhs.append(np.asarray(b, dtype=np.float64))
        m += len(rhs[-1])
    # zero cone: F z − y = 0
    if k:
        kk, nn = np.meshgrid(np.arange(k), np.arange(n), indexing="ij")
        block(np.concatenate([kk.ravel(), np.arange(k)]),
              np.concatenate([nn.ravel(), lay.y + np.arange(k)]),
              np.concatenate([f.ravel(), -np.ones(k)]), np.zeros(k))

    def sale_rows(assets: IntArray, sign: float) -> None:
        """One row per asset: ``sign (z_i + Σ_j s_ij)`` against 0, its segments' sales."""
        row_of = np.full(n, -1)
        row_of[assets] = np.arange(len(assets))
        mine = np.flatnonzero(row_of[prob.tax_asset] >= 0)
        block(np.concatenate([np.arange(len(assets)), row_of[prob.tax_asset[mine]]]),
              np.concatenate([assets, x_idx[mine]]),
              np.full(len(assets) + len(mine), sign), np.zeros(len(assets)))
    if lay.n_exact:  # z_i + Σ_j s_ij = 0: the sale of an asset with a loss segment
        sale_rows(prob.exact_assets, 1.0)
    n_zero = m
    ones, ar = np.ones(n), np.arange(n)
    block(np.concatenate([ar, ar]), np.concatenate([z_idx, u_idx]),  # z − u <= 0
          np.concatenate([ones, -ones]), np.zeros(n))
    block(np.concatenate([ar, ar]), np.concatenate([z_idx, u_idx]),  # −z − u <= 0
          np.concatenate([-ones, -ones]), np.zeros(n))
    block(ar, z_idx, ones, prob.upper)
    block(ar, z_idx, -ones, -prob.lower)
    nz = np.concatenate([np.arange(n, lay.y), np.arange(lay.a, lay.a + n * lay.shorts)])
    block(np.zeros(n + len(nz), dtype=np.intp), np.concatenate([z_idx, nz]),  # cash
          np.concatenate([ones, cost[nz]]), np.array([prob.cash - prob.cash_floor]))
    block(np.zeros(n, dtype=np.intp), u_idx, ones, np.array([prob.max_traded]))
    if lay.n_groups:
        gd = prob.groups @ prob.drift
        g_r, g_c = np.divmod(np.arange(prob.groups.size), n)  # dense: a fixed pattern
        g_v = prob.groups.ravel()
        block(g_r, g_c, g_v, prob.group_deviation - gd)
        block(g_r, g_c, -g_v, prob.group_deviation + gd)
    if lay.n_exposures:  # |B'd + B'z| <= bound, as the groups
        bx = prob.bounded_exposures
        bd = bx @ prob.drift
        e_r, e_c = np.divmod(np.arange(bx.size), n)
        block(e_r, e_c, bx.ravel(), prob.exposure_bound - bd)
        block(e_r, e_c, -bx.ravel(), prob.exposure_bound + bd)
    if lay.shorts:
        a_idx = lay.a + ar
        block(ar, a_idx, -ones, np.zeros(n))  # a >= 0
        block(np.concatenate([ar, ar]), np.concatenate([z_idx, a_idx]),  # −z − a <= w0 + s0
              np.concatenate([-ones, -ones]),
              prob.weights + np.maximum(-prob.weights, 0.0))
    if lay.n_tax:
        n_s = lay.n_tax
        block(np.arange(n_s), x_idx, -np.ones(n_s), np.zeros(n_s))  # s >= 0
        block(np.arange(n_s), x_idx, np.ones(n_s), prob.tax_cap)  # s <= the lots' value
        if lay.n_linked:  # −z_i − Σ_j s_ij <= 0
            sale_rows(prob.linked_assets, -1.0)
        if lay.budget:  # Σ gain_j s_j <= the gain budget left
            block(np.zeros(n_s, dtype=np.intp), x_idx, prob.tax_gain,
                  np.array([prob.gain_room]))
    n_nonneg = m - n_zero
    for j, power in enumerate(lay.powers):
        t_idx = lay.t(j) + ar
        if power == SOC_POWER:  # per asset (t+v, t−v, 2u) and (u+1, u−1, 2v): rows 6i .. 6i+5
            v_idx = lay.v(j) + ar
            block(np.concatenate([6 * ar, 6 * ar, 6 * ar + 1, 6 * ar + 1, 6 * ar + 2,
                                  6 * ar + 3, 6 * ar + 4, 6 * ar + 5]),
                  np.concatenate([t_idx, v_idx, t_idx, v_idx, u_idx, u_idx, u_idx, v_idx]),
                  np.concatenate([-ones, -ones, -ones, ones, -2 * ones, -ones, -ones,
                                  -2 * ones]),
                  np.tile(np.array([0.0, 0.0, 0.0, 1.0, -1.0, 0.0]), n))
        else:  # (t, 1, u) per asset: rows 3i, 3i+1, 3i+2
            block(np.concatenate([3 * ar, 3 * ar + 2]), np.concatenate([t_idx, u_idx]),
                  np.concatenate([-ones, -ones]), np.tile(np.array([0.0, 1.0, 0.0]), n))
    perm, indices, indptr, cones = _pattern(lay, n_zero, n_nonneg, np.concatenate(rows),
                                            np.concatenate(cols))
    a_mat = sp.csc_matrix((np.concatenate(vals)[perm], indices, indptr), shape=(m, nv))
    diag = np.arange(nv)
    p_mat = sp.csc_matrix((p_diag, diag, np.arange(nv + 1)), shape=(nv, nv))
    return p_mat, q, a_mat, np.concatenate(rhs), cones


_PATTERNS: dict[tuple[Layout, int], tuple[IntArray, IntArray, IntArray, list[Any]]] = {}


def _pattern(lay: Layout, n_zero: int, n_nonneg: int, rows: IntArray, cols: IntArray
             ) -> tuple[IntArray, IntArray, IntArray, list[Any]]:
    """The CSC pattern of ``A`` (the order of the COO entries in CSC, row indices, column
    pointers) and the cone list: a function of the layout alone (every block is entered
    densely, zeros included), computed once."""
    key = (lay, len(rows))
    if lay.n_tax:  # which asset each segment sells is data, not shape: no cache
        _PATTERNS.pop(key, None)
    if key not in _PATTERNS:
        clarabel: Any = importlib.import_module("clarabel")
        perm = np.lexsort((rows, cols))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=lay.n_vars))])
        cones: list[Any] = [clarabel.ZeroConeT(n_zero)] if n_zero else []
        cones.append(clarabel.NonnegativeConeT(n_nonneg))
        for power in lay.powers:
            cones += ([clarabel.SecondOrderConeT(3)] * (2 * lay.n) if power == SOC_POWER
                      else [clarabel.PowerConeT(1.0 / power)] * lay.n)
        _PATTERNS[key] = (perm.astype(np.intp), rows[perm].astype(np.int64),
                          indptr.astype(np.int64), cones)
    return _PATTERNS[key]


def solve_conic(prob: RowProblem, *, long_only: bool) -> tuple[FloatArray | None, str]:
    """Solve one row with Clarabel on the hand-built data; the trades ``z`` (N,) or None,
    and the solver status (``"optimal"``, ``"optimal_inaccurate"`` or Clarabel's word)."""
    clarabel: Any = importlib.import_module("clarabel")
    lay = layout_of(prob, long_only)
    p_mat, q, a_mat, b, cones = conic_data(prob, lay)
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    for name, value in TOLERANCES.items():
        setattr(settings, name, value)
    solver = clarabel.DefaultSolver(p_mat, q, a_mat, b, cones, settings)
    solution = solver.solve()
    status = str(solution.status)
    word = {"Solved": "optimal", "AlmostSolved": "optimal_inaccurate"}.get(status, status)
    if word not in ("optimal", "optimal_inaccurate"):
        return None, word
    z = np.asarray(solution.x[:lay.n], dtype=np.float64)
    polished = None
    # the polish of the solver's active set, else the active set moved from it (it knows
    # no tax term: a row with one keeps Clarabel's answer)
    if long_only and not prob.has_tax:
        polished = polish(prob, z)
        if polished is None:
            polished = active_set_solve(prob, z)
    return (z, word) if polished is None else (polished, word)


POLISH_ZERO = (1e-7, 1e-6, 1e-5)
"""A trade below this fraction of NAV is taken as none when the answer is polished (the
larger ones tried in turn when the result is not the optimum: the interior point leaves a
trade that should be none at up to a few 1e-7)."""
POLISH_SLACK = 1e-9
"""Slack a constraint must keep for the answer to be polished (else it is left as solved)."""


def polish(prob: RowProblem, z: FloatArray) -> FloatArray | None:
    """:func:`polish_at` with each of :data:`POLISH_ZERO` in turn; the first optimum."""
    for zero_tol in POLISH_ZERO:
        out = polish_at(prob, z, zero_tol)
        if out is not None:
            return out
    return None


def polish_at(prob: RowProblem, z: FloatArray, zero_tol: float,
              max_iter: int = 30) -> FloatArray | None:
    """Newton's method on the stationarity conditions of the assets the solver traded.

    The interior-point answer is exact to about 1e-8 of NAV only, and so moves with the
    last bits of the data; with the solver's active set (assets left at zero or at a
    bound fixed, the others' signs kept), ``(γ/γ_trade) Σ (d + z) + κ sign(z)
    + Σ_k p_k c_k |z|^(p_k − 1) sign(z) = 0`` over the traded assets is smooth and solved
    to machine precision. Returns None (keep the solver's answer) unless the result is the
    optimum: signs kept, bounds, cash, turnover and group rows slack, every fixed zero
    inside its no-trade band (no side it may take lowers the objective) and every asset at
    a bound pushed against it. Long-only rows only (no borrow term). Compiled
    (:func:`driftwise.policy.activeset._kernels.polish_point`), on the problem's
    :meth:`~driftwise.policy.solver.RowProblem.kkt_data`.
    """
    from driftwise.policy.activeset._kernels import polish_point

    quad, drift, linear, coefs, powers, lower, upper, weights, borrow, groups, bounded = (
        prob.kkt_data())
    out = np.zeros(len(drift))
    found = polish_point(quad, drift, linear, coefs, powers, lower, upper,
                         np.ascontiguousarray(z, dtype=np.float64), float(zero_tol),
                         int(max_iter), weights, borrow, float(prob.cash - prob.cash_floor),
                         float(prob.max_traded), groups, float(prob.group_deviation), bounded,
                         float(prob.exposure_bound), out)
    return out if found else None


def reference_problem(prob: RowProblem, *, long_only: bool) -> tuple[Any, Any, Any]:
    """The same problem stated with cvxpy (its constants the row's numbers): the problem,
    the trade variable ``z`` and the cost expression (fractions of NAV). The tests'
    independent statement of what :func:`conic_data` builds by hand."""
    cp: Any = importlib.import_module("cvxpy")
    n, k, n_g = len(prob.drift), prob.factor.shape[0], len(prob.groups)
    scale = math.sqrt(prob.gamma / (2.0 * prob.gamma_trade))
    f, dg = scale * prob.factor, scale * prob.factor_diag
    z = cp.Variable(n, name="z")
    a = cp.abs(z)
    cost = prob.linear @ a
    for coef, power in prob.powers:
        cost = cost + coef @ cp.power(a, power)
    cons = []
    if not long_only:
        added = cp.Variable(n, nonneg=True, name="added_short")
        cons.append(added >= -(prob.weights + z) - np.maximum(-prob.weights, 0.0))
        cost = cost + prob.borrow @ added
    risk = cp.sum_squares(f @ prob.drift + f @ z) if k else 0.0
    if np.any(dg):
        risk = risk + cp.sum_squares(dg * prob.drift + cp.multiply(dg, z))
    cons += [z >= prob.lower, z <= prob.upper,
             cp.sum(z) + cost <= prob.cash - prob.cash_floor,
             cp.norm1(z) <= prob.max_traded]
    if n_g:
        grp = prob.groups @ prob.drift + prob.groups @ z
        cons += [grp <= prob.group_deviation, grp >= -prob.group_deviation]
    bounded, pen = prob.bounded_exposures, prob.penalized_exposures
    if len(bounded):  # |B'(d + z)| <= bound per factor
        cons.append(cp.abs(bounded @ prob.drift + bounded @ z) <= prob.exposure_bound)
    if len(pen):  # λ ||B'(d + z)||², divided by γ_trade as the rest
        risk = risk + (prob.exposure_penalty / prob.gamma_trade) * cp.sum_squares(
            pen @ prob.drift + pen @ z)
    objective = risk + cost
    if prob.has_tax:  # per-segment sales: the least tax of a convex tax
        sold = cp.Variable(len(prob.tax_asset), nonneg=True, name="sold")
        member = np.zeros((n, len(prob.tax_asset)))
        member[prob.tax_asset, np.arange(len(prob.tax_asset))] = 1.0
        cons.append(sold <= prob.tax_cap)
        exact, linked = prob.exact_assets, prob.linked_assets
        if len(exact):
            cons.append(z[exact] + member[exact] @ sold == 0.0)
        if len(linked):
            cons.append(member[linked] @ sold >= -z[linked])
        if np.isfinite(prob.gain_room):
            cons.append(prob.tax_gain @ sold <= prob.gain_room)
        objective = objective + (prob.gamma_tax / prob.gamma_trade) * (prob.tax_rate @ sold)
    return cp.Problem(cp.Minimize(objective), cons), z, cost


ACTIVE_SET_ROUNDS = 16
"""Changes of the active set :func:`active_set_solve` tries before it gives up."""


def active_set_solve(prob: RowProblem, guess: FloatArray,
                     rounds: int = ACTIVE_SET_ROUNDS) -> FloatArray | None:
    """The optimum of a long-only row from a guessed active set, or None.

    From the guess's active set (assets at zero, at a bound, or traded with a sign), each
    round solves the traded assets' stationarity conditions by Newton's method with the
    others fixed, then moves the set: a traded asset whose sign flips or that crosses a
    bound goes to zero or to the bound; an untraded asset outside its no-trade band (the
    first dollar's benefit above its cost) is traded on the side it pays; an asset at a
    bound whose gradient pulls it inside is freed. When nothing moves, :func:`polish`
    judges the point with the whole problem's KKT check (cash, turnover, groups, factor
    bounds included) and returns it only if it is the optimum.
    """
    from driftwise.policy.activeset._kernels import active_set_rounds

    quad, drift, linear, coefs, powers, lower, upper = prob.kkt_data()[:7]
    out = np.zeros(len(drift))
    found = active_set_rounds(quad, drift, linear, coefs, powers, lower, upper,
                              np.ascontiguousarray(guess, dtype=np.float64), int(rounds), out)
    if not found:
        return None
    exact = polish_at(prob, out, 0.0)  # its zeros are exact: a tiny trade stays a trade
    return exact if exact is not None else polish(prob, out)
