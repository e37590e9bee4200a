"""A harvest replacement is not drift: it counts as one position with the asset it
stands in for, against that asset's target (drift, bands, triggers and sizing)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.aftertax import run_one
from driftwise.backtest.aftertax import stand_in_targets

from .test_aftertax_relief import _pair_config, _pair_inputs, _session

# A (target 50%), C (45%), Z (a replacement, no target), cash 5%
TARGET = np.array([0.50, 0.45, 0.0])
BAND = np.array([0.02, 0.03, 0.01])
A, C, Z = 0, 1, 2


def _view(values: list[float], stand_in: dict[int, dict[int, float]]
          ) -> tuple[np.ndarray, np.ndarray, float]:
    value = np.array(values[:3])
    nav = float(sum(values))
    return stand_in_targets(value, nav, TARGET, BAND, values[3] / nav, 0.05, stand_in)


def test_a_replacement_held_at_the_harvested_assets_target_is_no_drift() -> None:
    # all of A harvested into Z; Z held at A's 50%, C at 45%, cash 5% (NAV 100)
    target, band, drift = _view([0.0, 45.0, 50.0, 5.0], {Z: {A: 1.0}})
    assert drift == 0.0
    np.testing.assert_array_equal(target, [0.0, 0.45, 0.50])  # A's target moved to Z
    np.testing.assert_array_equal(band, [0.0, 0.03, 0.02])  # and so did its band
    # seen as separate assets, the same book is 50% off target
    w = np.array([0.0, 0.45, 0.50])
    assert 0.5 * np.abs(w - TARGET).sum() == pytest.approx(0.5)


def test_the_pair_drifts_as_one_position_by_hand() -> None:
    # A 20 and Z 35 (the pair at 55% against 50%), C 40 (45%), cash 5
    target, band, drift = _view([20.0, 40.0, 35.0, 5.0], {Z: {A: 1.0}})
    assert drift == pytest.approx(0.5 * (0.05 + 0.05))
    assert target[A] == pytest.approx(0.50 * 20.0 / 55.0)
    assert target[Z] == pytest.approx(0.50 * 35.0 / 55.0)
    assert band[A] == pytest.approx(0.02 * 20.0 / 55.0)
    assert band[Z] == pytest.approx(0.02 * 35.0 / 55.0)
    # each part's drift is the pair's drift times its share, same sign: they add up,
    # and a part leaves its band exactly when the pair leaves A's
    w = np.array([0.20, 0.40, 0.35])
    d = w - target
    assert d[A] + d[Z] == pytest.approx(0.05)
    assert d[A] == pytest.approx(0.05 * 20.0 / 55.0) and d[Z] == pytest.approx(0.05 * 35 / 55)
    assert 0.5 * (np.abs(d).sum() + abs(0.05 - 0.05)) == pytest.approx(drift)
    assert (np.abs(d[[A, Z]]) > band[[A, Z]]).all() == (0.05 > 0.02)


def test_without_stand_ins_nothing_changes() -> None:
    target, band, drift = _view([20.0, 40.0, 35.0, 5.0], {})
    np.testing.assert_array_equal(target, TARGET)
    np.testing.assert_array_equal(band, BAND)
    assert drift == pytest.approx(0.5 * (0.30 + 0.05 + 0.35 + 0.0))


def test_a_replacement_standing_in_for_two_assets() -> None:
    # Z stands in for A (60% of its shares) and C (40%); A 10, C 30, Z 50, cash 10
    target, _, drift = _view([10.0, 30.0, 50.0, 10.0], {Z: {A: 0.6, C: 0.4}})
    pos_a, pos_c = 10.0 + 30.0, 30.0 + 20.0  # A with 60% of Z, C with 40%
    assert drift == pytest.approx(0.5 * (abs(0.40 - 0.50) + abs(0.50 - 0.45) + 0.05))
    assert target[A] == pytest.approx(0.50 * 10.0 / pos_a)
    assert target[C] == pytest.approx(0.45 * 30.0 / pos_c)
    assert target[Z] == pytest.approx(0.50 * 30.0 / pos_a + 0.45 * 20.0 / pos_c)


ZERO = {"short_term_rate": 0.0, "long_term_rate": 0.0, "niit_rate": 0.0}


def test_a_held_replacement_does_not_trigger_a_rebalance() -> None:
    # AAA (25%) falls 30% and is harvested into ZZZ on 1 Feb 2019: as separate assets
    # the book is about 22% off target (ZZZ 19% over, AAA 25% under), far beyond an 8%
    # threshold; as one position it is about 6% off: no rebalance
    config = _pair_config(**ZERO).with_overrides({"policy.threshold": 0.08})
    result = run_one(_pair_inputs(), config, aware=True)
    h = _session(result.dates, pd.Timestamp("2019-02-01"))
    assert result.harvests["replacement"].tolist() == ["ZZZ"]
    assert not result.rebalanced.any()
    zzz, aaa = result.tickers.index("ZZZ"), result.tickers.index("AAA")
    assert (result.shares[h:, zzz] == result.shares[h, zzz]).all()
    assert (result.shares[h:, aaa] == 0.0).all()


def test_the_pair_is_rebalanced_as_one_position() -> None:
    # ZZZ then rises 2.4x from 1 Apr 2019: the position (all ZZZ) is about 36% against
    # AAA's 25%; the rebalance sells ZZZ down to 25% and buys no AAA
    inputs = _pair_inputs()
    prices = inputs.market.prices.copy()
    prices.loc[prices.index >= pd.Timestamp("2019-04-01"), "ZZZ"] = 120.0
    inputs = dataclasses.replace(inputs, market=dataclasses.replace(inputs.market,
                                                                    prices=prices))
    config = _pair_config(**ZERO).with_overrides({"policy.threshold": 0.08})
    result = run_one(inputs, config, aware=True)
    april = _session(result.dates, pd.Timestamp("2019-04-01"))
    assert np.flatnonzero(result.rebalanced).tolist() == [april]
    zzz, aaa = result.tickers.index("ZZZ"), result.tickers.index("AAA")
    assert result.shares[april, zzz] < result.shares[april - 1, zzz]
    assert (result.shares[:, aaa][april:] == 0.0).all()
    weight = result.shares[april, zzz] * 120.0 / result.nav_usd[april]
    assert weight == pytest.approx(0.25, abs=0.005)
