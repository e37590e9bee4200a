"""The branches' cash earns the risk-free rate each night, as in the backtest engine.

The engine's definition (``backtest/engine.py``, SPEC's order of the day): the cash held
overnight grows by ``1 + rf_{t-1} / 252`` before the day's marks and trades, ``rf`` the
annual rate of the day before; nothing on the first day. The oracle below compounds it with
a plain loop.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.validation.conftest import make_inputs, random_prices, small_config

from driftwise.backtest.engine import cash_growth
from driftwise.backtest.history import build_history
from driftwise.config import Config
from driftwise.config.assemble import build_rule, history_settings, study_settings
from driftwise.costs import CostParams
from driftwise.data.sample import load_sample
from driftwise.validation import study as module
from driftwise.validation.branching import Branch, BranchPath, branch_rule, simulate_branch
from driftwise.validation.events import Portfolio
from driftwise.validation.study import PortfolioSpec, run_study

N_DAYS = 120
T0 = 40
H = 30


def _portfolio(rate: np.ndarray | None) -> Portfolio:
    cfg = small_config()
    prices = random_prices(N_DAYS, np.array([0.2, 0.3, 0.25]), seed=5)
    inputs = make_inputs(prices, np.full(N_DAYS, 15.0), np.array([0.3, 0.3, 0.3]), 0.1)
    if rate is not None:
        market = dataclasses.replace(inputs.market, risk_free_annual=pd.Series(
            rate, index=inputs.market.prices.index, name="rate_annual"))
        inputs = dataclasses.replace(inputs, market=market)
    history = build_history(inputs, history_settings(cfg))
    return Portfolio("test", history, np.array([0.3, 0.3, 0.3]), 0.1, full_te=False)


RATE = 0.01 + 0.04 * (1.0 + np.sin(np.arange(N_DAYS) / 7.0)) / 2.0
"""A rate that changes every day (1% to 5% a year)."""


def _follow(portfolio: Portfolio, trade: np.ndarray, earns: bool = True
            ) -> tuple[np.ndarray, np.ndarray, BranchPath]:
    rule = branch_rule(build_rule(small_config()))
    shares = np.array([[1000.0, 800.0, 1200.0], [500.0, 2000.0, 100.0]])
    cash = np.array([40_000.0, 5_000.0])
    growth = cash_growth(portfolio.history, earns)
    return shares, cash, simulate_branch(
        portfolio, rule, CostParams(), np.array([T0, T0 + 7]), shares, cash, Branch(trade),
        cash_growth=growth)


def test_a_holding_branchs_cash_compounds_the_rate_of_each_night() -> None:
    portfolio = _portfolio(RATE)
    shares, cash, path = _follow(portfolio, np.zeros((2, H + 1), dtype=bool))
    prices = portfolio.history.prices
    for e, t0 in enumerate((T0, T0 + 7)):
        expected = cash[e]
        for k in range(H + 1):
            if k > 0:  # the night before day t0 + k earns the rate of day t0 + k - 1
                expected = expected * (1.0 + RATE[t0 + k - 1] / 252.0)
            held = float(shares[e] @ prices[t0 + k])
            assert path.nav_usd[e, k] - held == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert path.nav_usd[0, H] - float(shares[0] @ prices[T0 + H]) > cash[0] * 1.001


def test_a_trading_branch_earns_on_its_post_trade_cash() -> None:
    """A full rebalance at the event close, then held: the NAV gained over the cash-less
    run is the post-trade cash times the compounded rate less one, the same cash every day."""
    portfolio = _portfolio(RATE)
    trade = np.zeros((2, H + 1), dtype=bool)
    trade[:, 0] = True
    _, _, earning = _follow(portfolio, trade)
    _, _, plain = _follow(portfolio, trade, earns=False)
    assert np.array_equal(earning.cost_usd[:, 0], plain.cost_usd[:, 0])  # the same trade
    for e, t0 in enumerate((T0, T0 + 7)):
        compounded = np.cumprod(1.0 + RATE[t0: t0 + H] / 252.0)
        post_trade_cash = (earning.nav_usd[e, 1:] - plain.nav_usd[e, 1:]) / (compounded - 1.0)
        assert post_trade_cash == pytest.approx(np.full(H, post_trade_cash[0]), rel=1e-8)
        assert 0.0 < post_trade_cash[0] < plain.nav_usd[e, 0]


def test_no_rate_or_no_growth_leaves_every_number_to_the_bit() -> None:
    """Cash that earns nothing (no series, a zero series, or the config's
    ``cash_earns_risk_free = false``) gives the branch of before."""
    trade = np.zeros((2, H + 1), dtype=bool)
    trade[:, [0, 12]] = True
    _, _, none = _follow(_portfolio(None), trade)
    _, _, zero = _follow(_portfolio(np.zeros(N_DAYS)), trade)
    _, _, off = _follow(_portfolio(RATE), trade, earns=False)
    rule = branch_rule(build_rule(small_config()))
    ones = simulate_branch(_portfolio(None), rule, CostParams(), np.array([T0, T0 + 7]),
                           np.array([[1000.0, 800.0, 1200.0], [500.0, 2000.0, 100.0]]),
                           np.array([40_000.0, 5_000.0]), Branch(trade),
                           cash_growth=np.ones(N_DAYS))
    for other in (zero, off, ones):
        for name in ("nav_usd", "cost_usd", "traded_usd", "te_annual", "drift"):
            assert np.array_equal(getattr(none, name), getattr(other, name), equal_nan=True)


WINDOW = {"start": "2016-01-01", "end": "2018-12-31"}


def _rates(path: Path, rate: float) -> str:
    days = load_sample().market.prices.index
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "rate_annual": rate}).to_csv(path,
                                                                                 index=False)
    return str(path)


def _events(spec: PortfolioSpec, config: Config | None = None) -> pd.DataFrame:
    module._CACHE.clear()
    module._INPUTS.clear()
    settings = study_settings(config, workers=1, chunks=1, falsification=False,
                              rules=("Rule 1", "Rule 2"), **WINDOW)
    return run_study([spec], settings).events


def test_the_studys_numbers_move_with_the_rate_and_not_without_one(tmp_path: Path) -> None:
    plain = _events(PortfolioSpec("sample"))
    zero = _events(PortfolioSpec("sample", risk_free_file=_rates(tmp_path / "z.csv", 0.0)))
    pd.testing.assert_frame_equal(plain, zero, check_exact=True)
    rate = _rates(tmp_path / "r.csv", 0.05)
    earning = _events(PortfolioSpec("sample", risk_free_file=rate))
    assert len(earning) == len(plain)  # the same events (the IF reads no branch) ...
    one = (plain["rule"] == "Rule 1").to_numpy()
    assert one.any()
    # ... whose branches' returns now include 5% a year on the cash they hold
    assert not np.array_equal(plain.loc[one, "ce_gain_bps"], earning.loc[one, "ce_gain_bps"])
    two = ~one
    assert not np.array_equal(plain.loc[two, "benefit_pnl_bps"],
                              earning.loc[two, "benefit_pnl_bps"])
    off = Config().with_overrides({"backtest.cash_earns_risk_free": False}, source="test")
    pd.testing.assert_frame_equal(plain, _events(PortfolioSpec("sample", risk_free_file=rate),
                                                 off), check_exact=True)
