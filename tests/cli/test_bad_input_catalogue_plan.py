"""The bad-input catalogue, part 2: positions the plan cannot trade as asked (issue 12,
items 9 and 10), end to end through the command line.

Each case is either a flagged, documented repair (exit 0, the flag named in the output,
no wrong order) or an error (exit 3, no traceback, the message naming file, row and
field).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftwise.cli import EXIT_BAD_INPUT, main

PRICES = ("date,AAA,BBB\n2024-01-02,10,20\n2024-01-03,10.5,19.5\n2024-01-04,11,19\n"
          "2024-01-05,11.2,19.1\n")
HOLDINGS = "ticker,shares,market_value_usd\nAAA,100,\nBBB,50,\nCASH,,500\n"
TARGETS = "ticker,target_weight\nAAA,0.5\nBBB,0.45\nCASH,0.05\n"
SUSPENDED = "date,AAA,BBB\n2024-01-02,10,20\n2024-01-03,10.5,19.5\n2024-01-04,11,\n"


def _files(tmp_path: Path, **replace: str) -> dict[str, Path]:
    files = {"h.csv": HOLDINGS, "p.csv": PRICES, "t.csv": TARGETS, **replace}
    out = {}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        out[name] = tmp_path / name
    return out


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, " ".join(captured.out.split()), " ".join(captured.err.split())


def _base(files: dict[str, Path], command: str) -> list[str]:
    return [command, "--holdings", str(files["h.csv"]), "--prices", str(files["p.csv"]),
            "--targets", str(files["t.csv"])]


# -- item 10: a delisted or suspended holding ---------------------------------------------

@pytest.mark.parametrize("command", ["monitor", "plan"])
def test_held_ticker_without_price_on_the_as_of_date_is_a_flagged_repair(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _files(tmp_path, **{"p.csv": SUSPENDED})
    code, out, err = _run([*_base(files, command), "--json"], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    data = json.loads(out)
    flags = [f for f in data["flags"] if f["flag"] == "delisted or suspended"]
    assert [f["tickers"] for f in flags] == [["BBB"]]
    assert "no price since 2024-01-03, not traded" in flags[0]["detail"]
    if command == "plan":
        assert "BBB" not in json.dumps(data["trades"])
        assert data["nav_usd"] == pytest.approx(100 * 11 + 50 * 19.5 + 500)
    # a held ticker with no price on or before the as-of date at all stays an error
    never = "date,AAA,BBB\n2024-01-02,10,\n2024-01-03,10.5,\n2024-01-04,11,19\n"
    files = _files(tmp_path, **{"p.csv": never})
    code, _, err = _run([*_base(files, command), "--as-of", "2024-01-03"], capsys)
    assert code == EXIT_BAD_INPUT, err
    assert "Traceback" not in err
    assert "h.csv" in err and "row 3" in err and "'ticker'" in err


# -- item 9a: a held ticker missing from asset-level targets ------------------------------

@pytest.mark.parametrize("command", ["monitor", "plan"])
def test_held_ticker_missing_from_the_targets_is_flagged_by_name(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _files(tmp_path, **{"t.csv": "ticker,target_weight\nAAA,0.95\nCASH,0.05\n"})
    code, out, err = _run([*_base(files, command), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    flags = [f for f in data["flags"] if f["flag"] == "not in the targets"]
    assert [f["tickers"] for f in flags] == [["BBB"]]
    assert "held but not in the targets" in flags[0]["detail"]
    code, out, _ = _run(_base(files, command), capsys)
    assert code == 0 and "not in the targets" in out and "BBB" in out


# -- item 9b: a sale larger than the position ----------------------------------------------

def test_costs_sell_larger_than_the_position_flags_the_short_and_prices_its_borrow(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _files(tmp_path, **{"tr.csv": "ticker,side,shares\nAAA,SELL,150\nBBB,BUY,10\n"})
    args = [*_base(files, "costs"), "--trades", str(files["tr.csv"])]
    code, out, err = _run([*args, "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    flags = [f for f in data["flags"] if f["flag"] == "opens a short"]
    assert [f["tickers"] for f in flags] == [["AAA"]]
    assert "sell exceeds the position: opens a short of 50 shares" in flags[0]["detail"]
    aaa = next(a for a in data["assets"] if a["ticker"] == "AAA")
    # 50 shares short at 11.2 USD, 25 bps a year (the default fee) over 252 trading days
    assert aaa["borrow_usd"] == pytest.approx(50 * 11.2 * 25e-4)
    assert data["totals"]["borrow_usd"] == pytest.approx(aaa["borrow_usd"])
    code, out, _ = _run(args, capsys)
    assert code == 0 and "opens a short of 50 shares" in out and "borrow" in out


# -- item 9d: a cost file dated after the last price ----------------------------------------

@pytest.mark.parametrize("command", ["plan", "costs"])
def test_cost_file_dated_after_the_last_price_is_flagged(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    costs = "ticker,spread_bps,commission_bps,as_of\nAAA,2,1,2024-03-01\nBBB,2,1,2024-01-05\n"
    files = _files(tmp_path, **{"c.csv": costs})
    code, out, err = _run([*_base(files, command), "--cost-file", str(files["c.csv"]),
                           "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    flags = [f for f in data["flags"] if f["flag"] == "costs dated after the as-of date"]
    assert [f["tickers"] for f in flags] == [["AAA"]]
    assert "after the as-of date 2024-01-05" in flags[0]["detail"]


# -- item 9c: a fill repeated with the same execution id -----------------------------------

FILLS = ("ticker,side,shares,price_usd,fee_usd,filled_at,exec_id\n"
         "AAA,BUY,10,11.2,0,2024-01-05T10:00:00,X-1\n"
         "AAA,BUY,10,11.2,0,2024-01-05T10:00:00,X-1\n")


def test_a_fill_repeated_with_its_execution_id_is_applied_once_in_the_file_and_across_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _files(tmp_path, **{"f.csv": FILLS})
    args = ["fills", "--holdings", str(files["h.csv"]), "--fills", str(files["f.csv"]),
            "--out", str(files["h.csv"])]
    code, _, err = _run(args, capsys)
    assert code == 0, err
    text = files["h.csv"].read_text()
    assert "AAA,110" in text  # 100 + 10, once
    code, out, err = _run(args, capsys)
    assert code == 0, err
    assert files["h.csv"].read_text() == text and "already applied" in out


def test_a_repeated_execution_id_with_other_contents_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changed = ("ticker,side,shares,price_usd,fee_usd,filled_at,exec_id\n"
               "AAA,BUY,10,11.2,0,2024-01-05T10:00:00,X-1\n"
               "AAA,BUY,12,11.2,0,2024-01-05T10:00:00,X-1\n")
    files = _files(tmp_path, **{"f.csv": changed})
    code, _, err = _run(["fills", "--holdings", str(files["h.csv"]), "--fills",
                         str(files["f.csv"]), "--out", str(tmp_path / "o.csv")], capsys)
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert "f.csv" in err and "row 3" in err and "'shares'" in err
    assert not (tmp_path / "o.csv").exists()
