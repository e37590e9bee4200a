"""Loss harvests as rows of the plan's trade list (``tax.harvest_in_trades``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tests.tax.test_plan_tax import NIIT, PRICE, TAXED, _inputs, cfg

from driftwise.app.plan import REBALANCE_REASON, make_plan
from driftwise.cli.plan import write_plan_files
from driftwise.data.model import Inputs

FLAT_BPS = 12.0
QUIET = {**TAXED, "policy.threshold": 0.5, "costs.flat_cost_bps": FLAT_BPS}
"""No rebalance today (drift far below 50%), every trade at a flat 12 bps."""

LOSS_LOT = ("S2", 400.0, "2024-03-01", 400.0 * float(PRICE["S2"]) * 1.5)
"""A short-term S2 lot bought at 1.5 times today's price: a loss of a third of its basis."""


def _harvest_inputs() -> Inputs:
    return _inputs([(1.0, "2020-01-02", 1.0)], extra=[LOSS_LOT])


def test_harvest_off_keeps_the_trade_list_of_the_rebalance() -> None:
    plan = make_plan(_harvest_inputs(), cfg(**QUIET))
    assert plan.trades.empty
    assert plan.harvest is not None and "S2" in set(plan.harvest["ticker"])


def test_a_harvest_sale_is_a_priced_row_with_its_tax_saving() -> None:
    plan = make_plan(_harvest_inputs(), cfg(**QUIET, **{"tax.harvest_in_trades": True}))
    row = plan.trades.loc["S2"]
    price = float(PRICE["S2"])
    assert row["side"] == "SELL" and row["reason"] == "harvest"
    assert row["shares"] == 400.0
    assert abs(row["trade_usd"] + 400.0 * price) < 1e-6
    # the one cost model: a flat all-in rate of the traded value
    assert abs(row["cost_usd"] - FLAT_BPS / 1e4 * 400.0 * price) < 1e-6
    # the loss (a third of the basis) saves tax at the short-term rate now
    loss = 400.0 * price * 1.5 - 400.0 * price
    assert abs(row["tax_usd"] + loss * (0.37 + NIIT)) < 1e-6
    assert row["lots"].startswith("harvest: S2:2024-03-01×400")
    assert len(plan.trades) == 1  # no pair: the proceeds stay in cash
    assert any(r.startswith("loss harvest in the trade list: sell S2") for r in plan.reasons)


def test_the_replacement_is_bought_for_the_proceeds_and_both_reach_the_orders(
        tmp_path: Path) -> None:
    config = cfg(**QUIET, **{"tax.harvest_in_trades": True, "tax.harvest_pairs": ["S2:S3"],
                             "constraints.whole_shares": False})
    plan = make_plan(_harvest_inputs(), config)
    buy = plan.trades.loc["S3"]
    assert buy["side"] == "BUY" and buy["reason"] == "harvest replacement of S2"
    assert abs(buy["trade_usd"] + plan.trades.loc["S2", "trade_usd"]) < 1e-6
    assert buy["shares"] == 400.0 * float(PRICE["S2"]) / float(PRICE["S3"])
    assert abs(buy["cost_usd"] - FLAT_BPS / 1e4 * buy["trade_usd"]) < 1e-6
    assert buy["tax_usd"] == 0.0
    write_plan_files(plan, tmp_path)
    orders = pd.read_csv(tmp_path / "orders.csv")
    assert {"S2", "S3"} <= set(orders["ticker"])


def test_whole_shares_buy_the_replacement_in_whole_shares() -> None:
    config = cfg(**QUIET, **{"tax.harvest_in_trades": True, "tax.harvest_pairs": ["S2:S3"]})
    assert config.constraints.whole_shares
    buy = make_plan(_harvest_inputs(), config).trades.loc["S3"]
    assert buy["shares"] == float(int(400.0 * float(PRICE["S2"]) / float(PRICE["S3"])))


def test_a_ticker_the_rebalance_trades_is_not_harvested() -> None:
    # with the default threshold the rebalance buys the underweight S2: a harvest would wash
    config = cfg(**TAXED, **{"tax.harvest_in_trades": True})
    plan = make_plan(_harvest_inputs(), config)
    assert plan.trades.loc["S2", "side"] == "BUY"
    assert (plan.trades["reason"] == REBALANCE_REASON).all()
    assert any(r.startswith("not harvested today: S2") for r in plan.reasons)
