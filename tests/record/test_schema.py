"""The schema: migrations create exactly the tables the code describes, idempotently;
exact decimals; the event log refuses changes."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

import driftwise.record
from driftwise.record import current_revision, head_revision, migrate, open_engine
from driftwise.record.events import append_event, read_events
from driftwise.record.schema import Exact, metadata


def test_migrate_creates_then_leaves_the_record_alone(db_url: str) -> None:
    engine = open_engine(db_url)
    assert current_revision(engine) is None
    assert migrate(engine) == (None, head_revision())
    assert migrate(engine) == (head_revision(), head_revision())
    with engine.connect() as connection:
        kinds = [e.kind for e in read_events(connection)]
    assert kinds == ["migrate"]  # the second run wrote nothing
    engine.dispose()


def test_the_migrated_schema_is_the_code_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_the_migrations_ship_inside_the_package() -> None:
    folder = Path(driftwise.record.__file__).with_name("migrations")
    assert (folder / "env.py").is_file()
    assert list((folder / "versions").glob("0001_*.py"))


def test_exact_columns_refuse_floats(engine: Engine) -> None:
    table = sa.Table("exact_probe", sa.MetaData(), sa.Column("x", Exact))
    with engine.begin() as connection:
        table.create(connection)
        with pytest.raises(sa.exc.StatementError, match="Decimal"):
            connection.execute(table.insert().values(x=0.1))


@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=10,
                            min_value=Decimal("-1e15"), max_value=Decimal("1e15")),
                min_size=1, max_size=20))
def test_exact_columns_return_what_they_stored(values: list[Decimal]) -> None:
    engine = open_engine("sqlite://")
    table = sa.Table("exact_probe", sa.MetaData(), sa.Column("i", sa.Integer),
                     sa.Column("x", Exact))
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), [{"i": i, "x": v} for i, v in enumerate(values)])
        back = [r.x for r in connection.execute(sa.select(table).order_by(table.c.i))]
    assert back == values
    assert all(a.as_tuple() == b.as_tuple() or a == b for a, b in zip(back, values, strict=True))


def test_money_and_share_columns_are_never_floats() -> None:
    for table in metadata.tables.values():
        for column in table.columns:
            assert not isinstance(column.type, sa.Float), f"{table.name}.{column.name}"
            if column.name.endswith(("_usd", "_bps", "_annual", "shares")):
                assert isinstance(column.type, Exact), f"{table.name}.{column.name}"


def test_the_database_refuses_to_change_the_event_log(engine: Engine) -> None:
    with engine.begin() as connection:
        append_event(connection, "probe", {"n": 1})
    for statement in ("UPDATE events SET kind = 'forged'", "DELETE FROM events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
            c.exec_driver_sql(statement)
    with engine.connect() as connection:
        assert [e.kind for e in read_events(connection)] == ["migrate", "probe"]


def test_no_code_updates_or_deletes_the_event_log() -> None:
    """Every ``events.update()`` / ``events.delete()`` / ``delete(events)`` in the package
    would be a way around the log's rule: there is none."""
    src = Path(driftwise.record.__file__).parents[1]
    offenders = []
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("update", "delete")
                    and isinstance(node.value, ast.Name) and node.value.id == "events"):
                offenders.append(f"{path.name}:{node.lineno}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("update", "delete") and node.args
                    and isinstance(node.args[0], ast.Name) and node.args[0].id == "events"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_an_older_record_is_migrated_and_keeps_its_data(db_url: str) -> None:
    """A record at the first schema, with an account in it, brought to the newest one."""
    from alembic import command

    from driftwise.record import _alembic_config, transaction

    engine = open_engine(db_url)
    transaction(engine, lambda c: command.upgrade(_alembic_config(c), "0001"))
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO accounts (name, created_at) VALUES ('kept', CURRENT_TIMESTAMP)")
        assert not sa.inspect(connection).has_table("market_series")
    assert migrate(engine) == ("0001", head_revision())
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT name FROM accounts").scalar() == "kept"
        assert sa.inspect(connection).has_table("market_series")
        assert [e.detail for e in read_events(connection)] == [
            {"from": "0001", "to": head_revision()}]
    engine.dispose()
