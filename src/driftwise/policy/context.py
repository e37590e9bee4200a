"""DayContext: what a rule may see on one day, for a batch of configurations.

The planner builds one context with one configuration (``C = 1``); the backtest engine
builds one per simulated day with ``C`` configurations. Triggers and sizing read only
this object, and only data up to and including its date, so the same code serves both
and cannot look ahead.

Shapes: ``C`` configurations, ``N`` assets. Per-asset market data is shared by all
configurations (shape ``(N,)``); portfolio state is per configuration (``(C, N)`` or
``(C,)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import numpy as np
import numpy.typing as npt

from driftwise.metrics.drift import portfolio_drift
from driftwise.metrics.risk import tracking_error, tracking_error_diag

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Frequency(StrEnum):
    """Calendar review frequencies (SPEC section 5; weekly for research backtests)."""

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


@dataclass(frozen=True)
class DayContext:
    """One day's view for C configurations.

    Attributes
    ----------
    date : np.datetime64
        The day (close).
    weights : ndarray, shape (C, N)
        Current weights after marking to market, fractions of NAV.
    cash_weight : ndarray, shape (C,)
    target : ndarray, shape (C, N) or (N,)
    target_cash : ndarray, shape (C,) or float
    nav_usd : ndarray, shape (C,)
    vol_annual : ndarray, shape (N,)
        Annualized volatility per asset (60-day by default), after fallbacks.
    cov_annual : ndarray, shape (N, N) or None
        Annualized covariance; None means the diagonal TE from ``vol_annual``.
    band_width : ndarray, shape (C, N) or (N,)
        Per-asset tolerance band (fraction of NAV).
    vix : float
        VIX close (index points); NaN when unknown.
    calendar : frozenset of (Frequency, Anchor)
        The period boundaries this day is (e.g. ``(MONTH, FIRST)`` on the first NYSE
        session of a month).
    first_day : bool
        True on the first day of a backtest window (calendar rules never fire then).
    days_since_rebalance : ndarray, shape (C,)
        Trading days since each configuration last traded.
    pending_days : ndarray, shape (C,)
        Trading days a delayed rebalance has waited (NaN = none pending).
    full_cost_usd : CostFunction
        The cost model with today's inputs: trades (C, N) in USD -> total cost (C,) in USD.
    """

    date: np.datetime64
    weights: FloatArray
    cash_weight: FloatArray
    target: FloatArray
    target_cash: FloatArray | float
    nav_usd: FloatArray
    vol_annual: FloatArray
    band_width: FloatArray
    full_cost_usd: CostFunction
    cov_annual: FloatArray | None = None
    vix: float = float("nan")
    calendar: frozenset[tuple[Frequency, Anchor]] = field(default_factory=frozenset)
    first_day: bool = False
    days_since_rebalance: FloatArray = field(default_factory=lambda: np.zeros(1))
    pending_days: FloatArray = field(default_factory=lambda: np.full(1, np.nan))

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
        """True when this day is the ``anchor`` session of a ``frequency`` period."""
        return not self.first_day and (frequency, anchor) in self.calendar
