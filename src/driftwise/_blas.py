"""One BLAS thread for the day step's small linear algebra.

A day of the backtest (or one plan) works on matrices of one day: N × N with N in the
hundreds, where OpenBLAS's threads gain little even on an idle machine and, on a busy one,
spin against each other: the 20 leading eigenvectors of a 500-asset covariance took
0.02 s of CPU on one thread and 0.4–2.4 s on two at a load average of 12. The limit covers
every BLAS library loaded when it is first asked for, so scipy's LAPACK (which numpy does
not load) is loaded first.
"""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from typing import Any

_controller: Any = None


def one_blas_thread() -> AbstractContextManager[Any]:
    """A context in which numpy's and scipy's BLAS run on one thread."""
    global _controller
    if _controller is None:
        importlib.import_module("scipy.linalg")  # load its LAPACK before the controller looks
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    limit: AbstractContextManager[Any] = _controller.limit(limits=1, user_api="blas")
    return limit
