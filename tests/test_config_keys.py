"""Every configuration key changes what some command outputs (the key-effect meta-test).

For every leaf field of :class:`~driftwise.config.Config`, found by walking the pydantic
models (so a new key is covered the day it is added), the test runs the commands the key
belongs to twice on small fixture files, once with a base configuration and once with
the key set to another valid value, and requires some output to differ: the plan JSON,
its trade, schedule and order files (CSV, JSON, FIX), the monitor JSON, the backtest
JSON. A key that changes nothing fails the test: read it, or reject it in
``config.UNSUPPORTED``.

A key gets its other value from :data:`CASES` (with the settings it needs to matter and
the fixture variant that shows it) or, when it has none, from :func:`auto_value`
(booleans flipped, another enum member, numbers moved within their bounds). Keys whose
effect needs inputs the fixture cannot give are in :data:`ALLOWLIST`, each naming the
targeted test that covers it.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from driftwise.calendar import nyse_sessions
from driftwise.cli import EXIT_OK, main
from driftwise.config import Config

TICKERS = ["AAA", "BBB", "CCC", "DDD"]
LAST_REBALANCE = "2023-06-01"


# ------------------------------------------------------------------ fixture files


def _write_fixture(folder: Path) -> None:
    """Two years of prices for four stocks (and EEE, held short in one variant), VIX, a
    lot-level portfolio 11% off its targets, a security master and a cost file."""
    days = nyse_sessions("2022-01-03", "2023-12-29")
    rng = np.random.default_rng(7)
    names = [*TICKERS, "EEE"]
    vols = np.array([0.45, 0.25, 0.15, 0.30, 0.35]) / np.sqrt(252)
    px = 40.0 * np.exp(np.cumsum(rng.normal(0.0004, 1.0, (len(days), 5)) * vols, axis=0))
    rows = [(d.date(), t, round(float(px[i, j]), 4), int(2e6 * (1 + 0.3 * np.sin(i + j))))
            for i, d in enumerate(days) for j, t in enumerate(names)]
    pd.DataFrame(rows, columns=["date", "ticker", "close", "volume"]).to_csv(
        folder / "prices.csv", index=False)
    dates = [d.date() for d in days]
    vix = 18 + 14 * np.sin(np.arange(len(days)) / 40.0) ** 2  # 18 .. 32: every regime
    pd.DataFrame({"date": dates, "close": vix.round(2)}).to_csv(folder / "vix.csv", index=False)
    stress = np.where(np.arange(len(days)) >= len(days) - 5, 36.0, vix)  # stress at the end
    pd.DataFrame({"date": dates, "close": stress.round(2)}).to_csv(folder / "vix_stress.csv",
                                                                   index=False)
    nav = 2e6
    shares = np.floor(np.array([0.36, 0.22, 0.22, 0.15]) * nav / px[-1, :4])
    lots = []
    for t, s in zip(TICKERS, shares, strict=True):
        half = float(np.floor(s / 2))
        lots.append((t, half, "2022-03-01", round(half * 35.0, 2)))  # long-term lot
        lots.append((t, s - half, "2023-09-01", round((s - half) * 45.0, 2)))  # short-term
    holdings = pd.DataFrame(lots, columns=["ticker", "shares", "acquired", "cost_basis_usd"])
    holdings.loc[len(holdings)] = ["CASH", 0.05 * nav, None, None]
    holdings.to_csv(folder / "holdings.csv", index=False)
    short = holdings.copy()
    short.loc[len(short)] = ["EEE", -1000.0, "2023-11-01", 1000.0 * 40.0]
    short.to_csv(folder / "holdings_short.csv", index=False)
    pd.DataFrame({"ticker": TICKERS, "target_weight": [0.3, 0.25, 0.25, 0.2]}).to_csv(
        folder / "targets.csv", index=False)
    pd.DataFrame({"ticker": names, "sector": ["Tech", "Tech", "Energy", "Energy", "Tech"],
                  "asset_class": "US Equity",
                  "market_cap_usd": [9e11, 3e11, 5e10, 8e9, 2e10]}).to_csv(
        folder / "master.csv", index=False)
    for name, as_of in (("costs.csv", dates[-1]), ("costs_old.csv", date(2023, 12, 19))):
        pd.DataFrame({"ticker": names, "spread_bps": [2, 3, 5, 8, 6], "commission_bps": 1.0,
                      "as_of": str(as_of)}).to_csv(folder / name, index=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    _write_fixture(folder)
    return folder


VARIANTS: dict[str, dict[str, str | None] | None] = {
    "default": {},
    "stress": {"--vix": "vix_stress.csv"},  # VIX 36 on the as-of date
    "old_costs": {"--cost-file": "costs_old.csv"},  # cost file 10 days old
    "no_costs": {"--cost-file": None},  # commissions from the configuration
    "no_targets": {"--targets": None},  # the default target
    "no_last_rebalance": {"--last-rebalance": None},
    "short": {"--holdings": "holdings_short.csv"},  # EEE held short, not a target
    "sample": None,  # no file: the embedded sample (its own holdings)
}
"""Fixture variants: command-line options replaced (None: left out)."""


def _options(folder: Path, variant: str, command: str) -> list[str]:
    given: dict[str, str | None] = {
        "--holdings": "holdings.csv", "--prices": "prices.csv", "--targets": "targets.csv",
        "--master": "master.csv", "--vix": "vix.csv", "--cost-file": "costs.csv",
        "--last-rebalance": LAST_REBALANCE}
    replaced = VARIANTS[variant]
    if replaced is None:
        return []
    given.update(replaced)
    if command.startswith("backtest"):
        given.pop("--holdings")
        given.pop("--last-rebalance")
    out: list[str] = []
    for option, value in given.items():
        if value is not None:
            out += [option, value if option == "--last-rebalance" else str(folder / value)]
    return out


# ------------------------------------------------------------------ running commands


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    assert code == EXIT_OK, f"driftwise {' '.join(args)} exited {code}: {captured.err}"
    return captured.out


def outputs(command: str, config: Config, folder: Path, variant: str,
            capsys: pytest.CaptureFixture[str], work: Path) -> dict[str, object]:
    """What ``command`` shows with ``config``: its JSON and the files it writes."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "driftwise.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    args = [*_options(folder, variant, command), "--config", str(path), "--json"]
    if command == "plan":
        out = work / "out"
        data = json.loads(_run(["plan", *args, "--out", str(out), "--fix"], capsys))
        found: dict[str, object] = {"plan": _without_config(data)}
        for file in sorted(out.iterdir()):
            text = file.read_text(encoding="utf-8")
            if file.suffix == ".json" and file.stem == "plan":
                found[file.name] = _without_config(json.loads(text))
            else:  # FIX SendingTime, TransactTime and CheckSum carry the clock
                found[file.name] = re.sub(r"(?<=\x01)(52|60|10)=[^\x01]*", "", text)
        return found
    if command == "monitor":
        return {"monitor": json.loads(_run(["monitor", *args], capsys))}
    extra = ["--sweep"] if command == "backtest --sweep" else []
    return {command: json.loads(_run(["backtest", *args, *extra], capsys))}


def _without_config(plan: dict[str, object]) -> dict[str, object]:
    """The plan without the configuration it echoes (an echo is not an effect)."""
    assert "config" in plan
    return {k: v for k, v in plan.items() if k != "config"}


# ------------------------------------------------------------------ the keys


def leaves(model: type[BaseModel] = Config, prefix: str = "") -> Iterator[str]:
    """Dotted names of every leaf field of ``model`` (sections are walked, not listed)."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from leaves(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


COMMANDS = {
    "policy": ("plan", "monitor", "backtest"), "constraints": ("plan", "backtest"),
    "optimizer": ("plan", "backtest"),
    "costs": ("plan", "monitor", "backtest"), "risk": ("monitor", "plan", "backtest"),
    "execution": ("plan",), "tax": ("plan",), "backtest": ("backtest",),
    "portfolio": ("plan", "monitor", "backtest"), "data": ("plan", "backtest"),
    "cluster": ("backtest",),
}
"""The commands each section belongs to, tried in order until one output changes."""

BASE: dict[str, object] = {"backtest.bootstrap_samples": 50}
"""Settings of both runs of every key (fewer resamples: a faster backtest)."""


@dataclass(frozen=True)
class Case:
    """How to show a key's effect: its other value, what else it needs, which inputs."""

    value: object
    base: dict[str, object] = field(default_factory=dict)
    variant: str = "default"
    commands: tuple[str, ...] = ()


CALENDAR = {"policy.trigger": "calendar"}
STRESS_DELAYED = {"policy.stress_max_drift": 0.12}  # the fixture's 11% drift is delayed
TAXED = {"tax.enabled": True}
OPTIMIZED = {"policy.destination": "optimized"}
SWEEP = ("backtest --sweep",)
FACTORED = {**OPTIMIZED, "optimizer.factors": ("market = EEE",)}

CASES: dict[str, Case] = {
    "policy.frequency": Case("month", CALENDAR),
    "policy.anchor": Case("last", CALENDAR),  # the as-of date is the year's last session
    "policy.threshold": Case(0.15),
    "policy.hybrid_override": Case(0.15, {"policy.trigger": "hybrid"}),
    "policy.band_abs": Case(0.08),  # above the relative band 0.25 × t of every asset
    "policy.cost_benefit_form": Case("ratio", {"policy.trigger": "cost_benefit"}),
    "policy.vol_aware_min_vol": Case(0.20, {"policy.trigger": "volatility_aware"}),
    "policy.vol_aware_min_drift": Case(0.01, {"policy.trigger": "volatility_aware"}),
    "policy.stress_max_drift": Case(0.12, variant="stress"),
    "policy.extreme_drift": Case(0.10, {"policy.trigger": "dynamic",
                                        "policy.dynamic_stress_pause": True}, "stress"),
    "policy.delay_days": Case(5, STRESS_DELAYED, "stress"),
    "policy.max_delay_days": Case(30, STRESS_DELAYED, "stress"),
    "policy.dynamic_multipliers": Case((1.1, 1.2, 1.5), {"policy.trigger": "dynamic"}),
    "policy.dynamic_stress_pause": Case(True, {"policy.trigger": "dynamic"}, "stress"),
    "policy.triggers": Case(("threshold", "calendar"), {"policy.trigger": "all_of",
                                                        "policy.triggers": ("threshold",
                                                                            "bands")}),
    "policy.cost_constrained_multiple": Case(
        20.0, {"policy.destination": "cost_constrained"}),
    "policy.skip_if_cost_exceeds_benefit": Case(False, {"policy.tracking_aversion": 0.01}),
    "optimizer.gamma": Case(20.0, OPTIMIZED),
    "optimizer.gamma_trade": Case(1.0, OPTIMIZED),
    "optimizer.max_weight": Case(0.3, OPTIMIZED),  # AAA holds 36%
    "optimizer.group_deviation": Case(0.0, OPTIMIZED),  # sectors exactly on their targets
    # one asset class: the whole book's invested weight on target, not each sector's
    "optimizer.group_by": Case("asset_class", {**OPTIMIZED, "optimizer.group_deviation": 0.0}),
    # factor targets on a proxy of the fixture's prices (EEE: priced, not in the book)
    "optimizer.factor_bound": Case(0.0, FACTORED),
    "optimizer.factor_penalty": Case(1000.0, FACTORED),
    "optimizer.factors": Case(("market = EEE - DDD",), {**FACTORED, "optimizer.factor_bound": 0.0}),
    "optimizer.factor_window_days": Case(40, {**FACTORED, "optimizer.factor_bound": 0.0}),
    # the fixture's lots (AAA at a 63% and a 71% loss): weighed by the tax-aware solve
    "optimizer.tax_weight": Case(0.0, {**OPTIMIZED, **TAXED}),
    "constraints.long_only": Case(False, {"policy.destination": "half"}, "short"),
    "constraints.cash_buffer": Case(0.06),
    "constraints.min_trade_usd": Case(70_000.0),
    "constraints.min_trade_shares": Case(3_000.0),
    "constraints.do_not_buy": Case(("CCC",)),
    "constraints.do_not_sell": Case(("AAA",)),
    "constraints.max_turnover": Case(0.05),
    "constraints.min_adv_usd": Case(1e9),
    "constraints.max_liquidity_days": Case(0.005),
    "costs.vix_breaks": Case((15.0, 30.0)),
    "costs.vix_multipliers": Case((2.0, 3.0, 4.0)),
    "costs.participation": Case(0.05),
    "costs.flat_cost_bps": Case(20.0),
    "costs.stale_after_days": Case(5, variant="old_costs"),
    "costs.accept_stale_costs": Case(True, {"costs.stale_after_days": 5}, "old_costs"),
    "costs.commission_bps": Case(5.0, variant="no_costs"),
    "costs.commission_per_share_usd": Case(0.01, variant="no_costs"),
    "costs.execution_days": Case(3.0, {"costs.impact_model": "almgren_2005"}),
    "costs.min_ticket_usd": Case(50.0, variant="no_costs"),
    # the short EEE is half covered, so the plan carries it and prices its borrow
    "costs.borrow_bps_annual": Case(200.0, {"policy.destination": "half",
                                            "constraints.long_only": False}, "short",
                                    ("plan",)),
    "risk.cov_windows_days": Case((30, 126)),
    "risk.drift_cap": Case(0.01),
    "execution.multi_day_after_days": Case(0.005),
    "execution.slices_per_day": Case(7),
    "tax.short_term_rate": Case(0.30, TAXED),
    "tax.long_term_rate": Case(0.10, {**TAXED, "tax.lot_relief": "fifo"}),
    "tax.lot_relief": Case("fifo"),
    "tax.long_term_after_days": Case(100),
    "tax.specific_lots": Case(("AAA:2022-03-01",), {"tax.lot_relief": "specific",
                                                     "tax.specific_lots": ("AAA:2023-09-01",)}),
    "tax.state_rate": Case(0.05, TAXED),
    "tax.niit_rate": Case(0.0, TAXED),
    "tax.wash_sale_days": Case(150, TAXED),
    "tax.allow_wash_sales": Case(True, {**TAXED, "tax.wash_sale_days": 150}),
    # the plan's loss-harvest table (AAA's lots lost 63% and 71%, DDD's 23% and 40%)
    "tax.harvest_loss_threshold": Case(0.65, TAXED),
    "tax.harvest_min_loss_usd": Case(100_000.0, TAXED),
    "tax.harvest_pairs": Case(("AAA:BBB",), TAXED),
    "tax.harvest_in_trades": Case(True, TAXED),
    "tax.harvest_discount_rate_annual": Case(0.10, TAXED),
    "tax.harvest_years_to_sale": Case(5.0, TAXED),
    "backtest.start": Case(date(2023, 1, 3)),
    "backtest.end": Case(date(2023, 11, 30)),
    "backtest.thresholds": Case((0.02, 0.04), commands=SWEEP),
    "backtest.cost_levels_bps": Case((5.0, 40.0), commands=SWEEP),
    "backtest.vix_multipliers": Case(((1.0, 3.0, 5.0),), commands=SWEEP),
    "backtest.impact_models": Case(("almgren_2005",), commands=SWEEP),
    "backtest.initial_nav_usd": Case(5e6),
    "backtest.start_from_holdings": Case(True, {"backtest.start": date(2022, 6, 1)}, "sample"),
    "portfolio.last_rebalance": Case(date(2023, 12, 1), variant="no_last_rebalance"),
    "portfolio.default_target": Case("market_cap", variant="no_targets"),
}
"""Keys whose automatic value would show nothing: another value, its context, inputs."""

ALLOWLIST: dict[str, str] = {
    # the interest on cash: the fixture gives the backtest no risk-free rate to earn
    "backtest.cash_earns_risk_free": "tests/backtest/test_cash_interest.py::"
        "test_turned_off_or_without_a_rate_the_paths_are_the_old_ones_bit_for_bit",
    # a price jump the user accepts: the fixture's prices have none to accept
    "data.accept_jumps": "tests/cli/test_bad_input_catalogue_inputs.py::test_accepted_jump_plans",
    # the fixture's only sale (AAA, down from 35-45 to 13) realizes losses: no gain to cap
    # or to defer
    "tax.gain_budget_usd":
        "tests/tax/test_plan_tax.py::test_the_gain_budget_caps_the_years_realized_net_gain",
    "tax.defer_horizon_days":
        "tests/tax/test_plan_tax.py::test_a_short_term_gain_about_to_turn_long_term_is_deferred",
    "tax.defer_short_term_gains":
        "tests/tax/test_plan_tax.py::test_a_short_term_gain_about_to_turn_long_term_is_deferred",
    # where the record lives: the commands that use it create it there
    "record.path": "tests/record/test_db.py::test_each_address_setting_is_read",
    "record.url": "tests/record/test_db.py::test_each_address_setting_is_read",
    # where a large run's work goes: the numbers never depend on it (that is the point)
    "cluster.workers":
        "tests/cli/test_cluster_cli.py::test_the_configured_workers_share_the_sweep",
    "cluster.scheduler":
        "tests/cli/test_cluster_cli.py::test_the_configured_scheduler_runs_the_backtest",
    # household rules: daily on a record of a household with a tax-deferred account
    "accounts.asset_location": "tests/record/test_asset_location.py::"
        "test_daily_plans_each_account_against_its_located_target",
    "accounts.tax_inefficient_tickers": "tests/record/test_asset_location.py::"
        "test_daily_plans_each_account_against_its_located_target",
    "accounts.tax_inefficient_classes": "tests/record/test_asset_location.py::"
        "test_the_configured_asset_classes_are_located",
}
"""Keys whose effect needs inputs the fixture lacks, each with the test that covers it."""


def auto_value(key: str) -> object:
    """Another valid value of ``key``: a flipped bool, another enum member, a number moved
    within its bounds. Raises (asking for a :data:`CASES` entry) when there is none."""
    section, name = key.split(".")
    info = Config.model_fields[section].annotation.model_fields[name]  # type: ignore[union-attr]
    default = info.default
    kind = _plain_type(info.annotation)
    if kind is bool:
        return not default
    if isinstance(kind, type) and issubclass(kind, Enum):
        others = [m for m in kind if m != default]
        return others[0]
    if kind in (int, float) and isinstance(default, int | float):
        high = min([m.le for m in info.metadata if getattr(m, "le", None) is not None]
                   + [m.lt for m in info.metadata if getattr(m, "lt", None) is not None]
                   + [float("inf")])
        value = default * 2 if default else 1
        if value >= high:
            value = default / 2
        return kind(value)
    raise AssertionError(f"{key}: no automatic other value for {info.annotation}; add a "
                         "Case to CASES (or an ALLOWLIST entry naming its targeted test)")


def _plain_type(annotation: Any) -> Any:
    """``X`` of ``X``, ``Annotated[X, ...]`` and ``X | None`` (None for anything else)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _plain_type(args[0]) if len(args) == 1 else None
    return annotation if origin is None else None


def _base_config(case: Case) -> Config:
    return Config().with_overrides({**BASE, **case.base}, source="base")


# ------------------------------------------------------------------ the tests


def test_cases_and_allowlist_name_real_keys() -> None:
    keys = set(leaves())
    assert set(CASES) <= keys, set(CASES) - keys
    assert set(ALLOWLIST) <= keys, set(ALLOWLIST) - keys
    assert not set(CASES) & set(ALLOWLIST)
    for key, target in ALLOWLIST.items():
        file, test = target.split("::")
        path = Path(__file__).resolve().parents[1] / file
        assert f"def {test}(" in path.read_text(encoding="utf-8"), f"{key}: {target} missing"
        assert key.split(".")[1] in path.read_text(encoding="utf-8"), f"{key} not in {file}"


@pytest.mark.parametrize("key", sorted(leaves()))
def test_key_changes_an_output(key: str, files: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    if key in ALLOWLIST:
        return  # covered by the targeted test it names (checked above)
    case = CASES.get(key) or Case(auto_value(key))
    base = _base_config(case)
    changed = base.with_overrides({key: case.value}, source=key)
    assert changed != base, f"{key}: {case.value!r} is its base value"
    commands = case.commands or COMMANDS[key.split(".")[0]]
    for command in commands:
        before = outputs(command, base, files, case.variant, capsys, tmp_path / "a")
        after = outputs(command, changed, files, case.variant, capsys, tmp_path / "b")
        if before != after:
            return
    pytest.fail(f"{key} = {case.value!r} changed nothing in {', '.join(commands)} "
                f"(fixture variant {case.variant!r}): read it or reject it")


def test_borrow_rate_of_the_configuration_prices_shorts() -> None:
    """``costs.borrow_bps_annual`` is the borrow fee of a short without a quoted rate:
    position × rate / 252 a day (oracle), through the command's own cost parameters."""
    from driftwise.config.assemble import cost_params
    from driftwise.costs import build_cost_inputs, trade_costs

    days = nyse_sessions("2023-01-03", "2023-12-29")
    prices = pd.DataFrame({"AAA": np.linspace(40.0, 50.0, len(days))}, index=days)
    for rate in (25.0, 500.0):
        params = cost_params(Config().with_overrides({"costs.borrow_bps_annual": rate}))
        inputs, _ = build_cost_inputs(["AAA"], prices, None, None, None, as_of=days[-1],
                                      params=params)
        split = trade_costs(np.array([-50_000.0]), inputs, params, None,
                            position_after_usd=np.array([-20_000.0]))
        assert float(split.borrow_usd[0]) == pytest.approx(20_000.0 * rate * 1e-4 / 252,
                                                           rel=1e-12)
