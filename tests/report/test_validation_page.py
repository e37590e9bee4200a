"""The validation page on synthetic per-rule results and breakdowns."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.backtest.path_stats import path_statistics
from driftwise.backtest.paths import PathRuns, PathSpec
from driftwise.report import write_report
from driftwise.report.html import Note, Table, Tone
from driftwise.report.validation_page import (
    ValidationPageData,
    breakdown_figure,
    breakdown_table,
    cost_limits_figure,
    cost_limits_table,
    falsification_table,
    hit_rate_figure,
    multipliers_figure,
    multipliers_table,
    ranking_figure,
    ranking_table,
    rules_table,
    sensitivity_table,
    validation_headline,
    validation_page,
)


def test_missing_rule_column_is_refused(validation_data: ValidationPageData) -> None:
    with pytest.raises(ValueError, match="stated_confidence"):
        ValidationPageData(rules=validation_data.rules.drop(columns="stated_confidence"))


def test_missing_breakdown_column_is_refused(validation_data: ValidationPageData) -> None:
    assert validation_data.by_regime is not None
    with pytest.raises(ValueError, match=r"by_regime.*vix_regime"):
        ValidationPageData(rules=validation_data.rules,
                           by_regime=validation_data.by_regime.drop(columns="vix_regime"))


def test_hit_rate_figure_intervals_and_stated_confidence(
        validation_data: ValidationPageData) -> None:
    fig = hit_rate_figure(validation_data.rules)
    names = [t.name for t in fig.data]
    assert names == ["measured: supported", "measured: not supported",
                     "measured: inconclusive", "stated confidence"]
    supported = fig.data[0]
    assert list(supported.y) == ["Rule 1", "Rule 3"]
    assert list(supported.error_x.array) == pytest.approx([0.80 - 0.72, 0.71 - 0.66])
    assert list(supported.error_x.arrayminus) == pytest.approx([0.72 - 0.63, 0.66 - 0.60])
    assert list(fig.data[-1].x) == pytest.approx([0.70, 0.65, 0.60, 0.60])
    assert supported.marker.color == "#1b7f4b"


def test_verdicts_are_normalized() -> None:
    rules = pd.DataFrame({"rule": ["R"], "hit_rate": [0.5], "ci_low": [0.4], "ci_high": [0.6],
                          "stated_confidence": [0.7], "verdict": ["NOT_SUPPORTED"]})
    assert hit_rate_figure(rules).data[0].name == "measured: not supported"
    assert "not supported: R" in validation_headline(rules)


def test_unknown_verdict_is_shown_as_other() -> None:
    rules = pd.DataFrame({"rule": ["R"], "hit_rate": [0.5], "ci_low": [0.4], "ci_high": [0.6],
                          "stated_confidence": [0.7], "verdict": ["too few events"]})
    assert hit_rate_figure(rules).data[0].marker.color == "#5b6b7c"
    assert "other: R" in validation_headline(rules)


def test_breakdown_figure_bars_per_group(validation_data: ValidationPageData) -> None:
    frame = validation_data.by_regime
    assert frame is not None
    stated = pd.Series([0.7, 0.65, 0.6, 0.6], index=["Rule 1", "Rule 2", "Rule 3", "Rule 4"])
    fig = breakdown_figure(frame, "vix_regime", stated, lambda g: f"VIX {g}")
    assert [t.name for t in fig.data] == ["VIX < 20", "VIX 20-30", "VIX > 30",
                                          "stated confidence"]
    calm = fig.data[0]
    assert list(calm.y) == pytest.approx([0.7] * 4)
    assert list(calm.error_y.array) == pytest.approx([0.1] * 4)
    assert list(fig.data[-1].y) == pytest.approx([0.7, 0.65, 0.6, 0.6])
    assert fig.layout.barmode == "group"


def test_breakdown_figure_without_stated_confidence(validation_data: ValidationPageData) -> None:
    assert validation_data.by_cost is not None
    assert len(breakdown_figure(validation_data.by_cost, "cost_level_bps").data) == 3


def test_rules_table(validation_data: ValidationPageData) -> None:
    table = rules_table(validation_data.rules)
    assert isinstance(table, Table)
    assert list(table.frame.columns) == ["claim", "verdict", "events", "hit rate", "interval",
                                         "stated confidence", "effect"]
    assert table.frame.loc["Rule 1", "interval"] == "63.0% – 80.0%"
    assert table.formats["hit rate"](0.72) == "72.0%"
    assert "interval of the measured hit rate" in table.caption


def test_rules_table_shows_the_verdicts_interval_bar_and_clusters(
        validation_data: ValidationPageData) -> None:
    """With the study's columns the verdict stands beside the interval it rests on (the mean
    effect's, against the bar), the number of independent clusters and the first event per
    path; the hit rate follows as secondary."""
    rules = validation_data.rules.assign(
        effect_measure=["TE cut", "benefit/cost", "Sharpe gain", "cost cut"],
        effect_mean=[0.754, 2.749, 0.029, -0.284], effect_ci_low=[0.724, 1.877, 0.007, -0.864],
        effect_ci_high=[0.783, 3.622, 0.05, 0.297], effect_bar=[0.5, 2.0, 0.1, 0.3],
        n_clusters=[69, 32, 23, 13], first_hit_rate=[0.47, 0.524, 0.135, 0.385],
        first_effect_mean=[0.685, 2.656, 0.022, -0.35],
        first_effect_ci_low=[0.6, 1.5, 0.001, -1.2], first_effect_ci_high=[0.77, 3.8, 0.04, 0.5],
        first_n_events=[100, 42, 126, 26], first_n_clusters=[69, 32, 23, 13],
        first_ci_low=[0.4, 0.45, 0.1, 0.2], first_ci_high=[0.54, 0.6, 0.17, 0.58],
        first_verdict=["inconclusive", "supported", "not supported", "inconclusive"],
        second_effect_mean=[-4.4, np.nan, np.nan, np.nan],
        second_effect_ci_low=[-12.3, np.nan, np.nan, np.nan],
        second_effect_ci_high=[3.6, np.nan, np.nan, np.nan],
        second_effect_bar=[0.0, np.nan, np.nan, np.nan],
        first_second_effect_mean=[-6.0, np.nan, np.nan, np.nan],
        first_second_effect_ci_low=[-20.0, np.nan, np.nan, np.nan],
        first_second_effect_ci_high=[8.0, np.nan, np.nan, np.nan],
        first_second_effect_bar=[0.0, np.nan, np.nan, np.nan],
        verdict_reason=["certainty-equivalent gain over waiting (bps): interval holds its "
                        "bar 0", "x", "y", "z"])
    table = rules_table(rules)
    first = "first event per path: verdict; mean effect [95%]; hit rate [95%] (events, G)"
    assert list(table.frame.columns) == [
        "claim", "verdict", "mean effect [95%] vs bar", "reason", "events",
        "independent clusters (G)", "hit rate", "interval", "stated confidence",
        "median effect", first]
    row = table.frame.loc["Rule 4"]
    assert row["mean effect [95%] vs bar"] == "cost cut -0.284 [-0.864, 0.297] vs 0.300"
    assert row["independent clusters (G)"] == 13
    assert row[first] == "inconclusive; -0.350 [-1.200, 0.500]; 38.5% [20.0%, 58.0%] (26, 13)"
    # rule 1's verdict beside both parts of its claim, the one that decided it named
    one = table.frame.loc["Rule 1"]
    assert one["mean effect [95%] vs bar"] == (
        "TE cut 0.754 [0.724, 0.783] vs 0.500; CE gain over waiting -4.400 [-12.300, 3.600] "
        "vs 0.000 bps")
    assert one["reason"].startswith("certainty-equivalent gain over waiting")
    assert one[first] == ("inconclusive; 0.685 [0.600, 0.770]; CE gain over waiting -6.000 "
                          "[-20.000, 8.000] vs 0.000 bps; 47.0% [40.0%, 54.0%] (100, 69)")
    assert table.frame.loc["Rule 1", "verdict"] == "supported"
    assert "mean effect and its 95% interval" in table.caption and "G" in table.caption
    html = validation_page(ValidationPageData(rules=rules)).blocks
    assert any(isinstance(b, Table) and b.key == "validation-rules"
               and "independent clusters (G)" in b.frame.columns for b in html)


def test_headline_counts_verdicts(validation_data: ValidationPageData) -> None:
    text = validation_headline(validation_data.rules)
    assert text == ("Rule validation: history supports 2 of 4 insight rules (supported: Rule 1, "
                    "Rule 3; not supported: Rule 2; inconclusive: Rule 4).")


def test_validation_page_full(validation_data: ValidationPageData) -> None:
    page = validation_page(validation_data)
    assert page.key == "validation"
    assert [c.key for c in page.charts] == ["validation-hit-rates", "validation-by-regime",
                                            "validation-by-cost"]
    assert [t.value for t in page.tiles] == ["2", "1", "1", "483"]
    assert page.tone is Tone.INFO


def test_validation_page_from_a_bare_frame(validation_data: ValidationPageData) -> None:
    rules = validation_data.rules.assign(verdict="supported").drop(columns="n_events")
    page = validation_page(rules)
    assert [c.key for c in page.charts] == ["validation-hit-rates"]
    assert any(isinstance(b, Note) for b in page.blocks)
    assert page.tone is Tone.GO


def _cost_limits() -> pd.DataFrame:
    return pd.DataFrame({
        "rule": ["Rule 1", "Rule 1", "Rule 3", "Rule 3"],
        "setting": ["model", "flat 50 bps", "model", "flat 50 bps"],
        "cost_level_bps": [float("nan"), 50.0, float("nan"), 50.0],
        "limit_bps": [20.0, 20.0, 30.0, 30.0], "candidates": [40, 40, 10, 0],
        "removed": [0, 30, 1, 0]})


def test_cost_limits_figure_stacks_kept_and_removed() -> None:
    fig = cost_limits_figure(_cost_limits())
    assert [t.name for t in fig.data] == ["kept", "removed by the limit"]
    assert list(fig.data[0].y) == pytest.approx([40, 10, 9, 0])
    assert list(fig.data[1].y) == pytest.approx([0, 30, 1, 0])
    assert list(fig.data[0].x[0]) == ["Rule 1 (≤ 20 bps)"] * 2 + ["Rule 3 (≤ 30 bps)"] * 2
    assert list(fig.data[0].x[1]) == ["model", "flat 50 bps"] * 2
    assert fig.layout.barmode == "stack"


def test_cost_limits_table_shares() -> None:
    table = cost_limits_table(_cost_limits())
    shares = table.frame["removed share"].tolist()
    assert shares[:3] == pytest.approx([0.0, 0.75, 0.1])
    assert shares[3] != shares[3]  # no candidates: NaN, shown as a dash
    assert table.formats["removed share"](0.75) == "75.0%"
    assert "2·D·c" in table.caption


def test_validation_page_with_cost_limits(validation_data: ValidationPageData) -> None:
    data = dataclasses.replace(validation_data, cost_limits=_cost_limits())
    page = validation_page(data)
    assert [c.key for c in page.charts][-1] == "validation-cost-limits"
    assert any(isinstance(b, Table) and b.key == "validation-cost-limits-table"
               for b in page.blocks)
    with pytest.raises(ValueError, match=r"cost_limits.*removed"):
        dataclasses.replace(validation_data, cost_limits=_cost_limits().drop(columns="removed"))


def test_the_written_report_draws_the_cost_limits(tmp_path: Path,
                                                  validation_data: ValidationPageData) -> None:
    data = dataclasses.replace(validation_data, cost_limits=_cost_limits())
    text = write_report(tmp_path / "report.html", validation=data).read_text(encoding="utf-8")
    assert 'data-figure="validation-cost-limits"' in text
    assert 'data-table="validation-cost-limits-table"' in text
    assert "Rule 3 (≤ 30 bps)" in text or "Rule 3 (\\u2264 30 bps)" in text


def _multipliers() -> pd.DataFrame:
    rows = []
    for est in ("corwin-schultz", "abdi-ranaldo"):
        for tier in ("all", "large"):
            for k, (regime, m) in enumerate((("VIX < 20", 1.0), ("VIX 20-30", 1.3),
                                             ("VIX ≥ 30", 1.9))):
                bump = 0.5 if tier == "large" else 0.0
                rows.append({"estimator": est, "tier": tier, "regime_index": k,
                             "regime": regime, "multiplier": m + bump,
                             "multiplier_low": m - 0.1, "multiplier_high": m + 0.2,
                             "pairs": 100 * (k + 1)})
    return pd.DataFrame(rows[::-1])  # the figure orders the regimes itself


def test_multipliers_figure_draws_the_pooled_rows_in_regime_order() -> None:
    fig = multipliers_figure(_multipliers())
    assert [t.name for t in fig.data] == ["abdi-ranaldo", "corwin-schultz"]
    for trace in fig.data:
        assert list(trace.x) == ["VIX < 20", "VIX 20-30", "VIX ≥ 30"]
        assert list(trace.y) == pytest.approx([1.0, 1.3, 1.9])  # tier "all", not "large"
        assert list(trace.error_y.array) == pytest.approx([0.2] * 3)
        assert list(trace.error_y.arrayminus) == pytest.approx([0.1] * 3)


def test_validation_page_with_multipliers(validation_data: ValidationPageData) -> None:
    data = dataclasses.replace(validation_data, multipliers=_multipliers())
    page = validation_page(data)
    assert [c.key for c in page.charts][-1] == "validation-vix-multipliers"
    table = multipliers_table(_multipliers())
    assert table.frame["interval"].tolist()[:3] == ["0.90 – 1.20", "1.20 – 1.50", "1.80 – 2.10"]
    assert table.frame["pairs"].tolist()[:3] == [100, 200, 300]
    with pytest.raises(ValueError, match=r"multipliers.*multiplier_low"):
        dataclasses.replace(validation_data,
                            multipliers=_multipliers().drop(columns="multiplier_low"))


def _ranking() -> pd.DataFrame:
    return pd.DataFrame({"rank": [2, 1, 3], "score": [0.02, 0.01, 0.05],
                         "score_low": [0.015, 0.005, 0.04], "score_high": [0.03, 0.02, 0.07],
                         "rank_low": [1, 1, 3], "rank_high": [2, 2, 3],
                         "p_best": [0.3, 0.7, 0.0],
                         "tied_with": ["calendar", "threshold 5%", ""]},
                        index=pd.Index(["threshold 5%", "calendar", "monthly"], name="config"))


def test_ranking_figure_and_table_best_first(validation_data: ValidationPageData) -> None:
    fig = ranking_figure(_ranking())
    trace = fig.data[0]
    assert list(trace.y) == ["calendar", "threshold 5%", "monthly"]
    assert list(trace.x) == pytest.approx([0.01, 0.02, 0.05])
    assert list(trace.error_x.array) == pytest.approx([0.01, 0.01, 0.02])
    assert list(trace.error_x.arrayminus) == pytest.approx([0.005, 0.005, 0.01])
    table = ranking_table(_ranking())
    assert table.frame.index.tolist() == ["calendar", "threshold 5%", "monthly"]
    assert table.frame["rank interval"].tolist() == ["1 – 2", "1 – 2", "3 – 3"]
    assert table.formats["P(best)"](0.7) == "70%"
    page = validation_page(dataclasses.replace(validation_data, ranking=_ranking()))
    assert [c.key for c in page.charts][-1] == "validation-path-ranking"
    with pytest.raises(ValueError, match=r"ranking.*p_best"):
        dataclasses.replace(validation_data, ranking=_ranking().drop(columns="p_best"))


def test_the_page_takes_a_ranking_from_path_statistics(
        validation_data: ValidationPageData) -> None:
    rng = np.random.default_rng(4)
    base = np.abs(rng.normal(0.01, 0.003, 40))
    values = np.column_stack([base, base + 0.01])  # r1 is worse on every path
    specs = [PathSpec(i, pd.Timestamp("2020-01-01"), pd.Timestamp("2020-06-30"), i, 0)
             for i in range(40)]
    metrics = pd.DataFrame([{"path": i, "config": f"r{j}", **{m: values[i, j] for m in (
        "te_annual", "cost_per_year", "turnover_per_year", "n_rebalances", "return_annual",
        "vol_annual", "sharpe", "sharpe_diff", "max_drift", "mean_drift")}}
        for i in range(40) for j in range(2)])
    fixed = np.repeat(values[:, None, :], 200, axis=1)
    runs = PathRuns(paths=specs, names=["r0", "r1"], metrics=metrics,
                    draws={"te_annual": fixed, "cost_per_year": fixed}, notices=())
    ranking = path_statistics(runs, length_days=126, step_days=63,
                              tracking_aversion=2.0).ranking
    page = validation_page(dataclasses.replace(validation_data, ranking=ranking))
    chart = page.charts[-1]
    assert chart.key == "validation-path-ranking"
    assert list(chart.figure.data[0].y) == ["r0", "r1"]


def test_the_studys_flags_are_one_note(validation_data: ValidationPageData) -> None:
    from driftwise.flags import Flag, notice

    flags = (notice(Flag.NO_RISK_FREE, "no risk-free rate was given for the window"),
             notice(Flag.PRICE_GAP_FILLED, "carried from the previous close", ["AAA", "BBB"]))
    page = validation_page(dataclasses.replace(validation_data, flags=flags))
    notes = [b.text for b in page.blocks if isinstance(b, Note) and b.text.startswith("Flags")]
    assert notes == ["Flags: cash earns nothing: no risk-free rate was given for the window; "
                     "price gap filled: carried from the previous close (AAA, BBB)"]
    plain = validation_page(validation_data)
    assert not [b for b in plain.blocks if isinstance(b, Note) and b.text.startswith("Flags")]


def _with_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """A breakdown with the study's columns: G, the mean effect with its interval, the bar,
    the verdict on it and the hit rate's own verdict."""
    n = len(frame)
    return frame.assign(
        n_events=np.arange(10, 10 + n), n_clusters=np.arange(5, 5 + n),
        effect_mean=np.linspace(0.2, 0.8, n), effect_ci_low=np.linspace(0.1, 0.7, n),
        effect_ci_high=np.linspace(0.3, 0.9, n), effect_bar=0.5,
        verdict=["not supported"] + ["inconclusive"] * (n - 2) + ["supported"],
        hit_verdict="inconclusive")


def test_breakdown_tables_show_g_the_effect_and_the_hit_rate(
        validation_data: ValidationPageData) -> None:
    assert validation_data.by_regime is not None and validation_data.by_cost is not None
    regime = _with_effects(validation_data.by_regime)
    table = breakdown_table(regime, "vix_regime", "t", "by VIX regime", lambda g: f"VIX {g}")
    assert table is not None
    assert list(table.frame.columns) == [
        "group", "events", "independent clusters (G)", "mean effect [95%] vs bar", "verdict",
        "hit rate", "hit-rate interval", "hit-rate verdict"]
    first = table.frame.iloc[0]
    assert table.frame.index[0] == "Rule 1" and first["group"] == "VIX < 20"
    assert first["events"] == 10 and first["independent clusters (G)"] == 5
    assert first["mean effect [95%] vs bar"] == "0.200 [0.100, 0.300] vs 0.500"
    assert first["verdict"] == "not supported"
    assert first["hit-rate interval"] == "60.0% – 80.0%"
    assert "G − 1" in table.caption and "secondary" in table.caption
    no_interval = regime.assign(effect_ci_low=np.nan, effect_ci_high=np.nan)
    shown = breakdown_table(no_interval, "vix_regime", "t", "x")
    assert shown is not None
    assert shown.frame.iloc[0]["mean effect [95%] vs bar"] == "0.200 [no interval: G < 2] vs 0.500"
    second = regime.assign(second_effect_mean=[3.3] + [np.nan] * (len(regime) - 1),
                           second_effect_ci_low=-10.4, second_effect_ci_high=16.9,
                           second_effect_bar=0.0)
    shown = breakdown_table(second, "vix_regime", "t", "x")
    assert shown is not None
    assert shown.frame.iloc[0]["mean effect [95%] vs bar"] == (
        "0.200 [0.100, 0.300] vs 0.500; CE gain over waiting 3.300 [-10.400, 16.900] vs "
        "0.000 bps")
    assert "CE gain" not in shown.frame.iloc[1]["mean effect [95%] vs bar"]
    # a breakdown without the study's columns is drawn, not tabled
    assert breakdown_table(validation_data.by_regime, "vix_regime", "t", "x") is None
    data = dataclasses.replace(validation_data, by_regime=regime,
                               by_cost=_with_effects(validation_data.by_cost))
    keys = [getattr(b, "key", None) for b in validation_page(data).blocks]
    assert keys.index("validation-by-regime-table") == keys.index("validation-by-regime") + 1
    assert "validation-by-cost-table" in keys


def test_sensitivity_table_and_its_columns_are_checked(
        validation_data: ValidationPageData) -> None:
    frame = _with_effects(pd.DataFrame({
        "rule": ["Rule 1", "Rule 2", "Rule 4"],
        "variant": ["part (a) only", "benefit = CE, γ = 10", "costs without VIX scaling"],
        "hit_rate": [0.9, 0.5, 0.2], "ci_low": [0.8, 0.3, 0.05], "ci_high": [0.95, 0.7, 0.5]}))
    table = sensitivity_table(frame)
    assert table.key == "validation-sensitivity"
    assert table.frame.columns[0] == "variant"
    assert table.frame.loc["Rule 4", "verdict"] == "supported"
    assert table.frame.loc["Rule 2", "independent clusters (G)"] == 6
    page = validation_page(dataclasses.replace(validation_data, sensitivity=frame))
    assert any(isinstance(b, Table) and b.key == "validation-sensitivity" for b in page.blocks)
    with pytest.raises(ValueError, match=r"sensitivity.*effect_ci_low"):
        dataclasses.replace(validation_data, sensitivity=frame.drop(columns="effect_ci_low"))


def _falsification() -> pd.DataFrame:
    """Three portfolios under the model costs against the quarterly calendar: one where the
    criterion holds, one undecided, one where threshold rebalancing does not cut TE."""
    return pd.DataFrame({
        "portfolio": ["sample", "random 1", "random 2"], "setting": "model",
        "calendar": "quarter",
        "verdict": ["holds", "undecided: extra cost and TE reduction cannot be told apart",
                    "fails: threshold does not reduce TE"],
        "te_diff": [-0.004, -0.002, 0.001], "te_diff_low": [-0.006, -0.003, -0.001],
        "te_diff_high": [-0.002, -0.001, 0.003], "excess_mean": [-2e-4, -0.5e-4, 1e-4],
        "excess_low": [-3e-4, -1.5e-4, 0.2e-4], "excess_high": [-1e-4, 0.5e-4, 1.8e-4],
        "n_years": [20, 20, 19]})


def test_falsification_table_per_portfolio(tmp_path: Path,
                                           validation_data: ValidationPageData) -> None:
    table = falsification_table(_falsification())
    assert table.key == "validation-falsification"
    assert list(table.frame.columns) == [
        "costs", "vs calendar", "verdict", "TE threshold − calendar [95%]",
        "mean yearly extra cost − TE gain, bps [95%]", "years (G)"]
    assert table.frame.index.tolist() == ["sample", "random 1", "random 2"]
    undecided = table.frame.loc["random 1"]
    assert undecided["verdict"].startswith("undecided")
    assert undecided["mean yearly extra cost − TE gain, bps [95%]"] == \
        "-0.50 [-1.50, 0.50]"
    assert undecided["TE threshold − calendar [95%]"] == "-0.20% [-0.30%, -0.10%]"
    assert table.frame.loc["random 2", "years (G)"] == 19
    data = dataclasses.replace(validation_data, falsification=_falsification())
    keys = [getattr(b, "key", None) for b in validation_page(data).blocks]
    assert "validation-falsification" in keys
    text = write_report(tmp_path / "report.html", validation=data).read_text(encoding="utf-8")
    assert 'data-table="validation-falsification"' in text
    assert "undecided: extra cost and TE reduction cannot be told apart" in text
    assert "random 2" in text and "years (G)" in text
    with pytest.raises(ValueError, match=r"falsification.*n_years"):
        dataclasses.replace(validation_data, falsification=_falsification().drop(
            columns="n_years"))
