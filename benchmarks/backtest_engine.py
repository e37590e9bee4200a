"""Backtest engine benchmarks (issue 5): print engine time and peak memory.

1. one threshold policy on the sample: 20 assets x 8,313 days (target 20 ms);
2. one threshold policy on 500 synthetic assets x 2,520 days (target 10 ms);
3. a sweep of N threshold configurations x 500 assets x 2,520 days (target: 1,000
   configurations in 5 s, under 4 GB).

"History" is the one-off per-day market inputs (volatility, cost-model estimates,
calendar) shared by every configuration; "engine" is the day loop over configurations.

    python benchmarks/backtest_engine.py [--sweep 1000]

Note on memory allocation: glibc's malloc hands large temporaries back to the OS and
faults them in again on the next allocation. The engine reuses its largest buffers
itself (the day's weights, the cost model's ``out=`` buffers), so tuning malloc, e.g.
``MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824``, no longer
changes the figures much (1,000 configurations: about 11 s either way; before the
buffers were reused, 17.0 s default vs 12.3 s tuned). It is a note for measurements, not
a fix.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from driftwise.backtest import policies
from driftwise.backtest.engine import run_backtest
from driftwise.backtest.history import HistorySettings, MarketHistory
from driftwise.calendar import nyse_sessions
from driftwise.config import Config
from driftwise.data.loader import load_backtest_inputs
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets


def synthetic(n_assets: int = 500, n_days: int = 2520, seed: int = 0) -> Inputs:
    rng = np.random.default_rng(seed)
    dates = nyse_sessions("2010-01-04", "2022-12-30")[:n_days]
    common = rng.normal(0.0003, 0.01, (n_days, 1))
    prices = 50 * np.exp(np.cumsum(common + rng.normal(0, 0.015, (n_days, n_assets)), axis=0))
    tickers = pd.Index([f"T{i:03d}" for i in range(n_assets)], name="ticker")
    frame = pd.DataFrame(prices, index=pd.DatetimeIndex(dates, name="date"), columns=tickers)
    volumes = pd.DataFrame(rng.uniform(1e6, 1e7, (n_days, n_assets)), index=frame.index,
                           columns=tickers)
    weights = pd.Series(1.0 / n_assets, index=tickers)
    return Inputs(
        holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=0.0),
        targets=Targets(level=TargetLevel.ASSET, weights=weights,
                        band_abs=pd.Series(np.nan, index=tickers),
                        band_rel=pd.Series(np.nan, index=tickers)),
        master=SecurityMaster.empty(),
        market=MarketData(prices=frame, volumes=volumes, vix=pd.Series(18.0, index=frame.index)))


def timed(label: str, inputs: Inputs, configs: list[Config], target: str) -> None:
    cache: dict[HistorySettings, MarketHistory] = {}
    start = time.perf_counter()
    run_backtest(inputs, configs[:1], histories=cache)  # builds the per-day inputs once
    built = time.perf_counter() - start
    start = time.perf_counter()
    result = run_backtest(inputs, configs, histories=cache)
    engine = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    assets = len(result.tickers)
    print(f"{label}: {len(configs)} config(s) x {assets} assets x {len(result.dates)} days: "
          f"engine {engine:.3f} s (target {target}), per-day inputs {built:.2f} s once; "
          f"{int(result.rebalanced.sum())} rebalances; peak RSS {peak_gb:.2f} GB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep", type=int, default=1000, help="configurations in case 3")
    args = parser.parse_args()
    sample = load_backtest_inputs()
    flat = {"costs.flat_cost_bps": 10.0}
    timed("1. sample, threshold 5%", sample, [policies.threshold(0.05)], "20 ms")
    big = synthetic()
    timed("2. synthetic, threshold 5%", big, [policies.threshold(0.05)], "10 ms")
    grid = np.linspace(0.01, 0.20, args.sweep)
    sweep = [policies.threshold(float(h)).with_overrides(flat) for h in grid]
    timed(f"3. sweep of {args.sweep} thresholds", big, sweep, "5 s for 1,000, < 4 GB")


if __name__ == "__main__":
    main()
