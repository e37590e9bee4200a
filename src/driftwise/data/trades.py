"""Read a trade list: what someone intends to trade, to be priced by the cost model."""

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
from driftwise.errors import DataError

SIDES = {"BUY": 1.0, "B": 1.0, "SELL": -1.0, "S": -1.0}


def read_trades(source: Source, prices_usd: pd.Series) -> pd.Series:
    """Read a trade list into signed USD per ticker (positive = buy).

    Accepted layouts (one row per ticker):

    - ``ticker, trade_usd`` (signed dollars);
    - ``ticker, shares`` (signed shares, valued at ``prices_usd``);
    - ``ticker, side, shares`` (``BUY``/``SELL``, positive shares).

    Parameters
    ----------
    source : str, Path or DataFrame
    prices_usd : pd.Series
        Close on the as-of date by ticker (to value share quantities).

    Raises
    ------
    DataError
        Missing columns, bad numbers, duplicate or unknown tickers, bad sides, negative
        shares with a side column.
    """
    table = read_table(source, name="trades")
    require_columns(table, "ticker")
    tickers = parse_tickers(table)
    first_duplicate(table, tickers, "ticker", "ticker")
    _check_known(table, tickers, prices_usd)
    if "trade_usd" in table.columns:
        usd = parse_column(table, "trade_usd", Kind.FLOAT).to_numpy(dtype=np.float64)
    elif "shares" in table.columns:
        shares = parse_column(table, "shares", Kind.FLOAT).to_numpy(dtype=np.float64)
        if "side" in table.columns:
            shares = shares * _signs(table, shares)
        usd = shares * prices_usd.reindex(tickers.to_numpy()).to_numpy(dtype=np.float64)
    else:
        raise DataError("missing column", file=table.label, row=1, field="trade_usd",
                        expected="trade_usd, or shares (optionally with side)",
                        found=", ".join(table.columns))
    return pd.Series(usd, index=pd.Index(tickers.to_numpy(), name="ticker"), name="trade_usd")


def _signs(table: Table, shares: np.ndarray) -> np.ndarray:
    sides = parse_column(table, "side", Kind.STR).astype(str).str.upper()
    signs = sides.map(SIDES)
    for pos in range(len(sides)):
        if pd.isna(signs.iloc[pos]):
            raise table.error("unknown side", position=pos, field="side",
                              expected="BUY or SELL", found=repr(sides.iloc[pos]))
        if shares[pos] < 0:
            raise table.error("negative shares with a side", position=pos, field="shares",
                              expected="shares > 0 (the side gives the direction)",
                              found=f"{shares[pos]:g}")
    return signs.to_numpy(dtype=np.float64)


def _check_known(table: Table, tickers: pd.Series, prices_usd: pd.Series) -> None:
    for pos, ticker in enumerate(tickers):
        price = prices_usd.get(ticker)
        if price is None or not np.isfinite(price):
            raise table.error("unknown ticker: no price on the as-of date", position=pos,
                              field="ticker", expected="a ticker of the portfolio's universe",
                              found=str(ticker))
