"""The literature table: every claim has a row, every figure a source, and the research
table puts the measured verdict beside it."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from driftwise.report.validation_page import ValidationPageData
from driftwise.report.validation_page import research_table as page_table
from driftwise.validation.literature import (
    CLAIMS,
    COLUMNS,
    LITERATURE,
    NO_FIGURE,
    research_table,
)
from driftwise.validation.rules import RULES


def fake_study(pooled: pd.DataFrame | None = None) -> SimpleNamespace:
    rules = pd.DataFrame({
        "rule": [s.key for s in RULES], "verdict": ["supported", "inconclusive",
                                                    "not supported", "not supported"],
        "effect_measure": ["TE cut", "benefit / cost", "Sharpe gain", "cost cut"],
        "effect_mean": [0.75, 2.7, 0.03, -0.28], "effect_ci_low": [0.72, 1.9, 0.007, math.nan],
        "effect_ci_high": [0.78, 3.6, 0.05, math.nan], "effect_bar": [0.5, 2.0, 0.1, 0.3],
        "n_clusters": [69, 32, 23, 1]})
    return SimpleNamespace(rules=rules, falsification_pooled=pooled
                           if pooled is not None else pd.DataFrame())


def test_every_claim_has_a_row_and_every_figure_a_source() -> None:
    assert {x.claim for x in LITERATURE} == set(CLAIMS)
    assert [s.key for s in RULES] == list(CLAIMS)[:4]
    for x in LITERATURE:
        assert x.measures
        if x.figure is not None:
            assert x.source is not None and x.source.year > 1900 and x.source.venue
            assert x.source.url.startswith("https://")
    harvest = [x for x in LITERATURE if x.claim == "Tax-loss harvesting"]
    assert "0.82% a year" in (harvest[0].figure or "")
    assert harvest[0].source is not None and harvest[0].source.year == 2020
    assert "Financial Analysts Journal" in harvest[0].source.venue


def test_the_research_table_sets_measured_beside_published() -> None:
    t = research_table(fake_study())  # type: ignore[arg-type]
    assert tuple(t.columns) == COLUMNS
    assert len(t) == len(LITERATURE)
    r1 = t[t["claim"] == "Rule 1"]
    assert len(r1) == 2 and r1["observations"].tolist() == [69.0, 69.0]
    assert r1["measured"].iloc[0] == "supported: TE cut 0.750"
    assert r1["interval"].iloc[0] == "[0.720, 0.780] vs bar 0.500"
    assert t[t["claim"] == "Rule 4"]["interval"].iloc[0] == "no interval (G < 2) vs bar 0.300"
    assert (t[t["claim"] == "Rule 2"]["literature_figure"] == NO_FIGURE).all()
    assert t[t["claim"] == "VIX multipliers"]["measured"].iloc[0] == "not measured by this run"
    assert t[t["claim"] == "Falsification"]["measured"].iloc[0] == "not measured by this run"


def test_measured_multipliers_and_pooled_falsification_fill_their_rows() -> None:
    mult = pd.DataFrame({"estimator": ["corwin-schultz"] * 3 + ["abdi-ranaldo"],
                         "tier": ["all"] * 4, "regime": ["< 20", "20-30", ">= 30", ">= 30"],
                         "multiplier": [1.0, 1.5, 2.56, 4.9],
                         "multiplier_low": [1.0, 1.44, 2.19, 0.0],
                         "multiplier_high": [1.0, 1.57, 2.94, 9.2], "months": [179, 118, 52, 52],
                         "episodes": [12, 26, 17, 17]})
    pooled = pd.DataFrame([{"setting": "model", "calendar": "quarter", "te_diff_mean": -0.0085,
                            "te_diff_low": -0.01, "te_diff_high": -0.007, "excess_mean": 1e-4,
                            "excess_low": 5e-5, "excess_high": 2e-4, "n_years": 21,
                            "verdict": "fails: costs exceed the TE reduction"}])
    t = research_table(fake_study(pooled), mult)  # type: ignore[arg-type]
    vix = t[t["claim"] == "VIX multipliers"].set_index("url")
    # keyed by (claim, estimator): each row its own estimator's figure, with a verdict
    cs, ar = vix.iloc[0], vix.iloc[1]
    assert "Corwin" in cs["source"] and "Abdi" in ar["source"]
    assert cs["measured"] == ("supported (claim 2-3x): Corwin-Schultz, all stocks, VIX >= 30: "
                              "×2.56")
    assert cs["interval"] == "[2.19, 2.94] (bootstrap of months)"
    assert cs["observations"] == 17
    assert cs["observations_unit"] == "episodes of consecutive months"
    assert ar["measured"] == ("inconclusive (claim 2-3x): Abdi-Ranaldo, all stocks, "
                              "VIX >= 30: ×4.90")
    assert ar["interval"] == "[0.00, 9.20] (bootstrap of months)"
    months_only = mult.drop(columns="episodes")
    read = research_table(fake_study(pooled), months_only)  # type: ignore[arg-type]
    row = read[read["claim"] == "VIX multipliers"].iloc[0]
    assert row["observations"] == 52 and row["observations_unit"] == "months"
    read = research_table(fake_study(pooled),  # type: ignore[arg-type]
                          months_only.drop(columns="months"))
    row = read[read["claim"] == "VIX multipliers"].iloc[0]
    assert math.isnan(row["observations"]) and "number of months is not in" in row["interval"]
    # below 2: not supported; a calm spread that is not positive: no multiplier at all
    low = mult.assign(multiplier=[1.0, 1.1, 1.3, math.nan], multiplier_low=[1.0, 1.0, 1.1,
                      math.nan], multiplier_high=[1.0, 1.2, 1.5, math.nan],
                      spread_bps=[6.0, 6.6, 7.8, -1.5])
    low.loc[3, "regime"] = ">= 30"
    low = pd.concat([low, low.iloc[[3]].assign(regime="< 20")]).iloc[[0, 1, 2, 4, 3]]
    read = research_table(fake_study(pooled), low)  # type: ignore[arg-type]
    rows = read[read["claim"] == "VIX multipliers"]
    assert rows["measured"].iloc[0].startswith("not supported (claim 2-3x)")
    assert rows["measured"].iloc[1] == (
        "inconclusive (claim 2-3x): Abdi-Ranaldo, all stocks, VIX >= 30: no multiplier, the "
        "calm spread (-1.5 bps) is not positive (the estimator does not resolve these "
        "spreads)")
    assert rows["interval"].iloc[1] == "undefined"
    f = t[t["claim"] == "Falsification"].iloc[0]
    assert f["observations"] == 21 and f["observations_unit"] == "calendar years"
    assert f["measured"].startswith("fails: costs exceed the TE reduction")
    assert "[-1.00%, -0.70%]" in f["interval"]
    shown = page_table(t)
    assert shown.frame.loc["Tax-loss harvesting", "literature figure"].startswith("1.08%")


def test_the_page_refuses_a_research_table_without_its_columns() -> None:
    rules = pd.DataFrame({"rule": ["Rule 1"], "hit_rate": [0.5], "ci_low": [0.4],
                          "ci_high": [0.6], "stated_confidence": [0.7],
                          "verdict": ["inconclusive"]})
    with pytest.raises(ValueError, match="research"):
        ValidationPageData(rules=rules, research=pd.DataFrame({"claim": ["x"]}))


def test_rule_1_shows_the_second_part_of_its_claim() -> None:
    """Its verdict needs both parts: the certainty-equivalent gain over waiting stands
    beside the TE cut, with the verdicts table's own figures (its CR2 interval over the
    events' clusters, :func:`~driftwise.validation.stats.rules_table`)."""
    study = fake_study()
    study.rules = study.rules.assign(second_effect_mean=[1.625, *[math.nan] * 3],
                                     second_effect_ci_low=[-0.93, *[math.nan] * 3],
                                     second_effect_ci_high=[4.18, *[math.nan] * 3],
                                     second_effect_bar=[0.0, *[math.nan] * 3])
    row = research_table(study).query("claim == 'Rule 1'").iloc[0]  # type: ignore[arg-type]
    assert row["interval"] == ("[0.720, 0.780] vs bar 0.500; second part, certainty-equivalent"
                               " gain over waiting 1.6 bps [-0.9, 4.2] vs bar 0")
    assert row["measured"] == "supported: TE cut 0.750"
