"""The rule grid: what one backtest run simulates, as typed values.

A backtest runs ``C`` configurations side by side. Most of them differ only in a trigger
parameter (a threshold sweep) or in the cost assumptions (a cost sweep), so the grid holds
them as **blocks**: one :class:`~driftwise.policy.rule.Rule` whose trigger parameters may
be arrays shaped ``(C_g,)`` (3/5/7/10% is one
:class:`~driftwise.policy.triggers.DriftThreshold` with four thresholds), plus the cost
parameter sets its rows are priced with. A block is one batch of the engine: everything
else (destination, constraints, bands, risk windows) is the same in its rows.

* :func:`sweep` builds a grid from one rule and axes, as in vectorbt: every combination of
  the trigger parameters given (``threshold=[0.03, 0.05]``) and the cost parameter sets.
* :meth:`RuleGrid.concat` puts grids side by side (two rules compared in one run).
* :func:`driftwise.config.assemble.rule_grid` builds the grid of a list of configurations (the
  commands' path): grouped into blocks once, at the edge.

The per-day market inputs a block needs are derived from its own parameters
(:attr:`RuleBlock.history`: its risk windows and the estimation part of its cost sets),
and a block's rows must agree on them, so no two rows can share a wrong history.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._types import FloatArray, IntArray
from driftwise.backtest.history import HistorySettings, RiskSettings
from driftwise.costs import CostParams
from driftwise.errors import ConfigError
from driftwise.metrics.drift import BandMode, band_width
from driftwise.policy.destination import Destination
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import DayInput, Trigger

__all__ = ["Bands", "RuleBlock", "RuleGrid", "stack_triggers", "sweep", "take_trigger",
           "trigger_structure", "uses_risk"]


@dataclass(frozen=True)
class Bands:
    """The per-asset tolerance bands where the targets file gives none.

    Attributes
    ----------
    abs : float
        Absolute band, fraction of NAV.
    rel : float
        Relative band, fraction of the target weight.
    mode : BandMode
        Absolute, relative or the larger of both.
    """

    abs: float = 0.02
    rel: float = 0.25
    mode: BandMode = BandMode.LARGER

    def widths(self, target: FloatArray, file_abs: FloatArray,
               file_rel: FloatArray) -> FloatArray:
        """Band half-widths (N,): the file's bands where given, these elsewhere."""
        return band_width(target, np.where(np.isfinite(file_abs), file_abs, self.abs),
                          np.where(np.isfinite(file_rel), file_rel, self.rel), self.mode)


# ----------------------------------------------------------------- triggers


def _is_trigger(value: object) -> bool:
    return dataclasses.is_dataclass(value) and hasattr(value, "evaluate")


def _trigger_fields(trigger: Trigger) -> tuple[dataclasses.Field[object], ...]:
    return dataclasses.fields(trigger)  # type: ignore[arg-type]


def trigger_structure(trigger: Trigger) -> tuple[object, ...]:
    """Everything of a trigger but its array-capable parameters (and labels), hashable.

    The parameters are those the trigger names in ``params``. Two triggers with equal
    structure can be stacked into one (:func:`stack_triggers`).
    """
    out: list[object] = [type(trigger)]
    for f in _trigger_fields(trigger):
        value = getattr(trigger, f.name)
        if f.name == "label" or f.name in trigger.params:
            continue
        if isinstance(value, tuple) and value and all(_is_trigger(v) for v in value):
            out.append((f.name, tuple(trigger_structure(v) for v in value)))
        elif _is_trigger(value):
            out.append((f.name, trigger_structure(value)))
        else:
            out.append((f.name, value))
    return tuple(out)


def stack_triggers(triggers: Sequence[Trigger]) -> Trigger:
    """One trigger whose parameters are arrays over ``triggers`` (all of one structure).

    A parameter equal in every trigger stays a scalar; one that differs becomes an
    array shaped ``(len(triggers),)``, row ``c`` holding trigger ``c``'s value.
    """
    first = triggers[0]
    changes: dict[str, object] = {}
    for f in _trigger_fields(first):
        values = [getattr(t, f.name) for t in triggers]
        if f.name in first.params:
            arr = np.array([float(np.asarray(v)) for v in values])
            if not (arr == arr[0]).all():
                changes[f.name] = arr
        elif isinstance(values[0], tuple) and values[0] and all(map(_is_trigger, values[0])):
            changes[f.name] = tuple(stack_triggers([v[i] for v in values])
                                    for i in range(len(values[0])))
        elif _is_trigger(values[0]):
            changes[f.name] = stack_triggers(values)
    return dataclasses.replace(first, **changes)  # type: ignore[type-var]


def take_trigger(trigger: Trigger, rows: IntArray) -> Trigger:
    """A stacked trigger restricted to ``rows``: every array parameter ``(C,)`` indexed.

    With ``rows = np.tile(np.arange(C), K)`` it is the trigger of a block context whose
    rows are (day, configuration) pairs
    (:func:`~driftwise.backtest.blocks.quiet_days`).
    """
    changes: dict[str, object] = {}
    for f in _trigger_fields(trigger):
        value = getattr(trigger, f.name)
        if f.name in trigger.params:
            if isinstance(value, np.ndarray) and value.ndim == 1:
                changes[f.name] = value[rows]
        elif isinstance(value, tuple) and value and all(_is_trigger(v) for v in value):
            taken = tuple(take_trigger(v, rows) for v in value)
            if any(a is not b for a, b in zip(taken, value, strict=True)):
                changes[f.name] = taken
        elif _is_trigger(value):
            taken_one = take_trigger(value, rows)
            if taken_one is not value:
                changes[f.name] = taken_one
    return dataclasses.replace(trigger, **changes) if changes else trigger  # type: ignore[type-var]


OPTIMIZER_AXES = ("gamma", "gamma_trade")
"""Sweep axes of the optimized destination
(:class:`~driftwise.policy.optimize.OptimizerSettings`)."""


def uses_risk(rule: Rule) -> bool:
    """Whether tracking error can change this rule's trades (then the covariance is needed).

    TE decides only in a trigger that reads the covariance (it says so: cost-benefit), the
    cost-benefit skip and the cost-constrained and optimized destinations; elsewhere
    ``step`` reports it without acting on it.
    """
    return (rule.skip_if_cost_exceeds_benefit
            or rule.destination in (Destination.COST_CONSTRAINED, Destination.OPTIMIZED)
            or DayInput.COVARIANCE in rule.trigger.reads)


def _with_param(trigger: Trigger, name: str, values: FloatArray) -> Trigger | None:
    """``trigger`` with parameter ``name`` set to ``values`` wherever the tree has it (None:
    no trigger of the tree has it)."""
    if name in trigger.params:
        return dataclasses.replace(trigger, **{name: values})  # type: ignore[type-var]
    changes: dict[str, object] = {}
    for f in _trigger_fields(trigger):
        value = getattr(trigger, f.name)
        if isinstance(value, tuple) and value and all(_is_trigger(v) for v in value):
            set_ = [_with_param(v, name, values) for v in value]
            if any(s is not None for s in set_):
                changes[f.name] = tuple(v if s is None else s
                                        for v, s in zip(value, set_, strict=True))
        elif _is_trigger(value):
            one = _with_param(value, name, values)
            if one is not None:
                changes[f.name] = one
    return dataclasses.replace(trigger, **changes) if changes else None  # type: ignore[type-var]


# -------------------------------------------------------------------- grid


@dataclass(frozen=True, eq=False)
class RuleBlock:
    """Rows of a grid that the engine simulates together (one batch).

    Attributes
    ----------
    rule : Rule
        The rule of every row; its trigger's parameters are scalars or arrays shaped
        ``(C_g,)``.
    costs : tuple of CostParams
        The distinct cost parameter sets of the rows.
    cost_rows : ndarray of int, shape (C_g,)
        Each row's position in ``costs``.
    risk : RiskSettings
        Risk estimation windows and TE model.
    bands : Bands
        Per-asset bands where the targets file gives none.
    accept_stale_costs : bool
        Trade on days whose cost inputs are stale (otherwise the plan is invalid: no trade).
    positions : ndarray of int, shape (C_g,)
        Each row's column in the run's results.

    Raises
    ------
    ConfigError
        Rows whose cost sets disagree on what the per-day inputs are estimated with (they
        need different histories: separate blocks), or shapes that do not match.
    """

    rule: Rule
    costs: tuple[CostParams, ...]
    cost_rows: IntArray
    risk: RiskSettings
    bands: Bands
    accept_stale_costs: bool
    positions: IntArray

    def __post_init__(self) -> None:
        n = len(self.positions)
        if len(self.cost_rows) != n or not self.costs or n == 0:
            raise ConfigError("rule block: one cost set per row and at least one row")
        if self.cost_rows.min() < 0 or self.cost_rows.max() >= len(self.costs):
            raise ConfigError("rule block: a row's cost set is out of range")
        if len({p.estimation() for p in self.costs}) > 1:
            raise ConfigError("rule block: its cost sets estimate the per-day inputs "
                              "differently (windows, tiers, defaults); put them in separate "
                              "blocks")
        for name, value in _param_values(self.rule.trigger):
            if isinstance(value, np.ndarray) and value.ndim == 1 and len(value) != n:
                raise ConfigError(f"rule block: trigger parameter {name!r} has "
                                  f"{len(value)} values for {n} rows")

    @property
    def n_rows(self) -> int:
        """C_g."""
        return len(self.positions)

    @property
    def history(self) -> HistorySettings:
        """The per-day market inputs the block reads, from its own parameters."""
        return HistorySettings.of(self.risk, self.costs[0])

    @property
    def with_cov(self) -> bool:
        """Whether sizing or the trigger reads the covariance (``te_model = "full"`` and a
        rule whose trades depend on TE)."""
        return self.risk.full_te and uses_risk(self.rule)

    def take(self, rows: IntArray) -> RuleBlock:
        """The block restricted to ``rows`` (positions among its rows)."""
        used = np.unique(self.cost_rows[rows])
        remap = np.full(len(self.costs), -1, dtype=np.intp)
        remap[used] = np.arange(len(used))
        return dataclasses.replace(
            self, rule=dataclasses.replace(self.rule,
                                           trigger=take_trigger(self.rule.trigger, rows)),
            costs=tuple(self.costs[i] for i in used.tolist()),
            cost_rows=remap[self.cost_rows[rows]], positions=self.positions[rows])


def _param_values(trigger: Trigger) -> Iterable[tuple[str, object]]:
    for name in trigger.params:
        yield name, getattr(trigger, name)
    for child in trigger.children:
        yield from _param_values(child)


@dataclass(frozen=True, eq=False)
class RuleGrid:
    """Every configuration of one backtest run, in blocks.

    Attributes
    ----------
    blocks : tuple of RuleBlock
        Their ``positions`` together are ``0 .. C - 1``, each once.
    names : tuple of str, length C
        Each configuration's label (unique).
    describe : callable
        ``describe()`` -> the parameter table, one row per configuration (index ``names``).
    texts : sequence of str, length C
        Each configuration as TOML (written when first read).
    """

    blocks: tuple[RuleBlock, ...]
    names: tuple[str, ...]
    describe: Callable[[], pd.DataFrame] = dataclasses.field(repr=False)
    texts: Sequence[str] = dataclasses.field(repr=False, default=())

    def __post_init__(self) -> None:
        if not self.blocks:
            raise ConfigError("backtest: no configuration to run")
        seen = np.sort(np.concatenate([b.positions for b in self.blocks]))
        if not np.array_equal(seen, np.arange(len(self.names))):
            raise ConfigError(f"rule grid: its blocks hold {len(seen)} rows for "
                              f"{len(self.names)} names, each position once")
        if len(set(self.names)) != len(self.names):
            twice = next(n for n in self.names if self.names.count(n) > 1)
            raise ConfigError(f"backtest: configuration names must be unique; {twice!r} twice")
        if self.texts and len(self.texts) != len(self.names):
            raise ConfigError("rule grid: one text per configuration")

    @property
    def n_configs(self) -> int:
        """C."""
        return len(self.names)

    def __len__(self) -> int:
        return self.n_configs

    def __repr__(self) -> str:
        return (f"RuleGrid({self.n_configs} configurations in {len(self.blocks)} "
                f"block{'s' if len(self.blocks) != 1 else ''})")

    def to_frame(self) -> pd.DataFrame:
        """The parameter table (``describe()``)."""
        return self.describe()

    def share(self, columns: slice) -> RuleGrid:
        """The configurations ``columns`` (a share of a large run, e.g. every other one),
        renumbered from 0 in their order."""
        picked = np.arange(self.n_configs)[columns]
        new_position = np.full(self.n_configs, -1, dtype=np.intp)
        new_position[picked] = np.arange(len(picked))
        blocks = []
        for b in self.blocks:
            rows = np.flatnonzero(new_position[b.positions] >= 0)
            if len(rows):
                part = b.take(rows)
                blocks.append(dataclasses.replace(part, positions=new_position[part.positions]))
        names = tuple(self.names[i] for i in picked.tolist())
        texts = [self.texts[i] for i in picked.tolist()] if self.texts else ()
        return RuleGrid(tuple(blocks), names, lambda: self.describe().iloc[picked], texts)

    @classmethod
    def concat(cls, grids: Sequence[RuleGrid]) -> RuleGrid:
        """The grids side by side, in order (names must stay unique)."""
        blocks, names, offset = [], [], 0
        for g in grids:
            blocks += [dataclasses.replace(b, positions=b.positions + offset) for b in g.blocks]
            names += list(g.names)
            offset += g.n_configs
        texts = [t for g in grids for t in g.texts] if all(g.texts for g in grids) else ()

        def describe() -> pd.DataFrame:
            return pd.concat([g.describe() for g in grids])
        return cls(tuple(blocks), tuple(names), describe, texts)


def sweep(rule: Rule, *, costs: CostParams | Sequence[CostParams] = CostParams(),
          risk: RiskSettings = RiskSettings(), bands: Bands = Bands(),
          accept_stale_costs: bool = False, names: Sequence[str] | None = None,
          **axes: Sequence[float] | FloatArray) -> RuleGrid:
    """A grid of ``rule`` over every combination of trigger parameters and cost sets.

    Parameters
    ----------
    rule : Rule
        The rule; its trigger gives the parameters not swept.
    costs : CostParams or sequence of CostParams
        Cost parameter sets (an axis: each combination of ``axes`` is run with each).
        Sets that estimate the per-day inputs differently go to separate blocks.
    risk, bands, accept_stale_costs
        Shared by every row.
    names : sequence of str, optional
        Labels; default the trigger's name with the swept values and cost set.
    **axes : sequence of float
        Trigger parameter name -> values, e.g. ``threshold=np.linspace(0.01, 0.10, 10)``;
        the name is looked up in the whole trigger tree (a threshold under a stress gate).
        ``gamma`` and ``gamma_trade`` (:data:`OPTIMIZER_AXES`) sweep the optimized
        destination's risk and trade aversion: one batch, whose rows share the solver's
        compiled problem.

    Returns
    -------
    RuleGrid
        Rows ordered cost set first, then the axes' product in the order given.

    Raises
    ------
    ConfigError
        An axis the trigger has no parameter for, or an empty axis.
    """
    sets = (costs,) if isinstance(costs, CostParams) else tuple(costs)
    known = {name for name, _ in _param_values(rule.trigger)} | set(OPTIMIZER_AXES)
    for name, values in axes.items():
        if name not in known:
            raise ConfigError(f"sweep: the trigger {rule.trigger.name!r} has no parameter "
                              f"{name!r}; it has {sorted(known) or 'none'}")
        if len(values) == 0:
            raise ConfigError(f"sweep: axis {name!r} is empty")
    if not sets:
        raise ConfigError("sweep: at least one cost parameter set")
    combos = list(itertools.product(*(np.asarray(v, dtype=np.float64).tolist()
                                      for v in axes.values())))
    rows = [(s, dict(zip(axes, combo, strict=True))) for s in range(len(sets))
            for combo in combos]
    trigger = rule.trigger
    optimizer = rule.optimizer
    for name in axes:
        values = np.array([axis[name] for _, axis in rows])
        if name in OPTIMIZER_AXES:  # the optimized destination's γ, γ_trade: one per row
            optimizer = (dataclasses.replace(optimizer, gamma=values) if name == "gamma"
                         else dataclasses.replace(optimizer, gamma_trade=values))
        else:
            trigger = _with_param(trigger, name, values) or trigger
    labels = list(names) if names is not None else _sweep_names(rule, sets, rows)
    if len(labels) != len(rows):
        raise ConfigError(f"sweep: {len(labels)} names for {len(rows)} configurations")
    cost_of = np.array([s for s, _ in rows], dtype=np.intp)
    estimation = [p.estimation() for p in sets]
    blocks = []
    for key in dict.fromkeys(estimation):
        members = np.flatnonzero([estimation[s] == key for s in cost_of.tolist()])
        used = np.unique(cost_of[members])
        remap = np.full(len(sets), -1, dtype=np.intp)
        remap[used] = np.arange(len(used))
        blocks.append(RuleBlock(
            dataclasses.replace(rule, trigger=take_trigger(trigger, members),
                                optimizer=optimizer.take(members)),
            tuple(sets[i] for i in used.tolist()), remap[cost_of[members]], risk, bands,
            accept_stale_costs, members.astype(np.intp)))
    table = [{"policy": rule.trigger.name, "destination": rule.destination.value,
              **_cost_columns(sets[s]), **axis} for s, axis in rows]

    def describe() -> pd.DataFrame:
        return pd.DataFrame(table, index=pd.Index(labels, name="name"))
    return RuleGrid(tuple(blocks), tuple(labels), describe, _Texts(table))


def _cost_columns(params: CostParams) -> dict[str, object]:
    return {"flat_cost_bps": params.flat_cost_bps, "cost_scale": params.cost_scale,
            "impact_model": params.impact_model.value,
            "vix_multipliers": tuple(params.vix_multipliers)}


def _sweep_names(rule: Rule, sets: tuple[CostParams, ...],
                 rows: list[tuple[int, dict[str, float]]]) -> list[str]:
    base = rule.trigger.name
    out = []
    for s, axis in rows:
        parts = [f"{k}={v:g}" for k, v in axis.items()]
        if len(sets) > 1:
            p = sets[s]
            parts.append(f"{p.flat_cost_bps:g} bps" if p.flat_cost_bps is not None
                         else f"cost set {s + 1}")
        out.append(f"{base} ({', '.join(parts)})" if parts else base)
    return out


class _Texts(Sequence[str]):
    """Each row of a swept grid as TOML (``key = value``), written when read."""

    def __init__(self, table: Sequence[Mapping[str, object]]) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, index):  # type: ignore[no-untyped-def,override]
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        row = self._table[index]
        return "\n".join(f"{k} = {json.dumps(_plain(v))}" for k, v in row.items()
                         if v is not None) + "\n"


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
