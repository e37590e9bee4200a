"""The trade list held as its columns (``TradeList``) until ``Plan.trades`` is read.

The planner keeps each trade list as arrays and a list of tickers; the frame is built
when the plan's ``trades`` is first read. The frame must be the one the cost model's
table gives, assembled the plain way (the reference below: ``cost_table``'s frame, its
traded rows, sells first by signed value with pandas' own stable sort), to the bit; the
plan must read, pickle, copy and schedule the same whichever way it holds the list.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_plan import cfg, inputs_for, market

import driftwise.app.plan as plan_module
from driftwise.app.plan import Plan, TradeList, make_plan, schedule_request
from driftwise.costs import CostParams, build_cost_inputs, cost_arrays, cost_columns, cost_table


def reference_trades(args: tuple[Any, ...]) -> pd.DataFrame:
    """The trade list of ``_trade_list``'s arguments built from the cost model's frame
    (no tax, no lots): its traded rows, sells first, each side by signed value."""
    outcome, state, costs, params, vix, _inputs, _config, borrow = args[:8]
    tickers = pd.Index(list(state.tickers), dtype=object, name="ticker")
    trade = pd.Series(outcome.sizing.trade_usd[0], index=tickers)
    shares = pd.Series(outcome.sizing.trade_shares[0], index=tickers)
    table = cost_table(trade, costs, params, vix=vix, nav_usd=state.nav_usd)
    traded = table[table["trade_usd"] != 0]
    at = tickers.get_indexer(traded.index)
    cost = (traded["spread_usd"] + traded["commission_usd"] + traded["impact_usd"]
            + traded["flat_usd"])
    frame = pd.DataFrame({
        "side": np.where(traded["trade_usd"] > 0, "BUY", "SELL"),
        "shares": shares.iloc[at].abs().to_numpy(),
        "price_usd": state.prices_usd[at], "trade_usd": traded["trade_usd"].to_numpy(),
        "spread_usd": traded["spread_usd"].to_numpy(),
        "commission_usd": traded["commission_usd"].to_numpy(),
        "impact_usd": traded["impact_usd"].to_numpy(), "tax_usd": 0.0, "loss_usd": 0.0,
        "cost_usd": cost.to_numpy(), "borrow_usd": np.asarray(borrow)[at],
        "liquidity_days": traded["liquidity_days"].to_numpy(),
        "flags": traded["flags"].astype("str").to_numpy(),
        "cost_bps": (1e4 * cost / traded["trade_usd"].abs()).to_numpy(),
        "reason": "rebalance"}, index=pd.Index(traded.index, dtype=object, name="ticker"))
    frame["_buy"] = frame["side"] != "SELL"
    frame = frame.sort_values(["_buy", "trade_usd"], kind="stable").drop(columns="_buy")
    frame["lots"] = ""
    frame["tax_usd"] = 0.0
    frame["loss_usd"] = 0.0
    return frame


def recorded_plan(monkeypatch: pytest.MonkeyPatch, **overrides: object
                  ) -> tuple[Plan, tuple[Any, ...], TradeList]:
    """A plan of a drifted six-asset portfolio, with the arguments and the result of its
    ``_trade_list`` call."""
    seen: list[tuple[tuple[Any, ...], TradeList]] = []
    real = plan_module._trade_list

    def spy(*args: Any) -> TradeList:
        out = real(*args)
        seen.append((args, out))
        return out

    monkeypatch.setattr(plan_module, "_trade_list", spy)
    mkt = market(6, seed=3)
    inputs = inputs_for(mkt, [0.30, 0.10, 0.22, 0.18, 0.05, 0.15],
                        targets=[1 / 6] * 6)
    plan = make_plan(inputs, cfg(**overrides))
    assert len(seen) == 1
    return plan, seen[0][0], seen[0][1]


def test_trade_list_is_the_cost_models_table_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    plan, args, held = recorded_plan(monkeypatch)
    assert isinstance(held, TradeList) and len(held) >= 4
    assert plan.n_trades == len(held)
    expected = reference_trades(args)[list(plan.trades.columns)]
    pd.testing.assert_frame_equal(plan.trades, expected, check_exact=True)
    pd.testing.assert_frame_equal(held.frame(), expected, check_exact=True)
    assert plan.trades.index.dtype == object and plan.trades["flags"].dtype == "str"
    assert plan.trades is plan.trades  # built once, then kept


def test_trade_list_fast_path_equals_the_labelled_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trades laid out as the cost inputs (no labels matched) against the same trades
    matched by label through ``cost_columns`` (a copy of the index forces it)."""
    _, args, _ = recorded_plan(monkeypatch, **{"costs.borrow_bps_annual": 40.0})
    outcome, state, costs, params, vix = args[:5]
    trade = pd.Series(outcome.sizing.trade_usd[0], index=state.tickers)
    shares = pd.Series(outcome.sizing.trade_shares[0], index=state.tickers)
    fast = plan_module._priced_columns(trade, shares, state, costs, params, vix, args[7],
                                       "rebalance")
    relabelled = pd.Index(list(state.tickers), name="ticker")
    plain = plan_module._priced_columns(trade.set_axis(relabelled),
                                        shares.set_axis(relabelled), state, costs, params,
                                        vix, args[7], "rebalance")
    assert fast[1] == plain[1]
    np.testing.assert_array_equal(fast[2], plain[2])
    pd.testing.assert_frame_equal(TradeList(fast[1], fast[0]).frame(),
                                  TradeList(plain[1], plain[0]).frame(), check_exact=True)


def test_plan_pickles_copies_and_schedules_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    plan, args, held = recorded_plan(monkeypatch)
    fresh = dataclasses.replace(plan, trades=held)  # held as columns again
    assert isinstance(fresh.__dict__["trades"], TradeList)
    back = pickle.loads(pickle.dumps(fresh))
    assert isinstance(back.__dict__["trades"], TradeList)  # sent as columns
    pd.testing.assert_frame_equal(back.trades, plan.trades, check_exact=True)
    copied = fresh.replaced(reasons=("r",))
    assert isinstance(copied.__dict__["trades"], TradeList) and copied.reasons == ("r",)
    assert copied.n_trades == len(plan.trades)
    framed = pickle.loads(pickle.dumps(plan))  # read once: pickled as its frame
    pd.testing.assert_frame_equal(framed.trades, plan.trades, check_exact=True)
    assert pd.DataFrame.equals(plan.to_dict()["trades"], back.to_dict()["trades"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.trades = plan.trades  # type: ignore[misc]
    _, state, costs, params, vix, _, config = args[:7]
    by_columns = schedule_request(held, state, costs, params, vix, config)
    by_frame = schedule_request(held.frame(), state, costs, params, vix, config)
    relisted = TradeList(held.tickers, held.columns)  # positions found by label
    for other in (by_frame, schedule_request(relisted, state, costs, params, vix, config)):
        assert other.tickers == by_columns.tickers
        for name in ("shares", "price_usd", "trade_usd"):
            np.testing.assert_array_equal(getattr(other, name), getattr(by_columns, name))
        for f in dataclasses.fields(other.costs):
            np.testing.assert_array_equal(getattr(other.costs, f.name),
                                          getattr(by_columns.costs, f.name))
    built = by_columns.build()
    assert plan.schedule is not None
    pd.testing.assert_frame_equal(built.summary, plan.schedule.summary, check_exact=True)


def test_empty_trade_list_frame_matches_a_skip() -> None:
    plan = make_plan(inputs_for(market(4), [0.25] * 4, targets=[0.25] * 4), cfg())
    assert plan.n_trades == 0 and len(plan.trades) == 0
    assert plan.trades.index.name == "ticker" and plan.trades.index.dtype == object
    assert list(plan.trades.columns)[:4] == ["side", "shares", "price_usd", "trade_usd"]


PARAMS = CostParams(default_commission_bps=1.0, default_borrow_bps_annual=25.0)
MARKET = market(5, seed=9, volume=2e4)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5e6, 5e6, allow_nan=False), min_size=5, max_size=5),
       st.one_of(st.none(), st.floats(10.0, 60.0)))
def test_cost_arrays_equal_cost_columns(trades: list[float], vix: float | None) -> None:
    """The columns of trades already in the assets' order equal ``cost_columns`` of the
    same trades matched by label, to the bit."""
    tickers = list(MARKET.prices.columns)
    costs, _ = build_cost_inputs(tickers, MARKET.prices, MARKET.volumes, None, None,
                                 as_of=MARKET.prices.index[-1], params=PARAMS)
    labelled, index = cost_columns(pd.Series(trades, index=pd.Index(tickers[::-1])[::-1]),
                                   costs, PARAMS, vix=vix, nav_usd=1e7)
    assert index.tolist() == tickers
    mine = cost_arrays(np.array(trades), costs, PARAMS, vix=vix, nav_usd=1e7)
    assert list(mine) == list(labelled)
    for name, value in labelled.items():
        np.testing.assert_array_equal(np.asarray(mine[name]), np.asarray(value), name)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=8))
def test_cost_inputs_taken_equal_those_rebuilt(picked: list[int]) -> None:
    """``AssetCostInputs.take`` against the inputs built again (and checked) from the same
    rows; read-only, like them."""
    tickers = list(MARKET.prices.columns)
    costs, _ = build_cost_inputs(tickers, MARKET.prices, MARKET.volumes, None, None,
                                 as_of=MARKET.prices.index[-1], params=PARAMS)
    pos = np.array(picked, dtype=np.intp)
    taken = costs.take(pos)
    rebuilt = dataclasses.replace(costs, tickers=tuple(tickers[i] for i in picked), **{
        f.name: getattr(costs, f.name)[pos] for f in dataclasses.fields(costs)
        if f.name != "tickers"})
    assert taken.tickers == rebuilt.tickers
    for f in dataclasses.fields(costs):
        if f.name != "tickers":
            value = getattr(taken, f.name)
            np.testing.assert_array_equal(value, getattr(rebuilt, f.name))
            assert value.dtype == getattr(rebuilt, f.name).dtype
            assert not value.flags.writeable
    assert taken.n_assets == len(picked) and taken.all_modelled == rebuilt.all_modelled
