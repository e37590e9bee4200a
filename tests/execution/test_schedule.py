"""Execution schedule: child orders, multi-day spreading, cost and risk oracles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.errors import ConfigError, DataError
from driftwise.execution import ExecutionStyle, Schedule, build_schedule
from driftwise.execution.profile import NYSE_HALF_HOUR_PROFILE, rescale_profile
from driftwise.execution.schedule import (
    _plan_one,
    plan_grids,
    pov_shares,
    resolve_sessions,
    split_shares,
)
from driftwise.flags import Flag

# a hand-made session list (Christmas 2024 and New Year 2025 are holidays)
SESSIONS = pd.DatetimeIndex(["2024-12-20", "2024-12-23", "2024-12-24", "2024-12-26",
                             "2024-12-27", "2024-12-30", "2024-12-31", "2025-01-02",
                             "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08"])


def sqrt_impact(rate: np.ndarray) -> np.ndarray:
    """Square-root law, sigma_daily 2%: 200 bps * sqrt(rate)."""
    return 200.0 * np.sqrt(rate)


def run(trades: list[float], *, style: str = "twap", adv: list[float] | None = None,
        **kw: object) -> Schedule:
    n = len(trades)
    args: dict[str, object] = {"style": style, "start_date": "2024-12-20", "sessions": SESSIONS,
                               "risk_aversion": 0.0, "impact_bps": sqrt_impact}
    args.update(kw)
    return build_schedule([f"T{i}" for i in range(n)], trades, [50.0] * n,
                          adv if adv is not None else [1e6] * n, [0.02] * n,
                          **args)  # type: ignore[arg-type]


# --- splitting kernels ---------------------------------------------------------------

@given(st.integers(0, 10_000_000), st.lists(st.floats(0.01, 10.0), min_size=1, max_size=60))
def test_split_whole_shares_is_exact_and_close_to_ideal(total: int, weights: list[float]) -> None:
    out = split_shares(float(total), weights)
    assert out.sum() == total
    assert np.all(out == np.round(out)) and np.all(out >= 0)
    ideal = total * np.asarray(weights) / np.sum(weights)
    assert np.all(np.abs(out - ideal) <= 1.0 + 1e-9)


@given(st.floats(0.001, 1e6), st.integers(1, 40))
def test_split_fractional_shares_sums(total: float, n: int) -> None:
    out = split_shares(total, np.ones(n))
    assert out.sum() == pytest.approx(total, rel=1e-12)


@given(st.integers(1, 2_000_000), st.floats(10.0, 1e5))
def test_pov_caps_respected_and_sum_exact(total: int, daily_cap: float) -> None:
    caps = daily_cap * NYSE_HALF_HOUR_PROFILE
    out = pov_shares(float(total), caps)
    assert out.sum() == total
    assert out.size % 13 == 0
    grid = np.tile(caps, out.size // 13)
    assert np.all(out <= grid + 1e-9)
    # every bucket before the last used one is filled to its whole-share cap
    last = np.flatnonzero(out)[-1]
    np.testing.assert_array_equal(out[:last], np.floor(grid[:last]))


def test_pov_tiny_caps_keep_cumulative_participation() -> None:
    caps = 0.5 * NYSE_HALF_HOUR_PROFILE  # half a share a day
    out = pov_shares(3.0, caps)
    assert out.sum() == 3.0
    assert np.all(np.cumsum(out) <= np.cumsum(np.tile(caps, out.size // 13)) + 1e-9)


# --- styles ----------------------------------------------------------------------------

def test_twap_equal_slices_one_day() -> None:
    s = run([1300.0])
    kids = s.child_orders
    assert len(kids) == 13 and (kids["shares"] == 100).all()
    assert (kids["day"] == pd.Timestamp("2024-12-20")).all()
    assert kids["start_time"].tolist()[0] == "09:30" and kids["start_time"].tolist()[-1] == "15:30"
    row = s.summary.iloc[0]
    assert row["days"] == 1 and row["n_children"] == 13 and row["style"] == "twap"


def test_whole_parent_rounding_sums_exactly() -> None:
    s = run([1000.0, -777.0, 5.0])
    sums = s.child_orders.groupby("ticker")["shares"].sum()
    assert sums.to_dict() == {"T0": 1000.0, "T1": 777.0, "T2": 5.0}
    assert (s.child_orders["shares"] == s.child_orders["shares"].round()).all()
    assert (s.child_orders["shares"] > 0).all()


def test_fractional_parent_keeps_fractions() -> None:
    s = run([10.5])
    assert s.child_orders["shares"].sum() == pytest.approx(10.5, abs=1e-12)


def test_vwap_follows_profile() -> None:
    s = run([100_000.0], style=ExecutionStyle.VWAP)
    shares = s.child_orders["shares"].to_numpy()
    np.testing.assert_allclose(shares, 100_000 * NYSE_HALF_HOUR_PROFILE, atol=1.0)
    # VWAP participation is the same in every bucket
    np.testing.assert_allclose(s.child_orders["participation"], 0.1 / 1.0 * 1.0 * 1.0, rtol=0.01)


def test_pov_caps_each_bucket_and_continues() -> None:
    s = run([250_000.0], style="pov", participation=0.10)
    kids = s.child_orders
    assert (kids["participation"] <= 0.10 + 1e-12).all()
    assert kids["shares"].sum() == 250_000
    assert s.summary.iloc[0]["days"] == 3  # 2.5 liquidity days
    assert kids["day"].unique().tolist() == list(SESSIONS[:3])
    assert Flag.MULTI_DAY.value in s.summary.iloc[0]["flags"]


def test_sell_side_and_signed_summary() -> None:
    s = run([-2600.0])
    assert (s.child_orders["side"] == "SELL").all()
    assert (s.child_orders["shares"] > 0).all()
    assert s.summary.iloc[0]["shares"] == -2600 and s.summary.iloc[0]["side"] == "SELL"


@pytest.mark.parametrize("style", ["twap", "vwap", "pov"])
def test_multi_day_when_liquidity_days_exceed_limit(style: str) -> None:
    # 830,000 shares at 10% of 1e6 ADV = 8.3 liquidity days -> 9 sessions
    s = run([830_000.0], style=style)
    row = s.summary.iloc[0]
    assert row["days"] == 9 and row["liquidity_days"] == pytest.approx(8.3)
    assert row["first_day"] == SESSIONS[0] and row["last_day"] == SESSIONS[8]
    days = s.child_orders["day"].unique()
    assert pd.Timestamp("2024-12-25") not in days and pd.Timestamp("2025-01-01") not in days
    assert s.child_orders["shares"].sum() == 830_000
    per_day = s.child_orders.groupby("day")["shares"].sum()
    assert (per_day <= 0.10 * 1e6 + 1).all()


def test_below_limit_stays_one_day_even_above_cap() -> None:
    s = run([400_000.0], style="vwap")  # 4 liquidity days <= 5: one day, flagged over cap
    row = s.summary.iloc[0]
    assert row["days"] == 1
    assert row["max_participation"] == pytest.approx(0.4, rel=1e-3)
    assert Flag.OVER_PARTICIPATION.value in row["flags"]


def test_twap_over_cap_midday_is_flagged() -> None:
    s = run([90_000.0])  # 0.9 liquidity days, equal slices vs 5.2% midday volume
    assert Flag.OVER_PARTICIPATION.value in s.summary.iloc[0]["flags"]
    assert Flag.OVER_PARTICIPATION in {n.flag for n in s.notices}


def test_unknown_adv_is_one_day_twap_flagged() -> None:
    s = run([1300.0, 1300.0], style="pov", adv=[np.nan, 1e6])
    row = s.summary.iloc[0]
    assert row["style"] == "twap" and row["days"] == 1
    assert Flag.UNKNOWN_ADV.value in row["flags"]
    kids = s.child_orders[s.child_orders["ticker"] == "T0"]
    assert len(kids) == 13 and kids["participation"].isna().all()
    assert math.isnan(row["expected_cost_usd"]) and math.isnan(row["ac_cost_usd"])
    assert s.summary.iloc[1]["style"] == "pov"
    unknown = [n for n in s.notices if n.flag is Flag.UNKNOWN_ADV]
    assert unknown and unknown[0].tickers == ("T0",)


def test_zero_trade_has_summary_row_and_no_children() -> None:
    s = run([0.0, 100.0])
    assert set(s.child_orders["ticker"]) == {"T1"}
    row = s.summary.iloc[0]
    assert row["days"] == 0 and row["n_children"] == 0 and row["expected_cost_usd"] == 0.0
    assert row["risk_usd"] == 0.0 and pd.isna(row["first_day"])


def test_all_zero_trades() -> None:
    s = run([0.0])
    assert s.child_orders.empty and list(s.child_orders.columns)[:3] == ["ticker", "side", "day"]


def test_missing_volatility_flags_and_nan_risk() -> None:
    s = build_schedule(["A"], [1000.0], [50.0], [1e6], [np.nan], style="twap",
                       start_date="2024-12-20", sessions=SESSIONS, risk_aversion=1e-6,
                       impact_bps=sqrt_impact)
    row = s.summary.iloc[0]
    assert math.isnan(row["risk_usd"]) and Flag.NO_VOLATILITY.value in row["flags"]
    assert row["expected_cost_usd"] > 0


# --- cost and risk oracles -------------------------------------------------------------

@pytest.mark.parametrize("style", ["twap", "vwap", "pov"])
def test_expected_cost_and_risk_match_plain_loops(style: str) -> None:
    s = build_schedule(["A", "B"], [120_000.0, -31_313.0], [50.0, 20.0], [1e6, 2e5],
                       [0.02, 0.035], style=style, start_date="2024-12-20", sessions=SESSIONS,
                       risk_aversion=0.0, impact_bps=sqrt_impact)
    prices = {"A": 50.0, "B": 20.0}
    sigmas = {"A": 0.02, "B": 0.035}
    advs = {"A": 1e6, "B": 2e5}
    for ticker, kids in s.child_orders.groupby("ticker"):
        cost = 0.0
        for k in kids.itertuples():
            volume = advs[ticker] * NYSE_HALF_HOUR_PROFILE[k.bucket]
            rate = k.shares / volume
            cost += k.shares * prices[ticker] * 200.0 * math.sqrt(rate) / 1e4
        row = s.summary.set_index("ticker").loc[ticker]
        assert row["expected_cost_usd"] == pytest.approx(cost, rel=1e-10)
        # risk: shares left after each bucket of the grid, tau = 1/13 day
        day_pos = {d: i for i, d in enumerate(SESSIONS)}
        grid = np.zeros(int(row["days"]) * 13)
        for k in kids.itertuples():
            grid[day_pos[k.day] * 13 + k.bucket] += k.shares
        left, var = abs(row["shares"]), 0.0
        for g in grid:
            left -= g
            var += (sigmas[ticker] * prices[ticker]) ** 2 / 13 * left * left
        assert row["risk_usd"] == pytest.approx(math.sqrt(var), rel=1e-10)


def test_risk_neutral_ac_cost_equals_cost_model_at_average_rate() -> None:
    # lambda = 0: AC trades linearly at rate r = X / (days ADV); calibrated eta makes the
    # linear cost equal the cost model's impact at r, times the traded value
    s = run([80_000.0, 700_000.0], risk_aversion=0.0)
    for row in s.summary.itertuples():
        rate = abs(row.shares) / (row.days * 1e6)
        expected = abs(row.shares) * 50.0 * 200.0 * math.sqrt(rate) / 1e4
        assert row.ac_cost_usd == pytest.approx(expected, rel=1e-9)


def test_risk_aversion_lowers_ac_risk_and_raises_ac_cost() -> None:
    calm = run([700_000.0], risk_aversion=0.0).summary.iloc[0]
    keen = run([700_000.0], risk_aversion=1e-5).summary.iloc[0]
    assert keen["ac_risk_usd"] < calm["ac_risk_usd"]
    assert keen["ac_cost_usd"] > calm["ac_cost_usd"]
    assert calm["ac_risk_usd"] == pytest.approx(calm["risk_usd"], rel=0.05)


# --- alignment, calendar and bad input ---------------------------------------------------

def test_series_inputs_align_by_ticker() -> None:
    tickers = ["A", "B"]
    flat = build_schedule(tickers, [100.0, -200.0], [10.0, 20.0], [1e5, 2e5], [0.01, 0.02],
                          style="vwap", start_date="2024-12-20", sessions=SESSIONS,
                          risk_aversion=0.0, impact_bps=sqrt_impact)
    shuffled = build_schedule(
        tickers, pd.Series({"B": -200.0, "A": 100.0}), pd.Series({"B": 20.0, "A": 10.0}),
        pd.Series({"B": 2e5, "A": 1e5}), pd.Series({"B": 0.02, "A": 0.01}), style="vwap",
        start_date="2024-12-20", sessions=SESSIONS, risk_aversion=0.0, impact_bps=sqrt_impact)
    pd.testing.assert_frame_equal(flat.child_orders, shuffled.child_orders)
    pd.testing.assert_frame_equal(flat.summary, shuffled.summary)


def test_series_with_wrong_tickers_raises() -> None:
    with pytest.raises(DataError, match="unexpected"):
        build_schedule(["A"], pd.Series({"A": 1.0, "Z": 2.0}), [1.0], [1e5], [0.01],
                       style="twap", start_date="2024-12-20", sessions=SESSIONS,
                       risk_aversion=0.0, impact_bps=sqrt_impact)


def test_start_on_holiday_moves_to_next_session() -> None:
    s = run([1000.0], start_date="2024-12-25")
    assert (s.child_orders["day"] == pd.Timestamp("2024-12-26")).all()


def test_default_calendar_is_nyse() -> None:
    sessions = resolve_sessions("2024-12-24", 3)
    assert list(sessions) == [pd.Timestamp("2024-12-24"), pd.Timestamp("2024-12-26"),
                              pd.Timestamp("2024-12-27")]


def test_too_few_sessions_raises() -> None:
    with pytest.raises(ConfigError, match="sessions"):
        run([5_000_000.0], style="twap")  # 50 days, only 12 sessions given


def test_too_large_trade_refused() -> None:
    with pytest.raises(DataError, match="liquidity days"):
        run([1e6], adv=[100.0])


@pytest.mark.parametrize(("field", "trades", "prices", "adv", "sigma"), [
    ("trade_shares", [np.nan], [10.0], [1e5], [0.01]),
    ("trade_shares", [np.inf], [10.0], [1e5], [0.01]),
    ("price_usd", [10.0], [0.0], [1e5], [0.01]),
    ("price_usd", [10.0], [np.nan], [1e5], [0.01]),
    ("adv_shares", [10.0], [10.0], [-1.0], [0.01]),
    ("sigma_daily", [10.0], [10.0], [1e5], [-0.01]),
])
def test_bad_values_name_the_field(field: str, trades: list[float], prices: list[float],
                                   adv: list[float], sigma: list[float]) -> None:
    with pytest.raises(DataError) as info:
        build_schedule(["A"], trades, prices, adv, sigma, style="twap", start_date="2024-12-20",
                       sessions=SESSIONS, risk_aversion=0.0, impact_bps=sqrt_impact)
    assert info.value.field == field and info.value.row == 1


def test_wrong_length_raises() -> None:
    with pytest.raises(DataError, match="wrong length"):
        build_schedule(["A", "B"], [1.0], [1.0, 1.0], [1e5, 1e5], [0.01, 0.01], style="twap",
                       start_date="2024-12-20", sessions=SESSIONS, risk_aversion=0.0,
                       impact_bps=sqrt_impact)


def test_duplicate_ticker_raises() -> None:
    with pytest.raises(DataError, match="duplicate"):
        build_schedule(["A", "A"], [1.0, 2.0], [1.0, 1.0], [1e5, 1e5], [0.01, 0.01],
                       style="twap", start_date="2024-12-20", sessions=SESSIONS,
                       risk_aversion=0.0, impact_bps=sqrt_impact)


@pytest.mark.parametrize("kw", [{"participation": 0.0}, {"participation": 1.5},
                                {"multi_day_after": 0.0}, {"slices_per_day": 0},
                                {"risk_aversion": -1.0}, {"style": "iceberg"}])
def test_bad_config_raises(kw: dict[str, object]) -> None:
    with pytest.raises((ConfigError, ValueError)):
        run([100.0], **kw)


def test_impact_gets_assets_as_columns() -> None:
    # a per-asset square-root law, as the cost model provides: 1e4 * sigma_j * sqrt(rate)
    sigma = np.array([0.01, 0.03, 0.02])
    seen: list[tuple[int, ...]] = []

    def per_asset(rate: np.ndarray) -> np.ndarray:
        seen.append(rate.shape)
        return 1e4 * sigma * np.sqrt(rate)

    s = build_schedule(["A", "B", "C"], [26_000.0, -130.0, 0.0], [10.0, 20.0, 30.0],
                       [1e6, 1e5, 1e5], sigma, style="vwap", start_date="2024-12-20",
                       sessions=SESSIONS, risk_aversion=0.0, impact_bps=per_asset)
    assert all(len(shape) == 2 and shape[1] == 3 for shape in seen)
    for k in s.child_orders.itertuples():
        j = {"A": 0, "B": 1}[k.ticker]
        price = [10.0, 20.0][j]
        expected = k.shares * price * sigma[j] * math.sqrt(k.participation)
        assert k.expected_cost_usd == pytest.approx(expected, rel=1e-12)
    # risk-neutral AC cost equals the model at the average rate, per asset
    row = s.summary.iloc[1]
    assert row["ac_cost_usd"] == pytest.approx(130 * 20.0 * 0.03 * math.sqrt(130 / 1e5), rel=1e-9)


def test_impact_function_must_keep_shape() -> None:
    with pytest.raises(ConfigError, match="impact_bps"):
        run([100.0], impact_bps=lambda r: np.array([1.0]))


def test_other_bucket_counts() -> None:
    s = run([7800.0], style="vwap", slices_per_day=26)
    assert len(s.child_orders) == 26 and s.child_orders["start_time"].iloc[1] == "09:45"
    assert s.child_orders["shares"].sum() == 7800


@pytest.mark.realdata
def test_real_volumes_schedule(shared_data: object) -> None:
    from pathlib import Path

    folder = Path(str(shared_data)) / "sp500-daily-ohlcv-alphavantage" / "daily"
    tickers = ["AAPL", "MSFT", "XOM"]
    prices, adv, sigma = [], [], []
    for t in tickers:
        frame = pd.read_csv(folder / f"{t}.csv.gz", parse_dates=["date"]).set_index("date")
        frame = frame.loc[:"2020-12-31"].tail(61)
        prices.append(float(frame["adjusted_close"].iloc[-1]))
        adv.append(float(frame["volume"].tail(60).mean()))
        sigma.append(float(frame["adjusted_close"].pct_change().std()))
    trades = [0.02 * adv[0], -0.68 * adv[1], 3.0]  # small, 6.8 liquidity days, tiny
    s = build_schedule(tickers, np.round(trades), prices, adv, sigma, style="pov",
                       start_date="2021-01-04", risk_aversion=1e-7, impact_bps=sqrt_impact)
    sums = s.child_orders.groupby("ticker")["shares"].sum().reindex(tickers)
    np.testing.assert_array_equal(sums.to_numpy(), np.abs(np.round(trades)))
    assert s.summary.set_index("ticker").loc["MSFT", "days"] == 7
    assert (s.child_orders["participation"] <= 0.10 + 1e-12).all()
    assert (s.summary["risk_usd"].iloc[:2] > 0).all() and (s.summary["expected_cost_usd"] > 0).all()


@settings(max_examples=80, deadline=None)
@given(trades=st.lists(st.tuples(
           st.one_of(st.just(0.0), st.integers(-3_000_000, 3_000_000).map(float),
                     st.floats(-5e4, 5e4, allow_nan=False)),
           st.one_of(st.just(math.nan), st.just(0.0), st.floats(50.0, 5e6))),
           min_size=1, max_size=30),
       style=st.sampled_from(list(ExecutionStyle)), slices=st.sampled_from([1, 6, 13]),
       multi_day_after=st.sampled_from([0.5, 5.0]))
def test_grids_of_all_trades_at_once_equal_each_trades_own(
        trades: list[tuple[float, float]], style: ExecutionStyle, slices: int,
        multi_day_after: float) -> None:
    """``plan_grids`` (the trades of one grid split in one array operation) equals
    ``_plan_one`` trade by trade to the bit: grids, liquidity days, styles and flags, and
    the same error for a trade too large for the market."""
    index = pd.Index([f"T{i}" for i in range(len(trades))], dtype=object)
    trade = np.array([t for t, _ in trades])
    adv = np.array([a for _, a in trades])
    shape = rescale_profile(slices)

    def own() -> list[object]:
        rows = zip(index, trade, adv, strict=True)
        return [_plan_one(abs(q), a, style, 0.1, multi_day_after, shape, str(t), i + 1)
                if q != 0 else None for i, (t, q, a) in enumerate(rows)]

    try:
        expected = own()
    except DataError as exc:
        with pytest.raises(DataError) as got:
            plan_grids(index, trade, adv, style, 0.1, multi_day_after, shape)
        assert str(got.value) == str(exc)
        return
    for got, want in zip(plan_grids(index, trade, adv, style, 0.1, multi_day_after, shape),
                         expected, strict=True):
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            np.testing.assert_array_equal(got.grid, want.grid, strict=True)
            assert got.style is want.style and got.flags == want.flags
            assert got.liquidity_days == want.liquidity_days or (
                math.isnan(got.liquidity_days) and math.isnan(want.liquidity_days))
