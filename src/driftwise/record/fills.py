"""Apply a fills file to the record: holdings, lots, orders and the last rebalance date,
all in one transaction, each execution id once.

In the record every fill needs its ``exec_id`` (the broker's execution id): it is the
primary key of the ``fills`` table, so an execution is applied at most once whatever
runs concurrently, and a replayed file changes nothing. Positions and cash are computed
exactly (decimal arithmetic on the fills' own numbers: ``shares += q``,
``cash_usd -= q·price + fee``); lots are relieved by the same
:func:`~driftwise.execution.apply_fills` the file-based command uses (FIFO / HIFO / minimum
tax, or the lots a sale names; the long-only check), which also validates the fills against
the holdings. The record keeps no broker lot id: its lots are named ``TICKER:YYYY-MM-DD``
(``#2`` ... for further lots of the same day, in the record's order), as its plans name
them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.errors import DataError
from driftwise.execution.fills import (
    Relieve,
    apply_fills,
    fill_record,
    last_fill_date,
    new_fills,
)
from driftwise.record._values import now, required
from driftwise.record.events import append_event
from driftwise.record.holdings import (
    Lot,
    Snapshot,
    account_id,
    current,
    from_holdings,
    to_holdings,
    write_snapshot,
)
from driftwise.record.orders import check_transition
from driftwise.record.schema import accounts, fills, orders

OPEN = ("approved", "sent")
"""The statuses of an order that a fill may fill."""


@dataclass(frozen=True)
class FillsOutcome:
    """What one fills run did to the record.

    Attributes
    ----------
    applied : int
        Executions applied now.
    already_applied : int
        Rows skipped: their execution id was in the record before this run.
    repeated : int
        Rows skipped: they repeat an execution id of the same file.
    before, after : Snapshot
        The account's holdings before and after (equal when nothing was applied).
    snapshot_id : int or None
        The new holdings snapshot (None: nothing applied).
    last_rebalance : date or None
        The account's last rebalance date after the run.
    orders_filled, orders_sent : list of int
        Orders of the record that the fills completed / partly filled.
    unmatched_orders : list of str
        ``order_id`` values of the file that match no order of the record.
    """

    applied: int
    already_applied: int
    repeated: int
    before: Snapshot
    after: Snapshot
    snapshot_id: int | None
    last_rebalance: dt.date | None
    orders_filled: list[int] = field(default_factory=list)
    orders_sent: list[int] = field(default_factory=list)
    unmatched_orders: list[str] = field(default_factory=list)


def apply_record_fills(connection: Connection, account_name: str, table: pd.DataFrame, *,
                       relief: Relieve = "hifo",
                       allow_short: bool = False) -> FillsOutcome:
    """Apply the fills of ``table`` (:func:`~driftwise.execution.read_fills` output) to
    the account, in the caller's transaction.

    Raises
    ------
    DataError
        A fill without ``exec_id``; an execution id applied before with other contents
        or to another account; a sale beyond the shares held (long-only); a fill for an
        order that is not approved or sent; an account without holdings. Each names the
        fills file, its row and the field.
    """
    label = str(table.attrs.get("source", "<fills>"))
    _require_ids(table, label)
    account = account_id(connection, account_name, lock=True)
    before = current(connection, account)
    if before is None:
        raise DataError(f"account {account_name!r} has no holdings in the record",
                        field="account", expected="holdings imported first (driftwise "
                        "import --holdings FILE)", found="none")
    known = _known(connection, table, account, label)
    fresh = new_fills(table, known)
    last = connection.execute(sa.select(accounts.c.last_rebalance).where(
        accounts.c.id == account)).scalar_one()
    if fresh.fills.empty:
        return FillsOutcome(0, fresh.already_applied, fresh.repeated, before, before, None,
                            last)
    relieved = apply_fills(to_holdings(before, label), fresh.fills, relief=relief,
                           allow_short=allow_short)
    after = _exact_after(before, fresh.fills, from_holdings(relieved).lots)
    snapshot = write_snapshot(connection, account, after, reason="fills", source=label,
                              market_date=last_fill_date(fresh.fills).date())
    links, unmatched = _link_orders(connection, account, fresh.fills, label)
    moment = now()
    connection.execute(fills.insert(), [
        {"exec_id": r["exec_id"], "account_id": account, "order_id": links.get(r["row"]),
         "snapshot_id": snapshot, "ticker": r["ticker"], "side": r["side"],
         "shares": required(r["shares"]), "price_usd": required(r["price_usd"]),
         "fee_usd": required(r["fee_usd"]),
         "filled_at": pd.Timestamp(r["filled_at"]).to_pydatetime(),
         "contents": fill_record(r), "applied_at": moment}
        for r in _records(fresh.fills)])
    filled, sent = _update_orders(connection, fresh.fills, links)
    newest = last_fill_date(fresh.fills).date()
    last = newest if last is None or newest > last else last
    connection.execute(accounts.update().where(accounts.c.id == account)
                       .values(last_rebalance=last))
    append_event(connection, "fills", {
        "file": label, "applied": len(fresh.fills), "snapshot_id": snapshot,
        "exec_ids": [str(r["exec_id"]) for r in _records(fresh.fills)],
        "last_rebalance": str(last), "orders_filled": filled}, account_id=account)
    return FillsOutcome(len(fresh.fills), fresh.already_applied, fresh.repeated, before,
                        after, snapshot, last, filled, sent, unmatched)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _require_ids(table: pd.DataFrame, label: str) -> None:
    for r in _records(table):
        if not isinstance(r.get("exec_id"), str) or not r["exec_id"]:
            raise DataError("a fill without its execution id", file=label, row=int(r["row"]),
                            field="exec_id", expected="the broker's execution id: the "
                            "record applies each execution once", found="blank")


def _known(connection: Connection, table: pd.DataFrame, account: int, label: str
           ) -> Mapping[str, Mapping[str, object]]:
    ids = sorted({str(x) for x in table["exec_id"]})
    out: dict[str, Mapping[str, object]] = {}
    for start in range(0, len(ids), 5_000):
        for row in connection.execute(sa.select(fills.c.exec_id, fills.c.account_id,
                                                fills.c.contents)
                                      .where(fills.c.exec_id.in_(ids[start:start + 5_000]))):
            if row.account_id != account:
                line = int(table.loc[table["exec_id"] == row.exec_id, "row"].iloc[0])
                raise DataError(f"execution {row.exec_id} was applied to another account",
                                file=label, row=line, field="exec_id",
                                expected="an execution of this account", found=row.exec_id)
            out[row.exec_id] = dict(row.contents)
    return out


def _exact_after(before: Snapshot, table: pd.DataFrame, lots: tuple[Lot, ...] | None
                 ) -> Snapshot:
    held = dict(before.positions)
    cash = before.cash_usd
    for r in _records(table):
        q = required(r["shares"]) * (1 if r["side"] == "BUY" else -1)
        held[r["ticker"]] = held.get(r["ticker"], Decimal(0)) + q
        cash -= q * required(r["price_usd"]) + required(r["fee_usd"])
    return Snapshot(cash, {t: s for t, s in sorted(held.items()) if s != 0}, lots)


def _link_orders(connection: Connection, account: int, table: pd.DataFrame, label: str
                 ) -> tuple[dict[int, int], list[str]]:
    """Fills row -> order id of the record, and the order ids that match none."""
    links: dict[int, int] = {}
    unmatched: list[str] = []
    for r in _records(table):
        client = r.get("order_id")
        if not isinstance(client, str) or not client:
            continue
        found = list(connection.execute(
            sa.select(orders).where((orders.c.account_id == account)
                                    & (orders.c.client_order_id == client))
            .order_by(orders.c.id.desc()).with_for_update()))
        live = [o for o in found if o.status in OPEN]
        if live:
            order = live[0]
            if order.ticker != r["ticker"] or order.side != r["side"]:
                raise DataError(f"the fill does not match order {client}", file=label,
                                row=int(r["row"]), field="ticker" if order.ticker != r["ticker"]
                                else "side", expected=f"{order.side} {order.ticker}",
                                found=f"{r['side']} {r['ticker']}")
            links[int(r["row"])] = int(order.id)
        elif found:
            raise DataError(f"a fill for order {client}, which is {found[0].status}",
                            file=label, row=int(r["row"]), field="order_id",
                            expected="an approved or sent order (driftwise approve)",
                            found=f"{client} ({found[0].status})")
        elif client not in unmatched:
            unmatched.append(client)
    return links, unmatched


def _update_orders(connection: Connection, table: pd.DataFrame, links: Mapping[int, int]
                   ) -> tuple[list[int], list[int]]:
    done: dict[int, Decimal] = {}
    for r in _records(table):
        order = links.get(int(r["row"]))
        if order is not None:
            done[order] = done.get(order, Decimal(0)) + required(r["shares"])
    filled, sent = [], []
    for order_id, shares in sorted(done.items()):
        row = connection.execute(sa.select(orders).where(orders.c.id == order_id)).one()
        status = row.status
        if status == "approved":
            check_transition(order_id, status, "sent")
            status = "sent"
        total = row.filled_shares + shares
        if total >= row.shares:
            check_transition(order_id, status, "filled")
            status = "filled"
            filled.append(order_id)
        else:
            sent.append(order_id)
        connection.execute(orders.update().where(orders.c.id == order_id).values(
            status=status, filled_shares=total, updated_at=now()))
    return filled, sent
