"""`driftwise backtest` end to end (short windows of the sample, or small files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main

WINDOW = ["--start", "2020-01-02", "--end", "2021-06-30", "--samples", "100"]


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["backtest", *args, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_default_is_the_methodology_rules_with_required_fields(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    data = run_json(WINDOW, capsys)
    assert list(data["policies"]) == ["monthly", "threshold 5%", "threshold 10%",
                                      "hybrid (monthly + 10%)", "cost-benefit"]
    for row in data["policies"].values():
        for field in ("final_nav_usd", "total_return", "turnover_per_year", "te_annual",
                      "n_rebalances", "cost_total_usd", "te_low", "te_high"):
            assert field in row
        assert row["te_low"] <= row["te_annual"] <= row["te_high"]
        assert row["final_nav_usd"] == pytest.approx(
            data["initial_nav_usd"] * (1 + row["total_return"]))
    assert data["ranking_basis"].startswith("ranked by the mean over the window's calendar "
                                            "years")
    assert data["ranking_basis"].endswith("--paths-length N ranks the rules across many paths")
    ranked = data["ranking_intervals"]
    assert [r["config"] for r in ranked] == data["ranking"]
    for r in ranked:  # 2020-01 .. 2021-06: one calendar year of at least 126 days, no interval
        assert r["n_years"] == 1 and (r["rank_low"], r["rank_high"]) == (1, 5)
        assert len(r["tied_with"].split(", ")) == 4

    capsys.readouterr()
    assert main(["backtest", *WINDOW]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert "Ranking over the window's 1 calendar years" in out
    assert "bps, no interval (G < 2)" in out
    monthly = data["policies"]["monthly"]
    assert monthly["n_rebalances"] == 17  # first sessions of Feb-Dec 2020 (11) + Jan-Jun 2021 (6)


def test_policies_and_thresholds(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json([*WINDOW, "--policy", "never", "--policy", "threshold",
                     "--threshold", "0.03", "--threshold", "0.07"], capsys)
    assert list(data["policies"]) == ["never", "threshold 3%", "threshold 7%"]
    never, tight, loose = data["policies"].values()
    assert never["n_rebalances"] == 0 and never["cost_total_usd"] == 0
    assert tight["n_rebalances"] >= loose["n_rebalances"]
    assert tight["turnover_per_year"] >= loose["turnover_per_year"]


def test_flat_cost_is_the_cost_bps_of_traded_value(capsys: pytest.CaptureFixture[str]) -> None:
    from driftwise.config.assemble import backtest_configs
    from driftwise.config.policies import monthly
    from driftwise.data.loader import load_backtest_inputs

    data = run_json([*WINDOW, "--policy", "monthly", "--cost-bps", "20"], capsys)
    config = monthly().with_overrides({"costs.flat_cost_bps": 20.0})
    result = backtest_configs(load_backtest_inputs(), [config], start="2020-01-02",
                          end="2021-06-30")
    traded = float(result.traded_usd.sum())
    assert data["policies"]["monthly"]["cost_total_usd"] == pytest.approx(traded * 20e-4,
                                                                          rel=1e-9)


def test_grid_sweep_writes_a_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text("[backtest]\nthresholds = [0.03, 0.06]\ncost_levels_bps = [10.0, 50.0]\n"
                    "vix_multipliers = [[1.0, 1.5, 2.5]]\nimpact_models = [\"square_root\"]\n")
    table = tmp_path / "sweep.parquet"
    data = run_json([*WINDOW, "--policy", "monthly", "--grid", str(grid), "--table", str(table)],
                    capsys)
    frame = pd.read_parquet(table)
    assert len(frame) == len(data["sweep"]) == 2 * 3  # 2 thresholds x (2 flat levels + model)
    assert set(frame["threshold"]) == {0.03, 0.06}
    assert data["optimal_threshold"]


def test_workers_do_not_change_the_sweep(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    """A 32-configuration sweep on two processes gives the one-process table."""
    grid = tmp_path / "grid.toml"
    thresholds = ", ".join(f"{h:.3f}" for h in np.linspace(0.01, 0.08, 32))
    grid.write_text(f"[backtest]\nthresholds = [{thresholds}]\ncost_levels_bps = [10.0]\n")
    tables = {}
    for workers in ("1", "2"):
        table = tmp_path / f"sweep{workers}.csv"
        run_json([*WINDOW, "--policy", "monthly", "--grid", str(grid), "--table", str(table),
                  "--workers", workers], capsys)
        tables[workers] = pd.read_csv(table)
    assert len(tables["1"]) % 32 == 0 and len(tables["1"]) >= 32
    pd.testing.assert_frame_equal(tables["1"], tables["2"])


def test_user_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from driftwise.calendar import nyse_sessions

    rng = np.random.default_rng(0)
    dates = nyse_sessions("2023-01-03", "2023-10-31")
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.02, (len(dates), 3)), axis=0)),
                          index=pd.Index(dates.strftime("%Y-%m-%d"), name="date"),
                          columns=["AAA", "BBB", "CCC"])
    prices.to_csv(tmp_path / "p.csv")
    (tmp_path / "t.csv").write_text("ticker,target_weight\nAAA,0.4\nBBB,0.3\nCCC,0.3\n")
    data = run_json(["--prices", str(tmp_path / "p.csv"), "--targets", str(tmp_path / "t.csv"),
                     "--policy", "quarterly", "--samples", "100"], capsys)
    assert data["start"] == "2023-01-03" and data["policies"]["quarterly"]["n_rebalances"] == 3


def test_prices_without_targets_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("date,AAA\n2024-01-02,1\n2024-01-03,1.1\n")
    assert main(["backtest", "--prices", str(tmp_path / "p.csv")]) == EXIT_BAD_INPUT
    assert "--targets" in capsys.readouterr().err


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", *WINDOW, "--policy", "monthly", "--policy", "never"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Policies (95% block-bootstrap intervals)" in out
    assert "Differences to the baseline" in out


def test_optimum_table_names_each_cost_setting(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text("[backtest]\nthresholds = [0.03, 0.06]\ncost_levels_bps = [10.0]\n"
                    "vix_multipliers = [[1.0, 1.5, 2.5]]\nimpact_models = [\"almgren_2005\"]\n")
    assert main(["backtest", *WINDOW, "--policy", "monthly", "--grid", str(grid)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Empirical optimal threshold vs the corrected band" in out
    assert "flat 10 bps" in out and "square-root" in out


def test_optimum_view_one_labelled_row_per_cost_setting() -> None:
    from driftwise.cli.backtest import optimum_view

    optimum = pd.DataFrame({
        "trigger": ["threshold"] * 2, "destination": ["full"] * 2,
        "flat_cost_bps": [10.0, np.nan], "cost_scale": [1.0, 1.0],
        "vix_mult_low": [np.nan, 1.0], "vix_mult_mid": [np.nan, 1.5],
        "vix_mult_high": [np.nan, 2.5], "impact_model": [None, "almgren_2005"],
        "optimal_threshold": [0.05, 0.03], "te_annual": [0.01, 0.008],
        "cost_per_year": [4e-4, 2e-4], "n_thresholds": [2, 2], "at_grid_edge": [False, True],
        "one_way_cost": [1e-3, 2e-4], "half_band": [0.043, 0.024],
        "square_root_threshold": [0.13, 0.05], "empirical_over_band": [1.16, 1.25]})
    view = optimum_view(optimum)
    assert view.index.name == "threshold / full: cost setting"
    assert list(view.index) == ["flat 10 bps", "almgren 2005 VIX x1/1.5/2.5"]
    assert view.loc["flat 10 bps", "optimal threshold"] == "5.0%"
    assert view.iloc[1]["optimal threshold"] == "3.0% (grid edge)"
    assert view.iloc[0]["cost k"] == "10.0 bps"
    assert view.iloc[0]["not told apart (95%)"] == "point estimate on one path, no interval"
    optimum["not_told_apart"] = ["0.03/0.05", None]
    optimum["n_years"] = [10, 0]
    view = optimum_view(optimum)
    assert view.iloc[0]["not told apart (95%)"] == "3.0%, 5.0% (G = 10 years)"
    assert view.iloc[1]["not told apart (95%)"] == "point estimate on one path, no interval"


def test_cost_setting_labels() -> None:
    from driftwise.cli.backtest import cost_setting

    assert cost_setting(pd.Series({"flat_cost_bps": 20.0, "cost_scale": 1.0})) == "flat 20 bps"
    assert cost_setting(pd.Series({"flat_cost_bps": np.nan, "cost_scale": 0.5,
                                   "impact_model": "square_root", "vix_mult_low": 1.0,
                                   "vix_mult_mid": 2.0, "vix_mult_high": 4.0})) == \
        "square root VIX x1/2/4 x0.5"


def test_backtest_reports_the_falsification_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json([*WINDOW, "--policy", "monthly", "--policy", "threshold"], capsys)
    (row,) = data["falsification"]
    assert (row["threshold"], row["calendar"]) == ("threshold 5%", "monthly")
    assert row["verdict"] in ("holds", "fails: threshold does not reduce TE",
                              "fails: costs exceed the TE reduction")
    if not row["threshold_reduces_te"]:
        assert row["verdict"] == "fails: threshold does not reduce TE"
        assert row["costs_exceed_te_reduction_utility"] is None
    assert main(["backtest", *WINDOW, "--policy", "monthly", "--policy", "threshold"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Falsification test: threshold vs calendar" in out
    assert row["verdict"] in out


def test_daily_policy_and_the_starting_nav(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json([*WINDOW, "--policy", "daily", "--policy", "threshold", "--threshold", "0"],
                    capsys)
    assert list(data["policies"]) == ["daily", "threshold 0%"]
    daily = data["policies"]["daily"]
    assert daily["n_rebalances"] == data["days"] - 1
    # the sample's portfolio is given: the backtest starts from its NAV, and says so
    assert data["initial_nav_source"].startswith("the holdings' NAV on")
    assert daily["final_nav_usd"] == pytest.approx(
        data["initial_nav_usd"] * (1 + daily["total_return"]))
    assert main(["backtest", *WINDOW, "--policy", "daily"]) == EXIT_OK
    assert "starting NAV" in capsys.readouterr().out


def test_holdings_option_sets_the_starting_nav(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    from driftwise.data.holdings import write_holdings
    from driftwise.data.model import Holdings
    from driftwise.data.sample import load_sample

    sample = load_sample()
    half = Holdings(shares=(sample.holdings.shares / 2).round(), cash_usd=12_345.67)
    path = write_holdings(half, tmp_path / "half.csv")
    data = run_json([*WINDOW, "--policy", "monthly", "--holdings", str(path)], capsys)
    last = sample.market.prices.iloc[-1]
    expected = float((half.shares * last.reindex(half.shares.index)).sum()) + 12_345.67
    assert data["initial_nav_usd"] == pytest.approx(expected, rel=1e-12)
    assert data["initial_nav_source"].startswith("the holdings' NAV on")


def test_time_and_threshold_policy(capsys: pytest.CaptureFixture[str]) -> None:
    """A rule of the trigger registry is a --policy name, one rule per --threshold."""
    data = run_json([*WINDOW, "--policy", "time-and-threshold", "--policy", "quarterly",
                     "--threshold", "0.02", "--threshold", "0.5"], capsys)
    assert list(data["policies"]) == ["quarterly review, threshold 2%",
                                      "quarterly review, threshold 50%", "quarterly"]
    tight, loose, quarterly = data["policies"].values()
    assert loose["n_rebalances"] == 0  # a 50% drift never happens
    assert 0 < tight["n_rebalances"] <= quarterly["n_rebalances"]


def test_risk_free_file_makes_cash_earn_its_rate(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    """--risk-free: cash earns the rate (the buy-and-hold NAV grows by its cash's
    interest, the same figure as the library's run); off with the configuration key;
    a rate in percent is refused naming the file's field."""
    from driftwise.data.sample import load_sample

    days = load_sample().market.prices.index
    path = tmp_path / "rf.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "rate_annual": 0.04}).to_csv(path,
                                                                                  index=False)
    args = [*WINDOW, "--policy", "never"]

    def cash_flags(data: dict) -> list[str]:
        return [f["detail"] for f in data["flags"] if f["flag"] == "cash earns nothing"]

    plain_run = run_json(args, capsys)
    plain = plain_run["policies"]["never"]
    earning_run = run_json([*args, "--risk-free", str(path)], capsys)
    earning = earning_run["policies"]["never"]
    assert earning["final_nav_usd"] > plain["final_nav_usd"]
    # the user sees why cash earned nothing: no series, or the configuration key
    (no_series,) = cash_flags(plain_run)
    assert "no risk-free rate was given" in no_series and "--risk-free" in no_series
    assert cash_flags(earning_run) == []
    off = tmp_path / "off.toml"
    off.write_text("[backtest]\ncash_earns_risk_free = false\n")
    quiet_run = run_json([*args, "--risk-free", str(path), "--config", str(off)], capsys)
    quiet = quiet_run["policies"]["never"]
    assert quiet["final_nav_usd"] == plain["final_nav_usd"]
    (switched_off,) = cash_flags(quiet_run)
    assert "backtest.cash_earns_risk_free is false" in switched_off
    assert main(["backtest", *args]) == EXIT_OK  # the terminal's flags table names it too
    assert "cash earns nothing" in capsys.readouterr().out
    # the interest is the buy-and-hold's cash compounded at 4%/252 per night
    from driftwise.config.assemble import backtest_configs
    from driftwise.config.policies import never
    from driftwise.data.loader import load_backtest_inputs

    result = backtest_configs(load_backtest_inputs(risk_free=path), [never()],
                              start="2020-01-02", end="2021-06-30")
    assert earning["final_nav_usd"] == pytest.approx(float(result.nav_usd[-1, 0]), rel=1e-12)
    cash0 = float(result.cash_usd[0, 0])
    nights = len(result.nav_usd) - 1
    assert earning["final_nav_usd"] - plain["final_nav_usd"] == pytest.approx(
        cash0 * ((1 + 0.04 / 252) ** nights - 1), rel=1e-9)
    bad = tmp_path / "pct.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "rate_annual": 4.0}).to_csv(bad,
                                                                               index=False)
    assert main(["backtest", *args, "--risk-free", str(bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "rate_annual" in err and "pct.csv" in err


def test_the_one_path_ranking_has_intervals_over_calendar_years(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Eight calendar years of the sample: monthly rebalancing (TE 0.5%) is told apart from
    never (TE 3%) at the ranking's level (each pair at 97.5% with three rules), not from
    annual; annual and never cannot be told apart. Rank intervals span the ties."""
    report = tmp_path / "r.html"
    data = run_json(["--start", "2012-01-03", "--end", "2019-12-31", "--samples", "50",
                     "--policy", "monthly", "--policy", "never", "--policy", "annual",
                     "--report", str(report)], capsys)
    ranked = {r["config"]: r for r in data["ranking_intervals"]}
    assert data["ranking"][0] == "monthly" and ranked["monthly"]["tied_with"] == "annual"
    assert ranked["never"]["tied_with"] == "annual"
    assert set(ranked["annual"]["tied_with"].split(", ")) == {"monthly", "never"}
    assert (ranked["monthly"]["rank_low"], ranked["monthly"]["rank_high"]) == (1, 2)
    assert (ranked["never"]["rank_low"], ranked["never"]["rank_high"]) == (2, 3)
    for r in ranked.values():
        assert r["n_years"] == 8
        assert r["score_low"] <= r["score"] <= r["score_high"]
        assert r["rank_low"] <= r["rank"] <= r["rank_high"]
    pairs = {(p["a"], p["b"]): p for p in data["ranking_pairs"]}
    assert pairs[("monthly", "never")]["told_apart"] and pairs[("monthly", "never")]["high"] < 0
    assert not pairs[("never", "annual")]["told_apart"]
    assert not pairs[("monthly", "annual")]["told_apart"]
    assert all(p["pair_level"] == pytest.approx(0.975) for p in pairs.values())
    html = report.read_text(encoding="utf-8")
    assert "backtest-ranking" in html and "over its 8 calendar years" in html
