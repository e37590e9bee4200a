"""Conversions between the readers' values and the record's exact columns."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd


def exact(value: object) -> Decimal | None:
    """A finite number as the decimal its shortest text spells (None for NaN/None).

    ``repr`` of a float is the shortest text that reads back to the same float, so a
    value read from a file (``100.1``) is stored as that text, not as the binary
    expansion of the float.
    """
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return None
    return Decimal(repr(number))


def required(value: object) -> Decimal:
    """:func:`exact` of a value that must be a number."""
    out = exact(value)
    if out is None:
        raise ValueError(f"a number is required, got {value!r}")
    return out


def day(value: object) -> dt.date | None:
    """A date-like value as a date (None for NaT/None)."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return None if pd.isna(stamp) else stamp.date()


def now() -> dt.datetime:
    """The current time, UTC."""
    return dt.datetime.now(dt.UTC)


def text(value: object) -> str | None:
    """A text cell (None for NaN/None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
