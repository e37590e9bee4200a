"""`driftwise fills` and the holdings writer."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.data.holdings import read_holdings, write_holdings
from driftwise.data.sample import sample_file


def test_fills_update_holdings_and_cash(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    fills = tmp_path / "fills.csv"
    fills.write_text("ticker,side,shares,price_usd,fee_usd,filled_at\n"
                     "AAPL,BUY,664,125.70,1.5,2022-12-29T10:15:00\n"
                     "XOM,SELL,886,106.60,1.2,2022-12-29T11:00:00\n")
    out = tmp_path / "new.csv"
    code = main(["fills", "--holdings", str(sample_file("holdings.csv")), "--fills", str(fills),
                 "--out", str(out), "--json"])
    assert code == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["last_rebalance"] == "2022-12-29"
    after = read_holdings(out)
    assert after.shares["AAPL"] == 3605 + 664 and after.shares["XOM"] == 5919 - 886
    expected_cash = 201_098.98 - 664 * 125.70 - 1.5 + 886 * 106.60 - 1.2
    assert after.cash_usd == pytest.approx(expected_cash, abs=1e-6)


def test_overselling_fills_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fills = tmp_path / "fills.csv"
    fills.write_text("ticker,side,shares,price_usd\nAAPL,SELL,999999,125\n")
    code = main(["fills", "--holdings", str(sample_file("holdings.csv")), "--fills", str(fills),
                 "--out", str(tmp_path / "x.csv")])
    assert code == EXIT_BAD_INPUT
    assert "fills.csv" in capsys.readouterr().err


def test_write_holdings_round_trip_positions_and_lots(tmp_path: Path) -> None:
    positions = read_holdings(sample_file("holdings.csv"))
    back = read_holdings(write_holdings(positions, tmp_path / "p.csv"))
    pd.testing.assert_series_equal(back.shares, positions.shares)
    assert back.cash_usd == pytest.approx(positions.cash_usd)
    lots_file = tmp_path / "lots.csv"
    lots_file.write_text("ticker,shares,acquired,cost_basis_usd,account\n"
                         "AAPL,10,2020-01-02,700,IRA\nAAPL,5,2021-06-01,650,IRA\n"
                         "MSFT,3,2019-03-04,330,TAX\nCASH,1000,,,\n")
    lots = read_holdings(lots_file, every_account=True)
    again = read_holdings(write_holdings(lots, tmp_path / "l.csv"), every_account=True)
    pd.testing.assert_series_equal(again.shares, lots.shares)
    assert again.lots is not None and lots.lots is not None
    assert len(again.lots) == 3
    assert again.lots["cost_basis_usd"].sum() == pytest.approx(1680.0)
    assert again.cash_usd == pytest.approx(lots.cash_usd)
