"""Borrow on shorts held overnight, in every path of the backtest (issue 12, item 13).

A short book (two negative targets, long-only off): the engine's Python day loop, its quiet
blocks, its compiled day loop and the reference simulator (the planner day by day) all
charge ``borrow_bps_annual / 252`` of each short's value at the close, from cash, for the
night before; the result's ``cost_usd`` includes it and ``borrow_usd`` is the borrow part.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.reference import run_reference
from driftwise.backtest import compiled
from driftwise.backtest.engine import BacktestResult
from driftwise.backtest.metrics import policy_metrics
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.costs import read_cost_inputs
from driftwise.data.model import Inputs
from driftwise.data.targets import read_targets

from .conftest import day_by_day, in_quiet_blocks, synthetic_inputs
from .test_reference import WINDOWS, assert_same

FEES = {"AAA": 20.0, "BBB": 150.0, "CCC": 40.0, "EEE": 90.0}  # DDD: the default, 25 bps
DEFAULT_FEE = 25.0


def short_book(seed: int = 7) -> Inputs:
    """The synthetic market with BBB and DDD short in the targets and quoted borrow fees."""
    inputs = synthetic_inputs(seed=seed)
    targets = read_targets(pd.DataFrame({
        "ticker": ["AAA", "BBB", "CCC", "DDD", "EEE", "CASH"],
        "target_weight": [0.35, -0.05, 0.2, -0.1, 0.3, 0.3]}), long_only=False)
    assert inputs.costs is not None
    frame = inputs.costs.frame.reset_index()
    frame["borrow_bps_annual"] = frame["ticker"].map(FEES)
    costs = read_cost_inputs(frame, as_of=inputs.market.prices.index[-1])
    return dataclasses.replace(inputs, targets=targets, costs=costs)


SHORT = short_book()
BASE = Config().with_overrides({"constraints.long_only": False})


def _fees(tickers: list[str]) -> np.ndarray:
    return np.array([FEES.get(t, DEFAULT_FEE) for t in tickers])


def test_buy_and_hold_short_book_pays_borrow_every_night_oracle() -> None:
    """The borrow alone: cash earns nothing here (the interest on cash has its own oracle,
    ``test_cash_interest.py``)."""
    config = pol.never(base=BASE.with_overrides({"constraints.whole_shares": False,
                                                 "backtest.cash_earns_risk_free": False}))
    start, end = WINDOWS[0]
    result = backtest_configs(SHORT, [config], start=start, end=end)
    prices = SHORT.market.prices.loc[start:end, result.tickers]
    assert SHORT.targets is not None
    weights = SHORT.targets.weights.reindex(result.tickers).to_numpy()
    nav0 = result.initial_nav_usd
    shares = weights * nav0 / prices.iloc[0].to_numpy()
    short_value = np.maximum(-(prices.to_numpy() * shares), 0.0)  # (T, N)
    want = (short_value * _fees(result.tickers) / 1e4 / 252).sum(axis=1)
    want[0] = 0.0  # no night before the first close
    assert result.borrow_usd is not None
    np.testing.assert_allclose(result.borrow_usd[:, 0], want, rtol=1e-12, atol=0.0)
    assert (want[1:] > 0).all()
    # paid from cash; the only cost of buy and hold
    cash0 = nav0 * 0.3
    np.testing.assert_allclose(result.cash_usd[:, 0], cash0 - np.cumsum(want), rtol=1e-12)
    np.testing.assert_array_equal(result.cost_usd, result.borrow_usd)
    nav = (prices.to_numpy() * shares).sum(axis=1) + cash0 - np.cumsum(want)
    np.testing.assert_allclose(result.nav_usd[:, 0], nav, rtol=1e-12)
    metrics = policy_metrics(result)
    assert float(metrics["cost_per_year"].iloc[0]) > 0.0


def test_a_long_only_book_holding_a_short_pays_its_borrow_too() -> None:
    inputs = synthetic_inputs()
    held = pd.concat([inputs.holdings.shares, pd.Series({"DDD": -1000.0})]).sort_index()
    inputs = dataclasses.replace(inputs, holdings=dataclasses.replace(inputs.holdings,
                                                                      shares=held))
    config = pol.never(base=Config().with_overrides({"backtest.start_from_holdings": True}))
    start, end = WINDOWS[0]
    result = backtest_configs(inputs, [config], start=start, end=end)
    ddd = inputs.market.prices.loc[start:end, "DDD"].to_numpy()
    want = 1000.0 * ddd * DEFAULT_FEE / 1e4 / 252
    want[0] = 0.0
    assert result.borrow_usd is not None
    np.testing.assert_allclose(result.borrow_usd[:, 0], want, rtol=1e-12)
    assert_same(result, 0, run_reference(inputs, config, start=start, end=end))


SHORT_CONFIGS = [
    pol.threshold(0.01, base=BASE), pol.monthly(base=BASE, destination="half"),
    pol.hybrid(override=0.02, base=BASE), pol.cost_benefit(base=BASE),
    pol.vix_delayed(0.01, base=BASE.with_overrides({"policy.delay_days": 3,
                                                   "policy.max_delay_days": 6})),
    pol.threshold(0.02, destination="band_edge", base=BASE.with_overrides(
        {"policy.skip_if_cost_exceeds_benefit": True, "costs.cost_scale": 20.0})),
    pol.volatility_aware(0.03, base=BASE)]


@pytest.mark.parametrize("window", WINDOWS[:2])
def test_engine_equals_reference_on_a_short_book(window: tuple[pd.Timestamp,
                                                               pd.Timestamp]) -> None:
    start, end = window
    engine = backtest_configs(SHORT, SHORT_CONFIGS, start=start, end=end)
    assert engine.rebalanced.any(axis=0).all()
    assert engine.borrow_usd is not None and (engine.borrow_usd[1:] > 0).all()
    for i, config in enumerate(SHORT_CONFIGS):
        reference = run_reference(SHORT, config, start=start, end=end)
        assert_same(engine, i, reference)
        assert reference.borrow_usd is not None
        np.testing.assert_allclose(engine.borrow_usd[:, i], reference.borrow_usd[:, 0],
                                   rtol=1e-9)


def _in_python(inputs: Inputs, configs: list[Config], **kw: object) -> BacktestResult:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "supports", lambda rule, with_cov: False)
        return backtest_configs(inputs, configs, **kw)  # type: ignore[arg-type]



FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift", "cash_usd",
          "borrow_usd")


def test_compiled_loop_equals_the_python_loop_on_a_short_book_bit_for_bit() -> None:
    configs = [pol.threshold(h, base=BASE) for h in (0.005, 0.01, 0.03)]
    configs += [pol.hybrid(override=0.02, base=BASE), pol.never(base=BASE),
                pol.calendar("week", anchor="last", destination="half", base=BASE)]
    fast = backtest_configs(SHORT, configs)
    slow = _in_python(SHORT, configs)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert fast.rebalanced.any(axis=0)[:4].all()


def test_quiet_blocks_equal_day_by_day_on_a_short_book() -> None:
    configs = [pol.vix_delayed(h, base=BASE) for h in (0.01, 0.03)]
    configs += [pol.dynamic(0.02, base=BASE), pol.volatility_aware(0.05, base=BASE)]
    in_blocks, longest = in_quiet_blocks(SHORT, configs)
    assert longest >= 8  # quiet stretches were evaluated at once
    by_day = day_by_day(SHORT, configs)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(in_blocks, name), getattr(by_day, name),
                                      err_msg=name)
