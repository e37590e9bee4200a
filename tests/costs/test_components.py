"""AssetCostInputs validation and the spread, commission and borrow components."""

from __future__ import annotations

import numpy as np
import pytest

from driftwise.costs import (
    AssetCostInputs,
    CostBreakdown,
    borrow_cost_usd,
    commission_cost_usd,
    spread_cost_usd,
)
from driftwise.errors import DataError

from .conftest import make_inputs


def test_defaults_filled(inputs: AssetCostInputs) -> None:
    assert np.isnan(inputs.all_in_bps).all()
    assert not inputs.spread_estimated.any() and inputs.stale.dtype == np.bool_
    assert inputs.modelled.all()
    assert inputs.adv_usd.tolist() == [1e8, 1e7, 1e6]
    with pytest.raises(ValueError, match="read-only"):
        inputs.price_usd[0] = 1.0


@pytest.mark.parametrize(("field", "value"), [
    ("price_usd", [0.0, 1.0, 1.0]),
    ("adv_shares", [1.0, -1.0, 1.0]),
    ("sigma_daily", [np.nan, 0.1, 0.1]),
    ("half_spread_bps", [-1.0, 0.0, 0.0]),
    ("borrow_bps_annual", [np.inf, 0.0, 0.0]),
    ("outstanding_over_adv", [0.0, 1.0, 1.0]),
    ("all_in_bps", [-5.0, np.nan, np.nan]),
])
def test_bad_values_name_field_and_ticker(field: str, value: list[float]) -> None:
    with pytest.raises(DataError, match=f"AAA.*field '{field}'|field '{field}'"):
        make_inputs(**{field: value})


def test_shape_mismatch() -> None:
    with pytest.raises(DataError, match="differ in shape"):
        make_inputs(min_ticket_usd=[0.0, 0.0])
    with pytest.raises(DataError, match="tickers"):
        make_inputs(tickers=("A", "B"))
    with pytest.raises(DataError, match="1-d"):
        make_inputs(price_usd=np.ones((3, 1)))


def test_spread_oracle() -> None:
    got = spread_cost_usd([[1000.0, 0.0]], [5.0, 5.0], 1.5)
    assert got.tolist() == [[1000.0 * 5.0 / 1e4 * 1.5, 0.0]]


def test_commission_oracle_with_minimum_ticket() -> None:
    # 1 bp of $10k = $1, plus 100 shares * $0.01 = $1 -> $2; the $5 minimum binds
    got = commission_cost_usd([10_000.0, 0.0, 1e6], [100.0] * 3, [1.0] * 3, [0.01] * 3,
                              [5.0] * 3)
    assert got.tolist() == [5.0, 0.0, pytest.approx(100.0 + 100.0)]


def test_borrow_oracle() -> None:
    got = borrow_cost_usd([[-1e6, 1e6, 0.0]], [252.0, 252.0, 252.0], 10.0)
    assert got[0, 0] == pytest.approx(1e6 * 0.0252 * 10 / 252)
    assert got[0, 1] == 0.0 and got[0, 2] == 0.0


def test_breakdown_total_bps_of_nav() -> None:
    z = np.zeros((2, 2))
    total = np.array([[10.0, 20.0], [0.0, 5.0]])
    b = CostBreakdown(z, z, z, z, z, total)
    assert b.total_bps_of(np.array([1e5, 1e4])).tolist() == [3.0, 5.0]
    assert b.trading_usd.tolist() == total.tolist()
