"""Lot relief and the tax of a sale (tax-aware; lot-level holdings).

A sale relieves lots in an order set by the relief method; each relieved piece realizes
``proceeds − basis``, taxed at the short-term rate when held at most
``long_term_after_days`` calendar days, else at the long-term rate. A loss gives a
negative tax (a saving, before wash-sale rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd


class Relief(StrEnum):
    """Which lots a sale relieves first."""

    FIFO = "fifo"
    HIFO = "hifo"
    MIN_TAX = "min_tax"


@dataclass(frozen=True)
class TaxRates:
    """Tax rates as fractions of the gain and the long-term holding period."""

    short_term: float = 0.37
    long_term: float = 0.20
    long_term_after_days: int = 365


@dataclass(frozen=True)
class LotSale:
    """One lot (or part of one) relieved by a sale."""

    acquired: pd.Timestamp
    shares: float
    basis_usd: float
    proceeds_usd: float
    long_term: bool
    tax_usd: float

    @property
    def gain_usd(self) -> float:
        """Realized gain (negative = loss)."""
        return self.proceeds_usd - self.basis_usd


def relieve_lots(lots: pd.DataFrame, shares: float, price_usd: float, as_of: pd.Timestamp,
                 method: Relief, rates: TaxRates) -> list[LotSale]:
    """Relieve ``shares`` from ``lots`` (one ticker's long lots) at ``price_usd``.

    Parameters
    ----------
    lots : pd.DataFrame
        Columns ``shares`` (> 0), ``acquired``, ``cost_basis_usd`` (whole lot).
    shares : float
        Shares sold (> 0); at most the lots' total (the rest is ignored).
    method : Relief
        FIFO (oldest first), HIFO (highest basis per share first), MIN_TAX (lowest tax
        per share first: losses, then long-term gains, then short-term gains).
    """
    frame = lots[lots["shares"] > 0].copy()
    frame["basis_ps"] = frame["cost_basis_usd"] / frame["shares"]
    held_days = (as_of - pd.to_datetime(frame["acquired"])).dt.days
    frame["long_term"] = held_days > rates.long_term_after_days
    rate = frame["long_term"].map({True: rates.long_term, False: rates.short_term})
    frame["tax_ps"] = (price_usd - frame["basis_ps"]) * rate
    key = {Relief.FIFO: ["acquired"], Relief.HIFO: ["basis_ps"], Relief.MIN_TAX: ["tax_ps"]}
    ascending = {Relief.FIFO: True, Relief.HIFO: False, Relief.MIN_TAX: True}
    frame = frame.sort_values(key[method], ascending=ascending[method], kind="stable")
    out: list[LotSale] = []
    left = float(shares)
    for _, lot in frame.iterrows():
        if left <= 0:
            break
        take = min(left, float(lot["shares"]))
        basis = take * float(lot["basis_ps"])
        proceeds = take * price_usd
        long_term = bool(lot["long_term"])
        tax = (proceeds - basis) * (rates.long_term if long_term else rates.short_term)
        out.append(LotSale(pd.Timestamp(lot["acquired"]), take, basis, proceeds, long_term, tax))
        left -= take
    return out
