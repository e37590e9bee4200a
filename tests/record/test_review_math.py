"""The weekly review's trend and days to breach, and the delay's session count: properties."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from driftwise.app.daily import pending_days
from driftwise.app.review import trend_and_breach

rates = st.floats(min_value=1e-5, max_value=0.01)
levels = st.floats(min_value=0.0, max_value=0.04)


@given(levels, rates, st.integers(min_value=2, max_value=10))
def test_a_straight_rising_drift_reaches_the_threshold_at_its_pace(start: float, rate: float,
                                                                    n: int) -> None:
    drift = [start + rate * i for i in range(n)]
    h = 0.05
    slope, breach = trend_and_breach(drift, h)
    assert math.isclose(slope, rate, rel_tol=1e-9)
    if drift[-1] >= h:
        assert breach == 0.0
    else:
        assert math.isclose(breach, (h - drift[-1]) / rate, rel_tol=1e-8)
        # at that pace the drift is at the threshold after that many sessions
        assert math.isclose(drift[-1] + breach * slope, h, rel_tol=1e-9)


@given(st.lists(levels, min_size=2, max_size=10))
def test_a_falling_or_flat_drift_never_breaches(drift: list[float]) -> None:
    flat_or_down = sorted(drift, reverse=True)
    slope, breach = trend_and_breach(flat_or_down, 0.05)
    assert slope <= 1e-15
    assert breach == math.inf


def test_one_day_has_no_trend() -> None:
    assert all(np.isnan(trend_and_breach([0.01], 0.05)))


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_the_delay_counts_the_sessions_after_its_first_day(begin: int, length: int) -> None:
    sessions = pd.bdate_range("2020-01-02", periods=130)
    first, day = sessions[begin], sessions[min(begin + length, 129)]
    waited = pending_days(sessions, first.date(), day.date())
    assert waited == min(begin + length, 129) - begin
    assert math.isnan(pending_days(sessions, None, dt.date(2020, 3, 2)))
