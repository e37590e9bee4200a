"""Many paths: the batch equals single-path runs, no look-ahead, delistings, statistics."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from tests.backtest.conftest import synthetic_inputs

from driftwise.app.paths import PathComparison, compare_paths
from driftwise.backtest.batches import Window
from driftwise.backtest.bootstrap import block_bootstrap_indices
from driftwise.backtest.engine import BacktestResult, run_backtest
from driftwise.backtest.metrics import policy_metrics
from driftwise.backtest.path_stats import mean_draws, path_statistics, start_blocks
from driftwise.backtest.paths import (
    PathRuns,
    PathSettings,
    PathSpec,
    make_paths,
    universe_of,
)
from driftwise.config import Config, policies
from driftwise.config.assemble import rule_grid, run_window
from driftwise.data.model import Inputs, SecurityMaster, Targets
from driftwise.data.targets import read_targets
from driftwise.errors import ConfigError
from driftwise.flags import Flag

SETTINGS = PathSettings(length_days=63, step_days=63, portfolios=2, size=3, seed=5,
                        min_history_days=40)
FIRST, LAST = "2019-04-01", "2019-10-31"


def _with_delisting(inputs: Inputs, last_day: int = 200) -> Inputs:
    """FFF: priced like BBB x 1.3, no price after session ``last_day``."""
    prices = inputs.market.prices.assign(FFF=inputs.market.prices["BBB"] * 1.3)
    prices.iloc[last_day + 1:, prices.columns.get_loc("FFF")] = np.nan
    assert inputs.market.volumes is not None
    volumes = inputs.market.volumes.assign(FFF=inputs.market.volumes["BBB"])
    master = SecurityMaster(frame=pd.concat([inputs.master.frame, pd.DataFrame(
        {"sector": ["Tech"], "asset_class": ["US Equity"], "market_cap_usd": [np.nan]},
        index=pd.Index(["FFF"], name=inputs.master.frame.index.name))]),
        source=inputs.master.source)
    market = dataclasses.replace(inputs.market, prices=prices, volumes=volumes)
    return dataclasses.replace(inputs, market=market, master=master)


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    return _with_delisting(synthetic_inputs())


def _configs() -> dict[str, Config]:
    return {"monthly": policies.monthly(), "threshold 5%": policies.threshold(0.05)}


def test_layout_starts_lengths_and_reproducible_draws(inputs: Inputs) -> None:
    u = universe_of(inputs)
    paths = make_paths(u, FIRST, LAST, SETTINGS)
    sessions = u.prices.loc[FIRST:LAST].index
    starts = sorted({p.start for p in paths})
    assert starts == [sessions[0], sessions[63]]
    assert all(len(p.tickers) == 3 for p in paths) and len(paths) == 4
    for p in paths:
        if not p.stopped:
            assert len(u.prices.loc[p.start:p.end]) == 63
    again = make_paths(u, FIRST, LAST, SETTINGS)
    assert [p.tickers for p in again] == [p.tickers for p in paths]
    other = make_paths(u, FIRST, LAST, dataclasses.replace(SETTINGS, seed=6))
    assert [p.tickers for p in other] != [p.tickers for p in paths]


def test_a_planted_future_crash_and_delisting_change_no_earlier_path(inputs: Inputs) -> None:
    u = universe_of(inputs)
    clean = make_paths(u, FIRST, LAST, dataclasses.replace(SETTINGS, portfolios=3))
    prices = inputs.market.prices.copy()
    after = u.prices.index.get_loc(pd.Timestamp(clean[-1].start)) + 1
    prices.iloc[after + 2:, prices.columns.get_loc("CCC")] *= 0.05
    prices.iloc[after + 5:, prices.columns.get_loc("AAA")] = np.nan
    planted = universe_of(dataclasses.replace(
        inputs, market=dataclasses.replace(inputs.market, prices=prices)))
    later = make_paths(planted, FIRST, LAST, dataclasses.replace(SETTINGS, portfolios=3))
    assert [(p.start, p.tickers) for p in later] == [(p.start, p.tickers) for p in clean]
    # a path that ends before the events is untouched; one that holds AAA when it stops
    # trading runs to its own end, AAA flagged with its last session
    stop = u.prices.index[after + 4]
    for p, q in zip(clean, later, strict=True):
        assert q.end == p.end
        if p.end <= stop or "AAA" not in p.tickers:
            assert q.stopped == p.stopped
        else:
            assert q.stopped == (("AAA", stop),) and q.start < stop


def test_a_stock_that_stops_trading_is_sold_and_the_path_runs_to_its_end(
        inputs: Inputs) -> None:
    u = universe_of(inputs)
    last = u.prices.index[200]
    given = ["AAA", "FFF"]
    settings = PathSettings(length_days=63, step_days=200, min_history_days=40)
    paths = make_paths(u, "2019-09-03", "2020-03-31", settings, given)
    hit = [p for p in paths if p.stopped]
    assert hit and hit[0].stopped == (("FFF", last),)
    assert len(u.prices.loc[hit[0].start:hit[0].end]) == 63  # the full window
    targets = read_targets(pd.DataFrame({"ticker": [*given, "CASH"],
                                         "target_weight": [0.5, 0.45, 0.05]}))
    data = dataclasses.replace(inputs, targets=targets)
    runs = compare_paths(data, list(_configs().values()), list(_configs()), first="2019-09-03",
                         last="2020-03-31", settings=settings, samples=50, block=10, seed=0)
    flagged = [n for n in runs.runs.notices if n.flag is Flag.NO_PRICE_TODAY]
    assert flagged and "FFF stopped trading after 2019-10-17" in flagged[0].detail
    assert "sold at its last price on 2019-10-18" in flagged[0].detail
    table = runs.runs.table()
    assert table.loc[table["path"] == hit[0].number, "stopped"].tolist() == ["FFF@2019-10-17"]
    assert table.loc[table["path"] == hit[0].number, "end"].tolist() == [hit[0].end]
    ranking = runs.stats.ranking  # the path statistics still compute
    assert np.isfinite(ranking["score"].to_numpy()).all()
    # one independent block of start dates: no interval across paths, nothing told apart
    assert runs.stats.n_blocks < 2 and ranking["score_low"].isna().all()
    assert (ranking["rank_low"] == 1).all() and (ranking["rank_high"] == 2).all()


def _by_hand(inputs: Inputs, path: PathSpec) -> Inputs:
    """One path's inputs built independently: equal weights, caps from the dollar-volume
    proxy (median of 60 sessions / 0.5%), the prices up to the path's end."""
    tickers = list(path.tickers)
    cash = inputs.targets.cash_weight if inputs.targets is not None else 0.0
    targets = read_targets(pd.DataFrame({
        "ticker": [*tickers, "CASH"],
        "target_weight": [(1 - cash) / len(tickers)] * len(tickers) + [cash]}))
    return by_hand(inputs, path, tickers, targets)


def by_hand(inputs: Inputs, path: PathSpec, tickers: list[str], targets: Targets) -> Inputs:
    """``inputs`` with ``targets``, ``tickers``' prices and volumes up to the path's end and
    their caps from the dollar-volume proxy known on its start (median of 60 sessions /
    0.5%), computed here independently of the paths' code."""
    prices = inputs.market.prices.loc[:path.end, tickers]
    assert inputs.market.volumes is not None
    volumes = inputs.market.volumes.loc[:path.end, tickers]
    dollars = (volumes * prices).loc[:path.start].tail(60)
    caps = dollars.where(dollars > 0).median() / 0.005
    frame = inputs.master.frame.loc[tickers].assign(market_cap_usd=caps.to_numpy())
    return dataclasses.replace(
        inputs, targets=targets, master=SecurityMaster(frame=frame, source="by hand"),
        market=dataclasses.replace(inputs.market, prices=prices, volumes=volumes))


def paths_equal_single_runs(inputs: Inputs, settings: PathSettings, configs: dict[str, Config],
                            alone_inputs: Callable[[Inputs, PathSpec], Inputs]
                            ) -> tuple[PathComparison, list[BacktestResult]]:
    """Every rule of ``configs`` over the paths of ``settings``, each path's metrics
    checked equal to the bit to a single-path run of ``alone_inputs(inputs, path)``; the
    comparison and the single-path runs."""
    result = compare_paths(inputs, list(configs.values()), list(configs), first=FIRST,
                           last=LAST, settings=settings, samples=50, block=10, seed=0)
    grid = rule_grid(list(configs.values()), list(configs))
    nav = run_window(list(configs.values()), inputs=inputs).initial_nav_usd
    runs = []
    for path in result.runs.paths:
        alone = run_backtest(alone_inputs(inputs, path), grid,
                             Window(path.start, path.end, False, nav), workers=1)
        expected = policy_metrics(alone).reset_index()
        got = result.runs.metrics[result.runs.metrics["path"] == path.number]
        for column in ("te_annual", "cost_per_year", "turnover_per_year", "n_rebalances",
                       "return_annual", "sharpe", "max_drift"):
            np.testing.assert_array_equal(got[column].to_numpy(),
                                          expected[column].to_numpy(), err_msg=column)
        runs.append(alone)
    return result, runs


def test_the_batch_equals_separate_single_path_runs(inputs: Inputs) -> None:
    configs = _configs()
    result, _ = paths_equal_single_runs(inputs, SETTINGS, configs, _by_hand)
    ranking = result.stats.ranking
    assert sorted(ranking.index) == sorted(configs)
    assert (ranking["score_low"] <= ranking["score"]).all()
    assert (ranking["score"] <= ranking["score_high"]).all()
    assert (ranking["rank_low"] <= ranking["rank_high"]).all()
    assert ranking["p_best"].sum() == pytest.approx(1.0)
    assert result.to_frame()["metric"].nunique() == 11


def _toy_runs(values: np.ndarray, starts: list[int], samples: int = 400) -> PathRuns:
    """Paths whose within-path draws are their observed values (no within-path noise)."""
    p, c = values.shape
    specs = [PathSpec(i, pd.Timestamp("2020-01-01"), pd.Timestamp("2020-06-30"), k, 0)
             for i, k in enumerate(starts)]
    names = [f"r{j}" for j in range(c)]
    rows = [{"path": i, "config": names[j], **{m: values[i, j] for m in (
        "te_annual", "cost_per_year", "turnover_per_year", "n_rebalances", "return_annual",
        "vol_annual", "sharpe", "sharpe_diff", "max_drift", "mean_drift")}}
            for i in range(p) for j in range(c)]
    fixed = np.repeat(values[:, None, :], samples, axis=1)
    return PathRuns(paths=specs, names=names, metrics=pd.DataFrame(rows),
                    draws={"te_annual": fixed, "cost_per_year": fixed}, notices=())


def test_across_path_draws_equal_a_plain_loop_over_start_blocks() -> None:
    rng = np.random.default_rng(2)
    starts = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    values = rng.normal(size=(10, 3))
    runs = _toy_runs(values, starts, samples=50)
    idx = block_bootstrap_indices(5, 2, 50, np.random.default_rng(9))
    got = mean_draws(runs, runs.draws["te_annual"], idx)
    for s in range(50):
        per_start = [values[[i for i, k in enumerate(starts) if k == j]].mean(axis=0)
                     for j in range(5)]
        expected = np.mean([per_start[j] for j in idx[s]], axis=0)
        np.testing.assert_allclose(got[s], expected, rtol=1e-12)


def test_identical_rules_cannot_be_told_apart_and_a_worse_rule_loses() -> None:
    rng = np.random.default_rng(4)
    base = np.abs(rng.normal(0.01, 0.003, 40))
    values = np.column_stack([base, base, base + 0.01])
    runs = _toy_runs(values, list(range(40)))
    stats = path_statistics(runs, length_days=126, step_days=63, tracking_aversion=2.0)
    r = stats.ranking
    assert r.index[-1] == "r2" and r.loc["r2", "rank_low"] == 3
    assert "r1" in r.loc["r0", "tied_with"] and "r2" not in r.loc["r0", "tied_with"]
    d = stats.differences.set_index(["a", "b", "metric"])
    assert d.loc[("r0", "r2", "score"), "p_a_better"] == 1.0
    assert d.loc[("r0", "r1", "score"), "p_a_better"] == 0.0  # never strictly better
    assert d.loc[("r0", "r2", "score"), "share_of_paths"] == 1.0
    assert stats.block_starts == start_blocks(126, 63) == 2


def test_one_rule_has_a_ranking_without_pairs() -> None:
    runs = _toy_runs(np.abs(np.random.default_rng(5).normal(0.01, 0.003, (12, 1))),
                     list(range(12)))
    stats = path_statistics(runs, length_days=126, step_days=63, tracking_aversion=2.0)
    r = stats.ranking
    assert list(r.index) == ["r0"] and r.loc["r0", "rank"] == 1
    assert r.loc["r0", "p_best"] == 1.0 and r.loc["r0", "tied_with"] == ""
    assert r.loc["r0", "score_low"] <= r.loc["r0", "score"] <= r.loc["r0", "score_high"]
    assert stats.differences.empty


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="length_days"):
        PathSettings(length_days=5)
    with pytest.raises(ConfigError, match="size"):
        PathSettings(size=1)


def test_too_short_a_window_or_too_few_stocks(inputs: Inputs) -> None:
    u = universe_of(inputs)
    with pytest.raises(ConfigError, match="fewer than one path"):
        make_paths(u, "2019-04-01", "2019-04-30", SETTINGS)
    with pytest.raises(ConfigError, match="could be chosen"):
        make_paths(u, FIRST, LAST, dataclasses.replace(SETTINGS, size=9))


def test_paths_on_dask_equal_the_serial_run(inputs: Inputs, dask_scheduler: str) -> None:
    """Two local workers, and a scheduler reached by address: every path's metrics and
    within-path draws, the ranking and the notices are the serial run's, bit for bit."""
    configs = _configs()
    serial = compare_paths(inputs, list(configs.values()), list(configs), first=FIRST,
                           last=LAST, settings=SETTINGS, samples=50, block=10, seed=0)
    seen: list[tuple[int, int]] = []
    for kwargs in ({"workers": 2}, {"scheduler": dask_scheduler}):
        spread = compare_paths(inputs, list(configs.values()), list(configs), first=FIRST,
                               last=LAST, settings=SETTINGS, samples=50, block=10, seed=0,
                               progress=lambda d, n: seen.append((d, n)),
                               **kwargs)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(spread.runs.metrics, serial.runs.metrics,
                                      check_exact=True)
        for metric, draws in serial.runs.draws.items():
            np.testing.assert_array_equal(spread.runs.draws[metric], draws)
        pd.testing.assert_frame_equal(spread.stats.ranking, serial.stats.ranking,
                                      check_exact=True)
        assert spread.runs.notices == serial.runs.notices
    n_paths = len(serial.runs.paths)
    assert n_paths > 2 and seen[-1] == (n_paths, n_paths)


def test_intervals_are_widened_for_few_blocks_oracle() -> None:
    """Each interval is the percentile interval of the draws widened about the estimate by
    t(G − 1)/z at its level, G = start dates / block (recomputed with scipy here); ranks
    and ties come from the pairs at 1 − 5%/(C − 1), so a rank interval spans the ties."""
    from scipy import stats as sps

    rng = np.random.default_rng(11)
    values = np.abs(rng.normal(0.01, 0.004, (12, 3))) + np.array([0.0, 0.001, 0.02])
    runs = _toy_runs(values, list(range(12)), samples=300)
    st = path_statistics(runs, length_days=189, step_days=63, tracking_aversion=2.0, seed=3)
    assert st.block_starts == 3 and st.n_blocks == 4.0
    idx = block_bootstrap_indices(12, 3, 300, np.random.default_rng(3))
    draws = mean_draws(runs, runs.draws["te_annual"], idx)
    score = 0.5 * 2.0 * values ** 2 + values  # te and cost are the same toy values
    score_draws = mean_draws(runs, 0.5 * 2.0 * runs.draws["te_annual"] ** 2
                             + runs.draws["cost_per_year"], idx)
    widen = sps.t.ppf(0.975, 3.0) / sps.norm.ppf(0.975)
    summary = st.summary.set_index(["config", "metric"])
    for c in range(3):
        est = values[:, c].mean()
        lo, hi = np.quantile(draws[:, c], [0.025, 0.975])
        row = summary.loc[(f"r{c}", "te_annual")]
        assert (row["low"], row["high"]) == pytest.approx(
            (est - widen * (est - lo), est + widen * (hi - est)), rel=1e-12)
    joint = 1 - 0.05 / 2
    widen_j = sps.t.ppf(0.5 + joint / 2, 3.0) / sps.norm.ppf(0.5 + joint / 2)
    d = st.differences.set_index(["a", "b", "metric"])
    for i, j in ((0, 1), (0, 2), (1, 2)):
        est = (score[:, i] - score[:, j]).mean()
        lo, hi = np.quantile(score_draws[:, i] - score_draws[:, j],
                             [(1 - joint) / 2, 0.5 + joint / 2])
        row = d.loc[(f"r{i}", f"r{j}", "score")]
        assert (row["low_joint"], row["high_joint"]) == pytest.approx(
            (est - widen_j * (est - lo), est + widen_j * (hi - est)), rel=1e-9)
    r = st.ranking
    for name, row in r.iterrows():
        ties = [t for t in str(row["tied_with"]).split(", ") if t]
        assert row["rank_high"] - row["rank_low"] == len(ties)
        assert row["rank_low"] <= row["rank"] <= row["rank_high"], name
