"""The compiled kernels' own helpers (their formulas are tested through the public
functions that call them: costs, sizing, constraints)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from driftwise import _kernels


@given(st.one_of(st.integers(0, 3000), st.integers(1700, 9000)), st.integers(0, 2**32 - 1))
def test_pairwise_sum_is_numpys_sum_to_the_bit(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1e5, n) * rng.uniform(0.0, 3.0, n)
    assert _kernels.total(a) == a.sum()
    rows = a[: n - n % 3].reshape(3, -1) if n >= 3 else a.reshape(1, -1)
    for row, want in zip(rows, rows.sum(axis=1), strict=True):
        assert _kernels.total(np.ascontiguousarray(row)) == want
