"""The cost limits of rules 1 and 3 on a hand-worked market: where they bind, where not.

The market: two assets at 100, target 50/50, no cash. On day 31 asset A1 triples and
nothing moves after, so from day 31 the weights are 25/75: drift ``D = ½ (0.25 + 0.25) =
25%``. A full rebalance sells a quarter of NAV of A1 and buys a quarter of A0, so it
trades half of NAV and at a flat ``c`` bps per trade costs ``0.5 c`` bps of NAV:
5, 10 and 25 bps at 10, 20 and 50 bps per trade, 35 bps at 70. Rule 1's limit (20 bps)
binds at 50 bps only; rule 3's (30 bps) at 70 bps only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.config.assemble import build_rule, cost_params
from driftwise.costs import CostParams
from driftwise.validation.branching import branch_rule
from driftwise.validation.events import Portfolio, make_paths, path_days, rebalance_cost
from driftwise.validation.rules import (
    COST_LIMIT_COLUMNS,
    RuleInput,
    cost_limit_counts,
    measure_rule1,
    measure_rule3,
    rule_condition,
)
from driftwise.validation.study import cost_limit_table

from .conftest import make_portfolio, small_config

N_DAYS = 300  # Rule 3 needs 252 days after its event
JUMP = 31
START = 25
RULE1_EVENTS = [31, 35, 40, 45, 50, 55, 60]  # one a 5-day block up to the review (61)


def _market() -> Portfolio:
    prices = np.full((N_DAYS, 2), 100.0)
    prices[JUMP:, 1] = 300.0
    return make_portfolio(prices, np.full(N_DAYS, 15.0), np.array([0.5, 0.5]))


def _input(bps: float | None) -> RuleInput:
    pf = _market()
    cfg = small_config(**{"constraints.whole_shares": False,
                          "constraints.min_trade_usd": 0.0})
    params: CostParams = dataclasses.replace(cost_params(cfg), flat_cost_bps=bps)
    paths = make_paths(pf, 1e6, starts=np.array([START]))
    days = path_days(pf, paths)
    return RuleInput(pf, paths, days, rebalance_cost(days, pf.history, params), params,
                     branch_rule(build_rule(cfg)))


@pytest.mark.parametrize("bps", [10.0, 20.0, 50.0, 70.0])
def test_the_cost_in_the_if_is_the_whole_rebalance_over_nav(bps: float) -> None:
    inp = _input(bps)
    after = inp.days.day >= JUMP
    assert inp.days.drift[after] == pytest.approx(np.full(int(after.sum()), 0.25), rel=1e-12)
    # hand-worked: half of NAV traded at bps per trade
    assert inp.cost[after] == pytest.approx(np.full(int(after.sum()), 0.5 * bps / 1e4),
                                            rel=1e-12)
    assert (inp.cost[~after] == 0.0).all()


@pytest.mark.parametrize(("bps", "kept"), [(10.0, True), (20.0, True), (50.0, False)])
def test_rule1_limit_binds_at_50_bps_per_trade_only(bps: float, kept: bool) -> None:
    inp = _input(bps)
    frame = measure_rule1(inp)
    assert (frame["day"].tolist() if len(frame) else []) == (RULE1_EVENTS if kept else [])
    if kept:
        assert frame["cost_bps"].to_numpy() == pytest.approx(np.full(7, 0.5 * bps))
    counts = cost_limit_counts(inp, ("Rule 1",)).iloc[0]
    assert counts["limit_bps"] == pytest.approx(20.0)
    assert counts["candidates"] == len(RULE1_EVENTS)
    assert counts["events"] == (len(RULE1_EVENTS) if kept else 0)
    assert counts["removed"] == (0 if kept else len(RULE1_EVENTS))
    assert counts["days_over_limit"] == (0 if kept else 61 - JUMP)


@pytest.mark.parametrize(("bps", "kept"), [(50.0, True), (70.0, False)])
def test_rule3_limit_binds_at_70_bps_per_trade_only(bps: float, kept: bool) -> None:
    inp = _input(bps)
    candidates = rule_condition(inp, "Rule 3", cost_limit=False)
    assert candidates.any()  # the jump's volatility makes the TE ≥ 1.5% for a few days
    assert (inp.days.day[candidates] >= JUMP).all()
    frame = measure_rule3(inp)
    counts = {str(r["rule"]): r for r in cost_limit_counts(inp).to_dict("records")}
    rule3 = counts["Rule 3"]
    assert rule3["limit_bps"] == pytest.approx(30.0)
    assert int(rule3["candidates"]) > 0
    assert rule3["events"] == len(frame)
    assert rule3["removed"] == (0 if kept else rule3["candidates"])
    assert len(frame) == (rule3["candidates"] if kept else 0)
    # rule 1 is removed at both levels (25 and 35 bps of NAV > 20)
    assert counts["Rule 1"]["removed"] == len(RULE1_EVENTS)


def test_a_rule_without_a_cost_limit_is_skipped_or_refused() -> None:
    inp = _input(10.0)
    assert cost_limit_counts(inp, ("Rule 2", "Rule 4")).empty
    assert list(cost_limit_counts(inp, ("Rule 2",)).columns) == list(COST_LIMIT_COLUMNS)
    with pytest.raises(ValueError, match="Rule 2 has no cost limit"):
        rule_condition(inp, "Rule 2")


def test_the_table_sums_the_tasks_per_rule_and_setting() -> None:
    def part(setting: str, level: float | None, cand: int, kept: int) -> pd.DataFrame:
        return pd.DataFrame([{"rule": "Rule 1", "setting": setting, "cost_level_bps": level,
                              "limit_bps": 20.0, "candidates": cand, "events": kept,
                              "removed": cand - kept, "candidate_days": 3 * cand,
                              "days_over_limit": 2 * (cand - kept)}])
    table = cost_limit_table([part("flat 50 bps", 50.0, 4, 1), part("model", None, 5, 5),
                              pd.DataFrame(), part("flat 50 bps", 50.0, 6, 3),
                              part("flat 10 bps", 10.0, 2, 2)])
    assert table["setting"].tolist() == ["model", "flat 10 bps", "flat 50 bps"]
    assert table["candidates"].tolist() == [5, 2, 10]
    assert table["removed"].tolist() == [0, 0, 6]
    assert table["days_over_limit"].tolist() == [0, 0, 12]
    assert table["removed_share"].tolist() == pytest.approx([0.0, 0.0, 0.6])
    assert cost_limit_table([]).empty


def _table(bps: float | None) -> pd.DataFrame:
    inp = _input(bps)
    counts = cost_limit_counts(inp)
    counts.insert(1, "setting", "model" if bps is None else f"flat {bps:g} bps")
    counts.insert(2, "cost_level_bps", bps)
    return cost_limit_table([counts]).set_index("rule")


@pytest.mark.parametrize("bps", [10.0, 20.0, 50.0, 70.0])
def test_the_break_even_and_the_events_cost_explain_the_count(bps: float) -> None:
    """Hand-worked: every candidate trades half of NAV (drift 25%) and costs ``0.5 c`` bps
    of NAV; a limit L binds above ``L / c`` of NAV traded, a drift of ``L / (2c)``."""
    table = _table(bps)
    for rule, limit in (("Rule 1", 20.0), ("Rule 3", 30.0)):
        row = table.loc[rule]
        assert row["rate_bps"] == bps
        assert row["breakeven_turnover"] == pytest.approx(limit / bps, rel=1e-15)
        assert row["breakeven_drift"] == pytest.approx(limit / (2.0 * bps), rel=1e-15)
        for column in ("cost_median_bps", "cost_p90_bps", "cost_max_bps"):
            assert row[column] == pytest.approx(0.5 * bps, rel=1e-12), column
        assert row["turnover_median"] == pytest.approx(0.5, rel=1e-12)
        assert row["turnover_p90"] == pytest.approx(0.5, rel=1e-12)
        # the limit removes the events exactly when they trade more than the break-even
        assert (row["removed"] == row["candidates"]) == (row["breakeven_turnover"] < 0.5)
    assert table.loc["Rule 1", "breakeven_turnover"] == pytest.approx(
        {10.0: 2.0, 20.0: 1.0, 50.0: 0.4, 70.0: 20 / 70}[bps])


def test_under_the_cost_model_the_rate_is_the_events_median_cost_per_unit_traded() -> None:
    inp = _input(None)
    row = _table(None).loc["Rule 1"]
    candidates = [31, 35, 40, 45, 50, 55, 60]
    at = [int(np.flatnonzero(inp.days.day == t)[0]) for t in candidates]
    rates = sorted(1e4 * inp.cost[i] / sum(abs(x) for x in inp.days.asset_drift[i])
                   for i in at)
    assert row["rate_bps"] == pytest.approx(rates[len(rates) // 2], rel=1e-12)
    assert row["breakeven_turnover"] == pytest.approx(20.0 / rates[len(rates) // 2],
                                                      rel=1e-12)
    assert row["cost_max_bps"] == pytest.approx(max(1e4 * inp.cost[i] for i in at), rel=1e-12)


def test_every_output_shows_where_the_limit_binds() -> None:
    """Terminal and markdown (one display) and the HTML table: the break-even traded value
    and drift at the cost per unit traded, and the events' cost and turnover."""
    from types import SimpleNamespace

    from driftwise.report.validation_page import cost_limits_table
    from driftwise.validation.output import cost_limits_display

    table = _table(50.0).reset_index()
    shown = cost_limits_display(SimpleNamespace(cost_limits=table))  # type: ignore[arg-type]
    row = shown.set_index("rule").loc["Rule 1"]
    assert row["binds above: traded (drift), at bps per trade"] == "40.0% (20.0%) at 50.0"
    assert row["events' cost, bps of NAV: median / 90th pct / max"] == "25.00 / 25.00 / 25.00"
    assert row["events' traded: median / 90th pct"] == "50.0% / 50.0%"
    html = cost_limits_table(table).frame.loc["Rule 3"]
    assert html["binds above: traded (drift), at bps per trade"] == "60.0% (30.0%) at 50.0"
    # at 10 bps per trade rule 3's limit would need a drift of 150%: it never binds
    low = cost_limits_display(SimpleNamespace(  # type: ignore[arg-type]
        cost_limits=_table(10.0).reset_index())).set_index("rule").loc["Rule 3"]
    assert low["binds above: traded (drift), at bps per trade"] == ("never: 300.0% (150.0%) "
                                                                     "at 10.0")
