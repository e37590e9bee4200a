"""Configuration: one TOML file, every field with a default.

A :class:`Config` holds one frozen, validated section per concern: ``[policy]`` (when
and what to), ``[constraints]``, ``[optimizer]`` (the optimized destination), ``[costs]``,
``[risk]``, ``[execution]``, ``[tax]``, ``[backtest]`` (the sensitivity grid),
``[portfolio]`` and ``[data]``. Every field has a default,
its unit in its name (``_usd``, ``_bps``, ``_days``; weights and rates are fractions)
and a description. Unknown keys are errors, so a typo such as ``treshold`` never
silently falls back to a default, and so are the keys of :data:`UNSUPPORTED` (features not
built yet): every key a configuration may set changes what some command does
(``tests/test_config_keys.py`` checks each one).

``policy.trigger = "any_of"`` or ``"all_of"`` composes the triggers of
``policy.triggers`` (names, or one level of nested ``{ any_of | all_of = [...] }``
tables; :class:`TriggerGroup`), each with its own parameters of ``[policy]``.

Entry points: :func:`load_config` (a TOML file), :func:`loads_config` (TOML text),
:func:`default_config`, :func:`write_default_config` (the commented template of
:mod:`driftwise.config.template`), :meth:`Config.to_toml` (what a result stores),
:meth:`Config.describe` (JSON) and :meth:`Config.with_overrides` (command-line options).
Every invalid value raises :class:`~driftwise.errors.ConfigError` naming the file, the
line when known, the dotted field (``policy.threshold``), what was expected and what
was found.

Enums shared with the kernels (``Frequency``, ``Anchor``, ``BandMode``,
``CostBenefitForm``, ``CovarianceEstimator``, ``ExecutionStyle``, ``OrderType``,
``DefaultTarget``) are imported from the modules that use them, so a configured value is
passed on as is.
Those modules must therefore not import this one at module level.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    create_model,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from driftwise._atomic import write_text
from driftwise._types import (
    AUTO,
    DEFAULT_GAMMA,
    CostBenefitForm,
    Destination,
    ExecutionStyle,
    GroupBy,
    ImpactModel,
    OrderType,
)
from driftwise.costs.params import CostParams, configured_fields
from driftwise.data._table import TICKER_PATTERN
from driftwise.data.jumps import parse_jump_key
from driftwise.data.model import DefaultTarget
from driftwise.errors import ConfigError
from driftwise.metrics.drift import BandMode
from driftwise.metrics.risk import CovarianceEstimator
from driftwise.policy.context import Anchor, Frequency
from driftwise.policy.factors import DEFAULT_FACTOR_SPECS, MIN_OBSERVATIONS, parse_factor

__all__ = [
    "COMPONENTS",
    "COMPOSITE",
    "UNSUPPORTED",
    "AccountsConfig",
    "BacktestConfig",
    "ClusterConfig",
    "Config",
    "ConstraintsConfig",
    "CostsConfig",
    "DataConfig",
    "Destination",
    "ExecutionConfig",
    "GroupBy",
    "ImpactModel",
    "LotRelief",
    "OptimizerConfig",
    "OrderType",
    "PolicyConfig",
    "PortfolioConfig",
    "RecordConfig",
    "RiskConfig",
    "TaxConfig",
    "TeModel",
    "TriggerComponent",
    "TriggerKind",
    "accepted_jumps",
    "complete_template",
    "default_config",
    "default_config_toml",
    "load_config",
    "loads_config",
    "write_default_config",
]


class TriggerKind(StrEnum):
    """Which trigger decides *when* to rebalance.

    ``ANY_OF`` and ``ALL_OF`` compose the triggers listed in ``policy.triggers``.
    """

    NEVER = "never"
    CALENDAR = "calendar"
    THRESHOLD = "threshold"
    BANDS = "bands"
    HYBRID = "hybrid"
    COST_BENEFIT = "cost_benefit"
    VOLATILITY_AWARE = "volatility_aware"
    DYNAMIC = "dynamic"
    TIME_AND_THRESHOLD = "time_and_threshold"
    ANY_OF = "any_of"
    ALL_OF = "all_of"


COMPOSITE = (TriggerKind.ANY_OF, TriggerKind.ALL_OF)
"""Trigger kinds that compose the triggers of ``policy.triggers``."""

COMPONENTS = tuple(k for k in TriggerKind if k is not TriggerKind.NEVER and k not in COMPOSITE)
"""Trigger kinds that may be a component of a composition."""

MAX_COMPONENTS = 8
"""Most triggers one ``any_of`` / ``all_of`` list may hold."""


class TeModel(StrEnum):
    """Tracking error with the full covariance or its diagonal approximation."""

    DIAGONAL = "diagonal"
    FULL = "full"


class LotRelief(StrEnum):
    """Which tax lots a sale relieves first."""

    HIFO = "hifo"
    FIFO = "fifo"
    MIN_TAX = "min_tax"
    SPECIFIC = "specific"


# ---------------------------------------------------------------- validators


def show_value(value: Any) -> str:
    """A found value as an error message shows it
    (:func:`driftwise.config.messages.show_value`, loaded with the first error)."""
    from driftwise.config.messages import show_value as shown

    return shown(value)


def _invalid(expected: str, *, field: str | None = None, found: str | None = None,
             related: str | None = None) -> Exception:
    """A validation error saying what was expected.

    ``field`` names the offending field of a section-level check (the error's location
    is the section), ``related`` another field whose line serves when ``field`` is not
    in the file, ``found`` the value shown.
    """
    ctx: dict[str, Any] = {"expected": expected}
    for key, value in (("field", field), ("found", found), ("related", related)):
        if value is not None:
            ctx[key] = value
    return PydanticCustomError("driftwise", "{expected}", ctx)


def _increasing(values: tuple[float, ...]) -> tuple[float, ...]:
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise _invalid("values in strictly increasing order")
    return values


def _unique(values: tuple[Any, ...]) -> tuple[Any, ...]:
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise _invalid("each value once", found=f"{show_value(str(v))} twice")
        seen.add(v)
    return values


def _tickers(values: tuple[str, ...]) -> tuple[str, ...]:
    out = tuple(v.strip().upper() for v in values)
    for raw, ticker in zip(values, out, strict=True):
        if not TICKER_PATTERN.match(ticker):
            raise _invalid("tickers of letters, digits and . - /", found=show_value(raw))
    return _unique(out)


def _factor_specs(values: tuple[str, ...]) -> tuple[str, ...]:
    names = []
    for raw in values:
        try:
            name, long, short = parse_factor(raw)
        except ValueError:
            raise _invalid("factors written 'name = TICKER' or 'name = LONG - SHORT'",
                           found=show_value(str(raw))) from None
        for ticker in (long, short):
            if ticker is not None and not TICKER_PATTERN.match(ticker):
                raise _invalid("tickers of letters, digits and . - /", found=show_value(raw))
        names.append(name)
    if not values:
        raise _invalid("at least one factor", found="[]")
    _unique(tuple(names))
    return values


def _date_input(value: object) -> object:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _invalid("a date such as 2020-01-31 (no time of day)")


Increasing = AfterValidator(_increasing)
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
Tickers = Annotated[tuple[str, ...], AfterValidator(_tickers), Field(strict=False)]
OptionalDate = Annotated[date | None, BeforeValidator(_date_input)]
LaxImpactModel = Annotated[ImpactModel, Strict(False)]
Triple = Annotated[tuple[Positive, Positive, Positive], Strict(False)]


def _f(default: Any, description: str, **constraints: Any) -> Any:
    """A field with its default, description and numeric constraints (gt, ge, le...)."""
    return Field(default=default, description=description, **constraints)


def _lax(default: Any, description: str, **constraints: Any) -> Any:
    """A field TOML gives in another type: an enum as its string, a tuple as a list."""
    return Field(default=default, description=description, strict=False, **constraints)


class _Section(BaseModel):
    """A section of the configuration. Its validator is built when first used
    (``defer_build``): a command given no configuration file reads only the defaults
    (:func:`default_config`), which need none."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              defer_build=True)


# ------------------------------------------------------- composed triggers


class TriggerGroup(_Section):
    """One nested composition in ``policy.triggers``: ``{ all_of = ["calendar", ...] }``.

    Exactly one of the two fields is set, to two or more component kinds.
    """

    any_of: tuple[TriggerKind, ...] | None = _f(None, "Fires when any of these fires.")
    all_of: tuple[TriggerKind, ...] | None = _f(None, "Fires when all of these fire.")

    @model_serializer(mode="wrap")
    def _only_the_set_key(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}

    @property
    def mode(self) -> TriggerKind:
        """``ANY_OF`` or ``ALL_OF``."""
        return TriggerKind.ANY_OF if self.any_of is not None else TriggerKind.ALL_OF

    @property
    def components(self) -> tuple[TriggerKind, ...]:
        """The composed trigger kinds."""
        return self.any_of if self.any_of is not None else (self.all_of or ())


TriggerComponent = TriggerKind | TriggerGroup


def _component_kind(item: object, where: str) -> TriggerKind:
    """A component name as a :class:`TriggerKind` that can be composed."""
    name = item.value if isinstance(item, TriggerKind) else item
    if not isinstance(name, str):
        raise _invalid("a trigger name or a table { any_of = [...] } / { all_of = [...] }",
                       field=where, found=show_value(name))
    if name in COMPOSITE:
        raise _invalid(f"a trigger name; nest with {{ {name} = [...] }} instead",
                       field=where, found=show_value(name))
    if name == TriggerKind.NEVER:
        raise _invalid("a trigger that can fire (never cannot be composed)", field=where,
                       found=show_value(name))
    names = [k.value for k in COMPONENTS]
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise _invalid("one of " + ", ".join(f"'{k}'" for k in names), field=where,
                       found=show_value(name) + hint)
    return TriggerKind(name)


def _component_list(items: object, where: str, *, nested: bool) -> tuple[TriggerComponent, ...]:
    if not isinstance(items, list | tuple):
        raise _invalid('a list of trigger names, e.g. ["threshold", "calendar"]',
                       field=where or None, found=show_value(items))
    if len(items) > MAX_COMPONENTS:
        raise _invalid(f"at most {MAX_COMPONENTS} triggers", field=where or None,
                       found=f"{len(items)}")
    out: list[TriggerComponent] = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if isinstance(item, Mapping | TriggerGroup):
            if nested:
                raise _invalid("a trigger name: compositions nest one level deep at most",
                               field=here, found="a table")
            out.append(_group(item, here))
        else:
            out.append(_component_kind(item, here))
    for i, item in enumerate(out):
        if item in out[:i]:
            raise _invalid("each trigger once", field=f"{where}[{i}]",
                           found=f"{show_value(_shown(item))} twice")
    return tuple(out)


def _shown(item: TriggerComponent) -> object:
    if isinstance(item, TriggerKind):
        return item.value
    return {item.mode.value: [k.value for k in item.components]}


def _group(item: Mapping[str, Any] | TriggerGroup, where: str) -> TriggerGroup:
    data = item.model_dump() if isinstance(item, TriggerGroup) else dict(item)
    keys = [k for k, v in data.items() if v is not None]
    if len(keys) != 1 or keys[0] not in COMPOSITE:
        raise _invalid("a table with one key, any_of or all_of", field=where,
                       found="{" + ", ".join(map(str, keys)) + "}")
    mode = keys[0]
    inner = _component_list(data[mode], f"{where}.{mode}", nested=True)
    if len(inner) < 2:
        raise _invalid("at least two triggers", field=f"{where}.{mode}",
                       found=show_value([_shown(k) for k in inner]))
    return TriggerGroup.model_validate({mode: inner})


def _components(value: object) -> tuple[TriggerComponent, ...]:
    """``policy.triggers``: names, or one level of nested ``{ any_of | all_of = [...] }``."""
    return _component_list(value, "", nested=False)


TriggerList = Annotated[tuple[TriggerComponent, ...], BeforeValidator(_components)]


# ------------------------------------------------------------------ sections


class PolicyConfig(_Section):
    """``[policy]``: when to rebalance (trigger) and what to (destination)."""

    trigger: TriggerKind = _lax(TriggerKind.THRESHOLD, "Rule deciding when to rebalance.")
    frequency: Frequency = _lax(Frequency.QUARTER,
                                "Review period of the triggers with a calendar review.")
    anchor: Anchor = _lax(Anchor.FIRST, "First or last NYSE session of the period.")
    threshold: float = _f(0.05, "Portfolio drift that triggers, fraction of NAV (0: any drift).",
                          ge=0, le=1)
    hybrid_override: float = _f(0.10, "Hybrid early-override drift, fraction of NAV.",
                                gt=0, le=1)
    band_abs: Fraction = _f(0.02, "Per-asset absolute band, fraction of NAV.")
    band_rel: Fraction = _f(0.25, "Per-asset relative band, fraction of the target weight.")
    band_mode: BandMode = _lax(BandMode.LARGER, "absolute, relative or the larger of both.")
    cost_benefit_form: CostBenefitForm = _lax(
        CostBenefitForm.UTILITY,
        "Benefit as certainty equivalent (utility) or the ratio cost / ΔTE (ratio).")
    tracking_aversion: Positive = _f(2.0, "γ of the utility benefit (γ/2)·ΔTE²·H/252.")
    benefit_horizon_days: int = _f(252, "Horizon H of the benefit, trading days.", ge=1)
    vol_aware_min_vol: Positive = _f(0.30, "Rule 2: σ_60d at or above, annualized.")
    vol_aware_min_drift: float = _f(0.03, "Rule 2: |d_i| at or above, fraction of NAV.",
                                    gt=0, le=1)
    stress_delay: bool = _f(True, "Rule 4: delay moderate rebalances while VIX is high.")
    stress_vix: Positive = _f(30.0, "Rule 4: VIX at or above is stress, index points.")
    stress_max_drift: Fraction = _f(0.10, "Rule 4: delay only at or below, fraction of NAV.")
    extreme_drift: float = _f(0.15, "Drift overriding delays, fraction of NAV.", gt=0, le=1)
    delay_days: int = _f(10, "Rule 4: minimum delay, trading days.", ge=0)
    max_delay_days: int = _f(20, "Rule 4: maximum delay, trading days.", ge=0)
    dynamic_multipliers: Triple = _lax((1.0, 1.2, 1.5), "Threshold multiplier by VIX regime.")
    dynamic_stress_pause: bool = _f(False, "Top VIX regime: pause unless drift is extreme.")
    triggers: TriggerList = _f((), "Components of an any_of / all_of trigger.")
    destination: Destination = _lax(Destination.FULL, "What a rebalance trades to.")
    cost_constrained_multiple: Positive = _f(2.0, "Trade an asset if benefit > this × cost.")
    skip_if_cost_exceeds_benefit: bool = _f(True, "Skip a rebalance costing more than it gains.")

    @model_validator(mode="after")
    def _cross_checks(self) -> PolicyConfig:
        need_abs = self.band_mode is BandMode.ABSOLUTE and self.band_abs <= 0.0
        need_rel = self.band_mode is BandMode.RELATIVE and self.band_rel <= 0.0
        if need_abs or need_rel or (self.band_abs <= 0.0 and self.band_rel <= 0.0):
            name = "band_rel" if need_rel else "band_abs"
            raise _invalid(f"{name} > 0 for band_mode = {show_value(self.band_mode.value)}",
                           field=name, found=repr(getattr(self, name)), related="band_mode")
        if self.max_delay_days < self.delay_days:
            raise _invalid(f"max_delay_days ≥ delay_days ({self.delay_days})",
                           field="max_delay_days", found=str(self.max_delay_days),
                           related="delay_days")
        if self.extreme_drift < self.stress_max_drift:
            raise _invalid(f"extreme_drift ≥ stress_max_drift ({self.stress_max_drift})",
                           field="extreme_drift", found=repr(self.extreme_drift),
                           related="stress_max_drift")
        self._check_composition()
        return self

    def _check_composition(self) -> None:
        shown = show_value([_shown(k) for k in self.triggers])
        if self.trigger in COMPOSITE and len(self.triggers) < 2:
            raise _invalid(f"at least two triggers to compose for trigger = "
                           f"{show_value(self.trigger.value)}, e.g. "
                           '["threshold", "calendar"]', field="triggers", found=shown,
                           related="trigger")
        if self.trigger not in COMPOSITE and self.triggers:
            raise _invalid('no triggers list unless trigger = "any_of" or "all_of" (the list '
                           f"is read only then; trigger is {show_value(self.trigger.value)})",
                           field="triggers", found=shown, related="trigger")


class OptimizerConfig(_Section):
    """``[optimizer]``: the optimized destination (``policy.destination = "optimized"``)."""

    gamma: Positive = _f(DEFAULT_GAMMA, "Risk aversion γ of (γ/2)·(w − t)'Σ(w − t).")
    gamma_trade: Positive | Literal["auto"] = _f(
        AUTO, "Trade aversion: multiple of the cost; \"auto\": 5 × (N_eff / 20)^(-2/3) of "
        "the target's effective number of names N_eff, at least 1.5.")
    max_weight: float = _f(1.0, "Upper bound of each asset's weight, fraction of NAV.",
                           gt=0, le=1)
    group_deviation: float | None = _f(None, "Largest group deviation |Σ(w − t)|, fraction "
                                       "of NAV.", ge=0, le=1)
    group_by: GroupBy = _lax(GroupBy.SECTOR, "Security-master column grouping the assets.")
    factors: Annotated[tuple[str, ...], AfterValidator(_factor_specs), Field(strict=False)] = \
        _f(DEFAULT_FACTOR_SPECS, "Factor proxies, 'name = TICKER' or 'name = LONG - SHORT'.")
    factor_window_days: int = _f(252, "Sessions of returns the factor betas are estimated "
                                 "from.", ge=MIN_OBSERVATIONS)
    factor_bound: float | None = _f(None, "Largest |B'(w − t)| of each factor after trading.",
                                    ge=0, le=10)
    factor_penalty: float = _f(0.0, "λ of the penalty λ·||B'(w − t)||² on factor exposures.",
                               ge=0)
    tax_weight: float = _f(0.25, "γ_tax: multiple of the tax of the sales in the objective "
                                 "(tax enabled, with lots; 1: at face value).", ge=0, le=100)


class ConstraintsConfig(_Section):
    """``[constraints]``: the mandate a trade list must respect."""

    long_only: bool = _f(True, "No short position after trading.")
    cash_buffer: float = _f(0.0, "Cash kept back, fraction of NAV.", ge=0, lt=1)
    min_trade_usd: float = _f(100.0, "Smaller trades are dropped, USD.", ge=0)
    min_trade_shares: float = _f(0.0, "Smaller trades are dropped, shares.", ge=0)
    whole_shares: bool = _f(True, "Round trades to whole shares.")
    do_not_buy: Tickers = _f((), "Tickers never bought.")
    do_not_sell: Tickers = _f((), "Tickers never sold.")
    max_turnover: Positive = _f(1.0, "Cap on ½Σ|trade_usd|/NAV of one rebalance.")
    min_adv_usd: float = _f(1_000_000.0, "Illiquid below this average daily volume, USD.", ge=0)
    max_liquidity_days: Positive = _f(10.0, "Illiquid above this many liquidity days.")


class _CostsSection(_Section):
    """``[costs]``: one cost model for the planner, the backtest and the rule validation.

    Besides the fields below, every cost-model parameter declared configurable where it is
    defined (:func:`driftwise.costs.params.configured_fields`, e.g. ``execution_days``) is a
    key of this section under its own name.
    """

    impact_model: ImpactModel = _lax(ImpactModel.SQUARE_ROOT, "Market-impact model.")
    impact_coef: float = _f(1.0, "Y of the square-root law Y·σ_daily·sqrt(Q/ADV).", ge=0)
    vix_breaks: Annotated[tuple[Positive, Positive], Increasing] = _lax(
        (20.0, 30.0), "VIX levels splitting the three regimes, index points.")
    vix_multipliers: Triple = _lax((1.0, 1.5, 2.5), "Spread and impact multiplier by regime.")
    participation: float = _f(0.10, "Assumed share of daily volume.", gt=0, le=1)
    cost_scale: float = _f(1.0, "Multiplies every cost (sensitivity runs).", ge=0)
    flat_cost_bps: float | None = _f(None, "All-in cost replacing the model, bps.", ge=0)
    stale_after_days: int = _f(30, "Cost inputs older are stale, calendar days.", ge=1)
    accept_stale_costs: bool = _f(False, "Plan with stale cost inputs anyway (flagged).")
    commission_bps: float = _f(1.0, "Commission when the cost file has none, bps.", ge=0)
    commission_per_share_usd: float | None = _f(None, "Replaces commission_bps, USD.", ge=0)
    min_ticket_usd: float = _f(0.0, "Minimum commission per order, USD.", ge=0)
    borrow_bps_annual: float = _f(25.0, "Borrow cost of shorts when none given.", ge=0)
    adv_window_days: int = _f(60, "Average daily volume window, trading days.", ge=1)


def _configured_cost_fields() -> dict[str, Any]:
    hints = get_type_hints(CostParams)
    return {name: (hints[name], _f(default, text, **bounds))
            for name, (default, text, bounds) in configured_fields().items()}


if TYPE_CHECKING:
    CostsConfig = _CostsSection
else:
    CostsConfig = create_model("CostsConfig", __base__=_CostsSection, __module__=__name__,
                               __doc__=_CostsSection.__doc__, **_configured_cost_fields())


class RiskConfig(_Section):
    """``[risk]``: volatility, covariance and tracking error."""

    vol_window_days: int = _f(60, "Volatility window, trading days.", ge=2)
    cov_windows_days: Annotated[tuple[Annotated[int, Field(ge=2)], ...], Increasing] = _lax(
        (60, 252), "Covariance windows, trading days.", min_length=1)
    estimator: CovarianceEstimator = _lax(CovarianceEstimator.LEDOIT_WOLF,
                                          "Long-window covariance the monitor shows beside "
                                          "the sample one.")
    te_model: TeModel = _lax(TeModel.FULL, "Full covariance or diagonal tracking error.")
    drift_cap: float = _f(0.5, "|d_i| above is capped and flagged.", gt=0, le=1)


class ExecutionConfig(_Section):
    """``[execution]``: how orders are worked."""

    style: ExecutionStyle = _lax(ExecutionStyle.VWAP, "twap, vwap or pov.")
    participation: float = _f(0.10, "POV cap, fraction of volume.", gt=0, le=1)
    multi_day_after_days: Positive = _f(5.0, "Multi-day above this many liquidity days.")
    risk_aversion: float = _f(1e-6, "Almgren-Chriss λ, per USD.", ge=0)
    slices_per_day: int = _f(13, "Child-order buckets per session.", ge=1)
    order_type: OrderType = _lax(OrderType.MARKET, "market or limit child orders.")


def _pairs(values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        ticker, colon, other = value.partition(":")
        if not colon or not ticker.strip() or not other.strip() or \
                ticker.strip().upper() == other.strip().upper():
            raise _invalid("TICKER:REPLACEMENT with two different tickers, e.g. XLK:VGT",
                           found=show_value(value))
        out.append(f"{ticker.strip().upper()}:{other.strip().upper()}")
    return _unique(tuple(out))


class TaxConfig(_Section):
    """``[tax]``: lots, the tax of each sale, and the decision after tax.

    Lots are relieved by ``lot_relief`` and shown with their holding period whenever the
    holdings carry lots. ``enabled`` makes the plan decide after tax
    (:mod:`driftwise.policy.tax_gate`): each sale's tax at the rates below is a cost next
    to spread, commission and impact, short-term gains close to turning long-term are
    deferred, wash sales are held back, and the yearly gain budget caps realized gains.
    The ``harvest_*`` keys set which lots are loss-harvest candidates and how their
    value is shown (the plan's harvest table, ``driftwise harvest``).
    """

    enabled: bool = _f(False, "Decide after tax: the tax of each sale is a cost.")
    lot_relief: LotRelief = _lax(LotRelief.HIFO, "Lots a sale relieves first.")
    specific_lots: Annotated[tuple[str, ...], Field(strict=False)] = _f(
        (), "Lot ids relieved first under lot_relief = \"specific\", TICKER:YYYY-MM-DD.")
    short_term_rate: Fraction = _f(0.37, "Tax on short-term gains, fraction of the gain.")
    long_term_rate: Fraction = _f(0.20, "Tax on long-term gains, fraction of the gain.")
    state_rate: Fraction = _f(0.0, "State tax on every gain, fraction of the gain.")
    niit_rate: Fraction = _f(0.038, "Net investment income tax, fraction of the gain.")
    long_term_after_days: Annotated[int, Field(ge=1)] | None = _f(
        None, "Long-term after holding this many calendar days; default: after the "
              "anniversary.")
    gain_budget_usd: Annotated[float, Field(ge=0)] | None = _f(
        None, "Most realized net gain per calendar year, USD; default: no cap.")
    defer_short_term_gains: bool = _f(True, "Defer short-term gains about to turn long-term.")
    defer_horizon_days: int = _f(60, "Defer lots turning long-term within this many "
                                     "calendar days.", ge=0)
    wash_sale_days: int = _f(30, "Wash-sale window before and after a loss sale, calendar "
                                 "days.", ge=0)
    allow_wash_sales: bool = _f(False, "Propose trades that wash a loss (flagged) instead "
                                       "of holding them back.")
    harvest_loss_threshold: Fraction = _f(0.10, "Smallest loss harvested, fraction of the "
                                                "lot's basis.")
    harvest_min_loss_usd: float = _f(1000.0, "Smallest loss harvested, USD.", ge=0)
    harvest_pairs: Annotated[tuple[str, ...], AfterValidator(_pairs), Field(strict=False)] = \
        _f((), "Replacements of harvested tickers, TICKER:REPLACEMENT (else cash).")
    harvest_in_trades: bool = _f(False, "Put the proposed harvest sales and their "
                                        "replacement buys in the plan's trade list and "
                                        "orders.")
    harvest_discount_rate_annual: Fraction = _f(
        0.05, "Discount rate of the tax paid back later, per year.")
    harvest_years_to_sale: Positive = _f(10.0, "Years until a replacement is sold.")

    @model_validator(mode="after")
    def _specific(self) -> TaxConfig:
        if self.lot_relief is LotRelief.SPECIFIC and not self.specific_lots:
            raise _invalid("a list of lot ids (specific_lots) for specific relief",
                           field="specific_lots", found="[]", related="lot_relief")
        return self


class BacktestConfig(_Section):
    """``[backtest]``: the window and the sensitivity grid."""

    start: OptionalDate = _f(None, "First day; default: the first day of the data.")
    end: OptionalDate = _f(None, "Last day; default: the last day of the data.")
    start_from_holdings: bool = _f(False, "Start from the holdings, not the targets.")
    initial_nav_usd: Positive | None = _f(
        None, "Starting NAV, USD; default: the holdings' NAV, else USD 1,000,000.")
    cash_earns_risk_free: bool = _f(
        True, "Cash earns the risk-free rate of the day before each night (1 + rf / 252); "
        "false: cash earns nothing.")
    thresholds: Annotated[tuple[Annotated[float, Field(ge=0, le=1)], ...], Increasing] = _lax(
        (0.03, 0.05, 0.07, 0.10), "Drift thresholds to sweep, fraction of NAV (0: any drift).",
        min_length=1)
    cost_levels_bps: Annotated[tuple[Annotated[float, Field(ge=0)], ...], Increasing] = _lax(
        (10.0, 20.0, 50.0), "All-in cost levels to sweep, bps.", min_length=1)
    vix_multipliers: tuple[Triple, ...] = _lax(
        ((1.0, 1.0, 1.0), (1.0, 1.5, 2.5), (1.0, 2.0, 3.0)),
        "Regime multiplier triples to sweep.", min_length=1)
    impact_models: Annotated[tuple[LaxImpactModel, ...], AfterValidator(_unique)] = _lax(
        (ImpactModel.SQUARE_ROOT, ImpactModel.ALMGREN_2005), "Impact models to sweep.",
        min_length=1)
    bootstrap_block_days: int = _f(21, "Bootstrap block length, trading days.", ge=1)
    bootstrap_samples: int = _f(1000, "Bootstrap resamples.", ge=1)
    seed: int = _f(0, "Random seed.", ge=0)

    @model_validator(mode="after")
    def _cross_checks(self) -> BacktestConfig:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise _invalid(f"a date after start ({self.start.isoformat()})",
                           field="end", found=self.end.isoformat(), related="start")
        return self


class PortfolioConfig(_Section):
    """``[portfolio]``: facts about the portfolio that the input files do not carry."""

    last_rebalance: OptionalDate = _f(None, "Date of the last rebalance.")
    default_target: DefaultTarget = _lax(DefaultTarget.EQUAL, "Target when none is given.")


def _jump_keys(values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            ticker, day = parse_jump_key(value)
        except ValueError:
            raise _invalid("TICKER:YYYY-MM-DD, e.g. OXY:2020-03-09",
                           found=show_value(value)) from None
        out.append(f"{ticker}:{day.date()}")
    return _unique(tuple(out))


class DataConfig(_Section):
    """``[data]``: what the price checks accept."""

    accept_jumps: Annotated[tuple[str, ...], AfterValidator(_jump_keys), Field(strict=False)] = \
        _f((), "One-day price jumps known to be real, TICKER:YYYY-MM-DD.")


class RecordConfig(_Section):
    """``[record]``: where the portfolio record lives (``--db`` overrides it)."""

    path: str | None = _f(None, "SQLite file of the record (default: the DRIFTWISE_DB "
                          "variable, else ~/.local/share/driftwise/record.sqlite).")
    url: str | None = _f(None, "Database URL of a shared record, e.g. "
                         "postgresql+psycopg://user@host/driftwise (instead of path).")

    @model_validator(mode="after")
    def _one_address(self) -> RecordConfig:
        if self.path and self.url:
            raise _invalid("path or url, not both", field="url", found=show_value(self.url),
                           related="path")
        return self


class ClusterConfig(_Section):
    """``[cluster]``: where large runs (backtest sweeps, validate-rules) share their work
    (``--workers`` and ``--scheduler`` override it)."""

    workers: int | None = _f(None, "Worker processes of the local Dask cluster (default: "
                             "backtest every core when the run is large enough, "
                             "validate-rules 2; 1: this process alone).", ge=1)
    scheduler: str | None = _f(None, "Address of a running Dask scheduler, e.g. "
                               "tcp://10.0.0.5:8786 (default: a local cluster).",
                               min_length=1)


class AccountsConfig(_Section):
    """``[accounts]``: the household rules of ``driftwise daily`` (accounts grouped in
    households with a tax status: ``driftwise import --accounts``) and of ``driftwise
    plan --all --accounts FILE``."""

    asset_location: bool = _f(False, "Within a household, hold its tax-inefficient assets "
                              "in its tax-deferred accounts first: the household's targets "
                              "split across its accounts by tax status before planning.")
    tax_inefficient_classes: tuple[str, ...] = _lax(
        ("Bond", "REIT"), "Asset classes (security master asset_class, any case) whose "
        "income is taxed as it comes: placed in tax-deferred accounts first.")
    tax_inefficient_tickers: Tickers = _f((), "Tickers placed in tax-deferred accounts "
                                          "first, whatever their asset class.")


class Config(_Section):
    """The whole configuration; every section and field has a default."""

    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    constraints: ConstraintsConfig = Field(default_factory=ConstraintsConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    costs: CostsConfig = Field(default_factory=CostsConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    tax: TaxConfig = Field(default_factory=TaxConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    portfolio: PortfolioConfig = Field(default_factory=PortfolioConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    record: RecordConfig = Field(default_factory=RecordConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    accounts: AccountsConfig = Field(default_factory=AccountsConfig)

    def to_toml(self) -> str:
        """The configuration as TOML text that :func:`loads_config` reads back equal.

        Unset optional fields (``None``) are left out, as TOML has no null; lists are
        written on one line.
        """
        blocks = []
        for section, fields in self.model_dump(mode="python", exclude_none=True).items():
            body = "".join(f"{key} = {_literal(value)}\n" for key, value in fields.items())
            blocks.append(f"[{section}]\n{body}")
        return "\n".join(blocks)

    def describe(self) -> dict[str, Any]:
        """The configuration as a JSON-ready dict (enums as strings, dates ISO, None null)."""
        return self.model_dump(mode="json")

    def non_defaults(self) -> dict[str, Any]:
        """Fields that differ from the defaults, as ``{"policy.threshold": 0.03}`` (JSON values)."""
        mine, base = self.describe(), Config().describe()
        return {f"{s}.{k}": v for s, fields in mine.items() for k, v in fields.items()
                if base[s][k] != v}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Config:
        """Validate a nested dict shaped like the TOML file (e.g. from JSON).

        Raises
        ------
        ConfigError
            Naming ``source``, the dotted field, what was expected and what was found.
        """
        return _validate(dict(data), source=source, text=None)

    def with_overrides(self, overrides: Mapping[str, object], *,
                       source: str = "overrides") -> Config:
        """A copy with dotted fields replaced, e.g. ``{"policy.threshold": 0.03}``.

        Raises
        ------
        ConfigError
            Naming ``source``, the field, what was expected and what was found.
        """
        data: dict[str, Any] = self.model_dump(mode="python")
        for dotted, value in overrides.items():
            *parents, key = dotted.split(".")
            node = data
            for part in parents:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ConfigError(f"{source}, field '{dotted}': '{part}' is not a section")
                node = child
            node[key] = value
        return _validate(data, source=source, text=None)


def _literal(value: object) -> str:
    """One TOML value; scalars are formatted by tomli_w, lists and tables inline."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_literal(v)}" for k, v in value.items()) + " }"
    import tomli_w

    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def complete_template(template: str) -> str:
    """``template`` with a commented line for every field of :class:`Config` it does not show.

    Each field is written where the model declares it: the template's own lines (a comment,
    then ``key = default``) where it has them, otherwise the field's description and its
    default. So a new field needs no hand-written template line (one may be added for a
    longer comment or a commented example of an optional field).

    Raises
    ------
    ValueError
        A field missing from the template whose default is None: it needs a hand-written,
        commented example.
    """
    import textwrap

    chunks = re.split(r"(?m)^(?=\[\w+\]$)", template)
    out = [chunks[0]]
    for chunk in chunks[1:]:
        header, body = chunk.split("\n", 1)
        model = Config.model_fields[header.strip("[]")].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        blocks: dict[str, str] = {}
        lines: list[str] = []
        for line in body.splitlines(keepends=True):
            lines.append(line)
            key = re.match(r"^(?:# )?(\w+) = ", line)
            if key:
                blocks[key[1]] = "".join(lines)
                lines = []
        tail = "".join(lines)
        parts = [header + "\n"]
        for name, info in model.model_fields.items():
            if name not in blocks and info.default is None:
                raise ValueError(f"config template: write a commented example of the optional "
                                 f"field {header.strip('[]')}.{name}")
            parts.append(blocks.get(name) or "".join(
                f"# {text}\n" for text in textwrap.wrap(info.description or name, 98)
            ) + f"{name} = {_literal(info.default)}\n")
        out.append("".join(parts) + tail)
    return "".join(out)


@functools.cache
def default_config_toml() -> str:
    """The commented default configuration that ``driftwise config init`` writes
    (``DEFAULT_CONFIG_TOML``), built on first use: reading a configuration does not need
    it, and its trigger lines import the trigger registry."""
    from driftwise.config.template import template_toml

    return complete_template(template_toml())


def __getattr__(name: str) -> str:
    """``DEFAULT_CONFIG_TOML``: :func:`default_config_toml`."""
    if name == "DEFAULT_CONFIG_TOML":
        return default_config_toml()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------- loading


def default_config() -> Config:
    """The configuration with every default (equal to the commented template).

    Built from the fields' defaults without running the validators (``model_construct``),
    which would first build every section's validator (about half the import of this
    module): the defaults are valid by construction, as ``Config()`` checks (a test holds
    the two equal).
    """
    sections = {name: info.annotation.model_construct()  # type: ignore[union-attr]
                for name, info in Config.model_fields.items()}
    return Config.model_construct(_fields_set=set(), **sections)


def accepted_jumps(config: Config, given: Sequence[str] | None = None) -> tuple[str, ...]:
    """The price jumps accepted as real: the configuration's ``data.accept_jumps``, then
    ``given`` (``--accept-jump``), each once."""
    return tuple(dict.fromkeys((*config.data.accept_jumps, *(given or ()))))


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file.

    Raises
    ------
    ConfigError
        When the file is missing, unreadable, not TOML, or holds an unknown key or an
        invalid value; the message names the file, the line when known, the dotted field,
        what was expected and what was found.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return loads_config(text, source=str(path))


def loads_config(text: str, *, source: str = "<string>") -> Config:
    """Validate TOML text; ``source`` names it in error messages."""
    import tomllib

    from driftwise.config.messages import toml_message

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_message(str(exc), source)) from None
    return _validate(data, source=source, text=text)


def write_default_config(path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the commented default configuration to ``path`` and return the path.

    Raises
    ------
    ConfigError
        When the file exists and ``overwrite`` is false, or it cannot be written.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ConfigError(f"{path}: file exists and was left unchanged; "
                          "choose another path or ask to overwrite it")
    try:
        write_text(path, default_config_toml())  # atomic: a stopped write leaves no half file
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write configuration file ({exc.strerror})") from None
    return path


UNSUPPORTED: dict[tuple[str, str], str] = {
    ("costs", "spread_window_days"): "no input carries a spread history to average (the cost "
                                     "file gives one spread per ticker, used as it is)",
}
"""Keys a configuration may not set, with the reason: nothing would read them."""


def _unsupported(data: Mapping[str, Any], source: str, text: str | None) -> None:
    """Raise a ConfigError naming every key of :data:`UNSUPPORTED` that ``data`` sets."""
    from driftwise.config.messages import key_lines

    lines = key_lines(text) if text is not None else {}
    found: list[tuple[int, str]] = []
    for (section, key), why in UNSUPPORTED.items():
        table = data.get(section)
        if isinstance(table, Mapping) and key in table:
            line = lines.get((section, key))
            where = source + (f", line {line}" if line is not None else "")
            found.append((line or 0, f"{where}, field '{section}.{key}': {section}.{key} is "
                                     f"not supported yet: {why}; remove the key"))
    problems = [text for _, text in sorted(found)]
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems in {source}:\n"
                          + "\n".join(f"  {p}" for p in problems))


def _validate(data: Mapping[str, Any], *, source: str, text: str | None) -> Config:
    _unsupported(data, source, text)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        from driftwise.config.messages import key_lines, render

        lines = key_lines(text) if text is not None else {}
        errors = exc.errors()
        # a list with a bad item is also reported as "too short": keep only the item
        deeper = {tuple(e["loc"][:n]) for e in errors for n in range(len(e["loc"]))}
        problems = [render(e, source, lines, Config) for e in errors
                    if not (e["type"] == "too_short" and tuple(e["loc"]) in deeper)]
        if len(problems) == 1:
            raise ConfigError(problems[0]) from None
        raise ConfigError(f"{len(problems)} problems in {source}:\n"
                          + "\n".join(f"  {p}" for p in problems)) from None
