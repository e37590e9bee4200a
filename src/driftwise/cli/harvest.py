"""``driftwise harvest``: scan the tax lots for losses worth harvesting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from driftwise.app.tax import harvest_scan
from driftwise.cli._inputs import (
    ConfigOption,
    InputOptions,
    load_cli_config,
    load_portfolio,
    record_url,
)
from driftwise.cli._options import DbOption
from driftwise.cli._output import console, print_json
from driftwise.cli.plan import show_harvest

if TYPE_CHECKING:
    from driftwise.config.model import Config
    from driftwise.data.model import Inputs


def _from_record(cfg: Config, account: str, db: str | None, as_of: str | None) -> Inputs:
    """The account's inputs from the record on ``as_of`` with its household's buys."""
    import dataclasses
    import datetime as dt

    from driftwise.app.daily import last_session
    from driftwise.record import open_record
    from driftwise.record.accounts import account_profiles, household_buys
    from driftwise.record.holdings import account_id
    from driftwise.record.inputs import load_record_inputs

    engine = open_record(record_url(db, cfg))
    with engine.connect() as connection:
        day = dt.date.fromisoformat(as_of) if as_of else last_session(connection)
        found = load_record_inputs(connection, account_id(connection, account), day,
                                   accept_jumps=cfg.data.accept_jumps)
        bought = household_buys(connection, account_profiles(connection, [account]).get(
            account), day, cfg.tax.wash_sale_days)
    return dataclasses.replace(found.inputs, household_buys=bought)


def register(app: typer.Typer) -> None:
    """Add the ``harvest`` command to ``app``."""
    app.command("harvest")(harvest_command)


def harvest_command(
    holdings: InputOptions.holdings = None,
    prices: InputOptions.prices = None,
    targets: InputOptions.targets = None,
    master: InputOptions.master = None,
    lots: InputOptions.lots = None,
    as_of: InputOptions.as_of = None,
    config: ConfigOption = None,
    record: Annotated[bool, typer.Option(
        "--record", help="Scan an account of the portfolio record (--account, --db) on "
        "--as-of (default: the last price date recorded), the household's other accounts' "
        "buys in the wash-sale window included.")] = False,
    account: Annotated[str, typer.Option(
        "--account", help="With --record: the record's account.")] = "main",
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Scan tax lots for loss-harvest candidates: loss, deferral and rate arbitrage.

    Lists every lot whose unrealized loss is at least tax.harvest_loss_threshold of its
    basis and tax.harvest_min_loss_usd, with the tax it saves now and its value split into
    the present value of the deferral and the rate arbitrage, and the replacement
    (tax.harvest_pairs, else cash until the wash-sale window ends). A lot of a ticker
    bought within the wash-sale window is flagged and not proposed, and so, with --record,
    is one bought (or proposed to be bought) in another account of the household.
    """
    cfg = load_cli_config(config)
    if record:
        if any(f is not None for f in (holdings, prices, targets, master, lots)):
            raise typer.BadParameter("--record reads the account from the record: leave "
                                     "out the input files", param_hint="--record")
        inputs = _from_record(cfg, account, db, as_of)
    else:
        inputs = load_portfolio(cfg, as_of=as_of, last_rebalance=None, accept_jump=None,
                                holdings=holdings, targets=targets, prices=prices,
                                master=master, lots=lots)
    day, table = harvest_scan(inputs, cfg, as_of=as_of)
    if as_json:
        print_json({"as_of": day, "candidates": table})
        return
    if not len(table):
        console.print(f"no loss-harvest candidates on {day.date()} (threshold "
                      f"{cfg.tax.harvest_loss_threshold:.0%} of basis and USD "
                      f"{cfg.tax.harvest_min_loss_usd:,.0f})", highlight=False)
        return
    show_harvest(table)
    total = float(table.loc[table["proposed"], "loss_usd"].sum())
    console.print(f"{int(table['proposed'].sum())} lot(s) proposed on {day.date()}: "
                  f"USD {total:,.0f} of losses harvested", highlight=False)
