"""Point-in-time universes: nothing decided on a day reads data after it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.data.model import TargetLevel, Targets
from driftwise.data.universe import (
    PROXY_TURNOVER_DAILY,
    PROXY_WINDOW_DAYS,
    Universe,
    caps_asof,
    caps_on_days,
    delisting_versions,
    eligible,
    stops_trading,
)
from driftwise.errors import ConfigError
from driftwise.flags import Flag


def _panel(seed: int = 0) -> Universe:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-01", periods=400)
    tickers = [f"S{i:02d}" for i in range(12)]
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (400, 12)), axis=0)),
                          index=dates, columns=tickers)
    prices.iloc[:300, 10] = np.nan  # listed late: 100 sessions of history on day 399
    prices.iloc[:50, 11] = np.nan
    dollars = pd.DataFrame(rng.uniform(1e7, 5e7, (400, 12)), index=dates, columns=tickers)
    caps = pd.DataFrame({"snapshot_date": pd.to_datetime(["2010-06-01"] * 3),
                         "ticker": ["S00", "S01", "S02"],
                         "market_cap_usd": [20e9, 5e9, 1e9]})
    return Universe(prices=prices, dollar_volume_usd=dollars, caps=caps, source="test")


def _plant(u: Universe, day: int) -> Universe:
    """A crash of S03 (-90% in a day) and a delisting of S04, both after ``day``."""
    prices = u.prices.copy()
    prices.iloc[day + 5:, 3] *= 0.1
    prices.iloc[day + 20:, 4] = np.nan
    dollars = u.dollar_volume_usd.copy() if u.dollar_volume_usd is not None else None
    if dollars is not None:
        dollars.iloc[day + 1:] *= 50.0  # a later volume boom
    caps = pd.concat([u.caps, pd.DataFrame({
        "snapshot_date": [u.prices.index[day + 3]], "ticker": ["S03"],
        "market_cap_usd": [1e8]})], ignore_index=True)
    return Universe(prices=prices, dollar_volume_usd=dollars, caps=caps, source="planted")


@pytest.mark.parametrize("day", [60, 150, 299, 350])
def test_a_future_crash_and_delisting_change_nothing_before_them(day: int) -> None:
    clean = _panel()
    planted = _plant(clean, day)
    on = clean.prices.index[day]
    assert eligible(planted, on, min_history_days=40) == eligible(clean, on, min_history_days=40)
    pool = eligible(clean, on, min_history_days=40)
    a, notes_a = caps_asof(clean, pool, on)
    b, notes_b = caps_asof(planted, pool, on)
    pd.testing.assert_series_equal(a, b)
    assert notes_a == notes_b
    assert stops_trading(planted, pool, clean.prices.index[0], on) == {}


def test_after_the_crash_the_filters_see_it() -> None:
    clean = _panel()
    planted = _plant(clean, 150)
    later = clean.prices.index[200]
    assert "S03" in eligible(clean, later, min_history_days=40)
    assert "S03" not in eligible(planted, later, min_history_days=40)  # -90% in a day
    assert "S04" not in eligible(planted, later, min_history_days=40)  # no price on the day
    stopped = stops_trading(planted, ["S03", "S04"], clean.prices.index[100], later)
    assert stopped == {"S04": clean.prices.index[169]}


def test_history_requirement_counts_only_past_sessions() -> None:
    u = _panel()
    day = u.prices.index[349]  # S10 has 50 sessions, S11 300
    assert "S10" not in eligible(u, day, min_history_days=60)
    assert "S10" in eligible(u, day, min_history_days=50)
    assert "S11" in eligible(u, day)  # default 252 sessions
    with pytest.raises(ConfigError, match="min_history_days"):
        eligible(u, day, min_history_days=0)


def test_caps_from_snapshots_known_then_else_the_dollar_volume_proxy() -> None:
    u = _panel()
    before = u.prices.index[50]  # 2010-03-12: no snapshot yet
    caps, notes = caps_asof(u, ["S00", "S05"], before)
    assert u.dollar_volume_usd is not None
    dv = u.dollar_volume_usd.loc[:before, "S00"].tail(PROXY_WINDOW_DAYS).median()
    assert caps["S00"] == pytest.approx(dv / PROXY_TURNOVER_DAILY)
    assert [n.flag for n in notes] == [Flag.UNKNOWN_MARKET_CAP]
    assert set(notes[0].tickers) == {"S00", "S05"}
    after, notes = caps_asof(u, ["S00", "S05"], u.prices.index[300])
    assert after["S00"] == 20e9  # the snapshot of 2010-06-01
    assert notes[0].tickers == ("S05",)


def test_unknown_without_caps_or_volume() -> None:
    u = Universe(prices=_panel().prices)
    caps, notes = caps_asof(u, ["S00"], u.prices.index[10])
    assert np.isnan(caps["S00"]) and "no market cap or dollar volume" in notes[0].detail


def test_prices_need_a_date_index() -> None:
    with pytest.raises(ConfigError, match="increasing dates"):
        Universe(prices=pd.DataFrame({"A": [1.0]}, index=[0]))


@pytest.mark.parametrize(("seed", "unit"), [(0, "ns"), (1, "ns"), (2, "ns"), (0, "us"),
                                          (1, "s")])
def test_caps_on_days_is_caps_asof_on_each_day(seed: int, unit: str) -> None:
    u = _panel(seed)
    assert u.dollar_volume_usd is not None and u.caps is not None
    rng = np.random.default_rng(seed)
    dollars = u.dollar_volume_usd.copy()
    dollars[rng.random(dollars.shape) < 0.2] = np.nan  # days without a trade
    dollars.iloc[:80, 5] = np.nan  # no volume at all before day 80
    caps = pd.concat([u.caps, pd.DataFrame({  # a later snapshot, and one without a cap
        "snapshot_date": pd.to_datetime(["2010-09-01", "2010-10-01"]), "ticker": ["S00", "S00"],
        "market_cap_usd": [30e9, np.nan]})], ignore_index=True)
    panel = Universe(prices=u.prices, dollar_volume_usd=dollars, caps=caps)
    days = pd.DatetimeIndex([*u.prices.index[::7], pd.Timestamp("2009-06-01")]).sort_values()
    for ticker in ("S00", "S01", "S05", "S07"):
        mine = caps[caps["ticker"] == ticker]
        found, from_snapshot = caps_on_days(  # the snapshots' dates in another unit
            pd.DatetimeIndex(mine["snapshot_date"]).as_unit(unit),
            mine["market_cap_usd"].to_numpy(), pd.DatetimeIndex(u.prices.index),
            dollars[ticker].to_numpy(), days)
        for j, day in enumerate(days):
            expected, _ = caps_asof(panel, [ticker], day)
            np.testing.assert_equal(found[j], expected[ticker])
            assert from_snapshot[j] == bool((mine["snapshot_date"] <= day).any())


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8),
       stops=st.lists(st.integers(0, 39), min_size=1, max_size=8), cash=st.floats(0.0, 0.3))
def test_delisting_versions_keep_the_invested_weight_and_the_proportions(
        weights: list[float], stops: list[int], cash: float) -> None:
    """Each version drops the stocks stopped by then and scales the rest by one factor:
    the invested weight and the cash target are unchanged, the ratios among the stocks
    left are the first version's; a stock stopped on the panel's last session gives no
    version."""
    n = len(weights)
    stops = stops[: n - 1]  # one stock at least trades on
    tickers = [f"S{i}" for i in range(n)]
    days = pd.bdate_range("2020-01-01", periods=40)
    panel = Universe(prices=pd.DataFrame(1.0, index=days, columns=tickers))
    w = pd.Series(np.asarray(weights) / sum(weights) * (1.0 - cash), index=tickers)
    targets = Targets(level=TargetLevel.ASSET, weights=w, cash_weight=cash)
    stopped = {tickers[i]: days[d] for i, d in enumerate(stops)}
    versions = delisting_versions(targets, stopped, panel)
    expected_days = sorted({days[d + 1] for d in stops if d + 1 < len(days)})
    assert [v.effective_date for v in versions] == [None, *expected_days]
    for v in versions[1:]:
        gone = {t for t, d in stopped.items() if d < v.effective_date}
        assert set(v.weights.index) == set(tickers) - gone
        assert float(v.weights.sum()) == pytest.approx(1.0 - cash, rel=1e-12)
        assert v.cash_weight == cash
        ratio = v.weights / w.reindex(v.weights.index)
        np.testing.assert_allclose(ratio.to_numpy(), ratio.iloc[0], rtol=1e-12)
