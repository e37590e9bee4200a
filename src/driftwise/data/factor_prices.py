"""Prices of the factor proxies (the optimizer's factor exposure targets).

A factor leg's ticker is read from the market prices when they have it (a price file may
carry ETF columns besides the portfolio's), else from the reference series shipped inside
the ``skfolio`` wheel: the S&P 500 index (``SP500``, 1990-01-02 .. 2022-12-28) and the
MSCI USA factor ETFs ``MTUM``, ``QUAL``, ``SIZE``, ``USMV``, ``VLUE`` (2014-01-02 ..
2022-12-28). A ticker in neither is a configuration error naming ``optimizer.factors``.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.errors import ConfigError, DataError

REFERENCE_FILES = ("sp500_index.csv.gz", "factors_dataset.csv.gz")


def _skfolio_file(name: str) -> Path:
    spec = importlib.util.find_spec("skfolio")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the reference factor prices need the 'skfolio' package, which is "
                        "not installed", expected="pip install skfolio")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name


@lru_cache(maxsize=1)
def reference_factor_prices() -> pd.DataFrame:
    """The reference series (index ``date``, columns ``SP500``, ``MTUM``, ``QUAL``,
    ``SIZE``, ``USMV``, ``VLUE``), adjusted closes (index points for ``SP500``)."""
    frames = []
    for name in REFERENCE_FILES:
        frame = pd.read_csv(_skfolio_file(name), index_col="Date")
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index), name="date")
        frames.append(frame.astype(np.float64))
    return pd.concat(frames, axis=1).sort_index()


def factor_leg_prices(prices: pd.DataFrame, tickers: tuple[str, ...]) -> pd.DataFrame:
    """The legs' prices on the market's dates (``prices.index``), columns ``tickers``.

    Raises
    ------
    ConfigError
        A ticker neither in ``prices`` nor in the reference series.
    """
    out = {}
    reference: pd.DataFrame | None = None
    for t in tickers:
        if t in prices.columns:
            out[t] = prices[t].astype(np.float64)
            continue
        if reference is None:
            reference = reference_factor_prices()
        if t not in reference.columns:
            raise ConfigError(
                f"optimizer.factors: no prices for the factor ticker {t!r}: it is neither a "
                f"column of the market prices nor one of the reference series "
                f"{list(reference.columns)}")
        out[t] = reference[t].reindex(prices.index)
    return pd.DataFrame(out, index=prices.index)
