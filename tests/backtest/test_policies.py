"""Named policies: the configurations they build, their names and their batches."""

from __future__ import annotations

import pytest

from driftwise.config import Config, Destination, TriggerKind
from driftwise.config import policies as pol
from driftwise.config.assemble import rule_grid
from driftwise.errors import ConfigError
from driftwise.policy.context import Anchor, Frequency
from driftwise.policy.triggers import CostBenefitForm


def test_methodology_rules() -> None:
    rules = pol.methodology_rules()
    assert list(rules) == ["monthly", "threshold 5%", "threshold 10%",
                           "hybrid (monthly + 10%)", "cost-benefit"]
    assert rules["monthly"].policy.frequency is Frequency.MONTH
    assert rules["threshold 10%"].policy.threshold == 0.10
    assert rules["hybrid (monthly + 10%)"].policy.hybrid_override == 0.10
    skips = {name: c.policy.skip_if_cost_exceeds_benefit for name, c in rules.items()}
    assert skips == {name: name == "cost-benefit" for name in rules}
    assert not any(c.policy.stress_delay for c in rules.values())


def test_standard_policies() -> None:
    policies = pol.standard_policies()
    assert list(policies) == [
        "never", "monthly", "quarterly", "annual", "threshold 3%", "threshold 5%",
        "threshold 7%", "threshold 10%", "hybrid (monthly + 10%)", "cost-benefit",
        "volatility-aware 5%", "VIX-delayed 5%", "dynamic 5%"]
    kinds = {name: c.policy.trigger for name, c in policies.items()}
    assert kinds["never"] is TriggerKind.NEVER
    assert kinds["dynamic 5%"] is TriggerKind.DYNAMIC
    delayed = [name for name, c in policies.items() if c.policy.stress_delay]
    assert delayed == ["VIX-delayed 5%"]


def test_destination_argument() -> None:
    config = pol.threshold(0.07, destination="band_edge")
    assert config.policy.destination is Destination.BAND_EDGE
    assert pol.policy_name(config) == "threshold 7% [band edge]"
    policies = pol.standard_policies(destination=Destination.HALF)
    assert all(c.policy.destination is Destination.HALF for name, c in policies.items()
               if name != "never")


def test_sizing_variants() -> None:
    variants = pol.sizing_variants(pol.threshold(0.05))
    assert list(variants) == ["threshold 5%", "threshold 5% [half]", "threshold 5% [band edge]",
                              "threshold 5% [cost constrained]",
                              "threshold 5% [optimized]"]


def test_constructors_keep_the_base() -> None:
    base = Config().with_overrides({"constraints.whole_shares": False, "costs.cost_scale": 2.0})
    config = pol.annual(base=base)
    assert config.constraints.whole_shares is False and config.costs.cost_scale == 2.0
    assert config.policy.frequency is Frequency.YEAR
    assert pol.calendar("quarter", anchor="last").policy.anchor is Anchor.LAST
    assert pol.policy_name(pol.calendar("quarter", anchor="last")) == "quarterly (last session)"
    assert pol.cost_benefit(form="ratio").policy.cost_benefit_form is CostBenefitForm.RATIO
    assert pol.monthly(stress_delay=True).policy.stress_delay
    assert pol.policy_name(pol.monthly(stress_delay=True)) == "monthly, VIX-delayed"
    vol = pol.volatility_aware(0.04, min_vol=0.25, min_drift=0.02).policy
    assert (vol.threshold, vol.vol_aware_min_vol, vol.vol_aware_min_drift) == (0.04, 0.25, 0.02)
    dyn = pol.dynamic(0.03, multipliers=(1.0, 1.5, 2.0), pause_in_stress=True).policy
    assert dyn.dynamic_multipliers == (1.0, 1.5, 2.0) and dyn.dynamic_stress_pause
    assert pol.policy_name(pol.threshold(0.025)) == "threshold 2.5%"


def test_invalid_threshold_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"policy\.threshold"):
        pol.threshold(-0.01)


def test_unique_names() -> None:
    configs = [pol.threshold(0.05), pol.threshold(0.05), pol.threshold(0.05)]
    assert pol.unique_names(configs) == ["threshold 5%", "threshold 5% (2)", "threshold 5% (3)"]
    assert pol.unique_names(configs[:1], ["mine"]) == ["mine"]
    with pytest.raises(ConfigError, match="2 names for 3"):
        pol.unique_names(configs, ["a", "b"])
    with pytest.raises(ConfigError, match="'a' twice"):
        pol.unique_names(configs, ["a", "b", "a"])


def test_describe_configs() -> None:
    configs = [pol.threshold(0.03), pol.threshold(0.05).with_overrides({"policy.band_abs": 0.01})]
    table = pol.describe_configs(configs, ["a", "b"])
    assert list(table.index) == ["a", "b"]
    assert table.loc["b", "policy.threshold"] == 0.05
    assert table.loc["a", "policy"] == "threshold 3%"
    assert "policy.band_abs" in table.columns  # varies, so shown
    assert "risk.te_model" not in table.columns  # equal everywhere
    assert table.loc["a", "costs.vix_multipliers"] == (1.0, 1.5, 2.5)


def group_configs(configs: list[Config]) -> list[list[int]]:
    return [b.positions.tolist() for b in rule_grid(configs).blocks]


def test_threshold_sweep_is_one_batch() -> None:
    sweep = [pol.threshold(h) for h in (0.03, 0.05, 0.07, 0.10)]
    assert group_configs(sweep) == [[0, 1, 2, 3]]
    scaled = [pol.threshold(0.05, base=Config().with_overrides({"costs.cost_scale": s}))
              for s in (0.5, 1.0)]
    # cost parameters may differ within a batch: each row is priced with its own
    assert group_configs([*sweep, *scaled]) == [[0, 1, 2, 3, 4, 5]]
    # what the per-day market inputs depend on may not
    window = pol.threshold(0.05, base=Config().with_overrides({"risk.vol_window_days": 30}))
    assert group_configs([*sweep, window]) == [[0, 1, 2, 3], [4]]
    seed = list(pol.methodology_rules().values())
    assert group_configs(seed) == [[0], [1, 2], [3], [4]]


def test_the_optimized_policy_by_name() -> None:
    """``--policy optimized``: reviewed at every close, the optimized destination, whatever
    the base's destination; labelled so (a rich table shows the brackets)."""
    config = pol.named("optimized", destination=Destination.HALF)
    assert config.policy.destination is Destination.OPTIMIZED
    assert config.policy.frequency is Frequency.DAY
    assert not config.policy.skip_if_cost_exceeds_benefit
    assert pol.policy_name(config) == "daily [optimized]"
    assert list(pol.build_policies(Config(), ["optimized"], None, None)) == ["daily [optimized]"]
