"""Frictionless studies: a daily policy, threshold 0, the starting NAV, dropped turnover."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.backtest.batches import starting_nav
from driftwise.backtest.metrics import dropped_turnover, turnover_notices
from driftwise.calendar import nyse_sessions, period_first_sessions, period_last_sessions
from driftwise.config import Config, loads_config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Holdings
from driftwise.flags import Flag

from .conftest import holdings_nav, synthetic_inputs

FRICTIONLESS = Config().with_overrides({"constraints.whole_shares": False,
                                        "constraints.min_trade_usd": 0.0,
                                        "constraints.min_adv_usd": 0.0,
                                        "costs.flat_cost_bps": 0.0})
WINDOW = {"start": "2019-03-01", "end": "2019-09-30"}


def test_every_session_is_a_daily_period() -> None:
    sessions = nyse_sessions("2021-12-20", "2022-01-10")
    assert period_first_sessions(sessions, "day").all()
    assert period_last_sessions(sessions, "day").all()


def test_daily_rebalances_every_day_but_the_first() -> None:
    result = backtest_configs(synthetic_inputs(), [pol.daily(base=FRICTIONLESS)], **WINDOW)
    assert not result.rebalanced[0, 0]
    assert result.rebalanced[1:, 0].all()
    np.testing.assert_allclose(result.post_drift[1:, 0], 0.0, atol=1e-12)
    assert result.names == ["daily"]


def test_threshold_zero_is_any_drift_and_equals_daily_when_frictionless() -> None:
    inputs = synthetic_inputs()
    result = backtest_configs(inputs, [pol.daily(base=FRICTIONLESS),
                                   pol.threshold(0.0, base=FRICTIONLESS)], **WINDOW)
    np.testing.assert_array_equal(result.nav_usd[:, 0], result.nav_usd[:, 1])
    np.testing.assert_array_equal(result.traded_usd[:, 0], result.traded_usd[:, 1])
    # with no drift at all (a market that does not move, cash that earns nothing)
    # threshold 0 never fires
    flat = inputs.market.prices.copy()
    flat.iloc[:, :] = flat.iloc[0].to_numpy()
    still = dataclasses.replace(inputs, market=dataclasses.replace(
        inputs.market, prices=flat, risk_free_annual=None))
    none = backtest_configs(still, [pol.threshold(0.0, base=FRICTIONLESS)], **WINDOW)
    assert not none.rebalanced.any()


def test_configuration_accepts_daily_and_zero_thresholds() -> None:
    cfg = loads_config('[policy]\ntrigger = "calendar"\nfrequency = "day"\nthreshold = 0.0\n'
                       "[backtest]\nthresholds = [0.0, 0.02]\n", source="test.toml")
    assert cfg.policy.frequency.value == "day" and cfg.policy.threshold == 0.0
    assert cfg.backtest.thresholds == (0.0, 0.02)


def test_starting_nav_holdings_default_or_configured() -> None:
    inputs = synthetic_inputs()
    held = backtest_configs(inputs, [pol.never()], **WINDOW)
    assert held.initial_nav_usd == pytest.approx(holdings_nav(inputs), rel=1e-12)
    assert held.initial_nav_source.startswith("the holdings' NAV on")
    assert held.nav_usd[0, 0] == pytest.approx(holdings_nav(inputs), rel=1e-12)
    empty = dataclasses.replace(inputs, holdings=Holdings(shares=pd.Series(dtype=float),
                                                          cash_usd=0.0))
    default = backtest_configs(empty, [pol.never()], **WINDOW)
    assert default.initial_nav_usd == 1e6
    assert "default USD 1,000,000" in default.initial_nav_source
    chosen = backtest_configs(inputs, [pol.never(base=Config().with_overrides(
        {"backtest.initial_nav_usd": 2.5e6}))], **WINDOW)
    assert chosen.initial_nav_usd == 2.5e6
    assert chosen.initial_nav_source == "backtest.initial_nav_usd"


def test_starting_nav_of_holdings_with_an_unpriced_ticker_says_so() -> None:
    inputs = synthetic_inputs()
    shares = pd.concat([inputs.holdings.shares, pd.Series({"ZZZ": 10.0})])
    odd = dataclasses.replace(inputs, holdings=Holdings(shares=shares, cash_usd=5.0))
    nav, source = starting_nav(odd, None)
    assert nav == 1e6
    assert source == "the default USD 1,000,000 (no price for the held ZZZ)"


def test_dropped_turnover_oracle() -> None:
    # two configurations: intended 1,000 + 3,000 USD, executed 900 + 2,700 (10% dropped);
    # the other executed all it intended
    intended = np.array([[0.0, 0.0], [1000.0, 500.0], [3000.0, 0.0]])
    traded = np.array([[0.0, 0.0], [900.0, 500.0], [2700.0, 0.0]])
    share = dropped_turnover(traded, intended)
    assert share[0] == pytest.approx(1 - 3600 / 4000)
    assert share[1] == 0.0
    assert np.isnan(dropped_turnover(np.zeros((3, 1)), np.zeros((3, 1))))[0]
    notes = turnover_notices(["a", "b"], traded, intended)
    assert [n.flag for n in notes] == [Flag.TURNOVER_DROPPED]
    assert notes[0].detail.startswith("a: whole-share rounding and minimum trades dropped 10%")
    assert turnover_notices(["a", "b"], traded, intended, limit=0.2) == ()


def test_small_portfolio_with_whole_shares_and_minimum_trades_is_flagged() -> None:
    inputs = synthetic_inputs()
    small = Config().with_overrides({"backtest.initial_nav_usd": 20_000.0,
                                     "constraints.min_trade_usd": 100.0})
    configs = [pol.daily(base=small), pol.daily(base=FRICTIONLESS.with_overrides(
        {"backtest.initial_nav_usd": 20_000.0}))]
    result = backtest_configs(inputs, configs, names=["realistic", "frictionless"], **WINDOW)
    # the sizing's intended trades are recorded on every day a rule fired
    assert (result.intended_usd[1:] > 0).all()
    share = dropped_turnover(result.traded_usd, result.intended_usd)
    assert share[0] > 0.05
    assert share[1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(result.traded_usd[:, 1], result.intended_usd[:, 1], rtol=1e-12)
    assert [n.detail.split(":")[0] for n in result.notices] == ["realistic"]
