"""``calendar.trading_days_between``: the trading days after one date up to another,
searched on a sorted index, held to its definition (the days compared one by one)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.calendar import nyse_sessions, trading_days_between


def by_definition(index: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Each day of ``index`` counted when ``start < day <= end``."""
    return sum(1 for day in index if start < day <= end)


DAYS = pd.DatetimeIndex(nyse_sessions("2020-01-01", "2021-12-31"))


@settings(max_examples=200, deadline=None)
@given(st.integers(-30, len(DAYS) + 30), st.integers(-30, len(DAYS) + 30),
       st.booleans(), st.booleans())
def test_sorted_sessions_count_as_the_definition(a: int, b: int, on_start: bool,
                                                 on_end: bool) -> None:
    def date(k: int, on: bool) -> pd.Timestamp:
        # a session, or a calendar day beside one (a weekend or a date outside the index)
        base = DAYS[min(max(k, 0), len(DAYS) - 1)] + pd.Timedelta(days=k - min(max(k, 0),
                                                                              len(DAYS) - 1))
        return base if on else base + pd.Timedelta(hours=12)

    start, end = date(a, on_start), date(b, on_end)
    assert trading_days_between(DAYS, start, end) == by_definition(DAYS, start, end)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=0, max_size=25), st.integers(-5, 65),
       st.integers(-5, 65))
def test_unsorted_or_repeated_days_count_as_the_definition(offsets: list[int], a: int,
                                                           b: int) -> None:
    first = pd.Timestamp("2021-01-04")
    index = pd.DatetimeIndex([first + pd.Timedelta(days=k) for k in offsets])
    start, end = first + pd.Timedelta(days=a), first + pd.Timedelta(days=b)
    assert trading_days_between(index, start, end) == by_definition(index, start, end)


def test_days_with_nat_count_as_the_definition() -> None:
    index = pd.DatetimeIndex([pd.Timestamp("2021-01-04"), pd.NaT, pd.Timestamp("2021-01-06")])
    start, end = pd.Timestamp("2021-01-01"), pd.Timestamp("2021-01-31")
    assert trading_days_between(index, start, end) == by_definition(index, start, end) == 2
