"""Where a Dask worker's CPU goes when it plans accounts: the same chunks of accounts
(``accounts.py``'s book, S&P 500 data or synthetic) planned by the task function of
``plan_accounts`` (:func:`driftwise.app.batch.plan_part`)

1. in this process;
2. inside a worker of a one-worker local cluster, as one task over every chunk (the
   shared inputs scattered to it as ``plan_accounts`` sends them);
3. on the same cluster as one task per chunk (``run_tasks``, as ``plan_accounts``).

Prints the CPU per account of each: this process's, the task thread's
(``time.thread_time``) and the worker process's during the tasks (its other threads:
the event loop, heartbeats and monitors), and the load average. ``--profile``: the
functions with most own time in 1 and 2 (cProfile).

    .venv/bin/python benchmarks/accounts_worker.py --accounts 500
    .venv/bin/python benchmarks/accounts_worker.py --accounts 1000 --chunk 100 --profile
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def planned(whole: Any, chunks: list[Any], warm: Any, profile: bool) -> dict[str, Any]:
    """Plan ``chunks`` (after one warm-up chunk) in the calling thread: CPU of the thread
    and of the process, wall, garbage collections, and the profile's top lines.
    ``whole``: the shared inputs, or the :class:`~driftwise.backtest.cluster.Whole` a
    worker received them in."""
    import cProfile
    import gc
    import io
    import pstats

    from driftwise.app.batch import plan_part

    shared = getattr(whole, "value", whole)
    plan_part(shared, warm)
    prof = cProfile.Profile() if profile else None
    before = [g["collections"] for g in gc.get_stats()]
    wall, cpu, thread = time.perf_counter(), time.process_time(), time.thread_time()
    if prof is not None:
        prof.enable()
    for chunk in chunks:
        plan_part(shared, chunk)
    if prof is not None:
        prof.disable()
    out: dict[str, Any] = {
        "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
        "thread": time.thread_time() - thread,
        "gc": [g["collections"] - b for g, b in zip(gc.get_stats(), before, strict=True)]}
    if prof is not None:
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(20)
        out["profile"] = text.getvalue()
    return out


def one_task(shared: Any, chunk: Any) -> tuple[Any, float, float]:
    """``plan_part`` of one chunk with the CPU of its thread and of its process."""
    from driftwise.app.batch import plan_part

    thread, cpu = time.thread_time(), time.process_time()
    part = plan_part(shared, chunk)
    return part, time.thread_time() - thread, time.process_time() - cpu


def main() -> None:
    import accounts as book_of

    from driftwise.app.batch import shared_day
    from driftwise.backtest.cluster import Whole, client, run_tasks
    from driftwise.config import default_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=25, help="accounts per task")
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    data, where = book_of.market(500, args.synthetic)
    books = book_of.book(data, args.accounts + args.chunk, 30)
    inputs = book_of.shared_inputs(data, next(iter(books.values())))
    config = default_config().with_overrides({"portfolio.default_target": "equal"})
    shared = (inputs, config, book_of.DAY, float("nan"), False, True,
              shared_day(inputs, books, config, book_of.DAY, False))
    names = list(books)
    chunks = [[books[n] for n in names[i:i + args.chunk]]
              for i in range(0, len(names), args.chunk)]
    warm, work = chunks[-1], chunks[:-1]
    n = sum(len(c) for c in work)
    print(f"{n} accounts from {where} in chunks of {args.chunk}; load average (1 min) "
          f"{os.getloadavg()[0]:.1f}")

    def show(what: str, got: dict[str, Any]) -> None:
        print(f"{what}: CPU {1e3 * got['cpu'] / n:.1f} ms an account (the planning thread "
              f"{1e3 * got['thread'] / n:.1f} ms), wall {got['wall']:.1f} s, garbage "
              f"collections {got['gc']}")
        if "profile" in got:
            print(got["profile"])

    show("this process", planned(shared, work, warm, args.profile))
    with client(1, None) as dask_client:
        data_f = dask_client.scatter(Whole(shared), broadcast=True, hash=False)
        got = dask_client.submit(planned, data_f, work, warm, args.profile,
                                 pure=False).result()
        show("a Dask worker, one task", got)
        before: Any = dask_client.run(time.process_time)
        start = time.perf_counter()
        parts = run_tasks(dask_client, one_task, work, shared)
        wall = time.perf_counter() - start
        after: Any = dask_client.run(time.process_time)
    thread = sum(p[1] for p in parts)
    during = sum(p[2] for p in parts)
    worker = sum(after.values()) - sum(before.values())
    print(f"a Dask worker, one task per chunk: the task threads {1e3 * thread / n:.1f} ms "
          f"an account, the worker process during the tasks {1e3 * during / n:.1f} ms, "
          f"over the run {1e3 * worker / n:.1f} ms (scatter and gathering included); wall "
          f"{wall:.1f} s; load average (1 min) {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
