"""The plan after tax: each rule on a hand-made portfolio, each number recomputed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.app.plan import Decision, Plan, make_plan
from driftwise.calendar import nyse_sessions
from driftwise.config import Config, default_config
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, TargetLevel, Targets
from driftwise.data.sales import read_sales
from driftwise.tax import Relief, TaxRates, relieve_lots

SESSIONS = nyse_sessions("2023-01-03", "2024-06-28")
AS_OF = pd.Timestamp("2024-06-28")
NAV = 1e7
WEIGHTS = [0.31, 0.27, 0.22, 0.20]  # S0 and S1 overweight, S2 and S3 under (targets 25%)
NIIT = 0.038


def cfg(**overrides: object) -> Config:
    return default_config().with_overrides(overrides, source="test")


def _market() -> MarketData:
    rng = np.random.default_rng(1)
    prices = 50.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (len(SESSIONS), 4)), axis=0))
    tickers = [f"S{i}" for i in range(4)]
    frame = pd.DataFrame(prices, index=pd.DatetimeIndex(SESSIONS, name="date"), columns=tickers)
    return MarketData(prices=frame, volumes=pd.DataFrame(5e6, index=frame.index,
                                                         columns=tickers),
                      vix=pd.Series(15.0, index=frame.index), source="synthetic prices")


MARKET = _market()
PRICE = MARKET.prices.iloc[-1]


def _inputs(s0_lots: list[tuple[float, str, float]], sales: pd.DataFrame | None = None,
            extra: list[tuple[str, float, str, float]] = ()) -> Inputs:
    """S0 held in the given lots (share fraction, acquired, basis per share as a multiple
    of today's price); the other assets in one old lot at today's price (no gain)."""
    shares = {t: float(np.floor(w * NAV / PRICE[t])) for t, w in zip(PRICE.index, WEIGHTS,
                                                                       strict=True)}
    rows = []
    left = shares["S0"]
    for n, (fraction, acquired, multiple) in enumerate(s0_lots):
        size = left if n == len(s0_lots) - 1 else float(np.floor(fraction * shares["S0"]))
        left -= size
        rows.append(("S0", size, acquired, size * PRICE["S0"] * multiple))
    rows += [(t, shares[t], "2020-01-02", shares[t] * PRICE[t]) for t in ("S1", "S2", "S3")]
    rows += list(extra)
    return inputs_of(rows, sales)


def inputs_of(rows: list[tuple[str, float, str, float]],
              sales: pd.DataFrame | None = None) -> Inputs:
    """A lot-level book of the four assets from its lots (ticker, shares, acquired, basis
    USD), the rest of NAV in cash, equal targets, two sectors."""
    lots = pd.DataFrame(rows, columns=["ticker", "shares", "acquired", "cost_basis_usd"])
    lots["acquired"] = pd.to_datetime(lots["acquired"])
    lots["account"] = None
    held = lots.groupby("ticker")["shares"].sum()
    held.index.name = "ticker"
    cash = NAV - float((held * PRICE[held.index]).sum())
    holdings = Holdings(shares=held, cash_usd=cash, lots=lots, source="holdings.csv",
                        lines=pd.Series({t: i + 2 for i, t in enumerate(held.index)}))
    tickers = list(PRICE.index)
    t = pd.Series(0.25, index=pd.Index(tickers, name="ticker"))
    targets = Targets(level=TargetLevel.ASSET, weights=t, cash_weight=0.0,
                      band_abs=pd.Series(np.nan, index=t.index),
                      band_rel=pd.Series(np.nan, index=t.index), effective_date=None,
                      source="targets.csv")
    master = SecurityMaster(frame=pd.DataFrame(
        {"sector": ["A", "A", "B", "B"], "asset_class": "Equity", "market_cap_usd": 5e10},
        index=pd.Index(tickers, name="ticker")))
    return Inputs(holdings=holdings, targets=targets, master=master, market=MARKET,
                  last_rebalance=pd.Timestamp("2024-01-02"),
                  sales=None if sales is None else read_sales(sales, as_of=AS_OF))


def _sold(plan: Plan, ticker: str) -> float:
    t = plan.trades
    return float(t.loc[ticker, "shares"]) if ticker in t.index and \
        t.loc[ticker, "side"] == "SELL" else 0.0


TAXED = {"tax.enabled": True}
CARING = {**TAXED, "policy.tracking_aversion": 1000.0}  # a benefit large enough to pay tax


def test_tax_off_is_the_plan_of_today() -> None:
    inputs = _inputs([(1.0, "2024-01-02", 0.1)])
    with_lots = make_plan(inputs, default_config())
    no_lots = make_plan(dataclasses.replace(
        inputs, holdings=dataclasses.replace(inputs.holdings, lots=None)), default_config())
    pd.testing.assert_frame_equal(with_lots.trades.drop(columns="lots"),
                                  no_lots.trades.drop(columns="lots"))
    assert with_lots.reasons == no_lots.reasons and with_lots.decision == no_lots.decision
    assert (with_lots.trades["tax_usd"] == 0.0).all()


def test_a_sale_taxed_more_than_it_brings_is_left_alone() -> None:
    # S0 bought this year at 10% of today's price: a short-term gain of 90% of any sale
    inputs = _inputs([(1.0, "2024-01-02", 0.1)])
    untaxed = make_plan(inputs, default_config())
    assert _sold(untaxed, "S0") > 0
    plan = make_plan(inputs, cfg(**TAXED))
    assert _sold(plan, "S0") == 0.0
    assert "S0: not sold: its tax exceeds what the sale brings" in plan.reasons
    assert plan.decision in (Decision.PARTIAL, Decision.SKIP)


def test_the_sale_stops_at_the_lot_boundary_where_tax_starts() -> None:
    # S0: a third at a loss (basis 1.2 x price, HIFO relieves it first), the rest a large
    # short-term gain: the sale is cut to the loss lot exactly
    inputs = _inputs([(0.05, "2023-02-01", 1.2), (1.0, "2024-01-02", 0.1)])
    loss_lot = float(inputs.holdings.lots.iloc[0]["shares"])
    full = make_plan(inputs, default_config())
    assert _sold(full, "S0") > loss_lot
    plan = make_plan(inputs, cfg(**TAXED))
    assert _sold(plan, "S0") == loss_lot
    # long-term loss (held since 2023-02-01): 0.2 x price a share at 20% + NIIT
    expected = loss_lot * (PRICE["S0"] - 1.2 * PRICE["S0"]) * (0.20 + NIIT)
    assert plan.trades.loc["S0", "tax_usd"] == pytest.approx(expected, rel=1e-9)
    assert plan.decision is Decision.PARTIAL
    assert any(r.startswith("S0: sold in part") for r in plan.reasons)
    # the cost-benefit ratio counts the tax (a saving here) next to the trading cost
    after = plan.after
    assert after["tax_usd"] == pytest.approx(expected, rel=1e-9)
    assert after["cost_benefit_ratio"] == pytest.approx(
        (after["cost_usd"] + expected) / (after["benefit_bps"] * 1e-4 * NAV), rel=1e-6)


def test_a_short_term_gain_about_to_turn_long_term_is_deferred() -> None:
    # bought 2023-07-10: anniversary 2024-07-10, long-term from 2024-07-11 (13 days away);
    # a gain of 0.5% of the price: the tax saved by waiting, 0.005 x (0.37 - 0.20) of the
    # sale, exceeds 13 days of tracking penalty
    inputs = _inputs([(1.0, "2023-07-10", 0.995)])
    plan = make_plan(inputs, cfg(**TAXED))
    assert _sold(plan, "S0") == 0.0
    assert any("deferred until 2024-07-11" in r for r in plan.reasons)
    eager = make_plan(inputs, cfg(**TAXED, **{"tax.defer_short_term_gains": False}))
    assert _sold(eager, "S0") > 0
    outside = make_plan(inputs, cfg(**TAXED, **{"tax.defer_horizon_days": 10}))
    assert _sold(outside, "S0") > 0


def test_the_gain_budget_caps_the_years_realized_net_gain() -> None:
    # S0 in one long-term lot at half today's price: every share sold gains 0.5 x price
    inputs = _inputs([(1.0, "2020-01-02", 0.5)])
    free = make_plan(inputs, cfg(**CARING))
    gain_ps = 0.5 * PRICE["S0"]
    assert _sold(free, "S0") * gain_ps > 20_000
    capped = make_plan(inputs, cfg(**CARING, **{"tax.gain_budget_usd": 20_000.0}))
    # whole shares: the most shares whose gain fits the budget
    assert _sold(capped, "S0") == np.floor(20_000 / gain_ps)
    assert capped.trades.loc["S0", "tax_usd"] == pytest.approx(
        np.floor(20_000 / gain_ps) * gain_ps * (0.20 + NIIT), rel=1e-9)
    # gains already realized this year (the recent-sales file) use up the budget
    sales = pd.DataFrame({"ticker": ["S1"], "sold": ["2024-03-01"], "shares": [10.0],
                          "proceeds_usd": [15_000.0], "cost_basis_usd": [3_000.0]})
    used = make_plan(_inputs([(1.0, "2020-01-02", 0.5)], sales),
                     cfg(**CARING, **{"tax.gain_budget_usd": 20_000.0}))
    assert _sold(used, "S0") == np.floor(8_000 / gain_ps)


def test_no_buy_washes_a_recent_loss_sale_unless_allowed() -> None:
    # S3 (underweight, bought by the plan) was sold at a loss 10 days ago
    sales = pd.DataFrame({"ticker": ["S3"], "sold": ["2024-06-18"], "shares": [100.0],
                          "proceeds_usd": [4_000.0], "cost_basis_usd": [5_000.0]})
    inputs = _inputs([(1.0, "2020-01-02", 1.0)], sales)
    plan = make_plan(inputs, cfg(**TAXED))
    assert "S3" not in plan.trades.index
    assert any(r.startswith("S3: not bought: within 30 days of a sale at a loss")
               for r in plan.reasons)
    allowed = make_plan(inputs, cfg(**TAXED, **{"tax.allow_wash_sales": True}))
    assert allowed.trades.loc["S3", "side"] == "BUY"
    assert any(r.startswith("S3: wash sale") for r in allowed.reasons)
    # 31 days later the window is over
    old = sales.assign(sold="2024-05-28")
    assert make_plan(_inputs([(1.0, "2020-01-02", 1.0)], old),
                     cfg(**TAXED)).trades.loc["S3", "side"] == "BUY"


def test_no_loss_sale_that_a_recent_buy_washes() -> None:
    # S0: an old loss lot and a lot bought 5 days ago: selling the loss would be washed
    inputs = _inputs([(0.5, "2023-02-01", 1.3), (1.0, "2024-06-24", 1.0)])
    plan = make_plan(inputs, cfg(**TAXED))
    relieved = plan.trades.loc["S0", "lots"] if "S0" in plan.trades.index else ""
    assert "S0:2023-02-01" not in relieved
    assert any("loss lots S0:2023-02-01 not sold" in r for r in plan.reasons)


def test_specific_lots_are_relieved_first() -> None:
    inputs = _inputs([(0.5, "2020-01-02", 1.0), (1.0, "2021-01-04", 1.0)])
    plan = make_plan(inputs, cfg(**TAXED, **{"tax.lot_relief": "specific",
                                            "tax.specific_lots": ["S0:2021-01-04"]}))
    assert plan.trades.loc["S0", "lots"].startswith("specific: S0:2021-01-04×")


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(0.2, 1.6), min_size=1, max_size=3),
       st.sampled_from([None, 0.0, 5_000.0, 50_000.0]), st.sampled_from([2.0, 200.0]))
def test_after_tax_never_trades_more_and_its_tax_is_the_lots(
        multiples: list[float], budget: float | None, gamma: float) -> None:
    # S0 in long-term lots at random bases (gains and losses), never short-term: no
    # deferral, no wash sale; the tax recomputed from the lots by HIFO at the rates
    years = ["2019-01-02", "2020-01-02", "2021-01-04"]
    inputs = _inputs([(1.0 / len(multiples), years[k], m) for k, m in enumerate(multiples)])
    base = {"policy.tracking_aversion": gamma}
    plain = make_plan(inputs, cfg(**base))
    taxed = make_plan(inputs, cfg(**base, **TAXED, **{"tax.gain_budget_usd": budget}))
    for ticker, row in taxed.trades.iterrows():
        before = plain.trades.loc[ticker] if ticker in plain.trades.index else None
        assert before is not None and before["side"] == row["side"]
        assert row["shares"] <= before["shares"] + 1e-9
    lots = inputs.holdings.lots
    assert lots is not None
    gain = 0.0
    for ticker, row in taxed.trades[taxed.trades["side"] == "SELL"].iterrows():
        sold = relieve_lots(lots[lots["ticker"] == ticker], float(row["shares"]),
                            float(row["price_usd"]), AS_OF, Relief.HIFO, TaxRates(niit=NIIT))
        assert row["tax_usd"] == pytest.approx(sum(s.tax_usd for s in sold), abs=1e-6)
        gain += sum(s.gain_usd for s in sold)
    if budget is not None and not any(r.startswith("gain budget") for r in taxed.reasons):
        assert gain <= budget + 1e-6


def test_a_recent_loss_lot_alone_is_no_wash_sale() -> None:
    # S0's only lot was bought 5 days ago above today's price: no other purchase replaces
    # it, so its loss is allowed and it is sold
    inputs = _inputs([(1.0, "2024-06-24", 1.3)])
    plan = make_plan(inputs, cfg(**TAXED))
    assert _sold(plan, "S0") > 0
    assert not any("not sold: a purchase within" in r for r in plan.reasons)
