"""The optimized destination in the backtest and the plan: sweep axes, the no-trade
region in the plan, the fallback flagged everywhere."""

from __future__ import annotations

import re

import numpy as np
import pytest

import driftwise as dw
from driftwise.backtest import run_backtest
from driftwise.backtest.batches import Window
from driftwise.backtest.grid import sweep
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.sample import load_sample
from driftwise.flags import Flag
from driftwise.policy import conic
from driftwise.policy.destination import Destination
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import DriftThreshold

START, END = "2021-03-01", "2021-04-30"


def _daily(**optimizer: float) -> Config:
    return pol.daily(destination="optimized").with_overrides(
        {f"optimizer.{k}": v for k, v in optimizer.items()})


def test_gamma_trade_axis_is_one_block_equal_to_separate_runs() -> None:
    """``sweep(rule, gamma_trade=[...])``: one batch whose rows equal the same rule run
    alone with each value (rows decided as alone)."""
    inputs = load_sample()
    rule = Rule(DriftThreshold(0.0), destination=Destination.OPTIMIZED)
    grid = sweep(rule, gamma_trade=[1.0, 10.0], gamma=[2.0, 20.0])
    assert len(grid.blocks) == 1 and len(grid.names) == 4
    window = Window(START, END, from_holdings=False, initial_nav_usd=1e7)
    together = run_backtest(inputs, grid, window)
    # rows: the axes' product in the order given, gamma_trade first
    for i, (gt, g) in enumerate([(1.0, 2.0), (1.0, 20.0), (10.0, 2.0), (10.0, 20.0)]):
        alone = run_backtest(inputs, sweep(rule, gamma=[g], gamma_trade=[gt]), window)
        np.testing.assert_allclose(together.nav_usd[:, i], alone.nav_usd[:, 0], rtol=1e-12)
    traded = together.traded_usd.sum(axis=0)
    assert traded[0] > traded[2] and traded[1] > traded[3]  # trade aversion trades less


def test_configurations_differing_in_gammas_share_a_block() -> None:
    from driftwise.config.assemble import rule_grid

    grid = rule_grid([_daily(gamma_trade=1.0), _daily(gamma_trade=5.0, gamma=4.0)])
    assert len(grid.blocks) == 1
    np.testing.assert_array_equal(grid.blocks[0].rule.optimizer.gamma_trade, [1.0, 5.0])
    np.testing.assert_array_equal(grid.blocks[0].rule.optimizer.gamma, [2.0, 4.0])


def test_solver_failure_is_flagged_in_the_backtest_and_the_plan(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing solver: the backtest trades as the full destination on those days and
    names the configuration in a notice; the plan carries the flag."""
    inputs = load_sample()
    monkeypatch.setitem(conic.TOLERANCES, "no_such_setting", 1.0)  # Clarabel refuses it
    failing = backtest_configs(inputs, [_daily(gamma=50.0)], start=START, end=END)
    full = backtest_configs(inputs, [pol.daily()], start=START, end=END)
    assert failing.optimizer_fallback is not None and failing.optimizer_fallback.any()
    assert any(n.flag is Flag.OPTIMIZER_FALLBACK for n in failing.notices)
    np.testing.assert_allclose(failing.nav_usd, full.nav_usd, rtol=1e-12)
    plan = dw.plan(inputs, config={"policy.destination": "optimized", "policy.threshold": 0.0,
                                   "policy.skip_if_cost_exceeds_benefit": False,
                                   "optimizer.gamma": 50.0})
    assert any(n.flag is Flag.OPTIMIZER_FALLBACK for n in plan.notices)


def test_plan_names_the_no_trade_region_and_the_rounding() -> None:
    inputs = dw.load()
    plan = dw.plan(inputs, config={"policy.destination": "optimized", "policy.threshold": 0.0,
                                   "policy.skip_if_cost_exceeds_benefit": False,
                                   "optimizer.gamma_trade": 3.0})
    region = [r for r in plan.reasons if "no-trade region" in r]
    assert len(region) == 1
    left = set(inputs.market.prices.columns) - set(plan.trades.index)
    named = set(re.findall(r"([A-Z]+) \(\d", region[0]))
    assert named and named <= left  # named untraded, each with its benefit <= cost
    # the rounding step's report: final minus solver, small against the trades
    assert abs(plan.after["rounding_cost_change_usd"]) < 0.05 * plan.after["optimizer_cost_usd"]
    assert abs(plan.after["rounding_te_change"]) < 1e-4
    assert plan.after["cost_usd"] == pytest.approx(
        plan.after["optimizer_cost_usd"] + plan.after["rounding_cost_change_usd"], rel=1e-12)


def test_plan_tells_a_constrained_asset_from_the_no_trade_region() -> None:
    """An asset worth buying on the do-not-buy list is not said to be inside the no-trade
    region: the plan names the constraint instead."""
    inputs = dw.load()
    config = {"policy.destination": "optimized", "policy.threshold": 0.0,
              "policy.skip_if_cost_exceeds_benefit": False, "optimizer.gamma_trade": 3.0}
    free = dw.plan(inputs, config=config)
    bought = str(free.trades.index[free.trades["side"] == "BUY"][-1])
    held = dw.plan(inputs, config={**config, "constraints.do_not_buy": [bought]})
    assert bought not in held.trades.index
    constrained = [r for r in held.reasons if r.startswith("left by a constraint")]
    assert len(constrained) == 1 and bought in constrained[0]
    region = [r for r in held.reasons if "no-trade region" in r]
    assert all(f"{bought} (" not in r for r in region)
