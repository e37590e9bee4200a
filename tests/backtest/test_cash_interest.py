"""Cash earns the risk-free rate in every path of the backtest.

Convention: the rate of day ``t - 1`` (the last known annual rate on or before it) applies
over the night ``t - 1 -> t``: ``cash_t = cash_{t-1} * (1 + rf_{t-1} / 252)``, before the
borrow of that night is paid (the metrics' excess returns use the same rate for the same
period). The Python day loop, its quiet blocks, the compiled loop, the shared books, the
reference simulator, the reference portfolio and the after-tax loop all agree;
``[backtest] cash_earns_risk_free = false`` (or no rate) gives back the old paths bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.aftertax import run_one
from driftwise.app.reference import run_reference
from driftwise.backtest import compiled, segments
from driftwise.backtest.engine import BacktestResult
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError

from .conftest import day_by_day, in_quiet_blocks, synthetic_inputs
from .test_borrow import BASE as SHORT_BASE
from .test_borrow import SHORT, _fees
from .test_reference import WINDOWS, assert_same

OFF = {"backtest.cash_earns_risk_free": False}
FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift", "cash_usd",
          "borrow_usd")


def varying_rate(inputs: Inputs) -> Inputs:
    """The same inputs with a rate that moves every day (1% .. 6% a year), unknown on some
    days (carried forward) and unknown before the tenth day (0 there)."""
    index = inputs.market.prices.index
    rate = pd.Series(0.035 + 0.025 * np.sin(np.arange(len(index)) / 9.0), index=index)
    rate.iloc[:10] = np.nan
    rate.iloc[50:60] = np.nan
    return dataclasses.replace(inputs, market=dataclasses.replace(inputs.market,
                                                                  risk_free_annual=rate))


INPUTS = varying_rate(synthetic_inputs())
SHORTS = varying_rate(SHORT)


def _known(inputs: Inputs, days: pd.DatetimeIndex) -> np.ndarray:
    """The last known rate on or before each day, 0 when none (by hand, day by day)."""
    series = inputs.market.risk_free_annual
    assert series is not None
    out = []
    for day in days:
        seen = series.loc[:day].dropna()
        out.append(float(seen.iloc[-1]) if len(seen) else 0.0)
    return np.array(out)


def test_buy_and_hold_short_book_cash_earns_the_rate_and_pays_the_borrow_oracle() -> None:
    config = pol.never(base=SHORT_BASE.with_overrides({"constraints.whole_shares": False}))
    start, end = WINDOWS[2]  # from the start of the data: the rate unknown at first
    result = backtest_configs(SHORTS, [config], start=start, end=end)
    prices = SHORTS.market.prices.loc[start:end, result.tickers]
    rf = _known(SHORTS, pd.DatetimeIndex(prices.index))
    assert rf[0] == 0.0 and (rf[-5:] > 0).all()
    assert SHORTS.targets is not None
    weights = SHORTS.targets.weights.reindex(result.tickers).to_numpy()
    nav0 = result.initial_nav_usd
    shares = weights * nav0 / prices.iloc[0].to_numpy()
    borrow = (np.maximum(-(prices.to_numpy() * shares), 0.0)
              * _fees(result.tickers) / 1e4 / 252).sum(axis=1)
    cash = [nav0 * 0.3]
    for k in range(1, len(prices)):  # the night before day k earns day k-1's rate
        cash.append(cash[-1] * (1.0 + rf[k - 1] / 252) - borrow[k])
    np.testing.assert_allclose(result.cash_usd[:, 0], cash, rtol=1e-12)
    nav = (prices.to_numpy() * shares).sum(axis=1) + np.array(cash)
    np.testing.assert_allclose(result.nav_usd[:, 0], nav, rtol=1e-12)
    assert result.borrow_usd is not None
    np.testing.assert_allclose(result.borrow_usd[1:, 0], borrow[1:], rtol=1e-12)
    np.testing.assert_array_equal(result.risk_free_annual, rf)
    # the reference portfolio: its 30% cash grows by the same nights
    growth = prices.to_numpy()[1:] / prices.to_numpy()[:-1] @ weights + 0.3 * (1 + rf[:-1] / 252)
    np.testing.assert_allclose(result.ref_nav_usd, nav0 * np.cumprod([1.0, *growth]),
                               rtol=1e-12)


def test_turned_off_or_without_a_rate_the_paths_are_the_old_ones_bit_for_bit() -> None:
    configs = [pol.threshold(0.02), pol.monthly(destination="half"), pol.vix_delayed(0.02),
               pol.cost_benefit()]
    off = [c.with_overrides(OFF) for c in configs]
    no_rate = dataclasses.replace(INPUTS, market=dataclasses.replace(
        INPUTS.market, risk_free_annual=None))
    a = backtest_configs(INPUTS, off)
    b = backtest_configs(no_rate, configs)
    earning = backtest_configs(INPUTS, configs)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.ref_nav_usd, b.ref_nav_usd)
    assert (earning.cash_usd != a.cash_usd).any()
    assert earning.ref_nav_usd[-1] > a.ref_nav_usd[-1]  # 5% cash at a positive rate


def test_the_setting_is_one_per_run() -> None:
    with pytest.raises(ConfigError, match="cash_earns_risk_free"):
        backtest_configs(INPUTS, [pol.monthly(), pol.monthly().with_overrides(OFF)])


CONFIGS = [pol.threshold(0.01), pol.monthly(destination="half"), pol.hybrid(override=0.02),
           pol.cost_benefit(), pol.vix_delayed(0.01, base=Config().with_overrides(
               {"policy.delay_days": 3, "policy.max_delay_days": 6})),
           pol.threshold(0.02, destination="band_edge"), pol.volatility_aware(0.03)]


@pytest.mark.parametrize("window", WINDOWS[1:])
def test_engine_equals_reference_with_a_moving_rate(window: tuple[pd.Timestamp,
                                                                  pd.Timestamp]) -> None:
    start, end = window
    engine = backtest_configs(INPUTS, CONFIGS, start=start, end=end)
    assert engine.rebalanced.any(axis=0).sum() >= 5
    for i, config in enumerate(CONFIGS):
        assert_same(engine, i, run_reference(INPUTS, config, start=start, end=end))


def test_engine_equals_reference_on_a_short_book_with_a_moving_rate() -> None:
    start, end = WINDOWS[0]
    configs = [pol.threshold(0.01, base=SHORT_BASE), pol.monthly(base=SHORT_BASE)]
    engine = backtest_configs(SHORTS, configs, start=start, end=end)
    for i, config in enumerate(configs):
        assert_same(engine, i, run_reference(SHORTS, config, start=start, end=end))


def _in_python(inputs: Inputs, configs: list[Config]) -> BacktestResult:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "supports", lambda rule, with_cov: False)
        return backtest_configs(inputs, configs)


@pytest.mark.parametrize("inputs", [INPUTS, SHORTS], ids=["long", "short"])
def test_compiled_loop_equals_the_python_loop_bit_for_bit(inputs: Inputs) -> None:
    base = SHORT_BASE if inputs is SHORTS else Config()
    configs = [pol.threshold(h, base=base) for h in (0.005, 0.01, 0.03)]
    configs += [pol.hybrid(override=0.02, base=base), pol.never(base=base),
                pol.calendar("week", anchor="last", destination="half", base=base)]
    fast = backtest_configs(inputs, configs)
    slow = _in_python(inputs, configs)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert fast.rebalanced.any(axis=0)[:4].all()


@pytest.mark.parametrize("inputs", [INPUTS, SHORTS], ids=["long", "short"])
def test_quiet_blocks_equal_day_by_day(inputs: Inputs) -> None:
    base = SHORT_BASE if inputs is SHORTS else Config()
    configs = [pol.vix_delayed(h, base=base) for h in (0.01, 0.03)]
    configs += [pol.dynamic(0.02, base=base), pol.volatility_aware(0.05, base=base)]
    in_blocks, longest = in_quiet_blocks(inputs, configs)
    assert longest >= 8
    by_day = day_by_day(inputs, configs)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(in_blocks, name), getattr(by_day, name),
                                      err_msg=name)


def test_shared_books_equal_the_general_loop_and_the_reference() -> None:
    base = Config().with_overrides({"constraints.whole_shares": False,
                                    "constraints.min_trade_usd": 0.0,
                                    "constraints.min_adv_usd": 0.0, "costs.flat_cost_bps": 10.0})
    configs = [pol.threshold(h, base=base) for h in np.linspace(0.005, 0.04, 16)]
    seen: list[str | None] = []
    run = segments.run

    def spy(*args: object) -> str | None:
        seen.append(run(*args))  # type: ignore[arg-type]
        return seen[-1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(segments, "run", spy)
        shared = backtest_configs(INPUTS, configs)
    assert seen == [None]  # ran on shared books to the end
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(segments, "eligible", lambda batch: False)
        general = backtest_configs(INPUTS, configs)
    np.testing.assert_array_equal(shared.rebalanced, general.rebalanced)
    for name in ("nav_usd", "cash_usd", "cost_usd", "traded_usd"):
        gap = np.abs(getattr(shared, name) - getattr(general, name)) / general.nav_usd
        assert np.nanmax(gap) <= 1e-12, name
    assert shared.rebalanced.sum() > 50
    start, end = WINDOWS[1]
    window = backtest_configs(INPUTS, configs[:1] * 16, start=start, end=end)
    assert_same(window, 0, run_reference(INPUTS, configs[0], start=start, end=end))


@pytest.mark.parametrize("earns", [True, False])
def test_the_after_tax_loop_with_tax_off_equals_the_engine(earns: bool) -> None:
    config = Config().with_overrides({
        "policy.trigger": "threshold", "policy.threshold": 0.03, "tax.short_term_rate": 0.0,
        "tax.long_term_rate": 0.0, "tax.niit_rate": 0.0,
        "backtest.cash_earns_risk_free": earns})
    engine = backtest_configs(INPUTS, [config])
    mine = run_one(INPUTS, config, aware=False, harvest_every="never")
    np.testing.assert_array_equal(mine.nav_usd, engine.nav_usd[:, 0])
    np.testing.assert_array_equal(mine.rebalanced, engine.rebalanced[:, 0])
