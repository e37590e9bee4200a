"""Tests of driftwise.metrics.liquidity: liquidity days (SPEC section 3, item 7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError, DataError
from driftwise.metrics.liquidity import DEFAULT_PARTICIPATION, liquidity_days


def test_golden_three_assets() -> None:
    # sell 50,000 shares of a 1,000,000-share ADV stock at 10%: 50,000 / 100,000 = 0.5 days
    # buy 300,000 of a 200,000 ADV stock: 300,000 / 20,000 = 15 days
    # no trade: 0 days
    got = liquidity_days([-50_000, 300_000, 0], [1_000_000, 200_000, 5_000])
    assert got.tolist() == pytest.approx([0.5, 15.0, 0.0])
    assert DEFAULT_PARTICIPATION == 0.10


def test_matches_loop_with_participation_per_config() -> None:
    rng = np.random.default_rng(13)
    q = rng.integers(-10_000, 10_000, (3, 5)).astype(float)
    adv = rng.uniform(1e3, 1e6, 5)
    part = np.array([[0.05], [0.1], [0.25]])
    got = liquidity_days(q, adv, part)
    for c in range(3):
        for i in range(5):
            assert got[c, i] == pytest.approx(abs(q[c, i]) / (part[c, 0] * adv[i]))


def test_zero_and_unknown_adv() -> None:
    got = liquidity_days([100.0, 0.0, 100.0, 0.0], [0.0, 0.0, np.nan, np.nan])
    assert got[0] == math.inf  # a trade in a stock that never trades
    assert got[1] == 0.0  # no trade needs no time
    assert math.isnan(got[2])  # unknown ADV: unknown days (the caller flags it)
    assert got[3] == 0.0


def test_no_runtime_warning() -> None:
    with np.errstate(all="raise"):
        liquidity_days([1.0, 0.0, 1.0], [0.0, 0.0, np.nan])


@given(
    st.lists(st.floats(-1e7, 1e7), min_size=1, max_size=8),
    st.floats(1.0, 1e8),
    st.floats(0.01, 1.0),
)
def test_sign_ignored_and_non_negative(q: list[float], adv: float, part: float) -> None:
    a = np.array(q)
    got = liquidity_days(a, adv, part)
    np.testing.assert_array_equal(got, liquidity_days(-a, adv, part))
    assert np.all(got >= 0.0)


@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_configs_axis_equals_per_config_loop(n_cfg: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    q = rng.normal(0, 1e4, (n_cfg, n))
    adv = rng.uniform(0, 1e5, (n_cfg, n))
    got = liquidity_days(q, adv, 0.2)
    for c in range(n_cfg):
        np.testing.assert_array_equal(got[c], liquidity_days(q[c], adv[c], 0.2))


def test_zero_participation() -> None:
    with pytest.raises(ConfigError, match="participation"):
        liquidity_days([100.0], [1000.0], 0.0)


def test_participation_above_one() -> None:
    with pytest.raises(ConfigError, match="participation"):
        liquidity_days([100.0], [1000.0], [0.1, 1.5])


def test_negative_adv() -> None:
    with pytest.raises(DataError, match="adv_shares"):
        liquidity_days([100.0], [-1000.0])
