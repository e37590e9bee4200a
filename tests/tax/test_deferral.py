"""Deferral of short-term gains, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.tax import TaxRates
from driftwise.tax.deferral import (
    days_to_long_term,
    deferral_candidates,
    deferred_lots,
    rate_saving_usd,
    waiting_penalty_usd,
)

RATES = TaxRates(niit=0.038)  # r_st - r_lt = 0.408 - 0.238 = 0.17


def test_days_to_long_term() -> None:
    lt_from = np.array(["2024-07-11", "2024-06-01"], dtype="datetime64[D]")
    assert days_to_long_term(lt_from, np.datetime64("2024-06-28")).tolist() == [13.0, 0.0]


def test_waiting_penalty_and_rate_saving_by_hand() -> None:
    # a benefit of 5,000 over 252 trading days; 73 calendar days = 73 x 252 / 365.25
    # = 50.366 trading days: 5,000 x 50.366 / 252 = 999.32
    assert waiting_penalty_usd(np.array([5_000.0]), np.array([73.0]), 252.0)[0] == \
        pytest.approx(5_000 * 73 / 365.25)
    assert rate_saving_usd(np.array([10_000.0, -50.0]), RATES).tolist() == pytest.approx(
        [1_700.0, 0.0])


def test_deferred_when_waiting_costs_less_than_the_tax_saved() -> None:
    # gain 10,000 (saving 1,700), 73 days: benefit 5,000 -> penalty 999 (defer);
    # benefit 10,000 -> penalty 1,999 (sell); a long-term lot, a loss, a lot turning
    # long-term after the horizon: never deferred
    gain = np.array([10_000.0, 10_000.0, 10_000.0, -10_000.0, 10_000.0])
    long_term = np.array([False, False, True, False, False])
    days = np.array([73.0, 73.0, 0.0, 73.0, 200.0])
    benefit = np.array([5_000.0, 10_000.0, 5_000.0, 5_000.0, 5_000.0])
    out = deferred_lots(gain, long_term, days, benefit, horizon_days=252.0,
                        defer_horizon_days=120.0, rates=RATES)
    assert out.tolist() == [True, False, False, False, False]


def test_deferral_candidates_by_hand() -> None:
    # short-term gain within the horizon; long-term; a loss; too far; turning today
    gain = np.array([100.0, 100.0, -100.0, 100.0, 100.0])
    long_term = np.array([False, True, False, False, False])
    days = np.array([30.0, 30.0, 30.0, 90.0, 0.0])
    assert deferral_candidates(gain, long_term, days, 60.0).tolist() == [
        True, False, False, False, False]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.booleans(), st.integers(0, 400),
                          st.floats(0.0, 1e6)), min_size=1, max_size=12),
       st.integers(0, 365))
def test_a_deferred_lot_is_always_a_candidate(lots: list[tuple[float, bool, int, float]],
                                              horizon: int) -> None:
    """Whatever the benefit, a lot that is no candidate is never deferred (the decision
    after tax skips the benefit of waiting when no lot is a candidate)."""
    gain, long_term, days, benefit = (np.array(c) for c in zip(*lots, strict=True))
    deferred = deferred_lots(gain, long_term, days.astype(float), benefit, horizon_days=21.0,
                             defer_horizon_days=float(horizon), rates=RATES)
    candidates = deferral_candidates(gain, long_term, days.astype(float), float(horizon))
    assert not np.any(deferred & ~candidates)
