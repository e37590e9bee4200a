"""Tax alpha on real data: monthly loss harvesting on random 50-stock S&P 500 portfolios.

Each portfolio holds 50 stocks drawn at random from the S&P 500 stocks with a clean
adjusted close over the whole window (``../shared/data/sp500-daily-ohlcv-alphavantage``,
survivorship-biased: April-2021 members only), equal weight, 2% cash, USD 1,000,000 at the
first close. The rule is a 10% drift threshold rebalancing to target with the full cost
model; it runs twice through the after-tax backtest (:mod:`driftwise.backtest.aftertax`):

* **tax-aware**: the planner's decision after tax (HIFO relief, deferral of short-term
  gains, wash-sale holds) and loss harvesting on the first session of every month (lots
  down at least 10% of basis and USD 1,000; the proceeds held in cash until the 30-day
  window ends, then the stock bought back);
* **tax-unaware**: the same rule deciding without tax, its lots relieved HIFO, taxes paid
  (wash sales it triggers are disallowed).

Rates 37% short-term / 20% long-term (no state tax, no NIIT), yearly netting with the USD
3,000 ordinary-income offset and the carry-forward, taxes paid from cash at each year's
end, and every remaining gain taxed long-term at the end (the after-tax liquidation
value). The tax alpha is the after-tax annual return difference, with a paired circular
block bootstrap (21-day blocks) per portfolio and the spread across portfolios.

Literature: Chaudhuri, Burnham and Lo (2020), "An Empirical Evaluation of Tax-Loss
Harvesting Alpha", Financial Analysts Journal 76(3): 0.82% a year with the wash-sale rule
(1.08% without), 500 largest US stocks, 1926-2018, monthly harvesting, 35%/15% rates
(see benchmarks/README.md for why the figures differ).

    python benchmarks/tax_alpha.py [--portfolios 4] [--start 2000-01-03] [--end 2020-12-31]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.app.aftertax import after_tax_compare
from driftwise.config import Config
from driftwise.validation.study import PortfolioSpec, eligible_sp500, load_inputs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LITERATURE = 0.0082
"""Chaudhuri, Burnham and Lo (2020): tax alpha with the wash-sale rule, per year."""


def config(start: str, end: str, threshold: float) -> Config:
    """The rule and the tax settings of the check."""
    return Config().with_overrides({
        "policy.trigger": "threshold", "policy.threshold": threshold,
        "backtest.start": start, "backtest.end": end, "backtest.initial_nav_usd": 1e6,
        "tax.enabled": True, "tax.short_term_rate": 0.37, "tax.long_term_rate": 0.20,
        "tax.niit_rate": 0.0, "tax.state_rate": 0.0, "tax.lot_relief": "hifo"})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--portfolios", type=int, default=4)
    parser.add_argument("--stocks", type=int, default=50)
    parser.add_argument("--start", default="2000-01-03")
    parser.add_argument("--end", default="2020-12-31")
    parser.add_argument("--threshold", type=float, default=0.10)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--random", type=int, default=0, help="Random state of the draws.")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    args = parser.parse_args()
    if not (args.data_dir / "sp500-daily-ohlcv-alphavantage").is_dir():
        print(f"skipped: no real data at {args.data_dir} (the S&P 500 folder of the shared "
              "data is needed)")
        return 0
    t0 = time.perf_counter()
    pool = sorted(eligible_sp500(args.data_dir, args.start, args.end))
    rng = np.random.default_rng(args.random)
    base = config(args.start, args.end, args.threshold)
    rows = []
    for j in range(args.portfolios):
        tickers = tuple(sorted(rng.choice(pool, size=args.stocks, replace=False).tolist()))
        spec = PortfolioSpec(f"random {j + 1}", "sp500", tickers, str(args.data_dir))
        began = time.perf_counter()
        c = after_tax_compare(load_inputs(spec), base, samples=args.samples,
                              seed=args.random + j)
        aware, unaware = c.metrics.loc["tax-aware"], c.metrics.loc["tax-unaware"]
        rows.append({"portfolio": spec.label, "tax_alpha": c.tax_alpha,
                     "low": c.tax_alpha_low, "high": c.tax_alpha_high,
                     "aware_after_tax": aware["after_tax_return_annual"],
                     "unaware_after_tax": unaware["after_tax_return_annual"],
                     "aware_pre_tax": aware["pre_tax_return_annual"],
                     "unaware_pre_tax": unaware["pre_tax_return_annual"],
                     "harvested_usd": aware["harvested_loss_usd"],
                     "harvest_days": aware["n_harvest_days"],
                     "disallowed_unaware_usd": unaware["disallowed_usd"],
                     "taxes_aware_usd": aware["taxes_paid_usd"],
                     "taxes_unaware_usd": unaware["taxes_paid_usd"],
                     "seconds": time.perf_counter() - began})
        print(f"{spec.label}: tax alpha {100 * c.tax_alpha:+.2f}%/yr "
              f"[{100 * c.tax_alpha_low:+.2f}, {100 * c.tax_alpha_high:+.2f}] "
              f"({rows[-1]['seconds']:.0f} s)", flush=True)
    table = pd.DataFrame(rows).set_index("portfolio")
    pool_size = len(pool)
    alpha = table["tax_alpha"]
    half = (1.96 * float(alpha.std(ddof=1)) / np.sqrt(len(alpha))) if len(alpha) > 1 else \
        float("nan")
    print(f"\n{args.portfolios} random portfolios of {args.stocks} of {pool_size} S&P 500 "
          f"stocks, {args.start} .. {args.end}, 37%/20%, wash-sale rule, monthly harvesting")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns=["seconds"]).to_string(float_format=lambda x: f"{x:.4f}"))
    print(f"\nmean tax alpha {100 * alpha.mean():+.2f}%/yr (95% across portfolios "
          f"[{100 * (alpha.mean() - half):+.2f}, {100 * (alpha.mean() + half):+.2f}]; mean "
          f"of the per-portfolio bootstrap bounds [{100 * table['low'].mean():+.2f}, "
          f"{100 * table['high'].mean():+.2f}])")
    print(f"Chaudhuri, Burnham and Lo (2020), with wash sales: {100 * LITERATURE:+.2f}%/yr "
          "(500 largest US stocks, 1926-2018)")
    print(f"(total {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
