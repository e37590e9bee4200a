"""read_security_master: optional columns, unknown values, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftwise.data.master import read_security_master
from driftwise.errors import DataError


def test_full_master(write_csv):
    path = write_csv("m.csv", """
        ticker,name,sector,asset_class,market_cap_usd
        msft,Microsoft,Information Technology,US Equity,3.1e12
        AGG,iShares Core US Aggregate Bond,,US Bonds,
        AAPL,Apple,Information Technology,US Equity,3000000000000
    """)
    m = read_security_master(path)
    assert m.frame.index.tolist() == ["AAPL", "AGG", "MSFT"]
    assert m.frame.index.name == "ticker"
    assert list(m.frame.columns) == ["sector", "asset_class", "market_cap_usd"]
    assert m.frame.loc["AGG", "sector"] is None
    assert m.frame.loc["MSFT", "market_cap_usd"] == 3.1e12
    assert np.isnan(m.frame.loc["AGG", "market_cap_usd"])
    assert m.frame["market_cap_usd"].dtype == np.float64
    assert m.frame["sector"].dtype == object and m.source == str(path)


def test_ticker_only(write_csv):
    m = read_security_master(write_csv("m.csv", "ticker\nAAPL\n"))
    assert m.frame.loc["AAPL", "asset_class"] is None
    assert np.isnan(m.frame.loc["AAPL", "market_cap_usd"])


def test_parquet_source(write_parquet):
    frame = pd.DataFrame({"ticker": ["AAPL"], "sector": ["Information Technology"],
                          "market_cap_usd": [3e12]})
    m = read_security_master(write_parquet("m.parquet", frame))
    assert m.frame.loc["AAPL", "sector"] == "Information Technology"


def test_missing_ticker_column(write_csv, located):
    path = write_csv("m.csv", "symbol,sector\nAAPL,Tech\n")
    with pytest.raises(DataError, match="missing column") as exc:
        read_security_master(path)
    located(exc.value, path, 1, "ticker")


def test_duplicate_ticker(write_csv, located):
    path = write_csv("m.csv", "ticker,sector\nAAPL,Tech\nMSFT,Tech\nAAPL,Energy\n")
    with pytest.raises(DataError, match="duplicate ticker") as exc:
        read_security_master(path)
    located(exc.value, path, 4, "ticker")
    assert "first on row 2" in str(exc.value)


@pytest.mark.parametrize("cap", ["0", "-1e9"])
def test_market_cap_not_positive(write_csv, located, cap):
    path = write_csv("m.csv", f"ticker,market_cap_usd\nAAPL,1e12\nMSFT,{cap}\n")
    with pytest.raises(DataError, match="market cap must be positive") as exc:
        read_security_master(path)
    located(exc.value, path, 3, "market_cap_usd")


def test_market_cap_not_a_number(write_csv, located):
    path = write_csv("m.csv", "ticker,market_cap_usd\nAAPL,63.8B\n")
    with pytest.raises(DataError, match="not a finite number") as exc:
        read_security_master(path)
    located(exc.value, path, 2, "market_cap_usd")


def test_cash_row(write_csv, located):
    path = write_csv("m.csv", "ticker,sector\nAAPL,Tech\nCASH,\n")
    with pytest.raises(DataError, match="CASH is not a security") as exc:
        read_security_master(path)
    located(exc.value, path, 3, "ticker")


def test_invalid_ticker(write_csv, located):
    path = write_csv("m.csv", "ticker\nAAPL\n-X\n")
    with pytest.raises(DataError, match="not a valid ticker") as exc:
        read_security_master(path)
    located(exc.value, path, 3, "ticker")


@pytest.mark.realdata
def test_real_constituents(shared_data, tmp_path):
    source = pd.read_csv(shared_data / "sp500-constituents" / "constituents_2021-04.csv")
    frame = source.rename(columns={"Symbol": "ticker", "Sector": "sector"})[["ticker", "sector"]]
    path = tmp_path / "master.csv"
    frame.to_csv(path, index=False)
    m = read_security_master(path)
    assert len(m.frame) == len(frame)
    assert m.frame["sector"].nunique() == 11
