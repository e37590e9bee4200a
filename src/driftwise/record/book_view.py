"""The book as the record holds it, read only: each account's latest plan and its orders.

The accounts dashboard (:mod:`driftwise.report.dashboard`) reads the record through this
module alone, and only reads: one ``SELECT`` per table, no lock, no write. An account's
**latest plan** is its plan with the latest ``as_of`` (the latest stored on that day
when there are several). It **needs action** as ``driftwise daily`` says: its decision is
not ``skip`` (a rebalance, partial, delay or invalid plan), or an ``invalidate`` event
names it as the review of an open plan.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.record.schema import ORDER_STATUSES, accounts, events, orders, plans

OPEN_STATUSES = ("proposed", "approved", "sent")
"""Orders not yet filled or cancelled."""
CHUNK = 500
"""Plan ids per ``IN`` list (SQLite bounds the parameters of a statement)."""

ACCOUNT_COLUMNS = ("account", "plan_id", "as_of", "decision", "needs_action", "drift",
                   "drift_after", "te", "cost_usd", "cost_bps", "tax_usd",
                   "cost_benefit_ratio", "nav_usd", "orders", "open_orders", "events",
                   "reasons", "last_rebalance")
ORDER_COLUMNS = ("order_id", "account", "plan_id", "client_order_id", "ticker", "side",
                 "shares", "filled_shares", "order_type", "limit_price_usd", "status",
                 "updated_at")


@dataclass(frozen=True)
class BookView:
    """The book on the record's latest plans.

    Attributes
    ----------
    accounts : pd.DataFrame
        One row per account with a plan (columns :data:`ACCOUNT_COLUMNS`), the accounts
        needing action first, then by drift (largest first) and cost-benefit ratio
        (lowest first). ``drift``, ``drift_after`` and ``te`` are fractions (TE annual),
        ``cost_usd``/``tax_usd``/``nav_usd`` USD, ``cost_bps`` bps of NAV; NaN where the
        plan stored no figure (a plan made by ``plan --record``).
    orders : pd.DataFrame
        Columns :data:`ORDER_COLUMNS`: the orders of each account's latest plan and any
        order still open from an earlier one, by account then id; shares as floats.
    unplanned : tuple of str
        Accounts of the record without any plan.
    as_of : date or None
        The latest plan date of the book (None: no plan).
    """

    accounts: pd.DataFrame
    orders: pd.DataFrame
    unplanned: tuple[str, ...]
    as_of: dt.date | None

    def status_counts(self) -> dict[str, int]:
        """Orders by status, every status of :data:`ORDER_STATUSES` present (0 if none)."""
        found = self.orders["status"].value_counts()
        return {s: int(found.get(s, 0)) for s in ORDER_STATUSES}


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    number = float(value) if isinstance(value, Decimal | int | float) else math.nan
    return number if math.isfinite(number) else math.nan


def _invalidated(connection: Connection) -> dict[int, list[str]]:
    """The causes of each plan named as the review of an ``invalidate`` event."""
    out: dict[int, list[str]] = {}
    for detail in connection.execute(sa.select(events.c.detail)
                                     .where(events.c.kind == "invalidate")).scalars():
        review = (detail or {}).get("review_plan_id")
        if review is not None:
            out.setdefault(int(review), []).extend(str(c) for c in detail.get("causes", []))
    return out


def latest_plans(connection: Connection, as_of: dt.date | None = None) -> dict[int, Any]:
    """Each account's latest plan (on or before ``as_of`` when given), by account id."""
    query = sa.select(plans).order_by(plans.c.account_id, plans.c.as_of, plans.c.id)
    if as_of is not None:
        query = query.where(plans.c.as_of <= as_of)
    latest: dict[int, Any] = {}
    for row in connection.execute(query):
        latest[int(row.account_id)] = row  # ordered: the last one wins
    return latest


def read_book(connection: Connection, as_of: dt.date | None = None) -> BookView:
    """The book from the record's plans, orders and events (read only).

    Parameters
    ----------
    connection : Connection
    as_of : date, optional
        Use the plans made on or before this day (default: every plan). The orders'
        statuses are those of now (the record keeps an order's moves in its event log,
        not its status on each day).
    """
    names = {int(r.id): (r.name, r.last_rebalance)
             for r in connection.execute(sa.select(accounts).order_by(accounts.c.name))}
    latest = latest_plans(connection, as_of)
    invalid = _invalidated(connection)
    plan_ids = [int(p.id) for p in latest.values()]
    found = {int(r.id): r for r in connection.execute(
        sa.select(orders).where(orders.c.status.in_(OPEN_STATUSES)))}
    for start in range(0, len(plan_ids), CHUNK):  # bound the parameters of one statement
        found.update((int(r.id), r) for r in connection.execute(
            sa.select(orders).where(orders.c.plan_id.in_(plan_ids[start:start + CHUNK]))))
    order_rows = sorted(found.values(), key=lambda r: (int(r.account_id), int(r.id)))
    if as_of is not None:  # orders of plans made after the day are not in that book
        shown = set(plan_ids) | {int(r.id) for r in connection.execute(
            sa.select(plans.c.id).where(plans.c.as_of <= as_of))}
        order_rows = [r for r in order_rows if int(r.plan_id) in shown]
    by_account: dict[int, list[Any]] = {}
    for o in order_rows:
        by_account.setdefault(int(o.account_id), []).append(o)
    rows = [_account_row(names[a][0], names[a][1], plan, invalid.get(int(plan.id), []),
                         by_account.get(a, []))
            for a, plan in latest.items()]
    frame = pd.DataFrame(rows, columns=list(ACCOUNT_COLUMNS))
    if not frame.empty:
        frame = frame.assign(
            _act=~frame["needs_action"].astype(bool), _drift=-frame["drift"].fillna(0.0),
            _ratio=frame["cost_benefit_ratio"].fillna(math.inf)
        ).sort_values(["_act", "_drift", "_ratio", "account"], kind="stable").drop(
            columns=["_act", "_drift", "_ratio"]).reset_index(drop=True)
    order_frame = pd.DataFrame(
        [{"order_id": int(o.id), "account": names[int(o.account_id)][0],
          "plan_id": int(o.plan_id), "client_order_id": o.client_order_id,
          "ticker": o.ticker, "side": o.side, "shares": _float(o.shares),
          "filled_shares": _float(o.filled_shares), "order_type": o.order_type,
          "limit_price_usd": _float(o.limit_price_usd), "status": o.status,
          "updated_at": o.updated_at} for o in order_rows], columns=list(ORDER_COLUMNS))
    unplanned = tuple(sorted(n for a, (n, _) in names.items() if a not in latest))
    day = max((p.as_of for p in latest.values()), default=None)
    return BookView(frame, order_frame, unplanned, day)


def _account_row(name: str, last_rebalance: dt.date | None, plan: Any, causes: list[str],
                 mine: list[Any]) -> dict[str, object]:
    metrics = dict(plan.metrics or {})
    own = [o for o in mine if int(o.plan_id) == int(plan.id)]
    return {
        "account": name, "plan_id": int(plan.id), "as_of": plan.as_of,
        "decision": plan.decision, "needs_action": plan.decision != "skip" or bool(causes),
        "drift": _float(metrics.get("drift")), "drift_after": _float(metrics.get("drift_after")),
        "te": _float(metrics.get("te")), "cost_usd": _float(metrics.get("cost_usd")),
        "cost_bps": _float(metrics.get("cost_bps")), "tax_usd": _float(metrics.get("tax_usd")),
        "cost_benefit_ratio": _float(metrics.get("cost_benefit_ratio")),
        "nav_usd": _float(plan.nav_usd), "orders": len(own),
        "open_orders": sum(o.status in OPEN_STATUSES for o in mine),
        "events": "; ".join(causes), "reasons": tuple(plan.reasons or ()),
        "last_rebalance": last_rebalance}
