"""The daily plan: decisions, reasons, checks, trades and every SPEC section 10 degradation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.plan import Decision, calendar_flags, make_plan
from driftwise.calendar import nyse_sessions
from driftwise.config import Config, default_config
from driftwise.costs import CostParams, build_cost_inputs, trade_costs
from driftwise.data.costs import read_cost_inputs
from driftwise.data.loader import load_inputs
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets
from driftwise.flags import Flag
from driftwise.policy.context import Anchor, Frequency

SESSIONS = nyse_sessions("2023-01-03", "2024-06-28")


def cfg(**overrides: object) -> Config:
    return default_config().with_overrides(overrides, source="test")


def market(n_assets: int = 4, *, seed: int = 1, vix: float = 15.0, volume: float = 5e6,
           short_history: int | None = None) -> MarketData:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0003, 0.015, (len(SESSIONS), n_assets))
    prices = 50.0 * np.exp(np.cumsum(returns, axis=0))
    tickers = [f"S{i}" for i in range(n_assets)]
    frame = pd.DataFrame(prices, index=pd.DatetimeIndex(SESSIONS, name="date"), columns=tickers)
    if short_history is not None:
        frame.iloc[:-short_history, -1] = np.nan
    volumes = pd.DataFrame(volume, index=frame.index, columns=tickers)
    return MarketData(prices=frame, volumes=volumes, vix=pd.Series(vix, index=frame.index),
                      source="synthetic prices")


def inputs_for(mkt: MarketData, weights: list[float], *, cash: float = 0.0,
               targets: list[float] | None = None, nav: float = 1e7,
               effective: str | None = None, last_rebalance: str | None = "2024-01-02",
               costs_as_of: str | None = None) -> Inputs:
    last = mkt.prices.iloc[-1]
    tickers = list(mkt.prices.columns)
    shares = pd.Series([w * nav / last[t] for w, t in zip(weights, tickers, strict=True)],
                       index=pd.Index(tickers, name="ticker"))
    shares = shares[shares != 0]
    holdings = Holdings(shares=shares, cash_usd=cash * nav, source="holdings.csv",
                        lines=pd.Series({t: i + 2 for i, t in enumerate(shares.index)}))
    target = None
    if targets is not None:
        t = pd.Series(targets[: len(tickers)], index=pd.Index(tickers, name="ticker"))
        target = Targets(level=TargetLevel.ASSET, weights=t, cash_weight=1 - float(t.sum()),
                         band_abs=pd.Series(np.nan, index=t.index),
                         band_rel=pd.Series(np.nan, index=t.index),
                         effective_date=pd.Timestamp(effective) if effective else None,
                         source="targets.csv")
    costs = None
    if costs_as_of is not None:
        frame = pd.DataFrame({"ticker": tickers, "spread_bps": 2.0, "commission_bps": 1.0,
                              "as_of": costs_as_of})
        costs = read_cost_inputs(frame)
    master = SecurityMaster(frame=pd.DataFrame(
        {"sector": ["A", "A", "B", "B", "C", "C"][: len(tickers)], "asset_class": "Equity",
         "market_cap_usd": 5e10}, index=pd.Index(tickers, name="ticker")))
    return Inputs(holdings=holdings, targets=target, master=master, market=mkt,
                  last_rebalance=pd.Timestamp(last_rebalance) if last_rebalance else None,
                  costs=costs)


EQUAL = [0.25, 0.25, 0.25, 0.25]
DRIFTED = [0.31, 0.27, 0.22, 0.20]  # D = 0.5 * (0.06 + 0.02 + 0.03 + 0.05) = 8%


def test_sample_plan_rebalances_and_adds_up() -> None:
    inputs = load_inputs()
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.REBALANCE
    assert plan.reasons[0] == "portfolio drift 5.08% vs threshold 5.00%"
    assert all(c.ok for c in plan.checks)
    assert plan.after["drift"] < 1e-3 and plan.before["drift"] == pytest.approx(0.0508, abs=1e-4)
    # sells come first in the list
    sides = list(plan.trades["side"])
    assert sides == sorted(sides, key=lambda s: s != "SELL")
    # the trade list's cost is the cost model's, recomputed independently on the same trades
    params = CostParams(default_commission_bps=1.0, default_borrow_bps_annual=25.0)
    prices = inputs.market.prices.loc[plan.as_of]
    tickers = list(prices.index)
    costs, _ = build_cost_inputs(tickers, inputs.market.prices, None, inputs.master,
                                 inputs.costs, as_of=plan.as_of, params=params)
    trade = plan.trades["trade_usd"].reindex(tickers, fill_value=0.0).to_numpy()
    vix = float(inputs.market.vix.loc[plan.as_of])
    expected = trade_costs(trade, costs, params, vix).trading_usd.sum()
    assert plan.trades["cost_usd"].sum() == pytest.approx(expected, rel=1e-12)
    assert plan.after["cost_usd"] == pytest.approx(expected, rel=1e-9)
    # whole shares, and trade USD = shares x price
    np.testing.assert_array_equal(plan.trades["shares"], np.round(plan.trades["shares"]))
    np.testing.assert_allclose(plan.trades["trade_usd"].abs(),
                               plan.trades["shares"] * plan.trades["price_usd"], rtol=1e-12)
    # cash stays non-negative after sells, buys and costs
    cash_after = inputs.holdings.cash_usd - plan.trades["trade_usd"].sum() - expected
    assert cash_after >= 0
    # the schedule executes exactly the trades
    assert plan.schedule is not None
    children = plan.schedule.child_orders.groupby("ticker")["shares"].sum().abs()
    np.testing.assert_allclose(children.reindex(plan.trades.index), plan.trades["shares"])


def test_below_threshold_skips_with_reason() -> None:
    plan = make_plan(load_inputs(), cfg(**{"policy.threshold": 0.06}))
    assert plan.decision is Decision.SKIP
    assert plan.reasons[0] == "no trigger fired"
    assert "portfolio drift 5.08% vs threshold 6.00%" in plan.reasons
    assert plan.trades.empty and plan.schedule is None


def test_stress_delays_moderate_drift_until_a_date() -> None:
    inputs = inputs_for(market(vix=35.0), DRIFTED, targets=EQUAL)
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.DELAY
    # 10 NYSE sessions after 2024-06-28 (July 4th is a holiday)
    assert plan.delay_until == pd.Timestamp("2024-07-15")
    assert any("stress: VIX 35.0" in r for r in plan.reasons)
    assert plan.trades.empty


def test_stress_does_not_delay_extreme_drift() -> None:
    inputs = inputs_for(market(vix=35.0), [0.45, 0.25, 0.15, 0.15], targets=EQUAL)
    assert make_plan(inputs, default_config()).decision is Decision.REBALANCE


def test_stale_costs_invalidate_unless_accepted() -> None:
    inputs = inputs_for(market(), DRIFTED, targets=EQUAL, costs_as_of="2024-04-01")
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.INVALID
    assert "cost inputs are stale" in plan.reasons[0]
    assert plan.trades.empty
    assert not next(c for c in plan.checks if c.name == "costs fresh").ok
    accepted = make_plan(inputs, cfg(**{"costs.accept_stale_costs": True}))
    assert accepted.decision is Decision.REBALANCE
    assert any(n.flag is Flag.STALE_COSTS for n in accepted.notices)


def test_future_target_version_is_invalid() -> None:
    inputs = inputs_for(market(), DRIFTED, targets=EQUAL, effective="2024-07-01")
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.INVALID
    assert "takes effect on 2024-07-01" in plan.reasons[0]


def test_new_target_version_triggers_at_once() -> None:
    small = [0.26, 0.25, 0.25, 0.24]  # D = 1%: no threshold breach
    inputs = inputs_for(market(), small, targets=EQUAL, effective="2024-03-01",
                        last_rebalance="2024-01-02")
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.REBALANCE
    assert plan.reasons[0].startswith("new target version effective 2024-03-01")


def test_half_way_is_partial_and_halves_drift() -> None:
    inputs = inputs_for(market(), DRIFTED, targets=EQUAL)
    plan = make_plan(inputs, cfg(**{"policy.destination": "half",
                                    "constraints.whole_shares": False,
                                    "constraints.min_trade_usd": 0.0}))
    assert plan.decision is Decision.PARTIAL
    assert plan.after["drift"] == pytest.approx(plan.before["drift"] / 2, rel=1e-3)


def test_do_not_buy_is_respected_and_explained() -> None:
    inputs = inputs_for(market(), DRIFTED, targets=EQUAL)
    plan = make_plan(inputs, cfg(**{"constraints.do_not_buy": ["S3"]}))
    assert plan.decision is Decision.PARTIAL
    assert "S3" not in plan.trades.index
    assert any(r.startswith("on the do-not-buy list: S3") for r in plan.reasons)


def test_illiquid_asset_left_out_and_flagged() -> None:
    mkt = market(volume=5e6)
    vols = mkt.volumes.copy()
    vols["S3"] = 100.0  # USD 5-10k a day: far below the USD 1M minimum
    inputs = inputs_for(dataclasses.replace(mkt, volumes=vols), DRIFTED, targets=EQUAL)
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.PARTIAL
    assert "S3" not in plan.trades.index
    assert any(n.flag is Flag.ILLIQUID and "S3" in n.tickers for n in plan.notices)
    assert not next(c for c in plan.checks if c.name == "liquidity").ok


def test_cost_exceeding_benefit_skips() -> None:
    inputs = inputs_for(market(), [0.27, 0.25, 0.24, 0.24], targets=EQUAL)  # D = 2%
    plan = make_plan(inputs, cfg(**{"policy.threshold": 0.02, "costs.flat_cost_bps": 500.0}))
    assert plan.decision is Decision.SKIP
    assert plan.reasons[0].startswith("cost ") and "exceeds the benefit" in plan.reasons[0]


@pytest.mark.parametrize(("trigger", "extra", "fires"), [
    ("never", {}, False),
    ("calendar", {"policy.frequency": "month"}, False),  # 2024-06-28 is the last, not first
    ("calendar", {"policy.frequency": "month", "policy.anchor": "last"}, True),
    ("bands", {"policy.band_abs": 0.04, "policy.band_mode": "absolute"}, True),  # 6% > 4%
    ("bands", {"policy.band_abs": 0.07, "policy.band_mode": "absolute"}, False),
    ("hybrid", {"policy.frequency": "year"}, False),  # D = 8% < 10% override
    ("cost_benefit", {}, True),
    ("dynamic", {}, True),
])
def test_trigger_kinds_through_the_planner(trigger: str, extra: dict[str, object],
                                           fires: bool) -> None:
    inputs = inputs_for(market(), DRIFTED, targets=EQUAL)
    plan = make_plan(inputs, cfg(**{"policy.trigger": trigger, **extra}))
    assert (plan.decision in (Decision.REBALANCE, Decision.PARTIAL)) is fires, plan.reasons


def test_calendar_flags_on_nyse_days() -> None:
    assert (Frequency.MONTH, Anchor.LAST) in calendar_flags(pd.Timestamp("2024-06-28"))
    assert (Frequency.QUARTER, Anchor.LAST) in calendar_flags(pd.Timestamp("2024-06-28"))
    assert (Frequency.HALF, Anchor.LAST) in calendar_flags(pd.Timestamp("2024-06-28"))
    assert (Frequency.YEAR, Anchor.FIRST) in calendar_flags(pd.Timestamp("2024-01-02"))
    # every session opens and closes its day; 2024-06-27 is no other period's boundary
    assert calendar_flags(pd.Timestamp("2024-06-27")) == frozenset(
        {(Frequency.DAY, Anchor.FIRST), (Frequency.DAY, Anchor.LAST)})
    assert calendar_flags(pd.Timestamp("2024-06-29")) == frozenset()  # a Saturday


def flags_of(plan: object) -> set[Flag]:
    return {n.flag for n in plan.notices}  # type: ignore[attr-defined]


def test_degradation_no_target() -> None:
    plan = make_plan(inputs_for(market(), DRIFTED), default_config())
    assert Flag.NO_TARGET in flags_of(plan)


def test_degradation_short_position_and_borrow() -> None:
    plan = make_plan(inputs_for(market(), [0.4, 0.35, 0.3, -0.05], targets=EQUAL),
                     default_config())
    assert Flag.SHORT_POSITION in flags_of(plan)
    assert plan.trades.loc["S3", "side"] == "BUY"  # long-only buys the short back


def test_degradation_drift_capped() -> None:
    inputs = inputs_for(market(), [0.9, 0.05, 0.05, 0.0],
                        targets=[0.1, 0.3, 0.3, 0.3])  # S0 drifts by 80%
    plan_flags = flags_of(make_plan(inputs, default_config()))
    from driftwise.app.monitor import monitor

    assert Flag.DRIFT_CAPPED in {n.flag for n in monitor(inputs).notices}
    assert Flag.DRIFT_CAPPED in plan_flags


def test_degradation_no_volatility_and_no_correlations() -> None:
    inputs = inputs_for(market(short_history=10), DRIFTED, targets=EQUAL)
    flags = flags_of(make_plan(inputs, default_config()))
    assert Flag.NO_VOLATILITY in flags and Flag.NO_CORRELATIONS in flags


def test_degradation_estimated_costs_and_liquidity() -> None:
    mkt = dataclasses.replace(market(), volumes=None)
    flags = flags_of(make_plan(inputs_for(mkt, DRIFTED, targets=EQUAL), default_config()))
    assert Flag.ESTIMATED_LIQUIDITY in flags
    assert Flag.ESTIMATED_COSTS in flags or Flag.TIER_SPREAD in flags


def test_degradation_vix_proxy_on_the_sample() -> None:
    assert Flag.VIX_PROXY in flags_of(make_plan(load_inputs(), default_config()))


def test_lot_sales_and_tax_in_the_trade_list() -> None:
    inputs = inputs_for(market(), DRIFTED, targets=EQUAL)
    price = float(inputs.market.prices.iloc[-1]["S0"])
    shares = float(inputs.holdings.shares["S0"])
    # two lots of S0: an old cheap one (long-term gain) and a recent dear one (short-term loss)
    lots = pd.DataFrame({"ticker": "S0", "shares": [shares / 2, shares / 2],
                         "acquired": pd.to_datetime(["2020-01-02", "2024-05-01"]),
                         "cost_basis_usd": [shares / 2 * price * 0.5, shares / 2 * price * 1.2],
                         "account": None})
    holdings = dataclasses.replace(inputs.holdings, lots=lots)
    inputs = dataclasses.replace(inputs, holdings=holdings)
    plan = make_plan(inputs, cfg(**{"tax.enabled": True, "tax.lot_relief": "hifo"}))
    sold = float(plan.trades.loc["S0", "shares"])
    assert plan.trades.loc["S0", "side"] == "SELL" and sold < shares / 2
    # HIFO relieves the dear lot first: a short-term loss of 0.2 x price per share at 37%
    # plus the 3.8% net investment income tax
    assert plan.trades.loc["S0", "tax_usd"] == pytest.approx(sold * (price - 1.2 * price) * 0.408)
    assert plan.trades.loc["S0", "lots"].startswith("hifo: S0:2024-05-01×")
    untaxed = make_plan(inputs, default_config())
    assert untaxed.trades.loc["S0", "tax_usd"] == 0.0
