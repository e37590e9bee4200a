"""Read market data: daily prices and volumes, VIX and the risk-free rate.

Prices and volumes come **long** (``date, ticker, adj_close[, volume]``; ``adjusted_close``,
``Adj Close`` or a raw ``close`` also serve) or **wide** (``date`` and one column
per ticker), as CSV or Parquet; a long file's adjusted close is preferred to its raw
close, and the column used is named in a notice. Every date must be an NYSE session on
or before today. A price must be positive and present on every date of its ticker's life
(first to last price). Suspect one-day jumps (unadjusted splits, typos:
:mod:`driftwise.data.jumps`) are flagged and kept on the result; the plan and the monitor
refuse those in the prices they read unless the user accepts them as real.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise.calendar import DateLike, is_session, nyse_sessions, today_or
from driftwise.data._table import (
    LINE,
    TICKER_PATTERN,
    Kind,
    Source,
    Table,
    check_not_after,
    first_duplicate,
    parse_column,
    parse_tickers,
    read_table,
    require_columns,
)
from driftwise.data.jumps import (
    PriceJump,
    find_jumps,
    jump_notices,
    reject_jumps,
    split_accepted,
)
from driftwise.data.model import MarketData
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, notice

ADJUSTED_CLOSE_COLUMNS = ("adj_close", "adjusted_close", "adj close", "adjusted close")
"""Adjusted-close columns of a long price file (header matched lower-cased: ``Adj Close``
is ``adj close``); the first present wins, before any raw ``close``."""
RAW_CLOSE_COLUMNS = ("close",)
"""Raw closes: split-adjusted at best, never dividend-adjusted (flagged when used)."""
CLOSE_COLUMNS = (*ADJUSTED_CLOSE_COLUMNS, *RAW_CLOSE_COLUMNS)
"""Columns taken as the close of a long price file, first present wins."""
MAX_FILLED_GAP_DAYS = 5
"""Longest run of missing rows inside a ticker's life repaired by carrying the last price."""

_SINGLE_TICKER_COLUMNS = frozenset({"open", "high", "low", "volume", *CLOSE_COLUMNS})


@dataclass(frozen=True)
class _Panel:
    """A dates × tickers matrix read from one file, with each cell's source line.

    ``lines[i, j]`` is the line of the row holding cell (i, j), 0 when the file has no
    row for it (long files). ``field`` is the value column of a long file; for wide
    files the ticker's column is the field.
    """

    values: np.ndarray
    lines: np.ndarray
    dates: pd.DatetimeIndex
    tickers: pd.Index
    label: str
    field: str | None

    def error(self, problem: str, i: int, j: int, *, row: int | None = None,
              expected: str | None = None, found: str | None = None) -> DataError:
        line = int(self.lines[i, j]) if row is None else row
        return DataError(problem, file=self.label, row=line if line > 0 else None,
                         field=self.field or str(self.tickers[j]), expected=expected,
                         found=found)

    def where(self, i: int, j: int) -> str:
        return f"{self.tickers[j]} on {self.dates[i].date()}"

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, index=self.dates.rename("date"),
                            columns=self.tickers.rename("ticker"))


def read_prices(
    source: Source,
    *,
    volumes: Source | None = None,
    today: DateLike | None = None,
    detect_jumps: bool = True,
    accept_jumps: Iterable[str] = (),
) -> MarketData:
    """Read daily prices (and volumes).

    Parameters
    ----------
    source : str, Path or DataFrame
        Long (``date, ticker`` and a close column) or wide (``date`` + one column per
        ticker) closes in USD. A long file's adjusted close (``adj_close``,
        ``adjusted_close``, ``Adj Close``) is preferred to its raw ``close``; the column
        used is named in a notice, and raw closes are flagged (dividends not reinvested).
    volumes : str, Path or DataFrame, optional
        Shares traded, long (``date, ticker, volume``) or wide; not allowed if the long
        price file already has a ``volume`` column.
    today : date, optional
        No date may be later (defaults to the local clock).
    detect_jumps : bool
        Look for suspect one-day jumps (unadjusted splits, typos:
        :mod:`driftwise.data.jumps`); they are flagged and kept in ``MarketData.jumps``
        for the plan and the monitor to refuse.
    accept_jumps : iterable of str
        ``TICKER:YYYY-MM-DD`` of jumps the user knows are real (flagged as accepted).

    Returns
    -------
    MarketData
        ``prices`` (dates × tickers, ascending, float, NaN only before a ticker's first
        or after its last price) and ``volumes`` (same shape, shares; NaN where unknown,
        0 kept as "no trade") or None.

    Raises
    ------
    DataError
        Bad or missing values, non-positive prices, gaps inside a ticker's history,
        duplicate dates, future or non-session dates, negative volumes.
    ValueError
        An ``accept_jumps`` entry not of the form ``TICKER:YYYY-MM-DD``.
    """
    limit = today_or(today)
    table = read_table(source, name="prices")
    long = "ticker" in table.columns
    value_field = _close_field(table) if long else None
    price = _read_panel(table, value_field, limit)
    _check_positive(price)
    price, gap_notes = _fill_short_gaps(price)
    _check_no_gaps(price, "price")
    jumps: tuple[PriceJump, ...] = ()
    jump_notes: tuple[Notice, ...] = ()
    if detect_jumps:
        found = find_jumps(price.values, price.dates, price.tickers, file=price.label,
                           lines=price.lines, field=price.field)
        jumps, accepted = split_accepted(found, accept_jumps)
        jump_notes = jump_notices(jumps, accepted)
    volume: _Panel | None = None
    if long and "volume" in table.columns:
        if volumes is not None:
            raise DataError("volume given twice", file=table.label, row=1, field="volume",
                            expected="volume in the price file or in a volumes file, not both")
        volume = _read_panel(table, "volume", limit)
    elif volumes is not None:
        vtable = read_table(volumes, name="volumes")
        volume = _read_panel(vtable, "volume" if "ticker" in vtable.columns else None, limit)
    volume_frame = None if volume is None else _aligned_volumes(volume, price)
    return MarketData(prices=price.frame(), volumes=volume_frame, source=table.label,
                      notices=(*_column_notes(table, value_field), *gap_notes, *jump_notes),
                      jumps=jumps)


def _column_notes(table: Table, field: str | None) -> tuple[Notice, ...]:
    """Which column the prices come from; raw closes flagged."""
    if field is None:
        return (notice(Flag.PRICE_COLUMN, f"prices from the ticker columns of {table.label} "
                       "(a wide file: each column is taken as adjusted closes)"),)
    used = notice(Flag.PRICE_COLUMN, f"prices from column '{field}' of {table.label}")
    if field in ADJUSTED_CLOSE_COLUMNS:
        return (used,)
    return (used, notice(Flag.RAW_CLOSES, f"raw closes: dividends not reinvested; returns and "
                         f"backtests understate total return (column '{field}' of "
                         f"{table.label} has no adjusted close beside it: give adj_close)"))


def _fill_short_gaps(panel: _Panel) -> tuple[_Panel, tuple[Notice, ...]]:
    """Carry the last price over short runs of *missing rows* inside a ticker's life.

    Only dates with no row at all for the ticker (long files) are repaired, and only
    runs of at most :data:`MAX_FILLED_GAP_DAYS` sessions; a blank cell or a longer run
    stays an error. The repair is flagged ("price gap filled"): a held asset is then
    valued at its last close, as a broker would for a halted stock.
    """
    valid = ~np.isnan(panel.values)
    first, last = _life(valid)
    rows = np.arange(valid.shape[0])[:, None]
    gap = ~valid & (rows > first[None, :]) & (rows < last[None, :]) & (panel.lines == 0)
    if not gap.any():
        return panel, ()
    run = np.zeros(gap.shape, dtype=np.int64)
    for i in range(gap.shape[0]):  # length of the gap run ending at row i
        run[i] = np.where(gap[i], (run[i - 1] if i else 0) + 1, 0)
    ends = gap & ~np.vstack([gap[1:], np.zeros((1, gap.shape[1]), dtype=bool)])
    too_long = ends & (run > MAX_FILLED_GAP_DAYS)
    fillable = gap.copy()
    for i, j in zip(*np.nonzero(too_long), strict=True):
        fillable[i - run[i, j] + 1 : i + 1, j] = False
    if not fillable.any():
        return panel, ()
    values = pd.DataFrame(panel.values).ffill().to_numpy()
    filled = np.where(fillable, values, panel.values)
    tickers = panel.tickers[fillable.any(axis=0)]
    note = notice(Flag.PRICE_GAP_FILLED,
                  f"{int(fillable.sum())} missing price row(s) of at most "
                  f"{MAX_FILLED_GAP_DAYS} sessions in a row inside a ticker's history: the last "
                  f"close is carried forward ({panel.label})", (str(t) for t in tickers))
    return dataclasses.replace(panel, values=filled), (note,)


def _close_field(table: Table) -> str:
    """The adjusted close if the file has one, else the raw close."""
    for name in CLOSE_COLUMNS:
        if name in table.columns:
            return name
    raise DataError("missing column", file=table.label, row=1, field="close",
                    expected="columns date, ticker, adj_close (or adjusted_close, Adj Close) "
                    "or close",
                    found=", ".join(table.columns))


def _read_panel(table: Table, field: str | None, limit: pd.Timestamp) -> _Panel:
    """Parse a long (``field`` given) or wide (``field`` None) table into a panel."""
    require_columns(table, "date")
    dates = parse_column(table, "date", Kind.DATE)
    check_not_after(table, dates, "date", limit)
    _check_sessions(table, dates)
    if field is not None:
        return _long_panel(table, dates, field)
    return _wide_panel(table, dates)


def _check_sessions(table: Table, dates: pd.Series) -> None:
    off = ~is_session(pd.DatetimeIndex(dates))
    if off.any():
        pos = int(np.flatnonzero(off)[0])
        day = pd.Timestamp(dates.iloc[pos])
        kind = f"a {day.day_name()}" if day.day_of_week >= 5 else "an NYSE holiday"
        raise table.error("not an NYSE trading day", position=pos, field="date",
                          expected="NYSE sessions only", found=f"{day.date()} ({kind})")


def _long_panel(table: Table, dates: pd.Series, field: str) -> _Panel:
    require_columns(table, "date", "ticker", field)
    tickers = parse_tickers(table)
    first_duplicate(table, pd.DataFrame({"date": dates, "ticker": tickers}), "date",
                    "date and ticker")
    values = parse_column(table, field, Kind.FLOAT, required=False)
    date_codes, date_index = pd.factorize(pd.DatetimeIndex(dates), sort=True)
    ticker_codes, ticker_index = pd.factorize(tickers.to_numpy(dtype=object), sort=True)
    shape = (len(date_index), len(ticker_index))
    matrix = np.full(shape, np.nan)
    lines = np.zeros(shape, dtype=np.int64)
    matrix[date_codes, ticker_codes] = values.to_numpy(dtype=float)
    lines[date_codes, ticker_codes] = table.frame[LINE].to_numpy(dtype=np.int64)
    return _Panel(values=matrix, lines=lines, dates=pd.DatetimeIndex(date_index),
                  tickers=pd.Index(ticker_index, dtype=object), label=table.label, field=field)


def _wide_panel(table: Table, dates: pd.Series) -> _Panel:
    first_duplicate(table, dates, "date", "date")
    columns = [c for c in table.columns if c != "date"]
    # an OHLC file of one ticker (a close column, maybe open/high/low/volume), not a wide
    # file; without a close column such names are tickers (LOW is Lowe's, OPEN Opendoor)
    odd = [c for c in columns if c in _SINGLE_TICKER_COLUMNS]
    has_close = any(c in CLOSE_COLUMNS for c in columns)
    ohlc = has_close and (len(odd) >= 2 or len(columns) == 1)
    if not columns or ohlc or columns == ["volume"]:
        raise DataError("no ticker columns" if not columns else
                        "looks like one ticker's file without a ticker column",
                        file=table.label, row=1, field=", ".join(odd) or "date",
                        expected="long (date, ticker, close) or wide (date, one column "
                                 "per ticker)", found=", ".join(table.columns))
    tickers = [c.strip().upper() for c in columns]
    for column, ticker in zip(columns, tickers, strict=True):
        if not TICKER_PATTERN.match(ticker):
            raise DataError("column name is not a valid ticker", file=table.label, row=1,
                            field=column, expected="one column per ticker besides date",
                            found=repr(column))
    matrix = np.column_stack([parse_column(table, c, Kind.FLOAT, required=False).to_numpy()
                              for c in columns]).astype(float)
    order = np.argsort(dates.to_numpy(), kind="stable")
    col_order = np.argsort(np.asarray(tickers, dtype=object), kind="stable")
    line = table.frame[LINE].to_numpy(dtype=np.int64)[order]
    return _Panel(values=matrix[np.ix_(order, col_order)],
                  lines=np.repeat(line[:, None], len(columns), axis=1),
                  dates=pd.DatetimeIndex(dates.to_numpy()[order]),
                  tickers=pd.Index(np.asarray(tickers, dtype=object)[col_order], dtype=object),
                  label=table.label, field=None)


def _first_cell(panel: _Panel, mask: np.ndarray) -> tuple[int, int]:
    """The flagged cell on the earliest source line (missing rows last, then by date)."""
    i, j = np.nonzero(mask)
    line = panel.lines[i, j]
    key = np.where(line > 0, line, np.iinfo(np.int64).max)
    k = int(np.lexsort((j, i, key))[0])
    return int(i[k]), int(j[k])


def _check_positive(panel: _Panel) -> None:
    bad = panel.values <= 0
    if bad.any():
        i, j = _first_cell(panel, bad)
        raise panel.error(f"price must be positive ({panel.where(i, j)})", i, j,
                          expected="an adjusted close in USD > 0",
                          found=f"{panel.values[i, j]:g}")


def _life(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last valid row per column (columns with none get first > last)."""
    n = valid.shape[0]
    first = np.where(valid.any(axis=0), valid.argmax(axis=0), n)
    last = np.where(valid.any(axis=0), n - 1 - valid[::-1].argmax(axis=0), -1)
    return first, last


def _check_no_gaps(panel: _Panel, what: str) -> None:
    """No NaN between a ticker's first and last value; no ticker without values."""
    valid = ~np.isnan(panel.values)
    first, last = _life(valid)
    empty = np.flatnonzero(first > last)
    if what == "price" and len(empty):
        j = int(empty[0])
        rows = panel.lines[:, j][panel.lines[:, j] > 0]
        raise panel.error(f"no {what} at all for {panel.tickers[j]}", 0, j,
                          row=int(rows.min()) if len(rows) else 1,
                          expected=f"at least one {what}", found="only blanks")
    rows = np.arange(valid.shape[0])[:, None]
    gap = ~valid & (rows > first[None, :]) & (rows < last[None, :])
    if not gap.any():
        return
    i, j = _first_cell(panel, gap)
    if panel.lines[i, j] > 0:
        raise panel.error(f"missing {what} inside the history of {panel.tickers[j]} "
                          f"(on {panel.dates[i].date()})", i, j,
                          expected=f"a {what} on every date from its first to its last",
                          found="blank")
    after = i + int(np.argmax(valid[i:, j]))
    raise panel.error(f"missing {what} inside the history of {panel.tickers[j]}: no row for "
                      f"{panel.dates[i].date()}, a date other tickers trade (the gap ends "
                      "before this row)", after, j,
                      expected=f"a {what} on every date from its first to its last",
                      found="no row")


def _aligned_volumes(volume: _Panel, price: _Panel) -> pd.DataFrame:
    """Volumes checked (>= 0, no gaps) and aligned to the price panel's shape."""
    negative = volume.values < 0
    if negative.any():
        i, j = _first_cell(volume, negative)
        raise volume.error(f"negative volume ({volume.where(i, j)})", i, j,
                           expected="shares traded >= 0", found=f"{volume.values[i, j]:g}")
    _check_no_gaps(volume, "volume")
    unknown = ~volume.tickers.isin(price.tickers)
    if unknown.any():
        j = int(np.flatnonzero(unknown)[0])
        rows = volume.lines[:, j][volume.lines[:, j] > 0]
        raise volume.error("volume for a ticker without prices", 0, j,
                           row=1 if volume.field is None else int(rows.min()),
                           expected="tickers of the price file",
                           found=str(volume.tickers[j]))
    return volume.frame().reindex(index=price.dates, columns=price.tickers).rename_axis(
        index="date", columns="ticker")


def read_vix(source: Source, *, today: DateLike | None = None
             ) -> tuple[pd.Series, tuple[Notice, ...]]:
    """Read VIX closes (``date`` and ``close`` or ``vix``; CBOE's DATE,OPEN,HIGH,LOW,CLOSE).

    Rows on dates that are not NYSE sessions (CBOE publishes some holidays) are dropped
    with a :data:`~driftwise.flags.Flag.NON_SESSION_DROPPED` notice.

    Returns
    -------
    (pd.Series, tuple of Notice)
        VIX close in index points (> 0), index ``date`` ascending, name ``vix``.
    """
    table = read_table(source, name="VIX")
    field = next((c for c in ("close", "vix") if c in table.columns), None)
    if field is None:
        raise DataError("missing column", file=table.label, row=1, field="close",
                        expected="columns date and close (or vix)",
                        found=", ".join(table.columns))
    values = parse_column(table, field, Kind.FLOAT)
    bad = (values <= 0).to_numpy(dtype=bool)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error("VIX must be positive", position=pos, field=field,
                          expected="index points > 0", found=f"{values.iloc[pos]:g}")
    return _daily_series(table, values, "vix", today_or(today))


def read_risk_free(source: Source, *, today: DateLike | None = None
                   ) -> tuple[pd.Series, tuple[Notice, ...]]:
    """Read a risk-free rate series (``date, rate_annual``, an annual fraction).

    Rows on non-session dates are dropped with a notice, as for :func:`read_vix`.

    Returns
    -------
    (pd.Series, tuple of Notice)
        Rate as an annual fraction, index ``date`` ascending, name ``risk_free_annual``.
    """
    table = read_table(source, name="risk-free rate")
    require_columns(table, "date", "rate_annual")
    values = parse_column(table, "rate_annual", Kind.FLOAT)
    bad = (values.abs() > 1).to_numpy(dtype=bool)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error("rate looks like percent; give an annual fraction", position=pos,
                          field="rate_annual", expected="e.g. 0.05 for 5% a year",
                          found=f"{values.iloc[pos]:g}")
    return _daily_series(table, values, "risk_free_annual", today_or(today))


def _daily_series(table: Table, values: pd.Series, name: str, limit: pd.Timestamp
                  ) -> tuple[pd.Series, tuple[Notice, ...]]:
    """Dated series: unique past dates, non-session rows dropped with a notice."""
    require_columns(table, "date")
    dates = parse_column(table, "date", Kind.DATE)
    first_duplicate(table, dates, "date", "date")
    check_not_after(table, dates, "date", limit)
    session = is_session(pd.DatetimeIndex(dates))
    series = pd.Series(values.to_numpy(dtype=float)[session],
                       index=pd.DatetimeIndex(dates.to_numpy()[session], name="date"),
                       name=name).sort_index()
    dropped = pd.DatetimeIndex(dates.to_numpy()[~session]).sort_values()
    if len(dropped) == 0:
        return series, ()
    shown = ", ".join(str(d.date()) for d in dropped[:5]) + (", ..." if len(dropped) > 5 else "")
    detail = (f"dropped {len(dropped)} row(s) of {table.label} on dates that are not NYSE "
              f"sessions ({shown})")
    return series, (notice(Flag.NON_SESSION_DROPPED, detail),)


def refuse_jumps(market: MarketData, tickers: Iterable[str], as_of: pd.Timestamp,
                 sessions: int, *, what: str) -> None:
    """Refuse a suspect price jump in the prices a decision on ``as_of`` reads.

    The window is the as-of session and the ``sessions`` before it in the price index
    (the longest volatility, covariance or liquidity window): a jump there moves the
    valuation, the risk estimates or the costs the decision uses. Older jumps stay flags.

    Raises
    ------
    DataError
        Naming the file, row, ticker and date of the first such jump.
    """
    if not market.jumps:
        return
    index = market.prices.index[market.prices.index <= as_of]
    if not len(index):
        return
    start = pd.Timestamp(index[max(0, len(index) - 1 - sessions)])
    reject_jumps(market.jumps, tickers, start, as_of, what=what)


VIX_STALE_SESSIONS = 5
"""A VIX close is carried forward (flagged) for at most this many NYSE sessions."""
NO_VIX_EFFECTS = ("the stress delay (the methodology's rule 4) is not evaluated; dynamic "
                  "thresholds and the VIX cost regimes assume the base (calm) regime")


def vix_reading(series: pd.Series | None, day: pd.Timestamp
                ) -> tuple[float | None, tuple[Notice, ...]]:
    """The VIX close a decision on ``day`` uses, and the notices saying how it was had.

    The close of ``day`` itself; else the last earlier close carried forward for at most
    :data:`VIX_STALE_SESSIONS` NYSE sessions (flagged, naming its date); beyond that the
    VIX is stale and treated as absent (flagged), as when there is no VIX at all.

    Returns
    -------
    (float or None, tuple of Notice)
        None when there is no usable VIX.
    """
    if series is None:
        return None, (notice(Flag.NO_VIX, f"no VIX: {NO_VIX_EFFECTS}"),)
    known = series.loc[:day].dropna()
    if not len(known):
        return None, (notice(Flag.NO_VIX, f"no VIX on or before {day.date()} (the VIX "
                             f"starts {series.dropna().index.min().date()}): "
                             f"{NO_VIX_EFFECTS}"),)
    last = pd.Timestamp(known.index[-1])
    value = float(known.iloc[-1])
    if last >= day:
        return value, ()
    gap = int((nyse_sessions(last, day) > last).sum())
    if gap <= VIX_STALE_SESSIONS:
        return value, (notice(Flag.VIX_CARRIED, f"VIX {value:.2f} of {last.date()} carried "
                              f"forward {gap} session(s) to {day.date()}"),)
    return None, (notice(Flag.NO_VIX, f"no VIX: the VIX ends on {last.date()}, {gap} sessions "
                         f"before {day.date()} (stale after {VIX_STALE_SESSIONS}); "
                         f"{NO_VIX_EFFECTS}"),)


def vix_window_notices(market: MarketData, start: pd.Timestamp, end: pd.Timestamp
                       ) -> tuple[Notice, ...]:
    """Flags of a window whose days lack a usable VIX (none, or stale, on some days)."""
    if market.vix is None:
        return (notice(Flag.NO_VIX, f"no VIX: {NO_VIX_EFFECTS}"),)
    dates = market.prices.index[(market.prices.index >= start) & (market.prices.index <= end)]
    usable = ~np.isnan(vix_series_on(market.vix, pd.DatetimeIndex(dates)))
    if usable.all():
        return ()
    missing = pd.DatetimeIndex(dates[~usable])
    return (notice(Flag.NO_VIX, f"no usable VIX on {len(missing)} of {len(dates)} days "
                   f"({missing[0].date()} .. {missing[-1].date()}; a close is carried forward "
                   f"at most {VIX_STALE_SESSIONS} sessions): on those days {NO_VIX_EFFECTS}"),)


RISK_FREE_HINT = "--risk-free FILE, columns date, rate_annual"
"""How a backtest is given the risk-free series cash earns."""


def cash_rate_notices(market: MarketData, start: pd.Timestamp, end: pd.Timestamp, *,
                      earns: bool = True) -> tuple[Notice, ...]:
    """The flag of a backtest window in which cash earns nothing on some or all days.

    Cash earns the risk-free rate of the day before each night when a series is given
    (``backtest.cash_earns_risk_free``, true by default); without one, or with the key
    false, it earns nothing, and the Sharpe ratios are in excess of zero on those days.
    A series that starts after ``start`` leaves cash earning nothing until its first
    rate. Nothing to flag when the series covers the window and cash earns it.
    """
    if not earns:
        return (notice(Flag.NO_RISK_FREE, "backtest.cash_earns_risk_free "
                       "is false (the Sharpe ratios still use the risk-free series, if "
                       "given)"),)
    series = market.risk_free_annual
    known = None if series is None else series.dropna()
    if known is None or not len(known) or pd.Timestamp(known.index[0]) > end:
        return (notice(Flag.NO_RISK_FREE, "no risk-free rate was given "
                       f"for the window ({RISK_FREE_HINT}); the Sharpe ratios are in "
                       "excess of zero"),)
    first = pd.Timestamp(known.index[0])
    if first > start:
        return (notice(Flag.NO_RISK_FREE, f"before {first.date()}, the "
                       f"first day of the risk-free series (the window starts "
                       f"{pd.Timestamp(start).date()})"),)
    return ()


def vix_series_on(series: pd.Series | None, dates: pd.DatetimeIndex) -> np.ndarray:
    """:func:`vix_reading`'s value on each of ``dates`` (NaN where none), vectorized.

    ``dates`` must be NYSE sessions (a price index).
    """
    if series is None or not len(dates):
        return np.full(len(dates), np.nan)
    known = series.dropna().sort_index()
    if not len(known):
        return np.full(len(dates), np.nan)
    pos = pd.DatetimeIndex(known.index).searchsorted(dates, side="right") - 1
    values = known.to_numpy(dtype=np.float64)[np.maximum(pos, 0)]
    sessions = nyse_sessions(min(known.index[0], dates[0]), max(known.index[-1], dates[-1]))
    last = pd.DatetimeIndex(known.index)[np.maximum(pos, 0)]
    gap = sessions.searchsorted(dates) - sessions.searchsorted(last)
    return np.where((pos >= 0) & (gap <= VIX_STALE_SESSIONS), values, np.nan)


def vix_on(series: pd.Series | None, day: pd.Timestamp) -> float | None:
    """The VIX close of ``day``, else the last one within 5 sessions (None when unknown
    or stale: :func:`driftwise.data.market.vix_reading`, which also gives the flags)."""
    return vix_reading(series, day)[0]
