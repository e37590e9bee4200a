"""Real data: turnover falls and TE rises from weekly to never (Boyd et al. 2017, Table 7.1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwise.backtest.compare import equal_weight_inputs, frequency_table
from driftwise.data.alphavantage import read_alphavantage_folder

# weeks, months, quarters, years: the interval grows by these factors step to step
INTERVAL_RATIOS = np.array([52 / 12, 3.0, 4.0])


@pytest.mark.realdata
def test_frequency_pattern_on_sp500(shared_data: Path) -> None:
    market = read_alphavantage_folder(shared_data / "sp500-daily-ohlcv-alphavantage" / "daily",
                                      start="2012-01-03")
    table = frequency_table(equal_weight_inputs(market))
    print(table.to_string())
    turnover = table["turnover_per_year"].to_numpy()
    te = table["te_annual"].to_numpy()
    assert np.all(np.diff(turnover) < 0) and turnover[-1] == 0.0
    assert np.all(np.diff(te) > 0)
    # turnover roughly halves per step (1.3x to 3x), TE grows roughly with sqrt(interval)
    halving = table["turnover_ratio"].iloc[1:4].to_numpy()
    assert np.all((halving > 1.3) & (halving < 3)), halving
    relative = table["te_ratio"].iloc[1:4].to_numpy() / np.sqrt(INTERVAL_RATIOS)
    assert np.all((relative > 0.5) & (relative < 1.7)), relative
