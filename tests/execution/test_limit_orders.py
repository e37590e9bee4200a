"""``execution.order_type = "limit"``: child orders with a limit at the close moved by
their expected price cost, carried by the CSV, JSON and FIX 4.4 exports and the plan."""

from __future__ import annotations

import json
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.app.plan import make_plan
from driftwise.config import Config
from driftwise.data.loader import load_inputs
from driftwise.errors import ConfigError
from driftwise.execution import OrderType, orders_frame, write_orders_csv, write_orders_json
from driftwise.execution.orders import fix_new_order_single
from driftwise.execution.schedule import limit_prices

from .test_schedule import run, sqrt_impact


def _tick_oracle(close: float, cost_bps: float, buy: bool) -> float:
    """Decimal arithmetic: close·(1 ± cost/1e4), to the cent (0.0001 below 1 USD), away
    from the close."""
    raw = Decimal(repr(float(close))) * (Decimal(1) + (1 if buy else -1)
                                         * Decimal(repr(float(cost_bps)))
                                  / Decimal(10_000))
    tick = Decimal("0.01") if raw >= 1 else Decimal("0.0001")
    steps = (raw / tick).to_integral_value(rounding=ROUND_CEILING if buy else ROUND_FLOOR)
    return float(max(steps, Decimal(1)) * tick)


def test_limit_prices_by_hand() -> None:
    got = limit_prices([50.0, 50.0, 0.5, 12.345], [10.0, 10.0, 30.0, 0.0],
                       [True, False, True, False])
    # 50.05 exactly; 49.95; 0.5 * 1.003 = 0.5015; on the tick already stays
    np.testing.assert_array_equal(got, [50.05, 49.95, 0.5015, 12.34])
    assert limit_prices([57.1752], [8.5], [False])[0] == 57.12  # 57.1266 down to the cent


@given(close=st.floats(0.05, 5000.0), cost=st.floats(0.0, 300.0), buy=st.booleans())
def test_limit_prices_oracle(close: float, cost: float, buy: bool) -> None:
    exact = close * (1 + (1 if buy else -1) * cost * 1e-4)
    steps = exact / (0.01 if exact >= 1 else 0.0001)
    if abs(steps - round(steps)) < 1e-6:
        return  # within round-off of a tick: either side of it is right
    got = float(limit_prices([close], [cost], [buy])[0])
    want = _tick_oracle(close, cost, buy)
    assert got == pytest.approx(want, abs=1e-9)
    if want > 0.0001:  # never tighter than the cost model's price (away from the close)
        assert (got >= exact - 1e-9) if buy else (got <= exact + 1e-9)


def test_schedule_children_carry_the_limit_of_their_own_cost() -> None:
    schedule = run([20_000.0, -8_000.0], style="vwap", order_type="limit",
                   price_cost_bps=[2.5, 4.0])
    kids = schedule.child_orders
    assert (kids["order_type"] == "LIMIT").all()
    for _, kid in kids.iterrows():
        bps = (2.5 if kid["ticker"] == "T0" else 4.0) + float(
            sqrt_impact(np.array([kid["participation"]]))[0])
        want = _tick_oracle(50.0, bps, kid["side"] == "BUY")
        assert kid["limit_price_usd"] == pytest.approx(want, abs=1e-9)
    buys = kids[kids["side"] == "BUY"]["limit_price_usd"]
    sells = kids[kids["side"] == "SELL"]["limit_price_usd"]
    assert (buys > 50.0).all() and (sells < 50.0).all()


def test_market_orders_have_no_limit_and_bad_order_type_is_refused() -> None:
    kids = run([20_000.0]).child_orders
    assert (kids["order_type"] == "MARKET").all() and kids["limit_price_usd"].isna().all()
    with pytest.raises(ConfigError, match="order type"):
        run([20_000.0], order_type="stop")


def test_exports_carry_the_limit(tmp_path: Path) -> None:
    schedule = run([20_000.0, -8_000.0], order_type=OrderType.LIMIT, price_cost_bps=[2.0, 2.0])
    orders = orders_frame(schedule)
    assert (orders["order_type"] == "LIMIT").all()
    np.testing.assert_array_equal(orders["limit_price_usd"],
                                  schedule.child_orders["limit_price_usd"])
    table = pd.read_csv(write_orders_csv(tmp_path / "o.csv", orders))
    np.testing.assert_array_equal(table["limit_price_usd"], orders["limit_price_usd"])
    rows = json.loads(write_orders_json(tmp_path / "o.json", orders).read_text())
    assert {r["order_type"] for r in rows} == {"LIMIT"}
    first = orders.iloc[0]
    msg = fix_new_order_single(first, sender="S", target="T", seq=1,
                               sending_time="2024-12-20 14:30:00", separator="|")
    fields = dict(f.split("=", 1) for f in msg.strip("|").split("|"))
    assert fields["40"] == "2" and float(fields["44"]) == first["limit_price_usd"]
    assert msg.index("|40=2|") < msg.index("|44=") < msg.index("|59=")


def test_plan_with_limit_orders() -> None:
    """The sample plan: each child's limit is its close moved by the trade list's own
    half-spread (bps of traded value) plus the child's impact (its expected cost)."""
    inputs = load_inputs()
    plan = make_plan(inputs, Config().with_overrides({"execution.order_type": "limit"}))
    market = make_plan(inputs, Config())
    assert plan.schedule is not None and market.schedule is not None
    pd.testing.assert_frame_equal(plan.trades, market.trades)  # the decision is the same
    kids = plan.schedule.child_orders
    trades = plan.trades
    for _, kid in kids.iterrows():
        trade = trades.loc[kid["ticker"]]
        close = float(trade["price_usd"])
        half_spread_bps = 1e4 * trade["spread_usd"] / abs(trade["trade_usd"])
        impact_bps = 1e4 * kid["expected_cost_usd"] / (kid["shares"] * close)
        want = _tick_oracle(close, half_spread_bps + impact_bps, kid["side"] == "BUY")
        assert kid["limit_price_usd"] == pytest.approx(want, abs=1e-9), kid["ticker"]
    orders = orders_frame(plan.schedule)
    assert (orders["order_type"] == "LIMIT").all()
    assert not math.isnan(float(orders["limit_price_usd"].min()))
    assert (market.schedule.child_orders["order_type"] == "MARKET").all()
