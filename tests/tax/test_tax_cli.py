"""``driftwise plan`` after tax from files: --sales, --donate-usd, the tables shown."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.calendar import nyse_sessions
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main


def _files(folder: Path) -> list[str]:
    days = nyse_sessions("2023-01-03", "2024-06-28")
    tickers = ["AAA", "BBB", "CCC"]
    rng = np.random.default_rng(3)
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.015, (len(days), 3)), axis=0))
    closes = walk / walk[-1] * np.array([50.0, 40.0, 30.0])  # the last closes: 50, 40, 30
    prices = pd.DataFrame({"date": [d.date() for d in days for _ in tickers],
                           "ticker": tickers * len(days), "close": closes.ravel().round(6)})
    prices.to_csv(folder / "prices.csv", index=False)
    # AAA 50% of NAV (target 1/3) in an old cheap lot and a recent loss lot
    lots = pd.DataFrame([("AAA", 6_000, "2015-01-02", 60_000.0),
                         ("AAA", 4_000, "2023-03-01", 240_000.0),
                         ("BBB", 7_500, "2020-01-02", 300_000.0),
                         ("CCC", 6_666, "2020-01-02", 199_980.0)],
                        columns=["ticker", "shares", "acquired", "cost_basis_usd"])
    lots.to_csv(folder / "holdings.csv", index=False)
    (folder / "dw.toml").write_text("[tax]\nenabled = true\n", encoding="utf-8")
    pd.DataFrame({"ticker": ["CCC"], "sold": ["2024-06-20"], "shares": [10],
                  "proceeds_usd": [300.0], "cost_basis_usd": [500.0]}).to_csv(
        folder / "sales.csv", index=False)
    return ["--holdings", str(folder / "holdings.csv"), "--prices", str(folder / "prices.csv"),
            "--config", str(folder / "dw.toml")]


def test_plan_after_tax_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _files(tmp_path)
    assert main(["plan", *args, "--sales", str(tmp_path / "sales.csv"), "--json"]) == EXIT_OK
    plan = json.loads(capsys.readouterr().out)
    trades = {t["ticker"]: t for t in plan["trades"]}
    # AAA is sold from its loss lot only (2023-03-01, basis 60 > price 50), never from
    # the cheap 2015 lot; CCC was sold at a loss 8 days ago: not bought
    assert trades["AAA"]["side"] == "SELL"
    assert trades["AAA"]["lots"].startswith("hifo: AAA:2023-03-01×")
    assert "AAA:2015-01-02" not in trades["AAA"]["lots"]
    assert trades["AAA"]["tax_usd"] < 0
    assert "CCC" not in trades
    assert any(r.startswith("CCC: not bought") for r in plan["reasons"])
    assert [h["lot"] for h in plan["harvest"]] == ["AAA:2023-03-01"]


def test_plan_shows_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _files(tmp_path)
    assert main(["plan", *args, "--donate-usd", "50000"]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert "Donation (lots given)" in out and "Loss harvest candidates" in out
    assert "donation of USD 50,000.00" in out


def test_a_bad_sales_file_names_its_row(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    args = _files(tmp_path)
    (tmp_path / "sales.csv").write_text(
        "ticker,sold,shares,proceeds_usd,cost_basis_usd\nCCC,2024-06-20,-1,1,1\n",
        encoding="utf-8")
    assert main(["plan", *args, "--sales", str(tmp_path / "sales.csv")]) == EXIT_BAD_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "sales.csv, row 2, field 'shares': shares sold must be positive" in err
