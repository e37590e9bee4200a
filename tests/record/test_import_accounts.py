"""``driftwise import`` of a holdings file naming several accounts: refused without
--account or --all (file, row, field, nothing stored); --all stores each account on its
own, the shared targets into each; --account picks one; daily then plans them all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.record.conftest import holdings_now

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.record.schema import accounts, target_versions

BOOK = """ticker,shares,acquired,cost_basis_usd,account,market_value_usd
AAA,10,2021-03-01,500,ira,
BBB,4,2020-01-02,80,ira,
CASH,,,,ira,1000.25
AAA,3,2022-06-01,150,joint,
CASH,,,,joint,20
"""


def _book(folder: Path) -> Path:
    path = folder / "book.csv"
    path.write_text(BOOK)
    return path


def _names(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return list(c.execute(sa.select(accounts.c.name).order_by(accounts.c.name)).scalars())


def test_a_book_is_refused_without_account_or_all(engine: Engine, db_url: str,
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import", "--db", db_url, "--holdings", str(_book(tmp_path))])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert "book.csv" in err and "row 5" in err and "field 'account'" in err
    assert _names(engine) == []


def test_all_imports_each_account(engine: Engine, db_url: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("ticker,target_weight\nAAA,0.5\nBBB,0.5\n")
    code = main(["import", "--db", db_url, "--holdings", str(_book(tmp_path)), "--all",
                 "--targets", str(targets), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and out["account"] == ["ira", "joint"]
    assert _names(engine) == ["ira", "joint"]
    ira, joint = holdings_now(engine, "ira"), holdings_now(engine, "joint")
    assert {p: float(s) for p, s in ira.positions.items()} == {"AAA": 10.0, "BBB": 4.0}
    assert float(ira.cash_usd) == 1000.25
    assert {p: float(s) for p, s in joint.positions.items()} == {"AAA": 3.0}
    assert float(joint.cash_usd) == 20.0
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(target_versions)
                         ).scalar_one() == 2
    again = main(["import", "--db", db_url, "--holdings", str(_book(tmp_path)), "--all",
                  "--targets", str(targets), "--json"])
    assert again == EXIT_OK
    rows = json.loads(capsys.readouterr().out)["changes"]
    assert all(r["added"] == r["changed"] == r["removed"] == 0 for r in rows)


def test_account_imports_one(engine: Engine, db_url: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--db", db_url, "--holdings", str(_book(tmp_path)),
                 "--account", "joint"]) == EXIT_OK
    assert _names(engine) == ["joint"]
    assert {p: float(s) for p, s in holdings_now(engine, "joint").positions.items()} == {
        "AAA": 3.0}
    assert main(["import", "--db", db_url, "--holdings", str(_book(tmp_path)),
                 "--account", "roth"]) == EXIT_BAD_INPUT
    assert "no account 'roth'" in capsys.readouterr().err


def test_a_file_of_one_named_account_is_imported_under_its_name(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("ticker,shares,account\nAAA,5,trust\n")
    assert main(["import", "--db", db_url, "--holdings", str(path)]) == EXIT_OK
    assert _names(engine) == ["trust"]
