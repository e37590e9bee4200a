"""Estimation of volatility, ADV and spreads from daily data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from driftwise.costs import (
    adv_shares,
    adv_usd,
    daily_volatility,
    spread_average_bps,
)
from driftwise.data.alphavantage import split_adjusted_volume


def test_daily_volatility_oracle() -> None:
    rng = np.random.default_rng(3)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (80, 2)), axis=0))
    got = daily_volatility(prices, window=20)
    for j in range(2):
        r = [math.log(prices[t, j] / prices[t - 1, j]) for t in range(60, 80)]
        mean = sum(r) / 20
        want = math.sqrt(sum((x - mean) ** 2 for x in r) / 19)
        assert got[j] == pytest.approx(want, rel=1e-12)
    assert daily_volatility(prices, window=60).shape == (2,)


def test_volatility_needs_enough_history() -> None:
    prices = np.full((30, 2), np.nan)
    prices[-5:, 0] = [100, 101, 100, 102, 101]
    prices[:, 1] = 50.0
    got = daily_volatility(prices, window=20)
    assert math.isnan(got[0]) and got[1] == 0.0


def test_split_adjusted_volume_and_adv() -> None:
    raw = np.array([[100.0], [100.0], [400.0], [400.0], [800.0]])
    splits = np.array([[1.0], [1.0], [4.0], [1.0], [2.0]])  # 4:1 on day 2, 2:1 on day 4
    adj = split_adjusted_volume(raw, splits)
    assert adj[:, 0].tolist() == [800.0, 800.0, 800.0, 800.0, 800.0]
    assert adv_shares(adj, window=5).tolist() == [800.0]


def test_adv_ignores_zero_volume_and_needs_min_periods() -> None:
    vol = np.array([[0.0, 10.0], [100.0, np.nan], [300.0, np.nan]])
    got = adv_shares(vol, window=3, min_periods=2)
    assert got[0] == 200.0 and math.isnan(got[1])
    close = np.array([[5.0, 1.0], [10.0, 1.0], [20.0, 1.0]])
    assert adv_usd(close, vol, window=3, min_periods=2)[0] == pytest.approx((1000 + 6000) / 2)


def test_spread_average() -> None:
    hist = np.array([[4.0, np.nan], [6.0, np.nan], [8.0, 3.0]])
    got = spread_average_bps(hist, window=2, min_periods=1)
    assert got.tolist() == [7.0, 3.0]
