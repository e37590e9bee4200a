"""The sample, cut to a few years, imported into a record: the daily tests' data."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from driftwise.data.costs import CostFile
from driftwise.data.model import Inputs
from driftwise.data.sample import load_sample
from driftwise.record import imports, transaction
from driftwise.record.holdings import account_id

FIRST = "2018-01-02"
"""First price kept (enough history for the risk model's 252-day windows)."""


def sample_inputs(costs_as_of: str = "2022-12-28", targets_effective: str | None = None,
                  first: str = FIRST) -> Inputs:
    """The sample with prices and VIX from ``first`` on, costs measured on a given day
    (and its targets effective on another, if given)."""
    s = load_sample()
    market = s.market
    cut = dataclasses.replace(market, prices=market.prices.loc[first:],
                              vix=None if market.vix is None else market.vix.loc[first:])
    assert s.costs is not None
    frame = s.costs.frame.copy()
    frame["as_of"] = pd.Timestamp(costs_as_of)
    targets = s.targets
    if targets is not None and targets_effective is not None:
        targets = dataclasses.replace(targets, effective_date=pd.Timestamp(targets_effective))
    return dataclasses.replace(s, market=cut, costs=CostFile(frame, source=s.costs.source),
                               targets=targets)


def import_inputs(connection: Connection, inputs: Inputs, account: str = "main", *,
                  market: bool = True) -> int:
    """Import ``inputs`` (holdings, targets, master, costs and, if asked, the market)."""
    owner = account_id(connection, account, create=True)
    imports.import_holdings(connection, owner, inputs.holdings)
    if inputs.targets is not None:
        imports.import_targets(connection, owner, inputs.targets)
    imports.import_master(connection, inputs.master)
    if inputs.costs is not None:
        imports.import_costs(connection, inputs.costs)
    if market:
        imports.import_prices(connection, inputs.market)
        if inputs.market.vix is not None:
            imports.import_series(connection, "vix", inputs.market.vix)
    return owner


def fill_record(engine: Engine, inputs: Inputs, accounts: tuple[str, ...] = ("main",)) -> None:
    """Every account holding the sample, the market once."""
    def work(connection: Connection) -> None:
        for i, name in enumerate(accounts):
            import_inputs(connection, inputs, name, market=i == 0)

    transaction(engine, work)


def day(text: str) -> dt.date:
    """A date from its ISO text."""
    return dt.date.fromisoformat(text)
