"""``driftwise daily`` and the plan's inputs from the record: the loader equals the files,
the target version effective on the day, the latest cost snapshot, the schema migrated
with data, each account's plan and orders stored once, superseded and invalidated orders,
and the events (new target version, a held ticker without a price, stale costs)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.record.daily_data import day, fill_record, import_inputs, sample_inputs

from driftwise.app.daily import pending_days, run_daily
from driftwise.app.plan import make_plan
from driftwise.cli import EXIT_OK, main
from driftwise.config import default_config
from driftwise.data.model import Targets
from driftwise.record import read_events, transaction
from driftwise.record.holdings import account_id
from driftwise.record.inputs import effective_targets, load_costs, load_record_inputs
from driftwise.record.orders import move_orders, select_orders
from driftwise.record.schema import orders, plans, prices

DAY = "2022-12-28"
TIGHT = default_config().with_overrides({"policy.threshold": 0.03,
                                          "policy.skip_if_cost_exceeds_benefit": False})
"""A 3 % threshold: the sample rebalances on 2022-12-27 and 2022-12-28."""


@pytest.fixture
def sample_engine(engine: Engine) -> Engine:
    """The record holding the (cut) sample in account ``main``."""
    fill_record(engine, sample_inputs())
    return engine


def test_inputs_from_the_record_plan_as_the_files_do(sample_engine: Engine) -> None:
    files = sample_inputs()
    with sample_engine.connect() as c:
        found = load_record_inputs(c, account_id(c, "main"), day(DAY))
    rec = found.inputs
    assert list(rec.market.prices.columns) == list(files.market.prices.columns)
    assert list(rec.market.prices.index) == list(files.market.prices.index)
    np.testing.assert_array_equal(rec.market.prices.to_numpy(), files.market.prices.to_numpy())
    assert rec.market.vix is not None and files.market.vix is not None
    np.testing.assert_array_equal(rec.market.vix.to_numpy(), files.market.vix.to_numpy())
    assert rec.holdings.shares.to_dict() == files.holdings.shares.to_dict()
    assert rec.holdings.cash_usd == files.holdings.cash_usd
    assert rec.targets is not None and files.targets is not None
    assert rec.targets.weights.to_dict() == files.targets.weights.to_dict()
    assert rec.targets.cash_weight == files.targets.cash_weight
    assert rec.targets.effective_date == files.targets.effective_date
    config = default_config()
    a, b = make_plan(rec, config, as_of=DAY), make_plan(files, config, as_of=DAY)
    assert (a.decision, a.reasons) == (b.decision, b.reasons)
    pd.testing.assert_frame_equal(a.trades, b.trades)
    assert a.before == b.before and a.after == b.after


def test_the_target_version_effective_on_the_day(sample_engine: Engine) -> None:
    files = sample_inputs()
    assert files.targets is not None
    weights = files.targets.weights.copy()
    weights.iloc[0], weights.iloc[1] = weights.iloc[0] + 0.01, weights.iloc[1] - 0.01
    later = Targets(level=files.targets.level, weights=weights,
                    cash_weight=files.targets.cash_weight,
                    effective_date=pd.Timestamp("2022-12-01"), source="v2")

    def add(c: sa.Connection) -> None:
        from driftwise.record.imports import import_targets
        import_targets(c, account_id(c, "main"), later)

    transaction(sample_engine, add)
    with sample_engine.connect() as c:
        owner = account_id(c, "main")
        before = effective_targets(c, owner, day("2022-11-30"))
        after = effective_targets(c, owner, day("2022-12-01"))
    assert before is not None and after is not None
    assert before[0] < after[0]
    assert before[1].weights.iloc[0] == files.targets.weights.iloc[0]
    assert after[1].weights.iloc[0] == weights.iloc[0]
    assert after[1].effective_date == pd.Timestamp("2022-12-01")


def test_the_latest_cost_snapshot_on_or_before_the_day(sample_engine: Engine) -> None:
    newer = sample_inputs(costs_as_of="2022-12-20")
    assert newer.costs is not None
    frame = newer.costs.frame.copy()
    frame["spread_bps"] = frame["spread_bps"] * 2
    transaction(sample_engine, lambda c: import_inputs(
        c, dataclasses.replace(newer, costs=dataclasses.replace(newer.costs, frame=frame)),
        market=False))
    with sample_engine.connect() as c:
        early, late = load_costs(c, day("2022-12-19")), load_costs(c, day("2022-12-28"))
        none = load_costs(c, day("2022-01-03"))
    assert none is None
    assert early is None  # the first snapshot is dated 2022-12-28
    assert late is not None
    assert late.frame["as_of"].iloc[0] == pd.Timestamp("2022-12-28")
    with sample_engine.connect() as c:
        mid = load_costs(c, day("2022-12-21"))
    assert mid is not None
    assert mid.frame["as_of"].iloc[0] == pd.Timestamp("2022-12-20")
    np.testing.assert_array_equal(mid.frame["spread_bps"], frame["spread_bps"])


def test_daily_stores_each_plan_once_with_its_orders(sample_engine: Engine) -> None:
    config = default_config()
    run = run_daily(sample_engine, config, day(DAY))
    (main_day,) = run.accounts
    assert main_day.decision == "rebalance" and main_day.orders > 0
    with sample_engine.connect() as c:
        (row,) = c.execute(sa.select(plans)).all()
        statuses = c.execute(sa.select(orders.c.status).where(orders.c.plan_id == row.id)
                             ).scalars().all()
    assert row.id == main_day.plan_id and row.as_of == day(DAY)
    assert statuses == ["proposed"] * main_day.orders
    assert row.metrics["drift"] == pytest.approx(make_plan(
        sample_inputs(), config, as_of=DAY).before["drift"], abs=0, rel=0)
    again = run_daily(sample_engine, config, day(DAY))
    assert again.accounts[0].already and again.accounts[0].plan_id == row.id
    with sample_engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(plans)).scalar_one() == 1


def test_a_new_plan_supersedes_the_proposed_orders(sample_engine: Engine) -> None:
    config = TIGHT
    first = run_daily(sample_engine, config, day("2022-12-27")).accounts[0]
    second = run_daily(sample_engine, config, day(DAY)).accounts[0]
    assert first.orders > 0 and not second.events
    assert sorted(second.cancelled) == sorted(_orders_of(sample_engine, first.plan_id))
    with sample_engine.connect() as c:
        old = c.execute(sa.select(orders.c.status).where(orders.c.plan_id == first.plan_id)
                        ).scalars().all()
        moves = read_events(c, kind="orders")
    assert set(old) == {"cancelled"}
    assert moves[-1].detail["why"] == f"superseded by plan {second.plan_id}"


def _orders_of(engine: Engine, plan_id: int | None) -> list[int]:
    with engine.connect() as c:
        return [int(i) for i in c.execute(sa.select(orders.c.id).where(
            orders.c.plan_id == plan_id)).scalars()]


def _approve(engine: Engine, plan_id: int | None) -> None:
    transaction(engine, lambda c: move_orders(c, select_orders(c, plan_id=plan_id),
                                              "approved"))


def test_a_new_target_version_invalidates_the_open_plan(sample_engine: Engine) -> None:
    config = TIGHT
    first = run_daily(sample_engine, config, day("2022-12-27")).accounts[0]
    _approve(sample_engine, first.plan_id)
    files = sample_inputs()
    assert files.targets is not None
    weights = files.targets.weights.copy()
    weights.iloc[0], weights.iloc[1] = weights.iloc[0] + 0.02, weights.iloc[1] - 0.02
    new = Targets(level=files.targets.level, weights=weights,
                  cash_weight=files.targets.cash_weight,
                  effective_date=pd.Timestamp(DAY), source="v2")

    def add(c: sa.Connection) -> None:
        from driftwise.record.imports import import_targets
        import_targets(c, account_id(c, "main"), new)
        c.execute(sa.text("UPDATE accounts SET last_rebalance = :d"), {"d": day("2022-12-27")})

    transaction(sample_engine, add)
    second = run_daily(sample_engine, config, day(DAY)).accounts[0]
    assert len(second.events) == 1 and "new target version" in second.events[0]
    assert sorted(second.cancelled) == sorted(_orders_of(sample_engine, first.plan_id))
    assert any("new target version effective 2022-12-28" in r for r in second.reasons)
    assert second.decision in ("rebalance", "partial")
    with sample_engine.connect() as c:
        (event,) = read_events(c, kind="invalidate")
        statuses = set(c.execute(sa.select(orders.c.status).where(
            orders.c.plan_id == first.plan_id)).scalars())
    assert statuses == {"cancelled"}
    assert event.detail["review_plan_id"] == second.plan_id
    assert event.detail["orders_cancelled"] == list(second.cancelled)


def test_a_held_ticker_without_a_price_invalidates_the_open_plan(sample_engine: Engine) -> None:
    config = TIGHT
    first = run_daily(sample_engine, config, day("2022-12-27")).accounts[0]
    _approve(sample_engine, first.plan_id)
    transaction(sample_engine, lambda c: c.execute(prices.delete().where(
        (prices.c.ticker == "GE") & (prices.c.date == day(DAY)))))
    second = run_daily(sample_engine, config, day(DAY)).accounts[0]
    assert second.events == ("held without a price (delisted or suspended): GE",)
    assert sorted(second.cancelled) == sorted(_orders_of(sample_engine, first.plan_id))
    with sample_engine.connect() as c:
        row = c.execute(sa.select(plans).where(plans.c.id == second.plan_id)).one()
    assert row.fingerprints["unpriced"] == ["GE"]
    assert any("GE" in r for r in second.reasons)  # frozen by the planner, flagged


def test_stale_costs_invalidate_the_open_plan(engine: Engine) -> None:
    fill_record(engine, sample_inputs(costs_as_of="2022-11-01"))
    config = TIGHT
    first = run_daily(engine, config, day("2022-11-30")).accounts[0]
    assert first.events == () and first.decision != "invalid"
    _approve(engine, first.plan_id)
    second = run_daily(engine, config, day(DAY)).accounts[0]
    assert second.events == ("cost inputs are stale",)
    assert second.decision == "invalid" and second.orders == 0
    assert sorted(second.cancelled) == sorted(_orders_of(engine, first.plan_id))
    assert run_daily(engine, config, day(DAY)).accounts[0].already


def test_pending_days_counts_the_sessions_after_the_first_delayed_day() -> None:
    sessions = pd.DatetimeIndex(["2020-03-09", "2020-03-10", "2020-03-11", "2020-03-12"])
    assert np.isnan(pending_days(sessions, None, day("2020-03-12")))
    assert pending_days(sessions, day("2020-03-09"), day("2020-03-09")) == 0
    assert pending_days(sessions, day("2020-03-09"), day("2020-03-11")) == 2
    assert pending_days(sessions, day("2020-03-10"), day("2020-03-12")) == 2


def test_daily_from_the_command_line(sample_engine: Engine, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    url = sample_engine.url.render_as_string(hide_password=False)
    assert main(["daily", "--db", url, "--as-of", DAY, "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == DAY
    (acct,) = out["accounts"]
    assert acct["account"] == "main" and acct["needs_action"] and acct["orders"] > 0
    assert main(["daily", "--db", url, "--as-of", DAY]) == EXIT_OK
    text = capsys.readouterr().out
    assert "main" in text and "rebalance" in text and "(earlier)" in text


def test_a_record_at_0002_with_plans_is_migrated_and_planned(db_url: str) -> None:
    """The previous head, holding an account, its holdings and a plan with its orders,
    migrated to 0003: every row kept, the new columns empty, ``daily`` plans it."""
    from alembic import command

    from driftwise.record import (
        _alembic_config,
        current_revision,
        head_revision,
        migrate,
        open_engine,
    )

    engine = open_engine(db_url)
    transaction(engine, lambda c: command.upgrade(_alembic_config(c), "0002"))
    assert current_revision(engine) == "0002"
    files = sample_inputs()
    old_plans = sa.Table("plans", sa.MetaData(), autoload_with=engine)
    assert "delayed_since" not in old_plans.c

    def fill(c: sa.Connection) -> None:
        owner = import_inputs(c, files)
        now = pd.Timestamp.now("UTC").to_pydatetime()
        c.execute(old_plans.insert().values(
            account_id=owner, as_of=day("2022-12-27"), decision="skip", delay_until=None,
            rule="threshold", reasons=["no trigger fired"], fingerprints={"prices": "x"},
            configuration="", nav_usd="1000.5", created_at=now))

    transaction(engine, fill)
    assert migrate(engine) == ("0002", head_revision())
    with engine.connect() as c:
        (row,) = c.execute(sa.select(plans)).all()
    assert (row.decision, row.reasons, str(row.nav_usd)) == ("skip", ["no trigger fired"],
                                                             "1000.5")
    assert row.delayed_since is None and row.target_version_id is None and row.metrics is None
    run = run_daily(engine, default_config(), day(DAY))
    assert run.accounts[0].plan_id == row.id + 1 and not run.accounts[0].events
    engine.dispose()
