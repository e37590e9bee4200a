"""One corrected band everywhere: monitor, plan tile, backtest comparison and report.

Each place that shows a theoretical band must show
:func:`driftwise.metrics.threshold.corrected_band` of the target portfolio, its
covariance, the one-way cost and γ.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.backtest import compare, theory_inputs
from driftwise.app.monitor import monitor
from driftwise.app.plan import make_plan
from driftwise.app.sweep import SweepGrid
from driftwise.calendar import nyse_sessions
from driftwise.config import default_config
from driftwise.config.assemble import monitor_config
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets
from driftwise.metrics.risk_model import MonitorConfig, estimate_risk
from driftwise.metrics.threshold import corrected_band
from driftwise.report import backtest_data
from driftwise.report.html import fmt_pct
from driftwise.report.plan_page import plan_tiles

from .conftest import synthetic_inputs


def sixty_forty_inputs() -> Inputs:
    """Two assets with different volatilities, held 60/40 on the last day."""
    dates = nyse_sessions("2022-01-03", "2023-12-29")
    rng = np.random.default_rng(5)
    rets = rng.normal(0.0, 1.0, (len(dates), 2)) * np.array([0.18, 0.05]) / np.sqrt(252)
    prices = pd.DataFrame(100.0 * np.exp(np.cumsum(rets, axis=0)),
                          index=pd.DatetimeIndex(dates, name="date"), columns=["EQ", "BD"])
    last = prices.iloc[-1]
    holdings = Holdings(shares=pd.Series({"EQ": 6e6 / last["EQ"], "BD": 4e6 / last["BD"]}),
                        cash_usd=0.0)
    weights = pd.Series({"EQ": 0.6, "BD": 0.4})
    targets = Targets(level=TargetLevel.ASSET, weights=weights,
                      band_abs=pd.Series(np.nan, index=weights.index),
                      band_rel=pd.Series(np.nan, index=weights.index))
    return Inputs(holdings=holdings, targets=targets, master=SecurityMaster.empty(),
                  market=MarketData(prices=prices, source="synthetic"),
                  last_rebalance=pd.Timestamp(dates[-30]))


def test_monitor_shows_the_closed_form_for_sixty_forty() -> None:
    report = monitor(sixty_forty_inputs(),
                     config=MonitorConfig(one_way_cost=0.002, tracking_aversion=2.0))
    # (1.5 * 0.6^2 * 0.4^2 * 0.002 / 2)^(1/3) = 4.42%
    assert report.thresholds.half_band == pytest.approx(8.64e-5 ** (1 / 3), rel=1e-9)
    assert f"{report.thresholds.half_band:.1%}" == "4.4%"


def test_monitor_plan_tile_backtest_and_report_show_one_band() -> None:
    inputs = synthetic_inputs()
    config = default_config()
    gamma = config.policy.tracking_aversion
    day = pd.Timestamp(inputs.market.prices.index[-1])
    mcfg = monitor_config(config, one_way_cost=0.0015)
    report = monitor(inputs, as_of=day, config=mcfg)
    risk = estimate_risk(report.state, inputs.market.prices, mcfg)
    band = corrected_band(report.state.target_weights, risk.cov_long, 0.0015, gamma,
                          target_cash_weight=report.state.target_cash_weight)
    assert report.thresholds.half_band == band.half_band
    # the plan's tile shows the monitor's band
    plan = make_plan(dataclasses.replace(inputs, last_rebalance=None), config, as_of=day)
    tile = next(t for t in plan_tiles(plan, report) if t.label == "Optimal drift band")
    assert tile.value == fmt_pct(band.half_band)
    # the backtest's theory (the portfolio at target) and its comparison table
    theory = theory_inputs(inputs, config, day)
    assert theory is not None
    grid = SweepGrid(thresholds=(0.02, 0.05), cost_levels_bps=(10.0, 50.0))
    result = compare(inputs, [config], grid=grid, samples=50, workers=1)
    assert result.optimum is not None
    at_target = corrected_band(report.state.target_weights, risk.cov_long, 0.001, gamma,
                               target_cash_weight=report.state.target_cash_weight)
    for k, shown in zip(result.optimum["one_way_cost"], result.optimum["half_band"],
                        strict=True):
        expected = corrected_band(report.state.target_weights, risk.cov_long, float(k), gamma,
                                  target_cash_weight=report.state.target_cash_weight)
        assert shown == pytest.approx(expected.half_band, rel=1e-9)
    # the report's theoretical bands per cost level
    page = backtest_data(result.result, metrics=result.metrics, sweep=result.sweep,
                         threshold_inputs=result.theory)
    assert page.theoretical is not None
    bands = dict(zip(page.theoretical["cost_level_bps"], page.theoretical["half_band"],
                     strict=True))
    assert bands[10.0] == pytest.approx(at_target.half_band, rel=1e-9)
