"""The tax of a sale inside the optimized destination: its pieces, the solve, the plan.

Oracles: the solver's tax of its trades recomputed lot by lot from the tax model
(:func:`driftwise.tax.lots.relieve`, :func:`~driftwise.tax.lots.lot_tax`) and by hand; the
hand-built conic data against the problem stated with cvxpy (losses, a binding gain
budget, a wash lockout); the convex envelope against the greatest convex minorant.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.policy import conic
from driftwise.policy.optimize import solve_taxed, with_tax
from driftwise.policy.solver import RowProblem, solve_row
from driftwise.policy.tax_gate import TaxLots, TaxSettings, optimizer_terms
from driftwise.policy.tax_terms import convex_envelope, tax_terms
from driftwise.tax.lots import Relief, TaxRates, is_long_term, lot_tax, relief_order, relieve

DAY = np.datetime64("2024-06-28", "D")
RATES = TaxRates(0.37, 0.20, None, 0.0, 0.038)
NAV = 1e6


def _row(seed: int, n: int) -> RowProblem:
    """A long-only row with a full covariance and square-root impact."""
    rng = np.random.default_rng(seed)
    target = rng.dirichlet(np.ones(n)) * 0.97
    weights = np.clip(target + rng.normal(0, 0.04, n), 0.005, None)
    weights *= 0.98 / weights.sum()
    return RowProblem(
        drift=weights - target, weights=weights, cash=1.0 - weights.sum(),
        factor=rng.normal(size=(n, n)) * 0.06, factor_diag=np.zeros(n),
        linear=rng.uniform(2e-4, 1e-3, n), powers=((rng.uniform(0.0, 5e-3, n), 1.5),),
        borrow=np.zeros(n), lower=-weights, upper=np.ones(n) - weights, cash_floor=0.0,
        max_traded=2.0, groups=np.zeros((0, n)), group_deviation=0.0,
        gamma=float(rng.choice([2.0, 20.0])), gamma_trade=float(rng.choice([1.0, 3.0])))


def _lots(seed: int, prob: RowProblem, prices: np.ndarray, losses: bool) -> TaxLots:
    """Two or three lots per asset covering its weight: gains (basis 20-95% of value),
    losses (basis up to 160%) when asked, long- and short-term."""
    rng = np.random.default_rng(seed + 1)
    asset, shares, basis, acquired = [], [], [], []
    for i, w in enumerate(prob.weights):
        k = int(rng.integers(2, 4))
        split = rng.dirichlet(np.ones(k)) * w * NAV / prices[i]
        for sh in split:
            multiple = rng.uniform(0.2, 1.6 if losses else 0.95)
            asset.append(i)
            shares.append(sh)
            basis.append(sh * prices[i] * multiple)
            acquired.append(DAY - np.timedelta64(int(rng.integers(40, 2000)), "D"))
    return TaxLots(np.asarray(asset, np.intp), np.asarray(shares), np.asarray(basis),
                   np.asarray(acquired, "datetime64[D]"),
                   tuple(f"L{j}" for j in range(len(asset))))


def _terms(lots: TaxLots, prices: np.ndarray, relief: Relief, n: int, **kw: object):
    tax = TaxSettings(rates=RATES, relief=relief, **kw)  # type: ignore[arg-type]
    orders = {}
    for i in range(n):
        mine = np.flatnonzero(lots.asset == i)
        orders[i] = mine[relief_order(lots.shares[mine], lots.basis_usd[mine],
                                      lots.acquired[mine], prices[i], DAY, relief, RATES)]
    long_term = is_long_term(lots.acquired, DAY, RATES)
    return optimizer_terms(lots, tax, orders, prices, long_term, DAY, n), orders, long_term


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), losses=st.booleans())
def test_solver_tax_equals_the_tax_model(seed: int, losses: bool) -> None:
    """Minimum-tax relief: the solver's tax of its trades equals the tax model's tax of
    the same sales relieved from the lots (``relieve``, ``lot_tax``), and a loop over the
    lots by hand (tax per share ascending, each taken whole until the sale is done), a
    loss lot's tax weighed at what a realized loss is worth (the harvest value: ``r_now − r_lt
    (1 + ρ)^−T`` per USD of loss, ρ = 5%, T = 10 years) instead of ``r_now``. Where the
    weighed rates fall along the relief order the solver weighs the order's convex
    envelope, at most the tax."""
    later = 1.05 ** -10.0
    r_lt = RATES.long_term + RATES.niit
    n = 5
    prob = _row(seed, n)
    prices = np.random.default_rng(seed).uniform(20.0, 200.0, n)
    lots = _lots(seed, prob, prices, losses)
    terms, orders, long_term = _terms(lots, prices, Relief.MIN_TAX, n)
    solved, z, status, _ = solve_taxed(prob, terms, NAV, 1.0)
    assert z is not None, status
    z = np.where(np.abs(z) > 1e-7, z, 0.0)
    solver_tax = solved.trade_tax(z) * NAV
    model, by_hand = np.zeros(n), np.zeros(n)
    for i in range(n):
        sold = max(-z[i], 0.0) * NAV / prices[i]
        taken = relieve(lots.shares, orders[i], sold)
        gain, tax = lot_tax(taken, lots.shares, lots.basis_usd, prices[lots.asset],
                            long_term, RATES)
        model[i] = (tax - np.where(gain < 0.0, r_lt * later * gain, 0.0)).sum()
        left = sold
        mine = [int(j) for j in np.flatnonzero(lots.asset == i)]
        rate = {j: (RATES.long_term + RATES.niit if long_term[j] else RATES.short_term
                    + RATES.niit) for j in mine}
        for j in sorted(mine, key=lambda j: rate[j] * (prices[i] - lots.basis_usd[j]
                                                        / lots.shares[j])):
            take = min(left, lots.shares[j])
            left -= take
            per_share = prices[i] - lots.basis_usd[j] / lots.shares[j]
            weighed = rate[j] - (r_lt * later if per_share < 0.0 else 0.0)
            by_hand[i] += weighed * take * per_share
    exact = ~terms.envelope
    np.testing.assert_allclose(solver_tax[exact], model[exact], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(solver_tax[exact], by_hand[exact], rtol=1e-9, atol=1e-6)
    assert np.all(solver_tax[~exact] <= by_hand[~exact] + 1e-6)


def _objective(prob: RowProblem, z: np.ndarray) -> float:
    """The stated objective recomputed from its definition (tax by segments in order)."""
    d = prob.drift + z
    cov = prob.factor.T @ prob.factor + np.diag(prob.factor_diag**2)
    a = np.abs(z)
    cost = prob.linear @ a + sum(c @ a**p for c, p in prob.powers)
    left = np.maximum(-z, 0.0)
    tax = 0.0
    for k, i in enumerate(prob.tax_asset):
        take = min(left[i], prob.tax_cap[k])
        left[i] -= take
        tax += prob.tax_rate[k] * take
    return float(0.5 * prob.gamma * d @ cov @ d + prob.gamma_trade * cost
                 + prob.gamma_tax * tax)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), relief=st.sampled_from([Relief.MIN_TAX, Relief.HIFO,
                                                             Relief.FIFO]),
       budget=st.sampled_from([None, 0.0, 2_000.0]), lockout=st.booleans(),
       weight=st.sampled_from([1.0, 0.3]))
def test_hand_built_equals_cvxpy_with_lots(seed: int, relief: Relief, budget: float | None,
                                           lockout: bool, weight: float) -> None:
    """With loss and gain lots, a gain budget that may bind and a wash lockout (asset 0
    may not be bought): the hand-built conic data and the cvxpy statement reach the same
    objective (relative 1e-6: both stop at Clarabel's gap of 1e-11 on an objective of
    order 1e-4, so 1e-6 leaves room for the stated problem's different scaling) and the
    same trades to 1e-5 of NAV (the objective is strictly convex in z: a full-rank Σ)."""
    n = 6
    prob = _row(seed, n)
    if lockout:
        prob = replace(prob, upper=np.where(np.arange(n) == 0, 0.0, prob.upper))
    prices = np.random.default_rng(seed).uniform(20.0, 200.0, n)
    lots = _lots(seed, prob, prices, True)
    room = {} if budget is None else {"gain_budget_usd": budget}
    terms, _, _ = _terms(lots, prices, relief, n, **room)
    taxed = with_tax(prob, terms, NAV, weight)
    mine, status = conic.solve_conic(taxed, long_only=True)
    problem, z, _ = conic.reference_problem(taxed, long_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem.solve(solver="CLARABEL", **conic.TOLERANCES)
    assert mine is not None, status
    ref = np.asarray(z.value)
    assert _objective(taxed, mine) == pytest.approx(_objective(taxed, ref), rel=1e-6,
                                                    abs=1e-9)
    np.testing.assert_allclose(mine, ref, atol=1e-5)
    tol = 1e-7
    assert np.all(mine <= taxed.upper + tol) and np.all(mine >= taxed.lower - tol)
    if budget is not None:
        assert taxed.realized_gain(mine) <= budget / NAV + tol
    assert np.all(mine[taxed.tax_exact] <= tol)  # a loss asset is not bought


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), weight=st.sampled_from([1.0, 0.5, 2.0]),
       losses=st.booleans())
def test_tax_aware_is_no_worse_than_the_tax_blind_trades(seed: int, weight: float,
                                                         losses: bool) -> None:
    """The tax-aware answer's objective, tax counted, is at most that of the tax-blind
    answer evaluated with the same tax (each sale's tax from its lots, a buy untaxed).
    Gain lots only, the problem is convex and this is its optimality; with loss lots the
    choice of each loss asset's side is not a convex step, and the property says the
    choice never does worse than the tax-blind trades (150 draws checked beside these)."""
    n = 5
    prob = _row(seed, n)
    prices = np.random.default_rng(seed).uniform(20.0, 200.0, n)
    lots = _lots(seed, prob, prices, losses)
    terms, _, _ = _terms(lots, prices, Relief.MIN_TAX, n)
    _, aware, _, _ = solve_taxed(prob, terms, NAV, weight)
    blind, _ = solve_row(prob, long_only=True)
    assert aware is not None and blind is not None
    # every loss asset on its sell side only bounds z; its objective holds any trade's tax
    judge = replace(with_tax(prob, terms, NAV, weight), lower=prob.lower, upper=prob.upper)
    assert judge.objective(aware) <= judge.objective(blind) + 1e-9
    if not losses:
        # tax_a + rc_a <= tax_b + rc_b and rc_b <= rc_a (the blind optimum): tax_a <= tax_b,
        # to the trades' accuracy (1e-8 of NAV) times a rate
        assert judge.trade_tax(aware).sum() <= judge.trade_tax(blind).sum() + 1e-8


def test_the_envelope_is_the_greatest_convex_minorant() -> None:
    """Pieces whose rates fall are pooled at their value-weighted rate; the cumulative tax
    of the pooled pieces lies below the given one and equals it at the pooled ends."""
    value = np.array([10.0, 30.0, 20.0, 40.0])
    rate = np.array([0.05, 0.20, 0.02, 0.10])  # an ST lot before cheaper LT lots (FIFO)
    v, r, g, groups = convex_envelope(value, rate, rate / 0.2)
    assert groups == [[0], [1, 2, 3]]
    assert r[1] == pytest.approx((0.20 * 30 + 0.02 * 20 + 0.10 * 40) / 90)
    assert np.all(np.diff(r) >= 0.0)
    np.testing.assert_allclose(g, r / 0.2)  # the gains pooled alike
    xs = np.linspace(0.0, 100.0, 201)

    def cumulative(width: np.ndarray, slope: np.ndarray, x: float) -> float:
        edges = np.concatenate([[0.0], np.cumsum(width)])
        return float(np.sum(slope * np.clip(x - edges[:-1], 0.0, width)))
    for x in xs:
        assert cumulative(v, r, x) <= cumulative(value, rate, x) + 1e-12
    assert cumulative(v, r, 100.0) == pytest.approx(cumulative(value, rate, 100.0))
    terms = tax_terms({0: np.arange(4)}, value, rate / 0.2 * value,
                      np.full(4, 0.2), np.zeros(4, bool), 1)
    assert terms.envelope[0] and len(terms.asset) == 2


def test_washed_and_disallowed_loss_lots() -> None:
    """A loss lot with another lot of its asset bought within the window: not a piece
    (its sale would wash the loss), or a piece of tax 0 when wash sales are allowed."""
    lots = TaxLots(np.array([0, 0], np.intp), np.array([100.0, 100.0]),
                   np.array([15_000.0, 9_000.0]),
                   np.array([DAY - np.timedelta64(400, "D"), DAY - np.timedelta64(10, "D")]),
                   ("old", "new"))
    prices = np.array([100.0])
    long_term = is_long_term(lots.acquired, DAY, RATES)
    orders = {0: np.array([1])}  # the gate's order without the washed loss lot
    held = optimizer_terms(lots, TaxSettings(rates=RATES), orders, prices, long_term, DAY, 1)
    assert list(held.lots[0]) == [1] and held.rate[0] > 0.0
    allowed = optimizer_terms(lots, TaxSettings(rates=RATES, allow_wash_sales=True),
                              {0: np.array([0, 1])}, prices, long_term, DAY, 1)
    assert allowed.rate[0] == 0.0 and allowed.gain[0] == 0.0  # the disallowed loss


@pytest.mark.parametrize(("rho", "years", "exact"),
                         [(0.05, 10.0, True), (0.0, 10.0, True), (0.30, 40.0, False)])
def test_a_loss_lot_is_weighed_at_what_the_loss_is_worth(rho: float, years: float,
                                                         exact: bool) -> None:
    """A gain lot's piece is taxed at its all-in rate; a loss lot's at the rate arbitrage
    plus the deferral, ``r_now − r_lt (1 + ρ)^−T`` (the harvest value): with ρ = 0 a long-term loss
    is worth nothing (the whole saving comes back later) and a short-term one the rate
    difference; with a high ρ over long years nearly its face value. Recomputed by hand;
    where the weighed rates fall along the order, the pieces are their convex envelope."""
    prices = np.array([100.0])
    #          long-term gain, long-term loss, short-term loss; sold ST, LT, gain
    lots = TaxLots(np.zeros(3, np.intp), np.array([10.0, 10.0, 10.0]),
                   np.array([600.0, 1_500.0, 1_200.0]),
                   np.array([DAY - 800, DAY - 900, DAY - 100], dtype="datetime64[D]"),
                   ("G", "LT", "ST"))
    tax = TaxSettings(rates=RATES, relief=Relief.FIFO, harvest_discount_rate_annual=rho,
                      harvest_years_to_sale=years)
    long_term = is_long_term(lots.acquired, DAY, RATES)
    terms = optimizer_terms(lots, tax, {0: np.array([2, 1, 0])}, prices, long_term, DAY, 1)
    r_st, r_lt = RATES.short_term + RATES.niit, RATES.long_term + RATES.niit
    later = (1.0 + rho) ** -years
    # per USD sold: (1 − basis / value) times the weighed rate, in the order sold
    weighed = np.array([(r_st - r_lt * later) * -0.2, (r_lt - r_lt * later) * -0.5,
                        r_lt * 0.4])
    assert bool(terms.envelope[0]) is not exact
    if exact:
        np.testing.assert_allclose(terms.rate, weighed, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_allclose(terms.rate * terms.value_usd,
                                   [weighed[:2].sum() * 1_000.0, weighed[2] * 1_000.0],
                                   rtol=1e-12)
    if rho == 0.0:
        assert weighed[1] == pytest.approx(0.0, abs=1e-15)
