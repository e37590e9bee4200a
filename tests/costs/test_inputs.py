"""Reader of the cost-inputs file: one test per bad-input case."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from driftwise.costs import read_cost_inputs
from driftwise.errors import DataError

HEADER = "ticker,spread_bps,commission_bps,commission_per_share_usd,as_of,borrow_bps_annual"


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "costs.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_reads_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path, "msft,3,1,,2024-01-02,", "AAPL,,,0.005,2024-01-03,25")
    got = read_cost_inputs(path, as_of="2024-01-31")
    assert got.frame.index.tolist() == ["AAPL", "MSFT"]
    aapl = got.frame.loc["AAPL"]
    assert pd.isna(aapl["spread_bps"]) and aapl["commission_bps"] == 0.0
    assert aapl["commission_per_share_usd"] == 0.005 and aapl["borrow_bps_annual"] == 25.0
    assert got.frame.loc["MSFT", "min_ticket_usd"] == 0.0
    assert pd.isna(got.frame.loc["MSFT", "borrow_bps_annual"])
    assert got.lines is not None and got.lines["AAPL"] == 3


def test_per_share_only_file(tmp_path: Path) -> None:
    path = write(tmp_path, "IBM,2,0.01,2024-01-02,10",
                 header="ticker,spread_bps,commission_per_share_usd,as_of,min_ticket_usd")
    got = read_cost_inputs(path, as_of="2024-02-01")
    assert got.frame.loc["IBM", "commission_bps"] == 0.0
    assert got.frame.loc["IBM", "min_ticket_usd"] == 10.0


@pytest.mark.parametrize(("rows", "match"), [
    (["AAPL,-1,1,,2024-01-02,"], r"row 2, field 'spread_bps': negative value"),
    (["AAPL,1,1,,2024-01-02,-3"], r"row 2, field 'borrow_bps_annual': negative"),
    (["AAPL,1,-1,,2024-01-02,"], r"field 'commission_bps': negative"),
    (["AAPL,1,1,,2024-01-02,", "aapl,1,1,,2024-01-02,"], r"row 3, field 'ticker': duplicate"),
    (["AAPL,1,1,,2024-03-02,"], r"row 2, field 'as_of': date in the future"),
    (["AAPL,1,1,,not-a-date,"], r"field 'as_of': not a date"),
    (["AAPL,1,,,2024-01-02,"], r"row 2, field 'commission_bps': no commission"),
    (["CASH,1,1,,2024-01-02,"], r"CASH has no trading cost"),
    (["AAPL,x,1,,2024-01-02,"], r"field 'spread_bps': not a finite number"),
    (["AAPL,1,1,,,"], r"field 'as_of': missing value"),
])
def test_bad_rows(tmp_path: Path, rows: list[str], match: str) -> None:
    with pytest.raises(DataError, match=match):
        read_cost_inputs(write(tmp_path, *rows), as_of="2024-02-01")


def test_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing column"):
        read_cost_inputs(write(tmp_path, "AAPL,1", header="ticker,spread_bps"), as_of="2024-01-02")
    with pytest.raises(DataError, match="missing commission column"):
        read_cost_inputs(write(tmp_path, "AAPL,1,2024-01-01", header="ticker,spread_bps,as_of"),
                         as_of="2024-01-02")


def test_accepts_dataframe() -> None:
    frame = pd.DataFrame({"ticker": ["X"], "spread_bps": [1.0], "commission_bps": [0.5],
                          "as_of": ["2024-01-02"]})
    got = read_cost_inputs(frame, as_of="2024-01-02")
    assert got.frame.loc["X", "spread_bps"] == 1.0
