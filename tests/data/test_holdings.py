"""read_holdings: position and lot level, cash, shorts, lots reconciliation, bad input."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.data.holdings import LOT_COLUMNS, read_holdings
from driftwise.errors import DataError
from driftwise.flags import Flag

TODAY = "2024-06-28"


# ---------------------------------------------------------------- happy paths


def test_position_level_with_cash_rows(write_csv):
    path = write_csv("h.csv", """
        ticker,shares,market_value_usd
         aapl ,10,
        msft,2.5,
        cash,,1000
        CASH,500,
        XOM,0,
    """)
    h = read_holdings(path, today=TODAY)
    assert h.shares.to_dict() == {"AAPL": 10.0, "MSFT": 2.5}  # XOM (zero) dropped
    assert h.shares.index.name == "ticker" and h.shares.dtype == np.float64
    assert h.cash_usd == 1500.0  # two cash rows summed: market value, then shares = dollars
    assert h.lots is None and h.notices == ()
    assert h.source == str(path)
    assert h.lines.to_dict() == {"AAPL": 2, "MSFT": 3}


def test_no_cash_row_means_zero_cash(write_csv):
    h = read_holdings(write_csv("h.csv", "ticker,shares\nAAPL,1\n"), today=TODAY)
    assert h.cash_usd == 0.0


def test_short_position_is_kept_and_flagged(write_csv):
    h = read_holdings(write_csv("h.csv", "ticker,shares\nAAPL,10\nTSLA,-3\n"), today=TODAY)
    assert h.shares["TSLA"] == -3.0
    (note,) = h.notices
    assert note.flag is Flag.SHORT_POSITION and note.tickers == ("TSLA",)


def test_lot_level_sums_lots_into_positions(write_csv):
    path = write_csv("lots.csv", """
        ticker,shares,acquired,cost_basis_usd,account
        AAPL,4,2020-01-02,300,ira
        AAPL,6,2021-01-04,500,taxable
        MSFT,5,2022-01-03,1000,
        MSFT,0,2022-01-03,0,
        CASH,250,,,ira
        CASH,250,,,taxable
    """)
    h = read_holdings(path, today=TODAY, every_account=True)  # one book, lots by account
    assert h.shares.to_dict() == {"AAPL": 10.0, "MSFT": 5.0}
    assert h.cash_usd == 500.0
    assert h.lots is not None and list(h.lots.columns) == list(LOT_COLUMNS)
    assert len(h.lots) == 3  # the zero-share lot is dropped
    assert h.lots["acquired"].iloc[0] == pd.Timestamp("2020-01-02")
    assert h.lots["cost_basis_usd"].tolist() == [300.0, 500.0, 1000.0]
    assert h.lots["account"].tolist() == ["ira", "taxable", None]


def test_lot_level_without_account_column(write_csv):
    path = write_csv("lots.csv", "ticker,shares,acquired,cost_basis_usd\nAAPL,4,2020-01-02,300\n")
    h = read_holdings(path, today=TODAY)
    assert h.lots is not None and h.lots["account"].tolist() == [None]


def test_lots_file_that_reconciles(write_csv):
    holdings = write_csv("h.csv", "ticker,shares\nAAPL,10\nMSFT,5\nCASH,100\n")
    lots = write_csv("lots.csv", """
        ticker,shares,acquired,cost_basis_usd
        AAPL,3.3333333,2020-01-02,300
        AAPL,6.6666667,2021-01-04,500
        MSFT,5,2022-01-03,1000
    """)
    h = read_holdings(holdings, lots=lots, today=TODAY)
    assert h.shares.to_dict() == {"AAPL": 10.0, "MSFT": 5.0}
    assert h.lots is not None and len(h.lots) == 3


def test_parquet_and_dataframe_sources(write_parquet):
    frame = pd.DataFrame({"ticker": ["AAPL", "CASH"], "shares": [3.0, 10.0]})
    h = read_holdings(write_parquet("h.parquet", frame), today=TODAY)
    assert h.shares.to_dict() == {"AAPL": 3.0} and h.cash_usd == 10.0
    h2 = read_holdings(frame, today=TODAY)
    assert h2.shares.equals(h.shares) and h2.source == "<holdings frame>"


def test_as_of_allows_lots_up_to_that_date(write_csv):
    path = write_csv("lots.csv", "ticker,shares,acquired,cost_basis_usd\nAAPL,1,2024-06-28,1\n")
    assert read_holdings(path, as_of="2024-06-28").shares["AAPL"] == 1.0


# ---------------------------------------------------------------- bad input


def test_missing_shares_column(write_csv, located):
    path = write_csv("h.csv", "ticker,qty\nAAPL,1\n")
    with pytest.raises(DataError, match="missing column") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 1, "shares")


def test_missing_cost_basis_column_at_lot_level(write_csv, located):
    path = write_csv("h.csv", "ticker,shares,acquired\nAAPL,1,2020-01-02\n")
    with pytest.raises(DataError, match="missing column") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 1, "cost_basis_usd")


def test_shares_not_a_number(write_csv, located):
    path = write_csv("h.csv", "ticker,shares\nAAPL,1\nMSFT,ten\n")
    with pytest.raises(DataError, match="not a finite number") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 3, "shares")


@pytest.mark.parametrize("value", ["", "NaN", "nan", "NA"])
def test_blank_or_nan_shares(write_csv, located, value):
    path = write_csv("h.csv", f"ticker,shares\nAAPL,1\n\nMSFT,{value}\n")
    with pytest.raises(DataError, match="missing value") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 4, "shares")  # the blank line 3 still counts


def test_blank_ticker(write_csv, located):
    path = write_csv("h.csv", "ticker,shares\nAAPL,1\n,2\n")
    with pytest.raises(DataError, match="missing value") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 3, "ticker")


def test_invalid_ticker(write_csv, located):
    path = write_csv("h.csv", "ticker,shares\nAAPL,1\n$MSFT,2\n")
    with pytest.raises(DataError, match="not a valid ticker") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 3, "ticker")


def test_duplicate_ticker_names_both_rows(write_csv, located):
    path = write_csv("h.csv", "ticker,shares\nAAPL,1\nCASH,5\nMSFT,2\naapl,3\n")
    with pytest.raises(DataError, match="duplicate ticker") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 5, "ticker")
    assert "first on row 2" in str(exc.value)


def test_lot_acquired_in_the_future(write_csv, located):
    path = write_csv("lots.csv", """
        ticker,shares,acquired,cost_basis_usd
        AAPL,1,2024-06-28,1
        AAPL,1,2024-07-01,1
    """)
    with pytest.raises(DataError, match="date in the future") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 3, "acquired")


def test_lot_acquired_after_as_of(write_csv, located):
    path = write_csv("lots.csv", "ticker,shares,acquired,cost_basis_usd\nAAPL,1,2024-01-05,1\n")
    with pytest.raises(DataError, match=r"date in the future.*as-of date 2024-01-04") as exc:
        read_holdings(path, as_of="2024-01-04", today=TODAY)
    located(exc.value, path, 2, "acquired")


def test_lot_acquired_not_a_date(write_csv, located):
    path = write_csv("lots.csv", "ticker,shares,acquired,cost_basis_usd\nAAPL,1,13/45/2020,1\n")
    with pytest.raises(DataError, match="not a date") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 2, "acquired")


def test_negative_cost_basis(write_csv, located):
    path = write_csv("lots.csv", """
        ticker,shares,acquired,cost_basis_usd
        CASH,100,,
        AAPL,1,2020-01-02,-5
    """)
    with pytest.raises(DataError, match="negative cost basis") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 3, "cost_basis_usd")


def test_lots_do_not_reconcile(write_csv, located):
    holdings = write_csv("h.csv", "ticker,shares\nAAPL,10\nMSFT,5\n")
    lots = write_csv("lots.csv", """
        ticker,shares,acquired,cost_basis_usd
        AAPL,10,2020-01-02,300
        MSFT,4.99,2022-01-03,1000
    """)
    with pytest.raises(DataError, match="lots do not reconcile with positions") as exc:
        read_holdings(holdings, lots=lots, today=TODAY)
    located(exc.value, holdings, 3, "shares")
    text = str(exc.value)
    assert "MSFT" in text and "4.99" in text and "5 shares" in text and str(lots) in text


def test_lots_for_a_ticker_without_position(write_csv, located):
    holdings = write_csv("h.csv", "ticker,shares\nAAPL,10\n")
    lots = write_csv("lots.csv", """
        ticker,shares,acquired,cost_basis_usd
        AAPL,10,2020-01-02,300
        GOOG,1,2022-01-03,100
    """)
    with pytest.raises(DataError, match="lots do not reconcile with positions") as exc:
        read_holdings(holdings, lots=lots, today=TODAY)
    located(exc.value, lots, 3, "shares")
    assert "GOOG" in str(exc.value)


def test_position_without_lots(write_csv, located):
    holdings = write_csv("h.csv", "ticker,shares\nAAPL,10\nMSFT,5\n")
    lots = write_csv("lots.csv", "ticker,shares,acquired,cost_basis_usd\nAAPL,10,2020-01-02,3\n")
    with pytest.raises(DataError, match="lots do not reconcile with positions") as exc:
        read_holdings(holdings, lots=lots, today=TODAY)
    located(exc.value, holdings, 3, "shares")
    assert "MSFT" in str(exc.value) and str(lots) in str(exc.value)


def test_lots_file_next_to_a_lot_level_file(write_csv, located):
    path = write_csv("h.csv", "ticker,shares,acquired,cost_basis_usd\nAAPL,1,2020-01-02,1\n")
    with pytest.raises(DataError, match="already lot level") as exc:
        read_holdings(path, lots=path, today=TODAY)
    located(exc.value, path, 1, "acquired")


def test_cash_row_in_lots_file(write_csv, located):
    holdings = write_csv("h.csv", "ticker,shares\nAAPL,1\n")
    lots = write_csv("lots.csv", """
        ticker,shares,acquired,cost_basis_usd
        AAPL,1,2020-01-02,1
        CASH,5,2020-01-02,5
    """)
    with pytest.raises(DataError, match="cash row in a lots file") as exc:
        read_holdings(holdings, lots=lots, today=TODAY)
    located(exc.value, lots, 3, "ticker")


def test_cash_row_without_amount(write_csv, located):
    path = write_csv("h.csv", "ticker,shares,market_value_usd\nAAPL,1,\nCASH,,\n")
    with pytest.raises(DataError, match="cash row without an amount") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 3, "market_value_usd")


def test_cash_row_with_two_amounts(write_csv, located):
    path = write_csv("h.csv", "ticker,shares,market_value_usd\nCASH,10,20\n")
    with pytest.raises(DataError, match="two different amounts") as exc:
        read_holdings(path, today=TODAY)
    located(exc.value, path, 2, "market_value_usd")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="holdings file not found"):
        read_holdings(tmp_path / "nope.csv", today=TODAY)


# ---------------------------------------------------------------- properties

_BLANK_WORDS = {"CASH", "NA", "NAN", "NULL", "NONE"}  # cash, and words read as blank cells
_TICKERS = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=5).filter(
    lambda t: t not in _BLANK_WORDS)
_SHARES = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False
                    ).filter(lambda x: x != 0.0)


@given(positions=st.dictionaries(_TICKERS, _SHARES, min_size=1, max_size=12),
       cash=st.floats(min_value=-1e8, max_value=1e9, allow_nan=False, allow_infinity=False),
       lower=st.booleans())
def test_round_trip_position_level(tmp_path_factory, positions, cash, lower):
    path: Path = tmp_path_factory.mktemp("rt") / "h.csv"
    rows = [f"{t.lower() if lower else t},{s!r}" for t, s in positions.items()]
    path.write_text("ticker,shares\n" + "\n".join([*rows, f"CASH,{cash!r}"]) + "\n")
    h = read_holdings(path, today=TODAY)
    expected = pd.Series(positions, dtype=float).sort_index()
    assert h.shares.index.tolist() == expected.index.tolist()
    assert h.shares.to_numpy().tolist() == expected.to_numpy().tolist()  # exact
    assert h.cash_usd == cash
    assert {n.flag for n in h.notices} == ({Flag.SHORT_POSITION} if (expected < 0).any()
                                           else set())


@given(lots=st.lists(st.tuples(st.sampled_from(["AAPL", "MSFT", "BRK.B"]),
                               st.integers(min_value=1, max_value=10**6),
                               st.dates(min_value=pd.Timestamp("1990-01-01").date(),
                                        max_value=pd.Timestamp(TODAY).date()),
                               st.integers(min_value=0, max_value=10**9)),
                     min_size=1, max_size=20))
def test_round_trip_lot_level(tmp_path_factory, lots):
    path: Path = tmp_path_factory.mktemp("rt") / "lots.csv"
    body = "\n".join(f"{t},{s},{d.isoformat()},{c}" for t, s, d, c in lots)
    path.write_text("ticker,shares,acquired,cost_basis_usd\n" + body + "\n")
    h = read_holdings(path, today=TODAY)
    totals: dict[str, float] = {}
    for t, s, _, _ in lots:  # oracle: plain loop over lots
        totals[t] = totals.get(t, 0.0) + s
    assert h.shares.to_dict() == dict(sorted(totals.items()))
    assert h.lots is not None
    got = list(h.lots[["ticker", "shares", "acquired", "cost_basis_usd"]].itertuples(
        index=False, name=None))
    assert got == [(t, float(s), pd.Timestamp(d), float(c)) for t, s, d, c in lots]
