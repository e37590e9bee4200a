"""A small synthetic US market for backtest tests: 5 assets, 330 NYSE sessions.

Prices follow a one-factor lognormal model (one asset at 60% volatility, so the
volatility-aware rule has work); VIX is calm, then elevated, then in stress (days
160-200, VIX 32-45) and unknown on the first days; volumes have gaps and one thin asset
whose ADV crosses $1M; the cost file misses one ticker; one ticker has no market cap.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.backtest import blocks
from driftwise.backtest.engine import BacktestResult
from driftwise.calendar import nyse_sessions
from driftwise.config import Config
from driftwise.config.assemble import backtest_configs
from driftwise.costs import read_cost_inputs
from driftwise.data.master import read_security_master
from driftwise.data.model import Holdings, Inputs, MarketData
from driftwise.data.targets import read_targets

TICKERS = ("AAA", "BBB", "CCC", "DDD", "EEE")
N_DAYS = 330
STRESS = slice(160, 200)


def synthetic_inputs(*, seed: int = 7, with_volumes: bool = True,
                     costs_as_of: str | None = None) -> Inputs:
    """The synthetic market and portfolio (``costs_as_of``: date of the cost file rows)."""
    rng = np.random.default_rng(seed)
    dates = nyse_sessions("2019-01-02", "2020-12-31")[:N_DAYS]
    vol = np.array([0.15, 0.20, 0.25, 0.60, 0.30]) / np.sqrt(252.0)
    market = rng.normal(0.0003, 0.01, N_DAYS)
    noise = rng.normal(0.0, 1.0, (N_DAYS, len(TICKERS))) * vol
    stress = np.zeros(N_DAYS)
    stress[STRESS] = 1.0
    rets = 0.8 * market[:, None] * (1.0 + 2.0 * stress[:, None]) + noise * (1.0 + stress[:, None])
    rets[0] = 0.0
    prices = np.array([120.0, 45.0, 80.0, 30.0, 18.0]) * np.exp(np.cumsum(rets, axis=0))
    frame = pd.DataFrame(prices, index=pd.DatetimeIndex(dates, name="date"),
                         columns=pd.Index(TICKERS, name="ticker"))
    vix = pd.Series(15.0 + rng.normal(0.0, 1.0, N_DAYS), index=frame.index, name="vix")
    vix.iloc[80:120] = 24.0 + rng.normal(0.0, 1.5, 40)
    vix.iloc[STRESS] = 38.0 + rng.normal(0.0, 4.0, 40)
    vix.iloc[:4] = np.nan
    volumes = None
    if with_volumes:
        base = np.array([2e6, 8e5, 5e5, 3e5, 5.8e4])
        shares = base * np.exp(rng.normal(0.0, 0.3, (N_DAYS, len(TICKERS))))
        shares[rng.random((N_DAYS, len(TICKERS))) < 0.03] = np.nan
        volumes = pd.DataFrame(shares, index=frame.index, columns=frame.columns)
    rf = pd.Series(0.02, index=frame.index[::20], name="risk_free")
    data = MarketData(prices=frame, volumes=volumes, vix=vix, risk_free_annual=rf,
                      source="<synthetic>")
    targets = read_targets(pd.DataFrame({
        "ticker": [*TICKERS, "CASH"], "target_weight": [0.25, 0.2, 0.2, 0.15, 0.15, 0.05],
        "band_abs": [0.03, np.nan, 0.02, np.nan, np.nan, np.nan],
        "effective_date": ["2020-06-01"] * 6}))
    master = read_security_master(pd.DataFrame({
        "ticker": list(TICKERS), "sector": ["Tech", "Tech", "Health", "Energy", "Energy"],
        "asset_class": ["US Equity"] * 5,
        "market_cap_usd": [2e12, 5e10, 8e9, np.nan, 1.5e9]}))
    as_of = costs_as_of or str(frame.index[-1].date())
    costs = read_cost_inputs(pd.DataFrame({
        "ticker": ["AAA", "BBB", "CCC", "EEE"], "spread_bps": [1.0, 3.0, np.nan, 12.0],
        "commission_bps": [0.5, 0.5, 1.0, 2.0], "as_of": [as_of] * 4}),
        as_of=frame.index[-1])
    holdings = Holdings(shares=pd.Series({"AAA": 2000.0, "BBB": 3000.0, "CCC": 2500.0}),
                        cash_usd=50_000.0)
    return Inputs(holdings=holdings, targets=targets, master=master, market=data,
                  last_rebalance=pd.Timestamp(dates[40]), costs=costs)


def with_extra_holding(inputs: Inputs) -> Inputs:
    """Holdings that include a ticker outside the targets (EXTRA, priced like AAA x 0.5)."""
    prices = inputs.market.prices.assign(EXTRA=inputs.market.prices["AAA"] * 0.5)
    volumes = (None if inputs.market.volumes is None
               else inputs.market.volumes.assign(EXTRA=inputs.market.volumes["AAA"]))
    market = dataclasses.replace(inputs.market, prices=prices, volumes=volumes)
    shares = pd.concat([inputs.holdings.shares, pd.Series({"EXTRA": 500.0})]).sort_index()
    return dataclasses.replace(inputs, market=market,
                               holdings=dataclasses.replace(inputs.holdings, shares=shares))


@pytest.fixture(scope="session")
def synthetic() -> Inputs:
    """The synthetic inputs (with volumes, fresh cost file)."""
    return synthetic_inputs()


def holdings_nav(inputs: Inputs) -> float:
    """NAV of the holdings at the last prices: a backtest's default starting NAV."""
    last = inputs.market.prices.iloc[-1]
    h = inputs.holdings
    return float(sum(float(n) * float(last[t]) for t, n in h.shares.items()) + h.cash_usd)


def day_by_day(inputs: Inputs, configs: list[Config], **kw: object) -> BacktestResult:
    """The engine with blocks of one day (every day through ``simulate_day``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "BLOCK_CELLS", 1)
        return backtest_configs(inputs, configs, **kw)  # type: ignore[arg-type]


def in_quiet_blocks(inputs: Inputs, configs: list[Config]) -> tuple[BacktestResult, int]:
    """The engine as it runs, and the longest stretch of quiet days it evaluated at once."""
    calls: list[int] = []
    quiet = blocks.quiet_days

    def spy(*args: object) -> int:
        calls.append(quiet(*args))  # type: ignore[arg-type]
        return calls[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "quiet_days", spy)
        result = backtest_configs(inputs, configs)
    return result, max(calls, default=0)
