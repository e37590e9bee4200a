"""γ_tax on evidence: the optimized destination after tax at several ``optimizer.tax_weight``.

The embedded sample (20 stocks, its default target and cash, the starting NAV the
configuration's default from the holdings, one lot per stock bought at the first close), the
default rule's trigger (5% drift threshold) with ``policy.destination = "optimized"`` (γ =
``--gamma``, γ_trade automatic), ``[tax] enabled`` with the default rates (37% + 3.8% NIIT
short-term, 20% + 3.8% long-term), HIFO relief, the wash-sale rule and monthly harvesting
(10% of basis and USD 1,000), yearly netting with the USD 3,000 offset and the carry-
forward, every gain left taxed long-term at the end (:mod:`driftwise.backtest.aftertax`).

Each γ_tax is one tax-aware run (the tax of each lot weighed in the solve, times γ_tax)
against the one tax-unaware run they share (the same optimized rule deciding without tax:
:func:`driftwise.app.aftertax.after_tax_sweep`, which never reads γ_tax for it). Printed per
row: after-tax and pre-tax annual return, tracking error against the target rebalanced
every close at zero cost (before each year's tax payment), taxes paid (the liquidation's
included), losses harvested, rebalances, the tax alpha with its paired block-bootstrap
interval, and whether another γ_tax **dominates** it (an after-tax return at least as high
with a tracking error at most as high, one of them strictly). CPU and wall of the sweep and
the load average.

    python benchmarks/tax_weight.py [--years 10] [--weights 0 0.05 0.1 0.25 0.5 1]
        [--gamma 2] [--samples 1000] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

from driftwise.app.aftertax import after_tax_sweep
from driftwise.config import default_config
from driftwise.data.loader import load_inputs

WEIGHTS = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)


def dominated(table: pd.DataFrame, ret: str = "aware_after_tax_return_annual",
              te: str = "aware_te_annual") -> list[str]:
    """For each row, the γ_tax of the rows that dominate it (higher or equal after-tax
    return and lower or equal TE, one strictly), comma-separated ("" for none)."""
    out = []
    for _, row in table.iterrows():
        better = table[(table[ret] >= row[ret]) & (table[te] <= row[te])
                       & ((table[ret] > row[ret]) | (table[te] < row[te]))]
        out.append(", ".join(f"{w:g}" for w in better["tax_weight"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=10,
                        help="The sample's last this many years.")
    parser.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS))
    parser.add_argument("--gamma", type=float, default=None,
                        help="optimizer.gamma (default: the configuration's).")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.years < 1 or any(not 0.0 <= w <= 100.0 for w in args.weights):
        parser.error("--years must be at least 1 and --weights between 0 and 100")
    inputs = load_inputs()
    dates = inputs.market.prices.index
    end = dates[-1]
    start = dates[dates >= end - pd.DateOffset(years=args.years)][0]
    base = {"policy.destination": "optimized", "tax.enabled": True,
            "backtest.start": str(start.date()), "backtest.end": str(end.date())}
    if args.gamma is not None:
        base["optimizer.gamma"] = args.gamma
    configs = [default_config().with_overrides({**base, "optimizer.tax_weight": w})
               for w in args.weights]
    load0 = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    table = after_tax_sweep(inputs, configs, harvest_every="month", samples=args.samples,
                            workers=args.workers,
                            progress=lambda k, n: print(f"{k}/{n} runs", flush=True))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    table["dominated_by"] = dominated(table)
    shown = pd.DataFrame({
        "γ_tax": table["tax_weight"],
        "after tax": table["aware_after_tax_return_annual"].map(lambda x: f"{x:.2%}"),
        "pre tax": table["aware_pre_tax_return_annual"].map(lambda x: f"{x:.2%}"),
        "TE": table["aware_te_annual"].map(lambda x: f"{x:.2%}"),
        "taxes paid": table["aware_taxes_paid_usd"].map(lambda x: f"{x:,.0f}"),
        "harvested": table["aware_harvested_loss_usd"].map(lambda x: f"{x:,.0f}"),
        "rebalances": table["aware_n_rebalances"].map(lambda x: f"{x:.0f}"),
        "tax alpha": table["tax_alpha"].map(lambda x: f"{x:+.2%}"),
        "95% interval": [f"[{lo:+.2%}, {hi:+.2%}]" for lo, hi in
                         zip(table["tax_alpha_low"], table["tax_alpha_high"], strict=True)],
        "dominated by": table["dominated_by"].replace("", "-")})
    gamma = "default" if args.gamma is None else f"{args.gamma:g}"
    print(f"\nsample, {start.date()} .. {end.date()}, optimized destination (γ {gamma}), "
          "after tax, monthly harvesting, HIFO, wash-sale rule")
    print(shown.to_string(index=False))
    first = table.iloc[0]
    print(f"tax-unaware (the same rule without tax): after tax "
          f"{first['unaware_after_tax_return_annual']:.2%}, TE {first['unaware_te_annual']:.2%}")
    print(f"CPU {cpu:.0f} s, wall {wall:.0f} s ({args.workers} worker(s)); load average "
          f"{load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
