"""driftwise.data._table: reading, line numbers, parsing and duplicates."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from driftwise.data._table import (
    Kind,
    check_not_after,
    first_duplicate,
    parse_column,
    parse_tickers,
    read_table,
    require_columns,
)
from driftwise.errors import DataError


def test_line_numbers_skip_blank_lines(write_csv):
    table = read_table(write_csv("t.csv", "a,b\n1,2\n\n3,4\n"), name="t")
    assert table.frame["_line"].tolist() == [2, 4]
    assert table.columns == ["a", "b"]


def test_columns_are_stripped_and_lower_cased(write_csv):
    table = read_table(write_csv("t.csv", " Ticker , SHARES\nA,1\n"), name="t")
    assert table.columns == ["ticker", "shares"]


def test_gzip_csv(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a\n1\n"))
    assert read_table(path, name="t").frame["a"].tolist() == ["1"]


def test_bom_only_file_is_empty(tmp_path, located):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbf\n")
    with pytest.raises(DataError, match="file is empty"):
        read_table(path, name="t")


def test_not_utf8(tmp_path, located):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,2\ncaf\xe9,3\n")
    with pytest.raises(DataError, match="not UTF-8") as exc:
        read_table(path, name="t")
    assert exc.value.row == 3


def test_header_only(write_csv):
    with pytest.raises(DataError, match="no data rows"):
        read_table(write_csv("t.csv", "a,b\n"), name="t")


def test_duplicate_columns_in_a_file(write_csv, located):
    path = write_csv("t.csv", "a,A\n1,2\n")
    with pytest.raises(DataError, match="duplicate column names") as exc:
        read_table(path, name="t")
    assert exc.value.row == 1


def test_duplicate_columns_in_a_frame():
    frame = pd.DataFrame([[1, 2]], columns=["Close", "close"])
    with pytest.raises(DataError, match="duplicate column names"):
        read_table(frame, name="prices")


def test_frame_keeps_an_unnamed_date_index():
    frame = pd.DataFrame({"AAPL": [1.0]}, index=pd.to_datetime(["2024-01-02"]))
    table = read_table(frame, name="prices")
    assert table.columns == ["date", "aapl"]
    assert table.label == "<prices frame>" and table.frame["_line"].tolist() == [1]


def test_frame_drops_an_unnamed_range_index():
    table = read_table(pd.DataFrame({"a": [1, 2]}), name="t")
    assert table.columns == ["a"]


def test_parquet_record_numbers(write_parquet):
    table = read_table(write_parquet("t.parquet", pd.DataFrame({"a": [1.0, 2.0]})), name="t")
    assert table.frame["_line"].tolist() == [1, 2]


def test_dates_are_nanosecond_and_normalized(write_csv, write_parquet):
    table = read_table(write_csv("t.csv", "d\n2024-01-02\n2024-01-03T15:30\n"), name="t")
    dates = parse_column(table, "d", Kind.DATE)
    assert dates.dtype == "datetime64[ns]"
    assert dates.tolist() == list(pd.to_datetime(["2024-01-02", "2024-01-03"]))
    frame = pd.DataFrame({"d": pd.to_datetime(["2024-01-02"]).date})  # Parquet date32
    table = read_table(write_parquet("t.parquet", frame), name="t")
    assert parse_column(table, "d", Kind.DATE).dtype == "datetime64[ns]"


def test_optional_float_blanks_become_nan(write_csv):
    table = read_table(write_csv("t.csv", "x\n1.5\n\n\nnull\n 2 \n"), name="t")
    assert np.isnan(parse_column(table, "x", Kind.FLOAT, required=False).iloc[1])


def test_infinite_value(write_csv, located):
    path = write_csv("t.csv", "x\n1\ninf\n")
    with pytest.raises(DataError, match="not a finite number") as exc:
        parse_column(read_table(path, name="t"), "x", Kind.FLOAT)
    located(exc.value, path, 3, "x")


def test_require_columns_names_all_missing(write_csv, located):
    path = write_csv("t.csv", "a\n1\n")
    with pytest.raises(DataError, match="missing columns") as exc:
        require_columns(read_table(path, name="t"), "a", "b", "c")
    located(exc.value, path, 1, "b, c")


def test_first_duplicate_on_a_subset_names_the_right_rows(write_csv, located):
    path = write_csv("t.csv", "k\nCASH\nA\nCASH\nB\nA\n")
    table = read_table(path, name="t")
    keys = parse_column(table, "k", Kind.STR)
    subset = keys[keys != "CASH"]
    with pytest.raises(DataError, match="duplicate key") as exc:
        first_duplicate(table, subset, "k", "key")
    located(exc.value, path, 6, "k")
    assert "first on row 3" in str(exc.value)


def test_parse_tickers(write_csv, located):
    table = read_table(write_csv("t.csv", "ticker\n brk.b \nbf/b\nBRK-B\n"), name="t")
    assert parse_tickers(table).tolist() == ["BRK.B", "BF/B", "BRK-B"]
    path = write_csv("bad.csv", "ticker\nA\n.X\n")
    with pytest.raises(DataError, match="not a valid ticker") as exc:
        parse_tickers(read_table(path, name="t"))
    located(exc.value, path, 3, "ticker")


def test_check_not_after(write_csv, located):
    path = write_csv("t.csv", "d\n2024-01-02\n\n2024-02-01\n")
    table = read_table(path, name="t")
    dates = parse_column(table, "d", Kind.DATE)
    check_not_after(table, dates, "d", pd.Timestamp("2024-02-01"))
    with pytest.raises(DataError, match="date in the future") as exc:
        check_not_after(table, dates, "d", pd.Timestamp("2024-01-31"))
    located(exc.value, path, 4, "d")
