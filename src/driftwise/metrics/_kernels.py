"""Compiled metric kernels (numba): the mark to market
(:func:`driftwise.metrics.drift.mark_to_market`) and the liquidity days
(:func:`driftwise.metrics.liquidity.liquidity_days`)."""

from __future__ import annotations

import numpy as np

from driftwise._jit import kernel
from driftwise._kernels import total
from driftwise._types import FloatArray

# ------------------------------------------------------------ mark to market


@kernel
def mark_row(shares: FloatArray, prices: FloatArray, cash: float, target: FloatArray,
             target_cash: float, weights: FloatArray, gaps: FloatArray) -> tuple[float, float]:
    """Weights (written to ``weights``), NAV and portfolio drift of one portfolio at one
    close (the formulas of :func:`driftwise.metrics.drift.mark_to_market`).

    The sums are numpy's (:func:`total`), so the result does not depend on where the
    arrays sit in memory and equals the numpy formulas to the bit; ``gaps`` is scratch.
    """
    n = shares.shape[0]
    for i in range(n):
        weights[i] = shares[i] * prices[i]
    nav = total(weights) + cash
    for i in range(n):
        w = weights[i] / nav
        weights[i] = w
        gaps[i] = abs(w - target[i])
    return nav, 0.5 * (total(gaps) + abs(cash / nav - target_cash))


@kernel
def mark_rows(shares: FloatArray, prices: FloatArray, cash: FloatArray, target: FloatArray,
              target_cash: float, weights: FloatArray, nav: FloatArray,
              drift: FloatArray) -> None:
    """:func:`mark_row` for every portfolio (C, N) at every close (K, N)."""
    gaps = np.empty(shares.shape[1])
    for k in range(prices.shape[0]):
        for c in range(shares.shape[0]):
            nav[k, c], drift[k, c] = mark_row(shares[c], prices[k], cash[c], target,
                                              target_cash, weights[k, c], gaps)

# ----------------------------------------------------------------- liquidity


@kernel
def liquidity_day(quantity: float, adv: float, participation: float) -> float:
    """Trading days for ``quantity`` shares (unsigned) at ``participation`` of ``adv``:
    0 for no trade, inf for a trade on zero volume, NaN for an unknown (NaN) volume."""
    if quantity == 0.0:
        return 0.0
    return quantity / (participation * adv)


@kernel
def liquidity_days_flat(trade: FloatArray, adv: FloatArray, participation: FloatArray,
                        out: FloatArray) -> None:
    """:func:`liquidity_day` of signed trades, element by element (flattened arrays)."""
    for i in range(trade.shape[0]):
        out[i] = liquidity_day(abs(trade[i]), adv[i], participation[i])
