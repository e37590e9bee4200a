"""``driftwise fills --record``: holdings, lots, orders and the last rebalance in one
transaction, each execution once; the result checked against an exact oracle."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from tests.record.conftest import expected, holdings_now, write_fills, write_start

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.data.holdings import read_holdings
from driftwise.execution import apply_fills, read_fills
from driftwise.record import open_engine, transaction
from driftwise.record.fills import apply_record_fills
from driftwise.record.holdings import account_id
from driftwise.record.schema import accounts, fills, holdings_snapshots


def _ready(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--db", db_url, "--holdings", str(write_start(tmp_path))]) == EXIT_OK
    capsys.readouterr()


def _fills(db_url: str, path: Path, capsys: pytest.CaptureFixture[str], *more: str
           ) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["fills", "--db", db_url, "--fills", str(path), *more])
    out = capsys.readouterr()
    return code, out.out, " ".join(out.err.split())


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(table)).scalar())


def test_fills_equal_the_exact_oracle_and_replay_changes_nothing(
        engine: Engine, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _ready(db_url, tmp_path, capsys)
    rows = write_fills(tmp_path / "f.csv", "X", 40, seed=3)
    code, out, err = _fills(db_url, tmp_path / "f.csv", capsys, "--json")
    assert code == EXIT_OK, err
    assert json.loads(out)["applied"] == 40
    assert holdings_now(engine) .positions == expected(rows).positions
    assert holdings_now(engine).cash_usd == expected(rows).cash_usd  # to the cent and beyond
    before = {t.name: _count(engine, t) for t in (fills, holdings_snapshots)}
    code, out, _ = _fills(db_url, tmp_path / "f.csv", capsys, "--json")
    assert code == EXIT_OK and json.loads(out)["already_applied"] == 40
    assert {t.name: _count(engine, t) for t in (fills, holdings_snapshots)} == before
    with engine.connect() as c:
        last = c.execute(sa.select(accounts.c.last_rebalance)).scalar()
    assert str(last) == "2023-03-01"  # drift tracking resets at the last fill


def test_lots_are_relieved_as_the_file_based_command_relieves_them(
        engine: Engine, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _ready(db_url, tmp_path, capsys)
    write_fills(tmp_path / "f.csv", "L", 30, seed=5)
    assert _fills(db_url, tmp_path / "f.csv", capsys, "--relief", "fifo")[0] == EXIT_OK
    on_file = apply_fills(read_holdings(tmp_path / "holdings.csv"),
                          read_fills(tmp_path / "f.csv"), relief="fifo")
    assert on_file.lots is not None
    recorded = holdings_now(engine).lots or ()
    assert sorted((lot.ticker, str(lot.acquired), float(lot.shares), float(lot.cost_basis_usd))
                  for lot in recorded) == sorted(
        (str(t), str(pd.Timestamp(a).date()), float(s), float(b)) for t, a, s, b in zip(
            on_file.lots["ticker"], on_file.lots["acquired"], on_file.lots["shares"],
            on_file.lots["cost_basis_usd"], strict=True))


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_any_split_and_any_replay_order_gives_the_oracle(seed: int, parts: int) -> None:
    """Fills split into files, applied in a random order with repeats: every execution
    counts once."""
    import tempfile

    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'r.sqlite'}"
    assert main(["init", "--db", url]) == EXIT_OK
    assert main(["import", "--db", url, "--holdings", str(write_start(folder))]) == EXIT_OK
    rows = write_fills(folder / "all.csv", "H", 24, seed=seed)
    frame = pd.read_csv(folder / "all.csv", dtype=str)
    files = []
    for k in range(parts):
        path = folder / f"part{k}.csv"
        frame.iloc[k::parts].to_csv(path, index=False)
        files.append(path)
    rng = random.Random(seed)
    order = files + [rng.choice(files) for _ in range(parts)]
    rng.shuffle(order)
    engine = open_engine(url)
    for path in order:
        table = read_fills(path)
        transaction(engine, lambda c, t=table: apply_record_fills(c, "main", t))
    now = holdings_now(engine)
    assert now.positions == expected(rows).positions
    assert now.cash_usd == expected(rows).cash_usd
    assert _count(engine, fills) == 24
    engine.dispose()


def test_bad_fills_are_clear_errors_and_change_nothing(
        engine: Engine, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _ready(db_url, tmp_path, capsys)
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("ticker,side,shares,price_usd,filled_at\nAAA,BUY,1,10,2023-03-01\n")
    code, _, err = _fills(db_url, no_id, capsys)
    assert code == EXIT_BAD_INPUT and "row 2" in err and "exec_id" in err
    oversell = tmp_path / "oversell.csv"
    oversell.write_text("ticker,side,shares,price_usd,filled_at,exec_id\n"
                        "AAA,BUY,1,10,2023-03-01,A1\nAAA,SELL,5000,10,2023-03-02,A2\n")
    code, _, err = _fills(db_url, oversell, capsys)
    assert code == EXIT_BAD_INPUT and "row 3" in err and "shares" in err
    assert _count(engine, fills) == 0  # A1 was not kept either: one transaction
    ok = tmp_path / "ok.csv"
    ok.write_text("ticker,side,shares,price_usd,filled_at,exec_id\nAAA,BUY,1,10,2023-03-01,A1\n")
    assert _fills(db_url, ok, capsys)[0] == EXIT_OK
    other = tmp_path / "other.csv"
    other.write_text("ticker,side,shares,price_usd,filled_at,exec_id\n"
                     "AAA,BUY,2,10,2023-03-01,A1\n")
    code, _, err = _fills(db_url, other, capsys)
    assert code == EXIT_BAD_INPUT and "A1 repeated with other contents" in err
    assert "shares" in err and "Traceback" not in err
    code, _, err = _fills(db_url, ok, capsys, "--account", "nobody")
    assert code == EXIT_BAD_INPUT and "no account 'nobody'" in err
    code, _, err = _fills(db_url, ok, capsys, "--holdings", str(tmp_path / "holdings.csv"))
    assert code == 2


def test_without_the_record_fills_needs_its_files(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.csv"
    write_fills(path, "F", 2, seed=1)
    assert main(["fills", "--fills", str(path)]) == 2
    assert "--holdings" in capsys.readouterr().err


def test_the_account_is_locked_and_fills_belong_to_their_account(
        engine: Engine, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _ready(db_url, tmp_path, capsys)
    assert main(["import", "--db", db_url, "--account", "second", "--holdings",
                 str(tmp_path / "holdings.csv")]) == EXIT_OK
    write_fills(tmp_path / "f.csv", "S", 3, seed=2)
    assert _fills(db_url, tmp_path / "f.csv", capsys)[0] == EXIT_OK
    code, _, err = _fills(db_url, tmp_path / "f.csv", capsys, "--account", "second")
    assert code == EXIT_BAD_INPUT and "another account" in err
    with engine.connect() as c:
        assert account_id(c, "second") != account_id(c, "main")
    assert holdings_now(engine, "second").positions == expected([]).positions
    assert holdings_now(engine, "main").cash_usd != expected([]).cash_usd
    assert Decimal(0) not in holdings_now(engine).positions.values()
