"""Each execution id is applied once: within a fills file and across runs (issue 12, 9c)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.data.holdings import read_holdings
from driftwise.data.model import Holdings
from driftwise.errors import DataError
from driftwise.execution.fills import apply_fills, read_fills
from driftwise.execution.ledger import read_record, record_path, write_atomically

HEADER = "ticker,side,shares,price_usd,fee_usd,filled_at,exec_id\n"
FILLS = ("AAA,BUY,100,10.5,1.00,2024-06-03T10:00:00,E-1\n"
         "BBB,SELL,40,20,0,2024-06-03T11:15:30,E-2\n")
HOLDINGS = "ticker,shares,market_value_usd\nAAA,10,\nBBB,50,\nCASH,,5000\n"
AS_OF = "2024-06-03"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def holdings() -> Holdings:
    return Holdings(shares=pd.Series({"AAA": 10.0, "BBB": 50.0}).rename_axis("ticker"),
                    cash_usd=5000.0)


def test_a_fill_repeated_in_the_file_is_applied_once(tmp_path: Path) -> None:
    repeat = "AAA,BUY,100,10.5,1.00,2024-06-03T10:00:00,E-1\n"
    path = write(tmp_path / "f.csv", HEADER + FILLS + repeat)
    out = apply_fills(holdings(), read_fills(path, as_of=AS_OF))
    assert out.shares["AAA"] == 110.0 and out.shares["BBB"] == 10.0
    assert out.cash_usd == pytest.approx(5000.0 - 100 * 10.5 - 1.0 + 40 * 20)


def test_a_repeated_id_with_other_contents_names_file_row_and_field(tmp_path: Path) -> None:
    other = "AAA,BUY,100,10.6,1.00,2024-06-03T10:00:00,E-1\n"
    path = write(tmp_path / "f.csv", HEADER + FILLS + other)
    with pytest.raises(DataError) as err:
        apply_fills(holdings(), read_fills(path, as_of=AS_OF))
    text = str(err.value)
    assert "f.csv, row 4, field 'price_usd'" in text and "E-1" in text and "row 2" in text


def test_ids_applied_before_are_skipped_and_a_changed_one_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "f.csv", HEADER + FILLS)
    fills = read_fills(path, as_of=AS_OF)
    first = apply_fills(holdings(), fills)
    applied = {"E-1": {"ticker": "AAA", "side": "BUY", "shares": 100.0, "price_usd": 10.5,
                       "fee_usd": 1.0, "filled_at": "2024-06-03T10:00:00", "account": None},
               "E-2": {"ticker": "BBB", "side": "SELL", "shares": 40.0, "price_usd": 20.0,
                       "fee_usd": 0.0, "filled_at": "2024-06-03T11:15:30", "account": None}}
    again = apply_fills(first, fills, applied=applied)
    pd.testing.assert_series_equal(again.shares, first.shares)
    assert again.cash_usd == first.cash_usd
    applied["E-2"] = {**applied["E-2"], "shares": 41.0}
    with pytest.raises(DataError, match=r"f\.csv, row 3, field 'shares'.*fills record"):
        apply_fills(first, fills, applied=applied)


def _run(tmp_path: Path, holdings_file: Path, fills_file: Path, out: Path,
         capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = main(["fills", "--holdings", str(holdings_file), "--fills", str(fills_file),
                 "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    return dict(json.loads(captured.out))


def test_applying_the_same_file_twice_changes_nothing_the_second_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write(tmp_path / "h.csv", HOLDINGS)
    fills = write(tmp_path / "f.csv", HEADER + FILLS)
    first = _run(tmp_path, book, fills, book, capsys)  # in place
    assert first["applied"] == 2
    after_first = book.read_bytes()
    assert read_holdings(book).shares["AAA"] == 110.0
    second = _run(tmp_path, book, fills, book, capsys)
    assert second["applied"] == 0 and second["already_applied"] == 2
    assert book.read_bytes() == after_first
    assert second["changes"] == []
    # a chain of files: h -> o1 -> o2 gives o2 == o1
    other = write(tmp_path / "h2.csv", HOLDINGS)
    _run(tmp_path, other, fills, tmp_path / "o1.csv", capsys)
    _run(tmp_path, tmp_path / "o1.csv", fills, tmp_path / "o2.csv", capsys)
    assert (tmp_path / "o1.csv").read_bytes() == (tmp_path / "o2.csv").read_bytes()
    # only the two files, no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["f.csv", "h.csv", "h.csv.fills.json", "h2.csv", "o1.csv", "o1.csv.fills.json",
         "o2.csv", "o2.csv.fills.json"])


def test_a_changed_fill_under_an_applied_id_is_an_error_across_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write(tmp_path / "h.csv", HOLDINGS)
    _run(tmp_path, book, write(tmp_path / "f.csv", HEADER + FILLS), book, capsys)
    changed = write(tmp_path / "g.csv", HEADER + FILLS.replace("40,20,0", "40,21,0"))
    code = main(["fills", "--holdings", str(book), "--fills", str(changed), "--out", str(book)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert "g.csv" in err and "row 3" in err and "'price_usd'" in err


def test_a_run_stopped_between_the_two_renames_is_applied_again_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write(tmp_path / "h.csv", HOLDINGS)
    fills = write(tmp_path / "f.csv", HEADER + FILLS)
    original = book.read_bytes()
    _run(tmp_path, book, fills, book, capsys)
    done = book.read_bytes()
    book.write_bytes(original)  # as if the holdings rename never happened
    record = read_record(book)
    assert record.fills == {} and "never reached" in record.note
    _run(tmp_path, book, fills, book, capsys)
    assert book.read_bytes() == done


def test_write_is_atomic_and_the_record_names_its_holdings(tmp_path: Path) -> None:
    out = write_atomically(holdings(), tmp_path / "x.csv", {}, ())
    record = json.loads(record_path(out).read_text())
    assert record["holdings_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["previous_sha256"] is None
