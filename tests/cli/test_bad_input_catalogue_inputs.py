"""The bad-input catalogue, issue 12 items 6-8, end to end through the command line.

Dates on the command line (usage errors, exit 2, naming the option and the value),
suspect price jumps and orders above the NAV (exit 3, naming file, row, field, ticker and
date), and a missing or stale VIX (flagged, never "VIX nan"). No case ends in a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.calendar import nyse_sessions
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, main

DATES = nyse_sessions(pd.Timestamp("2024-01-02"), pd.Timestamp("2024-05-31"))
HOLDINGS = "ticker,shares,market_value_usd\nAAA,100,\nBBB,50,\nCASH,,500\n"
TARGETS = "ticker,target_weight\nAAA,0.5\nBBB,0.45\nCASH,0.05\n"


def wide_prices(edit: dict[tuple[str, str], float] | None = None) -> str:
    """Two calm random walks (1% a day) on every session of 2024-01..05, edited."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"AAA": 10 * np.exp(np.cumsum(rng.normal(0, 0.01, len(DATES)))),
                          "BBB": 20 * np.exp(np.cumsum(rng.normal(0, 0.01, len(DATES))))},
                         index=DATES.rename("date")).round(4)
    for (ticker, day), factor in (edit or {}).items():
        frame.loc[pd.Timestamp(day):, ticker] *= factor  # a level shift from `day` on
    return frame.to_csv()


def typo(day: str, factor: float, ticker: str = "AAA") -> str:
    """One wrong close on ``day`` (the next day is right again)."""
    frame = pd.read_csv(pd.io.common.StringIO(wide_prices()), index_col="date")
    frame.loc[day, ticker] *= factor
    return frame.to_csv()


def files(tmp_path: Path, prices: str, holdings: str = HOLDINGS) -> list[str]:
    for name, text in (("h.csv", holdings), ("p.csv", prices), ("t.csv", TARGETS)):
        (tmp_path / name).write_text(text)
    return ["--holdings", str(tmp_path / "h.csv"), "--prices", str(tmp_path / "p.csv"),
            "--targets", str(tmp_path / "t.csv")]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, " ".join(captured.err.replace("│", " ").split())  # rich wraps


# ------------------------------------------------------ item 6: dates on the command line

DATE_OPTIONS = [("plan", "--as-of"), ("plan", "--last-rebalance"), ("monitor", "--as-of"),
                ("monitor", "--last-rebalance"), ("costs", "--as-of"), ("report", "--as-of"),
                ("report", "--last-rebalance"), ("backtest", "--start"), ("backtest", "--end"),
                ("validate-rules", "--start"), ("validate-rules", "--end")]
BAD_DATES = ["2021-02-30", "", "abc", "2021-13-01", "2021/01/04", "20210104", "2021-1-4"]


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize(("command", "option"), DATE_OPTIONS)
def test_bad_date_option_is_a_usage_error(command: str, option: str, value: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([command, option, value], capsys)
    assert code == EXIT_USAGE, err
    assert "Traceback" not in err
    assert f"Invalid value for '{option}'" in err and repr(value) in err


@pytest.mark.parametrize("command", ["plan", "monitor", "report"])
@pytest.mark.parametrize("as_of", [["--as-of", "2024-03-01"], []])
def test_last_rebalance_after_the_as_of_date(command: str, as_of: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = [command, *files(tmp_path, wide_prices()), *as_of, "--last-rebalance", "2024-06-03"]
    code, _, err = run(args, capsys)
    assert code == EXIT_USAGE, err
    assert "Traceback" not in err
    assert "'--last-rebalance'" in err and "2024-06-03 is after" in err
    assert ("2024-03-01" if as_of else "2024-05-31") in err


def test_configured_last_rebalance_after_the_as_of_date(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dw.toml").write_text("[portfolio]\nlast_rebalance = 2024-04-01\n")
    args = ["plan", *files(tmp_path, wide_prices()), "--as-of", "2024-03-01", "--config",
            str(tmp_path / "dw.toml")]
    code, _, err = run(args, capsys)
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert "portfolio.last_rebalance = 2024-04-01 is after the as-of date 2024-03-01" in err


@pytest.mark.parametrize("command", ["backtest", "validate-rules"])
def test_start_after_end(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([command, "--start", "2021-03-01", "--end", "2021-02-01"], capsys)
    assert code == EXIT_USAGE and "Traceback" not in err
    assert "'--start': 2021-03-01 is not before --end 2021-02-01" in err


def test_bad_accept_jump_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["plan", "--accept-jump", "OXY-2020-03-09"], capsys)
    assert code == EXIT_USAGE and "Traceback" not in err
    assert "'--accept-jump'" in err and "TICKER:YYYY-MM-DD" in err


# ---------------------------------------------- item 7: unadjusted splits, typos, the NAV

JUMPS = {  # case: (prices, the jump's date)
    "2-for-1 split, stock +3% that day": (
        wide_prices({("AAA", "2024-05-01"): 0.5 * 1.03}), "2024-05-01"),
    "4-for-1 split, stock -2% that day": (
        wide_prices({("AAA", "2024-05-20"): 0.25 * 0.98}), "2024-05-20"),
    "3-for-2 split, stock +4% that day": (
        wide_prices({("AAA", "2024-03-01"): 2 / 3 * 1.04}), "2024-03-01"),
    "1-for-2 reverse split, stock -3%": (
        wide_prices({("AAA", "2024-04-15"): 2 * 0.97}), "2024-04-15"),
    "price x100 for one day": (typo("2024-05-14", 100.0), "2024-05-14"),
    "price /10 for one day": (typo("2024-04-02", 0.1), "2024-04-02"),
    "price x100 on the as-of date": (typo("2024-05-31", 100.0), "2024-05-31"),
}


@pytest.mark.parametrize("command", ["plan", "monitor"])
@pytest.mark.parametrize("case", list(JUMPS))
def test_suspect_jump_is_refused(command: str, case: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    prices, day = JUMPS[case]
    row = DATES.get_loc(pd.Timestamp(day)) + 2  # header = line 1
    code, out, err = run([command, *files(tmp_path, prices), "--json"], capsys)
    assert code == EXIT_BAD_INPUT, out + err
    assert "Traceback" not in err and out == ""  # no plan, no order
    assert "p.csv" in err and f"row {row}" in err and "field 'AAA'" in err
    assert f"AAA on {day}" in err and f"--accept-jump AAA:{day}" in err


@pytest.mark.parametrize("how", ["option", "config"])
def test_accepted_jump_plans(how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices, day = JUMPS["2-for-1 split, stock +3% that day"]
    args = ["plan", *files(tmp_path, prices), "--json"]
    if how == "option":
        args += ["--accept-jump", f"aaa:{day}"]
    else:
        (tmp_path / "dw.toml").write_text(f'[data]\naccept_jumps = ["AAA:{day}"]\n')
        args += ["--config", str(tmp_path / "dw.toml")]
    code, out, err = run(args, capsys)
    assert code == EXIT_OK, err
    flags = json.loads(out)["flags"]
    assert any(f["flag"] == "price jump accepted" and f["tickers"] == ["AAA"] for f in flags)


def test_backtest_refuses_a_jump_in_its_window_unless_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["backtest", *files(tmp_path, JUMPS["2-for-1 split, stock +3% that day"][0])[2:],
            "--policy", "monthly", "--samples", "50", "--json"]
    code, out, err = run(args, capsys)
    assert code == EXIT_BAD_INPUT and out == "" and "Traceback" not in err
    assert "the prices the backtest reads" in err and "AAA on 2024-05-01" in err
    code, out, err = run([*args, "--accept-jump", "AAA:2024-05-01"], capsys)
    assert code == EXIT_OK, err
    flags = {f["flag"] for f in json.loads(out)["flags"]}
    assert {"price column", "price jump accepted", "no VIX"} <= flags


def test_old_jump_outside_the_window_is_a_flag(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # a split on 2024-01-16, the plan as of 2024-05-31 with a 60-session window
    (tmp_path / "dw.toml").write_text("[risk]\nvol_window_days = 20\ncov_windows_days = [20, 40]"
                                      "\n\n[costs]\nadv_window_days = 20\n")
    args = ["plan", *files(tmp_path, wide_prices({("AAA", "2024-01-16"): 0.5})), "--json",
            "--config", str(tmp_path / "dw.toml")]
    code, out, err = run(args, capsys)
    assert code == EXIT_OK, err
    flags = [f for f in json.loads(out)["flags"] if f["flag"] == "suspect price jump"]
    assert len(flags) == 1 and "AAA on 2024-01-16" in flags[0]["detail"]


def test_order_above_nav_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # short 1,000 BBB (about -20,000 USD) against 20,000 USD of cash: NAV about 1,000 USD,
    # and the target asks to buy BBB back: an order of about 20,000 USD
    holdings = "ticker,shares,market_value_usd\nAAA,100,\nBBB,-1000,\nCASH,,20000\n"
    (tmp_path / "dw.toml").write_text("[constraints]\nlong_only = false\n")
    args = ["plan", *files(tmp_path, wide_prices(), holdings), "--json", "--config",
            str(tmp_path / "dw.toml")]
    code, out, err = run(args, capsys)
    assert code == EXIT_BAD_INPUT, out + err
    assert "Traceback" not in err and out == ""
    assert "plan refused: the order for BBB (BUY" in err and "exceeds the portfolio's NAV" in err
    assert "h.csv" in err and "row 3" in err and "field 'ticker'" in err


# ---------------------------------------------------------------- item 8: the VIX


def vix_file(tmp_path: Path, last: str) -> str:
    days = DATES[pd.Timestamp(last) >= DATES]
    path = tmp_path / "vix.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 18.0}).to_csv(path, index=False)
    return str(path)


def test_no_vix_says_the_stress_delay_is_not_evaluated(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["plan", *files(tmp_path, wide_prices()), "--json"], capsys)
    assert code == EXIT_OK, err
    plan = json.loads(out)
    assert "no VIX: stress delay not evaluated (the methodology's rule 4 needs the VIX)" \
        in plan["reasons"]
    assert not any("nan" in r.lower() for r in plan["reasons"])
    (flag,) = [f for f in plan["flags"] if f["flag"] == "no VIX"]
    assert "stress delay (the methodology's rule 4) is not evaluated" in flag["detail"]
    assert "assume the base (calm) regime" in flag["detail"]


def test_dynamic_threshold_without_vix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dw.toml").write_text('[policy]\ntrigger = "dynamic"\n')
    args = ["plan", *files(tmp_path, wide_prices()), "--json", "--config",
            str(tmp_path / "dw.toml")]
    code, out, err = run(args, capsys)
    assert code == EXIT_OK, err
    reasons = json.loads(out)["reasons"]
    assert any("no VIX: the base regime's threshold assumed" in r for r in reasons), reasons


VIX_ENDS = [  # (last VIX date, the flag, its text): the plan is as of 2024-05-31
    ("2024-05-31", None, ""),
    ("2024-05-24", "VIX carried forward", "VIX 18.00 of 2024-05-24 carried forward 4 session(s)"),
    ("2024-05-22", "no VIX", "the VIX ends on 2024-05-22, 6 sessions before 2024-05-31"),
]


def test_vix_file_ending_before_the_as_of_date(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for last, flag, text in VIX_ENDS:
        args = ["plan", *files(tmp_path, wide_prices()), "--vix", vix_file(tmp_path, last),
                "--json"]
        code, out, err = run(args, capsys)
        assert code == EXIT_OK, err
        plan = json.loads(out)
        vix_flags = [f for f in plan["flags"] if f["flag"] in ("no VIX", "VIX carried forward")]
        if flag is None:  # up to date: no flag
            assert vix_flags == [] and plan["before"]["vix"] == 18.0
            continue
        assert [f["flag"] for f in vix_flags] == [flag] and text in vix_flags[0]["detail"]
        assert (plan["before"]["vix"] == 18.0) == (flag == "VIX carried forward")
        stress = [r for r in plan["reasons"] if "stress" in r]
        assert stress == ["no VIX: stress delay not evaluated (the methodology's rule 4 needs "
                          "the VIX)" if flag == "no VIX" else "no stress delay (VIX 18.0 < 30)"]


def test_validate_rules_reads_vix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vix.csv").write_text("date,close\n2024-01-02,-3\n")
    code, _, err = run(["validate-rules", "--vix", str(tmp_path / "vix.csv")], capsys)
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert "vix.csv" in err and "row 2" in err and "VIX must be positive" in err


def test_vix_option_is_the_vix_file_in_every_command(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vix.csv").write_text("date,close\n2024-01-02,18\n2024-01-03,abc\n")
    for command in ["plan", "monitor", "costs", "report", "backtest", "validate-rules"]:
        code, _, err = run([command, "--vix", str(tmp_path / "vix.csv")], capsys)
        assert code == EXIT_BAD_INPUT, (command, err)
        assert "Traceback" not in err and "vix.csv" in err and "row 3" in err, command


# ------------------------------------------------------ item 3: adjusted closes, named

LONG = ("date,ticker,close,adj_close\n2024-01-02,AAA,10,9\n2024-01-02,BBB,20,19\n"
        "2024-01-03,AAA,10.1,9.1\n2024-01-03,BBB,20.2,19.2\n")


@pytest.mark.parametrize("command", ["plan", "monitor"])
def test_long_file_with_both_closes_uses_the_adjusted_one(command: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    code, out, err = run([command, *files(tmp_path, LONG), "--json"], capsys)
    assert code == EXIT_OK, err
    data = json.loads(out)
    nav = data["nav_usd"] if command == "plan" else data["summary"]["nav_usd"]
    assert nav == pytest.approx(100 * 9.1 + 50 * 19.2 + 500)  # adjusted closes
    details = [f["detail"] for f in data["flags"] if f["flag"] == "price column"]
    assert details == [f"prices from column 'adj_close' of {tmp_path / 'p.csv'}"]
    assert not [f for f in data["flags"] if f["flag"] == "raw closes"]


def test_raw_closes_are_flagged_in_the_plan(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    raw = "\n".join(",".join(line.split(",")[:3]) for line in LONG.splitlines()) + "\n"
    code, out, err = run(["plan", *files(tmp_path, raw), "--json"], capsys)
    assert code == EXIT_OK, err
    (flag,) = [f for f in json.loads(out)["flags"] if f["flag"] == "raw closes"]
    assert flag["detail"].startswith("raw closes: dividends not reinvested; returns and "
                                     "backtests understate total return")
