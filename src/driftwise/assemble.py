"""Build the kernel objects from a validated :class:`~driftwise.config.Config`.

The configuration is plain validated data; the kernels (cost model, triggers, sizing)
know nothing of it. This module is the one place that maps the one onto the other, so
the planner, the backtest and every command configure the kernels the same way.
"""

from __future__ import annotations

from driftwise.config import COMPOSITE, Config, PolicyConfig, TriggerComponent, TriggerKind
from driftwise.costs import CostParams, ImpactModel
from driftwise.errors import ConfigError
from driftwise.metrics.risk import CovarianceEstimator
from driftwise.monitor import MonitorConfig
from driftwise.policy.constraints import Constraints
from driftwise.policy.destination import Destination
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import TRIGGERS, AllOf, AnyOf, StressDelay, Trigger


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
        participation=config.costs.participation)


def build_trigger(policy: PolicyConfig) -> Trigger:
    """The trigger ``[policy]`` describes, wrapped in the stress gate when enabled.

    A single trigger is built by its entry of :data:`~driftwise.policy.triggers.TRIGGERS`.
    ``any_of`` / ``all_of`` compose the triggers of ``policy.triggers`` (one level of
    nested ``{ any_of | all_of = [...] }`` allowed), each built as the same name would be
    alone, with its own parameters of ``[policy]``; the stress gate wraps the whole (a
    rule that never fires is not gated).
    """
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
    children = tuple(_component(policy, item) if isinstance(item, TriggerKind)
                     else _composed(policy, item.mode, item.components) for item in items)
    return AnyOf(children) if mode is TriggerKind.ANY_OF else AllOf(children)


def _component(policy: PolicyConfig, kind: TriggerKind) -> Trigger:
    """One trigger kind with its parameters of ``[policy]`` (no stress gate)."""
    spec = TRIGGERS.get(kind.value)
    if spec is None or not spec.fires:
        raise ConfigError(f"policy.trigger: {kind.value!r} is not a trigger that can be "
                          "composed")
    return spec.build(policy)
