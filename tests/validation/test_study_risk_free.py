"""``validate-rules --risk-free``: the falsification backtest's cash earns the series (as in
``backtest --risk-free``), and the flag that cash earns nothing goes when it covers the
window."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.config.assemble import study_settings
from driftwise.data.sample import load_sample
from driftwise.flags import Flag
from driftwise.validation import study as module
from driftwise.validation.study import PortfolioSpec

WINDOW = {"start": "2019-01-01", "end": "2019-12-31"}


def _rates(path: Path, first: str | None = None, rate: float = 0.04) -> Path:
    days = load_sample().market.prices.index
    if first is not None:
        days = days[days >= pd.Timestamp(first)]
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "rate_annual": rate}).to_csv(path,
                                                                                 index=False)
    return path


def _cash_flags(notices: tuple) -> list[str]:
    return [n.detail for n in notices if n.flag is Flag.NO_RISK_FREE]


def test_the_falsification_backtest_earns_the_series(tmp_path: Path) -> None:
    settings = study_settings(workers=1, chunks=2, bootstrap_samples=50, **WINDOW)
    module._CACHE.clear()

    def run(spec: PortfolioSpec) -> module.TaskResult:
        return module.run_task(module.Task(spec, "falsification"), settings)

    plain = run(PortfolioSpec("sample"))
    earning = run(PortfolioSpec("sample", risk_free_file=str(_rates(tmp_path / "rf.csv"))))
    late = run(PortfolioSpec("sample", risk_free_file=str(
        _rates(tmp_path / "late.csv", first="2019-06-03"))))
    (no_series,) = _cash_flags(plain.notices)
    assert "no risk-free rate was given" in no_series
    assert _cash_flags(earning.notices) == []
    (before,) = _cash_flags(late.notices)
    assert "before 2019-06-03" in before
    # cash earning 4% a year moves the weights of both rules (the cash grows, the
    # stocks do not): every TE of the model-cost row changes
    a, b = plain.falsification, earning.falsification
    assert a is not None and b is not None
    for column in ("te_threshold", "te_calendar"):
        assert float(a[column].iloc[0]) != float(b[column].iloc[0]), column
    assert list(a["verdict"]) == list(b["verdict"])  # the same rows, only numbers move


def test_the_option_reaches_every_portfolio_and_bad_files_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwise.cli import validate

    seen: list[PortfolioSpec] = []

    def stop(specs: list[PortfolioSpec], settings: object) -> None:
        seen.extend(specs)
        raise typer.Exit(0)

    monkeypatch.setattr(validate, "run_with_progress", stop)
    path = _rates(tmp_path / "rf.csv")
    assert main(["validate-rules", "--risk-free", str(path), *("--start", WINDOW["start"]),
                 "--workers", "1"]) == EXIT_OK
    assert [s.risk_free_file for s in seen] == [str(path)] and seen[0].label == "sample"
    bad = _rates(tmp_path / "pct.csv", rate=4.0)
    assert main(["validate-rules", "--risk-free", str(bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "pct.csv" in err and "rate_annual" in err and "Traceback" not in err
    assert main(["validate-rules", "--risk-free", str(tmp_path / "none.csv")]) != EXIT_OK


def test_the_configured_cost_levels_window_and_seed_reach_the_study(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """[backtest] cost_levels_bps, start, end, seed and bootstrap_samples are read; keys the
    study does not read are named on stderr."""
    from driftwise.cli import validate
    from driftwise.config import Config
    from driftwise.validation.study import StudySettings, cost_settings

    seen: list[StudySettings] = []

    def stop(specs: list[PortfolioSpec], settings: StudySettings) -> None:
        seen.append(settings)
        raise typer.Exit(0)

    monkeypatch.setattr(validate, "run_with_progress", stop)
    path = tmp_path / "c.toml"
    path.write_text("[backtest]\ncost_levels_bps = [15.0, 40.0]\nstart = 2018-01-02\n"
                    "end = 2019-12-31\nseed = 7\nbootstrap_samples = 99\nthresholds = [0.04]\n"
                    "[tax]\nenabled = true\n")
    capsys.readouterr()
    assert main(["validate-rules", "--config", str(path), "--workers", "1"]) == EXIT_OK
    (settings,) = seen
    assert settings.cost_levels_bps == (15.0, 40.0)
    assert [s.label for s in cost_settings(settings)][1:3] == ["flat 15 bps", "flat 40 bps"]
    assert settings.model.falsification.cost_levels_bps == (15.0, 40.0)
    assert (settings.start, settings.end) == ("2018-01-02", "2019-12-31")
    assert settings.seed == 7 and settings.bootstrap_samples == 99
    err = capsys.readouterr().err
    assert "does not read these configured keys" in err
    assert "backtest.thresholds" in err and "tax.enabled" in err
    assert "cost_levels_bps" not in err
    # the options win over the configuration
    seen.clear()
    assert main(["validate-rules", "--config", str(path), "--workers", "1", "--seed", "3",
                 "--start", "2019-01-02"]) == EXIT_OK
    assert seen[0].seed == 3 and seen[0].start == "2019-01-02"
    assert validate.unread_keys(Config()) == []
