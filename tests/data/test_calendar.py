"""driftwise.calendar: NYSE sessions, neighbours and period boundaries."""

from __future__ import annotations

import datetime as dt
import functools
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise import calendar
from driftwise.calendar import (
    is_session,
    next_session,
    nyse_sessions,
    period_first_sessions,
    period_last_sessions,
    previous_session,
)
from driftwise.errors import ConfigError


def test_known_holidays_and_sessions():
    assert is_session(["2024-07-04", "2024-07-05", "2024-07-06"]).tolist() == [False, True, False]
    assert not is_session("2001-09-11")[0]  # market closed after the attacks
    assert not is_session("2004-06-11")[0]  # President Reagan's funeral
    assert not is_session(["2012-10-29"])[0]  # hurricane Sandy
    assert is_session(pd.DatetimeIndex(["2024-12-24 13:00"]))[0]  # half day, time ignored


def test_is_session_handles_nat_and_series():
    dates = pd.Series(pd.to_datetime(["2024-01-02", None]))
    assert is_session(dates).tolist() == [True, False]
    assert is_session([]).tolist() == []


def test_sessions_of_2024():
    sessions = nyse_sessions("2024-01-01", "2024-12-31")
    assert len(sessions) == 252
    assert sessions[0] == pd.Timestamp("2024-01-02")  # first session of 2024
    assert sessions[-1] == pd.Timestamp("2024-12-31")
    assert sessions.name == "date" and sessions.dtype == "datetime64[ns]"
    assert nyse_sessions("2024-07-04", "2024-07-04").empty
    assert nyse_sessions(dt.date(2024, 7, 5), pd.Timestamp("2024-07-05")).tolist() == [
        pd.Timestamp("2024-07-05")]
    assert nyse_sessions("2024-02-01", "2024-01-01").empty


def test_previous_and_next_session():
    assert previous_session("2024-07-05") == pd.Timestamp("2024-07-03")
    assert next_session("2024-07-03") == pd.Timestamp("2024-07-05")
    assert previous_session("2024-01-02") == pd.Timestamp("2023-12-29")  # strictly before
    assert next_session("2024-01-06") == pd.Timestamp("2024-01-08")


def test_last_session_of_march_2024_is_maundy_thursday():
    sessions = nyse_sessions("2024-01-01", "2024-12-31")
    last = sessions[period_last_sessions(sessions, "month")]
    assert last[2] == pd.Timestamp("2024-03-28")  # Good Friday 03-29 is closed
    assert len(last) == 12


@pytest.mark.parametrize(("freq", "firsts"), [
    ("month", 12), ("quarter", 4), ("half", 2), ("year", 1)])
def test_period_masks_count_periods(freq, firsts):
    sessions = nyse_sessions("2024-01-01", "2024-12-31")
    first = period_first_sessions(sessions, freq)
    last = period_last_sessions(sessions, freq)
    assert first.sum() == firsts and last.sum() == firsts
    assert first[0] and last[-1]


def test_half_and_quarter_boundaries():
    sessions = nyse_sessions("2024-01-01", "2024-12-31")
    assert sessions[period_first_sessions(sessions, "half")].tolist() == list(
        pd.to_datetime(["2024-01-02", "2024-07-01"]))
    assert sessions[period_last_sessions(sessions, "quarter")].tolist() == list(
        pd.to_datetime(["2024-03-28", "2024-06-28", "2024-09-30", "2024-12-31"]))


def test_window_edges_cut_periods():
    sessions = nyse_sessions("2024-01-10", "2024-03-15")
    first = period_first_sessions(sessions, "month")
    last = period_last_sessions(sessions, "month")
    assert not first[0]  # 01-10 is not the first session of January
    assert sessions[first].tolist() == list(pd.to_datetime(["2024-02-01", "2024-03-01"]))
    assert not last[-1]  # March is not over on 03-15
    assert sessions[last].tolist() == list(pd.to_datetime(["2024-01-31", "2024-02-29"]))


def test_masks_on_a_data_index_with_a_missing_day():
    # 1997-01-31 is an NYSE session missing from the CBOE VIX file; the last day present
    # in January then closes the month for the data
    sessions = nyse_sessions("1997-01-02", "1997-02-28").drop(pd.Timestamp("1997-01-31"))
    last = period_last_sessions(sessions, "month")
    assert sessions[last].tolist() == list(pd.to_datetime(["1997-01-30", "1997-02-28"]))


def test_empty_sessions():
    empty = pd.DatetimeIndex([])
    assert period_first_sessions(empty, "month").shape == (0,)
    assert period_last_sessions(empty, "year").shape == (0,)


def test_bad_frequency():
    with pytest.raises(ConfigError, match="week, month, quarter, half, year"):
        period_first_sessions(nyse_sessions("2024-01-01", "2024-01-31"), "fortnight")


def test_unsorted_sessions():
    with pytest.raises(ConfigError, match="ascending"):
        period_last_sessions(pd.to_datetime(["2024-01-03", "2024-01-02"]), "month")


def test_date_before_the_calendar():
    with pytest.raises(ConfigError, match="starts in"):
        nyse_sessions("1850-01-01", "1850-12-31")


def test_not_a_date():
    with pytest.raises(ConfigError, match="not a date"):
        previous_session("yesterday-ish")


def test_calendar_build_is_cheap():
    builds = []
    for _ in range(3):  # best of three, in CPU time: other processes share the machine
        calendar._xnys.cache_clear()
        calendar._session_array.cache_clear()
        start = time.process_time()
        nyse_sessions("2000-01-01", "2020-12-31")
        builds.append(time.process_time() - start)
    first_build = min(builds)
    start = time.process_time()
    for _ in range(100):
        is_session(["2024-07-04"])
    cached = time.process_time() - start
    assert first_build < 0.5
    assert cached / 100 < 0.005


def test_far_dates_extend_the_calendar():
    assert is_session(["1925-01-02", "2070-07-04"]).tolist() == [True, False]


_DAYS = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2030, 12, 31))


@given(a=_DAYS, span=st.integers(min_value=0, max_value=800),
       freq=st.sampled_from(["month", "quarter", "half", "year"]))
def test_masks_match_a_plain_loop(a, span, freq):
    sessions = nyse_sessions(a, a + dt.timedelta(days=span))

    def period(day: pd.Timestamp) -> tuple[int, int]:
        size = {"month": 1, "quarter": 3, "half": 6, "year": 12}[freq]
        return day.year, (day.month - 1) // size

    first = [period(s) != period(previous_session(s)) for s in sessions]
    last = [period(s) != period(next_session(s)) for s in sessions]
    assert period_first_sessions(sessions, freq).tolist() == first
    assert period_last_sessions(sessions, freq).tolist() == last


@functools.cache
def _session_set() -> frozenset[pd.Timestamp]:
    return frozenset(nyse_sessions("1995-01-01", "2030-12-31"))


@given(days=st.lists(_DAYS, max_size=30))
def test_is_session_matches_the_session_list(days):
    sessions = _session_set()
    expected = [pd.Timestamp(d) in sessions for d in days]
    assert is_session(days).tolist() == expected
    weekend = np.array([d.weekday() >= 5 for d in days], dtype=bool)
    assert not is_session(days)[weekend].any()


def test_weekly_first_and_last_sessions() -> None:
    from driftwise.calendar import nyse_sessions, period_first_sessions, period_last_sessions

    sessions = nyse_sessions("2024-06-24", "2024-07-12")  # July 4th (Thu) is a holiday
    firsts = sessions[period_first_sessions(sessions, "week")]
    lasts = sessions[period_last_sessions(sessions, "week")]
    assert [d.strftime("%m-%d") for d in firsts] == ["06-24", "07-01", "07-08"]
    assert [d.strftime("%m-%d") for d in lasts] == ["06-28", "07-05", "07-12"]
