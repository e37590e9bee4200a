"""The risk model of one day: volatility and covariances with their fallbacks.

:func:`estimate_risk` estimates, from daily returns up to the as-of date, each asset's
annualized volatility and the short- and long-window covariances (sample, and the long one
shrunk), with the documented fallbacks for short histories, each flagged. The monitor, the
planner and the backtest's history (for the days an asset lacks history) use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import TRADING_DAYS, FloatArray
from driftwise.flags import Flag, Notice, notice
from driftwise.metrics.drift import BandMode
from driftwise.metrics.risk import (
    CovarianceEstimator,
    annualized_volatility,
    estimate_covariance,
    fill_covariance,
    sector_average_volatility,
)
from driftwise.state import PortfolioState


@dataclass(frozen=True)
class MonitorConfig:
    """Settings of the monitor (all fractions; windows in trading days).

    Attributes
    ----------
    threshold : float
        Portfolio drift threshold for the days-to-breach estimate (default 5%).
    vol_window_days : int
        Window of the per-asset volatility (drift speed, diagonal TE).
    short_window_days, long_window_days : int
        Covariance windows (60 and 252 days).
    estimator : CovarianceEstimator
        Estimator of the long-window covariance reported beside the sample one.
    band_abs, band_rel : float
        Default per-asset bands where the targets file gives none.
    band_mode : BandMode
    drift_cap : float
        Asset drift above this is capped and flagged (50%).
    one_way_cost : float
        One-way trading cost (fraction of traded value) for the optimal-threshold report;
        the cost model replaces it when it is available to the caller.
    tracking_aversion : float
        γ of the loss ``cost + (γ/2)·TE²`` behind the corrected band
        (:func:`~driftwise.metrics.threshold.corrected_band`; an assumption).
    """

    threshold: float = 0.05
    vol_window_days: int = 60
    short_window_days: int = 60
    long_window_days: int = 252
    estimator: CovarianceEstimator = CovarianceEstimator.LEDOIT_WOLF
    band_abs: float = 0.02
    band_rel: float = 0.25
    band_mode: BandMode = BandMode.LARGER
    drift_cap: float = 0.5
    one_way_cost: float = 0.0020
    tracking_aversion: float = 2.0


@dataclass(frozen=True)
class RiskModel:
    """Volatility and covariance estimates on the universe, after fallbacks.

    Attributes
    ----------
    vol_annual : ndarray, shape (n_assets,)
    cov_short, cov_long, cov_long_shrunk : ndarray, shape (n_assets, n_assets)
        Annualized covariances (short and long window, sample; long window shrunk).
    notices : tuple of Notice
    """

    vol_annual: FloatArray
    cov_short: FloatArray
    cov_long: FloatArray
    cov_long_shrunk: FloatArray
    notices: tuple[Notice, ...] = field(default=())


def estimate_risk(state: PortfolioState, prices: pd.DataFrame,
                  config: MonitorConfig, *, returns: FloatArray | None = None) -> RiskModel:
    """Volatility and covariances from daily returns up to the as-of date, with fallbacks.

    An asset without enough history gets its sector's average volatility (or the target
    portfolio's volatility when its sector has none), flagged "no volatility"; missing
    correlations become zero, flagged "no correlations". ``returns``: the state's
    :func:`risk_returns` when the caller has them (a batch slices them from the returns
    of all its tickers, :func:`window_returns`).
    """
    if returns is None:
        returns = risk_returns(state, prices, config)
    vol, missing_vol = fallback_volatility(returns, state, config.vol_window_days)
    notes: list[Notice] = []
    if missing_vol.any():
        notes.append(notice(Flag.NO_VOLATILITY, "too little price history for a "
                            f"{config.vol_window_days}-day volatility: sector average (else the "
                            "target portfolio's volatility) used, lower confidence",
                            state.tickers[missing_vol]))
    covs = []
    for win, how in ((config.short_window_days, CovarianceEstimator.SAMPLE),
                     (config.long_window_days, CovarianceEstimator.SAMPLE),
                     (config.long_window_days, config.estimator)):
        cov, _, no_corr = fill_covariance(estimate_covariance(returns, win, how), vol)
        covs.append(cov)
        if no_corr.any() and not any(n.flag is Flag.NO_CORRELATIONS for n in notes):
            notes.append(notice(Flag.NO_CORRELATIONS, "correlations unknown for lack of "
                                "overlapping history: zero correlation assumed (conservative)",
                                state.tickers[no_corr]))
    return RiskModel(vol_annual=vol, cov_short=covs[0], cov_long=covs[1],
                     cov_long_shrunk=covs[2], notices=tuple(notes))


@dataclass(frozen=True)
class PlanRisk:
    """What a plan reads of the risk model (:func:`plan_risk`).

    Attributes
    ----------
    vol_annual : ndarray, shape (n_assets,)
        ``estimate_risk(...).vol_annual``.
    cov_long : ndarray, shape (n_assets, n_assets), or None
        ``estimate_risk(...).cov_long`` (None: not asked for).
    notices : tuple of Notice
        ``estimate_risk(...).notices``.
    """

    vol_annual: FloatArray
    cov_long: FloatArray | None
    notices: tuple[Notice, ...] = field(default=())


PLAIN_RETURN_BOUND = 1e30
"""Returns and target weights below this in size cannot overflow the estimators' sums
of squares (:func:`plan_risk` reads such a window without the covariances it does not
need)."""


def plan_risk(state: PortfolioState, prices: pd.DataFrame, config: MonitorConfig, *,
              returns: FloatArray | None = None, with_cov: bool = True,
              vol: FloatArray | None = None) -> PlanRisk:
    """:func:`estimate_risk`'s volatilities, long-window covariance (``with_cov``) and
    notices, to the bit, without the covariances a plan does not read. ``vol``: the
    ``annualized_volatility`` of ``returns`` over the volatility window when the caller
    has it (a batch slices it from that of all its tickers: each column is its own).

    When every return of the window is known (and of a sane size), every window holds
    at least its minimum of observations, and every volatility is known, no estimate
    needs a fallback: there is no notice, no volatility or correlation to fill, and the
    short-window and shrunk covariances (read by the plan only for their notices) are
    not computed. Any other window goes through :func:`estimate_risk` itself.
    """
    if returns is None:
        returns = risk_returns(state, prices, config)
    rows = returns.shape[0]
    windows = (config.vol_window_days, config.short_window_days, config.long_window_days)
    plain = (min(windows) >= 2
             and all(min(w, rows) >= max(w // 2, 2) for w in windows)
             and bool(np.isfinite(returns).all())
             and float(np.abs(state.target_weights).sum()) < PLAIN_RETURN_BOUND
             and (returns.size == 0 or float(np.abs(returns).max()) < PLAIN_RETURN_BOUND))
    if plain:
        if vol is None:
            vol = annualized_volatility(returns, config.vol_window_days)
        if bool(np.isfinite(vol).all()):
            cov = (estimate_covariance(returns, config.long_window_days,
                                       CovarianceEstimator.SAMPLE) if with_cov else None)
            return PlanRisk(vol_annual=vol, cov_long=cov)
    risk = estimate_risk(state, prices, config, returns=returns)
    return PlanRisk(vol_annual=risk.vol_annual, cov_long=risk.cov_long if with_cov else None,
                    notices=risk.notices)


def risk_returns(state: PortfolioState, prices: pd.DataFrame,
                 config: MonitorConfig) -> FloatArray:
    """Daily returns of the longest risk window up to the as-of date, shape (W, N).

    The returns :func:`estimate_risk` reads: the last ``max(windows) + 1`` closes of the
    state's assets, as simple returns (NaN where a close is missing).
    """
    return window_returns(prices, state.as_of, state.tickers, config)


def window_returns(prices: pd.DataFrame, as_of: pd.Timestamp,
                   tickers: Sequence[str] | pd.Index, config: MonitorConfig) -> FloatArray:
    """:func:`risk_returns` of the assets ``tickers`` on ``as_of``, shape (W, N): each
    column its own asset's returns (a column of a wider universe's equals it)."""
    window = max(config.long_window_days, config.vol_window_days, config.short_window_days)
    # the rows cut before the columns are taken: a copy of the window, not of the history
    history = prices.loc[:as_of].iloc[-(window + 1):][list(tickers)]
    return history.pct_change(fill_method=None).iloc[1:].to_numpy(dtype=np.float64)


def fallback_volatility(returns: FloatArray, state: PortfolioState,
                        vol_window_days: int) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Annualized volatility per asset, an unknown one replaced by its fallback.

    Parameters
    ----------
    returns : ndarray, shape (W, N)
        Daily returns up to the as-of date (:func:`risk_returns`).
    state : PortfolioState
        Sectors and target weights of the assets.
    vol_window_days : int
        Volatility window.

    Returns
    -------
    vol_annual : ndarray, shape (N,)
        The volatility of the last ``vol_window_days`` returns; where it is unknown, the
        sector's average, else the target portfolio's volatility.
    missing : ndarray of bool, shape (N,)
        Assets whose volatility is a fallback.
    """
    vol = annualized_volatility(returns, vol_window_days)
    market_vol = _target_portfolio_vol(returns, state.target_weights, vol_window_days)
    fallback = sector_average_volatility(vol, _codes(state.sectors), market_vol)
    missing = ~np.isfinite(vol)
    return np.where(missing, fallback, vol), missing


def _target_portfolio_vol(returns: FloatArray, target: FloatArray, window: int) -> float:
    recent = np.nan_to_num(returns[-window:], nan=0.0)
    series = recent @ target
    return float(np.std(series, ddof=1) * np.sqrt(TRADING_DAYS)) if len(series) > 1 else 0.0


def _codes(labels: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    _, codes = np.unique(labels.astype(str), return_inverse=True)
    return codes.astype(np.int64)
