"""The backtest page on synthetic data shaped like the BacktestResult contract."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.backtest.years import year_ranking, yearly_metrics
from driftwise.metrics.threshold import ThresholdInputs
from driftwise.report.backtest_page import (
    BacktestPageData,
    backtest_data,
    backtest_headline,
    backtest_page,
    cost_column,
    empirical_optimum,
    frontier_figure,
    metrics_table,
    nav_figure,
    optimum_blocks,
    pareto_front,
    ranking_loss,
    regime_labels,
    regime_title,
    select_paths,
    sensitivity_table,
    theoretical_bands,
    thin,
    threshold_figure,
)
from driftwise.report.html import Chart, HeatTable, Note

METRICS = pd.DataFrame({"te_annual": [0.03, 0.02, 0.025, 0.01],
                        "cost_per_year": [0.0, 0.0004, 0.0006, 0.0010],
                        "turnover_per_year": [0.0, 0.2, 0.3, 0.5],
                        "n_rebalances": [0, 12, 15, 4]},
                       index=["never", "monthly", "quarterly", "threshold 5%"])


def test_backtest_data_adapts_arrays(backtest_result: SimpleNamespace) -> None:
    data = backtest_data(backtest_result)
    n_days, n_conf = backtest_result.nav_usd.shape
    assert data.nav_usd.shape == data.drift.shape == (n_days, n_conf)
    assert list(data.nav_usd.columns) == backtest_result.names
    assert isinstance(data.nav_usd.index, pd.DatetimeIndex)
    assert data.ref_nav_usd.to_numpy() == pytest.approx(backtest_result.ref_nav_usd)
    assert data.sweep is backtest_result.sweep


def test_backtest_data_sweep_argument_wins(backtest_result: SimpleNamespace) -> None:
    other = backtest_result.sweep.iloc[:3]
    assert backtest_data(backtest_result, sweep=other).sweep is other


def test_backtest_data_without_sweep_attribute(backtest_result: SimpleNamespace) -> None:
    del backtest_result.sweep
    assert backtest_data(backtest_result).sweep is None


def test_ranking_loss_by_hand() -> None:
    loss = ranking_loss(METRICS, tracking_aversion=2.0)
    assert loss["never"] == pytest.approx(0.0 + 0.03**2)
    assert loss["threshold 5%"] == pytest.approx(0.0010 + 0.01**2)


def test_pareto_front_by_hand() -> None:
    # quarterly costs more than monthly and tracks worse: dominated
    assert pareto_front(METRICS) == ["never", "monthly", "threshold 5%"]


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=12))
def test_pareto_front_property(points: list[tuple[float, float]]) -> None:
    metrics = pd.DataFrame(points, columns=["te_annual", "cost_per_year"],
                           index=[f"c{i}" for i in range(len(points))])
    front = set(pareto_front(metrics))
    assert front
    for name, (te, cost) in zip(metrics.index, points, strict=True):
        beaten = any(t <= te and c <= cost and (t < te or c < cost) for t, c in points)
        if name in front:
            assert not beaten
        else:
            assert any(t <= te and c <= cost for n, (t, c) in zip(metrics.index, points,
                                                                 strict=True) if n in front)


def test_select_paths_efficient_first_in_metrics_order() -> None:
    assert select_paths(METRICS, 2.0, max_paths=3) == ["never", "monthly", "threshold 5%"]
    assert select_paths(METRICS, 2.0, max_paths=10) == list(METRICS.index)


@given(st.integers(1, 5000), st.integers(2, 800))
def test_thin_keeps_first_last_and_at_most_about_max(n: int, max_points: int) -> None:
    series = pd.Series(np.arange(n, dtype=float))
    out = thin(series, max_points)
    assert len(out) <= max_points + 1
    assert out.iloc[0] == 0 and out.iloc[-1] == n - 1


def test_regime_labels_from_multiplier_columns(sweep: pd.DataFrame) -> None:
    labels = regime_labels(sweep)
    assert labels.iloc[0] == "×1.5/×2.5"
    assert set(labels) == {"×1.5/×2.5", "×2/×3"}
    assert regime_title(sweep) == "VIX cost multipliers (elevated/stress)"


def test_regime_labels_from_tuple_column() -> None:
    sweep = pd.DataFrame({"vix_multipliers": [(1.0, 1.5, 2.5)], "threshold": [0.05]})
    assert regime_labels(sweep).iloc[0] == "×1/×1.5/×2.5"
    assert regime_title(sweep) == "VIX cost multipliers"


def test_regime_labels_named_column() -> None:
    sweep = pd.DataFrame({"vix_regime": ["calm"], "vix_mult_stress": [2.5]})
    assert regime_labels(sweep).iloc[0] == "calm"
    assert regime_title(sweep) == "VIX regime"


def test_regime_labels_missing() -> None:
    with pytest.raises(ValueError, match="VIX regime"):
        regime_labels(pd.DataFrame({"threshold": [0.05]}))


def test_empirical_optimum_by_hand() -> None:
    sweep = pd.DataFrame({
        "cost_level_bps": [10, 10, 10, 50, 50, 50],
        "threshold": [0.02, 0.05, 0.10, 0.02, 0.05, 0.10],
        "te_annual": [0.01, 0.02, 0.04, 0.01, 0.02, 0.04],
        "cost_per_year": [0.0002, 0.0001, 0.00005, 0.0040, 0.0010, 0.0004]})
    best = empirical_optimum(sweep, tracking_aversion=2.0)
    # loss = cost + TE²: 10 bp -> 0.0003, 0.0005, 0.00165; 50 bp -> 0.0041, 0.0014, 0.002
    assert best.loc[10, "threshold"] == 0.02
    assert best.loc[50, "threshold"] == 0.05
    assert best.loc[50, "loss"] == pytest.approx(0.0014)


def test_empirical_optimum_averages_other_axes(sweep: pd.DataFrame) -> None:
    best = empirical_optimum(sweep, tracking_aversion=2.0)
    assert list(best.index) == [10.0, 20.0, 50.0]
    cell = sweep[(sweep["cost_level_bps"] == 20.0)
                 & (sweep["threshold"] == best.loc[20.0, "threshold"])]
    assert best.loc[20.0, "te_annual"] == pytest.approx(cell["te_annual"].mean())


def test_theoretical_bands_by_hand() -> None:
    out = theoretical_bands([20.0], drift_vol=0.1, tracking_penalty=0.15, portfolio_vol=0.15)
    assert out.loc[0, "half_band"] == pytest.approx((3 * 0.002 * 0.01 / (4 * 0.15)) ** (1 / 3))
    assert out.loc[0, "square_root_threshold"] == pytest.approx((2 * 0.002 / 0.15**2) ** 0.5)


def test_nav_figure_relative_panel_and_colours() -> None:
    dates = pd.bdate_range("2020-01-01", periods=3)
    nav = pd.DataFrame({"a": [100.0, 110.0, 121.0], "b": [100.0, 99.0, 98.0]}, index=dates)
    ref = pd.Series([100.0, 100.0, 110.0], index=dates)
    fig = nav_figure(nav, ref)
    assert [t.name for t in fig.data[:4]] == ["a", "a", "b", "b"]
    assert list(fig.data[1].y) == pytest.approx([0.0, 0.1, 0.1])
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert fig.data[-1].line.dash == "dash"


def test_frontier_figure_error_bars_when_intervals_given() -> None:
    with_ci = METRICS.assign(te_low=METRICS["te_annual"] - 0.005,
                             te_high=METRICS["te_annual"] + 0.01)
    points = frontier_figure(with_ci).data[1]
    assert list(points.error_y.array) == pytest.approx([0.01] * 4)
    assert list(points.error_y.arrayminus) == pytest.approx([0.005] * 4)
    assert points.error_x.array is None
    assert list(points.x) == pytest.approx([0.0, 4.0, 6.0, 10.0])  # bp a year
    assert frontier_figure(METRICS).data[1].error_y.array is None


def test_frontier_line_joins_the_efficient_points() -> None:
    line = frontier_figure(METRICS).data[0]
    assert list(line.y) == pytest.approx([0.03, 0.02, 0.01])


def test_sensitivity_table_is_the_mean_per_cell() -> None:
    sweep = pd.DataFrame({"threshold": [0.05, 0.05, 0.10], "cost_level_bps": [10, 10, 10],
                          "te_annual": [0.01, 0.03, 0.04],
                          "cost_per_year": [0.001, 0.003, 0.0005]})
    heat = sensitivity_table(sweep, "threshold", "cost_level_bps", "t", "c", key="k", title="T")
    te, cost = heat.panels
    assert te.values == pytest.approx(np.array([[0.02, 0.04]]))
    assert cost.values == pytest.approx(np.array([[0.002, 0.0005]]))
    assert te.texts == (("2.00%", "4.00%"),)
    assert cost.texts == (("20.0", "5.0"),)  # bp
    assert heat.columns == ("5.0%", "10.0%")
    assert heat.rows == ("10",)


def engine_sweep() -> pd.DataFrame:
    """Shaped like the engine's tidy table: calendar rows without a threshold, flat-cost
    rows without VIX multipliers, full-model rows without a flat cost."""
    nan = float("nan")
    rows = [{"config": "monthly", "threshold": nan, "flat_cost_bps": 20.0,
             "vix_mult_low": nan, "vix_mult_mid": nan, "vix_mult_high": nan,
             "te_annual": 0.02, "cost_per_year": 0.001}]
    for t in (0.03, 0.05):
        for bps in (10.0, 50.0):
            rows.append({"config": f"t{t} c{bps}", "threshold": t, "flat_cost_bps": bps,
                         "vix_mult_low": nan, "vix_mult_mid": nan, "vix_mult_high": nan,
                         "te_annual": t / 3, "cost_per_year": bps * 1e-6 / t})
        rows.append({"config": f"t{t} full", "threshold": t, "flat_cost_bps": nan,
                     "vix_mult_low": 1.0, "vix_mult_mid": 1.5, "vix_mult_high": 2.5,
                     "te_annual": t / 3, "cost_per_year": 1e-4 / t})
    return pd.DataFrame(rows)


def test_engine_shaped_sweep_skips_missing_coordinates() -> None:
    sweep = engine_sweep()
    assert cost_column(sweep) == "flat_cost_bps"
    labels = regime_labels(sweep)
    assert labels.isna().sum() == 5
    assert set(labels.dropna()) == {"×1/×1.5/×2.5"}
    assert regime_title(sweep) == "VIX cost multipliers (low/mid/high)"
    rows = sweep[sweep["threshold"].notna()]
    heat = sensitivity_table(rows, "threshold", "flat_cost_bps", "t", "c", key="k", title="T")
    assert heat.columns == ("3.0%", "5.0%") and heat.rows == ("10", "50")
    heat = sensitivity_table(rows, "threshold", regime_labels(rows), "t", "v", key="k",
                             title="T")
    assert heat.rows == ("×1/×1.5/×2.5",)
    best = empirical_optimum(sweep, 2.0)
    assert best.index.name == "flat_cost_bps" and list(best.index) == [10.0, 50.0]


def test_backtest_page_on_engine_shaped_sweep(backtest_result: SimpleNamespace) -> None:
    page = backtest_page(backtest_data(backtest_result, sweep=engine_sweep()))
    keys = [b.key for b in page.blocks if isinstance(b, Chart | HeatTable)]
    assert keys[-3:] == ["backtest-heat-cost", "backtest-heat-vix", "backtest-threshold"]


def test_sweep_without_regimes_or_costs_says_so(backtest_result: SimpleNamespace) -> None:
    sweep = engine_sweep().drop(columns=["vix_mult_low", "vix_mult_mid", "vix_mult_high"])
    sweep["flat_cost_bps"] = float("nan")
    page = backtest_page(backtest_data(backtest_result, sweep=sweep))
    assert [c.key for c in page.charts][-1] == "backtest-activity"
    notes = [b.text for b in page.blocks if isinstance(b, Note)]
    assert any("no cost levels" in n for n in notes)
    assert any("no VIX regime" in n for n in notes)


def test_backtest_data_needs_metrics(backtest_result: SimpleNamespace) -> None:
    metrics = backtest_result.metrics
    del backtest_result.metrics
    with pytest.raises(ValueError, match="metrics"):
        backtest_data(backtest_result)
    assert backtest_data(backtest_result, metrics=metrics).metrics is metrics


def test_threshold_figure_with_and_without_theory() -> None:
    empirical = pd.DataFrame({"threshold": [0.03, 0.05]},
                             index=pd.Index([10.0, 50.0], name="cost_level_bps"))
    theory = pd.DataFrame({"cost_level_bps": [50.0, 10.0], "half_band": [0.06, 0.035]})
    fig = threshold_figure(empirical, theory)
    assert list(fig.data[1].x) == [10.0, 50.0]
    assert fig.layout.yaxis.range[1] == pytest.approx(1.3 * 0.06)
    assert len(threshold_figure(empirical, None).data) == 1


def test_metrics_table_formats_units() -> None:
    table = metrics_table(METRICS.assign(sharpe_diff=0.1234, max_drift=0.2, label="x",
                                         cost_total_usd=1234.0, ref_vol_annual=0.2,
                                         final_nav_usd=2e6))
    assert list(table.frame.columns) == ["TE a year", "cost a year", "turnover a year",
                                         "rebalances", "Sharpe − reference", "max drift",
                                         "cost total", "reference volatility a year",
                                         "final NAV"]
    assert table.formats["cost total"](1234.0) == "USD 1,234"
    assert table.formats["reference volatility a year"](0.2) == "20.00%"
    assert table.formats["final NAV"](2e6) == "USD 2.00M"
    assert table.formats["TE a year"](0.03) == "3.00%"
    assert table.formats["cost a year"](0.0004) == "4.0 bp"
    assert table.formats["rebalances"](12) == "12"
    assert table.formats["Sharpe − reference"](0.1234) == "0.123"
    assert table.formats["max drift"](0.2) == "20.00%"


def test_backtest_data_prices_the_band_from_threshold_inputs(
        backtest_result: SimpleNamespace) -> None:
    inputs = ThresholdInputs(one_way_cost=0.002, portfolio_vol=0.15, drift_vol=0.1,
                             tracking_penalty=0.15)
    data = backtest_data(backtest_result, threshold_inputs=inputs)
    assert data.theoretical is not None
    assert list(data.theoretical["cost_level_bps"]) == [10.0, 20.0, 50.0]
    k = 0.002
    assert data.theoretical["half_band"].iloc[1] == pytest.approx(
        (3 * k * 0.1**2 / (4 * 0.15)) ** (1 / 3))


def test_backtest_page_with_sweep(backtest_result: SimpleNamespace) -> None:
    page = backtest_page(backtest_data(backtest_result))
    assert [b.key for b in page.blocks if isinstance(b, Chart | HeatTable)] == [
        "backtest-nav", "backtest-drift", "backtest-frontier", "backtest-activity",
        "backtest-heat-cost", "backtest-heat-vix", "backtest-threshold"]
    nav = page.charts[0].figure
    assert max(len(t.x) for t in nav.data) <= 1501  # thinned for display


def test_backtest_page_without_sweep(backtest_result: SimpleNamespace) -> None:
    data = backtest_data(backtest_result, description="20 stocks")
    data = BacktestPageData(data.nav_usd, data.ref_nav_usd, data.drift, data.metrics)
    page = backtest_page(data)
    assert len(page.charts) == 4
    assert any(isinstance(b, Note) and "sweep" in b.text for b in page.blocks)


def test_backtest_headline_names_the_best(backtest_result: SimpleNamespace) -> None:
    data = backtest_data(backtest_result)
    loss = ranking_loss(data.metrics, data.tracking_aversion)
    text = backtest_headline(data)
    assert text.startswith(f"Best trade-off on this history: {loss.idxmin()}.")
    assert "γ = 2" in text
    assert "on this one path, without an interval" in text and "Across" not in text


def test_backtest_headline_names_the_best_across_paths_with_its_rank_interval(
        backtest_result: SimpleNamespace) -> None:
    """With the many-path ranking, the headline adds its best rule, the rank interval and
    the rules it cannot be told apart from (the one-path order alone has no interval)."""
    ranking = pd.DataFrame({"rank": [2, 1], "rank_low": [1, 1], "rank_high": [3, 2],
                            "score": [2e-4, 1e-4], "score_low": [1e-4, 5e-5],
                            "score_high": [3e-4, 2e-4], "p_best": [0.3, 0.7],
                            "tied_with": ["b", "a"]}, index=pd.Index(["a", "b"], name="config"))
    text = backtest_headline(backtest_data(backtest_result, paths_ranking=ranking))
    assert text.endswith("Across the many paths the best is b: rank 1–2 at 95%, "
                         "not told apart from a.")
    alone = ranking.assign(tied_with=["", ""])
    text = backtest_headline(backtest_data(backtest_result, paths_ranking=alone))
    assert text.endswith("the best is b: rank 1–2 at 95%, told apart from every other rule.")


def test_the_one_path_ranking_over_calendar_years(backtest_result: SimpleNamespace) -> None:
    """The ranking across the path's calendar years: a table with rank intervals and the
    rules each cannot be told apart from, and the headline's clause on the best rule."""
    rf = np.zeros(len(backtest_result.dates))
    yearly = yearly_metrics(SimpleNamespace(**vars(backtest_result), risk_free_annual=rf))
    ranked = year_ranking(yearly, 2.0)
    data = backtest_data(backtest_result, ranking=ranked)
    best = ranking_loss(data.metrics, 2.0).idxmin()
    text = backtest_headline(data)
    g = yearly.n_years
    row = ranked.loc[best]
    if g >= 2:
        assert f"over its {g} calendar years rank {row['rank_low']}–{row['rank_high']}" in text
    else:
        assert "no rule is told apart from another on this path" in text
    tables = [b for b in backtest_page(data).blocks if getattr(b, "key", "") == "backtest-ranking"]
    assert len(tables) == 1
    shown = tables[0].frame
    assert list(shown.index) == list(ranked.index)
    assert shown["rank [95%]"].iloc[0].startswith("1 [")


def test_the_optimum_table_names_the_thresholds_not_told_apart() -> None:
    optimum = pd.DataFrame({"flat_cost_bps": [10.0, np.nan], "vix_mult_low": [np.nan, 1.0],
                            "vix_mult_mid": [np.nan, 1.5], "vix_mult_high": [np.nan, 2.5],
                            "impact_model": [None, "square_root"],
                            "optimal_threshold": [0.05, 0.03],
                            "not_told_apart": ["0.03/0.05/0.07", None], "n_years": [9, 0]})
    (table,) = optimum_blocks(optimum)
    assert list(table.frame.index) == ["10 bp", "cost model VIX ×1/1.5/2.5, square root"]
    cells = table.frame["not told apart from it (95%)"].tolist()
    assert cells[0].endswith("(G = 9 years)") and cells[0].count("%") == 3
    assert cells[1] == "point estimate on one path, no interval"
    assert optimum_blocks(None) == [] and optimum_blocks(optimum.drop(
        columns="not_told_apart")) == []
