"""Numba settings shared by every compiled kernel.

A kernel is the one implementation of its formula: the planner (one configuration, one
day) and the backtest engine (many configurations, many days) call the same compiled
function through the same public array function. Kernels are compiled on first use and
cached on disk next to their module (``cache=True``), so only the first run on a machine
pays the compilation.

Division follows numpy (``error_model="numpy"``: a division by zero gives inf or NaN, as
in the array code, instead of raising). Kernels are exact IEEE code, and their sums over
assets follow numpy's own order (:func:`driftwise._kernels.total`): the compiler may not
re-associate them, since a vectorized re-associated sum depends on where the arrays sit in
memory (two runs of the same backtest then differ in the last bits) and reorders the
arithmetic of exact checks such as the cash buffer's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

_F = TypeVar("_F", bound=Callable[..., Any])


def kernel(fn: _F) -> _F:
    """Compile ``fn`` with numba: exact IEEE arithmetic, cached, the GIL released.

    Sums in kernels that must agree with numpy to the last bit use
    :func:`driftwise._kernels.pairwise_sum` (numpy's own summation order).
    """
    return cast(_F, numba.njit(cache=True, nogil=True, error_model="numpy")(fn))
