"""The tax lots of one portfolio through a backtest, with the wash-sale rule.

A :class:`LotBook` holds one portfolio's long lots as parallel arrays (asset, shares,
whole-lot basis, start of the holding period, purchase day, shares already used as a
wash-sale replacement, the lot's id: the lot file's id for a starting lot, which specific
relief names, a tag for a harvest's replacement, else empty; both parts of a split lot keep
it). Sales relieve given shares of given lots and realize their gain,
short- or long-term on the sale day (:func:`driftwise.tax.lots.is_long_term`); purchases
open lots. The wash-sale rule (IRC §1091, :mod:`driftwise.tax.wash`) is applied as the
trades come, share for share, in both directions:

* a loss sale of an asset of which another lot was bought within the window before the
  sale washes against that lot's unused shares;
* a loss sale not (fully) washed so is kept pending for the window; a purchase of the
  asset within it washes the pending shares.

A washed share's loss is not recognized: it leaves the year's realized result and is
added to the replacement's basis, whose holding period starts earlier by the holding
period of the share sold. A partly washed lot is split into its washed and unwashed parts.

A loss washed by a purchase in the next calendar year leaves the year of the purchase (the
one still open), not the year of the sale, which was netted already.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.tax.lots import DayArray, TaxRates, is_long_term

_EPS = 1e-9


@dataclass
class _Pending:
    """A loss sale whose shares a purchase within the window may still wash."""

    day: np.datetime64
    asset: int
    shares: float
    loss_per_share_usd: float
    held_days: int
    long_term: bool


@dataclass
class LotBook:
    """One portfolio's long lots (L,) and its realized results (mutable).

    Attributes
    ----------
    asset : ndarray of int
    shares, basis_usd : ndarray
        Shares (> 0 while open) and whole-lot basis, USD.
    acquired, bought : ndarray of datetime64[D]
        Start of the holding period and the purchase day.
    replaced : ndarray
        Shares of the lot already used as the replacement of a washed loss.
    lot_id : ndarray of str (object)
        Each lot's id ("" when it has none).
    realized_short_usd, realized_long_usd : float
        Recognized gain this tax year by character (after the wash-sale rule), USD.
    disallowed_usd : float
        Losses washed over the run, USD.
    """

    rates: TaxRates
    window_days: int = 30
    asset: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    shares: FloatArray = field(default_factory=lambda: np.zeros(0))
    basis_usd: FloatArray = field(default_factory=lambda: np.zeros(0))
    acquired: DayArray = field(default_factory=lambda: np.zeros(0, "datetime64[D]"))
    bought: DayArray = field(default_factory=lambda: np.zeros(0, "datetime64[D]"))
    replaced: FloatArray = field(default_factory=lambda: np.zeros(0))
    lot_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    realized_short_usd: float = 0.0
    realized_long_usd: float = 0.0
    disallowed_usd: float = 0.0
    pending: list[_Pending] = field(default_factory=list)

    @property
    def n_lots(self) -> int:
        """L."""
        return int(self.shares.shape[0])

    def open(self, asset: int, shares: float, basis_usd: float, acquired: np.datetime64,
             bought: np.datetime64 | None = None, replaced: float = 0.0,
             lot_id: str = "") -> int:
        """Append a lot; its index."""
        self.asset = np.append(self.asset, np.intp(asset))
        self.shares = np.append(self.shares, float(shares))
        self.basis_usd = np.append(self.basis_usd, float(basis_usd))
        self.acquired = np.append(self.acquired, np.asarray(acquired, "datetime64[D]"))
        self.bought = np.append(self.bought, np.asarray(
            acquired if bought is None else bought, "datetime64[D]"))
        self.replaced = np.append(self.replaced, float(replaced))
        self.lot_id = np.append(self.lot_id, np.array([lot_id], dtype=object))
        return self.n_lots - 1

    def held_shares(self, n_assets: int) -> FloatArray:
        """Shares held per asset (N,)."""
        out = np.zeros(n_assets)
        np.add.at(out, self.asset, self.shares)
        return out

    def unrealized_usd(self, prices_usd: FloatArray) -> float:
        """Gain of every open lot at ``prices_usd`` (N,), USD."""
        return float((self.shares * prices_usd[self.asset] - self.basis_usd).sum())

    def long_term(self, day: np.datetime64) -> BoolArray:
        """Whether each lot sells long-term on ``day`` (L,)."""
        return is_long_term(self.acquired, day, self.rates)

    # ------------------------------------------------------------------ trades

    def sell(self, taken: FloatArray, prices_usd: FloatArray, day: np.datetime64
             ) -> FloatArray:
        """Relieve ``taken`` (L,) shares of the lots at ``prices_usd`` (N,) on ``day``.

        Returns the recognized gain of each lot's piece (L,), USD (a washed loss is 0
        for its washed shares). Lots emptied stay until :meth:`compact`.
        """
        taken = np.minimum(np.asarray(taken, dtype=np.float64), self.shares)
        long_term = self.long_term(day)
        basis_ps = np.divide(self.basis_usd, self.shares, out=np.zeros(self.n_lots),
                             where=self.shares > 0)
        gain_ps = prices_usd[self.asset] - basis_ps
        recognized = taken * gain_ps
        sold = np.flatnonzero(taken > _EPS)
        acquired = self.acquired.copy()
        self.basis_usd = self.basis_usd - taken * basis_ps
        self.shares = self.shares - taken
        for j in sold:
            if gain_ps[j] >= 0.0:
                continue
            washed = self._wash_before(int(j), float(taken[j]), float(-gain_ps[j]), day,
                                       int((day - acquired[j]).astype(int)),
                                       bool(long_term[j]))
            recognized[j] += washed * float(-gain_ps[j])
        short = float(recognized[sold][~long_term[sold]].sum())
        self.realized_short_usd += short
        self.realized_long_usd += float(recognized[sold].sum()) - short
        return recognized

    def buy(self, asset: int, shares: float, price_usd: float, day: np.datetime64, *,
            lot_id: str = "") -> None:
        """Open a lot of ``shares`` at ``price_usd`` on ``day`` (its pieces named
        ``lot_id``); washes pending losses of the asset sold within the window before."""
        if shares <= _EPS:
            return
        left = float(shares)
        window = np.timedelta64(self.window_days, "D")
        for p in self.pending:
            if p.asset != asset or p.shares <= _EPS or left <= _EPS or day - p.day > window:
                continue
            n = min(p.shares, left)
            p.shares -= n
            left -= n
            self._disallow(p.loss_per_share_usd * n, p.long_term)
            self.open(asset, n, n * (price_usd + p.loss_per_share_usd),
                      day - np.timedelta64(p.held_days, "D"), bought=day, replaced=n,
                      lot_id=lot_id)
        if left > _EPS:
            self.open(asset, left, left * price_usd, day, lot_id=lot_id)
        self.pending = [p for p in self.pending if p.shares > _EPS]

    def expire(self, day: np.datetime64) -> None:
        """Forget pending losses whose window has passed by ``day``."""
        window = np.timedelta64(self.window_days, "D")
        self.pending = [p for p in self.pending if day - p.day <= window]

    def compact(self) -> None:
        """Drop the emptied lots."""
        keep = self.shares > _EPS
        if keep.all():
            return
        for name in ("asset", "shares", "basis_usd", "acquired", "bought", "replaced",
                     "lot_id"):
            setattr(self, name, getattr(self, name)[keep])

    def recent_buy(self, asset: int, day: np.datetime64, *,
                   besides: BoolArray | None = None) -> bool:
        """A lot of ``asset`` bought within the window before ``day`` is held (the lots
        marked in ``besides`` (L,), those being sold, left out)."""
        window = np.timedelta64(self.window_days, "D")
        kept = self.shares > _EPS
        if besides is not None:
            kept &= ~np.asarray(besides, dtype=bool)
        return bool(np.any((self.asset == asset) & kept & (day - self.bought <= window)))

    # ------------------------------------------------------------------ wash sales

    def _disallow(self, loss_usd: float, long_term: bool) -> None:
        """A washed loss leaves the year's recognized result."""
        self.disallowed_usd += loss_usd
        if long_term:
            self.realized_long_usd += loss_usd
        else:
            self.realized_short_usd += loss_usd

    def _wash_before(self, sold: int, shares: float, loss_ps: float, day: np.datetime64,
                     held_days: int, long_term: bool) -> float:
        """Wash a loss sale of lot ``sold`` against lots of the asset bought within the
        window before ``day``; the rest stays pending. Returns the shares washed (their
        loss is still in the piece's gain: the caller takes it out)."""
        window = np.timedelta64(self.window_days, "D")
        a = int(self.asset[sold])
        left, washed = shares, 0.0
        for j in np.flatnonzero((self.asset == a) & (self.shares > _EPS)
                                & (day - self.bought <= window)):
            if j == sold or left <= _EPS:
                continue
            free = float(self.shares[j] - self.replaced[j])
            n = min(free, left)
            if n <= _EPS:
                continue
            self._split_washed(int(j), n, loss_ps, held_days)
            left -= n
            washed += n
        if washed > 0.0:
            # the loss recognized by the caller is net of the washed shares; book it here
            self.disallowed_usd += washed * loss_ps
        if left > _EPS:
            self.pending.append(_Pending(day, a, left, loss_ps, held_days, long_term))
        return washed

    def _split_washed(self, j: int, n: float, loss_ps: float, held_days: int) -> None:
        """Lot ``j``'s ``n`` shares replace a washed loss: split them off with the loss
        added to their basis and the holding period moved earlier."""
        basis_ps = self.basis_usd[j] / self.shares[j]
        rest = float(self.shares[j]) - n
        if rest > _EPS:
            self.shares[j] = rest
            self.basis_usd[j] = rest * basis_ps
            self.open(int(self.asset[j]), n, n * (basis_ps + loss_ps),
                      self.acquired[j] - np.timedelta64(held_days, "D"),
                      bought=self.bought[j], replaced=n, lot_id=str(self.lot_id[j]))
        else:
            self.basis_usd[j] += n * loss_ps
            self.acquired[j] = self.acquired[j] - np.timedelta64(held_days, "D")
            self.replaced[j] = n
