"""``driftwise init``, ``import``, ``approve`` and ``history``: the portfolio record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from driftwise.cli._inputs import (
    InputOptions,
    date_option,
    load_cli_config,
    record_url,
)
from driftwise.cli._options import DEFAULT_ACCOUNT, AccountOption, ConfigOption, DbOption
from driftwise.cli._output import console, frame_table, pairs_table, print_json
from driftwise.record import describe, migrate, open_engine, open_record, transaction
from driftwise.record.events import append_event
from driftwise.record.holdings import Changes

_FILE = {"exists": False, "dir_okay": False, "show_default": False}


def register(app: typer.Typer) -> None:
    """Add ``init``, ``import``, ``approve`` and ``history`` to ``app``."""
    app.command("init")(init_command)
    app.command("import")(import_command)
    app.command("approve")(approve_command)
    app.command("history")(history_command)


def init_command(
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create the portfolio record, or migrate it to this version's schema (idempotent).

    The record keeps accounts, holdings and tax lots over time, target versions, the
    security master, cost snapshots, prices, plans, orders, fills and an append-only
    event log.
    """
    url = record_url(db, load_cli_config(config))
    before, after = migrate(open_engine(url))
    state = ("created" if before is None else "already current" if before == after
             else f"migrated from {before}")
    if as_json:
        print_json({"record": describe(url), "schema": after, "was": before, "state": state})
        return
    console.print(pairs_table([("record", describe(url)), ("schema", after), ("", state)],
                              title="Portfolio record"))


def import_command(
    holdings: InputOptions.holdings = None,
    lots: InputOptions.lots = None,
    targets: InputOptions.targets = None,
    master: InputOptions.master = None,
    cost_file: InputOptions.cost_file = None,
    prices: InputOptions.prices = None,
    volumes: InputOptions.volumes = None,
    vix: InputOptions.vix = None,
    as_of: InputOptions.as_of = None,
    account: Annotated[str | None, typer.Option(
        "--account", help="The record's account (default: the one account the holdings "
        "file names, else main); picks that account from a holdings file naming several.",
        show_default=False)] = None,
    every: Annotated[bool, typer.Option(
        "--all", help="Import every account of the holdings file, each into its own "
        "account of the record (the targets, if given, into each: a model shared by "
        "the accounts).")] = False,
    accounts_file: Annotated[Path | None, typer.Option(
        "--accounts", help="An accounts file: account, and any of household, tax_status "
        "(taxable, tax_deferred, tax_exempt), model, cash_target_weight, do_not_buy, "
        "do_not_sell (see docs/record.md).", **_FILE)] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Import --targets as a new version of this model portfolio "
        "(shared by the accounts that follow it) instead of an account's targets.",
        show_default=False)] = None,
    risk_free: Annotated[Path | None, typer.Option(
        "--risk-free", help="A risk-free rate file (date, rate_annual: an annual "
        "fraction); driftwise review measures Sharpe ratios against it.", **_FILE)] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import holdings, lots, targets, security master, costs, prices and VIX into the record.

    The files are read and validated as every other command reads them; the whole import
    is one transaction (all of it is stored, or none), and the output says what changed:
    rows added, changed and removed per table. Importing the same files again changes
    nothing. A holdings file naming several accounts needs --account ID or --all.
    """
    given = {"holdings": holdings, "targets": targets, "master": master,
             "cost_file": cost_file, "prices": prices, "vix": vix,
             "accounts": accounts_file, "risk_free": risk_free}
    if not any(given.values()):
        raise typer.BadParameter("give at least one file to import", param_hint="--holdings")
    if model is not None and (targets is None or holdings is not None or every
                              or account is not None):
        raise typer.BadParameter("--model NAME imports --targets as the model's new "
                                 "version: give --targets, leave out --holdings, --all and "
                                 "--account", param_hint="--model")
    if lots is not None and holdings is None:
        raise typer.BadParameter("--lots goes with --holdings", param_hint="--lots")
    if volumes is not None and prices is None:
        raise typer.BadParameter("--volumes goes with --prices", param_hint="--volumes")
    if every and (account is not None or holdings is None):
        raise typer.BadParameter("--all imports every account of --holdings: give "
                                 "--holdings, leave out --account", param_hint="--all")
    cfg = load_cli_config(config)
    books = (_read_books(holdings, lots=lots, as_of=as_of, account=account, every=every)
             if holdings is not None
             else {} if model is not None or (accounts_file is not None and targets is None)
             else {account or DEFAULT_ACCOUNT: None})
    read = _read_files(cfg.constraints.long_only, as_of=as_of, lots=lots, volumes=volumes,
                       **{**given, "holdings": None})
    engine = open_record(record_url(db, cfg))
    files = {**given, "lots": lots, "volumes": volumes}
    changes = transaction(engine, lambda c: _store_books(c, books, read, files, model=model,
                                                         as_of=as_of))
    rows = [{"table": c.table, "added": c.added, "changed": c.changed, "removed": c.removed}
            for c in changes]
    named = ", ".join(books)
    what = (f"account{'s' if len(books) > 1 else ''} {named}" if books
            else f"model {model}" if model else "accounts file" if accounts_file
            else "shared files")
    if as_json:
        print_json({"record": describe(str(engine.url)),
                    "account": named if len(books) == 1 else list(books),
                    **({"model": model} if model is not None else {}), "changes": rows})
        return
    import pandas as pd

    console.print(frame_table(pd.DataFrame(rows).set_index("table"),
                              f"Imported into {describe(str(engine.url))} "
                              f"({what})",
                              {}, index_name="table"))
    if not any(c.any for c in changes):
        console.print("nothing changed: the record already holds these files")


def _read_files(long_only: bool, *, as_of: str | None, lots: Path | None,
                volumes: Path | None, **given: Path | None) -> dict[str, Any]:
    from driftwise.data.accounts import read_account_file
    from driftwise.data.costs import read_cost_inputs
    from driftwise.data.market import read_prices, read_risk_free, read_vix
    from driftwise.data.master import read_security_master
    from driftwise.data.targets import read_targets

    readers: dict[str, Callable[[Path], Any]] = {
        "targets": lambda p: read_targets(p, long_only=long_only),
        "master": read_security_master,
        "cost_file": lambda p: read_cost_inputs(p, as_of=as_of),
        "prices": lambda p: read_prices(p, volumes=volumes, today=as_of, detect_jumps=False),
        "vix": lambda p: read_vix(p, today=as_of)[0],
        "accounts": read_account_file,
        "risk_free": lambda p: read_risk_free(p, today=as_of)[0],
    }
    return {k: readers[k](p) for k, p in given.items() if p is not None}


def _read_books(holdings: Path, *, lots: Path | None, as_of: str | None,
                account: str | None, every: bool) -> dict[str, Any]:
    """The holdings to import by record account: every account of the file (``every``),
    the one ``account`` names, or the file's one account (a file naming several is
    refused, naming its file, row and field)."""
    from driftwise.data.holdings import read_accounts, read_holdings

    books = read_accounts(holdings, lots=lots, as_of=as_of, default=account or DEFAULT_ACCOUNT)
    if every:
        return dict(books)
    if account is not None:
        return {account: read_holdings(holdings, lots=lots, as_of=as_of, account=account)}
    if len(books) > 1:
        read_holdings(holdings, lots=lots, as_of=as_of)  # raises: several accounts
    return dict(books)


def _store_books(connection: Any, books: dict[str, Any], read: dict[str, Any],
                 files: dict[str, Path | None], *, model: str | None = None,
                 as_of: str | None = None) -> list[Changes]:
    """Each account's holdings (and the targets), the shared files once; the model's
    version and the accounts file after them (they write the followers' target
    versions)."""
    from driftwise.record import accounts as profiles

    marked = _market_date(connection, as_of, read.get("prices"))
    changes: list[Changes] = []
    own = {k: v for k, v in read.items() if k not in ("accounts", "targets")}
    if model is None and "targets" in read:
        own["targets"] = read["targets"]
    for k, (name, holdings) in enumerate(books.items() or [(None, None)]):
        mine = {key: v for key, v in own.items()
                if key == "targets" or k == 0}  # the market, master and costs once
        if holdings is not None:
            mine["holdings"] = holdings
        if mine:
            changes += _store(connection, name, mine, files, market_date=marked)
    extra: list[Changes] = []
    if model is not None:
        extra += profiles.import_model(connection, model, read["targets"])
    if "accounts" in read:
        extra += profiles.import_accounts(connection, read["accounts"])
    if any(c.any for c in extra):
        append_event(connection, "import", {
            "files": {k: str(v) for k, v in files.items()
                      if v is not None and k in ("accounts", "targets")},
            **({"model": model} if model is not None else {}),
            "changes": [vars(c) for c in extra]})
    return _summed(changes + extra)


def _market_date(connection: Any, as_of: str | None, market: Any) -> Any:
    """The session imported holdings are marked at: ``--as-of``, else the newest price
    date recorded or imported with them (None: none)."""
    import datetime as dt

    import sqlalchemy as sa

    from driftwise.record.schema import prices

    if as_of is not None:
        return dt.date.fromisoformat(as_of)
    found = [connection.execute(sa.select(sa.func.max(prices.c.date))).scalar_one_or_none()]
    if market is not None and len(market.prices.index):
        found.append(market.prices.index[-1].date())
    known = [d for d in found if d is not None]
    return max(known) if known else None


def _summed(changes: list[Changes]) -> list[Changes]:
    """One row per table, the counts of every account added up."""
    out: dict[str, Changes] = {}
    for c in changes:
        was = out.get(c.table)
        out[c.table] = c if was is None else Changes(c.table, was.added + c.added,
                                                     was.changed + c.changed,
                                                     was.removed + c.removed)
    return list(out.values())


def _store(connection: Any, account: str | None, read: dict[str, Any],
           files: dict[str, Path | None], *, market_date: Any = None) -> list[Changes]:
    from driftwise.record import imports
    from driftwise.record.holdings import account_id

    changes: list[Changes] = []
    owner = None
    if account is not None and ("holdings" in read or "targets" in read):
        owner = account_id(connection, account, create=True, lock=True)
    if "holdings" in read:
        assert owner is not None
        changes += imports.import_holdings(connection, owner, read["holdings"],
                                           market_date=market_date)
    if "targets" in read:
        assert owner is not None
        changes += imports.import_targets(connection, owner, read["targets"])
    if "master" in read:
        changes += imports.import_master(connection, read["master"])
    if "cost_file" in read:
        changes += imports.import_costs(connection, read["cost_file"])
    if "prices" in read:
        changes += imports.import_prices(connection, read["prices"])
    if "vix" in read:
        changes += imports.import_series(connection, "vix", read["vix"])
    if "risk_free" in read:
        changes += imports.import_series(connection, "risk_free", read["risk_free"])
    if any(c.any for c in changes):
        append_event(connection, "import", {
            "files": {k: str(v) for k, v in files.items() if v is not None},
            "changes": [vars(c) for c in changes]}, account_id=owner)
    return changes


def approve_command(
    plan: Annotated[int | None, typer.Option("--plan", help="Every order of this plan.",
                                             show_default=False)] = None,
    order: Annotated[list[int] | None, typer.Option(
        "--order", help="An order id (repeatable).", show_default=False)] = None,
    to: Annotated[str, typer.Option(
        "--to", help="The new status: approved, sent (given to the broker) or cancelled.")
    ] = "approved",
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Approve the orders of a plan (proposed -> approved), or mark them sent or cancelled.

    Every order must allow the move (proposed -> approved -> sent -> filled, or
    cancelled before it is filled); an illegal one changes nothing and names the order.
    Orders already in the new status are left as they are.
    """
    if to not in ("approved", "sent", "cancelled"):
        raise typer.BadParameter("approved, sent or cancelled", param_hint="--to")
    from driftwise.record.orders import move_orders, select_orders

    engine = open_record(record_url(db, load_cli_config(config)))

    def work(connection: Any) -> tuple[list[int], list[int]]:
        rows = select_orders(connection, plan_id=plan, order_ids=order or ())
        waiting = [r for r in rows if r.status != to]
        return move_orders(connection, waiting, to), [r.id for r in rows if r.status == to]

    moved, already = transaction(engine, work)
    if as_json:
        print_json({"status": to, "moved": moved, "already": already})
        return
    console.print(f"{len(moved)} order(s) now {to}"
                  + (f"; {len(already)} already {to}" if already else ""), highlight=False)


def history_command(
    account: AccountOption = DEFAULT_ACCOUNT,
    since: Annotated[str | None, date_option(
        "Show what was recorded from this day (YYYY-MM-DD, UTC) on.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What was decided when, and why: an account's imports, plans (decision and reasons),
    order approvals and fills, in the order they were recorded.
    """
    import datetime as dt

    from driftwise.record.history import account_history
    from driftwise.record.holdings import account_id

    engine = open_record(record_url(db, load_cli_config(config)))
    start = None if since is None else dt.date.fromisoformat(since)
    with engine.connect() as connection:
        entries = account_history(connection, account_id(connection, account), start)
    if as_json:
        print_json([{"at": e.at.isoformat(), "kind": e.kind, "summary": e.summary,
                     "reasons": list(e.reasons)} for e in entries])
        return
    console.print(f"History of account {account} ({describe(str(engine.url))})",
                  highlight=False)
    for e in entries:
        console.print(f"{e.at:%Y-%m-%d %H:%M} UTC  {e.kind:<7} {e.summary}", highlight=False)
        for reason in e.reasons:
            console.print(f"{'':26}• {reason}", highlight=False)
    if not entries:
        console.print("nothing recorded yet")
