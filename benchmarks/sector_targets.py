"""Sector targets on real data: the tracking error against the group reference portfolio.

Eleven equal GICS sector weights (98%, 2% cash) over 3 stocks per sector of the S&P 500
panel (``../shared/data/sp500-daily-ohlcv-alphavantage``: the sector's 3 largest by 2020
median dollar volume among those priced from 2012 to 2021, a fixed choice for a
comparison of references, not a point-in-time universe), the default cost model,
2015-01-02 .. 2020-12-31. Prints each rule's annualized TE against the reference portfolio
of group targets (the group weights rebalanced daily, each group split by the reference's
own holdings: ``driftwise.backtest.groups``) and, beside it, against the first day's asset
split rebalanced daily (the reference before), with the run's CPU and wall time and the
load average.

    python benchmarks/sector_targets.py [--start 2015-01-02] [--end 2020-12-31]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs, MarketData, SecurityMaster
from driftwise.data.sample import load_sample
from driftwise.data.targets import read_targets
from driftwise.data.universe import read_sp500

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def sector_inputs(start: str, end: str) -> Inputs:
    """The sector portfolio's inputs (prices from a year before ``start``)."""
    index = pd.read_csv(DATA / "sp500-daily-ohlcv-alphavantage" / "tickers.csv")
    index = index[(index["first_date"] <= "2012-01-03") & (index["last_date"] >= "2021-01-01")]
    pick = (index.sort_values("median_dollar_volume_2020", ascending=False)
            .groupby("gics_sector").head(3))
    tickers = sorted(str(t) for t in pick["ticker"])
    u = read_sp500(DATA, tickers, until=end)
    first = pd.Timestamp(start) - pd.Timedelta(days=400)
    prices = u.prices.loc[first:end]
    assert u.dollar_volume_usd is not None
    volumes = (u.dollar_volume_usd.loc[prices.index] / prices).round()
    sectors = sorted(str(s) for s in pick["gics_sector"].unique())
    targets = read_targets(pd.DataFrame({
        "sector": [*sectors, "CASH"],
        "target_weight": [*[0.98 / len(sectors)] * len(sectors), 0.02]}))
    master = SecurityMaster(frame=pick.set_index("ticker")[["gics_sector"]].rename(
        columns={"gics_sector": "sector"}).rename_axis("ticker"), source="tickers.csv")
    base = load_sample()
    market = MarketData(prices=prices, volumes=volumes, vix=None, risk_free_annual=None,
                        source=str(DATA))
    return dataclasses.replace(base, targets=targets, target_versions=(), master=master,
                               market=market)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2015-01-02")
    parser.add_argument("--end", default="2020-12-31")
    args = parser.parse_args()
    inputs = sector_inputs(args.start, args.end)
    configs = [pol.monthly(), pol.quarterly(), pol.threshold(0.05), pol.never()]
    cpu, wall = time.process_time(), time.perf_counter()
    result = backtest_configs(inputs, configs, start=args.start, end=args.end)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    prices = inputs.market.prices.loc[result.dates, result.tickers].to_numpy()
    assert inputs.targets is not None
    labels = inputs.master.frame["sector"].reindex(result.tickers).to_numpy()
    fixed = np.zeros(len(result.tickers))
    for sector, weight in inputs.targets.weights.items():
        inside = labels == sector
        fixed[inside] = float(weight) / inside.sum()
    first_split = result.initial_nav_usd * np.concatenate(
        [[1.0], np.cumprod((prices[1:] / prices[:-1]) @ fixed + inputs.targets.cash_weight)])

    def te(nav: np.ndarray, ref: np.ndarray) -> float:
        active = np.diff(nav) / nav[:-1] - np.diff(ref) / ref[:-1]
        return float(np.std(active, ddof=1) * np.sqrt(252.0))

    print(f"{len(result.tickers)} stocks in {len(inputs.targets.weights)} equal sectors, "
          f"{result.dates[0].date()} .. {result.dates[-1].date()} ({result.n_days} sessions)")
    print(f"{'rule':16s} {'TE (group ref)':>15s} {'TE (first split)':>17s} {'rebalances':>11s}")
    for c, name in enumerate(result.names):
        print(f"{name:16s} {100 * te(result.nav_usd[:, c], result.ref_nav_usd):14.2f}% "
              f"{100 * te(result.nav_usd[:, c], first_split):16.2f}% "
              f"{int(result.rebalanced[:, c].sum()):11d}")
    load = os.getloadavg()
    print(f"backtest: CPU {cpu:.1f} s, wall {wall:.1f} s, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
