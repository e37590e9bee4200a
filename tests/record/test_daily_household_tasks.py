"""``driftwise daily`` plans each household as one task (in this process or on a Dask
worker) from what it read before the write transaction: the stored plans equal those of
the households planned inside the transaction one account after the other, and a 2-worker
local cluster stores the serial run's plans and orders, households (wash sales across
accounts, asset location) included. A household whose record changed between the read and
the write (a loss sale proposed or cancelled in another account) is planned again inside
the transaction, and the household's state read for that check changes with each thing
its plans read."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tests.record.daily_data import day, import_inputs, sample_inputs
from tests.record.test_daily_batch import _stored, _varied
from tests.record.test_household_wash_record import TAXED, _bought, _sale
from tests.record.test_households import DAY, _household_book, _profile, _reasons

from driftwise.app import daily
from driftwise.app.daily import run_daily
from driftwise.app.household import plan_buys
from driftwise.data.model import Targets
from driftwise.record import imports, migrate, open_engine, transaction
from driftwise.record.accounts import household_state
from driftwise.record.holdings import account_id
from driftwise.record.orders import move_orders
from driftwise.record.schema import orders

CONFIG = TAXED.with_overrides({"accounts.asset_location": True,
                               "accounts.tax_inefficient_tickers": ["JNJ", "KO"]})
"""Taxes (the household's wash-sale rule) and asset location on."""


def _book(engine: Engine) -> str:
    """``a-buyer`` and ``b-seller`` in household smith (see ``_household_book``),
    ``c-single`` alone, ``d-ira`` (tax-deferred) and ``e-joint`` in household jones,
    each of the last three holding the sample scaled differently; returns X (sold at a
    loss by ``b-seller``)."""
    x = _household_book(engine, household=True)
    inputs = sample_inputs()

    def work(c: Connection) -> None:
        for k, name in enumerate(("c-single", "d-ira", "e-joint")):
            import_inputs(c, inputs, name, market=False)
            imports.import_holdings(c, account_id(c, name), _varied(inputs, k))

    transaction(engine, work)
    _profile(engine, "account,household,tax_status\nd-ira,jones,tax_deferred\n"
                     "e-joint,jones,taxable\n")
    return x


def _run(path: Path, **kwargs: Any) -> tuple[dict[str, Any], daily.DailyRun, str]:
    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    x = _book(engine)
    run = run_daily(engine, CONFIG, day(DAY), **kwargs)
    stored = _stored(engine)
    assert not _bought(engine, "a-buyer", x)  # the household's wash-sale rule held
    engine.dispose()
    return stored, run, x


def _check_book(stored: dict[str, Any], run: daily.DailyRun, x: str) -> None:
    assert sorted(stored) == ["a-buyer", "b-seller", "c-single", "d-ira", "e-joint"]
    (held,) = [r for r in _reasons(run, "a-buyer") if "(household wash sale)" in r]
    assert held.startswith(f"{x}: not bought (household wash sale): account b-seller sells "
                           f"{x} at a loss (")
    assert any(r.startswith("asset location") for r in _reasons(run, "d-ira"))
    assert not any("household" in r or r.startswith("asset location")
                   for r in _reasons(run, "c-single"))


def test_households_planned_as_tasks_store_what_the_transaction_planned(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: every household planned inside the write transaction, one
    account after the other (as before households were tasks); the same plans and
    orders stored when each household is a task planned from its read, and then no
    household is planned inside the transaction."""
    if not db_url.startswith("sqlite"):
        pytest.skip("compared on SQLite (two records)")
    inside: list[list[str]] = []
    real = daily.plan_household

    def spy(connection: Connection, names: Any, *args: Any, **kwargs: Any) -> Any:
        inside.append(list(names))
        return real(connection, names, *args, **kwargs)

    monkeypatch.setattr(daily, "plan_household", spy)
    tasks, run, x = _run(tmp_path / "tasks.sqlite", batch=2)
    assert inside == []
    _check_book(tasks, run, x)
    monkeypatch.setattr(daily, "_household_still", lambda *args: False)
    reference, _, _ = _run(tmp_path / "inside.sqlite", batch=2)
    assert sorted(map(tuple, inside)) == [("a-buyer", "b-seller"), ("d-ira", "e-joint")]
    assert tasks == reference


def test_a_local_dask_cluster_stores_the_serial_plans_of_households(
        db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("compared on SQLite (two records)")
    serial, _, _ = _run(tmp_path / "serial.sqlite", workers=1, batch=3)
    parallel, run, x = _run(tmp_path / "cluster.sqlite", workers=2, batch=3)
    _check_book(parallel, run, x)
    assert parallel == serial


def _meddled(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> list[list[Any]]:
    """``daily.household_task`` making ``change`` in the record once, after the first
    household's read and before its write; returns the plans made from that read."""
    real = daily.household_task
    made: list[list[Any]] = []

    def meddle(shared: Any, house: Any) -> Any:
        if not made:
            made.append(real(shared, house))
            change()
        return real(shared, house)

    monkeypatch.setattr(daily, "household_task", meddle)
    return made


@pytest.mark.parametrize("workers", [1, 2])
def test_a_loss_sale_proposed_after_the_read_holds_the_buy_back(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """``a-buyer`` is read (no loss sale open in its household: its plan buys X); before
    its write another run plans ``b-seller``, which proposes X's sale at a loss. The
    plan made from the read is not stored: ``a-buyer`` is planned again inside the
    transaction and holds the buy back (on a cluster the task runs elsewhere, so the
    change is made from this process while the batch is read)."""
    x = _household_book(engine, household=True)

    def propose() -> None:
        run_daily(engine, TAXED, day(DAY), names=["b-seller"])

    if workers == 1:
        made = _meddled(monkeypatch, propose)
    else:
        made = []
        real = daily._read

        def read(connection: Connection, *args: Any) -> Any:
            out = real(connection, *args)
            if not made:
                made.append([])
                propose()
            return out

        monkeypatch.setattr(daily, "_read", read)
    run = run_daily(engine, TAXED, day(DAY), names=["a-buyer"], workers=workers)
    if workers == 1:
        ((stale,),) = made
        assert x in plan_buys(stale)
    assert not _bought(engine, "a-buyer", x)
    said = [r for r in _reasons(run, "a-buyer") if "(household wash sale)" in r]
    assert len(said) == 1 and said[0].startswith(
        f"{x}: not bought (household wash sale): account b-seller has a proposed sale")


def test_a_loss_sale_cancelled_after_the_read_lets_the_buy_go(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other way: ``b-seller``'s loss sale is open when ``a-buyer`` is read (the
    plan made from the read holds X back), then cancelled before the write: the plan
    stored is made again and buys X."""
    x = _household_book(engine, household=True)
    run_daily(engine, TAXED, day(DAY), names=["b-seller"])
    sale = _sale(engine, "b-seller", x)

    def cancel() -> None:
        transaction(engine, lambda c: move_orders(c, [c.execute(
            sa.select(orders).where(orders.c.id == sale.id)).one()], "cancelled"))

    made = _meddled(monkeypatch, cancel)
    run = run_daily(engine, TAXED, day(DAY), names=["a-buyer"])
    ((stale,),) = made
    assert x not in plan_buys(stale)
    assert _bought(engine, "a-buyer", x)
    assert not [r for r in _reasons(run, "a-buyer") if "(household wash sale)" in r]


def test_the_household_state_changes_with_what_its_plans_read(engine: Engine) -> None:
    """Equal when nothing changed; different after an order moves, a member's new
    holdings, a member's new target version in force on the day (not one taking effect
    later), a member's tax status, a new member."""
    x = _household_book(engine, household=True)
    run_daily(engine, TAXED, day(DAY), names=["b-seller"])
    inputs = sample_inputs()

    def state() -> Any:
        with engine.connect() as c:
            return household_state(c, "smith", day(DAY))

    def targets(effective: str) -> Targets:
        assert inputs.targets is not None
        weights = inputs.targets.weights * 0.5
        return dataclasses.replace(inputs.targets, weights=weights,
                                   cash_weight=1.0 - float(weights.sum()),
                                   effective_date=pd.Timestamp(effective))

    def approve(c: Connection) -> None:
        move_orders(c, [c.execute(sa.select(orders).where(
            orders.c.id == _sale(engine, "b-seller", x).id)).one()], "approved")

    changes: list[tuple[bool, Callable[[], Any]]] = [
        (True, lambda: transaction(engine, approve)),
        (True, lambda: transaction(engine, lambda c: imports.import_holdings(
            c, account_id(c, "a-buyer"), _varied(inputs, 3)))),
        (False, lambda: transaction(engine, lambda c: imports.import_targets(
            c, account_id(c, "a-buyer"), targets("2023-01-03")))),
        (True, lambda: transaction(engine, lambda c: imports.import_targets(
            c, account_id(c, "b-seller"), targets("2022-12-01")))),
        (True, lambda: _profile(engine, "account,tax_status\nb-seller,tax_deferred\n")),
        (True, lambda: (transaction(engine, lambda c: account_id(c, "c-new", create=True)),
                        _profile(engine, "account,household\nc-new,smith\n"))),
    ]
    before = state()
    for k, (changed, change) in enumerate(changes):
        change()
        now = state()
        assert (now != before) is changed, k
        assert state() == now
        before = now
