"""Compiled kernels of the rule-validation study (numba): the tracking error's quadratic
form of many rows, each with its own covariance (:func:`quadratic_forms`), summed in the
order of the ``numpy.einsum`` it replaces (:func:`driftwise.metrics.risk.tracking_error`)."""

from __future__ import annotations

from driftwise._jit import kernel
from driftwise._types import FloatArray, IntArray


@kernel
def quadratic_forms(x: FloatArray, covs: FloatArray, which: IntArray, out: FloatArray) -> None:
    """``out[r] = x_r' covs[which[r]] x_r`` for the rows of ``x`` (R, N), ``covs`` (D, N, N).

    Each form is one running sum over ``(i, j)`` in row-major order of the terms
    ``(x_i * c_ij) * x_j``, from 0: the order in which ``numpy.einsum("...i,...ij,...j")``
    sums them when ``3 <= N`` and ``N * N`` fits its buffer (the caller checks both,
    :func:`driftwise.validation.events.tracking_errors`). Four rows run side by side
    (four independent sums, each in that order), which hides the latency of the adds.
    """
    n_rows, n = x.shape
    r = 0
    while r + 4 <= n_rows:
        c0, c1, c2, c3 = covs[which[r]], covs[which[r + 1]], covs[which[r + 2]], \
            covs[which[r + 3]]
        x0, x1, x2, x3 = x[r], x[r + 1], x[r + 2], x[r + 3]
        q0 = q1 = q2 = q3 = 0.0
        for i in range(n):
            a0, a1, a2, a3 = x0[i], x1[i], x2[i], x3[i]
            for j in range(n):
                q0 += (a0 * c0[i, j]) * x0[j]
                q1 += (a1 * c1[i, j]) * x1[j]
                q2 += (a2 * c2[i, j]) * x2[j]
                q3 += (a3 * c3[i, j]) * x3[j]
        out[r], out[r + 1], out[r + 2], out[r + 3] = q0, q1, q2, q3
        r += 4
    while r < n_rows:
        c, xr = covs[which[r]], x[r]
        q = 0.0
        for i in range(n):
            a = xr[i]
            for j in range(n):
                q += (a * c[i, j]) * xr[j]
        out[r] = q
        r += 1
