"""Where large runs go: ``--workers``, ``--scheduler`` and ``[cluster]``, on the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from driftwise.backtest import cluster
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main

WINDOW = ["--start", "2020-01-02", "--end", "2020-12-31", "--samples", "50"]


def _grid(folder: Path) -> Path:
    """A 32-configuration sweep: enough for two local workers."""
    grid = folder / "grid.toml"
    thresholds = ", ".join(f"{h:.3f}" for h in np.linspace(0.01, 0.08, 32))
    grid.write_text(f"[backtest]\nthresholds = [{thresholds}]\ncost_levels_bps = [10.0]\n")
    return grid


def _config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "driftwise.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _backtest(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    code = main(["backtest", *WINDOW, "--policy", "monthly", *args, "--json"])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    data: dict = json.loads(captured.out)
    return data


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int | None, str | None]]:
    """Every ``cluster.client(workers, scheduler)`` a run opens, recorded."""
    seen: list[tuple[int | None, str | None]] = []
    real = cluster.client

    @contextmanager
    def spy(workers: int | None, scheduler: str | None) -> Iterator[object]:
        seen.append((workers, scheduler))
        with real(workers, scheduler) as c:
            yield c
    monkeypatch.setattr(cluster, "client", spy)
    return seen


def test_the_configured_workers_share_the_sweep(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path,
                                                 clients: list[tuple[int | None, str | None]]
                                                 ) -> None:
    """``cluster.workers``: the sweep's local cluster has that many processes, and the
    tables are the one-process ones; ``--workers`` overrides it."""
    grid = _grid(tmp_path)
    one = _backtest(["--grid", str(grid), "--workers", "1"], capsys)
    assert clients == []  # one process: no cluster
    config = _config(tmp_path, "[cluster]\nworkers = 2\n")
    two = _backtest(["--grid", str(grid), "--config", str(config)], capsys)
    assert clients == [(2, None)]
    assert one["sweep"] == two["sweep"]
    _backtest(["--grid", str(grid), "--config", str(config), "--workers", "1"], capsys)
    assert clients == [(2, None)]


def test_the_configured_scheduler_runs_the_backtest(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path, dask_scheduler: str,
                                                    clients: list[tuple[int | None, str | None]]
                                                    ) -> None:
    """``cluster.scheduler``: the run goes to that scheduler (even a small one), with the
    same numbers; ``--scheduler`` overrides it."""
    plain = _config(tmp_path / "plain", "")  # the same rules: the file's own is added
    alone = _backtest(["--workers", "1", "--config", str(plain)], capsys)
    config = _config(tmp_path, f'[cluster]\nscheduler = "{dask_scheduler}"\n')
    remote = _backtest(["--config", str(config)], capsys)
    assert clients and all(s == dask_scheduler for _, s in clients)
    assert {k: v for k, v in remote.items() if k != "config"} == \
        {k: v for k, v in alone.items() if k != "config"}
    capsys.readouterr()
    code = main(["backtest", *WINDOW, "--policy", "monthly", "--config", str(config),
                 "--scheduler", "tcp://127.0.0.1:9"])
    assert code == EXIT_BAD_INPUT
    assert "tcp://127.0.0.1:9" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_a_message_naming_it(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    for address in ("tcp://127.0.0.1:9", "not-an-address:xyz"):
        capsys.readouterr()
        code = main(["backtest", *WINDOW, "--policy", "monthly", "--scheduler", address])
        err = capsys.readouterr().err
        assert code == EXIT_BAD_INPUT, err
        assert f"cannot reach the Dask scheduler at '{address}'" in " ".join(err.split())
        assert "Traceback" not in err


def test_the_study_reads_the_cluster_settings(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path,
                                              clients: list[tuple[int | None, str | None]]
                                              ) -> None:
    """validate-rules: ``cluster.workers`` (2 by default) and ``cluster.scheduler``."""
    args = ["validate-rules", "--start", "2019-01-01", "--end", "2019-12-31",
            "--no-falsification", "--json"]
    config = _config(tmp_path, "[cluster]\nworkers = 1\n")
    assert main([*args, "--config", str(config)]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["workers"] == 1 and data["settings"]["scheduler"] is None
    assert clients == []  # one worker: inline
    bad = _config(tmp_path, '[cluster]\nscheduler = "tcp://127.0.0.1:9"\n')
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    try:
        assert main([*args, "--config", str(bad)]) == EXIT_BAD_INPUT
    finally:
        monkeypatch.undo()
    assert clients[-1] == (2, "tcp://127.0.0.1:9")
    assert "tcp://127.0.0.1:9" in capsys.readouterr().err
