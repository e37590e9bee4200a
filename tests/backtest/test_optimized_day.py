"""The optimized rule's day without the generic layers (``backtest/optimized.py``) against
the engine's general day: every array of the result equal to the bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from driftwise.backtest import optimized
from driftwise.backtest.engine import BacktestResult
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.sample import load_sample
from driftwise.policy import conic

START, END = "2020-01-02", "2021-04-30"
FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift",
          "cash_usd", "intended_usd", "borrow_usd", "optimizer_fallback", "ref_nav_usd")


def _daily(**overrides: Any) -> Config:
    base = {"policy.skip_if_cost_exceeds_benefit": False}
    return pol.daily(destination="optimized").with_overrides({**base, **overrides})


def _both(monkeypatch: pytest.MonkeyPatch, configs: list[Config]
          ) -> tuple[BacktestResult, BacktestResult, int]:
    """The run through this module's day, the general day's run, and the days the first
    ran here."""
    inputs = load_sample()
    here = {"days": 0}
    day = optimized.simulate_day

    def counted(*args: Any) -> bool:
        done = day(*args)
        here["days"] += done
        return done
    with monkeypatch.context() as m:
        m.setattr(optimized, "simulate_day", counted)
        fast = backtest_configs(inputs, configs, start=START, end=END)
    with monkeypatch.context() as m:
        m.setattr(optimized, "eligible", lambda batch: False)
        general = backtest_configs(inputs, configs, start=START, end=END)
    return fast, general, here["days"]


def _assert_equal(fast: BacktestResult, general: BacktestResult) -> None:
    for name in FIELDS:
        a, b = getattr(fast, name), getattr(general, name)
        assert a is not None and b is not None
        assert a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=True), name


@pytest.mark.parametrize("overrides", [
    {"optimizer.gamma_trade": 5.0},
    {"optimizer.gamma_trade": 1.0, "constraints.whole_shares": True,
     "constraints.min_trade_usd": 2_000.0, "constraints.cash_buffer": 0.01},
    {"optimizer.gamma_trade": "auto", "constraints.max_turnover": 0.002,
     "constraints.do_not_buy": ["AAPL"], "constraints.do_not_sell": ["MSFT"]},
    {"optimizer.gamma_trade": 0.5, "constraints.min_adv_usd": 5e9, "optimizer.max_weight": 0.06},
])
def test_equal_to_the_general_day(monkeypatch: pytest.MonkeyPatch,
                                  overrides: dict[str, Any]) -> None:
    fast, general, days = _both(monkeypatch, [_daily(**overrides)])
    assert days == fast.n_days - 1  # every day but the first ran here
    assert fast.traded_usd[1:].sum() > 0.0
    _assert_equal(fast, general)


def test_several_rows_of_one_batch_are_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    configs = [_daily(**{"optimizer.gamma_trade": g, "optimizer.gamma": 2.0 * (i + 1)})
               for i, g in enumerate([1.0, 5.0, "auto"])]
    fast, general, days = _both(monkeypatch, configs)
    assert days > 0
    _assert_equal(fast, general)


def test_solver_failure_falls_back_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver that fails (the full destination used, flagged) on the days here as on
    the general day."""
    monkeypatch.setitem(conic.TOLERANCES, "no_such_setting", 1.0)  # Clarabel refuses it
    fast, general, days = _both(monkeypatch, [_daily(**{"optimizer.gamma": 50.0})])
    assert days > 0
    assert fast.optimizer_fallback is not None and fast.optimizer_fallback.any()
    _assert_equal(fast, general)


@pytest.mark.parametrize("overrides", [
    {"policy.skip_if_cost_exceeds_benefit": True},
    {"constraints.long_only": False},
])
def test_rules_outside_its_scope_take_the_general_day(
        monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any]) -> None:
    fast, general, days = _both(monkeypatch, [_daily(**overrides)])
    assert days == 0
    _assert_equal(fast, general)
