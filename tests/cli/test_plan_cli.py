"""`driftwise plan` and `driftwise config init` end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, main
from driftwise.config import default_config, load_config


def test_plan_sample_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == EXIT_OK
    out = capsys.readouterr().out
    for text in ["Decision on 2022-12-28: REBALANCE", "portfolio drift 5.08% vs threshold 5.00%",
                 "Quality checks", "Trade list", "Execution schedule", "VIX proxy"]:
        assert text in out


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "rebalance"
    assert len(data["trades"]) == 20
    assert data["after"]["cost_usd"] == pytest.approx(sum(t["cost_usd"] for t in data["trades"]),
                                                      rel=1e-9)
    assert "[policy]" in data["config"]


def test_plan_out_writes_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "--out", str(tmp_path), "--fix"]) == EXIT_OK
    names = {p.name for p in tmp_path.iterdir()}
    assert {"plan.json", "trades.csv", "schedule.csv", "orders.csv", "orders.json",
            "orders.fix"} <= names
    trades = pd.read_csv(tmp_path / "trades.csv", index_col=0)
    orders = pd.read_csv(tmp_path / "orders.csv")
    assert orders.groupby("ticker")["quantity" if "quantity" in orders else "shares"].sum() \
        .reindex(trades.index).tolist() == trades["shares"].tolist()
    fix = (tmp_path / "orders.fix").read_text()
    assert "35=D" in fix and "8=FIX.4.4" in fix


def test_plan_with_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "dw.toml"
    path.write_text("[policy]\nthreshold = 0.06\n")
    assert main(["plan", "--config", str(path), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["decision"] == "skip"


def test_bad_config_exits_3_naming_line_and_field(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    path = tmp_path / "dw.toml"
    path.write_text("[policy]\ntreshold = 0.06\n")
    assert main(["plan", "--config", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "dw.toml" in err and "line 2" in err and "policy.treshold" in err
    assert "Traceback" not in err


def test_bad_holdings_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    holdings = tmp_path / "h.csv"
    holdings.write_text("ticker,shares\nAAPL,-\n")
    prices = tmp_path / "p.csv"
    prices.write_text("date,AAPL\n2024-01-02,1\n")
    assert main(["plan", "--holdings", str(holdings), "--prices", str(prices)]) == EXIT_BAD_INPUT
    assert "h.csv, row 2, field 'shares'" in capsys.readouterr().err


def test_config_init_writes_loadable_default(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    path = tmp_path / "driftwise.toml"
    assert main(["config", "init", str(path)]) == EXIT_OK
    assert load_config(path) == default_config()
    assert main(["config", "init", str(path)]) == EXIT_BAD_INPUT  # refuses to overwrite
    assert "exists" in capsys.readouterr().err
    assert main(["config", "init", str(path), "--force"]) == EXIT_OK


def test_plan_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--as-of"]) == EXIT_USAGE


def test_plan_report_is_written_and_named(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    assert main(["plan", "--report", str(path)]) == EXIT_OK
    assert f"report: {path.resolve()}" in capsys.readouterr().out
    html = path.read_text(encoding="utf-8")
    assert "Decision: REBALANCE" in html and "<script" in html
    assert "cost-benefit on" in html  # the backtest evidence is in the same file
    # self-contained: nothing loaded from a URL (the browser test also runs offline)
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?https?:", html)


def test_report_command_has_plan_and_backtest_pages(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    path = tmp_path / "full.html"
    assert main(["report", "--out", str(path), "--years", "2", "--no-sweep",
                 "--no-validate"]) == EXIT_OK
    assert f"report: {path.resolve()}" in capsys.readouterr().out
    html = path.read_text(encoding="utf-8")
    assert "Decision: REBALANCE" in html
    assert "cost-benefit on 2020-12-28 .. 2022-12-28" in html
    assert html.count("data-figure=") >= 8


def test_plan_out_never_leaves_old_orders_beside_a_new_decision(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A rebalance writes its orders; a skip into the same folder removes them (and an
    unrelated file of the folder stays)."""
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["plan", "--out", str(tmp_path), "--fix"]) == EXIT_OK
    assert (tmp_path / "orders.csv").is_file() and (tmp_path / "orders.fix").is_file()
    skip = tmp_path / "skip.toml"
    skip.write_text("[policy]\nthreshold = 0.9\n")
    assert main(["plan", "--out", str(tmp_path), "--config", str(skip)]) == EXIT_OK
    assert json.loads((tmp_path / "plan.json").read_text())["decision"] == "skip"
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"plan.json", "trades.csv", "notes.txt", "skip.toml"}
    assert main(["plan", "--out", str(tmp_path)]) == EXIT_OK  # a rebalance without --fix
    assert not (tmp_path / "orders.fix").exists() and (tmp_path / "orders.csv").is_file()
