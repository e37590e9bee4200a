"""Per-asset cost inputs, the cost breakdown, and the non-impact cost components.

Everything is in USD or bps of traded value; trades are signed USD (positive = buy)
shaped ``(..., n_assets)`` where the leading axes (configurations, dates) broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np
import numpy.typing as npt

from driftwise._types import TRADING_DAYS, BoolArray, FloatArray
from driftwise.errors import DataError

BPS = 1e4
"""Basis points per unit."""

BORROW_DAYS_PER_YEAR = TRADING_DAYS
"""Trading days per year over which ``borrow_bps_annual`` accrues (see :func:`borrow_cost_usd`)."""

_UNSET_F: FloatArray = np.empty(0, dtype=np.float64)
_UNSET_B: BoolArray = np.empty(0, dtype=np.bool_)

_REQUIRED = ("price_usd", "half_spread_bps", "commission_bps", "commission_per_share_usd",
             "min_ticket_usd", "sigma_daily", "adv_shares", "borrow_bps_annual")
_MASKS = ("spread_estimated", "costs_estimated", "liquidity_estimated",
          "volatility_estimated", "borrow_estimated", "stale")


@dataclass(frozen=True, eq=False)
class AssetCostInputs:
    """Cost inputs of one universe on one day; every array is shaped (n_assets,).

    Attributes
    ----------
    price_usd : ndarray
        Price per share (USD), positive.
    half_spread_bps : ndarray
        Half the quoted bid-ask spread, bps of price (paid once per trade).
    commission_bps : ndarray
        Commission in bps of traded value.
    commission_per_share_usd : ndarray
        Commission in USD per share (added to ``commission_bps``).
    min_ticket_usd : ndarray
        Minimum commission per non-zero trade (USD).
    sigma_daily : ndarray
        Daily volatility (fraction).
    adv_shares : ndarray
        Average daily volume in shares, positive.
    borrow_bps_annual : ndarray
        Stock-borrow fee on short market value, bps a year.
    outstanding_over_adv : ndarray, optional
        ``Theta / V`` (shares outstanding over ADV) for the Almgren model; NaN = unknown.
    all_in_bps : ndarray, optional
        One-way all-in cost replacing spread, commission and impact where not NaN
        (the "estimated costs" tier fallback).
    spread_estimated, costs_estimated, liquidity_estimated, volatility_estimated, \
borrow_estimated, stale : ndarray of bool, optional
        Which values are fallbacks (tier spread, tier all-in, ADV proxy, volatility
        proxy, default borrow fee) and which come from stale cost inputs.
    tickers : tuple of str, optional
        The asset order (empty when built from bare arrays).

    Raises
    ------
    DataError
        Arrays of different shapes, or a non-finite, negative (or, for price and ADV,
        zero) value; the message names the field and the ticker.
    """

    price_usd: FloatArray
    half_spread_bps: FloatArray
    commission_bps: FloatArray
    commission_per_share_usd: FloatArray
    min_ticket_usd: FloatArray
    sigma_daily: FloatArray
    adv_shares: FloatArray
    borrow_bps_annual: FloatArray
    outstanding_over_adv: FloatArray = field(default_factory=lambda: _UNSET_F)
    all_in_bps: FloatArray = field(default_factory=lambda: _UNSET_F)
    spread_estimated: BoolArray = field(default_factory=lambda: _UNSET_B)
    costs_estimated: BoolArray = field(default_factory=lambda: _UNSET_B)
    liquidity_estimated: BoolArray = field(default_factory=lambda: _UNSET_B)
    volatility_estimated: BoolArray = field(default_factory=lambda: _UNSET_B)
    borrow_estimated: BoolArray = field(default_factory=lambda: _UNSET_B)
    stale: BoolArray = field(default_factory=lambda: _UNSET_B)
    tickers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        shape = np.shape(self.price_usd)
        if len(shape) != 1:
            raise DataError("cost inputs must be one value per asset", file="<cost inputs>",
                            field="price_usd", expected="a 1-d array", found=f"shape {shape}")
        n = shape[0]
        for name in (f.name for f in fields(self) if f.name != "tickers"):
            value = getattr(self, name)
            is_mask = name in _MASKS
            if value is _UNSET_F or value is _UNSET_B:
                value = np.zeros(n, dtype=np.bool_) if is_mask else np.full(n, np.nan)
            value = np.array(value, dtype=np.bool_ if is_mask else np.float64)
            if value.shape != (n,):
                raise DataError("cost input arrays differ in shape", file="<cost inputs>",
                                field=name, expected=f"shape ({n},)", found=f"{value.shape}")
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "tickers", tuple(map(str, self.tickers)))
        if self.tickers and len(self.tickers) != n:
            raise DataError("tickers do not match the cost input arrays", file="<cost inputs>",
                            field="tickers", expected=f"{n} tickers",
                            found=f"{len(self.tickers)}")
        self._validate()

    def _validate(self) -> None:
        for name in (*_REQUIRED, "outstanding_over_adv", "all_in_bps"):
            value = getattr(self, name)
            optional = name in ("outstanding_over_adv", "all_in_bps")
            strict = name in ("price_usd", "adv_shares", "outstanding_over_adv")
            ok = np.isfinite(value) & ((value > 0.0) if strict else (value >= 0.0))
            if optional:
                ok |= np.isnan(value)
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                where = f" ({self.tickers[i]})" if self.tickers else f" (asset {i})"
                raise DataError(f"invalid cost input{where}", file="<cost inputs>", field=name,
                                expected="a finite positive number" if strict
                                else "a finite non-negative number", found=repr(value[i]))

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return int(self.price_usd.shape[0])

    def take(self, pos: npt.NDArray[np.intp]) -> AssetCostInputs:
        """The inputs of the assets at positions ``pos`` (each in ``range(n_assets)``),
        equal to those built from their rows; every value was checked when these were
        built, so none is checked again."""
        out = object.__new__(AssetCostInputs)
        for name in _ARRAYS:
            value = getattr(self, name)[pos]
            value.setflags(write=False)
            object.__setattr__(out, name, value)
        object.__setattr__(out, "tickers", tuple(self.tickers[i] for i in pos.tolist())
                           if self.tickers else ())
        return out

    @property
    def adv_usd(self) -> FloatArray:
        """ADV in USD, ``price_usd * adv_shares``, shape (n_assets,)."""
        return np.asarray(self.price_usd * self.adv_shares, dtype=np.float64)

    @cached_property
    def modelled(self) -> BoolArray:
        """Assets priced by the component model (not by a tier all-in estimate)."""
        out = np.asarray(np.isnan(self.all_in_bps), dtype=np.bool_)
        out.setflags(write=False)
        return out

    @cached_property
    def all_modelled(self) -> bool:
        """Every asset is priced by the component model (no tier all-in estimate)."""
        return bool(self.modelled.all())


_ARRAYS = tuple(f.name for f in fields(AssetCostInputs) if f.name != "tickers")
"""The per-asset arrays of :class:`AssetCostInputs`."""


@dataclass(frozen=True, eq=False)
class CostBreakdown:
    """Costs of a trade by component, each shaped like the trade (..., n_assets), in USD.

    Attributes
    ----------
    spread_usd, commission_usd, impact_usd : ndarray
        Half-spread, commission (with minimum ticket) and market impact.
    flat_usd : ndarray
        Flat costs: the tier all-in estimate ("estimated costs") or
        ``CostParams.flat_cost_bps``; zero otherwise.
    borrow_usd : ndarray
        Borrow fee on the short part of the position after the trade (zero unless a
        position was given).
    total_usd : ndarray
        Sum of the five.
    """

    spread_usd: FloatArray
    commission_usd: FloatArray
    impact_usd: FloatArray
    flat_usd: FloatArray
    borrow_usd: FloatArray
    total_usd: FloatArray

    @property
    def trading_usd(self) -> FloatArray:
        """Trading costs without borrow (the numerator of the rebalancing cost), shape
        (..., n_assets)."""
        return np.asarray(self.total_usd - self.borrow_usd, dtype=np.float64)

    def total_bps_of(self, nav_usd: npt.ArrayLike) -> FloatArray:
        """Total cost summed over assets, in bps of NAV.

        Parameters
        ----------
        nav_usd : float or array_like, shape (...)
            Net asset value per portfolio (positive).

        Returns
        -------
        ndarray, shape (...)
            ``1e4 * sum_i total_usd_i / nav_usd`` (plus borrow if any).
        """
        nav = np.asarray(nav_usd, dtype=np.float64)
        return np.asarray(BPS * self.total_usd.sum(axis=-1) / nav, dtype=np.float64)


def spread_cost_usd(abs_trade_usd: npt.ArrayLike, half_spread_bps: npt.ArrayLike,
                    multiplier: npt.ArrayLike = 1.0) -> FloatArray:
    """Half-spread paid on a trade: ``|trade_usd| * half_spread_bps / 1e4 * multiplier``.

    Parameters
    ----------
    abs_trade_usd : array_like, shape (..., n_assets)
        Traded value (USD, non-negative).
    half_spread_bps : array_like, shape (n_assets,)
    multiplier : float or array_like, broadcastable
        VIX regime multiplier (and cost scale).
    """
    return np.asarray(np.asarray(abs_trade_usd, dtype=np.float64)
                      * np.asarray(half_spread_bps, dtype=np.float64) / BPS
                      * np.asarray(multiplier, dtype=np.float64), dtype=np.float64)


def commission_cost_usd(abs_trade_usd: npt.ArrayLike, price_usd: npt.ArrayLike,
                        commission_bps: npt.ArrayLike, commission_per_share_usd: npt.ArrayLike,
                        min_ticket_usd: npt.ArrayLike) -> FloatArray:
    """Commission: bps of value plus USD per share, at least the minimum ticket.

    Parameters
    ----------
    abs_trade_usd : array_like, shape (..., n_assets)
        Traded value (USD, non-negative).
    price_usd, commission_bps, commission_per_share_usd, min_ticket_usd : array_like,
    shape (n_assets,)

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``max(a * bps / 1e4 + (a / price) * per_share, min_ticket)`` for ``a > 0``;
        exactly 0 for ``a = 0`` (no ticket, no minimum).
    """
    a = np.asarray(abs_trade_usd, dtype=np.float64)
    raw = a * (np.asarray(commission_bps, dtype=np.float64) / BPS
               + np.asarray(commission_per_share_usd, dtype=np.float64)
               / np.asarray(price_usd, dtype=np.float64))
    return np.asarray(np.where(a > 0.0, np.maximum(raw, min_ticket_usd), 0.0), dtype=np.float64)


def borrow_cost_usd(position_usd: npt.ArrayLike, borrow_bps_annual: npt.ArrayLike,
                    days: npt.ArrayLike = 1.0) -> FloatArray:
    """Borrow fee accrued on short positions over ``days`` trading days.

    Parameters
    ----------
    position_usd : array_like, shape (..., n_assets)
        Signed market value of the positions (negative = short).
    borrow_bps_annual : array_like, shape (n_assets,)
        Annual borrow fee, bps of short market value.
    days : float or array_like, broadcastable
        Holding period in trading days (non-negative).

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``max(-position_usd, 0) * borrow_bps_annual / 1e4 * days / 252``; zero for longs.

    Notes
    -----
    Borrow is a **carrying cost**: it accrues every day a short is held, whether or not
    the asset trades. The fee is quoted as an annual rate on the short's market value;
    US lenders accrue it daily on an actual/360 calendar basis, which over a year is
    the same total as accruing ``1/252`` per trading day (the convention used here,
    consistent with volatility annualized over 252 days). The backtest charges it each
    day with this function; :func:`~driftwise.costs.model.trade_costs` adds it only when
    given the position after the trade, for planning.
    """
    short = np.maximum(-np.asarray(position_usd, dtype=np.float64), 0.0)
    return np.asarray(short * (np.asarray(borrow_bps_annual, dtype=np.float64) / BPS)
                      * (np.asarray(days, dtype=np.float64) / BORROW_DAYS_PER_YEAR),
                      dtype=np.float64)


def added_borrow_usd(position_before_usd: npt.ArrayLike, position_after_usd: npt.ArrayLike,
                     borrow_bps_annual: npt.ArrayLike, days: npt.ArrayLike = 1.0) -> FloatArray:
    """Borrow over ``days`` trading days of the short a trade opens or increases.

    Parameters
    ----------
    position_before_usd, position_after_usd : array_like, shape (..., n_assets)
        Signed market value before and after the trade (negative = short).
    borrow_bps_annual : array_like, shape (n_assets,)
    days : float or array_like, broadcastable
        Trading days the added short is expected to be held: the planner uses the
        benefit horizon ``H`` of the cost-benefit decision.

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``max(borrow(after) - borrow(before), 0)`` with :func:`borrow_cost_usd`: the
        borrow of the short added by the trade. A trade that covers (part of) a short
        is charged nothing and credited nothing: the borrow of a short already held is a
        carrying cost the backtest charges day by day, not a cost of the trade.
    """
    after = borrow_cost_usd(position_after_usd, borrow_bps_annual, days)
    before = borrow_cost_usd(position_before_usd, borrow_bps_annual, days)
    return np.asarray(np.maximum(after - before, 0.0), dtype=np.float64)
