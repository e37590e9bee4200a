"""Backtest metrics per configuration and a ranking of configurations.

A backtest result holds arrays shaped ``(n_days, n_configs)`` (time first, one column per
configuration). The kernels below reduce the **second-to-last** axis (time), so they take
``(n_days, n_configs)`` as well as bootstrap resamples shaped
``(n_samples, n_days, n_configs)`` and return ``(n_configs,)`` or
``(n_samples, n_configs)``. :func:`policy_metrics` is the pandas edge.

Conventions (where the backtest definition is silent):

* Returns are simple daily returns of the **post-trade** NAV, ``r_t = NAV_t / NAV_{t-1} - 1``
  for ``t = 1 .. T-1``, so the costs paid at close ``t`` lower ``r_t``.
* Standard deviations are sample standard deviations (``ddof = 1``), annualized by
  ``sqrt(periods_per_year)``.
* The risk-free rate of period ``t-1 -> t`` is ``risk_free_annual[t-1] / periods_per_year``
  (the rate known at the start of the period).
* Flows (costs, traded value, rebalances, drift) are taken over **every** day of the
  window, day 0 included: the engine records nothing there when the backtest starts on
  target at no cost, and the opening trade when it starts from given holdings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import TRADING_DAYS, FloatArray
from driftwise.errors import ConfigError, DataError
from driftwise.flags import Flag, Notice, notice

__all__ = [
    "HIGHER_IS_BETTER", "METRIC_COLUMNS", "ResultLike", "annualized_return",
    "annualized_volatility", "cost_per_year", "daily_returns", "dropped_turnover",
    "policy_metrics", "ranking", "result_arrays", "sharpe_ratio", "tracking_error",
    "turnover_notices", "turnover_per_year",
]


METRIC_COLUMNS = (
    "te_annual", "cost_per_year", "cost_total_usd", "borrow_total_usd", "turnover_per_year",
    "n_rebalances",
    "return_annual", "total_return", "final_nav_usd", "vol_annual", "sharpe",
    "ref_return_annual", "ref_vol_annual", "ref_sharpe", "sharpe_diff", "max_drift",
    "mean_drift",
)
"""Columns of :func:`policy_metrics`, in order."""

HIGHER_IS_BETTER = frozenset({
    "return_annual", "total_return", "final_nav_usd", "sharpe", "sharpe_diff",
    "ref_return_annual", "ref_sharpe",
})
"""Metrics where a larger value ranks first; every other metric ranks smallest first."""

RESULT_SOURCE = "backtest result"
"""How errors name a malformed result."""


class ResultLike(Protocol):
    """What the metrics read from a backtest result (``driftwise.backtest.engine``).

    ``T`` trading days, ``C`` configurations. Money in USD, drift as a fraction of NAV.
    """

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Trading days, shape (T,)."""

    @property
    def names(self) -> Sequence[str]:
        """Configuration labels, length C."""

    @property
    def params(self) -> pd.DataFrame:
        """One row per configuration describing what varies."""

    @property
    def nav_usd(self) -> npt.NDArray[Any]:
        """Post-trade NAV at each close, shape (T, C)."""

    @property
    def ref_nav_usd(self) -> npt.NDArray[Any]:
        """NAV of the target rebalanced daily at zero cost, shape (T,)."""

    @property
    def traded_usd(self) -> npt.NDArray[Any]:
        """``sum_i |trade_usd_i|`` per day, shape (T, C)."""

    @property
    def cost_usd(self) -> npt.NDArray[Any]:
        """Trading costs paid per day, shape (T, C)."""

    @property
    def rebalanced(self) -> npt.NDArray[Any]:
        """Whether a rebalance happened that day, bool, shape (T, C)."""

    @property
    def drift(self) -> npt.NDArray[Any]:
        """Portfolio drift before trading, fraction, shape (T, C)."""

    @property
    def post_drift(self) -> npt.NDArray[Any]:
        """Portfolio drift after trading, fraction, shape (T, C)."""

    @property
    def cash_usd(self) -> npt.NDArray[Any]:
        """Cash after trading, shape (T, C)."""

    @property
    def risk_free_annual(self) -> npt.NDArray[Any]:
        """Risk-free rate, annual fraction, shape (T,)."""

    @property
    def config_toml(self) -> Sequence[str]:
        """Each configuration as TOML text, length C."""


# ------------------------------------------------------------------ kernels


def daily_returns(nav: npt.ArrayLike) -> FloatArray:
    """Simple returns ``r_t = NAV_t / NAV_{t-1} - 1`` along the first (time) axis.

    Parameters
    ----------
    nav : array_like, shape (T, ...)
        NAV in USD at each close, positive.

    Returns
    -------
    ndarray, shape (T - 1, ...)
        Return from close ``t - 1`` to close ``t`` in row ``t - 1``, a fraction.
    """
    v = np.asarray(nav, dtype=np.float64)
    return np.asarray(v[1:] / v[:-1] - 1.0, dtype=np.float64)


def annualized_volatility(returns: npt.ArrayLike, *,
                          periods_per_year: float = TRADING_DAYS) -> FloatArray:
    """Annualized volatility ``std(r) * sqrt(P)`` over the time axis.

    Parameters
    ----------
    returns : array_like, shape (..., n, C)
        Per-period returns, fractions; time is the second-to-last axis, ``n >= 2``.
    periods_per_year : float
        ``P``, periods in a year (252 trading days).

    Returns
    -------
    ndarray, shape (..., C)
        Annualized sample standard deviation (``ddof = 1``), a fraction.
    """
    r = np.asarray(returns, dtype=np.float64)
    return np.asarray(np.std(r, axis=-2, ddof=1) * np.sqrt(periods_per_year), dtype=np.float64)


def tracking_error(returns: npt.ArrayLike, ref_returns: npt.ArrayLike, *,
                   periods_per_year: float = TRADING_DAYS) -> FloatArray:
    """Annualized ex-post tracking error ``std(r_p - r_ref) * sqrt(P)``.

    Parameters
    ----------
    returns : array_like, shape (..., n, C)
        Portfolio returns per period, fractions; time is the second-to-last axis.
    ref_returns : array_like, shape (..., n, 1) or broadcastable
        Reference returns (target rebalanced daily at zero cost).
    periods_per_year : float
        Periods in a year.

    Returns
    -------
    ndarray, shape (..., C)
        Annualized tracking error, a fraction.
    """
    active = np.asarray(returns, dtype=np.float64) - np.asarray(ref_returns, dtype=np.float64)
    return annualized_volatility(active, periods_per_year=periods_per_year)


def annualized_return(returns: npt.ArrayLike, *,
                      periods_per_year: float = TRADING_DAYS) -> FloatArray:
    """Geometric annualized return ``prod(1 + r)^(P / n) - 1`` over the time axis.

    Parameters
    ----------
    returns : array_like, shape (..., n, C)
        Per-period returns, fractions (each > -1); time is the second-to-last axis.
    periods_per_year : float
        ``P``, periods in a year.

    Returns
    -------
    ndarray, shape (..., C)
        Compound annual growth rate, a fraction; -1 if the NAV was wiped out.

    Notes
    -----
    Computed as ``exp(P / n * sum(log1p(r))) - 1`` for numerical stability.
    """
    r = np.asarray(returns, dtype=np.float64)
    n = r.shape[-2]
    with np.errstate(divide="ignore"):
        growth = np.sum(np.log1p(r), axis=-2)
    return np.asarray(np.expm1(growth * (periods_per_year / n)), dtype=np.float64)


def sharpe_ratio(excess_returns: npt.ArrayLike, *,
                 periods_per_year: float = TRADING_DAYS) -> FloatArray:
    """Annualized Sharpe ratio ``mean(x) / std(x) * sqrt(P)`` of excess returns.

    Parameters
    ----------
    excess_returns : array_like, shape (..., n, C)
        Returns minus the per-period risk-free rate, fractions; time second-to-last.
    periods_per_year : float
        ``P``, periods in a year.

    Returns
    -------
    ndarray, shape (..., C)
        Sharpe ratio (dimensionless); NaN where the excess returns do not vary.

    Notes
    -----
    Sharpe (1994), "The Sharpe ratio", J. Portfolio Management 21(1); sample standard
    deviation (``ddof = 1``), annualized by ``sqrt(P)`` (Lo 2002).
    """
    x = np.asarray(excess_returns, dtype=np.float64)
    mean = np.mean(x, axis=-2)
    sd = np.std(x, axis=-2, ddof=1)
    out = np.full(mean.shape, np.nan)
    np.divide(mean, sd, out=out, where=sd > 0.0)
    return np.asarray(out * np.sqrt(periods_per_year), dtype=np.float64)


def cost_per_year(cost_usd: npt.ArrayLike, nav_usd: npt.ArrayLike, *,
                  periods_per_year: float = TRADING_DAYS) -> FloatArray:
    """Costs per year as a fraction of NAV, ``P * mean_t(cost_t / NAV_t)``.

    Parameters
    ----------
    cost_usd : array_like, shape (..., n, C)
        Trading costs paid each day, USD; time is the second-to-last axis.
    nav_usd : array_like, shape (..., n, C)
        NAV each day (post-trade, as for :func:`turnover_per_year`), USD.
    periods_per_year : float
        ``P``, trading days in a year.

    Returns
    -------
    ndarray, shape (..., C)
        Yearly costs, a fraction of NAV (0.001 = 10 bps a year).

    Notes
    -----
    Each day's cost as a fraction of that day's NAV, averaged over the
    days and annualized, exactly as turnover is. Dividing the mean cost by the mean NAV
    instead would weight the late days of a growing portfolio more than the early ones,
    costs but not turnover, and shift the empirical optimal threshold.
    """
    c = np.asarray(cost_usd, dtype=np.float64)
    v = np.asarray(nav_usd, dtype=np.float64)
    return np.asarray(periods_per_year * np.mean(c / v, axis=-2), dtype=np.float64)


def turnover_per_year(traded_usd: npt.ArrayLike, nav_usd: npt.ArrayLike, *,
                      periods_per_year: float = TRADING_DAYS) -> FloatArray:
    """One-way turnover per year ``P * mean(1/2 * sum_i |trade_usd_i| / NAV)``.

    Parameters
    ----------
    traded_usd : array_like, shape (..., n, C)
        ``sum_i |trade_usd_i|`` each day, USD; time is the second-to-last axis.
    nav_usd : array_like, shape (..., n, C)
        NAV each day (post-trade), USD.
    periods_per_year : float
        ``P``, trading days in a year.

    Returns
    -------
    ndarray, shape (..., C)
        Yearly turnover, a fraction of NAV (1.0 = the whole portfolio once a year).

    Notes
    -----
    As defined for the backtest, with the day's post-trade NAV as denominator.
    """
    t = np.asarray(traded_usd, dtype=np.float64)
    v = np.asarray(nav_usd, dtype=np.float64)
    return np.asarray(periods_per_year * np.mean(0.5 * t / v, axis=-2), dtype=np.float64)


DROPPED_TURNOVER_LIMIT = 0.05
"""Share of the intended turnover that rounding and minimum trades may drop unflagged."""


def dropped_turnover(traded_usd: npt.ArrayLike, intended_usd: npt.ArrayLike) -> FloatArray:
    """Share of the intended traded value that was not executed, per configuration.

    Parameters
    ----------
    traded_usd, intended_usd : array_like, shape (..., n, C)
        ``sum_i |trade_usd_i|`` executed and intended each day (the sizing's value before
        minimum trades and whole-share rounding), USD; time second-to-last.

    Returns
    -------
    ndarray, shape (..., C)
        ``1 - sum_t traded_t / sum_t intended_t``; NaN where nothing was intended.
    """
    t = np.sum(np.asarray(traded_usd, dtype=np.float64), axis=-2)
    i = np.sum(np.asarray(intended_usd, dtype=np.float64), axis=-2)
    out = np.full(i.shape, np.nan)
    np.divide(t, i, out=out, where=i > 0.0)
    return np.asarray(1.0 - out, dtype=np.float64)


def turnover_notices(names: Sequence[str], traded_usd: npt.ArrayLike,
                     intended_usd: npt.ArrayLike,
                     limit: float = DROPPED_TURNOVER_LIMIT) -> tuple[Notice, ...]:
    """A notice for each configuration whose rounding and minimum trades dropped more
    than ``limit`` of its intended turnover (:func:`dropped_turnover`)."""
    share = dropped_turnover(traded_usd, intended_usd)
    out = []
    for name, s in zip(names, share, strict=True):
        if s > limit:
            out.append(notice(Flag.TURNOVER_DROPPED, (
                f"{name}: whole-share rounding and minimum trades dropped {s:.0%} of the "
                "intended turnover; for a frictionless study set constraints.whole_shares = "
                "false and constraints.min_trade_usd = 0, or start from a larger NAV")))
    return tuple(out)


# --------------------------------------------------------------- validation


def _field(result: ResultLike, name: str, shape: tuple[int, ...]) -> FloatArray:
    try:
        v = np.asarray(getattr(result, name), dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("not numeric", file=RESULT_SOURCE, field=name) from None
    if v.shape != shape:
        raise DataError("array of the wrong shape", file=RESULT_SOURCE, field=name,
                        expected=str(shape), found=str(v.shape))
    if not np.all(np.isfinite(v)):
        raise DataError("non-finite value", file=RESULT_SOURCE, field=name,
                        expected="finite numbers", found="NaN or inf")
    return v


def result_arrays(result: ResultLike) -> dict[str, FloatArray]:
    """The result's arrays as float64, checked for shape ``(T, C)`` / ``(T,)`` and finiteness.

    Returns
    -------
    dict of str to ndarray
        ``nav_usd, traded_usd, cost_usd, rebalanced, drift`` shaped (T, C) and
        ``ref_nav_usd, risk_free_annual`` shaped (T,); ``rebalanced`` as 0.0 / 1.0.

    Raises
    ------
    DataError
        Naming the field: wrong shape, non-finite value, fewer than 3 days, a NAV that
        is not positive, a negative traded value or cost.
    """
    nav = np.asarray(result.nav_usd)
    if nav.ndim != 2 or nav.shape[0] < 3:
        raise DataError("needs a (days, configurations) array with at least 3 days",
                        file=RESULT_SOURCE, field="nav_usd", found=str(nav.shape))
    shape = (nav.shape[0], len(result.names))
    out = {name: _field(result, name, shape)
           for name in ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift")}
    for name in ("ref_nav_usd", "risk_free_annual"):
        out[name] = _field(result, name, shape[:1])
    for name in ("nav_usd", "ref_nav_usd"):
        if not np.all(out[name] > 0.0):
            raise DataError("NAV must stay positive", file=RESULT_SOURCE, field=name,
                            found=f"{out[name].min():g}")
    for name in ("traded_usd", "cost_usd"):
        if not np.all(out[name] >= 0.0):
            raise DataError("negative value", file=RESULT_SOURCE, field=name,
                            expected="values >= 0", found=f"{out[name].min():g}")
    return out


# ------------------------------------------------------------------- edges


def policy_metrics(result: ResultLike, *,
                   periods_per_year: float = TRADING_DAYS) -> pd.DataFrame:
    """The backtest metrics, one row per configuration.

    Parameters
    ----------
    result : ResultLike
        A backtest result with ``T >= 3`` days and ``C`` configurations.
    periods_per_year : float
        Trading days in a year (252).

    Returns
    -------
    pandas.DataFrame
        Index: the configuration names (``config``); columns :data:`METRIC_COLUMNS`:
        ``te_annual`` (annualized TE vs the reference), ``cost_per_year`` (fraction of
        NAV, each day's cost over that day's NAV), ``cost_total_usd`` (borrow
        included), ``borrow_total_usd`` (the borrow fees of shorts held overnight),
        ``turnover_per_year`` (fraction of NAV),
        ``n_rebalances``, ``return_annual`` (geometric), ``total_return``,
        ``final_nav_usd``, ``vol_annual``, ``sharpe``, the reference's
        ``ref_return_annual``, ``ref_vol_annual``, ``ref_sharpe``,
        ``sharpe_diff = sharpe - ref_sharpe``, ``max_drift`` and ``mean_drift`` (drift
        before trading, fraction of NAV). Fractions, not percents.

    Raises
    ------
    DataError
        A malformed result (see :func:`result_arrays`).

    Notes
    -----
    Conventions in the module docstring; the kernels are :func:`tracking_error`,
    :func:`cost_per_year`, :func:`turnover_per_year`, :func:`annualized_return`,
    :func:`annualized_volatility` and :func:`sharpe_ratio`.
    """
    a = result_arrays(result)
    p = periods_per_year
    nav, ref = a["nav_usd"], a["ref_nav_usd"][:, None]
    r, r_ref = daily_returns(nav), daily_returns(ref)
    rf = a["risk_free_annual"][:-1, None] / p
    sharpe = sharpe_ratio(r - rf, periods_per_year=p)
    ref_sharpe = sharpe_ratio(r_ref - rf, periods_per_year=p)
    n_configs = nav.shape[1]

    def ref_col(x: FloatArray) -> FloatArray:
        return np.broadcast_to(x, (n_configs,))

    columns: dict[str, npt.ArrayLike] = {
        "te_annual": tracking_error(r, r_ref, periods_per_year=p),
        "cost_per_year": cost_per_year(a["cost_usd"], nav, periods_per_year=p),
        "cost_total_usd": a["cost_usd"].sum(axis=0),
        "borrow_total_usd": (np.zeros(n_configs) if getattr(result, "borrow_usd", None) is None
                             else np.asarray(result.borrow_usd).sum(axis=0)),  # type: ignore[attr-defined]
        "turnover_per_year": turnover_per_year(a["traded_usd"], nav, periods_per_year=p),
        "n_rebalances": (a["rebalanced"] != 0.0).sum(axis=0),
        "return_annual": annualized_return(r, periods_per_year=p),
        "total_return": nav[-1] / nav[0] - 1.0,
        "final_nav_usd": nav[-1],
        "vol_annual": annualized_volatility(r, periods_per_year=p),
        "sharpe": sharpe,
        "ref_return_annual": ref_col(annualized_return(r_ref, periods_per_year=p)),
        "ref_vol_annual": ref_col(annualized_volatility(r_ref, periods_per_year=p)),
        "ref_sharpe": ref_col(ref_sharpe),
        "sharpe_diff": sharpe - ref_sharpe,
        "max_drift": a["drift"].max(axis=0),
        "mean_drift": a["drift"].mean(axis=0),
    }
    index = pd.Index(list(result.names), name="config")
    return pd.DataFrame(columns, index=index)


def ranking(metrics: pd.DataFrame, by: Sequence[str] = ("te_annual", "cost_per_year"), *,
            tracking_aversion: float | None = 2.0) -> pd.DataFrame:
    """Configurations ranked best first.

    Parameters
    ----------
    metrics : pandas.DataFrame
        A :func:`policy_metrics` frame (or any frame holding the ``by`` columns and,
        for the utility, ``te_annual`` and ``cost_per_year``).
    by : sequence of str
        Columns ordering the rows lexicographically; each ranks smallest first except
        :data:`HIGHER_IS_BETTER` metrics. With a utility they only break ties.
    tracking_aversion : float or None
        ``gamma`` of the utility score (default 2.0, the ``policy.tracking_aversion``
        default). ``None`` ranks purely lexicographically by ``by``.

    Returns
    -------
    pandas.DataFrame
        The rows sorted best first, with ``rank`` (1 = best) and, with a utility,
        ``score`` (a yearly cost, fraction of NAV; smaller is better).

    Raises
    ------
    ConfigError
        An unknown column, an empty ``by`` without a utility, or a negative or
        non-finite ``tracking_aversion``.

    Notes
    -----
    Utility score ``gamma / 2 * te_annual^2 + cost_per_year``: the certainty-equivalent
    loss of a year of tracking error (mean-variance, as the cost-benefit rule of
    section 3.5) plus the costs paid in that year, both fractions of NAV per year.
    """
    keys = list(by)
    needed = keys + (["te_annual", "cost_per_year"] if tracking_aversion is not None else [])
    missing = [c for c in needed if c not in metrics.columns]
    if missing:
        raise ConfigError(f"ranking: unknown column(s) {missing}; "
                          f"available: {list(metrics.columns)}")
    out = metrics.drop(columns=[c for c in ("rank", "score") if c in metrics.columns])
    keys = [k for k in keys if k not in ("rank", "score")]
    sort_keys: list[FloatArray] = []
    if tracking_aversion is not None:
        gamma = float(tracking_aversion)
        if not (np.isfinite(gamma) and gamma >= 0.0):
            raise ConfigError(f"tracking_aversion must be a non-negative number, "
                              f"found {tracking_aversion!r}")
        te = out["te_annual"].to_numpy(dtype=np.float64)
        out["score"] = 0.5 * gamma * te**2 + out["cost_per_year"].to_numpy(dtype=np.float64)
        keys = ["score", *keys]
    elif not keys:
        raise ConfigError("ranking: give at least one column in 'by' or a tracking_aversion")
    for key in keys:
        values = out[key].to_numpy(dtype=np.float64)
        sort_keys.append(-values if key in HIGHER_IS_BETTER else values)
    order = np.lexsort(sort_keys[::-1])  # the last key is the primary one in lexsort
    out = out.iloc[order]
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
