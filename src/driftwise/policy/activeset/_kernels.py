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
