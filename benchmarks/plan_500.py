"""Time a full daily plan (schedule included) for a 500-asset portfolio.

Target (issue 4): under 0.5 s on the 2-core machine. Synthetic market: 500 assets,
300 NYSE sessions of correlated log-normal prices with volumes, a drifted portfolio,
an equal-weight target and a cost-inputs file.

    python benchmarks/plan_500.py
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from driftwise.app.plan import make_plan
from driftwise.calendar import nyse_sessions
from driftwise.config import default_config
from driftwise.data.costs import read_cost_inputs
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets

N_ASSETS = 500
REPEATS = 5


def synthetic_inputs(n: int = N_ASSETS, seed: int = 0, start: str = "2023-04-03") -> Inputs:
    rng = np.random.default_rng(seed)
    dates = nyse_sessions(start, "2024-06-28")
    market_factor = rng.normal(0.0003, 0.01, (len(dates), 1))
    returns = market_factor + rng.normal(0.0, 0.015, (len(dates), n))
    prices = 40.0 * np.exp(np.cumsum(returns, axis=0))
    tickers = pd.Index([f"T{i:03d}" for i in range(n)], name="ticker")
    frame = pd.DataFrame(prices, index=pd.DatetimeIndex(dates, name="date"), columns=tickers)
    volumes = pd.DataFrame(rng.uniform(2e5, 2e7, (len(dates), n)), index=frame.index,
                           columns=tickers)
    nav = 5e8
    weights = rng.dirichlet(np.full(n, 8.0)) * 0.98  # drift well above 5%
    shares = pd.Series(weights * nav / frame.iloc[-1].to_numpy(), index=tickers)
    target = pd.Series(0.98 / n, index=tickers)
    costs = read_cost_inputs(pd.DataFrame({"ticker": tickers, "spread_bps": 3.0,
                                           "commission_bps": 1.0, "as_of": "2024-06-28"}))
    master = SecurityMaster(frame=pd.DataFrame({
        "sector": [f"S{i % 11}" for i in range(n)], "asset_class": "Equity",
        "market_cap_usd": rng.uniform(2e9, 5e11, n)}, index=tickers))
    return Inputs(
        holdings=Holdings(shares=shares, cash_usd=0.02 * nav),
        targets=Targets(level=TargetLevel.ASSET, weights=target, cash_weight=0.02,
                        band_abs=pd.Series(np.nan, index=tickers),
                        band_rel=pd.Series(np.nan, index=tickers)),
        master=master,
        market=MarketData(prices=frame, volumes=volumes,
                          vix=pd.Series(18.0, index=frame.index)),
        last_rebalance=pd.Timestamp("2024-01-02"), costs=costs)


def time_plan(inputs: Inputs, label: str) -> None:
    # time the full path: no skip on cost-benefit, so every asset is traded and scheduled
    config = default_config().with_overrides({"policy.skip_if_cost_exceeds_benefit": False})
    make_plan(inputs, config)  # warm up imports and the calendar
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        plan = make_plan(inputs, config)
        times.append(time.perf_counter() - start)
    n_children = 0 if plan.schedule is None else len(plan.schedule.child_orders)
    print(f"{label}: {len(plan.trades)} trades, {n_children} child orders, decision "
          f"{plan.decision.value}; best {min(times):.3f} s, median {np.median(times):.3f} s "
          f"(target < 0.5 s); load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    time_plan(synthetic_inputs(), f"synthetic {N_ASSETS} assets")


if __name__ == "__main__":
    main()
