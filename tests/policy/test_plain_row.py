"""The compiled plain row (``activeset._kernels.plain_row``) against the numpy path it
replaces in :func:`driftwise.policy.optimize.optimize_rows`: the row's numbers to the bit,
its answer to the bit, its gradient to a stated tolerance.

The numpy path is the one ``optimize_rows`` takes without the kernel (a row with tax,
groups or factor rows, a row with shorts, the Python mode of the kernels): ``bounds``,
``cost_terms``, ``RowProblem.zero_is_optimal``, ``warm_solve`` and the answer's
``trade_cost`` and ``risk_gradient``.

The gradient ``γ (F'(F d) + D² d)`` goes through BLAS in both (numpy's ``@``, numba's
``np.dot``), which are not bound to the same summation order: it is held to 1e-12 of its
largest entry. That tolerance cannot change an answer: the screen compares the gradient
with ``γ_trade κ`` given a relative slack of 1e-12, and a row it would call by a rounding
the other way is one whose optimum is ``z = 0`` within that slack, which the active set
then returns (the answers are compared to the bit below, over rows at and near the no-trade
region's edge).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise import _jit
from driftwise.costs import RowCosts
from driftwise.costs.model import CostTable
from driftwise.policy import optimize as opt
from driftwise.policy.activeset import _kernels as ak
from driftwise.policy.constraints import Constraints
from driftwise.policy.solver import BOUND

pytestmark = pytest.mark.skipif(_jit.mode() != "compiled",
                                reason="the plain row is the compiled mode's path")

POWER_SETS = [(), (1.5,), (1.6, 2.0), (0.5, 1.5)]


def _table(rng: np.random.Generator, n: int, powers: tuple[float, ...], n_sets: int,
           zero_term: bool) -> CostTable:
    k = max(len(powers), 1)
    coef = np.zeros((n_sets, k, n))
    power = np.ones((n_sets, k))
    for p in range(n_sets):
        for j, exponent in enumerate(powers):
            coef[p, j] = rng.uniform(0.0, 1e-5, n)
            power[p, j] = exponent
        if zero_term and powers:
            coef[p, 0] = 0.0  # a term without a coefficient: left out of the problem
    return CostTable(
        spread_frac=rng.uniform(1e-5, 1e-3, (n_sets, n)),
        commission_frac=rng.uniform(0.0, 1e-4, (n_sets, n)),
        min_ticket_usd=np.zeros((n_sets, n)),
        flat_frac=rng.uniform(0.0, 1e-4, (n_sets, n)),
        flat_by_regime=rng.random(n_sets) < 0.5, impact_coef=coef, impact_power=power)


def _case(seed: int, n: int, n_rows: int, powers: tuple[float, ...], masks: bool,
          zero_term: bool, scale: float, factor_model: bool
          ) -> tuple[dict[str, object], opt.OptimizerSettings]:
    rng = np.random.default_rng(seed)
    target = rng.dirichlet(np.ones(n), n_rows) * 0.97
    weights = np.clip(target + rng.normal(0.0, scale, (n_rows, n)), 0.0, None)
    weights *= 0.98 / weights.sum(axis=1, keepdims=True)
    if masks:
        weights[:, 0] = 0.0  # an asset not held: its lower bound -0.0
    n_sets = 3
    table = _table(rng, n, powers, n_sets, zero_term)
    costs = RowCosts(table, rng.integers(0, n_sets, n_rows).astype(np.intp),
                     rng.uniform(0.8, 2.0, n_rows))
    x = rng.normal(size=(n + 5, n)) * 0.2
    cov = x.T @ x / (n + 5) + np.diag(rng.uniform(0.0, 0.01, n))
    if factor_model:  # as above EXACT_RISK_ASSETS: the vol-only form, D alone
        cov_arg, vol = None, np.sqrt(np.diag(cov))
    else:
        cov_arg, vol = cov, None

    def mask(p: float) -> np.ndarray:
        return (rng.random((n_rows, n)) < p) if masks else np.zeros((n_rows, n), dtype=bool)
    args: dict[str, object] = dict(
        weights=weights, cash_weight=1.0 - weights.sum(axis=1), target=target,
        nav_usd=rng.uniform(1e5, 1e9, n_rows), active=np.ones(n_rows, dtype=bool),
        tradable=~mask(0.15), no_buy=mask(0.15), no_sell=mask(0.15), cost_fn=costs,
        constraints=Constraints(cash_buffer=float(rng.choice([0.0, 0.01]))),
        cov_annual=cov_arg, vol_annual=vol)
    gamma = rng.choice([1.0, 2.0, 20.0], n_rows)
    gamma_trade = rng.choice([0.5, 1.0, 5.0, np.nan], n_rows)  # NaN: "auto"
    return args, opt.OptimizerSettings(gamma=gamma, gamma_trade=gamma_trade,
                                       max_weight=float(rng.choice([1.0, 0.3])))


def _solve(args: dict[str, object], settings_: opt.OptimizerSettings, kernel: bool,
           monkeypatch: pytest.MonkeyPatch) -> opt.Optimized:
    with monkeypatch.context() as m:
        if not kernel:
            m.setattr(opt._PlainRows, "of", classmethod(lambda cls, *a, **k: None))
        return opt.optimize_rows(settings=settings_, **args)  # type: ignore[arg-type]


def _assert_same(a: opt.Optimized, b: opt.Optimized) -> None:
    for name in ("trade", "destination", "traded", "cost_fraction", "marginal_cost",
                 "failed", "screened"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.status == b.status
    assert a.gradient is not None and b.gradient is not None
    scale = max(float(np.abs(b.gradient).max()), 1e-300)
    np.testing.assert_allclose(a.gradient, b.gradient, rtol=0.0, atol=1e-12 * scale)
    np.testing.assert_allclose(a.marginal_benefit, b.marginal_benefit, rtol=0.0,
                               atol=1e-12 * scale)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.sampled_from([2, 5, 12, 30, 70]),
       n_rows=st.sampled_from([1, 3]), powers=st.sampled_from(POWER_SETS),
       masks=st.booleans(), zero_term=st.booleans(),
       scale=st.sampled_from([0.0005, 0.005, 0.05]), factor_model=st.booleans())
def test_plain_row_answers_as_the_numpy_path(seed: int, n: int, n_rows: int,
                                             powers: tuple[float, ...], masks: bool,
                                             zero_term: bool, scale: float,
                                             factor_model: bool) -> None:
    """Random rows (bounds from every restriction, cost sets and regimes, impact terms with
    a zero coefficient, rows inside and outside the no-trade region), each solved twice in
    a row: cold, then from the first answer's active set on a drifted book (the backtest's
    next day), the warm dictionaries kept apart. Trades, destination, cost, status and
    marginal cost equal to the bit; the gradient to 1e-12 of its largest entry."""
    mp = pytest.MonkeyPatch()
    args, settings_ = _case(seed, n, n_rows, powers, masks, zero_term, scale, factor_model)
    fast, slow = settings_, opt.OptimizerSettings(
        gamma=settings_.gamma, gamma_trade=settings_.gamma_trade,
        max_weight=settings_.max_weight)
    _assert_same(_solve(args, fast, True, mp), _solve(args, slow, False, mp))
    rng = np.random.default_rng(seed + 1)
    weights = np.clip(np.asarray(args["weights"]) * rng.uniform(0.97, 1.03, (n_rows, n)),
                      0.0, None)
    weights *= 0.98 / weights.sum(axis=1, keepdims=True)
    nxt = dict(args, weights=weights, cash_weight=1.0 - weights.sum(axis=1))
    _assert_same(_solve(nxt, fast, True, mp), _solve(nxt, slow, False, mp))
    assert fast.warm.keys() == slow.warm.keys()
    for key, value in slow.warm.items():
        np.testing.assert_array_equal(fast.warm[key], value)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.sampled_from([1, 4, 17]),
       powers=st.sampled_from(POWER_SETS), masks=st.booleans(), zero_term=st.booleans(),
       max_weight=st.sampled_from([1.0, 0.2, 0.05]))
def test_plain_row_terms_equal_bounds_and_cost_terms(seed: int, n: int,
                                                     powers: tuple[float, ...],
                                                     masks: bool, zero_term: bool,
                                                     max_weight: float) -> None:
    """The row's numbers (drift, bounds, κ, the impact terms kept) equal ``bounds`` and
    ``cost_terms`` to the bit, signed zeros included."""
    rng = np.random.default_rng(seed)
    n_rows = 2
    weights = rng.uniform(0.0, 0.3, (n_rows, n))
    weights[rng.random((n_rows, n)) < 0.3] = 0.0
    target = rng.uniform(0.0, 0.3, (n_rows, n))
    tradable = rng.random((n_rows, n)) > (0.3 if masks else 0.0)
    no_buy = rng.random((n_rows, n)) < (0.3 if masks else 0.0)
    no_sell = rng.random((n_rows, n)) < (0.3 if masks else 0.0)
    table = _table(rng, n, powers, 2, zero_term)
    which = rng.integers(0, 2, n_rows).astype(np.intp)
    mult = rng.uniform(0.8, 2.0, n_rows)
    costs = RowCosts(table, which, mult)
    k = table.impact_power.shape[1]
    for r in range(n_rows):
        nav = float(rng.uniform(1e5, 1e9))
        drift, lower, upper, linear = (np.empty(n) for _ in range(4))
        coefs, pw = np.empty((k, n)), np.empty(k)
        n_terms = ak.plain_row_terms(r, weights, target, tradable, no_buy, no_sell,
                                     max_weight, BOUND, which, mult, table.kernel_table,
                                     nav, drift, lower, upper, linear, coefs, pw)
        lo, hi = opt.bounds(weights[r], tradable[r], no_buy[r], no_sell[r], True, max_weight)
        lin, terms = opt.cost_terms(costs, r, nav)
        assert lower.tobytes() == lo.tobytes() and upper.tobytes() == hi.tobytes()
        assert drift.tobytes() == (weights[r] - target[r]).tobytes()
        assert linear.tobytes() == lin.tobytes()
        assert n_terms == len(terms)
        for j, (c, p) in enumerate(terms):
            assert coefs[j].tobytes() == c.tobytes() and pw[j] == p


def test_a_row_the_active_set_cannot_settle_goes_to_the_interior_point(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a guess the kernel answers COLD and writes nothing; ``optimize_rows`` then
    solves the row with Clarabel, as the numpy path does (same answer to the bit)."""
    args, settings_ = _case(11, 8, 1, (1.5,), False, False, 0.05, False)
    settings_ = opt.OptimizerSettings(gamma=2.0, gamma_trade=1.0)
    seen: list[int] = []
    kernel = ak.plain_row

    def spy(*a: object) -> tuple[int, int, float]:
        out = kernel(*a)
        seen.append(out[0])
        return out
    monkeypatch.setattr(ak, "plain_row", spy)
    fast = _solve(args, settings_, True, monkeypatch)
    slow = _solve(args, opt.OptimizerSettings(gamma=2.0, gamma_trade=1.0), False, monkeypatch)
    assert seen == [ak.COLD]
    assert fast.status == ("optimal",) and fast.trade.any()
    _assert_same(fast, slow)
    # the next day starts from that answer: the kernel settles it
    fast2 = _solve(args, settings_, True, monkeypatch)
    assert seen == [ak.COLD, ak.WARM]
    np.testing.assert_allclose(fast2.trade, fast.trade, rtol=0.0, atol=1e-8)
