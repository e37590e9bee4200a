"""Paths, path days, event thinning and the rebalance cost, against plain loops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.config.assemble import cost_params
from driftwise.policy.context import Frequency
from driftwise.validation.events import (
    calendar_days,
    make_paths,
    path_days,
    rebalance_cost,
    thin_events,
)

from .conftest import make_portfolio, random_prices, small_config

TARGET = np.array([0.4, 0.35, 0.2])


@pytest.fixture(scope="module")
def portfolio():  # type: ignore[no-untyped-def]
    prices = random_prices(200, np.array([0.2, 0.35, 0.6]), seed=4)
    vix = np.linspace(12.0, 40.0, 200)
    return make_portfolio(prices, vix, TARGET, 0.05)


def test_paths_start_on_month_firsts_and_end_at_next_quarter(portfolio) -> None:  # type: ignore[no-untyped-def]
    h = portfolio.history
    paths = make_paths(portfolio, 1e6, warmup_days=10)
    months = np.flatnonzero(calendar_days(h, Frequency.MONTH))
    quarters = np.flatnonzero(calendar_days(h, Frequency.QUARTER))
    assert paths.start.tolist() == [m for m in months.tolist() if m >= 10]
    for s, r in zip(paths.start.tolist(), paths.review.tolist(), strict=True):
        later = [q for q in quarters.tolist() if q > s]
        assert r == (later[0] if later else h.n_days)
        assert h.dates[s].is_month_start or h.dates[s].day <= 4
    nav = (paths.shares * h.prices[paths.start]).sum(axis=1) + paths.cash_usd
    assert nav == pytest.approx(np.full(paths.n_paths, 1e6))


def test_path_days_oracle(portfolio) -> None:  # type: ignore[no-untyped-def]
    h = portfolio.history
    paths = make_paths(portfolio, 1e6, warmup_days=10)
    days = path_days(portfolio, paths)
    row = 0
    for p in range(paths.n_paths):
        for k in range(paths.start[p] + 1, min(paths.review[p], h.n_days)):
            assert (days.path[row], days.day[row]) == (p, k)
            values = paths.shares[p] * h.prices[k]
            nav = values.sum() + paths.cash_usd[p]
            w = values / nav
            d = w - TARGET
            drift = 0.5 * (np.abs(d).sum() + abs(paths.cash_usd[p] / nav - 0.05))
            assert days.weights[row] == pytest.approx(w, abs=1e-14)
            assert days.drift[row] == pytest.approx(drift, abs=1e-14)
            te = np.sqrt(np.sum(d**2 * h.vol_annual[k] ** 2))
            assert days.te_annual[row] == pytest.approx(te, rel=1e-12)
            assert days.since_start[row] == k - paths.start[p]
            row += 1
    assert row == days.n_rows


def test_rebalance_cost_flat_level(portfolio) -> None:  # type: ignore[no-untyped-def]
    paths = make_paths(portfolio, 1e6, warmup_days=10)
    days = path_days(portfolio, paths)
    params = dataclasses.replace(cost_params(small_config()), flat_cost_bps=20.0)
    cost = rebalance_cost(days, portfolio.history, params)
    assert cost == pytest.approx(20e-4 * np.abs(days.asset_drift).sum(axis=1), rel=1e-12)


@pytest.mark.parametrize("flat", [None, 20.0])
@pytest.mark.parametrize("by_regime", [False, True])
def test_days_priced_at_once_equal_them_priced_day_by_day(
        portfolio, flat: float | None, by_regime: bool) -> None:  # type: ignore[no-untyped-def]
    from driftwise.validation import events

    paths = make_paths(portfolio, 1e6, warmup_days=10)
    days = path_days(portfolio, paths)
    params = dataclasses.replace(cost_params(small_config()), flat_cost_bps=flat,
                                 scale_flat_by_regime=by_regime, default_commission_bps=3.0)
    trades = -days.asset_drift * days.nav_usd[:, None]

    def one(k: int, rows: np.ndarray) -> np.ndarray:
        cost = events.day_cost_fn(portfolio.history, params, k, any_inputs=True)(trades[rows])
        return np.asarray(cost.sum(axis=1) / days.nav_usd[rows])

    day_by_day = events.by_day(days.day, one)
    np.testing.assert_array_equal(rebalance_cost(days, portfolio.history, params), day_by_day)
    if by_regime or flat is None:  # the VIX of the fixture crosses both regime breaks
        rate = day_by_day / np.abs(days.asset_drift).sum(axis=1)
        assert len(np.unique(np.round(rate, 8))) >= 3
    old = events.COST_CHUNK_CELLS
    try:  # at most 7 rows (or one day) a call
        events.COST_CHUNK_CELLS = 7 * 3
        np.testing.assert_array_equal(rebalance_cost(days, portfolio.history, params),
                                      day_by_day)
    finally:
        events.COST_CHUNK_CELLS = old


def test_rebalance_cost_model_scales_with_vix(portfolio) -> None:  # type: ignore[no-untyped-def]
    # tier all-in estimates (no cost data, no volume): 20 bps times the regime multiplier
    paths = make_paths(portfolio, 1e6, warmup_days=10)
    days = path_days(portfolio, paths)
    cost = rebalance_cost(days, portfolio.history, cost_params(small_config()))
    vix = portfolio.history.vix[days.day]
    mult = np.where(vix >= 30, 2.5, np.where(vix >= 20, 1.5, 1.0))
    assert cost == pytest.approx(20e-4 * mult * np.abs(days.asset_drift).sum(axis=1), rel=1e-12)


def _loop_thin(mask: np.ndarray, group: np.ndarray, since: np.ndarray, gap: int) -> list[int]:
    seen: set[tuple[int, int]] = set()
    out = []
    for r in range(len(mask)):
        key = (int(group[r]), int(since[r]) // gap)
        if mask[r] and key not in seen:
            seen.add(key)
            out.append(r)
    return out


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=1, max_size=60),
       st.integers(1, 7))
def test_thin_events_oracle(rows: list[tuple[bool, int]], gap: int) -> None:
    mask = np.array([r[0] for r in rows])
    group = np.array(sorted(r[1] for r in rows))
    since = np.zeros(len(rows), dtype=np.intp)
    for g in set(group.tolist()):
        at = np.flatnonzero(group == g)
        since[at] = np.arange(1, len(at) + 1)
    got = thin_events(mask, group, since, gap).tolist()
    assert got == (_loop_thin(mask, group, since, gap) if gap > 1
                   else np.flatnonzero(mask).tolist())


def test_the_portfolio_keeps_each_day_s_covariance_as_the_history_gives_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwise.validation import events

    prices = random_prices(60, np.array([0.2, 0.3, 0.4]))
    p = make_portfolio(prices, np.full(60, 18.0), np.array([0.3, 0.3, 0.4]),
                       config=small_config(**{"risk.te_model": "full"}))
    fresh = make_portfolio(prices, np.full(60, 18.0), np.array([0.3, 0.3, 0.4]),
                           config=small_config(**{"risk.te_model": "full"}))
    days = [30, 40, 30, 59, 40]
    got = [p.cov_on(k).copy() for k in days]
    for k, cov in zip(days, got, strict=True):
        np.testing.assert_array_equal(cov, fresh.history.cov_on(k))
    assert p.cov_on(30) is p.cov_on(30) and sorted(p._covs) == [30, 40, 59]
    monkeypatch.setattr(events, "KEEP_COV_CELLS", 2 * 9)  # room for two 3x3 matrices
    few = make_portfolio(prices, np.full(60, 18.0), np.array([0.3, 0.3, 0.4]),
                         config=small_config(**{"risk.te_model": "full"}))
    for k in days:
        np.testing.assert_array_equal(few.cov_on(k), fresh.history.cov_on(k))
    assert sorted(few._covs) == [30, 40]


def _assert_cov_close(got: np.ndarray, want: np.ndarray) -> None:
    """Equal to 1e-12 of each pair's ``sqrt(var_i var_j)`` (the rolling estimator's
    promise), the same entries filled."""
    diag = np.abs(np.diagonal(want))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert (np.abs(got - want) <= 1e-12 * np.sqrt(np.outer(diag, diag)) + 1e-300).all()


def test_many_days_of_covariance_equal_the_history_s_day_by_day_covariance() -> None:
    """``covs_on`` (rolling) against ``cov_on`` (one window each) on every day, from
    the first (no history: every variance from the fallback volatility, covariances zero)
    through the short windows to the full ones."""
    prices = random_prices(90, np.array([0.2, 0.3, 0.4, 0.25]), seed=4)
    cfg = small_config(**{"risk.te_model": "full"})
    p = make_portfolio(prices, np.full(90, 18.0), np.array([0.3, 0.2, 0.3, 0.2]), config=cfg)
    fresh = make_portfolio(prices, np.full(90, 18.0), np.array([0.3, 0.2, 0.3, 0.2]),
                           config=cfg)
    days = np.arange(p.history.n_days)
    many = p.history.covs_on(days)
    for k in days.tolist():
        _assert_cov_close(many[k], fresh.history.cov_on(k))
    assert p.history.covs_on(np.array([], dtype=np.intp)).shape == (0, 4, 4)


def test_the_portfolio_prepares_the_path_days_covariances_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from driftwise.validation import events

    prices = random_prices(80, np.array([0.2, 0.3, 0.4]))
    cfg = small_config(**{"risk.te_model": "full"})
    p = make_portfolio(prices, np.full(80, 18.0), np.array([0.3, 0.3, 0.4]), config=cfg)
    fresh = make_portfolio(prices, np.full(80, 18.0), np.array([0.3, 0.3, 0.4]), config=cfg)
    monkeypatch.setattr(events, "COV_CHUNK_DAYS", 7)  # several chunks
    p.prepare_covariances(np.array([50, 12, 13, 70, 12, 79, 40]))
    assert sorted(p._covs) == [12, 13, 40, 50, 70, 79]
    assert p.history.built["covariance"] == 6
    for k in sorted(p._covs):
        _assert_cov_close(p.cov_on(k), fresh.history.cov_on(k))
    monkeypatch.setattr(events, "KEEP_COV_CELLS", 8 * 9)  # room for two more
    p.prepare_covariances(np.arange(0, 80))
    assert len(p._covs) == 8
    diagonal = make_portfolio(prices, np.full(80, 18.0), np.array([0.3, 0.3, 0.4]))
    diagonal.prepare_covariances(np.arange(80))  # diagonal TE reads no covariance
    assert not diagonal._covs and "covariance" not in diagonal.history.built
