"""read_trades: three layouts and their bad inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from driftwise.data.trades import read_trades
from driftwise.errors import DataError

PRICES = pd.Series({"A": 10.0, "B": 50.0})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trades.csv"
    path.write_text(text)
    return path


def test_usd_layout(tmp_path: Path) -> None:
    got = read_trades(write(tmp_path, "ticker,trade_usd\nA,1000\nb,-500\n"), PRICES)
    assert got.to_dict() == {"A": 1000.0, "B": -500.0}


def test_signed_shares_layout(tmp_path: Path) -> None:
    got = read_trades(write(tmp_path, "ticker,shares\nA,3\nB,-2\n"), PRICES)
    assert got.to_dict() == {"A": 30.0, "B": -100.0}


def test_side_layout(tmp_path: Path) -> None:
    got = read_trades(write(tmp_path, "ticker,side,shares\nA,BUY,3\nB,sell,2\n"), PRICES)
    assert got.to_dict() == {"A": 30.0, "B": -100.0}


@pytest.mark.parametrize(("text", "place"), [
    ("ticker,trade_usd\nA,1\nA,2\n", "row 3, field 'ticker'"),
    ("ticker,trade_usd\nZZ,1\n", "row 2, field 'ticker'"),
    ("ticker,trade_usd\nA,x\n", "row 2, field 'trade_usd'"),
    ("ticker,amount\nA,1\n", "row 1, field 'trade_usd'"),
    ("ticker,side,shares\nA,HOLD,1\n", "row 2, field 'side'"),
    ("ticker,side,shares\nA,BUY,-1\n", "row 2, field 'shares'"),
])
def test_bad_trade_lists(tmp_path: Path, text: str, place: str) -> None:
    with pytest.raises(DataError) as err:
        read_trades(write(tmp_path, text), PRICES)
    assert "trades.csv" in str(err.value) and place in str(err.value)
