"""plan_risk: what a plan reads of the risk model equals estimate_risk's, to the bit.

The plan reads the volatilities, the long-window sample covariance (full tracking error)
and the risk notices; :func:`plan_risk` leaves out the short-window and shrunk
covariances when every return of the window is known, and must then give exactly what
:func:`estimate_risk` gives (the notices included: none), and go through it otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.calendar import nyse_sessions
from driftwise.data.model import Holdings, MarketData, SecurityMaster
from driftwise.errors import ConfigError
from driftwise.flags import Flag
from driftwise.metrics.risk import CovarianceEstimator
from driftwise.metrics.risk_model import (
    MonitorConfig,
    PlanRisk,
    estimate_risk,
    plan_risk,
    risk_returns,
)
from driftwise.state import PortfolioState, build_state


def _state(prices: pd.DataFrame, sectors: list[str]) -> PortfolioState:
    tickers = pd.Index(prices.columns, name="ticker")
    master = SecurityMaster(frame=pd.DataFrame({
        "sector": sectors, "asset_class": "Equity", "market_cap_usd": 1e9}, index=tickers))
    holdings = Holdings(shares=pd.Series(np.arange(1.0, len(tickers) + 1), index=tickers),
                        cash_usd=100.0)
    return build_state(holdings, None, MarketData(prices=prices), master)


def _assert_same(got: PlanRisk, want: PlanRisk) -> None:
    np.testing.assert_array_equal(got.vol_annual, want.vol_annual, strict=True)
    if want.cov_long is None:
        assert got.cov_long is None
    else:
        assert got.cov_long is not None
        np.testing.assert_array_equal(got.cov_long, want.cov_long, strict=True)
    assert got.notices == want.notices


def _plain(state: PortfolioState, prices: pd.DataFrame, config: MonitorConfig,
           with_cov: bool) -> PlanRisk:
    """The plain form: the whole of estimate_risk, the fields a plan reads."""
    risk = estimate_risk(state, prices, config)
    return PlanRisk(vol_annual=risk.vol_annual, cov_long=risk.cov_long if with_cov else None,
                    notices=risk.notices)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], MonitorConfig, bool]:
    n_assets = draw(st.integers(1, 6))
    n_days = draw(st.integers(3, 70))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(nyse_sessions("2020-01-02", "2021-12-31")[:n_days], name="date")
    values = 30.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (n_days, n_assets)), axis=0))
    gaps = draw(st.sampled_from(["none", "none", "listed late", "gap", "both"]))
    for j in range(n_assets):
        if gaps in ("listed late", "both") and rng.random() < 0.5:
            values[: int(rng.integers(1, n_days)), j] = np.nan  # listed late
        if gaps in ("gap", "both") and rng.random() < 0.5 and n_days > 3:
            lo = int(rng.integers(0, n_days - 2))
            values[lo: lo + int(rng.integers(1, 4)), j] = np.nan
        values[-1, j] = 30.0 + j  # priced on the as-of date
    prices = pd.DataFrame(values, index=dates,
                          columns=pd.Index([f"A{j}" for j in range(n_assets)], name="ticker"))
    sectors = [f"S{j % 2}" for j in range(n_assets)]
    windows = st.integers(1, 60)
    config = MonitorConfig(vol_window_days=draw(windows), short_window_days=draw(windows),
                           long_window_days=draw(windows),
                           estimator=draw(st.sampled_from(list(CovarianceEstimator))))
    return prices, sectors, config, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(case=_cases())
def test_plan_risk_equals_estimate_risk_to_the_bit(
        case: tuple[pd.DataFrame, list[str], MonitorConfig, bool]) -> None:
    """Histories complete or with assets listed late and gaps, windows longer and
    shorter than the history (down to 1 day, which both refuse): the volatilities,
    long-window covariance and notices of :func:`plan_risk` are those of
    :func:`estimate_risk`, with the returns given or read from the prices."""
    prices, sectors, config, with_cov = case
    state = _state(prices, sectors)
    try:
        want = _plain(state, prices, config, with_cov)
    except ConfigError as refused:
        with pytest.raises(ConfigError, match=str(refused)[:30]):
            plan_risk(state, prices, config, with_cov=with_cov)
        return
    _assert_same(plan_risk(state, prices, config, with_cov=with_cov), want)
    _assert_same(plan_risk(state, prices, config, with_cov=with_cov,
                           returns=risk_returns(state, prices, config)), want)


def test_plan_risk_of_complete_histories_has_no_notice_and_skips_nothing_read() -> None:
    """Complete histories: no notice, the covariance is the sample one; an asset listed
    late: the notices say so, as estimate_risk's do."""
    rng = np.random.default_rng(3)
    dates = pd.DatetimeIndex(nyse_sessions("2020-01-02", "2020-12-31")[:120], name="date")
    values = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (120, 4)), axis=0))
    prices = pd.DataFrame(values, index=dates, columns=pd.Index(list("ABCD"), name="ticker"))
    config = MonitorConfig(vol_window_days=20, short_window_days=20, long_window_days=60)
    state = _state(prices, ["S0", "S0", "S1", "S1"])
    got = plan_risk(state, prices, config)
    assert got.notices == ()
    _assert_same(got, _plain(state, prices, config, True))
    late = prices.copy()
    late.iloc[:-10, 2] = np.nan
    state = _state(late, ["S0", "S0", "S1", "S1"])
    got = plan_risk(state, late, config)
    assert {n.flag for n in got.notices} == {Flag.NO_VOLATILITY, Flag.NO_CORRELATIONS}
    _assert_same(got, _plain(state, late, config, True))
