"""The event log: what happened to the record, appended and never changed.

This module only appends and reads; the database itself refuses an UPDATE or a DELETE
of the ``events`` table (triggers created by the first migration).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.record._values import now
from driftwise.record.schema import events


@dataclass(frozen=True)
class Event:
    """One entry of the log.

    Attributes
    ----------
    id : int
        Position in the log (increasing).
    at : datetime
        When it was written (UTC).
    account_id : int or None
    kind : str
        ``init``, ``import``, ``plan``, ``approve``, ``fills``, ...
    detail : dict
        What changed, as plain data.
    """

    id: int
    at: dt.datetime
    account_id: int | None
    kind: str
    detail: dict[str, Any]


def append_event(connection: Connection, kind: str, detail: Mapping[str, Any],
                 account_id: int | None = None) -> int:
    """Append one event in the caller's transaction; return its id."""
    result = connection.execute(events.insert().values(
        at=now(), account_id=account_id, kind=kind, detail=dict(detail)))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def read_events(connection: Connection, *, account_id: int | None = None,
                kind: str | None = None) -> list[Event]:
    """The log in the order it was written, optionally of one account or one kind."""
    query = sa.select(events).order_by(events.c.id)
    if account_id is not None:
        query = query.where(events.c.account_id == account_id)
    if kind is not None:
        query = query.where(events.c.kind == kind)
    return [Event(r.id, r.at, r.account_id, r.kind, dict(r.detail))
            for r in connection.execute(query)]
