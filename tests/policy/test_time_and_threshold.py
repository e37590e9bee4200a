"""The time-and-threshold rule: a calendar review that trades only a drift at or above the
threshold, added through the trigger registry alone."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from driftwise.config import Config, policies
from driftwise.config.assemble import build_trigger
from driftwise.policy.context import Anchor, Frequency
from driftwise.policy.triggers import (
    AllOf,
    Calendar,
    DriftThreshold,
    StressDelay,
    time_and_threshold,
)

from .test_triggers import TARGET, ctx

REVIEWS = [frozenset(), frozenset({(Frequency.QUARTER, Anchor.FIRST)}),
           frozenset({(Frequency.QUARTER, Anchor.LAST)}),
           frozenset({(Frequency.MONTH, Anchor.FIRST), (Frequency.QUARTER, Anchor.FIRST)})]


MOVES = [0.0025 + 0.005 * i for i in range(36)]
"""Drifts between the thresholds below, so that rounding decides no comparison."""


@given(moves=st.lists(st.sampled_from(MOVES), min_size=1, max_size=6),
       h=st.sampled_from([0.0, 0.01, 0.05, 0.1]), calendar=st.sampled_from(REVIEWS),
       first_day=st.booleans())
def test_fires_on_a_review_day_with_drift_at_or_above_the_threshold(
        moves: list[float], h: float, calendar: frozenset, first_day: bool) -> None:
    # row c moves weight m from the last asset to the first: D = ½(m + m) = m
    weights = [[TARGET[0] + m, TARGET[1], TARGET[2] - m] for m in moves]
    day = ctx(weights, calendar=calendar, first_day=first_day)
    review = (Frequency.QUARTER, Anchor.FIRST) in calendar and not first_day
    fired = time_and_threshold(Frequency.QUARTER, h).evaluate(day).fired
    assert fired.tolist() == [review and m > h for m in moves]


def test_a_threshold_sweep_is_one_trigger() -> None:
    day = ctx([[0.46, 0.36, 0.18]] * 3, calendar=REVIEWS[1])  # D = 6%
    trigger = time_and_threshold(Frequency.QUARTER, np.array([0.03, 0.06, 0.09]))
    assert trigger.evaluate(day).fired.tolist() == [True, True, False]
    assert not trigger.evaluate(ctx([[0.46, 0.36, 0.18]] * 3)).fired.any()


def test_reasons_name_both_parts() -> None:
    day = ctx([[0.46, 0.36, 0.18]], calendar=REVIEWS[1])
    said = time_and_threshold(Frequency.QUARTER, 0.07).evaluate(day).explain(0)
    assert "calendar review: first NYSE session of the quarter" in said
    assert "portfolio drift 6.00% vs threshold 7.00%" in said
    assert any(s.startswith("all of (") and "not fired drift threshold 7%" in s for s in said)


def test_it_describes_itself_from_its_parts() -> None:
    trigger = time_and_threshold(Frequency.MONTH, 0.04, Anchor.LAST)
    assert trigger == AllOf((Calendar(Frequency.MONTH, Anchor.LAST), DriftThreshold(0.04)),
                            label="monthly review if drift ≥ 4%")
    assert trigger.compiled is None and trigger.row_wise and trigger.params == ()
    assert trigger.reads == Calendar().reads | DriftThreshold().reads


def test_the_configuration_and_the_named_policy_build_it() -> None:
    policy = Config().with_overrides({"policy.trigger": "time_and_threshold",
                                      "policy.frequency": "half", "policy.threshold": 0.03,
                                      "policy.stress_delay": False}).policy
    assert build_trigger(policy) == time_and_threshold(Frequency.HALF, 0.03)
    gated = build_trigger(policy.model_copy(update={"stress_delay": True}))
    assert isinstance(gated, StressDelay) and gated.inner == build_trigger(policy)
    config = policies.named("time-and-threshold", 0.04)
    assert build_trigger(config.policy) == time_and_threshold(Frequency.QUARTER, 0.04)
    assert policies.policy_name(config) == "quarterly review, threshold 4%"
