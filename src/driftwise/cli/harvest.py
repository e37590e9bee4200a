"""``driftwise harvest``: scan the tax lots for losses worth harvesting."""

from __future__ import annotations

from typing import Annotated

import typer

from driftwise.app.tax import harvest_scan
from driftwise.cli._inputs import (
    ConfigOption,
    InputOptions,
    load_cli_config,
    load_portfolio,
)
from driftwise.cli._output import console, print_json
from driftwise.cli.plan import show_harvest


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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Scan tax lots for loss-harvest candidates: loss, deferral and rate arbitrage.

    Lists every lot whose unrealized loss is at least tax.harvest_loss_threshold of its
    basis and tax.harvest_min_loss_usd, with the tax it saves now and its value split into
    the present value of the deferral and the rate arbitrage, and the replacement
    (tax.harvest_pairs, else cash until the wash-sale window ends). A lot of a ticker
    bought within the wash-sale window is flagged and not proposed.
    """
    cfg = load_cli_config(config)
    inputs = load_portfolio(cfg, as_of=as_of, last_rebalance=None, accept_jump=None,
                            holdings=holdings, targets=targets, prices=prices, master=master,
                            lots=lots)
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
