"""What the record says happened to an account, in order: imports, plans with their
decision and reasons, order moves, fills (read from the event log and the plans)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.record.events import read_events
from driftwise.record.schema import plans


@dataclass(frozen=True)
class Entry:
    """One line of an account's history.

    Attributes
    ----------
    at : datetime
        When it was recorded (UTC).
    kind : str
        ``import``, ``plan``, ``orders`` or ``fills``.
    summary : str
        What happened, in words.
    reasons : tuple of str
        A plan's reasons (empty for the other kinds).
    """

    at: dt.datetime
    kind: str
    summary: str
    reasons: tuple[str, ...] = ()


def account_history(connection: Connection, account: int,
                    since: dt.date | None = None) -> list[Entry]:
    """The account's entries in the order they were recorded (from ``since``, a UTC date)."""
    reasons = {r.id: tuple(r.reasons) for r in connection.execute(
        sa.select(plans.c.id, plans.c.reasons).where(plans.c.account_id == account))}
    out = []
    for event in read_events(connection, account_id=account):
        if since is not None and event.at.date() < since:
            continue
        d = event.detail
        why: tuple[str, ...] = ()
        if event.kind == "plan":
            text = f"plan {d['plan_id']} on {d['as_of']}: {d['decision']}, {d['orders']} order(s)"
            why = reasons.get(int(d["plan_id"]), ())
        elif event.kind == "fills":
            text = (f"{d['applied']} fill(s) from {d['file']}; last rebalance "
                    f"{d['last_rebalance']}; {len(d['orders_filled'])} order(s) filled")
        elif event.kind == "orders":
            text = f"{len(d['orders'])} order(s) now {d['to']}"
        elif event.kind == "import":
            changed = [f"{c['table']} +{c['added']} ~{c['changed']} -{c['removed']}"
                       for c in d["changes"] if c["added"] or c["changed"] or c["removed"]]
            text = "import: " + ", ".join(changed)
        else:
            text = event.kind
        out.append(Entry(event.at, event.kind, text, why))
    return out
