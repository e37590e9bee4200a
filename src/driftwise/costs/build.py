"""Build :class:`AssetCostInputs` for one universe on one day, with flagged fallbacks.

Order of precedence per asset, every fallback flagged:

* **spread**: 20-day average of a spread history if given, else the cost file's
  ``spread_bps``, else the tier spread (``tier spread``);
* **liquidity**: 60-day ADV from volumes, else ``market cap / Theta_V`` with the default
  ``Theta / V`` of 150 (``estimated liquidity``);
* **no cost data at all** (no cost-file row, no spread history) **and no volume**: the
  tier all-in cost replaces spread, commission and impact (``estimated costs``);
* **volatility**: 20-day from prices, else the sector median, else the median over the
  universe, else the tier default (``no volatility``);
* **market cap** unknown where a tier is needed: mid cap (``unknown market cap``);
* **borrow**: the file's ``borrow_bps_annual``, else 30 bps a year (``borrow_estimated``
  mask; flagged on short trades by :func:`~driftwise.costs.model.cost_notices`);
* cost-file rows older than ``stale_after_days`` before the as-of date: ``stale costs``;
  rows measured after the as-of date (a later cost file used on an earlier day, or prices
  that end before the cost file's date): used, flagged ``costs dated after the as-of date``.

Two entry points share this code: :func:`build_cost_inputs` estimates everything for one
day from the market data; :class:`CostInputsBuilder` reads the day-independent columns
(master, cost file) once and assembles any day's inputs from that day's estimates (the
backtest builds every day of its window this way, with the rolling estimators evaluated
on all windows at once).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import BoolArray, FloatArray
from driftwise.calendar import DateLike, as_day
from driftwise.costs.components import AssetCostInputs
from driftwise.costs.estimation import adv_shares, daily_volatility, spread_average_bps
from driftwise.costs.params import CostParams, ImpactModel
from driftwise.costs.tiers import TierDefaults, cap_tier, tier_value
from driftwise.data._table import Source
from driftwise.data.costs import CostFile, read_cost_inputs
from driftwise.data.model import SecurityMaster
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, notice


def build_cost_inputs(
    tickers: Sequence[str] | pd.Index,
    prices: pd.DataFrame,
    volumes: pd.DataFrame | None,
    master: SecurityMaster | None,
    cost_file: CostFile | Source | None = None,
    *,
    as_of: DateLike,
    params: CostParams | None = None,
    spread_history_bps: pd.DataFrame | None = None,
) -> tuple[AssetCostInputs, tuple[Notice, ...]]:
    """Estimate and assemble the cost inputs of ``tickers`` on ``as_of``.

    Parameters
    ----------
    tickers : sequence of str
        The universe, in the order of the returned arrays.
    prices : pd.DataFrame
        Adjusted close (USD), dates x tickers (``MarketData.prices``).
    volumes : pd.DataFrame or None
        Split-adjusted shares traded, dates x tickers (``MarketData.volumes``).
    master : SecurityMaster or None
        ``market_cap_usd`` (tiers, ADV proxy, ``Theta / V``) and ``sector``.
    cost_file : CostFile, path or DataFrame, optional
        Cost inputs (read with :func:`~driftwise.data.costs.read_cost_inputs`).
    as_of : date
        Only data on or before this date is used.
    params : CostParams, optional
    spread_history_bps : pd.DataFrame, optional
        Daily full quoted spreads (bps), dates x tickers.

    Returns
    -------
    inputs : AssetCostInputs
    notices : tuple of Notice
        Every fallback used, by flag, naming its tickers.

    Raises
    ------
    DataError
        Duplicate tickers, a ticker with no price on or before ``as_of``, or a negative
        spread in the history.

    Notes
    -----
    The day's estimates (:class:`DayEstimates`: last price, :func:`daily_volatility`,
    :func:`adv_shares`, the spread average, the staleness of the cost-file rows) go
    through :meth:`CostInputsBuilder.build`, the same code the backtest uses per day.
    """
    day_costs = UniverseCosts.of(tickers, prices, volumes, master, cost_file, as_of=as_of,
                                 params=params, spread_history_bps=spread_history_bps)
    return day_costs.inputs_for(day_costs.index)


@dataclass(frozen=True, eq=False)
class UniverseCosts:
    """The per-asset part of :func:`build_cost_inputs` done once for a universe on one day
    (the union of many portfolios' tickers), and any subset's inputs from it.

    Every estimate of a day (last price, volatility, ADV, spread average, staleness) and
    every column of the master and the cost file is an asset's own, computed column by
    column, so a subset's slice equals that subset's own computation; the fallbacks that
    pool assets (the sector or universe median volatility) and the notices are applied to
    the subset (:meth:`inputs_for`). :func:`build_cost_inputs` is this with the subset the
    universe itself.

    Attributes
    ----------
    index : pd.Index
        The universe (unique tickers), in the order of the arrays.
    day : pd.Timestamp
    params : CostParams
    builder : CostInputsBuilder
        The master's and the cost file's columns of the universe.
    estimates : DayEstimates
        The day's estimates of the universe (``price_usd`` NaN where a ticker has no
        close on or before the day: an error for a subset that holds it).
    """

    index: pd.Index
    day: pd.Timestamp
    params: CostParams
    builder: CostInputsBuilder
    estimates: DayEstimates

    @classmethod
    def of(cls, tickers: Sequence[str] | pd.Index, prices: pd.DataFrame,
           volumes: pd.DataFrame | None, master: SecurityMaster | None,
           cost_file: CostFile | Source | None = None, *, as_of: DateLike,
           params: CostParams | None = None,
           spread_history_bps: pd.DataFrame | None = None) -> UniverseCosts:
        """The universe's estimates on ``as_of`` (parameters as :func:`build_cost_inputs`).

        Raises
        ------
        DataError
            Duplicate tickers, or a negative spread in the history.
        """
        params = params or CostParams()
        day = as_day(as_of)
        index = pd.Index([str(t) for t in tickers], dtype=object)
        if index.has_duplicates:
            raise DataError("duplicate tickers in the universe", field="ticker",
                            found=", ".join(index[index.duplicated()].unique()))
        builder = CostInputsBuilder(index, master, _cost_file(cost_file, day), params)
        px = _window(prices, index, day, "prices")
        window = params.vol_window_days
        sigma = daily_volatility(px.to_numpy(dtype=np.float64), window,
                                 min_history_periods(window, params))
        adv = None
        if volumes is not None:
            vol = _window(volumes, index, day, "volumes").to_numpy(dtype=np.float64)
            window = params.adv_window_days
            adv = adv_shares(vol, window, min_history_periods(window, params))
        spread = None
        if spread_history_bps is not None:
            spread = _spread_average(_window(spread_history_bps, index, day, "spread history"),
                                     index, params)
        estimates = DayEstimates(price_usd=_last_price(px), sigma_daily=sigma,
                                 adv_shares=adv,
                                 stale=builder.stale_on(pd.DatetimeIndex([day]))[0],
                                 spread_bps=spread)
        return cls(index=index, day=day, params=params, builder=builder, estimates=estimates)

    @functools.cached_property
    def _row(self) -> dict[str, int]:
        """Each ticker's position in :attr:`index` (read once: matching a few labels
        against the index through pandas costs more than the lookups)."""
        return {t: i for i, t in enumerate(self.index.tolist())}

    def positions(self, tickers: Sequence[str] | pd.Index) -> npt.NDArray[np.intp]:
        """The position of each of ``tickers`` in :attr:`index` (-1: not in the
        universe), as ``index.get_indexer`` of them as objects."""
        listed = tickers.tolist() if isinstance(tickers, pd.Index) else tickers
        row = self._row
        return np.fromiter((row.get(t, -1) for t in listed), dtype=np.intp,
                           count=len(listed))

    def covers(self, tickers: Sequence[str] | pd.Index) -> bool:
        """Whether every one of ``tickers`` is in the universe."""
        listed = tickers.tolist() if isinstance(tickers, pd.Index) else tickers
        row = self._row
        return all(t in row for t in listed)

    def inputs_for(self, tickers: Sequence[str] | pd.Index
                   ) -> tuple[AssetCostInputs, tuple[Notice, ...]]:
        """The cost inputs and notices of ``tickers`` (unique, all in the universe), equal
        to ``build_cost_inputs(tickers, ...)`` on the same data and day.

        Raises
        ------
        DataError
            A ticker with no price on or before the day; KeyError: a ticker outside the
            universe.
        """
        listed = tickers.tolist() if isinstance(tickers, pd.Index) else tickers
        names = [str(t) for t in listed]
        pos = self.positions(names)
        if (pos < 0).any():
            raise KeyError("not in the universe: "
                           + ", ".join([n for n, p in zip(names, pos, strict=True)
                                        if p < 0][:10]))
        e = self.estimates
        price = e.price_usd[pos]
        has = np.isfinite(price)
        if not has.all():
            raise DataError(f"no price on or before {self.day.date()}", file="<prices>",
                            field="ticker",
                            expected="a close for every ticker of the universe",
                            found=", ".join([n for n, h in zip(names, has.tolist(),
                                                               strict=True) if not h][:10]))
        mine = DayEstimates(
            price_usd=price, sigma_daily=e.sigma_daily[pos],
            adv_shares=None if e.adv_shares is None else e.adv_shares[pos],
            stale=None if e.stale is None else e.stale[pos],
            spread_bps=None if e.spread_bps is None else e.spread_bps[pos])
        builder = self.builder.subset(pos)
        inputs, notes = builder.build(mine)
        return inputs, notes + builder.after_notices(self.day)


def min_history_periods(window: int, params: CostParams) -> int:
    """Fewest observations a rolling estimate over ``window`` days needs.

    ``ceil(params.min_history_fraction * window)``, at least 2; with fewer the estimate
    is NaN and the builder's fallback is used (and flagged).
    """
    return max(2, int(np.ceil(params.min_history_fraction * window)))


@dataclass(frozen=True, eq=False)
class DayEstimates:
    """One day's market estimates of the universe, before any fallback.

    Attributes
    ----------
    price_usd : ndarray, shape (N,)
        Last close on or before the day (positive).
    sigma_daily : ndarray, shape (N,)
        :func:`~driftwise.costs.daily_volatility` over ``vol_window_days``; NaN with too
        little history.
    adv_shares : ndarray, shape (N,), or None
        :func:`~driftwise.costs.adv_shares` over ``adv_window_days``; NaN or None without
        volumes (the market-cap proxy is used).
    stale : ndarray of bool, shape (N,), or None
        Cost-file rows too old on the day (:meth:`CostInputsBuilder.stale_on`); None:
        none.
    spread_bps : ndarray, shape (N,), or None
        Average full quoted spread of a spread history (bps); NaN or None: none.
    """

    price_usd: FloatArray
    sigma_daily: FloatArray
    adv_shares: FloatArray | None = None
    stale: BoolArray | None = None
    spread_bps: FloatArray | None = None


class CostInputsBuilder:
    """Assemble :class:`AssetCostInputs` for one universe on any day, with flagged fallbacks.

    The day-independent columns (market cap, tier, sector from the master; spread,
    commissions, minimum ticket and borrow from the cost file) are read once;
    :meth:`build` applies the fallbacks of the module docstring to one day's
    :class:`DayEstimates`. :func:`build_cost_inputs` is this builder on one day.

    Parameters
    ----------
    tickers : sequence of str
        The universe (unique), in the order of the arrays.
    master : SecurityMaster or None
    cost_file : CostFile or None
        Already read (rows measured after a day are the caller's concern).
    params : CostParams, optional

    Examples
    --------
    >>> builder = CostInputsBuilder(tickers, master, cost_file, params)  # doctest: +SKIP
    >>> inputs, notices = builder.build(DayEstimates(price, sigma, adv))  # doctest: +SKIP
    """

    def __init__(self, tickers: Sequence[str] | pd.Index, master: SecurityMaster | None,
                 cost_file: CostFile | None, params: CostParams | None = None) -> None:
        self.params = params or CostParams()
        self.index = pd.Index([str(t) for t in tickers], dtype=object)
        self.tickers = tuple(self.index)
        self.tiers: TierDefaults = self.params.tiers
        n = len(self.index)
        self.cap = np.full(n, np.nan)
        self.sector = np.full(n, None, dtype=object)
        self._read_master(master)
        self.spread = np.full(n, np.nan)
        self.has_row = np.zeros(n, dtype=bool)
        self.commission_bps = np.full(n, self.params.default_commission_bps)
        self.per_share = np.full(n, self.params.default_commission_per_share_usd)
        self.ticket = np.full(n, self.params.default_min_ticket_usd)
        self.borrow = np.full(n, np.nan)
        self.cost_as_of = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        self._read_costs(cost_file)
        self.tier = cap_tier(self.cap, self.tiers)

    def subset(self, pos: npt.NDArray[np.intp]) -> CostInputsBuilder:
        """The builder of the universe's assets at positions ``pos`` (every column of the
        master and the cost file is an asset's own: the slice equals a builder of those
        tickers)."""
        out = object.__new__(CostInputsBuilder)
        out.params, out.tiers = self.params, self.tiers
        out.index = self.index[pos]
        out.tickers = tuple(out.index)
        for name in ("cap", "sector", "spread", "has_row", "commission_bps", "per_share",
                     "ticket", "borrow", "cost_as_of", "tier"):
            setattr(out, name, getattr(self, name)[pos])
        return out

    def _read_master(self, master: SecurityMaster | None) -> None:
        if master is None:
            return
        frame = master.frame.reindex(self.index)
        if "market_cap_usd" in frame.columns:
            cap = frame["market_cap_usd"].to_numpy(dtype=np.float64)
            self.cap = np.where(cap > 0.0, cap, np.nan)
        if "sector" in frame.columns:
            self.sector = frame["sector"].to_numpy(dtype=object)

    def _read_costs(self, cost_file: CostFile | None) -> None:
        if cost_file is None:
            return
        rows = cost_file.frame.reindex(self.index)
        self.has_row = np.asarray(self.index.isin(cost_file.frame.index), dtype=bool)
        have = self.has_row
        self.spread = rows["spread_bps"].to_numpy(dtype=np.float64)
        self.commission_bps = np.where(have, rows["commission_bps"], self.commission_bps)
        self.per_share = np.where(have, rows["commission_per_share_usd"], self.per_share)
        self.ticket = np.where(have, rows["min_ticket_usd"], self.ticket)
        self.borrow = rows["borrow_bps_annual"].to_numpy(dtype=np.float64)
        self.cost_as_of = pd.to_datetime(rows["as_of"]).to_numpy(dtype="datetime64[ns]")

    def stale_on(self, days: pd.DatetimeIndex) -> BoolArray:
        """Cost-file rows older than ``stale_after_days`` calendar days, shape (T, N).

        Age in whole days from the row's ``as_of`` to each day; a ticker without a row
        is never stale.
        """
        out = np.zeros((len(days), len(self.index)), dtype=bool)
        cols = np.flatnonzero(self.has_row)
        if not len(cols):
            return out
        # the age depends on the as-of date alone: once per distinct date, then per column
        as_of, which = np.unique(self.cost_as_of[cols], return_inverse=True)
        age = days.to_numpy(dtype="datetime64[ns]")[:, None] - as_of[None, :]
        age_days = age.astype("timedelta64[D]").astype(np.float64)
        with np.errstate(invalid="ignore"):
            out[:, cols] = (age_days > self.params.stale_after_days)[:, which.reshape(-1)]
        return out

    def after_notices(self, day: pd.Timestamp) -> tuple[Notice, ...]:
        """A notice naming the cost-file rows measured after ``day`` (none: empty)."""
        with np.errstate(invalid="ignore"):
            after = self.has_row & (self.cost_as_of > np.datetime64(day, "ns"))
        if not after.any():
            return ()
        last = pd.Timestamp(self.cost_as_of[after].max()).date()
        return (notice(Flag.COSTS_AFTER_AS_OF, f"cost inputs measured after the as-of date "
                       f"{day.date()} (latest {last}): information from later days is used; "
                       "check the cost file and the prices' last date", self.index[after]),)

    def build(self, day: DayEstimates) -> tuple[AssetCostInputs, tuple[Notice, ...]]:
        """One day's inputs and the notices of every fallback used."""
        inputs, tier_used = self._assemble(day)
        return inputs, self._notices(inputs, tier_used & np.isnan(self.cap))

    def inputs(self, day: DayEstimates) -> AssetCostInputs:
        """One day's inputs, as :meth:`build`, without the notices (cheaper)."""
        return self._assemble(day)[0]

    def window(self, days: DayEstimates) -> AssetCostInputs:
        """The inputs of T days at once, as :meth:`inputs` gives each day, without notices.

        ``days`` holds (T, N) estimates (``stale`` and ``spread_bps`` (T, N) or None).
        Returns one :class:`AssetCostInputs` over the ``T * N`` (day, asset) cells,
        day-major: cell ``t * N + i`` is asset ``i`` of day ``t``, equal to the bit to
        ``inputs`` of that day (the same element-wise code; the volatility fallback's
        medians taken day by day), validated once for the whole window.
        """
        price = np.asarray(days.price_usd, dtype=np.float64)
        if price.ndim != 2 or price.shape[1] != len(self.index):
            raise ValueError(f"window estimates must be shaped (days, {len(self.index)}); "
                             f"found {price.shape}")
        fields, _ = self._fields(days)
        cells = {name: np.broadcast_to(value, price.shape).reshape(-1)
                 for name, value in fields.items()}
        return AssetCostInputs(**cells, tickers=self.tickers * price.shape[0])

    def _assemble(self, day: DayEstimates) -> tuple[AssetCostInputs, BoolArray]:
        fields, tier_used = self._fields(day)
        return AssetCostInputs(**fields, tickers=self.tickers), tier_used

    def _fields(self, day: DayEstimates) -> tuple[dict[str, npt.NDArray[Any]], BoolArray]:
        """The fields of :class:`AssetCostInputs` from estimates shaped (N,) or (T, N)
        (each array broadcasts to the estimates' shape), and where a tier value was used."""
        price = np.asarray(day.price_usd, dtype=np.float64)
        raw_adv = np.full(price.shape, np.nan) if day.adv_shares is None else day.adv_shares
        history = np.full(price.shape, np.nan) if day.spread_bps is None else day.spread_bps
        no_adv = np.isnan(raw_adv)
        has_cost_data = self.has_row | np.isfinite(history)
        costs_estimated = ~has_cost_data & no_adv
        full_spread = np.where(np.isfinite(history), history, self.spread)
        spread_estimated = np.isnan(full_spread) & ~costs_estimated
        full_spread = np.where(np.isnan(full_spread), tier_value(self.tier, self.tiers.spread_bps),
                               full_spread)
        cap_for_proxy = np.where(np.isnan(self.cap), self.tiers.unknown_cap_usd, self.cap)
        adv = np.where(no_adv, cap_for_proxy / self.params.outstanding_over_adv / price, raw_adv)
        raw_sigma = np.asarray(day.sigma_daily, dtype=np.float64)
        if raw_sigma.ndim == 1:
            sigma, sigma_tier = self._fill_sigma(raw_sigma)
        else:  # the fallback's medians are a day's: each day with a gap alone
            sigma, sigma_tier = raw_sigma.copy(), np.zeros(raw_sigma.shape, dtype=bool)
            for k in np.flatnonzero(~np.isfinite(raw_sigma).all(axis=1)).tolist():
                sigma[k], sigma_tier[k] = self._fill_sigma(raw_sigma[k])
        borrow_estimated = np.isnan(self.borrow)
        fields: dict[str, npt.NDArray[Any]] = dict(
            price_usd=price, half_spread_bps=0.5 * full_spread,
            commission_bps=self.commission_bps, commission_per_share_usd=self.per_share,
            min_ticket_usd=self.ticket, sigma_daily=sigma, adv_shares=adv,
            borrow_bps_annual=np.where(borrow_estimated, self.params.default_borrow_bps_annual,
                                       self.borrow),
            outstanding_over_adv=self.cap / (price * adv),
            all_in_bps=np.where(costs_estimated, tier_value(self.tier, self.tiers.all_in_bps),
                                np.nan),
            spread_estimated=spread_estimated, costs_estimated=costs_estimated,
            liquidity_estimated=no_adv, volatility_estimated=np.isnan(raw_sigma),
            borrow_estimated=borrow_estimated,
            stale=np.zeros(price.shape, dtype=bool) if day.stale is None else day.stale)
        tier_used = costs_estimated | spread_estimated | no_adv | sigma_tier
        if self.params.impact_model is ImpactModel.ALMGREN_2005:
            tier_used |= ~costs_estimated
        return fields, tier_used

    def _fill_sigma(self, raw: FloatArray) -> tuple[FloatArray, BoolArray]:
        """Sector median, else universe median, else tier default; and the tier mask."""
        known = np.isfinite(raw)
        if known.all():
            return raw, np.zeros(len(raw), dtype=bool)
        frame = pd.DataFrame({"sector": self.sector, "sigma": raw})
        by_sector = frame.groupby("sector", dropna=True)["sigma"].median()
        sector_sigma = frame["sector"].map(by_sector).to_numpy(dtype=np.float64)
        sigma = np.where(known, raw, sector_sigma)
        if known.any():
            sigma = np.where(np.isnan(sigma), np.median(raw[known]), sigma)
        use_tier = np.isnan(sigma)
        sigma = np.where(use_tier, tier_value(self.tier, self.tiers.sigma_daily), sigma)
        return sigma, use_tier

    def _notices(self, inputs: AssetCostInputs, cap_unknown: BoolArray) -> tuple[Notice, ...]:
        t, p = self.tiers, self.params
        tiers = "large / mid / small cap"
        notices: list[Notice] = []

        def add(flag: Flag, mask: BoolArray, detail: str) -> None:
            if mask.any():
                notices.append(notice(flag, detail, self.index[mask]))

        add(Flag.ESTIMATED_COSTS, inputs.costs_estimated,
            f"no cost inputs and no volume history: all-in cost "
            f"{_slash(t.all_in_bps)} bps of traded value ({tiers})")
        add(Flag.TIER_SPREAD, inputs.spread_estimated,
            f"no spread: tier spread {_slash(t.spread_bps)} bps ({tiers}), half paid per "
            f"trade; without a cost-file row, commission {p.default_commission_bps:g} bps")
        add(Flag.ESTIMATED_LIQUIDITY, inputs.liquidity_estimated,
            f"no volume history: ADV estimated as market cap / "
            f"{p.outstanding_over_adv:g} (daily turnover "
            f"{1 / p.outstanding_over_adv:.2%})")
        add(Flag.NO_VOLATILITY, inputs.volatility_estimated,
            "too little price history for volatility: sector median, else universe "
            f"median, else tier default {_slash(t.sigma_daily)} a day ({tiers}); "
            "lower confidence")
        add(Flag.STALE_COSTS, inputs.stale,
            f"cost inputs measured more than {p.stale_after_days} days before the "
            "as-of date: the plan is invalid until they are refreshed or accepted")
        add(Flag.UNKNOWN_MARKET_CAP, cap_unknown,
            f"market cap unknown: treated as mid cap (${t.unknown_cap_usd / 1e9:g}B; "
            f"Theta/V {p.outstanding_over_adv:g}) for tier fallbacks")
        return tuple(notices)


def _window(frame: pd.DataFrame, index: pd.Index, day: pd.Timestamp, name: str) -> pd.DataFrame:
    """Rows up to ``day`` of the columns ``index`` (absent tickers as NaN columns)."""
    # the columns taken before the rows are cut: a copy of these columns only
    mine = frame.reindex(columns=index)
    return mine.loc[mine.index <= day].astype(np.float64)


def _last_price(px: pd.DataFrame) -> FloatArray:
    """Each column's last finite close (NaN: none)."""
    values = px.to_numpy(dtype=np.float64)
    valid = np.isfinite(values)
    last = values.shape[0] - 1 - np.argmax(valid[::-1], axis=0)
    price = values[last, np.arange(values.shape[1])] if len(values) else \
        np.full(values.shape[1], np.nan)
    return np.asarray(np.where(valid.any(axis=0), price, np.nan), dtype=np.float64)


def _cost_file(cost_file: CostFile | Source | None, day: pd.Timestamp) -> CostFile | None:
    if cost_file is None or isinstance(cost_file, CostFile):
        return cost_file
    return read_cost_inputs(cost_file, as_of=day)


def _spread_average(history: pd.DataFrame, index: pd.Index, params: CostParams) -> FloatArray:
    """Average full spread (bps) of the last ``spread_window_days`` of a spread history."""
    values = history.to_numpy(dtype=np.float64)
    negative = values < 0.0
    if negative.any():
        row, col = (int(i[0]) for i in np.nonzero(negative))
        raise DataError("negative spread", file="<spread history>", field=str(index[col]),
                        expected="a spread >= 0 bps",
                        found=f"{values[row, col]} on {history.index[row]}")
    window = params.spread_window_days
    return spread_average_bps(values, window, min_history_periods(window, params))


def _slash(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:g}" for v in values)
