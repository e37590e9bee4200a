"""The tax of a sale as the optimized destination weighs it: convex pieces per asset.

Selling ``s`` USD of asset ``i`` relieves its lots in the relief order; lot ``j`` taxes
each USD taken from it at ``rate_j · (1 − basis_j / value_j)`` (for a gain lot
``rate_j`` is the all-in short- or long-term rate of
:class:`~driftwise.tax.lots.TaxRates` on the sale date; a loss lot gives a negative tax,
a saving, at the rate of what the realized loss is worth,
:func:`driftwise.policy.tax_gate.optimizer_terms`). The tax of the sale is piecewise
linear in ``s``, one piece per lot, in the relief order. The solver
(:mod:`driftwise.policy.optimize`) takes each asset's sale from per-piece sales
``0 <= s_ij <= value_ij``, so it is exact when the pieces' rates do not fall along the
order (a convex tax):

* **minimum-tax relief**: the order is by tax per share, the rates rise: exact, and the
  solver's cheapest pieces first *are* the relief;
* **HIFO, FIFO, specific lots**: exact when convex (HIFO within one holding period is:
  the highest basis is the smallest gain); otherwise the order's tax is replaced by its
  **convex envelope** (the greatest convex function below it: adjacent pieces whose rates
  fall are pooled at their value-weighted rate, :func:`convex_envelope`), flagged per
  asset: the solver then counts at most the order's tax, equal at the pooled pieces'
  ends. The sale is relieved in the configured order all the same, and the plan's tax is
  the tax model's (:func:`driftwise.tax.lots.lot_tax`).

Lots left out of the sale by the decision after tax (:mod:`driftwise.policy.tax_gate`:
loss lots a recent purchase would wash, short-term gain lots deferred) are not pieces;
with ``allow_wash_sales`` a washed loss lot is a piece of tax 0 and gain 0 (the loss is
disallowed and moves to the replacement's basis). The realized net gain of each piece
per USD sold, ``1 − basis / value``, is the gain budget's row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driftwise._types import BoolArray, FloatArray, IntArray

RATE_TOL = 1e-12
"""A piece's rate may fall by this much (per USD) below the previous one's and still count
as convex (rounding of equal rates)."""


@dataclass(frozen=True)
class TaxTerms:
    """The pieces of each asset's tax of one portfolio, in the order they are sold.

    Attributes
    ----------
    asset : ndarray of int, shape (S,)
        The asset each piece sells; an asset's pieces are consecutive.
    value_usd : ndarray, shape (S,)
        Market value of each piece (a lot, or lots pooled by the envelope).
    rate : ndarray, shape (S,)
        Tax per USD sold from the piece (non-decreasing within an asset).
    gain : ndarray, shape (S,)
        Realized net gain per USD sold from the piece.
    lots : tuple of ndarray of int
        The lots (indices into the portfolio's L lots) of each piece.
    envelope : ndarray of bool, shape (N,)
        Assets whose tax along the relief order is not convex: the pieces are its convex
        envelope.
    gain_room_usd : float
        The gain budget left this year, USD (inf: none; never below 0).
    held : ndarray of bool, shape (N,)
        Assets whose sale relieves lots (every lot held back or not): the solver sells
        at most their pieces' value (none: not at all).
    """

    asset: IntArray
    value_usd: FloatArray
    rate: FloatArray
    gain: FloatArray
    lots: tuple[IntArray, ...]
    envelope: BoolArray
    gain_room_usd: float = float("inf")
    held: BoolArray | None = None

    @property
    def loss_assets(self) -> BoolArray:
        """Assets with a piece whose sale lowers the tax (a loss worth something), (N,)."""
        out = np.zeros(len(self.envelope), dtype=bool)
        out[self.asset[self.rate < 0.0]] = True
        return out

    @property
    def limited(self) -> BoolArray:
        """Assets sold at most their pieces' value (N,): :attr:`held`, else those with
        pieces."""
        return self.taxed if self.held is None else self.held | self.taxed

    @property
    def taxed(self) -> BoolArray:
        """Assets with at least one piece, (N,)."""
        out = np.zeros(len(self.envelope), dtype=bool)
        out[self.asset] = True
        return out

    def sellable_usd(self) -> FloatArray:
        """The value of each asset's pieces, USD (N,): the most the solver may sell."""
        out = np.zeros(len(self.envelope))
        np.add.at(out, self.asset, self.value_usd)
        return out


def convex_envelope(value: FloatArray, rate: FloatArray, gain: FloatArray
                    ) -> tuple[FloatArray, FloatArray, FloatArray, list[list[int]]]:
    """The convex envelope of a piecewise-linear tax given by pieces in order.

    Parameters
    ----------
    value : ndarray, shape (P,)
        Width of each piece (USD sold).
    rate, gain : ndarray, shape (P,)
        Tax and realized gain per USD of each piece.

    Returns
    -------
    value, rate, gain : ndarray, shape (Q,)
        The pooled pieces: adjacent pieces whose rate falls are merged at their
        value-weighted rate and gain (pool-adjacent-violators), so rates rise; the
        cumulative tax is the greatest convex minorant of the given one.
    groups : list of list of int
        The given pieces of each pooled one.
    """
    out_v: list[float] = []
    out_r: list[float] = []
    out_g: list[float] = []
    groups: list[list[int]] = []
    for k in range(len(value)):
        v, r, g, grp = float(value[k]), float(rate[k]), float(gain[k]), [k]
        while out_r and out_r[-1] > r + RATE_TOL and v + out_v[-1] > 0.0:
            pv, pr, pg, pgrp = out_v.pop(), out_r.pop(), out_g.pop(), groups.pop()
            total = pv + v
            r = (pr * pv + r * v) / total
            g = (pg * pv + g * v) / total
            v, grp = total, pgrp + grp
        out_v.append(v)
        out_r.append(r)
        out_g.append(g)
        groups.append(grp)
    return (np.asarray(out_v, dtype=np.float64), np.asarray(out_r, dtype=np.float64),
            np.asarray(out_g, dtype=np.float64), groups)


def tax_terms(orders: dict[int, IntArray], lot_value_usd: FloatArray, lot_gain_usd: FloatArray,
              lot_rate: FloatArray, disallowed: BoolArray, n_assets: int, *,
              gain_room_usd: float = float("inf")) -> TaxTerms:
    """The pieces of each asset's tax from its lots in relief order.

    Parameters
    ----------
    orders : dict of int to ndarray of int
        Asset index -> its lots (indices into L) in the order a sale relieves them, the
        lots left out already removed; every asset holding lots has an entry (an empty
        order: it may not be sold).
    lot_value_usd, lot_gain_usd : ndarray, shape (L,)
        Each lot's market value and unrealized gain (value − basis), USD.
    lot_rate : ndarray, shape (L,)
        Each lot's all-in rate on the sale date (short- or long-term).
    disallowed : ndarray of bool, shape (L,)
        Loss lots sold although a purchase washes them: tax 0, gain 0.
    n_assets : int
    gain_room_usd : float
        The year's gain budget left (inf: none); a negative room is taken as 0.

    Returns
    -------
    TaxTerms
    """
    assets: list[int] = []
    values: list[FloatArray] = []
    rates: list[FloatArray] = []
    gains: list[FloatArray] = []
    lots: list[IntArray] = []
    envelope = np.zeros(n_assets, dtype=bool)
    held = np.zeros(n_assets, dtype=bool)
    held[list(orders)] = True
    for i in sorted(orders):
        order = np.asarray(orders[i], dtype=np.intp)
        order = order[lot_value_usd[order] > 0.0]
        if not len(order):
            continue
        value = lot_value_usd[order]
        frac = np.where(disallowed[order], 0.0, lot_gain_usd[order] / value)
        v, r, g, groups = convex_envelope(value, lot_rate[order] * frac, frac)
        envelope[i] = len(groups) < len(order)
        assets += [i] * len(v)
        values.append(v)
        rates.append(r)
        gains.append(g)
        lots += [order[np.asarray(grp, dtype=np.intp)] for grp in groups]
    return TaxTerms(np.asarray(assets, dtype=np.intp), _cat(values), _cat(rates), _cat(gains),
                    tuple(lots), envelope, max(float(gain_room_usd), 0.0), held)


def _cat(parts: list[FloatArray]) -> FloatArray:
    return np.asarray(np.concatenate(parts) if parts else np.zeros(0), dtype=np.float64)
