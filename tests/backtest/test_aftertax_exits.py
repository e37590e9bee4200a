"""The after-tax backtest sells a stock that stops trading as the engine does: on the
switch day of the version that names it ("delisted or suspended"), the whole position at
the day's close, the cost model's cost paid from cash, every lot relieved and its gain
realized in the year's tax, before the rule (tax-aware or not) sizes the event; no rule,
harvest, buy-back or swap buys it again; nothing before the sale changes and runs
without such a version are the same to the bit as before."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.backtest.test_paths_delisting import (
    INPUTS,
    PATH,
    SALE,
    STOP,
    UNIVERSE,
    _oracle_cost,
    var_path,
)

from driftwise.app.aftertax import after_tax_settings, run_one
from driftwise.backtest import aftertax
from driftwise.backtest import engine as engine_module
from driftwise.backtest.aftertax import EXIT_COLUMNS, AfterTaxResult, run_after_tax
from driftwise.backtest.batches import Window
from driftwise.backtest.engine import run_backtest
from driftwise.backtest.paths import (
    PathSpec,
    path_inputs,
)
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import rule_grid
from driftwise.data.model import Inputs, Targets
from driftwise.data.targets import read_targets
from driftwise.flags import Flag, Notice
from driftwise.policy.book import Book

from .conftest import synthetic_inputs
from .test_aftertax_relief import _pair_config, _pair_inputs, _session
from .test_versions import INPUTS as VERSION_INPUTS

FREE = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
        "constraints.min_adv_usd": 0.0, "backtest.cash_earns_risk_free": False}
RATES = {"tax.short_term_rate": 0.35, "tax.long_term_rate": 0.15, "tax.state_rate": 0.05,
         "tax.niit_rate": 0.038}
NO_TAX = {"tax.short_term_rate": 0.0, "tax.long_term_rate": 0.0, "tax.state_rate": 0.0,
          "tax.niit_rate": 0.0}
RULES = {
    "monthly half": pol.monthly(destination="half",
                                base=Config().with_overrides({**FREE, **RATES})),
    "threshold band edge": pol.threshold(0.05, destination="band_edge",
                                         base=Config().with_overrides({**FREE, **RATES})),
}
BEFORE = dataclasses.replace(PATH, end=STOP, stopped=())
"""The path cut at FFF's last session: no stop inside it, no target version."""
TO_2020 = dataclasses.replace(PATH, end=pd.Timestamp("2020-01-31"))
"""The path run past the year's end (2019's tax paid on its last session)."""


def _after_tax(config: Config, *, aware: bool, harvest: str = "month",
               path: PathSpec = PATH) -> AfterTaxResult:
    """One after-tax run of ``config`` on ``path`` (its inputs as the paths' engine runs
    get them: FFF carried at its last price, the version selling it)."""
    data, _ = path_inputs(INPUTS, UNIVERSE, path)
    window = Window(path.start, path.end, False, 1e6, "the paths' starting NAV",
                    cash_earns_risk_free=False)
    return run_after_tax(data, rule_grid([config]), window,
                         after_tax_settings(config, aware=aware, harvest_every=harvest))


class ExitSpy:
    """Every booking of the engine's module (in an after-tax run, only
    :func:`~driftwise.backtest.engine.sell_exits` books there): the shares and cash
    before it and the trades."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sales: list[tuple[np.ndarray, np.ndarray, object]] = []
        book_trades = engine_module.book_trades

        def on_book(book: Book, rows: np.ndarray, sized: object) -> np.ndarray:
            self.sales.append((book.shares.copy(), book.cash_usd.copy(), sized))
            return book_trades(book, rows, sized)  # type: ignore[arg-type]

        monkeypatch.setattr(engine_module, "book_trades", on_book)


@pytest.mark.parametrize("aware", [False, True], ids=["tax-unaware", "tax-aware harvesting"])
@pytest.mark.parametrize("name", list(RULES))
def test_the_stopped_stock_is_sold_in_full_and_its_lots_relieved_oracle(
        monkeypatch: pytest.MonkeyPatch, name: str, aware: bool) -> None:
    """Half-way and band-edge rules (destinations that keep part of a position), with tax
    or without: FFF's shares are 0 from the sale day on; the sale's cash is
    ``shares x last price`` less the cost model's cost (recomputed from its definition);
    the lots sold are every FFF lot held the day before (from a run that ends then), each
    with its gain ``shares x last price − basis``, short-term (bought this year), and the
    year's realized short-term result includes them."""
    config = RULES[name]
    spy = ExitSpy(monkeypatch)
    result = _after_tax(config, aware=aware)
    dates = result.dates
    s, f = int(dates.get_loc(SALE)), result.tickers.index("FFF")
    held = result.shares[:, f]
    assert held[s - 1] > 0.0 and (held[s:] == 0.0).all()
    # the sale: FFF alone, at its last price, the cost model's cost paid from cash
    [(before, cash_before, sized)] = spy.sales
    n = float(before[0, f])
    assert n == held[s - 1]
    assert sized.trade_shares[0, f] == -n  # type: ignore[attr-defined]
    np.testing.assert_array_equal(np.delete(sized.trade_usd[0], f), 0.0)  # type: ignore[attr-defined]
    data, _ = path_inputs(INPUTS, UNIVERSE, PATH)
    row = int(data.market.prices.index.get_loc(SALE))
    last = float(UNIVERSE.prices["FFF"].loc[STOP])
    cost = _oracle_cost(n * last, "FFF", row, data)
    assert cost > 0.0
    proceeds = float(sized.post_cash_usd[0] - cash_before[0])  # type: ignore[attr-defined]
    assert proceeds == pytest.approx(n * last - cost, rel=1e-12)
    # the lots held the day before, from a run that ends then: nothing before changes
    early = _after_tax(config, aware=aware, path=BEFORE)
    np.testing.assert_array_equal(early.nav_usd, result.nav_usd[:s])
    np.testing.assert_array_equal(early.shares, result.shares[:s])
    np.testing.assert_array_equal(early.rebalanced, result.rebalanced[:s])
    np.testing.assert_array_equal(early.harvested, result.harvested[:s])
    lots = early.lots[early.lots["ticker"] == "FFF"].reset_index(drop=True)
    assert len(lots) >= 1 and lots["shares"].sum() == pytest.approx(n, rel=1e-12)
    sold = result.exit_sales
    assert list(sold.columns) == list(EXIT_COLUMNS)
    assert (sold["date"] == SALE).all() and (sold["ticker"] == "FFF").all()
    mine = sold.sort_values(["acquired", "basis_usd"]).reset_index(drop=True)
    hand = lots.sort_values(["acquired", "basis_usd"]).reset_index(drop=True)
    np.testing.assert_allclose(mine["shares"], hand["shares"], rtol=1e-12)
    np.testing.assert_allclose(mine["basis_usd"], hand["basis_usd"], rtol=1e-12)
    assert (mine["acquired"] == hand["acquired"]).all()
    gain = hand["shares"] * last - hand["basis_usd"]  # by hand, from the lots
    np.testing.assert_allclose(mine["gain_usd"], gain, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(mine["proceeds_usd"], hand["shares"] * last, rtol=1e-12)
    assert not mine["long_term"].any()  # bought on 2019-09-03 or later
    # no lot of FFF is left, and none is bought again
    assert "FFF" not in set(result.lots["ticker"])
    assert result.rebalanced[s]


@pytest.mark.parametrize("aware", [False, True], ids=["tax-unaware", "tax-aware"])
def test_the_sales_gain_is_taxed_with_the_year_oracle(aware: bool) -> None:
    """Buy and hold past the year's end: the only sale of 2019 is FFF's (the event after
    it buys the others); 2019's realized short-term result is the lots' gain by hand
    (``Σ shares x last price − basis``, the lot bought at the first close at target), and
    the tax paid on 2019's last session is that gain taxed at short-term + state + NIIT."""
    config = pol.never(base=Config().with_overrides({**FREE, **RATES}))
    result = _after_tax(config, aware=aware, harvest="never", path=TO_2020)
    dates = result.dates
    s, f = int(dates.get_loc(SALE)), result.tickers.index("FFF")
    data, _ = path_inputs(INPUTS, UNIVERSE, TO_2020)
    prices = data.market.prices.loc[dates, result.tickers].to_numpy()
    # the start at target: FFF's 40% of USD 1,000,000 at the first close, one lot
    n = 0.40 * 1e6 / prices[0, f]
    assert result.shares[s - 1, f] == pytest.approx(n, rel=1e-12)
    last = float(UNIVERSE.prices["FFF"].loc[STOP])
    gain = n * last - n * prices[0, f]
    sold = result.exit_sales
    assert len(sold) == 1 and sold["gain_usd"].iloc[0] == pytest.approx(gain, rel=1e-9)
    # the event after the sale only buys (FFF's weight goes to AAA and BBB)
    moved = result.shares[s] - result.shares[s - 1]
    assert (np.delete(moved, f) >= 0.0).all() and np.delete(moved, f).any()
    year = result.years.set_index("year").loc[2019]
    assert year["realized_short_usd"] == pytest.approx(gain, rel=1e-9)
    assert year["realized_long_usd"] == 0.0
    assert gain > 0.0  # FFF (BBB x 1.3) rose from the path's start to its last session
    tax = gain * (0.35 + 0.05 + 0.038)
    end_2019 = int(np.flatnonzero(dates.year == 2019)[-1])
    assert result.tax_paid_usd[end_2019] == pytest.approx(tax, rel=1e-9)
    assert year["tax_usd"] == pytest.approx(tax, rel=1e-9)
    assert (result.tax_paid_usd[:end_2019] == 0.0).all()


@pytest.mark.parametrize("name", list(RULES))
def test_with_tax_off_the_sale_and_the_event_are_the_engines(name: str) -> None:
    """Zero rates, no harvest: the after-tax loop's path over the stop (sale, event,
    no-buy afterwards) is the engine's, to the bit."""
    config = RULES[name].with_overrides(NO_TAX)
    result = _after_tax(config, aware=False, harvest="never")
    data, _ = path_inputs(INPUTS, UNIVERSE, PATH)
    window = Window(PATH.start, PATH.end, False, 1e6, "the paths' starting NAV",
                    cash_earns_risk_free=False)
    engine = run_backtest(data, rule_grid([config]), window, workers=1)
    np.testing.assert_array_equal(result.nav_usd, engine.nav_usd[:, 0])
    np.testing.assert_array_equal(result.rebalanced, engine.rebalanced[:, 0])
    assert result.taxes_paid_usd == 0.0


def test_a_switch_day_is_never_inside_a_quiet_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with versions goes day by day; and were its batch to allow quiet blocks, the
    loop would still stop at the switch day and sell there (the switch is a fixed day, as
    a harvest day or a year's end)."""
    seen: list[tuple[int, int]] = []
    quiet, make = aftertax._quiet, aftertax.make_batches

    def spy(run: object, out: object, k: int, span: int) -> int:
        n = quiet(run, out, k, span)  # type: ignore[arg-type]
        seen.append((k, n))
        return n

    monkeypatch.setattr(aftertax, "_quiet", spy)
    config = RULES["threshold band edge"]
    result = _after_tax(config, aware=False, harvest="never")
    s = int(result.dates.get_loc(SALE))
    assert not seen  # max_span 1 with target versions: no quiet block

    def blocky(*args: object, **kwargs: object) -> list[object]:
        return [dataclasses.replace(b, max_span=64)  # type: ignore[type-var]
                for b in make(*args, **kwargs)]  # type: ignore[arg-type]
    monkeypatch.setattr(aftertax, "make_batches", blocky)
    forced = _after_tax(config, aware=False, harvest="never")
    assert seen and max(n for _, n in seen) > 1
    assert all(not k <= s < k + n for k, n in seen)
    f = forced.tickers.index("FFF")
    assert forced.shares[s - 1, f] > 0.0 and (forced.shares[s:, f] == 0.0).all()
    assert forced.exit_sales["date"].tolist() == [SALE]


def _dropping(inputs: Inputs, ticker: str, effective: pd.Timestamp) -> Inputs:
    """``inputs`` with a second target version from ``effective``: ``ticker`` dropped
    (its weight spread over the others pro rata) and named as stopped trading."""
    assert inputs.targets is not None
    base = dataclasses.replace(inputs.targets, effective_date=None)  # in force from the start
    kept = base.weights.drop(ticker)
    kept = kept * float(base.weights.sum()) / float(kept.sum())
    frame = pd.DataFrame({"ticker": [*kept.index, "CASH"],
                          "target_weight": [*kept.to_numpy(), base.cash_weight],
                          "effective_date": str(effective.date())})
    later: Targets = dataclasses.replace(read_targets(frame), notices=(Notice(
        Flag.NO_PRICE_TODAY, "stopped trading: sold in full at the last price", (ticker,)),))
    return dataclasses.replace(inputs, target_versions=(base, later))


def _moving_zzz() -> Inputs:
    """The pair market with ZZZ moving 1% a day (seeded) around 50: a position in it has
    a tracking error that selling it reduces (flat, selling it would bring nothing that
    pays the sale's cost, and the tax-aware rule would keep it)."""
    inputs = _pair_inputs()
    prices = inputs.market.prices.copy()
    steps = np.random.default_rng(7).normal(0.0, 0.01, len(prices))
    prices["ZZZ"] = 50.0 * np.exp(np.cumsum(steps) - steps[0])
    return dataclasses.replace(inputs, market=dataclasses.replace(inputs.market,
                                                                  prices=prices))


def test_a_stand_in_of_a_stopped_stock_stays_and_the_event_moves_it_to_its_target() -> None:
    """AAA is harvested into ZZZ (standing in for it) on 2019-02-01; AAA stops trading and
    the version of 2019-03-15 drops it. ZZZ still trades: the sale does not touch it (no
    AAA is held, nothing is sold by it), it keeps counting against AAA's target, now 0,
    so the switch's event sells it to that target with the rule's destination: all of it
    to target, half of it half-way. AAA is never bought again."""
    effective = pd.Timestamp("2019-03-15")
    inputs = _dropping(_moving_zzz(), "AAA", effective)
    ahead = {"policy.threshold": 0.08, "tax.harvest_loss_threshold": 0.25, **NO_TAX}
    for destination, left in (("full", 0.0), ("half", 0.5)):
        config = _pair_config().with_overrides({**ahead, "policy.destination": destination,
                                                **FREE})
        result = run_one(inputs, config, aware=True)
        dates = result.dates
        h, e = _session(dates, pd.Timestamp("2019-02-01")), _session(dates, effective)
        zzz, aaa = result.tickers.index("ZZZ"), result.tickers.index("AAA")
        early = result.harvests[result.harvests["date"] < effective]
        assert early["replacement"].tolist() == ["ZZZ"]
        assert result.exit_sales.empty  # nothing of AAA held: nothing sold for the stop
        assert (result.shares[h:, aaa] == 0.0).all()
        assert (result.shares[h:e, zzz] == result.shares[h, zzz]).all()
        assert result.rebalanced[e]
        # half-way: half the weight of the NAV after the day's trading costs (about
        # 1e-4 of it below the NAV before them)
        assert result.shares[e, zzz] == pytest.approx(left * result.shares[e - 1, zzz],
                                                      rel=1e-3, abs=1e-9)
        assert left == 0.0 or result.shares[e, zzz] < result.shares[e - 1, zzz]


def test_a_harvest_waiting_in_cash_does_not_buy_back_a_stopped_stock() -> None:
    """AAA is harvested into cash on 2019-02-01 (no replacement) and stops trading within
    its wash-sale window (the version of 2019-02-15 drops it): its buy-back after the
    window (first session from 2019-03-05) is dropped, the cash stays (the event of
    2019-02-15 invested the book at the new targets)."""
    effective = pd.Timestamp("2019-02-15")
    inputs = _dropping(_pair_inputs(), "AAA", effective)
    config = _pair_config(harvest_pairs=[]).with_overrides(
        {"policy.threshold": 0.9, **NO_TAX})
    result = run_one(inputs, config, aware=True)
    dates = result.dates
    h = _session(dates, pd.Timestamp("2019-02-01"))
    back = _session(dates, pd.Timestamp("2019-03-05"))
    aaa = result.tickers.index("AAA")
    assert result.harvests["replacement"].tolist() == ["cash"]
    assert (result.shares[h:, aaa] == 0.0).all()
    np.testing.assert_array_equal(result.shares[back], result.shares[back - 1])
    # without the version the harvest's proceeds buy AAA back then
    plain = run_one(_pair_inputs(), config, aware=True)
    assert plain.shares[back, aaa] > 0.0


def test_a_harvest_does_not_buy_a_replacement_that_stopped_trading() -> None:
    """ZZZ, AAA's replacement, stopped trading before the harvest (a version of
    2019-01-15 names it; none is held): the harvest's proceeds wait in cash."""
    inputs = _pair_inputs()
    assert inputs.targets is not None
    first = dataclasses.replace(inputs.targets, effective_date=None)
    later = dataclasses.replace(
        inputs.targets, effective_date=pd.Timestamp("2019-01-15"),
        notices=(Notice(Flag.NO_PRICE_TODAY, "stopped trading", ("ZZZ",)),))
    inputs = dataclasses.replace(inputs, target_versions=(first, later))
    result = run_one(inputs, _pair_config(**{k[4:]: v for k, v in NO_TAX.items()}),
                     aware=True)
    assert result.harvests["replacement"].tolist() == ["cash"]
    assert (result.shares[:, result.tickers.index("ZZZ")] == 0.0).all()


def _digest(r: AfterTaxResult) -> str:
    h = hashlib.sha256()
    for a in (r.nav_usd, r.shares, r.tax_paid_usd, r.rebalanced, r.harvested):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr((r.liquidation_tax_usd, r.harvested_loss_usd, r.disallowed_usd)).encode())
    h.update(r.lots.to_csv().encode())
    h.update(r.years.to_csv().encode())
    return h.hexdigest()[:16]


PINNED = {  # computed before stopped stocks were sold in the after-tax loop
    "versions, threshold 2%, tax-aware": "3e1b81576a112aeb",
    "versions, monthly half-way, tax-unaware": "a38c7bff0015df20",
    "harvest into a replacement": "22699c6b4b569f6a",
    "harvest into a falling replacement, swapped back": "0c455934593e0e74",
    "band edge, tax-aware": "2c1e89ea5dfbd046",
}


@pytest.mark.parametrize("case", list(PINNED))
def test_runs_without_stopped_stocks_are_unchanged_to_the_bit(case: str) -> None:
    """Target versions without a stop, harvests with replacements (stand-ins, a swap
    back), a plain run: every daily figure, lot and year as before."""
    runs = {
        "versions, threshold 2%, tax-aware": lambda: run_one(
            VERSION_INPUTS, pol.threshold(0.02), aware=True, harvest_every="month"),
        "versions, monthly half-way, tax-unaware": lambda: run_one(
            VERSION_INPUTS, pol.monthly(destination="half"), aware=False,
            harvest_every="never"),
        "harvest into a replacement": lambda: run_one(_pair_inputs(), _pair_config(),
                                                      aware=True),
        "harvest into a falling replacement, swapped back": lambda: run_one(
            _pair_inputs(zzz_falls=True), _pair_config(), aware=True, swap_back=True),
        "band edge, tax-aware": lambda: run_one(
            synthetic_inputs(), pol.threshold(0.05, destination="band_edge"), aware=True,
            harvest_every="month"),
    }
    assert _digest(runs[case]()) == PINNED[case]


SHARED = Path(os.environ.get("DRIFTWISE_SHARED_DATA", "/work/shared/data"))


@pytest.mark.parametrize("aware", [False, True], ids=["tax-unaware", "tax-aware harvesting"])
def test_a_real_delisting_is_sold_with_its_lots_after_tax(aware: bool) -> None:
    """The Alpha Vantage panel: VAR's last session is 2021-04-16. A half-way monthly rule
    on a path of AAPL, KO, VAR and XOM ending on 2021-04-21, after tax: VAR is sold in full
    on 2021-04-19 at its last close, every VAR lot relieved (shares and basis those of the
    lots held the session before), and none is held or bought after."""
    if not (SHARED / "sp500-daily-ohlcv-alphavantage" / "tickers.csv").is_file():
        pytest.skip(f"the shared S&P 500 data is absent ({SHARED}; set DRIFTWISE_SHARED_DATA)")
    inputs, universe, path = var_path()
    assert path.stopped == (("VAR", pd.Timestamp("2021-04-16")),)
    config = pol.monthly(destination="half", base=Config().with_overrides(RATES))
    settings = after_tax_settings(config, aware=aware, harvest_every="month")

    def run(spec: PathSpec) -> AfterTaxResult:
        data, _ = path_inputs(inputs, universe, spec)
        window = Window(spec.start, spec.end, False, 1e6, "the paths' starting NAV")
        return run_after_tax(data, rule_grid([config]), window, settings)
    result = run(path)
    s = int(result.dates.get_loc(pd.Timestamp("2021-04-19")))
    v = result.tickers.index("VAR")
    assert result.shares[s - 1, v] > 0.0 and (result.shares[s:, v] == 0.0).all()
    early = run(dataclasses.replace(path, end=pd.Timestamp("2021-04-16"), stopped=()))
    held = early.lots[early.lots["ticker"] == "VAR"].sort_values("acquired")
    sold = result.exit_sales.sort_values("acquired")
    assert len(sold) == len(held) >= 1
    assert (sold["date"] == pd.Timestamp("2021-04-19")).all()
    np.testing.assert_allclose(sold["shares"], held["shares"], rtol=1e-12)
    np.testing.assert_allclose(sold["basis_usd"], held["basis_usd"], rtol=1e-12)
    last = float(inputs.market.prices.loc["2021-04-16", "VAR"])
    np.testing.assert_allclose(sold["gain_usd"], held["shares"] * last - held["basis_usd"],
                               rtol=1e-9, atol=1e-6)
    assert "VAR" not in set(result.lots["ticker"])
