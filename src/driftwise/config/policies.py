"""Named rebalancing policies for backtests.

Each constructor returns a :class:`~driftwise.config.Config`: a variant of ``base``
(default: every default) with its ``[policy]`` section set, so a policy is a value that
``run_backtest``, the planner and the reference simulator all read the same way.

Two defaults differ from the planner's on purpose:

* ``skip_if_cost_exceeds_benefit`` is **off** except for :func:`cost_benefit`. The skip
  is itself a cost-benefit rule: left on, a "monthly" rule would trade only in the
  months where trading pays, and the backtest would compare five variants of the
  cost-benefit rule instead of the rules their names say.
* ``stress_delay`` (the methodology's rule 4) is **off** except for :func:`vix_delayed` (or when
  asked with ``stress_delay=True``), so that the VIX-delayed policy measures exactly
  what the delay adds to the 5% threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pandas as pd

from driftwise.config.model import COMPOSITE, Config, Destination, TriggerComponent, TriggerKind
from driftwise.errors import ConfigError
from driftwise.policy.context import Anchor, Frequency
from driftwise.policy.triggers import TRIGGERS, CostBenefitForm, NamedPolicy

DestinationLike = Destination | str

NAMED: dict[str, tuple[str, NamedPolicy]] = {
    policy.name: (kind, policy) for kind, spec in TRIGGERS.items() for policy in spec.policies}
"""Every rule run by name (``--policy``): its ``policy.trigger`` and its settings, from
:data:`~driftwise.policy.triggers.TRIGGERS`."""


def _policy(base: Config | None, destination: DestinationLike, stress_delay: bool,
            skip: bool = False, **policy: Any) -> Config:
    """``base`` with ``[policy]`` fields replaced (validated as a configuration file is);
    a composition's ``triggers`` list of ``base`` is dropped with its trigger."""
    fields = {"stress_delay": stress_delay, "skip_if_cost_exceeds_benefit": skip,
              "destination": Destination(destination), "triggers": (), **policy}
    return (base or Config()).with_overrides({f"policy.{k}": v for k, v in fields.items()},
                                             source="policy")


def named(name: str, h: float | None = None, *, destination: DestinationLike = Destination.FULL,
          stress_delay: bool | None = None, base: Config | None = None,
          **settings: Any) -> Config:
    """The rule called ``name`` (:data:`NAMED`, e.g. ``"vix-delayed"``) on ``base``.

    ``h`` sets ``policy.threshold`` of a rule that reads it (else ``base``'s stays);
    ``stress_delay`` overrides the rule's own; ``settings`` override its other
    ``[policy]`` fields. A rule that never fires keeps the full destination; a rule that
    sets its own (``optimized``) keeps it.

    Raises
    ------
    ConfigError
        An unknown name.
    """
    if name not in NAMED:
        raise ConfigError(f"unknown policy {name!r}; known: {', '.join(NAMED)}")
    kind, policy = NAMED[name]
    fields = dict(policy.settings)
    destination = Destination(str(fields.pop("destination", destination)))  # its own, if any
    if policy.thresholded and h is not None:
        fields["threshold"] = h
    fields.update(settings)
    return _policy(base, destination if TRIGGERS[kind].fires else Destination.FULL,
                   policy.stress_delay if stress_delay is None else stress_delay,
                   skip=policy.skip_if_cost_exceeds_benefit, trigger=kind, **fields)


def never(*, base: Config | None = None) -> Config:
    """Buy and hold: never rebalance."""
    return named("never", base=base)


def calendar(frequency: Frequency | str, *, anchor: Anchor | str = Anchor.FIRST,
             destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
             base: Config | None = None) -> Config:
    """Rebalance on the first (or last) NYSE session of each period."""
    return _policy(base, destination, stress_delay, trigger=TriggerKind.CALENDAR,
                   frequency=Frequency(frequency), anchor=Anchor(anchor))


def daily(*, destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
          base: Config | None = None) -> Config:
    """Rebalance at every NYSE close (but the first day of a backtest, which starts on
    target)."""
    return named("daily", destination=destination, stress_delay=stress_delay, base=base)


def weekly(*, destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
           base: Config | None = None) -> Config:
    """Rebalance on the first NYSE session of each week."""
    return named("weekly", destination=destination, stress_delay=stress_delay, base=base)


def monthly(*, destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
            base: Config | None = None) -> Config:
    """First NYSE session of each month."""
    return named("monthly", destination=destination, stress_delay=stress_delay, base=base)


def quarterly(*, destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
              base: Config | None = None) -> Config:
    """First NYSE session of each quarter."""
    return named("quarterly", destination=destination, stress_delay=stress_delay, base=base)


def annual(*, destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
           base: Config | None = None) -> Config:
    """First NYSE session of each year."""
    return named("annual", destination=destination, stress_delay=stress_delay, base=base)


def threshold(h: float = 0.05, *, destination: DestinationLike = Destination.FULL,
              stress_delay: bool = False, base: Config | None = None) -> Config:
    """Rebalance when portfolio drift ``D >= h`` (fraction of NAV); ``h = 0``: whenever
    the drift is above 0."""
    return named("threshold", h, destination=destination, stress_delay=stress_delay, base=base)


def hybrid(*, frequency: Frequency | str = Frequency.MONTH, override: float = 0.10,
           destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
           base: Config | None = None) -> Config:
    """Calendar review (monthly by default) plus an early override when ``D >= override``."""
    return named("hybrid", destination=destination, stress_delay=stress_delay, base=base,
                 frequency=Frequency(frequency), hybrid_override=override)


def cost_benefit(*, form: CostBenefitForm | str = CostBenefitForm.UTILITY,
                 destination: DestinationLike = Destination.FULL, stress_delay: bool = False,
                 base: Config | None = None) -> Config:
    """Rebalance when the cost-benefit ratio of a full rebalance is below 1.

    The skip of a sized rebalance whose cost exceeds its benefit stays on (it is the
    same rule applied to the trades actually sized).
    """
    return named("cost-benefit", destination=destination, stress_delay=stress_delay, base=base,
                 cost_benefit_form=CostBenefitForm(form))


def volatility_aware(h: float = 0.05, *, min_vol: float = 0.30, min_drift: float = 0.03,
                     destination: DestinationLike = Destination.FULL,
                     stress_delay: bool = False, base: Config | None = None) -> Config:
    """The methodology's rule 2 on top of the ``h`` threshold: trade an asset with σ ≥ 30%
    and |d| ≥ 3%."""
    return named("volatility-aware", h, destination=destination, stress_delay=stress_delay,
                 base=base, vol_aware_min_vol=min_vol, vol_aware_min_drift=min_drift)


def vix_delayed(h: float = 0.05, *, destination: DestinationLike = Destination.FULL,
                base: Config | None = None) -> Config:
    """The ``h`` threshold with the methodology's rule 4: delay moderate rebalances while
    VIX ≥ 30."""
    return named("vix-delayed", h, destination=destination, base=base)


def dynamic(h: float = 0.05, *, multipliers: tuple[float, float, float] = (1.0, 1.2, 1.5),
            pause_in_stress: bool = False, destination: DestinationLike = Destination.FULL,
            stress_delay: bool = False, base: Config | None = None) -> Config:
    """Threshold ``h`` widened by VIX regime (× 1.2 for 20-30, × 1.5 above 30)."""
    return named("dynamic", h, destination=destination, stress_delay=stress_delay, base=base,
                 dynamic_multipliers=multipliers, dynamic_stress_pause=pause_in_stress)


def methodology_rules(*, destination: DestinationLike = Destination.FULL,
               base: Config | None = None) -> dict[str, Config]:
    """The methodology's five rules: monthly, 5% threshold, 10% threshold, hybrid, cost-benefit."""
    configs = [monthly(destination=destination, base=base),
               threshold(0.05, destination=destination, base=base),
               threshold(0.10, destination=destination, base=base),
               hybrid(destination=destination, base=base),
               cost_benefit(destination=destination, base=base)]
    return dict(zip(unique_names(configs), configs, strict=True))


def standard_policies(*, destination: DestinationLike = Destination.FULL,
                      thresholds: Sequence[float] = (0.03, 0.05, 0.07, 0.10),
                      base: Config | None = None) -> dict[str, Config]:
    """Every standard policy with one destination, keyed by :func:`policy_name`.

    never, monthly, quarterly, annual, the ``thresholds``, hybrid (monthly + 10%),
    cost-benefit, volatility-aware, VIX-delayed (5%) and dynamic (5%).
    """
    kw: dict[str, Any] = {"destination": destination, "base": base}
    configs = [never(base=base), monthly(**kw), quarterly(**kw), annual(**kw),
               *(threshold(h, **kw) for h in thresholds), hybrid(**kw), cost_benefit(**kw),
               volatility_aware(**kw), vix_delayed(**kw), dynamic(**kw)]
    return dict(zip(unique_names(configs), configs, strict=True))


def sizing_variants(config: Config) -> dict[str, Config]:
    """``config`` with each destination (full, half, band edge, cost-constrained)."""
    configs = [config.with_overrides({"policy.destination": d}, source="policy")
               for d in Destination]
    return dict(zip(unique_names(configs), configs, strict=True))


def _pct(value: float) -> str:
    return f"{100.0 * value:g}%"


def policy_name(config: Config) -> str:
    """A short label of a configuration's policy, e.g. ``"threshold 5%"``: its trigger's
    label (:data:`~driftwise.policy.triggers.TRIGGERS`), the stress gate and the
    destination."""
    p = config.policy
    kind = p.trigger
    name = (_composed_name(config, kind, p.triggers) if kind in COMPOSITE
            else TRIGGERS[kind.value].label(p))
    if kind is TriggerKind.THRESHOLD and p.stress_delay:
        name = f"VIX-delayed {_pct(p.threshold)}"
    elif p.stress_delay and kind is not TriggerKind.NEVER:
        name += ", VIX-delayed"
    if p.destination is not Destination.FULL and kind is not TriggerKind.NEVER:
        name += f" [{p.destination.value.replace('_', ' ')}]"
    return name


def _composed_name(config: Config, mode: TriggerKind, items: tuple[TriggerComponent, ...]) -> str:
    """``any of (threshold 5%, quarterly)``: a composition named by its components."""
    parts = [TRIGGERS[i.value].label(config.policy) if isinstance(i, TriggerKind)
             else _composed_name(config, i.mode, i.components) for i in items]
    return f"{'any' if mode is TriggerKind.ANY_OF else 'all'} of ({', '.join(parts)})"


def unique_names(configs: Sequence[Config], names: Sequence[str] | None = None) -> list[str]:
    """Labels of ``configs``: ``names`` checked, or :func:`policy_name` made unique.

    Raises
    ------
    ConfigError
        ``names`` of the wrong length or with a repeated label.
    """
    if names is not None:
        labels = [str(n) for n in names]
        if len(labels) != len(configs):
            raise ConfigError(f"backtest: {len(labels)} names for {len(configs)} configurations")
        if len(set(labels)) != len(labels):
            twice = next(n for n in labels if labels.count(n) > 1)
            raise ConfigError(f"backtest: configuration names must be unique; {twice!r} twice")
        return labels
    out: list[str] = []
    for config in configs:
        base = label = policy_name(config)
        n = 1
        while label in out:
            n += 1
            label = f"{base} ({n})"
        out.append(label)
    return out


KEY_FIELDS = ("policy.trigger", "policy.frequency", "policy.anchor", "policy.threshold",
              "policy.hybrid_override", "policy.destination", "policy.stress_delay",
              "policy.skip_if_cost_exceeds_benefit", "costs.cost_scale", "costs.flat_cost_bps",
              "costs.impact_model", "costs.vix_multipliers", "constraints.whole_shares",
              "constraints.min_trade_usd")
"""Columns every parameter table has; any other field that varies is added."""


def describe_configs(configs: Sequence[Config], names: Sequence[str]) -> pd.DataFrame:
    """One row per configuration (index ``names``): policy name and the fields that matter.

    Columns ``policy`` (:func:`policy_name`), :data:`KEY_FIELDS` (dotted names), then
    every other field that differs between the configurations. Lists become tuples.
    """
    flat = [{f"{s}.{k}": (tuple(v) if isinstance(v, list) else v)
             for s, fields in c.describe().items() for k, v in fields.items()} for c in configs]
    varying = [k for k in flat[0] if k not in KEY_FIELDS
               and len({repr(row[k]) for row in flat}) > 1] if flat else []
    rows = [{"policy": policy_name(c), **{k: row.get(k) for k in (*KEY_FIELDS, *varying)}}
            for c, row in zip(configs, flat, strict=True)]
    return pd.DataFrame(rows, index=pd.Index(list(names), name="name"))


if TYPE_CHECKING:
    PolicyName = str
else:  # the names ``--policy`` and ``dw.backtest(rules=...)`` accept: the registry's
    PolicyName = StrEnum("PolicyName", {n.upper().replace("-", "_"): n for n in NAMED})

YOUR_RULE = "your rule"
"""Name of the configuration file's own rule in a comparison."""


def build_policies(base: Config, names: Sequence[str] | None,
                   thresholds: Sequence[float] | None,
                   cost_bps: float | None) -> dict[str, Config]:
    """The configurations to compare, keyed by display name.

    Each named rule (:data:`NAMED`) is ``base`` with its own trigger (and the documented
    stress-delay and cost-skip settings of this module), and ``base``'s destination. No
    names: the methodology's five rules, or the threshold rule at each of ``thresholds``.
    A rule that reads the drift threshold is built once per value of ``thresholds``
    (default ``policy.threshold``). ``cost_bps``: a flat cost in bps of traded value
    instead of the cost model (:func:`with_flat_cost`).

    Raises
    ------
    ConfigError
        A name that is not in :data:`NAMED`.
    """
    to = base.policy.destination
    if not names:
        if not thresholds:
            return {k: with_flat_cost(v, cost_bps)
                    for k, v in methodology_rules(destination=to, base=base).items()}
        names = ["threshold"]
    out: dict[str, Config] = {}
    for name in map(str, names):
        if name not in NAMED:
            raise ConfigError(f"unknown policy {name!r}; expected one of {', '.join(NAMED)}")
        _, rule = NAMED[name]
        for h in (thresholds or [base.policy.threshold]) if rule.thresholded else [None]:
            config = named(name, h, destination=to, base=base)
            out[policy_name(config)] = config
    return {k: with_flat_cost(v, cost_bps) for k, v in out.items()}


def with_flat_cost(config: Config, cost_bps: float | None) -> Config:
    """``config`` with a flat cost of ``cost_bps`` of traded value (None: unchanged)."""
    if cost_bps is None:
        return config
    return config.with_overrides({"costs.flat_cost_bps": cost_bps}, source="--cost-bps")
