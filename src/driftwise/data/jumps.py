"""Suspect one-day price jumps: unadjusted splits, typos and unconfirmed spikes.

A daily close series is meant to be adjusted for splits and dividends. Two data errors
survive a naive check and would become wrong orders: a split left unadjusted (the price
halves, or falls by a third, while the stock also moves a few percent that day) and a
typo (a price ×100 or ÷10 on one day that comes back the next). A real crash looks alike
on one day, so a jump is judged against the stock's own recent moves.

A **candidate** is a one-day move with ``|log r| ≥ log(1 + MIN_MOVE)`` (``r = p_t /
p_{t−1}``). Its size is compared with the robust daily volatility of the
``NEIGHBOUR_SESSIONS`` sessions before it and after it (leaving out the jump and its
reversal): ``z = |log r| / (1.4826 · median |log return|)``. Only a candidate with
``z ≥ MIN_Z`` (far outside the stock's own noise) is suspect, and then it is

* a **reversal** (a typo) when the price comes back within ``REVERSAL_SESSIONS``
  sessions: ``|Σ log r| ≤ REVERSAL_SHARE · |log r_t|`` over the jump and the days after;
* a **split** when ``r`` lies within ``SPLIT_TOLERANCE`` (relative, in log terms) of a
  split ratio of :data:`SPLIT_RATIOS` (a few percent of real move on the split day);
* **unconfirmed** when the move at least doubles or halves the price and fewer than
  ``REVERSAL_SESSIONS`` sessions follow it: too recent to tell a real move from a typo.

A real crash amid a turbulent market (OXY −50% on 2020-03-09, with ±15% days around it)
has ``z ≈ 8`` and is not suspect; an unadjusted 2-for-1 split of a stock moving 1-2% a day
has ``z ≈ 25-50``. On the 504 S&P 500 stocks of 1999-2021 the detector flags the known
adjustment artefacts (TRMB 2007-02-23, KSU 2000-07-13, SO 2001-04-03, IRM 2006-02-02)
and some real ±30-50% days of calm stocks (``tests/data/test_jumps_realdata.py`` prints
the count); a user marks those as real with ``data.accept_jumps`` or ``--accept-jump``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, notice

MIN_MOVE = 0.30
"""A one-day move of at least ×1.3 or ÷1.3 (−23%) is examined."""
MIN_Z = 12.0
"""Suspect only when the move is this many robust daily volatilities."""
NEIGHBOUR_SESSIONS = 10
"""Sessions before (and after) a jump whose moves measure the stock's own volatility."""
MIN_NEIGHBOURS = 5
"""With fewer neighbouring returns, :data:`DEFAULT_DAILY_VOL` is used instead."""
DEFAULT_DAILY_VOL = 0.02
"""Daily volatility assumed without enough neighbours (about 32% a year)."""
REVERSAL_SESSIONS = 5
"""A spike that comes back within this many sessions is a typo."""
REVERSAL_SHARE = 0.25
"""'Comes back': the cumulative move is at most this share of the jump."""
SPLIT_TOLERANCE = 0.06
"""A ratio within 6% of a split ratio looks like a split (covers a few percent of real move)."""
UNCONFIRMED_MOVE = 2.0
"""A last-days jump of at least ×2 or ÷2 is unconfirmed until sessions follow it."""

_SPLITS = ((2, 1), (3, 2), (3, 1), (4, 1), (5, 1), (8, 1), (10, 1), (20, 1))
SPLIT_RATIOS: tuple[tuple[str, float], ...] = (
    *((f"{a}-for-{b} split", b / a) for a, b in _SPLITS),
    *((f"{b}-for-{a} reverse split", a / b) for a, b in _SPLITS),
)
"""Split names and the price ratio ``p_t / p_{t−1}`` each leaves when unadjusted."""

KEY_PATTERN = re.compile(r"^\s*([A-Za-z0-9.\-/]+)\s*:\s*(\d{4}-\d{2}-\d{2})\s*$")


class JumpKind(StrEnum):
    """Why a jump is suspect."""

    SPLIT = "unadjusted split"
    REVERSAL = "spike that reverses (typo)"
    UNCONFIRMED = "unconfirmed jump"


@dataclass(frozen=True)
class PriceJump:
    """One suspect one-day price jump.

    Attributes
    ----------
    ticker : str
    date : pd.Timestamp
        The session of the new price ``p_t``.
    ratio : float
        ``p_t / p_{t−1}``.
    kind : JumpKind
    detail : str
        Why, in words ("within 6% of a 2-for-1 split", "back within 1 session").
    file : str
    row : int or None
        Line of ``p_t`` in the file (header = line 1); None when the file has no row.
    field : str
        The column holding the price.
    z : float
        The move in robust daily volatilities of its neighbours.
    """

    ticker: str
    date: pd.Timestamp
    ratio: float
    kind: JumpKind
    detail: str
    file: str
    row: int | None
    field: str
    z: float

    @property
    def key(self) -> str:
        """``TICKER:YYYY-MM-DD``, the form a user accepts a jump in."""
        return f"{self.ticker}:{self.date.date()}"

    def describe(self) -> str:
        """One line naming the ticker, the date, the ratio and why."""
        where = f"{self.file}" + (f" row {self.row}" if self.row else "")
        return (f"{self.ticker} on {self.date.date()}: ×{self.ratio:.4f} in one day, "
                f"{self.kind.value}, {self.detail} ({where})")


def parse_jump_key(text: str) -> tuple[str, pd.Timestamp]:
    """``"OXY:2020-03-09"`` → ``("OXY", Timestamp("2020-03-09"))``.

    Raises
    ------
    ValueError
        Not of the form ``TICKER:YYYY-MM-DD`` or not a calendar date.
    """
    match = KEY_PATTERN.match(text)
    if match is None:
        raise ValueError(f"expected TICKER:YYYY-MM-DD (e.g. OXY:2020-03-09), found {text!r}")
    try:
        day = pd.Timestamp(match.group(2))
    except ValueError:
        raise ValueError(f"not a calendar date in {text!r}") from None
    return match.group(1).upper(), day


def find_jumps(values: npt.NDArray[np.float64], dates: pd.DatetimeIndex, tickers: pd.Index,
               *, file: str, lines: npt.NDArray[np.int64] | None = None,
               field: str | None = None) -> list[PriceJump]:
    """Every suspect jump of a dates × tickers price matrix (see the module notes).

    Parameters
    ----------
    values : ndarray, shape (T, N)
        Prices, dates ascending, NaN where a ticker has no price.
    dates : DatetimeIndex, shape (T,)
    tickers : Index, shape (N,)
    file : str
        The file, for messages.
    lines : ndarray of int, shape (T, N), optional
        Source line of each cell (0 = no row).
    field : str, optional
        The price column of a long file; a wide file's field is the ticker.

    Returns
    -------
    list of PriceJump
        In date order, then ticker order; a reversal is reported once, on its first day.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log(values[1:] / values[:-1])
    big = np.abs(log_r) >= np.log1p(MIN_MOVE)  # NaN compares False
    out: list[PriceJump] = []
    covered: set[tuple[int, int]] = set()
    for i, j in sorted(zip(*np.nonzero(big), strict=True), key=lambda c: (c[0], c[1])):
        if (i, j) in covered:
            continue
        found = _judge(log_r[:, j], int(i))
        if found is None:
            continue
        kind, detail, z, back = found
        covered.update((i + k, j) for k in range(1, back + 1))
        line = int(lines[i + 1, j]) if lines is not None else 0
        out.append(PriceJump(
            ticker=str(tickers[j]), date=pd.Timestamp(dates[i + 1]),
            ratio=float(np.exp(log_r[i, j])), kind=kind, detail=detail, file=file,
            row=line if line > 0 else None, field=field or str(tickers[j]), z=z))
    return out


def _judge(log_r: npt.NDArray[np.float64], i: int) -> tuple[JumpKind, str, float, int] | None:
    """Kind, detail, z and reversal length of the candidate at ``log_r[i]``, or None."""
    x = float(log_r[i])
    back = _reversal(log_r, i)
    after = log_r[i + 1 + back: i + 1 + back + NEIGHBOUR_SESSIONS]
    before = log_r[max(0, i - NEIGHBOUR_SESSIONS): i]
    around = np.concatenate([before, after])
    around = np.abs(around[np.isfinite(around)])
    sigma = 1.4826 * float(np.median(around)) if len(around) >= MIN_NEIGHBOURS \
        else DEFAULT_DAILY_VOL
    z = abs(x) / max(sigma, 1e-6)
    if z < MIN_Z:
        return None
    if back:
        return (JumpKind.REVERSAL, f"back within {back} session{'s' * (back > 1)}, {z:.0f} "
                "daily volatilities", z, back)
    name, ratio = min(SPLIT_RATIOS, key=lambda s: abs(x - np.log(s[1])))
    if abs(x - np.log(ratio)) <= np.log1p(SPLIT_TOLERANCE):
        return (JumpKind.SPLIT, f"within {SPLIT_TOLERANCE:.0%} of a {name} "
                f"(×{ratio:.4g}), {z:.0f} daily volatilities", z, 0)
    following = int(np.isfinite(log_r[i + 1: i + 1 + REVERSAL_SESSIONS]).sum())
    if abs(x) >= np.log(UNCONFIRMED_MOVE) and following < REVERSAL_SESSIONS:
        return (JumpKind.UNCONFIRMED, f"{z:.0f} daily volatilities with only {following} "
                "session(s) after it: a typo cannot be ruled out yet", z, 0)
    return None


def _reversal(log_r: npt.NDArray[np.float64], i: int) -> int:
    """Sessions after ``i`` until the price comes back (0 when it does not)."""
    x = float(log_r[i])
    total = x
    for k in range(1, REVERSAL_SESSIONS + 1):
        if i + k >= len(log_r) or not np.isfinite(log_r[i + k]):
            return 0
        total += float(log_r[i + k])
        if abs(total) <= REVERSAL_SHARE * abs(x):
            return k
    return 0


def split_accepted(jumps: Iterable[PriceJump], accept: Iterable[str]
                   ) -> tuple[tuple[PriceJump, ...], tuple[PriceJump, ...]]:
    """``(suspect, accepted)``: the jumps the user did not and did mark as real.

    ``accept`` holds ``TICKER:YYYY-MM-DD`` keys (validated by :func:`parse_jump_key`).
    """
    keys = {f"{t}:{d.date()}" for t, d in (parse_jump_key(a) for a in accept)}
    suspect = tuple(j for j in jumps if j.key not in keys)
    accepted = tuple(j for j in jumps if j.key in keys)
    return suspect, accepted


def jump_notices(suspect: tuple[PriceJump, ...], accepted: tuple[PriceJump, ...]
                 ) -> tuple[Notice, ...]:
    """The flags of the suspect and the accepted jumps (at most 10 listed each)."""
    out = []
    for group, flag, lead in (
            (suspect, Flag.PRICE_JUMP, "suspect one-day price jump(s), possibly an unadjusted "
             "split or a typo; the plan and the monitor refuse them in the data they read"),
            (accepted, Flag.PRICE_JUMP_ACCEPTED, "price jump(s) marked as real by the user")):
        if group:
            shown = "; ".join(j.describe() for j in group[:10])
            more = f"; and {len(group) - 10} more" if len(group) > 10 else ""
            out.append(notice(flag, f"{lead}: {shown}{more}", (j.ticker for j in group)))
    return tuple(out)


def reject_jumps(jumps: Iterable[PriceJump], tickers: Iterable[str], start: pd.Timestamp,
                 end: pd.Timestamp, *, what: str) -> None:
    """Raise for the first suspect jump of ``tickers`` dated in ``[start, end]``.

    Parameters
    ----------
    jumps : iterable of PriceJump
        The suspect (not accepted) jumps of the market data.
    tickers : iterable of str
        The assets the caller reads.
    start, end : Timestamp
        The window of prices the caller reads.
    what : str
        Who reads them ("the plan", "the monitor", "the backtest").

    Raises
    ------
    DataError
        Naming the file, row, field, ticker and date, and how to accept a real move.
    """
    wanted = set(tickers)
    for jump in jumps:
        if jump.ticker in wanted and start <= jump.date <= end:
            raise DataError(
                f"suspect price jump in the prices {what} reads: {jump.describe()}; give "
                f"split-adjusted closes and fix typos, or if the move is real accept it with "
                f"--accept-jump {jump.key} (or data.accept_jumps = [\"{jump.key}\"] in the "
                "configuration)", file=jump.file, row=jump.row, field=jump.field,
                expected="adjusted closes without unadjusted splits or typos",
                found=f"{jump.ticker} ×{jump.ratio:.4f} on {jump.date.date()}")
