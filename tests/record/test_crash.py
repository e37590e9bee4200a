"""Crash safety: ``fills`` and ``import`` killed (SIGKILL) between any two of their SQL
statements leave a consistent record that has lost nothing acknowledged; two ``fills``
at once never lose one another's fills; a replayed file changes nothing.

Each run is a forked process (the package already imported, so a run takes milliseconds)
calling the command line's ``main`` with an engine of its own (it never touches the test's
pooled connections, and leaves with ``os._exit``); ``DRIFTWISE_RECORD_KILL_AFTER=N`` makes it kill
itself just before its N-th statement (or its commit). The kill point walks every
statement of a run, round after round, with new fills each round. A few real
``python -m driftwise fills`` processes are also killed at random times.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.record.conftest import expected, holdings_now, write_fills, write_start

import driftwise.cli.fills
import driftwise.cli.record
import driftwise.record.fills  # noqa: F401  (imported before forking)
from driftwise.cli import EXIT_OK, main
from driftwise.record.db import KILL_HOOK_VAR
from driftwise.record.schema import fills, holdings_snapshots

MIN_KILLS = 50


def _run(argv: list[str], kill_after: int | None = None) -> int | None:
    """Run the command line in a forked process; its exit code, or None when killed."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 98
        try:
            if kill_after is not None:
                os.environ[KILL_HOOK_VAR] = str(kill_after)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            code = main(argv)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return None
    return os.WEXITSTATUS(status)


def _recorded(engine: Engine) -> dict[str, dict[str, str]]:
    with engine.connect() as c:
        return {r.exec_id: dict(r.contents) for r in c.execute(sa.select(fills))}


def _check(engine: Engine, by_id: dict[str, dict[str, str]], acknowledged: set[str],
           files: list[set[str]]) -> None:
    """The record is consistent: every acknowledged fill is in it, each file's fills are
    all in it or none, and the holdings are the start plus exactly the recorded fills."""
    recorded = set(_recorded(engine))
    assert acknowledged <= recorded
    for ids in files:
        assert ids <= recorded or not ids & recorded
    now = holdings_now(engine)
    oracle = expected([by_id[i] for i in sorted(recorded)])
    assert now.positions == oracle.positions
    assert now.cash_usd == oracle.cash_usd
    with engine.connect() as c:
        snapshots = c.execute(sa.select(sa.func.count()).select_from(holdings_snapshots)
                              ).scalar()
    assert snapshots == 1 + sum(bool(ids & recorded) for ids in files)


def test_fills_killed_at_every_statement(engine: Engine, db_url: str, tmp_path: Path) -> None:
    assert main(["import", "--db", db_url, "--holdings", str(write_start(tmp_path))]) == EXIT_OK
    engine.dispose()
    by_id: dict[str, dict[str, str]] = {}
    acknowledged: set[str] = set()
    files: list[set[str]] = []
    kills, round_ = 0, 0
    while kills < MIN_KILLS:
        round_ += 1
        point = 0
        while True:  # one round: the kill point walks every statement of a run
            point += 1
            path = tmp_path / f"f{round_}_{point}.csv"
            rows = write_fills(path, f"R{round_}P{point}", 6, seed=round_ * 1000 + point)
            by_id.update({r["exec_id"]: r for r in rows})
            files.append({r["exec_id"] for r in rows})
            code = _run(["fills", "--db", db_url, "--fills", str(path)], kill_after=point)
            if code is None:
                kills += 1
            else:
                assert code == EXIT_OK
                acknowledged |= files[-1]
            _check(engine, by_id, acknowledged, files)
            if code is not None:
                break
        # a killed file run again is applied once; the acknowledged one, again, changes nothing
        for k in (point - 1, point):
            assert _run(["fills", "--db", db_url, "--fills",
                         str(tmp_path / f"f{round_}_{k}.csv")]) == EXIT_OK
            acknowledged |= files[k - point - 1]
        _check(engine, by_id, acknowledged, files)
    assert kills >= MIN_KILLS


def test_import_killed_at_every_statement(engine: Engine, db_url: str, tmp_path: Path) -> None:
    start = write_start(tmp_path)
    assert main(["import", "--db", db_url, "--holdings", str(start)]) == EXIT_OK
    engine.dispose()
    base = pd.read_csv(start, dtype=str)
    current = holdings_now(engine)
    imports, kills, version = 1, 0, 0
    while kills < MIN_KILLS:
        point = 0
        while True:
            point += 1
            version += 1
            frame = base.copy()
            frame.loc[frame["ticker"] == "AAA", "shares"] = [str(600 + version), "400"]
            frame.loc[frame["ticker"] == "CASH", "market_value_usd"] = f"{1000 + version}.25"
            path = tmp_path / f"h{version}.csv"
            frame.to_csv(path, index=False)
            code = _run(["import", "--db", db_url, "--holdings", str(path)], kill_after=point)
            now = holdings_now(engine)
            with engine.connect() as c:
                snapshots = c.execute(sa.select(sa.func.count())
                                      .select_from(holdings_snapshots)).scalar()
            if code is None:
                kills += 1
                assert now == current and snapshots == imports  # as before the run
                continue
            assert code == EXIT_OK
            imports += 1
            assert snapshots == imports
            assert now.positions["AAA"] == 1000 + version
            assert str(now.cash_usd) == f"{1000 + version}.25"
            assert now.lots is not None and len(now.lots) == 4
            current = now
            break


def test_two_fills_at_once_lose_nothing(engine: Engine, db_url: str, tmp_path: Path) -> None:
    assert main(["import", "--db", db_url, "--holdings", str(write_start(tmp_path))]) == EXIT_OK
    engine.dispose()
    by_id: dict[str, dict[str, str]] = {}
    for round_ in range(3):
        pids = []
        for side in ("a", "b"):
            path = tmp_path / f"{side}{round_}.csv"
            rows = write_fills(path, f"C{side}{round_}", 60, seed=round_ * 10 + len(side))
            by_id.update({r["exec_id"]: r for r in rows})
            pid = os.fork()
            if pid == 0:
                code = 98
                try:
                    null = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(null, 1)
                    os.dup2(null, 2)
                    code = main(["fills", "--db", db_url, "--fills", str(path)])
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_OK
        assert set(_recorded(engine)) == set(by_id)
        now = holdings_now(engine)
        assert now.positions == expected(list(by_id.values())).positions
        assert now.cash_usd == expected(list(by_id.values())).cash_usd


def test_a_real_process_killed_at_a_random_time(engine: Engine, db_url: str,
                                                tmp_path: Path) -> None:
    assert main(["import", "--db", db_url, "--holdings", str(write_start(tmp_path))]) == EXIT_OK
    engine.dispose()
    path = tmp_path / "big.csv"
    rows = write_fills(path, "BIG", 1500, seed=11)
    by_id = {r["exec_id"]: r for r in rows}
    command = [sys.executable, "-m", "driftwise", "fills", "--db", db_url, "--fills", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.uniform(0.2, 2.5))
    process.send_signal(signal.SIGKILL)
    code = process.wait()
    acknowledged = set(by_id) if code == EXIT_OK else set()
    _check(engine, by_id, acknowledged, [set(by_id)])
    engine.dispose()
    assert subprocess.run(command, capture_output=True, check=False).returncode == EXIT_OK
    _check(engine, by_id, set(by_id), [set(by_id)])
