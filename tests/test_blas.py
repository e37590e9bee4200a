"""One BLAS thread for the day step (driftwise._blas)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from driftwise._blas import one_blas_thread

CHILD = """
import json, sys
import numpy
assert "scipy.linalg" not in sys.modules
from driftwise._blas import one_blas_thread
from threadpoolctl import threadpool_info
with one_blas_thread():
    import scipy.linalg  # noqa: F401
    inside = [(i["filepath"], i["num_threads"]) for i in threadpool_info()
              if i["user_api"] == "blas"]
print(json.dumps(inside))
"""


def test_every_blas_library_limited_even_before_scipy_is_loaded() -> None:
    """scipy's LAPACK, loaded by the first call, is limited too (a limit covers only the
    libraries loaded when it is set), in a process where numpy alone was imported."""
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True, env={"OPENBLAS_NUM_THREADS": "2", "PATH": ""})
    inside = json.loads(out.stdout)
    assert len(inside) >= 2  # numpy's and scipy's OpenBLAS
    assert all(threads == 1 for _, threads in inside), inside


def test_results_unchanged() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 80))
    cov = x @ x.T
    free = np.linalg.eigh(cov)[0]
    with one_blas_thread():
        limited = np.linalg.eigh(cov)[0]
    np.testing.assert_allclose(limited, free, rtol=1e-12, atol=1e-9)
