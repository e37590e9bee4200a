"""validate-rules' falsification table counts the verdicts, n/a kept apart."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from driftwise.backtest.falsification import FalsificationTest
from driftwise.validation.output import falsification_display


def test_display_counts_each_verdict() -> None:
    # the excess across calendar years: utility form 1.25 bps [0.5, 2] (costs exceed),
    # -0.75 bps [-1.5, -0.1] (holds); the methodology's form -47 bps [-60, -30] (holds)
    ratio = (-47e-4, -60e-4, -30e-4)
    tests = [  # no TE cut; costs exceed (utility); holds; undecided
        FalsificationTest(0.012, 0.010, 0.002, -0.001, 0.004, 3e-4, 2e-4, 2.0),
        FalsificationTest(0.015, 0.020, -0.005, -0.008, -0.001, 5e-4, 2e-4, 2.0,
                          excess=(1.25e-4, 0.5e-4, 2e-4), excess_seed=ratio, n_years=10),
        FalsificationTest(0.015, 0.020, -0.005, -0.008, -0.001, 3e-4, 2e-4, 2.0,
                          excess=(-0.75e-4, -1.5e-4, -0.1e-4), excess_seed=ratio, n_years=10),
        FalsificationTest(0.015, 0.020, -0.005, -0.008, -0.001, 3e-4, 2e-4, 2.0,
                          excess=(-0.75e-4, -1.5e-4, 0.1e-4), excess_seed=ratio, n_years=10),
    ]
    frame = pd.DataFrame([{"portfolio": f"p{i}", "setting": "model", "calendar": "quarter",
                           **t.record()} for i, t in enumerate(tests)])
    shown = falsification_display(SimpleNamespace(falsification=frame))  # type: ignore[arg-type]
    row = shown.loc["model"]
    assert row["threshold cuts TE (CI < 0)"] == "3/4"
    assert set(row["verdict"].split("; ")) == {
        "1 fails: threshold does not reduce TE", "1 fails: costs exceed the TE reduction",
        "1 holds", "1 undecided: extra cost and TE reduction cannot be told apart"}
    assert set(row["verdict (methodology's ΔTE form)"].split("; ")) == {
        "1 fails: threshold does not reduce TE", "3 holds"}
    assert frame["costs_exceed_te_reduction_seed"].tolist() == [None, False, False, False]
    assert frame["costs_exceed_te_reduction_utility"].tolist() == [None, True, False, None]
