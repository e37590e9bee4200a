"""The verdicts table shows every part of a claim with the interval it rests on, and the
verdict shown agrees with the intervals shown.

The docs' criterion (docs/rule-validation.md, section 5), recomputed here from the table's
own columns: a part is supported when its interval lies at or above its bar, not supported
when it lies below, inconclusive otherwise or with fewer than 10 events or 5 clusters; a
claim is supported only when every part is, not supported when any part is.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.validation.test_breakdown_effects import _oracle

from driftwise.validation.stats import (
    EFFECT_BARS,
    MODEL,
    RULE_SECOND_COLUMNS,
    SECOND_BARS,
    SECOND_NAMES,
    label_events,
    rules_table,
)

QUARTERS = pd.date_range("2010-01-15", periods=8, freq="3MS")


def _rule1_events(te_cut: np.ndarray, ce_gain: np.ndarray, paths: np.ndarray | None = None
                  ) -> pd.DataFrame:
    """Rule 1 events, two a quarter over eight quarters (cluster: the quarter)."""
    n = len(te_cut)
    dates = [QUARTERS[i % len(QUARTERS)] + pd.Timedelta(days=i // len(QUARTERS))
             for i in range(n)]
    return label_events(pd.DataFrame({
        "rule": "Rule 1", "setting": MODEL, "cost_level_bps": math.nan, "portfolio": "p",
        "path": np.arange(n) if paths is None else paths, "date": dates, "vix": 15.0,
        "hit": (te_cut >= 0.5) & (ce_gain > 0), "effect": te_cut, "ce_gain_bps": ce_gain}))


def _part(low: float, high: float, bar: float, n: int, g: int) -> str:
    """The docs' criterion for one part."""
    if n < 10 or g < 5 or not math.isfinite(low):
        return "inconclusive"
    if low >= bar:
        return "supported"
    if high < bar:
        return "not supported"
    return "inconclusive"


def expected_verdict(row: pd.Series, prefix: str = "") -> str:
    """The verdict the row's intervals imply (``prefix`` ``"first_"``: the first events)."""
    n, g = int(row[prefix + "n_events"]), int(row[prefix + "n_clusters"])
    parts = [_part(row[prefix + "effect_ci_low"], row[prefix + "effect_ci_high"],
                   row["effect_bar"], n, g)]
    if row["rule"] in SECOND_BARS:
        parts.append(_part(row[prefix + "second_effect_ci_low"],
                           row[prefix + "second_effect_ci_high"],
                           row[prefix + "second_effect_bar"], n,
                           int(row[prefix + "second_n_clusters"])))
    if "not supported" in parts:
        return "not supported"
    return "supported" if all(p == "supported" for p in parts) else "inconclusive"


def test_rule_1_inconclusive_on_its_second_part_shows_it_and_names_it() -> None:
    """The TE cut clears its bar, the certainty-equivalent gain's interval holds 0: the
    verdict is inconclusive, and the row shows the gain with its interval (the oracle's:
    the matrix form of CR2, t(G − 1)) and names it as the part that decided."""
    rng = np.random.default_rng(3)
    te_cut = 0.75 + 0.02 * rng.standard_normal(16)
    ce = np.array([-4.0, 3.0, -9.0, 6.0, -2.0, 1.0, -7.0, 5.0,  # events i and i + 8 share a
                   -2.0, 3.0, -8.0, 6.0, -0.5, 1.5, -4.0, 5.0])  # quarter
    events = _rule1_events(te_cut, ce)
    row = rules_table(events).set_index("rule").loc["Rule 1"]
    m, lo, hi, g = _oracle(ce, events["cluster"].to_numpy())
    assert row["second_effect_mean"] == pytest.approx(m, rel=1e-12)
    assert row["second_effect_ci_low"] == pytest.approx(lo, rel=1e-9)
    assert row["second_effect_ci_high"] == pytest.approx(hi, rel=1e-9)
    assert row["second_effect_bar"] == 0.0 and row["second_n_clusters"] == g == 8
    assert row["effect_ci_low"] > 0.5 and lo < 0.0 < hi
    assert row["effect_verdict"] == "supported" and row["second_verdict"] == "inconclusive"
    assert row["verdict"] == "inconclusive"
    assert row["verdict_reason"] == f"{SECOND_NAMES['Rule 1']}: interval holds its bar 0"


def test_rule_1_not_supported_on_its_second_part_names_it() -> None:
    rng = np.random.default_rng(4)
    te_cut = 0.75 + 0.02 * rng.standard_normal(16)
    ce = -10.0 + rng.standard_normal(16)
    row = rules_table(_rule1_events(te_cut, ce)).set_index("rule").loc["Rule 1"]
    assert row["verdict"] == "not supported" and row["effect_verdict"] == "supported"
    assert row["verdict_reason"] == f"{SECOND_NAMES['Rule 1']}: interval below its bar 0"


def test_rule_1_supported_only_when_both_parts_clear_their_bars() -> None:
    rng = np.random.default_rng(5)
    te_cut = 0.75 + 0.02 * rng.standard_normal(16)
    row = rules_table(_rule1_events(te_cut, 10.0 + rng.standard_normal(16))).iloc[0]
    assert row["verdict"] == "supported"
    assert row["verdict_reason"] == ("every part's interval lies at or above its bar (TE cut ≥ "
                                     f"0.5; {SECOND_NAMES['Rule 1']} ≥ 0)")


def test_too_few_events_say_so() -> None:
    row = rules_table(_rule1_events(np.full(6, 0.9), np.full(6, 5.0))).iloc[0]
    assert row["verdict"] == "inconclusive"
    assert row["verdict_reason"].startswith("too few to judge: 6 events")
    # the rules without events: no part to show, nothing decided
    others = rules_table(_rule1_events(np.full(6, 0.9), np.full(6, 5.0))).iloc[1:]
    assert (others["verdict"] == "inconclusive").all()
    assert others[list(RULE_SECOND_COLUMNS)].isna().all().all()


def test_the_first_event_per_path_has_its_own_parts_and_verdict() -> None:
    """Two events a path: the first_ columns are the table of the first ones alone."""
    rng = np.random.default_rng(6)
    te_cut = 0.75 + 0.02 * rng.standard_normal(32)
    ce = 10.0 + rng.standard_normal(32)
    ce[16:] = -30.0  # the later events of each path lose
    paths = np.tile(np.arange(16), 2)
    events = _rule1_events(te_cut, ce, paths)
    row = rules_table(events).iloc[0]
    firsts = events.sort_values("date", kind="stable").drop_duplicates("path")
    alone = rules_table(firsts).iloc[0]
    for column in ("effect_mean", "effect_ci_low", "effect_ci_high", *RULE_SECOND_COLUMNS):
        assert row["first_" + column] == pytest.approx(alone[column], rel=1e-12), column
    assert row["first_verdict"] == alone["verdict"] == expected_verdict(row, "first_")
    assert row["first_verdict_reason"] == alone["verdict_reason"]
    assert row["verdict"] == expected_verdict(row)


@settings(max_examples=40, deadline=None)
@given(te_shift=st.floats(-0.4, 0.4), ce_shift=st.floats(-15.0, 15.0),
       n=st.integers(4, 24), seed=st.integers(0, 2**16))
def test_the_verdict_agrees_with_the_intervals_shown(te_shift: float, ce_shift: float, n: int,
                                                    seed: int) -> None:
    rng = np.random.default_rng(seed)
    te_cut = 0.5 + te_shift + 0.1 * rng.standard_normal(n)
    ce = ce_shift + 5.0 * rng.standard_normal(n)
    table = rules_table(_rule1_events(te_cut, ce))
    for _, row in table.iterrows():
        assert row["verdict"] == expected_verdict(row), row["rule"]
    one = table.iloc[0]
    assert one["effect_bar"] == EFFECT_BARS["Rule 1"]
    if one["verdict"] == "not supported":
        named = [SECOND_NAMES["Rule 1"] if one["second_verdict"] == "not supported" else None,
                 "TE cut" if one["effect_verdict"] == "not supported" else None]
        assert all(x in one["verdict_reason"] for x in named if x is not None)
