"""Accounts and their holdings over time (snapshots).

An account's current holdings are its latest ``holdings_snapshots`` row with its
``positions`` and ``lots``. A change (an import that differs, a fills run) writes a
whole new snapshot in the same transaction as the rest of the change; snapshots are
never updated, so every earlier state stays readable.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.data.holdings import LOT_COLUMNS
from driftwise.data.model import Holdings
from driftwise.errors import DataError
from driftwise.record._values import day, now, required, text
from driftwise.record.schema import accounts, holdings_snapshots, lots, positions


@dataclass(frozen=True)
class Lot:
    """One tax lot, exact: shares (negative = short), acquired date, basis in USD."""

    ticker: str
    shares: Decimal
    acquired: dt.date
    cost_basis_usd: Decimal
    lot_account: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Holdings as the record keeps them: exact shares per ticker, cash in USD, lots.

    Attributes
    ----------
    cash_usd : Decimal
    positions : dict
        Ticker -> shares (no zero positions, no cash).
    lots : tuple of Lot or None
        None for position-level holdings.
    """

    cash_usd: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)
    lots: tuple[Lot, ...] | None = None


@dataclass(frozen=True)
class Changes:
    """What an import or a fills run changed in one table: rows added, changed, removed."""

    table: str
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def any(self) -> bool:
        """Whether anything changed."""
        return bool(self.added or self.changed or self.removed)


def account_id(connection: Connection, name: str, *, create: bool = False,
               lock: bool = False) -> int:
    """The id of account ``name`` (created when asked); ``lock`` holds its row until the
    transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's write lock is already held).

    Raises
    ------
    DataError
        No such account and ``create`` is False.
    """
    query = sa.select(accounts.c.id).where(accounts.c.name == name)
    if lock:
        query = query.with_for_update()
    found = connection.execute(query).scalar_one_or_none()
    if found is not None:
        return int(found)
    if not create:
        known = connection.execute(sa.select(accounts.c.name).order_by(accounts.c.name)
                                   ).scalars().all()
        raise DataError(f"no account {name!r} in the record", field="account",
                        expected="an account imported with driftwise import --holdings "
                        + (f"(the record has: {', '.join(known)})" if known else
                           "(the record has none yet)"), found=name)
    result = connection.execute(accounts.insert().values(name=name, created_at=now()))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def latest_snapshot_id(connection: Connection, account: int) -> int | None:
    """The id of the account's current holdings snapshot (None: never imported)."""
    query = (sa.select(sa.func.max(holdings_snapshots.c.id))
             .where(holdings_snapshots.c.account_id == account))
    found = connection.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def read_snapshot(connection: Connection, snapshot_id: int) -> Snapshot:
    """One snapshot, exact."""
    head = connection.execute(sa.select(holdings_snapshots).where(
        holdings_snapshots.c.id == snapshot_id)).one()
    held = {r.ticker: r.shares for r in connection.execute(
        sa.select(positions).where(positions.c.snapshot_id == snapshot_id)
        .order_by(positions.c.ticker))}
    lot_rows: tuple[Lot, ...] | None = None
    if head.lot_level:
        lot_rows = tuple(Lot(r.ticker, r.shares, r.acquired, r.cost_basis_usd, r.lot_account)
                         for r in connection.execute(
                             sa.select(lots).where(lots.c.snapshot_id == snapshot_id)
                             .order_by(lots.c.id)))
    return Snapshot(head.cash_usd, held, lot_rows)


def latest_snapshot_ids(connection: Connection, accounts_: Sequence[int]) -> dict[int, int]:
    """:func:`latest_snapshot_id` of many accounts in one query (those never imported
    left out)."""
    if not accounts_:
        return {}
    rows = connection.execute(
        sa.select(holdings_snapshots.c.account_id, sa.func.max(holdings_snapshots.c.id))
        .where(holdings_snapshots.c.account_id.in_(list(accounts_)))
        .group_by(holdings_snapshots.c.account_id)).all()
    return {int(a): int(s) for a, s in rows if s is not None}


def read_snapshots(connection: Connection, snapshot_ids: Sequence[int]) -> dict[int, Snapshot]:
    """:func:`read_snapshot` of many snapshots, in three queries (heads, positions, lots)
    whatever their number; the same snapshots."""
    if not snapshot_ids:
        return {}
    wanted = sorted(set(snapshot_ids))
    heads = {int(r.id): r for r in connection.execute(sa.select(holdings_snapshots).where(
        holdings_snapshots.c.id.in_(wanted)))}
    held: dict[int, dict[str, Decimal]] = {i: {} for i in wanted}
    for r in connection.execute(sa.select(positions).where(positions.c.snapshot_id.in_(wanted))
                                .order_by(positions.c.snapshot_id, positions.c.ticker)):
        held[int(r.snapshot_id)][r.ticker] = r.shares
    leveled = [i for i in wanted if heads[i].lot_level]
    lot_rows: dict[int, list[Lot]] = {i: [] for i in leveled}
    if leveled:
        for r in connection.execute(sa.select(lots).where(lots.c.snapshot_id.in_(leveled))
                                    .order_by(lots.c.snapshot_id, lots.c.id)):
            lot_rows[int(r.snapshot_id)].append(
                Lot(r.ticker, r.shares, r.acquired, r.cost_basis_usd, r.lot_account))
    return {i: Snapshot(heads[i].cash_usd, held[i],
                        tuple(lot_rows[i]) if heads[i].lot_level else None) for i in wanted}


def market_date(connection: Connection, snapshot_id: int) -> dt.date | None:
    """The session a snapshot's holdings were marked at (None: not recorded)."""
    found = connection.execute(sa.select(holdings_snapshots.c.market_date).where(
        holdings_snapshots.c.id == snapshot_id)).scalar_one()
    return found  # type: ignore[no-any-return]


def current(connection: Connection, account: int) -> Snapshot | None:
    """The account's current holdings (None: never imported)."""
    latest = latest_snapshot_id(connection, account)
    return None if latest is None else read_snapshot(connection, latest)


def write_snapshot(connection: Connection, account: int, snapshot: Snapshot, *,
                   reason: str, source: str, market_date: dt.date | None = None) -> int:
    """Insert a new snapshot of the account's holdings; return its id. ``market_date``:
    the session the holdings were marked at (None: unknown)."""
    marked = {} if market_date is None else {"market_date": market_date}
    result = connection.execute(holdings_snapshots.insert().values(
        account_id=account, cash_usd=snapshot.cash_usd, lot_level=snapshot.lots is not None,
        reason=reason, source=source, created_at=now(), **marked))
    key = result.inserted_primary_key
    assert key is not None
    new = int(key[0])
    if snapshot.positions:
        connection.execute(positions.insert(), [
            {"snapshot_id": new, "ticker": t, "shares": s}
            for t, s in sorted(snapshot.positions.items())])
    if snapshot.lots:
        connection.execute(lots.insert(), [
            {"snapshot_id": new, "ticker": lot.ticker, "shares": lot.shares,
             "acquired": lot.acquired, "cost_basis_usd": lot.cost_basis_usd,
             "lot_account": lot.lot_account} for lot in snapshot.lots])
    return new


def from_holdings(holdings: Holdings) -> Snapshot:
    """The exact snapshot of holdings read from a file (each number as its shortest text)."""
    held = {str(t): required(s) for t, s in holdings.shares.items() if float(s) != 0.0}
    lot_rows: tuple[Lot, ...] | None = None
    if holdings.lots is not None:
        frame = holdings.lots
        accounts_col = frame["account"] if "account" in frame.columns else [None] * len(frame)
        lot_rows = tuple(
            Lot(str(t), required(s), _date(a), required(b), text(acct))
            for t, s, a, b, acct in zip(frame["ticker"], frame["shares"], frame["acquired"],
                                        frame["cost_basis_usd"], accounts_col, strict=True))
    return Snapshot(required(holdings.cash_usd), held, lot_rows)


def _date(value: object) -> dt.date:
    out = day(value)
    if out is None:
        raise ValueError(f"a lot needs its acquired date, got {value!r}")
    return out


def to_holdings(snapshot: Snapshot, source: str) -> Holdings:
    """The snapshot as the :class:`~driftwise.data.model.Holdings` the other packages read."""
    shares = pd.Series({t: float(s) for t, s in snapshot.positions.items()}, dtype=float)
    shares = shares.sort_index()
    shares.index.name = "ticker"
    frame = None
    if snapshot.lots is not None:
        frame = pd.DataFrame(
            [(lot.ticker, float(lot.shares), pd.Timestamp(lot.acquired),
              float(lot.cost_basis_usd), lot.lot_account) for lot in snapshot.lots],
            columns=list(LOT_COLUMNS))
        frame["acquired"] = pd.to_datetime(frame["acquired"]).astype("datetime64[ns]")
        frame["shares"] = frame["shares"].astype(float)
        frame["cost_basis_usd"] = frame["cost_basis_usd"].astype(float)
    return Holdings(shares=shares, cash_usd=float(snapshot.cash_usd), lots=frame,
                    source=source)


def compare(old: Snapshot | None, new: Snapshot) -> tuple[Changes, Changes]:
    """Positions (cash counted as one row) and lots added, changed and removed."""
    before = {} if old is None else {**old.positions, "CASH": old.cash_usd}
    after = {**new.positions, "CASH": new.cash_usd}
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    changed = sum(before[k] != after[k] for k in before.keys() & after.keys())
    old_lots = Counter(() if old is None or old.lots is None else old.lots)
    new_lots = Counter(() if new.lots is None else new.lots)
    gone, came = old_lots - new_lots, new_lots - old_lots

    def keys(lots: Counter[Lot]) -> Counter[tuple[str, dt.date, str | None]]:
        out: Counter[tuple[str, dt.date, str | None]] = Counter()
        for lot, n in lots.items():
            out[(lot.ticker, lot.acquired, lot.lot_account)] += n
        return out

    # a lot of the same ticker, date and account on both sides changed (shares or basis)
    lot_changed = sum((keys(gone) & keys(came)).values())
    return (Changes("positions", added, changed, removed),
            Changes("lots", sum(came.values()) - lot_changed, lot_changed,
                    sum(gone.values()) - lot_changed))

