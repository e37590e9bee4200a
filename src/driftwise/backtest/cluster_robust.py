"""Means with a cluster-robust interval and a small-sample correction (CR2, t(G − 1)).

Observations of one cluster (one calendar period, one path) share their market and are
not independent; with few clusters the plain sandwich variance is too small. The
intervals here use the CR2 (Bell-McCaffrey) cluster-robust variance and a Student t
quantile with ``G - 1`` degrees of freedom, ``G`` the number of clusters (Bell and
McCaffrey 2002, Survey Methodology 28(2); Imbens and Kolesar 2016, REStat 98(4); Cameron
and Miller 2015, J. Human Resources 50(2), section VI).

With one observation per cluster (one value a calendar year) CR2 is the variance of the
mean of independent values, ``s² / G`` with ``s`` the sample standard deviation, and the
interval is the one-sample t interval, exact when the values are normal.

Used by the one-path ranking and verdicts over calendar years
(:mod:`driftwise.backtest.years`) and by the rule study
(:mod:`driftwise.validation.stats`, which re-exports these functions).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special as _special

__all__ = ["LEVEL", "clustered_mean", "clustered_means", "cr2_variance", "t_critical"]

LEVEL = 0.95
"""Confidence level of every interval (two-sided)."""


def t_critical(n_clusters: int, level: float = LEVEL) -> float:
    """The two-sided ``level`` quantile of Student's t with ``G - 1`` degrees of freedom.

    NaN below two clusters (no variance between clusters can be measured). The inverse of
    t's distribution function is ``scipy.special.stdtrit`` (what ``scipy.stats.t.ppf``
    evaluates, equal to it to the bit; ``scipy.stats`` takes about a second to import).
    """
    if n_clusters < 2:
        return math.nan
    return float(_special.stdtrit(n_clusters - 1, 0.5 + level / 2.0))


def cr2_variance(values: npt.ArrayLike, cluster: npt.ArrayLike) -> tuple[float, float, int]:
    """Mean of per-event values and its CR2 (Bell-McCaffrey) cluster-robust variance.

    Parameters
    ----------
    values : array_like of float, shape (E,)
        Finite values, one per event.
    cluster : array_like, shape (E,)
        Cluster of each event.

    Returns
    -------
    (mean, variance, n_clusters)
        The variance is NaN with fewer than two clusters.

    Notes
    -----
    The mean is the least-squares fit of ``y = b + e`` on a column of ones ``X``. CR2
    scales each cluster's residuals by ``(I - H_gg)^(-1/2)``, ``H = X (X'X)^-1 X'``:
    ``V = (X'X)^-1 Σ_g X_g' A_g e_g e_g' A_g X_g (X'X)^-1``. For the intercept alone
    ``H_gg = (n_g / N) J`` and ``X_g = 1`` is its eigenvector with eigenvalue
    ``n_g / N``, so ``V = Σ_g (s_g - m n_g)² / (1 - n_g / N) / N²`` with ``s_g`` the
    cluster sums (Bell and McCaffrey 2002).
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return (math.nan, math.nan, 0)
    m = float(x.mean())
    _, inv = np.unique(np.asarray(cluster), return_inverse=True)
    n_c = np.bincount(inv).astype(np.float64)
    s_c = np.bincount(inv, weights=x)
    g = len(n_c)
    if g < 2:
        return (m, math.nan, g)
    var = float(np.sum((s_c - m * n_c) ** 2 / (1.0 - n_c / n))) / (n * n)
    return (m, var, g)


def clustered_mean(values: npt.ArrayLike, cluster: npt.ArrayLike, *,
                   level: float = LEVEL) -> tuple[float, float, float]:
    """Mean of per-event values with its CR2 cluster-robust ``t(G-1)`` interval.

    Non-finite values are left out. Returns ``(mean, low, high)`` (NaN when empty; the
    interval is NaN with a single cluster).

    Notes
    -----
    ``m ± t_{G-1} sqrt(V_CR2)`` with ``V_CR2`` of :func:`cr2_variance` (Bell and
    McCaffrey 2002; Imbens and Kolesar 2016).
    """
    x = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(x)
    m, var, g = cr2_variance(x[keep], np.asarray(cluster)[keep])
    if not math.isfinite(var):
        return (m, math.nan, math.nan)
    half = t_critical(g, level) * math.sqrt(var)
    return (m, m - half, m + half)




def clustered_means(values: npt.ArrayLike, cluster: npt.ArrayLike, *,
                    level: float = LEVEL) -> tuple[npt.NDArray[np.float64],
                                                   npt.NDArray[np.float64],
                                                   npt.NDArray[np.float64]]:
    """:func:`clustered_mean` of every column of ``values`` (shape (N, K)), the clusters
    shared: ``(mean, low, high)``, each shape (K,).

    Columns whose values are all finite are computed at once with the formula of
    :func:`cr2_variance`; a column holding a non-finite value goes through
    :func:`clustered_mean` (which leaves such values out). Equal to
    :func:`clustered_mean` column by column up to rounding (``tests/backtest/test_years.py``).
    """
    x = np.asarray(values, dtype=np.float64)
    groups = np.asarray(cluster)
    k = x.shape[1]
    mean, low, high = (np.full(k, np.nan) for _ in range(3))
    finite = np.isfinite(x).all(axis=0)
    n = x.shape[0]
    if n and finite.any():
        cols = np.flatnonzero(finite)
        part = x[:, cols]
        m = part.mean(axis=0)
        _, inv = np.unique(groups, return_inverse=True)
        n_c = np.bincount(inv).astype(np.float64)
        g = len(n_c)
        mean[cols] = m
        if g >= 2:
            s_c = np.zeros((g, len(cols)))
            np.add.at(s_c, inv, part)
            var = np.sum((s_c - m[None, :] * n_c[:, None]) ** 2
                         / (1.0 - n_c / n)[:, None], axis=0) / (n * n)
            half = t_critical(g, level) * np.sqrt(var)
            low[cols], high[cols] = m - half, m + half
    for c in np.flatnonzero(~finite):
        mean[c], low[c], high[c] = clustered_mean(x[:, c], groups, level=level)
    return mean, low, high
