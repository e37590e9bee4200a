"""Orders out: order table, CSV/JSON files, FIX 4.4 NewOrderSingle with oracle checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.errors import ConfigError, DataError
from driftwise.execution import build_schedule
from driftwise.execution.orders import (
    ORDER_COLUMNS,
    SOH,
    fix_new_order_single,
    orders_frame,
    write_orders_csv,
    write_orders_fix,
    write_orders_json,
)

SESSIONS = pd.DatetimeIndex(["2024-06-03", "2024-06-04", "2024-06-05"])


def schedule(trades: list[float]) -> object:
    n = len(trades)
    return build_schedule([f"T{i}" for i in range(n)], trades, [25.0] * n, [1e5] * n,
                          [0.02] * n, style="twap", start_date="2024-06-03", sessions=SESSIONS,
                          risk_aversion=0.0, impact_bps=lambda r: 100.0 * np.sqrt(r))


def fields(message: str) -> list[tuple[str, str]]:
    parts = message.split(SOH)
    assert parts[-1] == ""  # ends with SOH
    return [tuple(p.split("=", 1)) for p in parts[:-1]]  # type: ignore[misc]


# --- order table ------------------------------------------------------------------------

def test_orders_from_schedule_one_per_child() -> None:
    sched = schedule([1300.0, -260.0])
    orders = orders_frame(sched)  # type: ignore[arg-type]
    assert list(orders.columns) == ORDER_COLUMNS
    assert len(orders) == 26 and orders["order_id"].is_unique
    assert orders["order_id"].iloc[0] == "DW-20240603-T0-001"
    assert (orders["order_type"] == "MARKET").all() and (orders["time_in_force"] == "DAY").all()
    assert orders.groupby("ticker")["shares"].sum().to_dict() == {"T0": 1300.0, "T1": 260.0}
    assert set(orders["side"]) == {"BUY", "SELL"}


def test_orders_from_trade_list_forms() -> None:
    signed = pd.DataFrame({"ticker": ["A", "B", "C"], "trade_shares": [10.0, -5.0, 0.0]})
    sided = pd.DataFrame({"ticker": ["A", "B"], "side": ["BUY", "sell"], "shares": [10, 5]})
    series = pd.Series({"A": 10.0, "B": -5.0})
    frames = [orders_frame(x, day="2024-06-03") for x in (signed, sided, series)]
    for f in frames:
        assert f["side"].tolist() == ["BUY", "SELL"] and f["shares"].tolist() == [10.0, 5.0]
        assert f["order_id"].tolist() == ["DW-20240603-A-001", "DW-20240603-B-001"]


def test_trade_list_without_quantity_raises() -> None:
    with pytest.raises(DataError, match="trade_shares"):
        orders_frame(pd.DataFrame({"ticker": ["A"], "qty": [1]}))


def test_sale_crossing_zero_is_split_into_long_and_short() -> None:
    orders = orders_frame(pd.Series({"A": -150.0, "B": -20.0}), day="2024-06-03",
                          position_shares={"A": 100.0, "B": 50.0})
    a = orders[orders["ticker"] == "A"]
    assert a["side"].tolist() == ["SELL", "SELL_SHORT"] and a["shares"].tolist() == [100.0, 50.0]
    assert orders[orders["ticker"] == "B"]["side"].tolist() == ["SELL"]
    assert orders["order_id"].is_unique


def test_schedule_children_cross_zero_once() -> None:
    sched = schedule([-1300.0])  # 13 children of 100
    orders = orders_frame(sched, position_shares={"T0": 450.0})  # type: ignore[arg-type]
    sides = orders["side"].tolist()
    assert sides[:4] == ["SELL"] * 4 and sides[4:6] == ["SELL", "SELL_SHORT"]
    assert sides[6:] == ["SELL_SHORT"] * 8
    assert orders.loc[orders["side"] == "SELL", "shares"].sum() == 450
    assert orders["shares"].sum() == 1300
    # expected cost is split in proportion to shares
    assert orders["expected_cost_usd"].sum() == pytest.approx(
        sched.child_orders["expected_cost_usd"].sum())  # type: ignore[attr-defined]


def test_limit_prices_make_limit_orders() -> None:
    orders = orders_frame(pd.Series({"A": 10.0, "B": -5.0}), day="2024-06-03",
                          limit_price_usd={"A": 101.25})
    assert orders["order_type"].tolist() == ["LIMIT", "MARKET"]
    assert orders["limit_price_usd"].iloc[0] == 101.25
    assert np.isnan(orders["limit_price_usd"].iloc[1])


def test_bad_limit_price_raises() -> None:
    with pytest.raises(DataError, match="limit price"):
        orders_frame(pd.Series({"A": 10.0}), limit_price_usd={"A": -1.0})


def test_bad_time_in_force_raises() -> None:
    with pytest.raises(ConfigError):
        orders_frame(pd.Series({"A": 10.0}), time_in_force="FOREVER")


# --- files ------------------------------------------------------------------------------

def test_csv_round_trip(tmp_path: Path) -> None:
    orders = orders_frame(schedule([1300.0]))  # type: ignore[arg-type]
    path = write_orders_csv(tmp_path / "orders.csv", orders)
    back = pd.read_csv(path)
    assert list(back.columns) == ORDER_COLUMNS and len(back) == 13
    assert back["day"].iloc[0] == "2024-06-03" and back["start_time"].iloc[0] == "09:30"
    assert back["shares"].sum() == 1300 and back["limit_price_usd"].isna().all()


def test_json_round_trip(tmp_path: Path) -> None:
    orders = orders_frame(pd.Series({"A": 10.0, "B": -5.0}), day="2024-06-03",
                          limit_price_usd={"A": 99.5})
    records = json.loads(write_orders_json(tmp_path / "orders.json", orders).read_text())
    assert [r["ticker"] for r in records] == ["A", "B"]
    assert records[0]["limit_price_usd"] == 99.5 and records[1]["limit_price_usd"] is None
    assert records[0]["day"] == "2024-06-03" and records[0]["shares"] == 10.0
    assert set(records[0]) == set(ORDER_COLUMNS)


# --- FIX --------------------------------------------------------------------------------

ORDER = {"order_id": "DW-20240603-AAPL-001", "ticker": "AAPL", "side": "BUY", "shares": 100.0,
         "order_type": "MARKET", "limit_price_usd": np.nan, "time_in_force": "DAY"}


def make(**kw: object) -> str:
    args: dict[str, object] = {"sender": "DRIFTWISE", "target": "BROKER", "seq": 7,
                               "sending_time": pd.Timestamp("2024-06-03 13:30:05.123")}
    args.update(kw)
    order = {**ORDER, **args.pop("order", {})}  # type: ignore[dict-item]
    return fix_new_order_single(order, **args)  # type: ignore[arg-type]


def test_fix_header_tags_and_values() -> None:
    tags = fields(make())
    assert [t for t, _ in tags[:3]] == ["8", "9", "35"] and tags[-1][0] == "10"
    values = dict(tags)
    assert values["8"] == "FIX.4.4" and values["35"] == "D"
    assert values["49"] == "DRIFTWISE" and values["56"] == "BROKER" and values["34"] == "7"
    assert values["52"] == "20240603-13:30:05.123" and values["60"] == values["52"]
    assert values["11"] == "DW-20240603-AAPL-001" and values["55"] == "AAPL"
    assert values["54"] == "1" and values["38"] == "100" and values["40"] == "1"
    assert values["59"] == "0" and values["21"] == "1" and "44" not in values
    assert len(tags) == len(values)  # no tag twice


def test_fix_body_length_and_checksum_oracle() -> None:
    for msg in (make(), make(order={"side": "SELL", "order_type": "LIMIT",
                                    "limit_price_usd": 187.255, "shares": 12.5})):
        raw = msg.encode("ascii")
        # body length: bytes from the field after 9=... up to and including the SOH before 10=
        start = raw.index(b"\x019=") + 1
        start = raw.index(b"\x01", start) + 1
        end = raw.rindex(b"10=")
        assert int(dict(fields(msg))["9"]) == end - start
        # checksum: plain loop over every byte before "10="
        total = 0
        for byte in raw[:end]:
            total += byte
        assert dict(fields(msg))["10"] == str(total % 256).zfill(3)
        assert len(dict(fields(msg))["10"]) == 3


def test_fix_limit_sell_short_and_quantities() -> None:
    values = dict(fields(make(order={"side": "SELL", "order_type": "LIMIT",
                                     "limit_price_usd": 187.255, "shares": 12.5},
                              position_shares=10.0)))
    assert values["54"] == "5" and values["40"] == "2" and values["44"] == "187.255"
    assert values["38"] == "12.5"
    covered = dict(fields(make(order={"side": "SELL"}, position_shares=100.0)))
    assert covered["54"] == "2"
    assert dict(fields(make(order={"side": "SELL_SHORT"})))["54"] == "5"


def test_fix_display_separator_is_same_message() -> None:
    assert make(separator="|") == make().replace(SOH, "|")
    assert make(separator="|").startswith("8=FIX.4.4|9=")


def test_fix_zoned_time_is_utc() -> None:
    msg = make(sending_time=pd.Timestamp("2024-06-03 09:30:00", tz="America/New_York"))
    assert dict(fields(msg))["52"] == "20240603-13:30:00.000"


@pytest.mark.parametrize("kw", [{"sender": ""}, {"target": "A\x01B"}, {"seq": 0}])
def test_fix_bad_session_fields(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        make(**kw)


@pytest.mark.parametrize("order", [{"side": "HOLD"}, {"shares": 0.0}, {"ticker": "NESTLÉ"},
                                   {"order_type": "STOP"}])
def test_fix_bad_order_fields(order: dict[str, object]) -> None:
    with pytest.raises(DataError):
        make(order=order)


def test_write_fix_file_sequence_numbers(tmp_path: Path) -> None:
    orders = orders_frame(pd.Series({"A": 10.0, "B": -5.0}), day="2024-06-03")
    path = write_orders_fix(tmp_path / "orders.fix", orders, sender="S", target="T",
                            sending_time="2024-06-03T13:30:00", start_seq=41)
    lines = path.read_text(encoding="ascii").splitlines()
    assert [dict(fields(line))["34"] for line in lines] == ["41", "42"]
    assert [dict(fields(line))["54"] for line in lines] == ["1", "2"]
