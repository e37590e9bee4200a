"""PortfolioState: holdings, targets and prices aligned to one universe on one day.

The universe is the union of held and target tickers, sorted; cash is a separate
scalar. This is the only place where inputs from different files meet, so the
cross-file checks live here: unknown tickers, a held ticker with no price on the
as-of date (delisted or suspended: valued at its last close, flagged, frozen by the
planner), a held ticker missing from asset-level targets (flagged: its target is 0),
group-level targets expanded to assets, and a missing target.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import FloatArray
from driftwise.data.loader import ticker_index
from driftwise.data.model import (
    DefaultTarget,
    Holdings,
    MarketData,
    SecurityMaster,
    TargetLevel,
    Targets,
)
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, merge_notices, notice

UNKNOWN_GROUP = "Unknown"

_NO_SINCE = pd.Series(dtype="datetime64[ns]")
"""An empty ``no_price_since`` (copied for each state: building an empty series costs
about 0.25 ms, a copy a tenth of it)."""

_NO_GROUP_TARGETS = pd.Series(dtype=float)
"""An empty ``group_targets`` (copied for each state, as :data:`_NO_SINCE`)."""


@dataclass(frozen=True)
class PortfolioState:
    """One portfolio on one day, aligned to its universe.

    Attributes
    ----------
    tickers : pd.Index
        The universe: held ∪ target tickers, sorted. Every array below is aligned to it.
    as_of : pd.Timestamp
    shares : ndarray, shape (n_assets,)
        Signed shares held (0 for unheld target assets).
    prices_usd : ndarray, shape (n_assets,)
        Close on ``as_of``.
    cash_usd, nav_usd : float
        Cash and net asset value (positions + cash).
    target_weights : ndarray, shape (n_assets,)
        Asset-level targets (group targets already expanded), fractions of NAV.
    target_cash_weight : float
    band_abs, band_rel : ndarray, shape (n_assets,)
        Per-asset bands from the targets file (NaN where not given).
    sectors, asset_classes : ndarray of object, shape (n_assets,)
        Group labels (``"Unknown"`` where the security master is silent).
    market_cap_usd : ndarray, shape (n_assets,)
        NaN where unknown.
    target_level : TargetLevel
        Level at which the targets were given; group drift is measured at that level.
    group_targets : pd.Series
        Target weight per group when ``target_level`` is a group level; empty otherwise.
    notices : tuple of Notice
    no_price_since : pd.Series
        Held tickers without a close on ``as_of`` (delisted or suspended), mapped to the
        date of their last close; ``prices_usd`` holds that close. Empty when every held
        ticker has a price.
    """

    tickers: pd.Index
    as_of: pd.Timestamp
    shares: FloatArray
    prices_usd: FloatArray
    cash_usd: float
    nav_usd: float
    target_weights: FloatArray
    target_cash_weight: float
    band_abs: FloatArray
    band_rel: FloatArray
    sectors: npt.NDArray[np.object_]
    asset_classes: npt.NDArray[np.object_]
    market_cap_usd: FloatArray
    target_level: TargetLevel = TargetLevel.ASSET
    group_targets: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    notices: tuple[Notice, ...] = field(default=())
    no_price_since: pd.Series = field(default_factory=lambda: pd.Series(dtype="datetime64[ns]"))

    @property
    def frozen(self) -> npt.NDArray[np.bool_]:
        """Assets that cannot trade today (no price on ``as_of``), shape (n_assets,)."""
        if self.no_price_since.empty:
            return np.zeros(len(self.tickers), dtype=bool)
        return np.asarray(self.tickers.isin(self.no_price_since.index), dtype=bool)

    @property
    def n_assets(self) -> int:
        """Number of assets in the universe."""
        return len(self.tickers)

    @property
    def values_usd(self) -> FloatArray:
        """Market value per asset, shape (n_assets,)."""
        return self.shares * self.prices_usd

    @property
    def weights(self) -> FloatArray:
        """Current weights, fractions of NAV, shape (n_assets,)."""
        return self.values_usd / self.nav_usd

    @property
    def cash_weight(self) -> float:
        """Cash as a fraction of NAV."""
        return self.cash_usd / self.nav_usd

    def groups(self) -> npt.NDArray[np.object_]:
        """Group label per asset at the targets' level (tickers themselves at asset level)."""
        if self.target_level is TargetLevel.SECTOR:
            return self.sectors
        if self.target_level is TargetLevel.ASSET_CLASS:
            return self.asset_classes
        return np.asarray(self.tickers, dtype=object)


@dataclass(frozen=True, eq=False)
class MasterRows:
    """A security master's columns as arrays and each ticker's row, so that many
    portfolios of one day read their tickers' rows without matching the master's index
    again (``master.frame.reindex(tickers)`` converts a pandas string index to the
    master's object index on every call). The values are those of the reindex.

    Attributes
    ----------
    frame : pd.DataFrame
        The master's frame these rows were read from (a state uses them only for it).
    row : dict of str to int
        Each ticker's row in ``frame``.
    columns : dict of str to ndarray
        ``sector`` and ``asset_class`` (object) and ``market_cap_usd`` (float64), as in
        ``frame``.
    """

    frame: pd.DataFrame
    row: dict[str, int]
    columns: dict[str, np.ndarray]

    @classmethod
    def of(cls, master: SecurityMaster) -> MasterRows | None:
        """The rows of ``master``; None when its index repeats a ticker (a reindex
        refuses it, and says so)."""
        frame = master.frame
        if not frame.index.is_unique:
            return None
        return cls(frame=frame, row={t: i for i, t in enumerate(frame.index.tolist())},
                   columns={"sector": frame["sector"].to_numpy(dtype=object),
                            "asset_class": frame["asset_class"].to_numpy(dtype=object),
                            "market_cap_usd": frame["market_cap_usd"]
                            .to_numpy(dtype=np.float64)})

    def positions(self, tickers: pd.Index | list[str]) -> npt.NDArray[np.intp]:
        """The row of each of ``tickers`` (an index, or its ``tolist()``; -1: not in the
        master)."""
        row = self.row
        listed = tickers.tolist() if isinstance(tickers, pd.Index) else tickers
        return np.fromiter((row.get(t, -1) for t in listed), dtype=np.intp,
                           count=len(listed))

    def column(self, name: str, tickers: pd.Index | list[str],
               pos: npt.NDArray[np.intp] | None = None) -> np.ndarray:
        """``frame[name].reindex(tickers)``'s values: a group column as objects (None
        where the master has no row), the market cap as float64 (NaN). ``pos``: the
        tickers' :meth:`positions` when the caller has them."""
        pos = self.positions(tickers) if pos is None else pos
        values = self.columns[name]
        if not len(values):
            taken = np.full(len(pos), np.nan if values.dtype == np.float64 else None,
                            dtype=values.dtype)
        else:
            taken = values[pos]
            taken[pos < 0] = np.nan if values.dtype == np.float64 else None
        return taken


@dataclass(frozen=True, eq=False)
class PriceRows:
    """One day's closes of a price frame and each ticker's column, so that many
    portfolios of that day read their closes without matching the frame's columns again
    (``get_indexer`` of a pandas string index on every call). The values are those of
    ``prices.loc[day]``.

    Attributes
    ----------
    prices : pd.DataFrame
        The price frame these closes were read from (a state uses them only for it).
    day : pd.Timestamp
    column : dict of str to int
        Each ticker's column in ``prices``.
    closes : ndarray, shape (n_columns,)
        The closes on ``day`` (NaN: none).
    """

    prices: pd.DataFrame
    day: pd.Timestamp
    column: dict[str, int]
    closes: FloatArray

    @classmethod
    def of(cls, prices: pd.DataFrame, day: pd.Timestamp) -> PriceRows | None:
        """The closes of ``prices`` on ``day``; None when a ticker has two columns, the
        frame none, or ``day`` is not one row of its index (the state then reads the
        frame itself, and says what is wrong)."""
        if len(prices.columns) == 0 or not prices.columns.is_unique or day not in prices.index:
            return None
        at = prices.index.get_loc(day)
        if not isinstance(at, int | np.integer):
            return None
        values = prices.to_numpy(dtype=np.float64)
        return cls(prices=prices, day=day,
                   column={t: i for i, t in enumerate(prices.columns.tolist())},
                   closes=values[int(at)].copy())

    def take(self, listed: list[str]) -> FloatArray:
        """The closes of the tickers ``listed`` (NaN: no column), a new array."""
        column = self.column
        pos = np.fromiter((column.get(t, -1) for t in listed), dtype=np.intp,
                          count=len(listed))
        return np.where(pos >= 0, self.closes[pos], np.nan)


def _groups(rows: MasterRows, name: str, tickers: pd.Index | list[str],
            pos: npt.NDArray[np.intp] | None = None) -> npt.NDArray[np.object_]:
    """A group column of ``tickers``, :data:`UNKNOWN_GROUP` where the master is silent
    (``pos``: their :meth:`MasterRows.positions`, when known)."""
    values = rows.column(name, tickers, pos)
    values[pd.isna(values)] = UNKNOWN_GROUP
    return values


def build_state(
    holdings: Holdings,
    targets: Targets | None,
    market: MarketData,
    master: SecurityMaster | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    default_target: DefaultTarget = DefaultTarget.EQUAL,
    rows: MasterRows | None = None,
    closes: PriceRows | None = None,
) -> PortfolioState:
    """Align holdings, targets, master and prices into a :class:`PortfolioState`.

    ``rows``: the master's columns read once for many portfolios (:class:`MasterRows`),
    used when they are those of ``master``; ``closes``: the day's closes read once
    (:class:`PriceRows`), used when they are those of ``market.prices`` on the as-of
    date. The state is the same.

    Raises
    ------
    DataError
        A ticker with no price history ("unknown ticker"), a held ticker with no price
        on or before the as-of date, a target ticker not held with no price on the
        as-of date, an as-of date absent from the prices, or a non-positive NAV.

    Notes
    -----
    A held ticker whose last close is before the as-of date (delisted or suspended) is
    valued at that close and flagged ``delisted or suspended``; ``no_price_since``
    names it, and the planner trades it in neither direction. A held ticker missing
    from asset-level targets gets a target of 0 and is flagged ``not in the targets``.
    """
    master = master if master is not None else SecurityMaster.empty()
    day = (closes.day if closes is not None and as_of is not None
           and closes.prices is market.prices and closes.day == pd.Timestamp(as_of)
           else _as_of_date(market, as_of))
    if closes is not None and (closes.prices is not market.prices or closes.day != day):
        closes = None
    notes: list[Notice] = []
    held_list = holdings.tickers.tolist()
    level = targets.level if targets is not None else TargetLevel.ASSET
    target_tickers = (
        targets.weights.index.tolist()
        if targets is not None and level is TargetLevel.ASSET else []
    )
    _check_known(holdings, targets, market, held_list, target_tickers,
                 closes.column if closes is not None else None)

    # the tickers listed first: iterating a pandas string index goes element by element
    listed = sorted(set(held_list) | set(target_tickers))
    tickers = ticker_index(listed, (holdings.tickers, held_list),
                           (targets.weights.index, target_tickers)
                           if targets is not None and target_tickers else None)
    if level is not TargetLevel.ASSET and targets is not None:
        tickers = _add_group_members(tickers, targets, master, market, day)
        listed = tickers.tolist()
    prices, since = _prices_on(market, tickers, listed, day, holdings, targets, closes)

    shares = reindexed(holdings.shares, tickers, listed, 0.0)
    values = shares * prices
    nav = float(values.sum() + holdings.cash_usd)
    if not np.isfinite(nav) or nav <= 0.0:
        raise DataError("portfolio value is not positive", file=holdings.source,
                        expected="positions plus cash > 0", found=f"NAV {nav:,.2f} USD")

    if rows is not None and rows.frame is master.frame:
        pos = rows.positions(listed)
        sectors = _groups(rows, "sector", listed, pos)
        classes = _groups(rows, "asset_class", listed, pos)
        caps = rows.column("market_cap_usd", listed, pos)
    else:
        info = master.frame.reindex(tickers)
        sectors = info["sector"].fillna(UNKNOWN_GROUP).to_numpy(dtype=object)
        classes = info["asset_class"].fillna(UNKNOWN_GROUP).to_numpy(dtype=object)
        caps = info["market_cap_usd"].to_numpy(dtype=np.float64)

    group_targets = _NO_GROUP_TARGETS.copy()
    if targets is None:
        target_w, cash_t = _default_targets(values, caps, default_target)
        notes.append(notice(Flag.NO_TARGET, f"no target given: {default_target.value}-weight "
                            "target over the held assets used", tickers))
        band_abs = band_rel = np.full(len(tickers), np.nan)
    elif level is TargetLevel.ASSET:
        at = _Positions(listed, tickers)
        target_w = reindexed(targets.weights, tickers, listed, 0.0, at)
        notes.extend(_not_in_targets(tickers, listed, shares, target_tickers, since))
        cash_t = targets.cash_weight
        band_abs = reindexed(targets.band_abs, tickers, listed, np.nan, at)
        band_rel = reindexed(targets.band_rel, tickers, listed, np.nan, at)
    else:
        labels = sectors if level is TargetLevel.SECTOR else classes
        target_w, group_notes = _expand_group_targets(targets, labels, values, tickers)
        notes.extend(group_notes)
        cash_t = targets.cash_weight
        group_targets = targets.weights
        band_abs = band_rel = np.full(len(tickers), np.nan)

    short = shares < 0
    if short.any():
        shorts = tickers[short]
        notes.append(notice(Flag.SHORT_POSITION, "short positions: drift uses signed weights "
                            "(absolute deviations) and trades carry borrow cost", shorts))
    return PortfolioState(
        tickers=tickers, as_of=day, shares=shares, prices_usd=prices,
        cash_usd=float(holdings.cash_usd), nav_usd=nav, target_weights=target_w,
        target_cash_weight=float(cash_t), band_abs=band_abs, band_rel=band_rel,
        sectors=sectors, asset_classes=classes, market_cap_usd=caps, target_level=level,
        group_targets=group_targets,
        notices=merge_notices(holdings.notices, targets.notices if targets else (),
                              market.notices, _frozen_notes(since), notes),
        no_price_since=since,
    )


def reindexed(series: pd.Series, tickers: pd.Index, listed: list[str],
              fill: float = np.nan, at: _Positions | None = None) -> FloatArray:
    """``series.reindex(tickers, fill_value=fill).to_numpy(dtype=np.float64)`` (a NaN
    ``fill``: ``reindex(tickers)``), a new array; ``listed`` is ``tickers.tolist()``;
    ``at``: the positions of ``listed`` kept for series that share an index (a target's
    weights and bands).

    A float64 series with unique labels is read through a dict of its labels (a pandas
    reindex of a few labels costs some 0.4 ms: index checks, a new series); any other
    goes through ``reindex`` itself (its errors, e.g. on repeated labels, included)."""
    pos = ((at if at is not None else _Positions(listed, tickers)).of(series.index)
           if series.dtype == np.float64 else None)
    if pos is None:
        moved = (series.reindex(tickers) if np.isnan(fill)
                 else series.reindex(tickers, fill_value=fill))
        return moved.to_numpy(dtype=np.float64, copy=True)
    out = np.full(len(listed), fill, dtype=np.float64)
    has = pos >= 0
    out[has] = series.to_numpy(dtype=np.float64)[pos[has]]
    return out


class _Positions:
    """The position of each of ``listed`` (``tickers.tolist()``, unique) in a series'
    labels (-1: absent; None: the labels repeat), kept for the last index read."""

    def __init__(self, listed: list[str], tickers: pd.Index) -> None:
        self.listed = listed
        self._index: pd.Index | None = tickers
        self._pos: npt.NDArray[np.intp] | None = np.arange(len(listed), dtype=np.intp)

    def of(self, index: pd.Index) -> npt.NDArray[np.intp] | None:
        if index is self._index:  # (the tickers themselves: each at its own place)
            return self._pos
        labels = index.tolist()
        pos = None
        if len(set(labels)) == len(labels):
            row = dict(zip(labels, range(len(labels)), strict=True))
            pos = np.fromiter((row.get(t, -1) for t in self.listed), dtype=np.intp,
                              count=len(self.listed))
        self._index, self._pos = index, pos
        return pos


def _as_of_date(market: MarketData, as_of: pd.Timestamp | str | None) -> pd.Timestamp:
    if as_of is None:
        return market.last_date
    day = pd.Timestamp(as_of).normalize()
    if day not in market.prices.index:
        index = market.prices.index
        later = index[index <= day]
        raise DataError("as-of date has no prices", file=market.source, field="date",
                        expected=f"a trading day in the prices file ({index[0].date()}"
                        f" .. {market.last_date.date()})",
                        found=f"{day.date()}" + (f"; last earlier day {later[-1].date()}"
                                                  if len(later) else ""))
    return day


def _check_known(holdings: Holdings, targets: Targets | None, market: MarketData,
                 held: list[str], named: list[str], known: Container[str] | None = None
                 ) -> None:
    """Every held ticker (``held``) and asset-level target ticker (``named``) has a price
    column (``known``: the columns, when the caller has them)."""
    known = set(market.prices.columns) if known is None else known
    for ticker in held:
        if ticker not in known:
            raise DataError("unknown ticker: no price history", file=holdings.source,
                            row=_line(holdings.lines, ticker), field="ticker",
                            expected=f"a ticker present in {market.source}", found=ticker)
    if targets is not None and targets.level is TargetLevel.ASSET:
        for ticker in named:
            if ticker not in known:
                raise DataError("unknown ticker: no price history", file=targets.source,
                                row=_line(targets.lines, ticker), field="ticker",
                                expected=f"a ticker present in {market.source}", found=ticker)


def _line(lines: pd.Series, key: str) -> int | None:
    return int(lines[key]) if key in lines.index else None


def _prices_on(market: MarketData, tickers: pd.Index, listed: list[str], day: pd.Timestamp,
               holdings: Holdings, targets: Targets | None,
               closes: PriceRows | None = None) -> tuple[FloatArray, pd.Series]:
    """Closes on ``day``; a held ticker without one takes its last earlier close.

    ``listed`` is ``tickers.tolist()``; ``closes``: the closes of ``market.prices`` on
    ``day`` read once (:class:`PriceRows`). Returns the prices and the held tickers
    priced at an earlier close, mapped to its date (delisted or suspended). A held ticker
    with no close on or before ``day``, or a ticker that is not held and has no close on
    ``day``, is an error.
    """
    row = (closes.take(listed) if closes is not None
           else _closes(market.prices, tickers, day))
    since: dict[str, pd.Timestamp] = {}
    missing = np.flatnonzero(~np.isfinite(row)).tolist()
    held = holdings.shares[holdings.shares != 0.0].index if missing else None
    for i in missing:
        ticker = str(tickers[i])
        history = market.prices[ticker].loc[:day].dropna()
        if held is not None and ticker in held and len(history):
            row[i] = float(history.iloc[-1])
            since[ticker] = pd.Timestamp(history.index[-1])
            continue
        last = f"last price on {history.index[-1].date()}" if len(history) else "no earlier price"
        in_holdings = ticker in holdings.tickers
        source = holdings.source if in_holdings else (targets.source if targets
                                                      else market.source)
        lines = holdings.lines if in_holdings else (targets.lines if targets
                                                    else pd.Series(dtype=int))
        what = "held ticker has no price on or before" if in_holdings else \
            "target ticker has no price on"
        raise DataError(
            f"{what} the as-of date (delisted or suspended?)", file=source,
            row=_line(lines, ticker), field="ticker",
            expected=f"a close for {ticker} on {day.date()} in {market.source}",
            found=f"{ticker}: {last}")
    return row, (pd.Series(since, dtype="datetime64[ns]") if since else _NO_SINCE.copy())


def _closes(prices: pd.DataFrame, tickers: pd.Index, day: pd.Timestamp) -> FloatArray:
    """The closes of ``tickers`` on ``day`` (NaN: none), a new array: ``prices.loc[day]
    .reindex(tickers)``, read from the frame's values without building the day's row."""
    at = prices.index.get_loc(day)
    columns = prices.columns
    # an object index matches the tickers as objects: a string index against it is
    # converted inside get_indexer at each call
    cols = columns.get_indexer(pd.Index(tickers.tolist(), dtype=object)
                               if columns.dtype == object else tickers)
    if not isinstance(at, int | np.integer) or len(prices.columns) == 0:
        return prices.loc[day].reindex(tickers).to_numpy(dtype=np.float64, copy=True)
    values = prices.to_numpy(dtype=np.float64)  # a view of a frame of one float block
    return np.where(cols >= 0, values[int(at), cols], np.nan)


def _frozen_notes(since: pd.Series) -> list[Notice]:
    """One ``delisted or suspended`` notice per last-close date."""
    if since.empty:
        return []
    notes = []
    for date, group in since.groupby(since):
        notes.append(notice(Flag.NO_PRICE_TODAY, f"delisted or suspended: no price since "
                            f"{pd.Timestamp(date).date()}, not traded (valued at that close)",
                            (str(t) for t in group.index)))
    return notes


def _not_in_targets(tickers: pd.Index, listed: list[str], shares: FloatArray,
                    named: list[str], since: pd.Series) -> list[Notice]:
    """Held tickers that asset-level targets (naming ``named``) do not name: their
    target is 0. ``listed`` is ``tickers.tolist()``."""
    known = set(named)  # a set: Index.isin on a string index goes row by row
    missing = ~np.fromiter((t in known for t in listed), dtype=bool,
                           count=len(listed)) & (shares != 0.0)
    if not missing.any():  # (indexing a string index by a mask costs as much as a frame)
        return []
    tradable = [str(t) for t, m in zip(listed, missing.tolist(), strict=True)
                if m and t not in since.index]
    if not tradable:
        return []
    return [notice(Flag.NOT_IN_TARGETS, "held but not in the targets: target weight 0, "
                   "sold to zero by a rebalance", tradable)]


def _default_targets(values: FloatArray, caps: FloatArray,
                     how: DefaultTarget) -> tuple[FloatArray, float]:
    held = values != 0.0
    weights = np.zeros_like(values)
    if how is DefaultTarget.MARKET_CAP and np.isfinite(caps[held]).all() and held.any():
        weights[held] = caps[held] / caps[held].sum()
    elif held.any():
        weights[held] = 1.0 / held.sum()
    return weights, 0.0


def group_column(targets: Targets) -> str:
    """The security master's column of group-level targets' groups."""
    return "sector" if targets.level is TargetLevel.SECTOR else "asset_class"


def _add_group_members(tickers: pd.Index, targets: Targets, master: SecurityMaster,
                       market: MarketData, day: pd.Timestamp) -> pd.Index:
    """Add master members of target groups that hold nothing, so the group can be bought."""
    column = group_column(targets)
    labels = master.frame[column].reindex(tickers)
    priced = market.prices.loc[day].dropna().index
    extra: list[str] = []
    for group in targets.weights.index:
        if (labels == group).any():
            continue
        members = master.frame.index[(master.frame[column] == group).to_numpy()]
        extra.extend(t for t in members if t in priced)
    return pd.Index(sorted(set(tickers) | set(extra)), name="ticker")


@dataclass(frozen=True, eq=False)
class GroupTargets:
    """Group target weights over a universe of N assets: the one split of a group's
    target over its members, read by the planner (one row) and the backtest (C rows).

    Attributes
    ----------
    code : ndarray of int, shape (N,)
        Each asset's target group (-1: in none).
    weights : ndarray, shape (G,)
        Each group's target weight.
    """

    code: npt.NDArray[np.intp]
    weights: FloatArray

    @classmethod
    def of(cls, targets: Targets, labels: npt.NDArray[np.object_]) -> GroupTargets:
        """The groups of ``targets`` over assets labelled ``labels`` (N,).

        Raises
        ------
        DataError
            A target group with no member in the universe (it cannot be reached), naming
            the targets file's row.
        """
        code = np.full(len(labels), -1, dtype=np.intp)
        for g, group in enumerate(targets.weights.index):
            inside = labels == group
            if not inside.any():
                raise DataError("target group has no member in the universe or security master",
                                file=targets.source, row=_line(targets.lines, str(group)),
                                field=targets.level.value,
                                expected="a group named in the security master",
                                found=str(group))
            code[inside] = g
        return cls(code, targets.weights.to_numpy(dtype=np.float64))

    def expand(self, values_usd: FloatArray) -> FloatArray:
        """Asset targets (C, N) of rows holding ``values_usd`` (C, N) (or (N,)): each
        group's weight split over its members pro rata to ``max(value, 0)``, equally when
        the group holds nothing; 0 outside every group."""
        values = np.atleast_2d(values_usd)
        out = np.zeros(values.shape)
        for g, weight in enumerate(self.weights.tolist()):
            inside = self.code == g
            value = np.clip(values[:, inside], 0.0, None)
            total = value.sum(axis=1)
            held = total > 0
            share = np.full(value.shape, 1.0 / int(inside.sum()))
            share[held] = value[held] / total[held, None]
            out[:, inside] = weight * share
        return out


def _expand_group_targets(targets: Targets, labels: npt.NDArray[np.object_], values: FloatArray,
                          tickers: pd.Index) -> tuple[FloatArray, list[Notice]]:
    """Split each group's target over its members, pro rata to current value
    (:meth:`GroupTargets.expand`), with the notices that say so.

    A group with no held value is split equally over its members in the universe. A group
    with no member at all cannot be reached: that is a data error.
    """
    weights = GroupTargets.of(targets, labels).expand(values)[0]
    orphans = tickers[(~np.isin(labels, targets.weights.index.to_numpy())) & (values != 0)]
    notes = [notice(Flag.GROUP_TARGET, f"targets given by {targets.level.value}: each group's "
                    "target is split over its members pro rata to current value", ())]
    if len(orphans):
        notes.append(notice(Flag.GROUP_TARGET, f"held assets outside every target "
                            f"{targets.level.value} have a zero target", orphans))
    return weights, notes
