"""Donation of appreciated lots: give the shares whose sale would cost the most tax.

A gift of a long-term lot at a gain to a charity realizes no gain: the tax avoided is
the tax its sale would cost, ``gain × r_lt``. The donation takes long-term gain lots,
those of overweight assets first (the gift also reduces their drift), each group in
the order of the most appreciated first (the largest gain per USD given), whole shares,
until the amount is reached. What the lots cannot give is left to cash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.tax.lots import DayArray, TaxRates, day_of, is_long_term


@dataclass(frozen=True)
class Donation:
    """Shares given from each lot (L,) and what they are worth.

    Attributes
    ----------
    shares : ndarray, shape (L,)
    value_usd, gain_usd, tax_avoided_usd : ndarray, shape (L,)
    from_cash_usd : float
        The part of the amount the lots could not give.
    """

    shares: FloatArray
    value_usd: FloatArray
    gain_usd: FloatArray
    tax_avoided_usd: FloatArray
    from_cash_usd: float


def donation_order(asset: IntArray, shares: FloatArray, basis_usd: FloatArray,
                   price_usd: FloatArray, long_term: BoolArray,
                   overweight: BoolArray) -> IntArray:
    """The lots a donation gives, in order (indices into L).

    Long-term gain lots only; those of ``overweight`` assets (N,) first, each group by
    the gain per USD of value, largest first.
    """
    value = np.asarray(shares) * np.asarray(price_usd)
    gain_share = (value - np.asarray(basis_usd)) / value
    candidate = np.flatnonzero(np.asarray(long_term) & (gain_share > 0.0))
    first = ~np.asarray(overweight)[np.asarray(asset)[candidate]]
    order = np.lexsort((-gain_share[candidate], first))
    out: IntArray = candidate[order]
    return out


def choose_donation(asset: IntArray, shares: FloatArray, basis_usd: FloatArray,
                    acquired: DayArray, price_usd: FloatArray, overweight: BoolArray,
                    amount_usd: float, day: np.datetime64, rates: TaxRates, *,
                    whole_shares: bool = True) -> Donation:
    """The lots that give ``amount_usd`` on ``day`` (module docstring).

    Parameters
    ----------
    asset : ndarray of int, shape (L,)
    shares, basis_usd : ndarray, shape (L,)
    acquired : ndarray of datetime64[D], shape (L,)
    price_usd : ndarray, shape (L,)
        Each lot's price today.
    overweight : ndarray of bool, shape (N,)
    amount_usd : float
    rates : TaxRates
    whole_shares : bool
        Give whole shares only (the last lot rounded down).
    """
    n_shares = np.asarray(shares, dtype=np.float64)
    prices = np.asarray(price_usd, dtype=np.float64)
    long_term = is_long_term(acquired, day_of(day), rates)
    given = np.zeros_like(n_shares)
    left = float(amount_usd)
    for j in donation_order(asset, n_shares, basis_usd, prices, long_term, overweight):
        if left <= 0.0:
            break
        take = min(n_shares[j], left / prices[j])
        if whole_shares:
            take = float(np.floor(take + 1e-9))
        given[j] = take
        left -= take * prices[j]
    value = given * prices
    gain = value - given * np.asarray(basis_usd) / n_shares
    return Donation(given, value, gain, gain * rates.long_term_total, max(left, 0.0))
