"""A household's wash-sale rule over sales not yet filled: the loss each sale order is
expected to realize (``orders.loss_usd``, migration 0005, recomputed by hand from the
lots), an open loss sale of the record holding back another account's buy, the
allowed case said in both plans, tax-deferred accounts, the batches that keep a
household together, and the reason printed by ``driftwise daily``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tests.record.daily_data import day, sample_inputs
from tests.record.test_households import (
    DAY,
    TIGHT,
    _household_book,
    _orders,
    _profile,
    _reasons,
)

from driftwise.app.daily import batches, run_daily
from driftwise.cli import EXIT_OK, main
from driftwise.record import transaction
from driftwise.record.holdings import account_id
from driftwise.record.orders import move_orders
from driftwise.record.schema import orders

TAXED = TIGHT.with_overrides({"tax.enabled": True})


def _sale(engine: Engine, name: str, ticker: str) -> sa.Row:  # type: ignore[type-arg]
    with engine.connect() as c:
        (row,) = c.execute(sa.select(orders).where(
            (orders.c.account_id == account_id(c, name)) & (orders.c.ticker == ticker)
            & (orders.c.side == "SELL"))).all()
    return row


def _bought(engine: Engine, name: str, ticker: str) -> bool:
    found = _orders(engine, name)
    return bool(((found["ticker"] == ticker) & (found["side"] == "BUY")).any())


@pytest.mark.parametrize("tax", [True, False])
def test_a_sale_order_carries_the_loss_of_its_lots(engine: Engine, tax: bool) -> None:
    """``b-seller`` holds X in one lot bought at 1.5 times the day's price: selling ``n``
    shares loses ``n · 0.5 · price`` (to the cent), whether or not the plan is after tax;
    its buys carry no loss."""
    x = _household_book(engine, household=False)
    run_daily(engine, TAXED if tax else TIGHT, day(DAY), names=["b-seller"])
    row = _sale(engine, "b-seller", x)
    price = float(sample_inputs().market.prices.loc[DAY, x])
    assert row.loss_usd == Decimal(f"{float(row.shares) * 0.5 * price:.2f}")
    with engine.connect() as c:
        others = c.execute(sa.select(orders.c.loss_usd).where(
            (orders.c.account_id == account_id(c, "b-seller")) & (orders.c.ticker != x)
        )).scalars().all()
    assert others and all(v == 0 for v in others)  # bought, or sold at a gain of 0


@pytest.mark.parametrize(("status", "household"), [
    ("proposed", True), ("approved", True), ("sent", True), ("cancelled", True),
    ("proposed", False)])
def test_an_open_loss_sale_of_the_record_holds_back_the_buy(
        engine: Engine, status: str, household: bool) -> None:
    """``b-seller`` planned alone first (its sale of X at a loss stored, then moved to
    ``status``); ``a-buyer`` planned in a later run does not buy X while that order is
    open in its household, and says which account's sale it would wash."""
    x = _household_book(engine, household)
    run_daily(engine, TAXED, day(DAY), names=["b-seller"])
    path = {"proposed": [], "approved": ["approved"], "sent": ["approved", "sent"],
            "cancelled": ["cancelled"]}[status]

    def move(c: Connection) -> None:
        for to in path:
            row = c.execute(sa.select(orders).where(orders.c.id == _sale(engine, "b-seller",
                                                                           x).id)).one()
            move_orders(c, [row], to)

    transaction(engine, move)
    run = run_daily(engine, TAXED, day(DAY), names=["a-buyer"])
    held = household and status != "cancelled"
    assert _bought(engine, "a-buyer", x) is not held
    said = [r for r in _reasons(run, "a-buyer") if "(household wash sale)" in r]
    if held:
        loss = _sale(engine, "b-seller", x).loss_usd
        (text,) = said
        assert text.startswith(f"{x}: not bought (household wash sale): account b-seller "
                               f"has a {status} sale of {x} at a loss ({float(loss):,.2f} "
                               f"USD) (plan of {DAY})")
    else:
        assert not said


def test_an_unknown_loss_is_not_counted(engine: Engine) -> None:
    """An order stored before migration 0005 has no loss (NULL): it holds nothing back."""
    x = _household_book(engine, household=True)
    run_daily(engine, TAXED, day(DAY), names=["b-seller"])
    transaction(engine, lambda c: c.execute(orders.update().values(loss_usd=None)))
    run_daily(engine, TAXED, day(DAY), names=["a-buyer"])
    assert _bought(engine, "a-buyer", x)


def test_allowed_wash_sales_are_said_in_both_plans(engine: Engine) -> None:
    x = _household_book(engine, household=True)
    run = run_daily(engine, TAXED.with_overrides({"tax.allow_wash_sales": True}), day(DAY))
    assert _bought(engine, "a-buyer", x)
    assert _sale(engine, "b-seller", x).side == "SELL"
    (buyer,) = [r for r in _reasons(run, "a-buyer") if "(household wash sale)" in r]
    (seller,) = [r for r in _reasons(run, "b-seller") if "(household wash sale)" in r]
    assert buyer.startswith(f"{x}: wash sale (household wash sale): account b-seller sells "
                            f"{x} at a loss")
    assert buyer.endswith("this buy disallows that loss (allowed by tax.allow_wash_sales)")
    assert seller.startswith(f"{x}: wash sale (household wash sale): account a-buyer buys "
                             f"{x} in this run's plan")


@pytest.mark.parametrize(("deferred", "held"), [("a-buyer", True), ("b-seller", False)])
def test_a_tax_deferred_buy_washes_and_a_tax_deferred_loss_does_not_count(
        engine: Engine, deferred: str, held: bool) -> None:
    """A buy in a tax-deferred account washes the taxable account's loss (held back,
    although that account is planned without tax); a sale at a loss in a tax-deferred
    account realizes no tax loss (the buy is made)."""
    x = _household_book(engine, household=True)
    _profile(engine, f"account,tax_status\n{deferred},tax_deferred\n")
    run = run_daily(engine, TAXED, day(DAY))
    assert _bought(engine, "a-buyer", x) is not held
    assert bool([r for r in _reasons(run, "a-buyer") if "(household wash sale)" in r]) is held


def test_batches_keep_a_household_together() -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    houses = {"a": "h1", "b": None, "c": "h2", "d": "h1", "e": "h2", "f": None}
    assert batches(names, houses, 2) == [[["a", "d"]], [["b"], ["c", "e"]], [["f"]]]
    assert batches(names, {}, 4) == [[["a"], ["b"], ["c"], ["d"]], [["e"], ["f"]]]
    flat = [n for group in batches(names, houses, 1) for unit in group for n in unit]
    assert sorted(flat) == names


def test_daily_prints_the_held_back_buy(engine: Engine, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    x = _household_book(engine, household=True)
    config = tmp_path / "driftwise.toml"
    config.write_text("[policy]\nthreshold = 0.03\nskip_if_cost_exceeds_benefit = false\n"
                      "[tax]\nenabled = true\n")
    assert main(["daily", "--db", str(engine.url), "--as-of", DAY, "--config",
                 str(config)]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert (f"a-buyer: {x}: not bought (household wash sale): account b-seller sells {x} "
            "at a loss") in out


def test_the_migration_adds_and_removes_the_loss_column(engine: Engine) -> None:
    from alembic import command

    from driftwise.record import _alembic_config, current_revision, head_revision, migrate

    def columns() -> set[str]:
        with engine.connect() as c:
            return {col["name"] for col in sa.inspect(c).get_columns("orders")}

    assert "loss_usd" in columns()
    transaction(engine, lambda c: command.downgrade(_alembic_config(c), "0004"))
    assert current_revision(engine) == "0004" and "loss_usd" not in columns()
    assert migrate(engine) == ("0004", head_revision())
    assert "loss_usd" in columns()
