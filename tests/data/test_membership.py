"""S&P 500 membership: the reader's errors, the members of a day, the rename rule, and the
real file (skipped without the shared data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.data.membership import (
    MEMBERSHIP_FILE,
    RENAME_PRICE_TOLERANCE,
    canonical_symbol,
    find_renames,
    match_membership,
    read_intervals,
    sp500_membership,
)
from driftwise.errors import DataError

WriteText = Callable[[str, str], Path]




def _located(err: DataError, path: Path, row: int, field: str) -> None:
    assert err.file is not None and Path(err.file).name == path.name
    assert err.row == row and err.field == field


def test_reads_intervals_with_open_ends_and_canonical_symbols(write_csv: WriteText) -> None:
    path = write_csv("m.csv", """
        ticker,start_date,end_date
        AAA,2000-01-03,2005-06-01
        brk-b,2010-02-16,
        AAA,2007-01-02,
        """)
    iv = read_intervals(path)
    assert iv["symbol"].tolist() == ["AAA", "AAA", "BRK.B"]
    assert iv["line"].tolist() == [2, 4, 3]
    assert pd.isna(iv["end"].iloc[1]) and iv["end"].iloc[0] == pd.Timestamp("2005-06-01")


@pytest.mark.parametrize(("text", "row", "field", "problem"), [
    ("AAA,2000-01-03,2005-06-01\nBBB,2001-13-01,\n", 3, "start_date", "not a date"),
    ("AAA,2000-01-03,2005-06-01\nBBB,2001-01-02,2000-12-29\n", 3, "end_date",
     "membership ends before it starts"),
    ("AAA,2000-01-03,2005-06-01\n,2001-01-02,\n", 3, "ticker", "missing value"),
    ("AAA,2000-01-03,2005-06-01\nB B,2001-01-02,\n", 3, "ticker", "not a valid ticker"),
    ("AAA,2000-01-03,2005-06-01\nAAA,2004-01-02,\n", 3, "start_date",
     "two membership intervals of one ticker overlap"),
    ("AAA,2000-01-03,\nAAA,2004-01-02,2006-01-02\n", 3, "start_date",
     "two membership intervals of one ticker overlap"),
    ("AAA,2000-01-03,2005-06-01\nBBB,,\n", 3, "start_date", "missing value"),
])
def test_a_bad_row_names_file_row_and_field(write_csv: WriteText, text: str, row: int,
                                            field: str, problem: str) -> None:
    path = write_csv("membership.csv", "ticker,start_date,end_date\n" + text)
    with pytest.raises(DataError) as caught:
        read_intervals(path)
    _located(caught.value, path, row, field)
    assert caught.value.problem == problem


def test_a_missing_column_or_file_is_refused(write_csv: WriteText, tmp_path: Path) -> None:
    path = write_csv("m.csv", "ticker,start_date\nAAA,2000-01-03\n")
    with pytest.raises(DataError, match="end_date"):
        read_intervals(path)
    with pytest.raises(DataError, match="membership file not found"):
        read_intervals(tmp_path / "none.csv")


def test_a_member_from_its_start_until_the_day_before_its_end(write_csv: WriteText) -> None:
    path = write_csv("m.csv", """
        ticker,start_date,end_date
        OUT,1999-01-04,2003-03-03
        IN,2003-03-03,
        BRK.B,2010-02-16,
        """)
    m = match_membership(read_intervals(path), ["OUT", "IN", "BRK-B", "NEVER"], {})
    assert m.members_on("2003-02-28") == {"OUT"}
    assert m.members_on("2003-03-03") == {"IN"}  # the change day: the new member only
    assert m.members_on("1999-01-01") == frozenset()
    assert m.keep_members(["BRK-B", "IN", "OUT"], "2015-01-02") == ["BRK-B", "IN"]
    assert m.unmatched == ("NEVER",)
    assert "NEVER" not in m.members_on("2020-01-02")


def test_canonical_symbol() -> None:
    assert canonical_symbol(" brk-b ") == canonical_symbol("BRK/B") == "BRK.B"
    assert canonical_symbol("BF.B") == "BF.B"


def _renaming(write_csv: WriteText, old_prices: list[float]) -> tuple[pd.DataFrame,
                                                                       pd.DataFrame,
                                                                       pd.Series]:
    """OLD a member 1996-2019-08-08, then NEW (the panel's ticker) from that day; OTHER
    leaves the index the same day; snapshots of OLD and OTHER before the change."""
    path = write_csv("m.csv", """
        ticker,start_date,end_date
        OLD,1996-01-02,2019-08-08
        OTHER,1998-01-02,2019-08-08
        NEW,2019-08-08,
        OLDEST,1990-01-02,1996-01-02
        """)
    days = pd.bdate_range("2013-01-01", "2019-12-31")
    closes = pd.Series(np.linspace(50.0, 90.0, len(days)), index=days)
    snap_days = pd.DatetimeIndex(["2013-02-01", "2015-06-01", "2018-02-08"])
    snaps = pd.DataFrame({
        "snapshot_date": list(snap_days) * 2,
        "symbol": ["OLD"] * 3 + ["OTHER"] * 3,
        "price": [*old_prices, 10.0, 11.0, 12.0]})
    return read_intervals(path), snaps, closes


def test_a_rename_is_one_security_by_price(write_csv: WriteText) -> None:
    iv, snaps, closes = _renaming(write_csv, [0.0, 0.0, 0.0])
    at = closes.index.searchsorted(pd.DatetimeIndex(snaps["snapshot_date"][:3]), side="right")
    same = (closes.to_numpy()[at - 1] * [1.001, 0.999, 1.2]).tolist()  # the median is 0.1%
    snaps["price"] = [*same, 10.0, 11.0, 12.0]
    renames = find_renames(iv, ["NEW"], snaps, lambda t: closes)
    assert renames == {"NEW": ("OLD",)}
    m = match_membership(iv, ["NEW"], renames)
    assert m.members_on("2000-01-03") == {"NEW"}  # a member then, as OLD
    assert m.keep_members(["NEW"], "1995-06-01") == []  # OLDEST is no rename of it
    # prices 3% apart: an ordinary index change on the same day, not a rename
    snaps["price"] = [p * (1 + 3 * RENAME_PRICE_TOLERANCE) for p in same] + [10.0, 11.0, 12.0]
    assert find_renames(iv, ["NEW"], snaps, lambda t: closes) == {}
    assert match_membership(iv, ["NEW"], {}).members_on("2000-01-03") == frozenset()


def test_renames_are_followed_along_a_chain(write_csv: WriteText) -> None:
    path = write_csv("m.csv", """
        ticker,start_date,end_date
        A,1996-01-02,2014-03-03
        B,2014-03-03,2019-06-03
        C,2019-06-03,
        """)
    days = pd.bdate_range("2012-01-02", "2020-12-31")
    closes = pd.Series(np.linspace(20.0, 40.0, len(days)), index=days)
    snap_days = pd.DatetimeIndex(["2013-01-02", "2016-01-04", "2018-01-02"])
    price = closes.reindex(snap_days).to_numpy()
    snaps = pd.DataFrame({"snapshot_date": snap_days, "symbol": ["A", "B", "B"],
                          "price": price})
    renames = find_renames(read_intervals(path), ["C"], snaps, lambda t: closes)
    assert renames == {"C": ("B", "A")}
    m = match_membership(read_intervals(path), ["C"], renames)
    assert m.members_on("2000-01-03") == m.members_on("2016-01-04") == {"C"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C", "D"]),
                          st.integers(0, 3000), st.integers(1, 2000), st.booleans()),
                min_size=1, max_size=12),
       st.integers(-10, 5100))
def test_members_on_matches_a_plain_scan(rows: list[tuple[str, int, int, bool]],
                                         offset: int) -> None:
    """Any set of non-overlapping intervals: ``members_on`` is the scan of the intervals
    one by one (start <= day < end, no end: still a member)."""
    base = pd.Timestamp("2000-01-03")
    kept: list[tuple[str, pd.Timestamp, pd.Timestamp | None]] = []
    for sym, start, length, open_end in rows:
        s = base + pd.Timedelta(days=start)
        e = None if open_end else s + pd.Timedelta(days=length)
        clash = any(k == sym and (ke is None or s < ke) and (e is None or ks < e)
                    for k, ks, ke in kept)
        if not clash:
            kept.append((sym, s, e))
    iv = pd.DataFrame({"symbol": [k[0] for k in kept], "start": [k[1] for k in kept],
                       "end": pd.to_datetime([k[2] for k in kept]),
                       "line": np.arange(2, len(kept) + 2)})
    day = base + pd.Timedelta(days=offset)
    expected = {k for k, s, e in kept if s <= day and (e is None or day < e)}
    m = match_membership(iv, ["A", "B", "C", "D"], {})
    assert m.members_on(day) == expected
    assert m.keep_members(["D", "C", "B", "A"], day) == [t for t in "DCBA" if t in expected]


def test_the_real_file(shared_data: Path) -> None:
    """The shared membership file: every one of the panel's tickers matches an interval;
    on its list date (2021-04-20, the last day before PTC and after VAR left) the panel
    is the index but VAR; 12 renames are recognised, and the members of 2000-01-03 are
    those of the file under the panel's tickers plus the renamed stocks' former ones."""
    path = shared_data.joinpath(*MEMBERSHIP_FILE)
    if not path.is_file():
        pytest.skip(f"the membership file is absent ({path})")
    m = sp500_membership(shared_data)
    assert m is not None and m.unmatched == ()
    panel = pd.read_csv(shared_data / "sp500-daily-ohlcv-alphavantage" / "tickers.csv")
    tickers = set(panel["ticker"])
    assert tickers - m.members_on("2021-04-20") == {"VAR"}
    assert m.renames == {"BKR": ("BHGE",), "DD": ("DWDP",), "GL": ("TMK",),
                         "HWM": ("ARNC",), "J": ("JEC",), "LHX": ("HRS",),
                         "LUMN": ("CTL",), "NLOK": ("SYMC",), "PEAK": ("HCP",),
                         "RTX": ("UTX",), "TFC": ("BBT",), "VIAC": ("CBS",)}
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    day = "2000-01-03"
    on = raw[(raw["start_date"] <= day) & ((raw["end_date"] == "") | (raw["end_date"] > day))]
    former = {old: new for new, olds in m.renames.items() for old in olds}
    expected = {former.get(t, t) for t in on["ticker"]} & tickers
    assert m.members_on(day) == expected
    assert {"GL", "TFC", "RTX"} <= expected and "AMZN" not in expected  # AMZN joined 2005
