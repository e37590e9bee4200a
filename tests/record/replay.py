"""The replay of the daily workflow: ``daily`` every session, the plans' orders approved
and filled at the close (a test helper standing in for the broker)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tests.record.daily_data import fill_record, sample_inputs

from driftwise.app.daily import AccountDay, run_daily
from driftwise.config.model import Config
from driftwise.execution.fills import read_fills
from driftwise.record import transaction
from driftwise.record.fills import apply_record_fills
from driftwise.record.imports import import_costs
from driftwise.record.inputs import load_market
from driftwise.record.orders import move_orders, select_orders
from driftwise.record.schema import orders, prices

FEE_USD = "1.25"
"""The broker's fee of each replayed fill, USD."""


def fills_at_close(connection: Connection, plan_id: int, day: dt.date) -> pd.DataFrame:
    """One fill per order of the plan, at the day's recorded close, a fee of
    :data:`FEE_USD`, at 16:00."""
    rows = connection.execute(sa.select(orders).where(orders.c.plan_id == plan_id)
                              .order_by(orders.c.id)).all()
    close = {r.ticker: r.close_usd for r in connection.execute(
        sa.select(prices.c.ticker, prices.c.close_usd).where(prices.c.date == day))}
    frame = pd.DataFrame([{"ticker": o.ticker, "side": o.side, "shares": str(o.shares),
                           "price_usd": str(close[o.ticker]), "fee_usd": FEE_USD,
                           "filled_at": f"{day}T16:00:00", "order_id": o.client_order_id,
                           "exec_id": f"replay-{plan_id}-{o.id}"} for o in rows])
    return read_fills(frame, as_of=f"{day}T23:59:59")


def execute(engine: Engine, account: AccountDay, day: dt.date) -> int:
    """Approve the account's plan of the day and fill every order at the close; the
    number of fills."""
    if account.plan_id is None or account.orders == 0:
        return 0
    plan_id = account.plan_id

    def work(connection: Connection) -> int:
        move_orders(connection, select_orders(connection, plan_id=plan_id), "approved")
        table = fills_at_close(connection, plan_id, day)
        return apply_record_fills(connection, account.account, table).applied

    return transaction(engine, work)


def refresh_costs(engine: Engine, day: dt.date) -> None:
    """The sample's cost inputs measured again on ``day``."""
    costs = sample_inputs().costs
    assert costs is not None
    frame = costs.frame.assign(as_of=pd.Timestamp(day))
    transaction(engine, lambda c: import_costs(c, dataclasses.replace(costs, frame=frame)))


def replay(engine: Engine, config: Config, first: str, last: str,
           accounts: tuple[str, ...] = ("main",)) -> list[tuple[dt.date, list[AccountDay]]]:
    """``daily`` on every session from ``first`` to ``last``, costs measured again on
    each month's first session, every plan's orders filled at the close."""
    fill_record(engine, sample_inputs(costs_as_of="2018-01-02", targets_effective="2020-01-02"),
                accounts)
    with engine.connect() as c:
        market = load_market(c, dt.date.fromisoformat(last))
    sessions = [d.date() for d in market.prices.loc[first:last].index]
    out = []
    month = None
    for day in sessions:
        if day.month != month:
            refresh_costs(engine, day)
            month = day.month
        run = run_daily(engine, config, day, market=market)
        for account in run.accounts:
            execute(engine, account, day)
        out.append((day, list(run.accounts)))
    return out
