"""The corrected no-trade band of SPEC 3.6: oracle tests from the definitions.

``lambda = (gamma/2) u'Su / (1/2 sum|u_i|)^2`` (the variance of the return difference the
deviation carries, per squared unit of portfolio drift), ``s`` the volatility of the
portfolio drift along ``u``, ``h* = (3 k s^2 / (4 lambda))^(1/3)``. For two assets this is
exactly ``(1.5 w^2 (1-w)^2 k / gamma)^(1/3)`` whatever the covariance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.metrics.threshold import corrected_band


def two_asset_cov(s1: float, s2: float, rho: float) -> np.ndarray:
    return np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])


def test_sixty_forty_at_20_bps_is_4_4_percent() -> None:
    # (1.5 * 0.6^2 * 0.4^2 * 0.002 / 2)^(1/3) = (8.64e-5)^(1/3) = 0.044208
    band = corrected_band([0.6, 0.4], two_asset_cov(0.16, 0.05, 0.1), 0.002, 2.0)
    assert band.half_band == pytest.approx(8.64e-5 ** (1 / 3), rel=1e-12)
    assert round(band.half_band, 3) == 0.044


def test_two_assets_by_hand() -> None:
    # w = 0.7, sigma_1 = 25%, sigma_2 = 5%, rho = 0.3, k = 35 bps, gamma = 3
    # variance of r_1 - r_2: 0.0625 + 0.0025 - 2 * 0.3 * 0.25 * 0.05 = 0.0575
    # s = w (1 - w) sigma_diff = 0.21 * sqrt(0.0575) = 0.0503567...
    # lambda = (gamma / 2) * 0.0575 = 0.08625
    # h^3 = 3 * 0.0035 * s^2 / (4 * 0.08625) = 3 * 0.0035 * 0.00253575 / 0.345 = 7.7175e-5
    band = corrected_band([0.7, 0.3], two_asset_cov(0.25, 0.05, 0.3), 0.0035, 3.0)
    assert band.tracking_penalty == pytest.approx(0.08625, rel=1e-12)
    assert band.drift_vol == pytest.approx(0.21 * math.sqrt(0.0575), rel=1e-12)
    assert band.half_band == pytest.approx(7.7175e-5 ** (1 / 3), rel=1e-12)
    assert band.half_band == pytest.approx(0.042575, abs=1e-6)
    assert band.direction == pytest.approx((1 / math.sqrt(2), -1 / math.sqrt(2)), abs=1e-12)


def test_the_old_penalty_was_28_percent_too_wide() -> None:
    # lambda taken as gamma * sum t_i sigma_rel_i^2 = gamma * 0.24 sigma^2 instead of
    # (gamma/2) sigma^2: the band grows by (0.5 / 0.24)^(1/3) = 1.277
    band = corrected_band([0.6, 0.4], two_asset_cov(0.16, 0.05, 0.1), 0.002, 2.0)
    diff_var = 0.16**2 + 0.05**2 - 2 * 0.1 * 0.16 * 0.05
    old = (3 * 0.002 * band.drift_vol**2 / (4 * 2.0 * 0.24 * diff_var)) ** (1 / 3)
    assert old / band.half_band == pytest.approx((0.5 / 0.24) ** (1 / 3), rel=1e-9)


@given(st.floats(0.01, 0.99), st.floats(0.01, 1.0), st.floats(0.01, 1.0),
       st.floats(-0.99, 0.99), st.floats(1e-4, 0.05), st.floats(0.5, 20.0))
def test_two_assets_equal_the_closed_form_for_any_covariance(
        w: float, s1: float, s2: float, rho: float, k: float, gamma: float) -> None:
    band = corrected_band([w, 1 - w], two_asset_cov(s1, s2, rho), k, gamma)
    assert band.half_band == pytest.approx((1.5 * w**2 * (1 - w) ** 2 * k / gamma) ** (1 / 3),
                                           rel=1e-9)


@given(st.floats(0.05, 0.95), st.floats(0.02, 1.0), st.floats(1e-4, 0.05),
       st.floats(0.5, 20.0))
def test_one_risky_asset_and_cash_is_the_same_closed_form(w: float, sigma: float, k: float,
                                                          gamma: float) -> None:
    # cash is a riskless position: r_1 - r_cash = r_1, the same algebra
    band = corrected_band([w], [[sigma**2]], k, gamma)
    assert band.half_band == pytest.approx((1.5 * w**2 * (1 - w) ** 2 * k / gamma) ** (1 / 3),
                                           rel=1e-9)


def test_three_assets_along_a_given_direction_by_hand() -> None:
    # t = (0.5, 0.3, 0.2), u = (1, -1, 0): D(u) = 1, u'Su = S11 + S22 - 2 S12
    cov = np.array([[0.04, 0.006, 0.002], [0.006, 0.09, 0.003], [0.002, 0.003, 0.01]])
    band = corrected_band([0.5, 0.3, 0.2], cov, 0.001, 2.0, direction=[1.0, -1.0, 0.0])
    assert band.tracking_penalty == pytest.approx(0.04 + 0.09 - 2 * 0.006, rel=1e-12)
    # s = D(u) sqrt(u' Omega u) / u'u with Omega = A S A', A = diag(t) - t t'
    t = [0.5, 0.3, 0.2]
    a = [[(t[i] if i == j else 0.0) - t[i] * t[j] for j in range(3)] for i in range(3)]
    au = [a[0][i] - a[1][i] for i in range(3)]  # A'u = A u (A symmetric), u = e1 - e2
    var = sum(au[i] * cov[i][j] * au[j] for i in range(3) for j in range(3))
    assert band.drift_vol == pytest.approx(math.sqrt(var) / 2.0, rel=1e-12)
    h3 = 3 * 0.001 * band.drift_vol**2 / (4 * band.tracking_penalty)
    assert band.half_band == pytest.approx(h3 ** (1 / 3), rel=1e-12)


def test_default_direction_is_where_the_portfolio_drifts_most() -> None:
    rng = np.random.default_rng(3)
    f = rng.normal(size=(4, 4))
    cov = 0.05 * f @ f.T / 4 + np.diag([0.01, 0.02, 0.03, 0.04])
    t = np.array([0.4, 0.3, 0.2, 0.1])
    band = corrected_band(t, cov, 0.002, 2.0)
    a = np.diag(t) - np.outer(t, t)
    omega = a @ cov @ a
    u = np.array(band.direction)
    # u'Omega u is the largest over unit vectors: no random direction beats it
    trials = rng.normal(size=(2000, 4))
    trials /= np.linalg.norm(trials, axis=1, keepdims=True)
    assert u @ omega @ u >= np.max(np.einsum("ki,ij,kj->k", trials, omega, trials))
    assert abs(u.sum()) < 1e-12  # a deviation moves weight, it creates none
    # and the band along it is the one of the given direction
    again = corrected_band(t, cov, 0.002, 2.0, direction=u)
    assert again.half_band == pytest.approx(band.half_band, rel=1e-12)


def test_at_cost_is_the_function_at_another_cost() -> None:
    cov = np.array([[0.04, 0.01, 0.0], [0.01, 0.03, 0.0], [0.0, 0.0, 0.02]])
    band = corrected_band([0.5, 0.3, 0.1], cov, 0.002, 2.0)
    other = corrected_band([0.5, 0.3, 0.1], cov, 0.005, 2.0)
    assert float(band.at_cost(0.005)) == other.half_band
    assert other.half_band == pytest.approx(band.half_band * 2.5 ** (1 / 3), rel=1e-12)


def test_no_drift_no_band() -> None:
    assert corrected_band([1.0], [[0.04]], 0.002, 2.0).half_band == 0.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"cov_annual": np.eye(3)}, "cov_annual must be"),
    ({"one_way_cost": -0.1}, "one_way_cost"),
    ({"tracking_aversion": float("nan")}, "tracking_aversion"),
    ({"direction": [0.0, 0.0]}, "must not be zero"),
    ({"direction": [1.0]}, "direction must hold 2"),
    ({"cov_annual": [[np.nan, 0.0], [0.0, 0.01]]}, "finite"),
])
def test_bad_inputs(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"target_weights": [0.6, 0.4], "cov_annual": np.eye(2) * 0.04,
                               "one_way_cost": 0.002, "tracking_aversion": 2.0, **kwargs}
    with pytest.raises(ConfigError, match=match):
        corrected_band(**args)  # type: ignore[arg-type]
