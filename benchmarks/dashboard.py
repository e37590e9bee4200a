"""The accounts dashboard on a large book: read the record, render the page.

Writes a SQLite record of ``--accounts`` accounts (default 2,000), each with one stored
plan (random decision and figures) and ``--orders`` orders (default 30, random statuses),
then times :func:`driftwise.record.book_view.read_book` and the page's rendering, and
prints the page's size. Run: ``.venv/bin/python benchmarks/dashboard.py [--accounts N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.record import migrate, open_engine, transaction
from driftwise.record.holdings import account_id
from driftwise.record.orders import PlanRecord, store_plan
from driftwise.record.schema import orders
from driftwise.report.dashboard import render_dashboard

DECISIONS = ("skip", "skip", "skip", "rebalance", "partial", "delay")
STATUSES = ("proposed", "approved", "sent", "filled", "cancelled")


def build(url: str, n_accounts: int, n_orders: int) -> None:
    rng = random.Random(0)

    def work(connection: Connection) -> None:
        for i in range(n_accounts):
            owner = account_id(connection, f"acct-{i:05d}", create=True)
            decision = rng.choice(DECISIONS)
            drift = rng.uniform(0.0, 0.12)
            cost = 0.0 if decision == "skip" else rng.uniform(100, 5000)
            plan = PlanRecord(
                as_of=dt.date(2021, 4, 21), decision=decision, delay_until=None,
                rule="threshold 5%", reasons=("synthetic",), fingerprints={"inputs": "record"},
                configuration="", nav_usd=rng.uniform(1e5, 1e7),
                metrics={"drift": drift, "te": drift / 5, "cost_usd": cost,
                         "cost_bps": cost / 1e2, "tax_usd": rng.uniform(0, 2000),
                         "cost_benefit_ratio": rng.uniform(0.1, 3.0)})
            count = 0 if decision == "skip" else n_orders
            frame = pd.DataFrame([{"order_id": f"{i}-{k}", "ticker": f"T{k:03d}",
                                   "side": rng.choice(("buy", "sell")),
                                   "shares": Decimal(rng.randint(1, 900)),
                                   "order_type": "market", "limit_price_usd": None}
                                  for k in range(count)],
                                 columns=["order_id", "ticker", "side", "shares",
                                          "order_type", "limit_price_usd"])
            _, ids = store_plan(connection, owner, plan, frame)
            for status in STATUSES[1:]:
                chosen = [j for j in ids if rng.random() < 0.2]
                if chosen:
                    connection.execute(orders.update().where(orders.c.id.in_(chosen))
                                       .values(status=status))

    engine = open_engine(url)
    migrate(engine)
    transaction(engine, work)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dashboard-"))
    url = f"sqlite:///{folder / 'record.sqlite'}"
    start = time.perf_counter()
    build(url, args.accounts, args.orders)
    print(f"record of {args.accounts:,} accounts built in {time.perf_counter() - start:.1f} s")
    from driftwise.record.book_view import read_book

    engine = open_engine(url)
    start = time.perf_counter()
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
        view = read_book(connection)
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    page = render_dashboard(view)
    render_s = time.perf_counter() - start
    print(f"read_book: {read_s:.2f} s ({count:,} orders); render: {render_s:.2f} s; page "
          f"{len(page.encode()) / 1e6:.1f} MB; {int(view.accounts['needs_action'].sum()):,} "
          "accounts need action (timings under load: noisy)")


if __name__ == "__main__":
    main()
