"""The four rules on constructed markets where the answer is known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from driftwise.config import Config
from driftwise.config.assemble import build_rule, cost_params
from driftwise.costs import CostParams
from driftwise.validation.branching import branch_rule
from driftwise.validation.events import Portfolio, make_paths, path_days, rebalance_cost
from driftwise.validation.rules import (
    RuleInput,
    Thresholds,
    delay_days,
    measure_rule1,
    measure_rule2,
    measure_rule3,
    measure_rule4,
    vix_regime_label,
)

from .conftest import make_portfolio, random_prices, small_config

EXACT = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0}
START = 25  # a path from row 25 (2019-02-07) to the review on 2019-04-01 (row 61)
REVIEW = 61


def _input(pf: Portfolio, params: CostParams, config: Config | None = None) -> RuleInput:
    cfg = config or small_config(**EXACT)
    paths = make_paths(pf, 1e6, starts=np.array([START]))
    assert paths.review.tolist() == [REVIEW]
    days = path_days(pf, paths)
    cost = rebalance_cost(days, pf.history, params)
    return RuleInput(pf, paths, days, cost, params, branch_rule(build_rule(cfg)))


def _flat(bps: float, *, by_regime: bool = False) -> CostParams:
    return dataclasses.replace(cost_params(small_config()), flat_cost_bps=bps,
                               scale_flat_by_regime=by_regime)


def _stress_market() -> Portfolio:
    # A1 jumps 15% on day 31 (drift 3.5%), then nothing moves; VIX 40 until day 44, then 15
    prices = np.full((80, 2), 100.0)
    prices[31:, 1] = 115.0
    vix = np.where(np.arange(80) <= 44, 40.0, 15.0)
    return make_portfolio(prices, vix, np.array([0.5, 0.5]))


def test_delay_days_oracle() -> None:
    vix = np.array([40.0] * 30 + [25.0] * 3 + [35.0] * 10 + [np.nan] * 5 + [18.0] * 20)
    limits = Thresholds()
    t0 = np.arange(0, 40)
    got = delay_days(vix, t0, limits)
    for e, t in enumerate(t0.tolist()):
        expected = 20
        for k in range(10, 21):
            day = min(t + k, len(vix) - 1)
            if np.isfinite(vix[day]) and vix[day] < 30.0:
                expected = k
                break
        assert got[e] == expected


def test_rule4_delay_cuts_costs_by_the_vix_multiplier() -> None:
    frame = measure_rule4(_input(_stress_market(), _flat(10.0, by_regime=True)))
    assert frame["day"].tolist() == [31, 35, 40]
    assert frame["delay_days"].tolist() == [14, 10, 10]
    # the same trade at x2.5 now and at x1 after the delay: a 60% cut
    assert frame["effect"].to_numpy() == pytest.approx(np.full(3, 0.6), rel=1e-12)
    assert frame["hit"].all()
    assert (frame["cost_now_bps"] / frame["cost_delay_bps"]).to_numpy() == pytest.approx(
        np.full(3, 2.5))


def test_rule4_without_vix_scaling_saves_nothing() -> None:
    frame = measure_rule4(_input(_stress_market(), _flat(10.0)))
    assert frame["effect"].to_numpy() == pytest.approx(np.zeros(3), abs=1e-12)
    assert not frame["hit"].any()


def test_rule4_needs_stress() -> None:
    pf = _stress_market()
    calm = dataclasses.replace(pf.history, vix=np.full(80, 15.0))
    frame = measure_rule4(_input(dataclasses.replace(pf, history=calm), _flat(10.0)))
    assert len(frame) == 0


def test_rule1_rebalancing_cuts_the_te_of_the_wait() -> None:
    prices = random_prices(80, np.array([0.05, 0.05]), seed=3)
    prices[31:, 1] *= 1.25
    pf = make_portfolio(prices, np.full(80, 15.0), np.array([0.5, 0.5]))
    frame = measure_rule1(_input(pf, cost_params(small_config())))
    assert frame["day"].tolist()[:3] == [31, 35, 40]
    assert (frame["days_to_review"] == REVIEW - frame["day"]).all()
    assert frame["hit_te"].all()
    assert (frame["effect"] > 0.9).all()
    assert (frame["hit"] == frame["hit_te"] & frame["hit_return"]).all()


def _oscillating_market() -> tuple[Portfolio, np.ndarray]:
    n = 90
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    steps = np.stack([1.0 + 0.005 * sign, 1.0 - 0.005 * sign, 1.04 ** sign], axis=1)
    steps[0] = 1.0
    prices = 50.0 * np.cumprod(steps, axis=0)
    prices[31:, 2] *= 1.5
    target = np.full(3, 1.0 / 3.0)
    return make_portfolio(prices, np.full(n, 15.0), target), target


def test_rule2_benefit_oracle() -> None:
    pf, target = _oscillating_market()
    inp = _input(pf, _flat(10.0))
    frame = measure_rule2(inp)
    assert set(frame["asset"]) == {"A2"}
    assert frame["day"].tolist() == [31, 35, 40, 45, 50, 55, 60]
    h, c, horizon = pf.history, 1e-3, 21
    shares0 = inp.paths.shares[0]
    for _, row in frame.iterrows():
        t0 = int(row["day"])
        p = h.prices[t0]
        nav = float(shares0 @ p)
        h2 = shares0[2] * p[2]
        post = (nav - c * h2) / (1 - c * target[2])  # a sale of the overweight asset
        shares_now = shares0.copy()
        shares_now[2] = target[2] * post / p[2]
        cash_now = (h2 - target[2] * post) * (1 - c)
        vol = h.vol_annual[t0]
        gain = 0.0
        for k in range(horizon):
            pk = h.prices[t0 + k]
            for shares, cash, sign in ((shares0, 0.0, 1.0), (shares_now, cash_now, -1.0)):
                values = shares * pk
                w = values / (values.sum() + cash)
                gain += sign * float(np.sum(((w - target) * vol) ** 2))
        ce = 2.0 / 2.0 * gain / 252.0
        assert row["trade_cost_bps"] == pytest.approx(1e4 * c * (h2 - target[2] * post) / nav,
                                                      rel=1e-9)
        assert row["benefit_ce_bps"] == pytest.approx(1e4 * ce, rel=1e-9)
        assert row["hit"] == (ce >= 2.0 * c * (h2 - target[2] * post) / nav)
        assert row["breakeven_gamma"] == pytest.approx(2.0 * row["trade_cost_bps"]
                                                       / (row["benefit_ce_bps"] / 2.0), rel=1e-9)


def test_rule3_sharpe_oracle() -> None:
    prices = random_prices(330, np.array([0.15, 0.6, 0.3, 0.45]), seed=8)
    pf = make_portfolio(prices, np.full(330, 18.0), np.array([0.25, 0.25, 0.25, 0.25]))
    params = cost_params(small_config())
    paths = make_paths(pf, 1e6, starts=np.array([25, 45]))
    days = path_days(pf, paths)
    cost = rebalance_cost(days, pf.history, params)
    limits = Thresholds(r3_te_reduction=0.005)
    inp = RuleInput(pf, paths, days, cost, params, branch_rule(build_rule(small_config())),
                    limits=limits)
    frame = measure_rule3(inp)
    assert len(frame) > 0
    for _, row in frame.iterrows():
        t0 = int(row["day"])
        shares = paths.shares[int(row["path"])]
        nav = pf.history.prices[t0: t0 + 253] @ shares
        r = nav[1:] / nav[:-1] - 1.0
        sharpe = r.mean() / r.std(ddof=1) * np.sqrt(252.0)
        assert row["sharpe_hold"] == pytest.approx(sharpe, rel=1e-9)
        assert row["effect"] == pytest.approx(row["sharpe_now"] - row["sharpe_hold"], rel=1e-12)
        assert row["hit"] == (row["effect"] >= 0.1)
        assert row["te_before"] >= 0.005


def test_vix_regime_labels() -> None:
    labels = vix_regime_label(np.array([12.0, 20.0, 29.99, 30.0, np.nan]))
    assert labels.tolist() == ["< 20", "20-30", "20-30", "> 30", "unknown"]
