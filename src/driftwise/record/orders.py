"""Plans and their orders: proposed -> approved -> sent -> filled / cancelled.

A plan stored in the record keeps its decision, every reason, the fingerprints of its
inputs (SHA-256 of each file), the configuration it ran with (TOML text) and its
orders, each ``proposed``. Only the transitions of :data:`LEGAL` may follow; any other
is an error naming the order, its status and the status asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.errors import DataError
from driftwise.record._values import exact, now, required
from driftwise.record.events import append_event
from driftwise.record.schema import orders, plans

LEGAL: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "cancelled"}),
    "approved": frozenset({"sent", "cancelled"}),
    "sent": frozenset({"filled", "cancelled"}),
    "filled": frozenset(),
    "cancelled": frozenset(),
}
"""Each status and the statuses it may move to."""


@dataclass(frozen=True)
class PlanRecord:
    """What the record keeps of one plan (plain values, from ``Plan``)."""

    as_of: dt.date
    decision: str
    delay_until: dt.date | None
    rule: str
    reasons: tuple[str, ...]
    fingerprints: Mapping[str, Any]
    configuration: str
    nav_usd: float
    delayed_since: dt.date | None = None
    """First day of the stress delay still running (None: none)."""
    target_version_id: int | None = None
    """The target version the plan ran against (None: targets not from the record)."""
    metrics: Mapping[str, float | None] | None = None
    """Drift, TE, cost and cost-benefit before and after (``driftwise daily``)."""


OrderValue = tuple[str, str, str, Decimal, str, "Decimal | None", "Decimal | None"]
"""One order as the record stores it: client order id, ticker, side, shares (> 0), order
type, limit price (USD; None: a market order) and the loss its sale relieves (USD; None:
unknown)."""


def order_values(order_rows: pd.DataFrame) -> list[OrderValue]:
    """The rows of an order table (:func:`driftwise.execution.orders_frame`, optional
    ``loss_usd``) as the record stores them (each number the decimal its shortest text
    spells; NaN as None), in order."""
    records = order_rows.to_dict("records")
    return [(str(r["order_id"]), str(r["ticker"]), str(r["side"]), required(r["shares"]),
             str(r["order_type"]), exact(r.get("limit_price_usd")), exact(r.get("loss_usd")))
            for r in records]


def store_plan(connection: Connection, account: int, plan: PlanRecord,
               order_rows: pd.DataFrame | Sequence[OrderValue]) -> tuple[int, list[int]]:
    """Insert a plan and its orders (each ``proposed``); return the ids.

    Parameters
    ----------
    order_rows : pd.DataFrame or sequence of OrderValue
        :func:`driftwise.execution.orders_frame` rows: ``order_id``, ``ticker``, ``side``,
        ``shares``, ``order_type``, ``limit_price_usd``, optional ``loss_usd`` (the loss
        of the lots a sale relieves below their basis, USD; absent or NaN: unknown); or
        those rows already as :data:`OrderValue` (:func:`order_values`).
    """
    values = (order_values(order_rows) if isinstance(order_rows, pd.DataFrame)
              else order_rows)
    moment = now()
    result = connection.execute(plans.insert().values(
        account_id=account, as_of=plan.as_of, decision=plan.decision,
        delay_until=plan.delay_until, rule=plan.rule, reasons=list(plan.reasons),
        fingerprints=dict(plan.fingerprints), configuration=plan.configuration,
        nav_usd=required(plan.nav_usd), created_at=moment, delayed_since=plan.delayed_since,
        target_version_id=plan.target_version_id,
        metrics=None if plan.metrics is None else dict(plan.metrics)))
    key = result.inserted_primary_key
    assert key is not None
    plan_id = int(key[0])
    rows = [{"plan_id": plan_id, "account_id": account, "client_order_id": order_id,
             "ticker": ticker, "side": side, "shares": shares, "order_type": kind,
             "limit_price_usd": limit, "status": "proposed", "filled_shares": Decimal(0),
             "updated_at": moment, "loss_usd": loss}
            for order_id, ticker, side, shares, kind, limit, loss in values]
    ids: list[int] = []
    if rows:  # one statement for all the orders, their ids returned in the order given
        ids = [int(i) for i in connection.execute(
            orders.insert().returning(orders.c.id, sort_by_parameter_order=True), rows
        ).scalars()]
    append_event(connection, "plan", {"plan_id": plan_id, "as_of": str(plan.as_of),
                                      "decision": plan.decision, "orders": len(ids)},
                 account_id=account)
    return plan_id, ids


def check_transition(order_id: int, status: str, to: str) -> None:
    """Raise unless an order in ``status`` may move to ``to``.

    Raises
    ------
    DataError
        The transition is not in :data:`LEGAL`.
    """
    if to not in LEGAL:
        raise DataError("unknown order status", field="status",
                        expected=" / ".join(LEGAL), found=to)
    if to not in LEGAL[status]:
        allowed = ", ".join(sorted(LEGAL[status])) or "nothing (it is final)"
        raise DataError(f"order {order_id} cannot go from {status} to {to}",
                        field="status", expected=f"from {status}: {allowed}", found=to)


def select_orders(connection: Connection, *, plan_id: int | None = None,
                  order_ids: Sequence[int] = (), account: int | None = None
                  ) -> list[Any]:
    """Orders of a plan and/or by id (locked until the transaction ends on PostgreSQL).

    Raises
    ------
    DataError
        An unknown plan or order id, or neither given.
    """
    if plan_id is None and not order_ids:
        raise DataError("name the orders: a plan id or order ids", field="orders",
                        expected="--plan ID or --order ID")
    query = sa.select(orders).order_by(orders.c.id).with_for_update()
    if plan_id is not None:
        if connection.execute(sa.select(plans.c.id).where(plans.c.id == plan_id)
                              ).scalar_one_or_none() is None:
            raise DataError("no such plan in the record", field="plan",
                            expected="a plan id shown by driftwise plan --record",
                            found=str(plan_id))
        query = query.where(orders.c.plan_id == plan_id)
    if order_ids:
        query = query.where(orders.c.id.in_(list(order_ids)))
    if account is not None:
        query = query.where(orders.c.account_id == account)
    rows = list(connection.execute(query))
    missing = sorted(set(order_ids) - {r.id for r in rows})
    if missing:
        raise DataError("no such order in the record", field="order",
                        expected="an order id of the record", found=str(missing[0]))
    return rows


def move_orders(connection: Connection, rows: Iterable[Any], to: str, *,
                why: str = "") -> list[int]:
    """Move each order to ``to`` (every transition checked first); return their ids."""
    rows = list(rows)
    for row in rows:
        check_transition(row.id, row.status, to)
    ids = [int(r.id) for r in rows]
    if ids:
        connection.execute(orders.update().where(orders.c.id.in_(ids))
                           .values(status=to, updated_at=now()))
        by_account: dict[int, list[int]] = {}
        for r in rows:
            by_account.setdefault(int(r.account_id), []).append(int(r.id))
        for account, mine in by_account.items():
            append_event(connection, "orders", {"to": to, "orders": mine, "why": why},
                         account_id=account)
    return ids
