"""``driftwise daily``: plan every account of the record and show what needs action;
``driftwise review weekly|monthly|quarterly``: the reviews from the recorded history."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from driftwise.cli._inputs import SchedulerOption, date_option, load_cli_config, record_url
from driftwise.cli._options import DEFAULT_ACCOUNT, AccountOption, ConfigOption, DbOption
from driftwise.cli._output import console, err_console, num, pairs_table, pct, print_json, usd


def register(app: typer.Typer) -> None:
    """Add ``daily`` and ``review`` to ``app``."""
    app.command("daily")(daily_command)
    app.command("review")(review_command)


def daily_command(
    as_of: Annotated[str | None, date_option(
        "The session to plan (YYYY-MM-DD); default: the last price date in the record.")
    ] = None,
    account: Annotated[list[str] | None, typer.Option(
        "--account", help="Plan only this account (repeatable); default: every account.",
        show_default=False)] = None,
    show_all: Annotated[bool, typer.Option(
        "--all", help="List every account, not only those that need action.")] = False,
    schedule: Annotated[bool, typer.Option(
        "--schedule", help="Store each plan's execution schedule (child orders) instead of "
        "one parent order per ticker.")] = False,
    workers: Annotated[int | None, typer.Option(
        help="Processes to plan the accounts on (a local Dask cluster; default "
        "cluster.workers, else 1: this process). The plans do not depend on it.", min=1,
        show_default=False)] = None,
    scheduler: SchedulerOption = None,
    dashboard: Annotated[Path | None, typer.Option(
        "--dashboard", help="Then write the accounts dashboard (as driftwise dashboard "
        "--out PATH --as-of DAY) to this HTML file.", dir_okay=False,
        show_default=False)] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Plan every account of the record on one day, from the record alone, and show what
    needs action, sorted by drift and cost-benefit.

    Each account is marked to market and planned with its last rebalance and any stress
    delay still running; a new target version, a held ticker without a price or stale
    costs invalidate the open plan (its orders cancelled, the event logged). Each plan is
    stored with its orders (proposed; see driftwise approve): one parent order per ticker,
    or the child orders of its execution schedule with --schedule. An account already
    planned on the day is left as it is.
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
                        progress=lambda _name: bar.advance(task), schedule=schedule,
                        workers=workers if workers is not None else cfg.cluster.workers or 1,
                        scheduler=scheduler if scheduler is not None
                        else cfg.cluster.scheduler)
    written = None
    if dashboard is not None:
        from driftwise.record.book_view import read_book
        from driftwise.report.dashboard import write_dashboard

        with engine.connect() as connection:
            written = write_dashboard(dashboard, read_book(connection, run.as_of))
    if as_json:
        print_json({"record": describe(str(engine.url)), "as_of": str(run.as_of),
                    "accounts": [_plain(a) for a in run.accounts],
                    **({"dashboard": str(written)} if written is not None else {})})
        return
    _show(run, show_all, describe(str(engine.url)))
    if written is not None:
        console.print(f"Wrote the dashboard to {written}", highlight=False)


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
    from driftwise.app.household import MARK

    for a in run.accounts:  # the household's wash-sale rule, whatever the listing shows
        for reason in a.reasons:
            if MARK in reason:
                console.print(f"{a.account}: {reason}", highlight=False, soft_wrap=True)
    cancelled = sum(len(a.cancelled) for a in run.accounts)
    if cancelled:
        console.print(f"{cancelled} earlier order(s) cancelled (invalidated or superseded)")
    if not shown:
        console.print("nothing needs action today")


class Period(StrEnum):
    """The reviews."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


def review_command(
    period: Annotated[Period, typer.Argument(help="weekly, monthly or quarterly.")],
    as_of: Annotated[str | None, date_option(
        "The review's last day (YYYY-MM-DD); default: the last price date in the record.")
    ] = None,
    account: AccountOption = DEFAULT_ACCOUNT,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Review an account from the history driftwise daily recorded.

    weekly: the drift trend and the sessions until the threshold at that pace; monthly:
    the realized tracking error against the target, the costs and the Sharpe ratio beside
    the target's; quarterly: the target version re-checked and the threshold against the
    empirical optimum of a sweep on the recorded prices.
    """
    import dataclasses
    import datetime as dt

    from driftwise.app import review
    from driftwise.app.daily import last_session
    from driftwise.record import open_record
    from driftwise.record.holdings import account_id

    cfg = load_cli_config(config)
    engine = open_record(record_url(db, cfg))
    with engine.connect() as connection:
        day = dt.date.fromisoformat(as_of) if as_of else last_session(connection)
        owner = account_id(connection, account)
        found: review.WeeklyReview | review.MonthlyReview | review.QuarterlyReview
        if period is Period.WEEKLY:
            found = review.weekly_review(connection, owner, day, cfg)
        elif period is Period.MONTHLY:
            found = review.monthly_review(connection, owner, day, cfg)
        else:
            found = review.quarterly_review(connection, owner, day, cfg)
    if as_json:
        out = dataclasses.asdict(found)
        if isinstance(found, review.QuarterlyReview):
            out["sweep"] = found.sweep.to_dict("records")
        print_json(out)
        return
    title = f"{period.value.capitalize()} review of account {account}, {day}"
    if isinstance(found, review.WeeklyReview):
        rows = [(str(d), pct(x)) for d, x in zip(found.sessions, found.drift, strict=True)]
        rows += [("trend per session", pct(found.trend_per_session, 3)),
                 ("threshold", pct(found.threshold)),
                 ("sessions to breach at the trend", num(found.days_to_breach, 1))]
    elif isinstance(found, review.MonthlyReview):
        rows = [("sessions", f"{found.sessions[0]} to {found.sessions[-1]} "
                 f"({len(found.sessions)})"),
                ("realized TE (annual)", pct(found.te_realized_annual)),
                ("ex-ante TE of the plans (mean)", pct(found.te_expected_annual)),
                ("return (annualized) / target's", f"{pct(found.return_annual)} / "
                 f"{pct(found.target_return_annual)}"),
                ("Sharpe / target's", f"{num(found.sharpe, 2)} / {num(found.target_sharpe, 2)}"),
                ("rebalances filled", str(found.rebalances)),
                ("expected trading cost (USD)", usd(found.expected_cost_usd)),
                ("fees (USD)", usd(found.fees_usd)),
                ("costs, bps of mean NAV", num(found.cost_bps, 2)),
                *(("note", n) for n in found.notes)]
    else:
        assert isinstance(found, review.QuarterlyReview)
        rows = [(("✓ " if ok else "✗ ") + name, detail)
                for name, ok, detail in found.target_checks]
        rows += [(f"threshold {pct(r.threshold)}",
                  f"TE {pct(r.te_annual)}, cost {pct(r.cost_per_year, 3)}/year, objective "
                  f"{num(r.objective_value, 6)}") for r in found.sweep.itertuples()]
        rows += [("sweep window", f"{found.window[0]} to {found.window[1]}"),
                 ("threshold now / empirical optimum",
                  f"{pct(found.threshold)} / {pct(found.optimal_threshold)}"
                  + (" (at the grid's edge)" if found.at_grid_edge else "")),
                 (f"not told apart from the optimum (95%, G = {found.n_years} years)",
                  ", ".join(pct(h) for h in found.not_told_apart) or "-"),
                 ("the optimum rests on", found.basis)]
    console.print(pairs_table(rows, title=title))
