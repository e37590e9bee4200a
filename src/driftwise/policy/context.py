"""DayContext: what a rule may see on one day, for a batch of configurations.

The planner builds one context with one configuration (``C = 1``); the backtest engine
builds one per simulated day with ``C`` configurations. Triggers and sizing read only
this object, and only data up to and including its date, so the same code serves both
and cannot look ahead.

Shapes: ``C`` rows, ``N`` assets. A row is one configuration on the context's day; the
engine also evaluates a block of quiet days at once, one row per (day, configuration)
pair, so the day's data may be given per row: ``vix``, ``first_day`` and ``date`` as
scalars (the same for every row) or arrays shaped ``(C,)``, ``calendar`` as one set of
flags or one boolean mask ``(C,)`` per flag (:data:`CalendarRows`), ``vol_annual`` as
``(N,)`` or ``(C, N)``. Portfolio state is always per row (``(C, N)`` or ``(C,)``).
Triggers read the day's data through :meth:`DayContext.vix_rows` and
:meth:`DayContext.calendar_mask`, which serve both forms.

Every context is built by one constructor, :meth:`DayContext.of`, from the day's market
(:class:`MarketDay`: :meth:`MarketHistory.day <driftwise.backtest.history.MarketHistory.day>`
or :meth:`~driftwise.backtest.history.MarketHistory.block` in the backtest, the planner's
own inputs in the plan) and the book's marks (:class:`BookMarks`:
:meth:`Book.marks <driftwise.policy.book.Book.marks>`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt

from driftwise._types import BoolArray, FloatArray
from driftwise.metrics.drift import portfolio_drift
from driftwise.metrics.risk import tracking_error, tracking_error_diag


class Frequency(StrEnum):
    """Calendar review frequencies (daily and weekly for research backtests)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


class Anchor(StrEnum):
    """Which NYSE session of the period a calendar rule fires on."""

    FIRST = "first"
    LAST = "last"


CostFunction = Callable[[FloatArray], FloatArray]
"""Maps signed trades in USD, shape (C, N), to the total cost in USD, shape (C,)."""

CalendarFlags = frozenset[tuple[Frequency, Anchor]]
"""The period boundaries of one day, e.g. ``{(MONTH, FIRST)}``."""

CalendarRows = Mapping[tuple[Frequency, Anchor], BoolArray]
"""Per-row calendar: for each (frequency, anchor), a mask shaped (C,) (absent = False)."""


@dataclass(frozen=True)
class MarketDay:
    """What the market shows on one day, for the rows of a context.

    The day's data are given as :class:`DayContext` takes them: one value for every row,
    or one per row (a block of quiet days has a row per (day, configuration) pair).

    Attributes
    ----------
    date : np.datetime64 or ndarray of datetime64, shape (C,)
    prices_usd : ndarray, shape (N,), or (K, N) for a block of K days
        The closes the book is marked to market at.
    vol_annual : ndarray, shape (N,) or (C, N)
    cov_annual : ndarray, shape (N, N), or None
        None: the diagonal TE from ``vol_annual``.
    vix : float or ndarray, shape (C,)
    calendar : frozenset of (Frequency, Anchor), or CalendarRows
    first_day : bool or ndarray of bool, shape (C,)
    """

    date: np.datetime64 | npt.NDArray[np.datetime64]
    prices_usd: FloatArray
    vol_annual: FloatArray
    cov_annual: FloatArray | None = None
    vix: float | FloatArray = float("nan")
    calendar: CalendarFlags | CalendarRows = field(default_factory=frozenset)
    first_day: bool | BoolArray = False


@dataclass(frozen=True)
class BookMarks:
    """The rows' portfolios marked to market: what a context reads of the book.

    Attributes
    ----------
    weights : ndarray, shape (C, N)
    cash_weight, nav_usd : ndarray, shape (C,)
    days_since_rebalance, pending_days : ndarray, shape (C,)
        As in :class:`DayContext`.
    drift : ndarray, shape (C,), or None
        Portfolio drift computed with the weights (None: the context computes it).
    """

    weights: FloatArray
    cash_weight: FloatArray
    nav_usd: FloatArray
    days_since_rebalance: FloatArray
    pending_days: FloatArray
    drift: FloatArray | None = None


@dataclass(frozen=True)
class DayContext:
    """One day's view for C configurations.

    Attributes
    ----------
    date : np.datetime64 or ndarray of datetime64, shape (C,)
        The day (close), or each row's day.
    weights : ndarray, shape (C, N)
        Current weights after marking to market, fractions of NAV.
    cash_weight : ndarray, shape (C,)
    target : ndarray, shape (C, N) or (N,)
    target_cash : ndarray, shape (C,) or float
    nav_usd : ndarray, shape (C,)
    vol_annual : ndarray, shape (N,) or (C, N)
        Annualized volatility per asset (60-day by default), after fallbacks.
    cov_annual : ndarray, shape (N, N) or None
        Annualized covariance; None means the diagonal TE from ``vol_annual``.
    band_width : ndarray, shape (C, N) or (N,)
        Per-asset tolerance band (fraction of NAV).
    vix : float or ndarray, shape (C,)
        VIX close (index points); NaN when unknown.
    calendar : frozenset of (Frequency, Anchor), or CalendarRows
        The period boundaries this day is (e.g. ``(MONTH, FIRST)`` on the first NYSE
        session of a month), or a mask shaped (C,) per boundary.
    first_day : bool or ndarray of bool, shape (C,)
        True on the first day of a backtest window (calendar rules never fire then).
    days_since_rebalance : ndarray, shape (C,)
        Trading days since each configuration last traded.
    pending_days : ndarray, shape (C,)
        Trading days a delayed rebalance has waited (NaN = none pending).
    full_cost_usd : CostFunction
        The cost model with today's inputs: trades (C, N) in USD -> total cost (C,) in USD.
        One whose rows are priced differently (an engine batch mixing cost parameters)
        also has a ``take(rows)`` method, which :meth:`take` uses.
    known_drift : ndarray, shape (C,), optional
        Portfolio drift already computed with the weights (the engine's
        :func:`~driftwise.metrics.drift.mark_to_market`); None: computed from them.
    """

    date: np.datetime64 | npt.NDArray[np.datetime64]
    weights: FloatArray
    cash_weight: FloatArray
    target: FloatArray
    target_cash: FloatArray | float
    nav_usd: FloatArray
    vol_annual: FloatArray
    band_width: FloatArray
    full_cost_usd: CostFunction
    cov_annual: FloatArray | None = None
    vix: float | FloatArray = float("nan")
    calendar: CalendarFlags | CalendarRows = field(default_factory=frozenset)
    first_day: bool | BoolArray = False
    days_since_rebalance: FloatArray = field(default_factory=lambda: np.zeros(1))
    pending_days: FloatArray = field(default_factory=lambda: np.full(1, np.nan))
    known_drift: FloatArray | None = None

    @classmethod
    def of(cls, market: MarketDay, marks: BookMarks, *, target: FloatArray,
           target_cash: FloatArray | float, band_width: FloatArray,
           full_cost_usd: CostFunction) -> DayContext:
        """The context of ``marks`` on the day ``market``: the one constructor of the
        planner, the engine (day by day and in blocks), the compiled loop's review days
        and the validation branches.

        Parameters
        ----------
        market : MarketDay
            The day's market data (one value or one per row).
        marks : BookMarks
            The rows' portfolios at the day's close.
        target : ndarray, shape (N,) or (C, N)
        target_cash : float or ndarray, shape (C,)
        band_width : ndarray, shape (N,) or (C, N)
        full_cost_usd : CostFunction
            The cost model with the day's inputs.
        """
        return cls(
            date=market.date, weights=marks.weights, cash_weight=marks.cash_weight,
            target=target, target_cash=target_cash, nav_usd=marks.nav_usd,
            vol_annual=market.vol_annual, band_width=band_width, full_cost_usd=full_cost_usd,
            cov_annual=market.cov_annual, vix=market.vix, calendar=market.calendar,
            first_day=market.first_day, days_since_rebalance=marks.days_since_rebalance,
            pending_days=marks.pending_days, known_drift=marks.drift)

    @property
    def n_configs(self) -> int:
        """C, the number of configurations."""
        return int(self.weights.shape[0])

    @cached_property
    def drift(self) -> FloatArray:
        """Asset drift ``w - t``, shape (C, N)."""
        return self.weights - self.target

    @cached_property
    def portfolio_drift(self) -> FloatArray:
        """Portfolio drift D, shape (C,)."""
        if self.known_drift is not None:
            return self.known_drift
        return np.asarray(portfolio_drift(self.weights, np.broadcast_to(self.target,
                                                                        self.weights.shape),
                                          self.cash_weight, self.target_cash), dtype=np.float64)

    def te(self, d: FloatArray) -> FloatArray:
        """Annualized ex-ante tracking error of deviations ``d`` (C, N) -> (C,)."""
        if self.cov_annual is None:
            return np.asarray(tracking_error_diag(d, self.vol_annual), dtype=np.float64)
        return np.asarray(tracking_error(d, self.cov_annual), dtype=np.float64)

    @cached_property
    def te_before(self) -> FloatArray:
        """Tracking error of today's drift, shape (C,)."""
        return self.te(self.drift)

    @cached_property
    def full_rebalance_trade_usd(self) -> FloatArray:
        """Trades (C, N) in USD that bring every asset to target (before costs)."""
        return -self.drift * self.nav_usd[:, None]

    @cached_property
    def full_rebalance_cost(self) -> FloatArray:
        """Cost of a full rebalance as a fraction of NAV, shape (C,)."""
        return self.full_cost_usd(self.full_rebalance_trade_usd) / self.nav_usd

    def is_calendar_day(self, frequency: Frequency, anchor: Anchor) -> bool:
        """True when every row's day is the ``anchor`` session of a ``frequency`` period."""
        return bool(self.calendar_mask(frequency, anchor).all())

    def calendar_mask(self, frequency: Frequency, anchor: Anchor) -> BoolArray:
        """Rows whose day is the ``anchor`` session of a ``frequency`` period, shape (C,).

        Never on a first day of a backtest window.
        """
        n = self.n_configs
        key = (frequency, anchor)
        if isinstance(self.calendar, frozenset) and isinstance(self.first_day, bool):
            return np.full(n, key in self.calendar and not self.first_day, dtype=bool)
        if isinstance(self.calendar, frozenset):
            hit = np.full(n, key in self.calendar, dtype=bool)
        else:
            mask = self.calendar.get(key)
            hit = (np.zeros(n, dtype=bool) if mask is None
                   else np.array(np.broadcast_to(mask, (n,)), dtype=bool))
        return np.asarray(hit & ~np.broadcast_to(np.asarray(self.first_day, dtype=bool), (n,)),
                          dtype=bool)

    def vix_rows(self) -> FloatArray:
        """VIX of each row's day, shape (C,) (NaN: unknown)."""
        return np.broadcast_to(np.asarray(self.vix, dtype=np.float64), (self.n_configs,))

    def take(self, rows: npt.NDArray[np.intp]) -> DayContext:
        """The context restricted to ``rows`` (positions), every per-row field subset.

        A row is evaluated independently of the others, so a trigger or the sizing of
        ``take(rows)`` gives each row what it gives on the full context (the engine sizes
        only the rows that fire). Parameters of a stacked trigger must be subset the same
        way.
        """
        n = self.n_configs
        calendar = self.calendar
        if not isinstance(calendar, frozenset):
            calendar = {key: np.broadcast_to(mask, (n,))[rows] for key, mask in calendar.items()}
        return replace(
            self, date=_rows(self.date, n, rows), weights=self.weights[rows],
            cash_weight=_rows(self.cash_weight, n, rows), target=_rows(self.target, n, rows, 2),
            target_cash=_rows(self.target_cash, n, rows), nav_usd=_rows(self.nav_usd, n, rows),
            vol_annual=_rows(self.vol_annual, n, rows, 2),
            band_width=_rows(self.band_width, n, rows, 2), vix=_rows(self.vix, n, rows),
            calendar=calendar, first_day=_rows(self.first_day, n, rows),
            days_since_rebalance=_rows(self.days_since_rebalance, n, rows),
            pending_days=_rows(self.pending_days, n, rows),
            full_cost_usd=_take_costs(self.full_cost_usd, rows),
            known_drift=None if self.known_drift is None else self.known_drift[rows])


_V = TypeVar("_V")


def _take_costs(cost: CostFunction, rows: npt.NDArray[np.intp]) -> CostFunction:
    """``cost.take(rows)`` when the cost function prices rows differently, else ``cost``."""
    take = getattr(cost, "take", None)
    return cost if take is None else cast(CostFunction, take(rows))


def _rows(value: _V, n: int, rows: npt.NDArray[np.intp], ndim: int = 1) -> _V:
    """``value[rows]`` if it is per row (an array of ``ndim`` dimensions), else ``value``.

    A per-row array of length 1 (a default) is broadcast to the ``n`` rows first.
    """
    if not isinstance(value, np.ndarray) or value.ndim < ndim:
        return value
    return cast(_V, np.broadcast_to(value, (n, *value.shape[1:]))[rows])
