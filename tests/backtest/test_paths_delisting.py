"""A stock that stops trading inside a path: the path runs to its full end, every rule sells
the stock at its last price on the next session (the cost model's cost of that day), the
others' targets carry its weight pro rata; nothing before the sale and nothing of a path
that ends before a stop changes."""

from __future__ import annotations

import dataclasses
import math
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.backtest.conftest import synthetic_inputs
from tests.backtest.test_paths import _with_delisting

from driftwise.app.paths import compare_paths
from driftwise.backtest import engine as engine_module
from driftwise.backtest.engine import BacktestResult
from driftwise.backtest.paths import (
    PathSettings,
    PathSpec,
    make_paths,
    path_inputs,
    path_versions,
    run_path,
    universe_of,
)
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import rule_grid
from driftwise.costs import read_cost_inputs
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, Targets
from driftwise.data.targets import read_targets
from driftwise.data.universe import Universe, read_sp500
from driftwise.errors import ConfigError
from driftwise.flags import Flag
from driftwise.policy.book import Book, Trades

LAST_ROW = 200
"""FFF's last session (row of the panel); sold on row 201."""
GIVEN = {"AAA": 0.3, "BBB": 0.25, "FFF": 0.4, "CASH": 0.05}
FIRST, LAST = "2019-09-03", "2020-03-31"
SETTINGS = PathSettings(length_days=63, step_days=200, min_history_days=40)
SPREAD = {"AAA": 2.0, "BBB": 4.0, "FFF": 10.0}
COMMISSION = {"AAA": 0.5, "BBB": 0.5, "FFF": 1.5}
FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "backtest.cash_earns_risk_free": False}


def _inputs() -> Inputs:
    """The synthetic market with FFF (stops after row 200), a calm VIX (regime multiplier
    1), a cost file for every stock (spread, commission, no per-share fee or minimum
    ticket) and the given targets."""
    base = _with_delisting(synthetic_inputs(), LAST_ROW)
    market = base.market
    assert market.vix is not None
    vix = pd.Series(15.0, index=market.vix.index, name="vix")
    as_of = str(market.prices.index[-1].date())
    costs = read_cost_inputs(pd.DataFrame({
        "ticker": list(SPREAD), "spread_bps": list(SPREAD.values()),
        "commission_bps": list(COMMISSION.values()), "as_of": [as_of] * 3}),
        as_of=market.prices.index[-1])
    targets = read_targets(pd.DataFrame({"ticker": list(GIVEN),
                                         "target_weight": list(GIVEN.values())}))
    return dataclasses.replace(base, market=dataclasses.replace(market, vix=vix),
                               costs=costs, targets=targets)


INPUTS = _inputs()
UNIVERSE = universe_of(INPUTS)
PATH = next(p for p in make_paths(UNIVERSE, FIRST, LAST, SETTINGS, ["AAA", "BBB", "FFF"])
            if p.stopped)
STOP = UNIVERSE.prices.index[LAST_ROW]
SALE = UNIVERSE.prices.index[LAST_ROW + 1]


class Spy:
    """Every book's shares at the end of each day and every booking, by book."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.shares: dict[int, list[np.ndarray]] = defaultdict(list)
        self.bookings: dict[int, list[tuple[int, np.ndarray, object, np.ndarray]]] = \
            defaultdict(list)
        end_day, book_trades = Book.end_day, engine_module.book_trades

        def on_end(book: Book, delayed: object) -> None:
            self.shares[id(book)].append(book.shares.copy())
            end_day(book, delayed)  # type: ignore[arg-type]

        def on_book(book: Book, rows: np.ndarray, sized: object) -> np.ndarray:
            day = len(self.shares[id(book)])
            self.bookings[id(book)].append((day, book.shares.copy(), sized,
                                            book.cash_usd.copy()))
            return book_trades(book, rows, sized)  # type: ignore[arg-type]

        monkeypatch.setattr(Book, "end_day", on_end)
        monkeypatch.setattr(engine_module, "book_trades", on_book)


def _run(configs: dict[str, Config], path: PathSpec = PATH,
         inputs: Inputs = INPUTS, universe: Universe = UNIVERSE) -> BacktestResult:
    grid = rule_grid(list(configs.values()), list(configs))
    return run_path(inputs, universe, grid, path, 1e6, cash_earns_risk_free=False)[0]


def _oracle_cost(trade_usd: float, ticker: str, row: int, data: Inputs) -> float:
    """The cost model of one trade on the panel's row ``row``, from its definition: half
    the quoted spread plus the commission, in bps of the traded value, plus the square-root
    impact ``sigma * sqrt(Q / ADV)`` (sigma: the sample standard deviation of the last 20
    daily log returns; ADV: the mean of the last 60 positive daily volumes), at VIX 15
    (regime multiplier 1)."""
    a = abs(trade_usd)
    if a == 0.0:
        return 0.0
    prices = data.market.prices[ticker].to_numpy()[:row + 1]
    returns = np.diff(np.log(prices[-21:]))
    sigma = float(np.std(returns, ddof=1))
    assert data.market.volumes is not None
    volumes = data.market.volumes[ticker].to_numpy()[:row + 1][-60:]
    adv = float(np.mean(volumes[np.isfinite(volumes) & (volumes > 0)]))
    price = float(prices[-1])
    spread = a * (SPREAD[ticker] / 2 + COMMISSION[ticker]) / 1e4
    return spread + a * sigma * math.sqrt(a / price / adv)


def test_the_path_runs_its_full_window_and_sells_the_stock_at_its_last_price_oracle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Buy and hold with the full cost model: held at target to FFF's last session; on
    the next one FFF is sold in full at its last price, the proceeds being shares x last
    price less the cost model's cost of the sale (recomputed here), then the rest moves
    to the new target (FFF's 40% spread over AAA and BBB pro rata), the day's cost the sum
    of the recomputed costs of every trade; FFF is held no more to the path's end."""
    spy = Spy(monkeypatch)
    result = _run({"never": pol.never(base=Config().with_overrides(FREE))})
    dates = pd.DatetimeIndex(result.dates)
    assert len(dates) == SETTINGS.length_days and dates[-1] == PATH.end
    assert PATH.stopped == (("FFF", STOP),)
    data, _ = path_inputs(INPUTS, UNIVERSE, PATH)
    s = int(dates.get_loc(SALE))
    row = int(data.market.prices.index.get_loc(SALE))
    f = result.tickers.index("FFF")
    last = float(UNIVERSE.prices["FFF"].loc[STOP])
    assert data.market.prices["FFF"].iloc[row] == last  # carried: the sale's price
    [(book, shares)] = spy.shares.items()
    held = np.array(shares)[:, 0, f]
    assert held[s - 1] > 0 and (held[s:] == 0.0).all()
    assert len(held) == len(dates)
    sale, rebalance = spy.bookings[book]
    day, before, sized, cash_before = sale
    assert day == s and isinstance(sized, Trades)
    n = before[0, f]
    assert sized.trade_shares[0, f] == -n
    np.testing.assert_array_equal(np.delete(sized.trade_usd[0], f), 0.0)
    sale_cost = _oracle_cost(n * last, "FFF", row, data)
    proceeds = float(sized.post_cash_usd[0] - cash_before[0])
    assert proceeds == pytest.approx(n * last - sale_cost, rel=1e-12)
    assert sale_cost > 0.0
    # the rule's event, on the book after the sale: the others to the new target
    day, after_sale, sized, _ = rebalance
    assert day == s and after_sale[0, f] == 0.0
    trades = np.asarray(sized.trade_usd)[0]  # type: ignore[attr-defined]
    assert trades[f] == 0.0
    costs = sum(_oracle_cost(float(trades[i]), t, row, data)
                for i, t in enumerate(result.tickers))
    assert result.cost_usd[s, 0] == pytest.approx(sale_cost + costs, rel=1e-10)
    assert result.traded_usd[s, 0] == pytest.approx(n * last + np.abs(trades).sum(),
                                                    rel=1e-12)
    versions = data.target_versions
    assert [v.effective_date for v in versions] == [None, SALE]
    spread = versions[1].weights
    assert list(spread.index) == ["AAA", "BBB"]
    np.testing.assert_allclose(spread.to_numpy(), np.array([0.3, 0.25]) * 0.95 / 0.55,
                               rtol=1e-15)
    assert versions[1].cash_weight == 0.05
    assert result.post_drift[s, 0] == pytest.approx(0.0, abs=1e-12)  # on the new target
    assert not result.rebalanced[:s, 0].any() and not result.rebalanced[s + 1:, 0].any()


ALL_RULES = {
    "never": pol.never(), "monthly half": pol.monthly(destination="half"),
    "threshold band edge": pol.threshold(0.05, destination="band_edge"),
    "threshold": pol.threshold(0.05), "cost-benefit": pol.cost_benefit(),
    "vix-delayed": pol.vix_delayed(0.05),
    "optimized daily": pol.daily(destination="optimized"),
}


def test_every_rule_sells_the_stock_and_never_buys_it_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the destination (half-way, the band's edge, the optimized trade) and with
    the default whole shares and minimum trades: every row holds no FFF from the sale day
    to the path's end, every row rebalances on the sale day."""
    spy = Spy(monkeypatch)
    result = _run(ALL_RULES)
    s = int(pd.DatetimeIndex(result.dates).get_loc(SALE))
    f = result.tickers.index("FFF")
    assert result.rebalanced[s].all()
    assert len(spy.shares) == len(ALL_RULES)
    for shares in spy.shares.values():
        held = np.array(shares)[:, :, f]
        assert (held[s - 1] > 0).all() and (held[s:] == 0.0).all()


def test_nothing_before_the_sale_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path in a market where FFF trades on: every figure before the sale day is
    the same to the bit."""
    clean = dataclasses.replace(INPUTS, market=dataclasses.replace(
        INPUTS.market, prices=INPUTS.market.prices.assign(
            FFF=synthetic_inputs().market.prices["BBB"] * 1.3)))
    u = universe_of(clean)
    whole = dataclasses.replace(PATH, stopped=())
    assert make_paths(u, FIRST, LAST, SETTINGS, ["AAA", "BBB", "FFF"])[0] == whole
    a, b = _run(ALL_RULES), _run(ALL_RULES, whole, clean, u)
    s = int(pd.DatetimeIndex(a.dates).get_loc(SALE))
    for name in ("nav_usd", "cash_usd", "traded_usd", "cost_usd", "drift", "post_drift",
                 "rebalanced", "ref_nav_usd"):
        np.testing.assert_array_equal(getattr(a, name)[:s], getattr(b, name)[:s],
                                      err_msg=name)
    assert not np.array_equal(a.nav_usd[s:], b.nav_usd[s:])


def test_a_stop_after_a_paths_end_changes_nothing_of_it() -> None:
    """Planted future: FFF falls 70% the session after the first paths' end, then stops
    trading five sessions before the later paths' end; each first path (its stocks, window,
    stops, every rule's metrics and within-path draws) is the same to the bit, and a later
    path that holds FFF is flagged with its last session."""
    configs = {"monthly": pol.monthly(), "threshold 5%": pol.threshold(0.05)}
    settings = PathSettings(length_days=84, step_days=42, portfolios=2, size=3, seed=1,
                            min_history_days=40)
    clean = dataclasses.replace(INPUTS, market=dataclasses.replace(
        INPUTS.market, prices=INPUTS.market.prices.assign(
            FFF=synthetic_inputs().market.prices["BBB"] * 1.3)))
    first, last = "2019-06-03", "2019-12-31"
    before = compare_paths(clean, list(configs.values()), list(configs), first=first,
                           last=last, settings=settings, samples=40, block=5, seed=0)
    ends = sorted({p.end for p in before.runs.paths})
    holding = [p for p in before.runs.paths if "FFF" in p.tickers and p.end == ends[0]]
    later = [p for p in before.runs.paths if "FFF" in p.tickers and p.start < ends[0] < p.end]
    assert holding and later
    prices = clean.market.prices.copy()
    crash = int(prices.index.get_loc(ends[0])) + 1
    stop = int(prices.index.get_loc(later[0].end)) - 5
    prices.iloc[crash:, prices.columns.get_loc("FFF")] *= 0.3
    prices.iloc[stop + 1:, prices.columns.get_loc("FFF")] = np.nan
    planted = dataclasses.replace(clean, market=dataclasses.replace(clean.market,
                                                                    prices=prices))
    after = compare_paths(planted, list(configs.values()), list(configs), first=first,
                          last=last, settings=settings, samples=40, block=5, seed=0)
    m0, m1 = before.runs.metrics, after.runs.metrics
    for p, q in zip(before.runs.paths, after.runs.paths, strict=True):
        # every path here was drawn before the crash (a draw after it would see it)
        assert (q.start, q.end, q.tickers) == (p.start, p.end, p.tickers)
        if p.end < prices.index[crash]:
            assert q == p
            pd.testing.assert_frame_equal(m1[m1["path"] == p.number],
                                          m0[m0["path"] == p.number], check_exact=True)
            for metric, draws in before.runs.draws.items():
                np.testing.assert_array_equal(after.runs.draws[metric][p.number],
                                              draws[p.number])
        elif "FFF" in p.tickers and p.end > prices.index[stop]:
            assert q.stopped == (("FFF", prices.index[stop]),)
    assert [p.number for p in after.runs.paths if p.stopped] == [p.number for p in later]


def _version(weights: dict[str, float], effective: pd.Timestamp | None) -> Targets:
    frame = pd.DataFrame({"ticker": list(weights), "target_weight": list(weights.values())})
    if effective is not None:
        frame["effective_date"] = str(effective.date())
    return read_targets(frame)


def test_the_given_versions_each_lose_the_stopped_stock_pro_rata() -> None:
    """Three versions: the first (in force at the start) holds FFF and is followed by its
    sale; the second takes effect after the sale and names FFF (it loses it at once); the
    third has no FFF (unchanged). Only the sale version names the sale."""
    days = UNIVERSE.prices.index
    v1 = _version({"AAA": 0.5, "FFF": 0.3, "CASH": 0.2}, None)
    v2 = _version({"AAA": 0.2, "BBB": 0.2, "FFF": 0.5, "CASH": 0.1}, days[LAST_ROW + 10])
    v3 = _version({"AAA": 0.6, "BBB": 0.4}, days[LAST_ROW + 30])
    out = path_versions(v1, (v3, v1, v2), PATH, UNIVERSE)
    assert [v.effective_date for v in out] == [None, SALE, days[LAST_ROW + 10],
                                               days[LAST_ROW + 30]]
    sale, second, third = out[1:]
    assert sale.weights.to_dict() == pytest.approx({"AAA": 0.8})
    assert second.weights.to_dict() == pytest.approx({"AAA": 0.45, "BBB": 0.45})
    assert second.cash_weight == 0.1 and third is v3
    named = [[n.tickers for n in v.notices if n.flag is Flag.NO_PRICE_TODAY] for v in out]
    assert named == [[], [("FFF",)], [], []]
    with pytest.raises(ConfigError, match=r"path 2019-09-03 given: .*nothing is left"):
        path_versions(_version({"FFF": 0.9, "CASH": 0.1}, None), (), PATH, UNIVERSE)


def test_a_path_with_versions_sells_on_the_sale_day_and_switches_later(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The given portfolio with two versions, the second after the sale: FFF sold on the
    sale day, the second version an event of its own."""
    days = UNIVERSE.prices.index
    v1 = _version({"AAA": 0.3, "BBB": 0.25, "FFF": 0.4, "CASH": 0.05}, days[0])
    v2 = _version({"AAA": 0.5, "BBB": 0.45, "CASH": 0.05}, days[LAST_ROW + 20])
    data = dataclasses.replace(INPUTS, target_versions=(v1, v2))
    spy = Spy(monkeypatch)
    result = _run({"never": pol.never(base=Config().with_overrides(FREE))}, inputs=data)
    dates = pd.DatetimeIndex(result.dates)
    s, t = int(dates.get_loc(SALE)), int(dates.get_loc(days[LAST_ROW + 20]))
    assert np.flatnonzero(result.rebalanced[:, 0]).tolist() == [s, t]
    [shares] = spy.shares.values()
    assert (np.array(shares)[s:, 0, result.tickers.index("FFF")] == 0.0).all()


def test_a_path_without_stops_keeps_its_inputs() -> None:
    """No stop: the prices are the market's up to the path's end, untouched, and no target
    version is added (the run is the one before stops were handled, to the bit)."""
    clean = make_paths(UNIVERSE, "2019-04-01", "2019-08-30", SETTINGS, ["AAA", "BBB", "FFF"])
    assert clean and not any(p.stopped for p in clean)
    data, notes = path_inputs(INPUTS, UNIVERSE, clean[0])
    pd.testing.assert_frame_equal(
        data.market.prices, INPUTS.market.prices.loc[:clean[0].end, ["AAA", "BBB", "FFF"]],
        check_exact=True)
    assert data.target_versions == () and data.targets is INPUTS.targets
    assert not [n for n in notes if n.flag is Flag.NO_PRICE_TODAY]


@settings(max_examples=40, deadline=None)
@given(weights=st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4),
       cash=st.floats(0.0, 0.5),
       stops=st.lists(st.tuples(st.sampled_from(["AAA", "BBB", "CCC", "FFF"]),
                                st.integers(130, 190)), min_size=1, max_size=3,
                      unique_by=lambda x: x[0]))
def test_sales_keep_the_invested_weight_and_the_proportions(
        weights: list[float], cash: float, stops: list[tuple[str, int]]) -> None:
    """Whatever stops and when (not all): every version keeps the invested weight and the
    cash weight, the stocks left keep their proportions, each stopped stock is gone from
    its sale day on and named by the version that sells it."""
    tickers = ["AAA", "BBB", "CCC", "FFF"]
    w = np.array(weights) / sum(weights) * (1.0 - cash)
    base = _version({**dict(zip(tickers, w.tolist(), strict=True)), "CASH": cash}, None)
    days = UNIVERSE.prices.index
    spec = dataclasses.replace(PATH, stopped=tuple(sorted((t, days[r]) for t, r in stops)))
    if len(stops) == 4:
        return
    out = path_versions(base, (), spec, UNIVERSE)
    assert out[0] is base or out[0].weights.equals(base.weights)
    sale_day = {t: days[r + 1] for t, r in stops}
    for v in out[1:]:
        assert v.effective_date is not None
        gone = {t for t, d in sale_day.items() if d <= v.effective_date}
        assert set(v.weights.index) == set(tickers) - gone
        assert float(v.weights.sum()) == pytest.approx(1.0 - cash, rel=1e-12)
        assert v.cash_weight == base.cash_weight
        ratio = v.weights / base.weights.reindex(v.weights.index)
        np.testing.assert_allclose(ratio.to_numpy(), ratio.iloc[0], rtol=1e-12)
        named = {t for n in v.notices if n.flag is Flag.NO_PRICE_TODAY for t in n.tickers}
        assert named == {t for t, d in sale_day.items() if d == v.effective_date}


SHARED = Path(os.environ.get("DRIFTWISE_SHARED_DATA", "/work/shared/data"))


VAR_TICKERS = ["AAPL", "KO", "VAR", "XOM"]


def var_path() -> tuple[Inputs, Universe, PathSpec]:
    """The real panel of AAPL, KO, VAR and XOM from 2019 (equal weight, 2% cash, caps known
    on each path's start), and the path of 126 sessions ending on 2021-04-21."""
    panel = read_sp500(SHARED, VAR_TICKERS)
    raw = panel.prices.loc["2019-01-01":]
    assert panel.dollar_volume_usd is not None
    volumes = (panel.dollar_volume_usd / panel.prices).loc[raw.index]
    index = pd.Index(VAR_TICKERS, name="ticker", dtype=object)
    inputs = Inputs(
        holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=1e6),
        targets=read_targets(pd.DataFrame({"ticker": [*VAR_TICKERS, "CASH"],
                                           "target_weight": [0.245] * 4 + [0.02]})),
        master=SecurityMaster(frame=pd.DataFrame(
            {"sector": pd.Series(None, index=index, dtype=object),
             "asset_class": "US Equity", "market_cap_usd": np.nan}, index=index),
            source="caps known on each path's start"),
        market=MarketData(prices=raw, volumes=volumes, source=panel.source))
    universe = universe_of(inputs)
    first = raw.loc[:"2021-04-21"].index[-126]
    [path] = make_paths(universe, first, "2021-04-21",
                        PathSettings(length_days=126, step_days=63, min_history_days=100),
                        VAR_TICKERS)
    return inputs, universe, path


def test_a_real_delisting_is_sold_and_the_path_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Alpha Vantage panel: VAR's last session is 2021-04-16 (the panel ends on
    2021-04-21). A path of AAPL, KO, VAR and XOM ending on 2021-04-21 runs to that day;
    every rule sells VAR on 2021-04-19 and holds none after; flagged."""
    if not (SHARED / "sp500-daily-ohlcv-alphavantage" / "tickers.csv").is_file():
        pytest.skip(f"the shared S&P 500 data is absent ({SHARED}; set DRIFTWISE_SHARED_DATA)")
    inputs, universe, path = var_path()
    assert path.end == pd.Timestamp("2021-04-21")
    assert path.stopped == (("VAR", pd.Timestamp("2021-04-16")),)
    spy = Spy(monkeypatch)
    rules = {"never": pol.never(), "monthly half": pol.monthly(destination="half")}
    result, notes = run_path(inputs, universe, rule_grid(list(rules.values()), list(rules)),
                             path, 1e6)
    dates = pd.DatetimeIndex(result.dates)
    assert dates[-1] == path.end
    s = int(dates.get_loc(pd.Timestamp("2021-04-19")))
    assert result.rebalanced[s].all() and (result.cost_usd[s] > 0).all()
    v = result.tickers.index("VAR")
    for shares in spy.shares.values():
        held = np.array(shares)[:, :, v]
        assert (held[s - 1] > 0).all() and (held[s:] == 0.0).all()
    assert any("VAR stopped trading after 2021-04-16 (sold at its last price on "
               "2021-04-19)" in n.detail for n in notes)
