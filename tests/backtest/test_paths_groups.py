"""Many paths with targets by sector: each path keeps the sector targets over the sectors'
members priced on its start date, equals the single-path run of the same window, and a
member that stops trading is sold on the next session, its sector's weight split over the
members left."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from tests.backtest.conftest import synthetic_inputs
from tests.backtest.test_paths import (
    FIRST,
    LAST,
    _with_delisting,
    by_hand,
    paths_equal_single_runs,
)

from driftwise.backtest.paths import (
    PathSettings,
    PathSpec,
    given_stocks,
    make_paths,
    path_inputs,
    run_path,
    universe_of,
)
from driftwise.config import Config, policies
from driftwise.config.assemble import rule_grid
from driftwise.data.model import Inputs, SecurityMaster
from driftwise.data.targets import read_targets
from driftwise.errors import ConfigError
from driftwise.flags import Flag

SECTORS = read_targets(pd.DataFrame({"sector": ["Tech", "Health", "Energy", "CASH"],
                                     "target_weight": [0.5, 0.2, 0.25, 0.05]}))
GIVEN = PathSettings(length_days=63, step_days=63, min_history_days=40)
FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "costs.flat_cost_bps": 0.0,
        "backtest.cash_earns_risk_free": False}


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    """The synthetic market with FFF (Tech, no price after session 200), sector targets."""
    return dataclasses.replace(_with_delisting(synthetic_inputs()), targets=SECTORS)


def _configs() -> dict[str, Config]:
    return {"monthly": policies.monthly(), "threshold 2%": policies.threshold(0.02),
            "half-way 1%": policies.threshold(0.01, destination="half")}


def _by_hand(inputs: Inputs, path: PathSpec) -> Inputs:
    """One path's inputs built independently: the sector targets, the members of the
    sectors, caps from the dollar-volume proxy, the prices up to the path's end."""
    return by_hand(inputs, path, ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"], SECTORS)


def test_paths_with_sector_targets_equal_single_path_runs(inputs: Inputs) -> None:
    result, runs = paths_equal_single_runs(inputs, GIVEN, _configs(), _by_hand)
    assert len(result.runs.paths) == 2 and not any(p.stopped for p in result.runs.paths)
    for alone in runs:
        assert alone.tickers == ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
        assert alone.rebalanced.any(axis=0).all()
    assert np.isfinite(result.stats.ranking["score"].to_numpy()).all()


def test_a_member_not_yet_priced_on_a_paths_start_is_not_in_it(inputs: Inputs) -> None:
    """GGG (Health) trades only from session 150: not a stock of a path starting before."""
    prices = inputs.market.prices.assign(GGG=inputs.market.prices["CCC"] * 2.0)
    prices.iloc[:150, prices.columns.get_loc("GGG")] = np.nan
    master = SecurityMaster(frame=pd.concat([inputs.master.frame, pd.DataFrame(
        {"sector": ["Health"], "asset_class": ["US Equity"], "market_cap_usd": [np.nan]},
        index=pd.Index(["GGG"], name=inputs.master.frame.index.name))]),
        source=inputs.master.source)
    data = dataclasses.replace(inputs, master=master, market=dataclasses.replace(
        inputs.market, prices=prices))
    days = prices.index
    early = PathSpec(0, days[60], days[122], 0, 0)
    late = PathSpec(1, days[160], days[222], 1, 0)
    assert "GGG" not in given_stocks(data, early) and "GGG" in given_stocks(data, late)
    assert "GGG" not in path_inputs(data, universe_of(data), early)[0].market.prices
    # a sector none of whose members is priced on the start date is refused, by name
    empty = prices.copy()
    empty.iloc[:150, empty.columns.get_loc("CCC")] = np.nan
    bare = dataclasses.replace(data, market=dataclasses.replace(inputs.market, prices=empty))
    with pytest.raises(ConfigError, match=r"no member of the sector 'Health'.*has a price on"):
        given_stocks(bare, early)


def test_a_member_that_stops_trading_is_sold_and_its_sector_split_over_the_others_oracle(
        inputs: Inputs) -> None:
    """Buy and hold at no cost over the path that holds FFF's stop: on the session after
    its last one every row sells FFF and rebalances (the event) to the sector weights, Tech
    split over AAA and BBB by their values; no trade on any other day."""
    u = universe_of(inputs)
    settings = PathSettings(length_days=63, step_days=200, min_history_days=40)
    paths = make_paths(u, "2019-09-03", "2020-03-31", settings, given_stocks(inputs))
    hit = [p for p in paths if p.stopped]
    assert hit and hit[0].stopped == (("FFF", u.prices.index[200]),)
    path = hit[0]
    config = policies.never(base=Config().with_overrides(FREE))
    result, notes = run_path(inputs, u, rule_grid([config], ["never"]), path, 1e6,
                             cash_earns_risk_free=False)
    assert any(n.flag is Flag.NO_PRICE_TODAY and "FFF" in n.tickers for n in notes)
    data = path_inputs(inputs, u, path)[0]
    tickers = result.tickers
    assert tickers == ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
    prices = data.market.prices.loc[path.start:path.end, tickers].to_numpy()
    sale = int(np.flatnonzero(pd.DatetimeIndex(result.dates) == u.prices.index[201])[0])
    sector = np.array([0, 0, 1, 2, 2, 0])
    weight = np.array([0.5, 0.2, 0.25])
    shares = np.array([0.5 / 3, 0.5 / 3, 0.2, 0.125, 0.125, 0.5 / 3]) * 1e6 / prices[0]
    cash = 0.05e6
    for k in range(len(prices)):
        nav = float(shares @ prices[k]) + cash
        assert result.nav_usd[k, 0] == pytest.approx(nav, rel=1e-12)
        assert result.rebalanced[k, 0] == (k == sale)
        if k == sale:
            cash += shares[5] * prices[k, 5]
            shares[5] = 0.0
            values = shares * prices[k]
            totals = np.array([values[sector == g].sum() for g in range(3)])
            shares = shares * (weight * nav / totals)[sector]
            cash = 0.05 * nav
            assert result.post_drift[k, 0] == pytest.approx(0.0, abs=1e-12)
    # the reference drops FFF from Tech on the same day, as the rule's destination does
    assert np.isfinite(result.ref_nav_usd).all()


def test_random_portfolios_with_sector_targets_are_equal_weight_draws(inputs: Inputs) -> None:
    """Random portfolios take only the cash weight of the given targets, whatever their
    level (as with asset targets)."""
    u = universe_of(inputs)
    settings = PathSettings(length_days=63, step_days=63, portfolios=2, size=3, seed=5,
                            min_history_days=40)
    path = make_paths(u, FIRST, LAST, settings)[0]
    data = path_inputs(inputs, u, path)[0]
    assert data.targets is not None and list(data.targets.weights.index) == list(path.tickers)
    np.testing.assert_allclose(data.targets.weights.to_numpy(), 0.95 / 3, rtol=1e-15)
