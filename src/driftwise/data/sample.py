"""The embedded sample: a realistic portfolio on real market history, no network needed.

- **Prices**: daily adjusted closes of 20 S&P 500 stocks, 1990-01-02 .. 2022-12-28, and
  the S&P 500 index, as shipped inside the ``skfolio`` wheel (``skfolio.datasets``).
- **VIX**: CBOE VIX closes 2014-01-03 .. 2019-01-03 as shipped inside the ``arch`` wheel
  (``arch.data.vix``). Outside that window a **VIX proxy** is used and flagged
  (:data:`~driftwise.flags.Flag.VIX_PROXY`): ``a + b · RV21``, where RV21 is the
  annualized 21-day realized volatility of the S&P 500 index and ``a, b`` are fitted by
  least squares on the days where both exist. Realized volatility tracks VIX closely
  (VIX carries a variance risk premium, hence ``a > 0`` and ``b`` near 1).
- **Risk-free rate**: none (``MarketData.risk_free_annual`` is None): a backtest of the
  sample has its cash earn nothing, and its Sharpe ratios are in excess of zero.
- **Portfolio** (``data/sample/*.csv``, made by ``scripts/make_sample.py``): USD 10 million
  invested on 2022-06-30 in whole shares at an equal-weight target of 4.9% per stock with a
  2% cash target; nothing traded since, so on 2022-12-28 (the last data day) it has drifted.
- **Cost inputs** (``data/sample/costs.csv``): approximate quoted spreads of late 2022 (one
  cent on the share price, more for the less liquid names) and a 0.5 bps commission, as of
  2022-12-28. The sample has no volume, so ADV comes from the market-cap proxy, flagged
  "estimated liquidity".

The files are located with :func:`importlib.util.find_spec`, which does not import
skfolio or arch (both are slow to import), so loading the sample takes milliseconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise._atomic import atomic_path
from driftwise._types import TRADING_DAYS
from driftwise.data.costs import read_cost_inputs
from driftwise.data.holdings import read_holdings
from driftwise.data.master import read_security_master
from driftwise.data.model import Inputs, MarketData
from driftwise.data.targets import read_targets
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, notice

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_LAST_REBALANCE = pd.Timestamp("2022-06-30")
"""The day the sample portfolio was last rebalanced (to target, in whole shares)."""
SAMPLE_NAV_AT_REBALANCE_USD = 10_000_000.0
PROXY_WINDOW_DAYS = 21


def sample_file(name: str) -> Path:
    """Path of one of the sample's CSV files (``holdings.csv``, ``targets.csv``, ...)."""
    return SAMPLE_DIR / name


def load_sample() -> Inputs:
    """Load the embedded sample portfolio and its market history."""
    market = load_sample_market()
    return Inputs(
        holdings=read_holdings(sample_file("holdings.csv"), today=market.last_date),
        targets=read_targets(sample_file("targets.csv")),
        master=read_security_master(sample_file("security_master.csv")),
        market=market,
        last_rebalance=SAMPLE_LAST_REBALANCE,
        costs=read_cost_inputs(sample_file("costs.csv"), today=market.last_date),
    )


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the sample needs the '{package}' package, which is not installed",
                        expected=f"pip install {package}")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise DataError(f"sample data file missing from the installed '{package}' package",
                        file=path)
    return path


@lru_cache(maxsize=1)
def load_sample_market() -> MarketData:
    """Prices of the 20 sample stocks with VIX (real, else the flagged proxy).

    Returns
    -------
    MarketData
        ``prices`` 1990-01-02 .. 2022-12-28 (20 columns), ``volumes`` None (the sample has
        no volume: liquidity is estimated from market cap and flagged), ``vix`` on every
        price date.
    """
    prices, _, _, vix, proxy_note = _sample_files()
    return MarketData(prices=prices, volumes=None, vix=vix, risk_free_annual=None,
                      source="sample prices (skfolio.datasets)", notices=(proxy_note,))


SOURCES = (("skfolio", "datasets", "data", "sp500_dataset.csv.gz"),
           ("skfolio", "datasets", "data", "sp500_index.csv.gz"),
           ("arch", "data", "vix", "vix.csv.gz"))
"""The sample's market files: the stocks' prices, the S&P 500 index, the real VIX."""


def _read_sources(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The stocks' prices, the index level (both by date and ticker) and the real VIX
    closes, parsed from the sample's files."""
    prices, index = _read_dated_csv(paths[0]), _read_dated_csv(paths[1])
    vix_real = pd.read_csv(paths[2])
    vix_real.index = pd.to_datetime(vix_real["Date"], format="%m/%d/%Y")
    # arch's file marks market holidays with "." instead of a close
    real = pd.to_numeric(vix_real["vix"], errors="coerce").dropna()
    return prices, index, real


def _sample_files() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, Notice]:
    """:func:`_read_sources` and the VIX they give on every price date with its proxy's
    notice (:func:`vix_with_proxy`), kept on disk as arrays after the first read.

    Parsing the three compressed CSV files takes about 40 ms of a command's start, fitting
    the proxy about 7 ms; their arrays and the notice's text are saved once
    (``__pycache__`` beside this module, written atomically, without pickle) under a name
    that changes with the files' sizes and times and the versions of pandas and numpy. A
    damaged or unwritable cache is read around: the files are parsed.
    """
    paths = [_package_file(*source) for source in SOURCES]
    cached = _sample_cache(paths)
    try:
        with np.load(cached, allow_pickle=False) as kept:
            return _from_arrays(dict(kept))
    except Exception:  # any unreadable cache: parse the files instead
        pass
    prices, index, real = _read_sources(paths)
    vix, proxy_note = vix_with_proxy(real, index.iloc[:, 0], pd.DatetimeIndex(prices.index))
    try:
        with atomic_path(cached) as temp:
            np.savez(temp, **_to_arrays(prices, index, real, vix,  # type: ignore[arg-type]
                                        proxy_note))
    except OSError:
        pass  # a read-only installation: no cache
    return prices, index, real, vix, proxy_note


def _sample_cache(paths: list[Path]) -> Path:
    """Where the sample's parsed files are kept: named by a digest of the files' paths,
    sizes and modification times and of the pandas and numpy versions."""
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    key = repr((stats, pd.__version__, np.__version__, _CACHE_FORMAT)).encode()
    return (Path(__file__).parent / "__pycache__"
            / f"sample-market-{hashlib.sha256(key).hexdigest()[:16]}.npz")


_CACHE_FORMAT = 2
"""The layout of the arrays :func:`_to_arrays` writes (a change of it renames the file)."""


def _to_arrays(prices: pd.DataFrame, index: pd.DataFrame, real: pd.Series, vix: pd.Series,
               proxy_note: Notice) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, frame in (("prices", prices), ("index", index)):
        out[f"{name}_dates"] = frame.index.to_numpy()  # in pandas's own unit
        out[f"{name}_tickers"] = np.array([str(c) for c in frame.columns], dtype=np.str_)
        out[f"{name}_values"] = frame.to_numpy(dtype=np.float64)
    out["vix_dates"] = real.index.to_numpy()
    out["vix_values"] = real.to_numpy(dtype=np.float64)
    if not vix.index.equals(prices.index):
        raise ValueError("the VIX is kept on the price dates")
    out["vix_on_prices"] = vix.to_numpy(dtype=np.float64)
    out["vix_proxy_detail"] = np.array(proxy_note.detail, dtype=np.str_)
    return out


def _from_arrays(kept: dict[str, np.ndarray]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, Notice]:
    """What :func:`_sample_files` returns, rebuilt from :func:`_to_arrays`'s arrays (the
    same index, names and dtypes: ``tests/data/test_sample.py`` holds them equal)."""
    frames = []
    for name in ("prices", "index"):
        if kept[f"{name}_dates"].dtype.kind != "M":
            raise ValueError("not a date array")
        frames.append(pd.DataFrame(
            np.asarray(kept[f"{name}_values"], dtype=np.float64),
            index=pd.DatetimeIndex(kept[f"{name}_dates"], name="date"),
            columns=pd.Index([str(c) for c in kept[f"{name}_tickers"]], name="ticker")))
    if kept["vix_dates"].dtype.kind != "M":
        raise ValueError("not a date array")
    dates = pd.DatetimeIndex(kept["vix_dates"], name="Date")
    real = pd.Series(np.asarray(kept["vix_values"], dtype=np.float64), index=dates, name="vix")
    vix = pd.Series(np.asarray(kept["vix_on_prices"], dtype=np.float64),
                    index=frames[0].index, name="vix")
    proxy_note = notice(Flag.VIX_PROXY, str(kept["vix_proxy_detail"]))
    return frames[0], frames[1], real, vix, proxy_note


def _read_dated_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col="Date")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index), name="date")
    frame.columns = pd.Index([str(c) for c in frame.columns], name="ticker")
    return frame.astype(np.float64).sort_index()


def vix_with_proxy(vix: pd.Series, index_level: pd.Series,
                   dates: pd.DatetimeIndex) -> tuple[pd.Series, Notice]:
    """Real VIX where present, a fitted realized-volatility proxy elsewhere.

    Parameters
    ----------
    vix : pd.Series
        Real VIX closes (index points) on the dates they exist.
    index_level : pd.Series
        A broad equity index level (the S&P 500), daily.
    dates : pd.DatetimeIndex
        The dates the result must cover.

    Returns
    -------
    (pd.Series, Notice)
        VIX on ``dates`` and the :data:`Flag.VIX_PROXY` notice stating the fit and the
        proxied date ranges.

    Notes
    -----
    ``RV21_t = std(log returns t-20..t) · sqrt(252) · 100``; ``VIX ≈ a + b · RV21`` fitted
    by ordinary least squares where both exist. The proxy is floored at 9, the lowest VIX
    close on record (1993-12-22: 9.31; 2017-11-03: 9.14).
    """
    log_ret = np.log(index_level).diff()
    rv = (log_ret.rolling(PROXY_WINDOW_DAYS).std() * np.sqrt(TRADING_DAYS) * 100.0).reindex(dates)
    both = pd.concat([vix.reindex(dates), rv], axis=1, keys=["vix", "rv"]).dropna()
    slope, intercept = np.polyfit(both["rv"].to_numpy(), both["vix"].to_numpy(), 1)
    proxy = (intercept + slope * rv).clip(lower=9.0).bfill()
    real = vix.reindex(dates)
    out = real.fillna(proxy).rename("vix")
    proxied = real.isna()
    ranges = _date_ranges(dates[proxied.to_numpy()])
    corr = float(np.corrcoef(both["rv"], both["vix"])[0, 1])
    detail = (f"VIX missing on {int(proxied.sum())} of {len(dates)} days ({ranges}); proxy "
              f"VIX = {intercept:.2f} + {slope:.3f} x 21-day realized S&P 500 volatility "
              f"(fit on {len(both)} days, correlation {corr:.2f})")
    return out, notice(Flag.VIX_PROXY, detail)


def _date_ranges(days: pd.DatetimeIndex) -> str:
    if len(days) == 0:
        return "none"
    gaps = np.diff(days.to_numpy()).astype("timedelta64[D]")
    breaks = np.flatnonzero(gaps > np.timedelta64(5, "D")).tolist()
    starts = [days[0], *(days[b + 1] for b in breaks)]
    ends = [*(days[b] for b in breaks), days[-1]]
    return ", ".join(f"{s.date()}..{e.date()}" for s, e in zip(starts, ends, strict=True))
