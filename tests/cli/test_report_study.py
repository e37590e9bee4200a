"""The report's validation study run in a forked process beside the backtest."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from driftwise.cli import report
from driftwise.config import Config
from driftwise.config.assemble import study_settings


def test_the_study_beside_the_backtest_equals_the_study_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = study_settings(Config(), bootstrap_samples=50, seed=3, workers=1,
                              falsification=False)
    # the command runs one thread; a test runner's own threads are idle here
    monkeypatch.setattr(report.threading, "active_count", lambda: 1)
    with report._Beside(settings) as beside:
        assert beside is not None  # Linux forks
        forked = beside.result()
    here = report._sample_study(settings)
    for field in dataclasses.fields(here):
        a, b = getattr(forked, field.name), getattr(here, field.name)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        elif field.name != "description":  # it names the study's own time
            assert a == b
    assert len(here.rules) == 4


def test_no_study_runs_nothing_beside() -> None:
    with report._Beside(None) as beside:
        assert beside is None


def test_a_process_running_other_threads_does_not_fork(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setattr(report.threading, "active_count", lambda: 2)
    settings = study_settings(Config(), bootstrap_samples=50, seed=3, workers=1,
                              falsification=False)
    with report._Beside(settings) as beside:
        assert beside is None
