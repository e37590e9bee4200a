"""Terminal tables, JSON and CSV output shared by every command."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from driftwise.flags import Notice

# Piped output (files, CI logs) gets 140 columns instead of rich's 80 so tables are not cut.
# Text is printed as written: no ":name:" code becomes an emoji (a ticker, an account or a
# flag's detail is never a picture), and rich's table of emoji codes is never loaded.
console = Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, highlight=False, emoji=False,
                      width=None if sys.stderr.isatty() else 140)

Formatter = Callable[[Any], str]


def pct(x: Any, digits: int = 2) -> str:
    """A fraction shown as a percent (display only)."""
    return "" if _missing(x) else f"{100.0 * float(x):.{digits}f}%"


def bps(x: Any, digits: int = 1) -> str:
    """A value already in bps."""
    return "" if _missing(x) else f"{float(x):.{digits}f}"


def usd(x: Any) -> str:
    """Dollars with thousands separators."""
    return "" if _missing(x) else f"{float(x):,.0f}"


def num(x: Any, digits: int = 2) -> str:
    """A plain number."""
    if _missing(x):
        return ""
    value = float(x)
    return "inf" if math.isinf(value) else f"{value:,.{digits}f}"


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float | np.floating) and math.isnan(float(x)))


def frame_table(frame: pd.DataFrame, title: str, formats: Mapping[str, Formatter] | None = None,
                index_name: str | None = None) -> Table:
    """A rich table from a DataFrame; columns formatted by ``formats`` (default: str)."""
    formats = formats or {}
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(index_name or str(frame.index.name or ""), style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left")
    for key, row in frame.iterrows():
        cells = [formats.get(str(c), _default)(row[c]) for c in frame.columns]
        # Text: a label such as "threshold 5% [optimized]" is not rich markup
        table.add_row(Text(str(key)), *(Text(c) for c in cells))
    return table


def _default(x: Any) -> str:
    if isinstance(x, float | np.floating):
        return num(x, 4)
    return "" if _missing(x) else str(x)


def pairs_table(items: Iterable[tuple[str, str]], title: str) -> Table:
    """A two-column key/value table."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in items:
        table.add_row(key, value)
    return table


def notices_table(notices: Iterable[Notice], title: str = "Flags") -> Table:
    """The flagged degradations, one row each."""
    table = Table(title=title, title_justify="left", header_style="bold yellow")
    table.add_column("flag", style="yellow")
    table.add_column("tickers")
    table.add_column("detail")
    for item in notices:
        table.add_row(item.flag.value, ", ".join(item.tickers), item.detail)
    return table


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas/dataclass-ish values to JSON types (NaN -> null)."""
    if isinstance(obj, Notice):
        return obj.to_dict()
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.reset_index().to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, pd.Timestamp | datetime | date):
        return obj.isoformat()[:10] if _is_midnight(obj) else obj.isoformat()
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return None if math.isnan(value) or math.isinf(value) else value
    return obj


def _is_midnight(value: date) -> bool:
    return not isinstance(value, datetime) or (value.hour, value.minute, value.second) == (0, 0, 0)


def print_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON to stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def print_csv(frame: pd.DataFrame) -> None:
    """Write ``frame`` as CSV to stdout."""
    frame.to_csv(sys.stdout, float_format="%.10g")
