"""The reasons a plan gives never contradict its decision (issue 12, item 12).

Property test over random portfolios, VIX levels, pending delays and rules: no delay
reason on a rebalance, partial or skip; a delay always says so; a skip for cost shows
the cost and benefit it weighed (those of the trades it did not make, recomputed here);
a stress delay used up says so and acts.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise._types import TRADING_DAYS
from driftwise.app.plan import Decision, decide
from driftwise.costs import RowCosts
from driftwise.policy.constraints import Constraints
from driftwise.policy.context import DayContext
from driftwise.policy.destination import Destination
from driftwise.policy.rule import AssetDay, Rule, step
from driftwise.policy.triggers import AnyOf, CostBenefit, DriftThreshold, StressDelay
from driftwise.state import PortfolioState

DELAYING = re.compile(r"delay \d+-\d+ trading days|delay continues")
SKIP_FOR_COST = re.compile(r"cost (\S+) bps of NAV exceeds the benefit (\S+) bps")


def _state(n: int, weights: np.ndarray, target: np.ndarray, nav: float) -> PortfolioState:
    tickers = pd.Index([f"A{i}" for i in range(n)], name="ticker")
    prices = np.full(n, 100.0)
    cash = nav * (1.0 - weights.sum())
    return PortfolioState(
        tickers=tickers, as_of=pd.Timestamp("2024-06-28"), shares=weights * nav / prices,
        prices_usd=prices, cash_usd=cash, nav_usd=nav, target_weights=target,
        target_cash_weight=1.0 - float(target.sum()), band_abs=np.full(n, np.nan),
        band_rel=np.full(n, np.nan), sectors=np.full(n, "S", dtype=object),
        asset_classes=np.full(n, "E", dtype=object), market_cap_usd=np.full(n, np.nan))


@st.composite
def cases(draw: st.DrawFn) -> tuple[object, ...]:
    n = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    target = rng.dirichlet(np.ones(n + 1))[:-1]
    spread = draw(st.sampled_from([0.002, 0.02, 0.08, 0.2]))
    weights = np.clip(target + rng.normal(0.0, spread, n), 0.0, None)
    if weights.sum() > 0.999:
        weights *= 0.999 / weights.sum()
    vix = draw(st.sampled_from([float("nan"), 12.0, 25.0, 30.0, 45.0]))
    pending = draw(st.sampled_from([float("nan"), 0.0, 3.0, 10.0, 19.0, 20.0, 35.0]))
    delay_days = draw(st.integers(0, 15))
    max_delay = delay_days + draw(st.integers(0, 15))
    inner = draw(st.sampled_from(["threshold", "cost_benefit", "any"]))
    trigger: object = DriftThreshold(draw(st.sampled_from([0.01, 0.03, 0.05, 0.1])))
    if inner == "cost_benefit":
        trigger = CostBenefit()
    elif inner == "any":
        trigger = AnyOf((trigger, CostBenefit()))  # type: ignore[arg-type]
    if draw(st.booleans()):
        trigger = StressDelay(trigger, drift_max=draw(st.sampled_from([0.02, 0.1])),  # type: ignore[arg-type]
                              extreme=draw(st.sampled_from([0.05, 0.15])),
                              delay_days=delay_days, max_delay_days=max_delay)
    rule = Rule(trigger=trigger,  # type: ignore[arg-type]
                destination=draw(st.sampled_from(list(Destination))),
                constraints=Constraints(whole_shares=False, min_trade_usd=0.0),
                skip_if_cost_exceeds_benefit=draw(st.booleans()),
                gamma=draw(st.sampled_from([0.5, 2.0, 10.0])),
                horizon_days=draw(st.sampled_from([21.0, 252.0])))
    rate = draw(st.sampled_from([0.0, 0.0005, 0.01, 0.05]))
    return n, weights, target, vix, pending, rule, rate, seed


@settings(max_examples=150, deadline=None)
@given(cases())
def test_reasons_never_contradict_the_decision(case: tuple[object, ...]) -> None:
    n, weights, target, vix, pending, rule, rate, seed = case
    assert isinstance(n, int) and isinstance(rule, Rule) and isinstance(rate, float)
    w, t = np.asarray(weights), np.asarray(target)
    nav = 1e7
    cost_fn = RowCosts.simple(n, rate=rate)
    vol = np.random.default_rng(int(seed)).uniform(0.1, 0.5, n)  # type: ignore[call-overload]
    ctx = DayContext(
        date=np.datetime64("2024-06-28"), weights=w[None, :], cash_weight=np.array([1 - w.sum()]),
        target=t, target_cash=1.0 - float(t.sum()), nav_usd=np.array([nav]), vol_annual=vol,
        band_width=np.full(n, 0.02), full_cost_usd=lambda x: cost_fn(x).sum(axis=1),
        vix=float(vix),  # type: ignore[arg-type]
        pending_days=np.array([pending], dtype=float))
    day = AssetDay(prices_usd=np.full(n, 100.0), adv_shares=np.full(n, 1e9),
                   no_buy=np.zeros(n, dtype=bool), no_sell=np.zeros(n, dtype=bool),
                   cost_fn=cost_fn)
    outcome = step(rule, ctx, day)
    decision, _, reasons = decide(outcome, rule, [], _state(n, w, t, nav),
                                  float(pending))  # type: ignore[arg-type]
    invalid, _, said = decide(outcome, rule, ["prices missing"], _state(n, w, t, nav),
                              float(pending))  # type: ignore[arg-type]
    assert invalid is Decision.INVALID and said[0] == "prices missing"
    assert not [r for r in said if DELAYING.search(r)], said  # no trade, so no delay
    delaying = [r for r in reasons if DELAYING.search(r)]
    if decision is Decision.DELAY:
        assert delaying, reasons
    else:
        assert not delaying, (decision, reasons)
    if decision in (Decision.REBALANCE, Decision.PARTIAL):
        assert bool(outcome.trigger.fired[0]) and bool(outcome.traded[0])
        assert not any(r.startswith(("no trigger fired", "cost ")) for r in reasons)
    if decision is Decision.SKIP and bool(outcome.skipped_for_cost[0]):
        found = SKIP_FOR_COST.match(reasons[0])
        assert found is not None, reasons
        cost, gain = _weighed(rule, ctx, day)
        assert found.group(1) == f"{1e4 * cost:.2f}" and found.group(2) == f"{1e4 * gain:.2f}"
        assert cost > gain and cost > 0.0
    stressed = np.isfinite(vix) and float(vix) >= 30.0  # type: ignore[arg-type]
    gate = rule.trigger if isinstance(rule.trigger, StressDelay) else None
    if gate is not None and stressed and np.isfinite(pending) \
            and float(pending) >= gate.max_delay_days:  # type: ignore[arg-type]
        assert decision is not Decision.DELAY
        assert (f"stress delay of {gate.max_delay_days} trading days used up: rebalance due "
                "now") in reasons


def _weighed(rule: Rule, ctx: DayContext, day: AssetDay) -> tuple[float, float]:
    """Cost and benefit of the trades the rule would make without the skip, recomputed
    from their definitions: cost = Σ cost_i / NAV; benefit = γ/2 (TE_b² − TE_a²) H/252
    with the diagonal TE sqrt(Σ d_i² σ_i²)."""
    import dataclasses
    sized = step(dataclasses.replace(rule, skip_if_cost_exceeds_benefit=False), ctx, day)
    cost = float(sized.sizing.cost_usd[0].sum() / ctx.nav_usd[0])
    vol = np.asarray(ctx.vol_annual)
    d_before = ctx.weights[0] - ctx.target
    d_after = sized.sizing.post_weights[0] - ctx.target
    te_b2 = float(np.sum(d_before**2 * vol**2))
    te_a2 = float(np.sum(d_after**2 * vol**2))
    return cost, 0.5 * rule.gamma * (te_b2 - te_a2) * rule.horizon_days / TRADING_DAYS
