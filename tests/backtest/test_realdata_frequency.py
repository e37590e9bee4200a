"""Real data: turnover falls and TE rises from daily to never (Boyd et al. 2017, Table 7.1).

The equal-weight book of the S&P 500 stocks priced on every day since 2012, rebalanced to
target on a calendar, frictionless (fractional shares, no minimum trade, no liquidity
screen, no turnover cap, no trading costs): rebalanced daily it trades on the order of 100%
of its value a year, as in Boyd et al. 2017, "Multi-Period Trading via Convex
Optimization", Table 7.1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwise.app.backtest import equal_weight_inputs, frequency_table
from driftwise.data.alphavantage import read_alphavantage_folder

# days to weeks, weeks to months, months to quarters, quarters to years
INTERVAL_RATIOS = np.array([5.0, 52 / 12, 3.0, 4.0])


@pytest.mark.realdata
def test_frequency_pattern_on_sp500(shared_data: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    market = read_alphavantage_folder(shared_data / "sp500-daily-ohlcv-alphavantage" / "daily",
                                      start="2012-01-03")
    inputs = equal_weight_inputs(market)
    table = frequency_table(inputs)
    with capsys.disabled():
        print(f"\n{len(inputs.market.prices.columns)} stocks, equal weight; "
              f"{table.attrs['setting']}\n{table.to_string()}")
    assert list(table.index) == ["daily", "weekly", "monthly", "quarterly", "annual", "never"]
    assert "fractional shares, no minimum trade" in table.attrs["setting"]
    assert "no trading costs" in table.attrs["setting"]
    assert table.attrs["notices"] == ()  # nothing dropped by rounding or minimum trades
    turnover = table["turnover_per_year"].to_numpy()
    te = table["te_annual"].to_numpy()
    assert np.all(np.diff(turnover) < 0) and turnover[-1] == 0.0
    assert np.all(np.diff(te) > 0)
    # daily rebalancing of the equal-weight book: turnover of the order of 100% a year
    assert 0.7 < turnover[0] < 1.6, turnover[0]
    assert te[0] < 1e-9  # daily at no cost is the reference itself
    assert (table["cost_per_year"] == 0.0).all()
    # turnover falls by 1.3x to 3x per step; TE grows roughly with sqrt(interval)
    falls = table["turnover_ratio"].iloc[1:5].to_numpy()
    assert np.all((falls > 1.3) & (falls < 3)), falls
    relative = table["te_ratio"].iloc[2:5].to_numpy() / np.sqrt(INTERVAL_RATIOS[1:])
    assert np.all((relative > 0.5) & (relative < 1.7)), relative
