"""Simple cost models for the sizing and constraint tests.

Each is ``rate * |x| + c * |x|**p``: callable on trades as a plain numpy oracle, and
``model(n)`` gives the :class:`~driftwise.costs.RowCosts` that sizing takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driftwise.costs import RowCosts


@dataclass(frozen=True)
class Simple:
    rate: float
    coef: float = 0.0
    power: float = 1.5

    def __call__(self, trade: np.ndarray) -> np.ndarray:
        a = np.abs(trade)
        return np.asarray(self.rate * a + self.coef * a ** self.power)

    def model(self, n_assets: int, n_rows: int = 1) -> RowCosts:
        terms = [(self.coef, self.power)] if self.coef else []
        return RowCosts.simple(n_assets, rate=self.rate, terms=terms, n_rows=n_rows)


linear = Simple(0.001)
"""10 bps of traded value."""

sqrt_like = Simple(0.0005, 0.1 / np.sqrt(1e9))
"""``a * (0.0005 + 0.1 * sqrt(a / 1e9))``: 5 bps plus a square-root impact."""
