"""Point-in-time universes: what was knowable about each stock on a given date.

A universe is a panel of prices (NaN where a stock did not trade: before its listing,
after it stopped trading, on a missing session), dollar volumes and dated market-cap
snapshots. Every question asked of it on a day ``d`` reads rows dated ``<= d`` only:

* :func:`eligible`: the stocks priced on ``d`` with at least ``min_history_days`` priced
  sessions up to ``d`` and no daily move beyond ``max_abs_return`` up to ``d`` (the data's
  split and spin-off artefacts, as far as they were visible on ``d``);
* :func:`caps_asof`: each stock's market cap from the last snapshot dated on or before
  ``d``; without one, a **dollar-volume proxy**: the median daily dollar volume of the
  ``PROXY_WINDOW_DAYS`` sessions up to ``d`` divided by :data:`PROXY_TURNOVER_DAILY` (a
  daily turnover of 0.5% of the market value, the order of magnitude of US large caps),
  flagged;
* :func:`stops_trading`: the last session a stock traded, when it stops inside a window
  (a delisting, the end of the data); the simulation learns it on the next session, as a
  trader would, and sells the stock at that last price: :func:`delisting_versions` gives
  the target versions that take it out from that session on, its weight spread over the
  stocks still held (the backtest engine switches to them; the switch is an event every
  rule rebalances on).

A future crash or delisting therefore changes nothing that is decided before it
(``tests/data/test_universe.py`` plants one).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.data.model import Targets
from driftwise.errors import ConfigError, DataError
from driftwise.flags import Flag, Notice

PROXY_WINDOW_DAYS = 60
"""Sessions of dollar volume behind the market-cap proxy."""
PROXY_TURNOVER_DAILY = 0.005
"""Daily dollar volume as a fraction of market value assumed by the proxy (0.5%)."""
MIN_HISTORY_DAYS = 252
"""Priced sessions up to a date a stock needs to be eligible on it (one year)."""
MAX_ABS_RETURN = 0.5
"""A daily move beyond ±50% up to the date marks a data artefact: not eligible."""


@dataclass(frozen=True, eq=False)
class Universe:
    """A point-in-time universe.

    Attributes
    ----------
    prices : pd.DataFrame, shape (T, N)
        Adjusted closes, USD; NaN where the stock did not trade. Index: sessions.
    dollar_volume_usd : pd.DataFrame or None, shape (T, N)
        Daily traded value, USD (NaN where unknown).
    caps : pd.DataFrame or None
        Market-cap snapshots, long: ``snapshot_date`` (datetime), ``ticker``,
        ``market_cap_usd``.
    source : str
        Where the panel came from (shown in notices).
    """

    prices: pd.DataFrame
    dollar_volume_usd: pd.DataFrame | None = None
    caps: pd.DataFrame | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.prices.index, pd.DatetimeIndex) or \
                not self.prices.index.is_monotonic_increasing:
            raise ConfigError(f"universe {self.source}: prices need increasing dates as index")

    def upto(self, day: pd.Timestamp) -> pd.DataFrame:
        """The price rows dated on or before ``day``."""
        return self.prices.loc[:day]


def eligible(universe: Universe, day: pd.Timestamp | str, *,
             min_history_days: int = MIN_HISTORY_DAYS,
             max_abs_return: float = MAX_ABS_RETURN) -> list[str]:
    """The stocks one could have chosen on ``day``, from data dated ``<= day`` only.

    Parameters
    ----------
    universe : Universe
    day : timestamp
        The decision date (a session of the panel or not).
    min_history_days : int
        Priced sessions needed up to and including ``day``.
    max_abs_return : float
        Largest daily adjusted move (fraction) allowed up to ``day``.

    Returns
    -------
    list of str
        Sorted tickers priced on the last session on or before ``day``.
    """
    if min_history_days < 1:
        raise ConfigError(f"min_history_days must be at least 1; found {min_history_days}")
    past = universe.upto(pd.Timestamp(day))
    if past.empty:
        return []
    last = past.iloc[-1]
    count = past.notna().sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        moves = (past / past.ffill().shift(1) - 1.0).abs().max()
    ok = last.notna() & (last > 0) & (count >= min_history_days) & \
        ~(moves > max_abs_return)
    return sorted(str(t) for t in past.columns[ok.to_numpy()])


def caps_asof(universe: Universe, tickers: Sequence[str], day: pd.Timestamp | str
              ) -> tuple[pd.Series, tuple[Notice, ...]]:
    """Market caps known on ``day``: the last snapshot on or before it, else the proxy.

    Returns
    -------
    caps : pd.Series, shape (n,)
        USD per ticker (NaN when neither a snapshot nor dollar volume is known).
    notices : tuple of Notice
        ``unknown market cap`` for the tickers priced by the dollar-volume proxy and for
        those left unknown.
    """
    day = pd.Timestamp(day)
    index = pd.Index(list(tickers), name="ticker", dtype=object)
    out = pd.Series(np.nan, index=index, dtype=np.float64)
    if universe.caps is not None and len(universe.caps):
        known = universe.caps[pd.to_datetime(universe.caps["snapshot_date"]) <= day]
        if len(known):
            last = known.sort_values("snapshot_date").groupby("ticker")["market_cap_usd"].last()
            out = pd.Series(last.reindex(index).to_numpy(dtype=np.float64), index=index,
                            dtype=np.float64)
    missing = out.index[out.isna().to_numpy()]
    notes: list[Notice] = []
    if len(missing) and universe.dollar_volume_usd is not None:
        volume = universe.dollar_volume_usd.loc[:day, list(missing)].tail(PROXY_WINDOW_DAYS)
        proxy = volume.where(volume > 0).median() / PROXY_TURNOVER_DAILY
        out.loc[missing] = proxy.reindex(missing).to_numpy(dtype=np.float64)
        done = [str(t) for t in missing if np.isfinite(out[t])]
        if done:
            notes.append(Notice(
                Flag.UNKNOWN_MARKET_CAP,
                "no market cap known on the day drawn: cost tier from the median dollar volume "
                f"of {PROXY_WINDOW_DAYS} sessions / {PROXY_TURNOVER_DAILY:.1%} daily turnover",
                tuple(done)))
    unknown = [str(t) for t in out.index[out.isna().to_numpy()]]
    if unknown:
        notes.append(Notice(Flag.UNKNOWN_MARKET_CAP,
                            "no market cap or dollar volume known on the day drawn",
                            tuple(unknown)))
    return out, tuple(notes)


def caps_on_days(snapshot_dates: pd.DatetimeIndex, snapshot_caps: np.ndarray,
                 dates: pd.DatetimeIndex, dollar_volume_usd: np.ndarray,
                 days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """:func:`caps_asof` of one stock on many days at once (the same numbers).

    Parameters
    ----------
    snapshot_dates, snapshot_caps : shape (S,)
        The stock's market-cap snapshots (any order; NaN caps ignored).
    dates, dollar_volume_usd : shape (T,)
        The stock's sessions, increasing, and their dollar volume (NaN or 0: no trade).
    days : shape (D,)
        The decision days.

    Returns
    -------
    caps : ndarray, shape (D,)
        USD: the last snapshot dated on or before each day, else the median positive
        dollar volume of the :data:`PROXY_WINDOW_DAYS` sessions up to it over
        :data:`PROXY_TURNOVER_DAILY`, else NaN.
    from_snapshot : ndarray of bool, shape (D,)
    """
    day_keys = _ns(days)
    caps = np.asarray(snapshot_caps, dtype=np.float64)
    keys = _ns(snapshot_dates)
    ok = np.isfinite(caps)
    order = np.argsort(keys[ok], kind="stable")
    keys, caps = keys[ok][order], caps[ok][order]
    pos = np.searchsorted(keys, day_keys, side="right") - 1
    out = np.where(pos >= 0, caps[np.maximum(pos, 0)] if len(caps) else np.nan, np.nan)
    from_snapshot = pos >= 0
    volume = np.asarray(dollar_volume_usd, dtype=np.float64)
    volume = np.where(volume > 0, volume, np.nan)
    ends = np.searchsorted(_ns(dates), day_keys, side="right")
    for j in np.flatnonzero(~from_snapshot):
        window = volume[max(0, int(ends[j]) - PROXY_WINDOW_DAYS): int(ends[j])]
        window = window[np.isfinite(window)]
        if window.size:
            out[j] = float(np.median(window)) / PROXY_TURNOVER_DAILY
    return np.asarray(out, dtype=np.float64), np.asarray(from_snapshot, dtype=bool)


def _ns(dates: pd.DatetimeIndex) -> np.ndarray:
    """Nanoseconds since the epoch (whatever the index's unit: pandas may read dates in
    microseconds or seconds, and ``asi8`` counts in the index's own unit)."""
    return np.asarray(pd.DatetimeIndex(dates).as_unit("ns").asi8)


def stops_trading(universe: Universe, tickers: Sequence[str], start: pd.Timestamp | str,
                  end: pd.Timestamp | str) -> dict[str, pd.Timestamp]:
    """The tickers that stop trading inside ``[start, end]``, with their last session.

    A stock stops trading when it has no price on any session of the panel after its
    last priced session up to ``end`` (a gap it comes back from is not a stop).
    """
    window = universe.prices.loc[pd.Timestamp(start):pd.Timestamp(end), list(tickers)]
    if window.empty:
        return {}
    out = {}
    for t in window.columns:
        priced = window.index[window[t].notna().to_numpy()]
        if len(priced) and priced[-1] < window.index[-1]:
            out[str(t)] = pd.Timestamp(priced[-1])
    return out


def delisting_day(universe: Universe, last: pd.Timestamp) -> pd.Timestamp | None:
    """The session after ``last`` (the day a stock's stop is known and it is sold), None
    when the panel ends on ``last``."""
    days = sessions(universe)
    pos = int(days.searchsorted(pd.Timestamp(last), side="right"))
    return pd.Timestamp(days[pos]) if pos < len(days) else None


def delisting_versions(targets: Targets, stops: Mapping[str, pd.Timestamp],
                       universe: Universe) -> tuple[Targets, ...]:
    """Target versions that sell each stock that stops trading.

    ``targets`` (without an effective date: in force from the start), then, on the
    session after each stock's last one (:func:`delisting_day`: the day the stop is
    known), a version without the stock whose weight is spread over the stocks still held,
    in proportion to their weights (an equal-weight target stays equal weight); the cash
    target is unchanged. Each such version names the stocks it sells in a "delisted or
    suspended" notice (:data:`~driftwise.flags.Flag.NO_PRICE_TODAY`). The backtest engine
    switches versions on those days (:mod:`driftwise.backtest.versions`): on the switch day
    every row first sells its whole position in the named stocks at their last price (the
    panel carries it forward), paying the day's cost model
    (:func:`driftwise.backtest.engine.sell_exits`), whatever its rule's sizing (half-way,
    the band's edge); the switch is an event, so every rule then rebalances on it with its
    own sizing and the proceeds go to the remaining stocks. Stocks whose stop falls on the
    panel's last session give no version (nothing is left to trade).

    Raises
    ------
    ConfigError
        Every stock of the target stops trading (nothing to spread the weight over).
    """
    out = [dataclasses.replace(targets, effective_date=None)]
    weights = targets.weights.astype(np.float64)
    by_day: dict[pd.Timestamp, list[str]] = {}
    for ticker, last in stops.items():
        day = delisting_day(universe, last)
        if day is not None and ticker in weights.index:
            by_day.setdefault(day, []).append(ticker)
    for day in sorted(by_day):
        gone = by_day[day]
        left = weights.drop(gone)
        if left.empty or float(left.sum()) <= 0.0:
            raise ConfigError(f"{universe.source}: every stock of the target stops trading by "
                              f"{day.date()}; nothing is left to hold")
        weights = left * (float(weights.sum()) / float(left.sum()))
        out.append(dataclasses.replace(
            targets, weights=weights, effective_date=day,
            band_abs=targets.band_abs.drop(gone, errors="ignore"),
            band_rel=targets.band_rel.drop(gone, errors="ignore"),
            source=f"{targets.source}, without {', '.join(sorted(gone))} (stopped trading; "
                   f"sold on {day.date()})",
            notices=(*targets.notices, Notice(
                Flag.NO_PRICE_TODAY, "stopped trading: sold in full at the last price when "
                "this version takes effect", tuple(sorted(gone))))))
    return tuple(out)


def sessions(universe: Universe) -> pd.DatetimeIndex:
    """Every date of the panel."""
    return pd.DatetimeIndex(universe.prices.index)


SP500_DAILY = "sp500-daily-ohlcv-alphavantage"
SP500_CAPS = ("sp500-constituents", "market_cap_snapshots.csv.gz")


FILES_KEPT = 1024
"""Parsed files of the 504-stock panel kept per process (:func:`read_sp500`): the study's
portfolios share stocks and each portfolio is read by more than one task."""


def _stamp(path: Path) -> tuple[int, int]:
    """The modification time and size of ``path``: a changed file is read again."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=FILES_KEPT)
def _ticker_file(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """One stock's daily file as read (kept; callers take new frames from it, never write)."""
    return pd.read_csv(path, usecols=["date", "close", "adjusted_close", "volume"],
                       index_col="date", parse_dates=["date"])


@functools.lru_cache(maxsize=4)
def _caps_file(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """The market-cap snapshots as :func:`read_sp500` gives them (kept; copied per call)."""
    raw = pd.read_csv(path, usecols=["snapshot_date", "symbol", "market_cap_usd"])
    return pd.DataFrame({"snapshot_date": pd.to_datetime(raw["snapshot_date"]),
                         "ticker": raw["symbol"].astype(str),
                         "market_cap_usd": raw["market_cap_usd"].astype(np.float64)})


def read_sp500(data_dir: Path, tickers: Sequence[str] | None = None, *,
               until: pd.Timestamp | str | None = None) -> Universe:
    """The 504-stock Alpha Vantage panel of the shared data folder as a :class:`Universe`.

    Prices are adjusted closes; dollar volume is the raw ``close * volume`` (right across
    splits), missing on zero-volume days; caps are the dated snapshots of
    ``market_cap_snapshots.csv.gz`` (2012-12 onwards). ``tickers`` (default: every stock
    of ``tickers.csv`` listed by ``until``) and ``until`` (rows after it are not read)
    limit what is loaded.

    Raises
    ------
    DataError
        The folder or a ticker's file is missing.
    """
    folder = Path(data_dir) / SP500_DAILY
    index_file = folder / "tickers.csv"
    if not index_file.is_file():
        raise DataError("the S&P 500 data folder was not found", file=index_file,
                        expected="--data-dir pointing at the shared data folder")
    index = pd.read_csv(index_file)
    if tickers is None:
        listed = index if until is None else \
            index[index["first_date"] <= str(pd.Timestamp(until).date())]
        tickers = [str(t) for t in listed["ticker"]]
    prices, dollars = {}, {}
    for t in tickers:
        path = folder / "daily" / f"{t}.csv.gz"
        if not path.is_file():
            raise DataError(f"no price file for {t}", file=path, field="ticker",
                            expected="a ticker of tickers.csv", found=t)
        f = _ticker_file(str(path), *_stamp(path))
        if until is not None:
            f = f.loc[:pd.Timestamp(until)]
        prices[t] = f["adjusted_close"].where(f["adjusted_close"] > 0)
        dollars[t] = (f["close"] * f["volume"]).where(f["volume"] > 0)
    px = pd.DataFrame(prices).sort_index()
    px.index = pd.DatetimeIndex(px.index, name="date")
    px.columns = pd.Index(list(px.columns), name="ticker")
    caps_file = Path(data_dir).joinpath(*SP500_CAPS)
    caps = None
    if caps_file.is_file():
        caps = _caps_file(str(caps_file), *_stamp(caps_file)).copy()
    return Universe(prices=px, dollar_volume_usd=pd.DataFrame(dollars).reindex(
        index=px.index, columns=px.columns), caps=caps, source=str(folder))
