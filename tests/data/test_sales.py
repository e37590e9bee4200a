"""The recent-sales reader: values, the year's realized gain, errors naming file, row, field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from driftwise.data.sales import read_sales
from driftwise.errors import DataError

GOOD = ("ticker,sold,shares,proceeds_usd,cost_basis_usd\n"
        "aaa,2023-12-15,10,900,1000\n"      # last year: a loss of 100
        "BBB,2024-02-01,5,1500,1000\n"      # a gain of 500
        "CCC,2024-03-01,2,100,400\n")       # a loss of 300


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_sales_and_nets_the_years_gains(tmp_path: Path) -> None:
    sales = read_sales(_write(tmp_path, GOOD), as_of="2024-06-28")
    assert list(sales.frame["ticker"]) == ["AAA", "BBB", "CCC"]
    assert list(sales.frame["gain_usd"]) == [-100.0, 500.0, -300.0]
    # 2024 up to 28 June: 500 - 300; up to 15 February: 500
    assert sales.realized_in_year_usd(pd.Timestamp("2024-06-28")) == 200.0
    assert sales.realized_in_year_usd(pd.Timestamp("2024-02-15")) == 500.0
    assert list(sales.losses()["ticker"]) == ["AAA", "CCC"]


@pytest.mark.parametrize(("text", "row", "field", "found"), [
    ("ticker,sold,shares,proceeds_usd\nAAA,2024-01-02,1,1\n", 1, "cost_basis_usd", None),
    (GOOD + "DDD,2024-13-01,1,1,1\n", 5, "sold", "2024-13-01"),
    (GOOD + "DDD,2024-01-02,0,1,1\n", 5, "shares", "0"),
    (GOOD + "DDD,2024-01-02,1,-5,1\n", 5, "proceeds_usd", "-5"),
    (GOOD + "DDD,2024-01-02,1,5,x\n", 5, "cost_basis_usd", "x"),
    (GOOD + "DDD,2024-07-02,1,5,5\n", 5, "sold", "2024-07-02"),
])
def test_bad_rows_name_file_row_and_field(tmp_path: Path, text: str, row: int, field: str,
                                          found: str | None) -> None:
    with pytest.raises(DataError) as info:
        read_sales(_write(tmp_path, text), as_of="2024-06-28")
    err = info.value
    assert err.file is not None and err.file.endswith("sales.csv")
    assert err.row == row and err.field == field
    if found is not None:
        assert found in str(err)
