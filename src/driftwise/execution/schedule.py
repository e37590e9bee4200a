"""Execution schedule: split each trade into timed child orders.

Styles: TWAP (equal slices), VWAP (slices proportional to the intraday volume profile)
and POV (each bucket takes at most ``participation`` of the bucket's expected volume,
continuing over following sessions until done). Any trade whose liquidity days
``|shares| / (participation * ADV)`` exceed ``multi_day_after`` is spread over
``ceil(liquidity days)`` sessions whatever the style. A trade with unknown ADV is done
as one-day TWAP and flagged.

Costs come from one place: the caller passes the cost model's impact function
``impact_bps(participation) -> bps of traded value``; this module never computes a cost
formula of its own. The function receives participation rates shaped ``(k, n_assets)``,
column ``j`` belonging to ``tickers[j]`` (so a per-asset model such as the square-root law
``1e4 * Y * sigma_daily * sqrt(rate)`` broadcasts its ``(n_assets,)`` inputs), and returns
the same shape; padding entries hold 0 and their results are ignored.

Risk is the standard deviation of the implementation shortfall
(Almgren & Chriss 2000), and each trade is compared with the Almgren–Chriss optimal
trajectory for the caller's risk aversion over the same horizon.

Order type: child orders are MARKET orders, or LIMIT orders (``order_type = "limit"``)
whose limit is the close the plan priced at, moved by the order's own expected price cost
in bps: ``c = price_cost_bps + impact_bps(participation)`` (the caller's half-spread, or
flat cost, plus the child's impact); a buy's limit is ``close·(1 + c/1e4)`` rounded up to
the tick, a sell's ``close·(1 − c/1e4)`` rounded down (tick 0.01 USD, 0.0001 below 1 USD,
as Regulation NMS Rule 612 allows). A child order filling at its limit thus pays what the
cost model expects; one that cannot is left unfilled rather than paying more. Multi-day
children keep the as-of close: re-price them before later sessions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import ExecutionStyle as ExecutionStyle  # defined there, named here too
from driftwise._types import FloatArray
from driftwise._types import OrderType as OrderType
from driftwise.calendar import nyse_sessions
from driftwise.errors import ConfigError, DataError
from driftwise.execution.almgren_chriss import (
    BPS,
    calibrate_eta,
    expected_shortfall,
    optimal_trajectory,
    shortfall_variance,
)
from driftwise.execution.profile import bucket_start_times, rescale_profile
from driftwise.flags import Flag, Notice, notice

ImpactFn = Callable[[FloatArray], FloatArray]
"""Cost-model impact: participation rates ``(k, n_assets)`` -> impact bps, same shape."""

LABEL = "trade list"

MAX_DAYS = 252
"""Most sessions a schedule may span (a year); larger trades are refused, not scheduled."""

CHILD_COLUMNS = ["ticker", "side", "day", "start_time", "bucket", "child", "shares",
                 "interval_volume_shares", "participation", "expected_cost_usd",
                 "order_type", "limit_price_usd"]
SUMMARY_COLUMNS = ["ticker", "side", "shares", "style", "days", "first_day", "last_day",
                   "n_children", "liquidity_days", "max_participation", "expected_cost_usd",
                   "risk_usd", "ac_cost_usd", "ac_risk_usd", "flags"]


@dataclass(frozen=True)
class Schedule:
    """Child orders and per-trade summary.

    Attributes
    ----------
    child_orders : pd.DataFrame
        One row per child order, in time order per ticker: ``ticker``, ``side``
        (BUY/SELL), ``day`` (session date, datetime64), ``start_time`` (bucket start,
        ``"09:30"``, New York time), ``bucket`` (0-based within the day), ``child``
        (1-based per ticker), ``shares`` (> 0, unsigned; the side carries the sign),
        ``interval_volume_shares`` (ADV x profile share; NaN if ADV unknown),
        ``participation`` (shares / interval volume), ``expected_cost_usd`` (market
        impact from the cost model at that participation), ``order_type`` (MARKET or
        LIMIT) and ``limit_price_usd`` (NaN for a market order; see the module).
    summary : pd.DataFrame
        One row per input trade: ``ticker``, ``side``, ``shares`` (signed parent),
        ``style`` used, ``days``, ``first_day``, ``last_day``, ``n_children``,
        ``liquidity_days``, ``max_participation``, ``expected_cost_usd`` (sum over
        children), ``risk_usd`` (std of the shortfall of this schedule),
        ``ac_cost_usd`` / ``ac_risk_usd`` (Almgren–Chriss optimal trajectory at the
        given risk aversion over the same horizon), ``flags`` (``"; "``-joined flag names).
    notices : tuple of Notice
        Every flag raised, with its tickers.
    """

    child_orders: pd.DataFrame
    summary: pd.DataFrame
    notices: tuple[Notice, ...] = field(default=())


def split_shares(total_shares: float, weights: npt.ArrayLike) -> FloatArray:
    """Split an unsigned quantity proportionally to ``weights``, summing exactly.

    Parameters
    ----------
    total_shares : float
        Quantity to split (>= 0).
    weights : array_like, shape (n_slices,)
        Non-negative weights with a positive sum.

    Returns
    -------
    ndarray, shape (n_slices,)
        Slices summing to ``total_shares``. When ``total_shares`` is a whole number the
        slices are whole: the *cumulative* target is rounded (half up) so each slice is
        within one share of its ideal size, and the last slice takes the remainder, so the
        sum is exact.
    """
    w = np.asarray(weights, dtype=np.float64)
    cumulative = total_shares * np.cumsum(w) / w.sum()
    if float(total_shares).is_integer():
        cumulative = np.floor(cumulative + 0.5)
    cumulative[-1] = total_shares
    return np.asarray(np.diff(cumulative, prepend=0.0), dtype=np.float64)


def pov_shares(total_shares: float, caps_per_bucket: npt.ArrayLike) -> FloatArray:
    """Fill an unsigned quantity bucket by bucket under a per-bucket cap, over days.

    Parameters
    ----------
    total_shares : float
        Quantity to trade (>= 0).
    caps_per_bucket : array_like, shape (n_buckets,)
        Most shares each bucket of a day may take (``participation * ADV * profile``).

    Returns
    -------
    ndarray, shape (n_days * n_buckets,)
        Shares per bucket over as many whole days as needed, summing to ``total_shares``.
        For a whole-share parent each cap is rounded down to whole shares, so no bucket
        exceeds its cap; if that leaves a day with no capacity (a cap below one share in
        every bucket) the cumulative capacity is rounded down instead, so cumulative
        participation stays within the cap.
    """
    caps = np.asarray(caps_per_bucket, dtype=np.float64)
    whole = float(total_shares).is_integer()
    per_bucket = np.floor(caps) if whole and np.floor(caps).sum() > 0 else caps
    n_days = max(1, math.ceil(total_shares / per_bucket.sum()))
    while True:
        capacity = np.cumsum(np.tile(per_bucket, n_days))
        if whole:
            capacity = np.floor(capacity)
        if capacity[-1] >= total_shares:
            break
        n_days += 1
    cumulative = np.minimum(capacity, total_shares)
    return np.asarray(np.diff(cumulative, prepend=0.0), dtype=np.float64)


def _aligned(values: npt.ArrayLike | pd.Series, tickers: pd.Index, name: str) -> FloatArray:
    if isinstance(values, pd.Series):
        missing = tickers.difference(values.index)
        extra = values.index.difference(tickers)
        if len(missing) or len(extra):
            raise DataError("tickers do not match the trade list", file=LABEL, field=name,
                            expected="one value per ticker",
                            found=f"missing {list(missing)}, unexpected {list(extra)}")
        values = values.reindex(tickers).to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (len(tickers),):
        raise DataError("wrong length", file=LABEL, field=name,
                        expected=f"{len(tickers)} values", found=f"shape {out.shape}")
    return out


def _check_inputs(tickers: pd.Index, trade: FloatArray, price: FloatArray, adv: FloatArray,
                  sigma: FloatArray) -> None:
    if tickers.has_duplicates:
        raise DataError("duplicate ticker", file=LABEL, field="ticker",
                        found=str(tickers[tickers.duplicated()][0]))
    checks = [("trade_shares", ~np.isfinite(trade), "a finite number"),
              ("price_usd", (trade != 0) & ~(np.isfinite(price) & (price > 0)), "a price > 0"),
              ("adv_shares", adv < 0, "ADV >= 0 or NaN (unknown)"),
              ("sigma_daily", sigma < 0, "volatility >= 0 or NaN (unknown)")]
    values = {"trade_shares": trade, "price_usd": price, "adv_shares": adv, "sigma_daily": sigma}
    for name, bad, expected in checks:
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"bad value for {tickers[i]}", file=LABEL, row=i + 1, field=name,
                            expected=expected, found=repr(float(values[name][i])))


def _check_config(participation: float, multi_day_after: float, slices_per_day: int,
                  risk_aversion: float) -> None:
    if not 0.0 < participation <= 1.0:
        raise ConfigError(f"participation must be in (0, 1], got {participation}")
    if not multi_day_after > 0.0:
        raise ConfigError(f"multi_day_after must be > 0 days, got {multi_day_after}")
    if slices_per_day < 1:
        raise ConfigError(f"slices_per_day must be >= 1, got {slices_per_day}")
    if not (math.isfinite(risk_aversion) and risk_aversion >= 0.0):
        raise ConfigError(f"risk_aversion must be finite and >= 0, got {risk_aversion}")


def resolve_sessions(start_date: object, n_days: int,
                     sessions: pd.DatetimeIndex | None = None) -> pd.DatetimeIndex:
    """The first ``n_days`` sessions on or after ``start_date``.

    Parameters
    ----------
    start_date : date-like
        First day the schedule may trade (moved to the next session if not one).
    n_days : int
    sessions : DatetimeIndex, optional
        NYSE sessions to use; by default :func:`driftwise.calendar.nyse_sessions` (the XNYS
        calendar of ``exchange_calendars``).

    Raises
    ------
    ConfigError
        Fewer than ``n_days`` sessions on or after ``start_date``.
    """
    start = pd.Timestamp(str(start_date)).normalize()
    if sessions is None:
        end = start + pd.Timedelta(days=int(n_days * 1.5) + 15)
        sessions = nyse_sessions(start - pd.Timedelta(days=7), end)
    index = pd.DatetimeIndex(sessions)
    if index.tz is not None:
        index = index.tz_localize(None)
    index = index.normalize().unique().sort_values()
    available = index[index >= start]
    if len(available) < n_days:
        raise ConfigError(f"the schedule needs {n_days} sessions from {start.date()}, "
                          f"the session calendar has {len(available)}")
    return pd.DatetimeIndex(available[:n_days])


@dataclass(frozen=True)
class _Plan:
    """Bucket grid of one trade: unsigned shares per bucket, days, style, flags."""

    grid: FloatArray
    style: ExecutionStyle
    liquidity_days: float
    flags: list[Flag]


def _plan_one(q: float, adv: float, style: ExecutionStyle, participation: float,
              multi_day_after: float, profile: FloatArray, ticker: str, row: int) -> _Plan:
    n_buckets = profile.size
    if not (math.isfinite(adv) and adv > 0.0):
        return _Plan(split_shares(q, np.ones(n_buckets)), ExecutionStyle.TWAP, math.nan,
                     [Flag.UNKNOWN_ADV])
    days_needed = q / (participation * adv)
    if days_needed > MAX_DAYS:
        raise DataError(f"trade in {ticker} too large for the market: more than a year at "
                        f"{participation:g} participation", file=LABEL, row=row,
                        field="trade_shares",
                        expected=f"at most {MAX_DAYS} liquidity days",
                        found=f"{days_needed:.0f} days ({q:g} shares, ADV {adv:g})")
    if style is ExecutionStyle.POV:
        grid = pov_shares(q, participation * adv * profile)
    else:
        n_days = math.ceil(days_needed) if days_needed > multi_day_after else 1
        weights = np.ones(n_buckets) if style is ExecutionStyle.TWAP else profile
        grid = split_shares(q, np.tile(weights, n_days))
    return _Plan(grid, style, days_needed, [])


def plan_grids(index: pd.Index, trade: FloatArray, adv: FloatArray, style: ExecutionStyle,
               participation: float, multi_day_after: float, profile: FloatArray
               ) -> list[_Plan | None]:
    """Each trade's bucket grid (None for a zero trade), equal to :func:`_plan_one` of it.

    The trades of a known ADV in TWAP or VWAP, on a grid of the same number of days, are
    split in one array operation per grid (the same arithmetic, element by element, as
    :func:`split_shares` of each); an unknown ADV, POV and a trade too large for the
    market go through :func:`_plan_one` (which says what is wrong, trade by trade)."""
    q = np.abs(trade)
    with np.errstate(divide="ignore", invalid="ignore"):
        days_needed = q / (participation * adv)
    regular = ((q != 0) & np.isfinite(adv) & (adv > 0.0) & (days_needed <= MAX_DAYS)
               if style is not ExecutionStyle.POV else np.zeros(len(q), dtype=bool))
    plans: list[_Plan | None] = [
        None if q[i] == 0 or regular[i] else
        _plan_one(float(q[i]), float(adv[i]), style, participation, multi_day_after, profile,
                  str(index[i]), i + 1) for i in range(len(q))]
    if not regular.any():
        return plans
    n_days = np.where(days_needed > multi_day_after, np.ceil(days_needed), 1.0)
    weights = np.ones(profile.size) if style is ExecutionStyle.TWAP else profile
    for days in np.unique(n_days[regular]).tolist():
        rows = np.flatnonzero(regular & (n_days == days))
        w = np.tile(weights, int(days))
        total = q[rows]
        cumulative = total[:, None] * np.cumsum(w)[None, :] / w.sum()
        whole = np.floor(total) == total
        cumulative[whole] = np.floor(cumulative[whole] + 0.5)
        cumulative[:, -1] = total
        grids = np.diff(cumulative, axis=1, prepend=0.0)
        for k, i in enumerate(rows.tolist()):
            plans[i] = _Plan(grids[k], style, float(days_needed[i]), [])
    return plans


def build_schedule(
    tickers: Sequence[str] | pd.Index,
    trade_shares: npt.ArrayLike | pd.Series,
    price_usd: npt.ArrayLike | pd.Series,
    adv_shares: npt.ArrayLike | pd.Series,
    sigma_daily: npt.ArrayLike | pd.Series,
    *,
    style: ExecutionStyle | str,
    participation: float = 0.10,
    multi_day_after: float = 5.0,
    slices_per_day: int = 13,
    start_date: object,
    sessions: pd.DatetimeIndex | None = None,
    risk_aversion: float,
    impact_bps: ImpactFn,
    profile: npt.ArrayLike | None = None,
    order_type: OrderType | str = OrderType.MARKET,
    price_cost_bps: npt.ArrayLike | pd.Series | None = None,
) -> Schedule:
    """Split a trade list into child orders with expected cost and risk.

    Parameters
    ----------
    tickers : sequence of str, shape (n_assets,)
    trade_shares : array_like or Series, shape (n_assets,)
        Signed trade (+ buy) in shares; zero trades get a summary row and no children.
    price_usd : array_like or Series, shape (n_assets,)
        Price per share (> 0 for every non-zero trade).
    adv_shares : array_like or Series, shape (n_assets,)
        Average daily volume in shares; NaN or 0 = unknown (one-day TWAP, flagged).
    sigma_daily : array_like or Series, shape (n_assets,)
        Daily return volatility (fraction); NaN = unknown (risk NaN, flagged).
    style : ExecutionStyle or str
    participation : float
        POV cap and the participation of the liquidity-days rule, fraction of volume.
    multi_day_after : float
        Liquidity days above which a trade is spread over ``ceil(liquidity days)`` sessions.
    slices_per_day : int
        Equal clock buckets per session (13 = 30-minute buckets of the 6.5 h session).
    start_date : date-like
        First trading day (moved to the next session if not one).
    sessions : DatetimeIndex, optional
        NYSE sessions to spread multi-day orders over (default: XNYS calendar).
    risk_aversion : float
        Almgren–Chriss ``lambda`` in 1/USD (objective ``E + lambda V``), >= 0.
    impact_bps : callable
        The cost model's impact: participation rates shaped ``(k, n_assets)`` (columns
        aligned with ``tickers``, zero padding) -> bps of traded value, same shape.
    profile : array_like, optional
        Intraday volume profile over equal buckets (default the NYSE half-hour profile);
        re-bucketed to ``slices_per_day`` when its length differs.
    order_type : OrderType or str
        MARKET (default) or LIMIT child orders.
    price_cost_bps : array_like or Series, shape (n_assets,), optional
        The cost model's price cost besides impact, in bps of traded value (the
        half-spread, or the flat all-in cost); default 0. Only LIMIT orders use it.

    Returns
    -------
    Schedule

    Notes
    -----
    Child participation = child shares / (ADV x profile share of its bucket). Child cost
    = shares x price x ``impact_bps(participation)`` x 1e-4. A LIMIT child's limit is
    ``price x (1 ± (price_cost_bps + impact_bps(participation)) / 1e4)`` (+ buys, − sells),
    rounded away from the close to the tick; a child of unknown ADV uses the price cost
    alone. Risk: with ``x_g`` the shares
    still to trade after bucket ``g`` of the grid and ``tau = 1 / slices_per_day`` days,
    ``risk_usd = sigma_daily price sqrt(tau sum_g x_g^2)`` (Almgren & Chriss 2000, eq. 5;
    daily variance, overnight included, is spread evenly over the day's buckets).
    The Almgren–Chriss comparison uses ``eta`` from :func:`calibrate_eta` at the
    schedule's average participation ``|shares| / (days ADV)``, no permanent impact.
    """
    index = pd.Index([str(t) for t in tickers], dtype=object, name="ticker")
    trade, price, adv, sigma = (_aligned(v, index, n) for v, n in (
        (trade_shares, "trade_shares"), (price_usd, "price_usd"), (adv_shares, "adv_shares"),
        (sigma_daily, "sigma_daily")))
    _check_inputs(index, trade, price, adv, sigma)
    _check_config(participation, multi_day_after, slices_per_day, risk_aversion)
    style = ExecutionStyle(style)
    kind = _order_type(order_type)
    extra = (np.zeros(len(index)) if price_cost_bps is None
             else _aligned(price_cost_bps, index, "price_cost_bps"))
    shape = (rescale_profile(slices_per_day) if profile is None
             else rescale_profile(slices_per_day, profile))
    plans = plan_grids(index, trade, adv, style, participation, multi_day_after, shape)
    max_days = max((p.grid.size // slices_per_day for p in plans if p is not None), default=0)
    days = resolve_sessions(start_date, max_days, sessions) if max_days else pd.DatetimeIndex([])
    cells = grid_cells(plans)
    children = _children_frame(index, trade, price, adv, cells, days, shape, impact_bps)
    children = _with_order_type(children, kind, index, price, extra)
    summary = _summary_frame(index, trade, price, adv, sigma, plans,
                             days_used(cells, len(plans), slices_per_day), children, days,
                             participation, slices_per_day, risk_aversion, impact_bps)
    return Schedule(child_orders=children, summary=summary, notices=schedule_notices(summary))


def _order_type(value: OrderType | str) -> OrderType:
    try:
        return OrderType(str(value).lower())
    except ValueError:
        raise ConfigError(f"order type must be one of {[t.value for t in OrderType]}, "
                          f"got {value!r}") from None


def _with_order_type(children: pd.DataFrame, kind: OrderType, index: pd.Index,
                     price: FloatArray, extra_bps: FloatArray) -> pd.DataFrame:
    """``children`` with ``order_type`` and ``limit_price_usd`` (NaN for market orders)."""
    out = children.assign(order_type=kind.value.upper(), limit_price_usd=np.nan)
    if kind is OrderType.MARKET or out.empty:
        return out[CHILD_COLUMNS]
    if np.any(~np.isfinite(extra_bps) | (extra_bps < 0)):
        i = int(np.flatnonzero(~np.isfinite(extra_bps) | (extra_bps < 0))[0])
        raise DataError(f"bad price cost for {index[i]}", file=LABEL, row=i + 1,
                        field="price_cost_bps", expected="bps >= 0",
                        found=repr(float(extra_bps[i])))
    pos = index.get_indexer(pd.Index(out["ticker"]))
    close = price[pos]
    notional = out["shares"].to_numpy(dtype=np.float64) * close
    impact = np.nan_to_num(out["expected_cost_usd"].to_numpy(dtype=np.float64) / notional)
    cost_bps = extra_bps[pos] + impact / BPS
    buy = (out["side"] == "BUY").to_numpy()
    out["limit_price_usd"] = limit_prices(close, cost_bps, buy)
    return out[CHILD_COLUMNS]


def limit_prices(close_usd: npt.ArrayLike, cost_bps: npt.ArrayLike,
                 buy: npt.ArrayLike) -> FloatArray:
    """Limit prices at the close moved by the expected cost, rounded to the tick.

    Parameters
    ----------
    close_usd, cost_bps : array_like, shape (n,)
        Close and the order's expected price cost (bps of traded value, >= 0).
    buy : array_like of bool, shape (n,)

    Returns
    -------
    ndarray, shape (n,)
        ``close·(1 + cost/1e4)`` rounded up for buys, ``close·(1 − cost/1e4)`` rounded
        down for sells, to 0.01 USD (0.0001 USD for prices below 1 USD); a sell limit is
        at least one tick.
    """
    close = np.asarray(close_usd, dtype=np.float64)
    up = np.asarray(buy, dtype=bool)
    raw = close * (1.0 + np.where(up, 1.0, -1.0) * np.asarray(cost_bps, dtype=np.float64) * BPS)
    tick = np.where(raw >= 1.0, 0.01, 0.0001)
    steps = raw / tick
    # a few ulps of slack so that a price already on the tick stays on it
    rounded = np.where(up, np.ceil(steps - 1e-9), np.floor(steps + 1e-9))
    return np.asarray(np.round(np.maximum(rounded, 1.0) * tick, 4), dtype=np.float64)


def _impact(impact_bps: ImpactFn, rates: FloatArray, asset: npt.NDArray[np.intp],
            n_assets: int) -> FloatArray:
    """Impact bps of each rate, calling ``impact_bps`` once on a ``(k, n_assets)`` grid.

    ``asset[r]`` is the column of ``rates[r]``; rates of one asset fill its column top down.
    Unknown (NaN) rates give NaN.
    """
    out = np.full(rates.shape, np.nan)
    known = np.isfinite(rates)
    if not known.any():
        return out
    cols = asset[known]
    slot = pd.Series(cols).groupby(cols).cumcount().to_numpy()
    grid = np.zeros((int(slot.max()) + 1, n_assets))
    grid[slot, cols] = rates[known]
    values = np.asarray(impact_bps(grid), dtype=np.float64)
    if values.shape != grid.shape:
        raise ConfigError("impact_bps must return an array shaped like its input "
                          f"{grid.shape}, got shape {values.shape}")
    out[known] = values[slot, cols]
    return out


def grid_cells(plans: Sequence[_Plan | None]
               ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]:
    """Every child order of the grids, in one pass over all of them: the trade's
    position in ``plans``, the grid cell (``day * slices_per_day + bucket``) and its
    shares, trade after trade, each trade's cells in order (the positive cells of each
    grid, as ``np.flatnonzero(grid > 0)`` finds them)."""
    at = [i for i, p in enumerate(plans) if p is not None]
    if not at:
        return (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp),
                np.zeros(0, dtype=np.float64))
    grids = [plans[i].grid for i in at]  # type: ignore[union-attr]
    sizes = np.fromiter((g.size for g in grids), dtype=np.intp, count=len(grids))
    flat = np.concatenate(grids)
    cell = np.arange(flat.size, dtype=np.intp) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    owner = np.repeat(np.asarray(at, dtype=np.intp), sizes)
    keep = flat > 0
    return owner[keep], cell[keep], flat[keep]


def days_used(cells: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray],
              n_trades: int, slices_per_day: int) -> npt.NDArray[np.int64]:
    """Sessions each trade's grid uses (its last child order's day + 1; 0 for a trade
    without a grid), from :func:`grid_cells`."""
    owner, cell, _ = cells
    out = np.zeros(n_trades, dtype=np.int64)
    if owner.size:
        last = np.flatnonzero(np.append(owner[1:] != owner[:-1], True))
        out[owner[last]] = cell[last] // slices_per_day + 1
    return out


def _children_frame(index: pd.Index, trade: FloatArray, price: FloatArray, adv: FloatArray,
                    cells: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray],
                    days: pd.DatetimeIndex, shape: FloatArray,
                    impact_bps: ImpactFn) -> pd.DataFrame:
    n_buckets = shape.size
    starts = np.asarray(bucket_start_times(n_buckets), dtype=object)
    # the grids' cells found in one pass and one frame built at the end (a frame per
    # asset costs ~1 ms each: half a second for a 500-asset rebalance)
    asset, where, shares = cells
    if not asset.size:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CHILD_COLUMNS[:-2]})
        return empty.astype({"day": "datetime64[ns]", "shares": float,
                             "participation": float, "expected_cost_usd": float})
    first = np.flatnonzero(np.insert(asset[1:] != asset[:-1], 0, True))
    run = np.diff(np.append(first, asset.size))
    child = np.arange(asset.size, dtype=np.int64) - np.repeat(first, run) + 1
    bucket = where % n_buckets
    adv_a = adv[asset]
    known = np.isfinite(adv_a) & (adv_a > 0.0)
    volume = np.where(known, adv_a * shape[bucket], np.nan)
    frame = pd.DataFrame({
        "ticker": np.asarray(index, dtype=object)[asset],
        "side": np.where(trade[asset] > 0, "BUY", "SELL"),
        "day": days[where // n_buckets], "start_time": starts[bucket], "bucket": bucket,
        "child": child, "shares": shares, "interval_volume_shares": volume,
        "participation": shares / volume, "price_usd": price[asset], "_asset": asset,
    })
    rates = frame["participation"].to_numpy(dtype=np.float64)
    notional = (frame["shares"] * frame["price_usd"]).to_numpy(dtype=np.float64)
    asset = frame["_asset"].to_numpy(dtype=np.intp)
    frame["expected_cost_usd"] = notional * _impact(impact_bps, rates, asset, len(index)) * BPS
    return frame[CHILD_COLUMNS[:-2]]  # the order type is added by _with_order_type


def _summary_frame(index: pd.Index, trade: FloatArray, price: FloatArray, adv: FloatArray,
                   sigma: FloatArray, plans: list[_Plan | None],
                   n_days: npt.NDArray[np.int64], children: pd.DataFrame,
                   days: pd.DatetimeIndex, participation: float, slices_per_day: int,
                   risk_aversion: float, impact_bps: ImpactFn) -> pd.DataFrame:
    n = len(index)
    tau = 1.0 / slices_per_day
    risk = np.zeros(n)
    planned = np.array([p is not None for p in plans], dtype=bool)
    for used in np.unique(n_days[planned]).tolist():
        # the trades using ``used`` sessions at once, one row each
        at = np.flatnonzero(planned & (n_days == used))
        grids = np.stack([plans[i].grid[: used * slices_per_day]  # type: ignore[union-attr]
                          for i in at.tolist()])
        remaining = np.abs(trade[at])[:, None] - np.cumsum(grids, axis=1)
        risk[at] = sigma[at] * price[at] * np.sqrt(tau * np.square(remaining).sum(axis=1))
    ac_cost, ac_risk = _ac_columns(trade, price, adv, sigma, n_days, slices_per_day,
                                   risk_aversion, impact_bps)
    by_ticker = children.groupby("ticker", sort=False)
    cost = by_ticker["expected_cost_usd"].sum(min_count=1).reindex(index)
    max_part = by_ticker["participation"].max().reindex(index)
    count = by_ticker.size().reindex(index, fill_value=0)
    flags = []
    over = (max_part.to_numpy(dtype=np.float64) > participation * (1 + 1e-9)).tolist()
    for i, plan in enumerate(plans):
        found = [] if plan is None else list(plan.flags)
        if n_days[i] > 1:
            found.append(Flag.MULTI_DAY)
        if over[i]:
            found.append(Flag.OVER_PARTICIPATION)
        if plan is not None and not math.isfinite(sigma[i]):
            found.append(Flag.NO_VOLATILITY)
        flags.append("; ".join(f.value for f in found))
    zero = trade == 0
    first, last = _first_last_days(days, n_days)
    return pd.DataFrame({
        "ticker": index.to_numpy(), "side": np.where(trade > 0, "BUY", np.where(zero, "", "SELL")),
        "shares": trade,
        "style": [p.style.value if p is not None else "" for p in plans],
        "days": n_days, "first_day": first, "last_day": last,
        "n_children": count.to_numpy(), "liquidity_days": np.where(
            zero, 0.0, [math.nan if p is None else p.liquidity_days for p in plans]),
        "max_participation": np.where(zero, 0.0, max_part.to_numpy(dtype=np.float64)),
        "expected_cost_usd": np.where(zero, 0.0, cost.to_numpy(dtype=np.float64)),
        "risk_usd": risk, "ac_cost_usd": ac_cost, "ac_risk_usd": ac_risk, "flags": flags,
    }, index=pd.RangeIndex(n))[SUMMARY_COLUMNS]


def _first_last_days(days: pd.DatetimeIndex, n_days: npt.NDArray[np.int_]
                     ) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Each trade's first and last session (NaT for a trade using none): ``days[0]`` and
    ``days[d - 1]`` of its ``d`` sessions, taken from ``days`` in one operation each.

    A schedule where no trade uses a session keeps the element-by-element form (an index
    of NaT alone takes its unit from nothing, not from ``days``)."""
    if not (n_days > 0).any():
        return (pd.DatetimeIndex([pd.NaT for _ in n_days.tolist()]),
                pd.DatetimeIndex([pd.NaT for _ in n_days.tolist()]))
    used = n_days > 0
    nat: Any = pd.NaT  # (pandas' stubs leave NaT out of take's fill values)
    first = days.take(np.where(used, 0, -1), allow_fill=True, fill_value=nat)
    last = days.take(np.where(used, n_days - 1, -1), allow_fill=True, fill_value=nat)
    return pd.DatetimeIndex(first, name=None), pd.DatetimeIndex(last, name=None)


def _ac_columns(trade: FloatArray, price: FloatArray, adv: FloatArray, sigma: FloatArray,
                n_days: npt.NDArray[np.int_], slices_per_day: int, risk_aversion: float,
                impact_bps: ImpactFn) -> tuple[FloatArray, FloatArray]:
    """Almgren–Chriss optimal cost and risk per trade over the schedule's horizon."""
    q = np.abs(trade)
    cost = np.where(q == 0, 0.0, np.nan)
    risk = cost.copy()
    active = (q > 0) & np.isfinite(adv) & (adv > 0)
    if not active.any():
        return cost, risk
    eta = np.full(trade.shape, np.nan)
    rate = np.divide(q, n_days * adv, out=np.full(trade.shape, np.nan), where=active)
    bps = _impact(impact_bps, rate, np.arange(rate.size), rate.size)
    eta[active] = calibrate_eta(bps[active], rate[active],
                                price[active], adv[active])
    sig = sigma * price
    todo = np.flatnonzero(active & np.isfinite(eta) & (eta > 0))
    # the trades of one horizon at once (each row of the trajectories its own trade's)
    for days in np.unique(n_days[todo]).tolist():
        at = todo[n_days[todo] == days]
        horizon = float(days)
        # unknown volatility: the risk-neutral (TWAP) trajectory, risk reported as NaN
        lam = np.where(np.isfinite(sig[at]), risk_aversion, 0.0)
        traj = optimal_trajectory(q[at], horizon, int(days) * slices_per_day,
                                  sigma=np.nan_to_num(sig[at]), eta=eta[at], risk_aversion=lam)
        cost[at] = expected_shortfall(traj, horizon, eta=eta[at])
        risk[at] = np.sqrt(shortfall_variance(traj, horizon, sigma=sig[at]))
    return cost, risk


def schedule_notices(summary: pd.DataFrame) -> tuple[Notice, ...]:
    """The notices of a schedule's summary (:attr:`Schedule.summary`): each flag raised,
    with its tickers."""
    details = {
        Flag.UNKNOWN_ADV: "no average daily volume: executed as one-day TWAP, participation "
                          "and impact cost unknown",
        Flag.MULTI_DAY: "trade spread over more than one session",
        Flag.OVER_PARTICIPATION: "some child orders exceed the participation cap",
        Flag.NO_VOLATILITY: "no daily volatility: execution risk unknown",
    }
    # the flagged rows found once, then each flag looked for in their text (a schedule of
    # many trades has few flagged)
    flags = summary["flags"].to_numpy(dtype=object)
    rows = np.flatnonzero(flags.astype(bool)).tolist()
    if not rows:
        return ()
    tickers = summary["ticker"].to_numpy(dtype=object)
    out = []
    for flag, detail in details.items():
        hit = [str(tickers[i]) for i in rows if flag.value in flags[i]]
        if hit:
            out.append(notice(flag, detail, hit))
    return tuple(out)
