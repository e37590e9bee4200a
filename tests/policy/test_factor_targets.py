"""Factor and group targets end to end: the plan shows the exposures and holds the bound,
its betas recomputed from the raw series, the backtest equals the planner day by day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import driftwise as dw
from driftwise.app.reference import run_reference
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.factor_prices import reference_factor_prices
from driftwise.data.sample import load_sample
from driftwise.errors import ConfigError

OPTIMIZED = {"policy.destination": "optimized", "policy.threshold": 0.0,
             "policy.skip_if_cost_exceeds_benefit": False, "optimizer.gamma_trade": 1.0}
NAMES = ("market", "size", "value")


def test_the_plan_shows_and_holds_the_factor_bound() -> None:
    inputs = dw.load()
    free = dw.plan(inputs, config=OPTIMIZED)
    bound = dw.plan(inputs, config={**OPTIMIZED, "optimizer.factor_bound": 0.002})
    assert "exposure_market" not in free.after
    said = [r for r in bound.reasons if r.startswith("factor exposures")]
    assert len(said) == 1 and all(name in said[0] for name in NAMES)
    for name in NAMES:
        target = bound.after[f"exposure_{name}_target"]
        # the solver holds 0.002; the rounding to whole shares moves it by far less
        assert abs(bound.after[f"exposure_{name}"] - target) <= 0.002 + 2e-4
    assert any(abs(bound.before[f"exposure_{n}"] - bound.after[f"exposure_{n}_target"])
               > 0.002 for n in NAMES)  # the bound binds: the drifted book was off it
    assert not bound.trades.equals(free.trades)


def test_the_plans_betas_are_the_regression_on_the_raw_series() -> None:
    """The exposures of the plan, recomputed independently: returns of the sample's prices
    and of the reference series, the last 252 sessions, ``numpy.linalg.lstsq``."""
    inputs = dw.load()
    plan = dw.plan(inputs, config={**OPTIMIZED, "optimizer.factor_penalty": 1.0})
    prices = inputs.market.prices
    ref = reference_factor_prices().reindex(prices.index)
    rets = prices.pct_change().iloc[-252:]
    fac = ref.pct_change().iloc[-252:]
    x = np.column_stack([fac["SP500"], fac["SIZE"] - fac["SP500"], fac["VLUE"] - fac["SP500"]])
    tickers = sorted(prices.columns)
    betas = np.zeros((len(tickers), 3))
    for i, t in enumerate(tickers):
        ok = np.isfinite(rets[t].to_numpy()) & np.isfinite(x).all(axis=1)
        design = np.column_stack([np.ones(ok.sum()), x[ok]])
        betas[i] = np.linalg.lstsq(design, rets[t].to_numpy()[ok], rcond=None)[0][1:]
    weights = pd.Series(dict(zip(inputs.targets.weights.index, inputs.targets.weights,
                                 strict=True))).reindex(tickers, fill_value=0.0).to_numpy()
    for f, name in enumerate(NAMES):
        assert plan.after[f"exposure_{name}_target"] == pytest.approx(weights @ betas[:, f],
                                                                      rel=1e-9)


def test_an_unknown_factor_ticker_is_refused_with_its_key() -> None:
    with pytest.raises(ConfigError, match=r"optimizer\.factors.*'ZZZZ'"):
        dw.plan(dw.load(), config={**OPTIMIZED, "optimizer.factor_bound": 0.01,
                                   "optimizer.factors": ["market = ZZZZ"]})


def test_a_bad_factor_spec_names_the_field() -> None:
    with pytest.raises(ConfigError, match="factors"):
        dw.plan(dw.load(), config={**OPTIMIZED, "optimizer.factors": ["market SPY"]})


@pytest.mark.parametrize("setting", [{"optimizer.factor_bound": 0.0002},
                                     {"optimizer.factor_penalty": 1000.0},
                                     {"optimizer.group_deviation": 0.0005}])
def test_factor_and_group_targets_engine_equals_reference(setting: dict[str, float]) -> None:
    """The backtest's betas (estimated on each day's window of the full history) and group
    bounds are the planner's: the engine equals the planner day by day to 1e-9 of NAV."""
    inputs = load_sample()
    start, end = "2021-03-01", "2021-03-31"
    config = pol.daily(destination="optimized").with_overrides(
        {"optimizer.gamma": 20.0, "optimizer.gamma_trade": 1.0, **setting})
    engine = backtest_configs(inputs, [config], start=start, end=end)
    plain = backtest_configs(inputs, [pol.daily(destination="optimized").with_overrides(
        {"optimizer.gamma": 20.0, "optimizer.gamma_trade": 1.0})], start=start, end=end)
    assert engine.rebalanced[:, 0].any()
    assert not np.allclose(engine.traded_usd[:, 0], plain.traded_usd[:, 0])  # it binds
    reference = run_reference(inputs, config, start=start, end=end)
    np.testing.assert_array_equal(engine.rebalanced[:, 0], reference.rebalanced[:, 0])
    np.testing.assert_allclose(engine.nav_usd[:, 0], reference.nav_usd[:, 0], rtol=1e-9,
                               atol=0.0)
    np.testing.assert_allclose(engine.traded_usd[:, 0], reference.traded_usd[:, 0],
                               rtol=1e-9, atol=1e-6)
