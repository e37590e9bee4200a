"""``driftwise plan`` and ``driftwise config init``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from driftwise._atomic import atomic_path, write_text
from driftwise.app.plan import Decision, Plan, make_plan
from driftwise.cli._inputs import (
    InputOptions,
    SchedulerOption,
    load_cli_config,
    load_portfolio,
    record_url,
    with_sales,
)
from driftwise.cli._options import DEFAULT_ACCOUNT, ConfigOption, DbOption
from driftwise.cli._output import (
    console,
    frame_table,
    notices_table,
    num,
    pairs_table,
    pct,
    print_json,
    to_jsonable,
    usd,
)
from driftwise.config import write_default_config

config_app = typer.Typer(help="Configuration files.", no_args_is_help=True)

STYLE = {Decision.REBALANCE: "bold green", Decision.PARTIAL: "bold green",
         Decision.DELAY: "bold yellow", Decision.SKIP: "bold", Decision.INVALID: "bold red"}


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``config init`` to ``app``."""
    app.command("plan")(plan_command)
    config_app.command("init")(config_init)
    app.add_typer(config_app, name="config")


def plan_command(
    holdings: InputOptions.holdings = None,
    targets: InputOptions.targets = None,
    prices: InputOptions.prices = None,
    volumes: InputOptions.volumes = None,
    master: InputOptions.master = None,
    vix: InputOptions.vix = None,
    lots: InputOptions.lots = None,
    sales: InputOptions.sales = None,
    as_of: InputOptions.as_of = None,
    last_rebalance: InputOptions.last_rebalance = None,
    cost_file: InputOptions.cost_file = None,
    accept_jump: InputOptions.accept_jump = None,
    config: ConfigOption = None,
    out: Annotated[Path | None, typer.Option(
        help="Write plan.json, trades.csv, schedule.csv, orders.csv and orders.json here.",
        file_okay=False)] = None,
    fix: Annotated[bool, typer.Option(
        "--fix", help="Also write orders.fix (FIX 4.4 NewOrderSingle) into --out.")] = False,
    report: Annotated[Path | None, typer.Option(
        help="Write a self-contained HTML report: the plan and the backtest evidence for "
        "the methodology's rules (opens with no network).",
        dir_okay=False)] = None,
    delayed_since: Annotated[str | None, typer.Option(
        help="Date (YYYY-MM-DD) of the first plan that delayed the rebalance in stress, when "
        "that delay is still pending: the plan counts the trading days waited and rebalances "
        "once the stress delay is over or used up.", show_default=False)] = None,
    donate_usd: Annotated[float, typer.Option(
        help="Give this many USD first, in appreciated long-term lots of overweight assets "
        "(the most appreciated first; the rest from cash); the plan shows the tax avoided "
        "and plans what is left.", min=0.0)] = 0.0,
    record: Annotated[bool, typer.Option(
        "--record", help="Store the plan, its reasons, its inputs' fingerprints, the "
        "configuration and its orders (proposed; see driftwise approve) in the portfolio "
        "record.")] = False,
    db: DbOption = None,
    account: Annotated[str | None, typer.Option(
        "--account", help="The account to plan from a holdings file naming several (its "
        "account column), and the record's account (default main).",
        show_default=False)] = None,
    every: Annotated[bool, typer.Option(
        "--all", help="Plan every account of the holdings file, one market read for "
        "all: a summary of who needs action, by drift then cost-benefit (--out: a folder "
        "per account; --record: each stored under its account).")] = False,
    workers: Annotated[int | None, typer.Option(
        help="With --all: processes to plan the accounts on (a local Dask cluster; "
        "default cluster.workers, else 1: this process). The plans do not depend on it.",
        min=1, show_default=False)] = None,
    scheduler: SchedulerOption = None,
    accounts_file: Annotated[Path | None, typer.Option(
        "--accounts", help="With --all: an accounts file (account, tax_status, "
        "cash_target_weight, do_not_buy, do_not_sell, household): each account planned "
        "with its tax status, restrictions and cash target.", dir_okay=False,
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Today's decision for one portfolio: rebalance, partial, delay, skip or invalid.

    Shows every reason, the quality checks, the trade list with its cost split and the
    execution schedule. With no input files it plans the embedded sample. A holdings file
    naming several accounts needs --account ID (one) or --all (each).
    """
    cfg = load_cli_config(config)
    if not every and (workers is not None or scheduler is not None
                      or accounts_file is not None):
        raise typer.BadParameter("--workers, --scheduler and --accounts plan many "
                                 "accounts: they go with --all", param_hint="--workers")
    if every:
        from driftwise.cli.plan_all import plan_all

        if account is not None or report is not None or donate_usd > 0:
            raise typer.BadParameter("--all plans every account: leave out --account, "
                                     "--report and --donate-usd", param_hint="--all")
        if holdings is None:
            raise typer.BadParameter("--all needs --holdings (a file with an account "
                                     "column)", param_hint="--all")
        plan_all(cfg, holdings=holdings, lots=lots, targets=targets, prices=prices,
                 volumes=volumes, master=master, vix=vix, cost_file=cost_file,
                 sales=sales, as_of=as_of, last_rebalance=last_rebalance,
                 accept_jump=accept_jump, delayed_since=delayed_since, out=out, fix=fix,
                 record=record, db=db, config=config, as_json=as_json,
                 workers=workers if workers is not None else cfg.cluster.workers or 1,
                 scheduler=scheduler if scheduler is not None else cfg.cluster.scheduler,
                 accounts=accounts_file)
        return
    inputs = load_portfolio(cfg, as_of=as_of, last_rebalance=last_rebalance,
                            accept_jump=accept_jump, account=account, holdings=holdings,
                            targets=targets, prices=prices, volumes=volumes, master=master,
                            vix=vix, lots=lots, cost_file=cost_file)
    if sales is not None:
        inputs = with_sales(inputs, sales, as_of)
    pending = pending_days_option(delayed_since, inputs.market.prices.index, as_of)
    plan = make_plan(inputs, cfg, as_of=as_of, pending_days=pending, donate_usd=donate_usd)
    if out is not None:
        written = write_plan_files(plan, out, fix=fix)
    stored = None
    if record or db is not None:
        files = {"holdings": holdings, "targets": targets, "prices": prices,
                 "volumes": volumes, "master": master, "vix": vix, "lots": lots,
                 "costs": cost_file, "sales": sales, "configuration": config}
        stored = record_plan(plan, record_url(db, cfg), account or DEFAULT_ACCOUNT, files)
    if report is not None:
        from driftwise.cli.report import write_full_report  # the report's stack, when asked

        write_full_report(report, inputs, cfg, plan)
    if as_json:
        print_json(plan.to_dict() if stored is None else
                   {**plan.to_dict(), "record": {"plan_id": stored[0], "order_ids": stored[1]}})
    else:
        show(plan)
        if stored is not None:
            console.print(f"recorded as plan {stored[0]} with {len(stored[1])} proposed "
                          f"order(s): approve with driftwise approve --plan {stored[0]}",
                          highlight=False)
        if plan.decision is Decision.DELAY:
            first = delayed_since or str(plan.as_of.date())
            console.print(f"until then, run the plan with --delayed-since {first}",
                          highlight=False)
        if out is not None:
            console.print(f"wrote {', '.join(p.name for p in written)} to {out}")
        if report is not None:
            console.print(f"report: {report.resolve()}")


def pending_days_option(delayed_since: str | None, sessions: pd.Index, as_of: str | None) -> float:
    """Trading days a pending stress delay has waited (NaN: none pending).

    Counted as the backtest counts them: the sessions after the first delayed day, up to
    and including the as-of date (default: the last price date).
    """
    if delayed_since is None:
        return float("nan")
    bad = typer.BadParameter(f"not a date: {delayed_since!r} (expected YYYY-MM-DD)",
                             param_hint="--delayed-since")
    try:
        start = pd.Timestamp(delayed_since)
        end = pd.Timestamp(as_of) if as_of else pd.Timestamp(sessions[-1])
    except (ValueError, TypeError):
        raise bad from None
    if pd.isna(start) or pd.isna(end):
        raise bad
    start, end = start.normalize(), end.normalize()
    if start > end:
        raise typer.BadParameter(f"{start.date()} is after the as-of date {end.date()}",
                                 param_hint="--delayed-since")
    index = pd.DatetimeIndex(sessions)
    return float(((index > start) & (index <= end)).sum())


PLAN_FILES = ("plan.json", "trades.csv", "schedule.csv", "orders.csv", "orders.json",
              "orders.fix")
"""Every file ``plan --out`` may write."""


def write_plan_files(plan: Plan, folder: Path, *, fix: bool = False) -> list[Path]:
    """Write the plan's files into ``folder`` and return their paths.

    The files of an earlier run that this run does not write (the orders of a rebalance
    when this run skips) are removed first, so the folder never shows a new decision
    beside old orders; each file is written atomically, ``plan.json`` last.
    """
    from driftwise.execution.orders import (
        orders_frame,
        write_orders_csv,
        write_orders_fix,
        write_orders_json,
    )

    folder.mkdir(parents=True, exist_ok=True)
    wanted = {"plan.json", "trades.csv"}
    if plan.schedule is not None:
        wanted |= {"schedule.csv", "orders.csv", "orders.json"} | ({"orders.fix"} if fix
                                                                   else set())
    for name in PLAN_FILES:
        if name not in wanted:
            (folder / name).unlink(missing_ok=True)
    trades = folder / "trades.csv"
    with atomic_path(trades) as temp:
        plan.trades.to_csv(temp)
    paths = [trades]
    if plan.schedule is not None:
        schedule = folder / "schedule.csv"
        with atomic_path(schedule) as temp:
            plan.schedule.child_orders.to_csv(temp, index=False)
        orders = orders_frame(plan.schedule)
        paths += [schedule, write_orders_csv(folder / "orders.csv", orders),
                  write_orders_json(folder / "orders.json", orders)]
        if fix:
            paths.append(write_orders_fix(folder / "orders.fix", orders, sender="DRIFTWISE",
                                          target="BROKER", sending_time=pd.Timestamp.now("UTC")))
    paths.insert(0, write_text(folder / "plan.json",
                               json.dumps(to_jsonable(plan.to_dict()), indent=2) + "\n"))
    return paths


def record_plan(plan: Plan, url: str, account: str, files: dict[str, Path | None]
                ) -> tuple[int, list[int]]:
    """Store ``plan`` and its orders (proposed) in the record; return the plan and order ids.

    The fingerprint of each input is the SHA-256 of its file (``embedded sample`` for
    the parts the sample provides).
    """
    from driftwise.execution.ledger import file_sha256
    from driftwise.execution.orders import orders_frame
    from driftwise.record import open_record, transaction
    from driftwise.record.holdings import account_id
    from driftwise.record.orders import PlanRecord, store_plan

    prints = {k: (file_sha256(p) or "missing") if p is not None else "embedded sample"
              for k, p in files.items() if k != "configuration" or p is not None}
    saved = PlanRecord(
        as_of=plan.as_of.date(), decision=plan.decision.value,
        delay_until=None if plan.delay_until is None else plan.delay_until.date(),
        rule=plan.rule, reasons=plan.reasons, fingerprints=prints,
        configuration=plan.config_toml, nav_usd=plan.nav_usd)
    from driftwise.app.daily import with_losses

    order_rows = (with_losses(orders_frame(plan.schedule), plan.trades)
                  if plan.schedule is not None
                  else pd.DataFrame(columns=["order_id", "ticker", "side", "shares",
                                             "order_type", "limit_price_usd"]))
    engine = open_record(url)
    return transaction(engine, lambda c: store_plan(
        c, account_id(c, account, create=True, lock=True), saved, order_rows))


def show(plan: Plan) -> None:
    """Print the plan as rich tables."""
    title = plan.decision.value.upper()
    if plan.delay_until is not None:
        title += f" until {plan.delay_until.date()}"
    console.print(f"[{STYLE[plan.decision]}]Decision on {plan.as_of.date()}: {title}[/]  "
                  f"(rule: {plan.rule})")
    for reason in plan.reasons:
        console.print(f"  • {reason}", highlight=False)
    b, a = plan.before, plan.after
    console.print(pairs_table([
        ("NAV (USD)", usd(plan.nav_usd)),
        ("portfolio drift", f"{pct(b['drift'])} → {pct(a['drift'])}"),
        ("tracking error (annual)", f"{pct(b['te'])} → {pct(a['te'])}"),
        ("cost of the trades", f"{num(a['cost_bps'], 2)} bps of NAV ({usd(a['cost_usd'])} USD)"),
        *([("borrow of shorts opened (over H)",
            f"{num(a['borrow_bps'], 2)} bps of NAV ({usd(a['borrow_usd'])} USD)")]
          if a.get("borrow_usd", 0.0) > 0 else []),
        ("benefit (γ/2·ΔTE²·H/252)", f"{num(a['benefit_bps'], 2)} bps of NAV"),
        ("cost-benefit ratio (utility form / cost ÷ ΔTE)",
         f"{num(a['cost_benefit_ratio'], 3)} / {num(a['cost_te_ratio'], 4)}"),
        ("turnover (one-way)", pct(a["turnover"])),
        ("VIX", f"{num(b['vix'], 1)} ({['calm', 'elevated', 'stress'][int(b['regime'])]})"
         if b["vix"] == b["vix"] else "none (base regime assumed; see flags)"),
    ], title="Before → after"))
    console.print(pairs_table([(("✓ " if c.ok else "✗ ") + c.name, c.detail)
                               for c in plan.checks], title="Quality checks"))
    if len(plan.trades):
        labels = {"side": "side", "shares": "shares", "trade_usd": "USD",
                  "spread_usd": "spread $", "commission_usd": "comm. $", "impact_usd": "impact $",
                  "tax_usd": "tax $", "cost_usd": "cost $", "cost_bps": "cost bps",
                  "liquidity_days": "liq. days", "lots": "lots"}
        if (plan.trades["borrow_usd"] > 0).any():
            labels = {**labels, "borrow_usd": "borrow $ (H)"}
        shown = plan.trades[list(labels)].rename(columns=labels)
        money = {k: _cents for k in ("spread $", "comm. $", "impact $", "tax $", "cost $",
                                     "borrow $ (H)")}
        console.print(frame_table(shown, "Trade list (sells first; flags below)", {
            "shares": lambda x: num(x, 0), "USD": usd, **money,
            "cost bps": lambda x: num(x, 1), "liq. days": lambda x: num(x, 3)},
            index_name="ticker"))
    if plan.schedule is not None:
        summary = plan.schedule.summary.set_index("ticker")
        keep = [c for c in ("style", "days", "n_children", "expected_cost_usd", "risk_usd",
                            "ac_cost_usd", "ac_risk_usd", "flags") if c in summary.columns]
        console.print(frame_table(summary[keep], "Execution schedule (expected impact cost and "
                                  "risk in USD; Almgren–Chriss optimum beside)", {
                                      "expected_cost_usd": _cents, "risk_usd": usd,
                                      "ac_cost_usd": _cents, "ac_risk_usd": usd},
                                  index_name="ticker"))
    if plan.donation is not None and len(plan.donation):
        console.print(frame_table(plan.donation.set_index("ticker"), "Donation (lots given)", {
            "shares": lambda x: num(x, 0), "value_usd": usd, "gain_usd": usd,
            "tax_avoided_usd": usd}, index_name="ticker"))
    if plan.harvest is not None and len(plan.harvest):
        show_harvest(plan.harvest)
    if plan.notices:
        console.print(notices_table(plan.notices))


def show_harvest(table: pd.DataFrame) -> None:
    """The loss-harvest candidates: loss, deferral and rate arbitrage side by side."""
    shown = table.set_index("ticker")[["lot", "term", "loss_usd", "loss_fraction",
                                       "deferral_usd", "arbitrage_usd", "harvest_value_usd",
                                       "replacement", "note"]]
    console.print(frame_table(shown, "Loss harvest candidates (USD; value = deferral + rate "
                              "arbitrage, not loss × rate)", {
                                  "loss_usd": usd, "loss_fraction": pct, "deferral_usd": usd,
                                  "arbitrage_usd": usd, "harvest_value_usd": usd},
                              index_name="ticker"))


def _cents(x: object) -> str:
    return num(x, 2)


def config_init(
    path: Annotated[Path, typer.Argument(help="Where to write the file.")] = Path("driftwise.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented default configuration (every field, its default and units)."""
    written = write_default_config(path, overwrite=force)
    console.print(f"wrote {written}")
