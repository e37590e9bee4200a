"""The book: what C portfolios hold between two closes, and the one way trades enter it.

A :class:`Book` is the state the day step moves: shares ``(C, N)``, cash ``(C,)``, the
trading days since each row last rebalanced and the days a delayed rebalance has waited.
Each day, in this order (the backtest's day, the planner's with ``C = 1``):

1. the shorts held overnight pay their borrow from cash (:meth:`Book.pay`);
2. the book is marked to market at the close (:meth:`Book.mark_to_market`);
3. the rule decides and sizes (:func:`driftwise.policy.rule.step`, not here);
4. the sized trades are booked with their costs (:func:`book_trades`: shares plus the
   trades, cash set to the sizing's own post-trade cash, the rows that traded restart
   their count of days since rebalancing);
5. the day ends (:meth:`Book.end_day`: one more day since rebalancing, the delayed
   rebalance's wait moved on by :func:`next_pending`).

:func:`book_trades` has a compiled twin, :func:`driftwise.policy._kernels.book_row`,
which the compiled day loop of :mod:`driftwise.backtest.compiled` calls; a test holds the
two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.metrics.drift import mark_to_market
from driftwise.policy.context import BookMarks


class Sized(Protocol):
    """Trades of some rows and the cash they leave: a
    :class:`~driftwise.policy.sizing.SizingResult`, or :class:`Trades` from a trade list."""

    @property
    def trade_usd(self) -> FloatArray:
        """Signed trades (R, N), USD (positive = buy)."""

    @property
    def trade_shares(self) -> FloatArray:
        """Signed trades (R, N), shares."""

    @property
    def post_cash_usd(self) -> FloatArray:
        """Cash after the trades and their costs (R,), USD."""


@dataclass(frozen=True)
class Trades:
    """Trades of R rows given outright (a plan's trade list), in the form :func:`book_trades`
    books: signed ``trade_usd`` and ``trade_shares`` (R, N), and ``post_cash_usd`` (R,),
    the cash once the trades and their costs are paid."""

    trade_usd: FloatArray
    trade_shares: FloatArray
    post_cash_usd: FloatArray


@dataclass
class Book:
    """Holdings of C portfolios between two closes.

    Attributes
    ----------
    shares : ndarray, shape (C, N)
        Signed shares held.
    cash_usd : ndarray, shape (C,)
    days_since_rebalance : ndarray, shape (C,)
        Trading days since each row last traded, counted up to the day being decided
        (0 on the day it trades, 1 the next day; NaN: unknown).
    pending_days : ndarray, shape (C,)
        Trading days a delayed rebalance has waited (NaN: none pending).

    Notes
    -----
    Tax lots, when the backtest carries them, belong here beside ``shares``: per row, the
    open lots of each asset (acquisition day, shares, unit cost), summing to ``shares``.
    :func:`book_trades` is where a fill meets them: a sale relieves lots in the relief
    order and realizes gains, a buy (or a short sale) opens a lot at the day's close.
    """

    shares: FloatArray
    cash_usd: FloatArray
    days_since_rebalance: FloatArray
    pending_days: FloatArray

    @classmethod
    def start(cls, shares: FloatArray, cash_usd: FloatArray,
              days_since_rebalance: float = 0.0) -> Book:
        """A book of ``shares`` (C, N) and ``cash_usd`` (C,) (copied), ``days_since_rebalance``
        in every row, nothing pending."""
        n_rows = shares.shape[0]
        return cls(np.array(shares, dtype=np.float64), np.array(cash_usd, dtype=np.float64),
                   np.full(n_rows, days_since_rebalance), np.full(n_rows, np.nan))

    @property
    def n_rows(self) -> int:
        """C."""
        return int(self.shares.shape[0])

    def mark_to_market(self, prices_usd: FloatArray, target: FloatArray, target_cash: float
                       ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Weights, NAV and portfolio drift at one close (N,) or K closes (K, N).

        :func:`driftwise.metrics.drift.mark_to_market`, one compiled pass: weights
        (C, N) or (K, C, N), NAV and drift (C,) or (K, C).
        """
        return mark_to_market(self.shares, prices_usd, self.cash_usd, target, target_cash)

    def marks(self, prices_usd: FloatArray, target: FloatArray, target_cash: float) -> BookMarks:
        """The book marked to market at one close (N,): what a
        :class:`~driftwise.policy.context.DayContext` reads of it
        (:meth:`DayContext.of <driftwise.policy.context.DayContext.of>`)."""
        weights, nav, drift = self.mark_to_market(prices_usd, target, target_cash)
        return BookMarks(weights=weights, cash_weight=self.cash_usd / nav, nav_usd=nav,
                         days_since_rebalance=self.days_since_rebalance,
                         pending_days=self.pending_days, drift=drift)

    def pay(self, amount_usd: FloatArray) -> None:
        """Take ``amount_usd`` (C,) from cash (the borrow of the shorts held overnight)."""
        self.cash_usd = self.cash_usd - amount_usd

    def end_day(self, delayed: BoolArray | None) -> None:
        """Close the day: one more day since rebalancing in every row, and the wait of a
        rebalance delayed today (``delayed`` (C,); None: no row delayed) moved on
        (:func:`next_pending`)."""
        self.days_since_rebalance = self.days_since_rebalance + 1.0
        self.pending_days = next_pending(self.pending_days, delayed)

    def pass_quiet_days(self, n_days: int) -> None:
        """``n_days`` days without a trade: the count since rebalancing and a waiting
        delay's wait (a waiting delay stays delayed) both move on by ``n_days``."""
        self.days_since_rebalance = self.days_since_rebalance + n_days
        waiting = np.isfinite(self.pending_days)
        self.pending_days = np.where(waiting, self.pending_days + n_days, np.nan)

    def take(self, rows: IntArray) -> Book:
        """A copy of ``rows`` (positions)."""
        return Book(self.shares[rows], self.cash_usd[rows], self.days_since_rebalance[rows],
                    self.pending_days[rows])

    def __repr__(self) -> str:
        cash = self.cash_usd
        waiting = int(np.isfinite(self.pending_days).sum())
        return (f"Book({self.n_rows} portfolios x {self.shares.shape[1]} assets, cash "
                f"{float(cash.min()) if len(cash) else 0.0:,.2f}.."
                f"{float(cash.max()) if len(cash) else 0.0:,.2f} USD, "
                f"{waiting} delayed rebalance(s) waiting)")


def book_trades(book: Book, rows: IntArray, sized: Sized) -> IntArray:
    """Book the trades of ``rows`` with their costs; return the rows that traded.

    Parameters
    ----------
    book : Book
        Changed in place.
    rows : ndarray of int, shape (R,)
        The book's rows that ``sized`` holds, in its order.
    sized : Sized
        Trades (R, N) and post-trade cash (R,) of those rows.

    Returns
    -------
    ndarray of int
        The rows of ``rows`` with at least one non-zero trade: their shares plus
        ``trade_shares``, their cash the sizing's own ``post_cash_usd`` (``cash - sum(trades)
        - sum(costs)`` with the sums its cash check used, so the buffer is met exactly),
        their days since rebalancing 0. The other rows are left as they were.
    """
    traded = (sized.trade_usd != 0.0).any(axis=1)
    booked: IntArray = rows[traded]
    book.shares[booked] += sized.trade_shares[traded]
    book.cash_usd[booked] = sized.post_cash_usd[traded]
    book.days_since_rebalance[booked] = 0.0
    return booked


def next_pending(pending: FloatArray, delayed: BoolArray | None) -> FloatArray:
    """Trading days a delayed rebalance will have waited on the next day (NaN: none).

    A rebalance delayed today has waited 1 day tomorrow, and one more each day it stays
    delayed; a day without a delay (taken, or nothing pending) clears it.
    """
    if delayed is None:
        return np.full(pending.shape, np.nan)
    return np.asarray(np.where(delayed, np.where(np.isnan(pending), 1.0, pending + 1.0),
                               np.nan), dtype=np.float64)
