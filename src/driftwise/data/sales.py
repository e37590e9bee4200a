"""Read a recent-sales file: the realized sales the wash-sale rule and the gain budget need.

Columns ``ticker, sold, shares, proceeds_usd, cost_basis_usd`` (one row per sale or
relieved lot), optional ``acquired`` (the lot's holding period start) and ``account``.
Until the portfolio record keeps the history of sales, this file is where the planner
learns of a loss sale a new purchase would wash, and of the gains already realized this
year.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise.calendar import DateLike, as_day
from driftwise.data._table import (
    Kind,
    Source,
    check_not_after,
    parse_column,
    parse_tickers,
    read_table,
    require_columns,
)

SALE_COLUMNS = ("ticker", "sold", "shares", "proceeds_usd", "cost_basis_usd")
"""Required columns of a recent-sales file."""


@dataclass(frozen=True)
class RecentSales:
    """Realized sales, one row per sale.

    Attributes
    ----------
    frame : pd.DataFrame
        Columns ``ticker, sold, shares, proceeds_usd, cost_basis_usd, gain_usd, account``
        (``gain_usd = proceeds_usd − cost_basis_usd``).
    source : str
    """

    frame: pd.DataFrame
    source: str

    def realized_in_year_usd(self, day: pd.Timestamp) -> float:
        """Net gain realized in ``day``'s calendar year up to ``day``, USD."""
        sold = self.frame["sold"]
        mine = (sold.dt.year == day.year) & (sold <= day)
        return float(self.frame.loc[mine, "gain_usd"].sum())

    def losses(self) -> pd.DataFrame:
        """The sales at a loss (``ticker, sold``)."""
        return self.frame.loc[self.frame["gain_usd"] < 0.0, ["ticker", "sold"]]


def read_sales(source: Source, *, as_of: DateLike | None = None,
               accounts: Collection[str] | None = None) -> RecentSales:
    """Read and validate a recent-sales file (CSV, CSV.gz, Parquet or DataFrame).

    Parameters
    ----------
    source : str, Path or DataFrame
    as_of : date, optional
        No sale may be dated after it.
    accounts : collection of str, optional
        The accounts a sale's ``account`` may name (those of the holdings file).

    Raises
    ------
    DataError
        Naming the file, the row and the field: a missing column, a bad ticker, date or
        number, shares not positive, a negative amount, a sale after the as-of date, an
        account not among ``accounts``.
    """
    table = read_table(source, name="recent sales")
    require_columns(table, *SALE_COLUMNS)
    tickers = parse_tickers(table)
    sold = parse_column(table, "sold", Kind.DATE)
    if as_of is not None:
        check_not_after(table, sold, "sold", as_day(as_of), "the as-of date")
    shares = parse_column(table, "shares", Kind.FLOAT)
    for field, values, what in (("shares", shares, "shares sold > 0"),):
        bad = ~(values.to_numpy(dtype=float) > 0.0)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise table.error("shares sold must be positive", position=pos, field=field,
                              expected=what, found=f"{values.iloc[pos]:g}")
    amounts = {}
    for field in ("proceeds_usd", "cost_basis_usd"):
        values = parse_column(table, field, Kind.FLOAT)
        negative = (values < 0.0).to_numpy(dtype=bool)
        if negative.any():
            pos = int(np.flatnonzero(negative)[0])
            raise table.error(f"negative {field}", position=pos, field=field,
                              expected="an amount in USD >= 0", found=f"{values.iloc[pos]:g}")
        amounts[field] = values.to_numpy(dtype=float)
    account = (parse_column(table, "account", Kind.STR, required=False).astype(object)
               if "account" in table.frame.columns else pd.Series([None] * len(tickers)))
    if accounts is not None:
        unknown = account.notna().to_numpy(dtype=bool) & ~account.isin(list(accounts)
                                                                        ).to_numpy(dtype=bool)
        if unknown.any():
            pos = int(np.flatnonzero(unknown)[0])
            raise table.error(f"account {account.iloc[pos]!r} is not in the holdings file",
                              position=pos, field="account",
                              expected="an account of the holdings file: "
                              + ", ".join(accounts), found=str(account.iloc[pos]))
    frame = pd.DataFrame({
        "ticker": tickers.to_numpy(dtype=object), "sold": sold.to_numpy(),
        "shares": shares.to_numpy(dtype=float), "proceeds_usd": amounts["proceeds_usd"],
        "cost_basis_usd": amounts["cost_basis_usd"],
        "gain_usd": amounts["proceeds_usd"] - amounts["cost_basis_usd"],
        "account": account.to_numpy(dtype=object)})
    frame["sold"] = pd.to_datetime(frame["sold"])
    return RecentSales(frame=frame, source=table.label)
