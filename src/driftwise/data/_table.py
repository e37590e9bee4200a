"""Read a CSV or Parquet file (or take a DataFrame) into a table that remembers rows.

Every reader in :mod:`driftwise.data` goes through :func:`read_table`, then parses its
columns with :func:`parse_column`. Both raise :class:`~driftwise.errors.DataError` naming
the file, the row (line number, header = line 1) and the field, so no reader repeats
encoding, emptiness, missing-column or type checks.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.errors import DataError

LINE = "_line"
"""Name of the column holding each row's line number in the source file."""

Source = str | Path | pd.DataFrame


class Kind(StrEnum):
    """Column types a reader can ask for."""

    STR = "text"
    FLOAT = "a number"
    DATE = "a date (YYYY-MM-DD)"


@dataclass(frozen=True)
class Table:
    """A raw table: columns lower-cased and stripped, values untouched, plus ``_line``.

    Attributes
    ----------
    frame : pd.DataFrame
        The rows, with a ``_line`` column of source line numbers.
    label : str
        The file name (or ``"<name> frame"`` for a DataFrame) used in error messages.
    """

    frame: pd.DataFrame
    label: str

    @property
    def columns(self) -> list[str]:
        """The data columns, without ``_line``."""
        return [c for c in self.frame.columns if c != LINE]

    def line(self, position: int) -> int:
        """Source line of the row at integer position ``position``."""
        return int(self.frame[LINE].iloc[position])

    def error(self, problem: str, *, position: int | None = None, field: str | None = None,
              expected: str | None = None, found: str | None = None) -> DataError:
        """A :class:`DataError` located in this table."""
        row = None if position is None else self.line(position)
        return DataError(problem, file=self.label, row=row, field=field,
                         expected=expected, found=found)


def read_table(source: Source, *, name: str) -> Table:
    """Read ``source`` into a :class:`Table`.

    Parameters
    ----------
    source : str, Path or DataFrame
        A ``.csv`` / ``.csv.gz`` / ``.parquet`` file, or a DataFrame (library use).
    name : str
        What the table is (``"holdings"``, ``"prices"``); labels in-memory frames.

    Raises
    ------
    DataError
        File missing, not UTF-8, empty, unparseable, or with duplicate column names.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        if isinstance(frame.index, pd.DatetimeIndex) and frame.index.name is None:
            frame.index = frame.index.rename("date")  # a wide frame indexed by date
        frame = frame.reset_index(drop=not _has_named_index(frame))
        table = _finish(frame, np.arange(1, len(frame) + 1), f"<{name} frame>")
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{name} file not found", file=path)
        if path.suffix.lower() in {".parquet", ".pq"}:
            table = _read_parquet(path)
        else:
            table = _read_csv(path)
    if len(table.frame) == 0:
        raise DataError(f"{name} file has a header but no data rows", file=table.label)
    return table


def _has_named_index(frame: pd.DataFrame) -> bool:
    return any(n is not None for n in frame.index.names)


def _read_csv(path: Path) -> Table:
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        import gzip

        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise DataError("file is not valid gzip", file=path, found=str(exc)) from None
    if not raw.strip():
        raise DataError("file is empty", file=path, expected="a header line and data rows")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError("file is not UTF-8 text", file=path, row=line,
                        expected="UTF-8 encoded CSV",
                        found=f"byte 0x{raw[exc.start]:02x} at byte offset {exc.start}") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skip_blank_lines=True, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError("file is empty", file=path,
                        expected="a header line and data rows") from None
    except pd.errors.ParserError as exc:
        raise DataError("cannot parse CSV", file=path, found=str(exc).strip()) from None
    lines = _data_line_numbers(text, len(frame))
    return _finish(frame, lines, str(path))


def _data_line_numbers(text: str, n_rows: int) -> np.ndarray:
    """Line numbers of the data rows, skipping blank lines like pandas does."""
    numbers = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip()]
    data = numbers[1 : n_rows + 1]
    if len(data) < n_rows:  # quoted multi-line fields: fall back to positional numbering
        data = list(range(2, n_rows + 2))
    return np.asarray(data, dtype=np.int64)


def _read_parquet(path: Path) -> Table:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError("cannot read Parquet file", file=path, found=str(exc).strip()) from None
    if _has_named_index(frame):
        frame = frame.reset_index()
    return _finish(frame, np.arange(1, len(frame) + 1), str(path))


def _finish(frame: pd.DataFrame, lines: np.ndarray, label: str) -> Table:
    columns = [str(c).strip().lower() for c in frame.columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataError("duplicate column names", file=label, row=1,
                        found=", ".join(duplicated))
    frame.columns = columns
    frame = frame.reset_index(drop=True)
    frame[LINE] = lines
    return Table(frame=frame, label=label)


def require_columns(table: Table, *required: str) -> None:
    """Raise naming every missing column (header = row 1)."""
    missing = [c for c in required if c not in table.frame.columns]
    if missing:
        raise DataError("missing column" + ("s" if len(missing) > 1 else ""),
                        file=table.label, row=1, field=", ".join(missing),
                        expected="columns " + ", ".join(required),
                        found=", ".join(table.columns) or "no columns")


BLANKS = ("", "nan", "na", "n/a", "null", "none")
"""What a value reads as when blank, stripped and lower-cased (or NaN / None)."""

SMALL_TABLE_ROWS = 5_000
"""Up to this many rows, a column of text is parsed value by value in Python
(:func:`_plain_text`): pandas' string methods cost about a millisecond a call whatever the
length, several times the work on the few rows of a holdings, targets, security master
or cost file; longer columns keep them (Arrow's string kernels, when pyarrow is loaded)."""


def _numeric(values: pd.Series) -> bool:
    """A column of numbers or dates (not text, not Python objects): its values print as
    numbers, dates, ``inf`` or ``nan``/``NaT``, so only a missing one reads as blank."""
    dtype = values.dtype
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not isinstance(dtype, pd.CategoricalDtype)) \
        or pd.api.types.is_datetime64_any_dtype(dtype)


def _plain_text(values: pd.Series) -> list[str | None] | None:
    """The values as a list (missing ones None) when the column is short
    (:data:`SMALL_TABLE_ROWS`) and every value present is an ASCII ``str``; else None, and
    the caller uses pandas' string methods. On ASCII text Python's ``strip``, ``lower`` and
    ``upper`` are those of pandas, whether its strings are stored by Python or by Arrow
    (beyond ASCII they differ: Python upper-cases "ß" to "SS", Arrow keeps it)."""
    if len(values) > SMALL_TABLE_ROWS:
        return None
    missing = values.isna().to_numpy(dtype=bool)
    items = [None if gone else value for value, gone in zip(values.tolist(), missing, strict=True)]
    if not all(type(v) is str and v.isascii() for v in items if v is not None):
        return None
    return items


def _is_blank(values: pd.Series) -> pd.Series:
    if _numeric(values):  # a number's text is never one of BLANKS: blank is missing
        return values.isna()
    text = _plain_text(values)
    if text is None:
        as_text = values.astype("string").str.strip().str.lower()
        return values.isna() | as_text.isin(list(BLANKS)).fillna(True)
    blank = frozenset(BLANKS)
    return pd.Series([v is None or v.strip().lower() in blank for v in text],
                     index=values.index, name=values.name, dtype=bool)


def parse_column(table: Table, field: str, kind: Kind, *, required: bool = True) -> pd.Series:
    """Parse one column, raising at the first bad value with its row.

    Parameters
    ----------
    table : Table
    field : str
        Column name (lower case).
    kind : Kind
        Target type.
    required : bool
        If True a blank or NaN value is an error; otherwise it becomes NaN / NaT / None.

    Returns
    -------
    pd.Series
        float64, datetime64[ns] or object (stripped strings), positionally aligned
        with ``table.frame``.
    """
    values = table.frame[field]
    blank = _is_blank(values)
    if required and blank.any():
        pos = int(np.flatnonzero(blank.to_numpy())[0])
        raise table.error("missing value", position=pos, field=field, expected=kind.value,
                          found=repr(values.iloc[pos]) if not pd.isna(values.iloc[pos]) else "NaN")
    if kind is Kind.STR:
        text = _plain_text(values)
        if text is not None:
            stripped: list[str | None] = [
                None if gone or v is None else v.strip()
                for v, gone in zip(text, blank.to_numpy(), strict=True)]
            return pd.Series(stripped, index=values.index, name=values.name, dtype=object)
        out = values.astype("string").str.strip().astype(object)
        return out.where(~blank, None)
    if kind is Kind.FLOAT:
        parsed = pd.to_numeric(values.where(~blank), errors="coerce").astype(float)
        bad = parsed.isna() & ~blank
        inf = np.isinf(parsed.to_numpy())
        if bad.any() or inf.any():
            pos = int(np.flatnonzero(bad.to_numpy() | inf)[0])
            raise table.error("not a finite number", position=pos, field=field,
                              expected=kind.value, found=repr(values.iloc[pos]))
        return parsed
    parsed_dates = _to_dates(values.where(~blank))
    bad = parsed_dates.isna() & ~blank
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise table.error("not a date", position=pos, field=field, expected=kind.value,
                          found=repr(values.iloc[pos]))
    return parsed_dates


def _to_dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values).dt.tz_localize(None).dt.normalize()
    else:
        text = values.astype("string").str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601").dt.normalize()
    return parsed.astype("datetime64[ns]")  # pandas 3 infers "us" from text; keep one unit


def first_duplicate(table: Table, keys: pd.Series | pd.DataFrame, field: str, what: str) -> None:
    """Raise at the second occurrence of a duplicated key, naming both rows.

    ``keys`` is a column (or frame of columns) from :func:`parse_column`, possibly a
    subset of the rows: its index labels must be positions in ``table.frame``.
    """
    dup = keys.duplicated(keep="first").to_numpy()
    if dup.any():
        # ``keys`` may be a subset of the table's rows: its index labels are table positions
        at = int(np.flatnonzero(dup)[0])
        pos = int(keys.index[at])
        key = keys.iloc[at]
        key_values = tuple(key) if isinstance(key, pd.Series) else (key,)
        mask = keys.eq(key).all(axis=1) if isinstance(keys, pd.DataFrame) else keys.eq(key)
        first = int(keys.index[int(np.flatnonzero(mask.to_numpy())[0])])
        shown = ", ".join(str(v.date()) if isinstance(v, pd.Timestamp) else str(v)
                          for v in key_values)
        raise table.error(f"duplicate {what}", position=pos, field=field,
                          expected=f"each {what} once",
                          found=f"{shown} again (first on row {table.line(first)})")


TICKER_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]*$")
"""A valid ticker after stripping and upper-casing (``BRK.B``, ``BRK-B``, ``BF/B``)."""


def parse_tickers(table: Table, field: str = "ticker") -> pd.Series:
    """Parse a ticker column: required, stripped, upper-cased, matching :data:`TICKER_PATTERN`.

    Returns
    -------
    pd.Series
        object dtype (str), positionally aligned with ``table.frame``.
    """
    raw = parse_column(table, field, Kind.STR)
    text = _plain_text(raw)
    if text is not None:  # required: no value is None
        upper = [v.upper() for v in text]  # type: ignore[union-attr]
        bad = np.array([TICKER_PATTERN.fullmatch(v) is None for v in upper], dtype=bool)
        tickers = pd.Series(upper, index=raw.index, name=raw.name, dtype=object)
    else:
        tickers = raw.astype("string").str.upper()
        bad = ~tickers.str.fullmatch(TICKER_PATTERN.pattern).to_numpy(dtype=bool,
                                                                        na_value=False)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error("not a valid ticker", position=pos, field=field,
                          expected="letters, digits and . - / (starting with a letter or digit)",
                          found=repr(raw.iloc[pos]))
    return tickers.astype(object)


def check_not_after(table: Table, dates: pd.Series, field: str, limit: pd.Timestamp,
                    what: str = "today") -> None:
    """Raise "date in the future" at the first row whose date is after ``limit``."""
    late = (dates > limit).to_numpy(dtype=bool)
    if late.any():
        pos = int(np.flatnonzero(late)[0])
        raise table.error("date in the future", position=pos, field=field,
                          expected=f"a date on or before {what} {limit.date()}",
                          found=str(pd.Timestamp(dates.iloc[pos]).date()))
