"""Fills in: validation of each bad input, position and lot updates, conservation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.data.model import Holdings
from driftwise.errors import ConfigError, DataError
from driftwise.execution.fills import FILL_COLUMNS, apply_fills, last_fill_date, read_fills
from driftwise.flags import Flag

HEADER = "ticker,side,shares,price_usd,fee_usd,filled_at,order_id\n"
GOOD = ("AAA,BUY,100,10.5,1.00,2024-06-03T10:00:00,DW-1\n"
        "BBB,S,40,20,,2024-06-03 11:15:30,\n")
AS_OF = "2024-06-03"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "fills.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def position_holdings(shares: dict[str, float], cash: float) -> Holdings:
    return Holdings(shares=pd.Series(shares, dtype=float).rename_axis("ticker"), cash_usd=cash)


def lot_holdings() -> Holdings:
    lots = pd.DataFrame({
        "ticker": ["AAA", "AAA", "AAA", "BBB"],
        "shares": [100.0, 50.0, 30.0, 10.0],
        "acquired": pd.to_datetime(["2020-01-02", "2021-05-03", "2022-07-01", "2023-01-03"]),
        "cost_basis_usd": [1000.0, 1500.0, 600.0, 200.0],  # 10, 30, 20 per share
        "account": ["TAX"] * 4,
    })
    return Holdings(shares=pd.Series({"AAA": 180.0, "BBB": 10.0}).rename_axis("ticker"),
                    cash_usd=5000.0, lots=lots)


def fills_frame(rows: list[tuple[str, str, float, float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ticker", "side", "shares", "price_usd", "fee_usd",
                                       "filled_at"])


# --- read_fills -------------------------------------------------------------------------

def test_read_good_file(tmp_path: Path) -> None:
    fills = read_fills(write(tmp_path, GOOD), as_of=AS_OF)
    assert list(fills.columns) == FILL_COLUMNS
    assert fills["side"].tolist() == ["BUY", "SELL"]
    assert fills["fee_usd"].tolist() == [1.0, 0.0]
    assert fills["filled_at"].iloc[1] == pd.Timestamp("2024-06-03 11:15:30")
    assert fills["order_id"].tolist() == ["DW-1", None]
    assert fills["row"].tolist() == [2, 3]
    assert fills.attrs["source"].endswith("fills.csv")


def test_tickers_upper_cased_like_holdings(tmp_path: Path) -> None:
    fills = read_fills(write(tmp_path, " brk.b ,buy,1,10,0,2024-06-03,\n"), as_of=AS_OF)
    assert fills["ticker"].tolist() == ["BRK.B"] and fills["side"].tolist() == ["BUY"]


def test_zoned_times_become_new_york_time(tmp_path: Path) -> None:
    body = "AAA,BUY,1,10,0,2024-06-03T14:00:00Z,\n"
    fills = read_fills(write(tmp_path, body), as_of=AS_OF)
    assert fills["filled_at"].iloc[0] == pd.Timestamp("2024-06-03 10:00:00")


def test_fee_column_optional(tmp_path: Path) -> None:
    path = write(tmp_path, "AAA,BUY,1,10,2024-06-03\n", "ticker,side,shares,price_usd,filled_at\n")
    assert read_fills(path, as_of=AS_OF)["fee_usd"].tolist() == [0.0]


@pytest.mark.parametrize(("header", "body", "row", "field"), [
    ("ticker,side,shares,filled_at\n", "AAA,BUY,1,2024-06-03\n", 1, "price_usd"),
    (HEADER, "AAA,BUY,ten,10,0,2024-06-03,\n", 2, "shares"),
    (HEADER, "AAA,BUY,1,10,0,2024-06-03,\nBBB,BUY,1,abc,0,2024-06-03,\n", 3, "price_usd"),
    (HEADER, "AAA,BUY,0,10,0,2024-06-03,\n", 2, "shares"),
    (HEADER, "AAA,SELL,-5,10,0,2024-06-03,\n", 2, "shares"),
    (HEADER, "AAA,BUY,5,0,0,2024-06-03,\n", 2, "price_usd"),
    (HEADER, "AAA,BUY,5,-1,0,2024-06-03,\n", 2, "price_usd"),
    (HEADER, "AAA,HOLD,5,10,0,2024-06-03,\n", 2, "side"),
    (HEADER, "AAA,BUY,5,10,-1,2024-06-03,\n", 2, "fee_usd"),
    (HEADER, "AAA,BUY,5,10,0,2024-06-04T09:31:00,\n", 2, "filled_at"),
    (HEADER, "AAA,BUY,5,10,0,yesterday,\n", 2, "filled_at"),
    (HEADER, "AAA,BUY,5,10,0,,\n", 2, "filled_at"),
    (HEADER, "CASH,BUY,5,10,0,2024-06-03,\n", 2, "ticker"),
    (HEADER, "AAA,BUY,5,10,0,2024-06-03,\nA A,BUY,5,10,0,2024-06-03,\n", 3, "ticker"),
    (HEADER, "\nAAA,BUY,5,10,0,2024-06-03,\n\nAAA,BUY,5,nan,0,2024-06-03,\n", 5, "price_usd"),
])
def test_bad_rows_name_file_row_field(tmp_path: Path, header: str, body: str, row: int,
                                      field: str) -> None:
    path = write(tmp_path, body, header)
    with pytest.raises(DataError) as info:
        read_fills(path, as_of=AS_OF)
    assert info.value.file == str(path)
    assert info.value.row == row and field in str(info.value.field)


def test_future_fill_against_now(tmp_path: Path) -> None:
    future = (pd.Timestamp.now() + pd.Timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
    with pytest.raises(DataError, match="future"):
        read_fills(write(tmp_path, f"AAA,BUY,1,10,0,{future},\n"))


# --- apply_fills: positions -----------------------------------------------------------------

def test_position_level_hand_worked(tmp_path: Path) -> None:
    holdings = position_holdings({"AAA": 10.0, "BBB": 40.0, "CCC": 3.0}, 1000.0)
    fills = read_fills(write(tmp_path, GOOD), as_of=AS_OF)
    out = apply_fills(holdings, fills)
    # AAA +100 at 10.5 + 1 fee: cash -1051; BBB -40 at 20: cash +800 -> 749; BBB closed
    assert out.cash_usd == pytest.approx(1000 - 1051 + 800)
    assert out.shares.to_dict() == {"AAA": 110.0, "CCC": 3.0}
    assert out.shares.index.name == "ticker" and out.lots is None
    assert holdings.shares["BBB"] == 40.0  # input untouched


def test_new_ticker_added_and_sorted() -> None:
    out = apply_fills(position_holdings({"ZZZ": 1.0}, 100.0),
                      fills_frame([("AAA", "BUY", 2, 10.0, 0.0, "2024-06-03")]))
    assert out.shares.index.tolist() == ["AAA", "ZZZ"]


def test_long_only_oversell_names_the_fills_row(tmp_path: Path) -> None:
    body = "AAA,BUY,5,10,0,2024-06-03T10:00,\nAAA,SELL,20,10,0,2024-06-03T11:00,\n"
    path = write(tmp_path, body)
    with pytest.raises(DataError) as info:
        apply_fills(position_holdings({"AAA": 10.0}, 0.0), read_fills(path, as_of=AS_OF))
    assert info.value.row == 3 and info.value.file == str(path) and info.value.field == "shares"
    assert "15" in str(info.value)  # 10 held + 5 bought earlier


def test_fills_apply_in_time_order_not_file_order() -> None:
    fills = fills_frame([("AAA", "SELL", 15, 10.0, 0.0, "2024-06-03T11:00"),
                         ("AAA", "BUY", 5, 10.0, 0.0, "2024-06-03T10:00")])
    out = apply_fills(position_holdings({"AAA": 10.0}, 0.0), fills)
    assert "AAA" not in out.shares.index


def test_allow_short_opens_short_and_flags() -> None:
    fills = fills_frame([("AAA", "SELL", 15, 10.0, 1.0, "2024-06-03")])
    out = apply_fills(position_holdings({"AAA": 10.0}, 0.0), fills, allow_short=True)
    assert out.shares["AAA"] == -5.0 and out.cash_usd == pytest.approx(149.0)
    assert Flag.SHORT_POSITION in {n.flag for n in out.notices}


def test_raw_source_is_read_first(tmp_path: Path) -> None:
    out = apply_fills(position_holdings({"BBB": 40.0}, 0.0), write(tmp_path, GOOD))
    assert out.shares.to_dict() == {"AAA": 100.0}


def test_bad_relief_raises() -> None:
    with pytest.raises(ConfigError):
        apply_fills(position_holdings({}, 0.0), fills_frame([]), relief="lifo")  # type: ignore[arg-type]


def test_last_fill_date() -> None:
    fills = read_fills(fills_frame([("A", "BUY", 1, 1.0, 0.0, "2024-06-03T15:59"),
                                    ("A", "BUY", 1, 1.0, 0.0, "2024-05-31T10:00")]), as_of=AS_OF)
    assert last_fill_date(fills) == pd.Timestamp("2024-06-03")


# --- apply_fills: lots ------------------------------------------------------------------------

def test_buy_appends_lot_with_fee_in_basis() -> None:
    fills = fills_frame([("CCC", "BUY", 10, 7.0, 2.0, "2024-06-03T10:00")])
    lots = apply_fills(lot_holdings(), fills).lots
    assert lots is not None
    new = lots.iloc[-1]
    assert new["ticker"] == "CCC" and new["shares"] == 10.0 and new["cost_basis_usd"] == 72.0
    assert new["acquired"] == pd.Timestamp("2024-06-03") and new["account"] == "TAX"


def test_fifo_relief_hand_worked() -> None:
    fills = fills_frame([("AAA", "SELL", 120, 40.0, 5.0, "2024-06-03")])
    out = apply_fills(lot_holdings(), fills, relief="fifo")
    aaa = out.lots[out.lots["ticker"] == "AAA"]  # type: ignore[index]
    # oldest lot (100 @10) gone, 20 of the 2021 lot (50 @30) relieved: 30 left, basis 900
    assert aaa["shares"].tolist() == [30.0, 30.0]
    assert aaa["cost_basis_usd"].tolist() == [900.0, 600.0]
    assert out.shares["AAA"] == 60.0 and out.cash_usd == pytest.approx(5000 + 4800 - 5)


def test_hifo_relief_hand_worked() -> None:
    fills = fills_frame([("AAA", "SELL", 60, 40.0, 0.0, "2024-06-03")])
    out = apply_fills(lot_holdings(), fills, relief="hifo")
    aaa = out.lots[out.lots["ticker"] == "AAA"]  # type: ignore[index]
    # highest basis first: 50 @30 gone, then 10 of 30 @20 -> 20 left, basis 400
    assert aaa["shares"].tolist() == [100.0, 20.0]
    assert aaa["cost_basis_usd"].tolist() == [1000.0, 400.0]


def test_min_tax_relief_hand_worked() -> None:
    fills = fills_frame([("AAA", "SELL", 60, 25.0, 0.0, "2024-06-03")])
    out = apply_fills(lot_holdings(), fills, relief="min_tax")
    aaa = out.lots[out.lots["ticker"] == "AAA"]  # type: ignore[index]
    # all long-term at 25: tax per share 2020 lot +3.0, 2021 lot -1.0, 2022 lot +1.0;
    # the 2021 loss lot (50) goes first, then 10 of the 2022 lot -> 20 left, basis 400
    assert aaa["shares"].tolist() == [100.0, 20.0]
    assert aaa["cost_basis_usd"].tolist() == [1000.0, 400.0]
    assert aaa["acquired"].dt.year.tolist() == [2020, 2022]


def test_lot_sale_closing_position_drops_lots_and_position() -> None:
    fills = fills_frame([("BBB", "SELL", 10, 25.0, 0.0, "2024-06-03")])
    out = apply_fills(lot_holdings(), fills)
    assert "BBB" not in out.shares.index
    assert "BBB" not in set(out.lots["ticker"])  # type: ignore[index]


def test_short_lot_then_cover() -> None:
    sell = fills_frame([("BBB", "SELL", 15, 20.0, 1.0, "2024-06-03T10:00")])
    short = apply_fills(lot_holdings(), sell, allow_short=True)
    lots = short.lots[short.lots["ticker"] == "BBB"]  # type: ignore[index]
    assert lots["shares"].tolist() == [-5.0]
    assert lots["cost_basis_usd"].iloc[0] == pytest.approx(5 * 20.0 - 1.0 * 5 / 15)
    cover = fills_frame([("BBB", "BUY", 8, 18.0, 0.0, "2024-06-04T10:00")])
    after = apply_fills(short, cover)
    bbb = after.lots[after.lots["ticker"] == "BBB"]  # type: ignore[index]
    assert bbb["shares"].tolist() == [3.0] and bbb["cost_basis_usd"].tolist() == [54.0]
    assert after.shares["BBB"] == 3.0


def test_lot_oversell_long_only_raises() -> None:
    fills = fills_frame([("BBB", "SELL", 11, 20.0, 0.0, "2024-06-03")])
    with pytest.raises(DataError) as info:
        apply_fills(lot_holdings(), fills)
    assert info.value.row == 1


def test_account_limits_lot_relief() -> None:
    holdings = lot_holdings()
    lots = holdings.lots.copy()  # type: ignore[union-attr]
    lots.loc[0, "account"] = "IRA"
    holdings = Holdings(shares=holdings.shares, cash_usd=0.0, lots=lots)
    fills = fills_frame([("AAA", "SELL", 120, 40.0, 0.0, "2024-06-03")])  # IRA holds 100
    fills["account"] = "IRA"
    with pytest.raises(DataError, match="account IRA"):
        apply_fills(holdings, fills)
    fills["shares"] = 100
    out = apply_fills(holdings, fills)
    assert (out.lots["account"] == "TAX").all()  # type: ignore[index]


# --- conservation property -------------------------------------------------------------------

@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["BUY", "SELL"]),
                          st.integers(1, 500), st.floats(0.0, 20.0)), min_size=1, max_size=25),
       st.booleans())
def test_cash_plus_value_conserved_net_of_fees(
    rows: list[tuple[str, str, int, float]], lot_level: bool
) -> None:
    price = {"A": 12.5, "B": 101.0, "C": 3.25}  # one fill price per ticker
    held = {"A": 1000.0, "B": 0.0, "C": 400.0}
    fills = fills_frame([(t, s, float(q), price[t], fee, f"2024-06-03T10:{i % 60:02d}")
                         for i, (t, s, q, fee) in enumerate(rows)])
    if lot_level:
        lots = pd.DataFrame({"ticker": ["A", "C"], "shares": [1000.0, 400.0],
                             "acquired": pd.to_datetime(["2020-01-02", "2021-01-04"]),
                             "cost_basis_usd": [9000.0, 1000.0]})
        holdings = Holdings(shares=pd.Series(held), cash_usd=50_000.0, lots=lots)
    else:
        holdings = Holdings(shares=pd.Series(held), cash_usd=50_000.0)
    out = apply_fills(holdings, fills, allow_short=True, relief="hifo")
    before = holdings.cash_usd + sum(held[t] * price[t] for t in held)
    after = out.cash_usd + sum(out.shares.get(t, 0.0) * price[t] for t in held)
    assert after == pytest.approx(before - fills["fee_usd"].sum(), abs=1e-6)
    if out.lots is not None:
        by_lot = out.lots.groupby("ticker")["shares"].sum()
        for t in held:
            assert by_lot.get(t, 0.0) == pytest.approx(out.shares.get(t, 0.0))
        assert (out.lots["cost_basis_usd"] >= 0).all()  # the holdings reader's convention


# --- apply_fills: the wash-sale rule ---------------------------------------------------------

def _aaa(out: Holdings) -> pd.DataFrame:
    assert out.lots is not None
    return out.lots[out.lots["ticker"] == "AAA"]


def test_a_rebuy_within_30_days_washes_the_loss() -> None:
    # HIFO sells the 2021-05-03 lot (basis 30) at 25: a loss of 5 x 50 = 250; 20 shares
    # bought back 17 days later replace 20 of them: 100 disallowed, added to their basis,
    # their holding period starting 1,127 days (2021-05-03 -> 2024-06-03) earlier
    fills = fills_frame([("AAA", "SELL", 50, 25.0, 0.0, "2024-06-03T10:00"),
                         ("AAA", "BUY", 20, 26.0, 0.0, "2024-06-20T10:00")])
    out = apply_fills(lot_holdings(), fills, relief="hifo")
    new = _aaa(out).iloc[-1]
    assert new["shares"] == 20.0 and new["cost_basis_usd"] == pytest.approx(520.0 + 100.0)
    assert new["acquired"] == pd.Timestamp("2024-06-20") - pd.Timedelta(days=1127)
    washed = [n for n in out.notices if n.flag is Flag.WASH_SALE]
    assert len(washed) == 1 and "USD 100.00" in washed[0].detail
    assert washed[0].tickers == ("AAA",)


def test_a_rebuy_after_31_days_does_not_wash() -> None:
    fills = fills_frame([("AAA", "SELL", 50, 25.0, 0.0, "2024-06-03T10:00"),
                         ("AAA", "BUY", 20, 26.0, 0.0, "2024-07-04T10:00")])
    out = apply_fills(lot_holdings(), fills, relief="hifo")
    assert _aaa(out).iloc[-1]["cost_basis_usd"] == pytest.approx(520.0)
    assert not [n for n in out.notices if n.flag is Flag.WASH_SALE]


def test_a_purchase_days_before_still_held_washes_the_loss() -> None:
    # 10 bought at 24 on 1 June; HIFO then sells the 2021 lot (basis 30) at 25 on 3 June:
    # the 10 shares still held replace 10 of the 50 sold at a loss of 5: 50 disallowed
    fills = fills_frame([("AAA", "BUY", 10, 24.0, 0.0, "2024-06-01T10:00"),
                         ("AAA", "SELL", 50, 25.0, 0.0, "2024-06-03T10:00")])
    out = apply_fills(lot_holdings(), fills, relief="hifo")
    new = _aaa(out).iloc[-1]
    assert new["shares"] == 10.0 and new["cost_basis_usd"] == pytest.approx(240.0 + 50.0)
    off = apply_fills(lot_holdings(), fills, relief="hifo", wash_sale_days=None)
    assert _aaa(off).iloc[-1]["cost_basis_usd"] == pytest.approx(240.0)


def test_the_rest_of_a_lot_replaces_other_lots_but_not_its_own_shares() -> None:
    # 40 bought on 1 June at 30; FIFO sells 200 at 25 on 10 June: 2020 lot (gain), 2021
    # lot (50 at a loss of 5: 250), 2022 lot (gain), 20 of the June lot (loss 5 x 20).
    # The June lot's 20 remaining shares replace 20 of the 2021 shares (100 disallowed);
    # they do not replace the 20 June shares sold with them
    fills = fills_frame([("AAA", "BUY", 40, 30.0, 0.0, "2024-06-01T10:00"),
                         ("AAA", "SELL", 200, 25.0, 0.0, "2024-06-10T10:00")])
    out = apply_fills(lot_holdings(), fills, relief="fifo")
    left = _aaa(out)
    assert left["shares"].tolist() == [20.0]
    assert left["cost_basis_usd"].tolist() == pytest.approx([600.0 + 100.0])
    # holding period of the 2021 shares (2021-05-03 -> 2024-06-10) carried over
    assert left["acquired"].iloc[0] == pd.Timestamp("2024-06-01") - (
        pd.Timestamp("2024-06-10") - pd.Timestamp("2021-05-03"))
