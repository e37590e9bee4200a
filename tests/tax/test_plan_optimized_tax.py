"""The optimized plan after tax: a worked example against the tax-blind optimized plan,
its tax recomputed from the lots, the tax weight read, and the after-tax backtest running
the same decision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftwise.app.plan import make_plan
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError
from driftwise.tax import Relief, TaxRates, relieve_lots

from .test_plan_tax import AS_OF, MARKET, NAV, NIIT, PRICE, cfg, inputs_of

WEIGHTS = [0.31, 0.31, 0.19, 0.19]  # S0 and S1 overweight by 6% each, S2 and S3 under
MULTIPLE = {"S0": 0.3, "S1": 1.1, "S2": 1.0, "S3": 1.0}  # basis / value: S0 a 70% gain,
ACQUIRED = {"S0": "2015-01-02", "S1": "2022-01-03", "S2": "2020-01-02",  # S1 a loss
            "S3": "2020-01-02"}
OPTIMIZED = {"policy.destination": "optimized", "optimizer.gamma_trade": 1.0}


def _inputs() -> Inputs:
    """One long-term lot per asset: S0 at a large gain, S1 at a 10% loss, S2 and S3 at
    their value."""
    tickers = list(PRICE.index)
    rows = []
    for t, w in zip(tickers, WEIGHTS, strict=True):
        shares = float(np.floor(w * NAV / PRICE[t]))
        rows.append((t, shares, ACQUIRED[t], shares * PRICE[t] * MULTIPLE[t]))
    return inputs_of(rows)


def _tax_of(trades: pd.DataFrame, inputs: Inputs) -> dict[str, float]:
    """The tax of each sale, relieved from the lots by HIFO (the configured relief)."""
    lots = inputs.holdings.lots
    assert lots is not None
    out = {}
    for ticker, row in trades.iterrows():
        if row["trade_usd"] >= 0:
            continue
        sold = relieve_lots(lots[lots["ticker"] == ticker], abs(float(row["shares"])),
                            float(PRICE[ticker]), AS_OF, Relief.HIFO,
                            TaxRates(0.37, 0.20, None, 0.0, NIIT))
        out[str(ticker)] = sum(s.tax_usd for s in sold)
    return out


def test_the_tax_aware_plan_sells_the_loss_and_keeps_the_gain() -> None:
    """Tax-blind, the optimizer sells both overweight assets about alike and realizes
    S0's 70% gain; with the tax in its objective it leaves S0 (its first dollar sold would
    pay 23.8% × 70% = 16.7% in tax, more than its tracking benefit net of cost), sells more
    of S1 (each USD sold saves 23.8% × 10% = 2.4% of tax now, weighed at the part not paid
    back later on the lower basis, 23.8% × (1 − 1.05^−10) × 10% = 0.9%) and says why per
    asset. The plan's
    tax is the tax model's tax of its trades, recomputed from the lots. The tax counts at
    face value here (γ_tax 1; the default weighs a quarter of it)."""
    inputs = _inputs()
    blind = make_plan(inputs, cfg(**OPTIMIZED), as_of=AS_OF)
    aware = make_plan(inputs, cfg(**OPTIMIZED, **{"tax.enabled": True,
                                                  "optimizer.tax_weight": 1.0}), as_of=AS_OF)
    b, a = blind.trades["trade_usd"], aware.trades["trade_usd"]
    assert b["S0"] < -100_000 and b["S1"] < -100_000
    assert a.get("S0", 0.0) > b["S0"]  # less of the high-gain asset sold
    assert a["S1"] < b["S1"]  # more of the loss lot sold
    blind_tax = sum(_tax_of(blind.trades, inputs).values())
    aware_tax = _tax_of(aware.trades, inputs)
    assert blind_tax > 50_000.0  # S0's gain realized
    assert sum(aware_tax.values()) < 0.0  # a loss realized, no gain
    for ticker, tax in aware_tax.items():
        assert aware.trades.loc[ticker, "tax_usd"] == pytest.approx(tax, rel=1e-9, abs=1e-6)
    said = " | ".join(aware.reasons)
    assert "S0: not sold: the tax of its first lot (S0:2015-01-02: 16.66% of each USD sold" \
        in said
    assert "S1: loss lots S1:2022-01-03 sold first" in said


def test_the_tax_weight_is_read() -> None:
    """``optimizer.tax_weight`` scales the tax in the objective: at 0 the tax is not
    weighed (S0 is sold as the tax-blind optimizer sells it, and the skip that counts the
    tax then refuses the rebalance); a negative weight is refused."""
    inputs = _inputs()
    taxed = {**OPTIMIZED, "tax.enabled": True}
    one = make_plan(inputs, cfg(**taxed), as_of=AS_OF)
    zero = make_plan(inputs, cfg(**taxed, **{"optimizer.tax_weight": 0.0,
                                               "policy.skip_if_cost_exceeds_benefit": False}),
                     as_of=AS_OF)
    assert "S0" not in one.trades.index or one.trades.loc["S0", "trade_usd"] == 0.0
    assert zero.trades.loc["S0", "trade_usd"] < -100_000
    with pytest.raises(ConfigError):
        cfg(**{"optimizer.tax_weight": -1.0})


def test_the_plan_says_when_it_weighed_the_convex_envelope() -> None:
    """S0 held in two lots relieved FIFO: first a long-term lot at a 70% gain (16.7% of tax
    per USD sold), then a short-term lot at a 10% loss (worth −2.6% per USD): the weighed
    tax along the order falls, so the solve weighs its convex envelope and the plan says
    so for S0, and that the sale still relieves the lots in FIFO order."""
    rows = []
    for t, w in zip(PRICE.index, WEIGHTS, strict=True):
        shares = float(np.floor(w * NAV / PRICE[t]))
        if t == "S0":
            half = float(np.floor(shares / 2))
            rows += [(t, half, "2015-01-02", half * PRICE[t] * 0.3),
                     (t, shares - half, "2024-02-01", (shares - half) * PRICE[t] * 1.1)]
        else:
            rows.append((t, shares, "2020-01-02", shares * PRICE[t]))
    plan = make_plan(inputs_of(rows), cfg(**OPTIMIZED, **{
        "tax.enabled": True, "tax.lot_relief": "fifo", "optimizer.tax_weight": 0.05,
        "policy.skip_if_cost_exceeds_benefit": False}), as_of=AS_OF)
    assert plan.trades.loc["S0", "trade_usd"] < 0.0
    said = " | ".join(plan.reasons)
    assert ("S0: the tax of selling by fifo, a loss counted at what it is worth, is not "
            "convex in the amount sold") in said
    assert "the sale relieves the lots in that order" in said


def test_a_gain_budget_binds_in_the_solve() -> None:
    """With S1's loss lot off the table (a purchase 10 days ago washes it) and a gain budget
    of USD 20,000, the optimizer sells S0 only up to the budget's gain: the realized net
    gain of the plan is at most the budget."""
    inputs = _inputs()
    lots = inputs.holdings.lots
    assert lots is not None
    extra = pd.DataFrame([("S1", 10.0, AS_OF - pd.Timedelta(days=10), 10.0 * PRICE["S1"],
                           None)], columns=lots.columns)
    lots = pd.concat([lots, extra], ignore_index=True)
    shares = lots.groupby("ticker")["shares"].sum()
    shares.index.name = "ticker"
    holdings = inputs.holdings.__class__(
        shares=shares, cash_usd=inputs.holdings.cash_usd - 10.0 * PRICE["S1"], lots=lots,
        source="holdings.csv", lines=inputs.holdings.lines)
    inputs = Inputs(holdings=holdings, targets=inputs.targets, master=inputs.master,
                    market=MARKET, last_rebalance=inputs.last_rebalance)
    plan = make_plan(inputs, cfg(**OPTIMIZED, **{"tax.enabled": True,
                                                 "tax.gain_budget_usd": 20_000.0,
                                                 "optimizer.tax_weight": 0.05,
                                                 "policy.skip_if_cost_exceeds_benefit":
                                                     False}), as_of=AS_OF)
    sold = abs(plan.trades.loc["S0", "shares"])
    gain = sold * PRICE["S0"] * 0.7
    assert 0.0 < gain <= 20_000.0 + 1.0  # whole shares round the sale down
    assert gain > 19_000.0  # the budget binds
    said = " | ".join(plan.reasons)
    assert "S1: loss lots S1:2022-01-03 not sold: a purchase within 30 days" in said


def test_the_after_tax_backtest_runs_the_same_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """The after-tax backtest of an optimized rule decides through ``tax_step``, whose
    optimized branch solves with the tax term (the planner's function), every fired day."""
    from tests.backtest.conftest import synthetic_inputs

    from driftwise.app.aftertax import run_one
    from driftwise.policy import optimize

    calls: list[int] = []
    solve = optimize.solve_taxed

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return solve(*args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(optimize, "solve_taxed", counted)
    config = cfg(**OPTIMIZED, **{"tax.enabled": True, "policy.threshold": 0.03})
    result = run_one(synthetic_inputs(), config, aware=True, harvest_every="never")
    assert calls and bool(np.any(result.rebalanced))
    calls.clear()
    run_one(synthetic_inputs(), config, aware=False, harvest_every="never")
    assert not calls  # the tax-unaware baseline decides without the tax term


def test_a_short_term_gain_about_to_turn_long_term_is_deferred() -> None:
    """S0 in one short-term lot at a 0.5% gain turning long-term on 2024-07-11: the solver
    sells it (its tax, 40.8% of 0.5%, is below the tracking benefit), the deferral test
    holds it back (the tax saved by waiting 13 days exceeds their tracking penalty) and
    the row is solved again without it: the plan's "deferred until" is true."""
    from .test_plan_tax import _inputs as one_lot_inputs

    inputs = one_lot_inputs([(1.0, "2023-07-10", 0.995)])
    taxed = {**OPTIMIZED, "tax.enabled": True}
    plan = make_plan(inputs, cfg(**taxed), as_of=AS_OF)
    assert "S0" not in plan.trades.index or plan.trades.loc["S0", "trade_usd"] == 0.0
    assert any(r.startswith("S0: lot S0:2023-07-10 deferred until 2024-07-11")
               for r in plan.reasons)
    eager = make_plan(inputs, cfg(**taxed, **{"tax.defer_short_term_gains": False}),
                      as_of=AS_OF)
    assert eager.trades.loc["S0", "trade_usd"] < 0.0
    assert not any("deferred until" in r for r in eager.reasons)


def test_a_wash_lockout_is_do_not_buy_in_the_solve() -> None:
    """S3 (underweight) was sold at a loss 10 days ago: the optimizer does not buy it and
    the plan says why; with wash sales allowed it buys it."""
    from .test_plan_tax import _inputs as one_lot_inputs

    sales = pd.DataFrame({"ticker": ["S3"], "sold": ["2024-06-18"], "shares": [100.0],
                          "proceeds_usd": [4_000.0], "cost_basis_usd": [5_000.0]})
    inputs = one_lot_inputs([(1.0, "2020-01-02", 1.0)], sales)
    taxed = {**OPTIMIZED, "tax.enabled": True}
    plan = make_plan(inputs, cfg(**taxed), as_of=AS_OF)
    assert "S3" not in plan.trades.index
    assert any(r.startswith("S3: not bought: within 30 days of a sale at a loss")
               for r in plan.reasons)
    allowed = make_plan(inputs, cfg(**taxed, **{"tax.allow_wash_sales": True}), as_of=AS_OF)
    assert allowed.trades.loc["S3", "side"] == "BUY"
