"""Tests of driftwise.policy.sizing: hand-worked three-asset portfolios, properties.

Unless a test says otherwise: NAV 1,000,000 USD, prices 100 / 50 / 20 USD, cost 10 bps
of traded value (linear), one configuration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.errors import ConfigError, DataError
from driftwise.policy.constraints import Constraints
from driftwise.policy.destination import Destination, marginal_benefit
from driftwise.policy.sizing import BINDING_KEYS, SizingResult, size_trades

from ._costs import Simple, linear, sqrt_like

NAV = 1e6
PRICES = np.array([100.0, 50.0, 20.0])


def run(w: list[float], cash: float, t: list[float], t_cash: float,
        destination: Destination = Destination.FULL, constraints: Constraints | None = None,
        **kw: Any) -> SizingResult:
    args: dict[str, Any] = {
        "weights": np.array([w]), "cash_weight": np.array([cash]), "target": np.array(t),
        "target_cash": t_cash, "nav_usd": np.array([NAV]), "prices_usd": PRICES,
        "active": np.array([True]), "destination": destination, "cost_fn": linear,
        "constraints": constraints or Constraints()}
    args.update(kw)
    return size_trades(**_priced(args))


def _priced(args: dict[str, Any]) -> dict[str, Any]:
    """``cost_fn`` as the RowCosts of the call's shape when given as a Simple model."""
    cost = args["cost_fn"]
    if isinstance(cost, Simple):
        shape = np.shape(args["weights"])
        args = {**args, "cost_fn": cost.model(shape[-1], shape[0] if len(shape) == 2 else 1)}
    return args


# Portfolio A: w = (0.40, 0.35, 0.20), cash 0.05; target (0.30, 0.30, 0.35), cash 0.05.
A = ([0.40, 0.35, 0.20], 0.05, [0.30, 0.30, 0.35], 0.05)


def full_a() -> tuple[float, np.ndarray]:
    # x = (0.30 V' - 400000, 0.30 V' - 350000, 0.35 V' - 200000): two sells, one buy;
    # sum|x| = 550000 - 0.25 V'; V' = 1e6 - 0.001 (550000 - 0.25 V')
    # => V' = 999450 / 0.99975
    v = 999450.0 / 0.99975
    return v, np.array([0.30 * v - 400000.0, 0.30 * v - 350000.0, 0.35 * v - 200000.0])


# ---------------------------------------------------------------- destinations by hand


def test_full_by_hand() -> None:
    r = run(*A)
    v, x = full_a()
    np.testing.assert_allclose(r.trade_usd[0], x, rtol=1e-12)
    assert r.post_nav_usd[0] == pytest.approx(v, rel=1e-14)
    np.testing.assert_allclose(r.post_weights[0], [0.30, 0.30, 0.35], atol=1e-14)
    assert r.post_cash_weight[0] == pytest.approx(0.05, abs=1e-14)
    np.testing.assert_allclose(r.cost_usd[0], 0.001 * np.abs(x), rtol=1e-12)
    np.testing.assert_allclose(r.trade_shares[0], x / PRICES, rtol=1e-12)
    assert not any(np.any(b) for b in r.binding.values())


def test_half_by_hand() -> None:
    r = run(*A, destination=Destination.HALF)
    # u = (w + t) / 2 = (0.35, 0.325, 0.275); sum|x| = 550000 - 0.4 V'
    # => V' = 999450 / 0.9996
    v = 999450.0 / 0.9996
    np.testing.assert_allclose(
        r.trade_usd[0], [0.35 * v - 400000.0, 0.325 * v - 350000.0, 0.275 * v - 200000.0],
        rtol=1e-12)
    np.testing.assert_allclose(r.post_weights[0], [0.35, 0.325, 0.275], atol=1e-14)


def test_band_edge_by_hand() -> None:
    # w = (0.40, 0.30, 0.20), cash 0.10; t = (0.30, 0.30, 0.35), cash 0.05; width 0.05.
    # d = (0.10, 0, -0.15): asset 0 -> 0.35, asset 1 inside (untouched), asset 2 -> 0.30.
    # sum|x| = (400000 - 0.35 V') + (0.30 V' - 200000) = 200000 - 0.05 V'
    # => V' = (1e6 - 200) / (1 - 0.00005)
    r = run([0.40, 0.30, 0.20], 0.10, [0.30, 0.30, 0.35], 0.05, Destination.BAND_EDGE,
            band_width=np.full(3, 0.05))
    v = 999800.0 / 0.99995
    np.testing.assert_allclose(r.trade_usd[0], [0.35 * v - 400000.0, 0.0, 0.30 * v - 200000.0],
                               rtol=1e-12)
    np.testing.assert_allclose(r.post_weights[0], [0.35, 300000.0 / v, 0.30], atol=1e-14)


def test_band_edge_trades_an_asset_the_cost_pushes_out() -> None:
    # w = (0.40, 0.35, 0.15), cash 0.10; t = (0.30, 0.30, 0.30), cash 0.10; width 0.05.
    # Asset 1 sits on its edge (d = 0.05, inside); paying costs from NAV would lift it to
    # 0.35 NAV / V' > 0.35, out of the band, so it is sold to 0.35 as well:
    # sum|x| = (400000 - 0.35 V') + (350000 - 0.35 V') + (0.25 V' - 150000)
    #        = 600000 - 0.45 V'  =>  V' = 999400 / 0.99955
    r = run([0.40, 0.35, 0.15], 0.10, [0.30, 0.30, 0.30], 0.10, Destination.BAND_EDGE,
            band_width=np.full(3, 0.05))
    v = 999400.0 / 0.99955
    np.testing.assert_allclose(
        r.trade_usd[0], [0.35 * v - 400000.0, 0.35 * v - 350000.0, 0.25 * v - 150000.0],
        rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(r.post_weights[0], [0.35, 0.35, 0.25], atol=1e-14)
    assert r.trade_usd[0, 1] < 0.0


def test_cost_constrained_by_hand() -> None:
    # w = (0.40, 0.32, 0.18), cash 0.10; t = (0.30, 0.30, 0.35), cash 0.05; vol 0.20 each;
    # gamma 2, H 252 -> benefit_i = d_i^2 sigma_i^2 = (0.0004, 0.000016, 0.001156);
    # cost_i = 0.001 |d_i| -> 2 cost = (0.0002, 0.00004, 0.00034): trade 0 and 2, skip 1.
    # sum|x| = (400000 - 0.30 V') + (0.35 V' - 180000) = 220000 + 0.05 V'
    # => V' = (1e6 - 220) / 1.00005
    r = run([0.40, 0.32, 0.18], 0.10, [0.30, 0.30, 0.35], 0.05, Destination.COST_CONSTRAINED,
            vol_annual=np.full(3, 0.20))
    v = 999780.0 / 1.00005
    np.testing.assert_allclose(r.trade_usd[0], [0.30 * v - 400000.0, 0.0, 0.35 * v - 180000.0],
                               rtol=1e-12)
    np.testing.assert_allclose(r.post_weights[0], [0.30, 320000.0 / v, 0.35], atol=1e-14)
    assert r.binding["cost_constrained_skip"].tolist() == [[False, True, False]]


def test_marginal_benefit_with_covariance_equals_brute_force() -> None:
    rng = np.random.default_rng(7)
    n = 5
    g = rng.normal(size=(n, n)) * 0.1
    cov = g @ g.T
    d = rng.normal(0.0, 0.05, (3, n))
    got = marginal_benefit(d, cov_annual=cov, gamma=np.array([1.0, 2.0, 4.0]),
                           horizon_days=126.0)
    for c in range(3):
        for i in range(n):
            d0 = d[c].copy()
            d0[i] = 0.0
            gamma = [1.0, 2.0, 4.0][c]
            want = gamma / 2 * 126 / 252 * (d[c] @ cov @ d[c] - d0 @ cov @ d0)
            assert got[c, i] == pytest.approx(want, rel=1e-10, abs=1e-18)


def test_marginal_benefit_diagonal() -> None:
    got = marginal_benefit(np.array([[0.1, -0.2]]), vol_annual=np.array([0.3, 0.1]))
    np.testing.assert_allclose(got, [[0.01 * 0.09, 0.04 * 0.01]], rtol=1e-14)


def test_cost_constrained_with_covariance_uses_it() -> None:
    # assets 0 and 2 perfectly correlated (vol 0.20), d = (0.10, 0, -0.30):
    # S d = 0.04 * (0.10 - 0.30) = -0.008 for both;
    # benefit_0 = 2 (0.10)(-0.008) - 0.04 (0.01) = -0.002 < 0: selling 0 alone raises TE,
    # benefit_2 = 2 (-0.30)(-0.008) - 0.04 (0.09) = 0.0012 > 2 * 0.0003: buy 2.
    # The diagonal form would sell asset 0 (0.01 * 0.04 = 0.0004 > 2 * 0.0001).
    vol = np.array([0.2, 0.2, 0.2])
    cov = np.outer(vol, vol) * np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    args = ([0.40, 0.30, 0.0], 0.30, [0.30, 0.30, 0.30], 0.10, Destination.COST_CONSTRAINED)
    benefit = marginal_benefit(np.array([[0.10, 0.0, -0.30]]), cov_annual=cov)[0]
    np.testing.assert_allclose(benefit[[0, 2]], [-0.002, 0.0012], rtol=1e-12)
    r = run(*args, cov_annual=cov)
    assert r.trade_usd[0, 0] == 0.0 and r.trade_usd[0, 2] > 0.0
    assert r.binding["cost_constrained_skip"].tolist() == [[True, False, False]]
    diag = run(*args, vol_annual=vol)
    assert diag.trade_usd[0, 0] < 0.0 and diag.trade_usd[0, 2] > 0.0


# ---------------------------------------------------------------- constraints by hand


def test_do_not_buy_by_hand() -> None:
    # asset 2 needs a buy and is restricted: only the two sells, to target.
    # sum|x| = 750000 - 0.60 V' => V' = (1e6 - 750) / (1 - 0.0006)
    r = run(*A, no_buy=np.array([False, False, True]))
    v = 999250.0 / 0.9994
    np.testing.assert_allclose(r.trade_usd[0], [0.30 * v - 400000.0, 0.30 * v - 350000.0, 0.0],
                               rtol=1e-12)
    assert r.binding["do_not_buy"].tolist() == [[False, False, True]]


def test_do_not_sell_by_hand() -> None:
    # asset 0 may not be sold. Landing on assets 1 and 2:
    # sum|x| = (350000 - 0.30 V') + (0.35 V' - 200000) = 150000 + 0.05 V'
    # => V' = (1e6 - 150) / 1.00005. Then cash 50000 + |x1| cannot pay the buy:
    # A = 50000 - x1 - 0.001 |x1|, the buy shrinks to A / 1.001, cash ends at 0.
    r = run(*A, no_sell=np.array([True, False, False]))
    v = 999850.0 / 1.00005
    x1 = 0.30 * v - 350000.0
    avail = 50000.0 - x1 - 0.001 * abs(x1)
    np.testing.assert_allclose(r.trade_usd[0], [0.0, x1, avail / 1.001], rtol=1e-10)
    assert r.binding["do_not_sell"].tolist() == [[True, False, False]]
    assert r.binding["cash"].tolist() == [True]
    assert 0.0 <= r.post_cash_usd[0] < 1e-6


def test_min_trade_usd_by_hand() -> None:
    # full trades (-100090, -50090, +149895): the 50090 sale is below 60000 and dropped;
    # the buy then needs more cash than there is: A = 50000 - x0 - 0.001 |x0|,
    # buy = A / 1.001 (step 7), cash ends at 0.
    _, x = full_a()
    r = run(*A, constraints=Constraints(min_trade_usd=60000.0))
    avail = 50000.0 - x[0] - 0.001 * abs(x[0])
    np.testing.assert_allclose(r.trade_usd[0], [x[0], 0.0, avail / 1.001], rtol=1e-10)
    assert r.binding["min_trade"].tolist() == [[False, True, False]]
    assert r.binding["cash"].tolist() == [True]
    assert r.post_cash_usd[0] >= 0.0


def test_min_trade_shares_by_hand() -> None:
    # shares (-1000.9, -1001.8, +7494.7): with a 1001-share minimum only asset 0 goes;
    # the buy then exceeds the cash (step 7 scales it), the sale of asset 1 stays
    _, x = full_a()
    r = run(*A, constraints=Constraints(min_trade_shares=1001.0))
    assert r.trade_usd[0, 0] == 0.0 and r.trade_usd[0, 1] == pytest.approx(x[1], rel=1e-12)
    assert r.binding["min_trade"].tolist() == [[True, False, False]]


def test_max_turnover_by_hand() -> None:
    # full turnover = 0.5 * sum|x| / NAV = 0.150 > 0.10 -> every trade x 0.10 / 0.150
    _, x = full_a()
    r = run(*A, constraints=Constraints(max_turnover=0.10))
    factor = 0.10 * NAV / (0.5 * np.abs(x).sum())
    np.testing.assert_allclose(r.trade_usd[0], x * factor, rtol=1e-12)
    assert 0.5 * np.abs(r.trade_usd).sum() / NAV == pytest.approx(0.10, rel=1e-12)
    assert r.binding["max_turnover"].tolist() == [True]


def test_whole_shares_by_hand() -> None:
    # shares x / p = (-1000.9002, -1001.8004, +7494.7487) -> (-1000, -1001, +7494)
    r = run(*A, constraints=Constraints(whole_shares=True))
    assert r.trade_shares.tolist() == [[-1000.0, -1001.0, 7494.0]]
    assert r.trade_usd.tolist() == [[-100000.0, -50050.0, 149880.0]]
    # cash: 50000 + 100000 + 50050 - 149880 - 0.001 * 299930 = 49870.07
    assert r.post_cash_usd[0] == pytest.approx(49870.07, abs=1e-6)
    assert r.binding["whole_shares"].tolist() == [[True, True, True]]


def test_cash_buffer_by_hand() -> None:
    # buffer 8% > target cash 5%: the buy shrinks so that cash = 0.08 V'.
    # A = 50000 - (x0 + x1) - 0.08 NAV - 0.92 * 0.001 |x0 + x1|; buy = A / (1 + 0.00092)
    _, x = full_a()
    r = run(*A, constraints=Constraints(cash_buffer=0.08))
    sells = x[0] + x[1]
    avail = 50000.0 - sells - 0.08 * NAV - 0.92 * 0.001 * abs(sells)
    np.testing.assert_allclose(r.trade_usd[0], [x[0], x[1], avail / 1.00092], rtol=1e-10)
    assert r.post_cash_weight[0] >= 0.08
    assert r.post_cash_weight[0] == pytest.approx(0.08, abs=1e-12)
    assert r.binding["cash"].tolist() == [True]


def test_long_only_clips_a_negative_target_and_covers_a_short() -> None:
    # w = (-0.10, 0.60, 0.40), cash 0.10; t = (-0.05, 0.35, 0.60), cash 0.10.
    # long-only: destination (0, 0.35, 0.60), the short is bought back to 0, cash 0.05
    w, t = [-0.10, 0.60, 0.40], [-0.05, 0.35, 0.60]
    r = run(w, 0.10, t, 0.10)
    np.testing.assert_allclose(r.post_weights[0], [0.0, 0.35, 0.60], atol=1e-14)
    assert r.post_cash_weight[0] == pytest.approx(0.05, abs=1e-14)
    assert r.binding["long_only"].tolist() == [[True, False, False]]
    free = run(w, 0.10, t, 0.10, constraints=Constraints(long_only=False))
    np.testing.assert_allclose(free.post_weights[0], t, atol=1e-14)
    assert not free.binding["long_only"].any()


def test_excluded_and_restricted_assets_are_not_traded() -> None:
    r = run(*A, exclude=np.array([[False, True, False]]),
            assets=np.array([[True, True, False]]))
    assert r.trade_usd[0, 1] == 0.0 and r.trade_usd[0, 2] == 0.0 and r.trade_usd[0, 0] < 0.0
    assert r.binding["excluded"].tolist() == [[False, True, False]]


def test_asset_without_price_is_not_traded() -> None:
    r = run(*A, prices_usd=np.array([100.0, np.nan, 20.0]))
    assert r.trade_usd[0, 1] == 0.0 and r.trade_shares[0, 1] == 0.0
    assert r.binding["no_price"].tolist() == [[False, True, False]]


# ---------------------------------------------------------------- batch behaviour


def test_inactive_configurations_get_zero_trades_and_keep_their_state() -> None:
    w = np.array([[0.40, 0.35, 0.20], [0.5, 0.3, 0.1], [0.2, 0.2, 0.2]])
    cash = np.array([0.05, 0.1, 0.4])
    r = size_trades(weights=w, cash_weight=cash, target=np.array([0.3, 0.3, 0.35]),
                    target_cash=0.05, nav_usd=np.array([1e6, 2e6, 3e5]), prices_usd=PRICES,
                    active=np.array([True, False, False]), destination=Destination.FULL,
                    cost_fn=linear.model(3, 3), constraints=Constraints(cash_buffer=0.5))
    assert np.all(r.trade_usd[1:] == 0.0) and np.all(r.cost_usd[1:] == 0.0)
    assert np.array_equal(r.post_weights[1:], w[1:])
    assert np.array_equal(r.post_cash_weight[1:], cash[1:])
    assert np.array_equal(r.post_nav_usd[1:], [2e6, 3e5])
    for key in BINDING_KEYS:
        assert not r.binding[key][1:].any(), key


def test_no_active_configuration() -> None:
    r = size_trades(weights=np.array([A[0]]), cash_weight=np.array([A[1]]),
                    target=np.array(A[2]), target_cash=A[3], nav_usd=np.array([NAV]),
                    prices_usd=PRICES, active=np.array([False]),
                    destination=Destination.FULL, cost_fn=linear.model(3),
                    constraints=Constraints())
    assert np.all(r.trade_usd == 0.0)
    assert np.array_equal(r.post_weights, np.array([A[0]]))
    assert set(r.binding) == set(BINDING_KEYS)


def test_binding_shapes() -> None:
    r = run(*A)
    for key in BINDING_KEYS:
        assert r.binding[key].dtype == bool
        assert r.binding[key].shape in ((1, 3), (1,))


# ---------------------------------------------------------------- bad inputs


def test_band_edge_needs_band_width() -> None:
    with pytest.raises(ConfigError, match="band_width"):
        run(*A, destination=Destination.BAND_EDGE)


def test_cost_constrained_needs_risk() -> None:
    with pytest.raises(ConfigError, match="vol_annual"):
        run(*A, destination=Destination.COST_CONSTRAINED)


def test_unknown_destination() -> None:
    with pytest.raises(ConfigError, match="destination"):
        run(*A, destination="optimal")


def test_bad_weights_shape() -> None:
    with pytest.raises(ConfigError, match="weights"):
        run(*A, weights=np.array(A[0]))


def test_bad_target_shape() -> None:
    with pytest.raises(ConfigError, match="target"):
        run(*A, target=np.array([0.5, 0.45]))


def test_bad_prices_shape() -> None:
    with pytest.raises(ConfigError, match="prices_usd"):
        run(*A, prices_usd=np.array([1.0, 2.0]))


def test_bad_mask_type() -> None:
    with pytest.raises(ConfigError, match="no_buy"):
        run(*A, no_buy=np.array([0, 1, 0]))


def test_negative_band_width() -> None:
    with pytest.raises(ConfigError, match="band_width"):
        run(*A, destination=Destination.BAND_EDGE, band_width=np.array([0.05, -0.01, 0.05]))


def test_bad_gamma() -> None:
    with pytest.raises(ConfigError, match="gamma"):
        run(*A, destination=Destination.COST_CONSTRAINED, vol_annual=np.ones(3), gamma=-1.0)


def test_bad_tol() -> None:
    with pytest.raises(ConfigError, match="tol"):
        run(*A, tol=0.0)


def test_bad_max_iter() -> None:
    with pytest.raises(ConfigError, match="max_iter"):
        run(*A, max_iter=0)


def test_non_positive_nav() -> None:
    with pytest.raises(DataError, match="nav_usd"):
        run(*A, nav_usd=np.array([0.0]))


def test_weights_not_summing_to_one() -> None:
    with pytest.raises(DataError, match="weights plus cash"):
        run([0.40, 0.35, 0.20], 0.10, A[2], A[3])


def test_targets_not_summing_to_one() -> None:
    with pytest.raises(DataError, match="targets plus target cash"):
        run(A[0], A[1], [0.30, 0.30, 0.30], 0.05)


def test_runaway_cost_model_is_an_error() -> None:
    with pytest.raises(ConfigError, match="did not converge"):
        run(*A, cost_fn=Simple(2.0))


# ---------------------------------------------------------------- properties


@st.composite
def portfolios(draw: st.DrawFn, max_configs: int = 3) -> dict[str, Any]:
    """C configurations of N assets: weights, cash, targets, NAV, prices."""
    seed = draw(st.integers(0, 2**32 - 1))
    c = draw(st.integers(1, max_configs))
    n = draw(st.integers(2, 6))
    rng = np.random.default_rng(seed)
    raw = rng.exponential(1.0, (c, n + 1))
    raw[rng.random((c, n + 1)) < 0.15] = 0.0  # some empty positions
    raw[:, -1] += 1e-3
    w = raw / raw.sum(axis=1, keepdims=True)
    traw = rng.exponential(1.0, n + 1)
    t = traw / traw.sum()
    if draw(st.booleans()):  # an asset exactly on target
        w[:, 0] = t[0]
        w[:, 1:] *= (1.0 - t[0]) / w[:, 1:].sum(axis=1, keepdims=True)
    return {"weights": w[:, :n].copy(), "cash_weight": 1.0 - w[:, :n].sum(axis=1),
            "target": t[:n].copy(), "target_cash": 1.0 - t[:n].sum(),
            "nav_usd": rng.uniform(1e4, 1e8, c), "prices_usd": rng.uniform(1.0, 1000.0, n),
            "active": np.ones(c, dtype=bool), "rng": rng}


costs = st.sampled_from([linear, sqrt_like])


def _call(p: dict[str, Any], **kw: Any) -> SizingResult:
    args = {k: v for k, v in p.items() if k != "rng"}
    args.setdefault("constraints", Constraints())
    args.update(kw)
    return size_trades(**_priced(args))


@st.composite
def constraint_sets(draw: st.DrawFn) -> Constraints:
    return Constraints(
        long_only=True,
        cash_buffer=draw(st.sampled_from([0.0, 0.0, 0.02, 0.1])),
        min_trade_usd=draw(st.sampled_from([0.0, 100.0, 5000.0])),
        min_trade_shares=draw(st.sampled_from([0.0, 1.0, 10.0])),
        whole_shares=draw(st.booleans()),
        max_turnover=draw(st.sampled_from([np.inf, 0.05, 0.2])))


@given(portfolios(), costs)
def test_full_rebalance_lands_on_target_after_costs(p: dict[str, Any], cost) -> None:  # type: ignore[no-untyped-def]
    r = _call(p, destination=Destination.FULL, cost_fn=cost)
    np.testing.assert_allclose(r.post_weights, np.broadcast_to(p["target"], r.post_weights.shape),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.post_cash_weight, p["target_cash"], rtol=0, atol=1e-12)
    assert not r.binding["cash"].any()


@given(portfolios(), costs, st.sampled_from(list(Destination)), constraint_sets())
def test_cash_is_conserved_net_of_costs(p: dict[str, Any], cost, dest: Destination,  # type: ignore[no-untyped-def]
                                        cons: Constraints) -> None:
    width = np.full(len(p["target"]), 0.02)
    r = _call(p, destination=dest, cost_fn=cost, constraints=cons, band_width=width,
              vol_annual=np.full(len(p["target"]), 0.3))
    cash = p["cash_weight"] * p["nav_usd"]
    assert np.array_equal(r.post_cash_usd,
                          cash - r.trade_usd.sum(axis=1) - r.cost_usd.sum(axis=1))
    assert np.array_equal(r.post_nav_usd, p["nav_usd"] - r.cost_usd.sum(axis=1))
    np.testing.assert_allclose(r.post_weights.sum(axis=1) + r.post_cash_weight, 1.0,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.cost_usd, cost(r.trade_usd), rtol=1e-15, atol=0)
    # cash never negative, buffer held unless unreachable (then no buys at all)
    ok = ~r.binding["cash_short"]
    assert np.all(r.post_cash_usd[ok] >= cons.cash_buffer * r.post_nav_usd[ok])
    assert np.all(r.trade_usd[~ok] <= 0.0)
    assert np.all(r.post_cash_usd >= np.minimum(cash, 0.0))
    # no short appears under long-only, no sale beyond the position
    held = p["weights"] * p["nav_usd"][:, None]
    assert np.all(r.trade_usd >= -np.maximum(held, 0.0))
    assert np.all(r.post_weights[p["weights"] >= 0.0] >= 0.0)
    # minimum trade and turnover hold on the final trades
    moved = r.trade_usd != 0.0
    assert np.all(np.abs(r.trade_usd[moved]) >= cons.min_trade_usd)
    assert np.all(np.abs(r.trade_shares[moved]) >= cons.min_trade_shares * (1 - 1e-12))
    turnover = 0.5 * np.abs(r.trade_usd).sum(axis=1) / p["nav_usd"]
    assert np.all(turnover <= cons.max_turnover * (1 + 1e-12))
    if cons.whole_shares:
        assert np.array_equal(r.trade_shares, np.rint(r.trade_shares))


@given(portfolios(), costs, st.floats(0.0, 0.1))
def test_band_edge_leaves_every_asset_inside_its_band(p: dict[str, Any], cost,  # type: ignore[no-untyped-def]
                                                      width: float) -> None:
    n = len(p["target"])
    band = p["rng"].uniform(0.0, width, n)
    r = _call(p, destination=Destination.BAND_EDGE, cost_fn=cost, band_width=band)
    ok = ~r.binding["cash"]  # a cash-scaled buy may stop short of the edge
    drift = r.post_weights[ok] - p["target"]
    assert np.all(np.abs(drift) <= band + 1e-12)
    inside = np.abs(p["weights"] - p["target"]) <= band
    assert np.all(np.abs(r.trade_usd[ok & inside.all(axis=1)]) < 1e-3 * p["nav_usd"].max())


@given(portfolios(), costs)
def test_half_way_halves_each_drift(p: dict[str, Any], cost) -> None:  # type: ignore[no-untyped-def]
    r = _call(p, destination=Destination.HALF, cost_fn=cost)
    ok = ~r.binding["cash"]
    d = p["weights"] - p["target"]
    np.testing.assert_allclose(r.post_weights[ok] - p["target"], d[ok] / 2, rtol=0, atol=1e-12)


@given(portfolios(), costs)
def test_restricted_lists_are_respected(p: dict[str, Any], cost) -> None:  # type: ignore[no-untyped-def]
    n = len(p["target"])
    no_buy = p["rng"].random(n) < 0.4
    no_sell = p["rng"].random(n) < 0.4
    r = _call(p, destination=Destination.FULL, cost_fn=cost, no_buy=no_buy, no_sell=no_sell,
              constraints=Constraints(whole_shares=True, min_trade_usd=50.0))
    assert np.all(r.trade_usd[:, no_buy] <= 0.0)
    assert np.all(r.trade_usd[:, no_sell] >= 0.0)


@given(portfolios(max_configs=5), costs, st.sampled_from(list(Destination)), constraint_sets(),
       st.integers(0, 2**32 - 1))
def test_vectorized_equals_a_loop_of_single_configurations(  # type: ignore[no-untyped-def]
        p: dict[str, Any], cost, dest: Destination, cons: Constraints, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c, n = p["weights"].shape
    extra = {"band_width": np.full(n, 0.03), "vol_annual": rng.uniform(0.1, 0.5, n),
             "active": rng.random(c) < 0.8, "exclude": rng.random((c, n)) < 0.15,
             "no_buy": rng.random(n) < 0.2}
    batch = _call(p, destination=dest, cost_fn=cost, constraints=cons, **extra)
    for i in range(c):
        one = {"weights": p["weights"][i:i + 1], "cash_weight": p["cash_weight"][i:i + 1],
               "nav_usd": p["nav_usd"][i:i + 1], "active": extra["active"][i:i + 1],
               "exclude": extra["exclude"][i:i + 1]}
        r = _call({**p, **one}, destination=dest, cost_fn=cost, constraints=cons,
                  band_width=extra["band_width"], vol_annual=extra["vol_annual"],
                  no_buy=extra["no_buy"])
        if dest is Destination.OPTIMIZED:
            # an optimized row's active-set solve starts from the last answer of its
            # settings (policy.optimize.warm_solve), kept only when it passes the KKT check:
            # the same optimum, to the last bits of Newton's method, not bit for bit
            for name in ("trade_usd", "trade_shares", "cost_usd", "post_weights",
                         "post_nav_usd", "post_cash_weight", "post_cash_usd"):
                scale = 1.0 if name in ("post_weights", "post_cash_weight") else float(
                    p["nav_usd"][i])
                np.testing.assert_allclose(getattr(batch, name)[i], getattr(r, name)[0],
                                           rtol=0.0, atol=1e-9 * scale, err_msg=name)
            continue
        for name in ("trade_usd", "trade_shares", "cost_usd", "post_weights"):
            np.testing.assert_array_equal(getattr(batch, name)[i], getattr(r, name)[0], name)
        for name in ("post_nav_usd", "post_cash_weight", "post_cash_usd"):
            assert getattr(batch, name)[i] == getattr(r, name)[0], name
        for key in BINDING_KEYS:
            np.testing.assert_array_equal(batch.binding[key][i], r.binding[key][0], key)


def test_cost_model_must_be_row_costs() -> None:
    with pytest.raises(ConfigError, match=r"cost_fn must be a driftwise\.costs\.RowCosts"):
        size_trades(weights=np.array([A[0]]), cash_weight=np.array([A[1]]),
                    target=np.array(A[2]), target_cash=A[3], nav_usd=np.array([NAV]),
                    prices_usd=PRICES, active=np.array([True]), destination=Destination.FULL,
                    cost_fn=lambda tr: 0.001 * np.abs(tr),  # type: ignore[arg-type]
                    constraints=Constraints())
