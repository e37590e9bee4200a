"""Crash safety: ``fills`` and ``import`` killed (SIGKILL) between any two of their SQL
statements leave a consistent record that has lost nothing acknowledged; two ``fills``
at once never lose one another's fills; a replayed file changes nothing.

Each run is a process forked from a clean fork server (:mod:`tests.record._forked`: the
package already imported and its kernels loaded, so a run takes milliseconds) calling the
command line's ``main`` with an engine of its own (it never touches the test's pooled
connections, and leaves with ``os._exit``); ``DRIFTWISE_RECORD_KILL_AFTER=N`` makes it kill
itself just before its N-th statement (or its commit). The kill point walks every
statement of a run, round after round, with new fills each round. A few real
``python -m driftwise fills`` processes are also killed at random times.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.record import _forked
from tests.record._forked import run as _run
from tests.record.conftest import expected, holdings_now, write_fills, write_start

from driftwise.cli import EXIT_OK, main
from driftwise.record.schema import fills, holdings_snapshots

MIN_KILLS = 50


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
        runs = []
        for side in ("a", "b"):
            path = tmp_path / f"{side}{round_}.csv"
            rows = write_fills(path, f"C{side}{round_}", 60, seed=round_ * 10 + len(side))
            by_id.update({r["exec_id"]: r for r in rows})
            runs.append(_forked.start(["fills", "--db", db_url, "--fills", str(path)]))
        for process in runs:
            assert _forked.finish(process) == EXIT_OK
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


DAILY_ACCOUNTS = ("alpha", "beta")


def _daily_consistent(engine: Engine, days: list[str], done: set[str]) -> None:
    """Each account's plan of a day wholly stored or not at all: every plan has its one
    ``plan`` event and exactly the orders that event counts; no account has two plans of
    a day; only an account's latest plan has proposed orders; every day a run finished
    has a plan for every account."""
    from driftwise.record import read_events
    from driftwise.record.schema import accounts, orders, plans

    with engine.connect() as c:
        plan_rows = list(c.execute(sa.select(plans)))
        counted = {int(e.detail["plan_id"]): int(e.detail["orders"])
                   for e in read_events(c, kind="plan")}
        names = {r.id: r.name for r in c.execute(sa.select(accounts))}
        order_rows = list(c.execute(sa.select(orders.c.plan_id, orders.c.status)))
    assert set(counted) == {r.id for r in plan_rows}
    per_plan: dict[int, int] = {}
    for o in order_rows:
        per_plan[o.plan_id] = per_plan.get(o.plan_id, 0) + 1
    for r in plan_rows:
        assert per_plan.get(r.id, 0) == counted[r.id]
    keys = [(r.account_id, r.as_of) for r in plan_rows]
    assert len(keys) == len(set(keys))
    for account in names:
        mine = sorted((r for r in plan_rows if r.account_id == account),
                      key=lambda r: (r.as_of, r.id))
        proposing = {o.plan_id for o in order_rows if o.status == "proposed"}
        assert all(r.id not in proposing for r in mine[:-1])
    for day in done:
        assert {names[r.account_id] for r in plan_rows if str(r.as_of) == day} == set(
            DAILY_ACCOUNTS)
    assert {str(r.as_of) for r in plan_rows} <= set(days)


def test_daily_killed_at_50_points(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """``daily`` on two accounts killed before one of its statements or its commit, the
    kill point walking the whole run in strides; the run again completes the day."""
    from tests.record.daily_data import fill_record, sample_inputs

    inputs = sample_inputs(first="2021-06-01")
    fill_record(engine, inputs, DAILY_ACCOUNTS)
    engine.dispose()
    config = tmp_path / "tight.toml"
    config.write_text("[policy]\nthreshold = 0.03\nskip_if_cost_exceeds_benefit = false\n")
    days = ["2022-12-13", "2022-12-14", "2022-12-15", "2022-12-16", "2022-12-19",
            "2022-12-20", "2022-12-21", "2022-12-22", "2022-12-23", "2022-12-27",
            "2022-12-28"]
    rng = random.Random(15)
    done: set[str] = set()
    kills = 0
    for day in days:
        argv = ["daily", "--db", db_url, "--as-of", day, "--config", str(config)]
        point, stride = rng.randint(1, 3), rng.randint(2, 4)
        while True:
            code = _run(argv, kill_after=point)
            _daily_consistent(engine, days, done)
            if code is not None:
                assert code == EXIT_OK
                break
            kills += 1
            point += stride
        done.add(day)
        _daily_consistent(engine, days, done)
        if kills >= MIN_KILLS:
            break
    assert kills >= MIN_KILLS
