"""The plan around positions it cannot trade as asked: held tickers outside the targets,
delisted or suspended holdings, and the stress delay's cap (issue 12, items 9a, 10, 12)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from tests.test_plan import DRIFTED, EQUAL, cfg, inputs_for, market

from driftwise.app.plan import Decision, make_plan
from driftwise.config import default_config
from driftwise.flags import Flag


def suspended_market(ticker: str = "S3", sessions: int = 3) -> object:
    """The synthetic market with ``ticker`` unpriced over the last ``sessions`` sessions."""
    mkt = market()
    prices = mkt.prices.copy()
    prices.iloc[-sessions:, prices.columns.get_loc(ticker)] = np.nan
    return dataclasses.replace(mkt, prices=prices)


def test_held_ticker_outside_the_targets_is_sold_to_zero_with_a_flag_naming_it() -> None:
    inputs = inputs_for(market(), DRIFTED, targets=[0.34, 0.33, 0.33, 0.0])
    targets = inputs.targets
    assert targets is not None
    inputs = dataclasses.replace(inputs, targets=dataclasses.replace(
        targets, weights=targets.weights.drop("S3"), band_abs=targets.band_abs.drop("S3"),
        band_rel=targets.band_rel.drop("S3")))
    plan = make_plan(inputs, cfg(**{"policy.threshold": 0.02}))
    assert plan.decision is Decision.REBALANCE
    flagged = [n for n in plan.notices if n.flag is Flag.NOT_IN_TARGETS]
    assert [n.tickers for n in flagged] == [("S3",)]
    assert "held but not in the targets" in flagged[0].detail
    # it is sold entirely
    held = float(inputs.holdings.shares["S3"])
    assert plan.trades.loc["S3", "side"] == "SELL"
    assert plan.trades.loc["S3", "shares"] == pytest.approx(held, abs=1.0)  # whole shares
    # and the JSON form names it
    flags = plan.to_dict()["flags"]
    assert any(n.flag is Flag.NOT_IN_TARGETS and n.tickers == ("S3",)
               for n in flags)  # type: ignore[attr-defined, union-attr]


def test_delisted_holding_is_valued_at_its_last_close_frozen_and_flagged() -> None:
    mkt = suspended_market("S3", sessions=3)
    inputs = inputs_for(market(), DRIFTED, targets=EQUAL)
    inputs = dataclasses.replace(inputs, market=mkt)
    plan = make_plan(inputs, default_config())
    last_day = mkt.prices["S3"].dropna().index[-1]
    last_close = float(mkt.prices["S3"].dropna().iloc[-1])
    # valued at its last close
    as_of = mkt.prices.index[-1]
    priced = mkt.prices.loc[as_of].drop("S3")
    expected_nav = float((inputs.holdings.shares.drop("S3") * priced).sum()
                         + inputs.holdings.shares["S3"] * last_close + inputs.holdings.cash_usd)
    assert plan.nav_usd == pytest.approx(expected_nav, rel=1e-12)
    # the rest is rebalanced, S3 is not traded either way, and the plan says why
    assert plan.decision is Decision.PARTIAL
    assert "S3" not in plan.trades.index and len(plan.trades) == 3
    text = f"delisted or suspended: no price since {last_day.date()}, not traded"
    assert any(r.startswith(text) and r.endswith("S3") for r in plan.reasons), plan.reasons
    flagged = [n for n in plan.notices if n.flag is Flag.NO_PRICE_TODAY]
    assert [n.tickers for n in flagged] == [("S3",)] and text in flagged[0].detail
    assert not any("do-not" in r for r in plan.reasons)
    # the others land on their targets; S3 keeps its shares (cash absorbs its deviation)
    weights_after = (inputs.holdings.shares.drop("S3") * priced
                     + plan.trades["trade_usd"].reindex(priced.index)) / plan.nav_usd
    np.testing.assert_allclose(weights_after, 0.25, atol=2e-4)


def test_delisted_holding_on_a_sell_side_is_not_sold_either() -> None:
    mkt = suspended_market("S0", sessions=1)  # S0 is overweight (31%): a rebalance sells it
    inputs = dataclasses.replace(inputs_for(market(), DRIFTED, targets=EQUAL), market=mkt)
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.PARTIAL and "S0" not in plan.trades.index


def test_stress_delay_is_capped_then_the_plan_rebalances_and_says_so() -> None:
    inputs = inputs_for(market(vix=35.0), DRIFTED, targets=EQUAL)
    waiting = make_plan(inputs, default_config(), pending_days=12.0)
    assert waiting.decision is Decision.DELAY
    assert any("delay continues (12 of at most 20 trading days waited)" in r
               for r in waiting.reasons), waiting.reasons
    capped = make_plan(inputs, default_config(), pending_days=20.0)
    assert capped.decision is Decision.REBALANCE
    assert "stress delay of 20 trading days used up: rebalance due now" in capped.reasons
    assert not any("delay 10-20" in r or "delay continues" in r for r in capped.reasons)


def test_a_rebalance_in_stress_with_large_drift_lists_no_delay() -> None:
    # drift 12% > the 10% maximum for a delay: the stress gate does not hold it back
    inputs = inputs_for(market(vix=35.0), [0.37, 0.25, 0.19, 0.19], targets=EQUAL)
    plan = make_plan(inputs, default_config())
    assert plan.decision is Decision.REBALANCE
    gate = [r for r in plan.reasons if r.startswith("stress")]
    assert gate == ["stress: VIX 35.0 ≥ 30, but drift 12.00% > 10%: no delay"], plan.reasons


def test_delay_until_counts_the_sessions_already_waited() -> None:
    inputs = inputs_for(market(vix=35.0), DRIFTED, targets=EQUAL)
    plan = make_plan(inputs, default_config(), pending_days=7.0)
    # 3 sessions left after 2024-06-28: 07-01, 07-02, 07-03
    assert plan.delay_until == pd.Timestamp("2024-07-03")


def test_a_skip_for_cost_shows_the_cost_and_benefit_it_weighed() -> None:
    inputs = inputs_for(market(), [0.27, 0.25, 0.24, 0.24], targets=EQUAL)  # D = 2%
    plan = make_plan(inputs, cfg(**{"policy.threshold": 0.02, "costs.flat_cost_bps": 500.0}))
    assert plan.decision is Decision.SKIP
    # the full rebalance it weighed trades 2% of NAV each way at 500 bps: 4% x 5% = 20 bps
    # (a little less: trades land on the NAV after costs)
    found = re.match(r"cost (\S+) bps of NAV exceeds the benefit (\S+) bps", plan.reasons[0])
    assert found is not None, plan.reasons[0]
    assert float(found.group(1)) == pytest.approx(20.0, rel=2e-3)
    # benefit of a full rebalance (TE after = 0): γ/2 · TE² · H/252 with γ = 2, H = 252
    assert float(found.group(2)) == pytest.approx(1e4 * plan.before["te"] ** 2, abs=0.006)
    assert float(found.group(2)) > 0.0


SHORT_TARGET = [0.4, 0.35, 0.3, -0.05]


def test_a_trade_that_opens_a_short_carries_its_borrow_over_the_benefit_horizon() -> None:
    inputs = inputs_for(market(), EQUAL, targets=SHORT_TARGET)
    config = cfg(**{"constraints.long_only": False, "policy.threshold": 0.02,
                    "policy.benefit_horizon_days": 126})
    plan = make_plan(inputs, config)
    assert plan.decision is Decision.REBALANCE, plan.reasons
    row = plan.trades.loc["S3"]
    held = float(inputs.holdings.shares["S3"])
    price = float(row["price_usd"])
    short_after = -(held - float(row["shares"])) * price  # USD short after the sale
    assert short_after > 0
    # borrow = short added x 25 bps a year (the default fee) x 126 / 252 days
    assert row["borrow_usd"] == pytest.approx(short_after * 25e-4 * 126 / 252, rel=1e-12)
    assert plan.trades.drop(index="S3")["borrow_usd"].eq(0.0).all()
    assert plan.after["borrow_usd"] == pytest.approx(row["borrow_usd"], rel=1e-12)
    # the cost-benefit ratio counts it, as the skip decision does
    weighed = (plan.after["cost_usd"] + plan.after["borrow_usd"]) / plan.nav_usd
    assert plan.after["cost_benefit_ratio"] == pytest.approx(
        weighed / (1e-4 * plan.after["benefit_bps"]), rel=1e-9)
    flagged = [n for n in plan.notices if n.flag is Flag.OPENS_SHORT]
    assert [n.tickers for n in flagged] == [("S3",)]
    assert flagged[0].detail.startswith("sell exceeds the position: opens a short of ")


def test_the_borrow_of_an_opened_short_can_tip_the_skip_for_cost() -> None:
    inputs = inputs_for(market(), EQUAL, targets=SHORT_TARGET)
    base = {"constraints.long_only": False, "policy.threshold": 0.02,
            "costs.flat_cost_bps": 1.0}
    cheap = make_plan(inputs, cfg(**base))
    assert cheap.decision is Decision.REBALANCE, cheap.reasons
    benefit = 1e-4 * cheap.after["benefit_bps"] * cheap.nav_usd
    trading = cheap.after["cost_usd"]
    assert trading < benefit
    # a borrow fee that makes the short's carrying cost exceed the benefit
    short_usd = cheap.after["borrow_usd"] / 25e-4  # over H = 252 days at 25 bps
    fee_bps = 1e4 * 2 * (benefit - trading) / short_usd
    costly = make_plan(inputs, cfg(**base, **{"costs.borrow_bps_annual": fee_bps}))
    assert costly.decision is Decision.SKIP, costly.reasons
    assert costly.reasons[0].startswith("cost ") and "exceeds the benefit" in costly.reasons[0]
