"""Constructed markets for the validation tests: prices and VIX chosen by the test."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise.backtest.history import build_history
from driftwise.calendar import nyse_sessions
from driftwise.config import Config
from driftwise.config.assemble import history_settings
from driftwise.data.master import read_security_master
from driftwise.data.model import Holdings, Inputs, MarketData
from driftwise.data.targets import read_targets
from driftwise.validation.events import Portfolio

FloatArray = npt.NDArray[np.float64]
START = "2019-01-02"


def small_config(**overrides: object) -> Config:
    """Defaults with short risk windows (constructed histories are short)."""
    base = {"risk.vol_window_days": 5, "risk.cov_windows_days": (5, 10),
            "risk.te_model": "diagonal"}
    return Config().with_overrides({**base, **overrides}, source="test")


def make_inputs(prices: FloatArray, vix: FloatArray, target: FloatArray,
                target_cash: float = 0.0) -> Inputs:
    """Inputs over NYSE sessions from 2019-01-02 with the given closes and VIX."""
    n_days, n_assets = prices.shape
    dates = pd.DatetimeIndex(nyse_sessions(START, "2030-12-31")[:n_days], name="date")
    tickers = [f"A{i}" for i in range(n_assets)]
    frame = pd.DataFrame(prices, index=dates, columns=pd.Index(tickers, name="ticker"))
    market = MarketData(prices=frame, vix=pd.Series(vix, index=dates, name="vix"))
    targets = read_targets(pd.DataFrame({"ticker": [*tickers, "CASH"],
                                         "target_weight": [*target.tolist(), target_cash]}))
    master = read_security_master(pd.DataFrame({"ticker": tickers,
                                                "market_cap_usd": [5e11] * n_assets}))
    return Inputs(holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=1.0),
                  targets=targets, master=master, market=market)


def make_portfolio(prices: FloatArray, vix: FloatArray, target: FloatArray,
                   target_cash: float = 0.0, config: Config | None = None) -> Portfolio:
    """A :class:`Portfolio` on the constructed market (diagonal TE by default)."""
    cfg = config or small_config()
    inputs = make_inputs(prices, vix, target, target_cash)
    history = build_history(inputs, history_settings(cfg))
    return Portfolio("test", history, np.asarray(target, dtype=np.float64), target_cash,
                     full_te=cfg.risk.te_model.value == "full")


def random_prices(n_days: int, vols: FloatArray, seed: int = 1) -> FloatArray:
    """Lognormal closes starting at 100 with annualized volatilities ``vols``."""
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0003, 1.0, (n_days, len(vols))) * (np.asarray(vols) / np.sqrt(252.0))
    rets[0] = 0.0
    return np.asarray(100.0 * np.exp(np.cumsum(rets, axis=0)), dtype=np.float64)


def copy_sp500(shared: Path, root: Path, tickers: list[str], *, vix: bool = False) -> Path:
    """A data folder under ``root`` holding the real price files of ``tickers`` (and the
    CBOE VIX file when ``vix``), without the membership file: ``root``."""
    src = shared / "sp500-daily-ohlcv-alphavantage"
    dst = root / "sp500-daily-ohlcv-alphavantage"
    (dst / "daily").mkdir(parents=True)
    index = pd.read_csv(src / "tickers.csv")
    index[index["ticker"].isin(tickers)].to_csv(dst / "tickers.csv", index=False)
    for t in tickers:
        shutil.copy(src / "daily" / f"{t}.csv.gz", dst / "daily" / f"{t}.csv.gz")
    if vix:
        (root / "cboe-vix").mkdir()
        shutil.copy(shared / "cboe-vix" / "vix-daily.csv", root / "cboe-vix" / "vix-daily.csv")
    return root
