"""The report's validation study run in a forked process beside the backtest."""

from __future__ import annotations

import dataclasses

import pandas as pd

from driftwise.cli import report
from driftwise.config import Config
from driftwise.config.assemble import study_settings


def test_the_study_beside_the_backtest_equals_the_study_here() -> None:
    settings = study_settings(Config(), bootstrap_samples=50, seed=3, workers=1,
                              falsification=False)
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
