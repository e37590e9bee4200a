"""The VWAP schedule's intraday volume profile against traded volume measured in a
LOBSTER message file.

LOBSTER (lobsterdata.com) message files have no header and six columns: ``time``
(seconds after midnight, New York), ``type`` (1 new limit order, 2 partial cancel, 3
delete, 4 visible execution, 5 hidden execution, 6 cross trade, 7 trading halt),
``order_id``, ``size`` (shares), ``price`` (USD × 10,000) and ``direction``.
:func:`read_lobster_messages` reads one, refusing a bad row with the file, row and field.

:func:`measure_profile` sums the executed shares (types 4, 5 and 6) in each of the
schedule's equal clock buckets of the regular session and records how many seconds of
each bucket the file covers (from its first to its last message). A bucket's measured
share of the day is known only when every bucket is covered; a file that covers part of
the session gives no profile, and :func:`compare_profile` then compares what it can: in
the covered seconds, the traded volume as a share of the day's volume (given from a daily
file) against the share the schedule expects there (the bucket's share times the covered
fraction of the bucket, volume uniform within a bucket as in
:func:`~driftwise.execution.profile.rescale_profile`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import FloatArray
from driftwise.errors import DataError
from driftwise.execution.profile import (
    NYSE_HALF_HOUR_PROFILE,
    SESSION_MINUTES,
    SESSION_OPEN_MINUTES,
    bucket_start_times,
    rescale_profile,
)

MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
"""The six columns of a LOBSTER message file, in order."""
EXECUTION_TYPES = (4, 5, 6)
"""Message types that trade: visible and hidden executions, and cross trades (auctions)."""
MESSAGE_TYPES = (1, 2, 3, 4, 5, 6, 7)
SESSION_OPEN_S = SESSION_OPEN_MINUTES * 60.0
SESSION_CLOSE_S = SESSION_OPEN_S + SESSION_MINUTES * 60.0


def read_lobster_messages(path: str | Path) -> pd.DataFrame:
    """Read a LOBSTER message file (no header, six columns).

    Returns
    -------
    pd.DataFrame
        Columns :data:`MESSAGE_COLUMNS`, one row per message, in file order.

    Raises
    ------
    DataError
        Naming the file, row and field: a file that is not six numeric columns, a time
        outside 0..86,400 s or going backwards, an unknown message type, a negative size.
    """
    name = Path(path).name
    try:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read the LOBSTER message file ({exc})", file=name) from None
    if raw.shape[1] != len(MESSAGE_COLUMNS):
        raise DataError("a LOBSTER message file has six columns without a header",
                        file=name, expected=", ".join(MESSAGE_COLUMNS),
                        found=f"{raw.shape[1]} column(s)")
    raw.columns = list(MESSAGE_COLUMNS)
    out = {}
    for field in MESSAGE_COLUMNS:
        values = pd.to_numeric(raw[field].str.strip(), errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=np.float64)))
        if len(bad):
            raise DataError("not a number", file=name, row=int(bad[0]) + 1, field=field,
                            expected="a number", found=repr(raw[field].iloc[bad[0]]))
        out[field] = values.to_numpy(dtype=np.float64)
    frame = pd.DataFrame(out)
    checks = (
        ("time", (frame["time"] < 0) | (frame["time"] > 86_400),
         "seconds after midnight, 0 to 86,400"),
        ("time", np.r_[False, np.diff(frame["time"].to_numpy()) < 0],
         "times in ascending order"),
        ("type", ~frame["type"].isin(MESSAGE_TYPES), "a message type 1 to 7"),
        ("size", frame["size"] < 0, "a size of 0 shares or more"))
    for field, mask, expected in checks:
        bad = np.flatnonzero(np.asarray(mask))
        if len(bad):
            raise DataError("invalid value", file=name, row=int(bad[0]) + 1, field=field,
                            expected=expected, found=f"{frame[field].iloc[bad[0]]:g}")
    frame["type"] = frame["type"].astype(np.int64)
    return frame


@dataclass(frozen=True)
class MeasuredProfile:
    """Executed volume per equal clock bucket of the regular session.

    Attributes
    ----------
    starts : list of str
        Each bucket's start, New York time.
    volume : ndarray, shape (B,)
        Executed shares in the bucket.
    covered_s : ndarray, shape (B,)
        Seconds of the bucket between the file's first and last message.
    bucket_s : float
        Length of a bucket, seconds.
    """

    starts: list[str]
    volume: FloatArray
    covered_s: FloatArray
    bucket_s: float

    @property
    def complete(self) -> bool:
        """Every bucket covered from its start to its end."""
        return bool(np.all(self.covered_s >= self.bucket_s - 1e-9))

    @property
    def shares(self) -> FloatArray:
        """Each bucket's share of the session's executed volume (NaN unless complete)."""
        total = float(self.volume.sum())
        if not self.complete or total <= 0.0:
            return np.full(len(self.volume), np.nan)
        return np.asarray(self.volume / total, dtype=np.float64)


def measure_profile(messages: pd.DataFrame, n_buckets: int = 13) -> MeasuredProfile:
    """Executed shares per bucket of :func:`read_lobster_messages`' ``messages``.

    A bucket holds the executions with ``open + j·L <= time < open + (j+1)·L`` (the
    last bucket includes the close), ``L = 23,400 s / n_buckets``; executions outside
    the regular session are left out. The covered seconds of a bucket are its overlap
    with ``[first message, last message]``.
    """
    bucket_s = SESSION_MINUTES * 60.0 / n_buckets
    edges = SESSION_OPEN_S + bucket_s * np.arange(n_buckets + 1)
    starts = bucket_start_times(n_buckets)
    t = messages["time"].to_numpy(dtype=np.float64)
    trade = messages["type"].isin(EXECUTION_TYPES).to_numpy()
    inside = trade & (t >= SESSION_OPEN_S) & (t <= SESSION_CLOSE_S)
    which = np.minimum(((t[inside] - SESSION_OPEN_S) // bucket_s).astype(np.int64),
                       n_buckets - 1)
    volume = np.bincount(which, weights=messages["size"].to_numpy(dtype=np.float64)[inside],
                         minlength=n_buckets).astype(np.float64)
    if len(t):
        lo, hi = float(t.min()), float(t.max())
        covered = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
    else:
        covered = np.zeros(n_buckets)
    return MeasuredProfile(starts, volume, np.asarray(covered, dtype=np.float64), bucket_s)


def compare_profile(measured: MeasuredProfile, day_volume: float | None = None,
                    profile: npt.ArrayLike = NYSE_HALF_HOUR_PROFILE) -> pd.DataFrame:
    """The schedule's profile beside the measured one, one row per bucket.

    Columns: ``start``, ``schedule_share`` (the profile re-bucketed to the measurement's
    buckets), ``covered_s`` and ``coverage`` (fraction of the bucket), ``volume``
    (executed shares), ``measured_share`` (of the session's executed volume; NaN unless
    every bucket is covered), ``abs_difference`` (``|measured − schedule|``, NaN likewise),
    and, with the day's total volume ``day_volume``: ``measured_share_of_day`` (the
    bucket's executions over it, NaN where the bucket is not covered at all) and
    ``schedule_share_covered`` (the schedule's share for the covered seconds,
    ``schedule_share × coverage``).
    """
    n = len(measured.volume)
    sched = rescale_profile(n, profile)
    coverage = measured.covered_s / measured.bucket_s
    shares = measured.shares
    out = pd.DataFrame({"start": measured.starts, "schedule_share": sched,
                        "covered_s": measured.covered_s, "coverage": coverage,
                        "volume": measured.volume, "measured_share": shares,
                        "abs_difference": np.abs(shares - sched)})
    if day_volume is not None:
        if not math.isfinite(day_volume) or day_volume <= 0.0:
            raise DataError("the day's volume must be a positive number of shares",
                            field="day_volume", found=f"{day_volume!r}")
        out["measured_share_of_day"] = np.where(coverage > 0.0,
                                                measured.volume / day_volume, np.nan)
        out["schedule_share_covered"] = sched * coverage
    return out


def max_abs_difference(table: pd.DataFrame) -> float:
    """The largest ``|measured − schedule|`` over the buckets (NaN when the measurement
    does not cover the whole session)."""
    diff = table["abs_difference"].to_numpy(dtype=np.float64)
    return float(np.max(diff)) if len(diff) and np.all(np.isfinite(diff)) else math.nan


__all__ = ["EXECUTION_TYPES", "MESSAGE_COLUMNS", "MeasuredProfile", "compare_profile",
           "max_abs_difference", "measure_profile", "read_lobster_messages"]
