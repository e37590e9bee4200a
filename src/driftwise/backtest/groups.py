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

import pandas as pd

from driftwise.data.model import Inputs
from driftwise.state import UNKNOWN_GROUP, GroupTargets, group_column


def members(inputs: Inputs) -> list[str]:
    """The tickers of every target group in the security master (sorted)."""
    targets = inputs.targets
    assert targets is not None
    frame = inputs.master.frame
    labels = frame[group_column(targets)].fillna(UNKNOWN_GROUP).astype(str)
    wanted = {str(g) for g in targets.weights.index}
    return sorted(str(t) for t in frame.index[labels.isin(wanted).to_numpy()])


def group_targets(inputs: Inputs, tickers: pd.Index) -> GroupTargets:
    """The groups of ``inputs.targets`` over ``tickers``, labelled as the planner labels
    them (:func:`driftwise.state.build_state`)."""
    targets = inputs.targets
    assert targets is not None
    labels = (inputs.master.frame[group_column(targets)].reindex(tickers)
              .fillna(UNKNOWN_GROUP).to_numpy(dtype=object))
    return GroupTargets.of(targets, labels)
