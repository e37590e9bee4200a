"""`driftwise monitor` end to end: sample, JSON, CSV, exit codes 0 / 2 / 3."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.app.monitor import monitor
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, main
from driftwise.data.loader import load_inputs


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_monitor_sample_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["monitor"], capsys)
    assert code == EXIT_OK
    for text in ["Portfolio", "portfolio drift", "TE, full covariance, 252d", "Assets", "AAPL",
                 "Optimal threshold", "square-root formula", "corrected half-band", "VIX proxy"]:
        assert text in out


def test_monitor_json_matches_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["monitor", "--json"], capsys)
    assert code == EXIT_OK
    data = json.loads(out)
    report = monitor(load_inputs())
    assert data["summary"]["portfolio_drift"] == pytest.approx(report.summary["portfolio_drift"])
    assert data["summary"]["te_long"] == pytest.approx(report.summary["te_long"])
    assert {row["ticker"] for row in data["assets"]} == set(report.state.tickers)
    assert data["optimal_threshold"]["square_root_threshold"] > 0
    assert any(f["flag"] == "VIX proxy" for f in data["flags"])
    # drift recomputed independently from the JSON's own weights and targets (cash included)
    w = np.array([r["weight"] for r in data["assets"]])
    t = np.array([r["target"] for r in data["assets"]])
    cash = data["summary"]["cash_weight"] - data["summary"]["target_cash_weight"]
    assert data["summary"]["portfolio_drift"] == pytest.approx(
        0.5 * (np.abs(w - t).sum() + abs(cash)), abs=1e-12)


def test_monitor_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["monitor", "--csv"], capsys)
    assert code == EXIT_OK
    frame = pd.read_csv(io.StringIO(out), index_col=0)
    assert len(frame) == 20 and {"weight", "target", "drift", "drift_speed"} <= set(frame.columns)
    assert frame["weight"].sum() == pytest.approx(1 - 201_098.98 / 10_951_166, abs=1e-3)


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["monitor", "--no-such-option"], capsys)
    assert code == EXIT_USAGE
    assert "no-such-option" in err


def test_holdings_without_prices_is_a_usage_problem(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    holdings = tmp_path / "h.csv"
    holdings.write_text("ticker,shares\nAAPL,1\n")
    code, _, err = run(["monitor", "--holdings", str(holdings)], capsys)
    assert code == EXIT_BAD_INPUT
    assert "--prices" in err and "Traceback" not in err


def _files(tmp_path: Path, holdings: str) -> list[str]:
    (tmp_path / "h.csv").write_text(holdings)
    (tmp_path / "p.csv").write_text("date,A,B\n2024-01-02,10,20\n2024-01-03,11,19\n"
                                    "2024-01-04,12,18\n")
    return ["monitor", "--holdings", str(tmp_path / "h.csv"), "--prices", str(tmp_path / "p.csv")]


def test_monitor_on_user_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run([*_files(tmp_path, "ticker,shares\nA,10\nB,5\n"), "--json"], capsys)
    assert code == EXIT_OK
    data = json.loads(out)
    # no targets: equal weight, flagged; A = 120, B = 90 of NAV 210
    assert data["summary"]["portfolio_drift"] == pytest.approx(0.5 * (2 * abs(120 / 210 - 0.5)))
    flags = {f["flag"] for f in data["flags"]}
    assert "no target specified" in flags and "no last rebalance date" in flags


@pytest.mark.parametrize(("holdings", "expected"), [
    ("ticker,shares\nA,10\nZZZ,5\n", "row 3, field 'ticker'"),
    ("ticker,shares\nA,ten\n", "row 2, field 'shares'"),
    ("ticker,quantity\nA,1\n", "field 'shares'"),
    ("ticker,shares\nA,1\nA,2\n", "row 3, field 'ticker'"),
])
def test_bad_input_exits_3_naming_the_place(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            holdings: str, expected: str) -> None:
    code, _, err = run(_files(tmp_path, holdings), capsys)
    assert code == EXIT_BAD_INPUT
    assert expected in err and "h.csv" in err
    assert "Traceback" not in err


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "h.csv"
    bad.write_bytes(b"ticker,shares\nA,\xff\n")
    result = subprocess.run([sys.executable, "-m", "driftwise", "monitor", "--holdings", str(bad),
                             "--prices", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == EXIT_BAD_INPUT
    assert "not UTF-8" in result.stderr and "Traceback" not in result.stderr
