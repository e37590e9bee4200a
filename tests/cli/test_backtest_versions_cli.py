"""`driftwise backtest` with target versions: several --targets files, each in force from its
effective date, or the account's versions in the record (--db)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.calendar import nyse_sessions
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main

TICKERS = ["AAA", "BBB", "CCC"]
V1 = np.array([0.5, 0.3, 0.2])
V2 = np.array([0.2, 0.3, 0.5])
COST_BPS = 10.0
NAV0 = 1e6
FREE = ("[constraints]\nwhole_shares = false\nmin_trade_usd = 0.0\nmin_adv_usd = 0.0\n"
        f"[backtest]\ninitial_nav_usd = {NAV0}\n")


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    dates = nyse_sessions("2023-01-03", "2023-04-28")
    prices = pd.DataFrame(40 * np.exp(np.cumsum(rng.normal(0, 0.015, (len(dates), 3)), axis=0)),
                          index=pd.Index(dates.strftime("%Y-%m-%d"), name="date"),
                          columns=TICKERS)
    prices.to_csv(tmp_path / "p.csv")
    out = {"prices": tmp_path / "p.csv", "config": tmp_path / "free.toml"}
    out["config"].write_text(FREE)
    for name, weights, day in (("v1", V1, "2023-01-03"), ("v2", V2, "2023-02-15")):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"ticker": TICKERS, "target_weight": weights,
                      "effective_date": day}).to_csv(path, index=False)
        out[name] = path
    return out


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["backtest", *args, "--json", "--samples", "50"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def never_by_hand(prices: pd.DataFrame, switch: str | None) -> tuple[float, float, int]:
    """Buy and hold V1 from the first close; on the switch day's close a full rebalance to
    V2 paying COST_BPS of the traded value from NAV (the post-trade NAV is the fixed point
    of nav' = nav - c * sum|V2 nav' - held|); final NAV, total cost, rebalances."""
    p = prices.to_numpy()
    shares = V1 * NAV0 / p[0]
    cost_total, n = 0.0, 0
    if switch is not None:
        k = int(np.flatnonzero(prices.index == switch)[0])
        held = shares * p[k]
        nav = held.sum()
        post = nav
        for _ in range(100):
            post = nav - COST_BPS / 1e4 * np.abs(V2 * post - held).sum()
        cost_total, n = nav - post, 1
        shares = V2 * post / p[k]
    return float(shares @ p[-1]), cost_total, n


def test_a_version_switch_mid_window_changes_the_trades_from_that_day(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    prices = pd.read_csv(files["prices"], index_col="date")
    common = ["--prices", str(files["prices"]), "--policy", "never", "--cost-bps",
              str(COST_BPS), "--config", str(files["config"])]
    one = run_json([*common, "--targets", str(files["v1"])], capsys)
    both = run_json([*common, "--targets", str(files["v2"]), "--targets", str(files["v1"])],
                    capsys)
    assert one["target_versions"] == []
    assert [v["effective_date"] for v in both["target_versions"]] == ["2023-01-03",
                                                                      "2023-02-15"]
    for data, switch in ((one, None), (both, "2023-02-15")):
        nav, cost, n = never_by_hand(prices, switch)
        row = data["policies"]["never"]
        assert row["n_rebalances"] == n
        assert row["final_nav_usd"] == pytest.approx(nav, rel=1e-10)
        assert row["cost_total_usd"] == pytest.approx(cost, rel=1e-8, abs=1e-6)
    # before the switch the two runs are the same portfolio: a window ending the day
    # before gives the same NAV to the bit
    early = ["--end", "2023-02-14"]
    assert run_json([*common, *early, "--targets", str(files["v1"])], capsys)[
        "policies"]["never"]["final_nav_usd"] == run_json(
        [*common, *early, "--targets", str(files["v1"]), "--targets", str(files["v2"])],
        capsys)["policies"]["never"]["final_nav_usd"]


def test_text_output_names_the_versions(files: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--prices", str(files["prices"]), "--targets", str(files["v1"]),
                 "--targets", str(files["v2"]), "--policy", "monthly", "--samples",
                 "50"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "target versions" in out and "v2.csv from 2023-02-15" in out


def test_a_bad_effective_date_names_file_row_and_field(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,target_weight,effective_date\nAAA,0.2,2023-03-01\n"
                   "BBB,0.3,2023-03-01\nCCC,0.5,2023-02-30\n")
    code = main(["backtest", "--prices", str(files["prices"]), "--targets", str(files["v1"]),
                 "--targets", str(bad), "--policy", "never"])
    assert code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 4" in err and "effective_date" in err


def test_versions_that_cannot_be_scheduled_are_refused(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    same = tmp_path / "same.csv"
    same.write_text(files["v2"].read_text())
    code = main(["backtest", "--prices", str(files["prices"]), "--targets", str(files["v2"]),
                 "--targets", str(same), "--policy", "never"])
    assert code == EXIT_BAD_INPUT
    assert "two versions take effect on 2023-02-15" in capsys.readouterr().err


def test_the_record_versions_of_an_account(files: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    """--db: the account's versions from the record (and its prices when no --prices),
    the same run as the two files; a version superseded by a later import with an
    earlier date is never in force, as in the planner."""
    db = str(tmp_path / "record.sqlite")
    assert main(["init", "--db", db]) == EXIT_OK
    holdings = tmp_path / "h.csv"
    holdings.write_text("ticker,shares\nAAA,10\nCASH,100\n")
    assert main(["import", "--db", db, "--holdings", str(holdings), "--prices",
                 str(files["prices"]), "--targets", str(files["v1"])]) == EXIT_OK
    assert main(["import", "--db", db, "--targets", str(files["v2"])]) == EXIT_OK
    capsys.readouterr()
    common = ["--policy", "never", "--cost-bps", str(COST_BPS), "--config",
              str(files["config"])]
    stored = run_json([*common, "--db", db], capsys)
    from_files = run_json([*common, "--prices", str(files["prices"]), "--targets",
                           str(files["v1"]), "--targets", str(files["v2"])], capsys)
    assert stored["policies"]["never"] == from_files["policies"]["never"]
    assert [v["effective_date"] for v in stored["target_versions"]] == ["2023-01-03",
                                                                        "2023-02-15"]
    # a version imported later taking effect earlier: v2 then never holds
    late = tmp_path / "v3.csv"
    pd.DataFrame({"ticker": TICKERS, "target_weight": V1[::-1],
                  "effective_date": "2023-02-01"}).to_csv(late, index=False)
    assert main(["import", "--db", db, "--targets", str(late)]) == EXIT_OK
    capsys.readouterr()
    dates = [v["effective_date"] for v in run_json([*common, "--db", db], capsys)[
        "target_versions"]]
    assert dates == ["2023-01-03", "2023-02-01"]
    assert main(["backtest", "--db", db, "--targets", str(files["v1"])]) == 2
    assert main(["backtest", "--db", db, "--account", "nobody"]) == EXIT_BAD_INPUT
    assert "no account 'nobody'" in capsys.readouterr().err


def test_many_paths_of_the_given_portfolio_follow_its_versions(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Many paths of the given portfolio: each path holds the version in force on its
    start and switches where its window holds the switch (buy and hold trades there
    only); each path's metrics are the single run's of its window."""
    from driftwise.app.paths import compare_paths
    from driftwise.backtest.paths import PathSettings
    from driftwise.config import load_config
    from driftwise.config.policies import never, with_flat_cost
    from driftwise.data.loader import load_backtest_inputs

    common = ["--prices", str(files["prices"]), "--targets", str(files["v1"]), "--targets",
              str(files["v2"]), "--policy", "never", "--cost-bps", str(COST_BPS),
              "--config", str(files["config"])]
    assert run_json([*common, "--paths-length", "21", "--paths-step", "21"],
                    capsys)["paths"]["n_paths"] == 3
    inputs = load_backtest_inputs(prices=files["prices"], targets=[files["v1"], files["v2"]])
    config = never(base=with_flat_cost(load_config(files["config"]), COST_BPS))
    runs = compare_paths(inputs, [config], ["never"], first="2023-01-03", last="2023-04-28",
                         settings=PathSettings(length_days=21, step_days=21), samples=50,
                         block=5, seed=0).runs
    switch = pd.Timestamp("2023-02-15")
    crossed = []
    for path in runs.paths:
        got = runs.metrics[runs.metrics["path"] == path.number].iloc[0]
        alone = run_json([*common, "--start", str(path.start.date()), "--end",
                          str(path.end.date())], capsys)["policies"]["never"]
        crossed.append(int(path.start < switch <= path.end))
        assert got["n_rebalances"] == alone["n_rebalances"] == crossed[-1]
        assert got["te_annual"] == pytest.approx(alone["te_annual"], rel=1e-12, abs=1e-15)
    assert sorted(set(crossed)) == [0, 1]
