"""The report's tax sections: the plan's tax and the after-tax backtest page, from real
runs; the after-tax backtest starting from lot-level holdings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from driftwise.app.aftertax import after_tax_compare
from driftwise.app.plan import make_plan
from driftwise.report import report_pages, write_report
from driftwise.report.html import Bullets, Table
from driftwise.report.plan_page import plan_page
from driftwise.report.tax_section import after_tax_page, plan_tax_blocks

from .test_plan_tax import AS_OF, _inputs, cfg

# S0: an old lot at a large gain and a recent lot at a 30% loss (a harvest candidate)
LOTS = [(0.5, "2021-03-01", 0.4), (0.5, "2023-02-01", 1.3)]


def test_plan_tax_section_shows_lots_tax_reasons_and_harvest() -> None:
    plan = make_plan(_inputs(LOTS), cfg(**{"tax.enabled": True}), as_of=AS_OF)
    blocks = plan_tax_blocks(plan)
    tables = {b.key: b for b in blocks if isinstance(b, Table)}
    assert "plan-tax-trades" in tables
    trades = tables["plan-tax-trades"].frame
    assert {"tax_usd", "lots"} <= set(trades.columns)
    assert float(trades["tax_usd"].abs().sum()) > 0.0
    harvest = tables["plan-tax-harvest"].frame
    assert harvest["ticker"].tolist() == ["S0"] and (harvest["loss_usd"] > 0).all()
    assert any(isinstance(b, Bullets) and b.title == "The decision after tax" for b in blocks)
    page = plan_page(plan)
    assert any(getattr(b, "key", "") == "plan-tax-trades" for b in page.blocks)


def test_plan_without_lots_has_no_tax_section() -> None:
    inputs = _inputs([(1.0, "2021-03-01", 1.0)])
    inputs = dataclasses.replace(inputs, holdings=dataclasses.replace(inputs.holdings,
                                                                      lots=None))
    plan = make_plan(inputs, cfg(), as_of=AS_OF)
    assert plan_tax_blocks(plan) == []


def test_after_tax_from_lot_holdings_and_its_page(tmp_path: Path) -> None:
    inputs = _inputs(LOTS)
    config = cfg(**{"backtest.start_from_holdings": True, "policy.trigger": "threshold",
                    "policy.threshold": 0.05, "tax.enabled": True,
                    "tax.harvest_in_trades": True})
    result = after_tax_compare(inputs, config, start="2023-06-01", end=str(AS_OF.date()),
                               samples=100)
    aware, unaware = result.aware, result.unaware
    # the starting lots are the holdings' lots: S0's old lot at 40% of today's price
    # basis carries a gain the liquidation taxes long-term in both runs
    assert aware.years["liquidation_gain_usd"].iloc[-1] > 0.0
    assert unaware.years["liquidation_gain_usd"].iloc[-1] > 0.0
    np.testing.assert_allclose(aware.shares[0], unaware.shares[0])
    page = after_tax_page(result)
    keys = {getattr(b, "key", "") for b in page.blocks}
    assert {"aftertax-nav", "aftertax-metrics", "aftertax-years"} <= keys
    assert f"{100 * result.tax_alpha:.2f}%" in page.headline
    path = write_report(tmp_path / "aftertax.html", after_tax=result)
    text = path.read_text()
    assert "After-tax NAV" in text and "<script src=" not in text
    assert [p.key for p in report_pages(after_tax=result)] == ["aftertax"]
    assert text.count('data-figure="aftertax-nav"') == 1
    assert "Harvested lots" in text or "No lot reached" in text
