"""The suspect-jump detector on real adjusted closes: crashes kept, artefacts found."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from driftwise.data.alphavantage import read_alphavantage_folder
from driftwise.data.jumps import JumpKind, find_jumps

DAILY = Path("sp500-daily-ohlcv-alphavantage") / "daily"


@pytest.mark.realdata
def test_oxy_and_apa_crash_of_2020_03_09_is_not_suspect(shared_data):
    market = read_alphavantage_folder(shared_data / DAILY, tickers=["OXY", "APA"])
    crash = market.prices.pct_change().loc["2020-03-09"]
    assert crash["OXY"] < -0.50 and crash["APA"] < -0.53  # the real −50% days
    assert market.jumps == ()


@pytest.mark.realdata
def test_detector_over_all_504_stocks(shared_data):
    closes = {}
    for path in sorted((shared_data / DAILY).glob("*.csv.gz")):
        frame = pd.read_csv(path, usecols=["date", "adjusted_close"], index_col="date",
                            parse_dates=["date"])
        closes[path.name.split(".")[0]] = frame["adjusted_close"]
    prices = pd.DataFrame(closes).sort_index()
    jumps = find_jumps(prices.to_numpy(), pd.DatetimeIndex(prices.index), prices.columns,
                       file="sp500")
    kinds = Counter(j.kind.value for j in jumps)
    stocks = {j.ticker for j in jumps}
    print(f"\n{len(closes)} stocks, {prices.shape[0]} sessions: {len(jumps)} suspect jumps in "
          f"{len(stocks)} stocks ({dict(kinds)})")
    for j in jumps:
        print(f"  {j.key} ×{j.ratio:.3f} {j.kind.value} z={j.z:.1f}")
    keys = {j.key for j in jumps}
    # the README's known artefacts are found ...
    assert {"TRMB:2007-02-23", "KSU:2000-07-13", "SO:2001-04-03"} <= keys
    assert not {"TRMB:2007-02-26"} & keys  # TRMB's reversal is one event
    # ... and the real crash days are not
    assert not {"OXY:2020-03-09", "APA:2020-03-09", "AAPL:2000-09-29", "AIG:2008-09-16",
                "MS:2008-09-29"} & keys
    assert len(closes) == 504 and len(stocks) <= 50  # under one stock in ten, over 21 years
    assert all(j.kind is not JumpKind.UNCONFIRMED for j in jumps)
