"""Numba settings shared by every compiled kernel.

A kernel is the one implementation of its formula: the planner (one configuration, one
day) and the backtest engine (many configurations, many days) call the same compiled
function through the same public array function. Kernels are compiled on first use and
cached on disk next to their module (``cache=True``), so only the first run on a machine
pays the compilation.

``fastmath`` allows only re-association and ignoring the sign of zero, so that sums over
assets vectorize; divisions, square roots and comparisons stay exact IEEE operations. A
sum may therefore differ from numpy's pairwise sum in the last bits (tests compare to
1e-12 relative).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

_F = TypeVar("_F", bound=Callable[..., Any])

FASTMATH = frozenset({"reassoc", "nsz"})


def kernel(fn: _F) -> _F:
    """Compile ``fn`` with numba (no Python objects, cached, the GIL released)."""
    return cast(_F, numba.njit(cache=True, nogil=True, fastmath=set(FASTMATH))(fn))
