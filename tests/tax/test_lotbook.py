"""The backtest's lot book: realized results and the wash-sale rule, worked by hand and
checked against :func:`driftwise.tax.wash.apply_trades` (an independent implementation)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.backtest.lotbook import LotBook
from driftwise.tax import TaxRates
from driftwise.tax.wash import Lot, Trade, apply_trades

RATES = TaxRates()


def d(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


def px(price: float) -> np.ndarray:
    return np.array([price])


def test_gain_short_and_long_by_holding_period() -> None:
    book = LotBook(RATES)
    book.open(0, 100, 5_000.0, d("2023-01-03"))
    book.open(0, 100, 6_000.0, d("2023-06-01"))
    # on the anniversary (3 Jan 2024) lot 0 is still short-term; the day after it is
    # long-term, lot 1 short-term
    assert book.long_term(d("2024-01-03")).tolist() == [False, False]
    gain = book.sell(np.array([100.0, 50.0]), px(70.0), d("2024-01-04"))
    assert gain.tolist() == pytest.approx([2_000.0, 500.0])
    assert book.realized_long_usd == pytest.approx(2_000.0)
    assert book.realized_short_usd == pytest.approx(500.0)
    assert book.basis_usd.tolist() == pytest.approx([0.0, 3_000.0])


def test_a_buy_after_a_loss_sale_washes_it_like_apply_trades() -> None:
    # 100 sh at 50 bought 2 Jan; sold at 40 on 1 Mar (loss 1,000); 100 bought at 42 on
    # 31 Mar: the loss is disallowed, the new lot's basis 4,200 + 1,000, its holding
    # period 59 days earlier (2 Jan -> 1 Mar)
    book = LotBook(RATES)
    book.open(0, 100, 5_000.0, d("2024-01-02"))
    book.sell(np.array([100.0]), px(40.0), d("2024-03-01"))
    assert book.realized_short_usd == pytest.approx(-1_000.0)
    book.buy(0, 100, 42.0, d("2024-03-31"))
    book.compact()
    assert book.realized_short_usd == pytest.approx(0.0)
    assert book.disallowed_usd == pytest.approx(1_000.0)
    assert book.basis_usd.tolist() == pytest.approx([5_200.0])
    assert book.acquired.tolist() == [d("2024-02-01")]
    ref = apply_trades([Lot(d("2024-01-02"), 100.0, 5_000.0, d("2024-01-02"))],
                       [Trade(d("2024-03-01"), -100, 40.0), Trade(d("2024-03-31"), 100, 42.0)])
    assert ref.lots[0].basis_usd == pytest.approx(book.basis_usd[0])
    assert ref.lots[0].acquired == book.acquired[0]


def test_a_buy_31_days_after_does_not_wash() -> None:
    book = LotBook(RATES)
    book.open(0, 100, 5_000.0, d("2024-01-02"))
    book.sell(np.array([100.0]), px(40.0), d("2024-03-01"))
    book.expire(d("2024-04-01"))
    book.buy(0, 100, 42.0, d("2024-04-01"))
    assert book.realized_short_usd == pytest.approx(-1_000.0)
    assert book.disallowed_usd == 0.0


def test_a_partial_wash_before_the_sale() -> None:
    # lot 0: 100 at 50 (2 Jan); lot 1: 40 at 45 bought 31 Jan (30 days before 1 Mar).
    # Selling lot 0 at 40 on 1 Mar loses 10 a share: 40 shares washed by lot 1 (400
    # disallowed, lot 1's basis 1,800 + 400), 60 shares' loss (600) recognized, and those
    # 60 stay pending: a buy of 10 on 5 Mar washes 100 more
    book = LotBook(RATES)
    book.open(0, 100, 5_000.0, d("2024-01-02"))
    book.open(0, 40, 1_800.0, d("2024-01-31"))
    gain = book.sell(np.array([100.0, 0.0]), px(40.0), d("2024-03-01"))
    assert gain.tolist() == pytest.approx([-600.0, 0.0])
    assert book.realized_short_usd == pytest.approx(-600.0)
    assert book.disallowed_usd == pytest.approx(400.0)
    assert book.basis_usd[1] == pytest.approx(2_200.0)
    assert book.acquired[1] == d("2024-01-31") - np.timedelta64(59, "D")
    book.buy(0, 10, 41.0, d("2024-03-05"))
    assert book.realized_short_usd == pytest.approx(-500.0)
    assert book.disallowed_usd == pytest.approx(500.0)
    ref = apply_trades([Lot(d("2024-01-02"), 100.0, 5_000.0, d("2024-01-02"))],
                       [Trade(d("2024-01-31"), 40, 45.0), Trade(d("2024-03-01"), -100, 40.0),
                        Trade(d("2024-03-05"), 10, 41.0)])
    assert sum(s.disallowed_usd for s in ref.sales) == pytest.approx(book.disallowed_usd)
    assert sum(s.allowed_usd for s in ref.sales) == pytest.approx(book.realized_short_usd)


def test_a_lot_never_washes_its_own_loss() -> None:
    book = LotBook(RATES)
    book.open(0, 100, 5_000.0, d("2024-02-20"))
    book.sell(np.array([50.0]), px(40.0), d("2024-03-01"))
    assert book.disallowed_usd == 0.0
    assert book.realized_short_usd == pytest.approx(-500.0)


_amount = st.integers(1, 60)
_price = st.floats(20.0, 80.0).map(lambda x: round(x, 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), _amount, _price), min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(0, 20), _amount, _price), min_size=0, max_size=5))
def test_sales_then_buys_agree_with_apply_trades(
        sales: list[tuple[int, int, float]], buys: list[tuple[int, int, float]]) -> None:
    """Loss and gain sales of a 200-share position, then purchases: the recognized result,
    the disallowed loss and the basis held equal those of the independent reference
    (FIFO relief)."""
    start, bought = d("2024-01-02"), d("2023-01-03")  # no purchase in the sales' window
    day, trades, held = start, [], 200.0
    for gap, shares, price in sales:
        day = day + np.timedelta64(gap, "D")
        n = min(float(shares), held)
        if n > 0:
            held -= n
            trades.append(Trade(day, -n, price))
    for gap, shares, price in buys:
        day = day + np.timedelta64(gap, "D")
        trades.append(Trade(day, float(shares), price))
    book = LotBook(RATES)
    book.open(0, 100, 5_000.0, bought)
    book.open(0, 100, 4_000.0, bought + np.timedelta64(1, "D"))
    for t in trades:
        book.expire(t.day)
        if t.shares > 0:
            book.buy(0, t.shares, t.price_usd, t.day)
            continue
        book.sell(_fifo(book, -t.shares), px(t.price_usd), t.day)
    second = bought + np.timedelta64(1, "D")
    ref = apply_trades([Lot(bought, 100.0, 5_000.0, bought),
                        Lot(second, 100.0, 4_000.0, second)], trades)
    realized = book.realized_short_usd + book.realized_long_usd
    assert sum(s.disallowed_usd for s in ref.sales) == pytest.approx(book.disallowed_usd,
                                                                      abs=1e-6)
    assert sum(s.allowed_usd for s in ref.sales) == pytest.approx(realized, abs=1e-6)
    book.compact()
    # the lot book splits a partly washed purchase into its replacement shares (loss
    # and holding period added) and the rest; the reference adjusts the whole lot: the
    # same shares and total basis
    assert sum(x.basis_usd for x in ref.lots) == pytest.approx(book.basis_usd.sum(), abs=1e-6)
    assert sum(x.shares for x in ref.lots) == pytest.approx(book.shares.sum(), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-60, 60), _price), min_size=1,
                max_size=14))
def test_random_trades_conserve_basis(raw: list[tuple[int, int, float]]) -> None:
    """Any sequence: basis in (start, purchases, washed losses) = basis held + relieved;
    recognized = the gains before the rule + the losses disallowed; nothing negative."""
    start = d("2024-01-02")
    book = LotBook(RATES)
    book.open(0, 100, 5_000.0, start)
    day, basis_in, proceeds, relieved = start, 5_000.0, 0.0, 0.0
    for gap, shares, price in raw:
        day = day + np.timedelta64(gap, "D")
        book.compact()
        book.expire(day)
        if shares > 0:
            book.buy(0, float(shares), price, day)
            basis_in += shares * price
            continue
        n = min(float(-shares), float(book.shares.sum()))
        if n <= 0:
            continue
        taken = _fifo(book, n)
        relieved += float((taken * book.basis_usd / book.shares).sum())
        book.sell(taken, px(price), day)
        proceeds += n * price
    book.compact()
    assert basis_in + book.disallowed_usd == pytest.approx(book.basis_usd.sum() + relieved,
                                                           rel=1e-9, abs=1e-6)
    realized = book.realized_short_usd + book.realized_long_usd
    # recognized = the gains before the rule + the losses disallowed
    assert realized == pytest.approx(proceeds - relieved + book.disallowed_usd, abs=1e-6)
    assert (book.shares >= 0).all() and (book.basis_usd >= -1e-9).all()


def _fifo(book: LotBook, shares: float) -> np.ndarray:
    """Shares taken from each lot, oldest holding period first (ties: purchase day)."""
    order = np.lexsort((book.bought, book.acquired))
    taken = np.zeros(book.n_lots)
    left = shares
    for j in order:
        take = min(left, float(book.shares[j]))
        taken[j] = take
        left -= take
    return taken
