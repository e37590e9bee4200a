"""Read a holdings file: positions or tax lots, plus cash.

Two layouts are accepted:

* position level: ``ticker, shares`` (one row per position);
* lot level: ``ticker, shares, acquired, cost_basis_usd`` and optional ``account``
  (one row per tax lot; a ticker repeats, its position is the sum of its lots).

Cash is a row with ticker ``CASH`` holding ``market_value_usd`` (or ``shares`` =
dollars); several cash rows (one per account) are summed. A position-level file can
come with a separate lots file, which must reconcile share for share.
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

    Returns
    -------
    Holdings
        ``shares`` per ticker (float, sorted, no cash, no zero positions), ``cash_usd``,
        ``lots`` (columns :data:`LOT_COLUMNS`) when known, and notices (short positions).

    Raises
    ------
    DataError
        Missing columns, bad values, invalid tickers, duplicate positions, lots acquired
        in the future, negative cost basis, or lots that do not reconcile.
    """
    limit = as_day(as_of) if as_of is not None else today_or(today)
    what = "the as-of date" if as_of is not None else "today"
    table = read_table(source, name="holdings")
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
            lot_frame, lot_lines, lots_label = _read_lots_file(lots, limit, what)
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


def _read_lots_file(source: Source, limit: pd.Timestamp, what: str
                    ) -> tuple[pd.DataFrame, np.ndarray, str]:
    """The lots of a separate lots file, their source lines and the file label."""
    table = read_table(source, name="lots")
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
