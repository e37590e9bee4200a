"""`driftwise validate-rules --multipliers FILE --ranking FILE`: the research page shows the
verdicts beside the calibrated VIX multipliers (the output of `calibrate-costs --json`) and
the many-path ranking (the output of `backtest --paths-length N --json`); bad files are
refused before the study runs, naming file, row and field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.cli.validate import multipliers_view, show_measured
from driftwise.report.validation_inputs import read_multipliers, read_ranking


def _bars(folder: Path) -> list[str]:
    """Daily bars of three stocks trading at bid or ask, the spread doubling when VIX is
    above 20 and quadrupling above 30 (a month at a time): calibrate-costs' arguments."""
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2005-01-03", periods=500)
    months = dates.to_period("M")
    level = dict(zip(months.unique(), rng.choice([15.0, 25.0, 40.0], len(months.unique())),
                     strict=True))
    vix = pd.Series([level[m] for m in months], index=dates)
    spread = np.array([0.002, 0.004, 0.008])[np.searchsorted([20.0, 30.0], vix, side="right")]
    (folder / "bars").mkdir()
    for ticker in ("AAA", "BBB", "CCC"):
        steps = 60
        mid = np.cumsum(rng.normal(0, 0.005 / math.sqrt(steps), len(dates) * steps))
        side = rng.choice([-1.0, 1.0], len(dates) * steps)
        price = 50 * np.exp(mid + side * np.repeat(spread, steps) / 2).reshape(-1, steps)
        pd.DataFrame({"date": dates, "high": price.max(1), "low": price.min(1),
                      "close": price[:, -1]}).to_csv(folder / "bars" / f"{ticker}.csv",
                                                     index=False)
    pd.DataFrame({"date": dates, "close": vix.to_numpy()}).to_csv(folder / "vix.csv",
                                                                  index=False)
    return ["calibrate-costs", "--bars", str(folder / "bars"), "--vix",
            str(folder / "vix.csv"), "--start", "2005-01-03", "--bootstrap", "50", "--json"]


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two files, written by the commands themselves."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("measured")
    out = {}
    for name, args in (
            ("multipliers", _bars(folder)),
            ("ranking", ["backtest", "--start", "2019-01-02", "--end", "2021-12-31",
                         "--policy", "monthly", "--policy", "never", "--policy", "threshold",
                         "--paths-length", "126", "--paths-step", "63", "--samples", "50",
                         "--json"])):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(args) == EXIT_OK
        out[name] = folder / f"{name}.json"
        out[name].write_text(buffer.getvalue(), encoding="utf-8")
    return out


def test_the_files_the_commands_write_are_read(measured: dict[str, Path]) -> None:
    m = read_multipliers(measured["multipliers"])
    printed = json.loads(measured["multipliers"].read_text())
    assert len(m) == len(printed["rows"]) and set(m["estimator"]) == {"corwin-schultz",
                                                                      "abdi-ranaldo"}
    calm = m[(m["tier"] == "all") & (m["regime_index"] == 0)]
    assert (calm["multiplier"] == 1.0).all()
    assert list(m["configured"].iloc[:3]) == [1.0, 1.5, 2.5]
    r = read_ranking(measured["ranking"])
    assert sorted(r.index) == ["monthly", "never", "threshold 5%"]
    assert sorted(r["rank"]) == [1, 2, 3]
    paths = json.loads(measured["ranking"].read_text())["paths"]["ranking"]
    assert r.loc["never", "score"] == pytest.approx(
        next(row["score"] for row in paths if row["config"] == "never"), rel=1e-15)
    # a CSV of the same rows reads the same
    table = measured["ranking"].with_suffix(".csv")
    pd.DataFrame(paths).to_csv(table, index=False)
    pd.testing.assert_frame_equal(read_ranking(table), r, check_dtype=False)


def test_validate_rules_shows_them_beside_the_verdicts(
        measured: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "page.html"
    code = main(["validate-rules", "--start", "2019-01-01", "--end", "2019-12-31",
                 "--no-falsification", "--workers", "1", "--json", "--report", str(report),
                 "--multipliers", str(measured["multipliers"]), "--ranking",
                 str(measured["ranking"])])
    assert code == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert [r["rule"] for r in data["rules"]] == ["Rule 1", "Rule 2", "Rule 3", "Rule 4"]
    assert len(data["vix_multipliers"]) == len(read_multipliers(measured["multipliers"]))
    assert {r["config"] for r in data["path_ranking"]} == {"monthly", "never", "threshold 5%"}
    # the VIX claim's independent observations: the episodes (runs of consecutive months)
    # of the stressed regime
    printed = json.loads(measured["multipliers"].read_text())
    (claim,) = [r for r in data["research"] if r["claim"] == "VIX multipliers"][:1]
    (stressed,) = [r for r in printed["rows"] if r["estimator"] == "corwin-schultz"
                   and r["tier"] == "all" and r["regime"] == ">= 30"]
    assert claim["observations"] == stressed["episodes"]
    assert claim["observations_unit"] == "episodes of consecutive months"
    assert "not in the calibration's table" not in claim["interval"]
    html = report.read_text(encoding="utf-8")
    for block in ("validation-vix-multipliers-table", "validation-path-ranking-table",
                  "Calibrated VIX multipliers of spreads", "Ranking across many paths",
                  "2–3× normal"):
        assert block in html


def test_the_terminal_view(measured: dict[str, Path], capsys: pytest.CaptureFixture[str]
                           ) -> None:
    m = read_multipliers(measured["multipliers"])
    show_measured(multipliers=m, ranking=read_ranking(measured["ranking"]))
    out = capsys.readouterr().out
    assert "Calibrated VIX multipliers" in out and "Ranking of rules across many paths" in out
    view = multipliers_view(m)
    assert list(view.columns) == ["tier", "VIX", "multiplier [95%]", "configured", "months"]


def _fails(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["validate-rules", *args]) == EXIT_BAD_INPUT
    return capsys.readouterr().err


def test_bad_files_are_refused_naming_file_row_and_field(
        measured: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    printed = json.loads(measured["multipliers"].read_text())
    printed["rows"][2]["multiplier_high"] = "wide"
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps(printed))
    err = _fails(["--multipliers", str(bad)], capsys)
    assert "m.json (its 'rows' list)" in err and "row 3" in err and "multiplier_high" in err
    # the backtest's output without --paths-length has no ranking across paths
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"policies": {}, "ranking": ["monthly"]}))
    err = _fails(["--ranking", str(plain)], capsys)
    assert "plain.json" in err and "paths.ranking" in err and "--paths-length" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"paths": {"ranking": [\n{"config": "a",}]}}')
    err = _fails(["--ranking", str(broken)], capsys)
    assert "broken.json" in err and "not valid JSON" in err and "row 2" in err
    table = tmp_path / "r.csv"
    table.write_text("config,rank,score,score_low,score_high,rank_low,rank_high,p_best\n"
                     "monthly,1,0.002,0.001,0.003,1,2,0.7\n"
                     "never,2,0.004,0.005,0.006,1,2,0.3\n")
    err = _fails(["--ranking", str(table)], capsys)
    assert "r.csv" in err and "row 3" in err and "score_low" in err
    table.write_text("config,rank,score\nmonthly,1,0.002\n")
    err = _fails(["--ranking", str(table)], capsys)
    assert "r.csv" in err and "missing column" in err and "p_best" in err
    err = _fails(["--multipliers", str(tmp_path / "none.json")], capsys)
    assert "not found" in err and "none.json" in err


def test_the_months_of_each_regime_travel_with_the_calibration(
        measured: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON carries the calendar months behind each regime (per tier, and on every
    row); the reader keeps them, the terminal, the HTML table and the research table show
    them (the research table's count is checked on the study's output above)."""
    from driftwise.report.validation_page import multipliers_table

    printed = json.loads(measured["multipliers"].read_text())
    vix = pd.read_csv(measured["multipliers"].parent / "vix.csv", parse_dates=["date"])
    # an independent count: months holding a pair (two consecutive sessions, the first's
    # VIX giving the regime) in each regime
    first = vix.iloc[:-1]
    regime = np.searchsorted([20.0, 30.0], first["close"].to_numpy(), side="right")
    counted = first["date"].dt.to_period("M").groupby(regime).nunique().tolist()
    by_regime = printed["months_by_regime"]["all"]
    assert list(by_regime.values()) == counted and list(by_regime) == ["< 20", "20-30", ">= 30"]
    rows = [r for r in printed["rows"] if r["tier"] == "all"]
    assert [r["months"] for r in rows] == counted * 2  # both estimators, the same months
    m = read_multipliers(measured["multipliers"])
    assert m.loc[m["tier"] == "all", "months"].tolist() == counted * 2
    assert multipliers_view(m)["months"].tolist()[:3] == [str(c) for c in counted]
    assert multipliers_table(m).frame["months"].tolist()[:3] == counted
    show_measured(multipliers=m)
    assert "months" in capsys.readouterr().out
