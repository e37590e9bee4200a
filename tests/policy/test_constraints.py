"""Tests of driftwise.policy.constraints: validation, masks and each constraint by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.policy.constraints import (
    SHARE_SNAP,
    Constraints,
    cap_turnover,
    drop_small_trades,
    fit_cash,
    round_to_whole_shares,
)

from ._costs import linear, sqrt_like

# ---------------------------------------------------------------- Constraints value


def test_defaults() -> None:
    c = Constraints()
    assert c.long_only and not c.whole_shares
    assert c.cash_buffer == 0.0 and c.min_trade_usd == 0.0 and c.min_trade_shares == 0.0
    assert math.isinf(c.max_turnover)
    assert c.do_not_buy == frozenset() and c.do_not_sell == frozenset()


def test_lists_are_normalized_to_upper_case_sets() -> None:
    c = Constraints(do_not_buy=[" aapl", "MSFT"], do_not_sell=("xom",))  # type: ignore[arg-type]
    assert c.do_not_buy == frozenset({"AAPL", "MSFT"})
    assert c.do_not_sell == frozenset({"XOM"})


@pytest.mark.parametrize("value", [-0.01, 1.0, 1.5, math.nan, "0.1", True])
def test_bad_cash_buffer(value: object) -> None:
    with pytest.raises(ConfigError, match="cash_buffer"):
        Constraints(cash_buffer=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_bad_min_trade_usd(value: float) -> None:
    with pytest.raises(ConfigError, match="min_trade_usd"):
        Constraints(min_trade_usd=value)


@pytest.mark.parametrize("value", [-1.0, math.nan])
def test_bad_min_trade_shares(value: float) -> None:
    with pytest.raises(ConfigError, match="min_trade_shares"):
        Constraints(min_trade_shares=value)


@pytest.mark.parametrize("value", [0.0, -0.1, math.nan, -math.inf])
def test_bad_max_turnover(value: float) -> None:
    with pytest.raises(ConfigError, match="max_turnover"):
        Constraints(max_turnover=value)


def test_bad_flag_type() -> None:
    with pytest.raises(ConfigError, match="long_only"):
        Constraints(long_only=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="whole_shares"):
        Constraints(whole_shares="yes")  # type: ignore[arg-type]


def test_list_given_as_a_string_is_refused() -> None:
    with pytest.raises(ConfigError, match="do_not_buy"):
        Constraints(do_not_buy="AAPL")  # type: ignore[arg-type]


def test_list_with_a_non_string_is_refused() -> None:
    with pytest.raises(ConfigError, match="do_not_sell"):
        Constraints(do_not_sell=frozenset({"AAPL", 3}))  # type: ignore[arg-type]


def test_masks_align_to_the_universe_and_ignore_unknown_tickers() -> None:
    c = Constraints(do_not_buy=frozenset({"B", "ZZZ"}), do_not_sell=frozenset({"A", "B"}))
    no_buy, no_sell = c.masks(pd.Index(["A", "B", "c"]))
    assert no_buy.tolist() == [False, True, False]
    assert no_sell.tolist() == [True, True, False]
    assert no_buy.dtype == bool


# ---------------------------------------------------------------- minimum trade


def test_drop_small_trades_by_hand() -> None:
    prices = np.array([10.0, 100.0, 5.0, 1000.0, 1000.0])
    trades = np.array([[50.0, -150.0, 0.0, 1000.0, 2500.0]])
    # thresholds max(100, 2 * price) = [100, 200, 100, 2000, 2000]:
    # 50 < 100 drop; |-150| < 200 (1.5 shares) drop; 0 stays 0 (not "dropped");
    # 1000 < 2000 (1 share) drop; 2500 (2.5 shares) stays
    out, dropped = drop_small_trades(trades, prices, min_trade_usd=100.0, min_trade_shares=2.0)
    assert out.tolist() == [[0.0, 0.0, 0.0, 0.0, 2500.0]]
    assert dropped is not None
    assert dropped.tolist() == [[True, True, False, True, False]]


def test_drop_small_trades_inactive_when_no_minimum() -> None:
    trades = np.array([[1e-9, -3.0]])
    out, dropped = drop_small_trades(trades, np.ones(2), min_trade_usd=0.0, min_trade_shares=0.0)
    assert out is trades and dropped is None


def test_trade_exactly_at_the_minimum_is_kept() -> None:
    out, dropped = drop_small_trades(np.array([[100.0, -100.0]]), np.array([50.0, 50.0]),
                                     min_trade_usd=100.0, min_trade_shares=2.0)
    assert out.tolist() == [[100.0, -100.0]] and dropped is None


# ---------------------------------------------------------------- turnover


def test_cap_turnover_by_hand() -> None:
    trades = np.array([[100.0, -300.0, 200.0], [10.0, -10.0, 0.0]])
    nav = np.array([1000.0, 1000.0])
    # row 0: 0.5 * 600 / 1000 = 0.30 > 0.15 -> factor 0.5; row 1: 0.01, unchanged
    out, scaled = cap_turnover(trades, nav, 0.15)
    assert out.tolist() == [[50.0, -150.0, 100.0], [10.0, -10.0, 0.0]]
    assert scaled is not None and scaled.tolist() == [True, False]


def test_no_turnover_cap() -> None:
    trades = np.array([[1e9, -1e9]])
    out, scaled = cap_turnover(trades, np.array([1.0]), math.inf)
    assert out is trades and scaled is None


# ---------------------------------------------------------------- whole shares


def test_round_to_whole_shares_by_hand() -> None:
    prices = np.array([100.0, 100.0, 100.0, 1000.0, 7.0])
    trades = np.array([[1050.0, -1050.0, 999.9999999999, -2999.99999999999, 0.0]])
    # 10.5 -> 10; -10.5 -> -10 (toward zero); 9.999999999999 snaps to 10;
    # -2.99999999999999 snaps to -3; 0 stays 0
    usd, shares, changed = round_to_whole_shares(trades, prices)
    assert shares.tolist() == [[10.0, -10.0, 10.0, -3.0, 0.0]]
    assert usd.tolist() == [[1000.0, -1000.0, 1000.0, -3000.0, 0.0]]
    assert changed.tolist() == [[True, True, False, False, False]]


@given(st.lists(st.floats(-1e7, 1e7, allow_nan=False), min_size=1, max_size=8),
       st.floats(0.5, 2000.0))
def test_whole_shares_never_exceed_the_fraction(trades: list[float], price: float) -> None:
    x = np.array([trades])
    p = np.full(len(trades), price)
    _, shares, _ = round_to_whole_shares(x, p)
    assert np.all(shares == np.rint(shares))
    raw = x / p
    assert np.all(np.abs(shares) <= np.abs(raw) + 1e-9 * np.maximum(1.0, np.abs(raw)))
    assert np.all(shares * raw >= 0.0)


# ---------------------------------------------------------------- cash


def _cash_after(fit_trade: np.ndarray, fit_cost: np.ndarray, cash: float) -> float:
    return float(cash - fit_trade.sum() - fit_cost.sum())


def test_fit_cash_by_hand_no_buffer() -> None:
    # cash 0, NAV 1000, sell 100 of asset 0, buy 200 and 100 of assets 1, 2, cost 10 bps.
    # A = 0 + 100 - 0.1 = 99.9; s = 99.9 / (300 * 1.001) = 0.33266733...
    x = np.array([[-100.0, 200.0, 100.0]])
    fit = fit_cash(x, cash_usd=np.array([0.0]), nav_usd=np.array([1000.0]), cash_floor=0.0,
                   cost_fn=linear.model(3), prices_usd=np.ones(3))
    s = 99.9 / 300.3
    np.testing.assert_allclose(fit.trade_usd, [[-100.0, 200.0 * s, 100.0 * s]], rtol=1e-12)
    cash = _cash_after(fit.trade_usd, fit.cost_usd, 0.0)
    assert 0.0 <= cash < 1e-9
    assert fit.scaled.tolist() == [True] and fit.short.tolist() == [False]


def test_fit_cash_by_hand_with_buffer() -> None:
    # floor 5% of the post-trade NAV: A = 100 - 0.05 * 1000 - 0.95 * 0.1 = 49.905;
    # s = A / (300 * (1 + 0.95 * 0.001))
    x = np.array([[-100.0, 200.0, 100.0]])
    fit = fit_cash(x, cash_usd=np.array([0.0]), nav_usd=np.array([1000.0]), cash_floor=0.05,
                   cost_fn=linear.model(3), prices_usd=np.ones(3))
    s = 49.905 / (300.0 * (1.0 + 0.95 * 0.001))
    np.testing.assert_allclose(fit.trade_usd[0, 1:], [200.0 * s, 100.0 * s], rtol=1e-12)
    cash = _cash_after(fit.trade_usd, fit.cost_usd, 0.0)
    post_nav = 1000.0 - fit.cost_usd.sum()
    assert cash >= 0.05 * post_nav
    assert cash == pytest.approx(0.05 * post_nav, abs=1e-9)


def test_fit_cash_leaves_a_funded_row_alone() -> None:
    x = np.array([[-100.0, 50.0]])
    fit = fit_cash(x, cash_usd=np.array([0.0]), nav_usd=np.array([1000.0]), cash_floor=0.0,
                   cost_fn=linear.model(2), prices_usd=np.ones(2))
    assert fit.trade_usd is x
    assert not fit.scaled.any() and not fit.short.any()


def test_fit_cash_unreachable_buffer_drops_buys_and_flags() -> None:
    # cash 10 of NAV 1000, buffer 5% = 50: the sell of 20 cannot reach it -> no buys
    x = np.array([[-20.0, 100.0]])
    fit = fit_cash(x, cash_usd=np.array([10.0]), nav_usd=np.array([1000.0]), cash_floor=0.05,
                   cost_fn=linear.model(2), prices_usd=np.ones(2))
    assert fit.trade_usd.tolist() == [[-20.0, 0.0]]
    assert fit.short.tolist() == [True]


def test_fit_cash_whole_shares_and_minimum_after_scaling() -> None:
    # cash 0: buys must fit in the 1000 of sale proceeds net of cost, in whole shares;
    # the small buy (asset 2) falls below the 150 USD minimum once scaled and is dropped
    x = np.array([[-1000.0, 1500.0, 200.0]])
    prices = np.array([10.0, 7.0, 3.0])
    fit = fit_cash(x, cash_usd=np.array([0.0]), nav_usd=np.array([10000.0]), cash_floor=0.0,
                   cost_fn=linear.model(3), prices_usd=prices, whole_shares=True,
                   min_trade_usd=150.0)
    shares = fit.trade_usd / prices
    assert np.all(shares == np.rint(shares))
    assert fit.trade_usd[0, 2] == 0.0
    assert _cash_after(fit.trade_usd, fit.cost_usd, 0.0) >= 0.0


@given(st.integers(0, 2**32 - 1), st.sampled_from([linear, sqrt_like]),
       st.floats(0.0, 0.2))
def test_fit_cash_meets_the_floor_exactly(seed: int, cost, floor: float) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    c, n = 4, 6
    x = rng.normal(0.0, 1e5, (c, n))
    cash = rng.uniform(0.0, 2e5, c)
    nav = np.full(c, 1e6)
    fit = fit_cash(x, cash_usd=cash, nav_usd=nav, cash_floor=floor, cost_fn=cost.model(n),
                   prices_usd=np.ones(n))
    k = fit.cost_usd
    after = cash - fit.trade_usd.sum(axis=1) - k.sum(axis=1)
    ok = ~fit.short
    # the check's own sums meet the floor; a sum in numpy's order agrees to rounding
    assert fit.cash_after_usd is not None
    np.testing.assert_allclose(fit.cash_after_usd, after, rtol=0, atol=1e-6)
    assert np.all(after[ok] >= floor * (nav - k.sum(axis=1))[ok] - 1e-6)
    if floor == 0.0:
        assert np.all(fit.cash_after_usd[ok] >= 0.0)
    # sells untouched, buys only shrink
    assert np.array_equal(np.minimum(fit.trade_usd, 0.0), np.minimum(x, 0.0))
    assert np.all(fit.trade_usd <= np.maximum(x, 0.0))
    # short rows have no buys left
    assert np.all(fit.trade_usd[fit.short] <= 0.0)


@given(st.lists(st.floats(-1e5, 1e5, allow_nan=False), min_size=1, max_size=8),
       st.floats(0.5, 900.0), st.floats(0.0, 500.0), st.floats(0.0, 3.0))
def test_compiled_rounding_and_minimums_equal_the_numpy_formulas(
        values: list[float], price: float, min_usd: float, min_shares: float) -> None:
    """Oracle: the formulas of the docstrings, in numpy, element by element."""
    x = np.array([values, [-v for v in values]])
    prices = np.full(len(values), price) * np.linspace(1.0, 2.0, len(values))
    usd, shares, changed = round_to_whole_shares(x, prices)
    raw = x / prices
    near = np.rint(raw)
    snap = np.abs(raw - near) <= SHARE_SNAP * np.maximum(1.0, np.abs(near))
    want = np.where(snap, near, np.trunc(raw))
    np.testing.assert_array_equal(shares, want)
    np.testing.assert_array_equal(usd, want * prices)
    np.testing.assert_array_equal(changed, ~snap)
    out, dropped = drop_small_trades(x, prices, min_trade_usd=min_usd,
                                     min_trade_shares=min_shares)
    a = np.abs(x)
    small = (a < np.maximum(min_usd, min_shares * prices)) & (a > 0.0)
    np.testing.assert_array_equal(out, np.where(small, 0.0, x))
    if small.any():
        assert dropped is not None
        np.testing.assert_array_equal(dropped, small)
    else:
        assert dropped is None and out is x
