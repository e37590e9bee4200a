"""The engine equals the reference simulator (the planner, day by day) on every day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.app.reference import run_reference
from driftwise.backtest.engine import BacktestResult
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs
from driftwise.data.sample import load_sample

from .conftest import holdings_nav, synthetic_inputs, with_extra_holding

SYNTHETIC = synthetic_inputs()
DAYS = SYNTHETIC.market.prices.index
WINDOWS = ((DAYS[100], DAYS[140]), (DAYS[150], DAYS[190]), (DAYS[2], DAYS[40]))
"""Elevated VIX; calm into stress (VIX >= 30 from day 160); the start of the data."""


def assert_same(engine: BacktestResult, column: int, reference: BacktestResult) -> None:
    """NAV to 1e-9 relative on every day, identical rebalance days, the rest close."""
    np.testing.assert_array_equal(engine.dates, reference.dates)
    np.testing.assert_array_equal(engine.rebalanced[:, column], reference.rebalanced[:, 0])
    np.testing.assert_allclose(engine.nav_usd[:, column], reference.nav_usd[:, 0], rtol=1e-9,
                               atol=0.0)
    np.testing.assert_allclose(engine.ref_nav_usd, reference.ref_nav_usd, rtol=1e-12)
    for name in ("drift", "post_drift"):
        np.testing.assert_allclose(getattr(engine, name)[:, column],
                                   getattr(reference, name)[:, 0], atol=1e-9, err_msg=name)
    for name in ("traded_usd", "cost_usd", "cash_usd"):
        np.testing.assert_allclose(getattr(engine, name)[:, column],
                                   getattr(reference, name)[:, 0], rtol=1e-9, atol=1e-6,
                                   err_msg=name)


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """A random policy, destination, constraints and cost setting."""
    overrides: dict[str, object] = {
        "constraints.whole_shares": draw(st.booleans()),
        "constraints.min_trade_usd": draw(st.sampled_from([0.0, 100.0, 3000.0])),
        "constraints.cash_buffer": draw(st.sampled_from([0.0, 0.02])),
        "constraints.max_turnover": draw(st.sampled_from([1.0, 0.03])),
        "costs.cost_scale": draw(st.sampled_from([0.5, 1.0, 20.0])),
        "costs.impact_model": draw(st.sampled_from(["square_root", "almgren_2005"])),
        "risk.te_model": draw(st.sampled_from(["full", "diagonal"])),
        "policy.delay_days": 3, "policy.max_delay_days": 6,
    }
    base = Config().with_overrides(overrides)
    destination = draw(st.sampled_from(["full", "half", "band_edge", "cost_constrained"]))
    delay = draw(st.booleans())
    kind = draw(st.sampled_from(["threshold", "calendar", "hybrid", "cost_benefit", "volatility",
                                 "dynamic", "bands"]))
    h = draw(st.sampled_from([0.01, 0.02, 0.04]))
    kw: dict[str, object] = {"destination": destination, "stress_delay": delay, "base": base}
    if kind == "threshold":
        config = pol.threshold(h, **kw)  # type: ignore[arg-type]
    elif kind == "calendar":
        config = pol.calendar(draw(st.sampled_from(["month", "quarter"])),
                            anchor=draw(st.sampled_from(["first", "last"])),
                            **kw)  # type: ignore[arg-type]
    elif kind == "hybrid":
        config = pol.hybrid(override=h, **kw)  # type: ignore[arg-type]
    elif kind == "cost_benefit":
        config = pol.cost_benefit(form=draw(st.sampled_from(["utility", "ratio"])),
                                **kw)  # type: ignore[arg-type]
    elif kind == "volatility":
        config = pol.volatility_aware(0.05, min_vol=0.3, min_drift=h / 2,
                                    **kw)  # type: ignore[arg-type]
    elif kind == "dynamic":
        config = pol.dynamic(h, pause_in_stress=draw(st.booleans()),
                           **kw)  # type: ignore[arg-type]
    else:
        config = base.with_overrides({"policy.trigger": "bands", "policy.destination": destination,
                                      "policy.stress_delay": delay,
                                      "policy.skip_if_cost_exceeds_benefit": False})
    if draw(st.booleans()):
        config = config.with_overrides({"policy.skip_if_cost_exceeds_benefit": True})
    return config


@settings(max_examples=5, deadline=None)
@given(pair=st.lists(configs(), min_size=2, max_size=2), window=st.sampled_from(WINDOWS))
def test_engine_equals_reference(pair: list[Config], window: tuple[pd.Timestamp,
                                                                   pd.Timestamp]) -> None:
    start, end = window
    engine = backtest_configs(SYNTHETIC, pair, start=start, end=end)
    for i, config in enumerate(pair):
        assert_same(engine, i, run_reference(SYNTHETIC, config, start=start, end=end))


@pytest.mark.parametrize("config", [
    pol.vix_delayed(0.02), pol.cost_benefit(), pol.threshold(0.03, destination="cost_constrained"),
    pol.volatility_aware(0.03, destination="band_edge"), pol.monthly(destination="half")],
    ids=lambda c: pol.policy_name(c))
def test_sample_in_stress(config: Config) -> None:
    """The embedded sample from August to October 2008 (proxy VIX above 30)."""
    inputs = load_sample()
    start, end = "2008-08-15", "2008-10-31"
    engine = backtest_configs(inputs, [config], start=start, end=end)
    assert engine.rebalanced.any()
    assert_same(engine, 0, run_reference(inputs, config, start=start, end=end))


def test_delays_happen_and_match() -> None:
    config = pol.vix_delayed(0.015).with_overrides({"policy.delay_days": 3,
                                                  "policy.max_delay_days": 6})
    plain = pol.threshold(0.015)
    start, end = WINDOWS[1]
    engine = backtest_configs(SYNTHETIC, [config, plain], start=start, end=end)
    assert engine.rebalanced[:, 0].sum() < engine.rebalanced[:, 1].sum()
    assert_same(engine, 0, run_reference(SYNTHETIC, config, start=start, end=end))


def test_start_from_holdings_matches() -> None:
    inputs = with_extra_holding(SYNTHETIC)
    config = pol.threshold(0.03, base=Config().with_overrides(
        {"backtest.start_from_holdings": True}))
    start, end = WINDOWS[0]
    engine = backtest_configs(inputs, [config], start=start, end=end)
    assert engine.rebalanced[0, 0]
    assert_same(engine, 0, run_reference(inputs, config, start=start, end=end))


@pytest.mark.parametrize("earns", [True, False])
def test_reference_buy_and_hold_oracle(synthetic: Inputs, earns: bool) -> None:
    """Buy and hold: the shares at their closes, plus the 5% cash target grown each night
    by the risk-free rate of the day before (2% a year in the synthetic data, given every
    20th day and carried forward), or not at all with the interest turned off."""
    config = pol.never(base=Config().with_overrides({
        "constraints.whole_shares": False, "backtest.cash_earns_risk_free": earns}))
    start, end = WINDOWS[0]
    result = run_reference(synthetic, config, start=start, end=end)
    prices = synthetic.market.prices.loc[start:end]
    assert synthetic.targets is not None
    assert synthetic.market.risk_free_annual is not None
    assert (synthetic.market.risk_free_annual == 0.02).all()
    weights = synthetic.targets.weights
    nav0 = holdings_nav(synthetic)
    cash = 0.05 * nav0
    for k in range(len(prices)):
        if k and earns:
            cash *= 1.0 + 0.02 / 252  # the rate is known on every day of this window
        value = sum(weights[t] * nav0 / prices[t].iloc[0] * prices[t].iloc[k]
                    for t in weights.index) + cash
        assert result.nav_usd[k, 0] == pytest.approx(value, rel=1e-12)
        assert result.cash_usd[k, 0] == pytest.approx(cash, rel=1e-12)
    assert not result.rebalanced.any()
    growth = np.prod([1.0 + 0.02 / 252] * (len(prices) - 1)) if earns else 1.0
    assert result.cash_usd[-1, 0] == pytest.approx(0.05 * nav0 * growth, rel=1e-12)


def test_optimized_engine_equals_reference() -> None:
    """The optimized destination (reviewed daily) in the engine equals the planner day by
    day, on the sample through the 2020 sell-off; two γ_trade values run as rows of one
    block (one compiled problem), each as the planner runs it alone."""
    inputs = load_sample()
    start, end = "2020-02-18", "2020-04-09"
    base = pol.daily(destination="optimized")
    pair = [base.with_overrides({"optimizer.gamma_trade": g, "optimizer.gamma": 20.0})
            for g in (1.0, 10.0)]
    engine = backtest_configs(inputs, pair, start=start, end=end)
    assert engine.rebalanced[:, 1].any()
    assert engine.traded_usd[:, 0].sum() > engine.traded_usd[:, 1].sum()  # trade aversion
    for i, config in enumerate(pair):
        assert_same(engine, i, run_reference(inputs, config, start=start, end=end))
