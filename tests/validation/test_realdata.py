"""A small random-portfolio study on the real 504-stock data (skipped without it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.config.assemble import study_settings
from driftwise.validation.output import caveats
from driftwise.validation.study import (
    PortfolioSpec,
    eligible_sp500,
    load_portfolio,
    random_portfolios,
    run_study,
)

from .conftest import copy_sp500

pytestmark = pytest.mark.realdata
WINDOW = ("2015-01-02", "2017-12-29")


def test_sp500_random_portfolios_end_to_end(shared_data: Path) -> None:
    pool = eligible_sp500(shared_data, WINDOW[0])
    assert len(pool) > 300
    assert "BF.B" not in pool  # its source file holds an API error
    specs = random_portfolios(pool, 2, seed=3, universe="sp500", data_dir=str(shared_data))
    settings = study_settings(workers=2, chunks=2, start=WINDOW[0], end=WINDOW[1],
                              bootstrap_samples=50)
    result = run_study(specs, settings)
    assert result.rules["rule"].tolist() == ["Rule 1", "Rule 2", "Rule 3", "Rule 4"]
    assert result.n_paths > 40
    assert len(result.falsification) == 2 * 4 * 2  # portfolios x cost settings x calendars
    assert result.rules["n_events"].sum() > 0
    said = " ".join(caveats(result))
    assert "drawn point in time" in said and "clean, complete prices over the window" not in said


def test_sp500_volumes_give_dollar_adv(shared_data: Path) -> None:
    spec = PortfolioSpec("aapl", "sp500", ("AAPL", "MSFT"), str(shared_data))
    settings = study_settings(start="2020-06-01", end="2020-12-31")
    inputs, portfolio = load_portfolio(spec, settings)
    assert inputs.market.volumes is not None
    raw = inputs.market.volumes.loc["2020-08-28", "AAPL"] * inputs.market.prices.loc[
        "2020-08-28", "AAPL"]
    # AAPL split 4:1 on 2020-08-31: dollar volume is unaffected by the adjustment
    assert 1e9 < raw < 1e11
    assert np.isfinite(portfolio.history.vix).all()


def test_the_study_draw_reads_nothing_after_its_first_day(shared_data: Path,
                                                          tmp_path: Path) -> None:
    """The S&P 500 study's pool and random portfolios on the first day are the same when a
    crash (-90% from day 5 on) and an end of data (day 10) are planted after that day in
    the real files; the same plant before the first day removes the crashed stock."""
    index = pd.read_csv(shared_data / "sp500-daily-ohlcv-alphavantage" / "tickers.csv")
    tickers = sorted(index.sort_values(["first_date", "ticker"]).head(30)["ticker"])
    start = "2005-01-03"
    clean = copy_sp500(shared_data, tmp_path / "clean", tickers)
    pool = eligible_sp500(clean, start)
    crash, stop = pool[0], pool[1]
    planted = copy_sp500(shared_data, tmp_path / "planted", tickers)
    before = copy_sp500(shared_data, tmp_path / "before", tickers)
    for root, cut in ((planted, start), (before, "2004-06-01")):
        daily = root / "sp500-daily-ohlcv-alphavantage" / "daily"
        frame = pd.read_csv(daily / f"{crash}.csv.gz")
        after = frame.index[frame["date"] > cut]
        frame.loc[after[5]:, "adjusted_close"] *= 0.1
        frame.to_csv(daily / f"{crash}.csv.gz", index=False)
        frame = pd.read_csv(daily / f"{stop}.csv.gz")
        frame[frame["date"] <= frame.loc[after[10], "date"]].to_csv(daily / f"{stop}.csv.gz",
                                                                   index=False)
    assert len(pool) > 20
    assert eligible_sp500(planted, start) == pool
    draws = random_portfolios(pool, 3, seed=1, universe="sp500")
    assert random_portfolios(eligible_sp500(planted, start), 3, seed=1,
                             universe="sp500") == draws
    assert crash not in eligible_sp500(before, start)  # a -90% day before it is seen
