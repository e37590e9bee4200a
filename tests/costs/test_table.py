"""cost_table and cost_notices: what ``driftwise costs`` prints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftwise.costs import AssetCostInputs, CostParams, cost_notices, cost_table, trade_costs
from driftwise.errors import DataError
from driftwise.flags import Flag

from .conftest import make_inputs


def test_cost_table_columns_and_values(inputs: AssetCostInputs) -> None:
    trade = pd.Series({"CCC": -2e5, "AAA": 1e6})
    table = cost_table(trade, inputs, CostParams(), vix=22.0, nav_usd=1e7)
    assert table.index.tolist() == ["AAA", "BBB", "CCC"]
    costs = trade_costs(np.array([1e6, 0.0, -2e5]), inputs, CostParams(), 22.0)
    np.testing.assert_allclose(table["total_usd"], costs.total_usd)
    assert table.loc["AAA", "impact_bps"] == pytest.approx(15.0 * 1.5)
    assert table.loc["AAA", "spread_bps"] == pytest.approx(2.0 * 1.5)
    assert np.isnan(table.loc["BBB", "trading_bps"]) and table.loc["BBB", "total_usd"] == 0.0
    assert table.loc["AAA", "total_bps_nav"] == pytest.approx(1e4 * costs.total_usd[0] / 1e7)
    assert table.loc["CCC", "trade_shares"] == -1e4
    # CCC: 10,000 shares / (10% of 50,000) = 2 liquidity days; ADV $1M is not < $1M
    assert table.loc["CCC", "liquidity_days"] == pytest.approx(2.0)
    assert table.loc["CCC", "flags"] == ""


def test_cost_table_flags_per_asset() -> None:
    inp = make_inputs(spread_estimated=[True, False, False], stale=[False, True, False],
                      all_in_bps=[np.nan, np.nan, 100.0], costs_estimated=[False, False, True],
                      borrow_estimated=[False, True, True])
    # BBB: $12M = 240,000 shares = 12 liquidity days at 10% of 200,000
    table = cost_table(pd.Series({"BBB": -1.2e7}), inp, CostParams(),
                       position_after_usd=pd.Series({"BBB": -1.2e7, "CCC": -1.0}))
    assert table.loc["AAA", "flags"] == Flag.TIER_SPREAD.value
    assert table.loc["BBB", "flags"] == "; ".join(
        [Flag.STALE_COSTS, Flag.ILLIQUID, Flag.MULTI_DAY, Flag.ESTIMATED_BORROW])
    assert table.loc["CCC", "flags"] == f"{Flag.ESTIMATED_COSTS}; {Flag.ESTIMATED_BORROW}"
    assert table.loc["BBB", "borrow_usd"] > 0.0
    assert np.isnan(table["total_bps_nav"]).all()


def test_cost_notices(inputs: AssetCostInputs) -> None:
    # AAA: 600,000 shares = 6 days (multi-day); BBB: 240,000 shares = 12 days (illiquid)
    got = cost_notices(np.array([[6e7, 0.0, 0.0], [0.0, -1.2e7, 0.0]]), inputs, CostParams(),
                       position_after_usd=np.array([0.0, -1.2e7, 0.0]))
    by_flag = {n.flag: n.tickers for n in got}
    assert by_flag == {Flag.ILLIQUID: ("BBB",), Flag.MULTI_DAY: ("AAA", "BBB")}
    est = make_inputs(borrow_estimated=[False, True, False])
    got = cost_notices(np.zeros(3), est, CostParams(), position_after_usd=[0.0, -1.0, -1.0])
    assert [(n.flag, n.tickers) for n in got] == [(Flag.ESTIMATED_BORROW, ("BBB",))]


def test_cost_table_rejects_unknown_and_nan(inputs: AssetCostInputs) -> None:
    with pytest.raises(DataError, match="ZZZ"):
        cost_table(pd.Series({"ZZZ": 1.0}), inputs, CostParams())
    with pytest.raises(DataError, match="not finite"):
        cost_table(pd.Series({"AAA": np.nan}), inputs, CostParams())
