"""``driftwise daily`` on many accounts: parent orders (the child-order schedule on
request), batches equal to one account at a time, an account changed between its read
and its write planned again, and a Dask local cluster giving the serial run's plans."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tests.record.daily_data import day, fill_record, sample_inputs

from driftwise.app import daily
from driftwise.app.daily import ORDER_COLUMNS, parent_orders, run_daily
from driftwise.app.plan import make_plan
from driftwise.config import default_config
from driftwise.data.model import Holdings, Inputs
from driftwise.execution import orders_frame
from driftwise.record import imports, transaction
from driftwise.record.holdings import account_id
from driftwise.record.schema import orders, plans

DAY = "2022-12-28"
NAMES = ("acct-a", "acct-b", "acct-c", "acct-d", "acct-e")


def _varied(inputs: Inputs, k: int) -> Holdings:
    """The sample's holdings with every other position scaled by a factor of the account
    (so that each account drifts differently)."""
    shares = inputs.holdings.shares.copy()
    shares.iloc[k % 2::2] *= 1.0 + 0.15 * (k + 1)
    return Holdings(shares=shares.round(), cash_usd=inputs.holdings.cash_usd * (1 + k / 10))


def _fill_book(engine: Engine) -> Engine:
    """Five accounts holding the sample, four of them scaled differently."""
    inputs = sample_inputs()
    fill_record(engine, inputs, NAMES)

    def vary(connection: Connection) -> None:
        for k, name in enumerate(NAMES[1:]):
            imports.import_holdings(connection, account_id(connection, name),
                                    _varied(inputs, k))

    transaction(engine, vary)
    return engine


@pytest.fixture
def book(engine: Engine) -> Engine:
    """The record holding the five accounts."""
    return _fill_book(engine)


def _fresh(path: Any) -> Engine:
    from driftwise.record import migrate, open_engine

    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    return _fill_book(engine)


def _stored(engine: Engine) -> dict[str, Any]:
    """Each account's plan and orders as stored (without ids and times)."""
    with engine.connect() as c:
        names = dict(c.execute(sa.text("SELECT id, name FROM accounts")).all())
        out: dict[str, Any] = {}
        for p in c.execute(sa.select(plans).order_by(plans.c.id)):
            rows = c.execute(sa.select(orders.c.client_order_id, orders.c.ticker,
                                       orders.c.side, orders.c.shares, orders.c.order_type,
                                       orders.c.status)
                             .where(orders.c.plan_id == p.id).order_by(orders.c.id)).all()
            out[names[p.account_id]] = (p.decision, p.reasons, p.metrics, p.nav_usd,
                                        p.fingerprints, [tuple(r) for r in rows])
    return out


def test_daily_stores_one_parent_order_per_traded_ticker(book: Engine) -> None:
    config = default_config()
    run = run_daily(book, config, day(DAY))
    inputs = sample_inputs()
    plan = make_plan(inputs, config, as_of=DAY)
    first = next(a for a in run.accounts if a.account == NAMES[0])
    assert first.decision == "rebalance" and first.orders == len(plan.trades) > 0
    with book.connect() as c:
        rows = c.execute(sa.select(orders).where(orders.c.plan_id == first.plan_id)
                         .order_by(orders.c.id)).all()
    got = {r.ticker: (r.side, float(r.shares), r.order_type, r.status) for r in rows}
    want = {str(t): (str(r.side), float(r.shares), "MARKET", "proposed")
            for t, r in plan.trades.iterrows()}
    assert got == want


def test_the_schedule_on_request_stores_its_child_orders(book: Engine) -> None:
    config = default_config()
    run = run_daily(book, config, day(DAY), names=[NAMES[0]], schedule=True)
    (only,) = run.accounts
    plan = make_plan(sample_inputs(), config, as_of=DAY)
    assert plan.schedule is not None
    child = orders_frame(plan.schedule)
    assert only.orders == len(child) > len(plan.trades)
    with book.connect() as c:
        ids = c.execute(sa.select(orders.c.client_order_id).where(
            orders.c.plan_id == only.plan_id).order_by(orders.c.id)).scalars().all()
    assert list(ids) == child["order_id"].tolist()


@pytest.mark.parametrize("held_aaa", [100.0, 40.0, 0.0, -10.0])
def test_parent_orders_equal_the_trade_list_orders(held_aaa: float) -> None:
    """The direct build equals ``orders_frame`` on a trade list, a sale crossing zero
    (split in a sale and a short sale) included."""
    trades = pd.DataFrame({"ticker": ["AAA", "BBB", "CCC"], "side": ["SELL", "BUY", "SELL"],
                           "shares": [60.0, 12.5, 3.0]})
    held = pd.Series({"AAA": held_aaa, "BBB": 0.0, "CCC": 3.0})
    want = orders_frame(trades, day=dt.date(2022, 12, 28), position_shares=held)
    got = parent_orders(trades, dt.date(2022, 12, 28), held)
    pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                  want[ORDER_COLUMNS].reset_index(drop=True),
                                  check_dtype=False)


def test_batches_store_what_one_account_at_a_time_stores(db_url: str, tmp_path: Any) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("compared on SQLite (two records)")
    stored = []
    for n, batch in enumerate((1, 2, 50)):
        engine = _fresh(tmp_path / f"r{n}.sqlite")
        run_daily(engine, default_config(), day(DAY), batch=batch)
        stored.append(_stored(engine))
        engine.dispose()
    assert stored[0] == stored[1] == stored[2]
    assert len(stored[0]) == len(NAMES)
    drifts = {v[2]["drift"] for v in stored[0].values()}
    assert len(drifts) > 1  # the accounts differ


def test_an_account_changed_after_its_read_is_planned_again(
        book: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fill (a new holdings snapshot) lands between the batch's read and its write:
    the stored plan is the one of the new holdings, never the stale one."""
    inputs = sample_inputs()
    moved = _varied(inputs, 7)
    real = daily.plan_task
    done: list[bool] = []

    def meddle(shared: Any, item: Any) -> Any:
        if not done:
            done.append(True)
            transaction(book, lambda c: imports.import_holdings(
                c, account_id(c, NAMES[0]), moved))
        return real(shared, item)

    monkeypatch.setattr(daily, "plan_task", meddle)
    run = run_daily(book, default_config(), day(DAY))
    first = next(a for a in run.accounts if a.account == NAMES[0])
    fresh = make_plan(dataclasses.replace(inputs, holdings=moved), default_config(),
                      as_of=DAY)
    stale = make_plan(inputs, default_config(), as_of=DAY)
    assert fresh.before["drift"] != stale.before["drift"]
    assert first.metrics["drift"] == pytest.approx(fresh.before["drift"], rel=0, abs=0)
    with book.connect() as c:
        latest = c.execute(sa.text("SELECT max(id) FROM holdings_snapshots WHERE account_id"
                                   " = :a"), {"a": account_id(c, NAMES[0])}).scalar_one()
        stored = c.execute(sa.select(plans.c.fingerprints).where(
            plans.c.id == first.plan_id)).scalar_one()
    assert stored["holdings_snapshot"] == latest


def test_a_local_dask_cluster_stores_the_serial_plans(db_url: str, tmp_path: Any) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("compared on SQLite (two records)")
    stored = []
    for n, workers in enumerate((1, 2)):
        engine = _fresh(tmp_path / f"w{n}.sqlite")
        run_daily(engine, default_config(), day(DAY), workers=workers, batch=2)
        stored.append(_stored(engine))
        engine.dispose()
    assert stored[0] == stored[1]
    assert np.isfinite([v[2]["drift"] for v in stored[0].values()]).all()
