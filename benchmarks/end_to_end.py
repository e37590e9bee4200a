"""What the user waits for: end-to-end times of the backtest and of the commands.

Backtest cases start from in-memory DataFrames (a wide price frame and a target weight
Series, as a quant holds them) and end at the metrics table: building the inputs, the
per-day market history, the engine and :func:`~driftwise.backtest.metrics.policy_metrics`.
The block bootstrap is timed on its own. Beside each end-to-end figure, the "engine only"
time (``run_backtest`` on a history already built in full) shows where the time goes, and
the days the end-to-end run estimated of each per-day input show what its grid read.
Case 3 runs in a fresh process (``--only-sweep``), which prints its peak memory; so
does case 3b, the same sweep in fractional shares without a minimum trade
(``--only-sweep --fractional``), whose rows share books (:mod:`driftwise.backtest.segments`;
whole shares and minimum trades in USD do not scale with the NAV, so case 3 cannot).

Command cases run ``driftwise`` in a fresh process, as a user does, so their figures
include the import of the package and of numba's cached kernels; "warm" means the
kernels are already compiled and cached on disk and the modules' bytecode too: warm-up
runs until one's CPU time is within 10% of the one before (``warm_up``: the run after the
one that wrote the bytecode can still be slower), then the best and median of
``--repeats`` runs (at least 3 for ``plan --report``); bytecode in a temporary folder,
even when the caller sets ``PYTHONDONTWRITEBYTECODE``. Beside each command, its floor: a
fresh process importing only the libraries the command cannot start without (``FLOORS``),
timed alternately with the command, and driftwise's share, the command's time less the
floor's.

    python benchmarks/end_to_end.py [--repeats 3] [--sweep 1000] [--commands] [--validate]
                                    [--no-backtest] [--only-sweep [--fractional]]

``--validate`` adds ``driftwise validate-rules --universe sp500`` on 20 portfolios (it
needs ``../shared/data``; minutes). Commands print their wall time and their CPU time
(the process and its workers) and the machine's load average when the case ended: on a
machine shared with other work, the CPU time is the steadier figure. ``monitor`` and
``plan`` run the kernels as plain Python (no numba, ``driftwise._jit``); each is timed again
with ``DRIFTWISE_JIT=compiled``, as they ran before.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.app.backtest import compare
from driftwise.backtest import compiled
from driftwise.backtest.bootstrap import BOOTSTRAP_METRICS
from driftwise.backtest.history import HistorySettings, MarketHistory
from driftwise.backtest.metrics import policy_metrics
from driftwise.calendar import nyse_sessions
from driftwise.config import Config, policies
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets
from driftwise.policy.triggers import DayInput

ROOT = Path(__file__).resolve().parents[1]
FRACTIONAL = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0}
"""Trades in proportion to the NAV (as vectorbt and bt trade in ``peers.py``): a sweep of
full rebalances at a flat cost then runs on shared books (case 3b)."""
DRIFTWISE = str(Path(sys.executable).with_name("driftwise"))


def frames(n_assets: int = 500, n_days: int = 2520, seed: int = 0
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Wide closes and volumes and equal target weights, as a user holds them."""
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(nyse_sessions("2010-01-04", "2022-12-30")[:n_days], name="date")
    common = rng.normal(0.0003, 0.01, (n_days, 1))
    closes = 50 * np.exp(np.cumsum(common + rng.normal(0, 0.015, (n_days, n_assets)), axis=0))
    tickers = pd.Index([f"T{i:03d}" for i in range(n_assets)], name="ticker")
    prices = pd.DataFrame(closes, index=dates, columns=tickers)
    volumes = pd.DataFrame(rng.uniform(1e6, 1e7, (n_days, n_assets)), index=dates,
                           columns=tickers)
    return prices, volumes, pd.Series(1.0 / n_assets, index=tickers)


def inputs_of(prices: pd.DataFrame, volumes: pd.DataFrame, weights: pd.Series) -> Inputs:
    """The engine's inputs from the user's frames (VIX at 18: the calm regime)."""
    return Inputs(
        holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=0.0),
        targets=Targets(level=TargetLevel.ASSET, weights=weights,
                        band_abs=pd.Series(np.nan, index=weights.index),
                        band_rel=pd.Series(np.nan, index=weights.index)),
        master=SecurityMaster.empty(),
        market=MarketData(prices=prices, volumes=volumes,
                          vix=pd.Series(18.0, index=prices.index)))


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1.0 else f"{seconds:.2f} s"


def cpu_seconds() -> float:
    """CPU time (user and system) of this process and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def best_and_median(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    return best_median_cpu(run, repeats)[:2]


def best_median_cpu(run: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Best and median wall time of ``repeats`` runs, and the least CPU time of one run
    (on a machine loaded by other processes, the CPU time moves less than the wall time)."""
    times, cpus = [], []
    for _ in range(repeats):
        cpu, start = cpu_seconds(), time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
    return min(times), float(np.median(times)), min(cpus)


def backtest_case(label: str, configs: list[Config], target: str, repeats: int,
                  data: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    """End to end (inputs → history → engine → metrics) and engine only, best of runs.

    End to end builds a fresh history each run, which estimates only what the grid reads
    (printed: the days estimated of each per-day input); engine only runs on a history
    built in full beforehand.
    """
    built: dict[HistorySettings, MarketHistory] = {}

    def end_to_end() -> pd.DataFrame:
        built.clear()
        return policy_metrics(backtest_configs(inputs_of(*data), configs, histories=built))

    end_to_end()  # numba loads its cached kernels once per process
    e2e, e2e_median, e2e_cpu = best_median_cpu(end_to_end, repeats)
    read = "; ".join(f"{name} {days}" for h in built.values() for name, days in h.built.items())
    inputs = inputs_of(*data)
    cache: dict[HistorySettings, MarketHistory] = {}
    backtest_configs(inputs, configs[:1], histories=cache, workers=1)
    for history in cache.values():
        history.prepare(frozenset(DayInput))
    engine, _ = best_and_median(lambda: backtest_configs(inputs, configs, histories=cache),
                                repeats)
    print(f"{label}: end to end {_duration(e2e)} best, {_duration(e2e_median)} median "
          f"(target {target}), CPU {_duration(e2e_cpu)}; engine only {_duration(engine)}; "
          f"days estimated per input: {read or 'none'}", flush=True)


def peak_memory_case(label: str, configs: list[Config], target: str, repeats: int,
                     data: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    """:func:`backtest_case`, then the peak resident memory of this process and of its
    largest worker (run it in a fresh process: ``--only-sweep``)."""
    backtest_case(label, configs, target, repeats, data)
    print(f"   rows of a flat-cost batch of {compiled.MIN_ROWS_AT_ONCE} rows and more on "
          f"{compiled.thread_count()} threads (backtest/compiled.run_rows; the CPU time "
          f"above is the sum of the threads')", flush=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    print(f"   peak RSS in a fresh process: {own:.2f} GB"
          + (f", largest worker process {workers:.2f} GB (a Dask worker "
             f"of the local cluster)" if workers else ""), flush=True)


def bootstrap_case(repeats: int, data: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    """Two rules compared with 1,000 block-bootstrap resamples of every metric."""
    inputs = inputs_of(*data)
    configs = [policies.monthly(), policies.threshold(0.05)]
    flat = [c.with_overrides({"costs.flat_cost_bps": 10.0}) for c in configs]
    compare(inputs, flat, ["monthly", "threshold 5%"], samples=1000, workers=1)
    best, _ = best_and_median(
        lambda: compare(inputs, flat, ["monthly", "threshold 5%"], samples=1000, workers=1),
        repeats)
    print(f"compare: 2 rules end to end with 1,000 bootstrap resamples of "
          f"{len(BOOTSTRAP_METRICS)} metrics: {_duration(best)} best", flush=True)


FLOORS = {
    "help": ("typer", "import typer, typer.main"),
    "table": ("typer and its pydantic parameter parsing, numpy, pandas without pyarrow",
              "import sys; sys.modules['pyarrow'] = None; import numpy, pandas, typer, "
              "typer.main, typer._adapters"),
    "report": ("typer and its pydantic parameter parsing, numpy, pandas, numba",
               "import numpy, pandas, numba, typer, typer.main, typer._adapters"),
}
"""For each kind of command, the libraries it cannot start without and the code that
imports only them in a fresh process: the floor below which no work of driftwise's can
bring the command (typer 0.29 parses parameters with pydantic; ``monitor`` and ``plan``
import pandas without pyarrow, ``plan --report`` compiles kernels with numba). ``monitor``
keeps pandas in its floor: every reader of ``driftwise.data``, the portfolio state, the
metrics' frames and its result's tables are pandas. The floors import only: the plugin scan
pydantic starts with typer's first parameter adapter (about 0.02 s of CPU, reading every
installed distribution's metadata) counts in driftwise's share."""


def _fresh_environment(cache: Path) -> dict[str, str]:
    """The environment of a timed process: bytecode read from and written to ``cache``,
    as an installed driftwise reads its compiled modules; a ``PYTHONDONTWRITEBYTECODE``
    of the caller (which would make every run compile driftwise's sources again, about
    0.1-0.2 s a command) is dropped."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(cache)}


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU time (user + system, the process and its workers) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


WARM_TOLERANCE = 0.10
"""Warm-up runs of a command continue until one's CPU time is within this fraction of the
run before it (:func:`warm_up`)."""
MAX_WARM_UPS = 6


def warm_up(argv: list[str], env: dict[str, str], settle: bool = True
            ) -> list[tuple[float, float]]:
    """Run a command until it is warm: until a run's CPU time (the process and its workers)
    is within :data:`WARM_TOLERANCE` of the run before it, at most :data:`MAX_WARM_UPS`
    runs. The first run writes the bytecode of every module it imports (and compiles the
    kernels numba has not cached); the next ones may still be slower than the later ones
    (``plan --report``: benchmarks/README.md), so one warm-up is not enough. Returns each
    warm-up's wall and CPU time (one warm-up only without ``settle``)."""
    runs = [_timed(argv, env)]
    if settle:
        runs.append(_timed(argv, env))
    while (settle and abs(runs[-1][1] - runs[-2][1]) > WARM_TOLERANCE * runs[-2][1]
           and len(runs) < MAX_WARM_UPS):
        runs.append(_timed(argv, env))
    return runs


def command_case(label: str, args: list[str], target: str, repeats: int, cache: Path,
                 floor: str, size_of: Path | None = None,
                 env: dict[str, str] | None = None, settle: bool = True) -> None:
    """A command in a fresh process, warm (:func:`warm_up`), best and median of ``repeats``
    runs: wall time and the CPU time (user + system) of the process and its workers, which
    other load on the machine inflates less. Each run alternates with one of the floor
    (:data:`FLOORS`), so both see the same load; driftwise's share is the command's time
    less the floor's."""
    environment = {**_fresh_environment(cache), **(env or {})}
    what, code = FLOORS[floor]
    command, bare = [DRIFTWISE, *args], [sys.executable, "-c", code]
    warm = warm_up(command, environment, settle)
    _timed(bare, environment)
    runs, floors = [], []
    for _ in range(repeats):
        runs.append(_timed(command, environment))
        floors.append(_timed(bare, environment))
    walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
    floor_wall, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
    size = (f"; {size_of.name} {size_of.stat().st_size / 1e6:.1f} MB"
            if size_of is not None and size_of.exists() else "")
    print(f"{label}: {_duration(min(walls))} best, {_duration(float(np.median(walls)))} median "
          f"of {repeats} (target {target}); CPU {_duration(min(cpus))} best, "
          f"{_duration(float(np.median(cpus)))} median{size}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print("    warm-up runs: " + ", ".join(f"{_duration(w)} (CPU {_duration(c)})"
                                           for w, c in warm), flush=True)
    print(f"    floor ({what}): {_duration(floor_wall)} best, CPU {_duration(floor_cpu)}; "
          f"driftwise's share: {_duration(min(walls) - floor_wall)} "
          f"(CPU {_duration(min(cpus) - floor_cpu)})", flush=True)


def command_cases(repeats: int) -> None:
    """``--help``, ``monitor``, ``plan`` (each also with the kernels compiled, as before
    they ran as Python) and ``plan --report`` (at least 3 timed runs), each beside its
    floor."""
    compiled = {"DRIFTWISE_JIT": "compiled"}
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "bytecode"
        command_case("driftwise --help", ["--help"], "0.3 s", repeats, cache, "help")
        command_case("driftwise monitor (sample)", ["monitor"], "0.7 s", repeats, cache,
                     "table")
        command_case("  the same, kernels compiled (DRIFTWISE_JIT=compiled)", ["monitor"],
                     "-", repeats, cache, "report", env=compiled)
        command_case("driftwise plan (sample)", ["plan"], "1.0 s", repeats, cache, "table")
        command_case("  the same, kernels compiled (DRIFTWISE_JIT=compiled)", ["plan"], "-",
                     repeats, cache, "report", env=compiled)
        report = Path(folder) / "report.html"
        command_case("driftwise plan --report (sample)", ["plan", "--report", str(report)],
                     "8 s", max(3, repeats), cache, "report", size_of=report)


def validate_case() -> None:
    """``validate-rules`` on 20 S&P 500 portfolios (needs ``../shared/data``)."""
    data_dir = ROOT.parent / "shared" / "data"
    if not data_dir.exists():
        print(f"validate-rules: skipped, no data at {data_dir}")
        return
    with tempfile.TemporaryDirectory() as folder:
        command_case("driftwise validate-rules --universe sp500 (20 portfolios)",
                     ["validate-rules", "--universe", "sp500", "--data-dir", str(data_dir),
                      "--portfolios", "20"], "60 s", 1, Path(folder), "report",
                     settle=False)  # minutes a run: one warm-up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case")
    parser.add_argument("--sweep", type=int, default=1000, help="configurations of case 3")
    parser.add_argument("--only-sweep", action="store_true",
                        help="case 3 alone, with its peak memory (main runs it so, in a fresh "
                        "process)")
    parser.add_argument("--fractional", action="store_true",
                        help="with --only-sweep: case 3b, fractional shares and no minimum "
                        "trade (the batch runs on shared books, backtest/segments.py)")
    parser.add_argument("--commands", action="store_true", help="time the commands too")
    parser.add_argument("--validate", action="store_true",
                        help="time validate-rules on 20 S&P 500 portfolios (needs the data)")
    parser.add_argument("--no-backtest", action="store_true",
                        help="skip the backtest cases (time only --commands / --validate)")
    args = parser.parse_args()
    if not args.no_backtest:
        backtest_cases(args)
    if args.commands:
        command_cases(args.repeats)
    if args.validate:
        validate_case()


def backtest_cases(args: argparse.Namespace) -> None:
    """The backtest cases 1-3 and the bootstrap."""
    data = frames()
    flat = {"costs.flat_cost_bps": 10.0}
    grid = np.linspace(0.01, 0.20, args.sweep)
    sweep = [policies.threshold(float(h)).with_overrides(flat) for h in grid]
    label3 = f"3. {args.sweep} thresholds x 500 assets x 2,520 days, flat 10 bps"
    if args.only_sweep and args.fractional:
        scalable = {**flat, **FRACTIONAL}
        sweep = [policies.threshold(float(h)).with_overrides(scalable) for h in grid]
        label3 = label3.replace("3.", "3b.") + ", fractional shares, no minimum trade"
    if args.only_sweep:
        peak_memory_case(label3, sweep, "3 s, < 4 GB", max(1, args.repeats // 2), data)
        return
    backtest_case("1. threshold 5%, 500 assets x 2,520 days, flat 10 bps",
                  [policies.threshold(0.05).with_overrides(flat)], "50 ms", args.repeats, data)
    backtest_case("2. the same with the full cost model", [policies.threshold(0.05)],
                  "150 ms", args.repeats, data)
    for variant in ([], ["--fractional"]):
        subprocess.run([sys.executable, __file__, "--only-sweep", "--sweep", str(args.sweep),
                        "--repeats", str(args.repeats), *variant], check=True)
    bootstrap_case(args.repeats, data)


if __name__ == "__main__":
    main()
