"""``driftwise backtest --after-tax``: the table, the JSON, the report, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftwise.cli import EXIT_OK, main

from .test_tax_cli import _files


def _args(folder: Path, tax: str = "") -> list[str]:
    """The plan tests' files; the backtest at equal weights from 2023-06-01."""
    folder.mkdir(parents=True, exist_ok=True)
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
    # no --risk-free: the cash (and the tax on its interest) earns nothing, flagged
    assert [f["flag"] for f in out["flags"]] == ["cash earns nothing"]
    assert "no risk-free rate was given" in out["flags"][0]["detail"]


def test_backtest_after_tax_table_and_report(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = [*_args(tmp_path), "--samples", "100"]
    report, table = tmp_path / "r.html", tmp_path / "t.csv"
    assert main(["backtest", "--after-tax", *args, "--harvest-every", "never",
                 "--report", str(report), "--table", str(table)]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert "harvest every never" in out and "tax alpha" in out
    assert "cash earns nothing" in out  # the flags table
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


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    """The error message on one line, without the box drawn around it."""
    return " ".join(capsys.readouterr().err.replace("│", " ").split())


def test_backtest_after_tax_options_refused_with_a_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(tmp_path)
    assert main(["backtest", "--no-after-tax", *args, "--tax-relief", "fifo"]) != EXIT_OK
    err = _err(capsys)
    assert "--tax-relief" in err and "(--no-after-tax): add --after-tax" in err
    assert main(["backtest", "--after-tax", *args, "--tax-relief", "fifo", "--report",
                 str(tmp_path / "r.html")]) != EXIT_OK
    assert "--table" in capsys.readouterr().err
    assert main(["backtest", "--after-tax", *args, "--harvest-swap-back"]) != EXIT_OK
    assert "harvest_pairs" in capsys.readouterr().err


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["backtest", *args, "--samples", "60", "--json"]) == EXIT_OK
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_tax_enabled_runs_the_backtest_after_tax_and_the_flag_wins(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    on = _args(tmp_path / "on", "")
    (tmp_path / "off").mkdir()
    off = _args(tmp_path / "off")
    (tmp_path / "off" / "dw.toml").write_text(
        '[portfolio]\ndefault_target = "equal"\n[tax]\nenabled = false\n', encoding="utf-8")
    by_config = _json(on, capsys)
    assert set(by_config["runs"]) == {"tax-aware", "tax-unaware"}
    assert "policies" not in by_config
    # the flag wins over the configuration, both ways
    assert "policies" in _json(["--no-after-tax", *on], capsys)
    assert "runs" not in _json(off, capsys)
    by_flag = _json(["--after-tax", *off], capsys)
    assert by_flag["runs"] == by_config["runs"] and by_flag["tax_alpha"] == by_config["tax_alpha"]
    assert main(["backtest", *on]) == EXIT_OK
    assert "After-tax backtest" in capsys.readouterr().out


def test_harvest_in_trades_decides_whether_the_run_harvests(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kept = _json(_args(tmp_path / "kept"), capsys)
    traded = _json(_args(tmp_path / "traded", "harvest_in_trades = true\n"), capsys)
    assert (kept["harvest_every"], traded["harvest_every"]) == ("never", "month")
    assert kept["runs"]["tax-aware"]["n_harvest_days"] == 0.0
    assert kept["runs"]["tax-aware"]["harvested_loss_usd"] == 0.0
    assert traded["runs"]["tax-aware"]["n_harvest_days"] > 0.0
    assert traded["runs"]["tax-aware"]["harvested_loss_usd"] > 0.0
    assert traded["runs"]["tax-aware"] != kept["runs"]["tax-aware"]
    assert traded["runs"]["tax-unaware"] == kept["runs"]["tax-unaware"]  # it never harvests
    # --harvest-every wins over the key, both ways
    forced = _json([*_args(tmp_path / "kept"), "--harvest-every", "month"], capsys)
    assert forced["runs"] == traded["runs"]
    stopped = _json([*_args(tmp_path / "traded", "harvest_in_trades = true\n"),
                     "--harvest-every", "never"], capsys)
    assert stopped["runs"] == kept["runs"]
    assert main(["backtest", *_args(tmp_path / "traded", "harvest_in_trades = true\n"),
                 "--samples", "60"]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert "harvest every month (tax.harvest_in_trades = true)" in out


@pytest.mark.parametrize(("options", "expected"), [
    (["--policy", "monthly"], "--policy: a setting of the comparison of rules before tax"),
    (["--threshold", "0.05"], "--threshold"),
    (["--cost-bps", "10"], "--cost-bps"),
    (["--sweep"], "--sweep"),
    (["--paths-length", "60"], "--paths-length"),
    (["--workers", "2"], "--workers and --scheduler share the runs of an after-tax sweep"),
])
def test_options_of_the_comparison_before_tax_are_refused_after_tax(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str],
        expected: str) -> None:
    assert main(["backtest", *_args(tmp_path), *options]) != EXIT_OK
    err = _err(capsys)
    assert expected in err and "(tax.enabled = true)" in err and "--no-after-tax" in err


def test_tax_options_refused_when_tax_is_off(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(tmp_path)
    (tmp_path / "dw.toml").write_text('[portfolio]\ndefault_target = "equal"\n',
                                      encoding="utf-8")
    for option in (["--harvest-every", "month"], ["--harvest-threshold", "0.2"],
                   ["--harvest-swap-back"]):
        assert main(["backtest", *args, *option]) != EXIT_OK
        err = _err(capsys)
        assert f"{option[0]}: a setting of the after-tax backtest, which is off " \
            "(tax.enabled = false): add --after-tax" in err


def test_the_library_comparison_carries_the_cash_flag(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """``after_tax_compare``'s result carries the flags ``backtest --after-tax`` prints:
    cash earns nothing without a risk-free series, not with one covering the window."""
    import pandas as pd

    import driftwise as dw
    from driftwise.app.aftertax import after_tax_compare

    args = [*_args(tmp_path), "--samples", "100"]
    assert main(["backtest", "--after-tax", *args, "--json"]) == EXIT_OK
    printed = json.loads(capsys.readouterr().out)["flags"]
    config = dw.as_config(tmp_path / "dw.toml")
    files = {"holdings": tmp_path / "holdings.csv", "prices": tmp_path / "prices.csv"}
    plain = after_tax_compare(dw.load(**files, config=config), config, start="2023-06-01",
                              samples=100)
    assert [n.to_dict() for n in plain.notices] == printed
    days = pd.read_csv(files["prices"])["date"].unique()
    earning = after_tax_compare(
        dw.load(**files, config=config, risk_free=pd.Series(0.04, index=pd.to_datetime(days))),
        config, start="2023-06-01", samples=100)
    assert earning.notices == ()
    assert (earning.metrics.loc["tax-unaware", "final_nav_usd"]
            > plain.metrics.loc["tax-unaware", "final_nav_usd"])
