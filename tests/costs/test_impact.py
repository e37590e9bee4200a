"""Impact laws: hand-worked numbers and the power-term form used by the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from driftwise.costs import (
    CostParams,
    ImpactModel,
    almgren_impact,
    impact_terms,
    square_root_impact,
)


def test_square_root_published_magnitude() -> None:
    # Y = 1, sigma = 1.5%, 1% of ADV -> 0.015 * 0.1 = 15 bps
    assert square_root_impact(0.01, 0.015) * 1e4 == pytest.approx(15.0)
    assert square_root_impact(0.04, 0.015, impact_coef=0.5) * 1e4 == pytest.approx(15.0)


def test_almgren_hand_worked() -> None:
    p = CostParams(impact_model=ImpactModel.ALMGREN_2005)
    x, sigma, theta_v = 0.01, 0.015, 150.0
    permanent = 0.314 * sigma * x * theta_v ** 0.25
    temporary = 0.142 * sigma * x ** 0.6
    got = almgren_impact(x, sigma, theta_v, p)
    assert got == pytest.approx(0.5 * permanent + temporary)
    assert 2.0 < got * 1e4 < 3.0  # the published order of magnitude at 1% of ADV


def test_almgren_execution_time_lowers_temporary_impact() -> None:
    fast = almgren_impact(0.05, 0.02, 150.0, CostParams(execution_days=0.25))
    slow = almgren_impact(0.05, 0.02, 150.0, CostParams(execution_days=2.0))
    assert fast > slow


@pytest.mark.parametrize("model", list(ImpactModel))
def test_power_terms_equal_elementwise_laws(model: ImpactModel) -> None:
    p = CostParams(impact_model=model, impact_coef=0.7, execution_days=0.5)
    sigma = np.array([0.01, 0.02, 0.03])
    adv_usd = np.array([1e8, 5e6, 2e5])
    theta_v = np.array([150.0, np.nan, 80.0])
    trade = np.array([1e6, 3e4, 7e3])
    terms = impact_terms(sigma, adv_usd, theta_v, p)
    engine = sum(c * trade ** q for c, q in terms)
    for i in range(3):
        frac = trade[i] / adv_usd[i]
        if model is ImpactModel.SQUARE_ROOT:
            rate = 0.7 * sigma[i] * math.sqrt(frac)
        else:
            tv = 150.0 if math.isnan(theta_v[i]) else theta_v[i]
            rate = float(almgren_impact(frac, sigma[i], tv, p))
        assert engine[i] == pytest.approx(trade[i] * rate, rel=1e-12)
