"""Lot relief and sale tax, recomputed by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.tax import Relief, TaxRates, relieve_lots

AS_OF = pd.Timestamp("2024-06-28")
LOTS = pd.DataFrame({
    "acquired": pd.to_datetime(["2020-01-02", "2023-01-03", "2024-03-01"]),
    "shares": [100.0, 50.0, 80.0],
    "cost_basis_usd": [5_000.0, 6_000.0, 9_600.0],   # 50, 120, 120 per share
})
RATES = TaxRates(short_term=0.37, long_term=0.20, long_term_after_days=365)


def test_fifo_by_hand() -> None:
    # 120 shares at 100: lot 1 (100 sh, basis 50, LT): gain 5000, tax 1000;
    # lot 2 (20 sh, basis 120, LT since 2023-01-03): gain -400, tax -80
    sold = relieve_lots(LOTS, 120, 100.0, AS_OF, Relief.FIFO, RATES)
    assert [(s.shares, s.long_term) for s in sold] == [(100, True), (20, True)]
    assert sum(s.tax_usd for s in sold) == pytest.approx(1000 - 80)


def test_hifo_sells_highest_basis_first() -> None:
    # basis 120 ties (lots 2 and 3, stable order): lot 2 (50 sh, LT) then lot 3 (30 of 80, ST)
    sold = relieve_lots(LOTS, 80, 100.0, AS_OF, Relief.HIFO, RATES)
    assert [s.acquired for s in sold] == [pd.Timestamp("2023-01-03"), pd.Timestamp("2024-03-01")]
    # tax: 50 x (100-120) x 0.20 = -200; 30 x (100-120) x 0.37 = -222
    assert sum(s.tax_usd for s in sold) == pytest.approx(-200 - 222)


def test_min_tax_takes_the_largest_saving_first() -> None:
    # tax per share: lot 1 +10 (LT gain), lot 2 -4 (LT loss), lot 3 -7.4 (ST loss)
    sold = relieve_lots(LOTS, 60, 100.0, AS_OF, Relief.MIN_TAX, RATES)
    assert [s.acquired for s in sold] == [pd.Timestamp("2024-03-01")]
    assert sold[0].tax_usd == pytest.approx(60 * -7.4)


@given(st.floats(1, 230), st.floats(1, 500), st.sampled_from(list(Relief)))
def test_realized_gain_is_proceeds_minus_basis(shares: float, price: float,
                                               method: Relief) -> None:
    sold = relieve_lots(LOTS, shares, price, AS_OF, method, RATES)
    assert sum(s.shares for s in sold) == pytest.approx(min(shares, 230.0))
    for s in sold:
        assert s.gain_usd == pytest.approx(s.proceeds_usd - s.basis_usd)
        assert s.proceeds_usd == pytest.approx(s.shares * price)
