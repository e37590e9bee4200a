"""The study's compiled tracking error and its window cost inputs, against the plain
numpy code they replace: equal to the bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.backtest import history as history_module
from driftwise.backtest.history import build_history
from driftwise.config.assemble import history_settings
from driftwise.costs import CostParams, CostTable, cost_coefficients
from driftwise.costs.build import CostInputsBuilder, DayEstimates
from driftwise.costs.components import AssetCostInputs
from driftwise.costs.params import ImpactModel
from driftwise.data.master import read_security_master
from driftwise.metrics.risk import tracking_error
from driftwise.validation._kernels import quadratic_forms
from driftwise.validation.events import (
    Portfolio,
    compiled_order,
    make_paths,
    path_days,
    rebalance_cost,
    tracking_errors,
)

from .conftest import make_inputs, random_prices, small_config

FIELDS = [f.name for f in dataclasses.fields(AssetCostInputs) if f.name != "tickers"]


def _covs(rng: np.random.Generator, n_days: int, n: int) -> np.ndarray:
    a = rng.normal(size=(n_days, n, n + 2)) * 0.1
    return np.asarray(a @ a.transpose(0, 2, 1), dtype=np.float64)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 95), n_rows=st.integers(0, 23), n_days=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_tracking_errors_equal_the_einsum_to_the_bit(n: int, n_rows: int, n_days: int,
                                                      seed: int) -> None:
    rng = np.random.default_rng(seed)
    covs = _covs(rng, n_days, n)
    drift = rng.normal(size=(n_rows, n)) * 0.05
    which = rng.integers(0, n_days, size=n_rows)
    got = tracking_errors(drift, covs, which)
    want = tracking_error(drift, covs[which])  # one covariance copied per row
    assert got.tobytes() == np.asarray(want, dtype=np.float64).tobytes()
    if n_rows and compiled_order(n):  # one covariance for every row (the path days' form)
        alone = tracking_error(drift, covs[0])
        shared = tracking_errors(drift, covs[:1], np.zeros(n_rows, dtype=np.intp))
        assert shared.tobytes() == np.asarray(alone, dtype=np.float64).tobytes()


def test_quadratic_forms_is_the_quadratic_form() -> None:
    # a plain reference: d' C d by matrix products, to rounding
    rng = np.random.default_rng(3)
    covs = _covs(rng, 3, 17)
    x = rng.normal(size=(11, 17))
    which = rng.integers(0, 3, size=11)
    out = np.empty(11)
    quadratic_forms(x, covs, which, out)
    want = np.array([x[r] @ covs[which[r]] @ x[r] for r in range(11)])
    assert out == pytest.approx(want, rel=1e-13)


def test_tracking_errors_rounding_and_not_psd_as_the_einsum() -> None:
    n = 5
    cov = np.eye(n) * 0.04
    cov[0, 1] = cov[1, 0] = 0.04 * (1 + 1e-15)  # a rounding-negative form
    bad = np.eye(n) * 0.04
    bad[0, 1] = bad[1, 0] = 0.2  # not PSD: a markedly negative form
    covs = np.stack([cov, bad])
    drift = np.array([[0.01, -0.01, 0.0, 0.0, 0.0]] * 2)
    which = np.array([0, 1])
    got = tracking_errors(drift, covs, which)
    want = tracking_error(drift, covs[which])
    assert np.array_equal(got, want, equal_nan=True)
    assert np.isnan(got[1])


def _history(n_days: int = 90, n: int = 6, *, volumes: bool = True,  # type: ignore[no-untyped-def]
             overrides: dict[str, object] | None = None):
    prices = random_prices(n_days, np.linspace(0.15, 0.6, n), seed=4)
    vix = np.where(np.arange(n_days) % 17 < 5, 35.0, 15.0)
    vix[3] = np.nan
    inputs = make_inputs(prices, vix, np.full(n, 0.98 / n), 0.02)
    market = inputs.market
    if volumes:
        vol = np.full(prices.shape, 1e6)
        vol[:, 1] = np.nan  # an asset without volume: the ADV proxy
        market = dataclasses.replace(market, volumes=market.prices * 0 + vol)
    tickers = list(market.prices.columns)
    master = read_security_master(pd.DataFrame({"ticker": tickers, "market_cap_usd": [
        5e11, 2e10, 1e9, np.nan, 5e11, 3e9][:n] + [5e11] * max(0, n - 6),
        "sector": ["a", "a", "b", "b", None, "a"][:n] + ["a"] * max(0, n - 6)}))
    inputs = dataclasses.replace(inputs, market=market, master=master)
    return build_history(inputs, history_settings(small_config(**(overrides or {}))))


@pytest.mark.parametrize("volumes", [True, False])
def test_window_cost_inputs_equal_each_day_to_the_bit(volumes: bool) -> None:
    h = _history(volumes=volumes)
    window = h.cost_window
    assert window is not None
    n = len(h.tickers)
    gaps = 0
    for k in range(h.n_days):
        day = h.cost_inputs(k)
        gaps += int(day.volatility_estimated.any())
        for name in FIELDS:
            row = getattr(window, name).reshape(h.n_days, n)[k]
            assert row.tobytes() == getattr(day, name).tobytes(), (k, name)
    assert gaps  # the early days' volatility fallback (sector, universe median) is covered


def test_window_builder_refuses_another_shape() -> None:
    builder = CostInputsBuilder(["A", "B"], None, None)
    with pytest.raises(ValueError, match="shaped"):
        builder.window(DayEstimates(price_usd=np.ones((3, 4)), sigma_daily=np.ones((3, 4))))


@pytest.mark.parametrize("params", [
    {}, {"vix_multipliers": (1.0, 1.0, 1.0)}, {"impact_model": ImpactModel.ALMGREN_2005},
    {"cost_scale": 1.7}])
def test_cost_table_equals_each_days_coefficients(params: dict[str, object]) -> None:
    h = _history()
    cost = dataclasses.replace(CostParams(), **params)  # type: ignore[arg-type]
    table = h.cost_table(cost)
    assert table is not None
    t, mult = table
    for k in range(h.n_days):
        vix = float(h.vix[k])
        c = cost_coefficients(h.cost_inputs(k), cost, None if np.isnan(vix) else vix)
        one = CostTable.stack([c], len(h.tickers))
        for name in ("spread_frac", "commission_frac", "min_ticket_usd", "flat_frac",
                     "impact_coef", "impact_power", "flat_by_regime"):
            assert getattr(one, name)[0].tobytes() == getattr(t, name)[k].tobytes(), (k, name)
        assert float(np.asarray(c.multiplier).reshape(-1)[0]) == mult[k]


def test_rebalance_cost_by_table_equals_day_by_day(monkeypatch: pytest.MonkeyPatch) -> None:
    h = _history(n_days=120, overrides={"risk.te_model": "full"})
    pf = Portfolio("test", h, np.full(len(h.tickers), 0.98 / len(h.tickers)), 0.02)
    days = path_days(pf, make_paths(pf, 1e6, warmup_days=20))
    model = CostParams()
    by_table = rebalance_cost(days, h, model)
    monkeypatch.setattr(history_module, "KEEP_COST_CELLS", 0)  # no window: day by day
    fresh = _history(n_days=120, overrides={"risk.te_model": "full"})
    assert fresh.cost_table(model) is None
    by_day = rebalance_cost(days, fresh, model)
    assert by_table.tobytes() == by_day.tobytes()
    # and the path days' TE by the compiled pass equals the day-by-day einsum
    te = np.array([pf.te_on(int(k), days.asset_drift[r: r + 1])[0]
                   for r, k in enumerate(days.day.tolist())])
    assert days.te_annual.tobytes() == te.tobytes()


def test_read_sp500_reads_a_changed_file_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from driftwise.data.universe import SP500_DAILY, read_sp500

    folder = tmp_path / SP500_DAILY
    (folder / "daily").mkdir(parents=True)
    pd.DataFrame({"ticker": ["AAA"], "first_date": ["2020-01-02"]}).to_csv(
        folder / "tickers.csv", index=False)

    def write(close: float) -> None:
        pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "close": [close, close],
                      "adjusted_close": [close, close + 1.0], "volume": [10, 20]}).to_csv(
            folder / "daily" / "AAA.csv.gz", index=False)

    write(5.0)
    first = read_sp500(tmp_path)
    again = read_sp500(tmp_path)  # kept: the same numbers
    pd.testing.assert_frame_equal(first.prices, again.prices)
    write(123.25)  # another size: read again
    changed = read_sp500(tmp_path)
    assert changed.prices["AAA"].tolist() == [123.25, 124.25]
    assert first.prices["AAA"].tolist() == [5.0, 6.0]  # the earlier result is untouched
