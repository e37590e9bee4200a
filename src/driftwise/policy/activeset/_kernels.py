"""Compiled active-set rounds (numba) of the optimized destination's long-only row.

:func:`active_set_rounds` is the loop of :func:`driftwise.policy.conic.active_set_solve`
up to its KKT check: from a guessed active set (assets at zero, at a bound, or traded with
a sign), each round solves the traded assets' stationarity conditions

``Q (d + z) + κ sign(z) + Σ_k p_k c_k |z|^(p_k − 1) sign(z) = 0``

(``Q`` the quadratic term over γ_trade, ``d`` the drift, ``κ`` the linear cost rate,
``c_k, p_k`` the impact's coefficients and powers) by Newton's method with the others
fixed, then moves the set. It returns the point where nothing moves; the caller judges it
with the whole problem's KKT check (:func:`driftwise.policy.conic.polish`), so this loop
only proposes a point and never decides the answer. In a daily backtest it runs on most
rows; compiled, it removes the interpreter's cost of its many small steps.
"""

from __future__ import annotations

import numpy as np

from driftwise._jit import kernel
from driftwise._kernels import total
from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.costs._kernels import Table

SLACK = 1e-9
"""Distance to a bound under which an asset sits at it (``conic.POLISH_SLACK``)."""
NEWTON_FLOOR = 1e-12
"""A Newton step this small (fraction of NAV) that no longer halves is the rounding floor of
the Hessian's conditioning (a large factor penalty against a small γ leaves it near 1e7):
converged, the point as exact as the arithmetic allows; the KKT check decides."""
START = 1e-6
"""A newly traded asset starts this far from zero, on its side."""
START_SHRINK = 1e-3
"""When a newly traded asset's Newton step crosses zero (its optimal trade is below where
it started), its next start is this much closer to zero."""


@kernel
def stationarity_gradient(quad: FloatArray, drift: FloatArray, linear: FloatArray,
                          coefs: FloatArray, powers: FloatArray, x: FloatArray,
                          sign: FloatArray) -> FloatArray:
    """The objective's gradient over γ_trade at ``x`` with the signs ``sign`` (N,)
    (0: the risk alone)."""
    g = quad @ (drift + x) + linear * sign
    a = np.abs(x)
    for k in range(powers.shape[0]):
        g = g + powers[k] * coefs[k] * a ** (powers[k] - 1.0) * sign
    return g


@kernel
def newton_traded(quad: FloatArray, drift: FloatArray, linear: FloatArray, coefs: FloatArray,
                  powers: FloatArray, x: FloatArray, sign: FloatArray, idx: IntArray,
                  flipped: BoolArray, max_iter: int) -> bool:
    """Newton's method on the stationarity of the assets ``idx``, signs kept; ``x`` updated
    in place, ``flipped`` set on the assets whose sign flipped (the step then stops there).
    False without convergence."""
    flipped[:] = False
    m = idx.shape[0]
    if m == 0:
        return True
    last = np.inf
    for _ in range(max_iter):
        a = np.abs(x[idx])
        hess = quad[idx][:, idx].copy()
        for k in range(powers.shape[0]):
            curv = powers[k] * (powers[k] - 1.0) * coefs[k][idx] * a ** (powers[k] - 2.0)
            for j in range(m):
                hess[j, j] += curv[j]
        grad = stationarity_gradient(quad, drift, linear, coefs, powers, x, sign)
        step = np.linalg.solve(hess, grad[idx])
        biggest_step, biggest_x, any_flip = 0.0, 0.0, False
        for j in range(m):
            i = idx[j]
            x[i] -= step[j]
            biggest_step = max(biggest_step, abs(step[j]))
            biggest_x = max(biggest_x, abs(x[i]))
            if np.sign(x[i]) != sign[i]:
                flipped[i] = True
                any_flip = True
        if any_flip:
            return True
        scale = max(1.0, biggest_x)
        if biggest_step <= 1e-15 * scale or (biggest_step <= NEWTON_FLOOR * scale
                                             and biggest_step > 0.5 * last):
            return True
        last = biggest_step
    return False


@kernel
def active_set_rounds(quad: FloatArray, drift: FloatArray, linear: FloatArray,
                      coefs: FloatArray, powers: FloatArray, lower: FloatArray,
                      upper: FloatArray, guess: FloatArray, rounds: int,
                      out: FloatArray) -> bool:
    """The active-set rounds of :func:`driftwise.policy.conic.active_set_solve` from
    ``guess`` (N,); the point where the set stops moving written to ``out`` (N,). False
    when Newton's method fails or the set still moves after ``rounds`` rounds.

    ``quad`` (N, N): ``(γ Σ + 2 λ B B') / γ_trade``; ``coefs`` (P, N) and ``powers`` (P,)
    the impact's terms; ``lower``, ``upper`` (N,) the trade's bounds (fractions of NAV).
    """
    n = drift.shape[0]
    lo, hi = lower, upper
    x = np.minimum(np.maximum(guess, lo), hi)
    sign = np.zeros(n)
    at_lo = np.zeros(n, dtype=np.bool_)
    at_hi = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if abs(x[i]) >= 1e-12:
            sign[i] = np.sign(x[i])
            at_lo[i] = x[i] - lo[i] < SLACK
            at_hi[i] = hi[i] - x[i] < SLACK
        elif hi[i] < 0.0:  # zero is outside the bounds: the asset must trade
            sign[i], at_hi[i] = -1.0, True
        elif lo[i] > 0.0:
            sign[i], at_lo[i] = 1.0, True
    slack = linear * (1.0 + 1e-9) + 1e-15
    flipped = np.zeros(n, dtype=np.bool_)
    begin = np.full(n, START)  # where each newly traded asset starts
    started = np.zeros(n, dtype=np.bool_)
    for _ in range(rounds):
        free = np.zeros(n, dtype=np.bool_)
        started[:] = False
        for i in range(n):
            if sign[i] == 0.0:
                x[i] = 0.0
            elif at_lo[i]:
                x[i] = lo[i]
            elif at_hi[i]:
                x[i] = hi[i]
            else:
                free[i] = True
                if abs(x[i]) < begin[i]:  # a newly traded asset starts just off zero
                    x[i] = sign[i] * min(begin[i], hi[i] if sign[i] > 0 else -lo[i])
                    started[i] = True
        idx = np.flatnonzero(free)
        if not newton_traded(quad, drift, linear, coefs, powers, x, sign, idx, flipped, 30):
            return False
        if flipped.any():
            for i in range(n):
                if flipped[i]:
                    sign[i] = 0.0
                    if started[i]:  # its root lies below the start: start nearer zero
                        begin[i] *= START_SHRINK
                    if hi[i] < 0.0:
                        sign[i], at_hi[i] = -1.0, True
                    elif lo[i] > 0.0:
                        sign[i], at_lo[i] = 1.0, True
            continue
        crossed = False
        for i in range(n):
            if free[i] and x[i] < lo[i]:
                at_lo[i], crossed = True, True
            elif free[i] and x[i] > hi[i]:
                at_hi[i], crossed = True, True
        if crossed:
            continue
        g = stationarity_gradient(quad, drift, linear, coefs, powers, x, sign)
        moved = False
        for i in range(n):
            if sign[i] == 0.0 and hi[i] > 0.0 and -g[i] > slack[i]:
                sign[i], moved = 1.0, True
            elif sign[i] == 0.0 and lo[i] < 0.0 and g[i] > slack[i]:
                sign[i], moved = -1.0, True
            elif (at_lo[i] and g[i] < -1e-12) or (at_hi[i] and g[i] > 1e-12):
                at_lo[i], at_hi[i], moved = False, False, True
        if not moved:
            out[:] = x
            return True
    return False


@kernel
def polish_point(quad: FloatArray, drift: FloatArray, linear: FloatArray, coefs: FloatArray,
                 powers: FloatArray, lower: FloatArray, upper: FloatArray, z: FloatArray,
                 zero_tol: float, max_iter: int, weights: FloatArray, borrow: FloatArray,
                 cash_room: float, max_traded: float, groups: FloatArray,
                 group_deviation: float, bounded: FloatArray, exposure_bound: float,
                 out: FloatArray) -> bool:
    """The polish of :func:`driftwise.policy.conic.polish_at` (its docstring), compiled:
    from the point ``z`` (N,), Newton's method on the stationarity of the assets it trades
    (assets within ``zero_tol`` of zero set to zero, those within :data:`SLACK` of a bound
    set to it, the others' signs kept), then the whole problem's KKT check. The point is
    written to ``out`` (N,) and True returned only when it passes the check.

    ``weights``, ``borrow`` (N,): the weights before trading and the borrow rate of an added
    short (the cost of the cash row); ``cash_room``: the cash the trades and their cost may
    spend (cash − buffer); ``max_traded``: ``Σ|z|`` at most; ``groups`` (G, N) with
    ``group_deviation``, ``bounded`` (F, N) with ``exposure_bound``: ``|G (d + z)|`` and
    ``|B'(d + z)|`` bounds (no rows: none).
    """
    n = drift.shape[0]
    x = np.zeros(n)
    sign = np.zeros(n)
    zero = np.zeros(n, dtype=np.bool_)
    at_bound = np.zeros(n, dtype=np.bool_)
    at_low = np.zeros(n, dtype=np.bool_)
    free = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if abs(z[i]) <= zero_tol:
            zero[i] = True
            continue
        sign[i] = np.sign(z[i])
        at_low[i] = z[i] - lower[i] < SLACK
        at_bound[i] = at_low[i] or upper[i] - z[i] < SLACK
        free[i] = not at_bound[i]
        x[i] = lower[i] if at_low[i] else (upper[i] if at_bound[i] else z[i])
    idx = np.flatnonzero(free)
    flipped = np.zeros(n, dtype=np.bool_)
    if not newton_traded(quad, drift, linear, coefs, powers, x, sign, idx, flipped, max_iter):
        return False
    if flipped.any():
        return False
    g = stationarity_gradient(quad, drift, linear, coefs, powers, x, sign)
    for i in range(n):
        if zero[i]:
            if lower[i] > 0.0 or upper[i] < 0.0:
                return False  # a zero outside its bounds (an asset the mandate makes trade)
            band = linear[i] * (1.0 + 1e-9) + 1e-15
            if (upper[i] > 0.0 and -g[i] > band) or (lower[i] < 0.0 and g[i] > band):
                return False  # a zero worth trading
        elif at_bound[i]:
            low = x[i] == lower[i]
            if (low and g[i] < -1e-12) or (not low and g[i] > 1e-12):
                return False  # a bound the optimum would leave
        elif x[i] - lower[i] < SLACK or upper[i] - x[i] < SLACK:
            return False
    a = np.abs(x)
    traded = total(a)
    cost = linear * a
    for k in range(powers.shape[0]):
        cost = cost + coefs[k] * a ** powers[k]
    added = np.maximum(np.maximum(-(weights + x), 0.0) - np.maximum(-weights, 0.0), 0.0)
    cost = cost + borrow * added
    if traded > max_traded - SLACK or total(x) + total(cost) > cash_room - SLACK:
        return False
    post = drift + x
    for r in range(groups.shape[0]):
        if abs(total(groups[r] * post)) > group_deviation - SLACK:
            return False
    for r in range(bounded.shape[0]):
        if abs(total(bounded[r] * post)) > exposure_bound - SLACK:
            return False
    out[:] = x
    return True


# ------------------------------------------------------------- the plain row in one call


@kernel
def _np_min(a: float, b: float) -> float:
    """numpy's ``minimum`` of two floats: NaN propagates, ``b`` on a tie (signed zeros)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b


@kernel
def _np_max(a: float, b: float) -> float:
    """numpy's ``maximum`` of two floats: NaN propagates, ``b`` on a tie (signed zeros)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@kernel
def _np_power(a: float, power: float) -> float:
    """numpy's ``a ** power`` for a scalar exponent: its exact shortcuts for 2 and 0.5
    (``a * a``, ``sqrt``), the C library's ``pow`` otherwise."""
    if power == 2.0:
        return a * a
    if power == 0.5:
        return float(np.sqrt(a))
    if power == 1.0:
        return a
    return float(a ** power)


@kernel
def risk_gradient_at(factor: FloatArray, diag: FloatArray, gamma: float, d: FloatArray,
                     out: FloatArray) -> None:
    """``γ (F'(F d) + D² d)`` (N,) written to ``out``: the tracking penalty's gradient at the
    deviation ``d`` (``Σ ≈ F'F + diag(D²)``, ``factor`` (K, N) C-contiguous). The two
    products go through BLAS (numba's ``np.dot``), as numpy's ``@`` does."""
    n = d.shape[0]
    inner = np.dot(factor.T, np.dot(factor, d)) if factor.shape[0] > 0 else np.zeros(n)
    for i in range(n):
        out[i] = gamma * (inner[i] + diag[i] * diag[i] * d[i])


@kernel
def plain_row_terms(r: int, weights: FloatArray, target: FloatArray, tradable: BoolArray,
                    no_buy: BoolArray, no_sell: BoolArray, max_weight: float, bound: float,
                    which: IntArray, mult: FloatArray, table: Table, nav: float,
                    drift: FloatArray, lower: FloatArray, upper: FloatArray,
                    linear: FloatArray, coefs: FloatArray, powers: FloatArray) -> int:
    """Row ``r``'s numbers of a long-only problem, as ``optimize.bounds`` and
    ``optimize.cost_terms`` compute them (the same operations in the same order): the drift
    ``w0 − t``, the trade's bounds (the mandate, then do-not-buy, do-not-sell and the
    assets not tradable), κ and the impact terms with a non-zero (or NaN) coefficient
    (``coefs[:P]``, ``powers[:P]``); returns P. ``table``: the cost table as the kernels
    read it (``CostTable.kernel_table``)."""
    n = drift.shape[0]
    spread, commission, flat = table.spread_frac, table.commission_frac, table.flat_frac
    flat_by_regime, impact_coef = table.flat_by_regime, table.impact_coef
    impact_power = table.impact_power
    p = which[r]
    m = mult[r]
    m_flat = m if flat_by_regime[p] else 1.0
    any_buy, any_sell, all_tradable = False, False, True
    for i in range(n):
        drift[i] = weights[r, i] - target[r, i]
        hi = _np_min(bound, max_weight - weights[r, i])
        upper[i] = hi
        lower[i] = _np_min(-weights[r, i], hi)
        any_buy = any_buy or no_buy[r, i]
        any_sell = any_sell or no_sell[r, i]
        all_tradable = all_tradable and tradable[r, i]
        linear[i] = spread[p, i] * m + commission[p, i] + flat[p, i] * m_flat
    if any_buy:
        for i in range(n):
            if no_buy[r, i]:
                upper[i] = _np_min(upper[i], 0.0)
            lower[i] = _np_min(lower[i], upper[i])
    if any_sell:
        for i in range(n):
            if no_sell[r, i]:
                lower[i] = _np_max(lower[i], 0.0)
            upper[i] = _np_max(upper[i], lower[i])
    if not all_tradable:
        for i in range(n):
            if not tradable[r, i]:
                lower[i] = 0.0
                upper[i] = 0.0
    n_powers = 0
    for k in range(impact_power.shape[1]):
        nonzero = False
        for i in range(n):
            if impact_coef[p, k, i] != 0.0:  # NaN too, as numpy's any()
                nonzero = True
                break
        if nonzero:
            power = impact_power[p, k]
            scale = nav ** (power - 1.0)
            for i in range(n):
                coefs[n_powers, i] = m * impact_coef[p, k, i] * scale
            powers[n_powers] = power
            n_powers += 1
    return n_powers


@kernel
def plain_row_cost(linear: FloatArray, coefs: FloatArray, powers: FloatArray,
                   n_powers: int, weights: FloatArray, z: FloatArray) -> float:
    """``RowProblem.trade_cost(z).sum()`` of a long-only row (no borrow): each asset's
    ``κ |z| + Σ_k c_k |z|^p_k`` in numpy's order, summed as numpy sums."""
    n = z.shape[0]
    each = np.empty(n)
    for i in range(n):
        a = abs(z[i])
        c = linear[i] * a
        for k in range(n_powers):
            c = c + coefs[k, i] * _np_power(a, powers[k])
        added = _np_max(_np_max(-(weights[i] + z[i]), 0.0) - _np_max(-weights[i], 0.0), 0.0)
        each[i] = c + 0.0 * added
    return total(each)


NO_TRADE = 0
""":func:`plain_row`: the row sits inside the no-trade region (its KKT check at ``z = 0``)."""
WARM = 1
""":func:`plain_row`: the active set of the last answer gave the optimum (KKT-checked)."""
COLD = 2
""":func:`plain_row`: neither: the interior point must solve the row."""


@kernel
def plain_row(r: int, weights: FloatArray, target: FloatArray, cash: float,
              cash_floor: float, max_traded: float, tradable: BoolArray, no_buy: BoolArray,
              no_sell: BoolArray, max_weight: float, bound: float, which: IntArray,
              mult: FloatArray, table: Table, nav: float, factor: FloatArray,
              diag: FloatArray, cov: FloatArray, gamma: float, gamma_trade: float,
              guess: FloatArray, rounds: int, zero_tols: FloatArray, trade_tol: float,
              drift: FloatArray, lower: FloatArray, upper: FloatArray,
              linear: FloatArray, coefs: FloatArray, powers: FloatArray, z: FloatArray,
              grad: FloatArray, benefit: FloatArray, marginal: FloatArray
              ) -> tuple[int, int, float]:
    """One long-only row without tax, groups or factor rows, from its numbers to its
    answer in one call: :func:`plain_row_terms`, the no-trade screen
    (``RowProblem.zero_is_optimal``), the active set of ``guess`` (the last answer of the
    same settings; an empty array: none) with the polish and the whole problem's KKT check
    (``conic.active_set_solve``), then the answer's cost, gradient, benefit and marginal
    cost. Row ``r`` of ``z``, ``grad``, ``benefit``, ``marginal`` (C, N) is written; the
    row's numbers go to ``drift`` ... ``powers`` (for the interior point when the status is
    :data:`COLD`). ``cov`` (N, N) is ``F'F (+ diag(D²))`` as ``RowProblem.quadratic``
    computes it before γ. Returns the status, the number of impact terms and the cost.
    """
    n = drift.shape[0]
    n_powers = plain_row_terms(r, weights, target, tradable, no_buy, no_sell, max_weight,
                               bound, which, mult, table, nav, drift, lower, upper, linear,
                               coefs, powers)
    # the screen: KKT at z = 0 (zero multipliers)
    screened = not cash < cash_floor  # NaN cash: screened as numpy's comparison says
    for i in range(n):
        if lower[i] > 0.0 or upper[i] < 0.0:
            screened = False
    g = np.empty(n)
    w = weights[r]
    if screened:
        risk_gradient_at(factor, diag, gamma, drift, g)
        for i in range(n):
            slack = gamma_trade * linear[i] * (1.0 + 1e-12)
            if (upper[i] > 0.0 and -g[i] > slack) or (lower[i] < 0.0 and g[i] > slack):
                screened = False
                break
    status = NO_TRADE
    x = np.zeros(n)
    if not screened:
        status = COLD
        warm = guess.shape[0] == n
        if warm:
            warm = False
            for i in range(n):
                if guess[i] != 0.0:
                    warm = True
                    break
        if warm:
            quad = np.empty((n, n))
            for i in range(n):
                for j in range(n):
                    quad[i, j] = (gamma * cov[i, j]) / gamma_trade
            act_coefs = np.empty((n_powers, n))
            for k in range(n_powers):
                act_coefs[k] = coefs[k]
            act_powers = powers[:n_powers].copy()
            point = np.zeros(n)
            if active_set_rounds(quad, drift, linear, act_coefs, act_powers, lower, upper,
                                 guess, rounds, point):
                no_rows = np.zeros((0, n))
                no_borrow = np.zeros(n)
                room = cash - cash_floor
                for t in range(zero_tols.shape[0] + 1):
                    tol = 0.0 if t == 0 else zero_tols[t - 1]
                    if polish_point(quad, drift, linear, act_coefs, act_powers, lower, upper,
                                    point, tol, 30, w, no_borrow, room, max_traded, no_rows,
                                    0.0, no_rows, np.inf, x):
                        status = WARM
                        break
    if status == COLD:
        return status, n_powers, 0.0
    for i in range(n):
        z[r, i] = x[i] if abs(x[i]) > trade_tol else 0.0
    cost = plain_row_cost(linear, coefs, powers, n_powers, w, z[r])
    d = np.empty(n)
    for i in range(n):
        d[i] = drift[i] + z[r, i]
    risk_gradient_at(factor, diag, gamma, d, g)
    for i in range(n):
        grad[r, i] = g[i]
        benefit[r, i] = abs(g[i])
        marginal[r, i] = gamma_trade * linear[i]
    return status, n_powers, cost
