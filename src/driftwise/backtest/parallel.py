"""Configurations shared among processes: a large sweep uses every core.

Each configuration's path depends on its own state only (the engine decides every row
as it would be alone, and ``tests/backtest/test_reference.py`` checks it against the
planner one configuration at a time), so a run splits exactly into shares of its
configurations. The shares are interleaved (process ``j`` of ``J`` takes configurations
``j, j + J, ...``: :func:`shares`), so that a sweep ordered by threshold, whose low
thresholds trade far more often, loads every process alike.

:func:`run_shares` runs one share per process. The processes are forked, so they share
the parent's per-day market inputs (the
:class:`~driftwise.backtest.history.MarketHistory`, built once before the fork) without
copying them, and write their columns straight into result arrays in shared memory
(:func:`shared_array`). The day loop in each process is the engine's own
(:func:`driftwise.backtest.engine.simulate`): nothing is implemented twice, and the
result is the serial one, bit for bit.

Forking is used only where the platform offers it (Linux); elsewhere, or for a run too
small to gain from it (:func:`job_count`), the run stays in one process.
"""

from __future__ import annotations

import mmap
import multiprocessing as mp
import os
import pickle
import sys
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from driftwise.errors import DriftwiseError

MIN_CELLS_PER_JOB = 100_000_000
"""Least (configuration, asset, day) cells worth a process of its own (about 1 s of work)."""

MIN_CONFIGS_PER_JOB = 16
"""Least configurations in a share."""

Progress = Callable[[int, int], None]
ShareRun = Callable[[slice, Progress], None]
"""``run(share, progress)`` simulates the configurations ``share``, reporting days done."""


def available_cores() -> int:
    """CPU cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - non-Linux


def can_fork() -> bool:
    """Whether worker processes can be forked here (Linux)."""
    return sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods()


def job_count(workers: int | None, n_configs: int, n_assets: int, n_days: int) -> int:
    """Processes for a run: ``workers`` (None: the cores), fewer for a small run.

    A process gets at least :data:`MIN_CONFIGS_PER_JOB` configurations and, when
    ``workers`` is None, at least :data:`MIN_CELLS_PER_JOB` cells; 1 where forking is
    unavailable.

    Raises
    ------
    ValueError
        ``workers`` below 1.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, found {workers}")
    if not can_fork():
        return 1  # pragma: no cover - non-Linux
    jobs = available_cores() if workers is None else workers
    jobs = min(jobs, n_configs // MIN_CONFIGS_PER_JOB)
    if workers is None:
        jobs = min(jobs, n_configs * n_assets * n_days // MIN_CELLS_PER_JOB)
    return max(1, jobs)


def shares(n_configs: int, n_jobs: int) -> list[slice]:
    """``n_jobs`` interleaved slices ``j::n_jobs`` covering ``range(n_configs)``."""
    return [slice(j, n_configs, n_jobs) for j in range(min(n_jobs, n_configs))]


def shared_array(shape: tuple[int, ...], dtype: npt.DTypeLike, fill: float | bool) -> npt.NDArray[
        np.generic]:
    """An array in anonymous shared memory: forked processes write into the parent's copy."""
    dt = np.dtype(dtype)
    size = max(1, int(np.prod(shape)) * dt.itemsize)
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_ANONYMOUS", 0x20))
    arr: npt.NDArray[np.generic] = np.frombuffer(buffer, dtype=dt,
                                                 count=int(np.prod(shape))).reshape(shape)
    arr[...] = fill
    return arr


def run_shares(run: ShareRun, parts: Sequence[slice], n_days: int,
               progress: Progress | None = None) -> None:
    """``run(share, progress)`` for every share, one forked process each.

    The parent reports ``progress(min days done, n_days)`` while the processes work.

    Raises
    ------
    DriftwiseError
        The first error a process raised (re-raised in the parent as it was raised, or
        as a DriftwiseError with its message when it cannot be sent back).
    """
    ctx = mp.get_context("fork")
    done = ctx.Array("q", len(parts), lock=False)
    errors = ctx.SimpleQueue()

    def work(j: int, share: slice) -> None:
        # a worker leaves with os._exit: it never flushes or closes streams that another
        # thread of the parent (a progress bar) may have held at the fork
        def report(days: int, _total: int) -> None:
            done[j] = days
        code = 0
        try:
            run(share, report)
        except BaseException as exc:
            code = 1
            try:
                payload = pickle.dumps(exc)
                pickle.loads(payload)
            except Exception:
                payload = pickle.dumps(DriftwiseError(f"{type(exc).__name__}: {exc}"))
            errors.put(payload)
        os._exit(code)

    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock. Ours are
        # numpy's BLAS pool (re-created in the child after a fork) and possibly a progress
        # bar's refresh thread, whose streams the workers never touch.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        procs = [ctx.Process(target=work, args=(j, share), daemon=True)
                 for j, share in enumerate(parts)]
        for p in procs:
            p.start()
    payload: bytes | None = None
    finished = False
    try:
        while any(p.is_alive() for p in procs):
            if progress is not None:
                progress(min(done), n_days)
            if not errors.empty():
                payload = errors.get()  # the whole message, before stopping anyone
                break
            time.sleep(0.05)
        finished = True
    finally:
        for p in procs:
            if payload is not None or not finished:  # an error, or the caller interrupted
                p.terminate()
            p.join()
    if payload is None and not errors.empty():
        payload = errors.get()
    if payload is not None:
        raise pickle.loads(payload)
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise DriftwiseError(f"a backtest worker process died (exit code {failed[0]})")
    if progress is not None:
        progress(n_days, n_days)
