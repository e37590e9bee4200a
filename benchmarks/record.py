"""The portfolio record: how long imports and fills take, and its size per account-year.

Builds a SQLite record (or the database of ``--db``) with ``--accounts`` accounts of
``--holdings`` lot-level positions, then simulates a year per account: ``--rebalances``
fills runs of one fill per position, each its own transaction as ``driftwise fills
--record`` runs it. Prints the time per import and per fills run, and the file's size
per account-year (SQLite only).

    .venv/bin/python benchmarks/record.py --accounts 200
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

from driftwise.data.holdings import read_holdings
from driftwise.execution import read_fills
from driftwise.record import migrate, open_engine, transaction
from driftwise.record.db import as_url
from driftwise.record.fills import apply_record_fills
from driftwise.record.holdings import account_id
from driftwise.record.imports import import_holdings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--holdings", type=int, default=30)
    parser.add_argument("--rebalances", type=int, default=12)
    parser.add_argument("--db", default=None, help="a database URL (default: a temporary "
                        "SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    path = folder / "record.sqlite"
    url = args.db or as_url(str(path))
    engine = open_engine(url)
    migrate(engine)
    rng = random.Random(1)
    tickers = [f"T{i:03d}" for i in range(args.holdings)]
    lots = pd.DataFrame({"ticker": tickers, "shares": [1000 + i for i in range(len(tickers))],
                         "acquired": "2022-01-03",
                         "cost_basis_usd": [50_000.0 + i for i in range(len(tickers))]})
    lots.loc[len(lots)] = ["CASH", None, None, None]
    lots["market_value_usd"] = [None] * len(tickers) + [1_000_000.0]
    lots.to_csv(folder / "h.csv", index=False)
    holdings = read_holdings(folder / "h.csv")
    start = time.perf_counter()
    for a in range(args.accounts):
        transaction(engine, lambda c, a=a: import_holdings(
            c, account_id(c, f"acct{a}", create=True), holdings))
    imports_s = time.perf_counter() - start
    tables = []
    for r in range(args.rebalances):
        rows = [{"ticker": t, "side": rng.choice(["BUY", "SELL"]),
                 "shares": rng.randint(1, 50), "price_usd": round(rng.uniform(20, 200), 4),
                 "fee_usd": 1.0, "filled_at": f"2023-{r + 1:02d}-15T10:{i % 60:02d}:00",
                 "exec_id": f"R{r}-{i}"} for i, t in enumerate(tickers)]
        pd.DataFrame(rows).to_csv(folder / f"f{r}.csv", index=False)
        tables.append(read_fills(folder / f"f{r}.csv"))
    start = time.perf_counter()
    runs = 0
    for a in range(args.accounts):
        for r, table in enumerate(tables):
            ids = table.copy()
            ids["exec_id"] = [f"A{a}-R{r}-{i}" for i in range(len(ids))]
            ids.attrs.update(table.attrs)
            transaction(engine, lambda c, a=a, t=ids: apply_record_fills(c, f"acct{a}", t))
            runs += 1
    fills_s = time.perf_counter() - start
    engine.dispose()
    print(f"{args.accounts} accounts x {args.holdings} lot-level positions, "
          f"{args.rebalances} fills runs a year each ({url.split(':')[0]})")
    print(f"import: {1e3 * imports_s / args.accounts:.1f} ms per account")
    print(f"fills --record: {1e3 * fills_s / runs:.1f} ms per run of {args.holdings} fills")
    if args.db is None:
        size = path.stat().st_size + sum(p.stat().st_size for p in folder.glob("*.sqlite-*"))
        print(f"record size: {size / 1e6:.1f} MB, {size / 1e3 / args.accounts:.0f} kB per "
              "account-year")


if __name__ == "__main__":
    main()
