"""Read the security master: static data per ticker.

Columns ``ticker`` (required), ``sector``, ``asset_class`` and ``market_cap_usd`` (all
optional; blank cells mean unknown, and code downstream falls back with a flag). Other
columns (a name, an exchange) are ignored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwise.data._table import (
    Kind,
    Source,
    Table,
    first_duplicate,
    parse_column,
    parse_tickers,
    read_table,
    require_columns,
)
from driftwise.data.model import CASH, SecurityMaster

TEXT_COLUMNS = ("sector", "asset_class")
"""Optional text columns of the master."""


def read_security_master(source: Source) -> SecurityMaster:
    """Read the security master.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV, CSV.gz or Parquet with a ``ticker`` column.

    Returns
    -------
    SecurityMaster
        ``frame`` indexed by ``ticker`` (sorted) with ``sector`` and ``asset_class``
        (object, None where unknown) and ``market_cap_usd`` (float, NaN where unknown).

    Raises
    ------
    DataError
        No ticker column, an invalid or duplicate ticker, a ``CASH`` row, or a market
        cap that is not a positive number.
    """
    table = read_table(source, name="security master")
    require_columns(table, "ticker")
    tickers = parse_tickers(table)
    is_cash = (tickers == CASH).to_numpy(dtype=bool)
    if is_cash.any():
        raise table.error("CASH is not a security", position=int(np.flatnonzero(is_cash)[0]),
                          field="ticker", expected="security tickers only (leave cash out)",
                          found=CASH)
    first_duplicate(table, tickers, "ticker", "ticker")
    columns: dict[str, pd.Series] = {name: _text(table, name) for name in TEXT_COLUMNS}
    columns["market_cap_usd"] = _market_cap(table)
    index = pd.Index(tickers.to_numpy(dtype=object), name="ticker", dtype=object)
    frame = pd.DataFrame({  # explicit dtypes: pandas 3 would turn None text into NaN str
        name: pd.Series(values.to_numpy(dtype=float if name == "market_cap_usd" else object),
                        index=index, dtype=float if name == "market_cap_usd" else object)
        for name, values in columns.items()})
    return SecurityMaster(frame=frame.sort_index(), source=table.label)


def _text(table: Table, field: str) -> pd.Series:
    if field not in table.columns:
        return pd.Series([None] * len(table.frame), index=table.frame.index, dtype=object)
    return parse_column(table, field, Kind.STR, required=False)


def _market_cap(table: Table) -> pd.Series:
    if "market_cap_usd" not in table.columns:
        return pd.Series(np.nan, index=table.frame.index, dtype=float)
    cap = parse_column(table, "market_cap_usd", Kind.FLOAT, required=False)
    bad = (cap <= 0).to_numpy(dtype=bool)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error("market cap must be positive", position=pos, field="market_cap_usd",
                          expected="a market capitalisation in USD > 0 (or blank if unknown)",
                          found=f"{cap.iloc[pos]:g}")
    return cap
