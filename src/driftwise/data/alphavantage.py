"""Read a folder of Alpha Vantage ``TIME_SERIES_DAILY_ADJUSTED`` CSV exports.

One file per ticker (``<TICKER>.csv`` or ``.csv.gz``) with columns ``date, open, high,
low, close, adjusted_close, volume, dividend_amount, split_coefficient``. Prices are the
``adjusted_close`` (splits and dividends); volumes are the raw share volumes expressed in
today's share units with the split coefficients
(:func:`split_adjusted_volume`). Zero-volume days (no trade) become NaN,
which the cost model treats as missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import FloatArray
from driftwise.calendar import DateLike
from driftwise.data._table import LINE, Kind, parse_column, read_table, require_columns
from driftwise.data.jumps import PriceJump, jump_notices
from driftwise.data.market import read_prices
from driftwise.data.model import MarketData
from driftwise.errors import DataError
from driftwise.flags import Flag, notice

COLUMNS = ("date", "adjusted_close", "volume", "split_coefficient")


def read_alphavantage_folder(folder: str | Path, *, tickers: Sequence[str] | None = None,
                             start: DateLike | None = None, end: DateLike | None = None,
                             detect_jumps: bool = True,
                             accept_jumps: Sequence[str] = ()) -> MarketData:
    """Prices and volumes of every ticker file in ``folder`` (or of ``tickers``).

    Each file is validated like any input (:func:`~driftwise.data._table.read_table`);
    the assembled wide prices then go through :func:`~driftwise.data.market.read_prices`,
    so gaps, non-positive prices and non-session dates are caught or repaired and flagged
    as for any price file, and suspect one-day jumps (:mod:`driftwise.data.jumps`) are
    flagged naming the ticker's file and line. The prices are the ``adjusted_close``
    column (splits and dividends), named in a notice.

    Raises
    ------
    DataError
        No ticker file, a file missing a column, a bad value.
    """
    root = Path(folder)
    files = {p.name.split(".")[0].upper(): p for p in sorted(root.glob("*.csv*"))}
    if tickers is not None:
        missing = [t for t in tickers if t not in files]
        if missing:
            raise DataError("ticker files not found", file=root, field="ticker",
                            found=", ".join(missing[:10]))
        files = {t: files[t] for t in tickers}
    if not files:
        raise DataError("no ticker files (*.csv, *.csv.gz)", file=root)
    closes, volumes, lines = {}, {}, {}
    for ticker, path in files.items():
        table = read_table(path, name="prices")
        require_columns(table, *COLUMNS)
        dates = parse_column(table, "date", Kind.DATE)
        close = parse_column(table, "adjusted_close", Kind.FLOAT, required=False)
        raw = parse_column(table, "volume", Kind.FLOAT, required=False)
        split = parse_column(table, "split_coefficient", Kind.FLOAT, required=False)
        order = np.argsort(dates.to_numpy(), kind="stable")
        index = pd.DatetimeIndex(dates.to_numpy()[order])
        volume = split_adjusted_volume(raw.to_numpy()[order][:, None],
                                       split.to_numpy()[order][:, None])[:, 0]
        closes[ticker] = pd.Series(close.to_numpy()[order], index=index)
        lines[ticker] = (str(path), pd.Series(table.frame[LINE].to_numpy()[order], index=index))
        volumes[ticker] = pd.Series(np.where(volume > 0, volume, np.nan), index=index)
    prices = _window(pd.DataFrame(closes), start, end)
    vols = _window(pd.DataFrame(volumes), start, end).reindex_like(prices)
    prices = prices.dropna(axis=1, how="all")
    market = read_prices(prices.rename_axis("date"), detect_jumps=detect_jumps,
                         accept_jumps=accept_jumps)
    jumps = tuple(_located(j, *lines[j.ticker]) for j in market.jumps)
    kept = [n for n in market.notices if n.flag not in (Flag.PRICE_COLUMN, Flag.PRICE_JUMP)]
    used = notice(Flag.PRICE_COLUMN, f"prices from column 'adjusted_close' of the ticker files "
                  f"in {root}")
    flagged = jump_notices(jumps, ())
    return MarketData(prices=market.prices, volumes=vols.reindex(
        index=market.prices.index, columns=market.prices.columns), vix=None,
        source=str(root), notices=(used, *kept, *flagged), jumps=jumps)


def _located(jump: PriceJump, path: str, lines: pd.Series) -> PriceJump:
    """The jump placed in its ticker's file: path, line and the ``adjusted_close`` field."""
    line = lines.get(jump.date)
    return dataclasses.replace(jump, file=path, field="adjusted_close",
                               row=None if line is None else int(line))


def _window(frame: pd.DataFrame, start: DateLike | None, end: DateLike | None) -> pd.DataFrame:
    frame = frame.sort_index()
    if start is not None:
        frame = frame.loc[pd.Timestamp(start):]
    if end is not None:
        frame = frame.loc[: pd.Timestamp(end)]
    return frame


def split_adjusted_volume(volume_raw: npt.ArrayLike,
                          split_coefficient: npt.ArrayLike) -> FloatArray:
    """Express raw share volumes in the share units of the latest date.

    Parameters
    ----------
    volume_raw : array_like, shape (n_days, n_assets)
        Shares traded as reported on each day (not split-adjusted).
    split_coefficient : array_like, shape (n_days, n_assets)
        Split ratio effective on each date (1 on ordinary days, 4 for a 4-for-1 split,
        0.5 for a 1-for-2 reverse split; NaN or non-positive read as 1). The split row's
        own price and volume are already post-split (Alpha Vantage convention).

    Returns
    -------
    ndarray, shape (n_days, n_assets)
        ``volume_t * prod_{s > t} split_s``: earlier volumes are multiplied by every
        later split factor, so a 4-for-1 split quadruples the volumes before it.
    """
    vol = np.asarray(volume_raw, dtype=np.float64)
    coef = np.asarray(split_coefficient, dtype=np.float64)
    coef = np.where(np.isfinite(coef) & (coef > 0.0), coef, 1.0)
    later = np.ones_like(coef)
    if coef.shape[0] > 1:
        # product of coefficients strictly after each row: reverse cumulative product, shifted
        later[:-1] = np.cumprod(coef[::-1], axis=0)[::-1][1:]
    return np.asarray(vol * later, dtype=np.float64)
