"""Lot relief and sale tax, recomputed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.data.holdings import read_holdings, write_holdings
from driftwise.errors import ConfigError, DataError
from driftwise.tax import (
    Relief,
    TaxRates,
    is_long_term,
    long_term_from,
    lot_ids,
    lot_tax,
    relief_order,
    relieve,
    relieve_lots,
)

AS_OF = pd.Timestamp("2024-06-28")
LOTS = pd.DataFrame({
    "acquired": pd.to_datetime(["2020-01-02", "2023-01-03", "2024-03-01"]),
    "shares": [100.0, 50.0, 80.0],
    "cost_basis_usd": [5_000.0, 6_000.0, 9_600.0],   # 50, 120, 120 per share
})
RATES = TaxRates(short_term=0.37, long_term=0.20, long_term_after_days=365)
"""Rates without state tax or NIIT, the holding period in days (as the tests were worked)."""


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


# ------------------------------------------------------------ holding period and rates


def test_long_term_the_day_after_the_anniversary() -> None:
    rates = TaxRates()
    acquired = np.array(["2023-03-15", "2024-02-29"], dtype="datetime64[D]")
    # 2023-03-15: anniversary 2024-03-15 (still short-term), long-term from 2024-03-16;
    # 2024-02-29: anniversary 2025-02-28, long-term from 2025-03-01
    assert list(long_term_from(acquired, rates).astype(str)) == ["2024-03-16", "2025-03-01"]
    assert not is_long_term(acquired[:1], np.datetime64("2024-03-15"), rates)[0]
    assert is_long_term(acquired[:1], np.datetime64("2024-03-16"), rates)[0]
    assert not is_long_term(acquired[1:], np.datetime64("2025-02-28"), rates)[0]
    assert is_long_term(acquired[1:], np.datetime64("2025-03-01"), rates)[0]


def test_a_number_of_days_replaces_the_anniversary() -> None:
    rates = TaxRates(long_term_after_days=100)
    acquired = np.array(["2024-01-01"], dtype="datetime64[D]")
    # held more than 100 days: 2024-04-10 is day 100, 2024-04-11 day 101
    assert not is_long_term(acquired, np.datetime64("2024-04-10"), rates)[0]
    assert is_long_term(acquired, np.datetime64("2024-04-11"), rates)[0]


def test_rates_add_the_state_rate_and_the_niit() -> None:
    rates = TaxRates(short_term=0.37, long_term=0.20, state=0.05, niit=0.038)
    assert rates.short_term_total == pytest.approx(0.458)
    assert rates.long_term_total == pytest.approx(0.288)
    lots = LOTS.iloc[:1]  # 100 sh, basis 50, long-term: gain 100 x 50 = 5000 at 28.8%
    sold = relieve_lots(lots, 100, 100.0, AS_OF, Relief.FIFO, rates)
    assert sold[0].tax_usd == pytest.approx(5000 * 0.288)


# ---------------------------------------------------------------- minimum tax order

FOUR = pd.DataFrame({
    "ticker": "X",
    "acquired": pd.to_datetime(["2024-01-10", "2020-01-10", "2021-01-10", "2024-02-10"]),
    "shares": [10.0, 10.0, 10.0, 10.0],
    # per share at a price of 100: ST gain 10, LT loss 10, LT gain 10, ST loss 10
    "cost_basis_usd": [900.0, 1100.0, 900.0, 1100.0],
})


def test_min_tax_order_st_losses_lt_losses_lt_gains_st_gains() -> None:
    rates = TaxRates(niit=0.038)
    sold = relieve_lots(FOUR, 40, 100.0, AS_OF, Relief.MIN_TAX, rates)
    # tax per share: ST loss -4.08, LT loss -2.38, LT gain +2.38, ST gain +4.08
    assert [s.acquired.year for s in sold] == [2024, 2020, 2021, 2024]
    assert [s.long_term for s in sold] == [False, True, True, False]
    assert [round(s.tax_usd, 6) for s in sold] == [-40.8, -23.8, 23.8, 40.8]
    # 25 shares: the two losses and half of the long-term gain, the least tax of any 25
    some = relieve_lots(FOUR, 25, 100.0, AS_OF, Relief.MIN_TAX, rates)
    assert sum(s.tax_usd for s in some) == pytest.approx(-40.8 - 23.8 + 5 * 2.38)


def test_min_tax_puts_a_small_short_term_gain_before_a_large_long_term_one() -> None:
    # at the configured rates the order is by tax per share: ST gain 1 (0.37) before
    # LT gain 5 (1.00)
    lots = pd.DataFrame({"ticker": "X", "acquired": pd.to_datetime(["2020-01-02",
                                                                    "2024-03-01"]),
                         "shares": [10.0, 10.0], "cost_basis_usd": [950.0, 990.0]})
    sold = relieve_lots(lots, 10, 100.0, AS_OF, Relief.MIN_TAX, TaxRates())
    assert [s.acquired.year for s in sold] == [2024]
    assert sold[0].tax_usd == pytest.approx(10 * 1 * 0.37)


# ----------------------------------------------------------------- specific lots


def test_specific_lots_first_then_minimum_tax() -> None:
    lots = FOUR.copy()
    ids = lot_ids(lots)
    assert ids == ["X:2024-01-10", "X:2020-01-10", "X:2021-01-10", "X:2024-02-10"]
    sold = relieve_lots(lots, 25, 100.0, AS_OF, Relief.SPECIFIC, TaxRates(),
                        specific=["X:2021-01-10", "X:2024-01-10"])
    assert [s.lot_id for s in sold] == ["X:2021-01-10", "X:2024-01-10", "X:2024-02-10"]
    assert [s.shares for s in sold] == [10.0, 10.0, 5.0]


def test_same_day_lots_get_numbered_ids_and_an_unknown_id_is_refused() -> None:
    lots = pd.DataFrame({"ticker": "X", "acquired": pd.to_datetime(["2020-01-02"] * 2),
                         "shares": [1.0, 2.0], "cost_basis_usd": [1.0, 2.0]})
    assert lot_ids(lots) == ["X:2020-01-02", "X:2020-01-02#2"]
    with pytest.raises(ConfigError, match="lot 'X:2019-01-01' is not held"):
        relieve_lots(lots, 1, 1.0, AS_OF, Relief.SPECIFIC, TaxRates(),
                     specific=["X:2019-01-01"])


def test_a_partial_lot_relieves_its_basis_pro_rata() -> None:
    sold = relieve_lots(LOTS, 25, 100.0, AS_OF, Relief.FIFO, RATES)
    assert sold[0].basis_usd == pytest.approx(25 * 50.0)
    assert sold[0].gain_usd == pytest.approx(25 * 50.0)


_lot = st.tuples(st.floats(0.5, 500), st.floats(0, 300), st.integers(0, 3000))


@given(st.lists(_lot, min_size=1, max_size=8), st.floats(0.1, 3000), st.floats(0.5, 400),
       st.sampled_from([Relief.FIFO, Relief.HIFO, Relief.MIN_TAX]))
def test_relief_conserves_shares_and_basis(lots: list[tuple[float, float, int]],
                                           shares: float, price: float,
                                           method: Relief) -> None:
    frame = pd.DataFrame({
        "ticker": "X", "shares": [s for s, _, _ in lots],
        "cost_basis_usd": [s * b for s, b, _ in lots],
        "acquired": [AS_OF - pd.Timedelta(days=d) for _, _, d in lots]})
    n = frame["shares"].to_numpy()
    acquired = frame["acquired"].to_numpy().astype("datetime64[D]")
    basis = frame["cost_basis_usd"].to_numpy()
    order = relief_order(n, basis, acquired, price, np.datetime64(AS_OF.date()), method, RATES)
    taken = relieve(n, order, shares)
    assert sorted(order.tolist()) == list(range(len(n)))
    assert taken.sum() == pytest.approx(min(shares, n.sum()))
    assert np.all(taken >= 0) and np.all(taken <= n)
    gain, tax = lot_tax(taken, n, basis, price, is_long_term(acquired, np.datetime64(
        AS_OF.date()), RATES), RATES)
    relieved_basis = (taken * basis / n).sum()
    assert gain.sum() == pytest.approx(taken.sum() * price - relieved_basis, abs=1e-6)
    # only the lots at the end of the order are left partly unsold
    partial = np.flatnonzero((taken > 0) & (taken < n))
    assert len(partial) <= 1
    if method is Relief.MIN_TAX and len(partial) == 0 and 0 < taken.sum() < n.sum():
        per_share = tax / np.where(taken > 0, taken, 1.0)
        assert per_share[taken > 0].max() <= (
            (price - basis / n) * np.where(is_long_term(acquired, np.datetime64(
                AS_OF.date()), RATES), 0.20, 0.37))[taken == 0].min() + 1e-9


def test_lot_ids_from_the_file_are_read_kept_and_checked(tmp_path: Path) -> None:
    text = ("ticker,shares,acquired,cost_basis_usd,lot_id\n"
            "AAA,10,2020-01-02,100,B-17\n"
            "AAA,5,2021-01-04,80,\n"
            "CASH,100,,,\n")
    path = tmp_path / "h.csv"
    path.write_text(text, encoding="utf-8")
    holdings = read_holdings(path, as_of="2024-06-28")
    assert holdings.lots is not None
    # a lot without an id gets TICKER:YYYY-MM-DD
    assert lot_ids(holdings.lots) == ["B-17", "AAA:2021-01-04"]
    sold = relieve_lots(holdings.lots, 3, 50.0, AS_OF, Relief.SPECIFIC, TaxRates(),
                        specific=["B-17"])
    assert [s.lot_id for s in sold] == ["B-17"]
    write_holdings(holdings, tmp_path / "out.csv")
    again = read_holdings(tmp_path / "out.csv", as_of="2024-06-28")
    assert again.lots is not None and lot_ids(again.lots) == ["B-17", "AAA:2021-01-04"]
    path.write_text(text.replace("2021-01-04,80,", "2021-01-04,80,B-17"), encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_holdings(path, as_of="2024-06-28")
    assert info.value.row == 3 and info.value.field == "lot_id"
    assert "first on row 2" in str(info.value)


def test_anniversary_matches_the_calendar_year_later() -> None:
    from driftwise.tax.lots import anniversary

    days = pd.date_range("1999-01-01", "2025-12-31", freq="D")[::7].append(
        pd.DatetimeIndex(["2000-02-29", "2024-02-29", "2023-12-31", "2024-01-31"]))
    expected = (days + pd.DateOffset(years=1)).to_numpy().astype("datetime64[D]")
    got = anniversary(days.to_numpy().astype("datetime64[D]"))
    np.testing.assert_array_equal(got, expected)
    assert str(anniversary(np.array(["2024-02-29"], dtype="datetime64[D]"))[0]) == "2025-02-28"


@given(st.lists(st.integers(0, 3), min_size=1, max_size=8), st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_specific_relief_takes_every_piece_of_a_named_lot_first(ids: list[int],
                                                                named: int) -> None:
    # lots split by a wash sale share their id: all pieces of the named lot come first,
    # in their given order, then the rest by minimum tax
    n = len(ids)
    names = [f"L{i}" for i in ids]
    shares = np.full(n, 10.0)
    basis = np.linspace(50.0, 150.0, n) * 10.0
    acquired = np.full(n, np.datetime64("2023-01-02", "D"))
    order = relief_order(shares, basis, acquired, 100.0, np.datetime64("2024-06-03", "D"),
                         Relief.SPECIFIC, TaxRates(), lot_ids=names, specific=[f"L{named}"])
    pieces = [j for j in range(n) if names[j] == f"L{named}"]
    assert order[:len(pieces)].tolist() == pieces
    rest = relief_order(shares, basis, acquired, 100.0, np.datetime64("2024-06-03", "D"),
                        Relief.MIN_TAX, TaxRates())
    assert order[len(pieces):].tolist() == [j for j in rest.tolist() if j not in pieces]
