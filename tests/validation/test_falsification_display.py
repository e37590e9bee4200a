"""validate-rules' falsification table counts the three verdicts, n/a kept apart."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from driftwise.backtest.falsification import FalsificationTest
from driftwise.validation.output import falsification_display


def test_display_counts_each_verdict() -> None:
    tests = [  # no TE cut; costs exceed (utility); holds
        FalsificationTest(0.012, 0.010, 0.002, -0.001, 0.004, 3e-4, 2e-4, 2.0),
        FalsificationTest(0.015, 0.020, -0.005, -0.008, -0.001, 5e-4, 2e-4, 2.0),
        FalsificationTest(0.015, 0.020, -0.005, -0.008, -0.001, 3e-4, 2e-4, 2.0),
    ]
    frame = pd.DataFrame([{"portfolio": f"p{i}", "setting": "model", "calendar": "quarter",
                           **t.record()} for i, t in enumerate(tests)])
    shown = falsification_display(SimpleNamespace(falsification=frame))  # type: ignore[arg-type]
    row = shown.loc["model"]
    assert row["threshold cuts TE (CI < 0)"] == "2/3"
    assert set(row["verdict"].split("; ")) == {
        "1 fails: threshold does not reduce TE", "1 fails: costs exceed the TE reduction",
        "1 holds"}
    assert set(row["verdict (methodology's ΔTE form)"].split("; ")) == {
        "1 fails: threshold does not reduce TE", "2 holds"}
    assert frame["costs_exceed_te_reduction_seed"].tolist() == [None, False, False]
