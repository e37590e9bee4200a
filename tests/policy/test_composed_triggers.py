"""Triggers composed from the configuration (``any_of`` / ``all_of``) behave as the
composition of their components, and say which components fired."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from driftwise.app.plan import Decision, Plan, make_plan
from driftwise.config import COMPONENTS, Config, PolicyConfig, TriggerKind
from driftwise.config.assemble import build_trigger
from driftwise.data.loader import load_inputs
from driftwise.policy.context import Anchor, Frequency
from driftwise.policy.triggers import AllOf, AnyOf, Calendar, DriftThreshold, StressDelay

from .test_triggers import ctx

FIRST_OF_MONTH = frozenset({(Frequency.MONTH, Anchor.FIRST)})


def policy(trigger: str, triggers: list[object], **more: object) -> PolicyConfig:
    return Config().with_overrides({"policy.trigger": trigger, "policy.triggers": triggers,
                                    "policy.stress_delay": False, **more}).policy


def test_config_builds_the_classes_with_each_components_own_parameters() -> None:
    p = policy("all_of", ["threshold", {"any_of": ["calendar", "hybrid"]}],
               **{"policy.threshold": 0.03, "policy.hybrid_override": 0.12,
                  "policy.frequency": "month"})
    trigger = build_trigger(p)
    assert isinstance(trigger, AllOf)
    threshold, inner = trigger.children
    assert threshold == DriftThreshold(0.03)
    assert isinstance(inner, AnyOf)
    assert inner.children[0] == Calendar(Frequency.MONTH, Anchor.FIRST)
    assert inner.children[1].name == "hybrid (month review + 12% override)"
    assert trigger.name == ("drift threshold 3% and (calendar (month, first session) or "
                            "hybrid (month review + 12% override))")


def test_stress_gate_wraps_the_whole_composition() -> None:
    p = Config().with_overrides({"policy.trigger": "any_of",
                                 "policy.triggers": ["threshold", "calendar"]}).policy
    trigger = build_trigger(p)
    assert isinstance(trigger, StressDelay) and isinstance(trigger.inner, AnyOf)


WEIGHTS = st.lists(st.tuples(st.floats(0.0, 0.6), st.floats(0.0, 0.6)), min_size=1,
                   max_size=5).map(lambda rows: [[a, b, max(0.0, 1 - a - b)] for a, b in rows])


@given(weights=WEIGHTS, vix=st.floats(5.0, 60.0), review=st.booleans(),
       kinds=st.lists(st.sampled_from(COMPONENTS), min_size=2, max_size=4, unique=True),
       mode=st.sampled_from(["any_of", "all_of"]))
def test_composition_fires_as_the_or_and_of_its_components(
        weights: list[list[float]], vix: float, review: bool, kinds: list[TriggerKind],
        mode: str) -> None:
    """Oracle: each component built alone from the same [policy], combined by hand."""
    names = [k.value for k in kinds]
    composed = build_trigger(policy(mode, names, **{"policy.threshold": 0.04}))
    day = ctx(weights, vix=vix, calendar=FIRST_OF_MONTH if review else frozenset())
    alone = [build_trigger(policy(name, [], **{"policy.threshold": 0.04})).evaluate(day).fired
             for name in names]
    want = np.logical_or.reduce(alone) if mode == "any_of" else np.logical_and.reduce(alone)
    result = composed.evaluate(day)
    np.testing.assert_array_equal(result.fired, want)
    for row in range(len(weights)):  # the last reason says which components fired
        text = result.reasons[-1].text(row)
        fired = [n for n, f in zip(composed.children, alone, strict=True) if f[row]]
        if not fired:
            assert text.endswith(": none fired")
        elif len(fired) == len(names):
            assert text.endswith(": all fired")
        else:
            assert "fired " + "; ".join(c.name for c in fired) + "; not fired" in text


def test_reasons_of_stacked_rows_use_each_rows_parameters() -> None:
    trigger = AllOf((DriftThreshold(np.array([0.03, 0.08])), Calendar(Frequency.MONTH)))
    day = ctx([[0.46, 0.36, 0.18]] * 2, calendar=FIRST_OF_MONTH)  # drift 6%
    result = trigger.evaluate(day)
    assert result.fired.tolist() == [True, False]
    assert result.explain(0, only_met=True)[-1] == (
        "all of (drift threshold 3%; calendar (month, first session)): all fired")
    assert result.explain(1)[-1] == (
        "all of (drift threshold 8%; calendar (month, first session)): fired calendar "
        "(month, first session); not fired drift threshold 8%")
    one = dataclasses.replace(trigger, children=(DriftThreshold(0.08), trigger.children[1]))
    assert one.evaluate(ctx([[0.46, 0.36, 0.18]], calendar=FIRST_OF_MONTH)).explain(0) == \
        result.explain(1)


def test_plan_with_composed_triggers() -> None:
    """The sample on 2022-12-28: drift 5.08% (threshold 5% fires), no quarter review."""
    inputs = load_inputs()

    def plan(trigger: str) -> Plan:
        return make_plan(inputs, Config().with_overrides(
            {"policy.trigger": trigger, "policy.triggers": ["threshold", "calendar"]}))
    either, both = plan("any_of"), plan("all_of")
    assert either.decision is Decision.REBALANCE
    assert both.decision is Decision.SKIP
    assert both.rule == ("drift threshold 5% and calendar (quarter, first session), "
                         "delayed in stress (VIX ≥ 30)")
    assert ("all of (drift threshold 5%; calendar (quarter, first session)): fired drift "
            "threshold 5%; not fired calendar (quarter, first session)") in both.reasons
    assert both.trades.empty
