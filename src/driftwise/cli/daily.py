"""``driftwise daily``: plan every account of the record and show what needs action."""

from __future__ import annotations

from typing import Annotated

import typer

from driftwise.cli._inputs import date_option, load_cli_config, record_url
from driftwise.cli._options import ConfigOption, DbOption
from driftwise.cli._output import console, err_console, pct, print_json, usd


def register(app: typer.Typer) -> None:
    """Add ``daily`` to ``app``."""
    app.command("daily")(daily_command)


def daily_command(
    as_of: Annotated[str | None, date_option(
        "The session to plan (YYYY-MM-DD); default: the last price date in the record.")
    ] = None,
    account: Annotated[list[str] | None, typer.Option(
        "--account", help="Plan only this account (repeatable); default: every account.",
        show_default=False)] = None,
    show_all: Annotated[bool, typer.Option(
        "--all", help="List every account, not only those that need action.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Plan every account of the record on one day, from the record alone, and show what
    needs action.

    Each account is marked to market and planned with its last rebalance and any stress
    delay still running; a new target version, a held ticker without a price or stale
    costs invalidate the open plan (its orders cancelled, the event logged). Each plan is
    stored with its orders (proposed; see driftwise approve), one transaction per account.
    An account already planned on the day is left as it is.
    """
    import datetime as dt

    from rich.progress import Progress

    from driftwise.app.daily import run_daily
    from driftwise.record import describe, open_record

    cfg = load_cli_config(config)
    engine = open_record(record_url(db, cfg))
    day = None if as_of is None else dt.date.fromisoformat(as_of)
    with engine.connect() as connection:
        import sqlalchemy as sa

        from driftwise.record.schema import accounts

        total = len(account) if account else connection.execute(
            sa.select(sa.func.count()).select_from(accounts)).scalar_one()
    with Progress(console=err_console, transient=True,
                  disable=as_json or total < 5) as bar:
        task = bar.add_task("planning accounts", total=total)
        run = run_daily(engine, cfg, day, names=account or None,
                        progress=lambda _name: bar.advance(task))
    if as_json:
        print_json({"record": describe(str(engine.url)), "as_of": str(run.as_of),
                    "accounts": [_plain(a) for a in run.accounts]})
        return
    _show(run, show_all, describe(str(engine.url)))


def _plain(a: object) -> dict[str, object]:
    import dataclasses

    out = dataclasses.asdict(a)  # type: ignore[call-overload]
    out["needs_action"] = a.needs_action  # type: ignore[attr-defined]
    return {k: (str(v) if hasattr(v, "isoformat") else v) for k, v in out.items()}


def _show(run: object, show_all: bool, where: str) -> None:
    from rich.table import Table

    from driftwise.app.daily import DailyRun

    assert isinstance(run, DailyRun)
    shown = [a for a in run.accounts if show_all or a.needs_action]
    table = Table(title=f"driftwise daily {run.as_of} ({where}): {len(shown)} of "
                  f"{len(run.accounts)} account(s)"
                  + ("" if show_all else " need action"), title_justify="left",
                  header_style="bold")
    for name in ("account", "decision", "drift", "TE", "cost (USD)", "cost/benefit",
                 "orders", "plan", "events"):
        table.add_column(name, justify="right" if name in ("drift", "TE", "cost (USD)",
                                                            "cost/benefit", "orders",
                                                            "plan") else "left")
    for a in shown:
        m = a.metrics
        decision = a.decision + (f" until {a.delay_until}" if a.delay_until else "")
        if a.delayed_since:
            decision += f" (delayed since {a.delayed_since})"
        ratio = m.get("cost_benefit_ratio")
        table.add_row(a.account, decision, pct(m.get("drift")), pct(m.get("te")),
                      usd(m.get("cost_usd")), "inf" if ratio is None else f"{ratio:.3f}",
                      str(a.orders), str(a.plan_id) + (" (earlier)" if a.already else ""),
                      "; ".join(a.events) or "")
    console.print(table)
    cancelled = sum(len(a.cancelled) for a in run.accounts)
    if cancelled:
        console.print(f"{cancelled} earlier order(s) cancelled (invalidated or superseded)")
    if not shown:
        console.print("nothing needs action today")
