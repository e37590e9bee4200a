"""Backtest engine benchmarks (issue 5): print engine time and peak memory.

1. one threshold policy on the sample: 20 assets x 8,313 days (target 20 ms);
2. one threshold policy on 500 synthetic assets x 2,520 days (target 10 ms);
   (drift-threshold batches run in the compiled day loop of driftwise.backtest.compiled)
3. a sweep of N threshold configurations x 500 assets x 2,520 days (target: 1,000
   configurations in 5 s, under 4 GB);
4. (no target) a cost grid on the same market: 20 thresholds x (3 flat cost levels + the
   full model under 3 VIX multiplier sets and 2 impact models) = 180 configurations, one
   batch whose rows are priced with their own cost parameters.

"Per-day inputs" is the one-off market history, here built in full (volatility, cost-model
inputs of every day, calendar; a run builds only what its grid reads), shared by every
configuration and by repeated runs; "engine" is
``run_backtest`` on that history: batching, the day loop, the result. Each case is run
several times and the best and median times are printed (the first run of a process
also pays numba's loading of the compiled kernels). The sweep shares its configurations
among the machine's cores on a local Dask cluster (:mod:`driftwise.backtest.cluster`;
its start is inside the time); its memory is this process's peak RSS (the workers' is
printed by ``dask_scaling.py``).

    python benchmarks/backtest_engine.py [--sweep 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from driftwise.app.sweep import SweepGrid
from driftwise.backtest import cluster
from driftwise.backtest.history import HistorySettings, MarketHistory
from driftwise.calendar import nyse_sessions
from driftwise.config import Config, policies
from driftwise.config.assemble import backtest_configs
from driftwise.costs import ImpactModel
from driftwise.data.loader import load_backtest_inputs
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets
from driftwise.policy.triggers import DayInput

EVERY_INPUT = frozenset(DayInput)


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


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1.0 else f"{seconds:.2f} s"


def timed(label: str, inputs: Inputs, configs: list[Config], target: str,
          repeats: int) -> None:
    """Best and median engine time of ``repeats`` runs, after building the per-day inputs."""
    cache: dict[HistorySettings, MarketHistory] = {}
    start = time.perf_counter()
    backtest_configs(inputs, configs[:1], histories=cache, workers=1)  # builds the history
    for history in cache.values():  # every per-day input, so that only the engine is timed
        history.prepare(EVERY_INPUT)
    built = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = backtest_configs(inputs, configs, histories=cache)
        times.append(time.perf_counter() - start)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    jobs = cluster.job_count(None, len(configs), len(result.tickers), len(result.dates))
    memory = f"peak RSS {own:.2f} GB" + (f" + {jobs} Dask workers" if jobs > 1 else "")
    print(f"{label}: {len(configs)} config(s) x {len(result.tickers)} assets x "
          f"{len(result.dates)} days: engine {_duration(min(times))} best, "
          f"{_duration(float(np.median(times)))} median of {repeats} (target {target}); "
          f"{jobs} process(es); per-day inputs {built:.2f} s once; "
          f"{int(result.rebalanced.sum())} rebalances; {memory}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep", type=int, default=1000, help="configurations in case 3")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case")
    args = parser.parse_args()
    sample = load_backtest_inputs()
    flat = {"costs.flat_cost_bps": 10.0}
    timed("1. sample, threshold 5%", sample, [policies.threshold(0.05)], "20 ms", args.repeats)
    big = synthetic()
    timed("2. synthetic, threshold 5%", big, [policies.threshold(0.05)], "10 ms", args.repeats)
    grid = np.linspace(0.01, 0.20, args.sweep)
    sweep = [policies.threshold(float(h)).with_overrides(flat) for h in grid]
    timed(f"3. sweep of {args.sweep} thresholds", big, sweep, "5 s for 1,000, < 4 GB",
          max(2, args.repeats // 2))
    scalable = {**flat, "constraints.whole_shares": False, "constraints.min_trade_usd": 0.0}
    sweep = [policies.threshold(float(h)).with_overrides(scalable) for h in grid]
    timed("3b. the same in fractional shares, no minimum trade (shared books)", big, sweep,
          "3 s for 1,000, < 4 GB", max(2, args.repeats // 2))
    grid = SweepGrid(thresholds=tuple(float(h) for h in np.linspace(0.01, 0.10, 20)),
                     cost_levels_bps=(5.0, 10.0, 20.0, None),
                     vix_multipliers=((1.0, 1.5, 2.5), (1.0, 1.0, 1.0), (1.0, 2.0, 4.0)),
                     impact_models=(ImpactModel.SQUARE_ROOT, ImpactModel.ALMGREN_2005))
    timed("4. cost grid", big, grid.configs(policies.threshold(0.05)), "none", 1)


if __name__ == "__main__":
    main()
