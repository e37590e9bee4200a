"""What the rule validation costs the user: ``plan --report`` and ``validate-rules``.

Each command runs in a fresh process, as a user runs it, after one untimed warm-up run of
``plan --report`` (numba's kernels compiled and cached on disk). Printed for each: the wall
time, the CPU time (user + system) of the process and of every process it started and
waited for (the report's study process, the Dask workers of ``validate-rules``), and the
load average before and after: on a machine shared with other work the wall time grows
with the load, the CPU time much less.

Also printed: the sample's study alone in this process (``run_study``, one process, the
report's settings), CPU time, the part of ``plan --report`` the report now runs beside its
backtest.

    python benchmarks/validation.py [--repeats 1] [--portfolios 20] [--no-validate]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIFTWISE = str(Path(sys.executable).with_name("driftwise"))
DATA = Path(os.environ.get("DRIFTWISE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def command(label: str, args: list[str], target: str, repeats: int) -> None:
    """``driftwise args`` in a fresh process ``repeats`` times: best and every wall time,
    CPU time of the process and its children, the load before and after."""
    walls, cpus = [], []
    load_before = _load()
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([DRIFTWISE, *args], check=True, capture_output=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    runs = ", ".join(f"{w:.1f}" for w in walls)
    print(f"{label}: {min(walls):.1f} s wall best (runs {runs} s; target {target}); "
          f"CPU {min(cpus):.1f} s; load average {load_before} before, {_load()} after",
          flush=True)


def sample_study() -> None:
    """The report's study of the sample in this process (CPU time)."""
    from driftwise.config import Config
    from driftwise.config.assemble import study_settings
    from driftwise.validation import PortfolioSpec, run_study

    cfg = Config()
    settings = study_settings(cfg, bootstrap_samples=cfg.backtest.bootstrap_samples,
                              seed=cfg.backtest.seed, workers=1)
    start, wall = time.process_time(), time.perf_counter()
    result = run_study([PortfolioSpec("sample")], settings)
    print(f"the sample's study alone (run_study, one process): "
          f"{time.perf_counter() - wall:.1f} s wall, CPU {time.process_time() - start:.1f} s, "
          f"{len(result.events)} event rows; load average {_load()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--portfolios", type=int, default=20)
    parser.add_argument("--no-validate", action="store_true",
                        help="skip validate-rules on the S&P 500 portfolios")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = str(Path(folder) / "report.html")
        subprocess.run([DRIFTWISE, "plan", "--report", report], check=True,
                       capture_output=True, cwd=ROOT)  # warm: kernels compiled and cached
        command("driftwise plan --report (sample)", ["plan", "--report", report], "8 s",
                args.repeats)
        print(f"  report size {Path(report).stat().st_size / 1e6:.2f} MB", flush=True)
    sample_study()
    if args.no_validate:
        return
    if not (DATA / "README.md").is_file():
        print(f"validate-rules: skipped, no data at {DATA}")
        return
    command(f"driftwise validate-rules --universe sp500 ({args.portfolios} portfolios)",
            ["validate-rules", "--universe", "sp500", "--data-dir", str(DATA),
             "--portfolios", str(args.portfolios)], "60 s", args.repeats)


if __name__ == "__main__":
    main()
