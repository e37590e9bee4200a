"""The day's decision: illiquid assets (compiled) against their numpy formula."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.costs import RowCosts
from driftwise.policy.context import DayContext
from driftwise.policy.rule import AssetDay, Rule, illiquid_assets
from driftwise.policy.triggers import DriftThreshold


def _oracle(w: np.ndarray, t: np.ndarray, nav: np.ndarray, prices: np.ndarray,
            adv: np.ndarray, rule: Rule) -> np.ndarray:
    """SPEC: ADV in USD below the minimum, or more liquidity days than allowed, for the
    full-rebalance trade ``-(w - t) NAV / price`` (unknown ADV is not illiquid)."""
    shares = -(w - t) * nav[:, None] / prices
    q = np.abs(shares)
    with np.errstate(divide="ignore", invalid="ignore"):
        days = np.where(q == 0.0, 0.0, q / (rule.participation * adv))
    thin = adv * prices < rule.min_adv_usd
    return np.asarray((thin | (days > rule.max_liquidity_days)) & (shares != 0.0))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_illiquid_assets_equal_the_formula(n_rows: int, n_assets: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(n_assets + 1), n_rows)[:, :-1]
    t = rng.dirichlet(np.ones(n_assets + 1))[:-1]
    w[:, 0] = t[0]  # an asset already on target: no trade, never illiquid
    nav = rng.uniform(1e5, 1e9, n_rows)
    prices = rng.uniform(1.0, 500.0, n_assets)
    adv = rng.choice([0.0, np.nan, 1e3, 1e5, 1e7], n_assets)
    rule = Rule(trigger=DriftThreshold(), min_adv_usd=float(rng.choice([0.0, 1e6])),
                max_liquidity_days=float(rng.choice([1.0, 10.0])),
                participation=float(rng.choice([0.05, 0.1, 1.0])))
    ctx = DayContext(date=np.datetime64("2024-01-02"), weights=w, cash_weight=1.0 - w.sum(axis=1),
                     target=t, target_cash=1.0 - float(t.sum()), nav_usd=nav,
                     vol_annual=np.full(n_assets, 0.2), band_width=np.full(n_assets, 0.05),
                     full_cost_usd=lambda x: np.zeros(len(x)))
    day = AssetDay(prices_usd=prices, adv_shares=adv, no_buy=np.zeros(n_assets, dtype=bool),
                   no_sell=np.zeros(n_assets, dtype=bool),
                   cost_fn=RowCosts.simple(n_assets, rate=0.001))
    got = illiquid_assets(rule, ctx, day)
    np.testing.assert_array_equal(got, _oracle(w, t, nav, prices, adv, rule))
    assert not got[:, 0].any()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(2, 8), st.integers(0, 2**32 - 1), st.booleans(),
       st.sampled_from(["full", "optimized"]))
def test_a_step_not_weighed_trades_the_same(n_rows: int, n_assets: int, seed: int,
                                            skip: bool, destination: str) -> None:
    """``step(..., weigh=False)`` (the backtest engine): the same trades to the bit; its
    cost, benefit and TE NaN unless the rule's cost-benefit skip needs them."""
    from driftwise.policy.destination import Destination
    from driftwise.policy.rule import step

    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(n_assets + 1), n_rows)[:, :-1]
    t = rng.dirichlet(np.ones(n_assets + 1))[:-1]
    a = rng.normal(0.0, 0.2, (n_assets, n_assets))
    ctx = DayContext(date=np.datetime64("2024-01-02"), weights=w,
                     cash_weight=1.0 - w.sum(axis=1), target=t, target_cash=1.0 - float(t.sum()),
                     nav_usd=rng.uniform(1e5, 1e8, n_rows), vol_annual=np.full(n_assets, 0.2),
                     band_width=np.full(n_assets, 0.05),
                     cov_annual=a @ a.T + 0.01 * np.eye(n_assets),
                     full_cost_usd=lambda x: np.zeros(len(x)))
    day = AssetDay(prices_usd=rng.uniform(5.0, 500.0, n_assets),
                   adv_shares=np.full(n_assets, 1e7),
                   no_buy=np.zeros(n_assets, dtype=bool), no_sell=np.zeros(n_assets, dtype=bool),
                   cost_fn=RowCosts.simple(n_assets, rate=float(rng.choice([1e-4, 5e-3])),
                                           terms=[(2e-6, 1.5)]))
    def rule() -> Rule:  # each its own optimizer settings: no warm start from the other
        return Rule(trigger=DriftThreshold(0.01), destination=Destination(destination),
                    skip_if_cost_exceeds_benefit=skip)
    weighed, fast = step(rule(), ctx, day), step(rule(), ctx, day, weigh=False)
    for name in ("trade_usd", "trade_shares", "cost_usd", "post_cash_usd", "post_weights"):
        assert getattr(weighed.sizing, name).tobytes() == getattr(fast.sizing, name).tobytes()
    np.testing.assert_array_equal(weighed.traded, fast.traded)
    np.testing.assert_array_equal(weighed.skipped_for_cost, fast.skipped_for_cost)
    if skip:  # the skip weighs: every figure as weighed
        assert weighed.te_after.tobytes() == fast.te_after.tobytes()
        assert weighed.cost_fraction.tobytes() == fast.cost_fraction.tobytes()
    else:
        assert np.isnan(fast.te_after).all() and np.isnan(fast.cost_fraction).all()
        assert np.isnan(fast.benefit).all() and np.isnan(fast.te_before).all()
