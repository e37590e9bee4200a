"""Point-in-time portfolios of the study: the sample's random draws read nothing after the
window's first day, and a stock that stops trading is sold at its last price."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import driftwise.data.sample as sample_module
from driftwise.backtest.engine import run_backtest
from driftwise.backtest.versions import exits_of
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs, build_rule, cost_params, study_settings
from driftwise.data.model import Inputs, MarketData
from driftwise.data.sample import load_sample_market
from driftwise.data.universe import (
    Universe,
    delisting_day,
    delisting_versions,
    stops_trading,
)
from driftwise.errors import ConfigError
from driftwise.flags import Flag
from driftwise.policy.book import Book
from driftwise.validation.branching import Branch, branch_rule, simulate_branch
from driftwise.validation.events import make_paths, path_days
from driftwise.validation.study import (
    STUDY_MIN_HISTORY_DAYS,
    PortfolioSpec,
    eligible_sample,
    study_portfolios,
    version_portfolios,
)

from .conftest import copy_sp500, make_inputs, make_portfolio, random_prices, small_config

SHARED = Path(os.environ.get("DRIFTWISE_SHARED_DATA", "/work/shared/data"))


@pytest.fixture(scope="module")
def sp500_dir() -> Path:
    if not (SHARED / "sp500-daily-ohlcv-alphavantage" / "tickers.csv").is_file():
        pytest.skip(f"the shared S&P 500 data is absent ({SHARED}; set DRIFTWISE_SHARED_DATA)")
    return SHARED


SAMPLE_TICKERS = sorted(str(t) for t in load_sample_market().prices.columns)


def test_the_whole_sample_is_eligible_on_its_first_day() -> None:
    assert eligible_sample(None) == SAMPLE_TICKERS


def test_moves_before_the_first_day_exclude_a_stock_later_ones_do_not() -> None:
    # the sample's prices move beyond 50% in a day on RRC 1990-04-10 and 1998-10-19, AAPL
    # 2000-09-29 and AMD 2016-04-22: recomputed here from the prices
    prices = load_sample_market().prices
    moves = (prices / prices.shift(1) - 1.0).abs()
    big = {str(t): [d for d in moves.index[moves[t] > 0.5]] for t in prices.columns}
    for day in ("1995-01-03", "2000-09-28", "2000-10-02", "2016-04-21", "2016-04-25"):
        on = pd.Timestamp(day)
        expected = sorted(t for t in SAMPLE_TICKERS if not any(d <= on for d in big[t]))
        assert eligible_sample(day) == expected, day
    assert "AAPL" in eligible_sample("2000-09-28") and "AAPL" not in eligible_sample("2000-10-02")


def test_a_window_before_the_sample_draws_nothing_and_says_so() -> None:
    assert eligible_sample("1989-06-01") == []
    with pytest.raises(ConfigError, match="no sample stock could be chosen on 1989-06-01"):
        study_portfolios("sample", None, 2, 0, "1989-06-01", None)
    assert study_portfolios("sample", None, 0, 0, "1989-06-01", None) == \
        [PortfolioSpec("sample")]


def test_history_before_the_first_day_is_required() -> None:
    prices = load_sample_market().prices
    second = str(prices.index[1].date())  # two sessions of history: all the sample has
    assert eligible_sample(second) == SAMPLE_TICKERS
    assert STUDY_MIN_HISTORY_DAYS > 2


def _planted(after: pd.Timestamp) -> MarketData:
    """The sample with a crash of MSFT (-95%) and an end of trading of KO after ``after``."""
    market = load_sample_market()
    prices = market.prices.copy()
    later = prices.index > after
    prices.loc[later, "MSFT"] *= 0.05
    prices.loc[prices.index > after + pd.Timedelta(days=30), "KO"] = np.nan
    return dataclasses.replace(market, prices=prices)


@pytest.mark.parametrize("start", ["1995-06-01", "2008-01-02", "2018-01-02"])
def test_a_planted_future_crash_or_stop_changes_no_draw(
        start: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = study_portfolios("sample", None, 6, 3, start, None)
    pool = eligible_sample(start)
    planted = _planted(pd.Timestamp(start))
    monkeypatch.setattr(sample_module, "load_sample_market", lambda: planted)
    assert eligible_sample(start) == pool
    assert study_portfolios("sample", None, 6, 3, start, None) == clean
    assert all(set(p.tickers) <= set(pool) for p in clean[1:])
    assert all(p.as_of == start for p in clean[1:])
    # the filter sees the crash once it is in the past
    assert "MSFT" not in eligible_sample(str((pd.Timestamp(start) + pd.Timedelta(days=10))
                                             .date()))


def test_the_sample_draws_carry_the_survivorship_caveat() -> None:
    from types import SimpleNamespace

    from driftwise.validation.output import caveats

    costs = SimpleNamespace(vix_multipliers=(1.0, 1.5, 2.5))
    drawn = SimpleNamespace(  # the fields caveats reads
        portfolios=[PortfolioSpec("sample"),
                    PortfolioSpec("sample random 1", "sample", ("AAPL", "KO"))],
        notices=(), settings=SimpleNamespace(model=SimpleNamespace(costs=costs),
                                                 cost_levels_bps=(10.0, 20.0, 50.0)))
    text = " ".join(caveats(drawn))  # type: ignore[arg-type]
    assert "Survivorship bias of the sample" in text and "point in time" in text
    alone = SimpleNamespace(**{**vars(drawn), "portfolios": [PortfolioSpec("sample")]})
    assert "Survivorship bias of the sample" not in " ".join(caveats(alone))  # type: ignore[arg-type]


# ------------------------------------------------------------------ delistings

N_DAYS, STOP = 260, 180
"""Constructed market: four stocks; A3's last session is row STOP (sold on STOP + 1)."""


def _market(stop: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raw closes (NaN after A3's last session when ``stop``) and the carried panel."""
    prices = random_prices(N_DAYS, np.array([0.15, 0.25, 0.35, 0.45]), seed=4)
    inputs = make_inputs(prices, np.full(N_DAYS, 15.0), np.full(4, 0.245), 0.02)
    raw = inputs.market.prices.copy()
    if stop:
        raw.iloc[STOP + 1:, 3] = np.nan
    return raw, raw.ffill()


def _inputs(stop: bool, unit: str = "ns") -> tuple[Inputs, Universe]:
    """The constructed inputs with the versions of the stop; ``unit``: of the dates' index
    (pandas reads CSV dates in microseconds)."""
    raw, carried = _market(stop)
    inputs = make_inputs(carried.to_numpy(), np.full(N_DAYS, 15.0), np.full(4, 0.245), 0.02)
    if unit != "ns":
        market = inputs.market
        assert market.vix is not None
        raw.index = raw.index.as_unit(unit)
        inputs = dataclasses.replace(inputs, market=dataclasses.replace(
            market, prices=market.prices.set_axis(market.prices.index.as_unit(unit)),
            vix=market.vix.set_axis(market.vix.index.as_unit(unit))))
    panel = Universe(raw, source="constructed")
    stops = stops_trading(panel, list(raw.columns), raw.index[0], raw.index[-1])
    assert inputs.targets is not None
    versions = delisting_versions(inputs.targets, stops, panel) if stops else ()
    return dataclasses.replace(inputs, target_versions=versions if len(versions) > 1
                               else ()), panel


def test_the_versions_spread_the_stopped_weight_over_the_others() -> None:
    inputs, panel = _inputs(stop=True)
    first, second = inputs.target_versions
    day = panel.prices.index[STOP + 1]
    assert first.effective_date is None and second.effective_date == day
    assert delisting_day(panel, panel.prices.index[STOP]) == day
    assert delisting_day(panel, panel.prices.index[-1]) is None
    assert list(second.weights.index) == ["A0", "A1", "A2"]
    np.testing.assert_allclose(second.weights.to_numpy(), 0.98 / 3, rtol=1e-15)
    assert second.cash_weight == first.cash_weight == 0.02
    assert "A3" in second.source and "sold on" in second.source
    with pytest.raises(ConfigError, match="every stock"):
        delisting_versions(first, {t: panel.prices.index[STOP] for t in panel.prices.columns},
                           panel)


FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "costs.flat_cost_bps": 0.0,
        "backtest.cash_earns_risk_free": False}


@pytest.mark.parametrize(("rule", "unit"), [("never", "ns"), ("threshold", "ns"),
                                           ("never", "us"), ("threshold", "s")])
def test_the_backtest_sells_the_stock_at_its_last_price_oracle(rule: str, unit: str) -> None:
    """Held at target from the first day; on the session after A3's last one every rule
    sells A3 at its last price and spreads the proceeds over the others (the switch is
    an event); nothing before that day differs from the market where A3 trades on. Dates
    in microseconds or seconds switch on the same day as in nanoseconds."""
    inputs, panel = _inputs(stop=True, unit=unit)
    clean, _ = _inputs(stop=False, unit=unit)
    base = Config().with_overrides(FREE)
    config = pol.never(base=base) if rule == "never" else pol.threshold(0.5, base=base)
    start, end = panel.prices.index[100], panel.prices.index[220]
    result = backtest_configs(inputs, [config], start=start, end=end)
    other = backtest_configs(clean, [config], start=start, end=end)
    dates = pd.DatetimeIndex(result.dates)
    s = int(dates.searchsorted(panel.prices.index[STOP + 1]))
    prices = inputs.market.prices.loc[start:end, result.tickers].to_numpy()
    last = float(panel.prices["A3"].iloc[STOP])
    assert prices[s, 3] == last  # carried: the sale's price
    nav0 = result.initial_nav_usd
    shares, cash = 0.245 * nav0 / prices[0], 0.02 * nav0
    for k in range(len(dates)):
        nav = float(shares @ prices[k]) + cash
        if k == s:
            proceeds = shares[3] * last  # oracle: the sale at the last price
            assert proceeds > 0
            new = np.array([0.98 / 3] * 3 + [0.0]) * nav / prices[k]
            buys = float(np.abs(new[:3] - shares[:3]) @ prices[k, :3])
            assert result.rebalanced[k, 0]
            assert result.traded_usd[k, 0] == pytest.approx(proceeds + buys, rel=1e-9)
            assert result.post_drift[k, 0] == pytest.approx(0.0, abs=1e-12)
            shares, cash = new, 0.02 * nav
        else:
            assert not result.rebalanced[k, 0]
        assert result.nav_usd[k, 0] == pytest.approx(nav, rel=1e-12)
        assert result.cash_usd[k, 0] == pytest.approx(cash, rel=1e-9)
    for field in ("nav_usd", "cash_usd", "traded_usd", "drift", "rebalanced"):
        np.testing.assert_array_equal(getattr(result, field)[:s], getattr(other, field)[:s])
    assert not np.array_equal(result.nav_usd[s + 5:], other.nav_usd[s + 5:])


def test_paths_end_on_the_sale_and_later_ones_follow_the_new_target() -> None:
    inputs, _ = _inputs(stop=True)
    carried = inputs.market.prices.to_numpy()
    portfolio = make_portfolio(carried, np.full(N_DAYS, 15.0), np.full(4, 0.245), 0.02)
    parts = version_portfolios(inputs, portfolio)
    assert [row for row, _ in parts] == [0, STOP + 1]
    np.testing.assert_array_equal(parts[0][1].target, portfolio.target)
    np.testing.assert_allclose(parts[1][1].target, [0.98 / 3] * 3 + [0.0], rtol=1e-15)
    assert parts[1][1].history is portfolio.history
    events = np.array([STOP + 1])
    plain = make_paths(portfolio, 1e6, warmup_days=20)
    paths = make_paths(portfolio, 1e6, warmup_days=20, events=events)
    assert STOP + 1 in paths.start.tolist() and STOP + 1 not in plain.start.tolist()
    assert set(plain.start.tolist()) <= set(paths.start.tolist())
    for start, review in zip(paths.start.tolist(), paths.review.tolist(), strict=True):
        if start < STOP + 1:
            assert review <= STOP + 1
            j = plain.start.tolist().index(start)
            assert review == min(int(plain.review[j]), STOP + 1)
    after = make_paths(parts[1][1], 1e6, starts=np.array([STOP + 1]), events=events)
    assert after.shares[0, 3] == 0.0
    np.testing.assert_allclose(after.shares[0, :3] * carried[STOP + 1, :3], 0.98e6 / 3)


def test_a_planted_delisting_changes_no_path_day_before_it() -> None:
    inputs, _ = _inputs(stop=True)
    clean_inputs, _ = _inputs(stop=False)
    days = {}
    for name, inp in (("planted", inputs), ("clean", clean_inputs)):
        carried = inp.market.prices.to_numpy()
        portfolio = make_portfolio(carried, np.full(N_DAYS, 15.0), np.full(4, 0.245), 0.02)
        switches = np.array([row for row, _ in version_portfolios(inp, portfolio)[1:]],
                            dtype=np.intp)
        paths = make_paths(portfolio, 1e6, warmup_days=20, events=switches)
        d = path_days(portfolio, paths)
        keep = d.day <= STOP
        days[name] = {"start": paths.start[d.path[keep]], "day": d.day[keep],
                      "weights": d.weights[keep], "drift": d.drift[keep],
                      "te": d.te_annual[keep], "nav": d.nav_usd[keep]}
    assert len(days["planted"]["day"]) > 100
    for key, value in days["clean"].items():
        np.testing.assert_array_equal(days["planted"][key], value)


def test_the_sp500_inputs_sell_a_stock_that_stops_trading(sp500_dir: Path) -> None:
    from driftwise.validation.study import _sp500_inputs

    inputs = _sp500_inputs(sp500_dir, ("AAPL", "KO", "VAR", "XOM"), "2019-01-02")
    _, second = inputs.target_versions  # VAR's last session is 2021-04-16
    assert second.effective_date == pd.Timestamp("2021-04-19")
    assert "VAR" not in second.weights.index
    np.testing.assert_allclose(second.weights.to_numpy(), 0.98 / 3, rtol=1e-15)
    stopped = [n for n in inputs.market.notices if n.flag is Flag.NO_PRICE_TODAY]
    assert stopped[0].tickers == ("VAR",)
    assert "sold at its last price on 2021-04-19" in stopped[0].detail
    assert not _sp500_inputs(sp500_dir, ("AAPL", "KO"), None).target_versions
    # the study's falsification backtest: every rule rebalances on the sale's day
    settings = study_settings(workers=1, start="2020-06-01", end="2021-04-20")
    runs = settings.model.falsification
    result = run_backtest(inputs, runs.grid, runs.window, workers=1)
    k = pd.DatetimeIndex(result.dates).get_loc(pd.Timestamp("2021-04-19"))
    assert result.rebalanced[k].all() and not result.rebalanced[k - 1].any()
    assert (result.post_drift[k] < 1e-3).all()  # whole shares: within a share of target


def test_a_branch_that_trades_after_the_sale_follows_the_new_target() -> None:
    """An event before the sale, a branch trading after it: the stopped stock is sold at
    its last price (cost 0) and the rest lands on the new target; the drift of each day is
    measured against the target in force that day. Without the day targets the branch
    would buy the stopped stock back to its old weight."""
    inputs, _ = _inputs(stop=True)
    carried = inputs.market.prices.to_numpy()
    portfolio = make_portfolio(carried, np.full(N_DAYS, 15.0), np.full(4, 0.245), 0.02,
                               config=small_config(**FREE))
    (_, before), (_, after) = version_portfolios(inputs, portfolio)
    rule = branch_rule(build_rule(small_config(**FREE)))
    params = dataclasses.replace(cost_params(small_config()), flat_cost_bps=0.0)
    t0 = STOP - 3
    shares = 0.245 * 1e6 / carried[t0 - 10]  # on target ten days before the event
    trade = np.zeros((1, 9), dtype=bool)
    trade[0, 6] = True  # day STOP + 3: after the sale
    out = simulate_branch(before, rule, params, np.array([t0]), shares[None, :],
                          np.array([0.02e6]), Branch(trade))
    day = t0 + 6
    nav = float(shares @ carried[day]) + 0.02e6
    new = np.array([0.98 / 3] * 3 + [0.0])
    sold = shares[3] * carried[STOP, 3]  # oracle: the last price
    bought = float(np.abs(new[:3] * nav - shares[:3] * carried[day, :3]).sum())
    assert out.traded_usd[0, 6] == pytest.approx(sold + bought, rel=1e-9)
    assert out.drift[0, 6] == pytest.approx(0.0, abs=1e-12)
    assert out.nav_usd[0, 6] == pytest.approx(nav, rel=1e-12)
    # drift before the trade: against the old target up to STOP, the new one after
    for k in range(6):
        w = shares * carried[t0 + k] / (float(shares @ carried[t0 + k]) + 0.02e6)
        target = before.target if t0 + k <= STOP else new
        cash_w = 0.02e6 / (float(shares @ carried[t0 + k]) + 0.02e6)
        expected = 0.5 * (np.abs(w - target).sum() + abs(cash_w - 0.02))
        assert out.drift[0, k] == pytest.approx(expected, rel=1e-12)
    # the same branch without the day targets buys A3 back to its old weight
    plain = dataclasses.replace(before, day_targets=None)
    old = simulate_branch(plain, rule, params, np.array([t0]), shares[None, :],
                          np.array([0.02e6]), Branch(trade))
    assert old.traded_usd[0, 6] < out.traded_usd[0, 6]
    assert after.day_targets is before.day_targets


@pytest.mark.parametrize("config", [pol.monthly(destination="half"),
                                    pol.threshold(0.05, destination="band_edge")],
                         ids=["monthly half-way", "threshold band edge"])
def test_a_rule_that_sizes_part_way_still_sells_the_whole_stock(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """The version of the sale names A3 ("delisted or suspended"), so on the switch day the
    engine sells the whole position before the rule sizes the event: a half-way or
    band-edge rule, which would move only part of the way to A3's new target of zero,
    holds none of it from the sale day to the window's end."""
    inputs, panel = _inputs(stop=True)
    assert exits_of(inputs.target_versions[1]) == ("A3",)
    held: list[np.ndarray] = []
    end_day = Book.end_day

    def on_end(book: Book, delayed: object) -> None:
        held.append(book.shares[0].copy())
        end_day(book, delayed)  # type: ignore[arg-type]

    monkeypatch.setattr(Book, "end_day", on_end)
    base = Config().with_overrides(FREE)
    start, end = panel.prices.index[100], panel.prices.index[220]
    result = backtest_configs(inputs, [config.with_overrides(FREE)], start=start, end=end)
    dates = pd.DatetimeIndex(result.dates)
    s = int(dates.searchsorted(panel.prices.index[STOP + 1]))
    a3 = result.tickers.index("A3")
    shares = np.array(held)[:, a3]
    assert len(shares) == len(dates) and base.constraints.whole_shares is False
    assert (shares[:s] > 0).all() and (shares[s:] == 0.0).all()
    assert result.rebalanced[s, 0]


# ------------------------------------------------------------ S&P 500 membership of the day


def _early_tickers(shared: Path, n: int) -> list[str]:
    index = pd.read_csv(shared / "sp500-daily-ohlcv-alphavantage" / "tickers.csv")
    return sorted(index[index["first_date"] == "1999-11-01"]["ticker"].head(n))


def test_a_stock_that_joins_the_index_later_is_drawn_only_from_its_first_day(
        sp500_dir: Path, tmp_path: Path) -> None:
    """Real prices, a planted membership file: JOIN becomes a member on 2003-03-03 and LEAVE
    stops being one on 2002-06-03. JOIN is never in the pool nor in a random portfolio
    before its first day and is drawn from it on; LEAVE is drawn only before it left.
    Without the membership file every eligible stock is drawn, with a notice."""
    from driftwise.data.membership import MEMBERSHIP_FILE
    from driftwise.data.universe import eligible, read_sp500
    from driftwise.validation.study import (
        eligible_sp500,
        load_inputs,
        membership_notices,
        random_portfolios,
    )

    tickers = _early_tickers(sp500_dir, 24)
    join, leave = tickers[3], tickers[7]
    folder = copy_sp500(sp500_dir, tmp_path / "data", tickers, vix=True)
    rows = ["ticker,start_date,end_date"] + [
        f"{t},2003-03-03," if t == join else f"{t},1996-01-02,2002-06-03" if t == leave
        else f"{t},1996-01-02," for t in tickers]
    path = folder.joinpath(*MEMBERSHIP_FILE)
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def plain(day: str) -> list[str]:
        return eligible(read_sp500(folder, until=day), pd.Timestamp(day),
                        min_history_days=STUDY_MIN_HISTORY_DAYS)

    for day in ("2001-06-01", "2002-05-31", "2003-02-28"):
        pool = eligible_sp500(folder, day)
        assert join not in pool and set(pool) == set(plain(day)) - {join} - (
            {leave} if day > "2002-06-03" else set()), day
        for seed in range(20):
            assert all(join not in s.tickers for s in random_portfolios(
                pool, 5, seed=seed, universe="sp500", data_dir=str(folder), as_of=day))
    assert leave in eligible_sp500(folder, "2002-05-31")
    assert leave not in eligible_sp500(folder, "2002-06-03")
    for day in ("2003-03-03", "2010-01-04"):
        pool = eligible_sp500(folder, day)
        assert join in pool and leave not in pool
        drawn = random_portfolios(pool, 20, seed=0, universe="sp500", data_dir=str(folder),
                                  as_of=day)
        assert any(join in s.tickers for s in drawn)
    assert membership_notices(folder, "2003-03-03") == ()
    # without the file: today's draw (every eligible stock), flagged on the portfolios
    path.unlink()
    assert eligible_sp500(folder, "2003-02-28") == plain("2003-02-28")
    assert join in plain("2003-02-28")
    [note] = membership_notices(folder, "2003-02-28")
    assert note.flag is Flag.NO_MEMBERSHIP and "2003-02-28" in note.detail
    inputs = load_inputs(PortfolioSpec("x", "sp500", (join, leave), str(folder),
                                       as_of="2003-02-28"))
    assert any(n.flag is Flag.NO_MEMBERSHIP for n in inputs.market.notices)


# the renames on the shared data: former symbol -> the panel's ticker (the companies'
# own announcements: Torchmark -> Globe Life, BB&T -> Truist, United Technologies ->
# Raytheon Technologies, Arconic -> Howmet, CenturyLink -> Lumen, CBS -> ViacomCBS,
# Symantec -> NortonLifeLock, HCP -> Healthpeak, Jacobs JEC -> J, Harris -> L3Harris,
# BHGE -> Baker Hughes, DowDuPont -> DuPont)
KNOWN_RENAMES = {"TMK": "GL", "BBT": "TFC", "UTX": "RTX", "ARNC": "HWM", "CTL": "LUMN",
                 "CBS": "VIAC", "SYMC": "NLOK", "HCP": "PEAK", "JEC": "J", "HRS": "LHX",
                 "BHGE": "BKR", "DWDP": "DD"}


def test_the_sp500_draw_on_2000_01_03_is_the_day_s_members_among_the_eligible(
        sp500_dir: Path) -> None:
    """Oracle on the real files: the pool of 2000-01-03 is exactly the index members of the
    day (read from the membership CSV with plain pandas, the known renames mapped) among
    the stocks priced with enough history; the hindsight draw kept about 160 more."""
    from driftwise.data.membership import MEMBERSHIP_FILE
    from driftwise.data.universe import eligible, read_sp500
    from driftwise.validation.study import eligible_sp500

    path = sp500_dir.joinpath(*MEMBERSHIP_FILE)
    if not path.is_file():
        pytest.skip(f"the membership file is absent ({path})")
    day = "2000-01-03"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    on = raw[(raw["start_date"] <= day) & ((raw["end_date"] == "") | (raw["end_date"] > day))]
    members = {KNOWN_RENAMES.get(t, t) for t in on["ticker"]}
    priced = eligible(read_sp500(sp500_dir, until=day), pd.Timestamp(day),
                      min_history_days=STUDY_MIN_HISTORY_DAYS)
    pool = eligible_sp500(sp500_dir, day)
    assert pool == sorted(set(priced) & members)
    assert {"GL", "TFC", "RTX", "HWM", "LUMN"} <= set(pool)  # members then, as TMK, BBT...
    assert not {"AMZN", "NVDA", "GS"} & set(pool)  # joined in 2005, 2001, 2002
    assert 150 < len(priced) - len(pool) < 175
    specs = study_portfolios("sp500", sp500_dir, 5, 0, day, None)[1:]
    assert all(set(s.tickers) <= set(pool) for s in specs)
