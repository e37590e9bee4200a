"""MarketHistory equals the planner's own per-day computations (one estimator each)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.plan import calendar_flags
from driftwise.backtest.history import build_history, universe, window_dates
from driftwise.config import Config
from driftwise.config.assemble import cost_params, history_settings, monitor_config
from driftwise.costs import AssetCostInputs, build_cost_inputs
from driftwise.data.market import vix_on
from driftwise.data.model import Holdings, Inputs, TargetLevel
from driftwise.data.sample import load_sample
from driftwise.errors import ConfigError, DataError
from driftwise.flags import Flag
from driftwise.metrics.risk_model import estimate_risk
from driftwise.state import build_state

from .conftest import synthetic_inputs

DAYS = (0, 1, 3, 25, 61, 140, 175, 329)


def _planner_risk(inputs: Inputs, config: Config, day: pd.Timestamp) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    names = universe(inputs, from_holdings=False)
    dummy = Holdings(shares=pd.Series(0.0, index=names), cash_usd=1.0)
    state = build_state(dummy, inputs.targets, inputs.market, inputs.master, as_of=day)
    risk = estimate_risk(state, inputs.market.prices, monitor_config(config))
    return risk.vol_annual, risk.cov_long


def _assert_same_costs(got: AssetCostInputs, want: AssetCostInputs) -> None:
    for f in dataclasses.fields(want):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if f.name == "tickers":
            assert a == b
        elif b.dtype == bool:
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0.0, err_msg=f.name)


@pytest.mark.parametrize("te_window", [(60, 252), (20, 40)])
def test_risk_equals_estimate_risk(synthetic: Inputs, te_window: tuple[int, int]) -> None:
    config = Config().with_overrides({"risk.cov_windows_days": list(te_window),
                                      "risk.vol_window_days": te_window[0]})
    history = build_history(synthetic, history_settings(config))
    for k in DAYS:
        vol, cov = _planner_risk(synthetic, config, history.dates[k])
        np.testing.assert_allclose(history.vol_annual[k], vol, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(history.cov_on(k), cov, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("with_volumes", [True, False])
def test_cost_inputs_equal_build_cost_inputs(with_volumes: bool) -> None:
    inputs = synthetic_inputs(with_volumes=with_volumes)
    config = Config().with_overrides({"costs.commission_bps": 0.7})
    history = build_history(inputs, history_settings(config))
    for k in DAYS:
        want, _ = build_cost_inputs(history.tickers, inputs.market.prices, inputs.market.volumes,
                                    inputs.master, inputs.costs, as_of=history.dates[k],
                                    params=cost_params(config))
        _assert_same_costs(history.cost_inputs(k), want)



@pytest.mark.parametrize("keep", [True, False])
def test_cost_inputs_kept_or_rebuilt_are_the_same(keep: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every day is kept (built once) in a small window; a large one keeps the last day
    only; either way each day's inputs are what build_cost_inputs gives."""
    from driftwise.backtest import history as module
    if not keep:
        monkeypatch.setattr(module, "KEEP_COST_CELLS", 0)
    inputs = synthetic_inputs()
    config = Config()
    history = build_history(inputs, history_settings(config))
    history.prepare_cost_inputs()
    first = history.cost_inputs(DAYS[0])
    history.cost_inputs(DAYS[1])
    assert (history.cost_inputs(DAYS[0]) is first) is keep
    for k in DAYS:
        want, _ = build_cost_inputs(history.tickers, inputs.market.prices, inputs.market.volumes,
                                    inputs.master, inputs.costs, as_of=history.dates[k],
                                    params=cost_params(config))
        _assert_same_costs(history.cost_inputs(k), want)

def test_stale_cost_rows_follow_the_day() -> None:
    inputs = synthetic_inputs(costs_as_of="2019-03-01")
    history = build_history(inputs, history_settings(Config()))
    for k in DAYS:
        want, _ = build_cost_inputs(history.tickers, inputs.market.prices, inputs.market.volumes,
                                    inputs.master, inputs.costs, as_of=history.dates[k],
                                    params=cost_params(Config()))
        _assert_same_costs(history.cost_inputs(k), want)
        assert bool(history.stale_any[k]) == bool(want.stale.any())
    assert history.stale_any.any() and not history.stale_any.all()


def test_calendar_vix_and_risk_free(synthetic: Inputs) -> None:
    history = build_history(synthetic, history_settings(Config()), start="2019-02-25")
    for k in range(0, history.n_days, 7):
        day = history.dates[k]
        assert history.calendar[k] == calendar_flags(day)
        want = vix_on(synthetic.market.vix, day)
        assert (np.isnan(history.vix[k]) if want is None else history.vix[k] == want)
        assert synthetic.market.risk_free_annual is not None
        known = synthetic.market.risk_free_annual.loc[:day].dropna()  # carried, never stale
        assert history.risk_free_annual[k] == (float(known.iloc[-1]) if len(known) else 0.0)


def test_first_days_have_no_vix(synthetic: Inputs) -> None:
    history = build_history(synthetic, history_settings(Config()), end="2019-01-10")
    assert np.isnan(history.vix[:4]).all() and np.isfinite(history.vix[4:]).all()


def test_sample_days() -> None:
    inputs = load_sample()
    config = Config()
    history = build_history(inputs, history_settings(config), start="2008-09-02",
                            end="2008-10-31")
    for k in (0, 20, history.n_days - 1):
        vol, cov = _planner_risk(inputs, config, history.dates[k])
        np.testing.assert_allclose(history.vol_annual[k], vol, rtol=1e-12)
        np.testing.assert_allclose(history.cov_on(k), cov, rtol=1e-12, atol=1e-15)
        want, _ = build_cost_inputs(history.tickers, inputs.market.prices, None, inputs.master,
                                    inputs.costs, as_of=history.dates[k],
                                    params=cost_params(config))
        _assert_same_costs(history.cost_inputs(k), want)


def test_window_bounds(synthetic: Inputs) -> None:
    index = pd.DatetimeIndex(synthetic.market.prices.index)
    rows = window_dates(index, "2019-02-01", "2019-02-28")
    assert index[rows[0]] == pd.Timestamp("2019-02-01")
    assert index[rows[-1]] == pd.Timestamp("2019-02-28")
    assert len(rows) == 19  # NYSE sessions of February 2019


def test_empty_window(synthetic: Inputs) -> None:
    with pytest.raises(ConfigError, match=r"window 2030-01-01 \.\. end holds no price date"):
        build_history(synthetic, history_settings(Config()), start="2030-01-01")


def test_start_after_end(synthetic: Inputs) -> None:
    index = pd.DatetimeIndex(synthetic.market.prices.index)
    with pytest.raises(ConfigError, match="the start 2019-03-01 is after the end 2019-02-01"):
        window_dates(index, "2019-03-01", "2019-02-01")


def test_missing_price_in_window(synthetic: Inputs) -> None:
    prices = synthetic.market.prices.copy()
    prices.iloc[50, 2] = np.nan
    market = dataclasses.replace(synthetic.market, prices=prices)
    with pytest.raises(DataError, match="CCC") as err:
        build_history(dataclasses.replace(synthetic, market=market))
    assert "2019-03-15" in str(err.value)
    build_history(dataclasses.replace(synthetic, market=market), start="2019-04-01")


def test_targets_needed(synthetic: Inputs) -> None:
    with pytest.raises(ConfigError, match="no targets"):
        build_history(dataclasses.replace(synthetic, targets=None), history_settings(Config()))


def test_group_targets_rejected(synthetic: Inputs) -> None:
    assert synthetic.targets is not None
    sector = dataclasses.replace(synthetic.targets, level=TargetLevel.SECTOR)
    with pytest.raises(ConfigError, match="targets by sector"):
        build_history(dataclasses.replace(synthetic, targets=sector))


def test_a_block_is_its_days_one_row_each(synthetic: Inputs) -> None:
    history = build_history(synthetic)
    k, span, n_rows = 2, 5, 3
    block = history.block(k, span, n_rows)
    assert block.prices_usd.shape == (span, len(history.tickers))
    for j in range(span):
        day = history.day(k + j, with_cov=j == 0)
        np.testing.assert_array_equal(block.prices_usd[j], day.prices_usd)
        assert day.cov_annual is None or day.cov_annual.shape == (len(history.tickers),) * 2
        for r in range(j * n_rows, (j + 1) * n_rows):  # day-major rows
            assert block.date[r] == day.date  # type: ignore[index]
            np.testing.assert_array_equal(block.vol_annual[r], day.vol_annual)
            np.testing.assert_equal(block.vix[r], day.vix)  # type: ignore[index]
            assert block.first_day[r] == day.first_day  # type: ignore[index]
            assert isinstance(block.calendar, dict) and isinstance(day.calendar, frozenset)
            assert {key for key, mask in block.calendar.items() if mask[r]} == day.calendar
    assert history.day(0).first_day and not history.day(1).first_day
    assert history.day(3).cov_annual is None



def test_fallback_days_equal_estimate_risk(synthetic: Inputs) -> None:
    """Days with a fallback volatility: the planner's volatility exactly, its covariance."""
    config = Config()
    history = build_history(synthetic, history_settings(config))
    names = universe(synthetic, from_holdings=False)
    checked = 0
    for k in range(0, 40, 3):
        day = history.dates[k]
        dummy = Holdings(shares=pd.Series(0.0, index=names), cash_usd=1.0)
        state = build_state(dummy, synthetic.targets, synthetic.market, synthetic.master,
                            as_of=day)
        risk = estimate_risk(state, synthetic.market.prices, monitor_config(config))
        if not any(n.flag is Flag.NO_VOLATILITY for n in risk.notices):
            continue
        checked += 1
        np.testing.assert_array_equal(history.vol_annual[k], risk.vol_annual)
        np.testing.assert_allclose(history.cov_on(k), risk.cov_long, rtol=1e-12, atol=1e-15)
    assert checked > 0
