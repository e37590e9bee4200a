"""Triggers: *when* to rebalance, over a batch of configurations.

A trigger maps a :class:`~driftwise.policy.context.DayContext` with C configurations to
a :class:`TriggerResult`: which configurations fire, which assets they may trade, which
are delayed, and the reasons. Parameters are floats or arrays shaped ``(C,)``, so a
threshold sweep is one trigger evaluated once per day. Triggers compose with
:class:`AnyOf` and :class:`AllOf`; :class:`StressDelay` gates another trigger.

Every trigger is row-wise: row ``c`` of the result depends only on row ``c`` of the
context and of the parameters. The day's data (VIX, calendar, volatility) may differ by
row (:mod:`driftwise.policy.context`), so the backtest engine evaluates a block of days
at once, one row per (day, configuration), with this very code.

A trigger describes itself to the engine, which never looks at its class: ``row_wise``,
``reads`` (the day's inputs it needs, :class:`DayInput`), ``params`` (the parameters that
may be arrays shaped ``(C,)``), ``children`` (the triggers it composes) and ``compiled``
(the :class:`DayLoopForm` of the compiled day loop, or None). Compositions derive theirs
from their children. :data:`TRIGGERS` maps each name of ``policy.trigger`` to a
:class:`TriggerSpec`: how to build it from the ``[policy]`` parameters, its label, and the
rules ``driftwise backtest --policy`` runs by name.

Reasons carry their numbers, not text: the text is rendered only when asked
(:meth:`Reason.text`), so the backtest pays nothing for explanations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from driftwise import _kernels
from driftwise._types import TRADING_DAYS, BoolArray, FloatArray
from driftwise._types import CostBenefitForm as CostBenefitForm  # defined there, named here too
from driftwise.policy.context import Anchor, DayContext, Frequency

ParamArray = float | npt.NDArray[np.float64]


@dataclass(frozen=True)
class Reason:
    """One evaluated condition.

    Attributes
    ----------
    code : str
        Stable name (``"drift_threshold"``, ``"calendar"``, ...).
    met : ndarray of bool, shape (C,)
        Where the condition holds.
    template : str
        ``str.format`` template rendered with ``values`` for one configuration.
    values : dict of str to ndarray (C,) or scalar
    otherwise : str
        Template for the rows where ``use_otherwise`` holds (a calendar rule on a day
        that is no review day, a stress gate without stress); empty when unused.
    use_otherwise : ndarray of bool, shape (C,), or bool
    variants : tuple of str
        Alternative templates; row ``c`` uses ``variants[variant[c]]`` when
        ``variant[c] >= 0`` (a gate whose outcome can be said several ways), and
        ``template`` / ``otherwise`` as above when it is -1; empty when unused.
    variant : ndarray of int, shape (C,), or int
    missing : str
        Template for the rows where ``use_missing`` holds: the condition could not be
        evaluated (no VIX); it wins over all others. Empty when unused.
    use_missing : ndarray of bool, shape (C,), or bool
    """

    code: str
    met: BoolArray
    template: str
    values: dict[str, object] = field(default_factory=dict)
    otherwise: str = ""
    use_otherwise: BoolArray | bool = False
    variants: tuple[str, ...] = ()
    variant: npt.NDArray[np.intp] | int = 0
    missing: str = ""
    use_missing: BoolArray | bool = False

    def text(self, config: int = 0) -> str:
        """The reason in words for configuration ``config``."""
        picked = {k: _pick(v, config) for k, v in self.values.items()}
        template = self.template
        if self.otherwise and bool(_pick(self.use_otherwise, config)):
            template = self.otherwise
        which = int(_pick(self.variant, config)) if self.variants else -1  # type: ignore[call-overload]
        if which >= 0:
            template = self.variants[which]
        if self.missing and bool(_pick(self.use_missing, config)):
            template = self.missing
        return template.format(**picked)


def _pick(value: object, config: int) -> object:
    if isinstance(value, ChildrenFired):
        return value.at(config)
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        return value[config] if value.shape[0] > 1 else value[0]
    return value


@dataclass(frozen=True)
class TriggerResult:
    """What a trigger says for C configurations.

    Attributes
    ----------
    fired : ndarray of bool, shape (C,)
    reasons : tuple of Reason
        Every condition evaluated (met or not), leaves first.
    assets : ndarray of bool, shape (C, N), or None
        Assets the rebalance is restricted to (volatility-aware rule); None = all.
    delayed : ndarray of bool, shape (C,), or None
        Configurations whose rebalance is held back by a stress gate.
    delay_days : int
        Trading days a delayed rebalance waits at least.
    """

    fired: BoolArray
    reasons: tuple[Reason, ...]
    assets: BoolArray | None = None
    delayed: BoolArray | None = None
    delay_days: int = 0

    def explain(self, config: int = 0, *, only_met: bool = False) -> list[str]:
        """Reasons in words for one configuration (met ones first)."""
        met = [r.text(config) for r in self.reasons if bool(r.met[config])]
        unmet = [r.text(config) for r in self.reasons if not bool(r.met[config])]
        return met if only_met else met + unmet


class DayInput(StrEnum):
    """A day's input a trigger reads from its :class:`~driftwise.policy.context.DayContext`."""

    DRIFT = "drift"
    """Weights against targets (asset and portfolio drift)."""
    BANDS = "bands"
    """The per-asset tolerance bands."""
    CALENDAR = "calendar"
    """The NYSE period boundaries of the day."""
    VIX = "vix"
    VOLATILITY = "volatility"
    """Annualized volatility per asset."""
    PENDING = "pending"
    """Trading days a delayed rebalance has waited."""
    COSTS = "costs"
    """The day's cost model (the cost of a full rebalance)."""
    COVARIANCE = "covariance"
    """Tracking error: the day's covariance under the full TE model."""


@dataclass(frozen=True)
class DayLoopForm:
    """The one trigger the compiled day loop runs: every row fires on a review day, and a
    row fires when its portfolio drift reaches ``threshold``.

    Attributes
    ----------
    reviews : tuple of Trigger
        Triggers that read only the calendar, evaluated once over the whole window; a
        day on which any fires is a review day. Empty: no review day.
    threshold : float or ndarray, shape (C,), or None
        The drift threshold (fraction of NAV); None: none.
    """

    reviews: tuple[Trigger, ...] = ()
    threshold: ParamArray | None = None

    def __or__(self, other: DayLoopForm) -> DayLoopForm | None:
        """The form of "either fires", or None when both have a threshold."""
        if self.threshold is not None and other.threshold is not None:
            return None
        return DayLoopForm((*self.reviews, *other.reviews),
                           other.threshold if self.threshold is None else self.threshold)


class Trigger(Protocol):
    """Anything with ``evaluate(ctx) -> TriggerResult``, a name and its self-description."""

    @property
    def name(self) -> str:
        """Short description for reports."""
        ...

    @property
    def row_wise(self) -> bool:
        """Row ``c`` of the result depends only on row ``c`` of the context and parameters."""
        ...

    @property
    def reads(self) -> frozenset[DayInput]:
        """The day's inputs the trigger reads (its children's included)."""
        ...

    @property
    def params(self) -> tuple[str, ...]:
        """Names of the parameters that may be arrays shaped ``(C,)`` (one per row)."""
        ...

    @property
    def children(self) -> tuple[Trigger, ...]:
        """The triggers it composes or gates (empty for a leaf)."""
        ...

    @property
    def compiled(self) -> DayLoopForm | None:
        """Its form in the compiled day loop, or None when the loop cannot run it."""
        ...

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        """Evaluate on one day for every configuration of ``ctx``."""
        ...


def _inputs(*inputs: DayInput) -> frozenset[DayInput]:
    return frozenset(inputs)


def _full(ctx: DayContext, value: bool) -> BoolArray:
    return np.full(ctx.n_configs, value, dtype=bool)


def _arr(value: ParamArray, ctx: DayContext) -> FloatArray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (ctx.n_configs,))


@dataclass(frozen=True)
class Never:
    """Never fires (buy and hold)."""

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs()
    params: ClassVar[tuple[str, ...]] = ()
    children: ClassVar[tuple[Trigger, ...]] = ()

    @property
    def compiled(self) -> DayLoopForm | None:
        return DayLoopForm()

    @property
    def name(self) -> str:
        return "never"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        return TriggerResult(_full(ctx, False), (Reason("never", _full(ctx, False),
                                                        "buy and hold: never rebalances"),))


@dataclass(frozen=True)
class Event:
    """Fires at once with a given reason (a target version changed, a mandate event).

    Events trigger immediately.
    """

    reason: str

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs()
    params: ClassVar[tuple[str, ...]] = ()
    children: ClassVar[tuple[Trigger, ...]] = ()
    compiled: ClassVar[DayLoopForm | None] = None

    @property
    def name(self) -> str:
        return f"event: {self.reason}"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        met = _full(ctx, True)
        return TriggerResult(met, (Reason("event", met, self.reason.replace("{", "{{")
                                          .replace("}", "}}")),))


@dataclass(frozen=True)
class Calendar:
    """Fires on the first (or last) NYSE session of each month/quarter/half/year.

    Never fires on the first day of a backtest window.
    """

    frequency: Frequency = Frequency.MONTH
    anchor: Anchor = Anchor.FIRST

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs(DayInput.CALENDAR)
    params: ClassVar[tuple[str, ...]] = ()
    children: ClassVar[tuple[Trigger, ...]] = ()

    @property
    def compiled(self) -> DayLoopForm | None:
        return DayLoopForm(reviews=(self,))

    @property
    def name(self) -> str:
        return f"calendar ({self.frequency.value}, {self.anchor.value} session)"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        met = ctx.calendar_mask(self.frequency, self.anchor)
        return TriggerResult(met, (Reason(
            "calendar", met, "calendar review: {anchor} NYSE session of the {freq}",
            {"anchor": self.anchor.value, "freq": self.frequency.value},
            otherwise="not a calendar review day ({anchor} session of the {freq})",
            use_otherwise=~met),))


@dataclass(frozen=True)
class DriftThreshold:
    """Fires when portfolio drift ``D >= threshold``."""

    threshold: ParamArray = 0.05

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs(DayInput.DRIFT)
    params: ClassVar[tuple[str, ...]] = ("threshold",)
    children: ClassVar[tuple[Trigger, ...]] = ()

    @property
    def compiled(self) -> DayLoopForm | None:
        return DayLoopForm(threshold=self.threshold)

    @property
    def name(self) -> str:
        return f"drift threshold {_show(self.threshold)}"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        h = _kernels.arg(_arr(self.threshold, ctx))
        met = np.empty(ctx.n_configs, dtype=np.bool_)
        _kernels.at_threshold(_kernels.arg(ctx.portfolio_drift, dtype=np.float64), h,
                              met)  # the backtest's compiled drift-threshold loop uses it too
        return TriggerResult(met, (Reason("drift_threshold", met,
                                          "portfolio drift {d:.2%} vs threshold {h:.2%}",
                                          {"d": ctx.portfolio_drift, "h": h}),))


@dataclass(frozen=True)
class AssetBands:
    """Fires when any asset's drift leaves its band (``ctx.band_width``)."""

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs(DayInput.DRIFT, DayInput.BANDS)
    params: ClassVar[tuple[str, ...]] = ()
    children: ClassVar[tuple[Trigger, ...]] = ()
    compiled: ClassVar[DayLoopForm | None] = None

    @property
    def name(self) -> str:
        return "per-asset bands"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        outside = np.abs(ctx.drift) > np.broadcast_to(ctx.band_width, ctx.drift.shape)
        count = outside.sum(axis=1)
        met = count > 0
        return TriggerResult(met, (Reason("asset_band", met,
                                          "{n} asset(s) outside their band", {"n": count}),),
                             assets=None)


@dataclass(frozen=True)
class CostBenefit:
    """Fires when the cost-benefit ratio of a full rebalance is below 1.

    Notes
    -----
    Ratio form: ``C / ΔTE`` with C the one-off cost (fraction of NAV) and ΔTE the drop of
    annualized TE (both fractions; kept for fidelity, dimensionally unsound).
    Utility form (default): benefit ``B = (γ/2)(TE_before² − TE_after²)(H/252)``, the
    certainty-equivalent gain over ``H`` trading days, in the same units as cost.
    A full rebalance leaves TE_after = 0.
    """

    form: CostBenefitForm = CostBenefitForm.UTILITY
    gamma: ParamArray = 2.0
    horizon_days: ParamArray = float(TRADING_DAYS)

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs(DayInput.DRIFT, DayInput.COSTS,
                                                   DayInput.COVARIANCE)
    params: ClassVar[tuple[str, ...]] = ("gamma", "horizon_days")
    children: ClassVar[tuple[Trigger, ...]] = ()
    compiled: ClassVar[DayLoopForm | None] = None

    @property
    def name(self) -> str:
        return f"cost-benefit ({self.form.value})"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        cost = ctx.full_rebalance_cost
        te = ctx.te_before
        if self.form is CostBenefitForm.RATIO:
            benefit = te
        else:
            years = _arr(self.horizon_days, ctx) / TRADING_DAYS
            benefit = 0.5 * _arr(self.gamma, ctx) * te**2 * years
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(benefit > 0, cost / benefit, np.inf)
        met = ratio < 1.0
        return TriggerResult(met, (Reason(
            "cost_benefit", met,
            "cost-benefit ratio {r:.2f} ({form}): cost {c:.4%} of NAV vs benefit {b:.4%}",
            {"r": ratio, "c": cost, "b": benefit, "form": self.form.value}),))


@dataclass(frozen=True)
class VolatilityAware:
    """The methodology's rule 2: trade an asset with σ ≥ ``vol_min`` and |drift| ≥ ``drift_min``.

    The result restricts the rebalance to those assets.
    """

    vol_min: ParamArray = 0.30
    drift_min: ParamArray = 0.03

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs(DayInput.DRIFT, DayInput.VOLATILITY)
    params: ClassVar[tuple[str, ...]] = ("vol_min", "drift_min")
    children: ClassVar[tuple[Trigger, ...]] = ()
    compiled: ClassVar[DayLoopForm | None] = None

    @property
    def name(self) -> str:
        return f"volatility-aware (σ ≥ {_show(self.vol_min)}, |d| ≥ {_show(self.drift_min)})"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        vol = ctx.vol_annual if ctx.vol_annual.ndim == 2 else ctx.vol_annual[None, :]
        vol_ok = vol >= _arr(self.vol_min, ctx)[:, None]
        assets = vol_ok & (np.abs(ctx.drift) >= _arr(self.drift_min, ctx)[:, None])
        count = assets.sum(axis=1)
        met = count > 0
        return TriggerResult(met, (Reason(
            "volatility_aware", met,
            "{n} high-volatility asset(s) (σ ≥ {v:.0%}) drifted ≥ {m:.1%}",
            {"n": count, "v": _arr(self.vol_min, ctx), "m": _arr(self.drift_min, ctx)}),),
            assets=assets)


VIX_BREAKS = (20.0, 30.0)
REGIME_LABELS = np.array(["< 20", "20-30", "> 30"])


def vix_regime(vix: float, breaks: tuple[float, float] = VIX_BREAKS) -> int:
    """0 below 20, 1 for 20-30, 2 from 30 (NaN counts as calm).

    A VIX exactly on a break belongs to the higher regime, as in the cost model
    (:func:`driftwise.costs.regime.vix_regime`): VIX 30 is stress, as in the methodology's rule 4.
    """
    return int(vix_regimes(np.asarray([vix], dtype=np.float64), breaks)[0])


def vix_regimes(vix: FloatArray, breaks: tuple[float, float] = VIX_BREAKS) -> npt.NDArray[np.intp]:
    """:func:`vix_regime` of every element of ``vix`` (any shape), as integers 0, 1, 2."""
    with np.errstate(invalid="ignore"):
        regime = (vix >= breaks[0]).astype(np.intp) + (vix >= breaks[1])
    return np.asarray(np.where(np.isfinite(vix), regime, 0), dtype=np.intp)


@dataclass(frozen=True)
class DynamicThreshold:
    """Drift threshold widened by VIX regime (the methodology's "dynamic thresholds").

    VIX < 20: the base threshold; 20-30: × 1.2; > 30: × 1.5, or, with
    ``pause_in_stress``, no rebalance unless drift ≥ ``extreme``.
    """

    base: ParamArray = 0.05
    multipliers: tuple[float, float, float] = (1.0, 1.2, 1.5)
    pause_in_stress: bool = False
    extreme: ParamArray = 0.15

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = _inputs(DayInput.DRIFT, DayInput.VIX)
    params: ClassVar[tuple[str, ...]] = ("base", "extreme")
    children: ClassVar[tuple[Trigger, ...]] = ()
    compiled: ClassVar[DayLoopForm | None] = None

    @property
    def name(self) -> str:
        return f"dynamic threshold {_show(self.base)} by VIX regime"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        regime = vix_regimes(ctx.vix_rows())
        h = _arr(self.base, ctx) * np.asarray(self.multipliers, dtype=np.float64)[regime]
        if self.pause_in_stress:
            h = np.where(regime == 2, np.maximum(h, _arr(self.extreme, ctx)), h)
        met = ctx.portfolio_drift >= h
        return TriggerResult(met, (Reason(
            "dynamic_threshold", met,
            "portfolio drift {d:.2%} vs VIX-adjusted threshold {h:.2%} (VIX {vix:.1f}, regime {g})",
            {"d": ctx.portfolio_drift, "h": h, "vix": ctx.vix, "g": REGIME_LABELS[regime]},
            missing="portfolio drift {d:.2%} vs threshold {h:.2%} (no VIX: the base regime's "
            "threshold assumed)", use_missing=np.isnan(ctx.vix_rows())),))


@dataclass(frozen=True)
class AnyOf:
    """Fires when any child fires; assets are the union of the children's.

    Its reasons are the children's, then one saying which children fired.
    """

    children: tuple[Trigger, ...]
    label: str = ""

    params: ClassVar[tuple[str, ...]] = ()

    @property
    def row_wise(self) -> bool:
        return all(c.row_wise for c in self.children)

    @property
    def reads(self) -> frozenset[DayInput]:
        return frozenset().union(*(c.reads for c in self.children))

    @property
    def compiled(self) -> DayLoopForm | None:
        """Either fires: the children's review days and their one threshold."""
        form: DayLoopForm | None = DayLoopForm()
        for child in self.children:
            part = child.compiled
            if form is None or part is None:
                return None
            form = form | part
        return form

    @property
    def name(self) -> str:
        return self.label or " or ".join(_child_name(c) for c in self.children)

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        results = [c.evaluate(ctx) for c in self.children]
        fired = np.logical_or.reduce([r.fired for r in results])
        return TriggerResult(fired, (*(x for r in results for x in r.reasons),
                                     _which(self, "any_of", results, fired)),
                             assets=_union_assets(results, ctx))


@dataclass(frozen=True)
class AllOf:
    """Fires when every child fires; assets are the intersection of the children's.

    Its reasons are the children's, then one saying which children fired and which not.
    """

    children: tuple[Trigger, ...]
    label: str = ""

    params: ClassVar[tuple[str, ...]] = ()

    @property
    def row_wise(self) -> bool:
        return all(c.row_wise for c in self.children)

    @property
    def reads(self) -> frozenset[DayInput]:
        return frozenset().union(*(c.reads for c in self.children))

    compiled: ClassVar[DayLoopForm | None] = None

    @property
    def name(self) -> str:
        return self.label or " and ".join(_child_name(c) for c in self.children)

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        results = [c.evaluate(ctx) for c in self.children]
        fired = np.logical_and.reduce([r.fired for r in results])
        masks = [r.assets for r in results if r.assets is not None]
        assets = np.logical_and.reduce(masks) if masks else None
        return TriggerResult(fired, (*(x for r in results for x in r.reasons),
                                     _which(self, "all_of", results, fired)), assets=assets)


def _child_name(child: Trigger) -> str:
    """A child's name, in parentheses when it is itself an unlabelled composition."""
    nested = isinstance(child, AnyOf | AllOf) and not child.label
    return f"({child.name})" if nested else child.name


def _which(trigger: AnyOf | AllOf, code: str, results: list[TriggerResult],
           fired: BoolArray) -> Reason:
    """The reason of a composition: which of its children fired, per configuration.

    The text is rendered only when asked (:class:`ChildrenFired`), with each row's own
    parameters in the children's names.
    """
    which = ChildrenFired(trigger, np.stack([r.fired for r in results], axis=1))
    return Reason(code, fired, "{which}", {"which": which})


@dataclass(frozen=True, eq=False)
class ChildrenFired:
    """Which children of a composition fired, per configuration, as words on demand.

    Attributes
    ----------
    trigger : AnyOf or AllOf
    fired : ndarray of bool, shape (C, n_children)
    """

    trigger: AnyOf | AllOf
    fired: BoolArray

    def at(self, row: int) -> str:
        """The text of configuration ``row``: the children that fired, and those not."""
        row = row if self.fired.shape[0] > 1 else 0
        view = row_view(self.trigger, row)
        assert isinstance(view, AnyOf | AllOf)
        names = [_child_name(c) for c in view.children]
        word = "any" if isinstance(view, AnyOf) else "all"
        head = f"{word} of ({'; '.join(names)})"
        on = [n for n, f in zip(names, self.fired[row], strict=True) if f]
        off = [n for n, f in zip(names, self.fired[row], strict=True) if not f]
        if not on:
            return f"{head}: none fired"
        if not off:
            return f"{head}: all fired"
        return f"{head}: fired {'; '.join(on)}; not fired {'; '.join(off)}"


def row_view(trigger: Trigger, row: int) -> Trigger:
    """``trigger`` with every parameter shaped (C,) taken at ``row`` (nested ones too)."""
    changes: dict[str, object] = {}
    for f in fields(trigger):  # type: ignore[arg-type]
        value = getattr(trigger, f.name)
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] > 1:
            changes[f.name] = float(value[row])
        elif isinstance(value, tuple) and value and all(is_dataclass(v) for v in value):
            changes[f.name] = tuple(row_view(v, row) for v in value)
        elif is_dataclass(value) and hasattr(value, "evaluate"):
            changes[f.name] = row_view(value, row)  # type: ignore[arg-type]
    return replace(trigger, **changes) if changes else trigger  # type: ignore[type-var]


def _union_assets(results: list[TriggerResult], ctx: DayContext) -> BoolArray | None:
    if all(r.assets is None for r in results):
        return None
    out = np.zeros(ctx.drift.shape, dtype=bool)
    for r in results:
        # a child without an asset restriction that fired opens every asset
        mask = r.assets if r.assets is not None else np.broadcast_to(r.fired[:, None], out.shape)
        out |= mask & r.fired[:, None]
    return out


def hybrid(frequency: Frequency = Frequency.MONTH, override: ParamArray = 0.10,
           anchor: Anchor = Anchor.FIRST) -> AnyOf:
    """Calendar review plus an early override when drift ≥ ``override``."""
    return AnyOf((Calendar(frequency, anchor), DriftThreshold(override)),
                 label=f"hybrid ({frequency.value} review + {_show(override)} override)")


@dataclass(frozen=True)
class StressDelay:
    """The methodology's rule 4 as a gate: in stress, hold a moderate rebalance back.

    When ``VIX ≥ vix_min`` and ``D ≤ drift_max`` (and ``D < extreme``), a firing of
    ``inner`` is delayed. A delayed rebalance is taken once ``delay_days`` sessions have
    passed and the stress condition no longer holds, and in any case after
    ``max_delay_days``. ``ctx.pending_days`` (kept by the caller) counts the wait.
    """

    inner: Trigger
    vix_min: float = 30.0
    drift_max: ParamArray = 0.10
    extreme: ParamArray = 0.15
    delay_days: int = 10
    max_delay_days: int = 20

    params: ClassVar[tuple[str, ...]] = ("drift_max", "extreme")
    compiled: ClassVar[DayLoopForm | None] = None

    @property
    def row_wise(self) -> bool:
        return self.inner.row_wise

    @property
    def reads(self) -> frozenset[DayInput]:
        return self.inner.reads | _inputs(DayInput.DRIFT, DayInput.VIX, DayInput.PENDING)

    @property
    def children(self) -> tuple[Trigger, ...]:
        return (self.inner,)

    @property
    def name(self) -> str:
        return f"{self.inner.name}, delayed in stress (VIX ≥ {self.vix_min:g})"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        inner = self.inner.evaluate(ctx)
        with np.errstate(invalid="ignore"):
            stress = ctx.vix_rows() >= self.vix_min  # False for NaN
        drift = ctx.portfolio_drift
        blocked = stress & (drift <= _arr(self.drift_max, ctx)) & (drift < _arr(self.extreme, ctx))
        pending = ctx.pending_days
        waiting = np.isfinite(pending)
        released = (pending >= self.delay_days) & ~blocked
        due = waiting & (released | (pending >= self.max_delay_days))
        fired = (inner.fired & ~blocked) | due
        delayed = (inner.fired | waiting) & ~fired
        reason = Reason("stress_delay", delayed | (waiting & fired), STRESS_TEXT[0],
                        {"vix": ctx.vix, "vmin": self.vix_min, "d": drift,
                         "dmax": _arr(self.drift_max, ctx), "lo": self.delay_days,
                         "hi": self.max_delay_days, "p": pending,
                         "ext": _arr(self.extreme, ctx)},
                        otherwise="no stress delay (VIX {vix:.1f} < {vmin:g})",
                        use_otherwise=~stress, variants=STRESS_TEXT,
                        variant=_stress_variant(stress, blocked, delayed, waiting, fired, pending,
                                                self.max_delay_days, drift,
                                                _arr(self.extreme, ctx)),
                        missing="no VIX: stress delay not evaluated (the methodology's rule 4 "
                        "needs the VIX)", use_missing=np.isnan(ctx.vix_rows()) & ~waiting)
        return TriggerResult(fired, (*inner.reasons, reason), assets=inner.assets,
                             delayed=delayed, delay_days=self.delay_days)


STRESS_TEXT = (
    "stress: VIX {vix:.1f} ≥ {vmin:g} with drift {d:.2%} ≤ {dmax:.0%}: delay {lo}-{hi} "
    "trading days",
    "stress: VIX {vix:.1f} ≥ {vmin:g} with drift {d:.2%} ≤ {dmax:.0%}: delay continues "
    "({p:g} of at most {hi} trading days waited)",
    "stress: VIX {vix:.1f} ≥ {vmin:g} with drift {d:.2%} ≤ {dmax:.0%}, but no rebalance is "
    "due to hold back",
    "stress delay of {hi} trading days used up: rebalance due now",
    "stress: VIX {vix:.1f} ≥ {vmin:g}, but drift {d:.2%} ≥ the extreme {ext:.0%}: no delay",
    "stress: VIX {vix:.1f} ≥ {vmin:g}, but drift {d:.2%} > {dmax:.0%}: no delay",
    "stress delay over after {p:g} trading days: rebalance due now",
    "stress delay continues ({p:g} of at least {lo} trading days waited)",
)
"""What the stress gate says (:attr:`Reason.variants`); without stress and with nothing
pending it says ``Reason.otherwise``."""


def _stress_variant(stress: BoolArray, blocked: BoolArray, delayed: BoolArray, waiting: BoolArray,
                    fired: BoolArray, pending: FloatArray, max_days: int, drift: FloatArray,
                    extreme: FloatArray) -> npt.NDArray[np.intp]:
    """Index into :data:`STRESS_TEXT` of each row; -1 (``otherwise``) for a row without
    stress and with nothing pending."""
    used_up = waiting & fired & (pending >= max_days)
    return np.asarray(np.select(
        [delayed & ~waiting, delayed & blocked, delayed, used_up, waiting & fired, ~stress,
         blocked, drift >= extreme],
        [0, 1, 7, 3, 6, -1, 2, 4], default=5), dtype=np.intp)


def _show(value: ParamArray) -> str:
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    return f"{arr[0]:.0%}" if arr.size == 1 else f"{arr.min():.0%}..{arr.max():.0%}"


def time_and_threshold(frequency: Frequency = Frequency.QUARTER, threshold: ParamArray = 0.05,
                       anchor: Anchor = Anchor.FIRST) -> AllOf:
    """Review on a calendar, and rebalance then only when drift ``D >= threshold``.

    Notes
    -----
    The time-and-threshold rule of Jaconetti, Kinniry and Zilbering, "Best practices for
    portfolio rebalancing" (Vanguard, 2010): the portfolio is looked at only on review
    days, and traded only when it has drifted far enough by then; fewer trades than a
    pure threshold watched daily, none of the calendar rule's trades of a small drift.
    """
    return AllOf((Calendar(frequency, anchor), DriftThreshold(threshold)),
                 label=f"{CALENDAR_ADJECTIVE[frequency]} review if drift ≥ {_show(threshold)}")

# ----------------------------------------------------------------- registry


PolicyParams: TypeAlias = Any
"""The ``[policy]`` section a trigger's factory reads its parameters from, by name.

Deliberately untyped here: a new trigger parameter is a field of the configuration's
``[policy]`` model and a read in its factory below, nothing else (the template line is
written from the field's description). A factory that reads a name the model lacks
fails on first use in the registry's own test (``tests/policy/test_trigger_registry.py``
builds every entry from the default configuration).
"""


@dataclass(frozen=True)
class NamedPolicy:
    """A rule run by name (``driftwise backtest --policy NAME``): one trigger with some of
    its ``[policy]`` parameters set.

    Attributes
    ----------
    name : str
        The name on the command line (``"vix-delayed"``).
    settings : mapping of str to object
        ``[policy]`` fields it sets, e.g. ``{"frequency": Frequency.MONTH}``.
    thresholded : bool
        It reads ``policy.threshold``, which ``--threshold`` sets (one rule per value).
    stress_delay, skip_if_cost_exceeds_benefit : bool
        The stress gate and the cost-benefit skip (both off unless the rule is them).
    """

    name: str
    settings: Mapping[str, object] = field(default_factory=dict)
    thresholded: bool = False
    stress_delay: bool = False
    skip_if_cost_exceeds_benefit: bool = False


@dataclass(frozen=True)
class TriggerSpec:
    """One name of ``policy.trigger``: how to build its trigger and how to call it.

    Attributes
    ----------
    summary : str
        What it does, in one line.
    build : callable
        The trigger from the ``[policy]`` parameters (without the stress gate).
    label : callable
        Its short name in reports from the same parameters (``"threshold 5%"``).
    policies : tuple of NamedPolicy
        The rules ``driftwise backtest --policy`` runs with it.
    fires : bool
        False for the rule that never fires: it is neither composed nor gated.
    """

    summary: str
    build: Callable[[PolicyParams], Trigger]
    label: Callable[[PolicyParams], str]
    policies: tuple[NamedPolicy, ...] = ()
    fires: bool = True


CALENDAR_ADJECTIVE = {Frequency.DAY: "daily", Frequency.WEEK: "weekly",
                      Frequency.MONTH: "monthly", Frequency.QUARTER: "quarterly",
                      Frequency.HALF: "semiannual", Frequency.YEAR: "annual"}


def _pct(value: float) -> str:
    return f"{100.0 * value:g}%"


def _calendar(p: PolicyParams) -> str:
    return CALENDAR_ADJECTIVE[p.frequency] + (" (last session)" if p.anchor is Anchor.LAST
                                              else "")


def _review(frequency: Frequency) -> NamedPolicy:
    return NamedPolicy(CALENDAR_ADJECTIVE[frequency],
                       {"frequency": frequency, "anchor": Anchor.FIRST})


def _volatility_aware(p: PolicyParams) -> Trigger:
    """The methodology's rule 2 on top of the drift threshold, as the methodology intends
    it: a tighter, per-asset rule for high-volatility assets."""
    return AnyOf((DriftThreshold(p.threshold),
                  VolatilityAware(p.vol_aware_min_vol, p.vol_aware_min_drift)),
                 label="threshold + volatility-aware (Rule 2)")


def _dynamic(p: PolicyParams) -> Trigger:
    low, mid, high = p.dynamic_multipliers
    return DynamicThreshold(p.threshold, (low, mid, high), p.dynamic_stress_pause,
                            p.extreme_drift)


TRIGGERS: dict[str, TriggerSpec] = {
    "never": TriggerSpec(
        "buy and hold", lambda p: Never(), lambda p: "never", (NamedPolicy("never"),),
        fires=False),
    "calendar": TriggerSpec(
        "the first (or last) NYSE session of each period", lambda p: Calendar(p.frequency,
                                                                               p.anchor),
        _calendar, (*(_review(f) for f in (Frequency.DAY, Frequency.WEEK, Frequency.MONTH,
                                           Frequency.QUARTER, Frequency.YEAR)),
                    # reviewed at every close; the optimizer's no-trade region decides
                    NamedPolicy("optimized", {"frequency": Frequency.DAY,
                                              "anchor": Anchor.FIRST,
                                              "destination": "optimized"}))),
    "threshold": TriggerSpec(
        "portfolio drift at or above the threshold", lambda p: DriftThreshold(p.threshold),
        lambda p: f"threshold {_pct(p.threshold)}",
        (NamedPolicy("threshold", thresholded=True),
         NamedPolicy("vix-delayed", thresholded=True, stress_delay=True))),
    "bands": TriggerSpec("any asset outside its band", lambda p: AssetBands(),
                         lambda p: "per-asset bands"),
    "hybrid": TriggerSpec(
        "a calendar review or an early override on drift",
        lambda p: hybrid(p.frequency, p.hybrid_override, p.anchor),
        lambda p: f"hybrid ({_calendar(p)} + {_pct(p.hybrid_override)})",
        (NamedPolicy("hybrid", {"frequency": Frequency.MONTH, "hybrid_override": 0.10}),)),
    "cost_benefit": TriggerSpec(
        "a full rebalance's benefit above its cost",
        lambda p: CostBenefit(p.cost_benefit_form, p.tracking_aversion,
                              float(p.benefit_horizon_days)),
        lambda p: "cost-benefit",
        (NamedPolicy("cost-benefit", {"cost_benefit_form": CostBenefitForm.UTILITY},
                     skip_if_cost_exceeds_benefit=True),)),
    "volatility_aware": TriggerSpec(
        "the threshold, or a high-volatility asset's drift", _volatility_aware,
        lambda p: f"volatility-aware {_pct(p.threshold)}",
        (NamedPolicy("volatility-aware", {"vol_aware_min_vol": 0.30,
                                          "vol_aware_min_drift": 0.03}, thresholded=True),)),
    "dynamic": TriggerSpec(
        "the threshold widened by VIX regime",
        _dynamic,
        lambda p: f"dynamic {_pct(p.threshold)}",
        (NamedPolicy("dynamic", {"dynamic_multipliers": (1.0, 1.2, 1.5),
                                 "dynamic_stress_pause": False}, thresholded=True),)),
    "time_and_threshold": TriggerSpec(
        "the threshold, looked at on calendar reviews only",
        lambda p: time_and_threshold(p.frequency, p.threshold, p.anchor),
        lambda p: f"{_calendar(p)} review, threshold {_pct(p.threshold)}",
        (NamedPolicy("time-and-threshold", thresholded=True),)),
}
"""Every single trigger by its ``policy.trigger`` name (``any_of`` / ``all_of`` compose
these); what the configuration, the named policies and ``--policy`` are built from."""
