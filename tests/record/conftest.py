"""The record's tests run on SQLite and, when a server is given, on PostgreSQL.

``DRIFTWISE_TEST_PG_URL`` (set by ``.ci/run``, which starts a throwaway server) names a
PostgreSQL server where each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from driftwise.record import migrate, open_engine
from driftwise.record.holdings import Snapshot, account_id, current

PG_URL = os.environ.get("DRIFTWISE_TEST_PG_URL")
NO_PG = ("PostgreSQL not tested: DRIFTWISE_TEST_PG_URL is not set (.ci/run starts a "
         "throwaway server; see docs/record.md)")

START = {"AAA": (Decimal("1000"), [("2021-03-01", "600", "30000"), ("2022-06-01", "400", "26000")]),
         "BBB": (Decimal("500.5"), [("2020-01-02", "500.5", "10010.25")]),
         "CCC": (Decimal("2000"), [("2022-01-03", "2000", "80000")])}
START_CASH = Decimal("250000.10")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'record.sqlite'}"
        return
    if not PG_URL:
        pytest.skip(NO_PG)
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"dw_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The record at ``db_url``, migrated."""
    out = open_engine(db_url)
    migrate(out)
    yield out
    out.dispose()


def write_start(folder: Path) -> Path:
    """A lot-level holdings file of :data:`START` and :data:`START_CASH`."""
    rows = [(t, s, a, b) for t, (_, lots) in START.items() for a, s, b in lots]
    frame = pd.DataFrame(rows, columns=["ticker", "shares", "acquired", "cost_basis_usd"])
    frame["market_value_usd"] = ""
    frame.loc[len(frame)] = ["CASH", "", "", "", str(START_CASH)]
    path = folder / "holdings.csv"
    frame.to_csv(path, index=False)
    return path


def write_fills(path: Path, prefix: str, n: int, seed: int, *,
                day: str = "2023-03-01") -> list[dict[str, str]]:
    """``n`` small fills (buys and sales that never sell more than :data:`START` holds
    between them), exec ids ``prefix-i``; returns the rows as text."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        ticker = rng.choice(sorted(START))
        side = rng.choice(["BUY", "SELL"])
        shares = f"{rng.randint(1, 9)}.{rng.randint(0, 99):02d}"
        price = f"{rng.randint(20, 200)}.{rng.randint(0, 9999):04d}"
        fee = f"{rng.randint(0, 5)}.{rng.randint(0, 99):02d}"
        rows.append({"ticker": ticker, "side": side, "shares": shares, "price_usd": price,
                     "fee_usd": fee, "filled_at": f"{day}T{10 + i % 6}:{i % 60:02d}:00",
                     "exec_id": f"{prefix}-{i}"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return rows


def expected(rows: list[dict[str, str]]) -> Snapshot:
    """The oracle: :data:`START` plus the fills, in exact decimals (shares += q,
    cash -= q * price + fee)."""
    held = {t: s for t, (s, _) in START.items()}
    cash = START_CASH
    for r in rows:
        q = Decimal(r["shares"]) * (1 if r["side"] == "BUY" else -1)
        held[r["ticker"]] = held.get(r["ticker"], Decimal(0)) + q
        cash -= q * Decimal(r["price_usd"]) + Decimal(r["fee_usd"])
    return Snapshot(cash, {t: s for t, s in held.items() if s != 0})


def holdings_now(engine: Engine, account: str = "main") -> Snapshot:
    """The account's current holdings."""
    with engine.connect() as connection:
        found = current(connection, account_id(connection, account))
    assert found is not None
    return found
