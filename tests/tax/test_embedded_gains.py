"""A lot-level portfolio with large embedded gains: the embedded sample (USD 10 M, 20
stocks, drift above the 5% threshold) split into four lots per stock bought at the closes
of 2010-01-04, 2015-01-02, 2020-01-02 and 2022-06-01 (``benchmarks/tax_plan.py``'s
portfolio). The plan after tax ends inside the drift threshold, realizes less tax than
today's plan under either relief, and says why per asset and per lot."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from driftwise.app.plan import Plan, make_plan
from driftwise.config import default_config
from driftwise.data.loader import load_inputs
from driftwise.data.model import Inputs
from driftwise.tax import Relief, TaxRates, relieve_lots

DATES = ("2010-01-04", "2015-01-02", "2020-01-02", "2022-06-01")


def _with_lots(inputs: Inputs) -> Inputs:
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


def _tax(inputs: Inputs, plan: Plan, method: Relief) -> float:
    """The tax of the plan's sales relieved from the lots by ``method`` (the tax model)."""
    lots = inputs.holdings.lots
    assert lots is not None
    total = 0.0
    for ticker, row in plan.trades[plan.trades["side"] == "SELL"].iterrows():
        sold = relieve_lots(lots[lots["ticker"] == ticker], float(row["shares"]),
                            float(row["price_usd"]), plan.as_of, method, TaxRates(niit=0.038))
        total += sum(s.tax_usd for s in sold)
    return total


def test_the_plan_after_tax_reaches_the_threshold_with_less_tax_and_says_why() -> None:
    inputs = _with_lots(load_inputs())
    today = make_plan(inputs, default_config())
    taxed = make_plan(inputs, default_config().with_overrides({"tax.enabled": True}))
    threshold = default_config().policy.threshold
    assert today.before["drift"] > threshold  # the rule fires
    assert taxed.after["drift"] <= threshold  # inside the threshold after the trades
    # today's plan sells USD 556 k; relieved HIFO or FIFO its tax is what it would realize
    hifo, fifo = _tax(inputs, today, Relief.HIFO), _tax(inputs, today, Relief.FIFO)
    tax = float(taxed.trades["tax_usd"].sum())
    assert abs(tax - _tax(inputs, taxed, Relief.HIFO)) <= 1e-6 * max(1.0, abs(tax))
    assert tax < hifo - 10_000.0 and tax < fifo - 50_000.0
    sold = taxed.trades[taxed.trades["side"] == "SELL"]
    assert (sold["shares"].abs() > 0).all() and len(sold) > 0
    assert sold["lots"].str.len().gt(0).all()  # each sale names the lots it relieves
    # every stock today's plan sells and the plan after tax sells less of (or not at all)
    # has its reason, by ticker
    sold_today = today.trades[today.trades["side"] == "SELL"]["shares"].abs()
    after = taxed.trades["shares"].abs().reindex(sold_today.index).fillna(0.0)
    held_back = sold_today.index[after < sold_today - 1e-9]
    assert len(held_back) > 0
    for ticker in held_back:
        assert any(r.startswith(f"{ticker}: ") for r in taxed.reasons), ticker
