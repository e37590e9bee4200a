"""Tests of driftwise.metrics.drift: oracle loops, a hand-worked portfolio, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.metrics.drift import (
    BandMode,
    asset_drift,
    band_width,
    cap_drift,
    group_drift,
    group_portfolio_drift,
    group_weights,
    mark_to_market,
    outside_band,
    portfolio_drift,
    relative_drift,
)

# ---------------------------------------------------------------- strategies

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
signed = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@st.composite
def long_only_with_cash(draw: st.DrawFn, n: int) -> tuple[np.ndarray, float]:
    """Non-negative weights of n assets plus cash, summing to 1."""
    raw = np.array(draw(st.lists(unit, min_size=n + 1, max_size=n + 1)))
    if raw.sum() == 0.0:
        raw[-1] = 1.0
    raw = raw / raw.sum()
    return raw[:-1], float(raw[-1])


@st.composite
def two_portfolios(draw: st.DrawFn) -> tuple[np.ndarray, float, np.ndarray, float]:
    n = draw(st.integers(1, 8))
    w, wc = draw(long_only_with_cash(n))
    t, tc = draw(long_only_with_cash(n))
    return w, wc, t, tc


# ---------------------------------------------------------------- oracles


def loop_drift(w: list[float], t: list[float], wc: float, tc: float) -> float:
    total = abs(wc - tc)
    for wi, ti in zip(w, t, strict=True):
        total += abs(wi - ti)
    return total / 2


def test_portfolio_drift_matches_loop() -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(0.1, 0.2, (5, 7))
    t = rng.uniform(0.0, 0.3, (5, 7))
    wc = rng.uniform(-0.1, 0.1, 5)
    got = portfolio_drift(w, t, wc, 0.02)
    for c in range(5):
        assert got[c] == pytest.approx(loop_drift(list(w[c]), list(t[c]), wc[c], 0.02), abs=1e-15)


def test_group_weights_matches_loop() -> None:
    rng = np.random.default_rng(2)
    w = rng.uniform(-0.2, 0.5, (3, 6))
    codes = np.array([2, 0, 2, 1, 0, 2])
    got = group_weights(w, codes, 4)
    assert got.shape == (3, 4)
    for c in range(3):
        expected = [0.0] * 4
        for i, g in enumerate(codes):
            expected[g] += w[c, i]
        assert got[c] == pytest.approx(expected, abs=1e-15)
    assert got[:, 3].tolist() == [0.0, 0.0, 0.0]  # a group with no asset


def test_group_weights_nan_stays_in_its_group() -> None:
    got = group_weights([0.5, np.nan, 0.2], [0, 1, 0], 2)
    assert got[0] == pytest.approx(0.7)
    assert math.isnan(got[1])


def test_group_drift_ignores_moves_inside_a_group() -> None:
    # two tech stocks swapped weight, one bond on target: group drift is zero
    w = np.array([0.4, 0.2, 0.4])
    codes = np.array([0, 0, 1])
    assert group_drift(w, [0.6, 0.4], codes).tolist() == pytest.approx([0.0, 0.0], abs=1e-15)
    assert group_portfolio_drift(w, [0.6, 0.4], codes) == pytest.approx(0.0, abs=1e-15)
    # tech 0.6 vs 0.5 target, bonds 0.4 vs 0.5: d = (+0.1, -0.1), D = (0.1 + 0.1) / 2
    assert group_drift(w, [0.5, 0.5], codes, 2).tolist() == pytest.approx([0.1, -0.1])
    assert group_portfolio_drift(w, [0.5, 0.5], codes) == pytest.approx(0.1)
    # 10% cash held against a 0% cash target, bonds cut to 0.3: D = (0.1 + 0.1 + 0.2) / 2
    w_cash = np.array([0.4, 0.2, 0.3])
    assert group_portfolio_drift(w_cash, [0.5, 0.5], codes, 0.1, 0.0) == pytest.approx(0.2)


@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 4))
def test_group_drift_never_exceeds_asset_drift(seed: int, n: int, n_groups: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(n + 1))
    t = rng.dirichlet(np.ones(n + 1))
    codes = rng.integers(0, n_groups, n)
    asset_level = portfolio_drift(w[:n], t[:n], w[n], t[n])
    group_level = group_portfolio_drift(
        w[:n], group_weights(t[:n], codes, n_groups), codes, w[n], t[n]
    )
    assert group_level <= asset_level + 1e-12


def test_group_drift_n_groups_mismatch() -> None:
    with pytest.raises(ConfigError, match="n_groups"):
        group_drift([0.5, 0.5], [0.5, 0.5], [0, 1], 3)


def test_cap_drift_matches_loop() -> None:
    d = np.array([[0.7, -0.6, 0.5, -0.2, np.nan]])
    capped, mask = cap_drift(d)
    expected = [0.5, -0.5, 0.5, -0.2]
    assert capped[0, :4].tolist() == pytest.approx(expected)
    assert math.isnan(capped[0, 4])
    assert mask.tolist() == [[True, True, False, False, False]]


def test_band_width_modes_match_hand_values() -> None:
    t = np.array([0.4, 0.1, 0.0])
    # absolute: the given band; relative: 25% of the target; larger: the max of both
    assert band_width(t, 0.03, 0.25, BandMode.ABSOLUTE).tolist() == pytest.approx([0.03] * 3)
    assert band_width(t, 0.03, 0.25, BandMode.RELATIVE).tolist() == pytest.approx([0.1, 0.025, 0.0])
    assert band_width(t, 0.03, 0.25, "larger").tolist() == pytest.approx([0.1, 0.03, 0.03])


def test_band_width_not_given_falls_back_to_default() -> None:
    t = np.array([0.4, 0.1])
    nan = np.nan
    assert band_width(t, nan, nan, BandMode.ABSOLUTE, 0.05).tolist() == pytest.approx([0.05] * 2)
    assert band_width(t, nan, nan, BandMode.RELATIVE, 0.05).tolist() == pytest.approx([0.05] * 2)
    # per-row: first row gives band_rel only, second gives nothing
    got = band_width(t, [nan, nan], [0.5, nan], BandMode.LARGER, 0.05)
    assert got.tolist() == pytest.approx([0.2, 0.05])
    got = band_width(t, [0.01, nan], [nan, 0.2], BandMode.RELATIVE, 0.05)
    assert got.tolist() == pytest.approx([0.05, 0.02])


def test_band_width_zero_target_is_finite_without_warning() -> None:
    with np.errstate(all="raise"):
        got = band_width([0.0, 0.0], 0.02, 0.5, BandMode.LARGER)
    assert got.tolist() == [0.02, 0.02]


def test_band_width_short_target_uses_magnitude() -> None:
    assert band_width([-0.2], np.nan, 0.25, BandMode.RELATIVE).tolist() == pytest.approx([0.05])


def test_outside_band_edges() -> None:
    # 0.45 - 0.40 is 0.04999... in floating point: still on the edge, a breach
    d = asset_drift([0.45, 0.43, 0.0, 0.2], [0.40, 0.40, 0.0, np.nan])
    assert outside_band(d, 0.05).tolist() == [True, False, False, False]
    # on target with a zero-width band is not a breach; any drift is
    assert outside_band([0.0, 1e-6, -1e-6], 0.0).tolist() == [False, True, True]


def test_relative_drift_nan_at_zero_target() -> None:
    got = relative_drift([0.1, 0.05, -0.02], [0.4, 0.0, -0.1])
    assert got[0] == pytest.approx(0.25)
    assert math.isnan(got[1])
    assert got[2] == pytest.approx(-0.2)


# ---------------------------------------------------------------- golden


def test_golden_three_assets() -> None:
    # weights 0.5 / 0.3 / 0.2 against targets 0.4 / 0.4 / 0.2, no cash:
    #   d = (+0.1, -0.1, 0.0)
    #   D = (0.1 + 0.1 + 0.0) / 2 = 0.1
    # with 5% absolute bands the first two are on the edge (breach), the third is not;
    # relative drift = 0.1 / 0.4 = +0.25, -0.1 / 0.4 = -0.25, 0
    w = np.array([0.5, 0.3, 0.2])
    t = np.array([0.4, 0.4, 0.2])
    d = asset_drift(w, t)
    assert d.tolist() == pytest.approx([0.1, -0.1, 0.0])
    assert portfolio_drift(w, t) == pytest.approx(0.1)
    assert outside_band(d, band_width(t, 0.05, mode=BandMode.ABSOLUTE)).tolist() == [
        True,
        True,
        False,
    ]
    assert relative_drift(d, t).tolist() == pytest.approx([0.25, -0.25, 0.0])
    # the same portfolio holding 10% cash (0.45 / 0.27 / 0.18) against a 0-cash target:
    #   d = (+0.05, -0.13, -0.02), cash +0.10 -> D = (0.05 + 0.13 + 0.02 + 0.10) / 2 = 0.15
    assert portfolio_drift(0.9 * w, t, 0.1, 0.0) == pytest.approx(0.15)


# ---------------------------------------------------------------- properties


@given(two_portfolios())
def test_on_target_drift_is_exactly_zero(p: tuple[np.ndarray, float, np.ndarray, float]) -> None:
    _, _, t, tc = p
    assert portfolio_drift(t, t, tc, tc) == 0.0
    assert not outside_band(asset_drift(t, t), 0.0).any()


@given(two_portfolios())
def test_drift_between_zero_and_one_long_only(
    p: tuple[np.ndarray, float, np.ndarray, float],
) -> None:
    w, wc, t, tc = p
    drift = float(portfolio_drift(w, t, wc, tc))
    assert -1e-12 <= drift <= 1.0 + 1e-12


@given(two_portfolios(), st.floats(min_value=0.01, max_value=0.5))
def test_unheld_target_asset_counts_as_drifted(
    p: tuple[np.ndarray, float, np.ndarray, float], target: float
) -> None:
    w, wc, t, tc = p
    w2 = np.append(w, 0.0)  # target asset not held
    t2 = np.append(t * (1 - target), target)
    tc2 = tc * (1 - target)
    d = asset_drift(w2, t2)
    assert d[-1] == -target
    assert portfolio_drift(w2, t2, wc, tc2) >= target / 2 - 1e-12
    assert outside_band(d, band_width(t2, np.nan, 0.25, BandMode.RELATIVE))[-1]


@given(two_portfolios(), st.floats(min_value=0.001, max_value=0.5))
def test_held_non_target_asset_counts_as_drifted(
    p: tuple[np.ndarray, float, np.ndarray, float], held: float
) -> None:
    w, wc, t, tc = p
    w2 = np.append(w * (1 - held), held)  # held, not in the target
    t2 = np.append(t, 0.0)
    d = asset_drift(w2, t2)
    assert d[-1] == held
    assert portfolio_drift(w2, t2, wc * (1 - held), tc) >= held / 2 - 1e-12
    assert outside_band(d, band_width(t2, np.nan, 0.25, BandMode.RELATIVE))[-1]
    assert math.isnan(relative_drift(d, t2)[-1])


@given(st.lists(signed, min_size=1, max_size=6), st.lists(signed, min_size=1, max_size=6))
def test_shorts_count_absolute_drift(w: list[float], t: list[float]) -> None:
    n = min(len(w), len(t))
    got = float(portfolio_drift(w[:n], t[:n]))
    assert got == pytest.approx(loop_drift(w[:n], t[:n], 0.0, 0.0), abs=1e-12)
    assert got >= 0.0


@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_configs_axis_equals_per_config_loop(n_cfg: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.uniform(-0.2, 0.6, (n_cfg, n))
    t = rng.uniform(0.0, 0.4, (n_cfg, n))
    t[:, 0] = 0.0
    wc = rng.uniform(0.0, 0.1, n_cfg)
    band_rel = rng.uniform(0.0, 0.5, (n_cfg, 1))
    codes = rng.integers(0, 3, n)
    d_all = asset_drift(w, t)
    big_d = portfolio_drift(w, t, wc, 0.05)
    width_all = band_width(t, 0.03, band_rel, BandMode.LARGER)
    out_all = outside_band(d_all, width_all)
    capped_all, mask_all = cap_drift(d_all, 0.3)
    rel_all = relative_drift(d_all, t)
    gw_all = group_weights(w, codes, 3)
    gd_all = group_drift(w, gw_all[::-1], codes)
    gpd_all = group_portfolio_drift(w, gw_all[::-1], codes, wc, 0.05)
    for c in range(n_cfg):
        d = asset_drift(w[c], t[c])
        np.testing.assert_array_equal(d_all[c], d)
        assert big_d[c] == portfolio_drift(w[c], t[c], wc[c], 0.05)
        width = band_width(t[c], 0.03, band_rel[c], BandMode.LARGER)
        np.testing.assert_array_equal(width_all[c], width)
        np.testing.assert_array_equal(out_all[c], outside_band(d, width))
        capped, mask = cap_drift(d, 0.3)
        np.testing.assert_array_equal(capped_all[c], capped)
        np.testing.assert_array_equal(mask_all[c], mask)
        np.testing.assert_array_equal(rel_all[c], relative_drift(d, t[c]))
        np.testing.assert_array_equal(gw_all[c], group_weights(w[c], codes, 3))
        np.testing.assert_array_equal(gd_all[c], group_drift(w[c], gw_all[::-1][c], codes))
        assert gpd_all[c] == group_portfolio_drift(w[c], gw_all[::-1][c], codes, wc[c], 0.05)


# ---------------------------------------------------------------- bad inputs


def test_group_codes_wrong_length() -> None:
    with pytest.raises(ConfigError, match="one code per asset"):
        group_weights([0.5, 0.5], [0, 1, 1], 2)


def test_group_codes_not_integer() -> None:
    with pytest.raises(ConfigError, match="integers"):
        group_weights([0.5, 0.5], [0.0, 1.0], 2)


def test_group_codes_out_of_range() -> None:
    with pytest.raises(ConfigError, match=r"\[0, 2\)"):
        group_weights([0.5, 0.5], [0, 2], 2)


def test_group_codes_negative() -> None:
    with pytest.raises(ConfigError, match=r"\[0, 2\)"):
        group_weights([0.5, 0.5], [-1, 0], 2)


def test_n_groups_zero() -> None:
    with pytest.raises(ConfigError, match="n_groups"):
        group_weights([0.5, 0.5], [0, 0], 0)


def test_cap_not_positive() -> None:
    with pytest.raises(ConfigError, match="cap"):
        cap_drift([0.1], 0.0)


def test_unknown_band_mode() -> None:
    with pytest.raises(ConfigError, match="unknown band mode"):
        band_width([0.1], 0.05, 0.2, "widest")


def test_negative_band_abs() -> None:
    with pytest.raises(ConfigError, match="band_abs"):
        band_width([0.1, 0.2], [0.05, -0.01])


def test_negative_band_rel() -> None:
    with pytest.raises(ConfigError, match="band_rel"):
        band_width([0.1], np.nan, -0.2)


def test_negative_default_band() -> None:
    with pytest.raises(ConfigError, match="default_band_abs"):
        band_width([0.1], default_band_abs=-0.05)


# ------------------------------------------------------------ mark to market


@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_mark_to_market_equals_the_numpy_formulas(n_rows: int, n_assets: int, n_days: int,
                                                  seed: int) -> None:
    """Oracle: w = s p / NAV, NAV = sum s p + cash, D = portfolio_drift, for every day, to
    the bit (the kernel sums in numpy's order)."""
    rng = np.random.default_rng(seed)
    shares = rng.uniform(-50.0, 200.0, (n_rows, n_assets))
    prices = rng.uniform(1.0, 300.0, (n_days, n_assets))
    cash = rng.uniform(0.0, 5_000.0, n_rows)
    target = rng.dirichlet(np.ones(n_assets + 1))
    weights, nav, drift = mark_to_market(shares, prices, cash, target[:-1], float(target[-1]))
    assert weights.shape == (n_days, n_rows, n_assets) and nav.shape == drift.shape
    for k in range(n_days):
        values = shares * prices[k]
        want_nav = values.sum(axis=1) + cash
        want_w = values / want_nav[:, None]
        want_d = portfolio_drift(want_w, target[:-1], cash / want_nav, target[-1])
        # numpy's own summation order: equal to the bit
        np.testing.assert_array_equal(nav[k], want_nav)
        np.testing.assert_array_equal(weights[k], want_w)
        np.testing.assert_array_equal(drift[k], want_d)


def test_mark_to_market_one_day_by_hand() -> None:
    """10 shares at 30 and 20 at 10 plus 100 cash: NAV 600, w = (0.5, 1/3), cash 1/6."""
    weights, nav, drift = mark_to_market(np.array([[10.0, 20.0]]), np.array([30.0, 10.0]),
                                         np.array([100.0]), np.array([0.6, 0.4]), 0.0)
    assert nav.tolist() == [600.0]
    np.testing.assert_allclose(weights, [[0.5, 1 / 3]])
    # D = 1/2 (|0.5 - 0.6| + |1/3 - 0.4| + |1/6 - 0|) = 1/2 (0.1 + 1/15 + 1/6) = 1/6
    np.testing.assert_allclose(drift, [1 / 6])
