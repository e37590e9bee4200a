"""Intraday volume profile: shape, sums, re-bucketing, bucket clock times."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.execution.profile import (
    NYSE_HALF_HOUR_PROFILE,
    bucket_start_times,
    check_profile,
    rescale_profile,
)


def test_profile_has_13_buckets_summing_to_one() -> None:
    assert NYSE_HALF_HOUR_PROFILE.shape == (13,)
    assert NYSE_HALF_HOUR_PROFILE.sum() == pytest.approx(1.0, abs=1e-12)
    assert not NYSE_HALF_HOUR_PROFILE.flags.writeable


def test_profile_is_u_shaped() -> None:
    p = NYSE_HALF_HOUR_PROFILE
    trough = int(np.argmin(p))
    assert 4 <= trough <= 8  # midday
    assert np.all(np.diff(p[: trough + 1]) < 0)  # falls from the open
    assert np.all(np.diff(p[trough:]) > 0)  # rises to the close
    assert p[-1] > p[0] > p.mean()  # close (with auction) heaviest


def test_rescale_to_13_is_identity() -> None:
    np.testing.assert_allclose(rescale_profile(13), NYSE_HALF_HOUR_PROFILE, atol=1e-15)


def test_rescale_to_26_splits_each_bucket_evenly() -> None:
    fine = rescale_profile(26)
    np.testing.assert_allclose(fine[0::2], NYSE_HALF_HOUR_PROFILE / 2, atol=1e-15)
    np.testing.assert_allclose(fine[1::2], NYSE_HALF_HOUR_PROFILE / 2, atol=1e-15)


def test_rescale_to_one_bucket_is_whole_day() -> None:
    np.testing.assert_allclose(rescale_profile(1), [1.0])


def test_rescale_coarsening_by_hand() -> None:
    # 13 -> 2 buckets: the first 6.5 half-hours are the first half of the session
    p = NYSE_HALF_HOUR_PROFILE
    morning = p[:6].sum() + p[6] / 2
    np.testing.assert_allclose(rescale_profile(2), [morning, 1 - morning], atol=1e-15)


@given(st.integers(min_value=1, max_value=400))
def test_rescale_sums_to_one_and_positive(n: int) -> None:
    out = rescale_profile(n)
    assert out.shape == (n,)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(out > 0)


def test_bucket_start_times() -> None:
    times = bucket_start_times(13)
    assert times[0] == "09:30" and times[1] == "10:00" and times[-1] == "15:30"
    assert bucket_start_times(26)[-1] == "15:45"
    assert bucket_start_times(1) == ["09:30"]
    # 390 / 7 minutes = 55 min 42.857 s: seconds shown
    assert bucket_start_times(7)[1] == "10:25:43"


@pytest.mark.parametrize("bad", [[], [[0.5, 0.5]], [0.5, 0.0, 0.5], [0.5, np.nan], [1.0, -0.2]])
def test_check_profile_rejects(bad: list[object]) -> None:
    with pytest.raises(ConfigError):
        check_profile(bad)


def test_check_profile_normalizes() -> None:
    np.testing.assert_allclose(check_profile([2.0, 6.0]), [0.25, 0.75])


@pytest.mark.parametrize("n", [0, -3])
def test_bucket_counts_must_be_positive(n: int) -> None:
    with pytest.raises(ConfigError):
        rescale_profile(n)
    with pytest.raises(ConfigError):
        bucket_start_times(n)
