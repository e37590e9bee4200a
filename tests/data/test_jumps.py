"""The suspect-jump detector: unadjusted splits with a real move, typos, real crashes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.calendar import nyse_sessions
from driftwise.data.jumps import (
    JumpKind,
    find_jumps,
    parse_jump_key,
    reject_jumps,
    split_accepted,
)
from driftwise.errors import DataError

DATES = nyse_sessions(pd.Timestamp("2023-01-03"), pd.Timestamp("2023-12-29"))
SPLITS = {"2-for-1 split": 1 / 2, "4-for-1 split": 1 / 4, "3-for-2 split": 2 / 3,
          "3-for-1 split": 1 / 3, "5-for-1 split": 1 / 5, "1-for-2 reverse split": 2.0,
          "1-for-3 reverse split": 3.0}


def walk(log_returns: np.ndarray, start: float = 100.0) -> np.ndarray:
    """Prices, shape (T, 1), from daily log returns."""
    return (start * np.exp(np.concatenate([[0.0], np.cumsum(log_returns)])))[:, None]


def detect(prices: np.ndarray) -> list:
    n = len(prices)
    return find_jumps(prices, DATES[:n], pd.Index(["X"]), file="p.csv")


@given(split=st.sampled_from(sorted(SPLITS)), move=st.floats(-0.04, 0.04),
       vol=st.floats(0.005, 0.015), day=st.integers(15, 45), seed=st.integers(0, 10_000))
def test_unadjusted_split_with_a_real_move_is_found(split, move, vol, day, seed):
    # a stock moving up to 1.5% a day (a 3-for-2 split with +4% of a 2%-a-day stock is
    # 12 daily volatilities: at the detector's edge, missed about once in 30 draws)
    r = np.random.default_rng(seed).normal(0.0, vol, 60)
    r[day] = math.log(SPLITS[split] * (1 + move))
    (jump,) = detect(walk(r))
    assert jump.kind is JumpKind.SPLIT and split in jump.detail
    assert jump.date == DATES[day + 1] and jump.ticker == "X"


@given(factor=st.sampled_from([100.0, 10.0, 0.1, 0.01]), vol=st.floats(0.005, 0.03),
       day=st.integers(12, 40), back=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_typo_that_comes_back_is_found_once(factor, vol, day, back, seed):
    prices = walk(np.random.default_rng(seed).normal(0.0, vol, 60))
    prices[day + 1: day + 1 + back] *= factor  # wrong for `back` sessions, then right
    (jump,) = detect(prices)
    assert jump.kind is JumpKind.REVERSAL and jump.date == DATES[day + 1]
    assert f"back within {back} session" in jump.detail


@pytest.mark.parametrize("factor", [100.0, 0.01, 2.3])
def test_typo_on_the_last_day_is_unconfirmed(factor):
    prices = walk(np.random.default_rng(1).normal(0.0, 0.01, 40))
    prices[-1] *= factor
    (jump,) = detect(prices)
    assert jump.kind is JumpKind.UNCONFIRMED and jump.date == DATES[40]


@given(seed=st.integers(0, 10_000), crash=st.floats(0.45, 0.6))
def test_crash_amid_turbulence_is_not_suspect(seed, crash):
    # OXY on 2020-03-09: -50% with ±5-20% days around it (real data in test_jumps_realdata)
    rng = np.random.default_rng(seed)
    r = rng.choice([-1.0, 1.0], 60) * rng.uniform(0.06, 0.2, 60)
    r[30] = math.log(crash)
    assert detect(walk(r)) == []


def test_calm_stock_moving_little_has_no_jump():
    assert detect(walk(np.random.default_rng(3).normal(0.0, 0.02, 200))) == []


def test_z_oracle_from_the_neighbours():
    # neighbours all ±1%: robust sigma = 1.4826 * 0.01, jump log(1/2)
    r = np.array([0.01, -0.01] * 15)
    r[15] = math.log(0.5)
    (jump,) = detect(walk(r))
    assert jump.z == pytest.approx(math.log(2) / (1.4826 * 0.01), rel=1e-12)
    assert jump.ratio == pytest.approx(0.5, rel=1e-12)


def test_accepting_and_rejecting():
    r = np.zeros(30)
    r[20] = math.log(0.25)
    jumps = detect(walk(r + 0.001))
    suspect, accepted = split_accepted(jumps, ["x:2023-02-02"])
    assert suspect == () and accepted == tuple(jumps)
    day = jumps[0].date
    with pytest.raises(DataError, match=r"--accept-jump X:2023-02-02") as exc:
        reject_jumps(jumps, ["X"], day - pd.Timedelta(days=5), day, what="the plan")
    assert "p.csv" in str(exc.value) and "X on 2023-02-02" in str(exc.value)
    reject_jumps(jumps, ["Y"], day, day, what="the plan")  # another ticker: fine
    reject_jumps(jumps, ["X"], day + pd.Timedelta(days=1), day + pd.Timedelta(days=9),
                 what="the plan")  # outside the window: fine


@pytest.mark.parametrize("bad", ["OXY", "OXY:2020-02-30", "OXY 2020-03-09", ":2020-03-09", ""])
def test_bad_jump_keys(bad):
    with pytest.raises(ValueError, match=r"TICKER:YYYY-MM-DD|not a calendar date"):
        parse_jump_key(bad)
