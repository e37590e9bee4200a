"""CostParams, tiers and VIX regimes: validation and lookups."""

from __future__ import annotations

import numpy as np
import pytest

from driftwise.costs import CapTier, CostParams, ImpactModel, TierDefaults, cap_tier
from driftwise.costs.regime import regime_multiplier, vix_regime
from driftwise.errors import ConfigError


def test_defaults_match_spec() -> None:
    p = CostParams()
    assert p.impact_model is ImpactModel.SQUARE_ROOT
    assert (p.impact_coef, p.almgren_eta, p.almgren_gamma, p.almgren_beta) == (1.0, 0.142,
                                                                             0.314, 0.6)
    assert p.vix_breaks == (20.0, 30.0) and p.vix_multipliers == (1.0, 1.5, 2.5)
    assert (p.participation, p.stale_after_days, p.illiquid_adv_usd) == (0.10, 30, 1e6)
    assert (p.illiquid_days, p.multi_day_days) == (10.0, 5.0)


def test_impact_model_from_string() -> None:
    assert CostParams(impact_model="almgren_2005").impact_model is ImpactModel.ALMGREN_2005  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [
    {"impact_model": "linear"},
    {"impact_coef": -1.0},
    {"impact_coef": float("nan")},
    {"participation": 0.0},
    {"participation": 1.5},
    {"execution_days": 0.0},
    {"cost_scale": -0.1},
    {"flat_cost_bps": -5.0},
    {"vix_breaks": (30.0, 20.0)},
    {"vix_breaks": (20.0,)},
    {"vix_multipliers": (1.0, 0.0, 2.0)},
    {"vol_window_days": 1},
    {"almgren_beta": 0.0},
    {"min_history_fraction": 2.0},
    {"stale_after_days": True},
])
def test_bad_params_raise_config_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        CostParams(**kwargs)  # type: ignore[arg-type]


def test_params_are_frozen_with_readable_repr() -> None:
    p = CostParams(flat_cost_bps=20.0)
    with pytest.raises(AttributeError):
        p.cost_scale = 2.0  # type: ignore[misc]
    assert "flat_cost_bps=20.0" in repr(p)


def test_cap_tier_boundaries() -> None:
    caps = [np.nan, 10e9, 9.99e9, 2e9, 1.99e9, 5e11]
    got = cap_tier(caps, TierDefaults())
    assert got.tolist() == [CapTier.MID, CapTier.LARGE, CapTier.MID, CapTier.MID,
                            CapTier.SMALL, CapTier.LARGE]


@pytest.mark.parametrize("kwargs", [
    {"mid_cap_min_usd": 20e9},
    {"spread_bps": (1.0, 2.0)},
    {"all_in_bps": (1.0, -2.0, 3.0)},
    {"unknown_cap_usd": 0.0},
])
def test_bad_tiers_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        TierDefaults(**kwargs)  # type: ignore[arg-type]


def test_vix_regimes_half_open() -> None:
    p = CostParams()
    vix = np.array([10.0, 19.99, 20.0, 29.99, 30.0, 80.0, np.nan])
    assert vix_regime(vix, p).tolist() == [0, 0, 1, 1, 2, 2, 0]
    assert regime_multiplier(vix, p).tolist() == [1.0, 1.0, 1.5, 1.5, 2.5, 2.5, 1.0]
    assert float(regime_multiplier(None, p)) == 1.0
    assert float(regime_multiplier(35.0, p)) == 2.5


def test_custom_regimes() -> None:
    p = CostParams(vix_breaks=(25.0,), vix_multipliers=(1.0, 3.0))
    assert regime_multiplier([24.0, 25.0], p).tolist() == [1.0, 3.0]
