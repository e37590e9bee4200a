"""Many accounts planned together equal each planned alone.

``plan_accounts`` takes every account through the planner's own steps and builds the
execution schedules of a chunk of accounts in one call; each plan must be the one
``make_plan`` gives the account alone: decision, reasons, checks, figures, trade list,
child orders, schedule summary and notices, to the bit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from driftwise.app.batch import build_schedules, plan_accounts
from driftwise.app.plan import Plan, make_plan, plan_steps
from driftwise.calendar import nyse_sessions
from driftwise.config import default_config
from driftwise.config.model import Config
from driftwise.costs import read_cost_inputs
from driftwise.data.model import (
    Holdings,
    Inputs,
    MarketData,
    SecurityMaster,
    TargetLevel,
    Targets,
)

DAY = "2021-04-20"


def _market(seed: int, n_assets: int = 40) -> MarketData:
    """A year and a half of prices and volumes; a quarter of the assets thinly traded, so
    that some trades take several sessions."""
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(nyse_sessions("2019-10-01", DAY), name="date")
    tickers = pd.Index([f"S{i:02d}" for i in range(n_assets)], name="ticker")
    returns = rng.normal(0.0003, 0.012, (len(dates), n_assets))
    prices = pd.DataFrame(30.0 * np.exp(np.cumsum(returns, axis=0)), index=dates,
                          columns=tickers)
    scale = np.where(np.arange(n_assets) % 4 == 0, 5e4, 2e6)
    volumes = pd.DataFrame(rng.uniform(0.5, 1.5, prices.shape) * scale, index=dates,
                           columns=tickers)
    return MarketData(prices=prices, volumes=volumes, vix=pd.Series(22.0, index=dates))


def _book(market: MarketData, seed: int, accounts: int) -> dict[str, Holdings]:
    """Random accounts: 5 to 25 holdings each, drifted, USD 0.1-10 M, some cash."""
    rng = np.random.default_rng(seed)
    last = market.prices.loc[DAY]
    names = np.asarray(market.prices.columns, dtype=object)
    out = {}
    for a in range(accounts):
        held = sorted(rng.choice(names, size=int(rng.integers(5, 26)), replace=False))
        nav = float(rng.uniform(1e5, 1e7))
        weights = rng.dirichlet(np.full(len(held), float(rng.uniform(1.0, 20.0)))) * 0.97
        shares = np.floor(weights * nav / last[held].to_numpy())
        out[f"a{a:02d}"] = Holdings(
            shares=pd.Series(shares, index=pd.Index(held, name="ticker"), name="shares"),
            cash_usd=float(rng.uniform(0.0, 0.06)) * nav)
    return out


def _inputs(market: MarketData, first: Holdings) -> Inputs:
    tickers = pd.Index(market.prices.columns, name="ticker")
    costs = read_cost_inputs(pd.DataFrame({
        "ticker": tickers, "spread_bps": np.linspace(1.0, 12.0, len(tickers)),
        "commission_bps": 1.0, "as_of": DAY}))
    master = SecurityMaster(frame=pd.DataFrame({
        "sector": [f"S{i % 5}" for i in range(len(tickers))], "asset_class": "Equity",
        "market_cap_usd": 1e10}, index=tickers))
    return Inputs(holdings=first,
                  targets=Targets(level=TargetLevel.ASSET,
                                  weights=pd.Series(0.97 / len(first.shares),
                                                    index=first.shares.index),
                                  cash_weight=0.03),
                  master=master, market=market, last_rebalance=pd.Timestamp("2021-01-04"),
                  costs=costs)


def _config(style: str, order_type: str, skip: bool = True) -> Config:
    return default_config().with_overrides({
        "portfolio.default_target": "equal", "execution.style": style,
        "execution.order_type": order_type, "execution.multi_day_after_days": 0.05,
        "policy.skip_if_cost_exceeds_benefit": skip})


def _same_figure(a: object, b: object) -> bool:
    """Equal figures, NaN equal to NaN (two plans' NaN are different objects)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def assert_same_plan(got: Plan, alone: Plan) -> None:
    """Every part of two plans equal, frames to the bit."""
    assert got.decision is alone.decision
    assert got.delay_until == alone.delay_until
    assert got.reasons == alone.reasons
    assert got.checks == alone.checks
    for mine, theirs in ((got.before, alone.before), (got.after, alone.after)):
        assert list(mine) == list(theirs)
        assert all(_same_figure(mine[k], theirs[k]) for k in mine), (mine, theirs)
    assert got.notices == alone.notices
    assert (got.rule, got.nav_usd, got.as_of) == (alone.rule, alone.nav_usd, alone.as_of)
    pd.testing.assert_frame_equal(got.trades, alone.trades, check_exact=True)
    assert (got.schedule is None) == (alone.schedule is None)
    if got.schedule is not None and alone.schedule is not None:
        pd.testing.assert_frame_equal(got.schedule.child_orders, alone.schedule.child_orders,
                                      check_exact=True)
        pd.testing.assert_frame_equal(got.schedule.summary, alone.schedule.summary,
                                      check_exact=True)
        assert got.schedule.notices == alone.schedule.notices


@pytest.mark.parametrize(("seed", "style", "order_type", "skip"), [
    (1, "vwap", "market", True), (2, "twap", "limit", False), (3, "pov", "limit", False)])
def test_accounts_planned_together_equal_each_planned_alone(seed: int, style: str,
                                                            order_type: str,
                                                            skip: bool) -> None:
    market = _market(seed)
    books = _book(market, seed, 14)
    inputs = _inputs(market, next(iter(books.values())))
    config = _config(style, order_type, skip)
    batch = plan_accounts(inputs, books, config, as_of=DAY, shared_targets=False, chunk=6)
    assert list(batch.plans) == list(books)
    multi_day = 0
    for name, holdings in books.items():
        alone = make_plan(Inputs(holdings=holdings, targets=None, master=inputs.master,
                                 market=market, last_rebalance=inputs.last_rebalance,
                                 costs=inputs.costs), config, as_of=DAY)
        assert_same_plan(batch.plans[name], alone)
        if alone.schedule is not None:
            multi_day += int((alone.schedule.summary["days"] > 1).sum())
    assert multi_day > 0 or skip  # without the cost gate, thin assets take several days


def test_schedules_with_other_settings_are_built_apart() -> None:
    """Requests with other execution settings are never built together, and each
    schedule is its request's own."""
    market = _market(4)
    books = _book(market, 4, 6)
    inputs = _inputs(market, next(iter(books.values())))
    requests = []
    for k, holdings in enumerate(books.values()):
        config = _config(("twap", "vwap")[k % 2], "market", skip=False)
        steps = plan_steps(Inputs(holdings=holdings, targets=None, master=inputs.master,
                                  market=market, last_rebalance=inputs.last_rebalance,
                                  costs=inputs.costs), config, as_of=DAY)
        request = next(steps)
        assert request is not None
        requests.append(request)
    built = build_schedules(requests)
    for request, schedule in zip(requests, built, strict=True):
        alone = request.build()
        pd.testing.assert_frame_equal(schedule.child_orders, alone.child_orders,
                                      check_exact=True)
        pd.testing.assert_frame_equal(schedule.summary, alone.summary, check_exact=True)
        assert schedule.notices == alone.notices
    styles = {str(s.summary["style"].iloc[0]) for s in built}
    assert styles == {"twap", "vwap"}


def test_accounts_planned_without_schedules_equal_each_planned_alone() -> None:
    market = _market(5)
    books = _book(market, 5, 5)
    inputs = _inputs(market, next(iter(books.values())))
    config = _config("vwap", "market", skip=False)
    batch = plan_accounts(inputs, books, config, as_of=DAY, shared_targets=False,
                          with_schedule=False)
    for name, holdings in books.items():
        alone = make_plan(Inputs(holdings=holdings, targets=None, master=inputs.master,
                                 market=market, last_rebalance=inputs.last_rebalance,
                                 costs=inputs.costs), config, as_of=DAY, with_schedule=False)
        assert batch.plans[name].schedule is None
        assert len(batch.plans[name].trades)
        assert_same_plan(batch.plans[name], alone)
