"""Options given beside the embedded sample are read or refused, never ignored.

``--lots`` splits the sample's positions into lots (the plan's sales then name their
lots and their tax); ``--volumes`` belongs to a ``--prices`` file and is refused
without one, as ``--prices`` is refused without ``--holdings``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, main
from driftwise.data.loader import load_backtest_inputs, load_inputs
from driftwise.data.sample import sample_file
from driftwise.errors import ConfigError


def _sample_lots(path: Path, *, short: int = 0) -> Path:
    """Each sample position in two lots: an old cheap one and a recent dear one."""
    held = pd.read_csv(sample_file("holdings.csv")).dropna(subset=["shares"])
    rows = []
    for ticker, shares in zip(held["ticker"], held["shares"].astype(int), strict=True):
        old = shares // 2
        rows.append((ticker, old, "2020-01-02", old * 10.0))
        rows.append((ticker, shares - old - short, "2022-03-01", (shares - old) * 1000.0))
    pd.DataFrame(rows, columns=["ticker", "shares", "acquired", "cost_basis_usd"]).to_csv(
        path, index=False)
    return path


def _plan(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    assert main(["plan", "--json", *extra]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_lots_split_the_sample_positions(tmp_path: Path) -> None:
    lots = _sample_lots(tmp_path / "lots.csv")
    plain, split = load_inputs(), load_inputs(lots=lots)
    assert plain.holdings.lots is None and split.holdings.lots is not None
    pd.testing.assert_series_equal(split.holdings.shares, plain.holdings.shares)
    assert split.holdings.cash_usd == plain.holdings.cash_usd
    by_ticker = split.holdings.lots.groupby("ticker")["shares"].sum()
    assert (by_ticker.reindex(plain.holdings.shares.index) == plain.holdings.shares).all()


def test_lots_on_the_sample_reach_the_plan(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    without = _plan(capsys)
    with_lots = _plan(capsys, "--lots", str(_sample_lots(tmp_path / "lots.csv")))
    sells = [t for t in with_lots["trades"] if t["side"] == "SELL"]  # type: ignore[attr-defined]
    assert sells and all(str(t["lots"]).startswith("hifo: ") for t in sells)
    assert all(not t.get("lots") for t in without["trades"]  # type: ignore[attr-defined]
               if t["side"] == "SELL")


def test_lots_not_summing_to_the_sample_are_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    lots = _sample_lots(tmp_path / "lots.csv", short=1)
    assert main(["plan", "--lots", str(lots)]) == EXIT_BAD_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "lots.csv" in err and "shares" in err and "Traceback" not in err


def test_volumes_without_prices_are_refused(tmp_path: Path) -> None:
    volumes = tmp_path / "volumes.csv"
    volumes.write_text("date,AAPL\n2022-06-30,100\n")
    with pytest.raises(ConfigError, match="--volumes needs --holdings and --prices"):
        load_inputs(volumes=volumes)
    with pytest.raises(ConfigError, match="--volumes needs --prices"):
        load_backtest_inputs(volumes=volumes)
