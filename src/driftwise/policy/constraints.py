"""Trading constraints of a rebalance (SPEC section 5, "Constraints").

:class:`Constraints` is the validated value object (long-only mandate, cash buffer,
minimum trade, whole shares, do-not-buy / do-not-sell lists, maximum turnover). The
functions below apply one constraint each to a batch of trades shaped ``(C, N)``
(``C`` configurations, ``N`` assets, signed USD, positive = buy);
:func:`~driftwise.policy.sizing.size_trades` chains them in the documented order.
Each returns the new trades and a mask of where it changed something, so the planner
can explain every binding constraint.

Cost functions are injected (:data:`CostFn`): signed trades ``(C, N)`` in USD to the
cost of each trade ``(C, N)`` in USD, elementwise per asset, ``>= 0`` and exactly 0
for a zero trade. A cost function may reuse its output buffer between calls: nothing
here holds a cost array across two calls, and ``SizingResult.cost_usd`` is the array
the last call returned (copy it before calling the cost function again).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._jit import kernel
from driftwise.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CostFn = Callable[[FloatArray], FloatArray]
"""Signed trades in USD, shape (C, N) -> cost in USD per asset, shape (C, N)."""

SHARE_SNAP = 1e-9
"""A trade within this many shares of a whole number is that whole number (rounding
noise of ``weight * NAV / price``), so selling a whole position never leaves a share."""

_CASH_POLISH_ROUNDS = 60


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
    x = np.ascontiguousarray(trade_usd, dtype=np.float64)
    out = np.empty_like(x)
    small = np.empty(x.shape, dtype=np.bool_)
    if not _drop_kernel(x.reshape(-1, x.shape[-1]), np.ascontiguousarray(floor_usd),
                        out.reshape(-1, x.shape[-1]), small.reshape(-1, x.shape[-1])):
        return trade_usd, None
    return out, small


@kernel
def _drop_kernel(x: FloatArray, floor: FloatArray, out: FloatArray, small: BoolArray) -> bool:
    """``small = 0 < |x| < floor``; ``out = 0`` there, ``x`` elsewhere; any small."""
    found = False
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            a = abs(x[r, i])
            hit = a < floor[i] and a > 0.0
            small[r, i] = hit
            out[r, i] = 0.0 if hit else x[r, i]
            found |= hit
    return found


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
    Turnover ``= 0.5 * sum_i |trade_i| / NAV`` (SPEC section 8). Every trade of a
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
    x = np.ascontiguousarray(trade_usd, dtype=np.float64)
    n = x.shape[-1]
    value, shares = np.empty_like(x), np.empty_like(x)
    changed = np.empty(x.shape, dtype=np.bool_)
    _whole_kernel(x.reshape(-1, n), np.ascontiguousarray(np.broadcast_to(prices_usd, (n,)),
                                                         dtype=np.float64),
                  value.reshape(-1, n), shares.reshape(-1, n), changed.reshape(-1, n))
    return value, shares, changed


@kernel
def _whole_kernel(x: FloatArray, prices: FloatArray, value: FloatArray, shares: FloatArray,
                  changed: BoolArray) -> None:
    """Per trade: ``raw = x / price``, snapped to the nearest whole number within
    ``SHARE_SNAP * max(1, |nearest|)``, else truncated toward zero."""
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            raw = x[r, i] / prices[i]
            near = np.rint(raw)
            snap = abs(raw - near) <= SHARE_SNAP * max(1.0, abs(near))
            whole = near if snap else np.trunc(raw)
            shares[r, i] = whole
            value[r, i] = whole * prices[i]
            changed[r, i] = not snap


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


def fit_cash(trade_usd: FloatArray, *, cash_usd: FloatArray, nav_usd: FloatArray,
             cash_floor: float, cost_fn: CostFn, prices_usd: FloatArray,
             cost_usd: FloatArray | None = None, whole_shares: bool = False,
             min_trade_usd: float = 0.0, min_trade_shares: float = 0.0, tol: float = 1e-12,
             max_iter: int = 50) -> CashFit:
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
    cost_fn : CostFn
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
    x = trade_usd
    k = cost_fn(x) if cost_usd is None else cost_usd
    total_k = k.sum(axis=1)
    cash_after = cash_usd - x.sum(axis=1) - total_k
    need = cash_after < cash_floor * (nav_usd - total_k)
    if not need.any():
        return CashFit(x, k, need, need)
    buys = np.where(need[:, None] & (x > 0.0), x, 0.0)
    sells = x - buys
    big_b = buys.sum(axis=1)
    k_sell = np.where(sells != 0.0, k, 0.0).sum(axis=1)
    k_buy = total_k - k_sell
    avail = cash_usd - sells.sum(axis=1) - cash_floor * nav_usd - (1.0 - cash_floor) * k_sell
    with np.errstate(divide="ignore", invalid="ignore"):
        s = _scale_step(avail, big_b, k_buy, np.ones_like(big_b), cash_floor, need)
        done = ~need | (s <= 0.0)
        for _ in range(max_iter):
            if done.all():
                break
            kb = _buy_cost(cost_fn, sells, buys, s)
            s_new = _scale_step(avail, big_b, kb, s, cash_floor, ~done)
            done |= np.abs(s_new - s) <= tol
            s = s_new
    return _polish(x, sells, buys, s, need, cash_usd=cash_usd, nav_usd=nav_usd,
                   cash_floor=cash_floor, cost_fn=cost_fn, prices_usd=prices_usd,
                   whole_shares=whole_shares, min_trade_usd=min_trade_usd,
                   min_trade_shares=min_trade_shares)


def _scale_step(avail: FloatArray, big_b: FloatArray, k_buy: FloatArray, s: FloatArray,
                floor: float, rows: BoolArray) -> FloatArray:
    rate = np.where(s > 0.0, k_buy / (s * big_b), 0.0)
    new = np.clip(avail / (big_b * (1.0 + (1.0 - floor) * rate)), 0.0, 1.0)
    return np.where(rows & (avail > 0.0) & (big_b > 0.0), new, np.where(rows, 0.0, s))


def _buy_cost(cost_fn: CostFn, sells: FloatArray, buys: FloatArray, s: FloatArray) -> FloatArray:
    scaled = buys * s[:, None]
    return np.asarray(np.where(scaled > 0.0, cost_fn(sells + scaled), 0.0).sum(axis=1))


def _polish(x: FloatArray, sells: FloatArray, buys: FloatArray, s: FloatArray, need: BoolArray,
            *, cash_usd: FloatArray, nav_usd: FloatArray, cash_floor: float, cost_fn: CostFn,
            prices_usd: FloatArray, whole_shares: bool, min_trade_usd: float,
            min_trade_shares: float) -> CashFit:
    """Apply ``s`` with rounding and minimums, then shave it until the floor holds."""
    s = np.where(need, s, 1.0)
    shares: FloatArray | None = None
    for _ in range(_CASH_POLISH_ROUNDS):
        new = np.where(need[:, None], sells + buys * s[:, None], x)
        if whole_shares:
            new, shares, _ = round_to_whole_shares(new, prices_usd)
        new, _ = drop_small_trades(new, prices_usd, min_trade_usd=min_trade_usd,
                                   min_trade_shares=min_trade_shares)
        k = cost_fn(new)
        total_k = k.sum(axis=1)
        cash_after = cash_usd - new.sum(axis=1) - total_k
        shortfall = cash_floor * (nav_usd - total_k) - cash_after
        bad = need & (shortfall > 0.0) & (s > 0.0)
        if not bad.any():
            short = need & (shortfall > 0.0)
            return CashFit(new, k, need, short, shares)
        big_b = buys.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            cut = 2.0 * shortfall / big_b + 4.0 * np.finfo(np.float64).eps
        s = np.where(bad, np.maximum(s * (1.0 - 4.0 * np.finfo(np.float64).eps) - cut, 0.0), s)
    raise ConfigError("cash constraint did not converge: the cost model is not increasing "
                      "in the trade size")  # pragma: no cover - defensive
