"""THE cost function of driftwise.

The planner, the backtest and the rule validation all price trades with :func:`trade_costs`
(or the linear-plus-power coefficients of :func:`cost_coefficients` it is built on), so
what the backtest proves is what the planner charges.

Per asset, in bps of traded value: ``half_spread * m + commission + impact * m`` with
``m`` the VIX regime multiplier, all times ``cost_scale``; plus borrow on shorts.
Trades are signed USD shaped ``(..., n_assets)``; leading axes are configurations (or
dates) and broadcast against a VIX shaped ``(...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._kernels import arg
from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.costs import _kernels as _k
from driftwise.costs.components import (
    BPS,
    AssetCostInputs,
    CostBreakdown,
    added_borrow_usd,
    borrow_cost_usd,
)
from driftwise.costs.impact import ImpactTerms, impact_terms
from driftwise.costs.params import CostParams
from driftwise.costs.regime import regime_multiplier
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, notice
from driftwise.metrics.liquidity import liquidity_days


@dataclass(frozen=True, eq=False)
class CostCoefficients:
    """Cost of a trade ``a = |trade_usd|`` as linear plus power terms (convex in ``a``).

    ``cost_usd = a * (spread_frac * m + commission_frac + flat_frac * m_flat)
    + m * sum_k c_k a**p_k``, with the commission at least ``min_ticket_usd`` when
    ``a > 0``. All per-asset arrays are shaped (n_assets,) and include ``cost_scale``.

    Attributes
    ----------
    spread_frac, commission_frac, flat_frac : ndarray, shape (n_assets,)
        USD of cost per USD traded.
    min_ticket_usd : ndarray, shape (n_assets,)
    impact : tuple of (ndarray of shape (n_assets,), float)
        Power terms ``(c_k, p_k)``.
    multiplier : ndarray, shape (...) + (1,) or ()
        VIX regime multiplier of spread and impact, ready to broadcast over assets.
    flat_by_regime : bool
        Whether ``flat_frac`` is multiplied by ``multiplier`` too.
    """

    spread_frac: FloatArray
    commission_frac: FloatArray
    flat_frac: FloatArray
    min_ticket_usd: FloatArray
    impact: ImpactTerms
    multiplier: FloatArray
    flat_by_regime: bool
    _tables: dict[int, CostTable] = field(default_factory=dict, repr=False)

    def table(self, n_assets: int) -> CostTable:
        """These coefficients as a one-set :class:`CostTable` (cached)."""
        if n_assets not in self._tables:
            self._tables[n_assets] = CostTable.stack([self], n_assets)
        return self._tables[n_assets]

    def multiplier_of_rows(self, shape: tuple[int, ...]) -> FloatArray:
        """The regime multiplier of every row of trades shaped ``shape`` (rows = all but
        the last axis), flattened to (rows,)."""
        return arg(np.broadcast_to(self.multiplier, (*shape[:-1], 1)),
                      dtype=np.float64).reshape(-1)


@dataclass(frozen=True, eq=False)
class CostTable:
    """The coefficients of P parameter sets over N assets, laid out for the cost kernel.

    A backtest batch may mix configurations whose cost parameters differ (cost levels,
    cost scale, VIX multipliers, impact models of a sweep): each row of a trade array
    names its set (:func:`row_trading_costs`). One set is the planner's case.

    Attributes
    ----------
    spread_frac, commission_frac, min_ticket_usd, flat_frac : ndarray, shape (P, N)
    flat_by_regime : ndarray of bool, shape (P,)
    impact_coef : ndarray, shape (P, K, N)
        Power-term coefficients, zero-padded to the most terms ``K`` of any set.
    impact_power : ndarray, shape (P, K)
        Their exponents (1.0 where padded).
    """

    spread_frac: FloatArray
    commission_frac: FloatArray
    min_ticket_usd: FloatArray
    flat_frac: FloatArray
    flat_by_regime: BoolArray
    impact_coef: FloatArray
    impact_power: FloatArray

    @cached_property
    def kernel_table(self) -> _k.Table:
        """The table as the compiled kernels read it, by field name
        (:class:`driftwise.costs._kernels.Table`; built once per table)."""
        return _k.Table(**{name: getattr(self, name) for name in _k.Table._fields})

    @property
    def n_assets(self) -> int:
        """N."""
        return int(self.spread_frac.shape[1])

    @classmethod
    def stack(cls, coefficients: Sequence[CostCoefficients], n_assets: int) -> CostTable:
        """The table of ``coefficients`` (set ``p`` = ``coefficients[p]``)."""
        def per_asset(name: str) -> FloatArray:
            out = np.empty((len(coefficients), n_assets))
            for p, c in enumerate(coefficients):
                out[p] = getattr(c, name)  # broadcasts a scalar or (n_assets,) values
            return out
        n_terms = max((len(c.impact) for c in coefficients), default=0)
        coef = np.zeros((len(coefficients), n_terms, n_assets))
        power = np.ones((len(coefficients), n_terms))
        for p, c in enumerate(coefficients):
            for k, (values, exponent) in enumerate(c.impact):
                coef[p, k] = values
                power[p, k] = exponent
        return cls(per_asset("spread_frac"), per_asset("commission_frac"),
                   per_asset("min_ticket_usd"), per_asset("flat_frac"),
                   np.array([c.flat_by_regime for c in coefficients], dtype=np.bool_), coef,
                   power)


@dataclass(frozen=True, eq=False)
class RowCosts:
    """The cost model of C rows of trades: what sizing prices trades with.

    Row ``c`` is priced with parameter set ``which[c]`` of ``table`` at regime multiplier
    ``multiplier[c]`` (a backtest batch mixes cost parameters; the planner has one row).
    Calling it maps signed trades (C, N) in USD to the trading cost of each (C, N) in
    USD, by the compiled kernel of :func:`trade_costs`; sizing evaluates the same kernel
    inside its own loops.

    Attributes
    ----------
    table : CostTable
    which : ndarray of int, shape (C,)
    multiplier : ndarray, shape (C,)
    """

    table: CostTable
    which: IntArray
    multiplier: FloatArray

    @classmethod
    def of(cls, coefficients: CostCoefficients, n_rows: int, n_assets: int) -> RowCosts:
        """One parameter set for ``n_rows`` rows (a VIX per row gives a multiplier per row)."""
        mult = np.broadcast_to(np.asarray(coefficients.multiplier, dtype=np.float64).reshape(-1),
                               (n_rows,))
        return cls(coefficients.table(n_assets), np.zeros(n_rows, dtype=np.intp),
                   arg(mult, dtype=np.float64))

    @classmethod
    def simple(cls, n_assets: int, *, rate: float = 0.0,
               terms: Sequence[tuple[float, float]] = (), min_ticket_usd: float = 0.0,
               n_rows: int = 1) -> RowCosts:
        """``cost = rate * |x| + sum_k c_k |x|**p_k`` (at least ``min_ticket_usd`` for a
        non-zero trade's linear part), the same for every asset and row."""
        zero = np.zeros(n_assets)
        co = CostCoefficients(zero, np.full(n_assets, float(rate)), zero,
                              np.full(n_assets, float(min_ticket_usd)),
                              tuple((np.full(n_assets, float(c)), float(p)) for c, p in terms),
                              np.asarray(1.0), False)
        return cls.of(co, n_rows, n_assets)

    @property
    def n_rows(self) -> int:
        """C."""
        return int(self.which.shape[0])

    def rows(self, n_rows: int) -> tuple[IntArray, FloatArray]:
        """``which`` and ``multiplier`` for ``n_rows`` rows (one row broadcasts).

        Raises
        ------
        ValueError
            Another number of rows.
        """
        if self.n_rows == n_rows:
            return self.which, self.multiplier
        if self.n_rows == 1:  # the one row's set (not always set 0: a window's table)
            return (np.full(n_rows, int(self.which[0]), dtype=np.intp),
                    np.full(n_rows, float(self.multiplier[0])))
        raise ValueError(f"cost model of {self.n_rows} rows used for {n_rows} rows")

    def take(self, rows: IntArray) -> RowCosts:
        """The cost model of ``rows``."""
        return RowCosts(self.table, arg(self.which[rows]),
                        arg(self.multiplier[rows]))

    def __call__(self, trade_usd: FloatArray) -> FloatArray:
        """Signed trades (C, N) USD -> trading cost per asset (C, N) USD."""
        x = arg(trade_usd, dtype=np.float64)
        if x.ndim == 1:
            which, mult = self.rows(1)
            return np.asarray(row_trading_costs(x[None, :], self.table, which, mult)[0],
                              dtype=np.float64)
        which, mult = self.rows(x.shape[0])
        return row_trading_costs(x, self.table, which, mult)

def cost_coefficients(inputs: AssetCostInputs, params: CostParams,
                      vix: npt.ArrayLike | None = None) -> CostCoefficients:
    """Per-asset cost coefficients for one day (what :func:`trade_costs` evaluates).

    Parameters
    ----------
    inputs : AssetCostInputs
    params : CostParams
    vix : float, array_like of shape (...), or None
        VIX close per configuration; None = lowest regime.

    Returns
    -------
    CostCoefficients

    Notes
    -----
    Assets with a tier all-in estimate (``inputs.all_in_bps`` not NaN) get zero spread,
    commission and impact and ``flat_frac = all_in_bps / 1e4``, scaled by the regime
    (it stands in for spread and impact). With ``params.flat_cost_bps`` set, every asset
    costs that flat rate and nothing else (regime-scaled only if
    ``params.scale_flat_by_regime``).
    """
    m = regime_multiplier(vix, params)
    m = m[..., None] if m.ndim else m
    s = params.cost_scale
    n = inputs.n_assets
    zero = np.zeros(n)
    if params.flat_cost_bps is not None:
        return CostCoefficients(zero, zero, np.full(n, params.flat_cost_bps / BPS * s), zero,
                                (), m, params.scale_flat_by_regime)
    spread = inputs.half_spread_bps / BPS * s
    commission = (inputs.commission_bps / BPS
                  + inputs.commission_per_share_usd / inputs.price_usd) * s
    ticket = inputs.min_ticket_usd * s
    terms = impact_terms(inputs.sigma_daily, inputs.adv_usd, inputs.outstanding_over_adv, params)
    impact = tuple((c * s, p) for c, p in terms)
    if inputs.all_modelled:  # the common case: no tier all-in estimate
        return CostCoefficients(spread, commission, zero, ticket, impact, m, True)
    model = inputs.modelled
    return CostCoefficients(np.where(model, spread, 0.0), np.where(model, commission, 0.0),
                            np.where(model, 0.0, inputs.all_in_bps / BPS * s),
                            np.where(model, ticket, 0.0),
                            tuple((np.where(model, c, 0.0), p) for c, p in impact), m, True)


def _zeros(shape: tuple[int, ...], out: FloatArray | None) -> FloatArray:
    """A zero component: ``out`` filled with 0, or a read-only zero view (no allocation)."""
    if out is not None:
        out.fill(0.0)
        return out
    return np.broadcast_to(np.float64(0.0), shape)


def _buffer(shape: tuple[int, ...], out: FloatArray | None) -> FloatArray:
    if out is None:
        return np.empty(shape)
    if (out.shape != shape or out.dtype != np.float64 or not out.flags.writeable
            or not out.flags.c_contiguous):
        raise ValueError(f"out buffers must be writable C-contiguous float64 arrays of shape "
                         f"{shape}; found {out.dtype} {out.shape}")
    return out


def trade_costs(
    trade_usd: npt.ArrayLike,
    inputs: AssetCostInputs,
    params: CostParams,
    vix: npt.ArrayLike | None = None,
    *,
    position_after_usd: npt.ArrayLike | None = None,
    holding_days: npt.ArrayLike = 1.0,
    position_before_usd: npt.ArrayLike | None = None,
    out: CostBreakdown | None = None,
    coefficients: CostCoefficients | None = None,
) -> CostBreakdown:
    """Cost of a trade, by component, in USD.

    Parameters
    ----------
    trade_usd : array_like, shape (..., n_assets)
        Signed traded value (positive = buy); leading axes are configurations/dates.
    inputs : AssetCostInputs
        Per-asset inputs, shape (n_assets,).
    params : CostParams
    vix : float, array_like of shape (...), or None
        VIX close, one per configuration (broadcast over assets); None = lowest regime.
    position_after_usd : array_like, shape (..., n_assets), optional
        Signed position after the trade; when given, borrow on its short part is
        charged over ``holding_days``. Leave it out in a backtest, which charges borrow
        every day with :func:`~driftwise.costs.components.borrow_cost_usd`.
    holding_days : float or array_like, broadcastable
        Trading days the position is held (default 1).
    position_before_usd : array_like, shape (..., n_assets), optional
        Signed position before the trade; with ``position_after_usd``, borrow is charged
        only on the short the trade opens or increases
        (:func:`~driftwise.costs.components.added_borrow_usd`).
    out : CostBreakdown, optional
        Preallocated writable float64 buffers of the result shape, reused in place (a
        backtest passes the same one every day: no allocation at all).
    coefficients : CostCoefficients, optional
        ``cost_coefficients(inputs, params, vix)`` computed once by the caller and reused
        over many calls of the same day (a pure cache: the result is identical); when
        given, ``params`` and ``vix`` are not read again.

    Returns
    -------
    CostBreakdown
        Arrays shaped like the broadcast of ``trade_usd`` and ``vix[..., None]`` (``out``
        when given). Without ``out`` and without a position, borrow is a read-only zero
        view, not an allocated array.

    Notes
    -----
    With ``a = |trade_usd|`` and ``m`` the VIX regime multiplier:

    * spread ``= a * half_spread_bps / 1e4 * m``;
    * commission ``= max(a * commission_bps / 1e4 + (a / price) * per_share, min_ticket)``
      for ``a > 0``, and 0 for ``a = 0``;
    * impact ``= a * impact(a / adv_usd) * m`` (:mod:`driftwise.costs.impact`);
    * flat ``= a * flat_frac`` (times ``m`` when regime-scaled): the tier all-in estimate
      or ``flat_cost_bps``;
    * every trading component times ``cost_scale``; a zero trade costs exactly 0.

    Buys and sells of the same size cost the same. Every component of every trade is
    computed in one compiled pass (:func:`driftwise.costs._kernels.cost_rows`, numba); the
    planner, the engine and the validation all call it through this function.
    """
    x = np.asarray(trade_usd, dtype=np.float64)
    co = cost_coefficients(inputs, params, vix) if coefficients is None else coefficients
    shape = np.broadcast_shapes(x.shape, co.multiplier.shape)
    n = shape[-1]
    rows = arg(x if x.shape == shape else np.broadcast_to(x, shape))
    if out is None:
        parts = [np.empty(shape) for _ in range(4)]
        total = np.empty(shape)
    else:
        parts = [_buffer(shape, b) for b in (out.spread_usd, out.commission_usd,
                                             out.impact_usd, out.flat_usd)]
        total = _buffer(shape, out.total_usd)
    mult = co.multiplier_of_rows(shape)
    spread_r, commission_r, impact_r, flat_r = (p.reshape(-1, n) for p in parts)
    _k.cost_rows(rows.reshape(-1, n), np.zeros(len(mult), dtype=np.intp), mult,
                 co.table(n).kernel_table, spread_r, commission_r, impact_r, flat_r,
                 total.reshape(-1, n))
    spread, commission, impact, flat = parts
    borrow_out = None if out is None else out.borrow_usd
    if position_after_usd is None:
        borrow = _zeros(shape, borrow_out)
    else:
        borrow = _buffer(shape, borrow_out)
        borrow[...] = (borrow_cost_usd(position_after_usd, inputs.borrow_bps_annual, holding_days)
                       if position_before_usd is None else
                       added_borrow_usd(position_before_usd, position_after_usd,
                                        inputs.borrow_bps_annual, holding_days))
        total += borrow
    return out if out is not None else CostBreakdown(spread, commission, impact, flat, borrow,
                                                     total)


def row_trading_costs(trade_usd: FloatArray, table: CostTable, which: IntArray,
                      multiplier: FloatArray,
                      scratch: Sequence[FloatArray] | None = None) -> FloatArray:
    """Trading cost (no borrow) of trades (R, N) whose rows use different parameter sets.

    Parameters
    ----------
    trade_usd : ndarray, shape (R, N)
        Signed trades (USD).
    table : CostTable
        P parameter sets.
    which : ndarray of int, shape (R,)
        The set of each row.
    multiplier : ndarray, shape (R,)
        The VIX regime multiplier of each row (its set's at its day's VIX).
    scratch : four ndarrays shaped (R, N), optional
        Reused buffers for the components (spread, commission, impact, flat).

    Returns
    -------
    ndarray, shape (R, N)
        Total trading cost per asset: the formulas of :func:`trade_costs`, by the same
        compiled kernel.
    """
    x = arg(trade_usd, dtype=np.float64)
    parts = list(scratch) if scratch is not None else [np.empty(x.shape) for _ in range(4)]
    total = np.empty(x.shape)
    _k.cost_rows(x, arg(which, dtype=np.intp),
                 arg(multiplier, dtype=np.float64), table.kernel_table,
                 parts[0], parts[1], parts[2], parts[3], total)
    return total


def cost_rate_bps(
    trade_usd: npt.ArrayLike,
    inputs: AssetCostInputs,
    params: CostParams,
    vix: npt.ArrayLike | None = None,
    *,
    marginal: bool = False,
) -> FloatArray:
    """All-in trading cost rate per asset, bps of traded value (borrow excluded).

    Parameters
    ----------
    trade_usd : array_like, shape (..., n_assets)
        Signed trade (USD).
    inputs, params, vix
        As in :func:`trade_costs`.
    marginal : bool
        False (default): the average rate ``cost / |trade|``, minimum ticket included.
        True: the marginal rate ``d cost / d|trade|`` (minimum ticket ignored), for
        optimizers and for sizing at the margin.

    Returns
    -------
    ndarray, shape (..., n_assets)
        At a zero trade, the limit as the trade goes to zero (spread + commission rate,
        no impact, no ticket), so the rate is always finite.

    Notes
    -----
    For an impact term ``c a**p`` the average rate is ``c a**(p-1)`` and the marginal
    rate ``p c a**(p-1)``; linear terms are the same in both.
    """
    a = np.abs(np.asarray(trade_usd, dtype=np.float64))
    co = cost_coefficients(inputs, params, vix)
    m = co.multiplier
    rate = co.spread_frac * m + co.flat_frac * (m if co.flat_by_regime else 1.0)
    commission: FloatArray = np.broadcast_to(co.commission_frac, a.shape)
    if not marginal and (co.min_ticket_usd > 0.0).any():
        with np.errstate(divide="ignore"):
            per_unit = np.where(a > 0.0, co.min_ticket_usd / np.where(a > 0.0, a, 1.0), 0.0)
        commission = np.maximum(co.commission_frac, per_unit)
    impact = np.zeros_like(a)
    for c, p in co.impact:
        impact += (p if marginal else 1.0) * c * a ** (p - 1.0)
    return np.asarray(BPS * (rate + commission + impact * m), dtype=np.float64)


def trade_shares(trade_usd: npt.ArrayLike, inputs: AssetCostInputs) -> FloatArray:
    """Signed trade in shares, ``trade_usd / price_usd``, shape (..., n_assets)."""
    return np.asarray(np.asarray(trade_usd, dtype=np.float64) / inputs.price_usd,
                      dtype=np.float64)


def liquidity_flags(
    trade_shares: npt.ArrayLike, inputs: AssetCostInputs, params: CostParams
) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Liquidity days and the illiquid and multi-day masks.

    Parameters
    ----------
    trade_shares : array_like, shape (..., n_assets)
        Signed trade in shares.
    inputs : AssetCostInputs
    params : CostParams
        ``participation``, ``illiquid_adv_usd``, ``illiquid_days``, ``multi_day_days``.

    Returns
    -------
    liquidity_days : ndarray, shape (..., n_assets)
        ``|trade_shares| / (participation * adv_shares)``.
    illiquid : ndarray of bool, shape (..., n_assets)
        ``adv_usd < illiquid_adv_usd`` (an asset property, set even for a zero trade)
        or ``liquidity_days > illiquid_days``.
    multi_day : ndarray of bool, shape (..., n_assets)
        ``liquidity_days > multi_day_days``.
    """
    days = liquidity_days(trade_shares, inputs.adv_shares, params.participation)
    illiquid = (inputs.adv_usd < params.illiquid_adv_usd) | (days > params.illiquid_days)
    multi_day = days > params.multi_day_days
    return days, np.asarray(illiquid, dtype=np.bool_), np.asarray(multi_day, dtype=np.bool_)


_INPUT_FLAGS = (("costs_estimated", Flag.ESTIMATED_COSTS), ("spread_estimated", Flag.TIER_SPREAD),
                ("liquidity_estimated", Flag.ESTIMATED_LIQUIDITY),
                ("volatility_estimated", Flag.NO_VOLATILITY), ("stale", Flag.STALE_COSTS))


def asset_flags(
    trade_usd: npt.ArrayLike,
    inputs: AssetCostInputs,
    params: CostParams,
    *,
    position_after_usd: npt.ArrayLike | None = None,
) -> list[tuple[Flag, BoolArray]]:
    """Every cost and liquidity flag as a per-asset mask, shape (n_assets,).

    A trade-dependent flag (illiquid, multi-day, estimated borrow) is set when it holds in
    any configuration of ``trade_usd`` (..., n_assets). Estimated borrow is set only for
    assets short after the trade (``position_after_usd`` < 0) with a default fee.
    """
    _, illiquid, multi = liquidity_flags(trade_shares(trade_usd, inputs), inputs, params)
    lead = tuple(range(illiquid.ndim - 1))
    out = [(flag, np.asarray(getattr(inputs, name), dtype=np.bool_))
           for name, flag in _INPUT_FLAGS]
    out.append((Flag.ILLIQUID, np.asarray(illiquid.any(axis=lead), dtype=np.bool_)))
    out.append((Flag.MULTI_DAY, np.asarray(multi.any(axis=lead), dtype=np.bool_)))
    if position_after_usd is not None:
        short = np.asarray(position_after_usd, dtype=np.float64) < 0.0
        short_any = np.asarray(short.any(axis=tuple(range(short.ndim - 1))), dtype=np.bool_)
        out.append((Flag.ESTIMATED_BORROW, short_any & inputs.borrow_estimated))
    return out


def cost_notices(
    trade_usd: npt.ArrayLike,
    inputs: AssetCostInputs,
    params: CostParams,
    *,
    position_after_usd: npt.ArrayLike | None = None,
) -> tuple[Notice, ...]:
    """Trade-dependent notices: illiquid, multi-day execution, estimated borrow on shorts.

    Input-dependent notices (tier fallbacks, stale costs) come from
    :func:`~driftwise.costs.build.build_cost_inputs`; this adds what depends on the trade.
    ``inputs.tickers`` must be set.
    """
    details = {
        Flag.ILLIQUID: f"ADV below ${params.illiquid_adv_usd:,.0f} or more than "
                       f"{params.illiquid_days:g} liquidity days at "
                       f"{params.participation:.0%} participation",
        Flag.MULTI_DAY: f"more than {params.multi_day_days:g} liquidity days at "
                        f"{params.participation:.0%} participation: execute over several days",
        Flag.ESTIMATED_BORROW: f"short with no quoted borrow fee: "
                               f"{params.default_borrow_bps_annual:g} bps a year assumed",
    }
    tickers = np.asarray(inputs.tickers, dtype=object)
    masks = asset_flags(trade_usd, inputs, params, position_after_usd=position_after_usd)
    return tuple(notice(flag, details[flag], tickers[mask]) for flag, mask in masks
                 if flag in details and mask.any())


def cost_table(
    trade_usd: pd.Series,
    inputs: AssetCostInputs,
    params: CostParams,
    vix: float | None = None,
    nav_usd: float | None = None,
    *,
    position_after_usd: pd.Series | None = None,
    holding_days: float = 1.0,
    position_before_usd: pd.Series | None = None,
) -> pd.DataFrame:
    """Per-asset cost table of one trade list (what ``driftwise costs`` prints).

    Parameters
    ----------
    trade_usd : pd.Series
        Signed trade in USD by ticker; tickers of ``inputs`` absent from it trade 0.
    inputs : AssetCostInputs
        With ``tickers`` set.
    params : CostParams
    vix : float, optional
        VIX close of the day (None = lowest regime).
    nav_usd : float, optional
        NAV for the ``total_bps_nav`` column (NaN when not given).
    position_after_usd : pd.Series, optional
        Signed position after the trade by ticker, for borrow on shorts.
    holding_days : float
        Trading days of borrow to charge (default 1).
    position_before_usd : pd.Series, optional
        Signed position before the trade by ticker: borrow only on the short the trade
        opens or increases, and the flag ``opens a short`` on such a sale.

    Returns
    -------
    pd.DataFrame
        Index ``ticker`` (order of ``inputs.tickers``); columns ``trade_usd``,
        ``trade_shares``, ``spread_usd``, ``commission_usd``, ``impact_usd``, ``flat_usd``,
        ``borrow_usd``, ``total_usd``, the same five trading components in bps of traded
        value (``*_bps``, NaN for a zero trade), ``total_bps_nav``, ``liquidity_days``,
        ``illiquid``, ``multi_day`` and ``flags`` (flag names joined by ``"; "``).

    Raises
    ------
    DataError
        ``trade_usd`` names a ticker ``inputs`` does not know, or holds NaN.
    """
    columns, index = cost_columns(trade_usd, inputs, params, vix, nav_usd,
                                  position_after_usd=position_after_usd,
                                  holding_days=holding_days,
                                  position_before_usd=position_before_usd)
    return pd.DataFrame(columns, index=index)


def cost_columns(
    trade_usd: pd.Series,
    inputs: AssetCostInputs,
    params: CostParams,
    vix: float | None = None,
    nav_usd: float | None = None,
    *,
    position_after_usd: pd.Series | None = None,
    holding_days: float = 1.0,
    position_before_usd: pd.Series | None = None,
) -> tuple[dict[str, Any], pd.Index]:
    """:func:`cost_table`'s columns before its frame is built, and its index: each
    column an array in the order of ``inputs.tickers``, ``flags`` a list of str (a
    caller that reads a few rows as arrays builds no frame)."""
    index = pd.Index(inputs.tickers, name="ticker", dtype=object)
    trade = _align(trade_usd, index, "trade_usd")
    position = None if position_after_usd is None else _align(position_after_usd, index,
                                                              "position_after_usd")
    before = None if position_before_usd is None else _align(position_before_usd, index,
                                                             "position_before_usd")
    return cost_arrays(trade, inputs, params, vix, nav_usd, position_after_usd=position,
                       holding_days=holding_days, position_before_usd=before), index


def cost_arrays(
    trade: FloatArray,
    inputs: AssetCostInputs,
    params: CostParams,
    vix: float | None = None,
    nav_usd: float | None = None,
    *,
    position_after_usd: FloatArray | None = None,
    holding_days: float = 1.0,
    position_before_usd: FloatArray | None = None,
) -> dict[str, Any]:
    """:func:`cost_columns` of a trade already laid out as ``inputs.tickers`` (finite
    float64 arrays, shape (n_assets,)): its columns, without the index (a caller holding
    arrays in the assets' order matches no labels)."""
    position, before = position_after_usd, position_before_usd
    costs = trade_costs(trade, inputs, params, vix, position_after_usd=position,
                        holding_days=holding_days,
                        position_before_usd=None if position is None else before)
    shares = trade_shares(trade, inputs)
    days, illiquid, multi = liquidity_flags(shares, inputs, params)
    # the columns gathered first, the frame built once
    columns: dict[str, Any] = {"trade_usd": trade, "trade_shares": shares}
    traded = np.abs(trade)
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in ("spread", "commission", "impact", "flat", "borrow", "total"):
            columns[f"{name}_usd"] = np.asarray(getattr(costs, f"{name}_usd"),
                                                dtype=np.float64)
        for name in ("spread", "commission", "impact", "flat"):
            columns[f"{name}_bps"] = np.where(
                traded > 0, BPS * np.asarray(columns[f"{name}_usd"]) / traded, np.nan)
        columns["trading_bps"] = np.where(traded > 0, BPS * costs.trading_usd / traded,
                                          np.nan)
    columns["total_bps_nav"] = (BPS * costs.total_usd / nav_usd) if nav_usd else np.nan
    columns["liquidity_days"] = days
    columns["illiquid"] = illiquid
    columns["multi_day"] = multi
    masks = asset_flags(trade, inputs, params, position_after_usd=position)
    if before is not None:
        masks.append((Flag.OPENS_SHORT, opens_short(trade, before)))
    columns["flags"] = ["; ".join(f.value for f, mask in masks if mask[i])
                        for i in range(len(trade))]
    return columns


def opens_short(trade_usd: npt.ArrayLike, position_before_usd: npt.ArrayLike) -> BoolArray:
    """Sales that open or increase a short: the position after is below
    ``min(position before, 0)``, shape of the broadcast."""
    trade = np.asarray(trade_usd, dtype=np.float64)
    before = np.asarray(position_before_usd, dtype=np.float64)
    return np.asarray((trade < 0.0) & (before + trade < np.minimum(before, 0.0)),
                      dtype=np.bool_)


def short_notices(trade_shares: pd.Series, shares_before: pd.Series) -> tuple[Notice, ...]:
    """One ``opens a short`` notice per sale larger than the position, in shares.

    Parameters
    ----------
    trade_shares : pd.Series
        Signed trade in shares by ticker.
    shares_before : pd.Series
        Signed shares held by ticker (absent = 0).
    """
    held = (shares_before if shares_before.index is trade_shares.index else  # (one universe)
            shares_before.reindex(trade_shares.index, fill_value=0.0)).to_numpy(
        dtype=np.float64)
    sold_all = trade_shares.to_numpy(dtype=np.float64)
    opening = opens_short(sold_all, held)  # element by element, as for one trade
    if not opening.any():
        return ()
    out = []
    for ticker, sold, before, opens in zip(trade_shares.index.tolist(), sold_all, held,
                                           opening.tolist(), strict=True):
        after = float(before + sold)
        if not opens:
            continue
        if before >= 0.0:
            text = f"sell exceeds the position: opens a short of {-after:g} shares"
        else:
            text = (f"sell increases the short by {before - after:g} shares "
                    f"(short {-after:g} shares after the trade)")
        out.append(notice(Flag.OPENS_SHORT, text + "; borrow is charged on it",
                          (str(ticker),)))
    return tuple(out)


def _align(values: pd.Series, index: pd.Index, name: str) -> FloatArray:
    same = len(values) == len(index) and values.index.tolist() == index.tolist()
    unknown = index[:0] if same else values.index.difference(index)
    if len(unknown):
        raise DataError(f"{name} names tickers without cost inputs", file=f"<{name}>",
                        field="ticker", expected="tickers of the cost inputs",
                        found=", ".join(map(str, unknown[:10])))
    aligned = (np.array(values.to_numpy(dtype=np.float64), dtype=np.float64) if same else
               values.astype(float).reindex(index, fill_value=0.0).to_numpy(dtype=np.float64))
    if not np.isfinite(aligned).all():
        bad = index[~np.isfinite(aligned)][0]
        raise DataError(f"{name} is not finite", file=f"<{name}>", field=str(bad),
                        expected="a finite number", found=repr(values[bad]))
    return np.asarray(aligned, dtype=np.float64)
