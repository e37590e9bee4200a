"""build_cost_inputs: estimation from market data and every flagged fallback."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.costs import (
    AssetCostInputs,
    CostInputsBuilder,
    CostParams,
    DayEstimates,
    ImpactModel,
    adv_shares,
    build_cost_inputs,
    daily_volatility,
    min_history_periods,
    read_cost_inputs,
)
from driftwise.data.model import SecurityMaster
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice

DATES = pd.bdate_range("2024-01-01", periods=80)
AS_OF = DATES[-1]
TICKERS = ["BIG", "MID", "SML", "NOCAP"]


def market() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (80, 4)), axis=0)),
                          index=DATES, columns=TICKERS)
    volumes = pd.DataFrame(1e6, index=DATES, columns=TICKERS)
    return prices, volumes


def master() -> SecurityMaster:
    frame = pd.DataFrame({"sector": ["Tech", "Tech", "Energy", None],
                          "asset_class": ["Eq"] * 4,
                          "market_cap_usd": [50e9, 5e9, 1e9, np.nan]},
                         index=pd.Index(TICKERS, name="ticker"))
    return SecurityMaster(frame=frame)


def cost_frame(**as_of: str) -> pd.DataFrame:
    return pd.DataFrame({"ticker": TICKERS[:3], "spread_bps": [2.0, np.nan, 30.0],
                         "commission_bps": [1.0, 0.5, 0.0],
                         "as_of": [as_of.get(t, "2024-04-01") for t in TICKERS[:3]],
                         "borrow_bps_annual": [25.0, np.nan, 400.0]})


def flags(notices: tuple[Notice, ...]) -> dict[Flag, tuple[str, ...]]:
    return {n.flag: n.tickers for n in notices}


def test_full_data_no_fallbacks() -> None:
    prices, volumes = market()
    costs = cost_frame()
    costs.loc[1, "spread_bps"] = 4.0
    inp, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), costs, as_of=AS_OF)
    assert notices == ()
    assert inp.tickers == ("BIG", "MID", "SML")
    np.testing.assert_allclose(inp.price_usd, prices.iloc[-1, :3])
    r = np.log(prices.iloc[-21:, 0]).diff().dropna()
    assert inp.sigma_daily[0] == pytest.approx(r.std(ddof=1))
    assert inp.adv_shares.tolist() == [1e6] * 3
    assert inp.half_spread_bps.tolist() == [1.0, 2.0, 15.0]
    assert inp.borrow_bps_annual.tolist() == [25.0, 25.0, 400.0]
    assert inp.borrow_estimated.tolist() == [False, True, False]
    np.testing.assert_allclose(inp.outstanding_over_adv, [50e9, 5e9, 1e9] / (inp.adv_usd))


def test_tier_spread_and_unknown_cap() -> None:
    prices, volumes = market()
    inp, notices = build_cost_inputs(TICKERS, prices, volumes, master(), cost_frame(),
                                     as_of=AS_OF)
    got = flags(notices)
    assert got[Flag.TIER_SPREAD] == ("MID", "NOCAP")
    assert inp.half_spread_bps[1] == 5.0 and inp.half_spread_bps[3] == 5.0  # mid tier 10 bps
    assert got[Flag.UNKNOWN_MARKET_CAP] == ("NOCAP",)
    assert inp.commission_bps[3] == 0.0 and np.isnan(inp.outstanding_over_adv[3])
    assert Flag.ESTIMATED_COSTS not in got


def test_estimated_liquidity_proxy() -> None:
    prices, volumes = market()
    volumes["SML"] = np.nan
    inp, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), cost_frame(),
                                     as_of=AS_OF)
    assert flags(notices)[Flag.ESTIMATED_LIQUIDITY] == ("SML",)
    assert inp.liquidity_estimated.tolist() == [False, False, True]
    assert inp.adv_usd[2] == pytest.approx(1e9 / 150)
    assert inp.modelled[2]  # has a cost row: still priced by the component model


def test_estimated_costs_all_in_by_tier() -> None:
    prices, _ = market()
    inp, notices = build_cost_inputs(TICKERS, prices, None, master(), None, as_of=AS_OF)
    got = flags(notices)
    assert got[Flag.ESTIMATED_COSTS] == tuple(sorted(TICKERS))
    assert inp.all_in_bps.tolist() == [20.0, 50.0, 100.0, 50.0]
    assert Flag.TIER_SPREAD not in got
    assert got[Flag.ESTIMATED_LIQUIDITY] == tuple(sorted(TICKERS))
    assert inp.adv_usd[3] == pytest.approx(4.5e9 / 150)  # unknown cap: mid-cap proxy


def test_stale_costs() -> None:
    prices, volumes = market()
    costs = cost_frame(BIG="2024-03-01", MID="2024-03-19")  # 49 and 31 days before 04-19
    inp, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), costs,
                                     as_of=AS_OF)
    assert flags(notices)[Flag.STALE_COSTS] == ("BIG", "MID")
    assert inp.stale.tolist() == [True, True, False]
    fresh = cost_frame(BIG="2024-03-20")  # exactly 30 days: not stale
    _, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), fresh,
                                     as_of=AS_OF)
    assert Flag.STALE_COSTS not in flags(notices)


def test_no_volatility_fallbacks() -> None:
    prices, volumes = market()
    prices.iloc[:-3, 1] = np.nan   # MID: too short, sector Tech -> BIG's sigma
    prices.iloc[:-3, 2] = np.nan   # SML: Energy has no peer -> universe median
    inp, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), cost_frame(),
                                     as_of=AS_OF)
    assert flags(notices)[Flag.NO_VOLATILITY] == ("MID", "SML")
    assert inp.sigma_daily[1] == inp.sigma_daily[0] == inp.sigma_daily[2]
    prices.iloc[:-3, 0] = np.nan   # nobody has history: tier defaults
    inp, _ = build_cost_inputs(TICKERS[:3], prices, volumes, master(), cost_frame(),
                               as_of=AS_OF)
    assert inp.sigma_daily.tolist() == [0.015, 0.020, 0.025]


def test_spread_history_takes_precedence(tmp_path: object) -> None:
    prices, volumes = market()
    hist = pd.DataFrame({"MID": 8.0, "BIG": np.nan}, index=DATES)
    inp, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), cost_frame(),
                                     as_of=AS_OF, spread_history_bps=hist)
    assert inp.half_spread_bps.tolist() == [1.0, 4.0, 15.0]
    assert Flag.TIER_SPREAD not in flags(notices)
    hist.iloc[5, 0] = -1.0
    with pytest.raises(DataError, match="negative spread"):
        build_cost_inputs(TICKERS[:3], prices, volumes, master(), cost_frame(), as_of=AS_OF,
                          spread_history_bps=hist)


def test_data_after_as_of_is_ignored() -> None:
    prices, volumes = market()
    early = DATES[59]
    inp, _ = build_cost_inputs(TICKERS[:3], prices, volumes, master(),
                               cost_frame(BIG="2024-03-01", MID="2024-03-01", SML="2024-03-01"),
                               as_of=early)
    assert inp.price_usd[0] == prices.loc[early, "BIG"]


def test_cost_file_path_and_future_row(tmp_path: object) -> None:
    prices, volumes = market()
    costs = cost_frame(BIG="2024-05-01")
    with pytest.raises(DataError, match="date in the future"):
        build_cost_inputs(TICKERS[:3], prices, volumes, master(), costs, as_of=AS_OF)
    parsed = read_cost_inputs(cost_frame(), as_of=AS_OF)
    inp, _ = build_cost_inputs(TICKERS[:3], prices, volumes, master(), parsed, as_of=AS_OF)
    assert inp.commission_bps.tolist() == [1.0, 0.5, 0.0]


def test_almgren_flags_unknown_cap_for_theta() -> None:
    prices, volumes = market()
    costs = pd.concat([cost_frame(), pd.DataFrame({"ticker": ["NOCAP"], "spread_bps": [5.0],
                                                   "commission_bps": [0.0],
                                                   "as_of": ["2024-04-01"]})])
    p = CostParams(impact_model=ImpactModel.ALMGREN_2005)
    _, notices = build_cost_inputs(TICKERS, prices, volumes, master(), costs, as_of=AS_OF,
                                   params=p)
    assert flags(notices)[Flag.UNKNOWN_MARKET_CAP] == ("NOCAP",)
    _, notices = build_cost_inputs(TICKERS, prices, volumes, master(), costs, as_of=AS_OF)
    assert Flag.UNKNOWN_MARKET_CAP not in flags(notices)


def test_bad_universe() -> None:
    prices, volumes = market()
    with pytest.raises(DataError, match="duplicate tickers"):
        build_cost_inputs(["BIG", "BIG"], prices, volumes, master(), None, as_of=AS_OF)
    with pytest.raises(DataError, match="no price on or before"):
        build_cost_inputs(["BIG", "ZZZ"], prices, volumes, master(), None, as_of=AS_OF)


# -------------------------------------------------- the public per-day builder


def _same_inputs(got: AssetCostInputs, want: AssetCostInputs) -> None:
    for f in dataclasses.fields(want):
        np.testing.assert_array_equal(np.asarray(getattr(got, f.name)),
                                      np.asarray(getattr(want, f.name)), err_msg=f.name)


def test_builder_on_one_day_is_build_cost_inputs() -> None:
    """The builder fed one day's estimates gives build_cost_inputs, notices included."""
    prices, volumes = market()
    prices.iloc[:-3, 2] = np.nan  # SML: too little history for volatility
    volumes["MID"] = np.nan  # MID: ADV proxy
    costs = read_cost_inputs(cost_frame(BIG="2024-03-01"), as_of=AS_OF)
    params = CostParams(impact_model=ImpactModel.ALMGREN_2005)
    want, want_notices = build_cost_inputs(TICKERS, prices, volumes, master(), costs,
                                           as_of=AS_OF, params=params)
    builder = CostInputsBuilder(TICKERS, master(), costs, params)
    window = params.vol_window_days
    day = DayEstimates(
        price_usd=prices.iloc[-1].to_numpy(),
        sigma_daily=daily_volatility(prices.to_numpy(), window,
                                     min_history_periods(window, params)),
        adv_shares=adv_shares(volumes.to_numpy(), params.adv_window_days,
                              min_history_periods(params.adv_window_days, params)),
        stale=builder.stale_on(pd.DatetimeIndex([AS_OF]))[0])
    got, notices = builder.build(day)
    _same_inputs(got, want)
    assert notices == want_notices
    assert {Flag.STALE_COSTS, Flag.NO_VOLATILITY, Flag.ESTIMATED_LIQUIDITY} <= set(flags(notices))
    _same_inputs(builder.inputs(day), want)


def test_builder_staleness_by_day() -> None:
    costs = read_cost_inputs(cost_frame(BIG="2024-03-01", MID="2024-03-19"), as_of=AS_OF)
    builder = CostInputsBuilder(TICKERS, None, costs, CostParams())
    days = pd.DatetimeIndex(["2024-03-31", "2024-04-01", "2024-04-18", "2024-04-19"])
    # stale after 30 days: BIG (03-01) from 04-01 on, MID (03-19) from 04-19 on; NOCAP no row
    assert builder.stale_on(days).tolist() == [[False] * 4, [True, False, False, False],
                                               [True, False, False, False],
                                               [True, True, False, False]]
    for day, row in zip(days, builder.stale_on(days), strict=True):
        inp, _ = build_cost_inputs(TICKERS, *market(), master(), costs, as_of=day)
        assert inp.stale.tolist() == row.tolist()


def test_min_history_periods() -> None:
    params = CostParams(min_history_fraction=0.5)
    assert [min_history_periods(w, params) for w in (1, 3, 20, 60)] == [2, 2, 10, 30]


def test_cost_rows_dated_after_the_as_of_date_are_flagged() -> None:
    prices, volumes = market()
    # read against today (as the CLI loader does), used on a day before its rows' dates
    parsed = read_cost_inputs(cost_frame(BIG="2024-05-01", MID="2024-04-20"), today="2024-06-01")
    _, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), parsed,
                                   as_of=AS_OF)  # 2024-04-19
    got = [n for n in notices if n.flag is Flag.COSTS_AFTER_AS_OF]
    assert [n.tickers for n in got] == [("BIG", "MID")]
    assert "after the as-of date 2024-04-19 (latest 2024-05-01)" in got[0].detail
    _, notices = build_cost_inputs(TICKERS[:3], prices, volumes, master(), parsed,
                                   as_of="2024-05-01")
    assert Flag.COSTS_AFTER_AS_OF not in flags(notices)
