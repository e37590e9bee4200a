"""Target versions that switch on their effective dates during a backtest.

A portfolio's targets change over time (the record's target versions, a model's new
version): ``Inputs.target_versions`` holds them, each with its effective date. On each day
of the window the version **in force** is the one with the latest effective date on or
before that day (a version without a date is in force from the start); the first day must
have one. The switch is an event, as in the planner (:func:`driftwise.app.plan.make_plan`:
a version that took effect after the last rebalance rebalances "whatever the cost"): from
the first session on or after a new version's effective date, the destination is the new
target (the drift is measured against it, the bands are its own), and every row whose last
rebalance is known and came before that date fires, whatever its trigger says (no cost
skip, no delay), until it trades. A calendar rule therefore rebalances on the switch day
too, then keeps its calendar. A row that starts from holdings without a known last
rebalance has no event (the planner cannot tell whether it already follows the new
version), as in the planner.

**Sales of stocks that stop trading.** A version may name stocks it sells in full when it
comes into force: the tickers of its "delisted or suspended" notices
(``Flag.NO_PRICE_TODAY``, as :func:`driftwise.backtest.paths.path_versions` gives them:
stocks that stopped trading, carried at their last price). On the switch day every row
sells its whole position in them at the day's price, paying the cost model's cost of the
sale, before its rule sizes the event (:func:`driftwise.backtest.engine.sell_exits`):
whatever the rule's destination (half-way, the band's edge, the optimized trade) or its
liquidity limits, a stock that no longer trades is not kept; from that day on it is on
every row's no-buy list (``Schedule.sold``: its carried price would look riskless to the
optimized destination).

**Group targets.** A version may give its targets by sector or asset class, and the
versions of a window may mix levels (an asset-level version followed by a sector one, or
the other way): on each day the version in force is read at its own level (a group
version's groups, ``Schedule.groups``, split each day over each row's holdings as the
planner splits them, :mod:`driftwise.backtest.groups`), and its switch is an event like any
other. A stock a version sells because it stopped trading leaves its group from that
version on. Targets by group without versions are a schedule of one version (the
``targets``, their date ignored), so that a batch of group targets reads its groups from
the schedule alone.

A batch whose window holds more than one version (or starts from holdings on a version's
event, or has group targets) runs in the Python day step, day by day
(not the compiled loop or quiet blocks: the target of a day is a per-day input there);
tests hold it equal to the reference simulator.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.backtest.groups import version_groups
from driftwise.data.model import Inputs, SecurityMaster, TargetLevel, Targets
from driftwise.errors import ConfigError
from driftwise.flags import Flag
from driftwise.state import GroupTargets


@dataclass(frozen=True, eq=False)
class Schedule:
    """The versions of one window, aligned to the backtest's universe.

    Attributes
    ----------
    versions : tuple of Targets
        Sorted by effective date (a version without one first).
    weights : ndarray, shape (V, N)
        Asset-level versions' weights (0 in the rows of group versions).
    cash : ndarray, shape (V,)
    band_abs, band_rel : ndarray, shape (V, N)
        The file's bands (NaN where not given, and in the rows of group versions).
    day_version : ndarray of int, shape (T,)
        The version in force on each day.
    switch : ndarray of bool, shape (T,)
        Days on which a new version comes into force (never day 0).
    exits : ndarray of bool, shape (V, N)
        The assets each version sells in full on its switch day (:func:`exits_of`).
    sold : ndarray of bool, shape (V, N)
        The assets sold so, by this version or an earlier one: no rule buys them while the
        version is in force (they no longer trade).
    groups : tuple of GroupTargets or None, length V
        Each group version's groups over the universe, without the stocks ``sold`` (None:
        an asset-level version).
    """

    versions: tuple[Targets, ...]
    weights: FloatArray
    cash: FloatArray
    band_abs: FloatArray
    band_rel: FloatArray
    day_version: IntArray
    switch: BoolArray
    exits: BoolArray
    groups: tuple[GroupTargets | None, ...] = ()

    @property
    def sold(self) -> BoolArray:
        """``exits`` of this version or an earlier one, shape (V, N)."""
        return np.asarray(np.logical_or.accumulate(self.exits, axis=0), dtype=bool)

    @property
    def several(self) -> bool:
        """More than one version is in force over the window."""
        return bool(self.switch.any())

    def first(self) -> Targets:
        """The version in force on the first day."""
        return self.versions[int(self.day_version[0])]

    @property
    def by_group(self) -> bool:
        """Some version gives its targets by group."""
        return any(g is not None for g in self.groups)


def exits_of(version: Targets) -> tuple[str, ...]:
    """The stocks ``version`` sells in full when it comes into force: those named by its
    "delisted or suspended" notices (stocks that stopped trading)."""
    return tuple(dict.fromkeys(str(t) for n in version.notices
                               if n.flag is Flag.NO_PRICE_TODAY for t in n.tickers))


def all_versions(inputs: Inputs) -> tuple[Targets, ...]:
    """The versions a backtest of ``inputs`` reads: ``target_versions``, else ``targets``."""
    if inputs.target_versions:
        return tuple(inputs.target_versions)
    return () if inputs.targets is None else (inputs.targets,)


def _key(t: Targets) -> pd.Timestamp:
    return pd.Timestamp.min if t.effective_date is None else pd.Timestamp(t.effective_date)


def schedule(inputs: Inputs, tickers: pd.Index, dates: pd.DatetimeIndex) -> Schedule | None:
    """The target versions of ``inputs`` over ``dates``; without ``target_versions``, None
    for asset-level ``targets`` (they apply to the whole window, their effective date
    ignored) and a schedule of their one version for targets by group.

    Raises
    ------
    ConfigError
        Two versions with the same effective date, no version in force on the first day,
        or a group all of whose members a version has sold.
    DataError
        A target group without a member in the universe.
    """
    if not inputs.target_versions:
        targets = inputs.targets
        if targets is None or targets.level is TargetLevel.ASSET:
            return None
        return _build((dataclasses.replace(targets, effective_date=None),), inputs.master,
                      tickers, dates)
    versions = tuple(sorted(inputs.target_versions, key=_key))
    keys = [_key(v) for v in versions]
    for a, b in itertools.pairwise(keys):
        if a == b:
            when = "no date" if a == pd.Timestamp.min else str(a.date())
            raise ConfigError(f"target versions: two versions take effect on {when}; "
                              "give each version its own effective date")
    return _build(versions, inputs.master, tickers, dates)


def _build(versions: tuple[Targets, ...], master: SecurityMaster, tickers: pd.Index,
           dates: pd.DatetimeIndex) -> Schedule:
    """The schedule of ``versions`` (sorted, distinct dates) over ``dates``."""
    keys = [_key(v) for v in versions]
    day_keys = np.asarray(pd.DatetimeIndex(dates).as_unit("ns").asi8)  # as the starts
    starts = np.array([np.iinfo(np.int64).min if v.effective_date is None
                       else pd.Timestamp(v.effective_date).as_unit("ns").value
                       for v in versions])
    day_version = np.searchsorted(starts, day_keys, side="right") - 1
    if day_version[0] < 0:
        raise ConfigError(f"target versions: none is in force on the first day of the window "
                          f"({pd.Timestamp(dates[0]).date()}); the earliest takes effect on "
                          f"{keys[0].date()}: start the "
                          "window then or add an earlier version")
    switch = np.zeros(len(dates), dtype=bool)
    switch[1:] = day_version[1:] != day_version[:-1]

    def stack(get: str, fill: float) -> FloatArray:
        return np.stack([getattr(v, get).reindex(tickers, fill_value=fill)
                         .to_numpy(dtype=np.float64) if v.level is TargetLevel.ASSET
                         else np.full(len(tickers), fill) for v in versions])
    weights = stack("weights", 0.0)
    exits = np.stack([np.asarray(tickers.isin(list(exits_of(v))), dtype=bool)
                      for v in versions])
    sold = np.logical_or.accumulate(exits, axis=0)
    return Schedule(versions=versions, weights=weights,
                    cash=np.array([float(v.cash_weight) for v in versions]),
                    band_abs=stack("band_abs", np.nan), band_rel=stack("band_rel", np.nan),
                    day_version=np.asarray(day_version, dtype=np.intp), switch=switch,
                    exits=exits,
                    groups=tuple(None if v.level is TargetLevel.ASSET
                                 else version_groups(master, v, tickers, sold[j])
                                 for j, v in enumerate(versions)))


def pending_at_start(schedule: Schedule, last_rebalance: pd.Timestamp | None,
                     from_holdings: bool) -> bool:
    """Whether the version in force on the first day is an event there: a start from
    holdings whose last rebalance came before its effective date (a start at target is
    the version itself)."""
    eff = schedule.first().effective_date
    return (from_holdings and last_rebalance is not None and eff is not None
            and pd.Timestamp(eff) > pd.Timestamp(last_rebalance))
