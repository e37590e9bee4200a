"""The accounts dashboard: the book read from the record (``record.book_view``) and its
page (``report.dashboard``), on a synthetic record whose every figure is known."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.record import open_engine
from driftwise.record.book_view import BookView, read_book
from driftwise.record.schema import orders, plans
from driftwise.report.dashboard import drift_histogram, render_dashboard

from .conftest import BOOK_DAY, BOOK_NAV, BOOK_NEEDS_ACTION, BOOK_PLANS


def _book(url: str, as_of: dt.date | None = None) -> BookView:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return read_book(connection, as_of)
    finally:
        engine.dispose()


def test_the_accounts_needing_action_come_first_in_order(book_url: str) -> None:
    view = _book(book_url)
    frame = view.accounts
    assert tuple(frame["account"]) == (*BOOK_NEEDS_ACTION, "beta")
    assert tuple(frame.loc[frame["needs_action"], "account"]) == BOOK_NEEDS_ACTION
    assert frame.set_index("account").loc["delta", "events"] == "new target version 2"
    assert view.unplanned == ("epsilon",)
    assert view.as_of == dt.date.fromisoformat(BOOK_DAY)


def test_each_figure_is_the_latest_plans_as_stored(book_url: str) -> None:
    frame = _book(book_url).accounts.set_index("account")
    for name, history in BOOK_PLANS.items():
        _, decision, metrics, rows = history[-1]
        row = frame.loc[name]
        assert row["decision"] == decision
        assert row["nav_usd"] == float(BOOK_NAV[name])
        assert row["orders"] == len(rows)
        assert row["reasons"] == (f"{name} {decision}", "second reason")
        for key, column in (("drift", "drift"), ("cost_usd", "cost_usd"),
                            ("tax_usd", "tax_usd"), ("cost_benefit_ratio",
                                                     "cost_benefit_ratio")):
            stored = metrics.get(key)
            if stored is None:
                assert math.isnan(row[column]), (name, column)
            else:
                assert row[column] == stored, (name, column)


def test_orders_are_the_latest_plans_and_every_open_one(book_url: str) -> None:
    view = _book(book_url)
    engine = open_engine(book_url)
    with engine.connect() as c:  # oracle: straight from the tables
        latest = {}
        for r in c.execute(sa.select(plans).order_by(plans.c.as_of, plans.c.id)):
            latest[r.account_id] = r.id
        expected = sorted(
            int(r.id) for r in c.execute(sa.select(orders))
            if r.plan_id in latest.values() or r.status in ("proposed", "approved", "sent"))
    engine.dispose()
    assert sorted(view.orders["order_id"]) == expected
    gamma = view.orders[view.orders["account"] == "gamma"]
    assert sorted(gamma["status"]) == ["approved", "proposed"]  # the earlier plan's open one
    assert view.status_counts() == {"proposed": 2, "approved": 2, "sent": 1, "filled": 0,
                                    "cancelled": 0}
    frame = view.accounts.set_index("account")
    assert frame.loc["gamma", "open_orders"] == 2 and frame.loc["gamma", "orders"] == 1


def test_a_book_as_of_an_earlier_day_shows_the_plans_of_then(book_url: str) -> None:
    view = _book(book_url, dt.date(2024, 2, 15))
    assert tuple(view.accounts["account"]) == ("gamma",)
    row = view.accounts.iloc[0]
    assert row["decision"] == "rebalance" and row["drift"] == 0.09
    assert set(view.orders["plan_id"]) == {int(row["plan_id"])}
    assert set(view.unplanned) == {"alpha", "beta", "delta", "epsilon", "omega"}


def test_drift_histogram_counts_every_finite_drift() -> None:
    drift = np.array([0.0, 0.01, 0.05, 0.05, 0.1, np.nan])
    edges, counts = drift_histogram(drift, bins=4)
    np.testing.assert_allclose(edges, [0.0, 0.025, 0.05, 0.075, 0.1])
    assert counts.tolist() == [2, 0, 2, 1]  # the last bin holds its right edge
    edges, counts = drift_histogram(np.zeros(3), bins=2)
    assert edges[-1] == 0.01 and counts.tolist() == [3, 0]


def _cells(html: str, key: str) -> list[list[str]]:
    """The raw values (``data-value``) of each row of the table ``key``."""
    block = html.split(f'data-table="{key}"', 1)[1].split("</table>", 1)[0]
    body = block.split("<tbody>", 1)[1]
    return [re.findall(r'data-value="([^"]*)"', row) for row in body.split("<tr>")[1:]]


def test_the_page_shows_the_records_numbers(book_url: str) -> None:
    view = _book(book_url)
    html = render_dashboard(view)
    for key in ("dashboard-drift", "dashboard-costs", "dashboard-orders"):
        assert f'data-figure="{key}"' in html
    rows = _cells(html, "dashboard-accounts")
    assert [r[0] for r in rows] == [*BOOK_NEEDS_ACTION, "beta"]
    alpha = rows[0]
    assert float(alpha[5]) == 0.081 and float(alpha[8]) == 1234.5 and float(alpha[10]) == 500.25
    assert "4 of 5 accounts need action (1 with an invalidated plan)." in html
    costs = sum(m["cost_usd"] for h in BOOK_PLANS.values() for m in [h[-1][2]])
    assert f"USD {costs:,.0f}" in html  # the total expected cost tile
    assert len(_cells(html, "dashboard-orders-list")) == len(view.orders)
    assert "epsilon" in html and "querySelectorAll('table.sortable')" in html


def test_dashboard_command_writes_the_page(book_url: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "book.html"
    assert main(["dashboard", "--db", book_url, "--out", str(out)]) == EXIT_OK
    assert "4 needing action" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["dashboard", "--db", book_url, "--out", str(out),
                 "--as-of", "2024-02-15"]) == EXIT_OK
    assert "1 account(s) with a plan" in capsys.readouterr().out


def test_dashboard_command_without_a_record_is_a_message(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    empty = tmp_path / "none.sqlite"
    code = main(["dashboard", "--db", str(empty), "--out", str(tmp_path / "x.html")])
    assert code == EXIT_BAD_INPUT
    assert "driftwise init" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_daily_stores_the_plans_tax_for_the_dashboard() -> None:
    from types import SimpleNamespace

    from driftwise.app.daily import plan_metrics

    taxed = SimpleNamespace(before={"drift": 0.05}, after={"tax_usd": 1234.5, "cost_usd": 10.0})
    untaxed = SimpleNamespace(before={"drift": 0.05}, after={"cost_usd": 10.0})
    assert plan_metrics(taxed)["tax_usd"] == 1234.5  # type: ignore[arg-type]
    assert plan_metrics(untaxed)["tax_usd"] is None  # type: ignore[arg-type]


def test_the_dashboard_of_a_daily_run_shows_what_daily_said(tmp_path: Path) -> None:
    """``driftwise daily`` on two accounts of the sample (one drifted by a trade), then
    the book: the same accounts need action, with the figures daily stored."""
    from driftwise.app.daily import run_daily
    from driftwise.config import default_config
    from driftwise.record import migrate
    from record.daily_data import fill_record, sample_inputs

    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    engine = open_engine(url)
    migrate(engine)
    fill_record(engine, sample_inputs(), accounts=("calm", "drifted"))
    with engine.begin() as c:  # move a third of the first holding's shares to cash
        from decimal import Decimal

        from driftwise.record.schema import accounts, holdings_snapshots, positions

        owner = c.execute(sa.select(accounts.c.id).where(accounts.c.name == "drifted")
                          ).scalar_one()
        snap = c.execute(sa.select(sa.func.max(holdings_snapshots.c.id))
                         .where(holdings_snapshots.c.account_id == owner)).scalar_one()
        first = c.execute(sa.select(positions).where(positions.c.snapshot_id == snap)
                          .order_by(positions.c.ticker)).first()
        assert first is not None
        c.execute(positions.update().where((positions.c.snapshot_id == snap)
                                           & (positions.c.ticker == first.ticker))
                  .values(shares=Decimal(str(first.shares)) * 4))
    run = run_daily(engine, default_config(), dt.date(2022, 12, 28))
    with engine.connect() as c:
        view = read_book(c)
    engine.dispose()
    said = {a.account: a for a in run.accounts}
    frame = view.accounts.set_index("account")
    assert set(frame.index) == set(said)
    for name, a in said.items():
        assert bool(frame.loc[name, "needs_action"]) == a.needs_action
        assert frame.loc[name, "decision"] == a.decision
        assert frame.loc[name, "drift"] == a.metrics["drift"]
        assert frame.loc[name, "orders"] == a.orders
    assert frame.loc["drifted", "drift"] > frame.loc["calm", "drift"]
    assert view.accounts["account"].iloc[0] == "drifted"


def test_a_long_orders_list_is_cut_open_orders_first(book_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwise.report import dashboard

    view = _book(book_url)
    monkeypatch.setattr(dashboard, "MAX_ORDER_ROWS", 2)
    table = dashboard.orders_table(view)
    assert len(table.frame) == 2 and set(table.frame["status"]) <= {"proposed", "approved",
                                                                     "sent"}
    assert f"The first 2 of {len(view.orders)} orders" in table.caption
    assert len(_cells(dashboard.render_dashboard(view), "dashboard-orders-list")) == 2


def test_orders_read_in_chunks_are_the_same(book_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwise.record import book_view

    whole = _book(book_url)
    monkeypatch.setattr(book_view, "CHUNK", 1)
    pieces = _book(book_url)
    assert whole.orders.equals(pieces.orders)
    assert whole.accounts.equals(pieces.accounts)
