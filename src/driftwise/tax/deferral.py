"""Deferral of short-term gains: sell now, or wait until the lot turns long-term.

Selling a short-term gain lot that turns long-term in ``n`` days costs
``gain × (r_st − r_lt)`` more tax now than later. Waiting costs the tracking penalty of
keeping the lot's drift for ``n`` days: the benefit of selling the lot, which the
cost–benefit test counts over the horizon ``H`` trading days, scaled to the wait,
``benefit × n_trading / H`` with ``n_trading = n × 252 / 365.25`` (calendar days to
trading days). Both are USD, like the trading cost.
"""

from __future__ import annotations

import numpy as np

from driftwise._types import TRADING_DAYS, BoolArray, FloatArray
from driftwise.tax.lots import DayArray, TaxRates, day_of

CALENDAR_DAYS_PER_YEAR = 365.25


def days_to_long_term(long_term_from: DayArray, day: np.datetime64) -> FloatArray:
    """Calendar days from ``day`` until each lot turns long-term (0 if it is), (L,)."""
    gap = (np.asarray(long_term_from, dtype="datetime64[D]")
           - day_of(day)).astype(np.float64)
    out: FloatArray = np.maximum(gap, 0.0)
    return out


def waiting_penalty_usd(benefit_usd: FloatArray, days: FloatArray,
                        horizon_days: float) -> FloatArray:
    """Tracking penalty of waiting ``days`` calendar days to sell, USD (L,).

    ``benefit_usd`` (L,) is the benefit of selling each lot now over ``horizon_days``
    trading days.
    """
    trading = np.asarray(days, dtype=np.float64) * TRADING_DAYS / CALENDAR_DAYS_PER_YEAR
    return np.asarray(benefit_usd, dtype=np.float64) * trading / float(horizon_days)


def rate_saving_usd(gain_usd: FloatArray, rates: TaxRates) -> FloatArray:
    """Tax saved by waiting until a short-term gain turns long-term, USD (L,):
    ``gain × (r_st − r_lt)`` (0 for a loss)."""
    return np.maximum(np.asarray(gain_usd, dtype=np.float64), 0.0) * (
        rates.short_term_total - rates.long_term_total)


def deferral_candidates(gain_usd: FloatArray, long_term: BoolArray, days: FloatArray,
                        defer_horizon_days: float) -> BoolArray:
    """Lots that :func:`deferred_lots` may defer, whatever the penalty of waiting (L,):
    short-term, at a gain, turning long-term after today and within
    ``defer_horizon_days`` calendar days."""
    return np.asarray((~np.asarray(long_term, dtype=bool))
                      & (np.asarray(gain_usd, dtype=np.float64) > 0.0)
                      & (np.asarray(days) <= defer_horizon_days) & (np.asarray(days) > 0),
                      dtype=bool)


def deferred_lots(gain_usd: FloatArray, long_term: BoolArray, days: FloatArray,
                  benefit_usd: FloatArray, *, horizon_days: float, defer_horizon_days: float,
                  rates: TaxRates) -> BoolArray:
    """Short-term gain lots that are not sold today, shape (L,).

    A lot is deferred when it is short-term at a gain, turns long-term within
    ``defer_horizon_days`` calendar days, and the tracking penalty of waiting
    (:func:`waiting_penalty_usd`) does not exceed the tax saved by waiting
    (:func:`rate_saving_usd`).
    """
    gain = np.asarray(gain_usd, dtype=np.float64)
    near = deferral_candidates(gain, long_term, days, defer_horizon_days)
    penalty = waiting_penalty_usd(benefit_usd, days, horizon_days)
    return np.asarray(near & (penalty <= rate_saving_usd(gain, rates)), dtype=bool)
