"""Targets by sector or asset class in the backtest, as the planner reads them.

The planner (:func:`driftwise.state.build_state`) splits each group's target weight over
the group's members pro rata to their current value (a short counts as 0; a group holding
nothing is split equally over its members), gives assets outside every target group a
zero target, and applies the configured bands to the resulting asset targets. The backtest
does the same each day, for each row, from the row's own holdings at the close: its
universe is every member of a target group in the security master (and the held tickers
when it starts from holdings), so the targets of a day are ``(C, N)``. Such a batch runs in
the Python day step, day by day (not compiled, no quiet blocks); tests hold it equal to the
reference simulator.

**Versions.** Group targets may be target versions, alone or beside asset-level ones
(:mod:`driftwise.backtest.versions`): each version has its own groups
(:func:`version_groups`), and a stock a version sells because it stopped trading
(``Schedule.sold``) is no longer a member of its group from that version on (its group's
weight is split over the members left).

**Reference portfolio.** A backtest's reference is the target weights rebalanced daily
at zero cost. A group target's weights are the group weights, and the planner splits a group by
the holdings' own values, so the reference rebalances the **group weights** at every close
and splits each group over its members by **its own** holdings, as the planner would split
them for it: within a group it never trades, each group's members drift with their prices
from the split of the first day (the start's split: equal within each group at target, the
holdings' split when starting from them) (:func:`reference_growth`). A rule's full
rebalance keeps the same split (the planner's destination moves a group's members in
proportion to their values), so a rule that rebalances often tracks the reference closely,
as with asset targets, and the tracking error measures what group targets control: the
drift of the group weights. (The first day's asset split held fixed instead would count
the drift *within* each group, which no rule of group targets corrects, as tracking error.)
When an asset-level version is in force the reference holds its weights; a group version
that follows splits its groups by the reference's holdings on its first day.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from driftwise._types import BoolArray, FloatArray
from driftwise.data.model import Inputs, SecurityMaster, TargetLevel, Targets
from driftwise.errors import ConfigError
from driftwise.state import UNKNOWN_GROUP, GroupTargets, group_column


def members_of(master: SecurityMaster, targets: Targets) -> list[str]:
    """The tickers of every group of ``targets`` in ``master`` (sorted)."""
    frame = master.frame
    labels = frame[group_column(targets)].fillna(UNKNOWN_GROUP).astype(str)
    wanted = {str(g) for g in targets.weights.index}
    return sorted(str(t) for t in frame.index[labels.isin(wanted).to_numpy()])


def members(inputs: Inputs) -> list[str]:
    """The tickers of every target group of ``inputs.targets`` in the security master
    (sorted)."""
    targets = inputs.targets
    assert targets is not None
    return members_of(inputs.master, targets)


def stocks(inputs: Inputs) -> list[str]:
    """The stocks a backtest of ``inputs`` can hold for its targets: the tickers of every
    asset-level version and the members of every group-level one (in order of first
    appearance, ``targets`` first)."""
    out: list[str] = []
    for version in (*(() if inputs.targets is None else (inputs.targets,)),
                    *inputs.target_versions):
        out += ([str(t) for t in version.weights.index] if version.level is TargetLevel.ASSET
                else members_of(inputs.master, version))
    return list(dict.fromkeys(out))


def group_targets(inputs: Inputs, tickers: pd.Index) -> GroupTargets:
    """The groups of ``inputs.targets`` over ``tickers``, labelled as the planner labels
    them (:func:`driftwise.state.build_state`)."""
    targets = inputs.targets
    assert targets is not None
    return version_groups(inputs.master, targets, tickers)


def version_groups(master: SecurityMaster, version: Targets, tickers: pd.Index,
                   sold: BoolArray | None = None) -> GroupTargets:
    """The groups of ``version`` over ``tickers`` (the planner's labels), without the
    stocks ``sold`` (N,) because they stopped trading.

    Raises
    ------
    DataError
        A group with no member among ``tickers`` (:meth:`GroupTargets.of`).
    ConfigError
        Every member of a group has stopped trading.
    """
    labels = (master.frame[group_column(version)].reindex(tickers)
              .fillna(UNKNOWN_GROUP).to_numpy(dtype=object))
    groups = GroupTargets.of(version, labels)
    if sold is None or not sold.any():
        return groups
    code = np.where(sold, -1, groups.code)
    for g, name in enumerate(version.weights.index):
        if not (code == g).any():
            raise ConfigError(f"target {version.source}: every member of the "
                              f"{version.level.value} {name!r} has stopped trading "
                              f"({', '.join(map(str, tickers[groups.code == g]))}); nothing "
                              "is left to hold its weight")
    return GroupTargets(np.asarray(code, dtype=np.intp), groups.weights)


def split_growth(prices: FloatArray, split: FloatArray, groups: GroupTargets, row: int
                 ) -> tuple[FloatArray, FloatArray]:
    """The group weights rebalanced at every close, each group's members held without
    trading from ``split`` (N,), the asset weights at the first close of ``prices`` (L, N).

    Returns the growth of the invested part over each of the ``L - 1`` nights,
    ``sum_g W_g I_g(t+1) / I_g(t)`` with ``I_g(t) = sum_{i in g} split_i p_{t,i} / p_{0,i}``
    (a group of weight 0 adds nothing), and the asset weights after the rebalance of the
    close ``row`` (N,): ``W_g split_i p_{row,i} / p_{0,i} / I_g(row)``.
    """
    index = prices / prices[0]
    growth = np.zeros(len(prices) - 1)
    at = np.zeros(prices.shape[1])
    for g, weight in enumerate(groups.weights.tolist()):
        inside = groups.code == g
        if weight == 0.0:
            continue
        level = index[:, inside] @ split[inside]
        growth += weight * (level[1:] / level[:-1])
        at[inside] = weight * split[inside] * index[row, inside] / level[row]
    return growth, at


def reference_growth(prices: FloatArray, start: FloatArray, weights: FloatArray,
                     cash: FloatArray, groups: tuple[GroupTargets | None, ...],
                     day_version: np.ndarray, cash_growth: FloatArray | None) -> FloatArray:
    """Daily growth of the reference portfolio of a window whose versions include group
    targets (see the module notes), shape (T - 1,).

    Parameters
    ----------
    prices : ndarray (T, N)
    start : ndarray (N,)
        The asset weights of the first close (the split of the first day's groups).
    weights, cash : ndarray (V, N), (V,)
        Each version's asset weights (read where it is asset level) and cash weight.
    groups : tuple of GroupTargets or None, length V
        Each group version's groups (None: asset level).
    day_version : ndarray of int (T,)
        The version in force on each day.
    cash_growth : ndarray (T,) or None
        Growth of cash over the night before each day (None: 1).
    """
    n_days = len(prices)
    night = (np.ones(n_days) if cash_growth is None
             else np.asarray(cash_growth, dtype=np.float64))
    growth = np.zeros(n_days - 1)
    held = np.asarray(start, dtype=np.float64)  # asset weights after the close's rebalance
    edges = [0, *(np.flatnonzero(np.diff(day_version)) + 1).tolist(), n_days]
    for a, b in itertools.pairwise(edges):
        v = int(day_version[a])
        end = min(b, n_days - 1)  # the nights after days a .. end - 1, then the next night
        g = groups[v]
        if g is None:
            held = np.asarray(weights[v], dtype=np.float64)
            growth[a:end] = (prices[a + 1:end + 1] / prices[a:end]) @ held
        else:
            split = held if a == 0 else g.expand(held)[0]  # by its own holdings that close
            inner, held = split_growth(prices[a:end + 1], split, g, b - 1 - a)
            growth[a:end] = inner
        growth[a:end] += cash[v] * night[a + 1:end + 1]
        if b < n_days:  # the holdings at the next version's first close, before it trades
            held = held * prices[b] / prices[b - 1]
    return growth
