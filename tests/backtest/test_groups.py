"""Targets by sector or asset class backtest like asset targets: each day every row's
asset targets are the planner's split of the groups (pro rata to its holdings' value,
equal within a group holding nothing); equal to the reference simulator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.reference import run_reference
from driftwise.backtest.groups import group_targets
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.targets import read_targets

from .conftest import synthetic_inputs
from .test_reference import WINDOWS, assert_same

BASE = synthetic_inputs()
SECTORS = read_targets(pd.DataFrame({"sector": ["Tech", "Health", "Energy", "CASH"],
                                     "target_weight": [0.5, 0.2, 0.25, 0.05]}))
INPUTS = dataclasses.replace(BASE, targets=SECTORS)
FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "costs.flat_cost_bps": 0.0,
        "backtest.cash_earns_risk_free": False}


def test_the_split_is_the_planners_definition_by_hand() -> None:
    tickers = pd.Index(["AAA", "BBB", "CCC", "DDD", "EEE"])  # Tech Tech Health Energy Energy
    groups = group_targets(INPUTS, tickers)
    got = groups.expand(np.array([[300.0, 100.0, 50.0, 0.0, 0.0],
                                  [-10.0, 40.0, 0.0, 20.0, 60.0]]))
    want = np.array([[0.5 * 0.75, 0.5 * 0.25, 0.2, 0.125, 0.125],
                     [0.0, 0.5, 0.2, 0.25 * 0.25, 0.25 * 0.75]])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def test_buy_and_hold_starts_equal_within_each_sector_oracle() -> None:
    start, end = WINDOWS[0]
    result = backtest_configs(INPUTS, [pol.never(base=Config().with_overrides(FREE))],
                              start=start, end=end)
    assert result.tickers == ["AAA", "BBB", "CCC", "DDD", "EEE"]
    prices = BASE.market.prices.loc[start:end, result.tickers].to_numpy()
    w = np.array([0.25, 0.25, 0.2, 0.125, 0.125])
    nav0 = result.initial_nav_usd
    shares = w * nav0 / prices[0]
    for k in range(len(prices)):
        values = shares * prices[k]
        nav = values.sum() + 0.05 * nav0
        # drift against the day's split: within a sector the split follows the values, so
        # only the sectors' own weights drift
        tech = values[:2].sum() / nav
        energy = values[3:].sum() / nav
        drift = 0.5 * (abs(tech - 0.5) + abs(values[2] / nav - 0.2) + abs(energy - 0.25)
                       + abs(0.05 * nav0 / nav - 0.05))
        assert result.nav_usd[k, 0] == pytest.approx(nav, rel=1e-12)
        assert result.drift[k, 0] == pytest.approx(drift, abs=1e-12)
    np.testing.assert_allclose(result.ref_nav_usd, _reference_by_hand(prices, nav0, w),
                               rtol=1e-12)


SECTOR_OF = np.array([0, 0, 1, 2, 2])  # AAA BBB: Tech, CCC: Health, DDD EEE: Energy
SECTOR_WEIGHT = np.array([0.5, 0.2, 0.25])


def _reference_by_hand(prices: np.ndarray, nav0: float, start: np.ndarray,
                       cash_weight: float = 0.05) -> np.ndarray:
    """SPEC section 8's reference for sector targets, a plain loop over shares: at every
    close the reference sets each sector's value to its weight of NAV, scaling the
    sector's shares by one factor (the planner's split by its own holdings: each member's
    share of its sector is that of its value), cash to the cash weight; no cost."""
    shares = start * nav0 / prices[0]
    cash = cash_weight * nav0
    navs = [nav0]
    for k in range(1, len(prices)):
        values = shares * prices[k]
        nav = values.sum() + cash
        navs.append(nav)
        for g, weight in enumerate(SECTOR_WEIGHT):
            inside = g == SECTOR_OF
            shares[inside] *= weight * nav / values[inside].sum()
        cash = cash_weight * nav
    return np.array(navs)


CONFIGS = [pol.threshold(0.01), pol.monthly(destination="half"), pol.hybrid(override=0.02),
           pol.cost_benefit(), pol.threshold(0.01, destination="band_edge"),
           pol.vix_delayed(0.01)]


@pytest.mark.parametrize("window", WINDOWS[:2])
def test_engine_equals_reference_with_sector_targets(window: tuple[pd.Timestamp,
                                                                   pd.Timestamp]) -> None:
    start, end = window
    engine = backtest_configs(INPUTS, CONFIGS, start=start, end=end)
    assert engine.rebalanced.any(axis=0).sum() >= 4
    for i, config in enumerate(CONFIGS):
        assert_same(engine, i, run_reference(INPUTS, config, start=start, end=end))


def test_asset_class_targets() -> None:
    classes = dataclasses.replace(INPUTS, targets=read_targets(pd.DataFrame(
        {"asset_class": ["US Equity", "CASH"], "target_weight": [0.9, 0.1]})))
    start, end = WINDOWS[1]
    engine = backtest_configs(classes, [pol.threshold(0.01)], start=start, end=end)
    assert_same(engine, 0, run_reference(classes, pol.threshold(0.01), start=start, end=end))
