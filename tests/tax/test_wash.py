"""The wash-sale rule, worked by hand, and its invariants over random trade sequences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.tax.wash import Lot, Trade, apply_trades, washed_buys, washing_buys


def d(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


START = [Lot(d("2024-01-02"), 100.0, 5_000.0, d("2024-01-02"))]  # 100 sh at 50


def test_a_buy_30_days_after_a_loss_sale_washes_it() -> None:
    # sell 100 at 40 on 1 Mar (loss 1,000), buy 100 at 42 on 31 Mar (30 days after)
    book = apply_trades(START, [Trade(d("2024-03-01"), -100, 40.0),
                                Trade(d("2024-03-31"), 100, 42.0)])
    sale = book.sales[0]
    assert sale.gain_usd == pytest.approx(-1_000.0)
    assert sale.disallowed_usd == pytest.approx(1_000.0) and sale.allowed_usd == 0.0
    lot = book.lots[0]
    assert lot.basis_usd == pytest.approx(4_200.0 + 1_000.0)
    # holding period carried over: 31 Mar minus the 59 days the sold shares were held
    assert lot.acquired == d("2024-03-31") - np.timedelta64(59, "D") == d("2024-02-01")


def test_a_buy_31_days_after_does_not_wash() -> None:
    book = apply_trades(START, [Trade(d("2024-03-01"), -100, 40.0),
                                Trade(d("2024-04-01"), 100, 42.0)])
    assert book.sales[0].allowed_usd == pytest.approx(-1_000.0)
    assert book.lots[0].basis_usd == pytest.approx(4_200.0)
    assert book.lots[0].acquired == d("2024-04-01")


def test_a_buy_30_days_before_still_held_washes_it() -> None:
    # lots: 2 Jan at 50 and 31 Jan at 45; FIFO sells the 2 Jan lot at 40 on 1 Mar
    # (30 days after 31 Jan): loss 1,000 washed by the 31 Jan lot
    trades = [Trade(d("2024-01-31"), 100, 45.0), Trade(d("2024-03-01"), -100, 40.0)]
    book = apply_trades(START, trades)
    assert book.sales[0].disallowed_usd == pytest.approx(1_000.0)
    assert book.lots[0].basis_usd == pytest.approx(4_500.0 + 1_000.0)
    assert book.lots[0].acquired == d("2024-01-31") - np.timedelta64(59, "D")
    # 31 days before: not washed
    early = apply_trades(START, [Trade(d("2024-01-30"), 100, 45.0),
                                 Trade(d("2024-03-01"), -100, 40.0)])
    assert early.sales[0].disallowed_usd == 0.0


def test_a_partial_wash_disallows_the_replaced_fraction() -> None:
    # 100 sold at a loss of 10 a share, 40 bought back: 400 disallowed, 600 allowed
    book = apply_trades(START, [Trade(d("2024-03-01"), -100, 40.0),
                                Trade(d("2024-03-10"), 40, 41.0)])
    assert book.sales[0].disallowed_usd == pytest.approx(400.0)
    assert book.sales[0].allowed_usd == pytest.approx(-600.0)
    assert book.lots[0].basis_usd == pytest.approx(40 * 41.0 + 400.0)


def test_a_gain_is_never_washed() -> None:
    book = apply_trades(START, [Trade(d("2024-03-01"), -100, 60.0),
                                Trade(d("2024-03-02"), 100, 61.0)])
    assert book.sales[0].disallowed_usd == 0.0 and book.sales[0].gain_usd == 1_000.0


def test_each_bought_share_replaces_one_sold_share_once() -> None:
    # two loss sales of 50 sh each, one buy of 50: only the first sale is washed
    book = apply_trades(START, [Trade(d("2024-03-01"), -50, 40.0),
                                Trade(d("2024-03-05"), -50, 40.0),
                                Trade(d("2024-03-10"), 50, 41.0)])
    assert [s.disallowed_usd for s in book.sales] == pytest.approx([500.0, 0.0])


def test_planner_checks() -> None:
    # a loss sale of asset 1 on 1 Mar: a buy on 31 Mar washes it, one on 1 Apr does not
    assert washed_buys([d("2024-03-01")], [1], 3, d("2024-03-31")).tolist() == [
        False, True, False]
    assert not washed_buys([d("2024-03-01")], [1], 3, d("2024-04-01")).any()
    # lots of asset 0 bought 10 and 40 days ago: only the recent one replaces
    held = washing_buys([0, 0], np.array([d("2024-02-20"), d("2024-01-21")]),
                        np.array([30.0, 70.0]), np.array([30.0, 70.0]), 2, d("2024-03-01"))
    assert held.tolist() == [30.0, 0.0]


_trade = st.tuples(st.integers(0, 4), st.integers(-60, 60), st.floats(10, 100))


@settings(max_examples=200, deadline=None)
@given(st.lists(_trade, min_size=1, max_size=25))
def test_random_sequences_conserve_basis_and_wash_every_replaced_loss(
        raw: list[tuple[int, int, float]]) -> None:
    day = d("2024-01-02")
    held = 100.0
    trades = []
    for gap, shares, price in raw:
        day = day + np.timedelta64(gap * 8, "D")
        q = float(max(shares, -held))  # long only: never sell more than held
        if q == 0:
            continue
        held += q
        trades.append(Trade(day, q, round(price, 2)))
    book = apply_trades(START, trades)
    bought = 5_000.0 + sum(t.shares * t.price_usd for t in trades if t.shares > 0)
    relieved = sum(s.basis_usd for s in book.sales)
    open_basis = sum(lot.basis_usd for lot in book.lots)
    disallowed = sum(s.disallowed_usd for s in book.sales)
    # basis conserved: every dollar paid, plus every disallowed loss, is relieved or open
    assert relieved + open_basis == pytest.approx(bought + disallowed, rel=1e-9, abs=1e-6)
    assert sum(lot.shares for lot in book.lots) == pytest.approx(held, abs=1e-9)
    for sale in book.sales:
        assert 0.0 <= sale.disallowed_usd <= max(-sale.gain_usd, 0.0) + 1e-9
        if sale.allowed_usd < -1e-9:  # a loss allowed: no later buy in the window is unused
            for n, t in enumerate(trades):
                if t.shares > 0 and np.timedelta64(0, "D") < t.day - sale.day <= \
                        np.timedelta64(30, "D"):
                    assert book.replacements[n] == pytest.approx(t.shares)


def test_the_rest_of_the_lot_sold_from_is_no_replacement() -> None:
    # 40 of the 100 shares bought on 2 January sold at a loss 18 days later: the other
    # 60, bought with them, do not wash the loss
    book = apply_trades(START, [Trade(d("2024-01-20"), -40, 40.0)])
    assert book.sales[0].allowed_usd == pytest.approx(-400.0)
    assert book.lots[0].basis_usd == pytest.approx(3_000.0)
