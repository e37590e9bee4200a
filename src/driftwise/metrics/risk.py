"""Returns, volatility, covariance and tracking error, with their fallbacks.

Return matrices are shaped ``(n_days, n_assets)`` (oldest row first) with NaN for a
missing observation; covariances ``(n_assets, n_assets)`` are annualized (x 252) and
volatilities are annualized fractions. Tracking error takes drifts shaped
``(..., n_assets)`` with a leading configurations axis.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from driftwise._kernels import arg
from driftwise._types import TRADING_DAYS, BoolArray, FloatArray
from driftwise.errors import ConfigError, DataError
from driftwise.metrics._kernels import rolling_std

"""Trading days per year used to annualize."""

TE_RELATIVE_TOL = 1e-10
"""Negative quadratic forms smaller than this times ``|d|^T |S| |d|`` are rounding."""


class CovarianceEstimator(StrEnum):
    """Covariance estimators available to :func:`estimate_covariance`."""

    SAMPLE = "sample"
    LEDOIT_WOLF = "ledoit_wolf"


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def log_or_simple_returns(prices: npt.ArrayLike, *, log: bool = False) -> FloatArray:
    """Daily returns from a price matrix.

    Parameters
    ----------
    prices : array_like, shape (n_days, n_assets)
        Adjusted close prices in USD, oldest first; NaN = no price that day.
    log : bool
        False (default) for simple returns ``p_t / p_{t-1} - 1``, True for log returns.

    Returns
    -------
    ndarray, shape (n_days - 1, n_assets)
        Return from day ``t-1`` to ``t`` in row ``t-1``; NaN where either price is NaN.

    Raises
    ------
    DataError
        If a price is zero or negative.
    """
    p = _f64(prices)
    if p.ndim < 2:
        raise ConfigError(f"prices must be shaped (n_days, n_assets), found {p.shape}")
    if np.any(p <= 0.0):
        bad = np.argwhere(p <= 0.0)[0]
        raise DataError(
            "prices must be positive",
            field="close",
            expected="a positive price",
            found=f"{p[tuple(bad)]} at day {bad[-2]}, asset {bad[-1]}",
        )
    ratio = p[..., 1:, :] / p[..., :-1, :]
    return np.asarray(np.log(ratio) if log else ratio - 1.0, dtype=np.float64)


def window_args(returns: npt.ArrayLike, window: int, min_periods: int | None
                ) -> tuple[FloatArray, int]:
    """``returns`` as a float ``(n_days, n_assets)`` array and the effective minimum
    number of returns (default ``max(window // 2, 2)``), checked: a ``ConfigError`` names
    the wrong shape, window or minimum. Shared by the one-window estimators here and the
    rolling ones (:mod:`driftwise.metrics.rolling_cov`)."""
    r = _f64(returns)
    if r.ndim != 2:
        raise ConfigError(f"returns must be shaped (n_days, n_assets), found {r.shape}")
    if window < 2:
        raise ConfigError(f"window must be at least 2 days, found {window}")
    mp = max(window // 2, 2) if min_periods is None else min_periods
    if not 2 <= mp <= window:
        raise ConfigError(f"min_periods must lie in [2, window={window}], found {mp}")
    return r, mp


def _window(returns: npt.ArrayLike, window: int, min_periods: int | None) -> tuple[FloatArray, int]:
    r, mp = window_args(returns, window, min_periods)
    return r[-window:], mp


def annualized_volatility(
    returns: npt.ArrayLike, window: int, min_periods: int | None = None
) -> FloatArray:
    """Annualized volatility of each asset over the last ``window`` days.

    Parameters
    ----------
    returns : array_like, shape (n_days, n_assets)
        Daily simple returns, NaN = missing.
    window : int
        Number of most recent rows used (60 and 252 by default).
    min_periods : int, optional
        Fewest valid observations for an estimate; default ``max(window // 2, 2)``.

    Returns
    -------
    ndarray, shape (n_assets,)
        ``std(r, ddof=1) * sqrt(252)`` over the valid rows of the window; NaN where an
        asset has fewer than ``min_periods`` observations.
    """
    x, mp = _window(returns, window, min_periods)
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    safe_n = np.maximum(n, 2)
    x0 = np.where(ok, x, 0.0)
    mean = x0.sum(axis=0) / safe_n
    dev = np.where(ok, x - mean, 0.0)
    var = (dev**2).sum(axis=0) / (safe_n - 1)
    vol = np.sqrt(var * TRADING_DAYS)
    return np.asarray(np.where(n >= mp, vol, np.nan), dtype=np.float64)


def rolling_annualized_volatility(
    returns: npt.ArrayLike, ends: npt.ArrayLike, window: int, min_periods: int | None = None
) -> FloatArray:
    """:func:`annualized_volatility` of the windows ending at each row of ``ends``, at once.

    Parameters
    ----------
    returns : array_like, shape (n_days, n_assets)
        Daily simple returns, NaN = missing.
    ends : array_like of int, shape (D,)
        Last row of each window (rows before the first are missing).
    window, min_periods
        As in :func:`annualized_volatility`.

    Returns
    -------
    ndarray, shape (D, n_assets)
        Row ``d`` equals ``annualized_volatility(returns[: ends[d] + 1], window,
        min_periods)`` to the bit (for more than one asset: numpy adds a single column
        pairwise): one compiled pass per window (:func:`driftwise.metrics._kernels.rolling_std`),
        no Python loop over days.
    """
    r = _f64(returns)
    if r.ndim != 2:
        raise ConfigError(f"returns must be shaped (n_days, n_assets), found {r.shape}")
    _, mp = _window(r[:0], window, min_periods)
    rows = np.asarray(ends, dtype=np.intp).reshape(-1)
    out = np.empty((len(rows), r.shape[1]))
    if len(rows):
        lo = max(int(rows.min()) - window + 1, 0)
        rolling_std(arg(r[lo: int(rows.max()) + 1], np.float64), arg(rows - lo, np.int64),
                    window, mp, float(TRADING_DAYS), out)
    return out


def sample_covariance(
    returns: npt.ArrayLike, window: int, min_periods: int | None = None
) -> FloatArray:
    """Annualized sample covariance from pairwise-complete observations.

    Parameters
    ----------
    returns : array_like, shape (n_days, n_assets)
        Daily simple returns, NaN = missing.
    window : int
        Number of most recent rows used.
    min_periods : int, optional
        Fewest common observations for a pair; default ``max(window // 2, 2)``.

    Returns
    -------
    ndarray, shape (n_assets, n_assets)
        ``252 * cov(r_i, r_j)`` with ``ddof=1``, each pair using only the days both
        assets have a return (the ``pandas.DataFrame.cov`` convention); NaN where a
        pair has fewer than ``min_periods`` common days.

    Notes
    -----
    Pairwise estimates need not be positive semi-definite when data are missing;
    :func:`nearest_psd` repairs that. For a pair with ``n`` common days and sums
    ``Sx, Sy, Sxy`` over them, ``cov = (Sxy - Sx Sy / n) / (n - 1)``; each column is
    first centred on its own mean for numerical accuracy.
    """
    x, mp = _window(returns, window, min_periods)
    ok = np.isfinite(x)
    m = ok.astype(np.float64)
    count = np.maximum(m.sum(axis=0), 1.0)
    x0 = np.where(ok, x, 0.0)
    x0 = np.where(ok, x0 - x0.sum(axis=0) / count, 0.0)
    n = m.T @ m
    sums = x0.T @ m  # sums[i, j]: sum of x_i over the days j also has data
    cross = x0.T @ x0
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = (cross - sums * sums.T / n) / (n - 1.0)
    cov = np.where(n >= mp, cov * TRADING_DAYS, np.nan)
    return np.asarray(cov, dtype=np.float64)


def _usable_assets(ok: BoolArray, mp: int) -> BoolArray:
    """Assets kept by Ledoit-Wolf: enough data, and enough rows complete across them."""
    keep = ok.sum(axis=0) >= mp
    while keep.any() and ok[:, keep].all(axis=1).sum() < mp:
        counts = np.where(keep, ok.sum(axis=0), np.iinfo(np.int64).max)
        keep[int(np.argmin(counts))] = False
    return np.asarray(keep, dtype=np.bool_)


def shrunk_covariance(
    returns: npt.ArrayLike, window: int, min_periods: int | None = None
) -> FloatArray:
    """Annualized Ledoit-Wolf covariance, shrunk toward a scaled identity.

    Parameters
    ----------
    returns : array_like, shape (n_days, n_assets)
        Daily simple returns, NaN = missing.
    window : int
        Number of most recent rows used.
    min_periods : int, optional
        Fewest complete rows; default ``max(window // 2, 2)``.

    Returns
    -------
    ndarray, shape (n_assets, n_assets)
        ``252 * Sigma_LW``; NaN rows and columns for assets left out.

    Notes
    -----
    Ledoit and Wolf (2004), "A well-conditioned estimator for large-dimensional
    covariance matrices" (:func:`ledoit_wolf`; the same estimator as
    ``sklearn.covariance.ledoit_wolf``, which the tests use as oracle: the empirical
    covariance divides by ``n``, not ``n - 1``). The estimator needs complete
    rows: it keeps the assets with at least ``min_periods`` observations, then, while
    fewer than ``min_periods`` rows are complete across them, drops the kept asset
    with the fewest observations. Assets left out get NaN so that
    :func:`fill_covariance` flags them.
    """
    x, mp = _window(returns, window, min_periods)
    n_assets = x.shape[1]
    out = np.full((n_assets, n_assets), np.nan)
    ok = np.isfinite(x)
    keep = _usable_assets(ok, mp)
    if not keep.any():
        return out
    rows = ok[:, keep].all(axis=1)
    shrunk, _ = ledoit_wolf(x[np.ix_(rows, keep)])
    out[np.ix_(keep, keep)] = shrunk * TRADING_DAYS
    return out


def ledoit_wolf(x: FloatArray) -> tuple[FloatArray, float]:
    """Ledoit-Wolf shrinkage of the covariance of complete rows ``x`` toward ``mu I``.

    Parameters
    ----------
    x : ndarray, shape (n_days, n_assets)
        Returns without NaN.

    Returns
    -------
    (ndarray (n_assets, n_assets), float)
        The shrunk covariance (per period, not annualized) and the shrinkage intensity.

    Notes
    -----
    With ``S = XᵀX/n`` of centred returns and ``mu = tr(S)/p``: ``delta² = ‖S − mu I‖²_F``,
    ``beta² = min(delta², (1/n²) Σ_k ‖x_k x_kᵀ − S‖²_F)``, shrinkage ``beta²/delta²``
    and ``Σ = (1 − s) S + s mu I`` (Ledoit and Wolf 2004, Lemma 3.1 and Theorem 3.1).
    Written here because importing scikit-learn costs about a second per command.
    """
    n, p = x.shape
    xc = x - x.mean(axis=0)
    emp = xc.T @ xc / n
    mu = float(np.trace(emp)) / p
    if p == 1 or n < 2:
        return emp, 0.0
    delta2 = float(((emp - mu * np.eye(p)) ** 2).sum())
    sq = xc**2
    # Σ_k ‖x_k x_kᵀ − S‖² = Σ_k ‖x_k‖⁴ − n ‖S‖²  (expand the square; Σ_k x_k x_kᵀ = n S)
    beta2 = float((sq.sum(axis=1) ** 2).sum() - n * (emp**2).sum()) / n**2
    beta2 = min(max(beta2, 0.0), delta2)
    shrinkage = 0.0 if delta2 == 0.0 else beta2 / delta2
    return (1.0 - shrinkage) * emp + shrinkage * mu * np.eye(p), shrinkage


def estimate_covariance(
    returns: npt.ArrayLike,
    window: int,
    estimator: CovarianceEstimator | str = CovarianceEstimator.SAMPLE,
    min_periods: int | None = None,
) -> FloatArray:
    """Annualized covariance with the chosen estimator, shape (n_assets, n_assets).

    See :func:`sample_covariance` and :func:`shrunk_covariance`.

    Raises
    ------
    ConfigError
        If ``estimator`` is not a :class:`CovarianceEstimator`.
    """
    try:
        est = CovarianceEstimator(estimator)
    except ValueError:
        raise ConfigError(
            f"unknown covariance estimator {estimator!r}; "
            f"expected one of {[e.value for e in CovarianceEstimator]}"
        ) from None
    if est is CovarianceEstimator.LEDOIT_WOLF:
        return shrunk_covariance(returns, window, min_periods)
    return sample_covariance(returns, window, min_periods)


def sector_average_volatility(
    vol: npt.ArrayLike, sector_codes: npt.ArrayLike, market_vol: float
) -> FloatArray:
    """Fallback volatility per asset: its sector's average, else the market's.

    Parameters
    ----------
    vol : array_like, shape (..., n_assets)
        Annualized volatility, NaN = unknown.
    sector_codes : array_like of int, shape (n_assets,)
        Sector of each asset; a negative code means unknown sector.
    market_vol : float
        Annualized market volatility (e.g. SPY), used when no sector peer has data.

    Returns
    -------
    ndarray, shape (..., n_assets)
        Mean of the finite volatilities of the asset's sector (the asset included if it
        has one), else ``market_vol``. "no volatility -> sector average
        or market (SPY) volatility, lower confidence".
    """
    v = _f64(vol)
    codes = np.asarray(sector_codes)
    if codes.shape != (v.shape[-1],) or (codes.size and not np.issubdtype(codes.dtype, np.integer)):
        raise ConfigError(
            f"sector_codes must be integers shaped ({v.shape[-1]},), "
            f"found {codes.dtype} {codes.shape}"
        )
    if not (np.isfinite(market_vol) and market_vol >= 0.0):
        raise ConfigError(f"market_vol must be a non-negative number, found {market_vol}")
    n_groups = max(int(codes.max()) + 1, 0) if codes.size else 0
    onehot = (codes[:, None] == np.arange(n_groups)[None, :]).astype(np.float64)
    ok = np.isfinite(v)
    sums = np.where(ok, v, 0.0) @ onehot
    counts = ok.astype(np.float64) @ onehot
    means = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    if n_groups:
        picked = np.take(means, np.clip(codes, 0, None), axis=-1)
        per_asset = np.where(codes >= 0, picked, np.nan)
    else:
        per_asset = np.full(v.shape, np.nan)
    return np.asarray(np.where(np.isnan(per_asset), market_vol, per_asset), dtype=np.float64)


def fill_covariance(
    cov: npt.ArrayLike, vol_fallback: npt.ArrayLike
) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Fill missing variances and covariances.

    Parameters
    ----------
    cov : array_like, shape (n_assets, n_assets)
        Annualized covariance with NaN where unknown.
    vol_fallback : array_like, shape (n_assets,)
        Annualized volatility to use where an asset's variance is NaN (sector average
        or market volatility, see :func:`sector_average_volatility`).

    Returns
    -------
    cov_filled : ndarray, shape (n_assets, n_assets)
        NaN variances replaced by ``vol_fallback_i ** 2``; NaN covariances replaced by
        0 (zero correlation).
    no_vol_mask : ndarray of bool, shape (n_assets,)
        True where the variance was filled (``Flag.NO_VOLATILITY``, lower confidence).
    no_corr_mask : ndarray of bool, shape (n_assets,)
        True where at least one covariance of the asset was set to zero
        (``Flag.NO_CORRELATIONS``, flagged conservative).

    Raises
    ------
    ConfigError
        If a fallback volatility needed for a missing variance is NaN or negative.
    """
    c = _f64(cov).copy()
    n = c.shape[-1]
    fb = np.broadcast_to(_f64(vol_fallback), (n,))
    if c.shape != (n, n):
        raise ConfigError(f"cov must be square (n_assets, n_assets), found {c.shape}")
    diag = np.diagonal(c).copy()
    no_vol = np.isnan(diag)
    bad = no_vol & ~(fb >= 0.0)
    if bad.any():
        raise ConfigError(
            f"vol_fallback must be a non-negative number for assets without volatility; "
            f"found {fb[bad][0]} at asset {int(np.argmax(bad))}"
        )
    off = np.isnan(c) & ~np.eye(n, dtype=bool)
    c[off] = 0.0
    np.fill_diagonal(c, np.where(no_vol, fb**2, diag))
    return c, np.asarray(no_vol, dtype=np.bool_), np.asarray(off.any(axis=1), dtype=np.bool_)


def nearest_psd(cov: npt.ArrayLike) -> tuple[FloatArray, bool]:
    """Symmetrize and clip negative eigenvalues at zero.

    Parameters
    ----------
    cov : array_like, shape (n_assets, n_assets)
        Finite annualized covariance (e.g. pairwise or filled).

    Returns
    -------
    cov_psd : ndarray, shape (n_assets, n_assets)
        ``V diag(max(lambda, 0)) V^T`` of the symmetric part.
    repaired : bool
        True if an eigenvalue below ``-1e-12 * max|lambda|`` was clipped (to be flagged).

    Notes
    -----
    Eigenvalue clipping (Higham 1988 gives the nearest PSD matrix in Frobenius norm
    for symmetric input).
    """
    c = _f64(cov)
    sym = 0.5 * (c + c.T)
    lam, vec = np.linalg.eigh(sym)
    scale = float(np.max(np.abs(lam))) if lam.size else 0.0
    repaired = bool(lam.size and lam.min() < -1e-12 * scale)
    if not repaired:
        return np.asarray(sym, dtype=np.float64), False
    out = (vec * np.clip(lam, 0.0, None)) @ vec.T
    return np.asarray(0.5 * (out + out.T), dtype=np.float64), True


def tracking_error(d: npt.ArrayLike, cov: npt.ArrayLike) -> FloatArray:
    """Ex-ante tracking error ``sqrt(d^T Sigma d)``.

    Parameters
    ----------
    d : array_like, shape (..., n_assets)
        Per-asset drift over the assets only (fractions of NAV).
    cov : array_like, shape (n_assets, n_assets) or (..., n_assets, n_assets)
        Annualized covariance, finite and positive semi-definite.

    Returns
    -------
    ndarray, shape (...)
        Annualized tracking error (fraction). Negative quadratic forms within rounding
        (``TE_RELATIVE_TOL`` times ``|d|^T |Sigma| |d|``) give 0; a markedly negative
        one (``Sigma`` not PSD, see :func:`nearest_psd`) gives NaN.

    Notes
    -----
    Cash has zero variance and zero covariance, so its drift adds
    nothing: pass ``d`` over the assets only.
    """
    x = _f64(d)
    s = _f64(cov)
    q = np.einsum("...i,...ij,...j->...", x, s, x)
    if np.any(q < 0.0):  # rare: the scale of the rounding is needed only then
        scale = np.einsum("...i,...ij,...j->...", np.abs(x), np.abs(s), np.abs(x))
        q = np.where((q < 0.0) & (q >= -TE_RELATIVE_TOL * scale), 0.0, q)
    # the root of max(q, 0) is never invalid (NaN stays NaN without a warning)
    te = np.where(q < 0.0, np.nan, np.sqrt(np.maximum(q, 0.0)))
    return np.asarray(te, dtype=np.float64)


def tracking_error_diag(d: npt.ArrayLike, vol_annual: npt.ArrayLike) -> FloatArray:
    """Diagonal (zero-correlation) tracking error ``sqrt(sum_i d_i^2 sigma_i^2)``.

    Parameters
    ----------
    d : array_like, shape (..., n_assets)
        Per-asset drift over the assets only (cash has zero volatility).
    vol_annual : array_like, broadcastable to (..., n_assets)
        Annualized volatility per asset.

    Returns
    -------
    ndarray, shape (...)
        Annualized tracking error ignoring correlations (the fast
        approximation).
    """
    x = _f64(d)
    v = _f64(vol_annual)
    return np.asarray(np.sqrt(np.sum((x * v) ** 2, axis=-1)), dtype=np.float64)
