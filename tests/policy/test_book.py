"""The book and the one way trades enter it: book_trades equals its compiled twin."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.policy._kernels import book_row
from driftwise.policy.book import Book, Trades, book_trades
from driftwise.policy.constraints import Constraints
from driftwise.policy.destination import Destination
from driftwise.policy.sizing import SizingResult, size_trades

from ._costs import linear


def _book(rng: np.random.Generator, n_rows: int, n_assets: int) -> Book:
    shares = np.round(rng.uniform(0.0, 2_000.0, (n_rows, n_assets)), 3)
    book = Book.start(shares, rng.uniform(1e3, 5e4, n_rows), 7.0)
    book.days_since_rebalance = rng.integers(0, 40, n_rows).astype(np.float64)
    book.pending_days = np.where(rng.random(n_rows) < 0.3, 2.0, np.nan)
    return book


def _sized(book: Book, prices: np.ndarray, active: np.ndarray, whole: bool) -> SizingResult:
    n_assets = prices.shape[0]
    target = np.full(n_assets, 0.95 / n_assets)
    weights, nav, _ = book.mark_to_market(prices, target, 0.05)
    return size_trades(weights=weights, cash_weight=book.cash_usd / nav, target=target,
                       target_cash=0.05, nav_usd=nav, prices_usd=prices, active=active,
                       destination=Destination.FULL, cost_fn=linear.model(n_assets, len(nav)),
                       constraints=Constraints(whole_shares=whole))


def _twin(book: Book, rows: np.ndarray, sized: SizingResult, prices: np.ndarray,
          whole: bool) -> list[int]:
    safe = np.where((prices > 0.0) & (prices < np.inf), prices, 1.0)
    booked = []
    for j, c in enumerate(rows):
        if book_row(book.shares, book.cash_usd, book.days_since_rebalance, int(c),
                    np.ascontiguousarray(sized.trade_usd[j]), safe, whole,
                    float(sized.post_cash_usd[j])):
            booked.append(int(c))
    return booked


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(1, 6), n_assets=st.integers(1, 7),
       whole=st.booleans())
def test_book_trades_equals_its_compiled_twin(seed: int, n_rows: int, n_assets: int,
                                              whole: bool) -> None:
    rng = np.random.default_rng(seed)
    book = _book(rng, n_rows + 2, n_assets)
    prices = rng.uniform(5.0, 400.0, n_assets)
    if n_assets > 1 and rng.random() < 0.3:
        prices[0] = 0.0  # an asset without a price is not traded
    rows = rng.permutation(n_rows + 2)[:n_rows]  # some rows of the book, in any order
    active = rng.random(n_rows) < 0.7  # inactive rows have no trade
    sized = _sized(book.take(rows), prices, active, whole)
    python, compiled = book.take(np.arange(n_rows + 2)), book.take(np.arange(n_rows + 2))
    booked = book_trades(python, rows, sized)
    assert booked.tolist() == _twin(compiled, rows, sized, prices, whole)
    for name in ("shares", "cash_usd", "days_since_rebalance", "pending_days"):
        np.testing.assert_array_equal(getattr(python, name), getattr(compiled, name),
                                      err_msg=name)
    untouched = np.setdiff1d(np.arange(n_rows + 2), booked)
    np.testing.assert_array_equal(python.shares[untouched], book.shares[untouched])
    np.testing.assert_array_equal(python.cash_usd[untouched], book.cash_usd[untouched])
    assert (python.days_since_rebalance[booked] == 0.0).all()


def test_book_trades_books_the_sizing_own_cash_and_whole_shares() -> None:
    book = Book.start(np.array([[100.0, 0.0], [10.0, 10.0]]), np.array([5_000.0, 100.0]))
    trades = Trades(trade_usd=np.array([[-1_000.0, 2_000.0], [0.0, 0.0]]),
                    trade_shares=np.array([[-10.0, 40.0], [0.0, 0.0]]),
                    post_cash_usd=np.array([3_990.0, 50.0]))
    booked = book_trades(book, np.array([1, 0]), trades)
    assert booked.tolist() == [1]  # the second row of the trades had nothing to trade
    np.testing.assert_array_equal(book.shares, [[100.0, 0.0], [0.0, 50.0]])
    np.testing.assert_array_equal(book.cash_usd, [5_000.0, 3_990.0])
    np.testing.assert_array_equal(book.days_since_rebalance, [0.0, 0.0])


def test_a_day_ends_and_quiet_days_pass() -> None:
    book = Book.start(np.ones((3, 2)), np.full(3, 10.0), 4.0)
    book.pending_days = np.array([np.nan, 2.0, np.nan])
    book.end_day(np.array([True, True, False]))
    np.testing.assert_array_equal(book.days_since_rebalance, [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(book.pending_days, [1.0, 3.0, np.nan])
    book.pass_quiet_days(3)
    np.testing.assert_array_equal(book.days_since_rebalance, [8.0, 8.0, 8.0])
    np.testing.assert_array_equal(book.pending_days, [4.0, 6.0, np.nan])
    book.end_day(None)
    assert np.isnan(book.pending_days).all()


def test_pay_take_mark_and_repr() -> None:
    book = Book.start(np.array([[2.0, -1.0], [1.0, 1.0]]), np.array([100.0, 50.0]))
    cash = book.cash_usd
    book.pay(np.array([1.5, 0.0]))
    np.testing.assert_array_equal(book.cash_usd, [98.5, 50.0])
    assert cash[0] == 100.0  # paying replaces the cash, never writes the old array
    part = book.take(np.array([1]))
    part.shares[0, 0] = 9.0
    assert book.shares[1, 0] == 1.0 and part.n_rows == 1
    weights, nav, drift = book.mark_to_market(np.array([10.0, 20.0]), np.array([0.5, 0.5]), 0.0)
    np.testing.assert_allclose(nav, [98.5, 80.0])
    np.testing.assert_allclose(weights[1], [10.0 / 80.0, 20.0 / 80.0])
    assert drift.shape == (2,)
    assert repr(book) == ("Book(2 portfolios x 2 assets, cash 50.00..98.50 USD, "
                          "0 delayed rebalance(s) waiting)")
