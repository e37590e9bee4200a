"""A schedule's notices read from its summary's flagged rows, against the plain reading
(each flag's rows found by ``str.contains`` over the whole column)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.execution.schedule import schedule_notices
from driftwise.flags import Flag, Notice, notice

FLAGS = (Flag.UNKNOWN_ADV, Flag.MULTI_DAY, Flag.OVER_PARTICIPATION, Flag.NO_VOLATILITY)


def plain_notices(summary: pd.DataFrame) -> tuple[Notice, ...]:
    details = dict(zip(FLAGS, (n.detail for n in schedule_notices(pd.DataFrame(
        {"ticker": ["X"] * 4, "flags": [f.value for f in FLAGS]}))), strict=True))
    out = []
    for flag in FLAGS:
        hit = summary.loc[summary["flags"].str.contains(flag.value, regex=False), "ticker"]
        if len(hit):
            out.append(notice(flag, details[flag], hit.astype(str)))
    return tuple(out)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["AAA", "BB", "C", "DDDD", "E"]),
                          st.sets(st.sampled_from(FLAGS))), max_size=12))
def test_notices_equal_the_plain_reading(rows: list[tuple[str, set[Flag]]]) -> None:
    summary = pd.DataFrame({
        "ticker": pd.Series([t for t, _ in rows], dtype="str"),
        "flags": pd.Series(["; ".join(f.value for f in FLAGS if f in found)
                            for _, found in rows], dtype="str")})
    assert schedule_notices(summary) == plain_notices(summary)


def test_every_flag_has_its_own_detail() -> None:
    summary = pd.DataFrame({"ticker": ["A", "B", "C", "D"],
                            "flags": [f.value for f in FLAGS]})
    said = schedule_notices(summary)
    assert [n.flag for n in said] == list(FLAGS)
    assert [n.tickers for n in said] == [("A",), ("B",), ("C",), ("D",)]
    assert len({n.detail for n in said}) == 4
    assert schedule_notices(summary.iloc[:0]) == ()
