"""``driftwise plan --all``: every account of a holdings file, one market read for all."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from driftwise.cli._inputs import load_cli_config, load_portfolio, record_url, with_sales
from driftwise.cli._output import console, frame_table, num, pct, print_json, usd
from driftwise.config.model import Config

if TYPE_CHECKING:
    from driftwise.data.accounts import AccountSpec


def plan_all(cfg: Config, *, holdings: Path, lots: Path | None, targets: Path | None,
             prices: Path | None, volumes: Path | None, master: Path | None,
             vix: Path | None, cost_file: Path | None, sales: Path | None,
             as_of: str | None, last_rebalance: str | None, accept_jump: list[str] | None,
             delayed_since: str | None, out: Path | None, fix: bool, record: bool,
             db: str | None, config: Path | None, as_json: bool, workers: int | None = 1,
             scheduler: str | None = None, accounts: Path | None = None) -> None:
    """Plan each account of ``holdings`` and print the summary (or JSON); with ``out``
    a folder per account, with ``record`` each plan stored under its account; ``workers``
    local processes (or the Dask ``scheduler``) plan the accounts."""
    from driftwise.app.batch import plan_accounts
    from driftwise.cli.plan import pending_days_option, record_plan, write_plan_files
    from driftwise.data.holdings import read_accounts

    books = read_accounts(holdings, lots=lots)
    # the shared inputs (market, master, costs, targets) read once, beside the first account
    inputs = load_portfolio(cfg, as_of=as_of, last_rebalance=last_rebalance,
                            accept_jump=accept_jump, account=next(iter(books)),
                            holdings=holdings, targets=targets, prices=prices,
                            volumes=volumes, master=master, vix=vix, lots=lots,
                            cost_file=cost_file)
    if sales is not None:
        inputs = with_sales(inputs, sales, as_of, accounts=books)
    pending = pending_days_option(delayed_since, inputs.market.prices.index, as_of)
    profiles = None if accounts is None else account_rows(accounts, books)
    by_account = inputs.sales is not None and bool(inputs.sales.frame["account"].notna().any())
    if profiles is not None or by_account:
        from driftwise.app.household import plan_book

        batch = plan_book(inputs, books, cfg, profiles=profiles or {}, as_of=as_of,
                          pending_days=pending, shared_targets=targets is not None,
                          workers=workers, scheduler=scheduler)
    else:
        batch = plan_accounts(inputs, books, cfg, as_of=as_of, pending_days=pending,
                              shared_targets=targets is not None, workers=workers,
                              scheduler=scheduler)
    written: dict[str, list[Path]] = {}
    if out is not None:
        for name, plan in batch.plans.items():
            written[name] = write_plan_files(plan, out / name, fix=fix)
    stored: dict[str, tuple[int, list[int]]] = {}
    if record or db is not None:
        files = {"holdings": holdings, "targets": targets, "prices": prices,
                 "volumes": volumes, "master": master, "vix": vix, "lots": lots,
                 "costs": cost_file, "sales": sales, "configuration": config}
        url = record_url(db, load_cli_config(config))
        for name, plan in batch.plans.items():
            stored[name] = record_plan(plan, url, name, files)
    summary = batch.summary()
    if as_json:
        print_json({"summary": summary.reset_index().to_dict("records"),
                    "accounts": {name: {**plan.to_dict(),
                                        **({"record": {"plan_id": stored[name][0],
                                                       "order_ids": stored[name][1]}}
                                           if name in stored else {})}
                                 for name, plan in batch.plans.items()}})
        return
    acting = int(summary["needs_action"].sum())
    shown = summary[["decision", "nav_usd", "drift", "te", "cost_usd", "cost_benefit_ratio",
                     "trades"]].rename(columns={"nav_usd": "NAV (USD)", "te": "TE",
                                                "cost_usd": "cost (USD)",
                                                "cost_benefit_ratio": "cost/benefit"})
    console.print(frame_table(shown, f"{acting} of {len(summary)} account(s) need action "
                              "(by drift, then cost-benefit)", {
                                  "NAV (USD)": usd, "drift": pct, "TE": pct,
                                  "cost (USD)": usd, "trades": lambda x: num(x, 0),
                                  "cost/benefit": _ratio}, index_name="account"))
    for name, (plan_id, ids) in stored.items():
        console.print(f"{name}: recorded as plan {plan_id} with {len(ids)} proposed order(s)",
                      highlight=False)
    if out is not None:
        console.print(f"wrote a folder per account to {out}")


def account_rows(path: Path, books: Mapping[str, object]) -> dict[str, AccountSpec]:
    """The rows of an accounts file by account, each naming an account of the holdings
    file.

    Raises
    ------
    DataError
        An account the holdings file does not have, or a model (on files every account
        follows ``--targets``; models live in the record), naming file, row and field.
    """
    from driftwise.data.accounts import read_account_file
    from driftwise.errors import DataError

    found = read_account_file(path)
    for line, spec in zip(found.lines, found.rows, strict=True):
        if spec.account not in books:
            raise DataError(f"account {spec.account!r} is not in the holdings file",
                            file=found.source, row=line, field="account",
                            expected="an account of the holdings file: "
                            + ", ".join(books), found=spec.account)
        if spec.model is not None:
            raise DataError("plan --all on files plans every account against --targets",
                            file=found.source, row=line, field="model",
                            expected="no model (import the accounts file into the record "
                            "with driftwise import --accounts for model portfolios)",
                            found=spec.model)
    return {spec.account: spec for spec in found.rows}


def _ratio(x: object) -> str:
    value = float(x)  # type: ignore[arg-type]
    return "inf" if not math.isfinite(value) else f"{value:.3f}"
