"""Work shared among the processes of a Dask cluster: a local one, or a remote scheduler.

Large runs (a backtest sweep of many configurations, the rule-validation study's
portfolios) split into independent **tasks** whose results are put back in task order, so
a run gives the serial result bit for bit whatever the cluster:

- a backtest splits its configurations into interleaved chunks (chunk ``j`` of ``J`` takes
  configurations ``j, j + J, ...``: :func:`shares`), so that a sweep ordered by threshold,
  whose low thresholds trade far more often, loads every chunk alike; each configuration's
  path depends on its own state only (``tests/backtest/test_reference.py``), so a chunk
  simulated alone is the same columns of the whole run;
- the study's tasks are its own (:func:`driftwise.validation.study.make_tasks`).

:func:`run_tasks` runs them on ``dask.distributed``: the data every task reads (the
backtest's market history, built once) is scattered to the workers once, each task is a
future, and the results are gathered as they complete (``as_completed``), reporting
progress after each. The cluster is a :class:`distributed.LocalCluster` of ``workers``
processes (one thread each, no dashboard, silent logs) started for the run and closed
after it, or, with ``scheduler``, a running cluster reached at that address (its workers
need driftwise installed, at the same version).

``distributed`` is imported on the first parallel run only: the command line starts
without it.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from driftwise.errors import DriftwiseError

if TYPE_CHECKING:
    from distributed import Client

MIN_CELLS_PER_JOB = 100_000_000
"""Least (configuration, asset, day) cells worth a process of its own (about 1 s of work)."""

MIN_CONFIGS_PER_JOB = 16
"""Least configurations in a backtest chunk."""

CHUNKS_PER_WORKER = 2
"""Backtest chunks per worker: progress moves more often, the history is read once."""

CONNECT_TIMEOUT_S = 10
"""Seconds to reach a remote scheduler before giving up."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``."""

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """CPU cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - non-Linux


def check_workers(workers: int | None) -> None:
    """Raise ``ValueError`` for ``workers`` below 1."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, found {workers}")


def job_count(workers: int | None, n_configs: int, n_assets: int, n_days: int) -> int:
    """Local worker processes for a backtest: ``workers`` (None: the cores), fewer for a
    small run.

    A process gets at least :data:`MIN_CONFIGS_PER_JOB` configurations and, when
    ``workers`` is None, at least :data:`MIN_CELLS_PER_JOB` cells.

    Raises
    ------
    ValueError
        ``workers`` below 1.
    """
    check_workers(workers)
    jobs = available_cores() if workers is None else workers
    jobs = min(jobs, n_configs // MIN_CONFIGS_PER_JOB)
    if workers is None:
        jobs = min(jobs, n_configs * n_assets * n_days // MIN_CELLS_PER_JOB)
    return max(1, jobs)


def chunk_count(n_workers: int, n_configs: int) -> int:
    """Backtest chunks for ``n_workers``: :data:`CHUNKS_PER_WORKER` each, every chunk at
    least :data:`MIN_CONFIGS_PER_JOB` configurations (at least one chunk)."""
    return max(1, min(n_workers * CHUNKS_PER_WORKER, n_configs // MIN_CONFIGS_PER_JOB))


def shares(n_configs: int, n_jobs: int) -> list[slice]:
    """``n_jobs`` interleaved slices ``j::n_jobs`` covering ``range(n_configs)``."""
    return [slice(j, n_configs, n_jobs) for j in range(min(n_jobs, n_configs))]


def unreachable(address: str, exc: BaseException) -> DriftwiseError:
    """The error of a scheduler that cannot be reached, naming its address."""
    why = str(exc).strip() or type(exc).__name__
    return DriftwiseError(
        f"cannot reach the Dask scheduler at {address!r} (within {CONNECT_TIMEOUT_S} s): "
        f"{why}. Check the address (tcp://HOST:PORT) and that the scheduler is running, "
        f"or leave --scheduler and cluster.scheduler unset to run on this machine.")


SPAWN_ENVIRON = "distributed.nanny.pre-spawn-environ"
"""The Dask setting of the environment a local cluster's worker processes start with."""

DASK_MALLOC_TRIM = 65536
"""``distributed``'s own default ``MALLOC_TRIM_THRESHOLD_`` for the workers it spawns."""


def spawn_environ(environ: Mapping[str, Any]) -> dict[str, Any]:
    """``environ`` (Dask's worker start-up environment) without ``distributed``'s default
    malloc trim threshold.

    That default (64 KiB) makes glibc give freed memory back to the system at once, so
    every allocation above it goes to the kernel: planning 2,000 accounts in one process
    took 19.7 ms of CPU an account with it against 14.2 ms without (pandas and numpy
    allocate many small frames and arrays), and a local cluster's workers paid that on
    every task. The workers then start with this process's own setting, as the serial run
    has. A threshold a user set in Dask's configuration to another value is kept, and so
    are the one-thread BLAS settings.
    """
    return {k: v for k, v in environ.items()
            if not (k == "MALLOC_TRIM_THRESHOLD_" and str(v) == str(DASK_MALLOC_TRIM))}


LOCAL_WORKER_MONITORS: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.disk": False,
    "distributed.worker.memory.monitor-interval": "500ms",
}
"""Dask settings a local cluster's processes (its workers, and its scheduler and nannies
in this process) start with: no statistical profiler (it samples every thread's stack
each 10 ms) and no GIL-contention monitor; the event loop's health checked each second
(Dask: every 20 ms; a late tick only logs a warning, which a local cluster silences), the
system monitor's CPU and memory samples each 2 s (500 ms; they feed a dashboard, which a
local cluster does not start, and the heartbeats' memory figure) without the host's disk
counters, and the worker's memory checked against its spill, pause and terminate limits
each 500 ms (100 ms).

Each of these callbacks takes the GIL from the task thread on a worker. On 1,000 accounts
in one worker the profiler and GIL monitor took 2-4 ms of the worker's CPU an account (the
process's CPU beyond its task thread fell from 4.2 to 2.1 ms an account); the ticks and
monitors then took a worker's event loop 15-25 ms of CPU a second of wall (4-5 ms with
these settings), and as much in this process, about 1 ms an account at one worker under
load (benchmarks/README.md). A remote scheduler's
workers keep their own settings."""


@contextmanager
def client(workers: int | None, scheduler: str | None) -> Iterator[Client]:
    """A ``distributed.Client``: of the scheduler at ``scheduler``, else of a
    :class:`~distributed.LocalCluster` of ``workers`` processes (None: the cores), one
    thread each, without dashboard or logs (a task's error reaches the caller). Closed
    (the local cluster stopped) on leaving.

    Raises
    ------
    DriftwiseError
        The scheduler cannot be reached (the message names the address).
    """
    check_workers(workers)
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            remote = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise unreachable(scheduler, exc) from None
        try:
            yield remote
        finally:
            remote.close()
        return
    import dask

    with dask.config.set({SPAWN_ENVIRON: spawn_environ(dask.config.get(SPAWN_ENVIRON, {})),
                          **LOCAL_WORKER_MONITORS}):
        cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               # no dashboard; the scheduler's small HTTP API on a free port
                               scheduler_kwargs={"dashboard_address": ":0"},
                               # a worker closing with the cluster may log a closed
                               # heartbeat stream; task errors reach the client anyway
                               silence_logs=logging.CRITICAL)
    try:
        local = Client(cluster)
        try:
            yield local
        finally:
            local.close()
    finally:
        cluster.close()


def worker_count(dask_client: Client) -> int:
    """Worker processes of the cluster behind ``dask_client`` (at least 1)."""
    return max(1, len(dask_client.scheduler_info().get("workers", {})))


@dataclass(frozen=True)
class Whole:
    """A value sent to the workers as one pickle.

    Dask serializes a tuple, list or dict element by element, each unpickled apart, so
    objects two elements share (the market's prices and the day's closes read from them)
    would reach a worker as two copies, and the planners' identity checks (``closes.prices
    is market.prices``: the closes already read serve this market) would miss and take
    the slow path: a worker planned accounts 50-70% slower than this process."""

    value: Any


def _apply(fn: Callable[[S, T], R], whole: Whole, item: bytes) -> R:
    """``fn(whole.value, item)`` of an item pickled: a task of :func:`run_tasks`."""
    return fn(whole.value, pickle.loads(item))


def run_tasks(dask_client: Client, fn: Callable[[S, T], R], items: Sequence[T], shared: S,
              progress: Progress | None = None) -> list[R]:
    """``[fn(shared, item) for item in items]`` on the cluster of ``dask_client``.

    ``shared`` is sent to every worker once (``scatter``, broadcast, as one
    :class:`Whole`: the objects its parts share stay shared on the worker); each item is one
    task. Results come back in the order of ``items`` whatever order the tasks finish in;
    ``progress(tasks done, len(items))`` after each.

    Raises
    ------
    Exception
        The first error a task raised, as it was raised (the other tasks are cancelled).
    """
    from distributed import as_completed

    if not items:
        return []
    data = dask_client.scatter(Whole(shared), broadcast=True, hash=False)
    # each item pickled here, once: the scheduler takes a task's arguments apart and
    # pickles them again for the worker, which for frames (an account's holdings) cost
    # this process more than the pickle itself; bytes go through as they are
    futures = [dask_client.submit(_apply, fn, data,
                                  pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL),
                                  pure=False) for item in items]
    slot = {f.key: j for j, f in enumerate(futures)}
    results: list[Any] = [None] * len(items)
    done = 0
    try:
        for future in as_completed(futures):
            results[slot[future.key]] = future.result()
            done += 1
            if progress is not None:
                progress(done, len(items))
    except BaseException:
        dask_client.cancel(futures)
        raise
    return results
