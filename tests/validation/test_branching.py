"""The fork-and-follow kernel on constructed paths with known answers."""

from __future__ import annotations

import dataclasses
from unittest import mock

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from driftwise.config.assemble import build_rule, cost_params
from driftwise.costs import CostParams
from driftwise.validation import branching
from driftwise.validation.branching import (
    Branch,
    EventRisk,
    Fork,
    branch_rule,
    simulate_branch,
    simulate_forks,
    trade_on_day,
)
from driftwise.validation.events import Portfolio

from .conftest import make_portfolio, random_prices, small_config

EXACT = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0}


def _two_asset_jump():  # type: ignore[no-untyped-def]
    # A0 stays at 100; A1 doubles on day 10 and stays there
    prices = np.full((40, 2), 100.0)
    prices[10:, 1] = 200.0
    return make_portfolio(prices, np.full(40, 15.0), np.array([0.5, 0.5]))


def _flat(bps: float, *, by_regime: bool = False) -> CostParams:
    return dataclasses.replace(cost_params(small_config()), flat_cost_bps=bps,
                               scale_flat_by_regime=by_regime)


def test_act_now_lands_on_target_after_costs() -> None:
    pf = _two_asset_jump()
    rule = branch_rule(build_rule(small_config(**EXACT)))
    shares = np.array([[5000.0, 5000.0]])  # on target at 100/100 with NAV 1e6
    trade = np.zeros((1, 6), dtype=bool)
    trade[0, 0] = True
    out = simulate_branch(pf, rule, _flat(10.0), np.array([12]), shares, np.zeros(1),
                          Branch(trade))
    # NAV 1.5e6 at weights 1/3, 2/3: the traded value is 500k whatever the cost, cost 500
    assert out.nav0_usd[0] == pytest.approx(1.5e6)
    assert out.cost_usd[0, 0] == pytest.approx(500.0, rel=1e-12)
    assert out.traded_usd[0, 0] == pytest.approx(5e5, rel=1e-12)
    assert out.nav_usd[0] == pytest.approx(np.full(6, 1.5e6 - 500.0), rel=1e-12)
    assert out.drift[0] == pytest.approx(np.zeros(6), abs=1e-12)
    assert out.cost_usd[0, 1:] == pytest.approx(np.zeros(5))


def test_hold_branch_is_buy_and_hold() -> None:
    pf = _two_asset_jump()
    rule = branch_rule(build_rule(small_config(**EXACT)))
    shares = np.array([[5000.0, 5000.0]])
    out = simulate_branch(pf, rule, _flat(10.0), np.array([8]), shares, np.zeros(1),
                          Branch(np.zeros((1, 5), dtype=bool)))
    # days 8, 9 at 1e6; from day 10 the second asset doubled
    assert out.nav_usd[0] == pytest.approx([1e6, 1e6, 1.5e6, 1.5e6, 1.5e6])
    assert out.drift[0] == pytest.approx([0.0, 0.0, 1 / 6, 1 / 6, 1 / 6])
    assert out.cost_usd[0] == pytest.approx(np.zeros(5))


def test_delayed_trade_pays_the_regime_of_its_day() -> None:
    # flat 10 bps scaled by regime: VIX 40 (x2.5) on the event day, 15 (x1) ten days later
    prices = np.full((40, 2), 100.0)
    prices[10:, 1] = 200.0
    vix = np.where(np.arange(40) < 20, 40.0, 15.0)
    pf = make_portfolio(prices, vix, np.array([0.5, 0.5]))
    rule = branch_rule(build_rule(small_config(**EXACT)))
    trade_now = np.zeros((1, 13), dtype=bool)
    trade_now[0, 0] = True
    trade_later = np.zeros((1, 13), dtype=bool)
    trade_later[0, 10] = True
    args = (pf, rule, _flat(10.0, by_regime=True), np.array([12]),
            np.array([[5000.0, 5000.0]]), np.zeros(1))
    now = simulate_branch(*args, Branch(trade_now))
    later = simulate_branch(*args, Branch(trade_later))
    assert now.cost_usd[0, 0] == pytest.approx(2.5 * 500.0, rel=1e-12)
    assert later.cost_usd[0, 10] == pytest.approx(500.0, rel=1e-12)
    assert later.te_annual[0, :10].min() >= now.te_annual[0, :10].max()


def test_restricted_branch_trades_only_its_asset() -> None:
    prices = random_prices(60, np.array([0.2, 0.5, 0.3]), seed=2)
    pf = make_portfolio(prices, np.full(60, 15.0), np.array([0.3, 0.3, 0.4]))
    rule = branch_rule(build_rule(small_config(**EXACT)))
    shares = np.array([[3000.0, 1000.0, 4000.0]])
    cash = np.array([5e5])  # enough cash for the buy (sizing never lets cash go negative)
    assets = np.array([[False, True, False]])
    trade = np.zeros((1, 3), dtype=bool)
    trade[0, 0] = True
    t0 = 30
    out = simulate_branch(pf, rule, _flat(10.0), np.array([t0]), shares, cash,
                          Branch(trade, assets))
    # oracle: trade asset 1 alone to 0.3 of the post-cost NAV V', with V' = NAV - c |x|
    p = pf.history.prices[t0]
    nav = float((shares[0] * p).sum() + cash[0])
    h1 = shares[0, 1] * p[1]
    c = 1e-3
    sell = h1 > 0.3 * nav
    post = (nav - c * h1) / (1 - c * 0.3) if sell else (nav + c * h1) / (1 + c * 0.3)
    assert out.nav_usd[0, 0] == pytest.approx(post, rel=1e-12)
    assert out.cost_usd[0, 0] == pytest.approx(c * abs(0.3 * post - h1), rel=1e-9)
    held_after = shares[0] * p
    assert out.traded_usd[0, 0] == pytest.approx(abs(0.3 * post - held_after[1]), rel=1e-9)


def test_vectorized_equals_one_event_at_a_time() -> None:
    prices = random_prices(90, np.array([0.15, 0.45, 0.3, 0.6]), seed=9)
    vix = 15.0 + 25.0 * (np.sin(np.arange(90) / 6.0) > 0.3)
    pf = make_portfolio(prices, vix, np.array([0.25, 0.25, 0.25, 0.2]), 0.05)
    rule = branch_rule(build_rule(small_config()))
    params = cost_params(small_config())
    rng = np.random.default_rng(0)
    t0 = np.array([20, 20, 33, 41, 41, 41, 60, 75])
    shares = rng.uniform(500.0, 3000.0, (len(t0), 4))
    cash = rng.uniform(0.0, 1e5, len(t0))
    trade = rng.random((len(t0), 11)) < 0.2
    trade[:, 0] = True
    assets = rng.random((len(t0), 4)) < 0.7
    together = simulate_branch(pf, rule, params, t0, shares, cash, Branch(trade, assets))
    for e in range(len(t0)):
        alone = simulate_branch(pf, rule, params, t0[e:e + 1], shares[e:e + 1], cash[e:e + 1],
                                Branch(trade[e:e + 1], assets[e:e + 1]))
        for name in ("nav_usd", "cost_usd", "traded_usd", "te_annual", "drift"):
            np.testing.assert_allclose(getattr(together, name)[e], getattr(alone, name)[0],
                                       rtol=1e-12, atol=1e-9, equal_nan=True)


def test_days_past_the_data_are_nan() -> None:
    pf = _two_asset_jump()
    rule = branch_rule(build_rule(small_config(**EXACT)))
    out = simulate_branch(pf, rule, _flat(10.0), np.array([37]), np.array([[1.0, 1.0]]),
                          np.zeros(1), Branch(np.zeros((1, 6), dtype=bool)))
    assert np.isfinite(out.nav_usd[0, :3]).all()
    assert np.isnan(out.nav_usd[0, 3:]).all()


def test_trade_on_day_sizes_many_portfolios_in_one_call() -> None:
    pf = _two_asset_jump()
    rule = branch_rule(build_rule(small_config(**EXACT)))
    shares = np.array([[5000.0, 5000.0], [2000.0, 8000.0], [6000.0, 1000.0]])
    cash = np.array([0.0, 1e4, 5e4])
    d_shares, d_usd, cost = trade_on_day(pf, rule, _flat(10.0), 12, shares, cash)
    price = pf.history.prices[12]
    held = (shares + d_shares) * price
    cash_after = cash - d_usd.sum(axis=1) - cost.sum(axis=1)
    nav = held.sum(axis=1) + cash_after
    assert held / nav[:, None] == pytest.approx(np.full((3, 2), 0.5), abs=1e-12)
    assert cost.sum(axis=1) == pytest.approx(1e-3 * np.abs(d_usd).sum(axis=1), rel=1e-12)


def test_event_risk_uses_the_event_day() -> None:
    prices = random_prices(60, np.array([0.2, 0.5]), seed=3)
    pf = make_portfolio(prices, np.full(60, 15.0), np.array([0.5, 0.5]))
    risk = EventRisk(pf, np.array([20, 40]))
    d = np.array([[0.1, -0.1], [0.1, -0.1]])
    expected = np.sqrt(((d * pf.history.vol_annual[[20, 40]]) ** 2).sum(axis=1))
    assert risk.te(d) == pytest.approx(expected, rel=1e-12)


def _fork(rng: np.random.Generator, params: CostParams, n_days: int, width: int,
          n_events: int, n_branches: int, with_assets: bool, *, first: int = 15,
          last: int | None = None) -> Fork:
    t0 = rng.integers(first, n_days - 5 if last is None else last, n_events)
    shares = rng.uniform(500.0, 3000.0, (n_events, 4))
    cash = rng.uniform(0.0, 1e5, n_events)
    branches = []
    for _ in range(n_branches):
        trade = rng.random((n_events, width)) < 0.3
        # some rows may trade no asset at all (an empty mask)
        assets = rng.random((n_events, 4)) < rng.uniform(0.2, 0.9) if with_assets else None
        branches.append(Branch(trade, assets))
    return Fork(params, t0, shares, cash, tuple(branches))


def _trade_steps(pf: Portfolio, forks: list[Fork]) -> list[int]:
    """The calendar day of each distinct (days since the event, calendar day) on which some
    row of some fork trades within the data: one sizing call each when stacked."""
    steps: set[tuple[int, int]] = set()
    for fork in forks:
        for branch in fork.branches:
            e, k = np.nonzero(branch.trade)
            day = fork.t0[e] + k
            live = day < pf.history.n_days
            steps.update(zip(k[live].tolist(), day[live].tolist(), strict=True))
    return sorted(day for _, day in steps)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), whole_shares=st.booleans())
@example(seed=65536, whole_shares=False)  # a row of no tradable asset, alone on a day
def test_forks_simulated_together_equal_each_fork_alone(seed: int, whole_shares: bool) -> None:
    """Stacking forks of other cost models, widths, ends and asset masks changes no number
    of a fork (to the bit): every step is row by row, each row priced with its own model.
    The stacking is real: one sizing call per step and calendar day, whatever the fork."""
    rng = np.random.default_rng(seed)
    n_days = 90
    prices = random_prices(n_days, np.array([0.15, 0.45, 0.3, 0.6]), seed=seed % 7 + 1)
    vix = np.where(np.sin(np.arange(n_days) / 6.0) > 0.3, 40.0, 15.0)
    pf = make_portfolio(prices, vix, np.array([0.25, 0.25, 0.25, 0.2]), 0.05)
    config = small_config(**{"constraints.whole_shares": whole_shares})
    rule = branch_rule(build_rule(config))
    model = cost_params(config)
    forks = [_fork(rng, params, n_days, width, int(rng.integers(1, 6)),
                   int(rng.integers(1, 3)), bool(rng.random() < 0.5))
             for params, width in ((model, 12), (_flat(10.0), 30), (model, 5),
                                   (_flat(50.0, by_regime=True), 12))]
    # the same events again: a hold branch of another width and a copy of a trading branch
    # of the first fork under another cost model (followed once each, in the stack)
    first = forks[0]
    forks.append(Fork(_flat(20.0), first.t0, first.shares, first.cash_usd,
                      (Branch(np.zeros((len(first.t0), 40), dtype=bool)),
                       first.branches[0])))
    # events whose branches reach past the last day of the data
    forks.append(_fork(rng, _flat(20.0), n_days, 25, int(rng.integers(1, 4)), 2, True,
                       first=n_days - 12, last=n_days))
    with mock.patch.object(branching, "_size_rows", wraps=branching._size_rows) as sized:
        together = simulate_forks(pf, rule, forks)
    days = [int(call.args[2]) for call in sized.call_args_list]
    assert sorted(days) == _trade_steps(pf, forks)  # every fork's rows of a step in one call
    for fork, paths in zip(forks, together, strict=True):
        assert len(paths) == len(fork.branches)
        for branch, path in zip(fork.branches, paths, strict=True):
            alone = simulate_branch(pf, rule, fork.params, fork.t0, fork.shares, fork.cash_usd,
                                    branch)
            for name in ("nav0_usd", "nav_usd", "cost_usd", "traded_usd", "te_annual", "drift"):
                np.testing.assert_array_equal(getattr(path, name), getattr(alone, name))
    last = forks[-1]
    assert np.isnan(together[-1][0].nav_usd[last.t0 + 24 >= n_days, -1]).all()


def test_a_row_of_no_tradable_asset_trades_nothing_alone_or_among_others() -> None:
    """The case behind the stacked/alone mismatch: a row whose asset mask is empty.

    Sizing read an empty ``assets`` mask of the whole call as "no restriction", so such a
    row traded every asset when it was sized alone and nothing beside another row."""
    prices = random_prices(40, np.array([0.2, 0.5, 0.3]), seed=4)
    pf = make_portfolio(prices, np.full(40, 15.0), np.array([0.3, 0.3, 0.4]))
    rule = branch_rule(build_rule(small_config(**EXACT)))
    shares = np.array([[3000.0, 1000.0, 4000.0], [1000.0, 3000.0, 2000.0]])
    cash = np.array([5e4, 1e4])
    assets = np.array([[False, False, False], [True, False, True]])
    alone = branching.size_on_day(pf, rule, _flat(10.0), 30, shares[:1], cash[:1], assets[:1])
    both = branching.size_on_day(pf, rule, _flat(10.0), 30, shares, cash, assets)
    assert (alone.trade_usd == 0.0).all() and (alone.cost_usd == 0.0).all()
    np.testing.assert_array_equal(both.trade_usd[0], alone.trade_usd[0])
    assert (both.trade_usd[1, [0, 2]] != 0.0).all() and both.trade_usd[1, 1] == 0.0
    # followed over days, the empty row is buy and hold whether another fork trades with it
    # on its trade days or not, and its events reach past the end of the data
    t0 = np.array([30, 36])
    trade = np.zeros((2, 8), dtype=bool)
    trade[:, [0, 2]] = True
    empty = Fork(_flat(10.0), t0, shares, cash, (Branch(trade, np.zeros((2, 3), dtype=bool)),))
    other = Fork(_flat(40.0), t0, shares[::-1].copy(), cash[::-1].copy(),
                 (Branch(trade, np.ones((2, 3), dtype=bool)),))
    stacked = simulate_forks(pf, rule, [empty, other])[0][0]
    single = simulate_branch(pf, rule, empty.params, t0, shares, cash, empty.branches[0])
    hold = simulate_branch(pf, rule, empty.params, t0, shares, cash,
                           Branch(np.zeros((2, 8), dtype=bool)))
    for name in ("nav0_usd", "nav_usd", "cost_usd", "traded_usd", "te_annual", "drift"):
        np.testing.assert_array_equal(getattr(stacked, name), getattr(single, name))
        np.testing.assert_array_equal(getattr(single, name), getattr(hold, name))
    assert np.isnan(stacked.nav_usd[1, 4:]).all() and np.isfinite(stacked.nav_usd[1, :4]).all()


def test_rows_of_the_same_path_are_followed_once() -> None:
    """Hold branches of one event under several cost models and widths, and equal trading
    rows, are one row of the stack each, cut to each branch's width."""
    prices = random_prices(60, np.array([0.2, 0.5, 0.3]), seed=6)
    pf = make_portfolio(prices, np.full(60, 15.0), np.array([0.3, 0.3, 0.4]))
    rule = branch_rule(build_rule(small_config(**EXACT)))
    t0 = np.array([20, 31])
    shares = np.array([[3000.0, 1000.0, 4000.0], [1000.0, 3000.0, 2000.0]])
    cash = np.array([5e4, 1e4])
    trade = np.zeros((2, 10), dtype=bool)
    trade[:, 3] = True
    forks = [Fork(_flat(bps), t0, shares, cash,
                  (Branch(np.zeros((2, width), dtype=bool)), Branch(trade)))
             for bps, width in ((10.0, 12), (30.0, 25), (10.0, 5))]
    with mock.patch.object(branching, "EventRisk", wraps=branching.EventRisk) as risk:
        together = simulate_forks(pf, rule, forks)
    # one hold row per event, one trading row per event and cost model
    assert len(risk.call_args.args[1]) == 2 + 2 * 2
    for fork, paths in zip(forks, together, strict=True):
        for branch, path in zip(fork.branches, paths, strict=True):
            alone = simulate_branch(pf, rule, fork.params, t0, shares, cash, branch)
            for name in ("nav0_usd", "nav_usd", "cost_usd", "traded_usd", "te_annual", "drift"):
                np.testing.assert_array_equal(getattr(path, name), getattr(alone, name))
    assert together[1][0].nav_usd.shape == (2, 25) and together[2][0].nav_usd.shape == (2, 5)


def test_forks_grouped_by_the_cell_bound_give_the_same_paths(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    prices = random_prices(90, np.array([0.15, 0.45, 0.3, 0.6]), seed=2)
    pf = make_portfolio(prices, np.full(90, 20.0), np.array([0.25, 0.25, 0.25, 0.2]), 0.05)
    rule = branch_rule(build_rule(small_config()))
    forks = [_fork(rng, _flat(bps), 90, width, 4, 2, False)
             for bps, width in ((10.0, 20), (20.0, 8), (50.0, 30))]
    one_group = simulate_forks(pf, rule, forks)
    monkeypatch.setattr(branching, "JOINT_CELLS", 1)  # every fork its own group
    groups = simulate_forks(pf, rule, forks)
    for a, b in zip(one_group, groups, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x.nav_usd, y.nav_usd)
            np.testing.assert_array_equal(x.cost_usd, y.cost_usd)
    assert [len(p) for p in groups] == [2, 2, 2]
    assert groups[2][0].nav_usd.shape == (4, 30)
