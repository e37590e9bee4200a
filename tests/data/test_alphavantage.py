"""The Alpha Vantage daily-adjusted folder reader: happy path, splits, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwise.data.alphavantage import read_alphavantage_folder
from driftwise.errors import DataError

HEADER = "date,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\n"


def write(folder: Path, ticker: str, rows: list[str]) -> None:
    (folder / f"{ticker}.csv").write_text(HEADER + "\n".join(rows) + "\n")


def test_prices_are_adjusted_closes_and_volumes_split_adjusted(tmp_path: Path) -> None:
    # a 2-for-1 split on 2024-01-04: raw volume halves in share units before it
    write(tmp_path, "AAA", ["2024-01-02,100,101,99,100,50,1000,0,1",
                            "2024-01-03,101,102,100,101,50.5,1200,0,1",
                            "2024-01-04,51,52,50,51,51,2600,0,2"])
    write(tmp_path, "BBB", ["2024-01-02,10,10,10,10,10,0,0,1",
                            "2024-01-03,10,11,10,11,11,500,0,1",
                            "2024-01-04,11,11,11,11,11,400,0,1"])
    market = read_alphavantage_folder(tmp_path)
    assert list(market.prices.columns) == ["AAA", "BBB"]
    assert market.prices["AAA"].tolist() == [50.0, 50.5, 51.0]
    assert market.volumes is not None
    assert market.volumes["AAA"].tolist() == [2000.0, 2400.0, 2600.0]
    assert np.isnan(market.volumes["BBB"].iloc[0])  # zero volume = no trade = unknown


def test_window_and_ticker_selection(tmp_path: Path) -> None:
    write(tmp_path, "AAA", ["2024-01-02,1,1,1,1,1,1,0,1", "2024-01-03,1,1,1,1,1.1,1,0,1"])
    write(tmp_path, "BBB", ["2024-01-02,1,1,1,1,2,1,0,1", "2024-01-03,1,1,1,1,2.2,1,0,1"])
    market = read_alphavantage_folder(tmp_path, tickers=["BBB"], start="2024-01-03")
    assert list(market.prices.columns) == ["BBB"] and len(market.prices) == 1


def test_missing_column_names_file_row_and_field(tmp_path: Path) -> None:
    (tmp_path / "AAA.csv").write_text("date,close\n2024-01-02,1\n")
    with pytest.raises(DataError) as err:
        read_alphavantage_folder(tmp_path)
    assert "AAA.csv, row 1, field 'adjusted_close" in str(err.value)


def test_bad_value_names_file_row_and_field(tmp_path: Path) -> None:
    write(tmp_path, "AAA", ["2024-01-02,1,1,1,1,1,1,0,1", "2024-01-03,1,1,1,1,oops,1,0,1"])
    with pytest.raises(DataError) as err:
        read_alphavantage_folder(tmp_path)
    assert "AAA.csv, row 3, field 'adjusted_close'" in str(err.value)


def test_unknown_ticker_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no ticker files"):
        read_alphavantage_folder(tmp_path)
    write(tmp_path, "AAA", ["2024-01-02,1,1,1,1,1,1,0,1"])
    with pytest.raises(DataError, match="ticker files not found"):
        read_alphavantage_folder(tmp_path, tickers=["ZZZ"])
