"""The engine's day costs from the history's cost window equal those built day by day,
and an optimized backtest that reads the window equals one that never does, to the bit."""

from __future__ import annotations

import numpy as np
import pytest

import driftwise as dw
from driftwise.backtest import engine as engine_module
from driftwise.backtest import history as history_module
from driftwise.backtest.batches import DayCosts, Window
from driftwise.backtest.engine import make_batches, run_backtest
from driftwise.backtest.grid import sweep
from driftwise.backtest.history import ALONE_FRACTION, universe
from driftwise.config import policies
from driftwise.config.assemble import rule_grid
from driftwise.data.model import Inputs
from driftwise.policy.destination import Destination
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import DriftThreshold

from .conftest import synthetic_inputs


def _batch(inputs: Inputs, rules: int = 1):  # type: ignore[no-untyped-def]
    window = Window(None, None, False, 1e7)
    grid = rule_grid([policies.daily(destination="optimized")] * rules)
    return make_batches(inputs, grid, window, universe(inputs, from_holdings=False))[0]


@pytest.mark.parametrize("rows", [1, 3])
def test_day_costs_from_the_window_equal_each_day_built_alone(
        monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    inputs = synthetic_inputs()
    whole = _batch(inputs, rows)
    assert whole.history.cost_window is not None and whole.history.costs_whole()
    monkeypatch.setattr(history_module, "KEEP_COST_CELLS", 0)  # never the window
    alone = _batch(inputs, rows)
    assert not alone.history.costs_whole()
    rng = np.random.default_rng(3)
    n = len(whole.history.tickers)
    for k in range(0, whole.history.n_days, 7):
        a, b = DayCosts(whole, k), DayCosts(alone, k)
        assert a.adv_shares.tobytes() == b.adv_shares.tobytes()
        assert a.borrow_bps_annual.tobytes() == b.borrow_bps_annual.tobytes()
        trades = rng.normal(0.0, 2e5, (len(a.rows), n))
        trades[:, 0] = 0.0  # a zero trade costs nothing (no minimum ticket)
        assert a.per_asset(trades).tobytes() == b.per_asset(trades).tobytes(), k
        taken = np.array([len(a.rows) - 1])
        assert (a.take(taken).per_asset(trades[-1:]).tobytes()
                == b.take(taken).per_asset(trades[-1:]).tobytes())
        # one row's model pricing several rows of trades (the tax gate's candidates)
        many = rng.normal(0.0, 2e5, (4, n))
        assert a.take(taken).model(many).tobytes() == b.take(taken).model(many).tobytes()


def test_the_window_is_taken_once_an_eighth_of_the_days_were_built_alone() -> None:
    history = _batch(synthetic_inputs()).history
    first = int(np.ceil(ALONE_FRACTION * history.n_days))
    for k in range(first - 1):
        history.cost_inputs(k)
        assert not history.costs_whole()
    history.cost_inputs(first - 1)
    assert history.costs_whole() and "cost_window" in history.__dict__


def test_an_optimized_backtest_on_the_window_equals_one_day_by_day(
        monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = dw.load()
    days = inputs.market.prices.index
    rule = Rule(DriftThreshold(0.0), destination=Destination.OPTIMIZED)
    grid = sweep(rule, gamma_trade=[1.0, 5.0])
    window = Window(days[-200], days[-1], from_holdings=False, initial_nav_usd=1e7)
    fast = run_backtest(inputs, grid, window, workers=1)
    assert fast.rebalanced.sum() > 100  # most days trade: the window is read
    monkeypatch.setattr(history_module, "KEEP_COST_CELLS", 0)
    slow = run_backtest(inputs, grid, window, workers=1)
    for name in ("nav_usd", "traded_usd", "cost_usd", "cash_usd", "post_drift",
                 "intended_usd"):
        assert getattr(fast, name).tobytes() == getattr(slow, name).tobytes(), name


def test_a_rule_reviewed_every_close_prices_from_the_window_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A daily review takes the whole window before its first day (no day's inputs built
    alone); a drift trigger, which may trade rarely, still builds its first days alone;
    the daily run equals one that builds them alone first, to the bit."""
    inputs = dw.load()
    days = inputs.market.prices.index
    window = Window(days[-120], days[-1], from_holdings=False, initial_nav_usd=1e7)
    built: list[int] = []
    alone = history_module.MarketHistory._cost_inputs

    def counted(self: history_module.MarketHistory, k: int) -> object:
        built.append(k)
        return alone(self, k)
    monkeypatch.setattr(history_module.MarketHistory, "_cost_inputs", counted)
    daily = rule_grid([policies.daily(destination="optimized")])
    fast = run_backtest(inputs, daily, window, workers=1)
    assert fast.rebalanced.sum() > 100 and built == []
    drift = sweep(Rule(DriftThreshold(0.0), destination=Destination.OPTIMIZED),
                  gamma_trade=[5.0])
    run_backtest(inputs, drift, window, workers=1)
    assert len(built) > 0  # its first days built alone
    built.clear()
    monkeypatch.setattr(engine_module, "reviews_every_close", lambda rule: False)
    slow = run_backtest(inputs, daily, window, workers=1)
    assert len(built) > 0  # the first eighth of the days built alone
    for name in ("nav_usd", "traded_usd", "cost_usd", "cash_usd", "post_drift",
                 "intended_usd"):
        assert getattr(fast, name).tobytes() == getattr(slow, name).tobytes(), name
