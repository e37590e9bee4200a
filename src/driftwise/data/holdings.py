"""Read a holdings file: positions or tax lots, plus cash.

Two layouts are accepted:

* position level: ``ticker, shares`` (one row per position);
* lot level: ``ticker, shares, acquired, cost_basis_usd`` and optional ``account``
  (one row per tax lot; a ticker repeats, its position is the sum of its lots).

Cash is a row with ticker ``CASH`` holding ``market_value_usd`` (or ``shares`` =
dollars); several cash rows are summed. A position-level file can come with a separate
lots file, which must reconcile share for share.

**Accounts.** Either layout may have an ``account`` column (optional when the file holds
one account). A file naming several accounts is never merged into one portfolio
silently: :func:`read_holdings` refuses it (naming the file, the row of the second
account and the field) unless ``account`` picks one, and :func:`read_accounts` reads
each account on its own (``driftwise plan --all``). In such a file every row, cash
included, names its account; a separate lots file is split by the same column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from driftwise._atomic import atomic_path
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
from driftwise.data.model import CASH, Holdings
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, notice

LOT_COLUMNS = ("ticker", "shares", "acquired", "cost_basis_usd", "account")
"""Columns of :attr:`Holdings.lots` (plus ``lot_id`` when the file gives one: the broker's
lot id, which specific relief names)."""

RECONCILE_TOLERANCE_SHARES = 1e-6
"""Largest difference between a position and the sum of its lots, in shares."""


def read_holdings(
    source: Source,
    *,
    lots: Source | None = None,
    as_of: DateLike | None = None,
    today: DateLike | None = None,
    account: str | None = None,
    every_account: bool = False,
) -> Holdings:
    """Read current holdings.

    Parameters
    ----------
    source : str, Path or DataFrame
        Position-level or lot-level holdings (CSV, CSV.gz or Parquet).
    lots : str, Path or DataFrame, optional
        A lot-level file next to a position-level ``source``; its lots must sum to the
        positions per ticker (within 1e-6 shares).
    as_of : date, optional
        Date of the holdings; no lot may be acquired after it. Defaults to ``today``.
    today : date, optional
        Today's date (defaults to the local clock); used when ``as_of`` is not given.
    account : str, optional
        The account to read from a file with an ``account`` column (the rows of the
        others are left out). A file without one, or naming only this account, is read
        whole.
    every_account : bool
        Read a file naming several accounts as one book, each lot keeping its
        ``account`` (``driftwise fills``, which relieves each fill's lots in its own
        account and writes the whole file back).

    Returns
    -------
    Holdings
        ``shares`` per ticker (float, sorted, no cash, no zero positions), ``cash_usd``,
        ``lots`` (columns :data:`LOT_COLUMNS`) when known, and notices (short positions).

    Raises
    ------
    DataError
        Missing columns, bad values, invalid tickers, duplicate positions, lots acquired
        in the future, negative cost basis, or lots that do not reconcile; a file naming
        several accounts without ``account`` or ``every_account``; an ``account`` the
        file does not name; a row without an account in a file naming several.
    """
    limit = as_day(as_of) if as_of is not None else today_or(today)
    what = "the as-of date" if as_of is not None else "today"
    table = read_table(source, name="holdings")
    lots_table = None if lots is None else read_table(lots, name="lots")
    if not every_account:
        named = _named_accounts(table, lots_table)
        if account is None and len(named) > 1:
            second = _first_row_of(table, lots_table, named[1])
            raise DataError(
                f"the file holds {len(named)} accounts ({_listed(named)}); they are never "
                "merged into one portfolio", file=second[0], row=second[1], field="account",
                expected="one account per file, or --account ID to plan one of them, or "
                         "--all to plan each", found=named[1])
        if account is not None:
            if named and account not in named:
                raise DataError(f"no account {account!r} in the file", file=table.label,
                                field="account", expected=f"one of {_listed(named)}",
                                found=account)
            table = _only(table, account, len(named) > 1)
            lots_table = None if lots_table is None else _only(lots_table, account,
                                                               len(named) > 1)
    return _read(table, lots_table, limit, what)


def read_accounts(
    source: Source,
    *,
    lots: Source | None = None,
    as_of: DateLike | None = None,
    today: DateLike | None = None,
    default: str = "main",
) -> dict[str, Holdings]:
    """Read every account of a holdings file, each on its own.

    Parameters
    ----------
    source, lots, as_of, today
        As :func:`read_holdings`.
    default : str
        The name of the one account of a file without an ``account`` column (or with it
        blank everywhere).

    Returns
    -------
    dict of str to Holdings
        By account name, sorted; each exactly what ``read_holdings(..., account=name)``
        reads.

    Raises
    ------
    DataError
        As :func:`read_holdings`.
    """
    limit = as_day(as_of) if as_of is not None else today_or(today)
    what = "the as-of date" if as_of is not None else "today"
    table = read_table(source, name="holdings")
    lots_table = None if lots is None else read_table(lots, name="lots")
    named = _named_accounts(table, lots_table)
    if len(named) <= 1:
        return {named[0] if named else default: _read(table, lots_table, limit, what)}
    return {name: _read(_only(table, name, True),
                        None if lots_table is None else _only(lots_table, name, True),
                        limit, what) for name in named}


def _account_values(table: Table) -> np.ndarray:
    """Each row's account (None: blank or no ``account`` column), shape ``(rows,)``."""
    if "account" not in table.columns:
        return np.full(len(table.frame), None, dtype=object)
    values = parse_column(table, "account", Kind.STR, required=False)
    return np.array([None if not isinstance(v, str) or not v.strip() else v.strip()
                     for v in values], dtype=object)


def _named_accounts(table: Table, lots: Table | None) -> list[str]:
    """The accounts the files name, sorted; a blank account beside several is an error."""
    names: set[str] = set()
    for t in (table, lots):
        if t is not None:
            names |= {str(v) for v in _account_values(t) if v is not None}
    if len(names) > 1:
        for t in (table, lots):
            if t is None:
                continue
            blank = np.array([v is None for v in _account_values(t)], dtype=bool)
            if blank.any():
                raise t.error("a row without an account in a file of several accounts",
                              position=int(np.flatnonzero(blank)[0]), field="account",
                              expected=f"one of {_listed(sorted(names))}", found="blank")
    return sorted(names)


def _first_row_of(table: Table, lots: Table | None, name: str) -> tuple[str, int]:
    """The file and line of the first row of account ``name``."""
    for t in (table, lots):
        if t is not None:
            where = np.flatnonzero(_account_values(t) == name)
            if len(where):
                return t.label, t.line(int(where[0]))
    return table.label, 1


def _only(table: Table, name: str, several: bool) -> Table:
    """The rows of account ``name`` (every row when the file names one account)."""
    if not several:
        return table
    keep = _account_values(table) == name
    return Table(frame=table.frame.loc[keep].reset_index(drop=True), label=table.label)


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _read(table: Table, lots_table: Table | None, limit: pd.Timestamp, what: str
          ) -> Holdings:
    """Holdings of one table (and its lots table), as :func:`read_holdings` returns them."""
    lots = lots_table
    require_columns(table, "ticker")
    tickers = parse_tickers(table)
    is_cash = (tickers == CASH).to_numpy(dtype=bool)
    cash_usd = _cash_usd(table, is_cash)
    shares = _security_shares(table, is_cash)
    if _is_lot_level(table):
        if lots is not None:
            raise DataError("holdings file is already lot level; pass the lots in one file only",
                            file=table.label, row=1, field="acquired",
                            expected="a position-level holdings file next to a lots file")
        lot_frame = _lots(table, tickers, shares, is_cash, limit, what)
        positions = lot_frame.groupby("ticker")["shares"].sum()
    else:
        first_duplicate(table, tickers[~is_cash], "ticker", "ticker")
        positions = pd.Series(shares[~is_cash].to_numpy(),
                              index=pd.Index(tickers[~is_cash].to_numpy(), dtype=object))
        lot_frame = None
        if lots is not None:
            lot_frame, lot_lines, lots_label = _read_lots_table(lots, limit, what)
            _reconcile(table, tickers, is_cash, positions, lot_frame, lot_lines, lots_label)
    held = _clean_positions(positions)
    return Holdings(shares=held, cash_usd=cash_usd, lots=lot_frame, source=table.label,
                    notices=_short_notices(held), lines=_first_lines(table, tickers, held))


def _is_lot_level(table: Table) -> bool:
    lot_columns = {"acquired", "cost_basis_usd"} & set(table.columns)
    if lot_columns:
        require_columns(table, "ticker", "shares", "acquired", "cost_basis_usd")
        return True
    return False


def _cash_usd(table: Table, is_cash: np.ndarray) -> float:
    """Sum of the CASH rows: ``market_value_usd`` where given, else ``shares``."""
    if not is_cash.any():
        return 0.0
    market_value = (parse_column(table, "market_value_usd", Kind.FLOAT, required=False)
                    if "market_value_usd" in table.columns else None)
    share_value = (parse_column(table, "shares", Kind.FLOAT, required=False)
                   if "shares" in table.columns else None)
    total = 0.0
    for pos in np.flatnonzero(is_cash):
        mv = np.nan if market_value is None else float(market_value.iloc[pos])
        sh = np.nan if share_value is None else float(share_value.iloc[pos])
        if np.isnan(mv) and np.isnan(sh):
            raise table.error("cash row without an amount", position=int(pos),
                              field="market_value_usd",
                              expected="a USD amount in market_value_usd (or shares)",
                              found="blank")
        if not np.isnan(mv) and not np.isnan(sh) and abs(mv - sh) > 0.005:
            raise table.error("cash row gives two different amounts", position=int(pos),
                              field="market_value_usd",
                              expected="market_value_usd equal to shares (or one of them blank)",
                              found=f"market_value_usd {mv:g} and shares {sh:g}")
        total += mv if not np.isnan(mv) else sh
    return total


def _security_shares(table: Table, is_cash: np.ndarray) -> pd.Series:
    """Shares of every non-cash row (required); NaN on cash rows."""
    require_columns(table, "ticker", "shares")
    shares = parse_column(table, "shares", Kind.FLOAT, required=False)
    blank = shares.isna().to_numpy() & ~is_cash
    if blank.any():
        pos = int(np.flatnonzero(blank)[0])
        raise table.error("missing value", position=pos, field="shares",
                          expected=Kind.FLOAT.value, found="blank")
    return shares


def _lots(table: Table, tickers: pd.Series, shares: pd.Series, is_cash: np.ndarray,
          limit: pd.Timestamp, what: str) -> pd.DataFrame:
    """Validated lot rows of a lot-level table (cash rows and zero-share lots left out)."""
    keep = ~is_cash
    sub = Table(frame=table.frame.loc[keep], label=table.label)
    acquired = parse_column(sub, "acquired", Kind.DATE)
    check_not_after(sub, acquired, "acquired", limit, what)
    basis = parse_column(sub, "cost_basis_usd", Kind.FLOAT)
    negative = (basis < 0).to_numpy(dtype=bool)
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise sub.error("negative cost basis", position=pos, field="cost_basis_usd",
                        expected="a total cost in USD >= 0", found=f"{basis.iloc[pos]:g}")
    account = (parse_column(sub, "account", Kind.STR, required=False)
               if "account" in table.columns
               else pd.Series([None] * len(sub.frame), index=sub.frame.index, dtype=object))
    frame = pd.DataFrame({"ticker": tickers[keep], "shares": shares[keep], "acquired": acquired,
                          "cost_basis_usd": basis, "account": account.astype(object)})
    if "lot_id" in table.columns:
        ids = parse_column(sub, "lot_id", Kind.STR, required=False).astype(object)
        given = ids.notna().to_numpy(dtype=bool)
        first_duplicate(table, ids[given], "lot_id", "lot id")
        frame["lot_id"] = ids.where(ids.notna(), None)
    return pd.DataFrame(frame.loc[frame["shares"].to_numpy() != 0.0].reset_index(drop=True))


def _read_lots_table(table: Table, limit: pd.Timestamp, what: str
                     ) -> tuple[pd.DataFrame, np.ndarray, str]:
    """The lots of a separate lots file, their source lines and the file label."""
    require_columns(table, "ticker", "shares", "acquired", "cost_basis_usd")
    tickers = parse_tickers(table)
    is_cash = (tickers == CASH).to_numpy(dtype=bool)
    if is_cash.any():
        raise table.error("cash row in a lots file", position=int(np.flatnonzero(is_cash)[0]),
                          field="ticker", expected="cash in the holdings file, not in lots",
                          found=CASH)
    shares = parse_column(table, "shares", Kind.FLOAT)
    lots = _lots(table, tickers, shares, is_cash, limit, what)
    lines = table.frame["_line"].to_numpy()[shares.to_numpy() != 0.0]
    return lots, lines, table.label


def _reconcile(table: Table, tickers: pd.Series, is_cash: np.ndarray, positions: pd.Series,
               lots: pd.DataFrame, lot_lines: np.ndarray, lots_label: str) -> None:
    """Each ticker's lot shares must sum to its position (a missing side counts as 0)."""
    lot_sum = lots.groupby("ticker")["shares"].sum()
    names = sorted(set(positions.index) | set(lot_sum.index))
    pos_total = positions.groupby(level=0).sum().reindex(names, fill_value=0.0)
    lot_total = lot_sum.reindex(names, fill_value=0.0)
    off = [t for t in names if abs(pos_total[t] - lot_total[t]) > RECONCILE_TOLERANCE_SHARES]
    if not off:
        return
    ticker = off[0]
    problem = f"lots do not reconcile with positions for {ticker} (lots file {lots_label})"
    figures = (f"lots sum to {lot_total[ticker]:.10g} shares, "
               f"position is {pos_total[ticker]:.10g} shares")
    expected = f"lot shares summing to the position within {RECONCILE_TOLERANCE_SHARES:g}"
    at_position = (tickers == ticker).to_numpy(dtype=bool) & ~is_cash
    if at_position.any():
        raise table.error(problem, position=int(np.flatnonzero(at_position)[0]),
                          field="shares", expected=expected, found=figures)
    first_lot = int(lot_lines[(lots["ticker"] == ticker).to_numpy(dtype=bool)][0])
    raise DataError(problem + "; the holdings file has no position in it", file=lots_label,
                    row=first_lot, field="shares", expected=expected, found=figures)


def _clean_positions(positions: pd.Series) -> pd.Series:
    """Sorted float shares without zero positions, index named ``ticker``."""
    positions = positions.groupby(level=0).sum()
    positions = positions[positions.to_numpy() != 0.0].sort_index()
    out = pd.Series(positions.to_numpy(dtype=float),
                    index=pd.Index(positions.index.to_numpy(dtype=object), name="ticker",
                                   dtype=object),
                    name="shares")
    return out


def _first_lines(table: Table, tickers: pd.Series, held: pd.Series) -> pd.Series:
    """First source line of each held ticker, index ``ticker``."""
    lines = pd.Series(table.frame["_line"].to_numpy(dtype=np.int64),
                      index=pd.Index(tickers.to_numpy(dtype=object), dtype=object))
    first = lines.groupby(level=0).min()
    out = first.reindex(held.index).astype("int64")
    return out.rename("line")


def _short_notices(shares: pd.Series) -> tuple[Notice, ...]:
    short = [str(t) for t in shares.index[shares.to_numpy() < 0]]
    if not short:
        return ()
    return (notice(Flag.SHORT_POSITION,
                   f"{len(short)} short position(s) (negative shares): drift uses absolute "
                   "weights and borrow cost applies", short),)


def write_holdings(holdings: Holdings, path: str | Path) -> Path:
    """Write holdings as CSV that :func:`read_holdings` reads back to the same record.

    Lot-level holdings are written one row per lot (``ticker, shares, acquired,
    cost_basis_usd, account`` and ``lot_id`` when known), position-level ones as
    ``ticker, shares``; cash is the
    ``CASH`` row's ``market_value_usd``.
    """
    out = Path(path)
    if holdings.lots is not None and len(holdings.lots):
        columns = [*LOT_COLUMNS, *(["lot_id"] if "lot_id" in holdings.lots.columns else [])]
        rows = holdings.lots.loc[:, columns].copy()
        rows["acquired"] = pd.to_datetime(rows["acquired"]).dt.strftime("%Y-%m-%d")
        rows["market_value_usd"] = np.nan
    else:
        rows = pd.DataFrame({"ticker": holdings.shares.index, "shares": holdings.shares.to_numpy(),
                             "market_value_usd": np.nan})
    cash = pd.DataFrame({"ticker": [CASH], "market_value_usd": [holdings.cash_usd]})
    # no float_format: pandas writes the shortest text that reads back to the same float,
    # so no share and no cent is lost
    with atomic_path(out) as temp:
        pd.concat([rows, cash], ignore_index=True).to_csv(temp, index=False)
    return out
