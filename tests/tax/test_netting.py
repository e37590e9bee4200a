"""A tax year's netting, the USD 3,000 limit and the carry-forward, worked by hand.

Each expected value is written out from the rules (IRS Schedule D) in the comment above
it, not taken from the code; the hypothesis properties check conservation and order.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.tax import TaxRates
from driftwise.tax.netting import YearNetting, net_year, ordinary_rate, year_tax_usd

RATES = TaxRates(short_term=0.37, long_term=0.20, niit=0.038)


def test_both_gains_taxed_at_their_own_rates() -> None:
    # ST +10,000 and LT +5,000: nothing to offset
    # tax = 10,000 x 0.408 + 5,000 x 0.238 = 4,080 + 1,190 = 5,270
    n = net_year(10_000.0, 5_000.0)
    assert n == YearNetting(10_000.0, 5_000.0, 0.0, 0.0, 0.0)
    assert year_tax_usd(n, RATES) == pytest.approx(5_270.0)


def test_short_loss_offsets_long_gain() -> None:
    # ST -4,000 against LT +10,000: LT 6,000 left, taxed at 0.238 = 1,428
    n = net_year(-4_000.0, 10_000.0)
    assert n == YearNetting(0.0, 6_000.0, 0.0, 0.0, 0.0)
    assert year_tax_usd(n, RATES) == pytest.approx(1_428.0)


def test_long_loss_offsets_short_gain() -> None:
    # LT -3,000 against ST +8,000: ST 5,000 left at 0.408 = 2,040
    n = net_year(8_000.0, -3_000.0)
    assert n == YearNetting(5_000.0, 0.0, 0.0, 0.0, 0.0)
    assert year_tax_usd(n, RATES) == pytest.approx(2_040.0)


def test_net_loss_three_thousand_then_carry_keeping_character() -> None:
    # ST -10,000, LT +2,000: the LT gain absorbs 2,000 of the ST loss -> ST loss 8,000;
    # 3,000 offsets ordinary income, ST 5,000 carries forward, nothing long-term
    n = net_year(-10_000.0, 2_000.0)
    assert n == YearNetting(0.0, 0.0, 3_000.0, 5_000.0, 0.0)
    # the offset saves at the ordinary rate 0.37 (no NIIT on ordinary income): -1,110
    assert ordinary_rate(RATES) == pytest.approx(0.37)
    assert year_tax_usd(n, RATES) == pytest.approx(-1_110.0)


def test_both_losses_short_used_first_for_the_limit() -> None:
    # ST -1,000, LT -6,000: the 3,000 takes the ST 1,000 first, then 2,000 of LT;
    # LT 4,000 carries forward as long-term
    assert net_year(-1_000.0, -6_000.0) == YearNetting(0.0, 0.0, 3_000.0, 0.0, 4_000.0)


def test_long_loss_larger_than_short_gain_stays_long() -> None:
    # ST +2,000, LT -7,000: net LT loss 5,000 -> 3,000 offset, LT 2,000 carried
    assert net_year(2_000.0, -7_000.0) == YearNetting(0.0, 0.0, 3_000.0, 0.0, 2_000.0)


def test_small_net_loss_fully_deducted() -> None:
    # ST -1,200, LT 0: all 1,200 offsets ordinary income, nothing carried
    assert net_year(-1_200.0, 0.0) == YearNetting(0.0, 0.0, 1_200.0, 0.0, 0.0)


def test_carry_forward_joins_its_own_character_next_year() -> None:
    # year 1: ST -20,000 -> offset 3,000, ST carry 17,000
    y1 = net_year(-20_000.0, 0.0)
    assert (y1.ordinary_offset_usd, y1.carry_short_usd) == (3_000.0, 17_000.0)
    # year 2: ST +5,000, LT +30,000 with the ST carry 17,000: ST -12,000 against
    # LT 30,000 -> LT 18,000 taxable
    y2 = net_year(5_000.0, 30_000.0, carry_short_usd=y1.carry_short_usd,
                  carry_long_usd=y1.carry_long_usd)
    assert y2 == YearNetting(0.0, 18_000.0, 0.0, 0.0, 0.0)
    # a long carry of 9,000 against ST +4,000, LT +1,000: LT -8,000 against ST 4,000 ->
    # LT loss 4,000: 3,000 offset, LT 1,000 carried
    y3 = net_year(4_000.0, 1_000.0, carry_long_usd=9_000.0)
    assert y3 == YearNetting(0.0, 0.0, 3_000.0, 0.0, 1_000.0)


def test_limit_is_a_parameter_and_negative_inputs_refused() -> None:
    # married filing separately: USD 1,500
    assert net_year(-5_000.0, 0.0, ordinary_limit_usd=1_500.0) == YearNetting(
        0.0, 0.0, 1_500.0, 3_500.0, 0.0)
    with pytest.raises(ValueError, match="carried"):
        net_year(0.0, 0.0, carry_short_usd=-1.0)


amounts = st.floats(-1e7, 1e7, allow_nan=False).map(lambda x: round(x, 2))
carries = st.floats(0.0, 1e7, allow_nan=False).map(lambda x: round(x, 2))


@given(amounts, amounts, carries, carries)
def test_netting_conserves_the_net_result(s: float, lt: float, cs: float, cl: float) -> None:
    # taxable gains - offset - carries = the year's net result with the carries in
    n = net_year(s, lt, carry_short_usd=cs, carry_long_usd=cl)
    total = s + lt - cs - cl
    got = (n.taxable_short_usd + n.taxable_long_usd - n.ordinary_offset_usd
           - n.carry_short_usd - n.carry_long_usd)
    assert got == pytest.approx(total, abs=1e-6 * (1 + abs(s) + abs(lt) + cs + cl))
    assert min(n.taxable_short_usd, n.taxable_long_usd, n.ordinary_offset_usd,
               n.carry_short_usd, n.carry_long_usd) >= 0.0
    assert n.ordinary_offset_usd <= 3_000.0
    # a gain and a carry never coexist; a carry only once the limit is used up
    if n.carry_short_usd + n.carry_long_usd > 0:
        assert n.taxable_short_usd == n.taxable_long_usd == 0.0
        assert n.ordinary_offset_usd == pytest.approx(3_000.0)


@given(amounts, amounts, st.floats(0.0, 1e5))
def test_more_loss_never_raises_the_tax(s: float, lt: float, extra: float) -> None:
    base = year_tax_usd(net_year(s, lt), RATES)
    assert year_tax_usd(net_year(s - extra, lt), RATES) <= base + 1e-6
    assert year_tax_usd(net_year(s, lt - extra), RATES) <= base + 1e-6
