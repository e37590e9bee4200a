"""Build the kernel objects from a validated :class:`~driftwise.config.Config`.

The configuration is plain validated data; the kernels (cost model, triggers, sizing)
know nothing of it. This module is the one place that maps the one onto the other, so
the planner, the backtest and every command configure the kernels the same way.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd

from driftwise.calendar import DateLike
from driftwise.config.model import (
    COMPOSITE,
    Config,
    PolicyConfig,
    TeModel,
    TriggerComponent,
    TriggerKind,
)
from driftwise.costs import CostParams, ImpactModel
from driftwise.costs.params import configured_fields
from driftwise.errors import ConfigError
from driftwise.metrics.risk import CovarianceEstimator
from driftwise.metrics.risk_model import MonitorConfig
from driftwise.policy.context import Frequency

if TYPE_CHECKING:
    from driftwise.backtest.batches import Window
    from driftwise.backtest.engine import BacktestResult
    from driftwise.backtest.grid import Bands, RuleGrid
    from driftwise.backtest.history import HistorySettings, MarketHistory, RiskSettings
    from driftwise.data.model import Inputs
    from driftwise.policy.factors import FactorSettings
    from driftwise.policy.optimize import OptimizerSettings
    from driftwise.policy.rule import Rule
    from driftwise.policy.triggers import Trigger
    from driftwise.validation.study import Falsification, StudySettings

Progress = Callable[[int, int], None]


def cost_params(config: Config) -> CostParams:
    """The cost model's parameters from ``[costs]`` and ``[constraints]``."""
    c = config.costs
    return CostParams(
        impact_model=ImpactModel(c.impact_model.value),
        impact_coef=c.impact_coef,
        vix_breaks=tuple(c.vix_breaks),
        vix_multipliers=tuple(c.vix_multipliers),
        participation=c.participation,
        cost_scale=c.cost_scale,
        flat_cost_bps=c.flat_cost_bps,
        stale_after_days=c.stale_after_days,
        illiquid_adv_usd=config.constraints.min_adv_usd,
        illiquid_days=config.constraints.max_liquidity_days,
        multi_day_days=config.execution.multi_day_after_days,
        adv_window_days=c.adv_window_days,
        default_commission_bps=c.commission_bps if c.commission_per_share_usd is None else 0.0,
        default_commission_per_share_usd=c.commission_per_share_usd or 0.0,
        default_min_ticket_usd=c.min_ticket_usd,
        default_borrow_bps_annual=c.borrow_bps_annual,
        **{name: getattr(c, name) for name in configured_fields()},
    )


def monitor_config(config: Config, *, one_way_cost: float | None = None) -> MonitorConfig:
    """The monitor's settings from ``[policy]`` and ``[risk]``."""
    windows = config.risk.cov_windows_days
    base = MonitorConfig()
    return MonitorConfig(
        threshold=config.policy.threshold,
        vol_window_days=config.risk.vol_window_days,
        short_window_days=windows[0],
        long_window_days=windows[-1],
        estimator=CovarianceEstimator(config.risk.estimator.value),
        band_abs=config.policy.band_abs,
        band_rel=config.policy.band_rel,
        band_mode=config.policy.band_mode,
        drift_cap=config.risk.drift_cap,
        one_way_cost=base.one_way_cost if one_way_cost is None else one_way_cost,
        tracking_aversion=config.policy.tracking_aversion,
    )


def build_rule(config: Config, trigger: Trigger | None = None) -> Rule:
    """The rule ``[policy]`` and ``[constraints]`` describe (``trigger`` overrides)."""
    from driftwise.policy.constraints import Constraints
    from driftwise.policy.destination import Destination
    from driftwise.policy.rule import Rule

    p, c = config.policy, config.constraints
    constraints = Constraints(
        long_only=c.long_only, cash_buffer=c.cash_buffer, min_trade_usd=c.min_trade_usd,
        min_trade_shares=c.min_trade_shares, whole_shares=c.whole_shares,
        do_not_buy=frozenset(c.do_not_buy), do_not_sell=frozenset(c.do_not_sell),
        max_turnover=c.max_turnover)
    return Rule(
        trigger=trigger if trigger is not None else build_trigger(p),
        destination=Destination(p.destination.value),
        constraints=constraints,
        skip_if_cost_exceeds_benefit=p.skip_if_cost_exceeds_benefit,
        gamma=p.tracking_aversion, horizon_days=float(p.benefit_horizon_days),
        cost_constrained_multiple=p.cost_constrained_multiple,
        min_adv_usd=c.min_adv_usd, max_liquidity_days=c.max_liquidity_days,
        participation=config.costs.participation, optimizer=optimizer_settings(config))


def optimizer_settings(config: Config) -> OptimizerSettings:
    """The optimized destination's settings of ``[optimizer]``."""
    from driftwise.policy.optimize import OptimizerSettings

    o = config.optimizer
    factors = _factor_settings(o.factors, o.factor_window_days, o.factor_bound,
                               o.factor_penalty)
    return OptimizerSettings(gamma=o.gamma, gamma_trade=o.gamma_trade, max_weight=o.max_weight,
                             group_deviation=o.group_deviation, group_by=o.group_by,
                             factors=factors, tax_weight=o.tax_weight)


@functools.lru_cache(maxsize=64)
def _factor_settings(specs: tuple[str, ...], window_days: int, bound: float | None,
                     penalty: float) -> FactorSettings:
    """The factor settings of ``[optimizer]``'s factor keys, built once per distinct keys
    (a frozen value: the configurations of a sweep share it)."""
    from driftwise.policy.factors import FactorSettings, parse_factor

    return FactorSettings(factors=tuple(parse_factor(f) for f in specs),
                          window_days=window_days, bound=bound, penalty=penalty)


def build_trigger(policy: PolicyConfig) -> Trigger:
    """The trigger ``[policy]`` describes, wrapped in the stress gate when enabled.

    A single trigger is built by its entry of :data:`~driftwise.policy.triggers.TRIGGERS`.
    ``any_of`` / ``all_of`` compose the triggers of ``policy.triggers`` (one level of
    nested ``{ any_of | all_of = [...] }`` allowed), each built as the same name would be
    alone, with its own parameters of ``[policy]``; the stress gate wraps the whole (a
    rule that never fires is not gated).
    """
    from driftwise.policy.triggers import TRIGGERS, StressDelay

    kind = policy.trigger
    if kind in COMPOSITE:
        trigger = _composed(policy, kind, policy.triggers)
    else:
        spec = TRIGGERS[kind.value]
        trigger = spec.build(policy)
        if not spec.fires:
            return trigger
    if policy.stress_delay:
        trigger = StressDelay(trigger, policy.stress_vix, policy.stress_max_drift,
                              policy.extreme_drift, policy.delay_days, policy.max_delay_days)
    return trigger


def _composed(policy: PolicyConfig, mode: TriggerKind,
              items: tuple[TriggerComponent, ...]) -> Trigger:
    from driftwise.policy.triggers import AllOf, AnyOf

    children = tuple(_component(policy, item) if isinstance(item, TriggerKind)
                     else _composed(policy, item.mode, item.components) for item in items)
    return AnyOf(children) if mode is TriggerKind.ANY_OF else AllOf(children)


def _component(policy: PolicyConfig, kind: TriggerKind) -> Trigger:
    """One trigger kind with its parameters of ``[policy]`` (no stress gate)."""
    from driftwise.policy.triggers import TRIGGERS

    spec = TRIGGERS.get(kind.value)
    if spec is None or not spec.fires:
        raise ConfigError(f"policy.trigger: {kind.value!r} is not a trigger that can be "
                          "composed")
    return spec.build(policy)


# ------------------------------------------------------------- backtest grid


def risk_settings(config: Config) -> RiskSettings:
    """How a backtest estimates the per-day risk inputs, from ``[risk]``."""
    from driftwise.backtest.history import RiskSettings

    windows = config.risk.cov_windows_days
    return RiskSettings(vol_window_days=config.risk.vol_window_days,
                        short_window_days=windows[0], long_window_days=windows[-1],
                        full_te=config.risk.te_model is TeModel.FULL)


def bands(config: Config) -> Bands:
    """The default per-asset bands of ``[policy]``."""
    from driftwise.backtest.grid import Bands

    p = config.policy
    return Bands(p.band_abs, p.band_rel, p.band_mode)


def _block_key(config: Config, rule: Rule, estimation: object) -> tuple[object, ...]:
    """What must be equal for two configurations to share a block of the rule grid
    (``rule``: :func:`build_rule` of ``config``; ``estimation``:
    :meth:`CostParams.estimation` of its cost parameters).

    Cost parameters that only price trades (cost level, scale, VIX multipliers, impact
    model) may differ: each row of a block is priced with its own. What the per-day market
    inputs depend on (:meth:`CostParams.estimation`, the risk windows) may not.
    """
    from driftwise.backtest.grid import trigger_structure

    # every compared field of the rule but the trigger, and of its optimizer settings
    # but γ and γ_trade (rows of the block): the fields dataclass equality compares,
    # read rather than copied into a new rule (whose settings would be validated again)
    optimizer = rule.optimizer
    shape = (tuple(getattr(rule, f.name) for f in dataclasses.fields(rule)
                   if f.compare and f.name not in ("trigger", "optimizer")),
             tuple(getattr(optimizer, f.name) for f in dataclasses.fields(optimizer)
                   if f.compare and f.name not in ("gamma", "gamma_trade")))
    return (shape, trigger_structure(rule.trigger), risk_settings(config), estimation,
            bands(config), config.costs.accept_stale_costs)


def rule_grid(configs: Sequence[Config], names: Sequence[str] | None = None) -> RuleGrid:
    """The rule grid of ``configs``: configurations that differ only in trigger and pricing
    parameters (and the optimized destination's γ and γ_trade) form one block, their
    triggers stacked (first appearance order).

    Parameters
    ----------
    configs : sequence of Config
    names : sequence of str, optional
        Labels (default :func:`~driftwise.config.policies.policy_name`, made unique).

    Raises
    ------
    ConfigError
        No configuration, or names of the wrong length or repeated.
    """
    from driftwise.backtest.grid import RuleBlock, RuleGrid, stack_triggers
    from driftwise.config.policies import describe_configs, unique_names

    configs = list(configs)
    if not configs:
        raise ConfigError("backtest: no configuration to run")
    labels = unique_names(configs, names)
    all_rules = [build_rule(config) for config in configs]
    # the cost parameters of each distinct [costs], [constraints] and [execution] (what
    # cost_params reads; a sweep of thresholds has one), and their estimation part, once
    params_of: dict[tuple[object, ...], CostParams] = {}
    estimation_of: dict[int, object] = {}
    all_params = []
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, config in enumerate(configs):
        sections = (config.costs, config.constraints, config.execution)
        params = params_of.get(sections)
        if params is None:
            params = params_of[sections] = cost_params(config)
            estimation_of[id(params)] = params.estimation()
        all_params.append(params)
        key = _block_key(config, all_rules[i], estimation_of[id(params)])
        groups.setdefault(key, []).append(i)
    blocks = []
    for members in groups.values():
        first = configs[members[0]]
        rules = [all_rules[i] for i in members]
        member_params = [all_params[i] for i in members]
        sets = list(dict.fromkeys(member_params))
        optimizer = dataclasses.replace(
            rules[0].optimizer, gamma=np.array([float(r.optimizer.gamma) for r in rules]),
            gamma_trade=np.array([float(r.optimizer.per_row("gamma_trade", 1)[0])
                                  for r in rules]))  # NaN: "auto"
        blocks.append(RuleBlock(
            rule=dataclasses.replace(rules[0], trigger=stack_triggers([r.trigger for r in rules]),
                                     optimizer=optimizer),
            costs=tuple(sets),
            cost_rows=np.array([sets.index(p) for p in member_params], dtype=np.intp),
            risk=risk_settings(first), bands=bands(first),
            accept_stale_costs=first.costs.accept_stale_costs,
            positions=np.asarray(members, dtype=np.intp)))
    return RuleGrid(tuple(blocks), tuple(labels), lambda: describe_configs(configs, labels),
                    ConfigTexts(configs))


class ConfigTexts(Sequence[str]):
    """Configurations as TOML, each written when first read (a sweep of thousands of
    configurations pays the serialization only if its results are saved)."""

    def __init__(self, configs: Sequence[Config]) -> None:
        self._configs = list(configs)
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._configs)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        i = range(len(self))[index]
        if i not in self._texts:
            self._texts[i] = self._configs[i].to_toml()
        return self._texts[i]


def run_window(configs: Sequence[Config], start: DateLike | None = None,
                    end: DateLike | None = None, inputs: Inputs | None = None) -> Window:
    """The common window of ``configs`` (``start``/``end`` override ``[backtest]``); the
    starting NAV from :func:`~driftwise.backtest.batches.starting_nav` (``inputs``'
    holdings when the configurations leave ``backtest.initial_nav_usd`` unset).

    Raises
    ------
    ConfigError
        No configuration, or configurations disagreeing on the window, the start from
        holdings, the initial NAV or the interest on cash (one run has one window and one
        start).
    """
    from driftwise.backtest.batches import Window, starting_nav

    if not configs:
        raise ConfigError("backtest: no configuration to run")
    b = configs[0].backtest
    fields = ["start_from_holdings", "initial_nav_usd", "cash_earns_risk_free"]
    fields += ["start"] if start is None else []
    fields += ["end"] if end is None else []
    for name in fields:
        values = {getattr(c.backtest, name) for c in configs}
        if len(values) > 1:
            raise ConfigError(f"backtest: every configuration of one run needs the same "
                              f"backtest.{name}; found {sorted(map(str, values))}")
    nav, source = starting_nav(inputs, b.initial_nav_usd)
    return Window(b.start if start is None else start, b.end if end is None else end,
                  b.start_from_holdings, nav, source,
                  cash_earns_risk_free=b.cash_earns_risk_free)


def backtest_configs(inputs: Inputs, configs: Sequence[Config], *,
                     start: DateLike | None = None, end: DateLike | None = None,
                     names: Sequence[str] | None = None, progress: Progress | None = None,
                     histories: dict[HistorySettings, MarketHistory] | None = None,
                     workers: int | None = None,
                     scheduler: str | None = None) -> BacktestResult:
    """:func:`~driftwise.backtest.engine.run_backtest` of the rule grid and window of
    ``configs`` (:func:`rule_grid`, :func:`run_window`; ``start``/``end`` override
    ``[backtest]``; ``workers`` and ``scheduler``: where the run's chunks go, the
    caller's choice or ``[cluster]``'s)."""
    from driftwise.backtest.engine import run_backtest

    configs = list(configs)
    window = run_window(configs, start, end, inputs)
    return run_backtest(inputs, rule_grid(configs, names), window, progress=progress,
                        histories=histories, workers=workers, scheduler=scheduler)


def history_settings(config: Config) -> HistorySettings:
    """What a backtest of ``config`` estimates its per-day market inputs with."""
    from driftwise.backtest.history import HistorySettings

    return HistorySettings.of(risk_settings(config), cost_params(config))


# ------------------------------------------------------- rule-validation study


def study_settings(config: Config | None = None, *, nav_usd: float = 1_000_000.0,
                   start: str | None = None, end: str | None = None,
                   review: Frequency = Frequency.QUARTER,
                   cost_levels_bps: tuple[float, ...] | None = None,
                   **options: Any) -> StudySettings:
    """The settings of a rule-validation study of ``config`` (default: every default).

    The configuration is read here, once: the rule, the model costs, the risk settings,
    γ and the falsification backtest become a
    :class:`~driftwise.validation.study.StudyModel`.

    Parameters
    ----------
    config : Config, optional
    nav_usd : float
        NAV of every path and of the falsification backtest, USD.
    start, end : str, optional
        The window (YYYY-MM-DD; default the data's, or ``[backtest]``'s for the backtest).
    review : Frequency
        Calendar of the base policy (and of Rule 1's alternative).
    cost_levels_bps : tuple of float, optional
        Flat cost levels studied beside the model costs, bps (default
        ``[backtest] cost_levels_bps``, 10, 20 and 50 unless configured).
    **options
        The other fields of :class:`~driftwise.validation.study.StudySettings`
        (``workers``, ``chunks``, ``rules``, ``bootstrap_samples``, ``seed`` ...).

    Raises
    ------
    ConfigError
        Invalid options (see ``StudySettings``).
    """
    from driftwise.validation.study import StudyModel, StudySettings

    config = config if config is not None else Config()
    if cost_levels_bps is None:
        cost_levels_bps = tuple(float(c) for c in config.backtest.cost_levels_bps)
    costs = cost_params(config)
    model = StudyModel(
        rule=build_rule(config), costs=costs, risk=risk_settings(config),
        tracking_aversion=config.policy.tracking_aversion,
        falsification=falsification_runs(config, nav_usd=nav_usd, start=start, end=end,
                                         review=review, cost_levels_bps=cost_levels_bps),
        config=config.non_defaults())
    return StudySettings(model=model, nav_usd=nav_usd, start=start, end=end, review=review,
                         cost_levels_bps=cost_levels_bps, **options)


def falsification_runs(config: Config, *, nav_usd: float, start: str | None,
                       end: str | None, review: Frequency,
                       cost_levels_bps: tuple[float, ...]) -> Falsification:
    """The falsification backtest of a study: threshold 5%, the ``review`` calendar and
    monthly on ``config``, under its model costs and each flat level of
    ``cost_levels_bps``, starting at ``nav_usd``.

    The grid is made to travel to worker processes: its parameter table and texts are
    written now (a dozen configurations).
    """
    from driftwise.backtest.grid import RuleGrid
    from driftwise.config import policies
    from driftwise.validation.study import (
        FALSIFICATION_POLICIES,
        Falsification,
        cost_models,
        run_name,
    )

    base = config.with_overrides({"backtest.initial_nav_usd": nav_usd}, source="validate-rules")
    configs, names = [], []
    for s in cost_models(cost_params(config), cost_levels_bps)[:-1]:
        cfg = base if s.level_bps is None else base.with_overrides(
            {"costs.flat_cost_bps": s.level_bps}, source="validate-rules")
        runs = (policies.threshold(0.05, base=cfg), policies.calendar(review, base=cfg),
                policies.monthly(base=cfg))
        for policy, c in zip(FALSIFICATION_POLICIES, runs, strict=True):
            configs.append(c)
            names.append(run_name(policy, s.label))
    grid = rule_grid(configs, names)
    portable = RuleGrid(grid.blocks, grid.names, StoredTable(grid.describe()),
                        tuple(grid.texts))
    return Falsification(portable, run_window(configs, start, end), review,
                         cost_levels_bps)


@dataclass(frozen=True, eq=False)
class StoredTable:
    """A parameter table written once, returned as a copy on each call (a grid's
    ``describe`` that pickles)."""

    frame: pd.DataFrame

    def __call__(self) -> pd.DataFrame:
        return self.frame.copy()
