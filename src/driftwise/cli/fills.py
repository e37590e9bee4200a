"""``driftwise fills``: apply executed fills to the holdings and write the new holdings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import pandas as pd
import typer

from driftwise.cli._options import DEFAULT_ACCOUNT, AccountOption, ConfigOption, DbOption
from driftwise.cli._output import console, frame_table, num, pairs_table, print_json, usd
from driftwise.data.holdings import read_holdings
from driftwise.execution import apply_fills, last_fill_date, read_fills
from driftwise.execution.fills import RELIEF_METHODS, Relieve, fill_record, new_fills
from driftwise.execution.ledger import read_record, record_path, write_atomically


def register(app: typer.Typer) -> None:
    """Add the ``fills`` command to ``app``."""
    app.command("fills")(fills_command)


def fills_command(
    fills: Annotated[Path, typer.Option(
        help="Fills CSV (ticker, side, shares, price_usd, filled_at[, fee_usd, order_id, "
        "account, exec_id, lots]).",
        dir_okay=False)],
    holdings: Annotated[Path | None, typer.Option(
        help="Current holdings (position or lot level); not with the record.",
        dir_okay=False, show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        help="Where to write the updated holdings CSV; not with the record.",
        dir_okay=False, show_default=False)] = None,
    record: Annotated[bool, typer.Option(
        "--record", help="Apply the fills to the portfolio record (the --db option, the "
        "configuration's [record], DRIFTWISE_DB or the per-user file) instead of files.")
    ] = False,
    db: DbOption = None,
    account: AccountOption = DEFAULT_ACCOUNT,
    config: ConfigOption = None,
    relief: Annotated[str, typer.Option(
        help="Lots a sale relieves first: fifo, hifo or min_tax (lowest tax per share at "
        "the fill's price, default rates); a sale naming its lots in the fills' lots "
        "column (LOT_ID×SHARES;...) relieves those; specific: every sale must name "
        "them.")] = "hifo",
    allow_short: Annotated[bool, typer.Option(help="Allow sales below zero shares.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import fills: update shares, cash and lots, and reset drift tracking.

    Each execution id (exec_id) is applied once: the updated holdings get a record of the
    executions they contain beside them (OUT.fills.json), so applying the same fills file
    again changes nothing. Both files are written atomically. The date of the last fill
    becomes the portfolio's last-rebalance date (pass it as ``--last-rebalance`` to the
    next ``plan`` or ``monitor``).

    With ``--record`` (or ``--db``) the fills go to the portfolio record instead: holdings,
    lots, the orders they fill and the account's last-rebalance date change in one
    transaction, every fill needs its exec_id, and each execution is applied once.
    """
    if relief not in RELIEF_METHODS:
        raise typer.BadParameter("relief must be fifo, hifo, min_tax or specific",
                                 param_hint="--relief")
    method = cast(Relieve, relief)
    if record or db is not None:
        if holdings is not None or out is not None:
            raise typer.BadParameter("the record holds the holdings: leave out --holdings "
                                     "and --out", param_hint="--holdings")
        _into_record(fills, db, account, config, method, allow_short, as_json)
        return
    if holdings is None or out is None:
        raise typer.BadParameter("give --holdings and --out (or --record to use the "
                                 "portfolio record)", param_hint="--holdings")
    before = read_holdings(holdings, every_account=True)  # each lot in its own account
    ledger = read_record(holdings)
    table = read_fills(fills)
    fresh = new_fills(table, ledger.fills)
    after = apply_fills(before, fresh.fills, relief=method, allow_short=allow_short)
    rows = [{str(k): v for k, v in r.items()} for r in fresh.fills.to_dict("records")
            if isinstance(r["exec_id"], str) and r["exec_id"]]
    ids = tuple(str(r["exec_id"]) for r in rows)
    applied = {**ledger.fills, **{i: fill_record(r) for i, r in zip(ids, rows, strict=True)}}
    write_atomically(after, out, applied, ids)
    notes = _notes(fresh.repeated, fresh.already_applied, fresh.without_id, ledger.note)
    last = last_fill_date(table) if "filled_at" in table and table["filled_at"].notna().any() \
        else None
    change = pd.DataFrame({"before": before.shares, "after": after.shares}).fillna(0.0)
    change["change"] = change["after"] - change["before"]
    change = change[change["change"] != 0]
    if as_json:
        print_json({"holdings": str(out), "fills_record": str(record_path(out)),
                    "last_rebalance": last, "cash_before_usd": before.cash_usd,
                    "cash_after_usd": after.cash_usd, "changes": change,
                    "applied": len(fresh.fills), "already_applied": fresh.already_applied,
                    "repeated_in_file": fresh.repeated, "notes": notes})
        return
    console.print(frame_table(change, f"Fills applied ({len(fresh.fills)} of {len(table)})",
                              {c: (lambda x: num(x, 4)) for c in change.columns},
                              index_name="ticker"))
    console.print(pairs_table([
        ("cash before → after (USD)", f"{usd(before.cash_usd)} → {usd(after.cash_usd)}"),
        ("new last-rebalance date", "unknown (no filled_at)" if last is None
         else str(last.date())),
        ("updated holdings", str(out)),
        ("record of applied executions", str(record_path(out))),
    ], title="Portfolio record"))
    for note in notes:
        console.print(f"note: {note}", highlight=False)


def _into_record(fills: Path, db: str | None, account: str, config: Path | None,
                 relief: Relieve, allow_short: bool, as_json: bool) -> None:
    """Apply a fills file to the record in one transaction and print what changed."""
    from driftwise.cli._inputs import load_cli_config, record_url
    from driftwise.record import describe, open_record, transaction
    from driftwise.record.fills import apply_record_fills

    url = record_url(db, load_cli_config(config))
    table = read_fills(fills)
    engine = open_record(url)
    done = transaction(engine, lambda c: apply_record_fills(
        c, account, table, relief=relief, allow_short=allow_short))
    tickers = sorted(set(done.before.positions) | set(done.after.positions))
    change = pd.DataFrame({
        "before": [float(done.before.positions.get(t, 0)) for t in tickers],
        "after": [float(done.after.positions.get(t, 0)) for t in tickers]}, index=tickers)
    change["change"] = change["after"] - change["before"]
    change = change[change["change"] != 0]
    notes = _notes(done.repeated, done.already_applied, 0, "")
    if done.unmatched_orders:
        notes.append(f"{len(done.unmatched_orders)} order id(s) of the file match no order "
                     f"of the record: {', '.join(done.unmatched_orders[:5])}")
    last = None if done.last_rebalance is None else str(done.last_rebalance)
    if as_json:
        print_json({"record": describe(url), "account": account, "applied": done.applied,
                    "already_applied": done.already_applied, "repeated_in_file": done.repeated,
                    "snapshot_id": done.snapshot_id, "last_rebalance": last,
                    "cash_before_usd": str(done.before.cash_usd),
                    "cash_after_usd": str(done.after.cash_usd), "changes": change,
                    "orders_filled": done.orders_filled,
                    "orders_partly_filled": done.orders_sent, "notes": notes})
        return
    console.print(frame_table(change, f"Fills applied ({done.applied} of {len(table)})",
                              {c: (lambda x: num(x, 4)) for c in change.columns},
                              index_name="ticker"))
    console.print(pairs_table([
        ("cash before → after (USD)",
         f"{usd(float(done.before.cash_usd))} → {usd(float(done.after.cash_usd))}"),
        ("last-rebalance date", last or "unknown"),
        ("orders filled / partly filled",
         f"{len(done.orders_filled)} / {len(done.orders_sent)}"),
        ("record", f"{describe(url)} (account {account})"),
    ], title="Portfolio record"))
    for note in notes:
        console.print(f"note: {note}", highlight=False)


def _notes(repeated: int, already: int, without_id: int, record_note: str) -> list[str]:
    """What was skipped and why, in words."""
    out = [record_note] if record_note else []
    if already:
        out.append(f"{already} fill(s) already applied (same exec_id): skipped")
    if repeated:
        out.append(f"{repeated} fill(s) repeat an exec_id of the same file: applied once")
    if without_id:
        out.append(f"{without_id} fill(s) without exec_id: applying this file again would "
                   "apply them again")
    return out
