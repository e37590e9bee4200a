"""Trading constraints of a rebalance.

:class:`Constraints` is the validated value object (long-only mandate, cash buffer,
minimum trade, whole shares, do-not-buy / do-not-sell lists, maximum turnover). The
functions below apply one constraint each to a batch of trades shaped ``(C, N)``
(``C`` configurations, ``N`` assets, signed USD, positive = buy);
:func:`~driftwise.policy.sizing.size_trades` chains them in the documented order.
Each returns the new trades and a mask of where it changed something, so the planner
can explain every binding constraint.

Costs come as a :class:`~driftwise.costs.RowCosts` (:data:`CostFn`): the cost model of
each row of trades, callable on signed trades ``(C, N)`` in USD, and evaluated by the
compiled cash fit itself (:mod:`driftwise.policy._kernels`) inside its loops.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from driftwise._kernels import arg
from driftwise._types import BoolArray, FloatArray
from driftwise.costs.model import RowCosts
from driftwise.errors import ConfigError
from driftwise.policy import _kernels as _k

CostFn = RowCosts
"""The cost model of the rows of a trade array (callable: trades (C, N) -> costs (C, N))."""

FIXED_POINT_TOL = 1e-12
"""Default relative tolerance of the cost fixed points of sizing and the cash fit."""
FIXED_POINT_MAX_ITER = 50
"""Their default iteration limit."""


def no_cash_fit_error() -> ConfigError:
    """The error of a cash fit that does not converge (a cost model not increasing)."""
    return ConfigError("cash constraint did not converge: the cost model is not increasing "
                       "in the trade size")


def cost_model(cost_fn: object, where: str) -> RowCosts:
    """``cost_fn`` checked to be the :class:`~driftwise.costs.RowCosts` the kernels price
    trades with.

    Raises
    ------
    ConfigError
        Anything else (a plain function cannot be called from compiled code).
    """
    if not isinstance(cost_fn, RowCosts):
        raise ConfigError(f"{where}: cost_fn must be a driftwise.costs.RowCosts (for example "
                          "RowCosts.of(cost_coefficients(inputs, params, vix), n_rows, "
                          f"n_assets)); found {type(cost_fn).__name__}")
    return cost_fn


SHARE_SNAP = _k.SHARE_SNAP
"""A trade within this many shares of a whole number is that whole number (rounding
noise of ``weight * NAV / price``), so selling a whole position never leaves a share."""


@dataclass(frozen=True)
class Constraints:
    """Constraints on one rebalance, validated when built.

    Attributes
    ----------
    long_only : bool
        No destination weight below 0 (a short is bought back) and no sale larger than
        the position.
    cash_buffer : float
        Minimum cash weight after trading, fraction of the post-trade NAV, in [0, 1).
    min_trade_usd : float
        Trades smaller than this (absolute USD) are dropped.
    min_trade_shares : float
        Trades smaller than this many shares (absolute) are dropped.
    whole_shares : bool
        Trade whole shares only (rounded toward zero); False = fractional shares.
    do_not_buy, do_not_sell : frozenset of str
        Restricted tickers (upper-cased; any iterable of strings is accepted). A ticker
        outside the universe is ignored.
    max_turnover : float
        Maximum one-way turnover of one rebalance, ``0.5 * sum|trade_usd| / NAV``
        (fraction, > 0; ``inf`` = no limit).
    """

    long_only: bool = True
    cash_buffer: float = 0.0
    min_trade_usd: float = 0.0
    min_trade_shares: float = 0.0
    whole_shares: bool = False
    do_not_buy: frozenset[str] = field(default_factory=frozenset)
    do_not_sell: frozenset[str] = field(default_factory=frozenset)
    max_turnover: float = math.inf

    def __post_init__(self) -> None:
        for name in ("long_only", "whole_shares"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"constraints: '{name}' must be true or false, "
                                  f"found {getattr(self, name)!r}")
        _check_number("cash_buffer", self.cash_buffer, low=0.0, high=1.0, high_open=True)
        _check_number("min_trade_usd", self.min_trade_usd, low=0.0)
        _check_number("min_trade_shares", self.min_trade_shares, low=0.0)
        _check_number("max_turnover", self.max_turnover, low=0.0, low_open=True,
                      allow_inf=True)
        for name in ("do_not_buy", "do_not_sell"):
            object.__setattr__(self, name, _ticker_set(name, getattr(self, name)))

    def masks(self, tickers: pd.Index) -> tuple[BoolArray, BoolArray]:
        """Restricted-list masks aligned to the universe.

        Parameters
        ----------
        tickers : pd.Index
            The asset universe (N tickers), in the order of the arrays.

        Returns
        -------
        no_buy, no_sell : ndarray of bool, shape (N,)
        """
        upper = pd.Index([str(t).strip().upper() for t in tickers])
        no_buy = np.asarray(upper.isin(list(self.do_not_buy)), dtype=bool)
        no_sell = np.asarray(upper.isin(list(self.do_not_sell)), dtype=bool)
        return no_buy, no_sell


def _check_number(name: str, value: object, *, low: float, high: float = math.inf,
                  low_open: bool = False, high_open: bool = False,
                  allow_inf: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    v = float(value) if ok else math.nan  # type: ignore[arg-type]
    if ok and math.isinf(v):
        ok = allow_inf and v > 0
    elif ok:
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open or math.isinf(high) else "]"
        raise ConfigError(f"constraints: '{name}' must be a number in {lo}{low:g}, {high:g}{hi}, "
                          f"found {value!r}")


def _ticker_set(name: str, value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"constraints: '{name}' must be a list of tickers, found {value!r}")
    items = list(value)
    bad = [v for v in items if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ConfigError(f"constraints: '{name}' must hold ticker strings, found {bad[0]!r}")
    return frozenset(v.strip().upper() for v in items)


def drop_small_trades(trade_usd: FloatArray, prices_usd: FloatArray, *, min_trade_usd: float,
                      min_trade_shares: float) -> tuple[FloatArray, BoolArray | None]:
    """Set trades below the minimum size to zero.

    Parameters
    ----------
    trade_usd : ndarray, shape (C, N)
        Signed trades in USD.
    prices_usd : ndarray, shape (N,)
        Positive prices (USD per share).
    min_trade_usd, min_trade_shares : float
        A non-zero trade with ``|usd| < min_trade_usd`` or ``|usd| / price <
        min_trade_shares`` is dropped.

    Returns
    -------
    trade_usd : ndarray, shape (C, N)
    dropped : ndarray of bool, shape (C, N), or None when nothing was dropped
    """
    if min_trade_usd <= 0.0 and min_trade_shares <= 0.0:
        return trade_usd, None
    floor_usd = np.maximum(min_trade_usd, min_trade_shares * prices_usd)
    x = arg(trade_usd, dtype=np.float64)
    out = np.empty_like(x)
    small = np.empty(x.shape, dtype=np.bool_)
    n = x.shape[-1]
    if not _k.drop_rows(x.reshape(-1, n), arg(np.broadcast_to(floor_usd, (n,))),
                        out.reshape(-1, n), small.reshape(-1, n)):
        return trade_usd, None
    return out, small


def cap_turnover(trade_usd: FloatArray, nav_usd: FloatArray,
                 max_turnover: float) -> tuple[FloatArray, BoolArray | None]:
    """Scale each configuration's trades so one-way turnover is at most ``max_turnover``.

    Parameters
    ----------
    trade_usd : ndarray, shape (C, N)
    nav_usd : ndarray, shape (C,)
        Pre-trade NAV.
    max_turnover : float
        Fraction of NAV, ``inf`` for no limit.

    Returns
    -------
    trade_usd : ndarray, shape (C, N)
    scaled : ndarray of bool, shape (C,), or None when no configuration was scaled

    Notes
    -----
    Turnover ``= 0.5 * sum_i |trade_i| / NAV``. Every trade of a
    configuration is multiplied by ``min(1, max_turnover * NAV / (0.5 * sum|trade|))``,
    which keeps the direction of the rebalance.
    """
    if math.isinf(max_turnover):
        return trade_usd, None
    half_gross = 0.5 * np.abs(trade_usd).sum(axis=1)
    limit = max_turnover * nav_usd
    over = half_gross > limit
    if not over.any():
        return trade_usd, None
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(over, limit / half_gross, 1.0)
    return trade_usd * factor[:, None], over


def round_to_whole_shares(trade_usd: FloatArray, prices_usd: FloatArray
                          ) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Round trades to whole shares toward zero.

    Parameters
    ----------
    trade_usd : ndarray, shape (C, N)
    prices_usd : ndarray, shape (N,)
        Positive prices.

    Returns
    -------
    trade_usd : ndarray, shape (C, N)
        ``shares * price``.
    trade_shares : ndarray, shape (C, N)
        Whole numbers (float dtype).
    changed : ndarray of bool, shape (C, N)
        Where rounding removed a fraction of a share.

    Notes
    -----
    Toward zero, so a sale never exceeds the position and a purchase never exceeds
    the cash planned for it. A trade within ``SHARE_SNAP`` of a whole number is that
    number (``w * NAV / price`` of a 10-share position may compute as 9.9999999999).
    """
    x = arg(trade_usd, dtype=np.float64)
    n = x.shape[-1]
    value, shares = np.empty_like(x), np.empty_like(x)
    changed = np.empty(x.shape, dtype=np.bool_)
    _k.whole_rows(x.reshape(-1, n), arg(np.broadcast_to(prices_usd, (n,)), dtype=np.float64),
                  value.reshape(-1, n), shares.reshape(-1, n), changed.reshape(-1, n))
    return value, shares, changed


@dataclass(frozen=True)
class CashFit:
    """Result of :func:`fit_cash`: trades, their costs and where buys were scaled."""

    trade_usd: FloatArray
    cost_usd: FloatArray
    scaled: BoolArray
    """Shape (C,): buys were scaled down."""
    short: BoolArray
    """Shape (C,): the cash requirement still fails (the sells alone do not meet it)."""
    trade_shares: FloatArray | None = None
    cash_after_usd: FloatArray | None = None
    """Shape (C,): ``cash - sum(trades) - sum(costs)`` with the sums the check used (it
    meets the floor exactly; a sum in another order may differ in the last bits)."""


def fit_cash(trade_usd: FloatArray, *, cash_usd: FloatArray, nav_usd: FloatArray,
             cash_floor: float, cost_fn: CostFn, prices_usd: FloatArray,
             cost_usd: FloatArray | None = None, whole_shares: bool = False,
             min_trade_usd: float = 0.0, min_trade_shares: float = 0.0,
             tol: float = FIXED_POINT_TOL, max_iter: int = FIXED_POINT_MAX_ITER) -> CashFit:
    """Scale each configuration's buys down until cash after trading meets the floor.

    Parameters
    ----------
    trade_usd : ndarray, shape (C, N)
        Signed trades in USD; the sells (negative) are kept as they are.
    cash_usd : ndarray, shape (C,)
        Cash before trading.
    nav_usd : ndarray, shape (C,)
        NAV before trading.
    cash_floor : float
        Required cash weight after trading, fraction of the post-trade NAV (0 = cash
        never negative; the cash buffer otherwise).
    cost_fn : RowCosts
        The cost model of each row (one row serves every row).
    prices_usd : ndarray, shape (N,)
        Positive prices.
    cost_usd : ndarray, shape (C, N), optional
        ``cost_fn(trade_usd)`` when already known (saves one evaluation).
    whole_shares : bool
        Scaled buys are rounded down to whole shares.
    min_trade_usd, min_trade_shares : float
        Scaled buys that fall below the minimum are dropped.
    tol : float
        Convergence tolerance on the scale factor.
    max_iter : int

    Returns
    -------
    CashFit

    Notes
    -----
    Sells before buys: with ``S`` the sum of sells, ``B`` of buys, ``K_s`` and
    ``K_b(s)`` their costs when the buys are multiplied by ``s`` and ``f`` the floor,
    cash after trading ``cash - S - s B - K_s - K_b(s)`` must be at least
    ``f * (NAV - K_s - K_b(s))``. Each configuration gets the largest ``s`` in [0, 1]
    that holds, by the fixed point ``s = A / (B (1 + (1 - f) rho(s)))`` with
    ``A = cash - S - f NAV - (1 - f) K_s`` and ``rho(s) = K_b(s) / (s B)`` the average
    cost rate of the buys. Its slope is ``s rho'(s)``, far below 1 for any realistic
    cost model, so it contracts; a linear cost converges in one step. A final check
    on the trades as rounded shaves ``s`` (by the shortfall) until the floor holds
    exactly in floating point. When ``A <= 0`` even ``s = 0`` fails: the buys are
    dropped and ``short`` is set (the sells are not enlarged).
    """
    x = arg(trade_usd, dtype=np.float64)
    n_rows, n_assets = x.shape
    cost_fn = cost_model(cost_fn, "fit_cash")
    k = arg(cost_fn(x) if cost_usd is None else cost_usd, dtype=np.float64)
    prices = arg(np.broadcast_to(prices_usd, (n_assets,)), dtype=np.float64)
    use_min = min_trade_usd > 0.0 or min_trade_shares > 0.0
    floor_usd = arg(np.maximum(min_trade_usd, min_trade_shares * prices))
    which, mult = cost_fn.rows(n_rows)
    out, out_k, shares = (np.empty_like(x) for _ in range(3))
    scaled = np.zeros(n_rows, dtype=np.bool_)
    short = np.zeros(n_rows, dtype=np.bool_)
    sums = np.zeros((n_rows, 2))
    cash = arg(np.broadcast_to(cash_usd, (n_rows,)), dtype=np.float64)
    status = _k.fit_cash_rows(x, k, cash, arg(np.broadcast_to(nav_usd, (n_rows,)),
                                                  dtype=np.float64),
                              float(cash_floor), prices, bool(whole_shares), floor_usd, use_min,
                              which, mult, cost_fn.table.kernel_table, float(tol), int(max_iter),
                              out, out_k, shares, scaled, short, sums)
    if status != _k.OK:
        raise no_cash_fit_error()
    after = cash - sums[:, 0] - sums[:, 1]
    if not scaled.any():  # every row funded: the trades as given
        return CashFit(trade_usd, k, scaled, short, cash_after_usd=after)
    return CashFit(out, out_k, scaled, short, shares if whole_shares else None, after)
