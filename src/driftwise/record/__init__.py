"""The portfolio record: accounts, holdings and lots over time, targets, the security
master, cost snapshots, prices, plans, orders, fills and an append-only event log.

One SQLAlchemy Core schema (:mod:`.schema`) on SQLite (one file, the default) or
PostgreSQL (many users); Alembic migrations ship in :mod:`.migrations` and run with
:func:`migrate` (no ``alembic.ini``). Every change to the record is one transaction
(:func:`~driftwise.record.db.transaction`): an import, a plan with its orders, an
approval, a fills run.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from driftwise.record.db import describe, open_engine, resolve_url, transaction
from driftwise.record.events import Event, append_event, read_events
from driftwise.record.holdings import Changes, Snapshot

MIGRATIONS = Path(__file__).with_name("migrations")
"""The Alembic script folder shipped with the package."""


def _alembic_config(connection: Connection) -> object:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest schema revision this version of driftwise ships."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the record (None: an empty database)."""
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext

    from driftwise.errors import DataError

    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except sa.exc.DBAPIError as exc:
        raise DataError("the record cannot be reached", file=describe(str(engine.url)),
                        field="database", expected="a reachable driftwise database",
                        found=str(exc.orig).strip().splitlines()[0]) from None


def migrate(engine: Engine) -> tuple[str | None, str]:
    """Create the record or bring its schema to the newest revision, in one transaction.

    Idempotent: a record already at the newest revision is left as it is. Returns the
    revision before and after.
    """
    from alembic import command

    before = current_revision(engine)
    head = head_revision()
    if before == head:
        return before, head

    def run(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), "head")  # type: ignore[arg-type]
        append_event(connection, "migrate", {"from": before, "to": head})

    transaction(engine, run)
    return before, head


def open_record(url: str) -> Engine:
    """An engine on a record already at the newest schema.

    Raises
    ------
    DataError
        The database has no record yet, or an older schema (run ``driftwise init``).
    """
    from driftwise.errors import DataError

    engine = open_engine(url)
    found = current_revision(engine)
    if found != head_revision():
        raise DataError("the record is not ready", file=describe(url), field="schema",
                        expected="run driftwise init (creates or migrates the record)",
                        found="no record" if found is None else f"schema {found}")
    return engine


__all__ = ["Changes", "Event", "Snapshot", "append_event",
           "current_revision", "describe", "head_revision", "migrate", "open_engine",
           "open_record", "read_events", "resolve_url", "transaction"]
