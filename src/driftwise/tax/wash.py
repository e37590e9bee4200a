"""The wash-sale rule (IRC §1091) over one security's trades, and the planner's checks.

A loss is disallowed when the same security is bought within ``window_days`` (30)
calendar days before or after the loss sale; the disallowed loss is added to the basis
of the replacement lot, whose holding period then starts earlier by the holding period
of the shares sold (so it carries over). Replacement shares are matched share for share:
a replacement smaller than the loss sale washes that fraction of the loss (a partial
wash), and each bought share replaces at most one sold share.

:func:`apply_trades` is the pure reference over a whole sequence (the backtest can call
it per security); :func:`washed_buys` and :func:`washing_buys` are what the planner asks
on one day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from driftwise._types import BoolArray, FloatArray
from driftwise.tax.lots import day_of

WASH_WINDOW_DAYS = 30
"""Calendar days before and after a loss sale in which a purchase washes it."""


@dataclass
class Lot:
    """An open lot of one security (mutable while trades are applied)."""

    acquired: np.datetime64
    shares: float
    basis_usd: float
    bought: np.datetime64
    """The purchase date (the window is judged on it; ``acquired`` may move earlier)."""
    replaced_shares: float = 0.0
    """Shares of this lot already used as the replacement of a washed loss."""
    trade: int = -1
    """Index of the trade that bought it (-1: held before the sequence)."""


@dataclass(frozen=True)
class Trade:
    """A trade of one security: ``shares`` > 0 buys, < 0 sells, at ``price_usd``."""

    day: np.datetime64
    shares: float
    price_usd: float


@dataclass(frozen=True)
class Sale:
    """One relieved piece of a sale: its gain before the rule and the loss disallowed."""

    day: np.datetime64
    shares: float
    proceeds_usd: float
    basis_usd: float
    disallowed_usd: float

    @property
    def gain_usd(self) -> float:
        """Gain before the wash-sale rule (negative = loss)."""
        return self.proceeds_usd - self.basis_usd

    @property
    def allowed_usd(self) -> float:
        """Gain or loss recognized now: the gain, or the loss less its disallowed part."""
        return self.gain_usd + self.disallowed_usd


@dataclass
class _Pending:
    """A loss sale whose remaining shares a later purchase may still wash."""

    day: np.datetime64
    shares: float
    loss_per_share_usd: float
    held_days: np.timedelta64
    sale: int


@dataclass
class Ledger:
    """The result of :func:`apply_trades`."""

    lots: list[Lot] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)
    replacements: list[float] = field(default_factory=list)
    """Per trade: the shares it bought that replaced sold loss shares (0 for a sale)."""


def apply_trades(lots: Sequence[Lot], trades: Sequence[Trade], *,
                 window_days: int = WASH_WINDOW_DAYS) -> Ledger:
    """Apply ``trades`` (in time order) to ``lots`` of one security, with the rule.

    Sales relieve lots first in, first out (oldest ``acquired`` first). A loss piece is
    washed first by purchases of the ``window_days`` before the sale whose shares are
    still held after it (but the rest of the lot a piece comes from: shares bought
    together do not replace each other), then by purchases of the ``window_days`` after
    it, each purchase share once.

    Returns
    -------
    Ledger
        The open lots (bases adjusted, holding periods carried over) and every relieved
        piece with its disallowed loss.
    """
    window = np.timedelta64(int(window_days), "D")
    book = Ledger([Lot(lot.acquired, lot.shares, lot.basis_usd, lot.bought,
                       lot.replaced_shares) for lot in lots])
    if any(b.day < a.day for a, b in pairwise(trades)):
        raise ValueError("apply_trades: trades must be in time order")
    pending: list[_Pending] = []
    sales: list[list[float]] = []  # per sale: [disallowed]
    used = [0.0] * len(trades)
    for n, trade in enumerate(trades):
        day = day_of(trade.day)
        if trade.shares > 0:
            new = Lot(day, float(trade.shares), float(trade.shares * trade.price_usd), day,
                      trade=n)
            book.lots.append(new)
            for loss in pending:
                if day - loss.day <= window and loss.shares > 0:
                    used[n] += _wash(loss, new, sales)
            pending = [p for p in pending if p.shares > 1e-12]
            continue
        for lot_acquired, shares, basis, source in _relieve(book, -float(trade.shares)):
            proceeds = shares * float(trade.price_usd)
            sales.append([0.0])
            book.sales.append(Sale(day, shares, proceeds, basis, 0.0))
            if proceeds >= basis:
                continue
            loss = _Pending(day, shares, (basis - proceeds) / shares, day - lot_acquired,
                            len(book.sales) - 1)
            for lot in sorted(book.lots, key=lambda x: x.bought):
                if lot.bought < day - window or lot.bought > day or loss.shares <= 0 or \
                        id(lot) == source:
                    continue
                replaced = _wash(loss, lot, sales)
                if lot.trade >= 0:
                    used[lot.trade] += replaced
            if loss.shares > 1e-12:
                pending.append(loss)
    book.sales = [Sale(s.day, s.shares, s.proceeds_usd, s.basis_usd, d[0])
                  for s, d in zip(book.sales, sales, strict=True)]
    book.lots = [lot for lot in book.lots if lot.shares > 1e-12]
    book.replacements = used
    return book


def _relieve(book: Ledger, shares: float
             ) -> list[tuple[np.datetime64, float, float, int]]:
    """FIFO relief: (acquired, shares, basis, id of the lot) of each piece."""
    out = []
    left = shares
    for lot in sorted(book.lots, key=lambda x: (x.acquired, x.bought)):
        if left <= 1e-12:
            break
        if lot.shares <= 1e-12:
            continue
        take = min(left, lot.shares)
        basis = lot.basis_usd * take / lot.shares
        out.append((lot.acquired, take, basis, id(lot)))
        lot.basis_usd -= basis
        lot.shares -= take
        lot.replaced_shares = min(lot.replaced_shares, lot.shares)
        left -= take
    book.lots = [lot for lot in book.lots if lot.shares > 1e-12]
    return out


def _wash(loss: _Pending, lot: Lot, sales: list[list[float]]) -> float:
    """Wash as much of ``loss`` as ``lot``'s unused shares replace; the shares used."""
    free = lot.shares - lot.replaced_shares
    used = min(free, loss.shares)
    if used <= 1e-12:
        return 0.0
    disallowed = used * loss.loss_per_share_usd
    lot.basis_usd += disallowed
    lot.acquired = min(lot.acquired, lot.bought - loss.held_days)
    lot.replaced_shares += used
    loss.shares -= used
    sales[loss.sale][0] += disallowed
    return used


def washed_buys(loss_sale_days: Sequence[np.datetime64], loss_sale_assets: Sequence[int],
                n_assets: int, day: np.datetime64, *,
                window_days: int = WASH_WINDOW_DAYS) -> BoolArray:
    """Assets a purchase on ``day`` would wash a known loss sale of, shape (N,).

    Parameters
    ----------
    loss_sale_days, loss_sale_assets : sequence
        Each known sale at a loss (the recent-sales file): its day and asset index.
    """
    out = np.zeros(n_assets, dtype=bool)
    day = day_of(day)
    for sold, asset in zip(loss_sale_days, loss_sale_assets, strict=True):
        gap = day - day_of(sold)
        if np.timedelta64(0, "D") <= gap <= np.timedelta64(window_days, "D"):
            out[asset] = True
    return out


def washing_buys(lot_asset: Sequence[int] | np.ndarray, lot_bought: np.ndarray,
                 lot_shares: FloatArray, kept_shares: FloatArray, n_assets: int,
                 day: np.datetime64, *, window_days: int = WASH_WINDOW_DAYS) -> FloatArray:
    """Shares of each asset bought within ``window_days`` before ``day`` and still held
    after a sale (the replacement shares that would wash a loss sold today), shape (N,).

    ``kept_shares`` (L,) are the lot shares left after the sale's relief.
    """
    bought = np.asarray(lot_bought, dtype="datetime64[D]")
    recent = ((day_of(day) - bought) <= np.timedelta64(window_days, "D"))
    out = np.zeros(n_assets)
    np.add.at(out, np.asarray(lot_asset, dtype=np.intp),
              np.where(recent, np.minimum(kept_shares, lot_shares), 0.0))
    return out
