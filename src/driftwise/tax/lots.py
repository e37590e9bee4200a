"""Tax lots: holding period, rates, relief order and the tax of a sale.

A sale relieves lots in an order set by the relief method; each relieved piece realizes
``proceeds − basis`` and is taxed at the short-term rate unless the lot is long-term on
the sale date: sold *after* the anniversary of ``acquired`` (the day after it, or later).
The rates add the state rate and the net investment income tax to the federal ones. A
loss gives a negative tax (a saving, before netting and wash-sale rules).

The functions over arrays (:func:`relief_order`, :func:`relieve`, :func:`lot_tax`) serve
the planner one asset at a time and are free of pandas, so an engine can call them;
:func:`relieve_lots` is the pandas edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.errors import ConfigError

DayArray = npt.NDArray[np.datetime64]
"""Dates as ``datetime64[D]``."""


def day_of(value: object) -> np.datetime64:
    """``value`` (a date, a timestamp or a datetime64) as a ``datetime64[D]`` day."""
    return np.datetime64(np.asarray(value, dtype="datetime64[D]").item(), "D")


class Relief(StrEnum):
    """Which lots a sale relieves first."""

    FIFO = "fifo"
    HIFO = "hifo"
    MIN_TAX = "min_tax"
    SPECIFIC = "specific"


@dataclass(frozen=True)
class TaxRates:
    """Tax rates as fractions of the gain, and the holding period.

    Attributes
    ----------
    short_term, long_term : float
        Federal rates on short-term (ordinary) and long-term gains.
    long_term_after_days : int or None
        None (the default): a lot is long-term when sold after the anniversary of its
        acquisition. A number: when held more than this many calendar days.
    state : float
        State rate, added to both.
    niit : float
        Net investment income tax (3.8% in the US), added to both.
    """

    short_term: float = 0.37
    long_term: float = 0.20
    long_term_after_days: int | None = None
    state: float = 0.0
    niit: float = 0.0

    @property
    def short_term_total(self) -> float:
        """All-in rate on a short-term gain."""
        return self.short_term + self.state + self.niit

    @property
    def long_term_total(self) -> float:
        """All-in rate on a long-term gain."""
        return self.long_term + self.state + self.niit


def long_term_from(acquired: DayArray, rates: TaxRates) -> DayArray:
    """The first day on which each lot sells long-term, ``datetime64[D]`` (L,).

    The day after the anniversary (a lot bought on 29 February has its anniversary on
    28 February), or ``long_term_after_days + 1`` days after ``acquired``.
    """
    days = np.asarray(acquired, dtype="datetime64[D]")
    if rates.long_term_after_days is None:
        days, extra = anniversary(days), 1
    else:
        extra = int(rates.long_term_after_days) + 1
    out: DayArray = np.asarray(days + np.timedelta64(extra, "D"), dtype="datetime64[D]")
    return out


def anniversary(days: DayArray) -> DayArray:
    """The same month and day one year later, ``datetime64[D]`` (L,); 29 February gives
    28 February (the last day of the month, as a calendar year later)."""
    days = np.asarray(days, dtype="datetime64[D]")
    month = days.astype("datetime64[M]")
    day_index = (days - month.astype("datetime64[D]")).astype(np.int64)
    later = month + np.timedelta64(12, "M")
    length = ((later + np.timedelta64(1, "M")).astype("datetime64[D]")
              - later.astype("datetime64[D]")).astype(np.int64)
    out: DayArray = later.astype("datetime64[D]") + np.minimum(day_index, length - 1
                                                               ).astype("timedelta64[D]")
    return out


def is_long_term(acquired: DayArray, sold: np.datetime64, rates: TaxRates) -> BoolArray:
    """Whether each lot sold on ``sold`` is long-term, shape (L,)."""
    out: BoolArray = np.asarray(long_term_from(acquired, rates) <= day_of(sold), dtype=np.bool_)
    return out


def lot_rates(long_term: BoolArray, rates: TaxRates) -> FloatArray:
    """All-in tax rate of each lot's gain, shape (L,)."""
    return np.where(long_term, rates.long_term_total, rates.short_term_total)


def relief_order(shares: FloatArray, basis_usd: FloatArray, acquired: DayArray,
                 price_usd: float, sold: np.datetime64, method: Relief, rates: TaxRates, *,
                 lot_ids: Sequence[str] = (), specific: Sequence[str] = ()) -> IntArray:
    """The order in which a sale relieves one asset's long lots, indices into (L,).

    Parameters
    ----------
    shares, basis_usd : ndarray, shape (L,)
        Lot shares (> 0) and whole-lot cost basis in USD.
    acquired : ndarray of datetime64[D], shape (L,)
    price_usd : float
        Sale price.
    sold : datetime64
        Sale date (the holding period is judged on it).
    method : Relief
        FIFO: oldest first. HIFO: highest basis per share first. MIN_TAX: lowest tax per
        share first at the configured rates, so short-term losses, long-term losses,
        long-term gains and short-term gains come in the order that minimizes the tax of
        any number of shares sold. SPECIFIC: the lots named in ``specific`` (by their id
        in ``lot_ids``; every lot of an id, in the given order, when a lot was split) in
        that order, then the others by MIN_TAX.
    lot_ids, specific : sequence of str
        Each lot's id (SPECIFIC only) and the ids to relieve first.

    Notes
    -----
    Ties keep the lots' given order (stable sorts).
    """
    basis_ps = np.asarray(basis_usd, dtype=np.float64) / np.asarray(shares, dtype=np.float64)
    if method is Relief.FIFO:
        return np.argsort(np.asarray(acquired, dtype="datetime64[D]"), kind="stable")
    if method is Relief.HIFO:
        return np.argsort(-basis_ps, kind="stable")
    tax_ps = (price_usd - basis_ps) * lot_rates(is_long_term(acquired, sold, rates), rates)
    by_tax = np.argsort(tax_ps, kind="stable")
    if method is Relief.MIN_TAX:
        return by_tax
    ids = list(lot_ids)
    first = [i for name in specific for i, known in enumerate(ids) if known == name]
    chosen = set(first)
    return np.asarray(first + [int(i) for i in by_tax if int(i) not in chosen], dtype=np.intp)


def relieve(shares: FloatArray, order: IntArray, sold_shares: float) -> FloatArray:
    """Shares taken from each lot when ``sold_shares`` are sold in ``order``, shape (L,).

    At most the lots' total is taken; the rest is ignored.
    """
    lots = np.asarray(shares, dtype=np.float64)
    taken = np.zeros_like(lots)
    left = float(sold_shares)
    for i in order:
        if left <= 0.0:
            break
        take = min(left, float(lots[i]))
        taken[i] = take
        left -= take
    return taken


def lot_tax(taken_shares: FloatArray, shares: FloatArray, basis_usd: FloatArray,
            price_usd: float | FloatArray, long_term: BoolArray, rates: TaxRates
            ) -> tuple[FloatArray, FloatArray]:
    """Realized gain and its tax of each relieved piece, USD, each shape (L,).

    ``gain = taken × price − taken × basis per share``, ``tax = gain × rate(lot)``;
    ``price_usd`` is one price or one per lot (L,).
    """
    taken = np.asarray(taken_shares, dtype=np.float64)
    basis_ps = np.asarray(basis_usd, dtype=np.float64) / np.asarray(shares, dtype=np.float64)
    gain = taken * price_usd - taken * basis_ps
    return gain, gain * lot_rates(long_term, rates)


@dataclass(frozen=True)
class LotSale:
    """One lot (or part of one) relieved by a sale."""

    acquired: pd.Timestamp
    shares: float
    basis_usd: float
    proceeds_usd: float
    long_term: bool
    tax_usd: float
    lot_id: str = ""

    @property
    def gain_usd(self) -> float:
        """Realized gain (negative = loss)."""
        return self.proceeds_usd - self.basis_usd


def lot_ids(lots: pd.DataFrame) -> list[str]:
    """Each lot's id: its ``lot_id`` when given, else ``TICKER:YYYY-MM-DD`` with ``#2``,
    ``#3`` ... for further lots of the same ticker and day (in file order)."""
    given = (list(lots["lot_id"]) if "lot_id" in lots.columns else [None] * len(lots))
    seen: dict[str, int] = {}
    out = []
    for ticker, day, known in zip(
            lots["ticker"] if "ticker" in lots.columns else [""] * len(lots),
            pd.to_datetime(lots["acquired"]), given, strict=True):
        if isinstance(known, str) and known:
            out.append(known)
            continue
        base = f"{ticker}:{day.date()}" if ticker else str(day.date())
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return out


def relieve_lots(lots: pd.DataFrame, shares: float, price_usd: float, as_of: pd.Timestamp,
                 method: Relief, rates: TaxRates, *,
                 specific: Sequence[str] = ()) -> list[LotSale]:
    """Relieve ``shares`` from ``lots`` (one ticker's long lots) at ``price_usd``.

    Parameters
    ----------
    lots : pd.DataFrame
        Columns ``shares`` (> 0), ``acquired``, ``cost_basis_usd`` (whole lot); optional
        ``ticker`` and ``lot_id`` (:func:`lot_ids`).
    shares : float
        Shares sold (> 0); at most the lots' total (the rest is ignored).
    method : Relief
        See :func:`relief_order`.
    specific : sequence of str
        Lot ids relieved first under ``Relief.SPECIFIC``.

    Raises
    ------
    ConfigError
        SPECIFIC with an id that names none of ``lots``.
    """
    frame = lots[lots["shares"] > 0].reset_index(drop=True)
    ids = lot_ids(frame)
    if method is Relief.SPECIFIC:
        known = set(lot_ids(lots))
        unknown = [name for name in specific if name not in known]
        if unknown:
            raise ConfigError(f"tax.specific_lots: lot {unknown[0]!r} is not held; lot ids "
                              "are the lot_id given, else TICKER:YYYY-MM-DD (held: "
                              f"{', '.join(sorted(known))})")
    acquired = pd.to_datetime(frame["acquired"]).to_numpy().astype("datetime64[D]")
    n_shares = frame["shares"].to_numpy(dtype=np.float64)
    basis = frame["cost_basis_usd"].to_numpy(dtype=np.float64)
    day = day_of(pd.Timestamp(as_of).date())
    order = relief_order(n_shares, basis, acquired, price_usd, day, method, rates,
                         lot_ids=ids, specific=specific)
    taken = relieve(n_shares, order, shares)
    long_term = is_long_term(acquired, day, rates)
    _, tax = lot_tax(taken, n_shares, basis, price_usd, long_term, rates)
    return [LotSale(pd.Timestamp(acquired[i]), float(taken[i]),
                    float(taken[i] * basis[i] / n_shares[i]), float(taken[i] * price_usd),
                    bool(long_term[i]), float(tax[i]), ids[i])
            for i in order if taken[i] > 0.0]
