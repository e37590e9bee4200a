"""Configurations shared among forked processes: the serial result, bit for bit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from driftwise.backtest import parallel
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs
from driftwise.errors import DataError, DriftwiseError

needs_fork = pytest.mark.skipif(not parallel.can_fork(), reason="no fork on this platform")


@needs_fork
def test_two_workers_give_the_serial_result(synthetic: Inputs) -> None:
    configs = [pol.threshold(float(h)) for h in np.linspace(0.01, 0.08, 24)]
    configs += [pol.monthly(), pol.hybrid(), *[pol.cost_benefit()] * 2]
    configs += [pol.threshold(float(h)) for h in np.linspace(0.02, 0.05, 8)]
    serial = backtest_configs(synthetic, configs, workers=1)
    seen: list[tuple[int, int]] = []
    shared = backtest_configs(synthetic, configs, workers=2,
                          progress=lambda d, n: seen.append((d, n)))
    for name in ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift",
                 "cash_usd", "ref_nav_usd"):
        np.testing.assert_array_equal(getattr(shared, name), getattr(serial, name), err_msg=name)
    assert shared.names == serial.names
    assert shared.params.equals(serial.params)
    assert seen[-1] == (serial.n_days, serial.n_days)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


def test_job_count() -> None:
    assert parallel.job_count(1, 10_000, 500, 2520) == 1
    if parallel.can_fork():
        assert parallel.job_count(4, 40, 5, 100) == 2  # at least 16 configurations a job
        assert parallel.job_count(None, 40, 5, 100) == 1  # too little work to fork
    with pytest.raises(ValueError, match="workers must be at least 1"):
        parallel.job_count(0, 10, 5, 100)


def test_shares_cover_every_configuration_once() -> None:
    parts = parallel.shares(10, 3)
    assert sorted(i for p in parts for i in range(10)[p]) == list(range(10))
    assert [len(range(10)[p]) for p in parts] == [4, 3, 3]
    assert len(parallel.shares(2, 4)) == 2


@needs_fork
def test_shared_array_is_written_by_a_worker() -> None:
    arr = parallel.shared_array((3, 4), np.float64, np.nan)

    def run(share: slice, report: parallel.Progress) -> None:
        arr[:, share] = share.start + 1.0
        report(7, 7)
    parallel.run_shares(run, parallel.shares(4, 2), 7)
    assert arr[0].tolist() == [1.0, 2.0, 1.0, 2.0]


@needs_fork
def test_a_worker_error_reaches_the_caller_whole() -> None:
    def run(share: slice, report: parallel.Progress) -> None:
        if share.start == 1:
            raise DataError("no price", file="prices.csv", row=12, field="close",
                            expected="a positive number", found="-3")
    with pytest.raises(DataError) as caught:
        parallel.run_shares(run, parallel.shares(2, 2), 5)
    assert "prices.csv" in str(caught.value) and caught.value.row == 12


@needs_fork
def test_a_dead_worker_is_an_error() -> None:
    import os

    def run(share: slice, report: parallel.Progress) -> None:
        if share.start == 0:
            os._exit(5)
    with pytest.raises(DriftwiseError, match="worker process died"):
        parallel.run_shares(run, parallel.shares(2, 2), 5)


@needs_fork
def test_an_interrupted_caller_stops_the_workers() -> None:
    """A caller's exception (Ctrl-C in a progress callback) stops the workers at once."""
    import time

    class StopError(Exception):
        pass

    def run(share: slice, report: parallel.Progress) -> None:
        time.sleep(60)

    def progress(done: int, total: int) -> None:
        raise StopError

    began = time.perf_counter()
    with pytest.raises(StopError):
        parallel.run_shares(run, parallel.shares(2, 2), 5, progress)
    assert time.perf_counter() - began < 10
