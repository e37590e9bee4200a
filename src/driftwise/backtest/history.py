"""Per-day market inputs of a backtest, each estimated once, when something reads it.

:func:`build_history` turns an :class:`~driftwise.data.model.Inputs` into a
:class:`MarketHistory`: for every day ``t`` of the window, the inputs the planner
(:func:`driftwise.app.plan.make_plan`) would compute on ``t`` from the data up to and
including ``t``, and nothing later:

* ``prices`` (the close of ``t``), ``vix`` (as :func:`driftwise.data.market.vix_on`: the last
  close, carried forward at most 5 sessions) and ``risk_free_annual`` (last value on or
  before ``t``);
* ``vol_annual`` as :func:`driftwise.metrics.risk_model.estimate_risk` (the estimator
  :func:`~driftwise.metrics.risk.annualized_volatility`; a day where an asset lacks
  history takes the planner's fallback volatility,
  :func:`~driftwise.metrics.risk_model.fallback_volatility`, without covariances), and
  the long-window covariance ``cov_long`` on demand (:meth:`MarketHistory.cov_on`);
* the cost model's inputs as :func:`driftwise.costs.build_cost_inputs`
  (:meth:`MarketHistory.cost_inputs`): the rolling estimators
  (:func:`~driftwise.costs.daily_volatility`, :func:`~driftwise.costs.adv_shares`), then
  the day's estimates through :class:`~driftwise.costs.build.CostInputsBuilder`, the code
  of ``build_cost_inputs`` itself (fallbacks and staleness); for a caller that reads every
  day (the rule-validation study), every day's at once (:attr:`MarketHistory.cost_window`)
  and their coefficients under a cost setting (:meth:`MarketHistory.cost_table`), equal to
  the day's own to the bit;
* the calendar flags as :func:`driftwise.app.plan.calendar_flags`.

Only the prices, VIX and risk-free rate are read up front. A whole-window input
(``vol_annual``, ``sigma_daily``, ``adv_shares``, ``stale``, ``calendar``) is built on first read;
one day's value (:meth:`MarketHistory.vol_on`, :meth:`~MarketHistory.cost_inputs`, ...) is
taken from it when it exists and otherwise estimated for that day alone, so a threshold
rule that trades 40 times in ten years estimates 40 days. The rolling estimators are
compiled, one pass over each window, adding its rows in numpy's order
(:func:`~driftwise.metrics.risk.rolling_annualized_volatility`,
:func:`~driftwise.costs.estimation.rolling_daily_volatility`,
:func:`~driftwise.costs.estimation.rolling_adv_shares`): every value equals the planner's
per-day function to the bit. ``tests/backtest/test_history.py`` checks each input
against the planner's own function, and what a run built against what its grid reads.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.calendar import (
    DateLike,
    as_day,
    nyse_sessions,
    period_first_sessions,
    period_last_sessions,
)
from driftwise.costs import AssetCostInputs, CostParams, CostTable, cost_coefficients
from driftwise.costs.build import CostInputsBuilder, DayEstimates, min_history_periods
from driftwise.costs.estimation import rolling_adv_shares, rolling_daily_volatility
from driftwise.costs.regime import regime_multiplier
from driftwise.data.market import vix_series_on
from driftwise.data.model import Holdings, Inputs
from driftwise.errors import ConfigError, DataError
from driftwise.metrics.risk import (
    CovarianceEstimator,
    estimate_covariance,
    fill_covariance,
    rolling_annualized_volatility,
)
from driftwise.metrics.risk_model import MonitorConfig, fallback_volatility, risk_returns
from driftwise.metrics.rolling_cov import block_days, rolling_sample_covariance
from driftwise.policy.context import Anchor, Frequency, MarketDay
from driftwise.policy.triggers import DayInput
from driftwise.state import build_state

CalendarFlags = frozenset[tuple[Frequency, Anchor]]
_T = TypeVar("_T")
_G = TypeVar("_G", bound=np.generic)

KEEP_COST_CELLS = 4_000_000
"""Most (day, asset) cells whose cost inputs a history keeps for every day."""
KEEP_COV_CELLS = 16_000_000
"""Most (day, asset, asset) cells of the rolling covariances kept ahead
(:meth:`MarketHistory.cov_rolling_on`; 128 MB)."""


@dataclass(frozen=True)
class RiskSettings:
    """How the per-day risk inputs are estimated (the ``[risk]`` settings a backtest reads).

    Attributes
    ----------
    vol_window_days : int
        Window of the per-asset volatility (trading days).
    short_window_days, long_window_days : int
        Covariance windows; the long one is the covariance of the full TE model.
    full_te : bool
        TE from the full covariance (``te_model = "full"``) instead of the diagonal.
    """

    vol_window_days: int = 60
    short_window_days: int = 60
    long_window_days: int = 252
    full_te: bool = False

    def monitor(self) -> MonitorConfig:
        """The monitor settings with these windows (what ``estimate_risk`` reads)."""
        return MonitorConfig(vol_window_days=self.vol_window_days,
                             short_window_days=self.short_window_days,
                             long_window_days=self.long_window_days)


@dataclass(frozen=True)
class HistorySettings:
    """What the per-day estimates depend on (one history per value).

    Attributes
    ----------
    risk : RiskSettings
        Risk estimation windows and TE model.
    costs : CostParams
        The cost parameters the cost model's inputs are estimated with
        (:meth:`CostParams.estimation <driftwise.costs.CostParams.estimation>`: windows,
        tiers, proxies, default commission and borrow, staleness; the pricing fields at
        their defaults).
    """

    risk: RiskSettings
    costs: CostParams

    @classmethod
    def of(cls, risk: RiskSettings, costs: CostParams) -> HistorySettings:
        """The settings a rule with ``risk`` and ``costs`` reads (rules whose settings are
        equal share a history)."""
        return cls(risk, costs.estimation())


HISTORY_INPUTS = ("vol_annual", "sigma_daily", "adv_shares", "stale", "calendar",
                  "fallback_volatility", "covariance")
"""The per-day inputs a history estimates on demand (the keys of :attr:`MarketHistory.built`)."""


ALONE_FRACTION = 0.125
"""Fraction of the window's days an input is estimated for one by one before the rest of
the window is estimated at once (one pass over every day costs a few hundred single days)."""


@dataclass(frozen=True, eq=False)
class MarketHistory:
    """Market inputs of every day of a backtest window, shared by all configurations.

    Shapes: ``T`` days of the window, ``N`` assets of the universe (sorted tickers).

    Only the prices, dates, VIX and risk-free rate (lookups of one value a day) are
    computed when the history is built; every other input is estimated when it is first
    read, once: a whole-window array (:attr:`vol_annual`, :attr:`sigma_daily`,
    :attr:`adv_shares`, :attr:`stale`, :attr:`calendar`) on first access, a single day
    (:meth:`vol_on`, :meth:`sigma_on`, :meth:`adv_on`, :meth:`cost_inputs`,
    :meth:`cov_on`) from the whole array when it was built, else by the same compiled
    estimator on that day alone (the values are the same either way; past
    :data:`ALONE_FRACTION` of the days read alone, the rest of the window at once).
    :attr:`built` counts the days estimated of each input; :meth:`prepare` builds, before
    work is forked, what a grid reads every day.

    Attributes
    ----------
    dates : pd.DatetimeIndex, shape (T,)
    tickers : pd.Index, shape (N,)
    rows : ndarray of int, shape (T,)
        Position of each day in the full price history (``inputs.market.prices``).
    prices : ndarray, shape (T, N)
        Adjusted close (USD), every one finite and positive.
    vix : ndarray, shape (T,)
        VIX close on or before the day (index points), NaN when unknown (as
        :func:`driftwise.data.market.vix_on`: carried forward at most 5 sessions).
    risk_free_annual : ndarray, shape (T,)
        Risk-free rate (annual fraction) on or before the day, 0 when unknown.
    settings : HistorySettings
    """

    dates: pd.DatetimeIndex
    tickers: pd.Index
    rows: IntArray
    prices: FloatArray
    vix: FloatArray
    risk_free_annual: FloatArray
    settings: HistorySettings
    _days: npt.NDArray[np.datetime64] = field(repr=False)
    _full: FloatArray = field(repr=False)
    _inputs: Inputs = field(repr=False)
    _builder: CostInputsBuilder = field(repr=False)
    _cache: dict[str, tuple[int, object]] = field(repr=False, default_factory=dict)
    _kept_costs: dict[int, AssetCostInputs] = field(repr=False, default_factory=dict)
    _growth: dict[tuple[bytes, float, bytes | None], FloatArray] = field(
        repr=False, default_factory=dict)
    _built: dict[str, int] = field(repr=False, default_factory=dict)
    _tables: dict[CostParams, tuple[CostTable, FloatArray]] = field(
        repr=False, default_factory=dict)

    @property
    def n_days(self) -> int:
        """T."""
        return len(self.dates)

    @property
    def built(self) -> dict[str, int]:
        """Days estimated so far of each input (names of :data:`HISTORY_INPUTS`; T when
        the whole window was built, absent when never read)."""
        return dict(self._built)

    def _count(self, name: str, days: int) -> None:
        self._built[name] = self._built.get(name, 0) + days

    def _has(self, name: str) -> bool:
        """Whether the whole-window array ``name`` was built."""
        return name in self.__dict__

    def _whole(self, name: str) -> bool:
        """Whether day reads of ``name`` take the whole-window array: once it is built, or
        once :data:`ALONE_FRACTION` of the days were estimated alone (a grid that trades
        on most days: the rest is estimated at once, which costs less)."""
        if self._has(name):
            return True
        if self._built.get(name, 0) < ALONE_FRACTION * self.n_days:
            return False
        getattr(self, name)
        return True

    # ------------------------------------------------------- whole-window inputs

    @cached_property
    def vol_annual(self) -> FloatArray:
        """Annualized volatility after fallbacks, shape (T, N), as
        ``estimate_risk(...).vol_annual`` on each day."""
        vol = self._raw_vol(self.rows)
        self._count("vol_annual", self.n_days)
        for k in np.flatnonzero(~np.isfinite(vol).all(axis=1)).tolist():
            vol[k] = self._vol_fallback(k)
        return vol

    @cached_property
    def sigma_daily(self) -> FloatArray:
        """The cost model's daily volatility before fallbacks (NaN: too little history),
        shape (T, N)."""
        self._count("sigma_daily", self.n_days)
        return self._raw_sigma(self.rows)

    @cached_property
    def adv_shares(self) -> FloatArray | None:
        """The cost model's ADV before the market-cap proxy, shape (T, N) (None without
        volumes)."""
        if self._volumes is None:
            return None
        self._count("adv_shares", self.n_days)
        return in_parts(self._raw_adv, self.rows)

    @cached_property
    def stale(self) -> BoolArray:
        """Cost-file rows older than ``stale_after_days`` on each day, shape (T, N)."""
        self._count("stale", self.n_days)
        return self._builder.stale_on(self.dates)

    @cached_property
    def stale_any(self) -> BoolArray:
        """Days with any stale cost input, shape (T,): the planner's plan is invalid then."""
        return np.asarray(self.stale.any(axis=1), dtype=bool)

    @cached_property
    def calendar(self) -> tuple[CalendarFlags, ...]:
        """Period boundaries of each day, as :func:`driftwise.app.plan.calendar_flags`,
        length T."""
        self._count("calendar", self.n_days)
        return calendar_flags(self.dates)

    @cached_property
    def calendar_masks(self) -> dict[tuple[Frequency, Anchor], BoolArray]:
        """``calendar`` as one mask shaped (T,) per (frequency, anchor) that occurs."""
        keys = sorted({key for flags in self.calendar for key in flags})
        return {key: np.fromiter((key in flags for flags in self.calendar), dtype=bool,
                                 count=self.n_days) for key in keys}

    def prepare(self, reads: frozenset[DayInput], *, stale: bool = True) -> None:
        """Build now the whole-window inputs that ``reads`` (the day's inputs a grid reads
        every day, :attr:`Trigger.reads <driftwise.policy.triggers.Trigger.reads>`) and the
        plan's validity (``stale``) need, so that processes forked afterwards share them.

        Inputs read on a trade day only (the day's cost inputs, volatility or covariance
        of the rows that fire) are estimated for that day when it comes.
        """
        if stale:
            _ = self.stale_any
        if DayInput.VOLATILITY in reads:
            _ = self.vol_annual
        if DayInput.CALENDAR in reads:
            _ = self.calendar_masks
        if DayInput.COSTS in reads:
            _ = self.sigma_daily, self.adv_shares, self.stale
            self.prepare_cost_inputs()

    # ------------------------------------------------------------ single days

    def vol_on(self, k: int) -> FloatArray:
        """``vol_annual[k]``, shape (N,): estimated for day ``k`` alone unless the whole
        window was built."""
        if self._whole("vol_annual"):
            return np.asarray(self.vol_annual[k], dtype=np.float64)
        return self._cached("vol", k, lambda: self._vol_day(k))

    def _vol_day(self, k: int) -> FloatArray:
        self._count("vol_annual", 1)
        vol = self._raw_vol(self.rows[k: k + 1])[0]
        return vol if np.isfinite(vol).all() else self._vol_fallback(k)

    def sigma_on(self, k: int) -> FloatArray:
        """``sigma_daily[k]``, shape (N,) (estimated for day ``k`` alone unless built)."""
        if self._whole("sigma_daily"):
            return np.asarray(self.sigma_daily[k], dtype=np.float64)
        return self._cached("sigma", k, lambda: self._one_day("sigma_daily", k, self._raw_sigma))

    def adv_on(self, k: int) -> FloatArray | None:
        """``adv_shares[k]``, shape (N,), or None without volumes (estimated for day ``k``
        alone unless built)."""
        if self._volumes is None:
            return None
        if self._whole("adv_shares"):
            adv = self.adv_shares
            assert adv is not None
            return np.asarray(adv[k], dtype=np.float64)
        return self._cached("adv", k, lambda: self._one_day("adv_shares", k, self._raw_adv))

    def stale_on(self, k: int) -> BoolArray:
        """``stale[k]``, shape (N,) (for day ``k`` alone unless built)."""
        if self._has("stale"):
            return np.asarray(self.stale[k], dtype=bool)
        return self._cached("stale", k, lambda: self._stale_day(k))

    def _stale_day(self, k: int) -> BoolArray:
        self._count("stale", 1)
        return np.asarray(self._builder.stale_on(self.dates[k: k + 1])[0], dtype=bool)

    def _one_day(self, name: str, k: int, estimate: Callable[[IntArray], FloatArray]
                 ) -> FloatArray:
        """Row ``k`` of the whole-window input ``name``, estimated for day ``k`` alone."""
        self._count(name, 1)
        return np.asarray(estimate(self.rows[k: k + 1])[0], dtype=np.float64)

    @property
    def days(self) -> npt.NDArray[np.datetime64]:
        """``dates`` as ``datetime64[D]``, shape (T,) (the planner's ``DayContext.date``)."""
        return self._days

    def day(self, k: int, *, with_cov: bool = False, with_calendar: bool = True,
            rolling_cov: bool = False) -> MarketDay:
        """The market on day ``k``, as a context takes it: one value for every row
        (``with_cov``: the covariance :meth:`cov_on`, or :meth:`cov_rolling_on` with
        ``rolling_cov``, else None; without
        ``with_calendar``, for a trigger that reads no calendar, no period boundary)."""
        return MarketDay(date=self._days[k], prices_usd=self.prices[k],
                         vol_annual=self.vol_on(k),
                         cov_annual=((self.cov_rolling_on(k) if rolling_cov else self.cov_on(k))
                                     if with_cov else None),
                         vix=float(self.vix[k]),
                         calendar=self.calendar[k] if with_calendar else frozenset(),
                         first_day=k == 0)

    def block(self, k: int, span: int, n_rows: int, *, with_vol: bool = True,
              with_calendar: bool = True) -> MarketDay:
        """The market on days ``k .. k + span - 1`` for a context with one row per (day,
        row) pair, day-major (``n_rows`` rows a day): each row's date, volatility, VIX,
        calendar masks and first-day flag; ``prices_usd`` the ``span`` closes (span, N).
        A trigger that reads no volatility (``with_vol`` false) gets none (shape
        ``(rows, 0)``), one that reads no calendar no period boundary."""
        def per_row(day_values: npt.NDArray[_G]) -> npt.NDArray[_G]:
            return day_values if n_rows == 1 else np.repeat(day_values, n_rows, axis=0)

        days = slice(k, k + span)
        masks = self.calendar_masks if with_calendar else {}
        return MarketDay(
            date=per_row(self._days[days]), prices_usd=self.prices[days],
            vol_annual=per_row(self.vol_annual[days] if with_vol else np.zeros((span, 0))),
            vix=per_row(self.vix[days]),
            calendar={key: per_row(mask[days]) for key, mask in masks.items()},
            first_day=per_row(np.arange(k, k + span) == 0))

    def cov_on(self, k: int) -> FloatArray:
        """Annualized long-window covariance on day ``k``, shape (N, N).

        Exactly ``estimate_risk(...).cov_long``: the sample covariance of the last
        ``long_window_days`` returns, missing entries filled from ``vol_on(k)``
        (:func:`~driftwise.metrics.risk.fill_covariance`). Computed on demand (one
        day is kept), since ``(T, N, N)`` does not fit in memory for large universes.
        """
        return self._cached("cov", k, lambda: self._cov(k))

    def covs_on(self, ks: IntArray) -> FloatArray:
        """:meth:`cov_on` of many days at once, shape (K, N, N).

        The rolling estimator (:func:`~driftwise.metrics.rolling_cov.rolling_sample_covariance`:
        ``O(N^2)`` a day, equal to the day's ``estimate_covariance`` to 1e-12 of each
        pair's ``sqrt(var_i var_j)``, not to the bit), then the same fill from ``vol_on(k)``.
        """
        days = np.asarray(ks, dtype=np.intp)
        self._count("covariance", len(days))
        raw = rolling_sample_covariance(self._returns, self.rows[days],
                                        self.settings.risk.long_window_days)
        # a day without a missing entry is its own fill: only the others are filled (a
        # NaN entry makes its day's sum NaN; the sums need no (K, N, N) mask)
        gaps = np.flatnonzero(np.isnan(raw.sum(axis=(1, 2)))) if len(days) else days
        for j in gaps.tolist():
            raw[j] = fill_covariance(raw[j], self.vol_on(int(days[j])))[0]
        return raw

    def cov_rolling_on(self, k: int) -> FloatArray:
        """:meth:`cov_on` by the rolling estimator (:meth:`covs_on`: equal to it to 1e-12
        of each pair's ``sqrt(var_i var_j)``, not to the bit), shape (N, N), for a rule
        that reads the covariance on most days and is not held to the planner's bits (the
        optimized destination, equal to the planner to 1e-9 of NAV).

        Day ``k`` is estimated with the rest of its block of the rolling estimator
        (:func:`~driftwise.metrics.rolling_cov.block_days` consecutive rows, at most
        :data:`KEEP_COV_CELLS` cells), which is kept until a day outside it is read: one
        window pass per block and ``O(N^2)`` a day, where :meth:`cov_on` costs
        ``O(window N^2)`` every day.
        """
        hit = self._cache.get("cov_rolling")
        if hit is not None:
            first, covs = cast(tuple[int, FloatArray], hit[1])
            if first <= k < first + len(covs):
                return np.asarray(covs[k - first], dtype=np.float64)
        n = len(self.tickers)
        span = block_days(self.settings.risk.long_window_days)
        days = min(span - int(self.rows[k]) % span, self.n_days - k,
                   max(1, KEEP_COV_CELLS // max(n * n, 1)))
        covs = self.covs_on(np.arange(k, k + days))
        self._cache["cov_rolling"] = (k, (k, covs))
        return np.asarray(covs[0], dtype=np.float64)

    def _cov(self, k: int) -> FloatArray:
        self._count("covariance", 1)
        row = int(self.rows[k])
        risk = self.settings.risk
        win = risk.long_window_days
        first = max(1, row - max(risk.long_window_days, risk.vol_window_days,
                                 risk.short_window_days) + 1)
        window = self._returns[first: row + 1]
        raw = estimate_covariance(window, win, CovarianceEstimator.SAMPLE)
        return fill_covariance(raw, self.vol_on(k))[0]

    def cost_inputs(self, k: int) -> AssetCostInputs:
        """The cost model's inputs on day ``k``, as ``build_cost_inputs(..., as_of=day)``.

        The day's prices, rolling estimates and staleness go through the builder's own
        fallback code (tier spread, ADV proxy, volatility fallbacks, all-in estimates).
        Every day is kept once built when the window has at most
        :data:`KEEP_COST_CELLS` (day, asset) cells (about 80 bytes a cell: 100 MB for
        500 assets over 10 years), so batches and runs sharing this history build each
        day once; otherwise only the last day is kept.
        """
        if self.n_days * len(self.tickers) > KEEP_COST_CELLS:
            return self._cached("costs", k, lambda: self._cost_inputs(k))
        hit = self._kept_costs.get(k)
        if hit is None:
            hit = self._kept_costs[k] = self._cost_inputs(k)
        return hit

    def costs_whole(self) -> bool:
        """Whether day reads of the cost model take the whole window (:attr:`cost_window`,
        :meth:`cost_table`, :meth:`cost_cells`): once the window is built, or once
        :data:`ALONE_FRACTION` of the days were built alone (a rule that trades on most
        days: the rest of the window at once costs less); never past
        :data:`KEEP_COST_CELLS` cells. Either way a day's values are the same, to the bit."""
        if "cost_window" in self.__dict__:
            return self.cost_window is not None
        if (self.n_days * len(self.tickers) > KEEP_COST_CELLS
                or len(self._kept_costs) < ALONE_FRACTION * self.n_days):
            return False
        return self.cost_window is not None

    def cost_cells(self, k: int, name: str) -> FloatArray:
        """Field ``name`` of :attr:`cost_window` on day ``k``, shape (N,): a view, equal to
        the bit to that field of :meth:`cost_inputs` ``(k)``."""
        window = self.cost_window
        assert window is not None, "cost_cells needs the window (costs_whole)"
        n = len(self.tickers)
        return cast(FloatArray, getattr(window, name)[k * n: (k + 1) * n])

    @cached_property
    def cost_window(self) -> AssetCostInputs | None:
        """The cost model's inputs of every day at once: one
        :class:`~driftwise.costs.AssetCostInputs` over the ``T * N`` (day, asset) cells,
        day-major (cell ``k * N + i`` equal to the bit to asset ``i`` of
        :meth:`cost_inputs` ``(k)``: :meth:`CostInputsBuilder.window
        <driftwise.costs.build.CostInputsBuilder.window>` on the whole-window estimates);
        None past :data:`KEEP_COST_CELLS` cells."""
        if self.n_days * len(self.tickers) > KEEP_COST_CELLS:
            return None
        return self._builder.window(DayEstimates(
            price_usd=self.prices, sigma_daily=self.sigma_daily, adv_shares=self.adv_shares,
            stale=self.stale))

    def cost_table(self, params: CostParams) -> tuple[CostTable, FloatArray] | None:
        """The cost coefficients of every day under ``params``, as one table of ``T``
        parameter sets (set ``k`` = day ``k``), and each day's VIX regime multiplier,
        shape (T,); None past :data:`KEEP_COST_CELLS` cells.

        Set ``k`` and multiplier ``k`` are, to the bit, those of
        ``cost_coefficients(cost_inputs(k), params, vix_k)`` (the one cost model, element
        by element over :attr:`cost_window`; the VIX NaN: the lowest regime). Kept per
        ``params``.
        """
        window = self.cost_window
        if window is None:
            return None
        hit = self._tables.get(params)
        if hit is None:
            shape = (self.n_days, len(self.tickers))
            c = cost_coefficients(window, params)

            def days(values: FloatArray) -> FloatArray:
                return np.ascontiguousarray(np.broadcast_to(values, (window.n_assets,))
                                            .reshape(shape), dtype=np.float64)
            coef = np.stack([days(v) for v, _ in c.impact], axis=1) if c.impact else \
                np.zeros((shape[0], 0, shape[1]))
            power = np.tile(np.array([float(p) for _, p in c.impact], dtype=np.float64),
                            (shape[0], 1))
            table = CostTable(days(c.spread_frac), days(c.commission_frac),
                              days(c.min_ticket_usd), days(c.flat_frac),
                              np.full(shape[0], bool(c.flat_by_regime)), coef, power)
            vix = np.asarray(self.vix, dtype=np.float64)
            mult = np.asarray(regime_multiplier(vix, params), dtype=np.float64).reshape(-1)
            hit = self._tables[params] = (table, mult)
        return hit

    def reference_growth(self, target: FloatArray, target_cash: float,
                         cash_growth: FloatArray | None = None) -> FloatArray:
        """Daily growth of the target weights rebalanced every close at no cost, (T - 1,).

        ``g_t = sum_i t_i p_{t+1,i} / p_{t,i} + t_cash c_{t+1}``, ``c_{t+1}`` the growth of
        cash over the night to ``t + 1`` (``1 + rf_t / 252``, the engine's
        ``Batch.cash_growth``; None: cash earns nothing, ``c = 1``); kept per target, since
        every run on this history has the same reference portfolio.
        """
        key = (np.ascontiguousarray(target, dtype=np.float64).tobytes(), float(target_cash),
               None if cash_growth is None else cash_growth.tobytes())
        hit = self._growth.get(key)
        if hit is None:
            cash = (target_cash if cash_growth is None
                    else target_cash * np.asarray(cash_growth[1:], dtype=np.float64))
            hit = self._growth[key] = np.asarray(
                (self.prices[1:] / self.prices[:-1]) @ target + cash, dtype=np.float64)
        return hit

    def prepare_cost_inputs(self) -> None:
        """Build every day's cost inputs now (before work is shared among processes)."""
        if self.n_days * len(self.tickers) <= KEEP_COST_CELLS:
            for k in range(self.n_days):
                self.cost_inputs(k)

    def _cost_inputs(self, k: int) -> AssetCostInputs:
        return self._builder.inputs(DayEstimates(
            price_usd=self.prices[k], sigma_daily=self.sigma_on(k), adv_shares=self.adv_on(k),
            stale=self.stale_on(k)))

    # -------------------------------------------------------------- estimators

    @cached_property
    def _returns(self) -> FloatArray:
        """Simple returns of the full price history (first row NaN), shape (R, N)."""
        full = self._full
        returns = np.empty_like(full)
        returns[0] = np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            np.subtract(full[1:] / full[:-1], 1.0, out=returns[1:])
        return returns

    @cached_property
    def _volumes(self) -> FloatArray | None:
        volumes = self._inputs.market.volumes
        if volumes is None:
            return None
        index = self._inputs.market.prices.index
        return volumes.reindex(index=index, columns=self.tickers).to_numpy(dtype=np.float64)

    def _raw_vol(self, ends: IntArray) -> FloatArray:
        """``annualized_volatility`` of the windows ending at ``ends`` (before fallbacks)."""
        return rolling_annualized_volatility(self._returns, ends,
                                             self.settings.risk.vol_window_days)

    def _raw_sigma(self, ends: IntArray) -> FloatArray:
        params = self.settings.costs
        return rolling_daily_volatility(self._full, ends, params.vol_window_days,
                                        min_history_periods(params.vol_window_days, params))

    def _raw_adv(self, ends: IntArray) -> FloatArray:
        params = self.settings.costs
        assert self._volumes is not None
        return rolling_adv_shares(self._volumes, ends, params.adv_window_days,
                                  min_history_periods(params.adv_window_days, params))

    def _vol_fallback(self, k: int) -> FloatArray:
        """Day ``k``, where an asset lacks volatility: the planner's own fallback volatility.

        :func:`~driftwise.metrics.risk_model.fallback_volatility` on the returns
        ``estimate_risk`` reads, without its covariance matrices.
        """
        self._count("fallback_volatility", 1)
        inputs, settings = self._inputs, self.settings.risk.monitor()
        dummy = Holdings(shares=pd.Series(0.0, index=self.tickers), cash_usd=1.0)
        state = build_state(dummy, inputs.targets, inputs.market, inputs.master,
                            as_of=self.dates[k])
        returns = risk_returns(state, inputs.market.prices, settings)
        return np.asarray(fallback_volatility(returns, state, settings.vol_window_days)[0],
                          dtype=np.float64)

    def _cached(self, name: str, k: int, make: Callable[[], _T]) -> _T:
        """``make()``, kept for the last day ``k`` read under ``name``."""
        hit = self._cache.get(name)
        if hit is not None and hit[0] == k:
            return cast(_T, hit[1])
        value = make()
        self._cache[name] = (k, value)
        return value


def window_dates(index: pd.DatetimeIndex, start: DateLike | None,
                 end: DateLike | None) -> IntArray:
    """Positions of the price dates within ``[start, end]`` (both optional, inclusive).

    Raises
    ------
    ConfigError
        If the start is after the end, or the window holds no price date.
    """
    first = None if start is None else as_day(start)
    last = None if end is None else as_day(end)
    if first is not None and last is not None and first > last:
        raise ConfigError(f"backtest window: the start {first.date()} is after the end "
                          f"{last.date()}")
    keep = np.ones(len(index), dtype=bool)
    if first is not None:
        keep &= index >= first
    if last is not None:
        keep &= index <= last
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        shown = (f"{'start' if first is None else first.date()} .. "
                 f"{'end' if last is None else last.date()}")
        raise ConfigError(f"backtest window {shown} holds no price date (prices run "
                          f"{index[0].date()} .. {index[-1].date()})")
    return rows


def universe(inputs: Inputs, *, from_holdings: bool) -> pd.Index:
    """The backtest's assets: target tickers (and held ones when starting from holdings).

    Sorted, as :func:`driftwise.state.build_state` orders them.

    Targets by sector or asset class: every member of a target group in the security
    master (:mod:`driftwise.backtest.groups`). With target versions, the tickers and group
    members of every version (0 where a version does not name them).

    Raises
    ------
    ConfigError
        Without targets.
    """
    from driftwise.backtest.groups import stocks

    if inputs.targets is None:
        raise ConfigError("a backtest needs targets (ticker, sector or asset_class, "
                          "target_weight); found no targets")
    names: pd.Index = pd.Index(stocks(inputs), dtype=object).astype(str)
    if from_holdings:
        names = names.append(pd.Index(list(inputs.holdings.tickers), dtype=object).astype(str))
    out: pd.Index = pd.Index(names.unique().sort_values(), name="ticker")
    return out


def build_history(inputs: Inputs, settings: HistorySettings | None = None, *,
                  start: DateLike | None = None,
                  end: DateLike | None = None, tickers: pd.Index | None = None) -> MarketHistory:
    """Every per-day market input of the window ``[start, end]``.

    Parameters
    ----------
    inputs : Inputs
        Targets (asset or group level); market data; master and cost file as the planner
        reads them.
    settings : HistorySettings, optional
        The estimation settings (default: the default risk windows and cost model).
    start, end : date, optional
        Window (default: the whole price history).
    tickers : pd.Index, optional
        Universe (default :func:`universe` of ``inputs``, starting from the targets).

    Raises
    ------
    ConfigError
        Empty window, missing targets.
    DataError
        An asset without a price on a day of the window, or a non-positive price.
    """
    if settings is None:
        settings = HistorySettings.of(RiskSettings(), CostParams())
    names = universe(inputs, from_holdings=False) if tickers is None else tickers
    market = inputs.market
    full = market.prices.reindex(columns=names).to_numpy(dtype=np.float64)
    index = pd.DatetimeIndex(market.prices.index)
    rows = window_dates(index, start, end)
    prices = full[rows]
    _check_prices(prices, index[rows], names, market.source)
    dates = pd.DatetimeIndex(index[rows])
    return MarketHistory(
        dates=dates, tickers=names, rows=rows, prices=prices,
        vix=vix_series_on(market.vix, dates),
        risk_free_annual=np.nan_to_num(_last_known(market.risk_free_annual, dates), nan=0.0),
        settings=settings, _days=dates.to_numpy().astype("datetime64[D]"), _full=full,
        _inputs=inputs,
        _builder=CostInputsBuilder(names, inputs.master, inputs.costs, settings.costs))


def _check_prices(prices: FloatArray, dates: pd.DatetimeIndex, names: pd.Index,
                  source: str) -> None:
    bad = ~(np.isfinite(prices) & (prices > 0.0))
    if bad.any():
        k, i = (int(v[0]) for v in np.nonzero(bad))
        raise DataError("an asset of the backtest has no price on a day of the window",
                        file=source, field=str(names[i]),
                        expected="a positive close for every asset on every day of the window "
                        "(choose a later start or drop the asset)",
                        found=f"{prices[k, i]} on {dates[k].date()}")


def _last_known(series: pd.Series | None, dates: pd.DatetimeIndex) -> FloatArray:
    """Last non-NaN value on or before each date (NaN when none)."""
    if series is None:
        return np.full(len(dates), np.nan)
    known = series.dropna().sort_index()
    pos = pd.DatetimeIndex(known.index).searchsorted(dates, side="right") - 1
    values = known.to_numpy(dtype=np.float64)
    return np.where(pos >= 0, values[np.maximum(pos, 0)] if len(values) else np.nan, np.nan)


def calendar_flags(dates: pd.DatetimeIndex) -> tuple[CalendarFlags, ...]:
    """Period boundaries of each date, as :func:`driftwise.app.plan.calendar_flags` per day.

    The period masks are computed once on the NYSE sessions around the window (400 days
    either side, as the planner does around its one day).
    """
    margin = pd.Timedelta(days=400)
    sessions = nyse_sessions(dates[0] - margin, dates[-1] + margin)
    masks = []
    for freq in Frequency:
        masks.append(((freq, Anchor.FIRST), period_first_sessions(sessions, freq.value)))
        masks.append(((freq, Anchor.LAST), period_last_sessions(sessions, freq.value)))
    pos = sessions.get_indexer(dates)
    return tuple(frozenset(key for key, mask in masks if mask[p]) if p >= 0 else frozenset()
                 for p in pos.tolist())


PART_ROWS = 256
"""Fewest days of a whole-window estimate :func:`in_parts` gives one thread."""


def in_parts(estimate: Callable[[IntArray], FloatArray], rows: IntArray) -> FloatArray:
    """``estimate(rows)`` (D, N), its days split in consecutive parts of at least
    :data:`PART_ROWS` days run side by side on the cores this process may use (a
    compiled estimate releases the GIL), stacked in order: each day's row is estimated
    from its own window alone (the rolling estimators' contract), so the parts give the
    same bits as one call."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    n_parts = max(1, min(cores, len(rows) // PART_ROWS))
    if n_parts == 1:
        return estimate(rows)
    bounds = np.linspace(0, len(rows), n_parts + 1).astype(np.intp)
    with ThreadPoolExecutor(n_parts) as pool:
        parts = list(pool.map(estimate, [rows[a:b] for a, b in
                                         itertools.pairwise(bounds)]))
    return np.concatenate(parts)
