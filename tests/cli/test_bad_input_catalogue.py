"""The bad-input catalogue of issue 2, end to end through the command line.

Each case: exit code 3, no traceback, and a message naming the file, the row (line
number, header = line 1) and the field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwise.cli import EXIT_BAD_INPUT, main

PRICES = ("date,AAA,BBB\n2024-01-02,10,20\n2024-01-03,10.5,19.5\n2024-01-04,11,19\n"
          "2024-01-05,11.2,19.1\n")
HOLDINGS = "ticker,shares,market_value_usd\nAAA,100,\nBBB,50,\nCASH,,500\n"
TARGETS = "ticker,target_weight\nAAA,0.5\nBBB,0.45\nCASH,0.05\n"

# case: (file to replace, its content, extra args, (file, row, field) expected in the message)
CASES: dict[str, tuple[str, bytes | str, list[str], tuple[str, str, str]]] = {
    "missing columns": ("h.csv", "ticker,quantity\nAAA,1\n", [], ("h.csv", "row 1", "shares")),
    "wrong type": ("h.csv", "ticker,shares\nAAA,1\nBBB,lots\n", [], ("h.csv", "row 3", "shares")),
    "NaN price": ("p.csv", PRICES.replace("10.5,19.5", "NaN,19.5"), [],
                  ("p.csv", "row 3", "AAA")),
    "zero price": ("p.csv", PRICES.replace("11,19\n", "0,19\n"), [], ("p.csv", "row 4", "AAA")),
    "negative price": ("p.csv", PRICES.replace("11.2,19.1", "-11.2,19.1"), [],
                       ("p.csv", "row 5", "AAA")),
    "duplicate ticker": ("h.csv", "ticker,shares\nAAA,1\nBBB,2\nAAA,3\n", [],
                         ("h.csv", "row 4", "ticker")),
    "duplicate date": ("p.csv", PRICES + "2024-01-05,11.3,19.2\n", [], ("p.csv", "row 6", "date")),
    "unknown ticker": ("h.csv", "ticker,shares\nAAA,1\nZZZ,2\n", [], ("h.csv", "row 3", "ticker")),
    "targets not summing to one": ("t.csv", "ticker,target_weight\nAAA,0.5\nBBB,0.3\n", [],
                                   ("t.csv", "row 3", "target_weight")),
    "negative target under long-only": ("t.csv", "ticker,target_weight\nAAA,1.2\nBBB,-0.2\n", [],
                                        ("t.csv", "row 3", "target_weight")),
    "lots do not reconcile": ("l.csv", "ticker,shares,acquired,cost_basis_usd\n"
                              "AAA,60,2023-01-03,500\nAAA,30,2023-06-01,300\n"
                              "BBB,50,2023-01-03,900\n", ["--lots", "l.csv"],
                              ("l.csv", "row", "shares")),
    "date in the future": ("p.csv", PRICES + "2099-01-02,12,20\n", [],
                           ("p.csv", "row 6", "date")),
    "empty file": ("h.csv", "", [], ("h.csv", "", "")),
    "non-UTF-8 bytes": ("h.csv", b"ticker,shares\nAAA,1\nB\xe9B,2\n", [], ("h.csv", "row 3", "")),
    "unadjusted split": ("p.csv", PRICES.replace("11,19\n", "5.25,19\n").replace(
        "11.2,19.1", "5.6,19.1"), [], ("p.csv", "row 4", "AAA")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_catalogue_case(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name, content, extra, (file, row, field) = CASES[case]
    files = {"h.csv": HOLDINGS, "p.csv": PRICES, "t.csv": TARGETS}
    for fname, text in files.items():
        (tmp_path / fname).write_text(text)
    target = tmp_path / name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    args = ["monitor", "--holdings", str(tmp_path / "h.csv"), "--prices", str(tmp_path / "p.csv"),
            "--targets", str(tmp_path / "t.csv")]
    args += [str(tmp_path / a) if a.endswith(".csv") else a for a in extra]
    code = main(args)
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert "Traceback" not in err
    message = " ".join(err.split())  # rich may wrap long lines
    assert file in message, message
    if row:
        assert row in message, message
    if field:
        assert f"'{field}" in message, message
