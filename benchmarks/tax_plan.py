"""The plan before and after tax on a lot-level portfolio with large embedded gains.

The embedded sample portfolio (USD 10 M, 20 stocks, as of its last price date) is split
into four lots per stock, bought at the close of 2010-01-04, 2015-01-02, 2020-01-02 and
2022-06-01 (short-term): most lots carry large gains. It prints, for the plan without tax
(the tax its sales would realize under HIFO and FIFO) and the plan deciding after tax
(HIFO), the drift before and after, the benefit, the trading cost, the tax and the sales,
and the time of one plan (noisy on a shared machine).

``--optimized``: the same for the optimized destination, the tax-blind optimized plan (tax
off: the tax its sales would realize under HIFO and minimum-tax relief) against the
optimized plan with the tax in its objective (HIFO and minimum tax; ``--tax-weight``,
``--gamma``),
with the CPU and wall time of each plan and the load average. ``--solve N``: one row of N
synthetic assets (20 factors, three lots each, a third of them at a loss) solved without and
with the tax term, CPU and wall per solve.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
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


def optimized(tax_weight: float, gamma: float) -> None:
    """The tax-blind optimized plan against the tax-aware one (module docstring)."""
    inputs = with_lots(load_inputs())
    base = {"policy.destination": "optimized", "optimizer.tax_weight": tax_weight,
            "optimizer.gamma": gamma}
    make_plan(inputs, default_config().with_overrides(base))  # compiled kernels warm
    print(f"load average {os.getloadavg()[0]:.2f}")
    runs = (("optimized, tax off", {}, None),
            ("optimized after tax, HIFO", {"tax.enabled": True}, Relief.HIFO),
            ("optimized after tax, min tax", {"tax.enabled": True,
                                              "tax.lot_relief": "min_tax"}, Relief.MIN_TAX))
    for label, overrides, method in runs:
        cfg = default_config().with_overrides({**base, **overrides})
        wall, cpu = time.perf_counter(), time.process_time()
        plan = make_plan(inputs, cfg)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if method is None:
            tax = (f"HIFO {realized_tax(inputs, plan, Relief.HIFO):,.0f} / min tax "
                   f"{realized_tax(inputs, plan, Relief.MIN_TAX):,.0f}")
        else:
            model = realized_tax(inputs, plan, method)
            tax = f"{plan.trades['tax_usd'].sum():,.0f} (model {model:,.0f})"
        show(label, plan, tax)
        print(f"    TE {plan.before['te']:.3%} -> {plan.after['te']:.3%}; plan {wall:.2f} s "
              f"wall, {cpu:.2f} s CPU")
        said = [r for r in plan.reasons if ":" in r and r.split(":")[0].isupper()]
        for reason in said[:4]:
            print(f"    {reason[:160]}")
        if len(said) > 4:
            print(f"    ... and {len(said) - 4} more reasons per asset")


def solve_speed(n: int, repeats: int = 5) -> None:
    """One synthetic row of ``n`` assets solved tax-blind and with its lots (docstring)."""
    from driftwise.policy.optimize import solve_taxed
    from driftwise.policy.solver import RowProblem, solve_row
    from driftwise.policy.tax_terms import tax_terms

    rng = np.random.default_rng(3)
    target = rng.dirichlet(np.ones(n)) * 0.98
    weights = np.clip(target * rng.lognormal(0.0, 0.3, n), 0.0, None)
    weights *= 0.98 / weights.sum()
    k = min(20, n)
    prob = RowProblem(
        drift=weights - target, weights=weights, cash=1.0 - weights.sum(),
        factor=rng.normal(size=(k, n)) * 0.2 / np.sqrt(k),
        factor_diag=rng.uniform(0.1, 0.3, n), linear=rng.uniform(5e-4, 2e-3, n),
        powers=((rng.uniform(0.0, 5e-3, n), 1.5),), borrow=np.zeros(n), lower=-weights,
        upper=1.0 - weights, cash_floor=0.0, max_traded=2.0, groups=np.zeros((0, n)),
        group_deviation=0.0, gamma=2.0, gamma_trade=1.5)
    nav = 1e7
    value = np.repeat(weights * nav / 3.0, 3)
    basis = value * rng.uniform(0.3, 1.3, 3 * n)
    rate = np.where(rng.random(3 * n) < 0.5, 0.238, 0.408)
    order = {i: np.array([3 * i, 3 * i + 1, 3 * i + 2])[np.argsort(
        rate[3 * i:3 * i + 3] * (1 - basis[3 * i:3 * i + 3] / value[3 * i:3 * i + 3]))]
        for i in range(n)}
    terms = tax_terms(order, value, value - basis, rate, np.zeros(3 * n, bool), n)
    print(f"{n} assets, {len(terms.asset)} lots; load average {os.getloadavg()[0]:.2f}")
    for label, run in (("tax-blind", lambda: solve_row(prob, long_only=True)[0]),
                       ("with the tax term", lambda: solve_taxed(prob, terms, nav, 1.0)[1])):
        run()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            z = run()
        wall = (time.perf_counter() - wall) / repeats
        cpu = (time.process_time() - cpu) / repeats
        assert z is not None
        print(f"  {label:<18} {wall:.3f} s wall, {cpu:.3f} s CPU per solve; "
              f"{int(np.sum(np.abs(z) > 1e-7))} assets traded")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimized", action="store_true",
                        help="the optimized destination, tax-blind against tax-aware")
    parser.add_argument("--tax-weight", type=float, default=1.0,
                        help="optimizer.tax_weight of the tax-aware runs (default 1)")
    parser.add_argument("--gamma", type=float, default=2.0,
                        help="optimizer.gamma of every optimized run (default 2)")
    parser.add_argument("--solve", type=int, default=0, metavar="N",
                        help="time one synthetic row of N assets without and with lots")
    args = parser.parse_args()
    if args.solve:
        solve_speed(args.solve)
    elif args.optimized:
        optimized(args.tax_weight, args.gamma)
    else:
        main()
