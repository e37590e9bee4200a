"""Loss harvesting: the values worked by hand, and the scan command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.calendar import nyse_sessions
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.tax import TaxRates
from driftwise.tax.harvest import harvest_values

DAY = np.datetime64("2024-06-28")


def test_values_by_hand() -> None:
    # lot 1: short-term, basis 10,000, now 8,000: loss 2,000 (20%)
    # lot 2: long-term, basis 10,000, now 8,500: loss 1,500 (15%)
    # lot 3: loss 900 (9% of 10,000): below the 10% threshold
    # lot 4: loss 800 (40% of 2,000): below USD 1,000
    # lot 5: a gain
    rates = TaxRates(niit=0.038)
    values = harvest_values(
        np.array([100.0, 100.0, 100.0, 20.0, 10.0]),
        np.array([10_000.0, 10_000.0, 10_000.0, 2_000.0, 500.0]),
        np.array(["2024-02-01", "2020-01-02", "2024-02-01", "2024-02-01", "2024-02-01"],
                 dtype="datetime64[D]"),
        np.array([80.0, 85.0, 91.0, 60.0, 60.0]), DAY, rates,
        discount_rate_annual=0.05, years_to_sale=10.0)
    assert values.loss_usd.tolist() == pytest.approx([2_000, 1_500, 900, 800, 0])
    assert values.eligible.tolist() == [True, True, False, False, False]
    r_st, r_lt = 0.37 + 0.038, 0.20 + 0.038
    later = 1.05 ** -10  # 0.613913
    assert values.tax_saved_now_usd[:2] == pytest.approx([2_000 * r_st, 1_500 * r_lt])
    # the short-term loss: arbitrage 2,000 x 0.17 = 340; deferral 2,000 x 0.238 x 0.386
    assert values.arbitrage_usd[:2] == pytest.approx([340.0, 0.0])
    assert values.deferral_usd[:2] == pytest.approx([2_000 * r_lt * (1 - later),
                                                     1_500 * r_lt * (1 - later)])
    # a harvest is worth loss x rate now minus the discounted tax on the lower basis
    assert values.value_usd[:2] == pytest.approx([2_000 * r_st - 2_000 * r_lt * later,
                                                  1_500 * r_lt - 1_500 * r_lt * later])


def _files(folder: Path, *, recent: bool = False) -> list[str]:
    days = nyse_sessions("2023-01-03", "2024-06-28")
    prices = pd.DataFrame({"date": [d.date() for d in days for _ in range(2)],
                           "ticker": ["AAA", "BBB"] * len(days),
                           "close": [40.0, 100.0] * len(days)})
    prices.to_csv(folder / "prices.csv", index=False)
    rows = [("AAA", 100, "2023-01-10", 5_000.0),   # loss 1,000 (20%), long-term
            ("BBB", 100, "2023-01-10", 9_000.0)]   # a gain
    if recent:
        rows.append(("AAA", 10, "2024-06-20", 400.0))  # bought 8 days ago
    lots = pd.DataFrame(rows, columns=["ticker", "shares", "acquired", "cost_basis_usd"])
    lots.to_csv(folder / "holdings.csv", index=False)
    return ["--holdings", str(folder / "holdings.csv"), "--prices", str(folder / "prices.csv")]


def test_harvest_command_lists_candidates(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harvest", *_files(tmp_path), "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    rows = out["candidates"]
    assert [r["lot"] for r in rows] == ["AAA:2023-01-10"]
    row = rows[0]
    assert row["loss_usd"] == pytest.approx(1_000.0) and row["term"] == "LT"
    assert row["deferral_usd"] == pytest.approx(1_000 * 0.238 * (1 - 1.05 ** -10))
    assert row["arbitrage_usd"] == 0.0
    assert row["replacement"] == "cash until 2024-07-29" and row["proposed"] is True


def test_harvest_flags_a_recent_purchase(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harvest", *_files(tmp_path, recent=True), "--json"]) == EXIT_OK
    row = json.loads(capsys.readouterr().out)["candidates"][0]
    assert row["proposed"] is False
    assert row["note"].startswith("wash sale: AAA bought 2024-06-20, within 30 days")


def test_harvest_needs_lots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _files(tmp_path)
    pd.DataFrame({"ticker": ["AAA"], "shares": [100]}).to_csv(tmp_path / "holdings.csv",
                                                             index=False)
    assert main(["harvest", *args]) == EXIT_BAD_INPUT
    assert "loss harvesting needs tax lots" in " ".join(capsys.readouterr().err.split())
