"""Where the record lives, how to open it, and one transaction at a time.

The record's address, first found wins: the ``--db`` option, the configuration's
``[record] path`` or ``url``, the ``DRIFTWISE_DB`` environment variable, else the per-user
file ``$XDG_DATA_HOME/driftwise/record.sqlite`` (``~/.local/share/driftwise/record.sqlite``).
A value containing ``://`` is a SQLAlchemy URL (``postgresql+psycopg://user@host/db``),
anything else a SQLite file path.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, full
synchronous commits and foreign keys on; every transaction starts with ``BEGIN
IMMEDIATE`` (a read begins deferred), so two writers queue on the lock instead of failing
half-way. PostgreSQL
transactions run SERIALIZABLE; a transaction the server aborts as a serialization
failure or deadlock (or SQLite still busy after its timeout) is retried from the start
(:func:`transaction`).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from driftwise.errors import ConfigError, DataError

ENV_VAR = "DRIFTWISE_DB"
"""Environment variable naming the record (a path or a URL)."""

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another writer's lock, in milliseconds."""

RETRIES = 8
"""Attempts of one transaction that the database aborts for concurrency."""

KILL_HOOK_VAR = "DRIFTWISE_RECORD_KILL_AFTER"
"""Crash testing only: a process with this variable set to N kills itself (SIGKILL)
just before its N-th SQL statement or commit, so a test can stop a command between any
two statements."""

WRITE = "driftwise_write"
"""Execution option of the connections :func:`transaction` opens: they will write."""

T = TypeVar("T")


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user record: ``$XDG_DATA_HOME/driftwise/record.sqlite``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "driftwise" / "record.sqlite"


def resolve_url(option: str | None = None, *, config_path: str | None = None,
                config_url: str | None = None,
                environ: Mapping[str, str] | None = None) -> str:
    """The record's SQLAlchemy URL: the option, the configuration, the environment, else the
    per-user default.

    Raises
    ------
    ConfigError
        Both ``[record] path`` and ``url`` set.
    """
    env = os.environ if environ is None else environ
    if config_path and config_url:
        raise ConfigError("[record]: set path or url, not both")
    for value in (option, config_url or config_path, env.get(ENV_VAR)):
        if value:
            return as_url(value)
    return as_url(str(default_path(env)))


def as_url(value: str) -> str:
    """A SQLAlchemy URL from a URL or a SQLite file path."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def describe(url: str) -> str:
    """The URL as shown to a user (no password)."""
    return sa.make_url(url).render_as_string(hide_password=True)


def open_engine(url: str) -> Engine:
    """An engine on the record at ``url`` (a SQLite file's folder is created).

    Raises
    ------
    ConfigError
        A URL SQLAlchemy cannot parse or whose driver is not installed.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"not a database URL: {url!r} (expected a file path or "
                          "postgresql+psycopg://user@host/database)") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataError("the record's folder cannot be created",
                                file=parsed.database, field="database",
                                expected="a writable folder", found=exc.strerror) from None
        engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif parsed.get_backend_name() == "postgresql":
        try:
            engine = sa.create_engine(parsed, isolation_level="SERIALIZABLE",
                                      pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"the database driver is not installed: {exc.name}") from None
    else:
        raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}: the record "
                          "runs on SQLite or PostgreSQL")
    _install_kill_hook(engine)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # a writer takes the write lock when it begins (a reader upgrading later could fail
    # half-way); a reader begins deferred and never blocks anyone (WAL)
    write = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _install_kill_hook(engine: Engine) -> None:
    limit = os.environ.get(KILL_HOOK_VAR)
    if not limit:
        return
    count = [0]

    def before(*_args: Any) -> None:
        count[0] += 1
        if count[0] >= int(limit):
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", before)


def _retryable(exc: sa.exc.DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in ("40001", "40P01"):  # serialization failure, deadlock
        return True
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work(connection)`` in one transaction, committed when it returns.

    Everything ``work`` writes is committed together or not at all. A transaction the
    database aborts for concurrency is rolled back and ``work`` runs again (at most
    :data:`RETRIES` times), so ``work`` must compute from what it reads.

    Raises
    ------
    DataError
        The database still refused after every attempt, or cannot be reached.
    """
    for attempt in range(RETRIES):
        try:
            with engine.connect() as connection:
                connection.execution_options(**{WRITE: True})
                with connection.begin():
                    return work(connection)
        except sa.exc.OperationalError as exc:
            if not _retryable(exc) or attempt == RETRIES - 1:
                raise DataError("the record cannot be written", file=describe(str(engine.url)),
                                field="database", expected="a reachable, writable database",
                                found=str(exc.orig).strip().splitlines()[0]) from None
        except sa.exc.DBAPIError as exc:
            if not _retryable(exc) or attempt == RETRIES - 1:
                raise
        time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
