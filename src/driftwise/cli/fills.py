"""``driftwise fills``: apply executed fills to the holdings and write the new holdings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from driftwise.cli._output import console, frame_table, num, pairs_table, print_json, usd
from driftwise.data.holdings import read_holdings, write_holdings
from driftwise.execution import apply_fills, last_fill_date, read_fills


def register(app: typer.Typer) -> None:
    """Add the ``fills`` command to ``app``."""
    app.command("fills")(fills_command)


def fills_command(
    holdings: Annotated[Path, typer.Option(help="Current holdings (position or lot level).",
                                           dir_okay=False)],
    fills: Annotated[Path, typer.Option(
        help="Fills CSV (ticker, side, shares, price_usd[, fee_usd, filled_at, order_id]).",
        dir_okay=False)],
    out: Annotated[Path, typer.Option(help="Where to write the updated holdings CSV.",
                                      dir_okay=False)],
    relief: Annotated[str, typer.Option(help="Lots a sale relieves first: fifo or hifo.")
                      ] = "hifo",
    allow_short: Annotated[bool, typer.Option(help="Allow sales below zero shares.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import fills: update shares, cash and lots, and reset drift tracking.

    The date of the last fill becomes the portfolio's last-rebalance date (pass it as
    ``--last-rebalance`` to the next ``plan`` or ``monitor``).
    """
    if relief not in ("fifo", "hifo"):
        raise typer.BadParameter("relief must be fifo or hifo", param_hint="--relief")
    before = read_holdings(holdings)
    table = read_fills(fills)
    after = apply_fills(before, table, relief="hifo" if relief == "hifo" else "fifo",
                        allow_short=allow_short)
    write_holdings(after, out)
    last = last_fill_date(table) if "filled_at" in table and table["filled_at"].notna().any() \
        else None
    change = pd.DataFrame({"before": before.shares, "after": after.shares}).fillna(0.0)
    change["change"] = change["after"] - change["before"]
    change = change[change["change"] != 0]
    if as_json:
        print_json({"holdings": str(out), "last_rebalance": last, "cash_before_usd":
                    before.cash_usd, "cash_after_usd": after.cash_usd, "changes": change})
        return
    console.print(frame_table(change, f"Fills applied ({len(table)} fills)",
                              {c: (lambda x: num(x, 4)) for c in change.columns},
                              index_name="ticker"))
    console.print(pairs_table([
        ("cash before → after (USD)", f"{usd(before.cash_usd)} → {usd(after.cash_usd)}"),
        ("new last-rebalance date", "unknown (no filled_at)" if last is None
         else str(last.date())),
        ("updated holdings", str(out)),
    ], title="Portfolio record"))
