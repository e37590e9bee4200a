"""Many accounts planned on one day: ``--accounts`` (default 10,000) accounts of
``--holdings`` (30) stocks drawn from the S&P 500 data (``../shared/data``; a synthetic
market of 500 tickers where it is absent), full plans with costs (spread, commission,
impact from the cost file and the volumes), one market read for all.

Times :func:`driftwise.app.batch.plan_accounts` serially, then on a Dask local cluster of
1 and 2 worker processes (``--workers``; the cluster started by the script, within the
time, and given to ``plan_accounts`` by its scheduler's address), checks that every run
gives the serial plans, and prints the CPU time and peak memory of this process and of
the cluster's processes (sampled), and the load average.

    .venv/bin/python benchmarks/accounts.py --accounts 10000
    .venv/bin/python benchmarks/accounts.py --accounts 1000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from driftwise.app.batch import plan_accounts
from driftwise.backtest.cluster import client
from driftwise.calendar import nyse_sessions
from driftwise.config import default_config
from driftwise.data.costs import read_cost_inputs
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FOLDER = DATA / "sp500-daily-ohlcv-alphavantage" / "daily"
DAY = "2021-04-20"
"""The planned day (the S&P 500 files end on 2021-04-21)."""


def market(universe: int, synthetic: bool = False) -> tuple[MarketData, str]:
    """Two years of prices and volumes: the S&P 500 files, else synthetic."""
    if FOLDER.is_dir() and not synthetic:
        from driftwise.data.alphavantage import read_alphavantage_folder

        names = sorted(p.name.split(".")[0] for p in FOLDER.glob("*.csv.gz"))[:universe]
        found = read_alphavantage_folder(FOLDER, tickers=names, start="2019-04-01", end=DAY,
                                         detect_jumps=False)
        prices = found.prices.dropna(axis=1)
        volumes = None if found.volumes is None else found.volumes[prices.columns]
        data = MarketData(prices=prices, volumes=volumes,
                          vix=pd.Series(20.0, index=prices.index))
        return data, f"S&P 500 data ({prices.shape[1]} tickers)"
    rng = np.random.default_rng(0)
    dates = pd.DatetimeIndex(nyse_sessions("2019-04-01", DAY), name="date")
    tickers = pd.Index([f"T{i:03d}" for i in range(universe)], name="ticker")
    returns = rng.normal(0.0003, 0.01, (len(dates), 1)) + rng.normal(
        0.0, 0.015, (len(dates), universe))
    prices = pd.DataFrame(40.0 * np.exp(np.cumsum(returns, axis=0)), index=dates,
                          columns=tickers)
    volumes = pd.DataFrame(rng.uniform(2e5, 2e7, prices.shape), index=dates, columns=tickers)
    return (MarketData(prices=prices, volumes=volumes, vix=pd.Series(20.0, index=dates)),
            f"synthetic ({universe} tickers)")


def book(data: MarketData, accounts: int, holdings: int) -> dict[str, Holdings]:
    """Accounts of ``holdings`` stocks each, drifted from equal weights, USD 0.2-5 M."""
    rng = np.random.default_rng(1)
    last = data.prices.loc[DAY]
    names = np.asarray(data.prices.columns, dtype=object)
    out = {}
    for a in range(accounts):
        picked = sorted(rng.choice(names, size=holdings, replace=False))
        nav = float(rng.uniform(2e5, 5e6))
        weights = rng.dirichlet(np.full(holdings, 15.0)) * 0.98
        shares = np.floor(weights * nav / last[picked].to_numpy())
        out[f"acct{a:05d}"] = Holdings(
            shares=pd.Series(shares, index=pd.Index(picked, name="ticker"), name="shares"),
            cash_usd=0.02 * nav)
    return out


def shared_inputs(data: MarketData, first: Holdings) -> Inputs:
    """The inputs every account shares: an equal-weight model of the whole universe would
    trade every stock, so the model is each account's own tickers at equal weight (see
    ``shared_targets=False``: the default target over its holdings)."""
    tickers = pd.Index(data.prices.columns, name="ticker")
    costs = read_cost_inputs(pd.DataFrame({"ticker": tickers, "spread_bps": 3.0,
                                           "commission_bps": 1.0, "as_of": DAY}))
    master = SecurityMaster(frame=pd.DataFrame({
        "sector": [f"S{i % 11}" for i in range(len(tickers))], "asset_class": "Equity",
        "market_cap_usd": 1e10}, index=tickers))
    return Inputs(holdings=first,
                  targets=Targets(level=TargetLevel.ASSET,
                                  weights=pd.Series(0.98 / len(first.shares),
                                                    index=first.shares.index),
                                  cash_weight=0.02),
                  master=master, market=data, last_rebalance=pd.Timestamp("2021-01-04"),
                  costs=costs)


def peak_mb() -> float:
    """Peak resident memory of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class WorkerMemory:
    """The largest resident memory of this process's child processes (the local
    cluster's nannies and workers), summed, sampled every half second, and their CPU
    time (user + system, each process's last sample, summed); and the largest resident
    memory of this process (the client, with the scheduler) over the same samples."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self.client_peak_mb = 0.0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @property
    def cpu_s(self) -> float:
        """CPU seconds of the child processes, as last sampled."""
        return sum(self._cpu.values())

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.5):
            total = 0
            try:
                children = me.children(recursive=True)
            except psutil.Error:  # a process ended while the tree was read
                continue
            for child in children:
                try:
                    total += child.memory_info().rss
                    times = child.cpu_times()
                    self._cpu[child.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self.client_peak_mb = max(self.client_peak_mb, me.memory_info().rss / 2**20)

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--holdings", type=int, default=30)
    parser.add_argument("--universe", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2],
                        help="Dask local cluster sizes to time (none: serial only)")
    parser.add_argument("--synthetic", action="store_true",
                        help="a synthetic market even where the S&P 500 data is present")
    parser.add_argument("--no-schedule", action="store_true",
                        help="plans without their execution schedules (child orders)")
    args = parser.parse_args()
    schedule = not args.no_schedule
    start = time.perf_counter()
    data, where = market(args.universe, args.synthetic)
    books = book(data, args.accounts, args.holdings)
    inputs = shared_inputs(data, next(iter(books.values())))
    config = default_config().with_overrides({"portfolio.default_target": "equal"})
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.1f}")
    print(f"{args.accounts} accounts x {args.holdings} holdings from {where}, "
          f"{len(data.prices)} sessions, planned on {DAY} (inputs built in "
          f"{time.perf_counter() - start:.1f} s)")
    plan_accounts(inputs, dict(list(books.items())[:2]), config, as_of=DAY,
                  shared_targets=False,
                  with_schedule=schedule)  # warm up: imports, the calendar, compiled kernels
    start, cpu = time.perf_counter(), time.process_time()
    serial = plan_accounts(inputs, books, config, as_of=DAY, shared_targets=False,
                           with_schedule=schedule)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    summary = serial.summary()
    del serial  # the client of a cluster run holds its own plans only
    print(f"serial: {took:.1f} s ({1e3 * took / args.accounts:.1f} ms per account; CPU "
          f"{cpu:.1f} s, {1e3 * cpu / args.accounts:.1f} ms per account), "
          f"{int(summary['needs_action'].sum())} need action, "
          f"{int(summary['trades'].sum())} trades; peak memory {peak_mb():.0f} MB")
    for workers in args.workers:
        start, cpu = time.perf_counter(), time.process_time()
        with WorkerMemory() as children, client(workers, None) as local:
            # the local cluster started here (timed), its scheduler's address given:
            # ``workers=1`` alone would plan in this process, without Dask
            run = plan_accounts(inputs, books, config, as_of=DAY, shared_targets=False,
                                scheduler=local.scheduler_info()["address"],
                                with_schedule=schedule)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        same = run.summary().equals(summary)
        del run
        print(f"Dask local cluster, {workers} worker(s): {took:.1f} s (cluster start "
              f"included; {1e3 * took / args.accounts:.1f} ms per account; CPU of this "
              f"process {cpu:.1f} s, of the cluster's processes {children.cpu_s:.1f} s: "
              f"{1e3 * (cpu + children.cpu_s) / args.accounts:.1f} ms per account in all), "
              f"load average (1 min) {os.getloadavg()[0]:.1f}, same plans as "
              f"serial: {same}; peak memory of this process during the run "
              f"{children.client_peak_mb:.0f} MB (sampled; {peak_mb():.0f} MB since it "
              f"started), of the cluster's processes together {children.peak_mb:.0f} MB")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
