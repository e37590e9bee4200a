"""MarketHistory equals the planner's own per-day computations (one estimator each)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.app.plan import calendar_flags
from driftwise.backtest.batches import Window
from driftwise.backtest.engine import BacktestResult, run_backtest
from driftwise.backtest.grid import sweep
from driftwise.backtest.history import (
    ALONE_FRACTION,
    HistorySettings,
    MarketHistory,
    build_history,
    universe,
    window_dates,
)
from driftwise.config import Config
from driftwise.config.assemble import cost_params, history_settings, monitor_config
from driftwise.costs import (
    AssetCostInputs,
    CostParams,
    adv_shares,
    build_cost_inputs,
    daily_volatility,
    regime_multiplier,
)
from driftwise.costs.build import min_history_periods
from driftwise.costs.estimation import rolling_adv_shares, rolling_daily_volatility
from driftwise.data.market import vix_on
from driftwise.data.model import Holdings, Inputs
from driftwise.data.sample import load_sample
from driftwise.data.targets import read_targets
from driftwise.errors import ConfigError, DataError
from driftwise.flags import Flag
from driftwise.metrics.risk import annualized_volatility, rolling_annualized_volatility
from driftwise.metrics.risk_model import estimate_risk
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import Calendar, DayInput, DriftThreshold, Trigger, VolatilityAware
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


def test_group_targets_span_their_members(synthetic: Inputs) -> None:
    """Group targets are backtested (test_groups.py): the universe is every master member
    of a target group (it used to be refused)."""
    sector = read_targets(pd.DataFrame({"sector": ["Tech", "Energy"],
                                        "target_weight": [0.6, 0.4]}))
    history = build_history(dataclasses.replace(synthetic, targets=sector))
    assert list(history.tickers) == ["AAA", "BBB", "DDD", "EEE"]
    with pytest.raises(ConfigError, match="needs targets"):
        build_history(dataclasses.replace(synthetic, targets=None))


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


# ------------------------------------------------ rolling estimators and laziness


@st.composite
def _panels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Values (R, N >= 2) with missing, zero and negative cells, window ends, a window
    and a minimum count."""
    n_rows = draw(st.integers(1, 40))
    n_assets = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.lognormal(3.0, 0.5, (n_rows, n_assets)) * rng.choice([1e-3, 1.0, 1e3],
                                                                       size=n_assets)
    cells = rng.random((n_rows, n_assets))
    values[cells < draw(st.floats(0.0, 0.6))] = np.nan  # gaps, even whole windows
    values[cells > 0.97] = 0.0
    values[(cells > 0.95) & (cells <= 0.97)] = -1.0
    if draw(st.booleans()):
        values[rng.integers(0, n_rows)] = np.inf
    window = draw(st.integers(2, 25))
    ends = rng.integers(0, n_rows, size=draw(st.integers(1, 6)))
    return values, ends, window, draw(st.integers(2, window))


@settings(max_examples=150, deadline=None)
@given(_panels())
def test_rolling_estimators_equal_the_per_day_functions(
        panel: tuple[np.ndarray, np.ndarray, int, int]) -> None:
    """Each rolling estimator, on any window ends, is the planner's per-day function on the
    data up to that day, to the bit (NaN gaps, too little history, zero volumes)."""
    values, ends, window, periods = panel
    returns = values / 100.0
    vol = rolling_annualized_volatility(returns, ends, window, periods)
    sigma = rolling_daily_volatility(values, ends, window, periods)
    adv = rolling_adv_shares(values, ends, window, periods)
    with np.errstate(invalid="ignore"):
        for d, e in enumerate(ends.tolist()):
            np.testing.assert_array_equal(
                vol[d], annualized_volatility(returns[: e + 1], window, periods))
            np.testing.assert_array_equal(sigma[d], daily_volatility(values[: e + 1], window,
                                                                     periods))
            np.testing.assert_array_equal(adv[d], adv_shares(values[: e + 1], window, periods))


def _gappy(inputs: Inputs) -> Inputs:
    """The synthetic market with an asset listed late (short history) and price gaps
    before the window."""
    prices = inputs.market.prices.copy()
    prices.iloc[:70, 3] = np.nan  # DDD listed on day 70
    prices.iloc[[90, 91, 95], 1] = np.nan  # BBB unpriced on three days
    return dataclasses.replace(inputs, market=dataclasses.replace(inputs.market, prices=prices))


def test_whole_window_inputs_equal_the_planner_on_every_day(synthetic: Inputs) -> None:
    """The whole-window arrays, day by day, are the planner's per-day functions to the bit
    (every day, not samples): volatility (before fallbacks), daily volatility, ADV.

    On C-ordered arrays, whose ``sum(axis=0)`` adds the window's rows one after the other
    (on a column-ordered frame's array numpy adds each column pairwise, which differs in
    the last bits: the history was never equal to that, only within 1e-12 as the tests
    above require)."""
    inputs = _gappy(synthetic)
    config = Config()
    params = cost_params(config)
    history = build_history(inputs, history_settings(config), start="2019-06-03")
    full = np.ascontiguousarray(inputs.market.prices.reindex(columns=history.tickers))
    assert inputs.market.volumes is not None
    volumes = np.ascontiguousarray(inputs.market.volumes.reindex(columns=history.tickers))
    returns = np.ascontiguousarray(inputs.market.prices.reindex(columns=history.tickers)
                                   .pct_change(fill_method=None), dtype=np.float64)
    vol_window = history.settings.risk.vol_window_days
    sigma_periods = min_history_periods(params.vol_window_days, params)
    adv_periods = min_history_periods(params.adv_window_days, params)
    assert history.adv_shares is not None
    for k, row in enumerate(history.rows.tolist()):
        want = annualized_volatility(returns[: row + 1], vol_window)
        if np.isfinite(want).all():
            np.testing.assert_array_equal(history.vol_annual[k], want)
        np.testing.assert_array_equal(
            history.sigma_daily[k],
            daily_volatility(full[: row + 1], params.vol_window_days, sigma_periods))
        np.testing.assert_array_equal(
            history.adv_shares[k],
            adv_shares(volumes[: row + 1], params.adv_window_days, adv_periods))


@pytest.mark.parametrize("start", ["2019-05-21", "2019-06-03"])
def test_a_day_alone_equals_the_whole_window(synthetic: Inputs, start: str) -> None:
    """Read one day at a time (estimated for that day alone, fallbacks included), every
    input is the whole window's row to the bit, and the costs the same AssetCostInputs."""
    inputs = _gappy(synthetic)
    settings = history_settings(Config())
    lazy = build_history(inputs, settings, start=start)
    whole = build_history(inputs, settings, start=start)
    assert whole.adv_shares is not None
    step = int(1 / ALONE_FRACTION) + 1  # fewer days than the switch to the whole window
    for k in range(0, lazy.n_days, step):
        np.testing.assert_array_equal(lazy.vol_on(k), whole.vol_annual[k])
        np.testing.assert_array_equal(lazy.sigma_on(k), whole.sigma_daily[k])
        np.testing.assert_array_equal(lazy.adv_on(k), whole.adv_shares[k])
        np.testing.assert_array_equal(lazy.stale_on(k), whole.stale[k])
        np.testing.assert_array_equal(lazy.cov_on(k), whole.cov_on(k))
        _assert_same_costs(lazy.cost_inputs(k), whole.cost_inputs(k))
    days = len(range(0, lazy.n_days, step))
    if start == "2019-05-21":  # DDD's first days in the window take the fallback volatility
        assert lazy.built["fallback_volatility"] > 0
    assert {name: lazy.built[name] for name in ("sigma_daily", "adv_shares", "stale")} == {
        "sigma_daily": days, "adv_shares": days, "stale": days}
    assert "vol_annual" in lazy.built and "calendar" not in lazy.built
    assert {"vol_annual", "sigma_daily", "adv_shares", "stale"} <= set(whole.built)
    assert all(whole.built[name] == whole.n_days
               for name in ("vol_annual", "sigma_daily", "adv_shares", "stale"))


def test_a_day_read_after_many_alone_is_the_whole_window(synthetic: Inputs) -> None:
    """Past ALONE_FRACTION of the days read one by one, the rest is estimated at once."""
    history = build_history(synthetic)
    reference = build_history(synthetic)
    switch = int(np.ceil(ALONE_FRACTION * history.n_days))
    for k in range(switch + 3):
        np.testing.assert_array_equal(history.sigma_on(k), reference.sigma_daily[k])
        np.testing.assert_array_equal(history.vol_on(k), reference.vol_annual[k])
    assert history.built["sigma_daily"] == switch + history.n_days
    assert history.built["vol_annual"] == switch + history.n_days


def test_a_history_builds_nothing_until_read(synthetic: Inputs) -> None:
    history = build_history(synthetic)
    assert history.built == {}
    history.prepare(frozenset({DayInput.DRIFT}), stale=False)
    assert history.built == {}
    history.prepare(frozenset({DayInput.VOLATILITY, DayInput.CALENDAR}))
    assert set(history.built) >= {"vol_annual", "calendar", "stale"}
    assert "sigma_daily" not in history.built


def _run(inputs: Inputs, rule: Rule, costs: CostParams, *,
         accept_stale: bool = False) -> tuple[MarketHistory, BacktestResult]:
    histories: dict[HistorySettings, MarketHistory] = {}
    window = Window(None, None, False, 1e6)
    result = run_backtest(inputs, sweep(rule, costs=costs, accept_stale_costs=accept_stale),
                          window, histories=histories, workers=1)
    (history,) = histories.values()
    return history, result


FLAT = CostParams(flat_cost_bps=10.0)


def test_a_grid_that_reads_nothing_builds_nothing(synthetic: Inputs) -> None:
    """A flat-cost threshold that never fires reads no per-day input (stale costs are
    accepted, so not even the plan's validity)."""
    history, result = _run(synthetic, Rule(DriftThreshold(threshold=0.99)), FLAT,
                           accept_stale=True)
    assert not result.rebalanced.any()
    assert history.built == {}


def test_a_flat_threshold_estimates_its_trade_days_only(synthetic: Inputs) -> None:
    """A flat-cost threshold reads the plan's validity every day and, on the days it
    trades, that day's rolling ADV (for the liquidity limits), and the day's full cost
    inputs (with the cost model's daily volatility) only on a trade day whose ADV is
    unknown (:class:`~driftwise.backtest.segments.FlatCosts`): no volatility, no
    calendar, no covariance, nothing on quiet days."""
    history, result = _run(synthetic, Rule(DriftThreshold(threshold=0.04),
                                           min_adv_usd=0.0, max_liquidity_days=np.inf), FLAT)
    trade_days = np.flatnonzero(result.rebalanced.any(axis=1))
    traded = len(trade_days)
    assert 0 < traded < history.n_days
    built = history.built
    assert built.pop("stale") == history.n_days
    switch = int(np.ceil(ALONE_FRACTION * history.n_days))
    read = traded if traded <= switch else switch + history.n_days  # then the whole window
    # the day's full cost inputs: the first trade day of each VIX regime (its cost
    # model, kept) and every trade day whose rolling ADV is unknown
    regime = regime_multiplier(history.vix, FLAT)
    full = {int(trade_days[np.flatnonzero(regime[trade_days] == m)[0]])
            for m in np.unique(regime[trade_days])}
    full |= {int(k) for k in trade_days
             if not np.isfinite(history.adv_on(int(k))).all()}  # type: ignore[arg-type]
    assert 0 < len(full) < traded <= switch
    assert built == {"sigma_daily": len(full), "adv_shares": read}


@pytest.mark.parametrize(("trigger", "whole"), [
    (Calendar(), "calendar"),
    (VolatilityAware(), "vol_annual"),
])
def test_a_trigger_that_reads_an_input_every_day_builds_it_whole(
        synthetic: Inputs, trigger: Trigger, whole: str) -> None:
    history, _ = _run(synthetic, Rule(trigger), FLAT)
    assert history.built[whole] >= history.n_days  # (and the first day, read alone)
    assert ("calendar" in history.built) is (whole == "calendar")
