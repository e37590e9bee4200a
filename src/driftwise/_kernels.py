"""The shared compiled primitives (numba): exact sums and the threshold comparison.

The kernels live next to their domains, each reached through the public function of its
formula:

* :mod:`driftwise.costs._kernels`: every cost component of a trade
  (:func:`driftwise.costs.trade_costs`, :func:`~driftwise.costs.row_trading_costs`);
* :mod:`driftwise.policy._kernels`: sizing, landing, the constraints, the marginal
  benefit and the illiquid assets (:mod:`driftwise.policy.sizing`,
  :mod:`~driftwise.policy.constraints`, :mod:`~driftwise.policy.destination`,
  :func:`driftwise.policy.rule.illiquid_assets`);
* :mod:`driftwise.metrics._kernels`: the mark to market
  (:func:`driftwise.metrics.drift.mark_to_market`) and the liquidity days
  (:func:`driftwise.metrics.liquidity.liquidity_days`);
* :mod:`driftwise.backtest._kernels`: the borrow of shorts and the compiled day loop of
  drift thresholds and calendars (:mod:`driftwise.backtest.compiled`);
* here: numpy's pairwise sum (:func:`total`), which every kernel sums with, and the
  drift-threshold comparison (:meth:`driftwise.policy.triggers.DriftThreshold.evaluate`,
  :func:`at_threshold`), which the day loop shares with the trigger, and the rolling
  estimators' window sum (:func:`window_sum`).

The planner and the backtest engine reach the same compiled code through them. Their
disk cache is stamped with all the kernel sources at once (:mod:`driftwise._jit`), so a
kernel calling a kernel of another file never keeps a stale copy of it.

Rows are independent: every row is solved on its own, as it would be alone. Callers pass
plain writable C-contiguous arrays (:func:`arg`) and flags computed at run time, so that
every kernel compiles for one signature only (about 10 s on the first run on a machine,
then loaded from the disk cache).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from driftwise._jit import kernel
from driftwise._types import BoolArray, FloatArray

EPS = float(np.finfo(np.float64).eps)


def arg(values: npt.ArrayLike, dtype: npt.DTypeLike | None = None) -> npt.NDArray[Any]:
    """``values`` as a writable C-contiguous array (of ``dtype``), to pass to a kernel.

    numba compiles a kernel once per type of its arguments, and a read-only or strided
    array is another type than a plain one: every caller passes plain arrays, so that each
    kernel compiles once (copied only when the values are read-only or strided).
    """
    out = np.ascontiguousarray(values, dtype=dtype)
    return out if out.flags.writeable else out.copy()


# ---------------------------------------------------------------------- sums


@kernel
def _block_sum(a: FloatArray, lo: int, n: int) -> float:
    """numpy's pairwise sum of at most 128 elements (8 accumulators).

    The block is read through a view indexed from 0 in whole steps of 8 (``b[8 q + j]``):
    the same additions in the same order as indexing ``a`` from ``lo``, which numba
    compiles to about half the time (the mark to market of a backtest row sums 500
    assets twice a day).
    """
    b = a[lo: lo + n]
    if n < 8:
        res = 0.0
        for i in range(n):
            res += b[i]
        return res
    r0, r1, r2, r3 = float(b[0]), float(b[1]), float(b[2]), float(b[3])
    r4, r5, r6, r7 = float(b[4]), float(b[5]), float(b[6]), float(b[7])
    steps = n // 8
    for q in range(1, steps):
        i = 8 * q
        r0 += b[i]
        r1 += b[i + 1]
        r2 += b[i + 2]
        r3 += b[i + 3]
        r4 += b[i + 4]
        r5 += b[i + 5]
        r6 += b[i + 6]
        r7 += b[i + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(8 * steps, n):
        res += b[i]
    return res


@kernel
def _half(n: int) -> int:
    """Where numpy splits a range of ``n > 128`` elements (a multiple of 8)."""
    half = n // 2
    return half - half % 8


# Ranges of up to _CAP_k elements are summed by _sum_k without a stack: a range of n
# elements splits into parts of at most (n + 1) / 2 + 7, so _CAP_k = 2 _CAP_{k-1} - 15.
_CAP_0 = 128
_CAP_4 = 1823


@kernel
def _sum_1(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _block_sum(a, lo, h) + _block_sum(a, lo + h, n - h)


@kernel
def _sum_2(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _sum_1(a, lo, h) + _sum_1(a, lo + h, n - h)


@kernel
def _sum_3(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _sum_2(a, lo, h) + _sum_2(a, lo + h, n - h)


@kernel
def _sum_4(a: FloatArray, lo: int, n: int) -> float:
    if n <= _CAP_0:
        return _block_sum(a, lo, n)
    h = _half(n)
    return _sum_3(a, lo, h) + _sum_3(a, lo + h, n - h)


@kernel
def pairwise_sum(a: FloatArray, lo: int, n: int) -> float:
    """``a[lo:lo + n].sum()`` in numpy's own order (its pairwise summation), to the bit.

    Sizing's cash check must hold for the sums the caller computes with numpy, and the
    tests compare sizing's results with numpy formulas exactly; a plain loop would
    differ in the last bits from 8 elements on. numpy halves a range (keeping multiples
    of 8) until it has at most 128 elements. Up to :data:`_CAP_4` elements (every
    portfolio of fewer than about 1,800 assets) the halving is four nested functions;
    longer ranges walk it with an explicit stack (numba cannot cache a recursive
    function).
    """
    if n <= _CAP_4:
        return _sum_4(a, lo, n)
    stack = np.empty((64, 4))  # start, length, phase, left sum
    sp = 0
    stack[0, 0], stack[0, 1], stack[0, 2] = lo, n, 0.0
    ret = 0.0
    while True:
        start, m, phase = int(stack[sp, 0]), int(stack[sp, 1]), stack[sp, 2]
        half = _half(m)
        if m <= _CAP_4:
            ret = _sum_4(a, start, m)
            sp -= 1
        elif phase == 0.0:
            stack[sp, 2] = 1.0
            sp += 1
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = start, half, 0.0
            continue
        elif phase == 1.0:
            stack[sp, 3] = ret
            stack[sp, 2] = 2.0
            sp += 1
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = start + half, m - half, 0.0
            continue
        else:
            ret = stack[sp, 3] + ret
            sp -= 1
        if sp < 0:
            return ret


@kernel
def total(a: FloatArray) -> float:
    """``a.sum()`` of a 1-d array, in numpy's order."""
    n = a.shape[0]
    # a start computed at run time: a literal 0 would make numba compile every function
    # of the sum a second time for the constant
    return pairwise_sum(a, n - n, n)


# ------------------------------------------------------------------ triggers


@kernel
def at_threshold(drift: FloatArray, threshold: FloatArray, met: BoolArray) -> bool:
    """``met = drift >= threshold and drift > 0`` per row (the drift-threshold trigger; a
    threshold of 0 fires on any drift, never on none); whether any."""
    found = False
    for c in range(drift.shape[0]):
        hit = drift[c] >= threshold[c] and drift[c] > 0.0
        met[c] = hit
        found |= hit
    return found


@kernel
def window_sum(values: FloatArray, lo: int, hi: int, count: npt.NDArray[np.int64],
               acc: FloatArray) -> None:
    """Count and sum of the finite values of each column of ``values[lo:hi]`` (rows, N),
    written to ``count`` and ``acc`` (N,): the rows added oldest first, one after the
    other, as numpy's ``sum(axis=0)`` of a ``(rows, N)`` array (N > 1) adds them; the
    rolling estimators' first pass (:func:`driftwise.costs._kernels.rolling_mean`,
    :func:`driftwise.metrics._kernels.rolling_std`)."""
    count[:] = 0
    acc[:] = 0.0
    for r in range(lo, hi):
        for i in range(values.shape[1]):
            x = values[r, i]
            if np.isfinite(x):
                count[i] += 1
                acc[i] += x
