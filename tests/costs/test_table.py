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
    # a series on exactly the inputs' tickers is read as it is: the same checks
    with pytest.raises(DataError, match="BBB"):
        cost_table(pd.Series([1.0, np.nan, 2.0], index=["AAA", "BBB", "CCC"]), inputs,
                   CostParams())
    with pytest.raises(DataError, match="ZZZ"):
        cost_table(pd.Series([1.0, 2.0, 3.0], index=["AAA", "BBB", "ZZZ"]), inputs,
                   CostParams())


@pytest.mark.parametrize("order", [["AAA", "BBB", "CCC"], ["CCC", "AAA", "BBB"],
                                   ["AAA", "CCC"], ["BBB"]])
@pytest.mark.parametrize("dtype", ["str", "object"])
def test_cost_table_is_the_same_whatever_the_series_order_and_labels(
        inputs: AssetCostInputs, order: list[str], dtype: str) -> None:
    """The series on the inputs' own tickers in their order (read as it is) and in any
    other order or subset (matched by label) give the same table to the bit; the
    reference is the table of the trades put on the inputs' tickers by hand."""
    full = {"AAA": 1e6, "BBB": -3e5, "CCC": 2.5e4}
    trade = pd.Series([full[t] for t in order],
                      index=pd.Index(order, dtype=dtype, name="ticker"), dtype=np.float64)
    params = CostParams()
    got = cost_table(trade, inputs, params, vix=30.0, nav_usd=5e6,
                     position_after_usd=trade * 2.0, position_before_usd=trade)
    values = np.array([full[t] if t in order else 0.0 for t in inputs.tickers])
    backwards = list(inputs.tickers)[::-1]  # matched by label
    reference = cost_table(pd.Series(values[::-1], index=backwards), inputs, params,
                           vix=30.0, nav_usd=5e6,
                           position_after_usd=pd.Series(values[::-1] * 2.0, index=backwards),
                           position_before_usd=pd.Series(values[::-1], index=backwards))
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    np.testing.assert_array_equal(got["trade_usd"].to_numpy(), values)
