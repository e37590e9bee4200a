"""The decision after tax weighs a sale's lot boundaries as rows of one evaluation: each
row's cost and tax must be the row's own value, to the bit (its tracking error is
evaluated row by row: numpy's einsum sums a batch of two-asset rows in another order)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.costs import AssetCostInputs, CostParams, RowCosts, cost_coefficients
from driftwise.tax import TaxRates
from driftwise.tax.lots import lot_tax

RATES = TaxRates(niit=0.038)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_a_rows_lot_tax_in_a_batch_is_its_own(n: int, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shares = rng.uniform(1.0, 1e4, n)
    basis = shares * rng.uniform(5.0, 300.0, n)
    long_term = rng.random(n) < 0.5
    taken = shares * rng.uniform(0.0, 1.0, (rows, n)) * (rng.random((rows, n)) < 0.7)
    _, tax = lot_tax(taken, shares, basis, 100.0, long_term, RATES)
    alone = [float(lot_tax(taken[r], shares, basis, 100.0, long_term, RATES)[1].sum())
             for r in range(rows)]
    assert tax.sum(axis=1).tolist() == alone


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_a_rows_cost_in_a_batch_is_its_own(n: int, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    inputs = AssetCostInputs(
        price_usd=rng.uniform(10, 200, n), half_spread_bps=rng.uniform(0.5, 20, n),
        commission_bps=np.full(n, 1.0), commission_per_share_usd=np.full(n, 0.005),
        min_ticket_usd=np.full(n, 1.0), sigma_daily=rng.uniform(0.005, 0.04, n),
        adv_shares=rng.uniform(1e5, 1e7, n), borrow_bps_annual=rng.uniform(20, 300, n))
    model = RowCosts.of(cost_coefficients(inputs, CostParams(), 22.0), 1, n)
    trades = rng.normal(0.0, 1e6, (rows, n))
    batch = model(trades)
    alone = np.stack([model(trades[r][None, :])[0] for r in range(rows)])
    assert np.array_equal(batch, alone)
