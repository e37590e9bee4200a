"""A tax year's netting of capital gains and losses, the ordinary-income offset and the
carry-forward of unused losses (US rules, IRS Schedule D).

The year's realized short-term and long-term results are each netted within their
character first (the sum of the year's gains and losses of that character), the loss
carried in from earlier years joining its own character. Then:

* both net gains: the short-term gain is taxed at the short-term rate, the long-term
  gain at the long-term rate;
* one net gain, one net loss: the loss offsets the gain of the other character; what is
  left keeps the character of the larger side (a short-term loss is used against
  long-term gains, a long-term loss against short-term gains);
* a net loss overall: up to ``ordinary_limit_usd`` (USD 3,000) offsets ordinary income,
  taken from the short-term loss first; the rest carries forward to the next year with
  its character kept (short-term stays short-term, long-term stays long-term).

The functions are pure (floats in, a frozen result out) so that the after-tax backtest
and the tests call the same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from driftwise.tax.lots import TaxRates

ORDINARY_LOSS_LIMIT_USD = 3_000.0
"""Most net capital loss deducted from ordinary income in one year, USD."""


@dataclass(frozen=True)
class YearNetting:
    """The outcome of one tax year's netting, USD (every field >= 0).

    Attributes
    ----------
    taxable_short_usd : float
        Net short-term gain taxed at the short-term (ordinary) rate.
    taxable_long_usd : float
        Net long-term gain taxed at the long-term rate.
    ordinary_offset_usd : float
        Net capital loss deducted from ordinary income (at most the limit).
    carry_short_usd, carry_long_usd : float
        Loss carried to the next year, by character.
    """

    taxable_short_usd: float
    taxable_long_usd: float
    ordinary_offset_usd: float
    carry_short_usd: float
    carry_long_usd: float


def net_year(short_usd: float, long_usd: float, *, carry_short_usd: float = 0.0,
             carry_long_usd: float = 0.0,
             ordinary_limit_usd: float = ORDINARY_LOSS_LIMIT_USD) -> YearNetting:
    """Net one year's realized results (module docstring).

    Parameters
    ----------
    short_usd, long_usd : float
        The year's realized net short-term and long-term gain, USD (negative: a net
        loss of that character).
    carry_short_usd, carry_long_usd : float
        Losses carried in from earlier years, USD (>= 0).
    ordinary_limit_usd : float
        Most net loss deducted from ordinary income, USD (>= 0).

    Raises
    ------
    ValueError
        A negative carry or limit.
    """
    if carry_short_usd < 0.0 or carry_long_usd < 0.0 or ordinary_limit_usd < 0.0:
        raise ValueError("net_year: carried losses and the ordinary limit are >= 0")
    st = float(short_usd) - float(carry_short_usd)
    lt = float(long_usd) - float(carry_long_usd)
    if st >= 0.0 and lt >= 0.0:
        return YearNetting(st, lt, 0.0, 0.0, 0.0)
    if st < 0.0 <= lt:  # a short-term loss against long-term gains
        rest = lt + st
        if rest >= 0.0:
            return YearNetting(0.0, rest, 0.0, 0.0, 0.0)
        st, lt = rest, 0.0
    elif lt < 0.0 <= st:  # a long-term loss against short-term gains
        rest = st + lt
        if rest >= 0.0:
            return YearNetting(rest, 0.0, 0.0, 0.0, 0.0)
        st, lt = 0.0, rest
    short_loss, long_loss = -st, -lt  # both >= 0 now, at least one > 0
    from_short = min(short_loss, ordinary_limit_usd)
    from_long = min(long_loss, ordinary_limit_usd - from_short)
    return YearNetting(0.0, 0.0, from_short + from_long, short_loss - from_short,
                       long_loss - from_long)


def ordinary_rate(rates: TaxRates) -> float:
    """Rate at which a deduction from ordinary income saves tax: the short-term (ordinary)
    federal rate plus the state rate (the net investment income tax does not apply)."""
    return rates.short_term + rates.state


def year_tax_usd(netting: YearNetting, rates: TaxRates) -> float:
    """Tax of a netted year, USD: the taxable short-term gain at the short-term rate, the
    long-term gain at the long-term rate, less the ordinary-income offset at
    :func:`ordinary_rate` (negative when the offset is all there is)."""
    return (netting.taxable_short_usd * rates.short_term_total
            + netting.taxable_long_usd * rates.long_term_total
            - netting.ordinary_offset_usd * ordinary_rate(rates))
