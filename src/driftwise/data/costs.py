"""Read the cost-inputs file.

Columns: ``ticker``, ``spread_bps`` (full quoted bid-ask spread, bps of price; may be
blank: the tier spread is used and flagged), ``commission_bps`` and/or
``commission_per_share_usd`` (at least one of the two columns; a blank cell reads as 0
when the other is given), ``as_of`` (date the row was measured), optional
``borrow_bps_annual`` (annual stock-borrow fee for shorts) and optional
``min_ticket_usd`` (minimum commission per order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise.calendar import DateLike, as_day, today_or
from driftwise.data._table import (
    Kind,
    Source,
    Table,
    check_not_after,
    first_duplicate,
    parse_column,
    parse_tickers,
    read_table,
    require_columns,
)
from driftwise.data.model import CASH
from driftwise.errors import DataError

COST_COLUMNS = ("spread_bps", "commission_bps", "commission_per_share_usd", "min_ticket_usd",
                "borrow_bps_annual", "as_of")
"""Columns of :attr:`CostFile.frame`."""

_COMMISSION = ("commission_bps", "commission_per_share_usd")


@dataclass(frozen=True)
class CostFile:
    """Validated cost inputs, one row per ticker.

    Attributes
    ----------
    frame : pd.DataFrame
        Index ``ticker`` (unique, sorted); columns :data:`COST_COLUMNS`: floats (NaN for a
        blank spread or borrow fee; commissions and minimum ticket 0 when blank) and
        ``as_of`` (datetime64).
    source : str
        File label for messages.
    lines : pd.Series
        Source line of each ticker.
    """

    frame: pd.DataFrame
    source: str = "<cost inputs>"
    lines: pd.Series | None = None


def read_cost_inputs(source: Source, *, as_of: DateLike | None = None,
                     today: DateLike | None = None) -> CostFile:
    """Read and validate a cost-inputs file.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV, CSV.gz or Parquet file (or a frame).
    as_of : date, optional
        Date of the run; no row may be measured after it. Defaults to ``today``.
    today : date, optional
        Today's date (defaults to the local clock).

    Returns
    -------
    CostFile

    Raises
    ------
    DataError
        Missing columns (``ticker``, ``as_of``, a commission column), a bad ticker, a
        ``CASH`` row, a duplicate ticker, a negative or non-numeric value, a row with no
        commission at all, or an ``as_of`` after the run date.
    """
    limit = as_day(as_of) if as_of is not None else today_or(today)
    what = "the as-of date" if as_of is not None else "today"
    table = read_table(source, name="cost inputs")
    require_columns(table, "ticker", "as_of")
    if not any(c in table.columns for c in _COMMISSION):
        raise DataError("missing commission column", file=table.label, row=1,
                        field="commission_bps",
                        expected="a commission_bps or commission_per_share_usd column",
                        found=", ".join(table.columns))
    tickers = parse_tickers(table)
    cash = (tickers == CASH).to_numpy(dtype=bool)
    if cash.any():
        raise table.error("CASH has no trading cost", position=int(np.flatnonzero(cash)[0]),
                          field="ticker", expected="security tickers only", found=CASH)
    first_duplicate(table, tickers, "ticker", "ticker")
    dates = parse_column(table, "as_of", Kind.DATE)
    check_not_after(table, dates, "as_of", limit, what)
    frame = pd.DataFrame(index=pd.Index(tickers.to_numpy(), name="ticker", dtype=object))
    for name in COST_COLUMNS[:-1]:
        frame[name] = _non_negative(table, name)
    _require_commission(table, frame)
    zero_if_blank = [*_COMMISSION, "min_ticket_usd"]
    frame[zero_if_blank] = frame[zero_if_blank].fillna(0.0)
    frame["as_of"] = dates.to_numpy()
    lines = pd.Series(table.frame["_line"].to_numpy(), index=frame.index)
    order = np.argsort(frame.index.to_numpy(dtype=str), kind="stable")
    return CostFile(frame=frame.iloc[order], source=table.label, lines=lines.iloc[order])


def _non_negative(table: Table, name: str) -> np.ndarray:
    if name not in table.columns:
        return np.full(len(table.frame), np.nan)
    values = parse_column(table, name, Kind.FLOAT, required=False).to_numpy(dtype=np.float64)
    negative = values < 0.0
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise table.error("negative value", position=pos, field=name,
                          expected="a number >= 0", found=repr(table.frame[name].iloc[pos]))
    return values


def _require_commission(table: Table, frame: pd.DataFrame) -> None:
    none = frame[list(_COMMISSION)].isna().all(axis=1).to_numpy()
    if none.any():
        pos = int(np.flatnonzero(none)[0])
        present = [c for c in _COMMISSION if c in table.columns]
        raise table.error("no commission", position=pos, field=present[0],
                          expected="commission_bps or commission_per_share_usd (0 if none)",
                          found="blank")
