"""`driftwise backtest --paths-length`: every rule over many paths, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main

ARGS = ["backtest", "--start", "2019-01-02", "--end", "2019-09-30", "--samples", "50",
        "--policy", "monthly", "--policy", "never", "--paths-length", "63",
        "--paths-step", "100", "--paths-portfolios", "1", "--paths-size", "5",
        "--paths-seed", "3"]


def test_json_and_report_carry_the_paths(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.html"
    assert main([*ARGS, "--json", "--report", str(report)]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    paths = data["paths"]
    assert paths["n_paths"] == 2 and paths["n_starts"] == 2
    assert paths["settings"]["portfolios"] == 1 and paths["settings"]["seed"] == 3
    ranking = {row["config"]: row for row in paths["ranking"]}
    assert set(ranking) == {"monthly", "never"}
    for row in ranking.values():
        assert row["score_low"] <= row["score"] <= row["score_high"]
    assert {d["metric"] for d in paths["differences"]} >= {"te_annual", "score"}
    assert len({tuple(p["tickers"].split()) for p in paths["paths"]}) == 2
    assert data["ranking_basis"].startswith("ranked by the mean over the window's calendar "
                                            "years")
    assert data["ranking_basis"].endswith("the ranking across many paths stands beside it")
    html = report.read_text(encoding="utf-8")
    assert "backtest-paths" in html and "Across many paths" in html


def test_terminal_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(ARGS) == EXIT_OK
    out = capsys.readouterr().out
    assert "Across 2 paths" in out and "P(a beats b)" in out
    assert "Ranking over the window's 1 calendar years" in " ".join(out.split())
    assert "the ranking across many paths stands beside it" in " ".join(out.split())
    assert "moving-block bootstrap over start dates" in out


def test_a_window_shorter_than_a_path_is_a_clear_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = [a if a != "63" else "400" for a in ARGS]
    assert main(args) == EXIT_BAD_INPUT
    assert "fewer than one path" in capsys.readouterr().err
