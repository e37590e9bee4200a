"""`driftwise costs` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--json" in args else {}), err


def test_default_prices_a_full_rebalance_of_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    code, data, _ = run(["costs", "--json"], capsys)
    assert code == EXIT_OK
    rows = data["assets"]
    assert len(rows) == 20
    # every component adds up, and the total in bps of NAV is recomputed independently
    for r in rows:
        parts = r["spread_usd"] + r["commission_usd"] + r["impact_usd"] + r["flat_usd"] + \
            r["borrow_usd"]
        assert r["total_usd"] == pytest.approx(parts, rel=1e-12)
        # half-spread in bps is half the quoted spread of the sample cost file when trading
        if r["trade_usd"] != 0:
            assert r["spread_usd"] == pytest.approx(abs(r["trade_usd"]) * r["spread_bps"] / 1e4)
    total = sum(r["total_usd"] for r in rows)
    totals = data["totals"]
    assert totals["total_usd"] == pytest.approx(total)
    assert totals["total_bps_nav"] == pytest.approx(1e4 * total / totals["nav_usd"])
    assert any(f["flag"] == "estimated liquidity" for f in data["flags"])


def test_flat_cost_replaces_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, data, _ = run(["costs", "--cost-bps", "20", "--json"], capsys)
    assert code == EXIT_OK
    traded = sum(abs(r["trade_usd"]) for r in data["assets"])
    assert data["totals"]["total_usd"] == pytest.approx(traded * 20e-4)


def test_almgren_is_cheaper_than_square_root_here(capsys: pytest.CaptureFixture[str]) -> None:
    _, sqrt, _ = run(["costs", "--json"], capsys)
    _, ath, _ = run(["costs", "--impact-model", "almgren_2005", "--json"], capsys)
    assert ath["totals"]["total_usd"] < sqrt["totals"]["total_usd"]


def test_higher_vix_costs_more(capsys: pytest.CaptureFixture[str]) -> None:
    _, calm, _ = run(["costs", "--vix-level", "12", "--json"], capsys)
    _, stress, _ = run(["costs", "--vix-level", "45", "--json"], capsys)
    assert stress["totals"]["total_usd"] > calm["totals"]["total_usd"]


def test_trade_list_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trades = tmp_path / "t.csv"
    trades.write_text("ticker,side,shares\nAAPL,BUY,100\nXOM,SELL,50\n")
    code, data, _ = run(["costs", "--trades", str(trades), "--json"], capsys)
    assert code == EXIT_OK
    traded = {r["ticker"]: r["trade_usd"] for r in data["assets"] if r["trade_usd"] != 0}
    assert set(traded) == {"AAPL", "XOM"}
    assert np.sign(traded["AAPL"]) == 1 and np.sign(traded["XOM"]) == -1


def test_bad_trade_list_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trades = tmp_path / "t.csv"
    trades.write_text("ticker,trade_usd\nNOPE,100\n")
    code, _, err = run(["costs", "--trades", str(trades)], capsys)
    assert code == EXIT_BAD_INPUT and "row 2, field 'ticker'" in err


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["costs"])
    out = capsys.readouterr().out
    assert code == EXIT_OK and "half-spread" in out and "total cost (bps of NAV)" in out
