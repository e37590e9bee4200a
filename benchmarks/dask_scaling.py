"""Case 3 of ``end_to_end.py`` on Dask: one process, then 1 and 2 workers, with peak memory.

1,000 drift thresholds x 500 assets x 2,520 days, flat 10 bps, end to end (inputs →
history → engine → metrics), as ``end_to_end.py`` times it:

- **serial**: ``workers=1``, this process alone;
- **default**: no ``workers``, no scheduler: every batch of the sweep is compiled, so the
  run stays in this process (the engine's rule), with its CPU time beside the serial run's;
- **Dask, k workers**: a ``LocalCluster`` of k processes started once and reached by
  address (``scheduler=``), so the figure is the run's, without the cluster's start;
- **local cluster, started by the run**: ``workers=2``, what ``driftwise backtest
  --workers 2`` waits for (the cluster started, the kernels loaded in each worker, the
  cluster stopped).

Every parallel result is checked equal to the serial one, bit for bit. Peak memory: this
process's peak resident set, and each worker's own (``getrusage`` in the worker).

    python benchmarks/dask_scaling.py [--repeats 2] [--sweep 1000]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import frames, inputs_of

from driftwise.backtest.engine import BacktestResult
from driftwise.backtest.metrics import policy_metrics
from driftwise.config import Config, policies
from driftwise.config.assemble import backtest_configs

FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift",
          "cash_usd", "intended_usd")


def peak_gb() -> float:
    """Peak resident set of the calling process, GB (Linux: ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def timed(run: Callable[[], BacktestResult], repeats: int) -> tuple[float, float,
                                                                   BacktestResult]:
    """Best and median wall time of ``repeats`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        policy_metrics(result)
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), float(np.median(times)), result


def same(a: BacktestResult, b: BacktestResult) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in FIELDS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per case")
    parser.add_argument("--sweep", type=int, default=1000, help="configurations")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    data = frames()
    flat = {"costs.flat_cost_bps": 10.0}
    sweep: list[Config] = [policies.threshold(float(h)).with_overrides(flat)
                           for h in np.linspace(0.01, 0.20, args.sweep)]
    print(f"case 3: {args.sweep} thresholds x 500 assets x 2,520 days, flat 10 bps, end to end "
          f"(best / median of {args.repeats}); target 3 s, < 4 GB", flush=True)

    def run(**where: object) -> Callable[[], BacktestResult]:
        return lambda: backtest_configs(inputs_of(*data), sweep, **where)  # type: ignore[arg-type]

    run(workers=1)()  # numba loads its cached kernels once per process
    cpu = time.process_time()
    best, median, serial = timed(run(workers=1), args.repeats)
    print(f"  serial (one process): {best:.2f} s / {median:.2f} s; CPU "
          f"{(time.process_time() - cpu) / args.repeats:.2f} s a run; "
          f"peak RSS {peak_gb():.2f} GB", flush=True)
    cpu = time.process_time()
    best, median, result = timed(run(), args.repeats)
    print(f"  the default (one process): {best:.2f} s / {median:.2f} s; CPU "
          f"{(time.process_time() - cpu) / args.repeats:.2f} s a run; peak RSS "
          f"{peak_gb():.2f} GB; load average {os.getloadavg()[0]:.1f}; "
          f"equal to serial: {same(result, serial)}", flush=True)
    for k in (1, 2):
        began = time.perf_counter()
        with LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                          dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            started = time.perf_counter() - began
            address = str(cluster.scheduler_address)
            run(scheduler=address)()  # each worker loads driftwise and the cached kernels
            best, median, result = timed(run(scheduler=address), args.repeats)
            workers = client.run(peak_gb)
            print(f"  Dask, {k} worker(s): {best:.2f} s / {median:.2f} s "
                  f"(cluster start {started:.1f} s, not counted); peak RSS: this process "
                  f"{peak_gb():.2f} GB, worker(s) "
                  f"{', '.join(f'{gb:.2f}' for gb in workers.values())} GB; "
                  f"equal to serial: {same(result, serial)}", flush=True)
    best, median, result = timed(run(workers=2), args.repeats)
    print(f"  local cluster started by the run (workers=2): {best:.2f} s / {median:.2f} s; "
          f"equal to serial: {same(result, serial)}", flush=True)


if __name__ == "__main__":
    main()
