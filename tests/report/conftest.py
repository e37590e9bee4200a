"""Fixtures of the report tests: the sample's plan and synthetic backtest / validation data.

The backtest and validation engines are built elsewhere; their pages are tested on
synthetic data shaped like their contract (``BacktestResult`` attributes, the tidy sweep
table, the per-rule validation table and its breakdowns).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from driftwise.app.monitor import MonitorReport, monitor
from driftwise.app.plan import Plan, make_plan
from driftwise.config import default_config
from driftwise.config.assemble import cost_params, monitor_config
from driftwise.data.loader import load_inputs
from driftwise.report.validation_page import ValidationPageData

POLICIES = ("never", "monthly", "quarterly", "threshold 3%", "threshold 5%", "threshold 10%")


@pytest.fixture(scope="session")
def sample_plan_and_monitor() -> tuple[Plan, MonitorReport]:
    """The embedded sample's plan and the monitor of the same day."""
    inputs, config = load_inputs(), default_config()
    plan = make_plan(inputs, config)
    report = monitor(inputs, as_of=plan.as_of, config=monitor_config(config),
                     cost_params=cost_params(config))
    return plan, report


@pytest.fixture(scope="session")
def sample_plan(sample_plan_and_monitor: tuple[Plan, MonitorReport]) -> Plan:
    return sample_plan_and_monitor[0]


@pytest.fixture(scope="session")
def sample_monitor(sample_plan_and_monitor: tuple[Plan, MonitorReport]) -> MonitorReport:
    return sample_plan_and_monitor[1]


def make_sweep(seed: int = 0) -> pd.DataFrame:
    """Tidy sweep: threshold × cost level × VIX multipliers, TE rising and cost falling."""
    rng = np.random.default_rng(seed)
    rows = []
    for threshold in (0.02, 0.03, 0.05, 0.07, 0.10):
        for cost_bps in (10.0, 20.0, 50.0):
            for elevated, stress in ((1.5, 2.5), (2.0, 3.0)):
                rows.append({
                    "threshold": threshold, "cost_level_bps": cost_bps,
                    "vix_mult_elevated": elevated, "vix_mult_stress": stress,
                    "te_annual": 0.002 + 0.12 * threshold + rng.normal(0, 1e-5),
                    "cost_per_year": cost_bps * 1e-4 * 0.025 / threshold * elevated / 1.5})
    return pd.DataFrame(rows)


def make_backtest(n_days: int = 2600, seed: int = 0) -> SimpleNamespace:
    """An object with the attributes of a ``BacktestResult`` (synthetic paths and metrics)."""
    rng = np.random.default_rng(seed)
    names = list(POLICIES)
    n = len(names)
    dates = pd.bdate_range("2012-01-03", periods=n_days)
    ref = 1e7 * np.exp(np.cumsum(rng.normal(3e-4, 0.01, n_days)))
    spread = np.linspace(0.0012, 0.0003, n)
    nav = ref[:, None] * np.exp(np.cumsum(rng.normal(0, 1, (n_days, n)) * spread, axis=0))
    drift = np.abs(np.sin(np.arange(n_days)[:, None] / 40.0)) * np.linspace(0.2, 0.05, n)
    rebalanced = rng.random((n_days, n)) < np.linspace(0.0, 0.02, n)
    te = np.linspace(0.03, 0.006, n)
    cost = np.linspace(0.0, 0.0012, n)
    metrics = pd.DataFrame({
        "te_annual": te, "cost_per_year": cost, "turnover_per_year": np.linspace(0, 0.6, n),
        "n_rebalances": rebalanced.sum(axis=0), "sharpe_diff": rng.normal(0, 0.05, n),
        "te_low": 0.8 * te, "te_high": 1.2 * te, "cost_low": 0.9 * cost,
        "cost_high": 1.1 * cost}, index=pd.Index(names, name="policy"))
    traded = rng.random((n_days, n)) * 1e4 * rebalanced
    return SimpleNamespace(
        dates=dates.to_numpy(), names=names, params=pd.DataFrame({"policy": names}),
        nav_usd=nav, ref_nav_usd=ref, drift=drift, traded_usd=traded,
        cost_usd=traded * 1e-3, rebalanced=rebalanced, metrics=metrics, sweep=make_sweep(seed))


def make_validation() -> ValidationPageData:
    """Four rules with verdicts of each kind, broken down by VIX regime and cost level."""
    rules = pd.DataFrame({
        "rule": ["Rule 1", "Rule 2", "Rule 3", "Rule 4"],
        "claim": ["threshold beats calendar", "trade volatile drifters", "cost-benefit",
                  "delay in stress"],
        "n_events": [120, 45, 300, 18], "hit_rate": [0.72, 0.41, 0.66, 0.55],
        "ci_low": [0.63, 0.27, 0.60, 0.33], "ci_high": [0.80, 0.56, 0.71, 0.75],
        "stated_confidence": [0.70, 0.65, 0.60, 0.60], "effect": [0.002, -0.001, 5e-4, 1e-4],
        "verdict": ["supported", "not supported", "supported", "inconclusive"]})
    by_regime = pd.DataFrame([
        {"rule": r, "vix_regime": g, "hit_rate": h, "ci_low": h - 0.1, "ci_high": h + 0.1,
         "n_events": 10}
        for r in rules["rule"] for g, h in (("< 20", 0.7), ("20-30", 0.6), ("> 30", 0.4))])
    by_cost = pd.DataFrame([
        {"rule": r, "cost_level_bps": c, "hit_rate": h, "ci_low": h - 0.1, "ci_high": h + 0.1}
        for r in rules["rule"] for c, h in ((10, 0.65), (20, 0.6), (50, 0.5))])
    return ValidationPageData(rules=rules, by_regime=by_regime, by_cost=by_cost)


@pytest.fixture
def backtest_result() -> SimpleNamespace:
    return make_backtest()


@pytest.fixture
def validation_data() -> ValidationPageData:
    return make_validation()


@pytest.fixture
def sweep() -> pd.DataFrame:
    return make_sweep()
