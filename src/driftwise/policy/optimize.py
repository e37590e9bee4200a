"""The OPTIMIZED destination: the trades of a convex single-period optimization.

For each configuration that rebalances, the trades ``z`` (fractions of NAV, ``w = w0 + z``)
minimize

``(γ/2) (w − t)' Σ (w − t) + γ_trade · cost(z)  [+ γ_tax · tax(z) with lots]``

where ``Σ`` is the day's annualized covariance and ``cost`` the convex form of the one cost
model (:func:`driftwise.costs.trade_costs`) in fractions of NAV:

``cost(z) = Σ_i |z_i| (spread_i m + commission_i + flat_i m_flat)
+ m Σ_k Σ_i c_ki NAV^(p_k − 1) |z_i|^p_k + borrow(z)``

(square-root impact as the 3/2 power, the 3/5-power model as its own powers 1.6 and 2;
``m`` the VIX regime multiplier), plus, when shorts are allowed, the borrow over the
benefit horizon ``H`` of the short the trade opens or increases,
``b_i H/252 · max(max(−w_i, 0) − max(−w0_i, 0), 0)``. Constraints: long-only
(``w >= 0``) or shorts, per-asset upper bound ``w_i <= max_weight``, do-not-buy
(``z_i <= 0``) and do-not-sell (``z_i >= 0``), assets not tradable today fixed, the cash
buffer ``c0 − Σ z − cost(z) >= cash_buffer``, maximum turnover ``½ Σ|z| <= max_turnover``,
group bounds ``|Σ_{i in g} (w_i − t_i)| <= group_deviation`` for each sector of the
security master, factor exposure bounds ``|B'(w − t)| <= factor_bound`` per factor, ``B``
(N, F) the day's betas (:mod:`driftwise.policy.factors`); a factor penalty
``λ ||B'(w − t)||²`` joins the objective.

**The tax of the sales** (a portfolio deciding after tax with lots:
:func:`driftwise.policy.tax_gate.tax_step` passes :class:`~driftwise.policy.tax_terms.TaxTerms`):
the objective adds ``γ_tax Σ_i Σ_j r_j g_j s_ij`` with per-lot sales
``0 <= s_ij <= value_ij`` (fractions of NAV; ``r_j`` the lot's all-in rate, ``g_j = 1 −
basis_j / value_j``; a loss: negative), each asset's sale taken from its lots
(``Σ_j s_ij >= −z_i``, the least tax taken by the solver), and the gain budget left
``Σ g_j s_ij <= room`` as a row. The tax of ``max(−z_i, 0)`` is convex for an asset of gain
lots only; an asset with a loss lot is put on one side (:func:`solve_taxed`): its sale equal to
its lots sold and no buy, or a buy and no lot sold. ``γ_tax`` is
``OptimizerSettings.tax_weight`` (1: at face value, like the cost; not multiplied by
``γ_trade``, which corrects the trading cost of a single-period optimizer for its
repetition, while a gain's tax is paid once). Long-only rows only. No warm start and no
polish for a row with a tax term (both solve the stationarity conditions of the tax-free
objective): Clarabel's answer, exact to about 1e-8 of NAV.

The minimum commission per ticket is not convex and is left out of the solve; the
sizing that follows (landing after costs, cash fit, minimum trades, whole shares:
:func:`driftwise.policy.sizing.size_trades`) prices the final trades with the full model.

**The no-trade region.** At ``z = 0`` the objective's subgradient in asset ``i`` is
``γ (Σ (w0 − t))_i + γ_trade [−κ_i, κ_i]`` with ``κ_i`` the linear cost rate (the impact's
slope is 0 at 0). When it contains 0 for every tradable asset and ``z = 0`` is feasible,
no trade is optimal (a convex problem: these are its KKT conditions with zero
multipliers), and the solver is not called: the marginal benefit of the first dollar
traded, ``|γ (Σ d)_i|``, is below its marginal cost ``γ_trade κ_i``. The same two figures
explain, in the plan, each asset the solver leaves.

**Speed.** Each row outside the no-trade region is written as Clarabel's conic data by
hand (:mod:`driftwise.policy.conic`: a diagonal quadratic term, ``y = F z`` for the risk
factor, second-order cones for the 3/2-power impact, power cones for other powers) with
a sparsity pattern fixed by the problem's shape, and solved by Clarabel directly, without a
modelling layer (cvxpy spent more time updating parameters and unpacking than Clarabel
solving, and its parameterized compile of 500 assets took 6.4 s and 2.2 GB). The
problem as stated with cvxpy (:func:`driftwise.policy.conic.reference_problem`) is the
tests' reference. Clarabel is not warm-started: a warm start makes the answer depend on
the previous solve (measured: 6e-5 relative on a degenerate problem), and every row must be
decided as it would be alone, so that the backtest equals the planner. Instead, a row first
tries the **active set of the last answer** of the same settings (:func:`warm_solve`: the
traded assets' stationarity conditions solved by Newton's method, the result kept only when
it passes the KKT check of the whole problem, so it is the optimum whatever the guess); the
interior point runs only when that check fails. In a daily backtest the set of assets
traded changes rarely from one day to the next, so most rows skip the interior point.
A long-only row without tax, groups or factor rows (the common row) goes from its numbers
to its answer in one compiled call
(:func:`driftwise.policy.activeset._kernels.plain_row`: bounds, cost terms, the screen,
the warm active set with its KKT check, the answer's cost and gradient), the same
operations as the numpy path that every other row takes, so the same answer to the bit
(its gradient, through BLAS in both, to 1e-12: ``tests/policy/test_plain_row.py``).
``Σ`` enters exactly (a square root: its Cholesky factor, or the symmetric root when it
is not definite) up to :data:`EXACT_RISK_ASSETS` assets, otherwise as a factor model:
its :data:`N_FACTORS` leading principal components (LAPACK's subset eigensolver) plus the
residual variance of each asset on the diagonal, so every asset's own variance
is exact and the data have O(N·K) nonzeros.

Clarabel and SciPy's sparse module are imported only when an optimized rule solves a row.
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from driftwise._blas import one_blas_thread
from driftwise._types import AUTO as AUTO  # AUTO, DEFAULT_GAMMA, GroupBy: defined there
from driftwise._types import DEFAULT_GAMMA as DEFAULT_GAMMA
from driftwise._types import TRADING_DAYS, BoolArray, FloatArray, IntArray
from driftwise._types import GroupBy as GroupBy
from driftwise.costs.components import BPS
from driftwise.errors import ConfigError
from driftwise.policy import conic
from driftwise.policy.factors import FactorSettings
from driftwise.policy.solver import BOUND, RowProblem, solve_row
from driftwise.policy.tax_terms import TaxTerms

if TYPE_CHECKING:
    from driftwise.costs.model import RowCosts
    from driftwise.policy.constraints import Constraints

DEFAULT_GAMMA_TRADE = 5.0
"""Trade aversion γ_trade at :data:`GAMMA_TRADE_REFERENCE_NAMES` names
(``benchmarks/optimizer.py`` chose it on the 20-stock sample; see the user guide)."""
GAMMA_TRADE_REFERENCE_NAMES = 20.0
"""Effective number of names at which the automatic γ_trade is :data:`DEFAULT_GAMMA_TRADE`."""
GAMMA_TRADE_EXPONENT = -2.0 / 3.0
"""Exponent of the automatic γ_trade in the effective number of names
(:func:`auto_gamma_trade`): the cube-root law of the best no-trade band."""
GAMMA_TRADE_FLOOR = 1.5
"""Least automatic γ_trade (:func:`auto_gamma_trade`), reached at about 122 names: the best
γ_trade measured on 100, 200 and 452 S&P 500 stocks (1.54, 1.46, 1.43) stops falling there."""
DEFAULT_TAX_WEIGHT = 0.25
"""γ_tax: a quarter of the tax of the sales (fractions of NAV, like the cost). A gain not
realized now is still taxed later, so selling costs the deferral's worth, not the tax's face
value; in the after-tax backtest on real S&P 500 portfolios 0.25 had the best mean tax
alpha and face value (1) was dominated on most of them (``benchmarks/README.md``)."""
EXACT_RISK_ASSETS = 60
"""Up to this many assets Σ enters exactly; above, as a factor model."""
N_FACTORS = 20
"""Principal components of Σ kept above :data:`EXACT_RISK_ASSETS` assets."""
TRADE_TOL = 1e-7
"""A solver trade smaller than this fraction of NAV is no trade (the solver's accuracy)."""


@dataclass(frozen=True)
class OptimizerSettings:
    """The optimized destination's settings.

    Attributes
    ----------
    gamma : float or ndarray of shape (C,)
        Risk aversion γ (per row for a sweep).
    gamma_trade : float, "auto" or ndarray of shape (C,)
        Trade aversion γ_trade: the multiple of the cost the objective charges (Boyd et al.
        2017, "Multi-Period Trading via Convex Optimization", section 4.5). ``"auto"`` (NaN
        in a per-row array): :func:`auto_gamma_trade` of each row's target weights.
    max_weight : float
        Upper bound of every asset's weight after trading, fraction of NAV (1: none).
    group_deviation : float or None
        Largest ``|Σ_{i in g} (w_i − t_i)|`` of a group after trading, fraction of NAV;
        None: no group bound.
    group_by : GroupBy
        The security master's column whose values are the groups: ``sector`` or
        ``asset_class``.
    factors : FactorSettings
        The factor exposure targets (:mod:`driftwise.policy.factors`): a bound
        ``|B'(w − t)| <= bound`` per factor and/or a penalty ``λ ||B'(w − t)||²``.
    tax_weight : float
        γ_tax: the multiple of the tax of the sales the objective charges when the
        portfolio decides after tax with lots (1: at face value, in the same fractions of
        NAV as the cost; 0: the tax is not weighed, the lots' rules still hold).
    """

    gamma: float | FloatArray = DEFAULT_GAMMA
    gamma_trade: float | FloatArray | str = DEFAULT_GAMMA_TRADE
    max_weight: float = 1.0
    group_deviation: float | None = None
    group_by: GroupBy = GroupBy.SECTOR
    factors: FactorSettings = field(default_factory=FactorSettings)
    tax_weight: float = DEFAULT_TAX_WEIGHT
    warm: dict[tuple[float, float, int], FloatArray] = field(
        default_factory=dict, compare=False, repr=False)
    """The last answer solved per (γ, γ_trade, N): the active set the next solve tries
    first (:func:`optimize_rows`); a guess only, never the answer unless it passes the KKT
    check. Shared by :meth:`take`, so that the rows of a backtest keep it from day to day."""

    def __post_init__(self) -> None:
        for name in ("gamma", "gamma_trade"):
            raw = getattr(self, name)
            auto = name == "gamma_trade" and isinstance(raw, str)
            if auto and raw != AUTO:
                raise ConfigError(f"optimizer: gamma_trade must be positive or {AUTO!r}; "
                                  f"found {raw!r}")
            value = np.asarray(np.nan if auto else raw, dtype=np.float64)
            ok = np.isfinite(value) & (value > 0.0)
            if name == "gamma_trade":
                ok |= np.isnan(value)  # "auto" (per row in an array)
            if value.ndim > 1 or not np.all(ok):
                raise ConfigError(f"optimizer: {name} must be positive (a number or one per "
                                  f"configuration"
                                  + (f", or {AUTO!r}" if name == "gamma_trade" else "")
                                  + f"); found {raw!r}")
        if not (0.0 < self.max_weight <= 1.0):
            raise ConfigError(f"optimizer: max_weight must be in (0, 1]; found "
                              f"{self.max_weight!r}")
        try:
            object.__setattr__(self, "group_by", GroupBy(self.group_by))
        except ValueError:
            raise ConfigError(f"optimizer: group_by must be one of "
                              f"{[g.value for g in GroupBy]}; found {self.group_by!r}") from None
        if not (np.isfinite(self.tax_weight) and self.tax_weight >= 0.0):
            raise ConfigError(f"optimizer: tax_weight must be a number >= 0; found "
                              f"{self.tax_weight!r}")
        if self.group_deviation is not None and not (0.0 <= self.group_deviation <= 1.0):
            raise ConfigError(f"optimizer: group_deviation must be in [0, 1]; found "
                              f"{self.group_deviation!r}")

    def take(self, rows: IntArray) -> OptimizerSettings:
        """The settings of ``rows`` (per-row γ and γ_trade taken)."""
        def pick(value: float | FloatArray | str) -> float | FloatArray | str:
            if isinstance(value, str):
                return value
            arr = np.asarray(value)
            return value if arr.ndim == 0 else np.asarray(arr[rows], dtype=np.float64)
        gamma = np.asarray(self.gamma, dtype=np.float64)
        return replace(self, gamma=self.gamma if gamma.ndim == 0 else gamma[rows],
                       gamma_trade=pick(self.gamma_trade), warm=self.warm)

    def per_row(self, name: str, n_rows: int) -> FloatArray:
        """γ or γ_trade as a (C,) array (NaN: γ_trade ``"auto"``)."""
        value = getattr(self, name)
        value = np.nan if isinstance(value, str) else value
        if isinstance(value, float):  # the common cases, without numpy's broadcasting
            return np.full(n_rows, value)
        if (isinstance(value, np.ndarray) and value.shape == (n_rows,)
                and value.dtype == np.float64):
            return value
        return np.asarray(np.broadcast_to(np.asarray(value, dtype=np.float64),
                                          (n_rows,)), dtype=np.float64)

    def trade_aversion(self, target: FloatArray) -> FloatArray:
        """γ_trade of each row (C,) for the target weights ``target`` (C, N): the number,
        or :func:`auto_gamma_trade` of the row's target where it is ``"auto"``."""
        gam_t = self.per_row("gamma_trade", target.shape[0])
        if isinstance(self.gamma_trade, float) and not math.isnan(self.gamma_trade):
            return gam_t  # one number for every row: none is "auto"
        auto = np.isnan(gam_t)
        if np.any(auto):
            gam_t = gam_t.copy()
            gam_t[auto] = [auto_gamma_trade(target[r]) for r in np.flatnonzero(auto)]
        return gam_t


def effective_names(target_weights: npt.ArrayLike) -> float:
    """The effective number of names of target weights (N,): ``(Σ|t|)² / Σ t²`` (the
    inverse Herfindahl index of the risky weights), N for N equal weights (rounded to 9
    decimals, so that equal weights give their count exactly); NaN without any risky
    weight."""
    t = np.abs(np.nan_to_num(np.asarray(target_weights, dtype=np.float64)))
    total, squares = float(t.sum()), float((t**2).sum())
    return round(total**2 / squares, 9) if squares > 0.0 else float("nan")


def auto_gamma_trade(target_weights: npt.ArrayLike) -> float:
    """The automatic trade aversion of target weights (N,):

    ``γ_trade = max(GAMMA_TRADE_FLOOR,
    DEFAULT_GAMMA_TRADE · (N_eff / GAMMA_TRADE_REFERENCE_NAMES) ^ GAMMA_TRADE_EXPONENT)``

    with ``N_eff`` the effective number of names (:func:`effective_names`); a target
    without risky weights takes :data:`DEFAULT_GAMMA_TRADE`. The exponent is that of the
    best no-trade band of a drifting asset with a proportional cost (the cube root of the
    drift variance, which falls as 1/N² per name); the level is the best γ_trade of the
    20-name sample; the floor is where the best γ_trade measured on S&P 500 stocks stops
    falling (1.54 at 100 names, 1.46 at 200, 1.43 at 452). ``benchmarks/optimizer.py
    --study`` measures the best γ_trade by N (the user guide gives the figures).
    """
    n_eff = effective_names(target_weights)
    if not np.isfinite(n_eff):
        return DEFAULT_GAMMA_TRADE
    return float(max(GAMMA_TRADE_FLOOR, DEFAULT_GAMMA_TRADE
                     * (n_eff / GAMMA_TRADE_REFERENCE_NAMES) ** GAMMA_TRADE_EXPONENT))


@dataclass(frozen=True, eq=False)
class Optimized:
    """The solver's answer for C rows.

    Attributes
    ----------
    trade : ndarray, shape (C, N)
        Trades, fractions of the pre-trade NAV (0 outside the active rows).
    destination : ndarray, shape (C, N)
        Weights of the post-trade NAV the sizing lands on: ``(w0 + z) / (1 − cost(z))``.
    traded : ndarray of bool, shape (C, N)
        Assets the solver trades.
    cost_fraction : ndarray, shape (C,)
        The solver's cost of its trades (its convex cost form), fraction of NAV.
    marginal_benefit, marginal_cost : ndarray, shape (C, N)
        At the solution, per unit of NAV traded in asset ``i``: ``|γ (Σ (w − t))_i|`` and
        ``γ_trade κ_i`` (the first dollar's cost). An asset left untraded has benefit ≤ cost:
        it sits inside the no-trade region.
    failed : ndarray of bool, shape (C,)
        Rows whose solve failed (status given in ``status``): they fall back to FULL.
    screened : ndarray of bool, shape (C,)
        Rows inside the no-trade region at ``z = 0`` (KKT check), not sent to the solver.
    status : tuple of str
        Solver status per row (``"no trade"`` for screened rows, ``""`` inactive).
    """

    trade: FloatArray
    destination: FloatArray
    traded: BoolArray
    cost_fraction: FloatArray
    marginal_benefit: FloatArray
    marginal_cost: FloatArray
    failed: BoolArray
    screened: BoolArray
    status: tuple[str, ...] = field(default=())
    tax_fraction: FloatArray | None = None
    """The tax term's tax of the trades (C,), fraction of NAV (0 without lots)."""
    gradient: FloatArray | None = None
    """``γ (Σ (w − t))_i`` at the solution (C, N), signed (selling pays when it exceeds
    the marginal cost and tax)."""
    marginal_tax: FloatArray | None = None
    """``γ_tax`` times the tax per unit of NAV of the next dollar each asset would sell
    (C, N): the tax slope of its first lot not sold (0 without lots)."""

def risk_factor(cov_annual: FloatArray | None, vol_annual: FloatArray | None,
                n_assets: int) -> tuple[FloatArray, FloatArray]:
    """``Σ ≈ F' F + diag(D²)``: an exact square root up to :data:`EXACT_RISK_ASSETS`
    assets (the transposed Cholesky factor of a positive definite Σ, about ten times
    cheaper than the eigendecomposition; otherwise the symmetric square root with the
    negative eigenvalues set to 0), else :data:`N_FACTORS` principal components and the
    residual variances; a diagonal ``Σ`` (volatilities only) is ``D`` alone.

    Returns
    -------
    factor : ndarray, shape (K, N)
    diag : ndarray, shape (N,)
    """
    if cov_annual is None:
        vol = np.zeros(n_assets) if vol_annual is None else np.asarray(vol_annual, dtype=float)
        return np.zeros((0, n_assets)), np.nan_to_num(vol)
    cov = np.asarray(cov_annual, dtype=np.float64)
    if not np.isfinite(cov).all():  # nan_to_num's own checks cost more than Cholesky
        cov = np.nan_to_num(cov)
    if not (cov == cov.T).all():  # a symmetric Σ (the estimators') is its own mean
        cov = cov + cov.T
        cov *= 0.5
    if n_assets <= EXACT_RISK_ASSETS:
        try:  # a positive definite Σ: its Cholesky factor, F = L' (F'F = L L' = Σ)
            return np.ascontiguousarray(np.linalg.cholesky(cov).T), np.zeros(n_assets)
        except np.linalg.LinAlgError:  # semi-definite or indefinite: clip its eigenvalues
            pass
        lam, vec = np.linalg.eigh(cov)
        lam = np.clip(lam, 0.0, None)
        return np.asarray(np.sqrt(lam)[:, None] * vec.T, dtype=np.float64), np.zeros(n_assets)
    k = min(N_FACTORS, n_assets)
    with one_blas_thread():  # two threads on a busy machine: 20-100 times the CPU
        lam, vec = leading_eigenpairs(cov, k)
    factor = np.sqrt(np.clip(lam, 0.0, None))[:, None] * vec.T
    resid = np.clip(np.diag(cov) - (factor**2).sum(axis=0), 0.0, None)
    return np.asarray(factor, dtype=np.float64), np.sqrt(resid)


def leading_eigenpairs(cov: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
    """The ``k`` largest eigenvalues of the symmetric ``cov`` (ascending) and their unit
    eigenvectors (columns), shape (k,) and (N, k).

    Implicitly restarted Lanczos (ARPACK's ``dsaupd`` through
    ``scipy.sparse.linalg.eigsh``) to full precision (``tol=0``) from a fixed start
    vector (:func:`lanczos_start`), so the same ``Σ`` gives the same pairs, to the bit,
    on every call (a backtest's day and the same day planned alone): ``O(k N^2)`` a
    restart, where LAPACK's subset driver (``scipy.linalg.eigh(..., driver="evr")``)
    first reduces ``Σ`` to tridiagonal form, ``O(N^3)``; 500 assets, one thread: about
    12 ms of CPU against 18 ms. The eigenvalues equal LAPACK's to about 1e-15 relative
    and ``F'F`` to about 1e-14 of ``max Σ``. Where the k-th and (k+1)-th eigenvalues
    tie, either method may return a different basis of the tied space (each an equally
    good rank-k approximation of ``Σ``). Where ARPACK fails (its iteration limit, or a
    ``Σ`` of zeros) or at ``k >= N - 1`` (outside its range) LAPACK's subset driver is
    used.
    """
    n = cov.shape[0]
    linalg: Any = importlib.import_module("scipy.linalg")
    if 0 < k < n - 1:
        sparse_linalg: Any = importlib.import_module("scipy.sparse.linalg")
        try:
            lam, vec = sparse_linalg.eigsh(cov, k=k, which="LA", tol=0.0,
                                           v0=lanczos_start(n))
        except sparse_linalg.ArpackError:
            pass
        else:
            order = np.argsort(lam, kind="stable")
            return np.asarray(lam[order], dtype=np.float64), np.asarray(vec[:, order],
                                                                        dtype=np.float64)
    lam, vec = linalg.eigh(cov, subset_by_index=[n - k, n - 1], driver="evr")
    return np.asarray(lam, dtype=np.float64), np.asarray(vec, dtype=np.float64)


@functools.cache
def lanczos_start(n: int) -> FloatArray:
    """The start vector of :func:`leading_eigenpairs` for ``n`` assets: fixed normal
    draws (seed 0), not the vector of ones, which is orthogonal to every eigenvector of
    the form ``(1, -1, 0, ...)`` (two assets of equal variance) and whose Krylov space
    would miss it."""
    start = np.random.default_rng(0).standard_normal(n)
    start.flags.writeable = False
    return start


def cost_terms(cost_fn: RowCosts, row: int, nav_usd: float
               ) -> tuple[FloatArray, tuple[tuple[FloatArray, float], ...]]:
    """Row ``row``'s cost model in fractions of NAV: κ (N,) and the power terms.

    ``cost_usd(a) = a κ + m Σ_k c_k a^p_k`` with ``a = NAV |z|`` gives
    ``cost/NAV = κ |z| + Σ_k (m c_k NAV^(p_k − 1)) |z|^p_k``: the coefficients of the
    cost table that :func:`driftwise.costs.trade_costs` evaluates (minimum ticket aside).
    """
    table = cost_fn.table
    which, mult = cost_fn.rows(max(cost_fn.n_rows, row + 1))
    p, m = int(which[row]), float(mult[row])
    m_flat = m if bool(table.flat_by_regime[p]) else 1.0
    linear = (table.spread_frac[p] * m + table.commission_frac[p]
              + table.flat_frac[p] * m_flat)
    powers = []
    for k in range(table.impact_power.shape[1]):
        coef = table.impact_coef[p, k]
        if coef.any():  # a non-zero (or NaN) coefficient
            power = float(table.impact_power[p, k])
            powers.append((np.asarray(m * coef * nav_usd ** (power - 1.0), dtype=np.float64),
                           power))
    return np.asarray(linear, dtype=np.float64), tuple(powers)


def bounds(weights: FloatArray, tradable: BoolArray, no_buy: BoolArray, no_sell: BoolArray,
           long_only: bool, max_weight: float) -> tuple[FloatArray, FloatArray]:
    """Bounds of the trade ``z`` (N,): the mandate first, the restrictions last.

    Long-only: ``w >= 0`` (a short is bought back); ``w <= max_weight`` (an asset above it
    is sold down); a do-not-buy asset is never bought, a do-not-sell one never sold, an
    asset not tradable today (no price, illiquid, outside the trigger's assets) fixed.
    """
    lower = -weights if long_only else np.full(weights.shape, -BOUND)
    upper = np.minimum(BOUND, max_weight - weights)
    lower = np.minimum(lower, upper)
    # each restriction only where it restricts (the steps skipped leave the bounds as they
    # are: lower <= upper already, every asset tradable)
    if no_buy.any():
        upper = np.where(no_buy, np.minimum(upper, 0.0), upper)
        lower = np.minimum(lower, upper)
    if no_sell.any():
        lower = np.where(no_sell, np.maximum(lower, 0.0), lower)
        upper = np.maximum(upper, lower)
    if not tradable.all():
        lower = np.where(tradable, lower, 0.0)
        upper = np.where(tradable, upper, 0.0)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def optimize_rows(*, weights: FloatArray, cash_weight: FloatArray, target: FloatArray,
                  nav_usd: FloatArray, active: BoolArray, tradable: BoolArray,
                  no_buy: BoolArray, no_sell: BoolArray, cost_fn: RowCosts,
                  constraints: Constraints, settings: OptimizerSettings,
                  cov_annual: FloatArray | None, vol_annual: FloatArray | None,
                  borrow_bps_annual: FloatArray | None = None,
                  horizon_days: float = float(TRADING_DAYS),
                  groups: IntArray | None = None,
                  factor_betas: FloatArray | None = None,
                  tax: TaxTerms | None = None) -> Optimized:
    """Solve the optimized destination for each active row.

    Parameters
    ----------
    weights : ndarray, shape (C, N)
        Current weights (fractions of NAV).
    cash_weight : ndarray, shape (C,)
    target : ndarray, shape (C, N)
    nav_usd : ndarray, shape (C,)
    active : ndarray of bool, shape (C,)
        Rows that rebalance today.
    tradable : ndarray of bool, shape (C, N)
        Assets that may trade (priced, liquid, within the trigger's assets).
    no_buy, no_sell : ndarray of bool, shape (C, N)
    cost_fn : RowCosts
        The day's cost model of each row (the one sizing prices with).
    constraints : Constraints
        Long-only, cash buffer, maximum turnover.
    settings : OptimizerSettings
    cov_annual : ndarray, shape (N, N), optional
    vol_annual : ndarray, shape (N,), optional
        Annualized risk (covariance preferred); neither: no risk term.
    borrow_bps_annual : ndarray, shape (N,), optional
        Borrow fee of shorts (weighed over ``horizon_days`` when shorts are allowed).
    horizon_days : float
        Benefit horizon ``H`` (trading days) over which an added short pays borrow.
    groups : ndarray of int, shape (N,), optional
        Group (sector) index of each asset, -1 for none; used with
        ``settings.group_deviation``.
    factor_betas : ndarray, shape (N, F), optional
        The day's factor betas (:meth:`driftwise.policy.factors.FactorHistory.betas`);
        needed when ``settings.factors`` has a bound or a penalty.
    tax : TaxTerms, optional
        The tax of each asset's sale from its lots (:mod:`driftwise.policy.tax_terms`),
        weighed by ``settings.tax_weight`` (:func:`solve_taxed`); long-only rows only.

    Returns
    -------
    Optimized
    """
    n_rows, n_assets = weights.shape
    factor, diag = risk_factor(cov_annual, vol_annual, n_assets)
    gam, gam_t = settings.per_row("gamma", n_rows), settings.trade_aversion(target)
    member = _membership(groups, n_assets, settings.group_deviation)
    fs = settings.factors
    if fs.active and factor_betas is None:
        raise ConfigError("optimizer: the factor targets (factor_bound, factor_penalty) need "
                          "the day's factor betas, which were not given")
    exposures = (np.asarray(factor_betas, dtype=np.float64).T if fs.active
                 and factor_betas is not None else np.zeros((0, n_assets)))
    out_z = np.zeros((n_rows, n_assets))
    benefit, marginal = np.zeros((n_rows, n_assets)), np.zeros((n_rows, n_assets))
    cost = np.zeros(n_rows)
    failed, screened = np.zeros(n_rows, dtype=bool), np.zeros(n_rows, dtype=bool)
    status = [""] * n_rows
    c = constraints
    tax_frac = np.zeros(n_rows)
    grad, tax_next = np.zeros((n_rows, n_assets)), np.zeros((n_rows, n_assets))
    plain = (_PlainRows.of(weights, target, tradable, no_buy, no_sell, cost_fn, factor, diag,
                           settings.max_weight)
             if tax is None and c.long_only and not len(member) and not len(exposures)
             else None)
    for r in np.flatnonzero(active):
        if plain is not None:
            key = (float(gam[r]), float(gam_t[r]), n_assets)
            done = plain.solve(int(r), float(cash_weight[r]), float(c.cash_buffer),
                               2.0 * min(float(c.max_turnover), BOUND), float(nav_usd[r]),
                               key, settings.warm, out_z, grad, benefit, marginal)
            if done is not None:
                status[r], cost[r] = done
                screened[r] = status[r] == "no trade"
                continue
        linear, powers = cost_terms(cost_fn, int(r), float(nav_usd[r]))
        lo, hi = bounds(weights[r], tradable[r], no_buy[r], no_sell[r], c.long_only,
                        settings.max_weight)
        borrow = (np.zeros(n_assets) if c.long_only or borrow_bps_annual is None
                  else np.asarray(borrow_bps_annual, dtype=np.float64) / BPS
                  * horizon_days / TRADING_DAYS)
        prob = RowProblem(
            drift=np.asarray(weights[r] - target[r], dtype=np.float64),
            weights=np.asarray(weights[r], dtype=np.float64), cash=float(cash_weight[r]),
            factor=factor, factor_diag=diag, linear=linear, powers=powers, borrow=borrow,
            lower=lo, upper=hi, cash_floor=float(c.cash_buffer),
            max_traded=2.0 * min(float(c.max_turnover), BOUND), groups=member,
            group_deviation=float(settings.group_deviation or 0.0), gamma=float(gam[r]),
            gamma_trade=float(gam_t[r]), exposures=exposures,
            exposure_bound=float("inf") if fs.bound is None else float(fs.bound),
            exposure_penalty=float(fs.penalty))
        key = (prob.gamma, prob.gamma_trade, n_assets)
        clean = False  # found's trades below TRADE_TOL already set to 0
        if tax is not None:
            if not c.long_only:
                raise ConfigError("optimizer: the tax of a sale is weighed for long-only "
                                  "mandates (tax lots are long); set constraints.long_only "
                                  "= true or use a formula destination")
            prob, found, status[r], screened[r] = solve_taxed(
                prob, tax, float(nav_usd[r]), float(settings.tax_weight))
        elif prob.zero_is_optimal():
            found, status[r], screened[r] = np.zeros(n_assets), "no trade", True
            clean = True
        else:
            found = (None if plain is not None  # its active set was tried, in vain
                     else warm_solve(prob, settings.warm.get(key), long_only=c.long_only))
            if found is not None:
                status[r] = "optimal"
            else:
                found, status[r] = solve_row(prob, long_only=c.long_only)
            if found is not None:  # the trades below, kept (read only) for the next row
                found = settings.warm[key] = np.where(np.abs(found) > TRADE_TOL, found, 0.0)
                clean = True
        if found is None:
            failed[r] = True
            continue
        z = found if clean else np.where(np.abs(found) > TRADE_TOL, found, 0.0)
        out_z[r] = z
        if prob.has_tax:
            tax_frac[r] = float(prob.trade_tax(z).sum())
        cost[r] = float(prob.trade_cost(z).sum())
        grad[r] = prob.risk_gradient(z)
        benefit[r] = np.abs(grad[r])
        marginal[r] = prob.gamma_trade * linear
        if prob.has_tax:
            tax_next[r] = prob.gamma_tax * prob.next_tax_rate(z)
    post = weights + out_z
    dest = post / (1.0 - cost)[:, None]
    return Optimized(out_z, np.asarray(dest, dtype=np.float64), out_z != 0.0, cost, benefit,
                     marginal, failed, screened, tuple(status), tax_frac, grad, tax_next)


@dataclass(eq=False)
class _PlainRows:
    """The rows of one :func:`optimize_rows` call that are long-only, without tax, groups
    or factor rows, each solved by one compiled call
    (:func:`driftwise.policy.activeset._kernels.plain_row`): its numbers, the no-trade
    screen, the warm active set with its KKT check, and the answer's cost and gradient, the
    same operations as the numpy path below it (``tests/policy/test_plain_row.py``). A row
    the active set does not settle is returned to that path (the interior point). Not
    used in the Python mode of the kernels (:mod:`driftwise._jit`): there the numpy path
    is the faster."""

    weights: FloatArray
    target: FloatArray
    tradable: BoolArray
    no_buy: BoolArray
    no_sell: BoolArray
    max_weight: float
    which: IntArray
    mult: FloatArray
    table: Any
    factor: FloatArray
    diag: FloatArray
    scratch: tuple[FloatArray, ...]
    cov: FloatArray | None = None
    """``F'F (+ diag(D²))`` as ``RowProblem.quadratic`` computes it before γ: built for the
    first row with a guess (the active set's Hessian; a row without one has no use for
    it)."""

    @classmethod
    def of(cls, weights: FloatArray, target: FloatArray, tradable: BoolArray,
           no_buy: BoolArray, no_sell: BoolArray, cost_fn: RowCosts, factor: FloatArray,
           diag: FloatArray, max_weight: float) -> _PlainRows | None:
        """The call's arrays as the kernel reads them; None in the Python mode."""
        from driftwise import _jit
        from driftwise._kernels import arg

        if _jit.mode() != "compiled":
            return None
        n_rows, n = weights.shape
        which, mult = cost_fn.rows(max(cost_fn.n_rows, n_rows))
        table = cost_fn.table
        n_terms = table.impact_power.shape[1]
        return cls(arg(weights, np.float64), arg(target, np.float64),
                   arg(tradable, np.bool_), arg(no_buy, np.bool_), arg(no_sell, np.bool_),
                   float(max_weight), arg(which, np.intp), arg(mult, np.float64),
                   table.kernel_table,
                   arg(factor, np.float64), arg(diag, np.float64),
                   (np.empty(n), np.empty(n), np.empty(n), np.empty(n),
                    np.empty((n_terms, n)), np.empty(n_terms)))

    def solve(self, r: int, cash: float, cash_floor: float, max_traded: float, nav: float,
              key: tuple[float, float, int], warm: dict[tuple[float, float, int], FloatArray],
              out_z: FloatArray, grad: FloatArray, benefit: FloatArray, marginal: FloatArray
              ) -> tuple[str, float] | None:
        """Row ``r`` solved into the rows of ``out_z`` ... ``marginal``: its status and
        cost, the answer kept in ``warm[key]``; None when the interior point must solve it
        (nothing written)."""
        from driftwise.policy.activeset import _kernels as ak

        guess = warm.get(key)
        if guess is not None and self.cov is None:
            cov = self.factor.T @ self.factor  # RowProblem.quadratic's Σ, before γ
            if self.diag.any():
                cov = cov + np.diag(self.diag**2)
            self.cov = np.ascontiguousarray(cov, dtype=np.float64)
        drift, lower, upper, linear, coefs, powers = self.scratch
        status, _, cost = ak.plain_row(
            r, self.weights, self.target, cash, cash_floor, max_traded, self.tradable,
            self.no_buy, self.no_sell, self.max_weight, BOUND, self.which, self.mult,
            self.table, nav, self.factor, self.diag,
            _NO_COV if self.cov is None else self.cov, key[0], key[1],
            _NO_GUESS if guess is None else guess, conic.ACTIVE_SET_ROUNDS, _POLISH_ZERO,
            TRADE_TOL, drift, lower, upper, linear, coefs, powers, out_z, grad, benefit, marginal)
        if status == ak.COLD:
            return None
        if status == ak.NO_TRADE:
            return "no trade", cost
        warm[key] = out_z[r].copy()
        return "optimal", cost


_NO_GUESS = np.zeros(0)
_NO_COV = np.zeros((0, 0))
_POLISH_ZERO = np.array(conic.POLISH_ZERO, dtype=np.float64)


def with_tax(prob: RowProblem, tax: TaxTerms, nav_usd: float, tax_weight: float,
             buy_side: BoolArray | None = None) -> RowProblem:
    """``prob`` with the tax term of ``tax`` (USD) in fractions of ``nav_usd``.

    An asset with a loss piece is on its **sell side** (``z_i <= 0``, its sale equal to
    its pieces' sum, so the loss counts only when sold) unless ``buy_side`` puts it on its
    buy side (``z_i >= 0``, no piece: a loss sold and bought back the same day would be
    washed). An asset holding lots is sold at most its pieces' value (the lots not held
    back: deferred or washed).
    """
    n = len(prob.drift)
    buy = np.zeros(n, dtype=bool) if buy_side is None else np.asarray(buy_side, dtype=bool)
    sell_side = tax.loss_assets & ~buy
    keep = ~buy[tax.asset]
    sellable = np.zeros(n)
    np.add.at(sellable, tax.asset[keep], tax.value_usd[keep] / nav_usd)
    lower, upper = prob.lower.copy(), prob.upper.copy()
    lower = np.where(tax.limited, np.maximum(lower, -sellable), lower)
    lower = np.where(buy, np.maximum(lower, 0.0), lower)
    upper = np.where(sell_side, np.minimum(upper, 0.0), upper)
    lower = np.minimum(lower, upper)
    return replace(prob, lower=lower, upper=upper, tax_asset=tax.asset[keep],
                   tax_cap=np.asarray(tax.value_usd[keep] / nav_usd, dtype=np.float64),
                   tax_rate=np.asarray(tax.rate[keep], dtype=np.float64),
                   tax_gain=np.asarray(tax.gain[keep], dtype=np.float64),
                   tax_exact=sell_side, gamma_tax=tax_weight,
                   gain_room=tax.gain_room_usd / nav_usd)


def solve_taxed(prob: RowProblem, tax: TaxTerms, nav_usd: float, tax_weight: float
                ) -> tuple[RowProblem, FloatArray | None, str, bool]:
    """One row with the tax term: the problem solved, its trades (None: failed), the
    status and whether the no-trade screen answered.

    The tax of ``z_i`` is that of its sale, ``max(−z_i, 0)``: convex for an asset whose
    every piece taxes (its rates >= 0), not for one with a loss piece, whose loss pays only
    when it is sold (a loss sold and bought back is a wash sale). So each such asset is
    given a side: first every one on its sell side (:func:`with_tax`); then those the
    answer leaves untraded while buying them would lower the objective (the first
    dollar's tracking gain ``−γ (Σ(w − t))_i`` above ``γ_trade κ_i``) move to their buy
    side and the row is solved again, from a problem of which the first answer is a
    feasible point of no larger objective. Each answer is the optimum of its convex
    problem; the choice of sides is the one step that is not. No warm start and no
    polish (:func:`driftwise.policy.conic.polish` knows no tax term): Clarabel's answer,
    exact to about 1e-8 of NAV.
    """
    base_upper = prob.upper
    first = with_tax(prob, tax, nav_usd, tax_weight)
    z, status, screened = _solve_one(first)
    if z is None:
        return first, None, status, False
    gain = -first.risk_gradient(z)
    flip = (tax.loss_assets & (z >= -TRADE_TOL) & (base_upper > 0.0)
            & (gain > first.gamma_trade * first.linear))
    if not flip.any():
        return first, z, status, screened
    second = with_tax(prob, tax, nav_usd, tax_weight, buy_side=flip)
    z2, status2, screened2 = _solve_one(second)
    if z2 is None or second.objective(z2) > first.objective(z) + 1e-12:
        return first, z, status, screened
    return second, z2, status2, screened2


def _solve_one(prob: RowProblem) -> tuple[FloatArray | None, str, bool]:
    if prob.zero_is_optimal():
        return np.zeros(len(prob.drift)), "no trade", True
    z, status = solve_row(prob, long_only=True)
    return z, status, False


def warm_solve(prob: RowProblem, guess: FloatArray | None, *, long_only: bool
               ) -> FloatArray | None:
    """The optimum from the active set of ``guess`` (the last answer of the same
    settings), without the interior point; None when it is not the optimum.

    :func:`driftwise.policy.conic.active_set_solve` starts from the guess's active set
    (assets at zero or at a bound, the others' signs), solves the stationarity conditions of
    the traded assets by Newton's method, moves the set while the conditions say so, and
    keeps the result only when it passes the KKT check of the whole problem (signs kept,
    every constraint slack, every untraded asset inside its no-trade band, every asset at
    a bound pushed against it: :func:`driftwise.policy.conic.polish`). The problem being
    convex (strictly, in the traded assets), a point passing the check is the optimum,
    whatever the guess:
    the answer a cold solve polishes to (a test holds the two within 1e-8). Long-only rows
    only (the polish's domain), and not when the guess no longer fits the row (another
    universe)."""
    if guess is None or not long_only or guess.shape != prob.drift.shape or not np.any(guess):
        return None
    return conic.active_set_solve(prob, guess)


def group_codes(labels: npt.ArrayLike) -> IntArray:
    """Group index of each asset (N,) from labels such as the security master's sector
    (None or NaN: no group, -1)."""
    values = list(np.asarray(labels, dtype=object).reshape(-1))
    known = sorted({str(v) for v in values if v is not None and v == v})
    code = {label: i for i, label in enumerate(known)}
    return np.array([code[str(v)] if v is not None and v == v else -1 for v in values],
                    dtype=np.intp)


def _membership(groups: IntArray | None, n_assets: int, deviation: float | None) -> FloatArray:
    if groups is None or deviation is None:
        return np.zeros((0, n_assets))
    g = np.asarray(groups, dtype=np.intp)
    labels = np.unique(g[g >= 0])
    return np.asarray((g[None, :] == labels[:, None]), dtype=np.float64)
