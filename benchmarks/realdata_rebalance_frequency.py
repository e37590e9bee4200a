"""Rebalancing frequency on real data: turnover falls and TE rises from daily to never.

An equal-weight portfolio of the S&P 500 stocks with a full price history over the window
(from ``../shared/data/sp500-daily-ohlcv-alphavantage``), rebalanced daily, weekly, monthly,
quarterly, annually or never, frictionless (fractional shares, no minimum trade, no trading
costs; ``frequency_table``'s setting). Compare with Boyd et al.
(2017), "Multi-Period Trading via Convex Optimization", Table 7.1: turnover roughly halves
per step and tracking error grows roughly with the square root of the interval.

    python benchmarks/realdata_rebalance_frequency.py [--start 2010-01-04]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from driftwise.app.backtest import equal_weight_inputs, frequency_table
from driftwise.data.alphavantage import read_alphavantage_folder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sp500-daily-ohlcv-alphavantage"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2010-01-04")
    parser.add_argument("--end", default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    inputs = equal_weight_inputs(read_alphavantage_folder(DATA / "daily", start=args.start,
                                                          end=args.end))
    t1 = time.perf_counter()
    table = frequency_table(inputs)
    t2 = time.perf_counter()
    n_assets = len(inputs.market.prices.columns)
    print(f"equal weight over {n_assets} S&P 500 stocks, {inputs.market.prices.index[0].date()}"
          f" .. {inputs.market.prices.index[-1].date()}; {table.attrs['setting']}")
    print(table.to_string(float_format=lambda x: f"{x:.4f}"))
    print(f"(data {t1 - t0:.1f} s, engine {t2 - t1:.1f} s)")


if __name__ == "__main__":
    main()
