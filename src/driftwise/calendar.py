"""The NYSE trading calendar: sessions, session tests and period boundaries.

Every date in driftwise is an NYSE session. This module wraps the
``XNYS`` calendar of ``exchange_calendars``: the calendar object is built lazily, once
per span of decades, and cached, so a lookup costs microseconds after the first
(about 0.2 s) build. Calendar rebalancing triggers use :func:`period_first_sessions`
and :func:`period_last_sessions`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from driftwise._atomic import atomic_path
from driftwise.errors import ConfigError

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

DateLike = str | dt.date | pd.Timestamp | np.datetime64
"""Anything :class:`pandas.Timestamp` accepts as a day."""

Freq = Literal["day", "week", "month", "quarter", "half", "year"]
FREQS: tuple[str, ...] = ("day", "week", "month", "quarter", "half", "year")

_DEFAULT_FIRST_YEAR = 1990
_DEFAULT_LAST_YEAR = 2039
_EARLIEST_YEAR = 1885  # XNYS rules in exchange_calendars start in 1885


def as_day(value: DateLike) -> pd.Timestamp:
    """``value`` as a tz-naive midnight :class:`pandas.Timestamp`.

    Raises
    ------
    ConfigError
        If ``value`` is not a date.
    """
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"not a date: {value!r} ({exc})") from None
    if pd.isna(stamp):
        raise ConfigError(f"not a date: {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def today_or(value: DateLike | None) -> pd.Timestamp:
    """``value`` as a day, or today's date (local clock) when ``value`` is None."""
    return as_day(dt.date.today() if value is None else value)


@lru_cache(maxsize=8)
def _xnys(first_year: int, last_year: int) -> ExchangeCalendar:
    from exchange_calendars.exchange_calendar_xnys import XNYSExchangeCalendar

    with warnings.catch_warnings():  # pandas deprecations raised inside exchange_calendars
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return XNYSExchangeCalendar(start=f"{first_year}-01-01", end=f"{last_year}-12-31")


@lru_cache(maxsize=8)
def _session_array(first_year: int, last_year: int) -> np.ndarray:
    """The NYSE sessions of the years, from exchange-calendars, kept on disk.

    Building the calendar takes 0.1-0.2 s, a large part of a command's start-up, so the
    sessions are saved once per exchange-calendars version (``__pycache__`` beside this
    module, written atomically; when it cannot be written the calendar is built each time).
    """
    cached = _session_cache(first_year, last_year)
    if cached is not None and cached.exists():
        try:
            kept: np.ndarray | None = np.asarray(np.load(cached, allow_pickle=False))
        except (OSError, ValueError):
            kept = None
        if kept is not None and kept.dtype == np.dtype("datetime64[ns]") and len(kept):
            kept.setflags(write=False)
            return kept
    sessions = _xnys(first_year, last_year).sessions
    out = np.asarray(sessions.tz_localize(None).values, dtype="datetime64[ns]")
    if cached is not None:
        try:
            with atomic_path(cached) as temp:
                np.save(temp, out, allow_pickle=False)
        except OSError:
            pass  # a read-only installation: no cache
    out.setflags(write=False)
    return out


def _session_cache(first_year: int, last_year: int) -> Path | None:
    """Where the sessions of the years are kept (None: exchange-calendars has no version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("exchange_calendars")
    except PackageNotFoundError:
        return None
    return (Path(__file__).parent / "__pycache__"
            / f"xnys-sessions-{release}-{first_year}-{last_year}.npy")


def _span(first: pd.Timestamp, last: pd.Timestamp) -> tuple[int, int]:
    """Decade-rounded year span covering ``first .. last`` (one previous and next year)."""
    if first.year <= _EARLIEST_YEAR:
        raise ConfigError(f"the NYSE calendar starts in {_EARLIEST_YEAR + 1}; "
                          f"date {first.date()} is earlier")
    lo = min(_DEFAULT_FIRST_YEAR, first.year - 1)
    hi = max(_DEFAULT_LAST_YEAR, last.year + 1)
    return max(_EARLIEST_YEAR, lo // 10 * 10), hi // 10 * 10 + 9


def _sessions_covering(first: pd.Timestamp, last: pd.Timestamp) -> np.ndarray:
    return _session_array(*_span(first, last))


def nyse_sessions(start: DateLike, end: DateLike) -> pd.DatetimeIndex:
    """NYSE sessions from ``start`` to ``end``, both included.

    Returns
    -------
    pd.DatetimeIndex
        Shape ``(n_sessions,)``, tz-naive midnight dates, ascending, named ``date``.
    """
    lo, hi = as_day(start), as_day(end)
    if hi < lo:
        return pd.DatetimeIndex([], dtype="datetime64[ns]", name="date")
    arr = _sessions_covering(lo, hi)
    i, j = np.searchsorted(arr, [lo.to_datetime64(), hi.to_datetime64()], side="left")
    if j < len(arr) and arr[j] == hi.to_datetime64():
        j += 1
    return pd.DatetimeIndex(arr[i:j], name="date")


def _to_index(dates: Iterable[DateLike] | DateLike | pd.Series | pd.DatetimeIndex
              ) -> pd.DatetimeIndex:
    if isinstance(dates, (str, dt.date, np.datetime64)):  # one date (Timestamp is a date)
        dates = [dates]
    raw = dates if isinstance(dates, (pd.Series, pd.Index)) else list(dates)
    index = pd.DatetimeIndex(pd.to_datetime(raw))
    if index.tz is not None:
        index = index.tz_localize(None)
    return pd.DatetimeIndex(index.normalize().astype("datetime64[ns]"))


def is_session(dates: Iterable[DateLike] | DateLike | pd.Series | pd.DatetimeIndex
               ) -> np.ndarray:
    """Whether each date is an NYSE session.

    Parameters
    ----------
    dates : array-like of dates, shape ``(n,)``
        Times of day are ignored. NaT is not a session.

    Returns
    -------
    np.ndarray of bool, shape ``(n,)``
    """
    index = _to_index(dates)
    valid = ~np.asarray(index.isna(), dtype=bool)
    if not valid.any():
        return np.zeros(len(index), dtype=bool)
    arr = _sessions_covering(index[valid].min(), index[valid].max())
    values = index.values
    pos = np.searchsorted(arr, values)
    pos = np.minimum(pos, len(arr) - 1)
    return np.asarray((arr[pos] == values) & valid, dtype=bool)


def previous_session(date: DateLike) -> pd.Timestamp:
    """The last NYSE session strictly before ``date``."""
    day = as_day(date)
    arr = _sessions_covering(day, day)
    return pd.Timestamp(arr[np.searchsorted(arr, day.to_datetime64(), side="left") - 1])


def next_session(date: DateLike) -> pd.Timestamp:
    """The first NYSE session strictly after ``date``."""
    day = as_day(date)
    arr = _sessions_covering(day, day)
    return pd.Timestamp(arr[np.searchsorted(arr, day.to_datetime64(), side="right")])


def _period_key(index: pd.DatetimeIndex, freq: str) -> np.ndarray:
    if freq == "day":  # every session is a period of its own
        return index.to_numpy().astype("datetime64[D]").astype(np.int64)
    if freq == "week":  # Monday-to-Sunday weeks: 1970-01-01 was a Thursday, hence + 3
        days = index.to_numpy().astype("datetime64[D]").astype(np.int64)
        return (days + 3) // 7
    year = index.year.to_numpy().astype(np.int64)
    month0 = index.month.to_numpy().astype(np.int64) - 1
    if freq == "month":
        return year * 12 + month0
    if freq == "quarter":
        return year * 4 + month0 // 3
    if freq == "half":
        return year * 2 + month0 // 6
    if freq == "year":
        return year
    raise ConfigError(f"calendar frequency must be one of {', '.join(FREQS)}; found {freq!r}")


def _checked_sessions(sessions: Iterable[DateLike] | pd.DatetimeIndex) -> pd.DatetimeIndex:
    index = _to_index(sessions)
    if index.hasnans or not index.is_monotonic_increasing or not index.is_unique:
        raise ConfigError("sessions must be unique dates in ascending order")
    return index


def period_first_sessions(sessions: Iterable[DateLike] | pd.DatetimeIndex, freq: Freq | str
                          ) -> np.ndarray:
    """Mask of the sessions that open a calendar period.

    Parameters
    ----------
    sessions : array-like of dates, shape ``(n,)``
        Ascending, unique (normally NYSE sessions, e.g. the index of a price frame).
    freq : {"week", "month", "quarter", "half", "year"}
        The calendar period.

    Returns
    -------
    np.ndarray of bool, shape ``(n,)``
        True on the first of ``sessions`` in each period. The very first element is
        True only if no NYSE session of its period precedes it: a period cut off by
        the start of the window has no first session in it.
    """
    index = _checked_sessions(sessions)
    mask = np.zeros(len(index), dtype=bool)
    if len(index) == 0:
        return mask
    key = _period_key(index, freq)
    mask[1:] = key[1:] != key[:-1]
    before = _period_key(pd.DatetimeIndex([previous_session(index[0])]), freq)[0]
    mask[0] = key[0] != before
    return mask


def period_last_sessions(sessions: Iterable[DateLike] | pd.DatetimeIndex, freq: Freq | str
                         ) -> np.ndarray:
    """Mask of the sessions that close a calendar period.

    Parameters
    ----------
    sessions : array-like of dates, shape ``(n,)``
        Ascending, unique.
    freq : {"week", "month", "quarter", "half", "year"}

    Returns
    -------
    np.ndarray of bool, shape ``(n,)``
        True on the last of ``sessions`` in each period. The very last element is True
        only if no NYSE session of its period follows it (the period is complete).
    """
    index = _checked_sessions(sessions)
    mask = np.zeros(len(index), dtype=bool)
    if len(index) == 0:
        return mask
    key = _period_key(index, freq)
    mask[:-1] = key[:-1] != key[1:]
    after = _period_key(pd.DatetimeIndex([next_session(index[-1])]), freq)[0]
    mask[-1] = key[-1] != after
    return mask


def trading_days_between(index: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Trading days after ``start`` up to and including ``end`` in ``index``.

    A sorted index without NaT is searched (two binary searches), else compared."""
    if index.is_monotonic_increasing and not index.hasnans:
        return max(0, int(index.searchsorted(end, side="right"))
                   - int(index.searchsorted(start, side="right")))
    return int(((index > start) & (index <= end)).sum())
