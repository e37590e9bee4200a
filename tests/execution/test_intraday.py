"""The VWAP schedule's intraday profile against volume measured in LOBSTER messages:
a constructed full session (oracle), the real AAPL sample (skips without the data) and
bad files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.errors import DataError
from driftwise.execution.intraday import (
    compare_profile,
    max_abs_difference,
    measure_profile,
    read_lobster_messages,
)
from driftwise.execution.profile import NYSE_HALF_HOUR_PROFILE

LOBSTER = "lobster-aapl-2012-06-21-sample/AAPL_2012-06-21_34200000_57600000_message_10.csv"
OPEN, CLOSE = 34_200.0, 57_600.0


def session(volumes: list[float]) -> pd.DataFrame:
    """A new order at the open and at the close, and one execution in the middle of each
    half-hour bucket of ``volumes`` shares (with a cancel, which does not trade)."""
    rows = [(OPEN, 1, 1, 100, 5_000_000, 1)]
    for j, v in enumerate(volumes):
        mid = OPEN + 1800.0 * j + 900.0
        rows += [(mid, 4 if j % 2 else 5, j + 2, v, 5_000_000, -1),
                 (mid + 1.0, 3, j + 2, 50, 5_000_000, -1)]
    rows.append((CLOSE, 1, 99, 100, 5_000_000, 1))
    return pd.DataFrame(rows, columns=["time", "type", "order_id", "size", "price",
                                       "direction"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=13, max_size=13))
def test_a_full_session_measures_each_buckets_share(volumes: list[int]) -> None:
    m = measure_profile(session([float(v) for v in volumes]))
    assert m.complete and m.volume.tolist() == [float(v) for v in volumes]
    total = sum(volumes)
    assert m.shares.tolist() == pytest.approx([v / total for v in volumes], rel=1e-12)
    table = compare_profile(m)
    worst = max(abs(v / total - p) for v, p in zip(volumes, NYSE_HALF_HOUR_PROFILE,
                                                    strict=True))
    assert max_abs_difference(table) == pytest.approx(worst, rel=1e-12)


def test_coarser_buckets_sum_the_half_hours() -> None:
    volumes = [float(v) for v in range(1, 14)]
    m = measure_profile(session(volumes), n_buckets=1)
    assert m.volume.tolist() == [sum(volumes)] and m.complete
    assert compare_profile(m)["schedule_share"].tolist() == [1.0]


def test_part_of_a_session_gives_no_profile() -> None:
    msgs = session([10.0] * 13)
    part = msgs[msgs["time"] < OPEN + 2800.0]  # the first bucket and 901 s of the second
    m = measure_profile(part)
    assert not m.complete
    assert m.covered_s[:2].tolist() == pytest.approx([1800.0, 901.0])
    assert m.covered_s[2:].sum() == 0.0
    table = compare_profile(m, day_volume=1000.0)
    assert np.isnan(table["measured_share"]).all() and math.isnan(max_abs_difference(table))
    assert table["measured_share_of_day"].iloc[0] == pytest.approx(10.0 / 1000.0)
    assert table["schedule_share_covered"].iloc[0] == pytest.approx(NYSE_HALF_HOUR_PROFILE[0])
    assert table["schedule_share_covered"].iloc[1] == pytest.approx(
        NYSE_HALF_HOUR_PROFILE[1] * 901.0 / 1800.0)
    assert np.isnan(table["measured_share_of_day"].iloc[5])
    with pytest.raises(DataError, match="day_volume"):
        compare_profile(m, day_volume=0.0)


def test_the_lobster_aapl_sample(shared_data: Path) -> None:
    """The sample covers the first 49 s of 2012-06-21: 10,592 shares executed on NASDAQ
    (4,730 visible, 5,862 hidden), 0.091% of the day's consolidated 11,655,400 shares,
    where the schedule expects 12% × 49.08 / 1800 = 0.327% in those seconds; no bucket
    is covered, so no profile is measured and no difference over buckets exists."""
    msgs = read_lobster_messages(shared_data / LOBSTER)
    assert len(msgs) == 999
    m = measure_profile(msgs)
    assert not m.complete
    assert m.covered_s[0] == pytest.approx(49.082134, abs=1e-5) and m.covered_s[1:].sum() == 0
    assert m.volume.tolist() == [10_592.0] + [0.0] * 12
    daily = pd.read_csv(shared_data / "sp500-daily-ohlcv-alphavantage/daily/AAPL.csv.gz")
    day = float(daily.loc[daily["date"] == "2012-06-21", "volume"].iloc[0])
    assert day == 11_655_400.0  # raw shares of 2012, as LOBSTER's
    table = compare_profile(m, day_volume=day)
    first = table.iloc[0]
    assert first["measured_share_of_day"] == pytest.approx(10_592 / 11_655_400, rel=1e-12)
    assert first["schedule_share_covered"] == pytest.approx(0.12 * 49.082134 / 1800, rel=1e-6)
    assert math.isnan(max_abs_difference(table))


@pytest.mark.parametrize(("text", "row", "field"), [
    ("34200.1,1,1,10,5000000,1\n34200.2,x,2,10,5000000,1\n", 2, "type"),
    ("34200.1,1,1,10,5000000,1\n34100.0,1,2,10,5000000,1\n", 2, "time"),
    ("34200.1,9,1,10,5000000,1\n", 1, "type"),
    ("34200.1,4,1,-5,5000000,1\n", 1, "size"),
])
def test_a_bad_row_is_named(text: str, row: int, field: str, tmp_path: Path) -> None:
    path = tmp_path / "msg.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read_lobster_messages(path)
    assert (info.value.file, info.value.row, info.value.field) == ("msg.csv", row, field)


def test_a_file_without_six_columns(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(DataError, match="six columns"):
        read_lobster_messages(path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="cannot read"):
        read_lobster_messages(tmp_path / "empty.csv")
