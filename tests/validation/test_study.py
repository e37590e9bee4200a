"""The study end to end on a short window of the sample, its outputs and its CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.cli.validate import show
from driftwise.config.assemble import study_settings
from driftwise.errors import ConfigError
from driftwise.flags import Flag
from driftwise.report.html import Table
from driftwise.report.validation_page import page_data, validation_page
from driftwise.validation.output import markdown, to_dict
from driftwise.validation.stats import BREAKDOWN_EFFECT_COLUMNS, MODEL
from driftwise.validation.study import (
    PortfolioSpec,
    StudyResult,
    cost_settings,
    random_portfolios,
    run_study,
)

WINDOW = {"start": "2016-01-01", "end": "2019-12-31"}


@pytest.fixture(scope="module")
def study() -> StudyResult:
    settings = study_settings(workers=1, chunks=2, bootstrap_samples=50, **WINDOW)
    return run_study([PortfolioSpec("sample")], settings)


def test_every_rule_has_a_row(study: StudyResult) -> None:
    assert study.rules["rule"].tolist() == ["Rule 1", "Rule 2", "Rule 3", "Rule 4"]
    assert set(study.rules["verdict"]) <= {"supported", "not supported", "inconclusive"}
    assert study.rules["stated_confidence"].tolist() == [0.70, 0.65, 0.60, 0.65]
    assert study.n_paths > 30


def test_breakdowns_cover_cost_levels(study: StudyResult) -> None:
    assert set(study.by_cost["cost_level_bps"]) <= {10.0, 20.0, 50.0}
    assert set(study.by_regime["vix_regime"]) <= {"< 20", "20-30", "> 30"}
    model = study.events[study.events["setting"] == MODEL]
    for rule, part in model.groupby("rule"):
        row = study.rules.set_index("rule").loc[rule]
        assert row["n_events"] == len(part)
        assert row["hit_rate"] == pytest.approx(part["hit"].mean())


def _same_study(a: StudyResult, b: StudyResult) -> None:
    """Every number of two runs, bit for bit."""
    for name in ("events", "rules", "by_regime", "by_cost", "sensitivity", "effects",
                 "falsification", "cost_limits"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True,
                                      obj=name)
    assert a.n_paths == b.n_paths and a.notices == b.notices


def test_a_local_cluster_of_two_workers_gives_the_serial_numbers(study: StudyResult) -> None:
    settings = study_settings(workers=2, chunks=2, bootstrap_samples=50, **WINDOW)
    seen: list[tuple[int, int]] = []
    again = run_study([PortfolioSpec("sample")], settings,
                      progress=lambda d, n: seen.append((d, n)))
    _same_study(study, again)
    assert seen == [(1, 3), (2, 3), (3, 3)]  # the falsification and two chunks, as completed


def test_a_scheduler_by_address_gives_the_serial_numbers(study: StudyResult,
                                                          dask_scheduler: str) -> None:
    settings = study_settings(workers=1, chunks=2, bootstrap_samples=50,
                              scheduler=dask_scheduler, **WINDOW)
    _same_study(study, run_study([PortfolioSpec("sample")], settings))


def test_an_unreachable_scheduler_is_a_clear_message(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwise.backtest import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    code = main(["validate-rules", "--start", "2019-01-01", "--end", "2019-12-31",
                 "--no-falsification", "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in err
    assert "Traceback" not in err


def test_progress_is_reported() -> None:
    seen: list[tuple[int, int]] = []
    settings = study_settings(workers=1, chunks=2, falsification=False, rules=("Rule 4",),
                              start="2019-01-01", end="2019-12-31")
    run_study([PortfolioSpec("sample")], settings, progress=lambda d, n: seen.append((d, n)))
    assert seen == [(1, 2), (2, 2)]


def test_outputs(study: StudyResult, tmp_path: Path) -> None:
    data = to_dict(study)
    text = json.dumps(data, allow_nan=False)
    assert "criterion" in data and len(data["rules"]) == 4 and "Rule 4" in text
    # the criterion says what the verdicts rest on: the mean effect's interval, not the hit rate
    assert "mean effect and its 95% cluster-robust interval" in data["criterion"]
    assert "interval of the hit rate lies above 0.5" not in data["criterion"]
    assert any("calibrate-costs" in c for c in data["caveats"])
    report = markdown(study)
    for heading in ("## Verdicts", "## By VIX regime", "## By cost level",
                    "## The falsification test", "## Caveats", "VIX scaling"):
        assert heading in report
    page = validation_page(page_data(study))
    assert page.key == "validation"
    # the falsification: each portfolio's one path said plainly, the pooled verdict with
    # its interval across calendar years, and the claims beside the literature
    assert all(r["basis"].startswith("one path (2016-") for r in data["falsification"])
    pooled = data["falsification_pooled"]
    assert [(p["setting"], p["calendar"]) for p in pooled][:2] == [(MODEL, "quarter"),
                                                                   (MODEL, "month")]
    assert all(p["n_years"] == 4 and p["te_diff_low"] <= p["te_diff_high"] for p in pooled)
    assert "one path" in data["falsification_basis"]
    claims = {r["claim"] for r in data["research"]}
    assert {"Rule 1", "Falsification", "VIX multipliers", "Tax-loss harvesting"} <= claims
    assert "### Pooled over portfolios" in report and "## Claims beside the literature" in report
    keys = {getattr(b, "key", None) for b in page.blocks}
    assert {"validation-research", "validation-falsification-pooled"} <= keys
    notes = [str(getattr(b, "text", "")) for b in page.blocks]
    assert any(t.startswith("Flags: ") and "cash earns nothing" in t for t in notes)


def _flat(text: str) -> str:
    """Terminal text without whitespace and box drawing (rich wraps cells over lines)."""
    return re.sub(r"[\s│┃─━╭╮╰╯┏┓┗┛┡┩└┘┌┐┃╇╈]+", "", text)


def test_every_output_shows_g_and_the_effect_beside_the_hit_rate(
        study: StudyResult, capsys: pytest.CaptureFixture[str]) -> None:
    """The breakdowns and the sensitivity table carry events, G, the mean effect with its
    interval and the verdict on it, then the hit rate, in JSON, markdown, the terminal and
    the HTML page; the page has the falsification test per portfolio."""
    data = to_dict(study)
    for key in ("by_vix_regime", "by_cost_level", "sensitivity"):
        assert data[key], key
        for row in data[key]:
            assert set(BREAKDOWN_EFFECT_COLUMNS) <= set(row), key
            assert row["verdict"] in {"supported", "not supported", "inconclusive"}
    header = "| events | G | mean effect [95%] vs bar | verdict (effect) | hit rate [95%] |"
    report = markdown(study)
    regime = report.split("## By VIX regime")[1].split("## By cost level")[0]
    assert "| rule | VIX " + header in regime
    cost = report.split("## By cost level")[1].split("## Events removed")[0]
    assert "| rule | cost bps " + header in cost
    sens = report.split("## Sensitivity of the claims")[1].split("## Effect sizes")[0]
    assert "| rule | variant " + header in sens
    capsys.readouterr()
    show(study)
    out = _flat(capsys.readouterr().out)
    for title in ("ByVIXregimeattheevent", "Byflatcostlevel", "Sensitivityoftheclaims"):
        part = out.split(title)[1][:400]
        assert "G" in part and "meaneffect[95%]vsbar" in part and "verdict(effect)" in part
        assert "hitrate[95%]" in part
    page = validation_page(page_data(study))
    tables = {b.key: b for b in page.blocks if isinstance(b, Table)}
    for key in ("validation-by-regime-table", "validation-by-cost-table",
                "validation-sensitivity"):
        assert {"independent clusters (G)", "mean effect [95%] vs bar", "verdict",
                "hit rate"} <= set(tables[key].frame.columns), key
    per_portfolio = tables["validation-falsification"].frame
    assert len(per_portfolio) == len(study.falsification)
    assert (per_portfolio["years (G)"] == 4).all()


def test_cost_settings() -> None:
    labels = [s.label for s in cost_settings(study_settings())]
    assert labels == ["model", "flat 10 bps", "flat 20 bps", "flat 50 bps",
                      "model, no VIX scaling"]
    novix = cost_settings(study_settings())[-1].params
    assert novix.vix_multipliers == (1.0, 1.0, 1.0)


def test_random_portfolios_are_reproducible() -> None:
    pool = [f"T{i}" for i in range(60)]
    a = random_portfolios(pool, 3, seed=1, universe="sp500")
    b = random_portfolios(pool, 3, seed=1, universe="sp500")
    assert a == b
    assert all(10 <= len(p.tickers) <= 50 and len(set(p.tickers)) == len(p.tickers) for p in a)
    small = random_portfolios(pool[:12], 2, seed=1, universe="sample")
    assert all(10 <= len(p.tickers) <= 12 for p in small)


def test_bad_settings() -> None:
    with pytest.raises(ConfigError):
        study_settings(workers=0)
    with pytest.raises(ConfigError):
        study_settings(rules=("Rule 9",))
    with pytest.raises(ConfigError):
        run_study([], study_settings())


def test_random_sample_portfolio_runs() -> None:
    settings = study_settings(workers=1, chunks=1, falsification=False, rules=("Rule 1",),
                              start="2018-01-01", end="2019-12-31")
    spec = random_portfolios(["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM",
                              "KO", "LLY"], 1, seed=0, universe="sample")[0]
    result = run_study([spec], settings)
    assert np.isfinite(result.rules["n_events"]).all()


def test_cli_sample_window(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    md = tmp_path / "validation.md"
    code = main(["validate-rules", "--start", "2018-01-01", "--end", "2019-12-31",
                 "--no-falsification", "--workers", "1", "--markdown", str(md)])
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert "Verdicts" in out and "Rule 4" in out
    assert md.read_text(encoding="utf-8").startswith("# Validation of the insight rules")


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate-rules", "--start", "2019-01-01", "--end", "2019-12-31",
                 "--no-falsification", "--workers", "1", "--json"])
    assert code == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert [r["rule"] for r in data["rules"]] == ["Rule 1", "Rule 2", "Rule 3", "Rule 4"]


def test_cli_bad_universe(capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["validate-rules", "--universe", "nasdaq"]) == EXIT_BAD_INPUT
    monkeypatch.delenv("DRIFTWISE_SHARED_DATA", raising=False)
    assert main(["validate-rules", "--universe", "sp500"]) == EXIT_BAD_INPUT
    assert "--data-dir" in capsys.readouterr().err


def test_cli_missing_data_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["validate-rules", "--universe", "sp500", "--data-dir", str(tmp_path)])
    assert code == EXIT_BAD_INPUT
    assert "tickers.csv" in capsys.readouterr().err


def test_the_falsification_task_builds_no_events_history(
        study: StudyResult, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its backtest builds its own; the portfolio's cost notes come from its events tasks,
    and the notices keep the order of the portfolios."""
    from driftwise.validation import study as module

    settings = study_settings(workers=1, chunks=2, bootstrap_samples=50, **WINDOW)
    module._CACHE.clear()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the events' history built for a falsification task")

    monkeypatch.setattr(module, "build_history", refuse)
    result = module.run_task(module.Task(PortfolioSpec("sample"), "falsification"), settings)
    assert result.falsification is not None and len(result.falsification)
    monkeypatch.undo()
    events = module.run_task(module.Task(PortfolioSpec("sample"), "events", 0, 2), settings)
    # the market's notices, and the falsification backtest's own: the sample gives no
    # risk-free series, so its cash earns nothing (flagged, in the study's notices too)
    cash = {n for n in result.notices if n.flag is Flag.NO_RISK_FREE}
    assert len(cash) == 1 and "no risk-free rate was given" in next(iter(cash)).detail
    assert set(result.notices) - cash <= set(events.notices)
    assert cash <= set(study.notices) and not cash & set(events.notices)
    assert study.notices[:len(events.notices)] == events.notices


def test_the_cost_limit_table_counts_the_study_events(study: StudyResult) -> None:
    table = study.cost_limits
    assert set(table["rule"]) == {"Rule 1", "Rule 3"}
    assert table["setting"].tolist()[:4] == ["model", "flat 10 bps", "flat 20 bps",
                                             "flat 50 bps"]
    counts = study.events.groupby(["rule", "setting"]).size()
    for _, row in table.iterrows():
        assert row["events"] == counts.get((row["rule"], row["setting"]), 0)
        assert row["removed"] == row["candidates"] - row["events"] >= 0
        assert row["limit_bps"] == pytest.approx(20.0 if row["rule"] == "Rule 1" else 30.0)
    assert "## Events removed by the cost limits" in markdown(study)
    assert len(to_dict(study)["cost_limits"]) == len(table)
    page = validation_page(page_data(study))
    assert "validation-cost-limits" in [c.key for c in page.charts]


def test_the_printed_verdicts_are_the_study_numbers_and_agree_with_their_intervals(
        study: StudyResult, capsys: pytest.CaptureFixture[str]) -> None:
    """Every output's verdict row shows the StudyResult's own figures (both parts of rule
    1's claim, the reason, the first event per path with its verdict), and every verdict
    shown is the one its intervals imply (the docs' criterion, recomputed from the row)."""
    from tests.validation.test_verdict_parts import expected_verdict

    from driftwise.validation.output import NO_INTERVAL, rules_display

    shown = rules_display(study)
    data = {r["rule"]: r for r in to_dict(study)["rules"]}
    report = markdown(study).split("## Verdicts")[1].split("## By VIX regime")[0]
    page = validation_page(page_data(study))
    html = next(b for b in page.blocks if isinstance(b, Table) and b.key == "validation-rules")
    capsys.readouterr()
    show(study)
    terminal = _flat(capsys.readouterr().out)
    for _, row in study.rules.iterrows():
        rule = row["rule"]
        line = shown.loc[rule]
        assert row["verdict"] == expected_verdict(row), rule
        assert row["first_verdict"] == expected_verdict(row, "first_"), rule
        effect = (f"{row['effect_mean']:,.3f} "
                  + (f"[{row['effect_ci_low']:,.3f}, {row['effect_ci_high']:,.3f}]"
                     if np.isfinite(row["effect_ci_low"]) else NO_INTERVAL)
                  + f" vs {row['effect_bar']:,.3f}")
        assert line["mean effect [95%] vs bar"].startswith(effect), rule
        assert line["verdict (effect)"] == row["verdict"]
        assert line["reason"] == row["verdict_reason"] != ""
        first = line["first event per path: verdict; mean effect [95%]; hit rate [95%] "
                     "(events, G)"]
        assert first.startswith(f"{row['first_verdict']}; {row['first_effect_mean']:,.3f} ")
        assert first.endswith(f"({row['first_n_events']}, {row['first_n_clusters']})")
        assert f"{100 * row['first_ci_low']:.1f}% – {100 * row['first_ci_high']:.1f}%" in first
        if rule == "Rule 1":
            second = (f"CE gain over waiting {row['second_effect_mean']:,.3f} "
                      f"[{row['second_effect_ci_low']:,.3f}, "
                      f"{row['second_effect_ci_high']:,.3f}] vs 0.000 bps")
            assert second in line["mean effect [95%] vs bar"]
            assert second in html.frame.loc[rule, "mean effect [95%] vs bar"]
            assert data[rule]["second_effect_mean"] == row["second_effect_mean"]
        assert f"| {line['mean effect [95%] vs bar']} | {row['verdict']} | " \
               f"{row['verdict_reason']} |" in report
        assert data[rule]["verdict"] == row["verdict"]
        assert data[rule]["verdict_reason"] == row["verdict_reason"]
        assert html.frame.loc[rule, "reason"] == row["verdict_reason"]
        assert html.frame.loc[rule, "verdict"] == row["verdict"]
    assert "reason" in terminal.split("Verdicts(modelcosts)")[1][:2000]
    # every breakdown row too (rule 1's gain over waiting is finite at every event, so its
    # clusters are the row's G)
    for frame in (study.by_regime, study.by_cost):
        for _, row in frame.iterrows():
            full = pd.concat([row, pd.Series({"second_n_clusters": row["n_clusters"]})])
            assert row["verdict"] == expected_verdict(full), row["rule"]
