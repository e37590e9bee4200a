"""Tests of driftwise.metrics.threshold: the square-root formula, its erratum, the band."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.metrics.threshold import (
    ThresholdInputs,
    ThresholdReport,
    mean_variance_half_band,
    optimal_half_band,
    square_root_threshold,
    threshold_report,
)


def test_square_root_formula_erratum_figure() -> None:
    # SPEC section 12: TC = 20 bps, sigma_p = 15%, T = 1:
    # sqrt(2 * 0.002 / (0.15^2 * 1)) = sqrt(0.004 / 0.0225) = sqrt(0.17778) = 0.42164
    got = float(square_root_threshold(0.002, 0.15, 1.0))
    assert got == pytest.approx(0.4216, abs=5e-5)
    assert round(got, 2) == 0.42  # 42%, not the "about 5%" the methodology states
    assert got > 8 * 0.05


def test_square_root_formula_matches_loop() -> None:
    costs = [0.001, 0.002, 0.005]
    sigmas = [0.1, 0.15, 0.3]
    got = square_root_threshold(np.array(costs)[:, None], np.array(sigmas)[None, :], 0.5)
    for i, tc in enumerate(costs):
        for j, s in enumerate(sigmas):
            assert got[i, j] == pytest.approx(math.sqrt(2 * tc / (s * s * 0.5)))


def test_golden_half_band() -> None:
    # k = 20 bps, s = 10% a year, lam = 1: h^3 = 3 * 0.002 * 0.01 / 4 = 1.5e-5
    # h = 1.5e-5 ** (1/3) = 0.024662
    assert optimal_half_band(0.002, 0.1, 1.0) == pytest.approx(1.5e-5 ** (1 / 3))
    assert optimal_half_band(0.002, 0.1, 1.0) == pytest.approx(0.024662, abs=1e-6)
    # 60/40 investor, k = 20 bps, gamma = 4: h^3 = 1.5 * 0.36 * 0.16 * 0.002 / 4 = 4.32e-5
    # h = 0.035086
    assert mean_variance_half_band(0.6, 0.002, 4.0) == pytest.approx(4.32e-5 ** (1 / 3))


def test_half_band_scales_with_cube_root_of_cost() -> None:
    h1 = float(optimal_half_band(0.001, 0.2, 2.0))
    h8 = float(optimal_half_band(0.008, 0.2, 2.0))
    assert h8 == pytest.approx(2 * h1)  # 8x the cost, 2x the band


def test_half_band_minimizes_the_annual_cost() -> None:
    # cost per year of a band h: lam h^2 / 3 + k s^2 / (2 h); check h* by brute force
    k, s, lam = 0.003, 0.12, 1.5
    grid = np.linspace(1e-4, 0.2, 200_001)
    total = lam * grid**2 / 3 + k * s**2 / (2 * grid)
    assert optimal_half_band(k, s, lam) == pytest.approx(grid[np.argmin(total)], abs=2e-6)


@given(
    st.floats(0.01, 0.99),
    st.floats(1e-4, 0.05),
    st.floats(0.5, 20.0),
    st.floats(0.05, 0.8),
)
def test_mean_variance_is_the_general_band(w: float, k: float, gamma: float, sigma: float) -> None:
    # s = sigma w (1 - w) and lam = gamma sigma^2 / 2: sigma cancels
    general = optimal_half_band(k, sigma * w * (1 - w), gamma * sigma**2 / 2)
    assert mean_variance_half_band(w, k, gamma) == pytest.approx(float(general), rel=1e-12)


def test_zero_conventions_without_warning() -> None:
    with np.errstate(all="raise"):
        # free trading: no band at all; no penalty on deviations: never trade
        assert optimal_half_band(0.0, 0.1, 1.0) == 0.0
        assert optimal_half_band(0.002, 0.1, 0.0) == math.inf
        assert optimal_half_band(0.002, 0.0, 0.0) == 0.0  # nothing moves
        assert square_root_threshold(0.002, 0.0) == math.inf  # riskless portfolio
        assert square_root_threshold(0.0, 0.0) == 0.0
        assert mean_variance_half_band(0.6, 0.002, 0.0) == math.inf
        assert mean_variance_half_band(1.0, 0.002, 2.0) == 0.0  # all in one asset


def test_report_holds_inputs_and_both_results() -> None:
    report = threshold_report(
        one_way_cost=0.002,
        portfolio_vol=0.15,
        drift_vol=0.1,
        tracking_penalty=1.0,
        tracking_aversion=2.0,
    )
    inputs = report.inputs
    assert inputs == ThresholdInputs(0.002, 0.15, 0.1, 1.0, 1.0, 2.0)
    assert report == ThresholdReport.from_inputs(inputs)
    assert report.square_root_threshold == pytest.approx(math.sqrt(0.004 / 0.0225))
    assert report.half_band == pytest.approx(1.5e-5 ** (1 / 3))
    data = report.to_dict()
    assert data["square_root_threshold"] == report.square_root_threshold
    assert data["horizon_years"] == 1.0 and data["tracking_aversion"] == 2.0
    rows = dict(report.rows())
    assert rows["one-way cost k"] == "20.0 bps"
    assert any(
        label.startswith("square-root formula") and value == "42.16%"
        for label, value in rows.items()
    )
    assert rows["corrected half-band (3 k s^2/(4 lambda))^(1/3)"] == "2.47%"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.half_band = 0.1  # type: ignore[misc]


def test_report_of_a_riskless_portfolio() -> None:
    # an all-cash or single-asset target: no volatility, no penalty -> no crash
    report = threshold_report(
        one_way_cost=0.002, portfolio_vol=0.0, drift_vol=0.0, tracking_penalty=0.0
    )
    assert report.square_root_threshold == math.inf and report.half_band == 0.0
    assert "tracking aversion gamma" not in dict(report.rows())


# ---------------------------------------------------------------- bad inputs


def test_square_root_negative_cost() -> None:
    with pytest.raises(ConfigError, match="cost"):
        square_root_threshold(-0.001, 0.15)


def test_square_root_negative_sigma() -> None:
    with pytest.raises(ConfigError, match="sigma_annual"):
        square_root_threshold(0.002, -0.15)


def test_square_root_zero_horizon() -> None:
    with pytest.raises(ConfigError, match="horizon_years"):
        square_root_threshold(0.002, 0.15, 0.0)


def test_half_band_negative_cost() -> None:
    with pytest.raises(ConfigError, match="k must"):
        optimal_half_band(-0.002, 0.1, 1.0)


def test_half_band_negative_vol() -> None:
    with pytest.raises(ConfigError, match="s must"):
        optimal_half_band(0.002, -0.1, 1.0)


def test_half_band_negative_penalty() -> None:
    with pytest.raises(ConfigError, match="lam"):
        optimal_half_band(0.002, 0.1, -1.0)


def test_mean_variance_negative_gamma() -> None:
    with pytest.raises(ConfigError, match="gamma"):
        mean_variance_half_band(0.6, 0.002, -1.0)


def test_mean_variance_nan_cost() -> None:
    with pytest.raises(ConfigError, match="k must"):
        mean_variance_half_band(0.6, math.nan, 2.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("one_way_cost", -0.001),
        ("portfolio_vol", math.nan),
        ("drift_vol", -0.1),
        ("tracking_penalty", -1.0),
        ("horizon_years", 0.0),
        ("tracking_aversion", -2.0),
    ],
)
def test_inputs_rejected(field: str, value: float) -> None:
    kwargs = {
        "one_way_cost": 0.002,
        "portfolio_vol": 0.15,
        "drift_vol": 0.1,
        "tracking_penalty": 1.0,
        "horizon_years": 1.0,
        "tracking_aversion": 2.0,
        field: value,
    }
    with pytest.raises(ConfigError, match=field):
        ThresholdInputs(**kwargs)
