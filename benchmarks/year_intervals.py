"""The intervals across a path's calendar years: what they add to a backtest's time.

Times, on a synthetic result of ``--days`` days (10 years by default) and ``--configs``
configurations (a sweep's size), ``yearly_metrics`` (TE and cost per calendar year),
``year_ranking`` with ``year_pairs`` (every pair: ``C²/2`` CR2 intervals, and the rank
intervals' ``C²``), ``empirical_optimal_threshold`` with the calendar years (the thresholds
not told apart from the optimum) and ``falsification_tests`` of one pair (its TE bootstrap
and its yearly excess). CPU time (``time.process_time``) and wall time, best of
``--repeat``, and the load average before and after.

    python benchmarks/year_intervals.py --configs 5
    python benchmarks/year_intervals.py --configs 100
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pandas as pd

from driftwise.app.sweep import empirical_optimal_threshold
from driftwise.backtest.falsification import falsification_tests
from driftwise.backtest.metrics import policy_metrics
from driftwise.backtest.years import year_pairs, year_ranking, yearly_metrics


def synthetic(days: int, configs: int, seed: int = 0) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2013-01-02", periods=days)
    ref = 100.0 * np.cumprod(1.0 + rng.normal(0.0003, 0.01, days))
    noise = np.linspace(0.0005, 0.004, configs)
    nav = ref[:, None] * np.cumprod(1.0 + rng.normal(0.0, 1.0, (days, configs)) * noise, axis=0)
    cost = rng.uniform(0.0, 50.0, (days, configs)) * (rng.random((days, configs)) < 0.05)
    zeros = np.zeros((days, configs))
    names = [f"threshold {h:.4f}" for h in np.linspace(0.01, 0.2, configs)]
    return SimpleNamespace(names=names, dates=dates, nav_usd=nav, ref_nav_usd=ref,
                           cost_usd=cost, traded_usd=zeros, rebalanced=zeros, drift=zeros,
                           risk_free_annual=np.zeros(days),
                           params=pd.DataFrame(index=range(configs)))


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2520)
    parser.add_argument("--configs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    r = synthetic(args.days, args.configs)
    m = policy_metrics(r)
    yearly = yearly_metrics(r)
    table = pd.DataFrame({"config": r.names, "threshold": np.linspace(0.01, 0.2, args.configs),
                          "te_annual": m["te_annual"].to_numpy(),
                          "cost_per_year": m["cost_per_year"].to_numpy()})
    pair = [(r.names[0], r.names[-1])]
    print(f"load average before: {os.getloadavg()}")
    print(f"{args.days} days x {args.configs} configurations, {yearly.n_years} calendar years")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("yearly_metrics", lambda: yearly_metrics(r)),
        ("year_ranking + year_pairs", lambda: (year_ranking(yearly, 2.0),
                                               year_pairs(yearly, 2.0))),
        ("empirical_optimal_threshold, with years", lambda: empirical_optimal_threshold(
            table, by=[], yearly=yearly)),
        ("empirical_optimal_threshold, without", lambda: empirical_optimal_threshold(
            table, by=[])),
        ("falsification_tests, one pair (1,000 resamples)", lambda: falsification_tests(
            r, pair, te=m["te_annual"], cost=m["cost_per_year"], tracking_aversion=2.0)),
    ]
    for label, fn in cases:
        cpu, wall = best_of(fn, args.repeat)
        print(f"{label:50s} CPU {1e3 * cpu:8.1f} ms   wall {1e3 * wall:8.1f} ms")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
