"""The engine: start convention, timing, batching, oracles and bad inputs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.backtest import blocks, grid
from driftwise.backtest.engine import BacktestResult
from driftwise.backtest.grid import stack_triggers
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import ConfigTexts, backtest_configs
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError
from driftwise.policy.book import next_pending
from driftwise.policy.triggers import AnyOf, CostBenefit, DriftThreshold, StressDelay, hybrid

from .conftest import (
    day_by_day,
    holdings_nav,
    in_quiet_blocks,
    synthetic_inputs,
    with_extra_holding,
)
from .test_reference import DAYS, SYNTHETIC
from .test_reference import configs as random_config

FRACTIONAL = Config().with_overrides({"constraints.whole_shares": False,
                                      "constraints.min_trade_usd": 0.0})
START, END = "2019-04-01", "2019-08-30"


def _prices(inputs: Inputs, start: str, end: str) -> pd.DataFrame:
    p = inputs.market.prices
    return p.loc[start:end]


def test_never_is_buy_and_hold(synthetic: Inputs) -> None:
    """Buy and hold with cash earning nothing (the interest on cash: test_cash_interest)."""
    base = FRACTIONAL.with_overrides({"backtest.cash_earns_risk_free": False})
    result = backtest_configs(synthetic, [pol.never(base=base)], start=START, end=END)
    prices = _prices(synthetic, START, END)
    assert synthetic.targets is not None
    target = synthetic.targets.weights
    nav0 = holdings_nav(synthetic)  # no initial_nav_usd: the holdings' NAV
    assert result.initial_nav_usd == pytest.approx(nav0, rel=1e-12)
    shares = {t: target[t] * nav0 / prices[t].iloc[0] for t in target.index}
    for k, day in enumerate(prices.index):
        value = sum(n * prices.loc[day, t] for t, n in shares.items()) + 0.05 * nav0
        assert result.nav_usd[k, 0] == pytest.approx(value, rel=1e-12)
    assert not result.rebalanced.any()
    assert (result.traded_usd == 0).all() and (result.cost_usd == 0).all()
    np.testing.assert_allclose(result.cash_usd, 0.05 * nav0, rtol=1e-12)


def test_start_at_target_at_no_cost(synthetic: Inputs) -> None:
    configs = [pol.threshold(0.03, base=FRACTIONAL), pol.threshold(0.03)]
    result = backtest_configs(synthetic, configs, start=START, end=END)
    nav0 = holdings_nav(synthetic)
    assert result.nav_usd[0, 0] == pytest.approx(nav0, rel=1e-14)
    assert result.drift[0, 0] == pytest.approx(0.0, abs=1e-14)
    # whole shares: rounded toward zero, the rest in cash, still worth the initial NAV
    assert result.nav_usd[0, 1] == pytest.approx(nav0, rel=1e-14)
    assert 0.05 * nav0 < result.cash_usd[0, 1] < 0.05 * nav0 + 5 * 130.0
    assert result.cost_usd[0].sum() == 0.0


@pytest.mark.parametrize("earns", [True, False])
def test_reference_portfolio_oracle(synthetic: Inputs, earns: bool) -> None:
    """The target rebalanced daily at no cost; its 5% cash grows each night by the rate of
    the day before (2% a year in the synthetic data), or not at all with it turned off."""
    config = pol.monthly(base=Config().with_overrides({"backtest.cash_earns_risk_free": earns}))
    result = backtest_configs(synthetic, [config], start=START, end=END)
    prices = _prices(synthetic, START, END)
    assert synthetic.targets is not None
    target = synthetic.targets.weights
    nav = nav0 = holdings_nav(synthetic)
    for k in range(1, len(prices)):
        growth = 0.05 * (1.0 + 0.02 / 252 if earns else 1.0) + sum(
            target[t] * prices[t].iloc[k] / prices[t].iloc[k - 1] for t in target.index)
        nav *= growth
        assert result.ref_nav_usd[k] == pytest.approx(nav, rel=1e-12)
    assert result.ref_nav_usd[0] == pytest.approx(nav0, rel=1e-14)


def test_calendar_never_fires_on_the_first_day(synthetic: Inputs) -> None:
    # 2019-04-01 is the first session of April and of Q2
    result = backtest_configs(synthetic, [pol.monthly(), pol.quarterly()], start=START, end=END)
    assert not result.rebalanced[0].any()
    month_starts = [d for d in ("2019-05-01", "2019-06-03", "2019-07-01", "2019-08-01")]
    traded = result.dates[result.rebalanced[:, 0]]
    assert list(traded.strftime("%Y-%m-%d")) == month_starts
    assert list(result.dates[result.rebalanced[:, 1]].strftime("%Y-%m-%d")) == ["2019-07-01"]


def test_full_rebalance_lands_on_target_after_costs(synthetic: Inputs) -> None:
    result = backtest_configs(synthetic, [pol.threshold(0.02, base=FRACTIONAL)], start=START,
                              end=END)
    days = result.rebalanced[:, 0]
    assert days.sum() >= 3
    illiquid_free = result.post_drift[days, 0]
    # the thin asset (EEE) may be left out as illiquid; otherwise on target to rounding
    assert (illiquid_free < result.drift[days, 0]).all()
    assert (result.cost_usd[days, 0] > 0).all()
    assert (result.drift[~days, 0] < 0.02).all()


def test_lands_exactly_without_illiquid_assets(synthetic: Inputs) -> None:
    liquid = FRACTIONAL.with_overrides({"constraints.min_adv_usd": 0.0,
                                        "constraints.max_liquidity_days": 1e9})
    result = backtest_configs(synthetic, [pol.threshold(0.02, base=liquid)], start=START, end=END)
    days = result.rebalanced[:, 0]
    assert days.any()
    np.testing.assert_allclose(result.post_drift[days, 0], 0.0, atol=1e-9)


def test_batch_equals_one_by_one(synthetic: Inputs) -> None:
    configs = [pol.threshold(h) for h in (0.01, 0.02, 0.04)]
    configs += [pol.hybrid(override=0.03), pol.hybrid(override=0.05), pol.vix_delayed(0.02),
                pol.vix_delayed(0.03).with_overrides({"policy.stress_max_drift": 0.05}),
                pol.dynamic(0.02, pause_in_stress=True), pol.dynamic(0.03, pause_in_stress=True)]
    start, end = "2019-07-01", "2019-11-29"
    # cost parameters differ within a batch: each row priced with its own
    costs = [{"costs.flat_cost_bps": 10.0}, {"costs.cost_scale": 0.5},
             {"costs.impact_model": "almgren_2005"},
             {"costs.vix_multipliers": [1.0, 2.0, 4.0]}]
    configs += [pol.threshold(0.02).with_overrides(c) for c in costs]
    configs += [pol.cost_benefit().with_overrides(c) for c in costs[1:3]]
    configs += [pol.cost_benefit()]
    together = backtest_configs(synthetic, configs, start=start, end=end)
    assert together.params["batch"].nunique() == 5
    for i, config in enumerate(configs):
        alone = backtest_configs(synthetic, [config], start=start, end=end)
        np.testing.assert_allclose(together.nav_usd[:, i], alone.nav_usd[:, 0], rtol=1e-13)
        np.testing.assert_array_equal(together.rebalanced[:, i], alone.rebalanced[:, 0])
    assert together.rebalanced.sum(axis=0).min() >= 1


def test_result_shapes_and_labels(synthetic: Inputs) -> None:
    calls: list[tuple[int, int]] = []
    configs = list(pol.methodology_rules().values())
    result = backtest_configs(synthetic, configs, start=START, end=END,
                          progress=lambda k, n: calls.append((k, n)))
    n_days = len(_prices(synthetic, START, END))
    days = [k for k, _ in calls]  # days done: increasing, up to the last day
    assert {n for _, n in calls} == {n_days}
    assert days == sorted(set(days)) and days[0] >= 1 and days[-1] == n_days
    for name in ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift",
                 "cash_usd"):
        assert getattr(result, name).shape == (n_days, 5), name
        assert np.isfinite(getattr(result, name).astype(float)).all(), name
    assert result.ref_nav_usd.shape == result.risk_free_annual.shape == (n_days,)
    assert result.names == list(pol.methodology_rules())
    assert list(result.params.index) == result.names
    assert result.config_toml[1] == configs[1].to_toml()
    assert result.tickers == ["AAA", "BBB", "CCC", "DDD", "EEE"]
    assert result.frame("drift").shape == (n_days, 5)
    assert (result.risk_free_annual == 0.02).all()


def test_start_from_holdings(synthetic: Inputs) -> None:
    inputs = with_extra_holding(synthetic)
    base = Config().with_overrides({"backtest.start_from_holdings": True,
                                    "constraints.min_adv_usd": 0.0})
    result = backtest_configs(inputs, [pol.never(base=base), pol.threshold(0.05, base=base)],
                          start=START, end=END)
    prices = _prices(inputs, START, END)
    held = inputs.holdings.shares
    nav0 = float(sum(held[t] * prices[t].iloc[0] for t in held.index)) + 50_000.0
    assert result.nav_usd[0, 0] == pytest.approx(nav0, rel=1e-12)
    assert result.ref_nav_usd[0] == pytest.approx(nav0, rel=1e-12)
    assert "EXTRA" in result.tickers
    assert result.rebalanced[0, 1]  # far from target on day 0: the threshold fires at once
    assert result.drift[0, 1] > 0.25
    assert result.post_drift[0, 1] < 0.01  # EXTRA (no target) sold, DDD and EEE bought


def test_stale_costs_invalidate_the_plan() -> None:
    inputs = synthetic_inputs(costs_as_of="2019-03-01")
    accept = Config().with_overrides({"costs.accept_stale_costs": True})
    result = backtest_configs(inputs, [pol.monthly(), pol.monthly(base=accept)], start=START,
                              end=END)
    assert not result.rebalanced[:, 0].any()  # stale from 2019-04-01 on
    assert result.rebalanced[:, 1].sum() == 4


def test_next_pending() -> None:
    pending = np.array([np.nan, 2.0, np.nan, 5.0])
    delayed = np.array([True, True, False, False])
    np.testing.assert_array_equal(next_pending(pending, delayed), [1.0, 3.0, np.nan, np.nan])
    assert np.isnan(next_pending(pending, None)).all()


def test_stack_triggers() -> None:
    stacked = stack_triggers([DriftThreshold(0.03), DriftThreshold(0.05)])
    assert isinstance(stacked, DriftThreshold)
    np.testing.assert_array_equal(stacked.threshold, [0.03, 0.05])
    same = stack_triggers([DriftThreshold(0.05), DriftThreshold(0.05)])
    assert same == DriftThreshold(0.05)
    nested = stack_triggers([StressDelay(hybrid(override=0.1), drift_max=0.1),
                             StressDelay(hybrid(override=0.2), drift_max=0.1)])
    assert isinstance(nested, StressDelay) and nested.drift_max == 0.1
    inner = nested.inner.children[1]  # type: ignore[attr-defined]
    np.testing.assert_array_equal(inner.threshold, [0.1, 0.2])


def test_no_configuration() -> None:
    with pytest.raises(ConfigError, match="no configuration"):
        backtest_configs(synthetic_inputs(), [])


def test_configurations_must_share_the_window(synthetic: Inputs) -> None:
    later = pol.monthly(base=Config().with_overrides({"backtest.start": "2019-05-01"}))
    with pytest.raises(ConfigError, match=r"backtest\.start"):
        backtest_configs(synthetic, [pol.monthly(), later])
    result = backtest_configs(synthetic, [pol.monthly(), later], start=START, end=END)
    assert result.dates[0] == pd.Timestamp(START)


def test_window_from_the_config(synthetic: Inputs) -> None:
    config = pol.monthly(base=Config().with_overrides({"backtest.start": "2019-05-01",
                                                     "backtest.end": "2019-05-31"}))
    result = backtest_configs(synthetic, [config])
    assert result.dates[0] == pd.Timestamp("2019-05-01")
    assert result.dates[-1] == pd.Timestamp("2019-05-31")


def test_names_must_match(synthetic: Inputs) -> None:
    with pytest.raises(ConfigError, match="1 names for 2"):
        backtest_configs(synthetic, [pol.monthly(), pol.annual()], names=["x"], start=START,
                         end=END)


def test_targets_effective_later_are_used(synthetic: Inputs) -> None:
    # the synthetic targets take effect in 2020; the backtest applies them to all of 2019
    assert synthetic.targets is not None and synthetic.targets.effective_date is not None
    result = backtest_configs(synthetic, [pol.monthly()], start=START, end=END)
    assert result.rebalanced[:, 0].sum() == 4
    undated = dataclasses.replace(synthetic, targets=dataclasses.replace(
        synthetic.targets, effective_date=None))
    again = backtest_configs(undated, [pol.monthly()], start=START, end=END)
    np.testing.assert_array_equal(result.nav_usd, again.nav_usd)


# ------------------------------------------------------------ quiet blocks



def _assert_identical(a: BacktestResult, b: BacktestResult) -> None:
    np.testing.assert_array_equal(a.rebalanced, b.rebalanced)
    for name in ("nav_usd", "traded_usd", "cost_usd", "drift", "post_drift", "cash_usd"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-13, atol=1e-9,
                                   err_msg=name)


@settings(max_examples=6, deadline=None)
@given(configs=st.lists(random_config(), min_size=1, max_size=3),
       window=st.sampled_from([(DAYS[2], DAYS[140]), (DAYS[120], DAYS[230])]))
def test_quiet_blocks_equal_day_by_day(configs: list[Config],
                                       window: tuple[pd.Timestamp, pd.Timestamp]) -> None:
    """Blocks of quiet days give every day what the day-by-day loop gives."""
    start, end = window
    _assert_identical(backtest_configs(SYNTHETIC, configs, start=start, end=end),
                      day_by_day(SYNTHETIC, configs, start=start, end=end))


def test_blocks_cover_delays_calendars_and_stale_days(synthetic: Inputs) -> None:
    configs = [pol.vix_delayed(h).with_overrides({"policy.delay_days": 3,
                                                  "policy.max_delay_days": 6})
               for h in (0.01, 0.02, 0.03)]
    configs += [pol.monthly(), pol.quarterly(), pol.never(), pol.threshold(0.04),
                pol.dynamic(0.02, pause_in_stress=True), pol.volatility_aware(0.05)]
    in_blocks, longest = in_quiet_blocks(synthetic, configs)
    assert longest >= 32  # long quiet stretches were evaluated at once
    result = day_by_day(synthetic, configs)
    _assert_identical(in_blocks, result)
    assert result.rebalanced[:, :3].any(axis=0).all()
    stale = synthetic_inputs(costs_as_of="2019-03-01")
    monthly = [pol.monthly(), pol.vix_delayed(0.01)]
    _assert_identical(backtest_configs(stale, monthly), day_by_day(stale, monthly))


def test_block_safe_triggers() -> None:
    assert blocks.block_safe(StressDelay(hybrid(override=0.1)))
    assert not blocks.block_safe(AnyOf((DriftThreshold(0.05), CostBenefit())))


def test_take_trigger() -> None:
    stacked = stack_triggers([StressDelay(hybrid(override=h)) for h in (0.1, 0.2, 0.3)])
    taken = grid.take_trigger(stacked, np.array([2, 0, 2]))
    inner = taken.inner.children[1]  # type: ignore[attr-defined]
    np.testing.assert_array_equal(inner.threshold, [0.3, 0.1, 0.3])
    plain = DriftThreshold(0.05)
    assert grid.take_trigger(plain, np.array([0, 0])) is plain


def test_config_texts_are_written_on_first_read() -> None:
    configs = [pol.threshold(0.05), pol.monthly()]
    texts = ConfigTexts(configs)
    assert len(texts) == 2 and not texts._texts
    assert texts[1] == configs[1].to_toml() and set(texts._texts) == {1}
    assert texts[-2] == configs[0].to_toml()
    assert texts[:] == [c.to_toml() for c in configs] == list(texts)
    with pytest.raises(IndexError):
        texts[2]
