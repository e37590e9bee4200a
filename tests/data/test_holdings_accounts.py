"""The ``account`` column of holdings and lots files: a file of several accounts is never
merged silently; ``account`` picks one, ``read_accounts`` reads each on its own."""

from __future__ import annotations

import pandas as pd
import pytest

from driftwise.data.holdings import read_accounts, read_holdings
from driftwise.errors import DataError

TODAY = "2024-06-28"

BOOK = """
    ticker,shares,acquired,cost_basis_usd,account,market_value_usd
    AAPL,4,2020-01-02,300,ira,
    MSFT,5,2022-01-03,1000,ira,
    CASH,,,,ira,250
    AAPL,6,2021-01-04,500,taxable,
    SPY,2,2021-01-04,700,taxable,
    CASH,,,,taxable,100
"""


def test_a_file_of_several_accounts_is_refused_naming_file_row_and_field(write_csv):
    path = write_csv("book.csv", BOOK)
    with pytest.raises(DataError) as caught:
        read_holdings(path, today=TODAY)
    error = caught.value
    assert error.file is not None and error.file.endswith("book.csv")
    assert (error.row, error.field, error.found) == (5, "account", "taxable")
    assert "--account" in str(error) and "--all" in str(error)


def test_one_account_is_read_alone(write_csv):
    path = write_csv("book.csv", BOOK)
    ira = read_holdings(path, today=TODAY, account="ira")
    assert ira.shares.to_dict() == {"AAPL": 4.0, "MSFT": 5.0} and ira.cash_usd == 250.0
    assert ira.lots is not None and set(ira.lots["account"]) == {"ira"}
    taxable = read_holdings(path, today=TODAY, account="taxable")
    assert taxable.shares.to_dict() == {"AAPL": 6.0, "SPY": 2.0} and taxable.cash_usd == 100.0


def test_an_account_the_file_does_not_name_is_an_error(write_csv):
    path = write_csv("book.csv", BOOK)
    with pytest.raises(DataError, match="no account 'roth'") as caught:
        read_holdings(path, today=TODAY, account="roth")
    assert caught.value.field == "account" and "ira, taxable" in str(caught.value)


def test_a_blank_account_beside_several_is_an_error(write_csv):
    path = write_csv("book.csv", BOOK.replace("SPY,2,2021-01-04,700,taxable,",
                                              "SPY,2,2021-01-04,700,,"))
    for kwargs in ({}, {"account": "ira"}):
        with pytest.raises(DataError, match="without an account") as caught:
            read_holdings(path, today=TODAY, **kwargs)  # type: ignore[arg-type]
        assert (caught.value.row, caught.value.field) == (6, "account")


def test_read_accounts_reads_each_as_read_holdings_does(write_csv):
    path = write_csv("book.csv", BOOK)
    every = read_accounts(path, today=TODAY)
    assert list(every) == ["ira", "taxable"]
    for name, holdings in every.items():
        alone = read_holdings(path, today=TODAY, account=name)
        pd.testing.assert_series_equal(holdings.shares, alone.shares)
        assert holdings.cash_usd == alone.cash_usd
        assert holdings.lots is not None and alone.lots is not None
        pd.testing.assert_frame_equal(holdings.lots, alone.lots)
    total = sum(h.cash_usd for h in every.values())
    assert total == read_holdings(path, today=TODAY, every_account=True).cash_usd


def test_one_named_account_or_none_is_the_whole_file(write_csv):
    one = write_csv("one.csv", "ticker,shares,account\nAAPL,3,ira\nMSFT,1,ira\n")
    assert read_holdings(one, today=TODAY).shares.to_dict() == {"AAPL": 3.0, "MSFT": 1.0}
    assert list(read_accounts(one, today=TODAY)) == ["ira"]
    assert read_holdings(one, today=TODAY, account="ira").shares.to_dict() == {
        "AAPL": 3.0, "MSFT": 1.0}
    bare = write_csv("bare.csv", "ticker,shares\nAAPL,3\n")
    assert list(read_accounts(bare, today=TODAY, default="main")) == ["main"]
    assert read_holdings(bare, today=TODAY, account="x").shares.to_dict() == {"AAPL": 3.0}


def test_position_level_files_and_separate_lots_split_by_account(write_csv):
    positions = write_csv("p.csv", """
        ticker,shares,account
        AAPL,4,ira
        AAPL,6,taxable
        CASH,50,taxable
    """)
    with pytest.raises(DataError, match="2 accounts"):
        read_holdings(positions, today=TODAY)
    lots = write_csv("l.csv", """
        ticker,shares,acquired,cost_basis_usd,account
        AAPL,4,2020-01-02,300,ira
        AAPL,2,2021-01-04,150,taxable
        AAPL,4,2022-01-04,400,taxable
    """)
    every = read_accounts(positions, lots=lots, today=TODAY)
    assert every["taxable"].shares.to_dict() == {"AAPL": 6.0}
    assert every["taxable"].cash_usd == 50.0
    assert every["taxable"].lots is not None and len(every["taxable"].lots) == 2
    assert every["ira"].lots is not None and every["ira"].lots["shares"].tolist() == [4.0]
