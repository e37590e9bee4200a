"""The per-asset estimates a batch computes once for every account's tickers
(:class:`driftwise.app.plan.SharedDay`) equal each account's own, to the bit.

The cost estimates, the master's and cost file's columns and the risk window's returns
of the union of tickers, sliced to an account, must equal what the account computes alone
(:func:`build_cost_inputs`, :func:`risk_returns`), and so must what pools the account's
assets afterwards (fallback volatilities, covariances, notices).
"""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.app.test_batch_accounts import assert_same_plan

from driftwise.app.batch import shared_day
from driftwise.app.plan import SharedDay, finish_plan, make_plan, plan_steps
from driftwise.app.plan import positions as plan_positions
from driftwise.calendar import nyse_sessions
from driftwise.config import default_config
from driftwise.config.assemble import cost_params, monitor_config
from driftwise.costs import build_cost_inputs, read_cost_inputs
from driftwise.costs.build import UniverseCosts
from driftwise.data.market import vix_reading
from driftwise.data.model import (
    Holdings,
    Inputs,
    MarketData,
    SecurityMaster,
    TargetLevel,
    Targets,
)
from driftwise.errors import DataError
from driftwise.execution.almgren_chriss import (
    expected_shortfall,
    optimal_trajectory,
    shortfall_variance,
)
from driftwise.execution.schedule import _ac_columns
from driftwise.flags import Flag
from driftwise.metrics.risk import annualized_volatility
from driftwise.metrics.risk_model import estimate_risk, plan_risk, risk_returns
from driftwise.policy.optimize import group_codes
from driftwise.state import UNKNOWN_GROUP, MasterRows, PriceRows, _groups, build_state

DAY = "2021-04-20"


def _market(n_assets: int = 36) -> MarketData:
    """Prices and volumes with gaps: some assets listed late (too little history for a
    volatility), some without volumes (ADV from market cap), one with no price at all
    before the day."""
    rng = np.random.default_rng(7)
    dates = pd.DatetimeIndex(nyse_sessions("2020-01-02", DAY), name="date")
    tickers = pd.Index([f"U{i:02d}" for i in range(n_assets)], name="ticker")
    prices = pd.DataFrame(25.0 * np.exp(np.cumsum(rng.normal(0.0, 0.013, (len(dates),
                                                                        n_assets)), axis=0)),
                          index=dates, columns=tickers)
    prices.iloc[:-8, 3] = np.nan  # listed 8 sessions ago: no 20-day volatility
    prices.iloc[:-12, 11] = np.nan
    prices.iloc[-30:-10, 17] = np.nan  # a gap inside the windows
    prices.iloc[:, 35] = np.nan  # never priced
    volumes = pd.DataFrame(rng.uniform(1e5, 3e6, prices.shape), index=dates, columns=tickers)
    volumes.iloc[:, 5] = np.nan  # no volume history
    volumes.iloc[:, 22] = 0.0
    return MarketData(prices=prices, volumes=volumes, vix=pd.Series(19.0, index=dates))


def _inputs(market: MarketData) -> Inputs:
    tickers = pd.Index(market.prices.columns, name="ticker")
    rows = tickers[tickers != "U09"]  # U09: no cost-file row (tier spread)
    costs = read_cost_inputs(pd.DataFrame({
        "ticker": rows, "spread_bps": np.linspace(2.0, 9.0, len(rows)),
        "commission_bps": 1.0, "as_of": "2021-02-01"}))  # stale for some settings
    caps = np.where(np.arange(len(tickers)) % 7 == 0, np.nan, 5e9)
    master = SecurityMaster(frame=pd.DataFrame({
        "sector": [f"S{i % 4}" for i in range(len(tickers))], "asset_class": "Equity",
        "market_cap_usd": caps}, index=tickers))
    first = Holdings(shares=pd.Series([100.0], index=pd.Index(["U00"], name="ticker")),
                     cash_usd=1e4)
    return Inputs(holdings=first, targets=None, master=master, market=market,
                  last_rebalance=pd.Timestamp("2021-01-04"), costs=costs)


def _same_costs(got: object, alone: object) -> None:
    for f in dataclasses.fields(got):  # type: ignore[arg-type]
        a, b = getattr(got, f.name), getattr(alone, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name, strict=True)
        else:
            assert a == b, f.name


SUBSETS = [["U00", "U01", "U02"], ["U03", "U04", "U11", "U20"], ["U05", "U09", "U17", "U22"],
           ["U03", "U11"], ["U07", "U14", "U21", "U28"], [f"U{i:02d}" for i in range(35)]]


@pytest.mark.parametrize("stale_after", [30, 120])
def test_universe_cost_inputs_sliced_equal_each_subsets_own(stale_after: int) -> None:
    """Every subset: the union's estimates sliced equal ``build_cost_inputs`` of the
    subset, every array to the bit and every notice; the fallbacks that pool assets (the
    sector median volatility) are the subset's own."""
    market = _market()
    inputs = _inputs(market)
    config = default_config().with_overrides({"costs.stale_after_days": stale_after})
    params = cost_params(config)
    union = UniverseCosts.of(market.prices.columns, market.prices, market.volumes,
                             inputs.master, inputs.costs, as_of=DAY, params=params)
    for tickers in SUBSETS:
        alone, alone_notes = build_cost_inputs(tickers, market.prices, market.volumes,
                                               inputs.master, inputs.costs, as_of=DAY,
                                               params=params)
        got, notes = union.inputs_for(tickers)
        _same_costs(got, alone)
        assert notes == alone_notes
    # the sector median differs between subsets: the slice does not leak the union's
    a, _ = union.inputs_for(["U03", "U07"])
    b, _ = union.inputs_for(["U03", "U15", "U19"])
    assert a.volatility_estimated[0] and b.volatility_estimated[0]
    assert a.sigma_daily[0] != b.sigma_daily[0]


def test_universe_cost_inputs_refuse_a_subset_ticker_without_price() -> None:
    market = _market()
    inputs = _inputs(market)
    union = UniverseCosts.of(market.prices.columns, market.prices, market.volumes,
                             inputs.master, inputs.costs, as_of=DAY)
    union.inputs_for(["U00", "U01"])  # the union itself holds U35, unpriced: no error
    with pytest.raises(DataError) as alone:
        build_cost_inputs(["U00", "U35"], market.prices, market.volumes, inputs.master,
                          inputs.costs, as_of=DAY)
    with pytest.raises(DataError) as got:
        union.inputs_for(["U00", "U35"])
    assert str(got.value) == str(alone.value)
    assert "U35" in str(got.value)
    with pytest.raises(KeyError, match="not in the universe"):
        union.inputs_for(["U00", "ZZZ"])


def _holdings(tickers: list[str], seed: int) -> Holdings:
    rng = np.random.default_rng(seed)
    return Holdings(shares=pd.Series(np.floor(rng.uniform(50, 900, len(tickers))),
                                     index=pd.Index(tickers, name="ticker"), name="shares"),
                    cash_usd=2e4)


@pytest.mark.parametrize("estimator", ["ledoit_wolf", "sample"])
def test_shared_risk_returns_sliced_equal_each_accounts_own(estimator: str) -> None:
    """The union's risk returns sliced to an account equal the account's own, and so do
    its volatilities, covariances and risk notices computed from them."""
    market = _market()
    inputs = _inputs(market)
    config = default_config().with_overrides({"risk.estimator": estimator})
    settings_ = monitor_config(config)
    day = SharedDay.of(inputs, config, market.prices.columns[:35], DAY)
    sent = pickle.loads(pickle.dumps(day))  # as a Dask worker receives it
    for k, tickers in enumerate(SUBSETS * 2):
        h = _holdings(tickers, k)
        state = build_state(h, None, market, inputs.master, as_of=DAY)
        own = risk_returns(state, market.prices, settings_)
        got = (day if k < len(SUBSETS) else sent).returns_for(state.tickers)
        assert got.strides == own.strides[:1] + got.strides[1:]
        np.testing.assert_array_equal(got, own, strict=True)
        alone = estimate_risk(state, market.prices, settings_)
        shared = estimate_risk(state, market.prices, settings_, returns=got)
        for name in ("vol_annual", "cov_short", "cov_long", "cov_long_shrunk"):
            np.testing.assert_array_equal(getattr(shared, name), getattr(alone, name),
                                          err_msg=name, strict=True)
        assert shared.notices == alone.notices
        # the union's volatilities sliced: each account's own, and its plan's risk
        returns, vol = (day if k < len(SUBSETS) else sent).risk_for(state.tickers)
        np.testing.assert_array_equal(returns, own, strict=True)
        assert vol is not None
        np.testing.assert_array_equal(
            vol, annualized_volatility(own, settings_.vol_window_days), strict=True)
        planned = plan_risk(state, market.prices, settings_, returns=returns, vol=vol)
        np.testing.assert_array_equal(planned.vol_annual, alone.vol_annual, strict=True)
        assert planned.cov_long is not None
        np.testing.assert_array_equal(planned.cov_long, alone.cov_long, strict=True)
        assert planned.notices == alone.notices


def test_accounts_planned_with_the_shared_day_equal_each_planned_alone() -> None:
    """``plan_steps(..., shared=...)`` gives ``make_plan``'s plan, fallbacks and notices
    included; a shared day of other cost settings or another day is not used."""
    market = _market()
    inputs = _inputs(market)
    config = default_config().with_overrides({"portfolio.default_target": "equal",
                                              "costs.accept_stale_costs": True})
    books = {f"a{k}": _holdings(t, k) for k, t in enumerate(SUBSETS)}
    day = shared_day(inputs, books, config, DAY, shared_targets=False)
    assert day is not None
    assert set(day.costs.index) == {t for t in market.prices.columns[:35]}
    other = SharedDay.of(inputs, config.with_overrides({"costs.adv_window_days": 30}),
                         market.prices.columns[:35], DAY)
    earlier = SharedDay.of(inputs, config, market.prices.columns[:35], "2021-04-19")
    for h in books.values():
        mine = dataclasses.replace(inputs, holdings=h)
        alone = make_plan(mine, config, as_of=DAY)
        for shared in (day, pickle.loads(pickle.dumps(day)), other, earlier):
            steps = plan_steps(mine, config, as_of=DAY, shared=shared)
            request = next(steps)
            got = finish_plan(steps, None if request is None else request.build())
            assert_same_plan(got, alone)
    state = build_state(books["a0"], None, market,
                        inputs.master, as_of=DAY)
    assert day.serves(state, monitor_config(config), cost_params(config))
    assert not other.serves(state, monitor_config(config), cost_params(config))
    assert not earlier.serves(state, monitor_config(config), cost_params(config))


def test_no_shared_day_for_one_account() -> None:
    market = _market()
    inputs = _inputs(market)
    one = {"a": _holdings(["U00", "U01"], 0)}
    assert shared_day(inputs, one, default_config(), DAY, shared_targets=False) is None


def _ac_reference(trade: np.ndarray, price: np.ndarray, sigma: np.ndarray, eta: np.ndarray,
                  n_days: np.ndarray, slices: int, lam: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The Almgren–Chriss cost and risk of each trade, one trade at a time (the plain
    loop the schedule's grouped computation must equal)."""
    cost, risk = np.full(len(trade), np.nan), np.full(len(trade), np.nan)
    sig = sigma * price
    for i in range(len(trade)):
        q, horizon = abs(trade[i]), float(n_days[i])
        aversion = lam if math.isfinite(sig[i]) else 0.0
        traj = optimal_trajectory(q, horizon, int(n_days[i]) * slices,
                                  sigma=np.nan_to_num(sig[i]), eta=eta[i],
                                  risk_aversion=aversion)
        cost[i] = float(expected_shortfall(traj, horizon, eta=eta[i]))
        risk[i] = math.sqrt(float(shortfall_variance(traj, horizon, sigma=sig[i])))
    return cost, risk


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2**16), slices=st.sampled_from([1, 6, 13]),
       lam=st.sampled_from([0.0, 1e-7, 1e-6, 1e-4]))
def test_schedule_almgren_chriss_columns_equal_the_trade_by_trade_loop(
        n: int, seed: int, slices: int, lam: float) -> None:
    """The schedule's Almgren–Chriss columns, computed for the trades of one horizon at
    once, equal the trade-by-trade formula to the bit (unknown volatility included)."""
    rng = np.random.default_rng(seed)
    trade = np.round(rng.uniform(-5e4, 5e4, n))
    trade[trade == 0] = 1.0
    price = rng.uniform(5.0, 400.0, n)
    adv = rng.uniform(1e4, 5e6, n)
    sigma = rng.uniform(0.005, 0.05, n)
    sigma[rng.uniform(size=n) < 0.15] = np.nan
    n_days = rng.integers(1, 5, n)
    impact = 12.0  # bps at any rate: eta = 12 bps × price / (rate × ADV)

    def impact_bps(rate: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(rate) > 0, impact, 0.0)

    cost, risk = _ac_columns(trade, price, adv, sigma, n_days, slices, lam, impact_bps)
    rate = np.abs(trade) / (n_days * adv)
    eta = impact * 1e-4 * price / (rate * adv)
    want_cost, want_risk = _ac_reference(trade, price, sigma, eta, n_days, slices, lam)
    np.testing.assert_array_equal(cost, want_cost, strict=True)
    np.testing.assert_array_equal(risk, want_risk, strict=True)
    assert np.isnan(risk[np.isnan(sigma)]).all()


@st.composite
def _masters(draw: st.DrawFn) -> tuple[SecurityMaster, pd.Index]:
    """A master of some of 12 tickers (sectors and classes with gaps as None or NaN, caps
    with NaN, its index of object or string dtype, possibly empty) and tickers to read,
    some of them absent from it."""
    names = [f"M{i:02d}" for i in range(12)]
    rows = draw(st.lists(st.sampled_from(names), unique=True, max_size=12))
    labels = st.one_of(st.sampled_from(["S0", "S1", "Tech"]), st.none(), st.just(math.nan))
    sectors = draw(st.lists(labels, min_size=len(rows), max_size=len(rows)))
    classes = draw(st.lists(labels, min_size=len(rows), max_size=len(rows)))
    caps = draw(st.lists(st.one_of(st.floats(1e6, 1e12), st.just(math.nan)),
                         min_size=len(rows), max_size=len(rows)))
    dtype = draw(st.sampled_from([object, "str"]))
    frame = pd.DataFrame({"sector": pd.Series(sectors, dtype=object),
                          "asset_class": pd.Series(classes, dtype=object),
                          "market_cap_usd": pd.Series(caps, dtype=np.float64)})
    frame.index = pd.Index(rows, name="ticker", dtype=dtype)
    read = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=12))
    return SecurityMaster(frame=frame), pd.Index(sorted(read), name="ticker")


@settings(max_examples=60, deadline=None)
@given(case=_masters())
def test_master_rows_read_what_a_reindex_of_the_master_reads(
        case: tuple[SecurityMaster, pd.Index]) -> None:
    """:class:`MasterRows` gives the values of ``master.frame.reindex(tickers)``: the
    state's group labels (``Unknown`` where the master is silent) and market caps to the
    bit, and the optimizer's group codes."""
    master, tickers = case
    rows = MasterRows.of(master)
    assert rows is not None
    info = master.frame.reindex(tickers)
    for name in ("sector", "asset_class"):
        np.testing.assert_array_equal(
            _groups(rows, name, tickers),
            info[name].fillna(UNKNOWN_GROUP).to_numpy(dtype=object), strict=True)
        np.testing.assert_array_equal(group_codes(rows.column(name, tickers)),
                                      group_codes(info[name]), strict=True)
    np.testing.assert_array_equal(rows.column("market_cap_usd", tickers),
                                  info["market_cap_usd"].to_numpy(dtype=np.float64),
                                  strict=True)


def test_master_rows_refuse_a_repeated_ticker_and_serve_only_their_master() -> None:
    """A master repeating a ticker has no rows (its reindex says what is wrong); a state
    reads rows only from the master they were made of, and is the same with them."""
    market = _market()
    inputs = _inputs(market)
    repeated = SecurityMaster(frame=pd.concat([inputs.master.frame,
                                               inputs.master.frame.iloc[:1]]))
    assert MasterRows.of(repeated) is None
    rows = MasterRows.of(inputs.master)
    assert rows is not None
    other = SecurityMaster(frame=inputs.master.frame.assign(sector="Other"))
    holdings = _holdings(SUBSETS[1], 3)
    for master in (inputs.master, other):
        alone = build_state(holdings, None, market, master, as_of=DAY)
        got = build_state(holdings, None, market, master, as_of=DAY, rows=rows)
        for f in dataclasses.fields(alone):
            a, b = getattr(got, f.name), getattr(alone, f.name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b, err_msg=f.name, strict=True)
            elif isinstance(a, pd.Index | pd.Series):
                assert a.equals(b) and a.dtype == b.dtype, f.name
            else:
                assert a == b, f.name
    assert set(build_state(holdings, None, market, other, as_of=DAY, rows=rows).sectors) \
        == {"Other"}


@pytest.mark.parametrize("vix_gap", [0, 3, 9])
def test_plans_with_a_shared_day_equal_alone_with_gaps_in_the_master_and_the_vix(
        vix_gap: int) -> None:
    """The shared day's master rows and VIX reading give each account's own plan: a master
    without some tickers' rows and with unknown sectors, the optimized destination with
    group bounds (the group codes read from the rows), and a VIX on the day, carried
    forward a few sessions (flagged) or stale."""
    market = _market()
    vix = market.vix
    assert vix is not None
    market = dataclasses.replace(market, vix=vix.iloc[:len(vix) - vix_gap] if vix_gap
                                 else vix)
    inputs = _inputs(market)
    frame = inputs.master.frame.drop(index=["U02", "U05", "U20"])
    frame.loc[["U04", "U14"], "sector"] = None
    inputs = dataclasses.replace(inputs, master=SecurityMaster(frame=frame))
    config = default_config().with_overrides({
        "portfolio.default_target": "equal", "costs.accept_stale_costs": True,
        "policy.destination": "optimized", "optimizer.group_deviation": 0.01,
        })
    books = {f"a{k}": _holdings(t, k) for k, t in enumerate(SUBSETS[:5])}
    day = shared_day(inputs, books, config, DAY, shared_targets=False)
    assert day is not None and day.master is not None
    assert day.vix == vix_reading(market.vix, pd.Timestamp(DAY))
    flagged = {n.flag for n in day.vix[1]}
    assert flagged == ({Flag.VIX_CARRIED} if vix_gap == 3 else
                       {Flag.NO_VIX} if vix_gap == 9 else set())
    for h in books.values():
        mine = dataclasses.replace(inputs, holdings=h)
        alone = make_plan(mine, config, as_of=DAY)
        steps = plan_steps(mine, config, as_of=DAY, shared=pickle.loads(pickle.dumps(day)))
        request = next(steps)
        assert_same_plan(finish_plan(steps, None if request is None else request.build()),
                         alone)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([f"U{i:02d}" for i in range(36)] + ["ZZZ", "U1", ""]),
                max_size=40),
       st.booleans())
def test_universe_positions_and_covers_equal_get_indexer(labels: list[str],
                                                         as_index: bool) -> None:
    """:meth:`UniverseCosts.positions` (a dict of the universe's tickers) equals
    ``index.get_indexer`` of the labels as objects (-1 outside), and ``covers`` says
    whether none is -1, for a list or a string index of them."""
    market = _market()
    union = _UNION.get("u") or _UNION.setdefault("u", UniverseCosts.of(
        market.prices.columns[::2], market.prices, market.volumes, None, as_of=DAY))
    asked: list[str] | pd.Index = pd.Index(labels, dtype="str") if as_index else labels
    want = union.index.get_indexer(pd.Index(labels, dtype=object))
    got = union.positions(asked)
    assert got.dtype == np.intp
    np.testing.assert_array_equal(got, want)
    assert union.covers(asked) == bool((want >= 0).all())


_UNION: dict[str, UniverseCosts] = {}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), unique=True),
       st.lists(st.sampled_from(["A", "B", "C", "D", "E", "Z"]), max_size=8))
def test_plan_positions_equal_get_indexer(universe: list[str], labels: list[str]) -> None:
    """The trade list's positions in the state's tickers (a string index) read through a
    dict equal ``get_indexer`` (-1 for a label outside)."""
    index = pd.Index(sorted(universe), name="ticker")
    got = plan_positions(index, labels)
    np.testing.assert_array_equal(got, index.get_indexer(pd.Index(labels, dtype=object)),
                                  strict=True)


def _same_state(got: object, alone: object) -> None:
    for f in dataclasses.fields(alone):  # type: ignore[arg-type]
        a, b = getattr(got, f.name), getattr(alone, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name, strict=True)
        elif isinstance(a, pd.Index | pd.Series):
            assert a.equals(b) and a.dtype == b.dtype and a.name == b.name, f.name
            assert a.index.equals(b.index) if isinstance(a, pd.Series) else True, f.name
        else:
            assert a == b, f.name


@pytest.mark.parametrize("with_targets", [False, True])
def test_price_rows_give_the_state_its_own_closes(with_targets: bool) -> None:
    """A state reading the day's closes once (:class:`PriceRows`) equals the state that
    reads the price frame itself: every field to the bit, a delisted holding priced at
    its last close and flagged, and the same error for a holding never priced or a
    ticker without history; closes of another frame or day are not used."""
    market = _market()
    prices = market.prices.copy()
    prices.iloc[-3:, 30] = np.nan  # U30 delisted 3 sessions before the day
    market = dataclasses.replace(market, prices=prices)
    inputs = _inputs(market)
    closes = PriceRows.of(prices, pd.Timestamp(DAY))
    assert closes is not None
    np.testing.assert_array_equal(closes.closes, prices.loc[DAY].to_numpy(), strict=True)
    other_day = PriceRows.of(prices, pd.Timestamp("2021-04-19"))
    other_frame = PriceRows.of(prices * 2.0, pd.Timestamp(DAY))
    named = pd.Index(["U01", "U02", "U33"], name="ticker")
    targets = (Targets(level=TargetLevel.ASSET, weights=pd.Series(0.2, index=named),
                       cash_weight=0.2) if with_targets else None)
    for k, tickers in enumerate([*SUBSETS[:-1], ["U00", "U30"], ["U29", "U30", "U31"]]):
        h = _holdings(tickers, k)
        alone = build_state(h, targets, market, inputs.master, as_of=DAY)
        assert ("U30" in tickers) == (not alone.no_price_since.empty)
        for rows in (closes, pickle.loads(pickle.dumps(closes)), other_day, other_frame):
            got = build_state(h, targets, market, inputs.master, as_of=DAY, closes=rows)
            _same_state(got, alone)
    for bad in (["U00", "U35"], ["U00", "ZZZ"]):  # never priced; no history at all
        with pytest.raises(DataError) as want:
            build_state(_holdings(bad, 0), targets, market, inputs.master, as_of=DAY)
        with pytest.raises(DataError) as got_error:
            build_state(_holdings(bad, 0), targets, market, inputs.master, as_of=DAY,
                        closes=closes)
        assert str(got_error.value) == str(want.value)


def test_price_rows_refuse_a_repeated_ticker_or_date_and_a_day_not_priced() -> None:
    market = _market()
    prices = market.prices
    assert PriceRows.of(pd.concat([prices, prices.iloc[:, :1]], axis=1),
                        pd.Timestamp(DAY)) is None
    assert PriceRows.of(pd.concat([prices, prices.iloc[-1:]]), pd.Timestamp(DAY)) is None
    assert PriceRows.of(prices, pd.Timestamp("2021-04-24")) is None  # a Saturday
    assert PriceRows.of(prices.iloc[:, :0], pd.Timestamp(DAY)) is None
    assert PriceRows.of(prices, pd.Timestamp(DAY)) is not None
