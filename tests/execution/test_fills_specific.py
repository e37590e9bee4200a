"""Fills that name the lots they relieve (specific identification): exact relief, every
bad case refused naming file, row and field, conservation under random sequences, and the
plan's chosen lots read back into holdings and into the record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.data.holdings import read_holdings
from driftwise.data.model import Holdings
from driftwise.errors import DataError
from driftwise.execution.fills import apply_fills, parse_lots, read_fills

HEADER = "ticker,side,shares,price_usd,fee_usd,filled_at,account,lots\n"
AS_OF = "2024-06-03"


def lots_holdings(lot_id: bool = False) -> Holdings:
    """AAA in three lots (10, 30 and 20 USD a share), BBB in one; two accounts."""
    lots = pd.DataFrame({
        "ticker": ["AAA", "AAA", "AAA", "BBB"],
        "shares": [100.0, 50.0, 30.0, 10.0],
        "acquired": pd.to_datetime(["2020-01-02", "2021-05-03", "2022-07-01", "2023-01-03"]),
        "cost_basis_usd": [1000.0, 1500.0, 600.0, 200.0],
        "account": ["TAX", "TAX", "IRA", "TAX"],
    })
    if lot_id:
        lots["lot_id"] = ["B-1", "B-2", "B-3", "B-4"]
    return Holdings(shares=pd.Series({"AAA": 180.0, "BBB": 10.0}).rename_axis("ticker"),
                    cash_usd=5000.0, lots=lots)


def write(tmp_path: Path, body: str, name: str = "fills.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def by_lot(holdings: Holdings) -> dict[tuple[str, str], tuple[float, float]]:
    """(ticker, acquired) -> (shares, basis) of the open lots."""
    lots = holdings.lots
    assert lots is not None
    return {(str(t), str(pd.Timestamp(a).date())): (float(s), float(b)) for t, a, s, b in zip(
        lots["ticker"], lots["acquired"], lots["shares"], lots["cost_basis_usd"], strict=True)}


# --- exact relief ------------------------------------------------------------------------

def test_the_named_lots_are_relieved_exactly(tmp_path: Path) -> None:
    """70 AAA at 40 (fee 7): 30 from the 2021 lot (30 a share), 40 from the 2020 lot (10 a
    share); HIFO would take the whole 2021 lot first. Worked by hand: the 2021 lot keeps
    20 shares and 20 × 30 = 600 of basis, the 2020 lot 60 shares and 600; cash rises by
    70 × 40 − 7 = 2,793."""
    path = write(tmp_path, "AAA,SELL,70,40,7,2024-06-03T10:00,TAX,"
                 "AAA:2021-05-03×30;AAA:2020-01-02×40\n")
    out = apply_fills(lots_holdings(), read_fills(path, as_of=AS_OF), relief="hifo")
    lots = by_lot(out)
    assert lots[("AAA", "2021-05-03")] == (20.0, 600.0)
    assert lots[("AAA", "2020-01-02")] == (60.0, 600.0)
    assert lots[("AAA", "2022-07-01")] == (30.0, 600.0)  # untouched
    assert out.cash_usd == 5000.0 + 2793.0 and float(out.shares["AAA"]) == 110.0
    hifo = apply_fills(lots_holdings(), read_fills(write(
        tmp_path, "AAA,SELL,70,40,7,2024-06-03T10:00,TAX,\n", "h.csv"), as_of=AS_OF),
        relief="hifo")
    # HIFO in account TAX: the whole 2021 lot, then 20 shares of the 2020 lot
    assert ("AAA", "2021-05-03") not in by_lot(hifo)
    assert by_lot(hifo)[("AAA", "2020-01-02")] == (80.0, 800.0)


def test_a_lone_id_the_broker_ids_and_the_plans_text(tmp_path: Path) -> None:
    whole = write(tmp_path, "AAA,SELL,50,40,0,2024-06-03,,AAA:2021-05-03\n", "a.csv")
    assert ("AAA", "2021-05-03") not in by_lot(apply_fills(
        lots_holdings(), read_fills(whole, as_of=AS_OF)))
    broker = write(tmp_path, "AAA,SELL,70,40,7,2024-06-03,,B-2×30;B-1×40\n", "b.csv")
    plan_text = write(tmp_path, 'AAA,SELL,70,40,7,2024-06-03,,"hifo: AAA:2021-05-03×30 (LT, '
                      'gain 300), AAA:2020-01-02×40 (LT, gain 1,200), AAA:2022-07-01 deferred '
                      'until 2023-07-02"\n', "c.csv")
    plain = write(tmp_path, "AAA,SELL,70,40,7,2024-06-03,,AAA:2021-05-03*30;AAA:2020-01-02*40\n",
                  "d.csv")
    expected = by_lot(apply_fills(lots_holdings(), read_fills(plain, as_of=AS_OF)))
    assert by_lot(apply_fills(lots_holdings(True), read_fills(broker, as_of=AS_OF))) == expected
    assert by_lot(apply_fills(lots_holdings(), read_fills(plan_text, as_of=AS_OF))) == expected
    assert expected[("AAA", "2021-05-03")] == (20.0, 600.0)


def test_a_lot_bought_earlier_in_the_same_fills_can_be_named(tmp_path: Path) -> None:
    path = write(tmp_path, "CCC,BUY,10,5,0,2024-06-03T10:00,TAX,\n"
                 "CCC,SELL,4,6,0,2024-06-03T11:00,TAX,CCC:2024-06-03×4\n")
    out = apply_fills(lots_holdings(), read_fills(path, as_of=AS_OF))
    assert by_lot(out)[("CCC", "2024-06-03")] == (6.0, 30.0)


# --- bad input: one test per case, each naming file, row and field -----------------------

BAD = {
    "unknown lot": ("AAA,SELL,10,40,0,2024-06-03,,AAA:2019-01-02×10\n", "unknown lot"),
    "another ticker": ("AAA,SELL,10,40,0,2024-06-03,,BBB:2023-01-03×10\n",
                       "lot BBB:2023-01-03 is a lot of BBB"),
    "another account": ("AAA,SELL,10,40,0,2024-06-03,TAX,AAA:2022-07-01×10\n",
                        "held in account IRA"),
    "above the lot": ("AAA,SELL,60,40,0,2024-06-03,,AAA:2021-05-03×60\n",
                      "more shares from lot AAA:2021-05-03 than it holds"),
    "above what is left": ("AAA,SELL,40,40,0,2024-06-03T10:00,,AAA:2021-05-03×40\n"
                           "AAA,SELL,20,40,0,2024-06-03T11:00,,AAA:2021-05-03×20\n",
                           "at most 10 shares"),
    "not the fill's shares": ("AAA,SELL,70,40,0,2024-06-03,,AAA:2021-05-03×30;"
                              "AAA:2020-01-02×30\n", "the lots' shares sum to 60"),
    "on a purchase": ("AAA,BUY,10,40,0,2024-06-03,,AAA:2021-05-03×10\n",
                      "a purchase names no lots"),
    "named twice": ("AAA,SELL,20,40,0,2024-06-03,,AAA:2021-05-03×10;AAA:2021-05-03×10\n",
                    "named twice"),
    "shares not a number": ("AAA,SELL,10,40,0,2024-06-03,,AAA:2021-05-03×ten\n",
                            "not a number"),
    "a lone id among several": ("AAA,SELL,10,40,0,2024-06-03,,AAA:2021-05-03;"
                                "AAA:2020-01-02×5\n", "gives each lot's shares"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_lot_names_file_row_and_field(case: str, tmp_path: Path) -> None:
    body, problem = BAD[case]
    path = write(tmp_path, "BBB,SELL,1,20,0,2024-06-03,,\n" + body)
    row = 2 + body.count("\n")  # the header is line 1, the BBB fill line 2: the last row
    with pytest.raises(DataError) as err:
        apply_fills(lots_holdings(), read_fills(path, as_of=AS_OF))
    text = str(err.value)
    assert problem in text and "fills.csv" in text and f"row {row}" in text and "lots" in text


def test_position_level_holdings_and_specific_without_lots_are_refused(tmp_path: Path) -> None:
    named = read_fills(write(tmp_path, "AAA,SELL,10,40,0,2024-06-03,,AAA:2020-01-02×10\n"),
                       as_of=AS_OF)
    flat = Holdings(shares=pd.Series({"AAA": 180.0}).rename_axis("ticker"), cash_usd=0.0)
    with pytest.raises(DataError, match=r"row 2.*no lots \(position level\)"):
        apply_fills(flat, named)
    bare = read_fills(write(tmp_path, "AAA,SELL,10,40,0,2024-06-03,,\n", "b.csv"), as_of=AS_OF)
    with pytest.raises(DataError, match=r"b\.csv, row 2, field 'lots'.*names no lots"):
        apply_fills(lots_holdings(), bare, relief="specific")
    with pytest.raises(DataError, match="needs lot-level holdings"):
        apply_fills(flat, bare, relief="specific")
    # the same fills with their lots named pass under specific
    assert apply_fills(lots_holdings(), named, relief="specific").cash_usd == 5400.0


def test_parse_lots_reads_each_form() -> None:
    assert parse_lots("A×1.5; B*2", 3.5) == [("A", 1.5), ("B", 2.0)]
    assert parse_lots("A", 7.0) == [("A", 7.0)]
    assert parse_lots("specific: A×2 (ST, gain 1,000), B deferred until 2025-01-02", 2.0) == [
        ("A", 2.0)]
    assert parse_lots("A×0", 0.0) == "lot A: the shares must be > 0"
    assert parse_lots(" ; ", 1.0) == "no lot named"


# --- properties ------------------------------------------------------------------------

@st.composite
def sales(draw: st.DrawFn) -> tuple[list[float], list[float], list[list[tuple[int, float]]]]:
    """Lots of one ticker (shares, basis) and sales each naming some lots with shares
    at most what is left of them."""
    n = draw(st.integers(1, 5))
    shares = [float(draw(st.integers(1, 500))) for _ in range(n)]
    basis = [draw(st.floats(0.0, 1e5, allow_nan=False)) for _ in range(n)]
    left = list(shares)
    orders = []
    for _ in range(draw(st.integers(1, 4))):
        picked = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        sale = []
        for i in picked:
            if left[i] < 1:
                continue
            take = float(draw(st.integers(1, int(left[i]))))
            left[i] -= take
            sale.append((i, take))
        if sale:
            orders.append(sale)
    return shares, basis, orders


@settings(max_examples=60, deadline=None)
@given(sales())
def test_specific_relief_conserves_shares_and_basis(
        drawn: tuple[list[float], list[float], list[list[tuple[int, float]]]]) -> None:
    """Each named lot loses exactly the shares named and basis in proportion; the shares
    and basis relieved plus those left equal those held before; the position equals its
    lots."""
    shares, basis, orders = drawn
    days = pd.date_range("2015-01-02", periods=len(shares), freq="400D")
    lots = pd.DataFrame({"ticker": "AAA", "shares": shares, "acquired": days,
                         "cost_basis_usd": basis})
    before = Holdings(shares=pd.Series({"AAA": sum(shares)}).rename_axis("ticker"),
                      cash_usd=0.0, lots=lots)
    ids = [f"AAA:{d.date()}" for d in days]
    rows = [("AAA", "SELL", sum(t for _, t in sale), 25.0, 0.0, f"2024-06-03T10:{k:02d}",
             ";".join(f"{ids[i]}×{t:g}" for i, t in sale)) for k, sale in enumerate(orders)]
    frame = pd.DataFrame(rows, columns=["ticker", "side", "shares", "price_usd", "fee_usd",
                                        "filled_at", "lots"])
    after = apply_fills(before, read_fills(frame, as_of=AS_OF), relief="specific")
    taken = np.zeros(len(shares))
    for sale in orders:
        for i, t in sale:
            taken[i] += t
    left = {day: value for (_, day), value in by_lot(after).items()}
    relieved_basis = 0.0
    for i, day in enumerate(days):
        s, b = left.get(str(day.date()), (0.0, 0.0))
        assert s == pytest.approx(shares[i] - taken[i], abs=1e-9)
        assert b == pytest.approx(basis[i] * (shares[i] - taken[i]) / shares[i],
                                  rel=1e-12, abs=1e-9)
        relieved_basis += basis[i] * taken[i] / shares[i]
    assert after.lots is not None
    assert float(after.lots["cost_basis_usd"].sum()) + relieved_basis == pytest.approx(
        sum(basis), rel=1e-12, abs=1e-7)
    held = float(after.shares.get("AAA", 0.0))
    assert held == pytest.approx(float(after.lots["shares"].sum()), abs=1e-9)
    assert held + taken.sum() == pytest.approx(sum(shares))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.floats(1.0, 1e5)), min_size=1, max_size=5),
       st.floats(0.05, 1.0))
def test_naming_the_methods_lots_gives_the_methods_result(
        lots_drawn: list[tuple[int, float]], fraction: float) -> None:
    """A sale naming exactly the lots HIFO would relieve, with its shares, gives HIFO's
    holdings to the bit (the same relief code, a different choice of lots)."""
    days = pd.date_range("2015-01-02", periods=len(lots_drawn), freq="400D")
    lots = pd.DataFrame({"ticker": "AAA", "shares": [float(s) for s, _ in lots_drawn],
                         "acquired": days, "cost_basis_usd": [b for _, b in lots_drawn]})
    total = float(lots["shares"].sum())
    sold = max(1.0, float(np.floor(total * fraction)))
    before = Holdings(shares=pd.Series({"AAA": total}).rename_axis("ticker"), cash_usd=0.0,
                      lots=lots)
    per_share = lots["cost_basis_usd"] / lots["shares"]
    order = np.argsort(-per_share.to_numpy(), kind="stable")
    named, left = [], sold
    for i in order:
        if left <= 0:
            break
        take = min(left, float(lots["shares"].iloc[i]))
        named.append(f"AAA:{days[i].date()}×{take!r}")
        left -= take
    row = {"ticker": "AAA", "side": "SELL", "shares": sold, "price_usd": 20.0, "fee_usd": 1.0,
           "filled_at": "2024-06-03"}
    method = apply_fills(before, read_fills(pd.DataFrame([row]), as_of=AS_OF), relief="hifo")
    specific = apply_fills(before, read_fills(pd.DataFrame([{**row, "lots": ";".join(named)}]),
                                              as_of=AS_OF), relief="specific")
    assert method.lots is not None and specific.lots is not None
    pd.testing.assert_frame_equal(method.lots, specific.lots)
    assert method.cash_usd == specific.cash_usd


def test_a_named_loss_lot_is_washed_by_a_purchase_within_the_window(tmp_path: Path) -> None:
    """The 2021 lot (30 a share) sold at 25 names a loss of 5 × 20 = 100; 20 shares bought
    back 10 days later replace it: the loss moves to their basis (20 × 24 + 100 = 580)."""
    path = write(tmp_path, "AAA,SELL,20,25,0,2024-05-24,,AAA:2021-05-03×20\n"
                 "AAA,BUY,20,24,0,2024-06-03,,\n")
    out = apply_fills(lots_holdings(), read_fills(path, as_of=AS_OF))
    assert out.lots is not None
    bought = out.lots[out.lots["cost_basis_usd"] == 580.0]
    assert len(bought) == 1 and float(bought["shares"].iloc[0]) == 20.0
    assert by_lot(out)[("AAA", "2021-05-03")] == (30.0, 900.0)


# --- the plan's chosen lots, into holdings and into the record ---------------------------

def _plan_files(folder: Path) -> list[str]:
    from driftwise.calendar import nyse_sessions

    days = nyse_sessions("2023-01-03", "2024-06-28")
    tickers = ["AAA", "BBB", "CCC"]
    rng = np.random.default_rng(3)
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.015, (len(days), 3)), axis=0))
    closes = walk / walk[-1] * np.array([50.0, 40.0, 30.0])
    pd.DataFrame({"date": [d.date() for d in days for _ in tickers],
                  "ticker": tickers * len(days), "close": closes.ravel().round(6)}).to_csv(
        folder / "prices.csv", index=False)
    # AAA far above its third: an old cheap lot, a recent dear one
    pd.DataFrame([("AAA", 6_000, "2015-01-02", 60_000.0),
                  ("AAA", 4_000, "2023-03-01", 240_000.0),
                  ("BBB", 2_500, "2020-01-02", 100_000.0),
                  ("CCC", 3_333, "2020-01-02", 99_990.0)],
                 columns=["ticker", "shares", "acquired", "cost_basis_usd"]).to_csv(
        folder / "holdings.csv", index=False)
    (folder / "dw.toml").write_text('[tax]\nlot_relief = "fifo"\n', encoding="utf-8")
    return ["--holdings", str(folder / "holdings.csv"), "--prices", str(folder / "prices.csv"),
            "--config", str(folder / "dw.toml")]


ENTRY = re.compile(r"([A-Z]+:\d{4}-\d{2}-\d{2}(?:#\d+)?)×([\d.e+]+)")


def test_the_plans_lots_relieved_in_holdings_and_in_the_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The plan (FIFO) sells AAA from its 2015 lot; its trade list's lots, pasted into the
    fills, relieve those lots under `fills --relief hifo` (which alone would take the 2023
    lot first), in holdings files and in the record alike."""
    args = _plan_files(tmp_path)
    assert main(["plan", *args, "--json"]) == EXIT_OK
    trades = {t["ticker"]: t for t in json.loads(capsys.readouterr().out)["trades"]}
    sells = {k: t for k, t in trades.items() if t["side"] == "SELL"}
    assert "AAA" in sells and sells["AAA"]["lots"].startswith("fifo: AAA:2015-01-02×")
    fills = pd.DataFrame([{"ticker": k, "side": "SELL", "shares": t["shares"],
                           "price_usd": t["price_usd"], "filled_at": "2024-06-28T15:00",
                           "exec_id": f"E{n}", "lots": t["lots"]}
                          for n, (k, t) in enumerate(sorted(sells.items()))])
    fills.to_csv(tmp_path / "fills.csv", index=False)
    out = tmp_path / "after.csv"
    assert main(["fills", "--holdings", str(tmp_path / "holdings.csv"), "--fills",
                 str(tmp_path / "fills.csv"), "--out", str(out)]) == EXIT_OK
    capsys.readouterr()
    before = by_lot(read_holdings(tmp_path / "holdings.csv"))
    expected = dict(before)
    for t in sells.values():  # the oracle: each named lot loses the shares the plan named
        for name, n in ENTRY.findall(t["lots"]):
            ticker, day = name.split(":")
            s, b = expected[(ticker, day)]
            expected[(ticker, day)] = (s - float(n), b * (s - float(n)) / s)
    expected = {k: v for k, v in expected.items() if v[0] > 1e-9}
    on_file = by_lot(read_holdings(out))
    assert on_file.keys() == expected.keys()
    for key, (s, b) in expected.items():
        assert on_file[key] == pytest.approx((s, b), rel=1e-9), key
    assert on_file[("AAA", "2023-03-01")] == before[("AAA", "2023-03-01")]
    db = f"sqlite:///{tmp_path / 'record.db'}"
    assert main(["init", "--db", db]) == EXIT_OK
    assert main(["import", "--db", db, "--holdings", str(tmp_path / "holdings.csv")]) == EXIT_OK
    assert main(["fills", "--db", db, "--fills", str(tmp_path / "fills.csv"), "--relief",
                 "specific", "--json"]) == EXIT_OK
    capsys.readouterr()
    from driftwise.record import open_engine
    from driftwise.record.holdings import account_id, current

    engine = open_engine(db)
    with engine.connect() as c:
        snapshot = current(c, account_id(c, "main"))
    assert snapshot is not None and snapshot.lots is not None
    recorded = {(lot.ticker, str(lot.acquired)): (float(lot.shares), float(lot.cost_basis_usd))
                for lot in snapshot.lots}
    assert recorded.keys() == on_file.keys()
    for key, value in on_file.items():
        assert recorded[key] == pytest.approx(value, rel=1e-12), key


def test_the_command_refuses_a_bad_lot_naming_file_row_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _plan_files(tmp_path)
    del args
    write(tmp_path, "AAA,SELL,10,40,0,2024-06-03,,AAA:2019-01-02×10\n")
    code = main(["fills", "--holdings", str(tmp_path / "holdings.csv"), "--fills",
                 str(tmp_path / "fills.csv"), "--out", str(tmp_path / "o.csv")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert "unknown lot AAA:2019-01-02" in err and "fills.csv" in err and "row 2" in err
    assert "lots" in err and not (tmp_path / "o.csv").exists()
    assert main(["fills", "--holdings", str(tmp_path / "holdings.csv"), "--fills",
                 str(tmp_path / "fills.csv"), "--out", str(tmp_path / "o.csv"), "--relief",
                 "lifo"]) != EXIT_OK
