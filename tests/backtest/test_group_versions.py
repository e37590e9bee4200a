"""Target versions by sector (and switches between asset and sector levels) switch on their
effective dates as events; the reference portfolio of group targets rebalances the group
weights daily and splits each group by its own holdings (SPEC section 8). Checked against
plain loops written from the definitions and against the reference simulator (the planner
day by day)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.app.aftertax import run_one
from driftwise.app.reference import run_reference
from driftwise.backtest.groups import reference_growth
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs, Targets
from driftwise.data.targets import read_targets
from driftwise.state import GroupTargets

from .conftest import synthetic_inputs, with_extra_holding
from .test_reference import assert_same

BASE = synthetic_inputs()
DAYS = BASE.market.prices.index
SWITCH, LATER = DAYS[115], DAYS[130]
SECTOR = np.array([0, 0, 1, 2, 2])  # AAA BBB: Tech, CCC: Health, DDD EEE: Energy
S1 = {"Tech": 0.5, "Health": 0.2, "Energy": 0.25, "CASH": 0.05}
S2 = {"Tech": 0.3, "Health": 0.4, "Energy": 0.2, "CASH": 0.1}
V1 = {"AAA": 0.25, "BBB": 0.2, "CCC": 0.2, "DDD": 0.15, "EEE": 0.15, "CASH": 0.05}
V3 = {"AAA": 0.3, "BBB": 0.3, "CCC": 0.3, "EEE": 0.1}
FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "costs.flat_cost_bps": 0.0,
        "backtest.cash_earns_risk_free": False}


def version(weights: dict[str, float], effective: pd.Timestamp | None,
            level: str = "ticker") -> Targets:
    frame = pd.DataFrame({level: list(weights), "target_weight": list(weights.values())})
    if effective is not None:
        frame["effective_date"] = str(effective.date())
    return read_targets(frame)


def with_versions(*versions: Targets, inputs: Inputs = BASE) -> Inputs:
    return dataclasses.replace(inputs, targets=versions[0], target_versions=versions)


SECTORS = with_versions(version(S1, DAYS[0], "sector"), version(S2, SWITCH, "sector"))
MIXED = with_versions(version(V1, DAYS[0]), version(S2, SWITCH, "sector"),
                      version(V3, LATER))
WINDOW = (DAYS[100], DAYS[140])


def _group_weights(weights: dict[str, float]) -> np.ndarray:
    return np.array([weights["Tech"], weights["Health"], weights["Energy"]])


def test_buy_and_hold_moves_to_the_new_sector_weights_on_the_switch_oracle() -> None:
    """A rule that never fires holds the first sector weights until the second version
    takes effect; that day it trades to the new sector weights (the event), each sector
    split by its holdings' values (so the split within a sector does not move), at no cost;
    the drift of the switch day is that of the sector weights against the new version."""
    start, end = WINDOW
    result = backtest_configs(SECTORS, [pol.never(base=Config().with_overrides(FREE))],
                              start=start, end=end)
    assert result.tickers == ["AAA", "BBB", "CCC", "DDD", "EEE"]
    prices = BASE.market.prices.loc[start:end, result.tickers].to_numpy()
    s = int(np.flatnonzero(pd.DatetimeIndex(result.dates) == SWITCH)[0])
    nav0 = result.initial_nav_usd
    start_split = np.array([0.25, 0.25, 0.2, 0.125, 0.125])  # equal within each sector
    shares, cash = start_split * nav0 / prices[0], 0.05 * nav0
    for k in range(len(prices)):
        values = shares * prices[k]
        nav = values.sum() + cash
        sector = np.array([values[g == SECTOR].sum() for g in range(3)])
        if k == s:
            drift = 0.5 * (np.abs(sector / nav - _group_weights(S2)).sum()
                           + abs(cash / nav - 0.1))
            assert result.drift[k, 0] == pytest.approx(drift, abs=1e-12)
            assert result.rebalanced[k, 0]
            scale = _group_weights(S2) * nav / sector
            shares = shares * scale[SECTOR]
            cash = 0.1 * nav
            assert result.post_drift[k, 0] == pytest.approx(0.0, abs=1e-12)
        else:
            assert not result.rebalanced[k, 0]
        assert result.nav_usd[k, 0] == pytest.approx(nav, rel=1e-12)
        assert result.cash_usd[k, 0] == pytest.approx(cash, rel=1e-9)
    # the reference: the sector weights in force rebalanced each close, split by its own
    # holdings (a plain loop over its shares)
    ref_shares, ref_cash, navs = start_split * nav0 / prices[0], 0.05 * nav0, [nav0]
    for k in range(1, len(prices)):
        values = ref_shares * prices[k]
        nav = values.sum() + ref_cash
        navs.append(nav)
        weights = S1 if k < s else S2
        sector = np.array([values[g == SECTOR].sum() for g in range(3)])
        ref_shares = ref_shares * (_group_weights(weights) * nav / sector)[SECTOR]
        ref_cash = weights["CASH"] * nav
    np.testing.assert_allclose(result.ref_nav_usd, navs, rtol=1e-12)


def _reference_by_loop(prices: np.ndarray, start: np.ndarray,
                       plan: list[tuple[str, dict[str, float]]], day_version: np.ndarray,
                       cash_growth: np.ndarray) -> np.ndarray:
    """The reference's growth, a plain loop over its holdings in USD: at each close the
    version in force sets each asset (asset level) or each sector (sector level, its
    members scaled by one factor) to its weight of NAV, and cash to the cash weight."""
    held = start * 1.0  # USD per asset after the first close, NAV 1
    cash = 1.0 - start.sum()
    nav = 1.0
    growth = []
    for k in range(1, len(prices)):
        held = held * prices[k] / prices[k - 1]
        cash = cash * cash_growth[k]
        new = held.sum() + cash
        growth.append(new / nav)
        nav = new
        level, weights = plan[int(day_version[k])]
        if level == "ticker":
            held = np.array([weights.get(t, 0.0) for t in ("A", "B", "C", "D", "E")]) * nav
        else:
            for g, name in enumerate(("Tech", "Health", "Energy")):
                inside = g == SECTOR
                held[inside] *= weights[name] * nav / held[inside].sum()
        cash = weights.get("CASH", 0.0) * nav
    return np.array(growth)


def test_reference_growth_over_mixed_versions_equals_a_plain_loop() -> None:
    """Asset, then sector, then sector again, then asset weights, cash growing at a rate:
    the engine's reference equals a loop over the reference's own holdings."""
    rng = np.random.default_rng(3)
    prices = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (60, 5)), axis=0))
    plan = [("ticker", {"A": 0.3, "B": 0.1, "C": 0.2, "D": 0.2, "E": 0.1, "CASH": 0.1}),
            ("sector", S1), ("sector", S2), ("ticker", {"A": 0.5, "C": 0.5})]
    day_version = np.repeat([0, 1, 2, 3], [12, 20, 1, 27])
    groups = (None, GroupTargets(SECTOR, _group_weights(S1)),
              GroupTargets(SECTOR, _group_weights(S2)), None)
    weights = np.array([[w.get(t, 0.0) for t in "ABCDE"] if level == "ticker"
                        else np.zeros(5) for level, w in
                        [(lv, {k[0]: v for k, v in w.items() if k != "CASH"})
                         for lv, w in plan]])
    cash = np.array([w.get("CASH", 0.0) for _, w in plan])
    night = np.concatenate([[1.0], 1.0 + rng.uniform(0.0, 0.05, 59) / 252])
    got = reference_growth(prices, weights[0], weights, cash, groups, day_version, night)
    np.testing.assert_allclose(got, _reference_by_loop(prices, weights[0], plan,
                                                       day_version, night), rtol=1e-13)
    # starting on a sector version: the start's split (here unequal within each sector)
    start = np.array([0.4, 0.1, 0.2, 0.05, 0.2])
    got = reference_growth(prices, start, weights, cash, groups, day_version + 1 - (
        day_version == 3), night)
    want = _reference_by_loop(prices, start, plan, day_version + 1 - (day_version == 3),
                              night)
    np.testing.assert_allclose(got, want, rtol=1e-13)


CONFIGS = [pol.threshold(0.02), pol.monthly(destination="half"), pol.never(),
           pol.cost_benefit(),
           pol.threshold(0.02, destination="band_edge", base=Config().with_overrides(
               {"policy.skip_if_cost_exceeds_benefit": True, "costs.cost_scale": 20.0}))]


@pytest.mark.parametrize("inputs", [SECTORS, MIXED], ids=["sector-sector", "asset-sector-asset"])
def test_engine_equals_reference_across_group_switches(inputs: Inputs) -> None:
    start, end = WINDOW
    engine = backtest_configs(inputs, CONFIGS, start=start, end=end)
    days = pd.DatetimeIndex(engine.dates)
    for d in (SWITCH, LATER) if inputs is MIXED else (SWITCH,):
        assert engine.rebalanced[int(np.flatnonzero(days == d)[0])].all()  # the events
    for i, config in enumerate(CONFIGS):
        assert_same(engine, i, run_reference(inputs, config, start=start, end=end))


def test_from_holdings_a_sector_version_is_an_event_when_the_last_rebalance_is_known() -> None:
    held = with_extra_holding(with_versions(version(S1, DAYS[0], "sector"),
                                            version(S2, DAYS[110], "sector")))
    config = pol.threshold(0.5, base=Config().with_overrides(
        {"backtest.start_from_holdings": True}))
    start, end = DAYS[120], DAYS[150]
    known = backtest_configs(held, [config], start=start, end=end)
    assert known.rebalanced[0, 0] and "EXTRA" in known.tickers
    assert_same(known, 0, run_reference(held, config, start=start, end=end))
    unknown = dataclasses.replace(held, last_rebalance=None)
    quiet = backtest_configs(unknown, [config], start=start, end=end)
    assert not quiet.rebalanced[:, 0].any()
    assert_same(quiet, 0, run_reference(unknown, config, start=start, end=end))


@pytest.mark.parametrize("inputs", [SECTORS, MIXED], ids=["sector-sector", "asset-sector-asset"])
def test_the_after_tax_loop_switches_group_versions_as_the_engine(inputs: Inputs) -> None:
    """With tax rates at zero the after-tax loop is the engine's path, its reference the
    engine's reference."""
    base = Config().with_overrides({"tax.short_term_rate": 0.0, "tax.long_term_rate": 0.0,
                                    "tax.niit_rate": 0.0, "tax.state_rate": 0.0,
                                    "backtest.start": str(WINDOW[0].date()),
                                    "backtest.end": str(WINDOW[1].date())})
    for config in (pol.threshold(0.02, base=base), pol.never(base=base)):
        engine = backtest_configs(inputs, [config])
        mine = run_one(inputs, config, aware=False, harvest_every="never")
        np.testing.assert_allclose(mine.nav_usd, engine.nav_usd[:, 0], rtol=1e-12)
        np.testing.assert_array_equal(mine.rebalanced, engine.rebalanced[:, 0])
        np.testing.assert_allclose(mine.ref_nav_usd, engine.ref_nav_usd, rtol=1e-12)
        assert mine.rebalanced[list(mine.dates).index(SWITCH)]


@pytest.mark.parametrize("inputs", [SECTORS, MIXED], ids=["sector-sector", "asset-sector-asset"])
def test_a_rule_that_rebalances_every_close_at_no_cost_is_the_reference(inputs: Inputs) -> None:
    """The reference of group targets is what a rule's own full rebalance does when it
    runs at every close for free: the two NAV paths agree to rounding."""
    start, end = WINDOW
    result = backtest_configs(inputs, [pol.daily(base=Config().with_overrides(FREE))],
                              start=start, end=end)
    assert result.rebalanced[1:, 0].all()
    np.testing.assert_allclose(result.nav_usd[:, 0], result.ref_nav_usd, rtol=1e-11)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1),
       levels=st.lists(st.sampled_from(["ticker", "sector"]), min_size=1, max_size=4),
       data=st.data())
def test_reference_growth_equals_the_loop_for_any_versions(seed: int, levels: list[str],
                                                           data: st.DataObject) -> None:
    """Any sequence of asset and sector versions, any lengths, weights and start split: the
    engine's reference equals the loop over the reference's holdings."""
    rng = np.random.default_rng(seed)
    n_days = 30
    prices = 20.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, (n_days, 5)), axis=0))
    plan: list[tuple[str, dict[str, float]]] = []
    for level in levels:
        raw = rng.dirichlet(np.ones(4))
        names = ("A", "B", "C", "D", "E") if level == "ticker" else ("Tech", "Health", "Energy")
        cut = rng.dirichlet(np.ones(len(names))) * raw[:3].sum()
        plan.append((level, {**dict(zip(names, cut.tolist(), strict=True)),
                             "CASH": float(raw[3])}))
    cuts = sorted(data.draw(st.lists(st.integers(1, n_days - 1), min_size=len(levels) - 1,
                                     max_size=len(levels) - 1, unique=True)))
    day_version = np.searchsorted(np.array(cuts), np.arange(n_days), side="right")
    groups = tuple(None if level == "ticker" else GroupTargets(SECTOR, np.array(
        [w["Tech"], w["Health"], w["Energy"]])) for level, w in plan)
    weights = np.array([[w.get(t, 0.0) for t in "ABCDE"] if level == "ticker" else np.zeros(5)
                        for level, w in plan])
    cash = np.array([w["CASH"] for _, w in plan])
    level0, w0 = plan[0]
    start = (weights[0] if level0 == "ticker"
             else GroupTargets(SECTOR, np.array([w0["Tech"], w0["Health"], w0["Energy"]]))
             .expand(rng.uniform(0.0, 1.0, 5))[0])
    night = np.concatenate([[1.0], 1.0 + rng.uniform(0.0, 0.05, n_days - 1) / 252])
    got = reference_growth(prices, start, weights, cash, groups, day_version, night)
    np.testing.assert_allclose(got, _reference_by_loop(prices, start, plan, day_version, night),
                               rtol=1e-12)
