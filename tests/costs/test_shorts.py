"""Sales larger than the position: the short they open is flagged and its borrow charged
(issue 12, items 9b and 13)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftwise.costs import (
    CostParams,
    added_borrow_usd,
    cost_table,
    opens_short,
    short_notices,
    trade_costs,
)
from driftwise.flags import Flag

from .conftest import make_inputs


def test_added_borrow_oracle() -> None:
    # long 1e5 sold by 3e5: short 2e5 added; short 1e5 sold by 5e4 more: 5e4 added;
    # short 1e5 bought back by 4e4: nothing charged, nothing credited; long stays long
    before = np.array([1e5, -1e5, -1e5, 2e5])
    after = np.array([-2e5, -1.5e5, -6e4, 1e5])
    rates = np.array([30.0, 50.0, 300.0, 80.0])
    got = added_borrow_usd(before, after, rates, 63.0)
    want = [2e5 * 30e-4 * 63 / 252, 5e4 * 50e-4 * 63 / 252, 0.0, 0.0]
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_opens_short_mask() -> None:
    trade = np.array([-3e5, -5e4, 4e4, -1e5, -1e5])
    before = np.array([1e5, -1e5, -1e5, 2e5, 1e5])
    assert opens_short(trade, before).tolist() == [True, True, False, False, False]


def test_cost_table_charges_borrow_only_on_the_short_added() -> None:
    inputs = make_inputs()
    trade = pd.Series({"AAA": -3e5, "BBB": -5e4, "CCC": 4e4})
    before = pd.Series({"AAA": 1e5, "BBB": -1e5, "CCC": -1e5})
    table = cost_table(trade, inputs, CostParams(), position_after_usd=before + trade,
                       position_before_usd=before, holding_days=252.0)
    # borrow_bps_annual of the three assets: 30, 50, 300
    assert table["borrow_usd"].tolist() == pytest.approx([2e5 * 30e-4, 5e4 * 50e-4, 0.0])
    trading = trade_costs(trade.to_numpy(), inputs, CostParams()).trading_usd
    np.testing.assert_allclose(table["total_usd"], trading + table["borrow_usd"], rtol=1e-15)
    assert ["opens a short" in f for f in table["flags"]] == [True, True, False]


def test_short_notices_name_the_ticker_and_the_shares() -> None:
    notes = short_notices(pd.Series({"AAA": -150.0, "BBB": -30.0, "CCC": -10.0}),
                          pd.Series({"AAA": 100.0, "BBB": -20.0, "CCC": 50.0}))
    assert [(n.flag, n.tickers) for n in notes] == [(Flag.OPENS_SHORT, ("AAA",)),
                                                    (Flag.OPENS_SHORT, ("BBB",))]
    assert notes[0].detail.startswith("sell exceeds the position: opens a short of 50 shares")
    assert notes[1].detail.startswith("sell increases the short by 30 shares (short 50 shares")


def test_short_notices_on_one_index_equal_those_matched_by_label() -> None:
    """Trades and holdings on the same index object (a plan's universe) are read as
    they are; the notices are those of the holdings matched by label."""
    index = pd.Index(["AAA", "BBB", "CCC", "DDD"], name="ticker")
    trades = pd.Series([-150.0, -30.0, 0.0, -5.0], index=index)
    held = pd.Series([100.0, -20.0, 50.0, 0.0], index=index)
    relabelled = held.set_axis(pd.Index(list(index)[::-1])[::-1])
    assert relabelled.index is not trades.index
    same = short_notices(trades, held)
    assert same == short_notices(trades, relabelled)
    assert [n.tickers for n in same] == [("AAA",), ("BBB",), ("DDD",)]
