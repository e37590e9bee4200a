"""The after-tax loop switches target versions, follows group targets, and taxes the
interest its cash earns as ordinary income (short-term rate + state + NIIT), paid from
cash at the year's end with the year's capital gains tax."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.aftertax import run_one
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs

from .test_groups import INPUTS as SECTOR_INPUTS
from .test_versions import INPUTS as VERSION_INPUTS
from .test_versions import SWITCH, V1, V2

NO_TAX = {"tax.short_term_rate": 0.0, "tax.long_term_rate": 0.0, "tax.niit_rate": 0.0,
          "tax.state_rate": 0.0}
FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "costs.flat_cost_bps": 0.0}

CONFIGS = [pol.threshold(0.02, base=Config().with_overrides(NO_TAX)),
           pol.monthly(destination="half", base=Config().with_overrides(NO_TAX)),
           pol.never(base=Config().with_overrides(NO_TAX))]


@pytest.mark.parametrize("config", CONFIGS, ids=["threshold", "monthly-half", "never"])
@pytest.mark.parametrize("inputs", [VERSION_INPUTS, SECTOR_INPUTS], ids=["versions", "sectors"])
def test_with_tax_off_the_after_tax_loop_equals_the_engine(config: Config, inputs: object
                                                           ) -> None:
    """Target versions (the switch an event) and sector targets: the tax-unaware loop
    with zero rates is the engine's path (its day step is the engine's)."""
    engine = backtest_configs(inputs, [config])  # type: ignore[arg-type]
    mine = run_one(inputs, config, aware=False, harvest_every="never")  # type: ignore[arg-type]
    np.testing.assert_allclose(mine.nav_usd, engine.nav_usd[:, 0], rtol=1e-12)
    np.testing.assert_array_equal(mine.rebalanced, engine.rebalanced[:, 0])
    # every rule trades here, buy and hold only on the versions' switch
    assert mine.rebalanced.any() or (inputs is SECTOR_INPUTS and not CONFIGS.index(config) < 2)


def test_the_switch_is_an_event_in_the_tax_aware_loop_too() -> None:
    """Buy and hold, tax-aware: the day the second version takes effect it trades to the
    new target (the sales relieve lots and realize gains), and never before."""
    config = pol.never(base=Config().with_overrides(FREE))
    result = run_one(VERSION_INPUTS, config, aware=True, harvest_every="never")
    days = result.dates
    s = int(np.flatnonzero(days == SWITCH)[0])
    assert not result.rebalanced[:s].any() and result.rebalanced[s]
    tickers = result.tickers
    prices = VERSION_INPUTS.market.prices.loc[days, tickers].to_numpy()
    weights = result.shares[s] * prices[s] / result.nav_usd[s]
    # the aware rule may defer short-term gains; every asset it did trade moved to V2
    moved = np.abs(result.shares[s] - result.shares[s - 1]) > 1e-9
    want = np.array([V2.get(t, 0.0) for t in tickers])
    assert moved.any()
    np.testing.assert_allclose(weights[moved], want[moved], atol=2e-3)
    assert not np.allclose(weights, [V1.get(t, 0.0) for t in tickers], atol=1e-3)


def test_interest_on_cash_is_taxed_as_ordinary_income_oracle() -> None:
    """Buy and hold with a 5% cash target and a flat 2% rate: each night's interest is
    ``cash * 0.02 / 252``; at the year's end the year's interest is taxed at
    ``short-term + state + NIIT`` and paid from cash (no gain is realized); on the last day
    the year's interest tax joins the liquidation tax."""
    rates = {"tax.short_term_rate": 0.3, "tax.long_term_rate": 0.15, "tax.state_rate": 0.05,
             "tax.niit_rate": 0.038}
    config = pol.never(base=Config().with_overrides({**FREE, **rates}))
    inputs = dataclasses.replace(
        VERSION_INPUTS, target_versions=(), targets=VERSION_INPUTS.target_versions[0])
    result = run_one(inputs, config, aware=False, harvest_every="never")
    rate = 0.3 + 0.05 + 0.038
    days = result.dates
    cash = 0.05 * result.initial_nav_usd
    interest = {2019: 0.0, 2020: 0.0}
    for k in range(1, len(days)):
        earned = cash * 0.02 / 252
        cash += earned
        interest[days[k].year] += earned
        if k < len(days) - 1 and days[k + 1].year != days[k].year:  # last session of 2019
            assert result.tax_paid_usd[k] == pytest.approx(interest[2019] * rate, rel=1e-12)
            cash -= interest[2019] * rate
    assert set(result.years["year"]) == {2019, 2020}
    by_year = result.years.set_index("year")
    for year in (2019, 2020):
        assert by_year.loc[year, "interest_usd"] == pytest.approx(interest[year], rel=1e-9)
        assert by_year.loc[year, "interest_tax_usd"] == pytest.approx(interest[year] * rate,
                                                                      rel=1e-9)
    tickers = result.tickers
    prices = inputs.market.prices.loc[days, tickers].to_numpy()
    shares = result.shares[0]
    assert result.nav_usd[-1] == pytest.approx(float(shares @ prices[-1]) + cash, rel=1e-12)
    # the liquidation: the lots' long-term result (a gain taxed at long-term + state +
    # NIIT; a loss deducted from ordinary income up to USD 3,000 at short-term + state)
    # beside the last year's interest tax
    gain = float(shares @ (prices[-1] - prices[0]))
    capital = gain * (0.15 + 0.05 + 0.038) if gain > 0 else -min(3000.0, -gain) * (0.3 + 0.05)
    assert result.liquidation_tax_usd == pytest.approx(capital + interest[2020] * rate,
                                                       rel=1e-9)
    assert float(result.tax_paid_usd.sum()) == pytest.approx(interest[2019] * rate, rel=1e-12)


def test_no_rate_no_interest_tax() -> None:
    config = pol.never(base=Config().with_overrides(
        {**FREE, "backtest.cash_earns_risk_free": False}))
    inputs = dataclasses.replace(
        VERSION_INPUTS, target_versions=(), targets=VERSION_INPUTS.target_versions[0])
    result = run_one(inputs, config, aware=False, harvest_every="never")
    assert (result.years["interest_usd"] == 0).all()
    assert (result.tax_paid_usd == 0).all()
    assert isinstance(result.dates, pd.DatetimeIndex)
