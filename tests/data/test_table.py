"""driftwise.data._table: reading, line numbers, parsing and duplicates."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import driftwise.data._table as table_module
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


# Text columns: parsed value by value up to SMALL_TABLE_ROWS, with pandas' string methods
# beyond; the two give the same Series (values, dtype, index, name) and the same errors.

_TEXT = st.one_of(
    st.sampled_from(["", " ", "nan", " NaN ", "NA", "n/a", "Null", "none", "None ", "\t",
                     "AAPL", " brk.b ", "BF/B", "brk-b", "9X", ".A", "a b", "\xa0X\x85",
                     "\x1cY", "ß", "ǆ"]),
    st.text(alphabet="aZ09 .-/\t\n\xa0\x1c_ßǆ", max_size=6))


def _both_paths(monkeypatch, parse):
    """``parse()``'s result (or DataError message) value by value, then with pandas'
    string methods (the row limit set below every table)."""
    def outcome():
        try:
            return parse()
        except DataError as exc:
            return str(exc)
    fast = outcome()
    with monkeypatch.context() as patched:
        patched.setattr(table_module, "SMALL_TABLE_ROWS", -1)
        reference = outcome()
    return fast, reference


def _same(fast, reference):
    if isinstance(reference, str):
        assert fast == reference
    else:
        pd.testing.assert_series_equal(fast, reference)
        assert [type(v) for v in fast] == [type(v) for v in reference]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(_TEXT, st.none(), st.just(np.nan)), min_size=1, max_size=8),
       required=st.booleans(), from_frame=st.booleans())
def test_text_columns_parse_as_pandas_string_methods_do(monkeypatch, values, required,
                                                        from_frame):
    frame = pd.DataFrame({"ticker": values if from_frame else
                          [v if isinstance(v, str) else "" for v in values]})
    if not from_frame:  # as read from a CSV: pandas' text dtype
        frame = frame.astype(str)
    table = read_table(frame, name="t")
    for parse in (lambda: parse_column(table, "ticker", Kind.STR, required=required),
                  lambda: parse_tickers(table)):
        _same(*_both_paths(monkeypatch, parse))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.floats(allow_nan=True), st.integers(-5, 5),
                                 st.just(pd.NaT), st.sampled_from([b"", b" nan", b"x"]), _TEXT),
                       min_size=1, max_size=6))
def test_columns_holding_other_values_than_text_keep_pandas_string_methods(monkeypatch,
                                                                          values):
    """A column holding numbers, bytes or dates besides text (a DataFrame given in Python)
    is parsed by pandas' string methods on both paths: the same result."""
    table = read_table(pd.DataFrame({"ticker": pd.Series(values, dtype=object)}), name="t")
    for parse in (lambda: parse_column(table, "ticker", Kind.STR, required=False),
                  lambda: parse_tickers(table)):
        _same(*_both_paths(monkeypatch, parse))


def test_a_long_text_column_uses_pandas_string_methods(monkeypatch):
    """Beyond SMALL_TABLE_ROWS the value-by-value path is not taken (it would be slower
    than Arrow's string kernels); the result is the same either way."""
    rows = table_module.SMALL_TABLE_ROWS + 1
    table = read_table(pd.DataFrame({"ticker": [" aapl ", "msft"] * (rows // 2 + 1)}),
                       name="t")
    assert table_module._plain_text(table.frame["ticker"]) is None
    assert table_module._plain_text(table.frame["ticker"].iloc[:rows - 1]) is not None
    _same(*_both_paths(monkeypatch, lambda: parse_tickers(table)))


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                 st.none()), min_size=1, max_size=40),
       kind=st.sampled_from(["float64", "Float64", "Int64", "datetime64[ns]"]))
def test_numbers_and_dates_are_blank_only_when_missing(values: list[float | None],
                                                       kind: str) -> None:
    """A column of numbers or dates is blank exactly where a value is missing: the same as
    reading each value's text against the blank words (the oracle, value by value)."""
    if kind == "Int64":
        values = [None if v is None or not np.isfinite(v) else float(int(v) % 10**9)
                  for v in values]
    if kind == "datetime64[ns]":
        column = pd.Series([None if v is None or not np.isfinite(v) else
                            pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(v) % 3000)
                            for v in values], dtype=kind)
    else:
        column = pd.Series(values, dtype="float64").astype(kind)
    assert table_module._numeric(column)
    expected = [bool(pd.isna(v)) or str(v).strip().lower() in table_module.BLANKS
                for v in column.astype(object)]
    assert table_module._is_blank(column).tolist() == expected
