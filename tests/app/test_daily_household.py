"""The household's wash-sale rule over one run (``app.household.settle``) as properties
over random households, with a planner whose buys are those wanted less the tickers held
back: no buy washes another account's loss sale (of the run or known), every loss sale is
kept, only washing buys are held back, each named; under ``allow_wash_sales`` nothing is
held back and both sides say so. And the loss each sale order carries (``with_losses``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.app.accounts import Terms
from driftwise.app.daily import with_losses
from driftwise.app.household import MARK, LossSale, plan_buys, plan_losses, settle
from driftwise.app.plan import Decision, Plan
from driftwise.config import default_config

DAY = dt.date(2022, 12, 28)
TICKERS = ("AAA", "BBB", "CCC", "DDD")


def _plan(buys: set[str], losses: Mapping[str, float], reasons: tuple[str, ...] = ()
          ) -> Plan:
    rows = [(t, "BUY", 0.0) for t in sorted(buys)]
    rows += [(t, "SELL", v) for t, v in sorted(losses.items())]
    trades = pd.DataFrame(rows, columns=["ticker", "side", "loss_usd"]).set_index("ticker")
    trades["shares"] = 1.0
    return Plan(as_of=pd.Timestamp(DAY), decision=Decision.REBALANCE, delay_until=None,
                reasons=reasons, checks=(), before={}, after={}, trades=trades,
                schedule=None, notices=(), rule="", nav_usd=1.0)


account = st.fixed_dictionaries({
    "buys": st.sets(st.sampled_from(TICKERS), max_size=3),
    "losses": st.dictionaries(st.sampled_from(TICKERS), st.floats(0.0, 500.0), max_size=2),
    "taxed": st.booleans()})


@settings(max_examples=60, deadline=None)
@given(st.lists(account, min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(0, 3), st.sampled_from(TICKERS)), max_size=2),
       st.booleans())
def test_no_buy_washes_a_loss_of_the_household(
        wanted: list[dict[str, object]], filled: list[tuple[int, str]], allow: bool) -> None:
    names = [f"acct{k}" for k in range(len(wanted))]
    want = dict(zip(names, wanted, strict=True))
    calls: list[str] = []

    def planner(terms: Mapping[str, Terms]) -> dict[str, Plan]:
        calls.extend(terms)
        return {n: _plan(set(want[n]["buys"]) - set(t.no_buy),  # type: ignore[call-overload]
                         want[n]["losses"], t.reasons)  # type: ignore[arg-type]
                for n, t in terms.items()}

    known = {n: [LossSale(t, f"other{k}", DAY, 10.0, "filled") for k, t in filled]
             for n in names}
    taxed = {n: bool(want[n]["taxed"]) for n in names}
    config = default_config().with_overrides({"tax.allow_wash_sales": allow})
    plans, terms = settle(names, planner, {}, known, taxed, DAY, config)
    # every loss sale is kept
    for n in names:
        losses = {t: v for t, v in want[n]["losses"].items() if v > 0}  # type: ignore[attr-defined]
        assert {s.ticker for s in plan_losses(plans[n], n, DAY)} == set(losses)
    for n in names:
        washing = {s.ticker for s in known[n]} | {
            t for m in names if m != n and taxed[m]
            for t, v in want[m]["losses"].items() if v > 0}  # type: ignore[attr-defined]
        buys = set(want[n]["buys"])  # type: ignore[call-overload]
        said = [r for r in plans[n].reasons if MARK in r]
        if allow:
            assert plan_buys(plans[n]) == buys and terms[n].no_buy == ()
            assert {r.split(":")[0] for r in said} >= buys & washing
        else:
            # exactly the washing buys are held back, each said
            assert plan_buys(plans[n]) == buys - washing
            assert set(terms[n].no_buy) == buys & washing
            assert {r.split(":")[0] for r in said} == buys & washing
    assert sorted(calls[:len(names)]) == sorted(names)  # each planned once first


def test_the_reasons_name_the_other_account() -> None:
    def planner(terms: Mapping[str, Terms]) -> dict[str, Plan]:
        wanted = {"joint": ({"AAA"}, {}), "ira": (set(), {"AAA": 123.456})}
        return {n: _plan(wanted[n][0] - set(t.no_buy), wanted[n][1], t.reasons)
                for n, t in terms.items()}

    plans, _ = settle(["joint", "ira"], planner, {}, {}, {"joint": True, "ira": True}, DAY,
                      default_config())
    assert plans["joint"].reasons == (
        "AAA: not bought (household wash sale): account ira sells AAA at a loss (123.46 "
        "USD) in this run's plan, within 30 days; the buy would wash that loss (the loss "
        "sale is kept, the buy held back)",)
    assert plan_buys(plans["joint"]) == frozenset()


def test_a_sale_order_carries_its_share_of_the_loss() -> None:
    """Three child orders of one sale share its loss by shares (to the cent); a short
    sale part and the buys carry none."""
    trades = pd.DataFrame({"loss_usd": [300.0, 0.0, 10.0]},
                          index=pd.Index(["AAA", "BBB", "CCC"], name="ticker"))
    rows = pd.DataFrame({
        "order_id": ["a1", "a2", "a3", "b1", "c1", "c2"],
        "ticker": ["AAA", "AAA", "AAA", "BBB", "CCC", "CCC"],
        "side": ["SELL", "SELL", "SELL", "BUY", "SELL", "SELL_SHORT"],
        "shares": [10.0, 20.0, 30.0, 5.0, 4.0, 6.0], "order_type": "MARKET",
        "limit_price_usd": np.nan})
    out = with_losses(rows, trades)
    assert out["loss_usd"].tolist() == [50.0, 100.0, 150.0, 0.0, 10.0, 0.0]
    assert list(out.columns[:-1]) == list(rows.columns)


@pytest.mark.parametrize("decision", [Decision.SKIP, Decision.DELAY])
def test_a_plan_that_does_not_trade_proposes_nothing(decision: Decision) -> None:
    import dataclasses

    plan = dataclasses.replace(_plan({"AAA"}, {"BBB": 5.0}), decision=decision)
    assert plan_buys(plan) == frozenset() and plan_losses(plan, "x", DAY) == ()
