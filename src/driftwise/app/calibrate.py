"""``driftwise calibrate-costs``: the VIX multipliers of the cost model, measured.

Effective spreads are estimated from daily high, low and close (and the open, which takes
the overnight return out of Corwin-Schultz's two-day range)
(:mod:`driftwise.costs.spread_estimators`: Corwin-Schultz 2012, Abdi-Ranaldo 2017) for
every stock of a folder of daily bars, for each pair of consecutive sessions. Each pair
falls in the VIX regime of its first day's close (the cost model's breaks) and in the
size tier of its stock that year (the cost model's tiers, from the market cap known on the
stock's first session of the year, point in time: the last snapshot dated on or before it,
else the dollar-volume proxy of :func:`driftwise.data.universe.caps_asof`; the output says
how many stock-years each source gave). The spread of a (regime, tier) cell is the
estimator's **moment form** over its pairs: the means of the per-pair values of
:func:`~driftwise.costs.spread_estimators.pair_moments` (Corwin-Schultz's ``beta`` and
``gamma``, Abdi-Ranaldo's squared-spread term) over every pair of the cell, and the
spread of those means (no pair's estimate is truncated at zero; averaging truncated
two-day estimates measures volatility, ``tests/costs/test_spread_simulation.py``). The
**multiplier** of a regime is its spread over the spread of the calm regime (VIX below the
first break) in the same tier (undefined where the calm spread is not positive).

Intervals: a **moving-block bootstrap of calendar months** (circular, blocks of
``block_months`` consecutive months, 12 by default). A VIX regime is a market-wide state:
every stock's spread moves with it on the same days, so stocks are not independent of one
another, and neither are neighbouring months (the VIX persists: stressed months come in
a few episodes, 2001-2002, 2008-2009, 2011, 2020). Resampling blocks of months keeps the
cross-section and most of an episode inside each draw. Beside each cell: its months and
its **episodes** (runs of consecutive calendar months holding its pairs), the independent
units its interval rests on.

Data used from the folder: ``date, high, low, close`` (and ``open``, ``volume``,
``split_coefficient``, ``adjusted_close`` when present), one file per ticker
(``<TICKER>.csv`` or ``.csv.gz``). A pair is dropped when either day has no volume
(no trade: a flat bar) or when day ``t+1`` is a split (raw prices jump).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.costs.regime import STRESS_CLAIM, claim_verdict
from driftwise.costs.spread_estimators import MOMENTS, Estimator, pair_moments, pooled_spread
from driftwise.costs.tiers import CapTier, TierDefaults, cap_tier
from driftwise.data._table import Kind, parse_column, read_table, require_columns
from driftwise.data.market import read_vix
from driftwise.data.universe import (
    PROXY_TURNOVER_DAILY,
    PROXY_WINDOW_DAYS,
    caps_on_days,
)
from driftwise.errors import DataError

DECIMALIZATION = dt.date(2001, 4, 9)
"""The day the last US exchange (Nasdaq) quoted in cents: spreads before it were set by
sixteenths, a different market, so the default sample starts here."""

TIER_NAMES = {int(t): t.name.lower() for t in CapTier}
ALL_TIERS = "all"
UNKNOWN_TIER = "unknown"
REGIME_NAMES = ("calm", "elevated", "stressed")
BLOCK_MONTHS = 12
"""Default length of the bootstrap's blocks of consecutive calendar months: the longest
stretch of VIX above 30 in the sample (2008-09 .. 2009-05) fits in one or two blocks."""
COLUMNS = {e: tuple(f"{e.name.lower()}_{m}" for m in MOMENTS[e]) for e in Estimator}
"""The columns of :func:`stock_pairs` holding each estimator's per-pair values."""


@dataclass(frozen=True)
class Calibration:
    """The measured spreads and multipliers.

    Attributes
    ----------
    table : pd.DataFrame
        One row per (estimator, tier, regime): ``spread_bps`` (full spread, bps of price),
        its bootstrap interval ``spread_low_bps`` / ``spread_high_bps``, ``multiplier``
        (regime spread / calm spread of the same tier; NaN where the calm spread is not
        positive) with ``multiplier_low`` / ``multiplier_high``, ``pairs`` (pairs of
        sessions), ``stocks``, ``months`` (calendar months holding the cell's pairs) and
        ``episodes`` (runs of consecutive months among them).
    breaks : tuple of float
        The VIX breaks of the regimes (index points).
    start, end : date
        The sample's first and last session.
    n_stocks : int
    n_months : int
    n_boot : int
    level : float
        Coverage of the intervals (0.95).
    block_months : int
        Length of the bootstrap's blocks of consecutive months.
    tier_sources : pd.DataFrame
        Where the size tiers came from (:func:`tier_sources`).
    """

    table: pd.DataFrame
    breaks: tuple[float, ...]
    start: dt.date
    end: dt.date
    n_stocks: int
    n_months: int
    n_boot: int
    level: float
    tier_sources: pd.DataFrame = field(default_factory=pd.DataFrame)
    block_months: int = BLOCK_MONTHS

    def tier_note(self) -> str:
        """Where the size tiers came from, in words (printed beside the table)."""
        names = {"snapshot": "the last market-cap snapshot dated on or before the year's "
                 "first session", "dollar volume": "the dollar-volume proxy (median daily "
                 f"dollar volume of {PROXY_WINDOW_DAYS} sessions / "
                 f"{PROXY_TURNOVER_DAILY:.1%} daily turnover; no snapshot yet)",
                 "unknown": "unknown (neither a snapshot nor volume)"}
        parts = [f"{row.stock_years} stock-years {row.first_year}-{row.last_year} from "
                 f"{names[str(row.source)]}" for row in self.tier_sources.itertuples()]
        return ("Size tiers, point in time (each stock's cap known on the year's first "
                "session): " + ("; ".join(parts) if parts else "none") + ".")

    def months_by_regime(self) -> dict[str, dict[str, int]]:
        """The calendar months holding each regime's pairs, per tier then regime (the
        clusters of the intervals; the same for both estimators)."""
        out: dict[str, dict[str, int]] = {}
        rows = self.table.drop_duplicates(["tier", "regime_index"]).sort_values(
            "regime_index", kind="stable")
        for tier, regime, months in zip(rows["tier"], rows["regime"], rows["months"],
                                        strict=True):
            out.setdefault(str(tier), {})[str(regime)] = int(months)
        return out

    def judged(self, configured: Sequence[float]) -> pd.DataFrame:
        """The table with ``configured`` (the cost model's multiplier of the row's regime),
        ``configured_inside`` (whether the interval holds it) and ``claim_verdict``: for
        the top regime, the methodology's "2-3x normal" judged on the interval
        (:func:`~driftwise.costs.regime.claim_verdict`), empty for the other regimes."""
        table = self.table
        conf = np.asarray([configured[k] for k in table["regime_index"]], dtype=float)
        low, high = (table[c].to_numpy(dtype=float) for c in ("multiplier_low",
                                                                "multiplier_high"))
        top = table["regime_index"].to_numpy() == len(self.breaks)
        return table.assign(
            configured=conf, configured_inside=(low <= conf) & (conf <= high),
            claim_verdict=[claim_verdict(lo, hi) if t else ""
                           for lo, hi, t in zip(low, high, top, strict=True)])

    def to_dict(self, configured: Sequence[float]) -> dict[str, object]:
        """The calibration as plain data (``calibrate-costs --json``): the sample, the
        breaks, ``configured`` (the cost model's multipliers), ``claim`` (the
        methodology's range under stress), the months of each regime per tier
        (``months_by_regime``), ``block_months`` and one row per estimator, tier and
        regime (:meth:`judged`: its ``configured`` multiplier, whether the interval holds
        it, the claim's verdict on the top regime, ``pairs``, ``stocks``, ``months`` and
        ``episodes`` beside it), and ``tier_sources``: where the size tiers came from
        (:func:`tier_sources`). Undefined numbers are null."""
        table = self.judged(configured).astype(object)
        table = table.where(table.notna(), None)
        return {"start": str(self.start), "end": str(self.end), "stocks": self.n_stocks,
                "months": self.n_months, "months_by_regime": self.months_by_regime(),
                "bootstrap": self.n_boot, "block_months": self.block_months,
                "breaks": list(self.breaks), "configured": list(configured),
                "claim": list(STRESS_CLAIM),
                "tier_sources": self.tier_sources.to_dict("records"),
                "rows": table.to_dict("records")}

    def multipliers(self, estimator: Estimator, tier: str = ALL_TIERS) -> tuple[float, ...]:
        """The measured multiplier of each regime (the calm one is 1.0 by construction)."""
        rows = self.table[(self.table["estimator"] == estimator.value)
                          & (self.table["tier"] == tier)]
        return tuple(float(v) for v in rows.sort_values("regime_index")["multiplier"])


def regime_names(breaks: Sequence[float]) -> tuple[str, ...]:
    """Labels of the regimes cut at ``breaks`` (``VIX < 20``, ``20-30``, ``>= 30``)."""
    edges = [f"{b:g}" for b in breaks]
    inner = [f"{a}-{b}" for a, b in itertools.pairwise(edges)]
    return (f"< {edges[0]}", *inner, f">= {edges[-1]}")


def read_bars(path: Path) -> pd.DataFrame:
    """One ticker's daily bars: ``high, low, close`` (USD), ``open`` (USD, NaN when absent),
    ``volume`` (shares, NaN when absent), ``split_coefficient`` (1.0 when absent),
    ``adjusted_close`` (``close`` when absent), indexed by date ascending.

    Raises
    ------
    DataError
        A missing column, a value that is not a number, a duplicate date, a high below
        the low or a price (the open included) that is not positive (named by file, row
        and field).
    """
    table = read_table(path, name="daily bars")
    require_columns(table, "date", "high", "low", "close")
    dates = parse_column(table, "date", Kind.DATE)
    out = pd.DataFrame({f: parse_column(table, f, Kind.FLOAT).to_numpy()
                        for f in ("high", "low", "close")}, index=pd.DatetimeIndex(dates))
    for name, default in (("open", math.nan), ("volume", math.nan),
                          ("split_coefficient", 1.0), ("adjusted_close", math.nan)):
        out[name] = (parse_column(table, name, Kind.FLOAT, required=False).to_numpy()
                     if name in table.columns else default)
    out["adjusted_close"] = out["adjusted_close"].fillna(out["close"])
    out["split_coefficient"] = out["split_coefficient"].fillna(1.0)
    dup = np.flatnonzero(out.index.duplicated())
    if dup.size:
        raise table.error("duplicate date", position=int(dup[0]), field="date",
                          expected="one row per date", found=str(out.index[dup[0]].date()))
    bad_open = (out["open"] <= 0).to_numpy()
    if bad_open.any():
        pos = int(np.flatnonzero(bad_open)[0])
        raise table.error("impossible bar", position=pos, field="open",
                          expected="an open above 0 (or empty)",
                          found=f"{out['open'].iloc[pos]:g}")
    bad = ~((out["low"] > 0) & (out["high"] >= out["low"]) & (out["close"] > 0)).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error("impossible bar", position=pos, field="high",
                          expected="high >= low > 0 and close > 0",
                          found=f"high {out['high'].iloc[pos]:g}, low {out['low'].iloc[pos]:g}, "
                                f"close {out['close'].iloc[pos]:g}")
    return out.sort_index()


def bar_files(folder: Path) -> dict[str, Path]:
    """The bar files of ``folder`` by ticker (``<TICKER>.csv``, ``.csv.gz``, ``.parquet``).

    Raises
    ------
    DataError
        The folder is missing or holds no bar file.
    """
    if not folder.is_dir():
        raise DataError("bars folder not found", file=folder,
                        expected="a folder of <TICKER>.csv(.gz) daily bars")
    found = {}
    for path in sorted(folder.iterdir()):
        for suffix in (".csv.gz", ".csv", ".parquet"):
            if path.name.endswith(suffix):
                found[path.name[: -len(suffix)]] = path
                break
    if not found:
        raise DataError("no bar files in the folder", file=folder,
                        expected="<TICKER>.csv or <TICKER>.csv.gz files", found="none")
    return found


def read_caps(path: Path) -> pd.DataFrame:
    """Market-cap snapshots: ``snapshot_date``, ``symbol`` (or ``ticker``),
    ``market_cap_usd``; rows without a cap are dropped."""
    table = read_table(path, name="market caps")
    key = "symbol" if "symbol" in table.columns else "ticker"
    require_columns(table, "snapshot_date", key, "market_cap_usd")
    frame = pd.DataFrame({
        "date": parse_column(table, "snapshot_date", Kind.DATE),
        "ticker": parse_column(table, key, Kind.STR),
        "cap_usd": parse_column(table, "market_cap_usd", Kind.FLOAT, required=False)})
    return frame.dropna().sort_values(["ticker", "date"])


TIER_SOURCES = ("snapshot", "dollar volume", "unknown")
"""Where a stock-year's size tier came from: the last market-cap snapshot dated on or before
the year's first session, the dollar-volume proxy of
:func:`driftwise.data.universe.caps_asof` (no snapshot yet), or neither."""


def yearly_caps(bars: pd.DataFrame, caps: pd.DataFrame | None) -> pd.DataFrame:
    """The market cap known on each year's first session of the stock, point in time.

    :func:`driftwise.data.universe.caps_asof` on that session (computed for every year at
    once by :func:`~driftwise.data.universe.caps_on_days`): the last snapshot dated on
    or before it, else the median daily dollar volume (``close * volume``, days without
    volume left out) of the 60 sessions up to it over a 0.5% daily turnover. Nothing dated
    after the session is read.

    Returns
    -------
    pd.DataFrame
        Indexed by year: ``day`` (the year's first session of the stock), ``cap_usd`` (NaN
        when unknown) and ``source`` (one of :data:`TIER_SOURCES`).
    """
    days = pd.DatetimeIndex(bars.index)
    first = pd.Series(days, index=days).groupby(days.year).first()
    volume = bars["volume"].to_numpy(dtype=np.float64)
    dollars = np.where(volume > 0, bars["close"].to_numpy(dtype=np.float64) * volume, np.nan)
    snaps = caps if caps is not None else pd.DataFrame({"date": [], "cap_usd": []})
    values, from_snapshot = caps_on_days(
        pd.DatetimeIndex(pd.to_datetime(snaps["date"])), snaps["cap_usd"].to_numpy(),
        days, dollars, pd.DatetimeIndex(first.to_numpy()))
    sources = np.where(from_snapshot, TIER_SOURCES[0],
                       np.where(np.isfinite(values), TIER_SOURCES[1], TIER_SOURCES[2]))
    return pd.DataFrame({"day": first.to_numpy(), "cap_usd": values, "source": sources},
                        index=first.index)


def yearly_tiers(bars: pd.DataFrame, caps: pd.DataFrame | None, tiers: TierDefaults
                 ) -> pd.Series:
    """The stock's size tier for each year of its bars (``large``/``mid``/``small``, or
    ``unknown`` without a cap), from the cap known on the year's first session
    (:func:`yearly_caps`: a snapshot dated on or before it, else the dollar-volume proxy).
    """
    return _tiers(yearly_caps(bars, caps), tiers)


def _tiers(known: pd.DataFrame, tiers: TierDefaults) -> pd.Series:
    cap = known["cap_usd"].to_numpy(dtype=np.float64)
    names = np.full(len(cap), UNKNOWN_TIER, dtype=object)
    ok = np.isfinite(cap)
    if ok.any():
        names[ok] = [TIER_NAMES[int(t)] for t in cap_tier(cap[ok], tiers)]
    return pd.Series(names, index=known.index)


def stock_pairs(bars: pd.DataFrame, vix: pd.Series, breaks: Sequence[float],
                tier_by_year: pd.Series, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every kept pair of consecutive sessions of one stock with both estimators' values.

    Returns
    -------
    pd.DataFrame
        ``month`` (period of day ``t``), ``regime`` (index), ``tier`` and the per-pair
        values of each estimator (:data:`COLUMNS`: Corwin-Schultz's ``beta`` and
        ``gamma``, the overnight return removed with the open where the bars have it;
        Abdi-Ranaldo's squared-spread term), one row per pair.
    """
    high, low, close = (bars[f].to_numpy() for f in ("high", "low", "close"))
    opening = bars["open"].to_numpy() if "open" in bars else None
    values = {e: pair_moments(e, high, low, close, opening) for e in Estimator}
    day = bars.index[:-1]
    volume = bars["volume"].to_numpy()
    traded = ~(volume == 0)
    level = vix.reindex(day).to_numpy()
    keep = (traded[:-1] & traded[1:] & (bars["split_coefficient"].to_numpy()[1:] == 1.0)
            & np.isfinite(np.column_stack(list(values.values()))).all(1) & np.isfinite(level)
            & (day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end)))
    day = day[keep]
    regime = np.searchsorted(np.asarray(breaks, dtype=float), level[keep], side="right")
    return pd.DataFrame({"month": day.to_period("M"), "regime": regime,
                         "tier": tier_by_year.reindex(day.year).to_numpy(),
                         **{c: values[e][keep, j] for e in Estimator
                            for j, c in enumerate(COLUMNS[e])}})


def calibrate(bars: dict[str, pd.DataFrame], vix: pd.Series, *, breaks: Sequence[float],
              tiers: TierDefaults, caps: pd.DataFrame | None = None,
              start: dt.date = DECIMALIZATION, end: dt.date | None = None,
              n_boot: int = 1000, level: float = 0.95, random_state: int = 0,
              block_months: int = BLOCK_MONTHS) -> Calibration:
    """Measure spreads by VIX regime and size tier, and the multipliers, with intervals.

    Parameters
    ----------
    bars : dict of str to DataFrame
        Each ticker's :func:`read_bars`.
    vix : pd.Series
        VIX close by date (index points).
    breaks : sequence of float
        The regimes' VIX breaks (the cost model's ``vix_breaks``).
    tiers : TierDefaults
        The cost model's size tiers.
    caps : pd.DataFrame, optional
        :func:`read_caps`; without it every stock-year's tier comes from the
        dollar-volume proxy (``unknown`` without volume).
    start, end : date
        The sample (default: from :data:`DECIMALIZATION` to the last bar).
    n_boot : int
        Bootstrap draws.
    level : float
        Coverage of the intervals.
    random_state : int
        Of the bootstrap's draws (the same number gives the same intervals).
    block_months : int
        Length of the bootstrap's blocks of consecutive calendar months (1: months drawn
        one by one).

    Raises
    ------
    DataError
        No pair of sessions in the sample, or no pair in the calm regime.
    ValueError
        ``block_months`` below 1.
    """
    if block_months < 1:
        raise ValueError(f"block_months must be at least 1; found {block_months}")
    end = end or max(b.index[-1].date() for b in bars.values())
    parts = []
    for ticker, frame in bars.items():
        mine = None if caps is None else caps[caps["ticker"] == ticker]
        known = yearly_caps(frame, mine)
        pairs = stock_pairs(frame, vix, breaks, _tiers(known, tiers), start, end)
        year = pairs["month"].dt.year.to_numpy()
        parts.append(pairs.assign(stock=ticker, source=known["source"].reindex(year).to_numpy()))
    pairs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if pairs.empty:
        raise DataError("no pair of sessions to estimate spreads from", field="date",
                        expected=f"bars with a VIX close between {start} and {end}",
                        found="none")
    if not (pairs["regime"] == 0).any():
        raise DataError("no session in the calm regime: multipliers need it", field="vix",
                        expected=f"some VIX closes below {breaks[0]:g}", found="none")
    months = pd.period_range(pairs["month"].min(), pairs["month"].max(), freq="M")
    weights = block_weights(len(months), block_months, n_boot,
                            np.random.default_rng(random_state))
    rows = [*_cells(pairs, ALL_TIERS, breaks, months, weights, level)]
    for tier in (*TIER_NAMES.values(), UNKNOWN_TIER):
        mine = pairs[pairs["tier"] == tier]
        if not mine.empty and (mine["regime"] == 0).any():
            rows.extend(_cells(mine, tier, breaks, months, weights, level))
    sessions = pairs["month"]
    return Calibration(
        table=pd.DataFrame(rows), breaks=tuple(float(b) for b in breaks),
        start=max(start, min(b.index[0].date() for b in bars.values())), end=end,
        n_stocks=int(pairs["stock"].nunique()), n_months=int(sessions.nunique()),
        n_boot=n_boot, level=level, tier_sources=tier_sources(pairs),
        block_months=block_months)


def block_weights(n_months: int, block: int, n_boot: int, rng: np.random.Generator
                  ) -> np.ndarray:
    """How many times each calendar month enters each draw of a circular moving-block
    bootstrap: ``ceil(n_months / block)`` blocks of ``block`` consecutive months (wrapping
    round the end), each starting on a month drawn uniformly, the last block cut so that
    every draw holds ``n_months`` months. Shape ``(n_boot, n_months)``; with ``block = 1``
    an ordinary bootstrap of months."""
    n_blocks = -(-n_months // block)
    starts = rng.integers(0, n_months, size=(n_boot, n_blocks))
    index = ((starts[:, :, None] + np.arange(block)) % n_months).reshape(n_boot, -1)
    index = index[:, :n_months] + n_months * np.arange(n_boot)[:, None]
    counts = np.bincount(index.ravel(), minlength=n_boot * n_months)
    return counts.reshape(n_boot, n_months).astype(np.float64)


def episodes(months: pd.Series) -> int:
    """Runs of consecutive calendar months among ``months`` (periods): two months one
    month apart are one episode, a gap of a month or more starts another."""
    ordinals = np.unique(np.asarray([m.ordinal for m in pd.unique(months)], dtype=np.int64))
    return int(ordinals.size and 1 + np.count_nonzero(np.diff(ordinals) > 1))


def tier_sources(pairs: pd.DataFrame) -> pd.DataFrame:
    """Where the tiers of the sample's stock-years came from: one row per source of
    :data:`TIER_SOURCES` that occurs, with ``stock_years``, ``stocks``, ``first_year``,
    ``last_year`` and ``pairs``."""
    year = pairs["month"].dt.year
    rows = []
    for source in TIER_SOURCES:
        mine = pairs["source"] == source
        if not mine.any():
            continue
        here = pd.DataFrame({"stock": pairs.loc[mine, "stock"], "year": year[mine]})
        rows.append({"source": source,
                     "stock_years": len(here.drop_duplicates()),
                     "stocks": int(here["stock"].nunique()),
                     "first_year": int(here["year"].min()), "last_year": int(here["year"].max()),
                     "pairs": int(mine.sum())})
    return pd.DataFrame(rows, columns=["source", "stock_years", "stocks", "first_year",
                                       "last_year", "pairs"])


def _ratio(spread: np.ndarray) -> np.ndarray:
    """Each regime's spread over the calm one (last axis), NaN where the calm spread is
    not positive (a multiplier of a negative or zero spread means nothing)."""
    calm = spread[..., :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(calm > 0, spread / calm, np.nan), dtype=np.float64)


def _cells(pairs: pd.DataFrame, tier: str, breaks: Sequence[float], months: pd.PeriodIndex,
           weights: np.ndarray, level: float) -> list[dict[str, object]]:
    """The rows of one tier: both estimators, every regime, each cell's moment form, with
    the block bootstrap of months (``weights``, :func:`block_weights`, over ``months``)."""
    n_regimes = len(breaks) + 1
    m = months.get_indexer(pd.Index(pairs["month"]))
    r = pairs["regime"].to_numpy()
    counts = np.zeros((len(months), n_regimes))
    np.add.at(counts, (m, r), 1.0)
    tail = (1.0 - level) / 2.0
    labels = regime_names(breaks)
    rows: list[dict[str, object]] = []
    for estimator in Estimator:
        columns = COLUMNS[estimator]
        sums = np.zeros((len(months), n_regimes, len(columns)))
        for j, column in enumerate(columns):
            np.add.at(sums[:, :, j], (m, r), pairs[column].to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):  # an empty cell: NaN
            spread = pooled_spread(estimator, sums.sum(0) / counts.sum(0)[:, None])
            drawn = (np.einsum("bm,mrk->brk", weights, sums)
                     / (weights @ counts)[:, :, None])
        boot = pooled_spread(estimator, drawn)  # (B, R)
        ratio, mult = _ratio(boot), _ratio(spread)
        for k in range(n_regimes):
            here = pairs[r == k]
            rows.append({
                "estimator": estimator.value, "tier": tier, "regime_index": k,
                "regime": labels[k], "spread_bps": 1e4 * spread[k],
                "spread_low_bps": 1e4 * _quantile(boot[:, k], tail),
                "spread_high_bps": 1e4 * _quantile(boot[:, k], 1.0 - tail),
                "multiplier": mult[k],
                "multiplier_low": _quantile(ratio[:, k], tail),
                "multiplier_high": _quantile(ratio[:, k], 1.0 - tail),
                "pairs": len(here), "stocks": int(here["stock"].nunique()),
                "months": int(here["month"].nunique()),
                "episodes": episodes(here["month"])})
    return rows


def _quantile(values: np.ndarray, q: float) -> float:
    """The ``q`` quantile of the draws; NaN when more than the tail's share of them is
    undefined (their calm spread not positive), since the interval would then rest on
    the draws that happen to be defined."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or values.size - finite.size > min(q, 1.0 - q) * values.size:
        return math.nan
    return float(np.quantile(finite, q))


def calibrate_folder(folder: Path, vix_file: Path, *, breaks: Sequence[float],
                     tiers: TierDefaults, caps_file: Path | None = None,
                     start: dt.date = DECIMALIZATION, end: dt.date | None = None,
                     n_boot: int = 1000, progress: Callable[[str], None] | None = None,
                     block_months: int = BLOCK_MONTHS) -> Calibration:
    """:func:`calibrate` on a folder of bars, a VIX file and optional market caps."""
    files = bar_files(folder)
    vix, _ = read_vix(vix_file)
    caps = read_caps(caps_file) if caps_file is not None else None
    bars = {}
    for ticker, path in files.items():
        if progress is not None:
            progress(ticker)
        bars[ticker] = read_bars(path)
    return calibrate(bars, vix, breaks=breaks, tiers=tiers, caps=caps, start=start, end=end,
                     n_boot=n_boot, block_months=block_months)


def config_fragment(result: Calibration, estimator: Estimator, tier: str = ALL_TIERS) -> str:
    """A ``[costs]`` fragment setting ``vix_multipliers`` to the measured values, with the
    intervals and the sample as comments (paste it into a configuration, or merge it)."""
    mults = result.multipliers(estimator, tier)
    rows = result.table[(result.table["estimator"] == estimator.value)
                        & (result.table["tier"] == tier)].sort_values("regime_index")
    if not mults or not all(math.isfinite(v) and v > 0 for v in mults):
        found = ", ".join(f"{v:g}" for v in mults) or "no regime measured"
        if len(rows) and not float(rows["spread_bps"].iloc[0]) > 0:
            found += (f" (the calm spread is {float(rows['spread_bps'].iloc[0]):.1f} bps, not "
                      f"positive: {estimator.value} does not resolve these spreads)")
        raise DataError("the measured multipliers are not usable", field="vix_multipliers",
                        expected="a positive multiplier in every regime", found=found)
    lines = [f"# VIX multipliers measured by driftwise calibrate-costs ({estimator.value}, "
             f"tier {tier}),",
             f"# {result.n_stocks} stocks, {result.start} .. {result.end}, "
             f"{result.n_months} months; {100 * result.level:g}% intervals from "
             f"{result.n_boot} draws of a bootstrap of {result.block_months}-month blocks:"]
    lines += [f"#   VIX {row.regime}: {row.multiplier:.2f} ({row.multiplier_low:.2f} .. "
              f"{row.multiplier_high:.2f}), spread {row.spread_bps:.1f} bps, "
              f"{row.months} months in {row.episodes} episodes" for row in rows.itertuples()]
    top = rows.iloc[-1]
    low, high = float(top["multiplier_low"]), float(top["multiplier_high"])
    lines.append(f"# VIX {top['regime']} against the methodology's {STRESS_CLAIM[0]:g}-"
                 f"{STRESS_CLAIM[1]:g}x normal: {claim_verdict(low, high)}.")
    later = rows.iloc[1:]
    same = [str(regime) for regime, lo in zip(later["regime"], later["multiplier_low"],
                                              strict=True) if float(lo) <= 1.0]
    if same:
        lines.append(f"# The interval of VIX {', '.join(same)} holds 1: not told apart from "
                     "the calm spread.")
    lines += [f"# {line}" for line in textwrap.wrap(result.tier_note(), 86)]
    values = ", ".join(f"{v:.3f}" for v in mults)
    breaks = ", ".join(f"{b:g}" for b in result.breaks)
    return "\n".join([*lines, "[costs]", f"vix_breaks = [{breaks}]",
                      f"vix_multipliers = [{values}]", ""])
