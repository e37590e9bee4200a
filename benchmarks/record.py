"""The portfolio record: how long imports and fills take, and its size per account-year.

Builds a SQLite record (or the database of ``--db``) with ``--accounts`` accounts of
``--holdings`` lot-level positions, then simulates a year per account: ``--rebalances``
fills runs of one fill per position, each its own transaction as ``driftwise fills
--record`` runs it. Prints the time per import and per fills run, and the file's size
per account-year (SQLite only).

    .venv/bin/python benchmarks/record.py --accounts 200

With ``--daily``: ``driftwise daily`` (:func:`driftwise.app.daily.run_daily`) on
``--accounts`` accounts of ``--holdings`` positions each, drawn from a synthetic market of
``--universe`` tickers over two years (prices, volumes, VIX, costs, equal targets), on
the last day: the whole run timed (the market read once, then the accounts in batches:
read, planned, and stored with their parent orders and events in one transaction per
batch), and the plans per second. ``--workers N`` plans on a Dask local cluster of N
processes (one task per account, or per household with ``--household-size K``: its
accounts planned together); ``--schedule`` stores each plan's child orders instead of
parent orders.

    .venv/bin/python benchmarks/record.py --daily --accounts 1000
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--daily", action="store_true", help="time driftwise daily")
    parser.add_argument("--household-size", type=int, default=0,
                        help="daily: accounts grouped in households of this many, the first "
                        "of each tax-deferred (0: no households)")
    parser.add_argument("--universe", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1, help="daily: Dask local "
                        "cluster processes (1: this process)")
    parser.add_argument("--schedule", action="store_true", help="daily: store the child "
                        "orders of each plan's execution schedule")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="daily: profile the run (cProfile, CPU clock) and print its N "
                        "functions of most cumulative time")
    args = parser.parse_args()
    if args.daily:
        daily(args)
        return
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


def daily(args: argparse.Namespace) -> None:
    """Time ``daily`` on a synthetic record."""
    import numpy as np

    from driftwise.app.daily import run_daily
    from driftwise.calendar import nyse_sessions
    from driftwise.config import default_config
    from driftwise.data.costs import CostFile
    from driftwise.data.model import Holdings, MarketData, TargetLevel, Targets
    from driftwise.record import imports

    folder = Path(tempfile.mkdtemp())
    path = folder / "record.sqlite"
    url = args.db or as_url(str(path))
    engine = open_engine(url)
    migrate(engine)
    rng = np.random.default_rng(1)
    days = pd.DatetimeIndex(nyse_sessions("2021-01-04", "2022-12-30"), name="date")
    names = [f"T{i:03d}" for i in range(args.universe)]
    returns = rng.normal(0.0003, 0.015, size=(len(days), len(names)))
    closes = pd.DataFrame(50.0 * np.exp(np.cumsum(returns, axis=0)).round(4), index=days,
                          columns=names).round(2)
    volumes = pd.DataFrame(rng.integers(2_000_000, 9_000_000, size=closes.shape),
                           index=days, columns=names).astype(float)
    vix = pd.Series(18.0 + 4.0 * np.sin(np.arange(len(days)) / 30.0), index=days,
                    name="vix").round(2)
    market = MarketData(prices=closes, volumes=volumes, vix=vix)
    cost_frame = pd.DataFrame({"spread_bps": 2.0, "commission_bps": 0.5,
                               "commission_per_share_usd": 0.0, "min_ticket_usd": 0.0,
                               "borrow_bps_annual": np.nan, "as_of": days[-1]},
                              index=pd.Index(names, name="ticker"))
    build = time.perf_counter()

    def fill(c: object) -> None:
        imports.import_prices(c, market)  # type: ignore[arg-type]
        imports.import_series(c, "vix", vix)  # type: ignore[arg-type]
        imports.import_costs(c, CostFile(cost_frame))  # type: ignore[arg-type]
        for a in range(args.accounts):
            picked = sorted(rng.choice(names, size=args.holdings, replace=False))
            last = closes.iloc[-1][picked]
            weights = rng.dirichlet(np.full(args.holdings, 20.0))
            shares = (0.98 * 1_000_000 * weights / last.to_numpy()).round()
            owner = account_id(c, f"acct{a:04d}", create=True)  # type: ignore[arg-type]
            imports.import_holdings(c, owner, Holdings(  # type: ignore[arg-type]
                shares=pd.Series(shares, index=pd.Index(picked, name="ticker")),
                cash_usd=20_000.0))
            imports.import_targets(c, owner, Targets(  # type: ignore[arg-type]
                level=TargetLevel.ASSET,
                weights=pd.Series(1.0 / args.holdings, index=pd.Index(picked, name="ticker")),
                cash_weight=0.0))

    transaction(engine, fill)  # type: ignore[arg-type]
    if args.household_size > 0:
        from driftwise.data.accounts import read_account_file
        from driftwise.record.accounts import import_accounts

        size = args.household_size
        book = pd.DataFrame({
            "account": [f"acct{a:04d}" for a in range(args.accounts)],
            "household": [f"h{a // size:04d}" for a in range(args.accounts)],
            "tax_status": ["tax_deferred" if a % size == 0 else "taxable"
                           for a in range(args.accounts)]})
        found = read_account_file(book)
        transaction(engine, lambda c: import_accounts(c, found))
    built = time.perf_counter() - build
    load = os.getloadavg()[0]
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    start, cpu = time.perf_counter(), time.process_time()
    run = run_daily(engine, default_config(), days[-1].date(), workers=args.workers,
                    schedule=args.schedule)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(args.profile)
        stats.print_stats(r"daily\.py|record/|load_market")  # this process's own parts
    decided = pd.Series([a.decision for a in run.accounts]).value_counts().to_dict()
    print(f"daily: {args.accounts} accounts x {args.holdings} holdings from {args.universe} "
          f"tickers x {len(days)} sessions ({url.split(':')[0]}; the record built in "
          f"{built:.0f} s)")
    kind = "child orders (--schedule)" if args.schedule else "parent orders"
    print(f"daily: {took:.1f} s ({1e3 * took / args.accounts:.0f} ms per account; "
          f"target < 60 s for 1,000; {args.workers} process(es)), decisions {decided}, "
          f"{sum(a.orders for a in run.accounts)} {kind} proposed")
    print(f"daily: CPU {cpu:.1f} s of this process ({1e3 * cpu / args.accounts:.0f} ms per "
          f"account)" + (f"; households of {args.household_size}" if args.household_size
                         else "")
          + f"; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    if args.db is None:
        size = path.stat().st_size + sum(p.stat().st_size for p in folder.glob("*.sqlite-*"))
        print(f"record size after the run: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
