"""Backtest chunks on a Dask cluster: the serial result, bit for bit."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from driftwise.backtest import cluster
from driftwise.backtest.engine import BacktestResult
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs
from driftwise.errors import DataError, DriftwiseError

FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift",
          "cash_usd", "ref_nav_usd", "intended_usd", "borrow_usd", "optimizer_fallback")


def _configs() -> list:
    configs = [pol.threshold(float(h)) for h in np.linspace(0.01, 0.08, 24)]
    configs += [pol.monthly(), pol.hybrid(), *[pol.cost_benefit()] * 2]
    configs += [pol.threshold(float(h)) for h in np.linspace(0.02, 0.05, 8)]
    return configs


def _same(a: BacktestResult, b: BacktestResult) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.names == b.names
    assert a.params.equals(b.params)


def test_a_local_cluster_of_two_workers_gives_the_serial_result(synthetic: Inputs) -> None:
    configs = _configs()
    serial = backtest_configs(synthetic, configs, workers=1)
    seen: list[tuple[int, int]] = []
    shared = backtest_configs(synthetic, configs, workers=2,
                              progress=lambda d, n: seen.append((d, n)))
    _same(shared, serial)
    assert seen[-1] == (serial.n_days, serial.n_days)
    assert len(seen) >= 2  # one report per chunk
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


def test_a_scheduler_by_address_gives_the_serial_result(synthetic: Inputs,
                                                          dask_scheduler: str) -> None:
    configs = _configs()[:20]
    serial = backtest_configs(synthetic, configs, workers=1)
    remote = backtest_configs(synthetic, configs, scheduler=dask_scheduler)
    _same(remote, serial)


def test_an_unreachable_scheduler_is_a_clear_error(synthetic: Inputs,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(DriftwiseError, match=r"cannot reach the Dask scheduler at "
                                             r"'tcp://127.0.0.1:9'"):
        backtest_configs(synthetic, [pol.monthly()], scheduler="tcp://127.0.0.1:9")


def test_job_and_chunk_counts() -> None:
    assert cluster.job_count(1, 10_000, 500, 2520) == 1
    assert cluster.job_count(4, 40, 5, 100) == 2  # at least 16 configurations a job
    assert cluster.job_count(None, 40, 5, 100) == 1  # too little work for a cluster
    assert cluster.chunk_count(2, 1000) == 2 * cluster.CHUNKS_PER_WORKER
    assert cluster.chunk_count(2, 20) == 1
    with pytest.raises(ValueError, match="workers must be at least 1"):
        cluster.job_count(0, 10, 5, 100)


def test_shares_cover_every_configuration_once() -> None:
    parts = cluster.shares(10, 3)
    assert sorted(i for p in parts for i in range(10)[p]) == list(range(10))
    assert [len(range(10)[p]) for p in parts] == [4, 3, 3]
    assert len(cluster.shares(2, 4)) == 2


def _fail(shared: int, item: int) -> int:
    if item == 1:
        raise DataError("no price", file="prices.csv", row=12, field="close",
                        expected="a positive number", found="-3")
    return shared + item


def test_a_task_error_reaches_the_caller_whole_and_results_keep_their_order(
        dask_scheduler: str) -> None:
    with cluster.client(None, dask_scheduler) as c:
        assert cluster.run_tasks(c, _fail, [0, 2, 3, 4], 10) == [10, 12, 13, 14]
        with pytest.raises(DataError) as caught:
            cluster.run_tasks(c, _fail, [0, 1, 2], 10)
    assert "prices.csv" in str(caught.value) and caught.value.row == 12


def test_local_workers_start_without_the_default_malloc_trim() -> None:
    """distributed's default 64 KiB malloc trim threshold is left out of the workers'
    start-up environment (it cost each plan about 40% more CPU); a threshold set to another
    value and the one-thread BLAS settings are kept."""
    default = {"MALLOC_TRIM_THRESHOLD_": 65536, "OMP_NUM_THREADS": 1}
    assert cluster.spawn_environ(default) == {"OMP_NUM_THREADS": 1}
    assert cluster.spawn_environ({"MALLOC_TRIM_THRESHOLD_": "1048576"}) == {
        "MALLOC_TRIM_THRESHOLD_": "1048576"}
    import os

    mine = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    with cluster.client(1, None) as local:
        seen = local.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                                  os.environ.get("OMP_NUM_THREADS")))
    assert list(seen.values()) == [(mine, "1")]


def _monitors(dask_worker: Any) -> tuple[object, ...]:
    import dask

    every = {name: pc.callback_time for name, pc in dask_worker.periodic_callbacks.items()}
    return (dask.config.get("distributed.worker.profile.enabled"),
            dask.config.get("distributed.admin.system-monitor.gil.enabled"),
            "profile" in dask_worker.periodic_callbacks, every["tick"], every["monitor"],
            every["memory_monitor"], dask_worker.monitor.monitor_disk_io)


def test_local_workers_start_without_the_profiler_and_the_gil_monitor() -> None:
    """A local cluster's workers sample no stacks and watch no GIL (both feed only a
    dashboard, which a local cluster does not start), check their event loop each second,
    sample the system each 2 s without the disk counters and their memory each 500 ms
    (Dask's defaults: 20 ms, 500 ms with the disk, 100 ms); so do the scheduler and the
    nannies in this process, and this process's Dask settings are left as they were."""
    import dask
    import distributed  # noqa: F401  (its settings' defaults)

    before = {k: dask.config.get(k) for k in cluster.LOCAL_WORKER_MONITORS}
    assert before["distributed.admin.tick.interval"] == "20ms"  # Dask's, changed here
    assert before["distributed.worker.memory.monitor-interval"] == "100ms"
    with cluster.client(1, None) as local:
        seen = local.run(_monitors)
        scheduler = local.cluster.scheduler  # type: ignore[union-attr]
        nannies = list(local.cluster.workers.values())  # type: ignore[union-attr]
        assert scheduler.periodic_callbacks["tick"].callback_time == 1000
        assert scheduler.periodic_callbacks["monitor"].callback_time == 2000
        assert [n.periodic_callbacks["memory_monitor"].callback_time for n in nannies] == [500]
    assert list(seen.values()) == [(False, False, False, 1000, 2000, 500, False)]
    assert {k: dask.config.get(k) for k in cluster.LOCAL_WORKER_MONITORS} == before


def _shares_its_frame(shared: tuple[Any, dict[str, Any]], item: int) -> bool:
    frame, holder = shared
    return holder["frame"] is frame and int(frame.iloc[item, 0]) == item


def test_a_task_reads_the_shared_value_whole_with_its_objects_still_shared() -> None:
    """The shared value reaches a worker as one pickle: an object two of its parts hold
    (a market's prices and the day's closes read from them) is one object there too, so
    the planners' identity checks hold on a worker as in this process."""
    import pandas as pd

    frame = pd.DataFrame({"x": [0, 1, 2]})
    with cluster.client(1, None) as local:
        seen = cluster.run_tasks(local, _shares_its_frame, [0, 1, 2], (frame, {"frame": frame}))
    assert seen == [True, True, True]
