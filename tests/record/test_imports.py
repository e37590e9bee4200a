"""``driftwise import``: the files driftwise reads, stored in one transaction, with what
changed reported; an import of the same files changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.record.conftest import START, START_CASH, holdings_now, write_start

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.record.events import read_events
from driftwise.record.schema import (
    cost_snapshots,
    holdings_snapshots,
    lots,
    market_series,
    prices,
    securities,
    target_versions,
    target_weights,
)


def _import(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict]:
    capsys.readouterr()
    code = main(["import", "--db", db_url, "--json", *args])
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    return {c["table"]: c for c in json.loads(out.out)["changes"]}


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar())


def test_holdings_import_then_reimport_then_change(engine: Engine, db_url: str,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = write_start(tmp_path)
    first = _import(db_url, capsys, "--holdings", str(path))
    assert first["positions"] == {"table": "positions", "added": 4, "changed": 0, "removed": 0}
    assert first["lots"]["added"] == 4
    now = holdings_now(engine)
    assert now.positions == {t: s for t, (s, _) in START.items()}
    assert now.cash_usd == START_CASH  # the file's text, exactly
    assert {(lot.ticker, lot.shares, lot.cost_basis_usd) for lot in now.lots or ()} == {
        (t, Decimal(s), Decimal(b)) for t, (_, ls) in START.items() for _, s, b in ls}
    again = _import(db_url, capsys, "--holdings", str(path))
    assert all(c["added"] == c["changed"] == c["removed"] == 0 for c in again.values())
    assert _count(engine, holdings_snapshots) == 1
    frame = pd.read_csv(path)
    frame = frame[frame["ticker"] != "CCC"]  # CCC sold off, BBB's lot changed, DDD new
    frame.loc[frame["ticker"] == "BBB", "shares"] = 400.5
    frame = pd.concat([frame, pd.DataFrame([{"ticker": "DDD", "shares": 10,
                                             "acquired": "2023-01-03",
                                             "cost_basis_usd": 1000}])])
    frame.to_csv(path, index=False)
    third = _import(db_url, capsys, "--holdings", str(path))
    assert third["positions"] == {"table": "positions", "added": 1, "changed": 1, "removed": 1}
    assert third["lots"] == {"table": "lots", "added": 1, "changed": 1, "removed": 1}
    assert _count(engine, holdings_snapshots) == 2  # the first state is kept
    assert _count(engine, lots) == 8
    with engine.connect() as connection:
        kinds = [e.kind for e in read_events(connection)]
    assert kinds == ["migrate", "import", "import"]


def test_targets_master_costs_prices(engine: Engine, db_url: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("ticker,target_weight,band_abs\nAAA,0.5,0.05\nBBB,0.3,\nCCC,0.2,\n")
    master = tmp_path / "master.csv"
    master.write_text("ticker,sector,market_cap_usd\nAAA,Tech,1e9\nBBB,Energy,2e9\n"
                      "CCC,Energy,\n")
    costs = tmp_path / "costs.csv"
    costs.write_text("ticker,spread_bps,commission_bps,as_of\nAAA,5,1,2023-01-03\n"
                     "BBB,,1,2023-01-03\n")
    px = tmp_path / "prices.csv"
    px.write_text("date,ticker,close,volume\n2023-01-03,AAA,10.5,100\n2023-01-03,BBB,20,200\n"
                  "2023-01-04,AAA,10.75,150\n2023-01-04,BBB,20.25,250\n")
    vix = tmp_path / "vix.csv"
    vix.write_text("date,close\n2023-01-03,22.9\n2023-01-04,21.13\n")
    first = _import(db_url, capsys, "--targets", str(targets), "--master", str(master),
                    "--cost-file", str(costs), "--prices", str(px), "--vix", str(vix))
    assert [first[k]["added"] for k in ("targets", "securities", "cost_snapshots", "prices",
                                        "vix")] == [3, 3, 2, 4, 2]
    again = _import(db_url, capsys, "--targets", str(targets), "--master", str(master),
                    "--cost-file", str(costs), "--prices", str(px), "--vix", str(vix))
    assert all(c["added"] == c["changed"] == c["removed"] == 0 for c in again.values())
    targets.write_text("ticker,target_weight,band_abs,effective_date\nAAA,0.6,0.05,2023-02-01\n"
                       "BBB,0.4,,2023-02-01\n")
    master.write_text("ticker,sector,market_cap_usd\nAAA,Tech,1.5e9\nBBB,Energy,2e9\n")
    px.write_text("date,ticker,close,volume\n2023-01-04,AAA,10.8,150\n2023-01-05,AAA,11,90\n")
    third = _import(db_url, capsys, "--targets", str(targets), "--master", str(master),
                    "--prices", str(px))
    assert third["targets"] == {"table": "targets", "added": 0, "changed": 2, "removed": 1}
    assert third["securities"] == {"table": "securities", "added": 0, "changed": 1,
                                   "removed": 1}
    assert third["prices"] == {"table": "prices", "added": 1, "changed": 1, "removed": 0}
    with engine.connect() as c:
        versions = c.execute(sa.select(target_versions).order_by(target_versions.c.id)).all()
        assert [str(v.effective_date) for v in versions] == ["None", "2023-02-01"]
        weights = dict(c.execute(sa.select(target_weights.c.key, target_weights.c.weight)
                                 .where(target_weights.c.version_id == versions[1].id)).all())
        assert weights == {"AAA": Decimal("0.6"), "BBB": Decimal("0.4")}
        live = dict(c.execute(sa.select(securities.c.ticker, securities.c.market_cap_usd)
                              .where(securities.c.valid_to.is_(None))).all())
        assert live == {"AAA": Decimal("1500000000.0"), "BBB": Decimal("2000000000.0")}
        assert c.execute(sa.select(sa.func.count()).select_from(securities)).scalar() == 4
        close = c.execute(sa.select(prices.c.close_usd).where(
            (prices.c.ticker == "AAA") & (prices.c.date == pd.Timestamp("2023-01-04").date())
        )).scalar()
        assert close == Decimal("10.8")
        spreads = dict(c.execute(sa.select(cost_snapshots.c.ticker, cost_snapshots.c.spread_bps))
                       .all())
        assert spreads == {"AAA": Decimal("5.0"), "BBB": None}
        closes = c.execute(sa.select(market_series.c.value).where(
            market_series.c.series == "vix").order_by(market_series.c.date)).scalars().all()
        assert closes == [Decimal("22.9"), Decimal("21.13")]


def test_a_bad_file_stores_nothing_and_names_row_and_field(
        engine: Engine, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    good = write_start(tmp_path)
    bad = tmp_path / "targets.csv"
    bad.write_text("ticker,target_weight\nAAA,0.5\nBBB,abc\n")
    capsys.readouterr()
    code = main(["import", "--db", db_url, "--holdings", str(good), "--targets", str(bad)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert "row 3" in err and "target_weight" in err and "Traceback" not in err
    assert _count(engine, holdings_snapshots) == 0


def test_import_needs_a_file_and_an_initialised_record(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["import", "--db", str(tmp_path / "r.sqlite")]) == 2
    code = main(["import", "--db", str(tmp_path / "r.sqlite"), "--holdings",
                 str(write_start(tmp_path))])
    assert code == EXIT_BAD_INPUT
    assert "driftwise init" in capsys.readouterr().err
