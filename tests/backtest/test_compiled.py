"""The compiled day loop of drift-threshold and calendar batches equals the Python day loop,
bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.backtest import compiled
from driftwise.backtest.engine import BacktestResult, make_batches
from driftwise.backtest.history import universe
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs, rule_grid, run_window
from driftwise.data.model import Holdings, Inputs
from driftwise.errors import ConfigError, DataError

from .conftest import synthetic_inputs, with_extra_holding
from .test_reference import DAYS, SYNTHETIC

FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift", "cash_usd",
          "intended_usd")


def _in_python(inputs: Inputs, configs: list[Config], **kw: object) -> BacktestResult:
    """The engine with the compiled loop switched off (every batch in the Python loop)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "supports", lambda rule, with_cov: False)
        return backtest_configs(inputs, configs, **kw)  # type: ignore[arg-type]


def _assert_equal(a: BacktestResult, b: BacktestResult) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@st.composite
def threshold_configs(draw: st.DrawFn) -> list[Config]:
    """Drift-threshold, hybrid or calendar configurations of one random setting, with their
    own thresholds and cost parameters (one compiled batch mixing cost settings)."""
    base = Config().with_overrides({
        "constraints.whole_shares": draw(st.booleans()),
        "constraints.min_trade_usd": draw(st.sampled_from([0.0, 100.0, 3000.0])),
        "constraints.min_trade_shares": draw(st.sampled_from([0.0, 5.0])),
        "constraints.cash_buffer": draw(st.sampled_from([0.0, 0.02])),
        "constraints.max_turnover": draw(st.sampled_from([1.0, 0.03])),
        "constraints.long_only": draw(st.booleans()),
        "constraints.min_adv_usd": draw(st.sampled_from([1e6, 0.0])),
        "risk.te_model": "diagonal",
    })
    destination = draw(st.sampled_from(["full", "half", "band_edge", "cost_constrained"]))
    kind = draw(st.sampled_from(["threshold", "hybrid", "calendar"]))
    frequency = draw(st.sampled_from(["day", "week", "month", "quarter"]))
    anchor = draw(st.sampled_from(["first", "last"]))

    def make(h: float, **kw: object) -> Config:
        if kind == "threshold":
            return pol.threshold(h, **kw)  # type: ignore[arg-type]
        if kind == "hybrid":
            return pol.hybrid(frequency=frequency, override=h or 0.005,  # override > 0
                              **kw)  # type: ignore[arg-type]
        return pol.calendar(frequency, anchor=anchor, **kw)  # type: ignore[arg-type]
    out = []
    for _ in range(draw(st.integers(1, 4))):
        cost = draw(st.sampled_from([
            {"costs.cost_scale": 1.0}, {"costs.cost_scale": 20.0},
            {"costs.impact_model": "almgren_2005"}, {"costs.flat_cost_bps": 15.0},
            {"costs.vix_multipliers": [1.0, 2.0, 4.0]}]))
        h = draw(st.sampled_from([0.0, 0.005, 0.01, 0.02, 0.04]))
        out.append(make(h, destination=destination, base=base.with_overrides(cost)))
    return out


@settings(max_examples=12, deadline=None)
@given(configs=threshold_configs(),
       window=st.sampled_from([(DAYS[2], DAYS[140]), (DAYS[120], DAYS[300])]))
def test_compiled_loop_equals_the_python_loop(configs: list[Config],
                                              window: tuple[pd.Timestamp, pd.Timestamp]) -> None:
    start, end = window
    fast = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    _assert_equal(fast, _in_python(SYNTHETIC, configs, start=start, end=end))


def test_compiled_loop_with_other_batches_stale_days_and_holdings() -> None:
    stale = synthetic_inputs(costs_as_of="2019-03-01")  # stale costs from April: no trades
    configs = [pol.threshold(0.01), pol.monthly(), pol.threshold(0.02), pol.hybrid(),
               pol.threshold(0.01, base=Config().with_overrides(
                   {"costs.accept_stale_costs": True}))]
    fast = backtest_configs(stale, configs)
    _assert_equal(fast, _in_python(stale, configs))
    assert fast.rebalanced[:, 4].sum() > fast.rebalanced[:, 0].sum() > 0
    fresh = synthetic_inputs()
    configs += [pol.quarterly(destination="half"), pol.hybrid(override=0.02),
                pol.calendar("week", anchor="last", destination="band_edge")]
    fast = backtest_configs(fresh, configs)
    _assert_equal(fast, _in_python(fresh, configs))
    assert fast.rebalanced.sum(axis=0).min() >= 3  # every rule traded
    held = with_extra_holding(synthetic_inputs())
    base = Config().with_overrides({"backtest.start_from_holdings": True,
                                    "constraints.min_adv_usd": 0.0})
    configs = [pol.threshold(0.03, base=base), pol.threshold(0.1, base=base)]
    fast = backtest_configs(held, configs)
    _assert_equal(fast, _in_python(held, configs))
    assert fast.rebalanced[0].all()


def test_which_batches_are_compiled() -> None:
    configs = [pol.threshold(0.05), pol.threshold(0.03), pol.monthly(), pol.cost_benefit(),
               pol.threshold(0.05, stress_delay=True),
               pol.threshold(0.05).with_overrides({"policy.skip_if_cost_exceeds_benefit": True}),
               pol.threshold(0.05, destination="cost_constrained"),
               pol.threshold(0.05, destination="cost_constrained").with_overrides(
                   {"risk.te_model": "diagonal"}),
               pol.hybrid(), pol.hybrid(stress_delay=True), pol.volatility_aware(0.05),
               pol.dynamic(0.05), pol.never()]
    window = run_window(configs)
    tickers = universe(SYNTHETIC, from_holdings=False)
    by_members = {tuple(b.members): b.compiled
                  for b in make_batches(SYNTHETIC, rule_grid(configs), window, tickers)}
    assert by_members == {(0, 1): True, (2,): True, (3,): False, (4,): False, (5,): False,
                          (6,): False, (7,): True, (8,): True, (9,): False, (10,): False,
                          (11,): False, (12,): True}


def test_errors_are_the_plan_errors() -> None:
    """A cost fixed point that cannot converge, and a NAV that is not positive, raise what
    the planner's sizing raises, in both loops."""
    ruinous = [pol.threshold(0.01, base=Config().with_overrides({"costs.flat_cost_bps": 9999.0}))]
    for run in (backtest_configs, _in_python):
        with pytest.raises(ConfigError, match="cost fixed point did not converge"):
            run(SYNTHETIC, ruinous)
    inputs = synthetic_inputs()
    short = dataclasses.replace(inputs, holdings=Holdings(
        shares=pd.Series({"AAA": -20_000.0, "BBB": 100.0}), cash_usd=1_000.0))
    base = Config().with_overrides({"backtest.start_from_holdings": True,
                                    "constraints.long_only": False})
    for run in (backtest_configs, _in_python):
        with pytest.raises(DataError, match="NAV must be positive"):
            run(short, [pol.threshold(0.05, base=base)])
