"""``driftwise backtest --after-tax``: the table, the JSON, the report, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftwise.cli import EXIT_OK, main

from .test_tax_cli import _files


def _args(folder: Path, tax: str = "") -> list[str]:
    """The plan tests' files; the backtest at equal weights from 2023-06-01."""
    args = _files(folder)
    (folder / "dw.toml").write_text(
        f'[portfolio]\ndefault_target = "equal"\n[tax]\nenabled = true\n{tax}',
        encoding="utf-8")
    return [*args, "--start", "2023-06-01"]


def test_backtest_after_tax_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [*_args(tmp_path), "--samples", "100"]
    assert main(["backtest", "--after-tax", *args, "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert set(out["runs"]) == {"tax-aware", "tax-unaware"}
    for run in out["runs"].values():
        assert run["liquidation_value_usd"] == pytest.approx(
            run["final_nav_usd"] - run["liquidation_tax_usd"])
    assert out["tax_alpha_low"] <= out["tax_alpha_high"]
    assert out["tax_alpha"] == pytest.approx(
        out["runs"]["tax-aware"]["after_tax_return_annual"]
        - out["runs"]["tax-unaware"]["after_tax_return_annual"])
    assert [y["year"] for y in out["years"]["tax-aware"]] == [2023, 2024]


def test_backtest_after_tax_table_and_report(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = [*_args(tmp_path), "--samples", "100"]
    report, table = tmp_path / "r.html", tmp_path / "t.csv"
    assert main(["backtest", "--after-tax", *args, "--harvest-every", "never",
                 "--report", str(report), "--table", str(table)]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert "harvest every never" in out and "tax alpha" in out
    assert report.read_text().count('data-figure="aftertax-nav"') == 1
    assert "after_tax_return_annual" in table.read_text()


def test_backtest_after_tax_refuses_an_unpriced_replacement(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(tmp_path, 'harvest_pairs = ["AAA:ZZZ"]\n')
    assert main(["backtest", "--after-tax", *args]) != EXIT_OK
    err = " ".join(capsys.readouterr().err.split())
    assert "harvest_pairs" in err and "ZZZ has no prices" in err


def test_backtest_after_tax_sweep_is_one_call(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = [*_args(tmp_path), "--samples", "60"]
    assert main(["backtest", "--after-tax", *args, "--json"]) == EXIT_OK
    alone = json.loads(capsys.readouterr().out)
    table = tmp_path / "sweep.csv"
    assert main(["backtest", "--after-tax", *args, "--tax-relief", "fifo", "--tax-relief",
                 "hifo", "--harvest-threshold", "0.1", "--harvest-threshold", "0.3",
                 "--table", str(table), "--json"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["lot_relief"], r["harvest_loss_threshold"]) for r in rows] == [
        ("fifo", 0.1), ("fifo", 0.3), ("hifo", 0.1), ("hifo", 0.3)]
    # the configuration's own settings (hifo, 10%) give the single run's numbers
    assert rows[2]["tax_alpha"] == alone["tax_alpha"]
    assert rows[2]["aware_taxes_paid_usd"] == alone["runs"]["tax-aware"]["taxes_paid_usd"]
    assert "tax_alpha_low" in table.read_text()
    assert main(["backtest", "--after-tax", *args, "--tax-relief", "fifo",
                 "--harvest-threshold", "0.3"]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert "After-tax sweep" in out and "tax alpha" in out


def test_backtest_after_tax_options_refused_with_a_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(tmp_path)
    assert main(["backtest", *args, "--tax-relief", "fifo"]) != EXIT_OK
    assert "--after-tax" in capsys.readouterr().err
    assert main(["backtest", "--after-tax", *args, "--tax-relief", "fifo", "--report",
                 str(tmp_path / "r.html")]) != EXIT_OK
    assert "--table" in capsys.readouterr().err
    assert main(["backtest", "--after-tax", *args, "--harvest-swap-back"]) != EXIT_OK
    assert "harvest_pairs" in capsys.readouterr().err
