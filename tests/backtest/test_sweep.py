"""Tests of driftwise.app.sweep: grid expansion, tidy tables, the empirical optimum."""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy import stats

from driftwise.app.sweep import (
    GRID_COLUMNS,
    POINT_ESTIMATE,
    YEARS_BASIS,
    SweepGrid,
    empirical_optimal_threshold,
    progress_bar,
    threshold_comparison,
    tidy,
    write_table,
)
from driftwise.backtest.metrics import METRIC_COLUMNS, policy_metrics
from driftwise.backtest.years import YearlyMetrics
from driftwise.config import (
    BacktestConfig,
    Config,
    Destination,
    ImpactModel,
    TriggerKind,
    default_config,
)
from driftwise.errors import ConfigError, DataError
from driftwise.metrics.threshold import ThresholdInputs, optimal_half_band

SQRT, ALMGREN = ImpactModel.SQUARE_ROOT, ImpactModel.ALMGREN_2005


def small_grid() -> SweepGrid:
    return SweepGrid(thresholds=(0.03, 0.05), cost_levels_bps=(10.0, 20.0, None),
                     vix_multipliers=((1.0, 1.0, 1.0), (1.0, 2.0, 3.0)),
                     impact_models=(SQRT, ALMGREN), seed=7)


# --------------------------------------------------------------------- grid


def test_grid_expansion_count_and_contents() -> None:
    grid = small_grid()
    configs = grid.configs(default_config())
    # 2 thresholds x (2 flat levels + 1 full model x 2 VIX triples x 2 impact models) = 12
    assert len(configs) == len(grid) == 12
    seen = set()
    for c in configs:
        assert c.policy.trigger is TriggerKind.THRESHOLD
        assert c.policy.destination is Destination.FULL
        assert c.backtest.seed == 7
        flat = c.costs.flat_cost_bps
        key = (c.policy.threshold, flat) + (
            (tuple(c.costs.vix_multipliers), c.costs.impact_model) if flat is None else ())
        seen.add(key)
    want = {(h, lvl) for h in (0.03, 0.05) for lvl in (10.0, 20.0)} | {
        (h, None, vix, m) for h in (0.03, 0.05)
        for vix in ((1.0, 1.0, 1.0), (1.0, 2.0, 3.0)) for m in (SQRT, ALMGREN)}
    assert seen == want


def test_grid_keeps_the_rest_of_the_base_config() -> None:
    base = default_config().with_overrides({"costs.participation": 0.05,
                                            "policy.tracking_aversion": 4.0})
    for c in small_grid().configs(base):
        assert c.costs.participation == 0.05
        assert c.policy.tracking_aversion == 4.0


def test_grid_sweeps_destinations() -> None:
    grid = dataclasses.replace(small_grid(), destinations=("full", "half"))
    configs = grid.configs(Config())
    assert len(configs) == 24
    assert {c.policy.destination for c in configs} == {Destination.FULL, Destination.HALF}


def test_grid_from_backtest_config() -> None:
    section = BacktestConfig()
    grid = SweepGrid.from_config(section)
    assert grid.thresholds == (0.03, 0.05, 0.07, 0.10)
    assert grid.cost_levels_bps == (10.0, 20.0, 50.0, None)
    assert grid.vix_multipliers == ((1.0, 1.0, 1.0), (1.0, 1.5, 2.5), (1.0, 2.0, 3.0))
    assert grid.impact_models == (SQRT, ALMGREN)
    # 4 thresholds x (3 flat + 3 VIX x 2 impact) = 36
    assert len(grid) == len(grid.points()) == 36
    assert len(SweepGrid.from_config(section, full_model=False)) == 12


def test_grid_from_toml_section() -> None:
    cfg = Config().with_overrides({"backtest.thresholds": [0.02, 0.04],
                                   "backtest.cost_levels_bps": [5.0],
                                   "backtest.impact_models": ["almgren_2005"]})
    grid = SweepGrid.from_config(cfg.backtest)
    assert grid.impact_models == (ALMGREN,)
    assert len(grid) == 2 * (1 + 3 * 1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"thresholds": ()}, "thresholds"),
    ({"thresholds": (-0.01,)}, "thresholds"),
    ({"thresholds": (0.05, 0.05)}, "each once"),
    ({"thresholds": (1.5,)}, "thresholds"),
    ({"cost_levels_bps": (-1.0,)}, "cost_levels_bps"),
    ({"cost_levels_bps": (math.nan,)}, "cost_levels_bps"),
    ({"vix_multipliers": ((1.0, 2.0),)}, "triples"),
    ({"vix_multipliers": ((1.0, 0.0, 2.0),)}, "vix_multipliers"),
    ({"impact_models": ("linear",)}, "linear"),
    ({"destinations": ("moon",)}, "moon"),
    ({"seed": -1}, "seed"),
])
def test_bad_grid(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"thresholds": (0.05,), "cost_levels_bps": (10.0,)} | kwargs
    with pytest.raises(ConfigError, match=match):
        SweepGrid(**args)  # type: ignore[arg-type]


# -------------------------------------------------------------------- tidy


@dataclass(frozen=True)
class FakeResult:
    names: list[str]
    params: pd.DataFrame
    config_toml: list[str]
    nav_usd: np.ndarray
    ref_nav_usd: np.ndarray
    traded_usd: np.ndarray
    cost_usd: np.ndarray
    rebalanced: np.ndarray
    drift: np.ndarray
    risk_free_annual: np.ndarray
    dates: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    post_drift: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cash_usd: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def sweep_result(configs: list[Config], n_days: int = 40) -> FakeResult:
    rng = np.random.default_rng(0)
    C = len(configs)
    ref_r = rng.normal(2e-4, 0.01, n_days - 1)
    r = ref_r[:, None] + rng.normal(0, 0.001, (n_days - 1, C))
    nav = 1e6 * np.vstack([np.ones(C), np.cumprod(1 + r, axis=0)])
    traded = rng.uniform(0, 1e4, (n_days, C))
    params = pd.DataFrame({
        "policy": [f"threshold {c.policy.threshold:.0%}" for c in configs],
        "threshold": [c.policy.threshold for c in configs],  # duplicate: TOML wins
        "policy.threshold": [c.policy.threshold for c in configs],  # the engine's, left out
        "vix": [tuple(c.costs.vix_multipliers) for c in configs],
        "impact": [c.costs.impact_model for c in configs],
    })
    return FakeResult(
        names=[f"cfg{j:02d}" for j in range(C)], params=params,
        config_toml=[c.to_toml() for c in configs], nav_usd=nav,
        ref_nav_usd=1e6 * np.concatenate([[1.0], np.cumprod(1 + ref_r)]),
        traded_usd=traded, cost_usd=traded * 1e-3, rebalanced=traded > 5e3,
        drift=rng.uniform(0, 0.1, (n_days, C)), risk_free_annual=np.full(n_days, 0.01))


def test_tidy_has_grid_then_metrics() -> None:
    configs = small_grid().configs(Config())
    res = sweep_result(configs)
    metrics = policy_metrics(res)
    table = tidy(res, metrics)
    assert len(table) == 12
    assert list(table.columns) == ["config", *GRID_COLUMNS, "policy", "vix", "impact",
                                   *METRIC_COLUMNS]
    assert list(table["config"]) == res.names
    for row, cfg in zip(table.itertuples(), configs, strict=True):
        assert row.threshold == cfg.policy.threshold
        assert row.trigger == "threshold"
        assert row.cost_scale == 1.0
        if cfg.costs.flat_cost_bps is None:
            assert math.isnan(row.flat_cost_bps)
            assert row.impact_model == cfg.costs.impact_model.value
            vix = (row.vix_mult_low, row.vix_mult_mid, row.vix_mult_high)
            assert vix == tuple(cfg.costs.vix_multipliers)
        else:
            assert row.flat_cost_bps == cfg.costs.flat_cost_bps
            assert pd.isna(row.impact_model)
            assert math.isnan(row.vix_mult_low)
    assert table["vix"].iloc[0] == "1/1.5/2.5"
    assert table["impact"].iloc[0] == "square_root"
    pd.testing.assert_frame_equal(table[list(METRIC_COLUMNS)],
                                  metrics.reset_index(drop=True))


def test_tidy_blank_threshold_for_calendar_rules() -> None:
    configs = [Config().with_overrides({"policy.trigger": "calendar"})]
    res = sweep_result(configs)
    table = tidy(res, policy_metrics(res))
    assert table["trigger"].iloc[0] == "calendar"
    assert math.isnan(table["threshold"].iloc[0])


def test_tidy_mismatched_params() -> None:
    res = sweep_result(small_grid().configs(Config()))
    short = dataclasses.replace(res, params=res.params.iloc[:3])
    with pytest.raises(DataError, match="one row per configuration"):
        tidy(short, policy_metrics(res))


def test_tidy_metrics_missing_a_configuration() -> None:
    res = sweep_result(small_grid().configs(Config()))
    with pytest.raises(DataError, match="cfg00"):
        tidy(res, policy_metrics(res).iloc[1:])


def test_tidy_bad_stored_toml() -> None:
    res = sweep_result(small_grid().configs(Config()))
    broken = dataclasses.replace(res, config_toml=["[policy]\ntreshold = 0.1\n"] * 12)
    with pytest.raises(ConfigError, match="did you mean 'threshold'"):
        tidy(broken, policy_metrics(res))


@pytest.mark.parametrize("name", ["sweep.csv", "sweep.csv.gz", "sweep.parquet"])
def test_table_round_trip(tmp_path: Path, name: str) -> None:
    res = sweep_result(small_grid().configs(Config()))
    table = tidy(res, policy_metrics(res))
    path = write_table(table, tmp_path / "out" / name)
    assert path.is_file()
    back = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False, rtol=0, atol=0)


def test_write_table_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown table format"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "sweep.xlsx")


def test_write_table_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write"):
        write_table(pd.DataFrame({"a": [1]}), blocker / "sweep.csv")


# ------------------------------------------------------------ optimum


HS = np.round(np.arange(0.01, 0.1501, 0.005), 3)


def synthetic_table() -> pd.DataFrame:
    """te(h) = 0.5 h and cost(h) = 2e-6 b / h at cost level b bps.

    Utility with gamma = 2: U(h) = 0.25 h^2 + c / h with c = 2e-6 b; U'(h) = 0.5 h - c / h^2
    vanishes at h* = (2 c)^(1/3) = (4e-6 b)^(1/3): 0.0342 for b = 10, 0.0585 for b = 50.
    """
    rows = []
    for b in (10.0, 50.0):
        for h in HS:
            rows.append({"config": f"b{b:g}_h{h:g}", "trigger": "threshold", "threshold": h,
                         "flat_cost_bps": b, "cost_scale": 1.0, "te_annual": 0.5 * h,
                         "cost_per_year": 2e-6 * b / h})
    rows.append({"config": "monthly", "trigger": "calendar", "threshold": math.nan,
                 "flat_cost_bps": 10.0, "cost_scale": 1.0, "te_annual": 0.0,
                 "cost_per_year": 0.0})
    return pd.DataFrame(rows)


def test_empirical_optimum_utility() -> None:
    got = empirical_optimal_threshold(synthetic_table())
    assert list(got["flat_cost_bps"]) == [10.0, 50.0]
    for b, row in zip((10.0, 50.0), got.itertuples(), strict=True):
        exact = (4e-6 * b) ** (1 / 3)
        assert abs(row.optimal_threshold - exact) <= 0.0025  # nearest on the 0.005 grid
        brute = HS[np.argmin([0.25 * h**2 + 2e-6 * b / h for h in HS])]
        assert row.optimal_threshold == brute
        assert row.objective_value == pytest.approx(
            0.25 * row.optimal_threshold**2 + 2e-6 * b / row.optimal_threshold)
        assert row.n_thresholds == len(HS)
        assert not row.at_grid_edge
    assert list(got["optimal_threshold"]) == [0.035, 0.06]
    assert got["config"].iloc[0] == "b10_h0.035"


def test_empirical_optimum_higher_cost_widens_the_band() -> None:
    got = empirical_optimal_threshold(synthetic_table()).set_index("flat_cost_bps")
    assert got.loc[50.0, "optimal_threshold"] > got.loc[10.0, "optimal_threshold"]


def test_empirical_optimum_under_a_budget() -> None:
    # cost <= 1e-3 a year: 2e-6 b / h <= 1e-3, h >= 2e-3 b: b=10 -> h >= 0.02, b=50 -> 0.10;
    # te grows with h, so the optimum is the smallest feasible threshold
    got = empirical_optimal_threshold(synthetic_table(), objective="min_te_under_budget",
                                      cost_budget=1.000001e-3)
    assert list(got["optimal_threshold"]) == [0.02, 0.10]
    tight = empirical_optimal_threshold(synthetic_table(), objective="min_te_under_budget",
                                        cost_budget=1e-6)
    assert tight["optimal_threshold"].isna().all()


def test_empirical_optimum_flags_the_grid_edge() -> None:
    table = synthetic_table()
    low = table[(table["threshold"] >= 0.06) | table["threshold"].isna()]
    got = empirical_optimal_threshold(low)
    assert got["optimal_threshold"].iloc[0] == 0.06
    assert bool(got["at_grid_edge"].iloc[0])


def test_empirical_optimum_groups_with_missing_values() -> None:
    table = synthetic_table()
    table.loc[table["flat_cost_bps"] == 50.0, "flat_cost_bps"] = math.nan  # full model
    got = empirical_optimal_threshold(table)
    assert len(got) == 2
    assert got["flat_cost_bps"].isna().sum() == 1


def test_empirical_optimum_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="objective"):
        empirical_optimal_threshold(synthetic_table(), objective="max_fun")
    with pytest.raises(ConfigError, match="cost_budget"):
        empirical_optimal_threshold(synthetic_table(), objective="min_te_under_budget")
    with pytest.raises(ConfigError, match="unknown column"):
        empirical_optimal_threshold(synthetic_table(), by=("regime",))
    with pytest.raises(ConfigError, match="tracking_aversion"):
        empirical_optimal_threshold(synthetic_table(), tracking_aversion=math.nan)


def test_threshold_comparison_uses_each_cost_level() -> None:
    table = synthetic_table()
    table.loc[table["flat_cost_bps"] == 50.0, "flat_cost_bps"] = math.nan  # full model
    theory = ThresholdInputs(one_way_cost=0.003, portfolio_vol=0.15, drift_vol=0.1,
                             tracking_penalty=1.0)
    got = threshold_comparison(table, theory).set_index("flat_cost_bps", drop=False)
    row_flat = got[got["flat_cost_bps"] == 10.0].iloc[0]
    row_full = got[got["flat_cost_bps"].isna()].iloc[0]
    assert row_flat["one_way_cost"] == pytest.approx(0.001)
    assert row_full["one_way_cost"] == pytest.approx(0.003)  # theory's own cost
    assert row_flat["half_band"] == pytest.approx(float(optimal_half_band(0.001, 0.1, 1.0)))
    assert row_full["half_band"] == pytest.approx(float(optimal_half_band(0.003, 0.1, 1.0)))
    assert row_flat["square_root_threshold"] == pytest.approx(math.sqrt(2 * 0.001 / 0.15**2))
    assert row_flat["empirical_over_band"] == pytest.approx(
        row_flat["optimal_threshold"] / row_flat["half_band"])


def test_threshold_comparison_scales_cost() -> None:
    table = synthetic_table()
    table["cost_scale"] = 2.0
    theory = ThresholdInputs(one_way_cost=0.003, portfolio_vol=0.15, drift_vol=0.1,
                             tracking_penalty=1.0)
    got = threshold_comparison(table, theory)
    assert list(got["one_way_cost"]) == pytest.approx([0.002, 0.010])


def test_sweep_end_to_end_on_a_fake_result(tmp_path: Path) -> None:
    res = sweep_result(small_grid().configs(Config()))
    table = tidy(res, policy_metrics(res))
    optimum = empirical_optimal_threshold(table)
    # groups: 2 flat levels + 2 VIX x 2 impact for the full model
    assert len(optimum) == 6
    assert set(optimum["optimal_threshold"]) <= {0.03, 0.05}
    write_table(optimum, tmp_path / "optimum.parquet")


def test_progress_bar_reports_and_disappears() -> None:
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, width=80)
    with progress_bar("sweep", console=console) as progress:
        for day in range(1, 11):
            progress(day, 10)
    assert "sweep" in sink.getvalue()


def test_progress_bar_disabled_is_silent() -> None:
    with progress_bar(enabled=False) as progress:
        progress(1, 2)


def synthetic_years(table: pd.DataFrame, g: int = 8, noise: float = 0.1,
                    seed: int = 2) -> YearlyMetrics:
    """Each configuration's yearly TE and cost: the table's values times a year effect
    common to every configuration (the year's market) and a small noise of its own."""
    rng = np.random.default_rng(seed)
    names = tuple(str(c) for c in table["config"])
    year = rng.uniform(0.7, 1.3, (g, 1))
    own = 1.0 + noise * rng.normal(0.0, 1.0, (g, len(names)))
    te = table["te_annual"].to_numpy()[None, :] * year * own
    cost = table["cost_per_year"].to_numpy()[None, :] * year * own[::-1]
    return YearlyMetrics(names=names, years=np.arange(2000, 2000 + g), days=np.full(g, 252),
                         te=te, cost=cost)


def test_thresholds_not_told_apart_oracle() -> None:
    """The set recomputed by hand: thresholds whose one-sample t interval of the yearly
    utility difference to the optimum reaches 0 or below."""
    table = synthetic_table()
    years = synthetic_years(table)
    got = empirical_optimal_threshold(table, yearly=years).set_index("flat_cost_bps")
    score = years.te ** 2 + years.cost  # γ/2 = 1
    for b in (10.0, 50.0):
        row = got.loc[b]
        best = years.names.index(str(row["config"]))
        kept = []
        for h in HS:
            c = years.names.index(f"b{b:g}_h{h:g}")
            d = score[:, c] - score[:, best]
            low = d.mean() - stats.t.ppf(0.975, 7) * d.std(ddof=1) / math.sqrt(8) if c != best \
                else 0.0
            if low <= 0:
                kept.append(h)
        assert row["not_told_apart"] == "/".join(f"{h:g}" for h in kept)
        assert (row["not_told_apart_low"], row["not_told_apart_high"]) == (min(kept), max(kept))
        assert row["optimal_threshold"] in kept and row["n_years"] == 8
        assert row["basis"] == YEARS_BASIS
        # a clear difference is told apart: the grid's ends are far from the optimum
        assert HS[0] not in kept and HS[-1] not in kept
        # a non-difference is not: the neighbours of the optimum stay in the set
        near = {round(row["optimal_threshold"] + d, 3) for d in (-0.005, 0.005)}
        assert near <= {round(h, 3) for h in kept}


def test_without_years_the_optimum_is_labelled_a_point_estimate() -> None:
    got = empirical_optimal_threshold(synthetic_table())
    assert got["basis"].tolist() == [POINT_ESTIMATE] * 2
    assert got["not_told_apart"].isna().all() and (got["n_years"] == 0).all()


def test_one_year_tells_no_threshold_apart() -> None:
    table = synthetic_table()
    got = empirical_optimal_threshold(table, yearly=synthetic_years(table, g=1))
    assert got["not_told_apart"].iloc[0] == "/".join(f"{h:g}" for h in HS)
    assert got["n_years"].iloc[0] == 1


def test_not_told_apart_under_a_budget() -> None:
    """Under a budget the yearly TE of the feasible thresholds is compared; infeasible
    thresholds are never in the set."""
    table = synthetic_table()
    got = empirical_optimal_threshold(table, objective="min_te_under_budget",
                                      cost_budget=1.000001e-3, yearly=synthetic_years(table))
    row = got.iloc[0]  # b = 10: feasible from 0.02, optimum 0.02
    kept = [float(h) for h in row["not_told_apart"].split("/")]
    assert min(kept) == 0.02 and row["optimal_threshold"] == 0.02


def test_years_must_cover_the_table() -> None:
    table = synthetic_table()
    years = synthetic_years(table[table["flat_cost_bps"] == 10.0])
    with pytest.raises(ConfigError, match="miss configuration"):
        empirical_optimal_threshold(table, yearly=years)
    with pytest.raises(ConfigError, match="'config' column"):
        empirical_optimal_threshold(table.drop(columns="config"), yearly=years)
