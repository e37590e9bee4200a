"""The sample covariance of many consecutive windows at once.

:func:`rolling_sample_covariance` gives, for each end row ``e``, what
:func:`~driftwise.metrics.risk.sample_covariance` gives on the last ``window`` rows up to
``e`` (pairwise-complete observations, ``ddof = 1``, annualized), in ``O(N^2)`` work a day
instead of ``O(window * N^2)``: the window sums of a block of consecutive days are those of
the block's first window plus the rows that enter and minus the rows that leave
(a compiled kernel). The
rule-validation study reads the covariance of every day of its paths; one day at a time
this was the study's largest cost.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._types import TRADING_DAYS, FloatArray
from driftwise.errors import ConfigError
from driftwise.metrics._kernels import rolling_covariance
from driftwise.metrics.risk import window_args

BLOCK_DAYS = 64
"""Most days a block's sums run from its first window, and at most a quarter of the
window: the sums are re-based at each block, so rounding never accumulates over more than
this many additions, and the shift (the block's first window's mean) stays close to each
later window's mean (a 2-day window is computed afresh every day)."""


def rolling_sample_covariance(returns: npt.ArrayLike, ends: npt.ArrayLike, window: int,
                              min_periods: int | None = None) -> FloatArray:
    """Annualized sample covariance of the ``window`` rows up to each end row.

    Parameters
    ----------
    returns : array_like, shape (R, N)
        Daily simple returns, NaN (or inf) = missing.
    ends : array_like of int, shape (K,)
        Last row of each window (``0 <= e < R``, any order); a window starting before row
        0 holds the rows from 0 (a short history).
    window : int
        Rows of each window (at least 2).
    min_periods : int, optional
        Fewest common observations for a pair; default ``max(window // 2, 2)``.

    Returns
    -------
    ndarray, shape (K, N, N)
        For each ``e``: ``sample_covariance(returns[max(0, e - window + 1): e + 1], window,
        min_periods)``, equal to it to about 1e-15 of ``sqrt(var_i var_j)``; NaN where a
        pair has fewer than ``min_periods`` common days.

    Raises
    ------
    ConfigError
        A window under 2 days, ``min_periods`` outside ``[2, window]``, or an end outside
        the rows.

    Notes
    -----
    For a pair with ``n`` common days and, over them, ``Sx = sum x_i``, ``Sy = sum x_j``
    and ``Sxy = sum x_i x_j``: ``cov = 252 (Sxy - Sx Sy / n) / (n - 1)``, the formula of
    :func:`~driftwise.metrics.risk.sample_covariance`. The compiled kernel
    (:func:`driftwise.metrics._kernels.rolling_covariance`) takes the sorted ends in blocks
    of :func:`block_days` rows on a fixed grid (rows ``b * block_days`` onwards, so a day's
    value never depends on which other days are asked for): each return is shifted by its
    asset's mean over the window ending at the block's first row (the covariance does not
    change; the sums stay small, so the difference loses no digits), that window's sums
    are added row by row, and each later day of the block adds the row entering and
    subtracts the row leaving: ``O(N^2)`` work
    a day instead of ``O(window N^2)``.
    """
    checked, mp = window_args(returns, window, min_periods)
    r = np.ascontiguousarray(checked)
    k_ends = np.asarray(ends, dtype=np.int64).reshape(-1)
    n_rows, n = r.shape
    if len(k_ends) and (k_ends.min() < 0 or k_ends.max() >= n_rows):
        raise ConfigError(f"window ends must lie in [0, {n_rows - 1}], found "
                          f"{k_ends.min()}..{k_ends.max()}")
    sorted_out = np.empty((len(k_ends), n, n))
    if len(k_ends) < 2 or bool((k_ends[1:] >= k_ends[:-1]).all()):
        # ends in order (a block of consecutive days): the kernel writes the result itself
        rolling_covariance(r, np.ascontiguousarray(k_ends), int(window), int(mp),
                           block_days(window), float(TRADING_DAYS), sorted_out)
        return sorted_out
    order = np.argsort(k_ends, kind="stable")
    rolling_covariance(r, np.ascontiguousarray(k_ends[order]), int(window), int(mp),
                       block_days(window), float(TRADING_DAYS), sorted_out)
    out = np.empty_like(sorted_out)
    out[order] = sorted_out
    return out


def block_days(window: int) -> int:
    """Days of one block of :func:`rolling_sample_covariance`: ``window // 4``, between 1
    and :data:`BLOCK_DAYS`."""
    return max(1, min(BLOCK_DAYS, window // 4))
