"""``policy.cost_constrained_multiple``: the cost-constrained destination trades an asset
only if its benefit exceeds that multiple of its cost (hand-worked, and an oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.config import Config
from driftwise.config.assemble import build_rule
from driftwise.errors import ConfigError
from driftwise.policy.destination import Destination

from .test_sizing import run

# w = (0.40, 0.32, 0.18), cash 0.10; t = (0.30, 0.30, 0.35), cash 0.05; vol 0.20 each;
# gamma 2, H 252: benefit_i = d_i^2 sigma_i^2 = (0.0004, 0.000016, 0.001156); cost 10 bps of
# the full trade: cost_i / NAV = 0.001 |d_i| = (0.0001, 0.00002, 0.00017);
# benefit / cost = (4, 0.8, 6.8).
W, CASH, T, T_CASH = [0.40, 0.32, 0.18], 0.10, [0.30, 0.30, 0.35], 0.05


@pytest.mark.parametrize(("multiple", "traded"), [
    (0.5, [True, True, True]), (2.0, [True, False, True]), (5.0, [False, False, True]),
    (7.0, [False, False, False])])
def test_multiple_by_hand(multiple: float, traded: list[bool]) -> None:
    r = run(W, CASH, T, T_CASH, Destination.COST_CONSTRAINED, vol_annual=np.full(3, 0.20),
            cost_multiple=multiple)
    assert (r.trade_usd[0] != 0.0).tolist() == traded
    assert r.binding["cost_constrained_skip"][0].tolist() == [not t for t in traded]


@given(multiple=st.floats(0.05, 20.0), gamma=st.floats(0.5, 8.0),
       d=st.lists(st.floats(-0.08, 0.08), min_size=3, max_size=3))
def test_selection_is_benefit_above_multiple_times_cost(multiple: float, gamma: float,
                                                       d: list[float]) -> None:
    """Oracle from SPEC section 5: benefit_i = (γ/2)(H/252) d_i² σ_i² (diagonal risk) against
    multiple × cost_i, cost_i = 10 bps × |d_i| NAV (the full trade of the asset)."""
    t = np.array([0.30, 0.30, 0.30])
    w = t + np.asarray(d)
    cash = 1.0 - w.sum()
    if cash < 0.0 or (w < 0).any():
        return
    vol = np.array([0.15, 0.25, 0.40])
    benefit = gamma / 2 * np.square(w - t) * vol**2
    cost = 0.001 * np.abs(w - t)
    if np.any(np.abs(benefit - multiple * cost) < 1e-12):
        return  # on the boundary: rounding decides
    want = benefit > multiple * cost
    r = run(w.tolist(), cash, t.tolist(), 0.10, Destination.COST_CONSTRAINED, vol_annual=vol,
            gamma=gamma, cost_multiple=multiple)
    moved = w != t
    np.testing.assert_array_equal(r.binding["cost_constrained_skip"][0], moved & ~want)


def test_the_configured_multiple_reaches_the_rule() -> None:
    assert build_rule(Config()).cost_constrained_multiple == 2.0
    rule = build_rule(Config().with_overrides({"policy.cost_constrained_multiple": 3.5}))
    assert rule.cost_constrained_multiple == 3.5


def test_multiple_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="cost_multiple"):
        run(W, CASH, T, T_CASH, Destination.COST_CONSTRAINED, vol_annual=np.ones(3),
            cost_multiple=0.0)
    with pytest.raises(ConfigError, match=r"policy\.cost_constrained_multiple"):
        Config().with_overrides({"policy.cost_constrained_multiple": 0.0})
