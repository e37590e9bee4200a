"""Intraday volume profile of the NYSE regular session (09:30–16:00 New York time).

The schedule splits each trading day into equal clock buckets (13 half-hour buckets by
default) and needs, for each bucket, the expected share of the day's volume: VWAP slices
follow it, and POV caps and participation rates are measured against it.

:data:`NYSE_HALF_HOUR_PROFILE` is a **stylized** profile, not an estimate from data in this
repository (the project holds only daily volumes). Its shape is the well documented
U-shape of US equity volume (Jain & Joh 1988; Admati & Pfleiderer 1988; the intraday
"volume smile" used by broker VWAP algorithms): a heavy first half hour after the opening
auction (about 12 % of the day), a trough around 12:30–13:00 (about 5 %), a rising
afternoon, and a last half hour of about 15 % that includes the closing auction (which
alone has taken roughly 7–10 % of US daily volume in recent years). Users with their own
profile (per stock or per index, from intraday data) pass it to the schedule instead;
:mod:`driftwise.execution.intraday` measures one from a LOBSTER message file that covers the
whole session (the LOBSTER AAPL sample at hand covers 49 seconds: no profile, see
docs/costs.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray
from driftwise.errors import ConfigError

SESSION_OPEN_MINUTES = 9 * 60 + 30
"""Opening time of the regular session, minutes after midnight (09:30)."""

SESSION_MINUTES = 390
"""Length of a full NYSE regular session in minutes (6.5 hours)."""

NYSE_HALF_HOUR_PROFILE: FloatArray = np.array(
    [
        0.120,  # 09:30 open and opening auction
        0.085,  # 10:00
        0.072,  # 10:30
        0.065,  # 11:00
        0.060,  # 11:30
        0.055,  # 12:00
        0.052,  # 12:30 midday trough
        0.054,  # 13:00
        0.058,  # 13:30
        0.064,  # 14:00
        0.072,  # 14:30
        0.090,  # 15:00
        0.153,  # 15:30 close, including the closing auction
    ],
    dtype=np.float64,
)
"""Share of daily volume per half-hour bucket, 13 buckets starting at 09:30; sums to 1."""
NYSE_HALF_HOUR_PROFILE.setflags(write=False)


def check_profile(profile: npt.ArrayLike) -> FloatArray:
    """Validate a volume profile and return it normalized to sum exactly to 1.

    Parameters
    ----------
    profile : array_like, shape (n_buckets,)
        Share (or any positive amount) of daily volume per equal clock bucket.

    Returns
    -------
    ndarray, shape (n_buckets,)
        The profile divided by its sum.

    Raises
    ------
    ConfigError
        Not one-dimensional, empty, or with a non-finite or non-positive entry (every
        bucket must trade, or participation there would be infinite).
    """
    values = np.asarray(profile, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ConfigError(f"volume profile must be a non-empty 1-D array, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0.0):
        raise ConfigError("volume profile entries must be finite and > 0, got "
                          + np.array2string(values, precision=4))
    return np.asarray(values / values.sum(), dtype=np.float64)


def rescale_profile(n_buckets: int, profile: npt.ArrayLike = NYSE_HALF_HOUR_PROFILE) -> FloatArray:
    """Re-bucket a profile to ``n_buckets`` equal clock buckets of the same session.

    Parameters
    ----------
    n_buckets : int
        Number of equal buckets wanted (>= 1); 13 returns the half-hour profile.
    profile : array_like, shape (n_source,)
        Source profile over equal buckets of the session (default the NYSE half-hour one).

    Returns
    -------
    ndarray, shape (n_buckets,)
        Share of daily volume per new bucket; sums to 1.

    Notes
    -----
    Volume is taken as uniform *within* each source bucket, so the cumulative volume curve
    ``C(s)`` (``s`` in [0, 1] the fraction of the session) is piecewise linear through the
    source bucket edges; new bucket ``j`` gets ``C((j+1)/n) - C(j/n)``. Coarsening sums
    buckets exactly; refining splits each bucket evenly.
    """
    if n_buckets < 1:
        raise ConfigError(f"number of buckets per day must be >= 1, got {n_buckets}")
    source = check_profile(profile)
    edges = np.linspace(0.0, 1.0, source.size + 1)
    cumulative = np.concatenate([[0.0], np.cumsum(source)])
    new_edges = np.linspace(0.0, 1.0, n_buckets + 1)
    shares = np.diff(np.interp(new_edges, edges, cumulative))
    return np.asarray(shares / shares.sum(), dtype=np.float64)


def bucket_start_times(n_buckets: int) -> list[str]:
    """Clock start of each equal bucket of the regular session, New York time.

    Parameters
    ----------
    n_buckets : int
        Buckets per day (13 gives 09:30, 10:00, ..., 15:30).

    Returns
    -------
    list of str
        ``"HH:MM"``, or ``"HH:MM:SS"`` when a bucket does not start on a whole minute.
    """
    if n_buckets < 1:
        raise ConfigError(f"number of buckets per day must be >= 1, got {n_buckets}")
    starts = []
    for j in range(n_buckets):
        seconds = round((SESSION_OPEN_MINUTES + j * SESSION_MINUTES / n_buckets) * 60)
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        starts.append(f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else ""))
    return starts
