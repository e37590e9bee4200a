"""Compiled batches shared among threads of one process: the one-process result, bit for
bit, and a process that forks after a threaded run still runs one."""

from __future__ import annotations

import os
import select
import signal
import time

import numpy as np
import pytest

from driftwise.backtest import cluster, engine
from driftwise.backtest.engine import BacktestResult
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs

from .test_reference import SYNTHETIC

FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift",
          "cash_usd", "ref_nav_usd", "intended_usd", "borrow_usd", "optimizer_fallback")

FORK_TIMEOUT_S = 120.0
"""Longest wait for the forked child's run (a hang fails the test, it does not block it)."""


def _sweep(costs: dict[str, object] | None = None) -> list[Config]:
    """Whole-share thresholds (the general compiled loop) with two cost settings."""
    base = Config().with_overrides(costs or {})
    tight = [pol.threshold(float(h), base=base) for h in np.linspace(0.002, 0.03, 24)]
    impact = base.with_overrides({"costs.cost_scale": 5.0})
    return tight + [pol.threshold(float(h), base=impact) for h in np.linspace(0.005, 0.04, 16)]


def _same(a: BacktestResult, b: BacktestResult) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.names == b.names


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Two cores and no least size of a shared run: the engine shares any compiled run of
    32 configurations among two threads; returns the chunk counts of the threaded runs."""
    monkeypatch.setattr(cluster, "available_cores", lambda: 2)
    monkeypatch.setattr(cluster, "MIN_CELLS_PER_JOB", 1)
    runs: list[int] = []
    threads = cluster.run_threads

    def counted(fn, items, progress=None):  # type: ignore[no-untyped-def]
        runs.append(len(items))
        return threads(fn, items, progress)
    monkeypatch.setattr(cluster, "run_threads", counted)
    return runs


def _run(inputs: Inputs, configs: list[Config], **kw: object) -> BacktestResult:
    return backtest_configs(inputs, configs, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("costs", [{}, {"costs.flat_cost_bps": 10.0}])
def test_threads_give_the_one_process_result(two_cores: list[int],
                                             costs: dict[str, object]) -> None:
    configs = _sweep(costs)
    serial = _run(SYNTHETIC, configs, workers=1)
    seen: list[tuple[int, int]] = []
    threaded = _run(SYNTHETIC, configs, progress=lambda d, n: seen.append((d, n)))
    assert two_cores == [2]  # the default ran on two threads
    _same(threaded, serial)
    assert serial.rebalanced.sum() > 100  # the rows trade, on different days
    assert seen[-1] == (serial.n_days, serial.n_days)


class _ToDaskError(Exception):
    """Raised in place of a Dask run."""


def test_when_a_run_takes_threads(two_cores: list[int],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads only by default (no ``workers``, no scheduler) and only when every batch
    is compiled; a run with a Python-loop batch, or with ``workers`` given, goes to the
    Dask cluster as before."""

    def to_dask(*args: object, **kwargs: object) -> None:
        raise _ToDaskError

    monkeypatch.setattr(engine, "run_chunks", to_dask)
    configs = _sweep()
    with pytest.raises(_ToDaskError):
        _run(SYNTHETIC, configs, workers=2)
    with pytest.raises(_ToDaskError):
        _run(SYNTHETIC, [*configs, *[pol.cost_benefit()] * 16])  # a Python-loop batch
    _run(SYNTHETIC, configs, workers=1)  # one process, inline
    assert two_cores == []
    _run(SYNTHETIC, configs)
    assert two_cores == [2]
    assert not engine.in_threads(None, "tcp://127.0.0.1:1", [])


def test_an_error_in_a_thread_reaches_the_caller() -> None:
    def fail(item: int) -> int:
        if item == 1:
            raise ValueError("chunk 1")
        return item

    with pytest.raises(ValueError, match="chunk 1"):
        cluster.run_threads(fail, [0, 1, 2])
    done: list[tuple[int, int]] = []
    assert cluster.run_threads(lambda j: 2 * j, [3, 1, 2], lambda d, n: done.append((d, n))) \
        == [6, 2, 4]
    assert done[-1] == (3, 3) and cluster.run_threads(lambda j: j, []) == []


def _checksum(result: BacktestResult) -> bytes:
    return b"".join(np.ascontiguousarray(getattr(result, name)).tobytes()
                    for name in ("nav_usd", "traded_usd", "cash_usd", "rebalanced"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_process_forked_after_a_threaded_run_runs_one_again(two_cores: list[int]) -> None:
    """The threads are joined when the run ends: a child forked afterwards (as
    ``tests/record/test_crash.py`` forks after kernels ran) runs the threaded backtest
    again to the same bits, within a timeout."""
    configs = _sweep({"costs.flat_cost_bps": 10.0})
    expected = _checksum(_run(SYNTHETIC, configs))
    assert two_cores == [2]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run again, report whether the bits are the same
        code = 1
        try:
            os.close(read)
            code = 0 if _checksum(_run(SYNTHETIC, configs)) == expected else 2
            os.write(write, b"ok" if code == 0 else b"differ")
        finally:
            os._exit(code)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], FORK_TIMEOUT_S)
        message = os.read(read, 16) if ready else b""
    finally:
        os.close(read)
    deadline = time.monotonic() + 10.0
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert message == b"ok", f"the forked child's run: {message!r} (status {status})"
    assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
