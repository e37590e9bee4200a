"""The flag of a backtest whose cash earns nothing: no risk-free series, a series that
starts late, or the configuration key off."""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwise.data.market import cash_rate_notices
from driftwise.data.model import MarketData
from driftwise.flags import Flag
from driftwise.report.backtest_page import backtest_blocks, backtest_data

DAYS = pd.bdate_range("2020-01-02", periods=30)


def market(rates: pd.Series | None) -> MarketData:
    prices = pd.DataFrame({"AAA": np.linspace(100.0, 110.0, len(DAYS))}, index=DAYS)
    return MarketData(prices=prices, risk_free_annual=rates)


def test_no_series_is_flagged() -> None:
    (n,) = cash_rate_notices(market(None), DAYS[0], DAYS[-1])
    assert n.flag is Flag.NO_RISK_FREE and "no risk-free rate was given" in n.detail


def test_a_series_covering_the_window_is_not_flagged() -> None:
    rates = pd.Series(0.03, index=DAYS, name="risk_free_annual")
    assert cash_rate_notices(market(rates), DAYS[0], DAYS[-1]) == ()
    assert cash_rate_notices(market(rates), DAYS[5], DAYS[-1]) == ()


def test_a_series_starting_late_or_after_the_window() -> None:
    rates = pd.Series(0.03, index=DAYS[10:], name="risk_free_annual")
    (n,) = cash_rate_notices(market(rates), DAYS[0], DAYS[-1])
    assert f"before {DAYS[10].date()}" in n.detail
    (after,) = cash_rate_notices(market(rates), DAYS[0], DAYS[5])
    assert "no risk-free rate was given" in after.detail
    empty = pd.Series([np.nan, np.nan], index=DAYS[:2], name="risk_free_annual")
    (blank,) = cash_rate_notices(market(empty), DAYS[0], DAYS[-1])
    assert "no risk-free rate was given" in blank.detail


def test_the_configuration_key_off_is_flagged_even_with_a_series() -> None:
    rates = pd.Series(0.03, index=DAYS, name="risk_free_annual")
    (n,) = cash_rate_notices(market(rates), DAYS[0], DAYS[-1], earns=False)
    assert "cash_earns_risk_free is false" in n.detail


def test_the_backtest_page_shows_the_flags() -> None:
    from types import SimpleNamespace

    nav = np.linspace(1e6, 1.1e6, len(DAYS))[:, None]
    result = SimpleNamespace(dates=DAYS, names=["never"], nav_usd=nav, ref_nav_usd=nav[:, 0],
                             drift=np.zeros_like(nav))
    metrics = pd.DataFrame({"te_annual": [0.01], "cost_per_year": [0.0],
                            "turnover_per_year": [0.0], "n_rebalances": [0]},
                           index=pd.Index(["never"], name="config"))
    flags = cash_rate_notices(market(None), DAYS[0], DAYS[-1])
    data = backtest_data(result, metrics=metrics, flags=flags)
    notes = [b for b in backtest_blocks(data) if type(b).__name__ == "Note"]
    assert any("cash earns nothing: no risk-free rate was given" in str(b.text)
               for b in notes)
