"""Destinations and sizing: *what to* and *how much*, for C configurations.

One pure, vectorized kernel, :func:`size_trades`, serves the planner (``C = 1``) and
the backtest engine (``C`` configurations, every simulated day), so what the backtest
proves is what the planner trades. Shapes: ``C`` configurations, ``N`` assets; weights
are fractions of NAV, money in USD, a positive trade is a buy, cash is a scalar per
configuration (the residual of the assets).

Order of operations (each step records in ``SizingResult.binding`` where it changed
something):

1. **Destination weights** ``u`` of the traded assets, from ``d = w - t``:
   FULL ``u = t``; HALF ``u = w - d/2``; BAND_EDGE ``u = t + clip(d, -width, width)``
   for assets outside their band (``|d| > width``), others untouched;
   COST_CONSTRAINED ``u = t`` for the assets whose benefit exceeds ``cost_multiple``
   (``policy.cost_constrained_multiple``, default 2) times the cost of their full trade
   (:func:`marginal_benefit`), others untouched. Under long-only
   ``u = max(u, 0)`` (a short is bought back). Assets outside ``assets``, in
   ``exclude``, without a valid price, or restricted (do-not-buy / do-not-sell) in the
   direction they need are not traded.
2. **Landing after costs**: positions land on ``u * NAV'`` with ``NAV' = NAV - total
   cost`` (costs are taken from NAV first), found by the fixed point of
   :func:`land_on_destination`. A FULL rebalance lands exactly on target after costs.
   For BAND_EDGE an untouched asset that the cost pushes out of its band (its weight
   grows by ``NAV / NAV'``) joins the traded set and the point is solved again.
3. **Cash buffer / no negative cash**: buys are scaled down (re-costed) until cash
   after trading is at least ``cash_buffer * NAV'``
   (:func:`~driftwise.policy.constraints.fit_cash`).
4. **Minimum trade**: trades below ``min_trade_usd`` or ``min_trade_shares`` are dropped.
5. **Maximum turnover**: every trade of a configuration is scaled by
   ``min(1, max_turnover * NAV / (0.5 sum|trade|))``; step 4 is applied again.
6. **Whole shares**: trade shares rounded toward zero; step 4 again.
7. **Sells before buys, cash never negative**: step 3 again on the final trades (steps
   4-6 can shrink sells), buys rounded down to whole shares and small buys dropped.
   If the sells alone cannot meet the requirement, buys are zero and
   ``binding["cash_short"]`` says so.

OPTIMIZED (:mod:`driftwise.policy.optimize`) chooses ``u`` by a convex solve over the
same cost model: the solver's weights ``(w0 + z) / (1 - cost(z))`` become each row's
destination for the assets it trades (the others sit in the no-trade region), and steps
2-7 follow as for FULL: they land the trades after costs, fit the cash, drop minimum
trades and round to whole shares (the documented rounding step after the solve;
``SizingResult.optimized`` keeps the solver's own trades, so its effect can be
reported). A row whose solve fails is sized FULL and flagged.

Inactive configurations get zero trades and post values equal to their current ones.

Choices where the spec is silent: every traded asset of FULL and HALF is traded, even one
already on its destination (a tiny sale funds its share of the costs, which is what
makes the landing exact; a minimum trade drops it); the cash buffer and the cash check
only ever shrink buys, never add sells; a restricted asset is left alone only in the
direction it needs (a do-not-buy asset may still be sold); an asset without a price, an
excluded one or one outside ``assets`` keeps its position, short or not. The cost
function must be elementwise (an asset's cost depends on its own trade only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from driftwise._jit import record_array
from driftwise._kernels import arg
from driftwise._types import TRADING_DAYS, BoolArray, FloatArray
from driftwise.errors import ConfigError, DataError
from driftwise.policy import _kernels as _k
from driftwise.policy.constraints import (
    FIXED_POINT_MAX_ITER,
    FIXED_POINT_TOL,
    Constraints,
    CostFn,
    cost_model,
    no_cash_fit_error,
)
from driftwise.policy.destination import COST_CONSTRAINED_MULTIPLE, Destination, per_row
from driftwise.policy.optimize import Optimized, OptimizerSettings, optimize_rows
from driftwise.policy.tax_terms import TaxTerms

__all__ = ["BINDING_KEYS", "Landing", "SizingResult", "land_on_destination",
           "no_landing_error", "size_trades"]

SUM_TOL = 1e-9
"""Weights plus cash (and targets plus target cash) must sum to 1 within this."""

BINDING_KEYS_ASSET = ("excluded", "no_price", "long_only", "do_not_buy", "do_not_sell",
                      "cost_constrained_skip", "min_trade", "whole_shares")
BINDING_KEYS_CONFIG = ("cash", "cash_short", "max_turnover")
BINDING_KEYS = BINDING_KEYS_ASSET + BINDING_KEYS_CONFIG
"""Every key of ``SizingResult.binding``: per (C, N) asset, then per (C,) configuration."""


@dataclass(frozen=True, eq=False)
class SizingResult:
    """Trades of one rebalance for C configurations and the portfolio after them.

    Attributes
    ----------
    trade_usd : ndarray, shape (C, N)
        Signed trades in USD (positive = buy).
    trade_shares : ndarray, shape (C, N)
        Signed trades in shares (whole numbers under ``whole_shares``).
    cost_usd : ndarray, shape (C, N)
        Cost of each trade in USD (``cost_fn(trade_usd)``).
    post_nav_usd : ndarray, shape (C,)
        ``NAV - sum(cost_usd)``.
    post_weights : ndarray, shape (C, N)
        ``(weights * NAV + trade_usd) / post_nav_usd``.
    post_cash_weight : ndarray, shape (C,)
        ``post_cash_usd / post_nav_usd``.
    post_cash_usd : ndarray, shape (C,)
        ``cash_usd - sum(trade_usd) - sum(cost_usd)`` (sells before buys, costs from cash),
        with the sums the cash check used: it meets the cash buffer exactly (a sum in
        another order may differ in the last bits). Apply it rather than re-summing.
    binding : dict of str to ndarray of bool
        Where each constraint changed the trades; keys :data:`BINDING_KEYS`, shape (C, N)
        for ``excluded, no_price, long_only, do_not_buy, do_not_sell,
        cost_constrained_skip, min_trade, whole_shares`` and (C,) for ``cash`` (buys
        scaled down for the cash buffer or to keep cash >= 0), ``cash_short`` (cash still
        below the requirement: the sells alone do not meet it) and ``max_turnover``.
        A key that never binds is a read-only all-False view.
    iterations : int
        Cost fixed-point iterations of step 2 (all passes).
    intended_traded_usd : ndarray, shape (C,)
        ``sum |trade_usd|`` intended: after step 3 (the cash fit), before the minimum
        trades and whole-share rounding (steps 4 and 6) drop any of it, capped by the
        turnover cap of step 5 (``2 * max_turnover * NAV``); 0 for inactive rows.
    optimized : Optimized or None
        The solver's answer (OPTIMIZED only): its own trades before steps 2-7, the
        no-trade region's marginal benefit and cost per asset, the rows that fell back.
    """

    trade_usd: FloatArray
    trade_shares: FloatArray
    cost_usd: FloatArray
    post_nav_usd: FloatArray
    post_weights: FloatArray
    post_cash_weight: FloatArray
    binding: dict[str, BoolArray]
    post_cash_usd: FloatArray = field(default_factory=lambda: np.zeros(0))
    iterations: int = 0
    intended_traded_usd: FloatArray = field(default_factory=lambda: np.zeros(0))
    optimized: Optimized | None = None


@dataclass(frozen=True, eq=False)
class Landing:
    """Result of :func:`land_on_destination`, all consistent with each other.

    ``trade_usd`` and ``cost_usd`` (C, N) were evaluated at ``eval_nav_usd`` (C,);
    ``post_nav_usd = NAV - sum(cost_usd)`` differs from it by at most ``tol * NAV``.
    """

    trade_usd: FloatArray
    cost_usd: FloatArray
    post_nav_usd: FloatArray
    eval_nav_usd: FloatArray
    iterations: int


def land_on_destination(dest: FloatArray, trade_mask: BoolArray, holdings_usd: FloatArray,
                        nav_usd: FloatArray, cost_fn: CostFn, *,
                        sell_only: BoolArray | None = None, buy_only: BoolArray | None = None,
                        start_nav_usd: FloatArray | None = None,
                        tol: float = FIXED_POINT_TOL,
                        max_iter: int = FIXED_POINT_MAX_ITER) -> Landing:
    """Trades that put the masked assets on ``dest`` times the post-cost NAV.

    Parameters
    ----------
    dest : ndarray, broadcastable to (C, N)
        Destination weights (fractions of the post-trade NAV).
    trade_mask : ndarray of bool, shape (C, N)
        Assets traded; the others get a zero trade.
    holdings_usd : ndarray, shape (C, N)
        Current positions ``w * NAV``.
    nav_usd : ndarray, shape (C,)
    cost_fn : RowCosts
        The cost model of each row, as in :func:`size_trades`.
    sell_only, buy_only : ndarray of bool, shape (C, N), optional
        Trades clipped to ``<= 0`` (do-not-buy) or ``>= 0`` (do-not-sell).
    start_nav_usd : ndarray, shape (C,), optional
        First guess of the post-trade NAV (default ``nav_usd``).
    tol : float
        Stop when ``|NAV'_{n+1} - NAV'_n| <= tol * NAV`` (per configuration).
    max_iter : int

    Returns
    -------
    Landing

    Raises
    ------
    ConfigError
        If the fixed point does not converge in ``max_iter`` steps (a cost rate near 1).

    Notes
    -----
    ``x(V') = clip(dest * V' - h)`` and ``V' = NAV - K(V')`` with
    ``K(V') = sum_i cost_i(x_i(V'))``, from ``V'_0 = NAV``. The map's slope
    ``dK/dV' = sum_i cost_i'(x_i) dest_i`` is at most the marginal cost rate (``<< 1``;
    1e-3 for 10 bps), so the plain step ``V' <- NAV - K(V')`` contracts and its error
    falls by that factor per step. From the second step on, a secant step on the last
    two points (:func:`_secant`) solves the linearized equation instead, exact for a
    linear cost: a linear cost converges to 1e-12 in 3 cost evaluations, a square-root
    impact in 3-4. A configuration that has converged is frozen (its trades are
    recomputed identically), so each configuration gets the result it would get alone
    (C = 1).
    """
    shape = holdings_usd.shape
    n_rows = shape[0]

    def full(mask: BoolArray | None) -> BoolArray:
        return (np.zeros(shape, dtype=np.bool_) if mask is None
                else arg(np.broadcast_to(mask, shape), dtype=np.bool_))
    nav = arg(nav_usd, dtype=np.float64)
    start = nav if start_nav_usd is None else arg(start_nav_usd, dtype=np.float64)
    which, mult = cost_model(cost_fn, "sizing").rows(n_rows)
    x, k = np.empty(shape), np.empty(shape)
    post, evaluated = np.empty(n_rows), np.empty(n_rows)
    iterations = _k.land_rows(
        arg(np.broadcast_to(dest, shape), dtype=np.float64), full(trade_mask),
        arg(holdings_usd, dtype=np.float64), nav, full(sell_only),
        full(buy_only), start, which, mult, cost_fn.table.kernel_table, float(tol),
        int(max_iter), x, k, post, evaluated)
    if iterations == 0:
        raise no_landing_error(max_iter)
    return Landing(x, k, post, evaluated, iterations)


def no_landing_error(max_iter: int) -> ConfigError:
    """The error of a cost fixed point that does not converge in ``max_iter`` steps."""
    return ConfigError(f"sizing: the cost fixed point did not converge in {max_iter} steps; "
                       "is the cost model charging close to 100% of the trade?")


@dataclass(frozen=True, eq=False)
class _Inputs:
    """Validated, broadcast inputs of :func:`size_trades`."""

    weights: FloatArray  # (C, N)
    cash_weight: FloatArray  # (C,)
    cash_usd: FloatArray  # (C,)
    nav_usd: FloatArray  # (C,)
    target: FloatArray  # (N,) or (C, N)
    holdings_usd: FloatArray  # (C, N)
    prices_usd: FloatArray  # (N,), 1.0 where not tradable
    price_ok: BoolArray  # (N,)
    active: BoolArray  # (C,)


def size_trades(*, weights: npt.ArrayLike, cash_weight: npt.ArrayLike, target: npt.ArrayLike,
                target_cash: npt.ArrayLike, nav_usd: npt.ArrayLike, prices_usd: npt.ArrayLike,
                active: npt.ArrayLike, destination: Destination | str, cost_fn: CostFn,
                constraints: Constraints, no_buy: npt.ArrayLike | None = None,
                no_sell: npt.ArrayLike | None = None, assets: npt.ArrayLike | None = None,
                exclude: npt.ArrayLike | None = None, band_width: npt.ArrayLike | None = None,
                vol_annual: npt.ArrayLike | None = None, cov_annual: npt.ArrayLike | None = None,
                gamma: float | npt.ArrayLike = 2.0,
                horizon_days: float | npt.ArrayLike = float(TRADING_DAYS),
                cost_multiple: float | npt.ArrayLike = COST_CONSTRAINED_MULTIPLE,
                tol: float = FIXED_POINT_TOL, max_iter: int = FIXED_POINT_MAX_ITER,
                optimizer: OptimizerSettings | None = None,
                borrow_bps_annual: npt.ArrayLike | None = None,
                groups: npt.ArrayLike | None = None,
                factor_betas: npt.ArrayLike | None = None,
                tax: TaxTerms | None = None) -> SizingResult:
    """Size the trades of one rebalance for C configurations (steps 1-7 of the module).

    Parameters
    ----------
    weights : array_like, shape (C, N)
        Current weights (fractions of NAV, after marking to market).
    cash_weight : array_like, shape (C,)
        Current cash weight; ``sum(weights) + cash_weight = 1``.
    target : array_like, shape (C, N) or (N,)
    target_cash : array_like, shape (C,) or float
        Cash target; ``sum(target) + target_cash = 1``. Cash is the residual of the
        assets, so a FULL rebalance leaves exactly ``target_cash``.
    nav_usd : array_like, shape (C,)
        NAV before trading (positive).
    prices_usd : array_like, shape (N,)
        Prices; an asset without a finite positive price is not traded.
    active : array_like of bool, shape (C,)
        Configurations that rebalance today; the others get zero trades.
    destination : Destination
    cost_fn : RowCosts
        The cost model of each row (:class:`~driftwise.costs.RowCosts`; one row serves
        every row), evaluated inside the compiled sizing; anything else is a ConfigError.
    constraints : Constraints
    no_buy, no_sell : array_like of bool, shape (N,), optional
        Restricted assets (``constraints.masks(tickers)``); default none.
    assets : array_like of bool, shape (C, N), optional
        Trade only these (a trigger's restriction); default all.
    exclude : array_like of bool, shape (C, N), optional
        Assets left out (illiquid); default none.
    band_width : array_like, shape (C, N) or (N,), optional
        Band half-width (fraction of NAV); needed for BAND_EDGE.
    vol_annual : array_like, shape (N,), optional
    cov_annual : array_like, shape (N, N), optional
        Risk for the COST_CONSTRAINED benefit (covariance preferred when given).
    gamma, horizon_days : float or array_like of shape (C,)
        Risk aversion and horizon (trading days) of the COST_CONSTRAINED benefit.
    cost_multiple : float or array_like of shape (C,)
        COST_CONSTRAINED trades an asset only if its benefit exceeds this multiple of
        its cost (``policy.cost_constrained_multiple``, default 2).
    tol : float
        Relative tolerance of the cost fixed point (in [1e-15, 1e-3]).
    max_iter : int
    optimizer : OptimizerSettings, optional
        γ, γ_trade and the bounds of OPTIMIZED (default settings when None).
    borrow_bps_annual : array_like, shape (N,), optional
        Borrow fee of shorts, weighed by OPTIMIZED over ``horizon_days``.
    groups : array_like of int, shape (N,), optional
        Group (sector) of each asset (-1: none), for OPTIMIZED's group bounds.
    factor_betas : array_like, shape (N, F), optional
        The day's factor betas, for OPTIMIZED's factor exposure targets.
    tax : TaxTerms, optional
        The tax of each asset's sale from its lots, weighed by OPTIMIZED
        (:mod:`driftwise.policy.tax_terms`); the formula destinations do not read it
        (the decision after tax cuts their sales: :mod:`driftwise.policy.tax_gate`).

    Returns
    -------
    SizingResult

    Raises
    ------
    ConfigError
        Bad parameter, shape or missing input of the destination; cost fixed point
        without convergence.
    DataError
        NAV not positive, weights or targets not summing to 1 with cash.

    Notes
    -----
    Order of operations and formulas: module docstring. Sells come before buys: the
    cash check counts the sale proceeds first, and only buys are ever scaled for cash.
    """
    dest_kind = _destination(destination)
    _check_params(tol, max_iter)
    inp = _prepare(weights, cash_weight, target, target_cash, nav_usd, prices_usd, active)
    shape = inp.weights.shape
    if not inp.active.any():
        return _result(inp, np.zeros(shape), np.zeros(shape), None, None, constraints, 0)
    if dest_kind is Destination.OPTIMIZED:
        return _size_optimized(
            inp, target_cash, cost_fn, constraints, optimizer or OptimizerSettings(),
            no_buy=no_buy, no_sell=no_sell, assets=assets, exclude=exclude,
            vol_annual=vol_annual, cov_annual=cov_annual, borrow_bps_annual=borrow_bps_annual,
            groups=groups, horizon_days=horizon_days, tol=tol, max_iter=max_iter,
            factor_betas=factor_betas, tax=tax)
    return _size_prepared(inp, dest_kind, cost_fn, constraints, no_buy=no_buy, no_sell=no_sell,
                          assets=assets, exclude=exclude, band_width=band_width,
                          vol_annual=vol_annual, cov_annual=cov_annual, gamma=gamma,
                          horizon_days=horizon_days, cost_multiple=cost_multiple, tol=tol,
                          max_iter=max_iter)


def _size_prepared(inp: _Inputs, dest_kind: Destination, cost_fn: CostFn,
                   constraints: Constraints, *, no_buy: npt.ArrayLike | None,
                   no_sell: npt.ArrayLike | None, assets: npt.ArrayLike | None,
                   exclude: npt.ArrayLike | None, band_width: npt.ArrayLike | None,
                   vol_annual: npt.ArrayLike | None, cov_annual: npt.ArrayLike | None,
                   gamma: float | npt.ArrayLike, horizon_days: float | npt.ArrayLike,
                   cost_multiple: float | npt.ArrayLike, tol: float,
                   max_iter: int, masks: _k.Masks | None = None,
                   optimized: Optimized | None = None) -> SizingResult:
    """Steps 1-7 of a formula destination on validated inputs (:func:`size_trades`).

    ``masks``: the restrictions, the assets and the exclusions already broadcast to
    (C, N) (contiguous, writable; ``no_buy`` and the rest then unread). ``optimized``: the
    solver's answer the destination came from, carried by the result."""
    shape = inp.weights.shape
    n_rows = shape[0]
    width = None if band_width is None else _band(band_width, shape)
    if dest_kind is Destination.BAND_EDGE and width is None:
        raise ConfigError("band-edge sizing needs band_width")
    vol, cov = _opt(vol_annual), _opt(cov_annual)
    if dest_kind is Destination.COST_CONSTRAINED and vol is None and cov is None:
        raise ConfigError("cost-constrained sizing needs vol_annual or cov_annual")
    gam = _positive(gamma, "gamma", n_rows)
    hor = _positive(horizon_days, "horizon_days", n_rows)
    multiple = _positive(cost_multiple, "cost_multiple", n_rows)

    def full(values: npt.ArrayLike | None, name: str, default: bool) -> BoolArray:
        mask = _mask(values, name, shape, default)
        return (np.full(shape, default) if mask is None
                else arg(mask, dtype=np.bool_))
    if isinstance(gam, float) and isinstance(hor, float) and isinstance(multiple, float):
        settings = _scalar_settings(dest_kind, constraints, n_rows, gam, hor, multiple,
                                    width is not None, cov is not None, tol, max_iter)
    else:
        settings = sizing_settings(
            dest_kind, constraints, n_rows, gamma=per_row(gam, n_rows),
            horizon_days=per_row(hor, n_rows), cost_multiple=per_row(multiple, n_rows),
            has_width=width is not None, use_cov=cov is not None, tol=tol, max_iter=max_iter)
    if masks is None:
        masks = _k.Masks(full(no_buy, "no_buy", False), full(no_sell, "no_sell", False),
                         full(assets, "assets", True), full(exclude, "exclude", False))
    out, iterations = size_rows_checked(
        arg(inp.weights), _rows(inp.target, shape), arg(inp.cash_usd), arg(inp.nav_usd),
        arg(inp.holdings_usd), inp.prices_usd, inp.price_ok, arg(inp.active), masks,
        np.zeros(shape) if width is None else _rows(width, shape),
        np.zeros(shape) if vol is None else _rows(vol, shape),
        np.zeros((0, 0)) if cov is None else arg(cov, dtype=np.float64), settings,
        cost_model(cost_fn, "sizing"), max_iter)
    return _result(inp, out.trade_usd, out.cost_usd, out.bind, out.row_bind, constraints,
                   iterations, out.sums, optimized)


def _size_optimized(inp: _Inputs, target_cash: npt.ArrayLike, cost_fn: CostFn,
                    constraints: Constraints, settings: OptimizerSettings, *,
                    no_buy: npt.ArrayLike | None, no_sell: npt.ArrayLike | None,
                    assets: npt.ArrayLike | None, exclude: npt.ArrayLike | None,
                    vol_annual: npt.ArrayLike | None, cov_annual: npt.ArrayLike | None,
                    borrow_bps_annual: npt.ArrayLike | None, groups: npt.ArrayLike | None,
                    horizon_days: float | npt.ArrayLike, tol: float,
                    max_iter: int, factor_betas: npt.ArrayLike | None = None,
                    tax: TaxTerms | None = None) -> SizingResult:
    """OPTIMIZED: the solver's destination, then steps 2-7 as FULL (module docstring)."""
    shape = inp.weights.shape

    def full(values: npt.ArrayLike | None, name: str, default: bool) -> BoolArray:
        mask = _mask(values, name, shape, default)
        if mask is not None:
            return arg(mask, dtype=np.bool_)
        return np.ones(shape, dtype=np.bool_) if default else np.zeros(shape, dtype=np.bool_)
    no_buy_rows, no_sell_rows = full(no_buy, "no_buy", False), full(no_sell, "no_sell", False)
    excluded = full(exclude, "exclude", False)
    may = full(assets, "assets", True) & ~excluded & inp.price_ok
    target = (inp.target if inp.target.shape == shape
              else np.asarray(np.broadcast_to(inp.target, shape), dtype=np.float64))
    horizon = (float(horizon_days) if isinstance(horizon_days, float)
               else float(np.max(np.asarray(horizon_days, dtype=np.float64))))
    solved = optimize_rows(
        weights=inp.weights, cash_weight=inp.cash_weight, target=target, nav_usd=inp.nav_usd,
        active=inp.active, tradable=may, no_buy=no_buy_rows,
        no_sell=no_sell_rows, cost_fn=cost_model(cost_fn, "sizing"),
        constraints=constraints, settings=settings, cov_annual=_opt(cov_annual),
        vol_annual=_opt(vol_annual),
        borrow_bps_annual=_opt(borrow_bps_annual), horizon_days=horizon,
        groups=None if groups is None else np.asarray(groups, dtype=np.intp),
        factor_betas=_opt(factor_betas), tax=tax)
    dest, assets = optimized_destination(
        solved, target, _vector(target_cash, "target_cash", shape[0]), may, inp.active)
    # sized as FULL (a fresh holdings buffer, which the result reuses)
    full_inp = _Inputs(inp.weights, inp.cash_weight, inp.cash_usd, inp.nav_usd, dest,
                       inp.weights * inp.nav_usd[:, None], inp.prices_usd, inp.price_ok,
                       inp.active)
    # the masks as the FULL sizing would broadcast them (validated above)
    masks = _k.Masks(no_buy_rows, no_sell_rows, assets, excluded)
    return _size_prepared(
        full_inp, Destination.FULL, cost_fn, constraints, no_buy=None, no_sell=None,
        assets=None, exclude=None, band_width=None,
        vol_annual=None, cov_annual=None, gamma=2.0, horizon_days=float(TRADING_DAYS),
        cost_multiple=COST_CONSTRAINED_MULTIPLE, tol=tol, max_iter=max_iter, masks=masks,
        optimized=solved)


def optimized_destination(solved: Optimized, target: FloatArray, target_cash: FloatArray,
                          tradable: BoolArray, active: BoolArray
                          ) -> tuple[FloatArray, BoolArray]:
    """The destination of the solver's answer ``solved``
    (:func:`driftwise.policy.optimize.optimize_rows`): the solved weights, or the target
    and ``target_cash`` on a row whose solve failed, checked to sum to 1 with its cash;
    and the assets its FULL sizing may trade (the solver's; ``tradable`` on a failed row)."""
    fallback = solved.failed[:, None]
    dest = np.where(fallback, target, solved.destination)
    dest_cash = np.where(solved.failed, target_cash, 1.0 - dest.sum(axis=1))
    check_target(dest, dest_cash, active)
    return dest, np.where(fallback, tradable, solved.traded)


def size_rows_checked(weights: FloatArray, target: FloatArray, cash_usd: FloatArray,
                      nav_usd: FloatArray, holdings_usd: FloatArray, prices_usd: FloatArray,
                      price_ok: BoolArray, active: BoolArray, masks: _k.Masks,
                      width: FloatArray, vol: FloatArray, cov: FloatArray,
                      settings: np.ndarray, cost_fn: CostFn, max_iter: int
                      ) -> tuple[_k.Sized, int]:
    """Steps 2-7 of every row in the compiled :func:`driftwise.policy._kernels.size_rows`
    (arguments as it reads them): its outputs and iterations; a row that cannot land on
    its destination or fit its cash raises."""
    n_rows, n_assets = weights.shape
    out = _k.Sized(np.zeros((n_rows, n_assets)), np.zeros((n_rows, n_assets)),
                   np.zeros((len(BINDING_KEYS_ASSET), n_rows, n_assets), dtype=np.bool_),
                   np.zeros((len(BINDING_KEYS_CONFIG), n_rows), dtype=np.bool_),
                   np.zeros((n_rows, 3)))
    which, mult = cost_fn.rows(n_rows)
    status, iterations = _k.size_rows(weights, target, cash_usd, nav_usd, holdings_usd,
                                      prices_usd, price_ok, active, masks, width, vol, cov,
                                      settings, which, mult, cost_fn.table.kernel_table, out)
    if status == _k.NO_LANDING:
        raise no_landing_error(max_iter)
    if status != _k.OK:
        raise no_cash_fit_error()
    return out, iterations


def sizing_settings(destination: Destination, constraints: Constraints, n_rows: int, *,
                    gamma: float | FloatArray, horizon_days: float | FloatArray,
                    cost_multiple: float | FloatArray, has_width: bool, use_cov: bool,
                    tol: float = FIXED_POINT_TOL,
                    max_iter: int = FIXED_POINT_MAX_ITER) -> npt.NDArray[np.void]:
    """The sizing settings of ``n_rows`` rows as the compiled sizing reads them.

    Parameters
    ----------
    destination : Destination
    constraints : Constraints
    n_rows : int
        C.
    gamma, horizon_days, cost_multiple : float or ndarray of shape (C,)
        The cost-constrained benefit's risk aversion, horizon (trading days) and the
        multiple of its cost it must exceed, per row.
    has_width, use_cov : bool
        Band widths are given; the benefit is computed from the covariance.
    tol, max_iter
        The cost fixed points' relative tolerance and most iterations.

    Returns
    -------
    ndarray of :data:`driftwise.policy._kernels.SIZING` records, shape (C,)
        Built once per call (per batch in the compiled day loop).
    """
    c = constraints
    out = np.empty(n_rows, dtype=_k.SIZING)
    out["destination"] = _k.DESTINATION_CODES[destination]
    out["has_width"], out["use_cov"] = has_width, use_cov
    out["long_only"], out["whole_shares"] = c.long_only, c.whole_shares
    out["cash_buffer"] = c.cash_buffer
    out["min_trade_usd"], out["min_trade_shares"] = c.min_trade_usd, c.min_trade_shares
    out["max_turnover"] = c.max_turnover
    out["gamma"], out["horizon_days"], out["cost_multiple"] = gamma, horizon_days, cost_multiple
    out["tol"], out["max_iter"] = tol, max_iter
    return record_array(out)


@lru_cache(maxsize=64)
def _scalar_settings(destination: Destination, constraints: Constraints, n_rows: int,
                     gamma: float, horizon_days: float, cost_multiple: float,
                     has_width: bool, use_cov: bool, tol: float,
                     max_iter: int) -> npt.NDArray[np.void]:
    """:func:`sizing_settings` of scalar parameters, built once per distinct call (the
    backtest sizes the same rule every day; the kernels only read the records)."""
    return sizing_settings(destination, constraints, n_rows, gamma=gamma,
                           horizon_days=horizon_days, cost_multiple=cost_multiple,
                           has_width=has_width, use_cov=use_cov, tol=tol, max_iter=max_iter)


def _rows(values: FloatArray, shape: tuple[int, int]) -> FloatArray:
    """(N,) or (C, N) values as a contiguous (C, N) array."""
    if np.shape(values) == shape:
        return arg(values, dtype=np.float64)
    return arg(np.broadcast_to(values, shape), dtype=np.float64)


def _result(inp: _Inputs, x: FloatArray, k: FloatArray, bind: BoolArray | None,
            row_bind: BoolArray | None, c: Constraints, iterations: int,
            sums: FloatArray | None = None, optimized: Optimized | None = None
            ) -> SizingResult:
    """The result; ``sums`` (C, 3) are the kernel's sums of trades and costs, which its
    cash check used (so that the cash after trading meets the buffer exactly), and the
    intended traded value."""
    shape = x.shape
    act = inp.active
    total_x = x.sum(axis=1) if sums is None else sums[:, 0]
    total_k = k.sum(axis=1) if sums is None else sums[:, 1]
    post_nav = np.where(act, inp.nav_usd - total_k, inp.nav_usd)
    post_cash = inp.cash_usd - total_x - total_k
    post_w = inp.holdings_usd  # private buffer of _prepare, no longer needed: reused
    post_w += x
    post_w /= post_nav[:, None]
    post_cash_w = post_cash / post_nav
    if not act.all():
        post_w[~act] = inp.weights[~act]
        post_cash_w[~act] = inp.cash_weight[~act]
    shares = x / inp.prices_usd
    if c.whole_shares:
        np.rint(shares, out=shares)
    filled: dict[str, BoolArray] = {}
    said: BoolArray = (np.zeros(len(BINDING_KEYS_ASSET), dtype=bool) if bind is None
                       else np.asarray(bind.reshape(len(BINDING_KEYS_ASSET), -1).any(axis=1),
                                       dtype=bool))
    for j, key in enumerate(BINDING_KEYS_ASSET):
        filled[key] = bind[j] if bind is not None and said[j] else _all_false(shape)
    said = (np.zeros(len(BINDING_KEYS_CONFIG), dtype=bool) if row_bind is None
            else np.asarray(row_bind.reshape(len(BINDING_KEYS_CONFIG), -1).any(axis=1),
                            dtype=bool))
    for j, key in enumerate(BINDING_KEYS_CONFIG):
        filled[key] = (row_bind[j] if row_bind is not None and said[j]
                       else _all_false(shape[:1]))
    intended = np.zeros(shape[0]) if sums is None else sums[:, 2]
    return SizingResult(x, shares, k, post_nav, post_w, post_cash_w, filled,
                        post_cash_usd=post_cash, iterations=iterations,
                        intended_traded_usd=intended, optimized=optimized)


@lru_cache(maxsize=64)
def _all_false(shape: tuple[int, ...]) -> BoolArray:
    """A read-only all-False view of ``shape``, shared by every result of that shape."""
    return np.broadcast_to(np.False_, shape)


def _destination(value: Destination | str) -> Destination:
    try:
        return Destination(value)
    except ValueError:
        names = ", ".join(d.value for d in Destination)
        raise ConfigError(f"sizing: unknown destination {value!r}; "
                          f"expected one of {names}") from None


def _check_params(tol: float, max_iter: int) -> None:
    if not (isinstance(tol, float | int) and 1e-15 <= tol <= 1e-3):
        raise ConfigError(f"sizing: tol must be in [1e-15, 1e-3], found {tol!r}")
    if not isinstance(max_iter, int) or isinstance(max_iter, bool) or max_iter < 1:
        raise ConfigError(f"sizing: max_iter must be a positive integer, found {max_iter!r}")


def _vector(value: npt.ArrayLike, name: str, n: int) -> FloatArray:
    if isinstance(value, float):  # the common case (numpy's full costs more on a row)
        return np.array([value] * n, dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ConfigError(f"sizing: {name} must be a scalar or shaped ({n},), found {arr.shape}")
    return arr if arr.ndim == 1 else np.full(n, float(arr))


def _prepare(weights: npt.ArrayLike, cash_weight: npt.ArrayLike, target: npt.ArrayLike,
             target_cash: npt.ArrayLike, nav_usd: npt.ArrayLike, prices_usd: npt.ArrayLike,
             active: npt.ArrayLike) -> _Inputs:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ConfigError(f"sizing: weights must be shaped (C, N), found {w.shape}")
    n_c, n_a = w.shape
    t = np.asarray(target, dtype=np.float64)
    if t.shape not in ((n_a,), (n_c, n_a)):
        raise ConfigError(f"sizing: target must be shaped ({n_a},) or ({n_c}, {n_a}), "
                          f"found {t.shape}")
    cash_w = _vector(cash_weight, "cash_weight", n_c)
    nav = _vector(nav_usd, "nav_usd", n_c)
    act = np.asarray(active, dtype=bool)
    if act.shape != (n_c,):
        act = np.broadcast_to(act, (n_c,))
    prices = np.asarray(prices_usd, dtype=np.float64)
    if prices.shape != (n_a,):
        raise ConfigError(f"sizing: prices_usd must be shaped ({n_a},), found {prices.shape}")
    price_ok = (prices > 0.0) & (prices < np.inf)  # NaN fails both
    check_state(w, cash_w, nav, t, _vector(target_cash, "target_cash", n_c), act)
    return _Inputs(w, cash_w, cash_w * nav, nav, t, w * nav[:, None],
                   np.where(price_ok, prices, 1.0), price_ok, act)


def check_state(w: FloatArray, cash_w: FloatArray, nav: FloatArray, t: FloatArray,
                t_cash: FloatArray, act: BoolArray) -> None:
    """Active configurations: positive NAV, weights and targets summing to 1 with cash."""
    check_book(w, cash_w, nav, act)
    check_target(t, t_cash, act)


def check_book(w: FloatArray, cash_w: FloatArray, nav: FloatArray, act: BoolArray) -> None:
    """Active configurations: positive NAV, weights summing to 1 with cash (the first
    checks of :func:`check_state`)."""
    bad_nav = act & ~((nav > 0.0) & (nav < np.inf))  # NaN fails both
    if bad_nav.any():
        raise DataError("NAV must be positive", field="nav_usd", expected="a positive amount",
                        found=str(nav[bad_nav][0]))
    _check_sum(w.sum(axis=1) + cash_w, act, "weights", "weights plus cash")


def check_target(t: FloatArray, t_cash: FloatArray, act: BoolArray) -> None:
    """Active configurations: targets summing to 1 with the cash target."""
    _check_sum(t.sum(axis=-1) + t_cash, act, "target_weight", "targets plus target cash")


def _check_sum(total: FloatArray, act: BoolArray, field_name: str, what: str) -> None:
    ok = np.abs(total - 1.0) <= SUM_TOL  # NaN is bad
    if ok.all():
        return
    bad = act & ~ok
    if bad.any():
        raise DataError(f"{what} must sum to 1", field=field_name, expected="1",
                        found=f"{total[bad][0]:.12g}")


def _band(value: npt.ArrayLike, shape: tuple[int, int]) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape not in (shape[1:], shape):
        raise ConfigError(f"sizing: band_width must be shaped ({shape[1]},) or {shape}, "
                          f"found {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr >= 0.0)):
        raise ConfigError("sizing: band_width must be finite and non-negative")
    return arr


def _mask(value: npt.ArrayLike | None, name: str, shape: tuple[int, int],
          default: bool) -> BoolArray | None:
    """``value`` broadcast to ``shape``, or None when it is ``default`` everywhere.

    Whether a mask says anything is decided on the whole mask against its own default, so
    a row means the same alone or among other rows: an ``assets`` row of no asset trades
    nothing, never every asset.
    """
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype != np.bool_ or arr.shape not in (shape[1:], shape):
        raise ConfigError(f"sizing: {name} must be booleans shaped ({shape[1]},) or {shape}, "
                          f"found {arr.dtype} {arr.shape}")
    said = not arr.all() if default else bool(arr.any())
    return np.broadcast_to(arr, shape) if said else None


def _opt(value: npt.ArrayLike | None) -> FloatArray | None:
    return None if value is None else np.asarray(value, dtype=np.float64)


def _positive(value: float | npt.ArrayLike, name: str, n: int) -> float | FloatArray:
    if isinstance(value, float) and 0.0 < value < np.inf:  # the common case, at once
        return float(value)
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape not in ((), (n,)) or not np.all(np.isfinite(arr) & (arr > 0.0)):
        raise ConfigError(f"sizing: {name} must be positive, a scalar or shaped ({n},)")
    return float(arr) if arr.ndim == 0 else arr
