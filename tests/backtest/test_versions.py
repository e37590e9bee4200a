"""Target versions switch on their effective dates in the backtest: the switch is an event
(every row whose last rebalance is known fires, no cost skip, no delay, until it trades), the
drift is measured against the new target from that day on; equal to the reference simulator
(the planner day by day with the version in force)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.reference import run_reference
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs, Targets
from driftwise.data.targets import read_targets
from driftwise.errors import ConfigError

from .conftest import synthetic_inputs, with_extra_holding
from .test_reference import WINDOWS, assert_same

BASE = synthetic_inputs()
DAYS = BASE.market.prices.index


def version(weights: dict[str, float], effective: pd.Timestamp | None) -> Targets:
    frame = pd.DataFrame({"ticker": list(weights), "target_weight": list(weights.values())})
    if effective is not None:
        frame["effective_date"] = str(effective.date())
    return read_targets(frame)


V1 = {"AAA": 0.25, "BBB": 0.2, "CCC": 0.2, "DDD": 0.15, "EEE": 0.15, "CASH": 0.05}
V2 = {"AAA": 0.1, "BBB": 0.3, "CCC": 0.1, "DDD": 0.3, "CASH": 0.2}  # EEE dropped
V3 = {"AAA": 0.3, "BBB": 0.3, "CCC": 0.3, "EEE": 0.1}


def with_versions(inputs: Inputs, *versions: Targets) -> Inputs:
    return dataclasses.replace(inputs, target_versions=versions)


SWITCH = DAYS[115]
INPUTS = with_versions(BASE, version(V1, DAYS[0]), version(V2, SWITCH),
                       version(V3, DAYS[170] + pd.Timedelta(hours=30)))  # a Saturday or not
FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "costs.flat_cost_bps": 0.0,
        "backtest.cash_earns_risk_free": False}


def test_buy_and_hold_switches_to_the_new_target_on_its_date_oracle() -> None:
    """A rule that never fires: held at the first version until the second takes effect,
    then moved to it at no cost (the event), then held again; the drift of the switch day
    is measured against the new target."""
    start, end = WINDOWS[0]  # days 100 .. 140: the switch on day 115
    result = backtest_configs(INPUTS, [pol.never(base=Config().with_overrides(FREE))],
                              start=start, end=end)
    prices = BASE.market.prices.loc[start:end, result.tickers].to_numpy()
    names = result.tickers
    w1 = np.array([V1.get(t, 0.0) for t in names])
    w2 = np.array([V2.get(t, 0.0) for t in names])
    s = int(np.flatnonzero(pd.DatetimeIndex(result.dates) == SWITCH)[0])
    nav0 = result.initial_nav_usd
    shares, cash = w1 * nav0 / prices[0], 0.05 * nav0
    for k in range(len(prices)):
        nav = float(shares @ prices[k]) + cash
        if k == s:
            weights = shares * prices[k] / nav
            drift = 0.5 * (np.abs(weights - w2).sum() + abs(cash / nav - 0.2))
            assert result.drift[k, 0] == pytest.approx(drift, abs=1e-12)
            assert result.rebalanced[k, 0]
            shares, cash = w2 * nav / prices[k], 0.2 * nav
            assert result.post_drift[k, 0] == pytest.approx(0.0, abs=1e-12)
        else:
            assert not result.rebalanced[k, 0]
        assert result.nav_usd[k, 0] == pytest.approx(nav, rel=1e-12)
        assert result.cash_usd[k, 0] == pytest.approx(cash, rel=1e-9)
    # the reference portfolio follows the version in force each day
    growth = [(prices[k + 1] / prices[k]) @ (w1 if k < s else w2) + (0.05 if k < s else 0.2)
              for k in range(len(prices) - 1)]
    np.testing.assert_allclose(result.ref_nav_usd, nav0 * np.cumprod([1.0, *growth]),
                               rtol=1e-12)


def test_a_calendar_rule_rebalances_on_the_switch_day_too() -> None:
    start, end = WINDOWS[0]
    result = backtest_configs(INPUTS, [pol.quarterly(), pol.threshold(0.5)],
                              start=start, end=end)
    s = int(np.flatnonzero(pd.DatetimeIndex(result.dates) == SWITCH)[0])
    assert result.rebalanced[s].all()
    assert result.rebalanced[:, 1].sum() == 1  # the event only: a 50% threshold never fires


CONFIGS = [pol.threshold(0.02), pol.monthly(destination="half"), pol.hybrid(override=0.03),
           pol.cost_benefit(), pol.never(),
           pol.vix_delayed(0.01, base=Config().with_overrides({"policy.delay_days": 3,
                                                             "policy.max_delay_days": 6})),
           pol.threshold(0.02, destination="band_edge", base=Config().with_overrides(
               {"policy.skip_if_cost_exceeds_benefit": True, "costs.cost_scale": 20.0}))]


@pytest.mark.parametrize("window", [(DAYS[100], DAYS[140]), (DAYS[150], DAYS[190])])
def test_engine_equals_reference_across_switches(window: tuple[pd.Timestamp,
                                                               pd.Timestamp]) -> None:
    start, end = window
    engine = backtest_configs(INPUTS, CONFIGS, start=start, end=end)
    for i, config in enumerate(CONFIGS):
        assert_same(engine, i, run_reference(INPUTS, config, start=start, end=end))


def test_from_holdings_the_event_needs_a_known_last_rebalance() -> None:
    """From holdings whose last rebalance came before the version in force: an event on
    the first day; without a last rebalance: none (as in the planner)."""
    held = with_extra_holding(INPUTS)
    config = pol.threshold(0.5, base=Config().with_overrides(
        {"backtest.start_from_holdings": True}))
    start, end = DAYS[120], DAYS[160]
    known = backtest_configs(held, [config], start=start, end=end)
    assert known.rebalanced[0, 0]
    assert_same(known, 0, run_reference(held, config, start=start, end=end))
    unknown = dataclasses.replace(held, last_rebalance=None)
    quiet = backtest_configs(unknown, [config], start=start, end=end)
    assert not quiet.rebalanced[:, 0].any()
    assert_same(quiet, 0, run_reference(unknown, config, start=start, end=end))


def test_one_version_in_force_is_the_plain_target_bit_for_bit() -> None:
    only = with_versions(BASE, version(V1, DAYS[0]), version(V2, DAYS[-1] + pd.Timedelta(days=5)))
    configs = [pol.threshold(0.02), pol.monthly(), pol.cost_benefit()]
    a = backtest_configs(only, configs)
    b = backtest_configs(dataclasses.replace(BASE, targets=version(V1, None)), configs)
    for name in ("nav_usd", "cash_usd", "drift", "rebalanced", "traded_usd", "ref_nav_usd"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_bad_versions_are_refused() -> None:
    late = with_versions(BASE, version(V1, DAYS[50]))
    with pytest.raises(ConfigError, match="none is in force on the first day"):
        backtest_configs(late, [pol.monthly()], start=DAYS[10], end=DAYS[60])
    twice = with_versions(BASE, version(V1, DAYS[5]), version(V2, DAYS[5]))
    with pytest.raises(ConfigError, match="two versions take effect"):
        backtest_configs(twice, [pol.monthly()])
    # versions by sector (or mixing levels) switch too: tests/backtest/test_group_versions.py
