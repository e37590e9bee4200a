"""The optimized destination: closed forms, KKT, the cost model's cost, the constraints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.costs import AssetCostInputs, CostParams, RowCosts, cost_coefficients, trade_costs
from driftwise.costs.params import ImpactModel
from driftwise.flags import Flag
from driftwise.policy import conic
from driftwise.policy import optimize as opt
from driftwise.policy.constraints import Constraints
from driftwise.policy.optimize import OptimizerSettings, optimize_rows
from driftwise.policy.sizing import size_trades
from driftwise.policy.solver import RowProblem

N = 5
VOL = np.array([0.20, 0.30, 0.25, 0.15, 0.40])


def _cov(seed: int = 0, n: int = N) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3 * n, n)) * 0.015
    return np.asarray(a.T @ a / (3 * n) * 252, dtype=np.float64)


def _solve(weights: np.ndarray, target: np.ndarray, cost_fn: RowCosts, *, cash: float = 0.0,
           nav: float = 1e6, vol: np.ndarray | None = None, cov: np.ndarray | None = None,
           constraints: Constraints | None = None, settings: OptimizerSettings | None = None,
           no_buy: np.ndarray | None = None, no_sell: np.ndarray | None = None,
           groups: np.ndarray | None = None, borrow: np.ndarray | None = None
           ) -> opt.Optimized:
    n = weights.shape[0]
    none = np.zeros((1, n), dtype=bool)
    return optimize_rows(
        weights=weights[None, :], cash_weight=np.array([cash]), target=target[None, :],
        nav_usd=np.array([nav]), active=np.array([True]), tradable=np.ones((1, n), dtype=bool),
        no_buy=none if no_buy is None else no_buy[None, :],
        no_sell=none if no_sell is None else no_sell[None, :], cost_fn=cost_fn,
        constraints=constraints or Constraints(), settings=settings or OptimizerSettings(),
        cov_annual=cov, vol_annual=vol, borrow_bps_annual=borrow, groups=groups)


def _row(weights: np.ndarray, target: np.ndarray, cost_fn: RowCosts, nav: float) -> RowProblem:
    """The row problem ``_solve`` builds with ``cov=_cov(5)``, cash 0.05, γ = 20."""
    factor, diag = opt.risk_factor(_cov(5), None, N)
    linear, powers = opt.cost_terms(cost_fn, 0, nav)
    lo, hi = opt.bounds(weights, np.ones(N, bool), np.zeros(N, bool), np.zeros(N, bool),
                        True, 1.0)
    return RowProblem(drift=weights - target, weights=weights, cash=0.05, factor=factor,
                      factor_diag=diag, linear=linear, powers=powers, borrow=np.zeros(N),
                      lower=lo, upper=hi, cash_floor=0.0, max_traded=2.0,
                      groups=np.zeros((0, N)), group_deviation=0.0, gamma=20.0,
                      gamma_trade=opt.DEFAULT_GAMMA_TRADE)


# ------------------------------------------------------------------ closed forms


@pytest.mark.parametrize("gamma_trade", [1.0, 5.0])
def test_diagonal_linear_cost_band_is_the_closed_form(gamma_trade: float) -> None:
    """Diagonal Σ, linear cost κ, ample cash: each asset moves to the edge of its no-trade
    band ``|w − t| <= γ_trade κ / (γ σ²)`` when outside it, and stays when inside."""
    kappa, gamma = 0.002, 2.0
    target = np.array([0.15, 0.15, 0.15, 0.15, 0.15])
    weights = np.array([0.19, 0.14, 0.10, 0.155, 0.21])
    result = _solve(weights, target, RowCosts.simple(N, rate=kappa), cash=0.25, vol=VOL,
                    settings=OptimizerSettings(gamma=gamma, gamma_trade=gamma_trade))
    band = gamma_trade * kappa / (gamma * VOL**2)
    d = weights - target
    expected = target + np.sign(d) * np.minimum(np.abs(d), band)
    np.testing.assert_allclose(weights + result.trade[0], expected, atol=2e-7)
    inside = np.abs(d) <= band
    assert not result.traded[0][inside].any()
    assert result.traded[0][~inside].all()
    # the plan's explanation: inside the region, the first dollar's benefit <= its cost
    assert np.all(result.marginal_benefit[0][inside]
                  <= result.marginal_cost[0][inside] * (1 + 1e-9))


def test_inside_the_region_no_solver_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    """All assets inside their band: the KKT screen answers, the solver is never built."""
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("solver called")
    monkeypatch.setattr(opt, "solve_row", boom)
    target = np.full(N, 0.2)
    weights = target + np.array([0.001, -0.001, 0.0005, 0.0, -0.0005])
    result = _solve(weights, target, RowCosts.simple(N, rate=0.002), vol=VOL)
    assert result.screened[0] and not result.traded.any()
    assert result.status == ("no trade",)


def test_free_trading_goes_to_target() -> None:
    """No cost at all and ample cash: the optimum is the target (γ_trade irrelevant)."""
    target = np.array([0.1, 0.2, 0.3, 0.1, 0.2])
    weights = np.array([0.15, 0.15, 0.25, 0.15, 0.2])
    result = _solve(weights, target, RowCosts.simple(N, rate=0.0), cov=_cov(), cash=0.1)
    np.testing.assert_allclose(weights + result.trade[0], target, atol=1e-6)


# ------------------------------------------------------------------ KKT


def test_kkt_at_the_solution_full_covariance_and_impact() -> None:
    """Stationarity of ``γ Σ (w − t) + γ_trade ∂cost``: a traded asset's risk gradient
    equals minus its marginal cost (linear plus 3/2-power impact), an untraded one's is
    within ± κ γ_trade (constraints slack: cash ample, long-only not binding)."""
    cov = _cov(3)
    gamma, gamma_trade, kappa = 2.0, 3.0, 0.0015
    cost_fn = RowCosts.simple(N, rate=kappa, terms=[(4e-5, 1.5)])
    target = np.full(N, 0.18)
    weights = np.array([0.25, 0.12, 0.20, 0.13, 0.19])
    nav = 1e6
    result = _solve(weights, target, cost_fn, cash=0.3, nav=nav, cov=cov,
                    settings=OptimizerSettings(gamma=gamma, gamma_trade=gamma_trade))
    z = result.trade[0]
    assert result.traded[0].any() and not result.traded[0].all()
    grad = gamma * cov @ (weights + z - target)
    impact = 4e-5 * nav**0.5  # fraction-of-NAV coefficient of |z|^1.5
    traded = z != 0.0
    marginal = kappa + 1.5 * impact * np.abs(z) ** 0.5
    np.testing.assert_allclose(grad[traded], -gamma_trade * marginal[traded] * np.sign(z[traded]),
                               atol=1e-6)
    assert np.all(np.abs(grad[~traded]) <= gamma_trade * kappa + 1e-6)


# ------------------------------------------------------------------ the cost model


def _inputs(n: int = N) -> AssetCostInputs:
    rng = np.random.default_rng(11)
    return AssetCostInputs(
        price_usd=rng.uniform(20, 200, n), half_spread_bps=rng.uniform(1, 10, n),
        commission_bps=np.full(n, 1.0), commission_per_share_usd=np.full(n, 0.005),
        min_ticket_usd=np.zeros(n), sigma_daily=rng.uniform(0.01, 0.03, n),
        adv_shares=rng.uniform(2e5, 5e6, n), borrow_bps_annual=rng.uniform(20, 300, n),
        outstanding_over_adv=rng.uniform(50, 300, n))


@pytest.mark.parametrize("model", list(ImpactModel))
@pytest.mark.parametrize("vix", [15.0, 25.0, 40.0])
def test_solver_cost_equals_the_cost_model(model: ImpactModel, vix: float) -> None:
    """The cost the solver minimized (its cvxpy expression at its solution) and the row
    problem's own evaluation equal ``trade_costs`` of the same trades to 1e-9 relative:
    square root as the 3/2 power, the 3/5-power model as its own powers, VIX regime."""
    inputs = _inputs()
    params = CostParams(impact_model=model)
    nav = 2e7
    cost_fn = RowCosts.of(cost_coefficients(inputs, params, vix), 1, N)
    target = np.full(N, 0.19)
    weights = np.array([0.27, 0.10, 0.22, 0.14, 0.22])
    result = _solve(weights, target, cost_fn, cash=0.05, nav=nav, cov=_cov(5),
                    settings=OptimizerSettings(gamma=20.0))
    z = result.trade[0]
    assert result.traded[0].sum() >= 3
    model_usd = trade_costs(z * nav, inputs, params, vix).trading_usd.sum()
    assert result.cost_fraction[0] * nav == pytest.approx(model_usd, rel=1e-9)
    # the cost term of the problem as stated (cvxpy) at the same trades
    _, var, expression = conic.reference_problem(_row(weights, target, cost_fn, nav),
                                                 long_only=True)
    var.value = z
    assert float(expression.value) * nav == pytest.approx(model_usd, rel=1e-9)
    # and the cost coefficients of the hand-built conic data at the same trades
    row = _row(weights, target, cost_fn, nav)
    lay = conic.layout_of(row, True)
    _, q, _, _, _ = conic.conic_data(row, lay)
    x = np.zeros(lay.n_vars)
    x[:N], x[N:2 * N] = z, np.abs(z)
    for j, (_, power) in enumerate(row.powers):
        x[lay.t(j):lay.t(j) + N] = np.abs(z) ** power
    assert float(q[N:lay.y] @ x[N:lay.y]) * nav == pytest.approx(model_usd, rel=1e-9)


def test_borrow_of_the_added_short_equals_the_cost_model() -> None:
    """Shorts allowed: the solver's borrow term is ``trade_costs``' borrow of the short
    the trade opens or increases over the horizon."""
    inputs = _inputs()
    params = CostParams()
    nav, horizon = 1e7, 126.0
    cost_fn = RowCosts.of(cost_coefficients(inputs, params, None), 1, N)
    target = np.array([0.3, 0.3, 0.3, 0.2, -0.1])
    weights = np.array([0.3, 0.3, 0.3, 0.15, -0.05])
    row = RowProblem(
        drift=weights - target, weights=weights, cash=0.0, factor=np.zeros((0, N)),
        factor_diag=VOL, linear=opt.cost_terms(cost_fn, 0, nav)[0],
        powers=opt.cost_terms(cost_fn, 0, nav)[1],
        borrow=inputs.borrow_bps_annual / 1e4 * horizon / 252, lower=np.full(N, -1.0),
        upper=np.full(N, 1.0), cash_floor=0.0, max_traded=2.0, groups=np.zeros((0, N)),
        group_deviation=0.0, gamma=2.0, gamma_trade=1.0)
    z = np.array([0.0, 0.01, -0.02, 0.05, -0.04])
    before = weights * nav
    split = trade_costs(z * nav, inputs, params, None, position_before_usd=before,
                        position_after_usd=before + z * nav, holding_days=horizon)
    assert row.trade_cost(z).sum() * nav == pytest.approx(split.total_usd.sum(), rel=1e-9)


# ------------------------------------------------------------------ constraints


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), long_only=st.booleans(), turnover=st.sampled_from(
    [1.0, 0.02]), max_weight=st.sampled_from([1.0, 0.24]), buffer=st.sampled_from([0.0, 0.03]),
    group_dev=st.sampled_from([None, 0.01]))
def test_constraints_hold(seed: int, long_only: bool, turnover: float, max_weight: float,
                          buffer: float, group_dev: float | None) -> None:
    rng = np.random.default_rng(seed)
    n = 6
    target = rng.dirichlet(np.full(n, 4.0)) * 0.95
    weights = np.clip(target + rng.normal(0, 0.04, n), 0.0, None) * 0.9
    if not long_only:
        weights[0] = -0.02
    cash = 1.0 - weights.sum()
    no_buy = rng.random(n) < 0.2
    no_sell = ~no_buy & (rng.random(n) < 0.2)
    groups = np.array([0, 0, 1, 1, 2, -1])
    result = _solve(weights, target, RowCosts.simple(n, rate=0.0005, terms=[(2e-5, 1.5)]),
                    cash=cash, cov=_cov(seed % 7, n), groups=groups,
                    constraints=Constraints(long_only=long_only, cash_buffer=buffer,
                                            max_turnover=turnover),
                    settings=OptimizerSettings(gamma=50.0, max_weight=max_weight,
                                               group_deviation=group_dev),
                    no_buy=no_buy, no_sell=no_sell, borrow=np.full(n, 50.0))
    if result.failed[0]:  # an infeasible mandate: flagged fallback, nothing to check here
        assert result.status[0] not in ("optimal", "no trade")
        return
    z = result.trade[0]
    w = weights + z
    tol = 1e-6
    assert np.all(z[no_buy] <= tol) and np.all(z[no_sell] >= -tol)
    if long_only:
        assert np.all(w >= -tol)
    assert np.all(w[z > tol] <= max_weight + tol)
    assert 0.5 * np.abs(z).sum() <= turnover + tol
    assert cash - z.sum() - result.cost_fraction[0] >= buffer - tol
    if group_dev is not None and not result.screened[0]:
        for g in range(3):
            dev = abs((w - target)[groups == g].sum())
            before = abs((weights - target)[groups == g].sum())
            assert dev <= max(group_dev, before) + tol


# ------------------------------------------------------------------ through sizing


def test_sizing_lands_on_the_solver_trades_then_rounds() -> None:
    """Steps 2-7 after the solve: fractional shares land on the solver's trades; whole
    shares round them (the effect is the difference, reported by the plan)."""
    target = np.full(N, 0.2)
    weights = np.array([[0.25, 0.15, 0.2, 0.22, 0.18]])
    cost_fn = RowCosts.simple(N, rate=0.001, terms=[(1e-5, 1.5)])
    kw = {"weights": weights, "cash_weight": np.array([0.0]), "target": target,
          "target_cash": 0.0, "nav_usd": np.array([1e6]), "prices_usd": np.full(N, 37.0),
          "active": np.array([True]), "destination": "optimized", "cost_fn": cost_fn,
          "vol_annual": VOL, "optimizer": OptimizerSettings(gamma_trade=1.0)}
    exact = size_trades(constraints=Constraints(), **kw)  # type: ignore[arg-type]
    assert exact.optimized is not None
    # landing after costs moves them by a second-order amount (the cost of the landed
    # trades, not of the solver's): 1e-8 of NAV
    np.testing.assert_allclose(exact.trade_usd, exact.optimized.trade * 1e6, atol=1e-2)
    whole = size_trades(constraints=Constraints(whole_shares=True), **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(whole.trade_shares, np.rint(whole.trade_shares))
    # toward zero, and a buy may lose one more share to keep cash >= 0 after costs
    assert np.all(np.abs(whole.trade_usd - exact.trade_usd) < 2 * 37.0)


def test_solver_failure_falls_back_to_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(conic.TOLERANCES, "no_such_setting", 1.0)  # Clarabel refuses it
    target = np.full(N, 0.2)
    weights = np.array([[0.3, 0.1, 0.2, 0.22, 0.18]])
    sized = size_trades(weights=weights, cash_weight=np.array([0.0]), target=target,
                        target_cash=0.0, nav_usd=np.array([1e6]), prices_usd=np.full(N, 50.0),
                        active=np.array([True]), destination="optimized",
                        cost_fn=RowCosts.simple(N, rate=0.001), constraints=Constraints(),
                        vol_annual=VOL)
    assert sized.optimized is not None and sized.optimized.failed[0]
    assert sized.optimized.status[0].startswith("solver error")
    full = size_trades(weights=weights, cash_weight=np.array([0.0]), target=target,
                       target_cash=0.0, nav_usd=np.array([1e6]), prices_usd=np.full(N, 50.0),
                       active=np.array([True]), destination="full",
                       cost_fn=RowCosts.simple(N, rate=0.001), constraints=Constraints())
    np.testing.assert_allclose(sized.trade_usd, full.trade_usd, rtol=1e-12)
    assert Flag.OPTIMIZER_FALLBACK.value == "optimizer fallback"


def test_settings_are_validated() -> None:
    from driftwise.errors import ConfigError
    with pytest.raises(ConfigError, match="gamma_trade"):
        OptimizerSettings(gamma_trade=0.0)
    with pytest.raises(ConfigError, match="max_weight"):
        OptimizerSettings(max_weight=1.5)
    taken = OptimizerSettings(gamma=np.array([1.0, 2.0, 3.0])).take(np.array([2, 0]))
    np.testing.assert_array_equal(taken.gamma, [3.0, 1.0])


def test_large_problems_use_a_factor_model() -> None:
    """Above EXACT_RISK_ASSETS assets Σ is N_FACTORS components plus the residual
    diagonal: every asset's own variance is exact."""
    n = opt.EXACT_RISK_ASSETS + 10
    cov = _cov(1, n)
    factor, diag = opt.risk_factor(cov, None, n)
    assert factor.shape == (opt.N_FACTORS, n)
    np.testing.assert_allclose((factor**2).sum(axis=0) + diag**2, np.diag(cov), rtol=1e-10)
    small, none = opt.risk_factor(_cov(), None, N)
    np.testing.assert_allclose(small.T @ small, _cov(), atol=1e-12)
    assert not none.any()


def test_group_codes_of_the_master_labels() -> None:
    np.testing.assert_array_equal(opt.group_codes(["Tech", None, "Energy", float("nan"),
                                                   "Tech"]), [1, -1, 0, -1, 1])
    from driftwise.errors import ConfigError
    with pytest.raises(ConfigError, match="group_by"):
        OptimizerSettings(group_by="industry")  # type: ignore[arg-type]


def _bounds_every_step(weights: np.ndarray, tradable: np.ndarray, no_buy: np.ndarray,
                       no_sell: np.ndarray, long_only: bool, max_weight: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`driftwise.policy.optimize.bounds` with every step taken, none skipped."""
    lower = -weights if long_only else np.full(weights.shape, -opt.BOUND)
    upper = np.minimum(np.full(weights.shape, opt.BOUND), max_weight - weights)
    lower = np.minimum(lower, upper)
    upper = np.where(no_buy, np.minimum(upper, 0.0), upper)
    lower = np.minimum(lower, upper)
    lower = np.where(no_sell, np.maximum(lower, 0.0), lower)
    upper = np.maximum(upper, lower)
    return np.where(tradable, lower, 0.0), np.where(tradable, upper, 0.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.3, 0.6), st.booleans(), st.booleans(), st.booleans()),
                min_size=1, max_size=8),
       st.booleans(), st.floats(0.0, 1.0), st.sampled_from(["none", "some", "all"]))
def test_the_trade_bounds_skip_only_steps_that_change_nothing(
        rows: list[tuple[float, bool, bool, bool]], long_only: bool, max_weight: float,
        masks: str) -> None:
    """The bounds skip a restriction absent from every asset (and the tradable mask where
    every asset trades): the same bounds, to the bit, as every step taken."""
    w = np.array([r[0] for r in rows])
    pick = {"none": lambda j: False, "all": lambda j: True, "some": lambda j: None}[masks]

    def mask(j: int) -> np.ndarray:
        fixed = pick(j)
        return np.array([r[j] if fixed is None else fixed for r in rows])
    tradable = ~mask(1) if masks != "some" else np.array([r[1] for r in rows])
    args = (w, tradable, mask(2), mask(3), long_only, max_weight)
    got, want = opt.bounds(*args), _bounds_every_step(*args)
    for a, b in zip(got, want, strict=True):
        assert a.tobytes() == b.tobytes()
