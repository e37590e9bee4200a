"""The plan page: charts recomputed from hand-made frames, headlines per decision."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.app.monitor import MonitorReport
from driftwise.app.plan import Check, Decision, Plan
from driftwise.flags import Flag, notice
from driftwise.report import plan_page as plan_page_module
from driftwise.report.html import Bullets, Note, Table, Tone
from driftwise.report.plan_page import (
    asset_drift_after,
    before_after_figure,
    checks_bullets,
    cost_split_figure,
    decision_headline,
    drift_band_figure,
    flags_table,
    plan_page,
    schedule_figure,
    schedule_times,
    trade_table,
)

ASSETS = pd.DataFrame({"value_usd": [500.0, 300.0, 150.0], "target": [0.4, 0.4, 0.2],
                       "drift": [0.1, -0.1, -0.05], "band": [0.05, 0.05, 0.05]},
                      index=pd.Index(["AAA", "BBB", "CCC"], name="ticker"))
TRADES = pd.DataFrame({"side": ["SELL", "BUY"], "trade_usd": [-100.0, 95.0],
                       "spread_usd": [1.0, 2.0], "commission_usd": [0.5, 0.5],
                       "impact_usd": [0.25, 3.0], "tax_usd": [0.0, 0.0],
                       "cost_usd": [1.75, 5.5], "cost_bps": [175.0, 578.9]},
                      index=pd.Index(["AAA", "BBB"], name="ticker"))


def test_asset_drift_after_by_hand() -> None:
    # NAV 1000 (950 invested + 50 cash), cost 5 paid from cash: post NAV 995
    after = asset_drift_after(ASSETS, TRADES, nav_usd=1000.0, cost_usd=5.0)
    assert after["AAA"] == pytest.approx(400 / 995 - 0.4)
    assert after["BBB"] == pytest.approx(395 / 995 - 0.4)
    assert after["CCC"] == pytest.approx(150 / 995 - 0.2)


@given(st.lists(st.floats(0.0, 1e6), min_size=3, max_size=3), st.floats(1e3, 1e7))
def test_asset_drift_after_without_trades_is_today(values: list[float], nav: float) -> None:
    assets = ASSETS.assign(value_usd=values)
    after = asset_drift_after(assets, TRADES.iloc[:0], nav_usd=nav, cost_usd=0.0)
    expected = [v / nav - t for v, t in zip(values, assets["target"], strict=True)]
    assert after.to_numpy() == pytest.approx(expected)


def test_drift_band_figure_draws_band_drift_and_after() -> None:
    after = pd.Series([0.0, 0.001, -0.04], index=ASSETS.index)
    fig = drift_band_figure(ASSETS, after)
    band, drift, post = fig.data
    assert list(band.base) == pytest.approx([-0.05] * 3)
    assert list(band.y) == pytest.approx([0.1] * 3)
    assert list(drift.y) == pytest.approx([0.1, -0.1, -0.05])
    # outside the band is red, inside (|−0.05| is not > 0.05) blue
    assert list(drift.marker.color) == ["#b3261e", "#b3261e", "#4c78a8"]
    assert list(post.y) == pytest.approx([0.0, 0.001, -0.04])
    assert fig.layout.yaxis.tickformat == ".1%"


def test_drift_band_figure_without_after() -> None:
    assert len(drift_band_figure(ASSETS).data) == 2


def test_before_after_figure_values() -> None:
    fig = before_after_figure({"drift": 0.05, "te": 0.01}, {"drift": 0.001, "te": 0.0})
    drift, te = fig.data
    assert list(drift.y) == pytest.approx([0.05, 0.001])
    assert list(te.y) == pytest.approx([0.01, 0.0])
    assert list(drift.text) == ["5.00%", "0.10%"]


def test_before_after_figure_missing_metric_is_nan() -> None:
    fig = before_after_figure({}, {"drift": 0.0})
    assert np.isnan(fig.data[0].y[0])


def test_cost_split_figure_stacks_the_parts() -> None:
    fig = cost_split_figure(TRADES)
    assert [t.name for t in fig.data] == ["half-spread", "commission", "market impact"]
    # sorted by total cost ascending: AAA (1.75) then BBB (5.5)
    assert list(fig.data[0].y) == ["AAA (sell)", "BBB (buy)"]
    assert list(fig.data[0].x) == pytest.approx([1.0, 2.0])
    assert list(fig.data[2].x) == pytest.approx([0.25, 3.0])
    totals = np.sum([t.x for t in fig.data], axis=0)
    assert totals == pytest.approx([1.75, 5.5])
    assert fig.layout.barmode == "stack"


def test_cost_split_figure_shows_tax_when_paid() -> None:
    fig = cost_split_figure(TRADES.assign(tax_usd=[10.0, 0.0]))
    assert fig.data[-1].name == "tax"
    assert list(fig.data[0].y) == ["BBB (buy)", "AAA (sell)"]


CHILDREN = pd.DataFrame({
    "ticker": ["AAA", "AAA", "BBB"], "side": ["SELL", "SELL", "BUY"],
    "day": pd.to_datetime(["2022-12-29", "2022-12-30", "2022-12-29"]),
    "start_time": ["09:30", "15:30", "12:00"], "shares": [100.0, 25.0, 10.0],
    "participation": [0.01, 0.02, 0.001], "expected_cost_usd": [1.0, 0.5, 0.1]})


def test_schedule_times() -> None:
    assert list(schedule_times(CHILDREN)) == [pd.Timestamp("2022-12-29 09:30"),
                                              pd.Timestamp("2022-12-30 15:30"),
                                              pd.Timestamp("2022-12-29 12:00")]


def test_schedule_figure_one_trace_per_side() -> None:
    fig = schedule_figure(CHILDREN)
    sell, buy = fig.data
    assert sell.name == "sell" and list(sell.y) == ["AAA", "AAA"]
    assert buy.name == "buy" and list(buy.y) == ["BBB"]
    # size: 5 + 13·sqrt(shares / largest child of the ticker)
    assert list(sell.marker.size) == pytest.approx([18.0, 5 + 13 * 0.5])
    assert list(buy.marker.size) == pytest.approx([18.0])
    assert fig.layout.xaxis.rangebreaks


def test_trade_table_renames_and_formats() -> None:
    table = trade_table(TRADES)
    assert isinstance(table, Table)
    assert list(table.frame.columns[:3]) == ["side", "USD", "spread"]
    assert table.formats["USD"](-95568.968) == "-95,569"


def test_flags_table_one_row_per_notice() -> None:
    notes = (notice(Flag.ILLIQUID, "left out", ["BBB", "AAA"]), notice(Flag.NO_VIX, "no VIX"))
    table = flags_table(notes)
    assert list(table.frame["flag"]) == ["illiquid", "no VIX"]
    assert list(table.frame["tickers"]) == ["AAA, BBB", "portfolio"]


def test_checks_bullets_marks() -> None:
    bullets = checks_bullets((Check("a", True, "fine"), Check("b", False, "broken")))
    assert bullets.items == ("a: fine", "b: broken")
    assert bullets.marks == (True, False)


# ---------------------------------------------------------------- the sample's plan

def test_plan_page_of_the_sample(sample_plan: Plan, sample_monitor: MonitorReport) -> None:
    page = plan_page(sample_plan, sample_monitor)
    assert page.key == "plan"
    assert page.headline.startswith(f"Decision: {sample_plan.decision.value.upper()}")
    keys = [c.key for c in page.charts]
    assert keys[:2] == ["plan-drift-bands", "plan-before-after"]
    if len(sample_plan.trades):
        assert keys[2:] == ["plan-cost-split", "plan-schedule"]
    assert any(t.label == "Optimal drift band" for t in page.tiles)
    drift = page.charts[0].figure.data[1]
    assert list(drift.y) == pytest.approx(sample_monitor.assets["drift"].to_list())


def test_large_plans_draw_the_largest(sample_plan: Plan, sample_monitor: MonitorReport,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_page_module, "MAX_BARS", 3)
    monkeypatch.setattr(plan_page_module, "MAX_ROWS", 2)
    page = plan_page(sample_plan, sample_monitor)
    charts = {c.key: c for c in page.charts}
    drift = sample_monitor.assets["drift"]
    top = set(drift.abs().nlargest(3).index)
    assert set(charts["plan-drift-bands"].figure.data[1].x) == top
    assert "The 3 largest of" in charts["plan-drift-bands"].caption
    if len(sample_plan.trades) > 2:
        costly = set(sample_plan.trades["cost_usd"].nlargest(2).index)
        labels = {y.split(" ")[0] for y in charts["plan-cost-split"].figure.data[0].y}
        assert labels == costly
        assert len({t for tr in charts["plan-schedule"].figure.data for t in tr.y}) == 2
        tables = {b.key: b for b in page.blocks if isinstance(b, Table)}
        assert len(tables["plan-trades"].frame) == len(sample_plan.trades)


def test_plan_page_without_monitor(sample_plan: Plan) -> None:
    page = plan_page(sample_plan)
    assert "plan-drift-bands" not in [c.key for c in page.charts]
    assert any(isinstance(b, Note) and "monitor" in b.text for b in page.blocks)


def test_plan_page_without_trades(sample_plan: Plan) -> None:
    quiet = dataclasses.replace(sample_plan, decision=Decision.SKIP, schedule=None,
                                trades=sample_plan.trades.iloc[:0], reasons=("no trigger fired",))
    page = plan_page(quiet)
    assert [c.key for c in page.charts] == ["plan-before-after"]
    assert page.tone is Tone.INFO
    assert any(isinstance(b, Note) and "No trades" in b.text for b in page.blocks)


def test_plan_page_lists_reasons_checks_and_flags(sample_plan: Plan) -> None:
    page = plan_page(sample_plan)
    bullets = [b for b in page.blocks if isinstance(b, Bullets)]
    assert bullets[0].items == sample_plan.reasons
    assert len(bullets[1].items) == len(sample_plan.checks)
    tables = {b.key: b for b in page.blocks if isinstance(b, Table)}
    if sample_plan.notices:
        assert len(tables["plan-flags"].frame) == len(sample_plan.notices)


@pytest.mark.parametrize(("decision", "start", "tone"), [
    (Decision.REBALANCE, "Decision: REBALANCE today.", Tone.GO),
    (Decision.PARTIAL, "Decision: PARTIAL REBALANCE today.", Tone.GO),
    (Decision.DELAY, "Decision: DELAY until 2023-01-13.", Tone.WAIT),
    (Decision.SKIP, "Decision: SKIP, no trade today.", Tone.INFO),
    (Decision.INVALID, "Decision: INVALID, do not trade.", Tone.STOP),
])
def test_headline_per_decision(sample_plan: Plan, decision: Decision, start: str,
                               tone: Tone) -> None:
    plan = dataclasses.replace(sample_plan, decision=decision,
                               delay_until=pd.Timestamp("2023-01-13"),
                               reasons=("cost inputs are stale", "VIX 35 ≥ 30"))
    text = decision_headline(plan)
    assert text.startswith(start)
    assert plan_page(plan).tone is tone
    if decision in (Decision.DELAY, Decision.SKIP, Decision.INVALID):
        assert "Cost inputs are stale." in text


def test_headline_of_a_rebalance_states_the_numbers(sample_plan: Plan) -> None:
    plan = dataclasses.replace(sample_plan, decision=Decision.REBALANCE, before={
        "drift": 0.0508, "te": 0.0099}, after={
        "drift": 0.0001, "te": 0.0, "cost_usd": 357.0, "cost_bps": 0.33, "turnover": 0.05,
        "cost_benefit_ratio": 0.33})
    text = decision_headline(plan)
    assert "drift from 5.08% to 0.01%" in text
    assert "tracking error from 0.99% to 0.00%" in text
    assert "USD 357" in text and "(5.0% turnover)" in text and "0.33×" in text
