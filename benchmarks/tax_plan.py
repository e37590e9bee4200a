"""The plan before and after tax on a lot-level portfolio with large embedded gains.

The embedded sample portfolio (USD 10 M, 20 stocks, as of its last price date) is split
into four lots per stock, bought at the close of 2010-01-04, 2015-01-02, 2020-01-02 and
2022-06-01 (short-term): most lots carry large gains. It prints, for the plan without tax
(the tax its sales would realize under HIFO and FIFO) and the plan deciding after tax
(HIFO), the drift before and after, the benefit, the trading cost, the tax and the sales,
and the time of one plan (noisy on a shared machine).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from driftwise.app.plan import Plan, make_plan
from driftwise.config import default_config
from driftwise.data.loader import load_inputs
from driftwise.data.model import Inputs
from driftwise.tax import Relief, TaxRates, relieve_lots

DATES = ("2010-01-04", "2015-01-02", "2020-01-02", "2022-06-01")


def with_lots(inputs: Inputs) -> Inputs:
    prices = inputs.market.prices
    rows = []
    for ticker, shares in inputs.holdings.shares.items():
        each = np.floor(float(shares) / len(DATES))
        sizes = [each] * (len(DATES) - 1) + [float(shares) - each * (len(DATES) - 1)]
        for day, size in zip(DATES, sizes, strict=True):
            close = float(prices[ticker].asof(pd.Timestamp(day)))
            rows.append((ticker, size, pd.Timestamp(day), size * close, None))
    lots = pd.DataFrame(rows, columns=["ticker", "shares", "acquired", "cost_basis_usd",
                                       "account"])
    return dataclasses.replace(inputs, holdings=dataclasses.replace(inputs.holdings, lots=lots))


def realized_tax(inputs: Inputs, plan: Plan, method: Relief) -> float:
    rates = TaxRates(niit=0.038)
    lots = inputs.holdings.lots
    assert lots is not None
    total = 0.0
    for ticker, row in plan.trades[plan.trades["side"] == "SELL"].iterrows():
        mine = lots[lots["ticker"] == ticker]
        total += sum(s.tax_usd for s in relieve_lots(mine, float(row["shares"]),
                                                      float(row["price_usd"]), plan.as_of,
                                                      method, rates))
    return total


def show(name: str, plan: Plan, tax: str) -> None:
    sold = plan.trades.loc[plan.trades["side"] == "SELL", "trade_usd"].abs().sum()
    print(f"{name:<22} {plan.decision.value:<9} drift {plan.before['drift']:.2%} -> "
          f"{plan.after['drift']:.2%}  benefit {plan.after['benefit_bps']:7.2f} bps  "
          f"cost {plan.after['cost_usd']:>8,.0f}  sales {sold:>11,.0f}  tax {tax}")


def main() -> None:
    inputs = with_lots(load_inputs())
    start = time.perf_counter()
    make_plan(inputs, default_config())  # compiled kernels warm
    start = time.perf_counter()
    plain = make_plan(inputs, default_config())
    t_plain = time.perf_counter() - start
    show("today (tax off)", plain, f"HIFO {realized_tax(inputs, plain, Relief.HIFO):,.0f} / "
                                   f"FIFO {realized_tax(inputs, plain, Relief.FIFO):,.0f}")
    caring = {"policy.tracking_aversion": 100.0}
    for label, overrides in (("after tax", {}), ("after tax, γ = 100", caring),
                             ("γ = 100, budget 20k", {**caring,
                                                      "tax.gain_budget_usd": 20_000.0})):
        cfg = default_config().with_overrides({"tax.enabled": True, **overrides})
        start = time.perf_counter()
        taxed = make_plan(inputs, cfg)
        elapsed = time.perf_counter() - start
        show(label, taxed, f"{taxed.trades['tax_usd'].sum():,.0f}")
        said = [r for r in taxed.reasons if ":" in r and r.split(":")[0].isupper()]
        for reason in said[:3]:
            print(f"    {reason[:150]}")
        if len(said) > 3:
            print(f"    ... and {len(said) - 3} more reasons per asset")
        print(f"    plan {elapsed:.2f} s (tax off {t_plain:.2f} s)")


if __name__ == "__main__":
    main()
