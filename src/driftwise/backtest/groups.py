"""Targets by sector or asset class in the backtest, as the planner reads them.

The planner (:func:`driftwise.state.build_state`) splits each group's target weight over
the group's members pro rata to their current value (a short counts as 0; a group holding
nothing is split equally over its members), gives assets outside every target group a
zero target, and applies the configured bands to the resulting asset targets. The backtest
does the same each day, for each row, from the row's own holdings at the close: its
universe is every member of a target group in the security master (and the held tickers
when it starts from holdings), so the targets of a day are ``(C, N)``. Such a batch runs in
the Python day step, day by day (not compiled, no quiet blocks); tests hold it equal to the
reference simulator. The reference portfolio holds the asset targets of the first day
(equal within each group when starting at target) rebalanced daily.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._types import FloatArray, IntArray
from driftwise.data.model import Inputs, TargetLevel, Targets
from driftwise.errors import DataError
from driftwise.state import UNKNOWN_GROUP


def column(targets: Targets) -> str:
    """The security master's column of the targets' groups."""
    return "sector" if targets.level is TargetLevel.SECTOR else "asset_class"


def members(inputs: Inputs) -> list[str]:
    """The tickers of every target group in the security master (sorted)."""
    targets = inputs.targets
    assert targets is not None
    frame = inputs.master.frame
    labels = frame[column(targets)].fillna(UNKNOWN_GROUP).astype(str)
    wanted = {str(g) for g in targets.weights.index}
    return sorted(str(t) for t in frame.index[labels.isin(wanted).to_numpy()])


@dataclass(frozen=True, eq=False)
class GroupTargets:
    """Group target weights over a universe of N assets.

    Attributes
    ----------
    code : ndarray of int, shape (N,)
        Each asset's target group (-1: in none).
    weights : ndarray, shape (G,)
        Each group's target weight.
    """

    code: IntArray
    weights: FloatArray

    @classmethod
    def of(cls, inputs: Inputs, tickers: pd.Index) -> GroupTargets:
        """The groups of ``inputs.targets`` over ``tickers``.

        Raises
        ------
        DataError
            A target group with no member in the universe (it cannot be reached).
        """
        targets = inputs.targets
        assert targets is not None
        labels = (inputs.master.frame[column(targets)].reindex(tickers).fillna(UNKNOWN_GROUP)
                  .astype(str).to_numpy())
        names = [str(g) for g in targets.weights.index]
        code = np.full(len(tickers), -1, dtype=np.intp)
        for g, name in enumerate(names):
            inside = labels == name
            if not inside.any():
                raise DataError("target group has no member in the universe or security master",
                                file=targets.source, field=targets.level.value,
                                expected="a group named in the security master", found=name)
            code[inside] = g
        return cls(code, targets.weights.to_numpy(dtype=np.float64))

    def expand(self, values_usd: FloatArray) -> FloatArray:
        """Asset targets (C, N) of rows holding ``values_usd`` (C, N): each group's weight
        split over its members pro rata to ``max(value, 0)``, equally when the group holds
        nothing; 0 outside every group."""
        values = np.atleast_2d(values_usd)
        out = np.zeros(values.shape)
        for g, weight in enumerate(self.weights.tolist()):
            inside = self.code == g
            value = np.clip(values[:, inside], 0.0, None)
            total = value.sum(axis=1)
            held = total > 0
            share = np.full(value.shape, 1.0 / int(inside.sum()))
            share[held] = value[held] / total[held, None]
            out[:, inside] = weight * share
        return out
