"""Point-in-time S&P 500 membership: which stocks were index members on a given day.

The 504-stock panel (:func:`driftwise.data.universe.read_sp500`) holds the S&P 500 members
of April 2021 only, with their prices back to 1999. Drawing among them on an earlier day
without asking whether each was a member *that day* uses hindsight: a stock is in the
panel because it was a member in 2021. The membership history of the shared data folder
(``sp500-constituents/membership_intervals_1996_2025.csv``: ``ticker, start_date,
end_date``, an empty end for a current member, several intervals per ticker allowed) says
who was a member on each day; :class:`Membership` reads it in the panel's tickers.

**Dates.** A stock is a member on ``day`` when ``start_date <= day < end_date`` (or no end):
the file's end date is the day the removal took effect, the day its replacement's interval
starts (a removal and an addition share a date; on that day one of the two is a member).

**Matching the file's symbols to the panel's tickers** (the file has no other identifier):

1. *Symbols*: both sides are upper-cased and the class-share separator is written ``.``
   (``BRK-B``, ``BRK/B`` and ``BRK.B`` are one symbol, :func:`canonical_symbol`).
2. *Renames*: a company that changed its ticker appears in the file as an interval of the
   old symbol ending on the day an interval of the new one starts (Torchmark ``TMK`` ->
   Globe Life ``GL`` on 2019-08-08), while the panel holds the whole history under the new
   ticker. Such a pair is also what an ordinary index change looks like (one stock out,
   another in, on one day), so a pair counts as a rename only when the two are one
   security by price: on every market-cap snapshot of the shared data
   (``market_cap_snapshots.csv.gz``, 2012-12 onwards, each with the price of the day)
   dated before the change, the old symbol's price is within
   :data:`RENAME_PRICE_TOLERANCE` (median relative difference) of the panel's raw close of
   the new ticker on or before that date. The old symbol must not be a ticker of the panel
   itself; chains (``A`` -> ``B`` -> ``C``) are followed. On the shared data this finds 12
   renames (TMK -> GL, UTX -> RTX, ARNC -> HWM, BBT -> TFC, CBS -> VIAC, CTL -> LUMN, SYMC
   -> NLOK, HCP -> PEAK, JEC -> J, HRS -> LHX, BHGE -> BKR, DWDP -> DD); the nearest
   ordinary index change differs by 3.4% (median). A rename before the first snapshot
   (2012-12) cannot be checked this way and is not taken (the file itself lists most older
   ones under the later ticker, e.g. ``BKNG`` from 2009).
3. *Unmatched*: a panel ticker with no interval under its symbol or a recognised former
   one is :attr:`Membership.unmatched`: it cannot be shown to have been a member on any day
   and is never a member (0 of the 504 on the shared data: each is a member on 2021-04-20,
   the panel's list date, but VAR, removed that day on its acquisition).

A symbol the file reuses for another company (Citicorp's ``CCI`` until 1998, Crown
Castle's later) is taken as the panel's stock: the file cannot tell them apart, and for
the panel's dates (1999-11 onwards) the known reuses end before the panel's stock starts
trading or overlap a member interval of it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.data._table import Kind, parse_column, parse_tickers, read_table, require_columns
from driftwise.data.universe import SP500_CAPS, SP500_DAILY, _stamp, _ticker_file
from driftwise.errors import DataError

MEMBERSHIP_FILE = ("sp500-constituents", "membership_intervals_1996_2025.csv")
"""Where the membership history lives in the shared data folder."""
RENAME_PRICE_TOLERANCE = 0.01
"""Largest median relative price difference between an old symbol's snapshots and the new
ticker's raw closes for the two to count as one security renamed (1%)."""


def canonical_symbol(symbol: str) -> str:
    """``symbol`` upper-cased, stripped, with ``-`` and ``/`` written ``.`` (``brk-b`` ->
    ``BRK.B``): the form in which the membership file and the panel are compared."""
    return symbol.strip().upper().replace("-", ".").replace("/", ".")


def membership_path(data_dir: Path) -> Path:
    """The membership file of a shared data folder."""
    return Path(data_dir).joinpath(*MEMBERSHIP_FILE)


def read_intervals(path: Path) -> pd.DataFrame:
    """The membership intervals of ``path``, validated.

    Returns
    -------
    pd.DataFrame
        ``symbol`` (:func:`canonical_symbol`), ``start`` and ``end`` (datetime64; ``end``
        NaT for a current member), ``line`` (the row's line in the file), sorted by symbol
        and start. A fresh copy of the frame kept for the process (re-read when the
        file's time or size changes).

    Raises
    ------
    DataError
        File missing or empty, a missing column, a blank or invalid ticker, a start that
        is not a date, an end that is not a date or is not after its start, or two
        intervals of one ticker that overlap; each named by file, row and field.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("S&P 500 membership file not found", file=path,
                        expected="ticker, start_date, end_date")
    return _intervals(str(path), *_stamp(path)).copy()


@functools.lru_cache(maxsize=4)
def _intervals(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    table = read_table(path, name="S&P 500 membership")
    require_columns(table, "ticker", "start_date", "end_date")
    symbols = parse_tickers(table, "ticker")
    start = parse_column(table, "start_date", Kind.DATE)
    end = parse_column(table, "end_date", Kind.DATE, required=False)
    backwards = (end.notna() & (end <= start)).to_numpy(dtype=bool)
    if backwards.any():
        pos = int(np.flatnonzero(backwards)[0])
        raise table.error("membership ends before it starts", position=pos, field="end_date",
                          expected=f"a date after start_date {start.iloc[pos].date()} "
                                   "(or empty for a current member)",
                          found=str(end.iloc[pos].date()))
    frame = pd.DataFrame({"symbol": [canonical_symbol(s) for s in symbols],
                          "start": start.to_numpy(), "end": end.to_numpy(),
                          "line": table.frame["_line"].to_numpy(dtype=np.int64)})
    frame = frame.sort_values(["symbol", "start"], kind="stable").reset_index(drop=True)
    same = frame["symbol"].eq(frame["symbol"].shift())
    prev_end = frame["end"].shift()
    overlap = (same & (prev_end.isna() | (frame["start"] < prev_end))).to_numpy(dtype=bool)
    if overlap.any():
        pos = int(np.flatnonzero(overlap)[0])
        earlier = frame.iloc[pos - 1]
        until = "none: still a member" if pd.isna(earlier["end"]) else \
            str(earlier["end"].date())
        raise DataError("two membership intervals of one ticker overlap", file=table.label,
                        row=int(frame["line"].iloc[pos]), field="start_date",
                        expected=f"a start on or after the end of row {int(earlier['line'])} "
                                 f"({until})",
                        found=f"{frame['symbol'].iloc[pos]} from "
                              f"{frame['start'].iloc[pos].date()}")
    return frame


@dataclass(frozen=True, eq=False)
class Membership:
    """Index membership in the panel's tickers.

    Attributes
    ----------
    intervals : pd.DataFrame
        ``ticker`` (the panel's), ``symbol`` (the file's, canonical: the ticker itself or
        a former symbol), ``start``, ``end`` (NaT: still a member), ``line``.
    renames : Mapping[str, tuple[str, ...]]
        The panel tickers with the former symbols whose intervals count as theirs.
    unmatched : tuple of str
        Panel tickers without any interval: never members.
    source : str
        The membership file.
    """

    intervals: pd.DataFrame
    renames: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unmatched: tuple[str, ...] = ()
    source: str = ""

    def members_on(self, day: pd.Timestamp | str) -> frozenset[str]:
        """The panel tickers that were index members on ``day`` (start <= day < end)."""
        d = pd.Timestamp(day)
        iv = self.intervals
        on = (iv["start"] <= d) & (iv["end"].isna() | (d < iv["end"]))
        return frozenset(str(t) for t in iv.loc[on.to_numpy(dtype=bool), "ticker"])

    def keep_members(self, tickers: Iterable[str], day: pd.Timestamp | str) -> list[str]:
        """The ``tickers`` that were members on ``day``, in their order."""
        members = self.members_on(day)
        return [t for t in tickers if canonical_symbol(t) in members]


def match_membership(intervals: pd.DataFrame, tickers: Sequence[str],
                     renames: Mapping[str, Sequence[str]], source: str = "") -> Membership:
    """The :class:`Membership` of the panel ``tickers`` from the file's ``intervals``
    (:func:`read_intervals`): each ticker's own intervals plus those of its former
    symbols in ``renames``."""
    owner: dict[str, str] = {}
    for t in tickers:
        owner[canonical_symbol(t)] = canonical_symbol(t)
    for t, olds in renames.items():
        for old in olds:
            owner.setdefault(canonical_symbol(old), canonical_symbol(t))
    kept = intervals[intervals["symbol"].isin(list(owner))].copy()
    kept.insert(0, "ticker", [owner[s] for s in kept["symbol"]])
    kept = kept.sort_values(["ticker", "start"], kind="stable").reset_index(drop=True)
    matched = set(kept["ticker"])
    unmatched = tuple(sorted(canonical_symbol(t) for t in tickers
                             if canonical_symbol(t) not in matched))
    return Membership(intervals=kept,
                      renames={canonical_symbol(k): tuple(v) for k, v in renames.items() if v},
                      unmatched=unmatched, source=source)


def find_renames(intervals: pd.DataFrame, tickers: Sequence[str], snapshots: pd.DataFrame,
                 close_of: Callable[[str], pd.Series], *,
                 tolerance: float = RENAME_PRICE_TOLERANCE) -> dict[str, tuple[str, ...]]:
    """The former symbols of the panel ``tickers`` (see the module docstring).

    Parameters
    ----------
    intervals : pd.DataFrame
        :func:`read_intervals`.
    tickers : sequence of str
        The panel's tickers.
    snapshots : pd.DataFrame
        ``snapshot_date``, ``symbol`` (canonical) and ``price`` (USD, raw).
    close_of : callable
        A panel ticker's raw closes (USD, indexed by date).
    tolerance : float
        Largest median relative difference of the prices.

    Returns
    -------
    dict
        Panel ticker -> its former symbols, latest first (tickers without one left out).
    """
    panel = {canonical_symbol(t) for t in tickers}
    ends = intervals.dropna(subset=["end"])
    ends = ends[~ends["symbol"].isin(panel)]
    snaps = snapshots.dropna(subset=["price"])
    snaps = snaps[snaps["price"] > 0]
    by_symbol = {str(s): g for s, g in snaps.groupby("symbol")}
    out: dict[str, tuple[str, ...]] = {}
    for ticker in sorted(panel):
        found: list[str] = []
        frontier = [ticker]
        closes: pd.Series | None = None
        while frontier:
            symbol = frontier.pop()
            starts = intervals.loc[intervals["symbol"] == symbol, "start"]
            for day in starts:
                best, best_diff = None, tolerance
                for old in ends.loc[ends["end"] == day, "symbol"]:
                    if old in found or old == ticker or old not in by_symbol:
                        continue
                    seen = by_symbol[old]
                    seen = seen[seen["snapshot_date"] < day]
                    if seen.empty:
                        continue
                    if closes is None:
                        closes = close_of(ticker)
                    diff = _median_price_gap(seen, closes)
                    if diff is not None and diff <= best_diff:
                        best, best_diff = str(old), diff
                if best is not None:
                    found.append(best)
                    frontier.append(best)
        if found:
            out[ticker] = tuple(found)
    return out


def _median_price_gap(seen: pd.DataFrame, closes: pd.Series) -> float | None:
    """Median |snapshot price / close on or before the snapshot date - 1|; None without
    a close before any snapshot."""
    closes = closes.dropna()
    closes = closes[closes > 0]
    if closes.empty:
        return None
    pos = closes.index.searchsorted(pd.DatetimeIndex(seen["snapshot_date"]), side="right") - 1
    ok = pos >= 0
    if not ok.any():
        return None
    prices = seen["price"].to_numpy(dtype=np.float64)[ok]
    return float(np.median(np.abs(prices / closes.to_numpy(dtype=np.float64)[pos[ok]] - 1.0)))


@functools.lru_cache(maxsize=4)
def _snapshot_prices(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    raw = pd.read_csv(path, usecols=["snapshot_date", "symbol", "price"])
    return pd.DataFrame({"snapshot_date": pd.to_datetime(raw["snapshot_date"]),
                         "symbol": [canonical_symbol(str(s)) for s in raw["symbol"]],
                         "price": pd.to_numeric(raw["price"], errors="coerce")})


def sp500_membership(data_dir: Path) -> Membership | None:
    """The membership of the 504-stock panel of the shared data folder, None when the
    folder has no membership file (the draw then falls back, flagged: see
    :func:`driftwise.validation.study.eligible_sp500`).

    Kept per process (re-read when a file's time or size changes).

    Raises
    ------
    DataError
        A bad membership row (:func:`read_intervals`) or a missing ``tickers.csv``.
    """
    path = membership_path(data_dir)
    if not path.is_file():
        return None
    index = Path(data_dir) / SP500_DAILY / "tickers.csv"
    if not index.is_file():
        raise DataError("the S&P 500 data folder was not found", file=index,
                        expected="--data-dir pointing at the shared data folder")
    snaps = Path(data_dir).joinpath(*SP500_CAPS)
    snap_key = (str(snaps), *_stamp(snaps)) if snaps.is_file() else None
    return _sp500_membership(str(path), *_stamp(path), str(index), *_stamp(index), snap_key)


@functools.lru_cache(maxsize=4)
def _sp500_membership(path: str, mtime_ns: int, size: int, index: str, index_mtime: int,
                      index_size: int, snap_key: tuple[str, int, int] | None) -> Membership:
    intervals = _intervals(path, mtime_ns, size)
    tickers = [str(t) for t in pd.read_csv(index, usecols=["ticker"])["ticker"]]
    daily = Path(index).parent / "daily"

    def close_of(ticker: str) -> pd.Series:
        for name in (ticker, ticker.replace(".", "-")):
            file = daily / f"{name}.csv.gz"
            if file.is_file():
                return _ticker_file(str(file), *_stamp(file))["close"]
        return pd.Series(dtype=np.float64)

    renames = {} if snap_key is None else find_renames(
        intervals, tickers, _snapshot_prices(*snap_key), close_of)
    return match_membership(intervals, tickers, renames, source=path)
