"""`driftwise plan --delayed-since`: the stress delay is counted and capped (issue 12, 12)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.calendar import nyse_sessions
from driftwise.cli import EXIT_OK, EXIT_USAGE, main

SESSIONS = nyse_sessions("2024-01-02", "2024-03-28")


def _files(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(3)
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.01, (len(SESSIONS), 4)), 0)),
                          index=pd.Index(SESSIONS.date, name="date"),
                          columns=["A", "B", "C", "D"])
    prices.to_csv(tmp_path / "p.csv")
    pd.DataFrame({"date": SESSIONS.date, "close": 35.0}).to_csv(tmp_path / "v.csv", index=False)
    last = prices.iloc[-1]
    weights = {"A": 0.31, "B": 0.27, "C": 0.22, "D": 0.20}  # drift 8%: delayed in stress
    rows = [f"{t},{w * 1e6 / last[t]:.6f}" for t, w in weights.items()]
    (tmp_path / "h.csv").write_text("ticker,shares\n" + "\n".join(rows) + "\n")
    (tmp_path / "t.csv").write_text("ticker,target_weight\nA,0.25\nB,0.25\nC,0.25\nD,0.25\n")
    # no skip for cost: the tier cost estimates of this small market exceed its benefit
    (tmp_path / "c.toml").write_text("[policy]\nskip_if_cost_exceeds_benefit = false\n")
    return ["plan", "--config", str(tmp_path / "c.toml"), "--holdings", str(tmp_path / "h.csv"),
            "--prices", str(tmp_path / "p.csv"), "--targets", str(tmp_path / "t.csv"),
            "--vix", str(tmp_path / "v.csv")]


def _plan(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main([*args, "--json"]) == EXIT_OK
    return dict(json.loads(capsys.readouterr().out))


def test_delay_is_counted_from_delayed_since_then_capped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _files(tmp_path)
    first = _plan(args, capsys)
    assert first["decision"] == "delay"
    assert main(args) == EXIT_OK
    assert "--delayed-since 2024-03-28" in capsys.readouterr().out
    # 12 sessions after 2024-03-12 up to 2024-03-28: still delayed, and it says how long
    waiting = _plan([*args, "--delayed-since", "2024-03-12"], capsys)
    assert waiting["decision"] == "delay"
    assert any("12 of at most 20 trading days waited" in r
               for r in waiting["reasons"])  # type: ignore[union-attr]
    # 20 sessions after 2024-02-29: the delay is used up, the plan rebalances and says so
    capped = _plan([*args, "--delayed-since", "2024-02-29"], capsys)
    assert capped["decision"] == "rebalance"
    assert "stress delay of 20 trading days used up: rebalance due now" in capped["reasons"]
    assert not any("delay 10-20" in r for r in capped["reasons"])  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["2024-02-30", "", "soon", "2024-04-02"])
def test_a_bad_delayed_since_is_a_usage_error(value: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*_files(tmp_path), "--delayed-since", value])
    err = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert code == EXIT_USAGE and "Traceback" not in err and "delayed-since" in err
    expected = ("is after the as-of date 2024-03-28" if value == "2024-04-02"
                else f"not a date: '{value}' (expected YYYY-MM-DD)")
    assert expected in err, err
