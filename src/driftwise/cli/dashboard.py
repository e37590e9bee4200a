"""``driftwise dashboard``: the accounts dashboard, one HTML page of the book."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from driftwise.cli._inputs import date_option, load_cli_config, record_url
from driftwise.cli._options import ConfigOption, DbOption
from driftwise.cli._output import console


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to ``app``."""
    app.command("dashboard")(dashboard_command)


def dashboard_command(
    out: Annotated[Path, typer.Option(
        "--out", help="The HTML file to write (self-contained: opens with no network).",
        dir_okay=False)] = Path("book.html"),
    as_of: Annotated[str | None, date_option(
        "Show the plans made on or before this day (YYYY-MM-DD); default: every plan.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the accounts dashboard: the accounts needing action, drift, expected costs
    and taxes, and orders, from the record.

    Reads each account's latest plan (decision, reasons, drift, expected cost and tax),
    its orders and any order still open, and the events that invalidated a plan; writes
    nothing to the record. The accounts table and the orders table sort by a click on a
    heading.
    """
    import datetime as dt

    from driftwise.record import open_record
    from driftwise.record.book_view import read_book
    from driftwise.report.dashboard import write_dashboard

    engine = open_record(record_url(db, load_cli_config(config)))
    day = None if as_of is None else dt.date.fromisoformat(as_of)
    with engine.connect() as connection:
        view = read_book(connection, day)
    path = write_dashboard(out, view)
    act = int(view.accounts["needs_action"].sum()) if len(view.accounts) else 0
    console.print(f"Wrote {path}: {len(view.accounts)} account(s) with a plan, {act} "
                  f"needing action, {len(view.orders)} order(s).", highlight=False)
