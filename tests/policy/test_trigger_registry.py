"""Triggers describe themselves; one registry names them for the configuration, the named
policies and ``--policy``; the engine asks the trigger, never its class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from driftwise.backtest import blocks, compiled, grid
from driftwise.config import COMPOSITE, Config, TriggerKind, policies
from driftwise.config.assemble import build_trigger
from driftwise.config.policies import PolicyName
from driftwise.policy.context import DayContext, Frequency
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import (
    TRIGGERS,
    AllOf,
    AnyOf,
    AssetBands,
    Calendar,
    CostBenefit,
    DayInput,
    DayLoopForm,
    DriftThreshold,
    DynamicThreshold,
    Never,
    Reason,
    StressDelay,
    Trigger,
    TriggerResult,
    VolatilityAware,
    hybrid,
)


def test_the_registry_names_every_single_trigger_of_the_configuration() -> None:
    assert set(TRIGGERS) == {k.value for k in TriggerKind if k not in COMPOSITE}


def test_every_trigger_builds_from_the_default_policy() -> None:
    for name, spec in TRIGGERS.items():
        policy = Config().with_overrides({"policy.trigger": name}).policy
        trigger = spec.build(policy)
        assert trigger.row_wise and trigger.name and spec.label(policy)


def test_leaves_declare_what_they_read() -> None:
    assert Never().reads == frozenset() and Calendar().reads == {DayInput.CALENDAR}
    assert DriftThreshold().reads == {DayInput.DRIFT}
    assert AssetBands().reads == {DayInput.DRIFT, DayInput.BANDS}
    assert VolatilityAware().reads == {DayInput.DRIFT, DayInput.VOLATILITY}
    assert DynamicThreshold().reads == {DayInput.DRIFT, DayInput.VIX}
    assert DayInput.COVARIANCE in CostBenefit().reads and DayInput.COSTS in CostBenefit().reads


def test_compositions_derive_theirs_from_their_children() -> None:
    both = AllOf((Calendar(), VolatilityAware()))
    assert both.reads == {DayInput.CALENDAR, DayInput.DRIFT, DayInput.VOLATILITY}
    gated = StressDelay(Calendar())
    assert gated.reads == {DayInput.CALENDAR, DayInput.DRIFT, DayInput.VIX, DayInput.PENDING}
    assert gated.children == (Calendar(),) and both.children[1] == VolatilityAware()
    assert StressDelay(AnyOf((DriftThreshold(), CostBenefit()))).reads >= {DayInput.COSTS}


def test_compiled_forms() -> None:
    assert Never().compiled == DayLoopForm()
    assert DriftThreshold(0.04).compiled == DayLoopForm(threshold=0.04)
    month = Calendar(Frequency.MONTH)
    assert month.compiled == DayLoopForm(reviews=(month,))
    assert hybrid(Frequency.MONTH, 0.1).compiled == DayLoopForm((month,), 0.1)
    year = Calendar(Frequency.YEAR)
    nested = AnyOf((AnyOf((month, DriftThreshold(0.1))), year))
    assert nested.compiled == DayLoopForm((month, year), 0.1)
    for other in (AnyOf((DriftThreshold(0.1), DriftThreshold(0.2))), AllOf((month, year)),
                  StressDelay(month), AnyOf((month, VolatilityAware())), CostBenefit(),
                  AssetBands(), DynamicThreshold()):
        assert other.compiled is None, other.name


def test_blocks_take_what_reads_only_per_row_inputs() -> None:
    assert blocks.block_safe(StressDelay(hybrid(override=0.1)))
    assert blocks.block_safe(AllOf((VolatilityAware(), DynamicThreshold(), AssetBands())))
    assert not blocks.block_safe(AnyOf((DriftThreshold(0.05), CostBenefit())))
    assert not blocks.block_safe(StressDelay(CostBenefit()))


def test_the_covariance_is_passed_to_a_trigger_that_reads_it() -> None:
    assert grid.uses_risk(Rule(AnyOf((Calendar(), CostBenefit()))))
    assert not grid.uses_risk(Rule(StressDelay(hybrid())))


@dataclass(frozen=True)
class Floor:
    """A trigger the engine has never heard of: fires when drift ≥ ``level``."""

    level: float | np.ndarray = 0.05
    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = frozenset({DayInput.DRIFT})
    params: ClassVar[tuple[str, ...]] = ("level",)
    children: ClassVar[tuple[Trigger, ...]] = ()

    @property
    def compiled(self) -> DayLoopForm | None:
        return DayLoopForm(threshold=self.level)

    @property
    def name(self) -> str:
        return "floor"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        met = ctx.portfolio_drift >= self.level
        return TriggerResult(met, (Reason("floor", met, "floor"),))


@dataclass(frozen=True)
class Lonely:
    """A trigger that says it is not row-wise."""

    row_wise: ClassVar[bool] = False
    reads: ClassVar[frozenset[DayInput]] = frozenset()
    params: ClassVar[tuple[str, ...]] = ()
    children: ClassVar[tuple[Trigger, ...]] = ()
    compiled: ClassVar[DayLoopForm | None] = None
    name: ClassVar[str] = "lonely"

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        raise AssertionError("not evaluated here")  # pragma: no cover


def test_the_engine_asks_the_trigger_not_its_class() -> None:
    rule = Rule(AnyOf((Floor(0.03), Calendar())))
    assert compiled.supports(rule, with_cov=False)
    assert blocks.block_safe(rule.trigger) and not grid.uses_risk(rule)
    assert not blocks.block_safe(Lonely()) and not blocks.block_safe(AnyOf((Lonely(),
                                                                            Floor())))
    stacked = grid.stack_triggers([AnyOf((Floor(0.03),)), AnyOf((Floor(0.07),))])
    assert isinstance(stacked, AnyOf)
    np.testing.assert_array_equal(stacked.children[0].level, [0.03, 0.07])  # type: ignore[attr-defined]
    assert (grid.trigger_structure(Floor(0.03)) == grid.trigger_structure(Floor(0.07))
            != grid.trigger_structure(DriftThreshold(0.03)))
    taken = grid.take_trigger(stacked, np.array([1, 1, 0]))
    np.testing.assert_array_equal(taken.children[0].level,  # type: ignore[attr-defined]
                                  [0.07, 0.07, 0.03])


@pytest.mark.parametrize("name", list(policies.NAMED))
def test_every_named_policy_builds(name: str) -> None:
    config = policies.named(name, 0.04)
    kind, rule = policies.NAMED[name]
    assert config.policy.trigger.value == kind
    assert config.policy.stress_delay is rule.stress_delay
    assert (config.policy.threshold == 0.04) is rule.thresholded
    assert build_trigger(config.policy).name
    assert policies.policy_name(config)


def test_the_named_functions_are_the_registry_rules() -> None:
    assert policies.monthly() == policies.named("monthly")
    assert policies.vix_delayed(0.03) == policies.named("vix-delayed", 0.03)
    assert policies.threshold(0.05, stress_delay=True) == policies.named("vix-delayed", 0.05)
    assert policies.cost_benefit().policy.skip_if_cost_exceeds_benefit
    assert policies.never(base=policies.monthly(destination="half")).policy.destination.value \
        == "full"


def test_the_cli_offers_every_named_policy() -> None:
    assert [p.value for p in PolicyName] == list(policies.NAMED)  # type: ignore[attr-defined]
    assert {"never", "daily", "weekly", "monthly", "quarterly", "annual", "threshold", "hybrid",
            "cost-benefit", "volatility-aware", "vix-delayed", "dynamic"} <= set(policies.NAMED)


def test_an_unknown_named_policy_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown policy 'weakly'"):
        policies.named("weakly")


@pytest.mark.parametrize("name", list(TRIGGERS))
def test_every_registry_entry_reads_only_policy_fields(name: str) -> None:
    """The factories read ``[policy]`` by name (untyped): each must build and label from the
    configuration model, so a misspelt field fails here."""
    spec = TRIGGERS[name]
    policy = Config().policy
    assert spec.build(policy).name and spec.label(policy)
