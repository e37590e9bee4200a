"""Loss harvesting: which lots to sell at a loss, and what a harvest is worth.

A lot is a candidate when its unrealized loss is at least ``threshold`` of its basis
(default 10%) and at least ``min_loss_usd`` (default USD 1,000). Selling it realizes the
loss now, at the lot's rate ``r_now`` (short- or long-term); the replacement bought with
the proceeds has a basis lower by the loss, so the tax comes back later, on the sale of
the replacement, at the long-term rate ``r_lt`` after ``T`` years. The harvest is
therefore worth ``loss × r_now − loss × r_lt / (1 + ρ)^T`` (ρ the yearly discount rate),
not ``loss × r_now``; it splits into

* the **rate arbitrage** ``loss × (r_now − r_lt)``: a short-term loss saves at the
  ordinary rate a tax paid back at the long-term rate (0 for a long-term lot), and
* the **deferral** ``loss × r_lt × (1 − (1 + ρ)^−T)``: the present value of paying the
  tax on the lower basis ``T`` years later instead of now.

The replacement is the configured pair of the ticker (an ETF of the same sector, not
substantially identical), or cash until the wash-sale window ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driftwise._types import BoolArray, FloatArray
from driftwise.tax.lots import DayArray, TaxRates, day_of, is_long_term

HARVEST_THRESHOLD = 0.10
"""Default smallest loss harvested, fraction of the lot's basis."""
HARVEST_MIN_LOSS_USD = 1_000.0
"""Default smallest loss harvested, USD."""


@dataclass(frozen=True)
class HarvestValues:
    """The harvest of each lot (L,), USD except the masks.

    Attributes
    ----------
    loss_usd : ndarray
        Unrealized loss, ``basis − shares × price`` (positive for a loss, 0 otherwise).
    eligible : ndarray of bool
        At or beyond both thresholds.
    long_term : ndarray of bool
    tax_saved_now_usd : ndarray
        ``loss × r_now``.
    arbitrage_usd, deferral_usd : ndarray
        The two parts of the value (module docstring).
    """

    loss_usd: FloatArray
    eligible: BoolArray
    long_term: BoolArray
    tax_saved_now_usd: FloatArray
    arbitrage_usd: FloatArray
    deferral_usd: FloatArray

    @property
    def value_usd(self) -> FloatArray:
        """``arbitrage + deferral``: what the harvest is worth today."""
        out: FloatArray = self.arbitrage_usd + self.deferral_usd
        return out


def harvest_values(shares: FloatArray, basis_usd: FloatArray, acquired: DayArray,
                   price_usd: FloatArray, day: np.datetime64, rates: TaxRates, *,
                   threshold: float = HARVEST_THRESHOLD,
                   min_loss_usd: float = HARVEST_MIN_LOSS_USD,
                   discount_rate_annual: float = 0.05,
                   years_to_sale: float = 10.0) -> HarvestValues:
    """The harvest values of lots on ``day``.

    Parameters
    ----------
    shares, basis_usd : ndarray, shape (L,)
        Lot shares (> 0) and whole-lot basis, USD.
    acquired : ndarray of datetime64[D], shape (L,)
    price_usd : ndarray, shape (L,)
        Each lot's price today.
    day : datetime64
    rates : TaxRates
    threshold, min_loss_usd : float
        A lot is eligible when ``loss >= threshold × basis`` and ``loss >= min_loss_usd``.
    discount_rate_annual : float
        ρ.
    years_to_sale : float
        T, years until the replacement is sold.
    """
    loss = np.maximum(np.asarray(basis_usd, dtype=np.float64)
                      - np.asarray(shares, dtype=np.float64) * np.asarray(price_usd), 0.0)
    long_term = is_long_term(acquired, day_of(day), rates)
    r_now = np.where(long_term, rates.long_term_total, rates.short_term_total)
    r_lt = rates.long_term_total
    eligible = (loss > 0.0) & (loss >= threshold * np.asarray(basis_usd)) & (
        loss >= min_loss_usd)
    later = (1.0 + discount_rate_annual) ** -years_to_sale
    return HarvestValues(loss_usd=loss, eligible=np.asarray(eligible, dtype=bool),
                         long_term=long_term, tax_saved_now_usd=loss * r_now,
                         arbitrage_usd=loss * (r_now - r_lt),
                         deferral_usd=loss * r_lt * (1.0 - later))


def replacement_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("AAA:BBB", ...)`` as ``{"AAA": "BBB", ...}`` (tickers upper-cased)."""
    out = {}
    for pair in pairs:
        ticker, _, other = pair.partition(":")
        out[ticker.strip().upper()] = other.strip().upper()
    return out
