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


# ---------------------------------------------------------------- the accounts dashboard

BOOK_DAY = "2024-03-01"
"""The day of the synthetic book's latest plans."""

BOOK_PLANS = {
    # account: [(as_of, decision, metrics, orders as (ticker, side, shares, status))]
    "alpha": [(BOOK_DAY, "rebalance", {"drift": 0.081, "drift_after": 0.002, "te": 0.012,
                                       "cost_usd": 1234.5, "cost_bps": 12.345,
                                       "tax_usd": 500.25, "cost_benefit_ratio": 0.31},
               [("AAA", "sell", "120", "approved"), ("BBB", "buy", "40", "sent"),
                ("CCC", "buy", "7", "proposed")])],
    "beta": [(BOOK_DAY, "skip", {"drift": 0.011, "drift_after": 0.011, "te": 0.002,
                                 "cost_usd": 0.0, "cost_bps": 0.0,
                                 "cost_benefit_ratio": None}, [])],
    "gamma": [("2024-02-01", "rebalance", {"drift": 0.09, "cost_usd": 2000.0, "cost_bps": 20.0},
               [("AAA", "buy", "10", "filled"), ("BBB", "sell", "5", "approved")]),
              (BOOK_DAY, "partial", {"drift": 0.062, "drift_after": 0.03, "te": 0.008,
                                     "cost_usd": 800.0, "cost_bps": 8.0, "tax_usd": 0.0,
                                     "cost_benefit_ratio": 0.52},
               [("CCC", "sell", "33", "proposed")])],
    "delta": [(BOOK_DAY, "skip", {"drift": 0.02, "drift_after": 0.02, "te": 0.004,
                                  "cost_usd": 0.0, "cost_bps": 0.0,
                                  "cost_benefit_ratio": 2.5}, [])],
    "omega": [(BOOK_DAY, "delay", {"drift": 0.07, "drift_after": 0.07, "te": 0.01,
                                   "cost_usd": 950.0, "cost_bps": 9.5,
                                   "cost_benefit_ratio": 0.9}, [])],
}
"""The synthetic book: ``delta``'s plan is invalidated by an event, ``epsilon`` has no
plan; ``gamma`` keeps an approved order of its earlier plan open."""
BOOK_NAV = {"alpha": "1000000.50", "beta": "250000", "gamma": "4000000", "delta": "75000.25",
            "omega": "600000"}
BOOK_NEEDS_ACTION = ("alpha", "omega", "gamma", "delta")
"""Needing action, in the dashboard's order: by drift, largest first."""


def build_book(url: str) -> None:
    """Write the synthetic book into a new record at ``url``."""
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy.engine import Connection

    from driftwise.record import append_event, migrate, open_engine, transaction
    from driftwise.record.holdings import account_id
    from driftwise.record.orders import PlanRecord, move_orders, store_plan
    from driftwise.record.schema import orders

    engine = open_engine(url)
    migrate(engine)

    def work(connection: Connection) -> None:
        import sqlalchemy as sa

        account_id(connection, "epsilon", create=True)
        for name, plans in BOOK_PLANS.items():
            owner = account_id(connection, name, create=True)
            for as_of, decision, metrics, rows in plans:
                record = PlanRecord(
                    as_of=dt.date.fromisoformat(as_of), decision=decision, delay_until=None,
                    rule="threshold 5%", reasons=(f"{name} {decision}", "second reason"),
                    fingerprints={"inputs": "record"}, configuration="",
                    nav_usd=float(BOOK_NAV[name]), metrics=metrics)
                frame = pd.DataFrame(
                    [{"order_id": f"{name}-{as_of}-{i}", "ticker": t, "side": s,
                      "shares": Decimal(q), "order_type": "limit",
                      "limit_price_usd": Decimal("101.25")} for i, (t, s, q, _) in
                     enumerate(rows)],
                    columns=["order_id", "ticker", "side", "shares", "order_type",
                             "limit_price_usd"])
                plan_id, ids = store_plan(connection, owner, record, frame)
                for order, (_, _, _, status) in zip(ids, rows, strict=True):
                    path = {"proposed": [], "approved": ["approved"],
                            "sent": ["approved", "sent"],
                            "filled": ["approved", "sent", "filled"]}[status]
                    for to in path:
                        found = connection.execute(
                            sa.select(orders).where(orders.c.id == order)).all()
                        move_orders(connection, found, to)
                if name == "delta":
                    append_event(connection, "invalidate", {
                        "as_of": as_of, "causes": ["new target version 2"],
                        "orders_cancelled": [], "review_plan_id": plan_id},
                        account_id=owner)

    transaction(engine, work)
    engine.dispose()


@pytest.fixture(scope="session")
def book_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite record holding the synthetic book."""
    url = f"sqlite:///{tmp_path_factory.mktemp('book') / 'record.sqlite'}"
    build_book(url)
    return url
