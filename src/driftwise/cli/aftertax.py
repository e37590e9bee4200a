"""``driftwise backtest --after-tax``: the rule after tax against itself without."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from driftwise.app.aftertax import (
    AfterTaxComparison,
    after_tax_compare,
    after_tax_sweep,
    harvest_schedule,
    with_tax,
)
from driftwise.app.sweep import progress_bar, write_table
from driftwise.cli._output import (
    console,
    frame_table,
    notices_table,
    num,
    pct,
    print_json,
    usd,
)
from driftwise.config import Config
from driftwise.data.market import cash_rate_notices
from driftwise.data.model import Inputs
from driftwise.report import write_report


def resolve(flag: bool | None, config: Config, *, tax_options: dict[str, bool],
            pre_tax_options: dict[str, bool]) -> bool:
    """Whether ``driftwise backtest`` runs after tax: ``--after-tax`` / ``--no-after-tax``
    when given, else ``tax.enabled``. The options given (True in the dicts) of the mode
    not run are refused, naming what chose the mode and the switch to the other."""
    after = config.tax.enabled if flag is None else flag
    why = (f"tax.enabled = {str(config.tax.enabled).lower()}" if flag is None
           else "--after-tax" if flag else "--no-after-tax")
    given = [name for name, on in (pre_tax_options if after else tax_options).items() if on]
    if given and after:
        raise typer.BadParameter(
            f"{', '.join(given)}: {_are(given)} of the comparison of rules before tax, and "
            f"this backtest runs the configuration's rule after tax ({why}); add "
            "--no-after-tax for the comparison before tax" + (
                "" if not {"--workers", "--scheduler"} & set(given) else
                " (--workers and --scheduler share the runs of an after-tax sweep: "
                "--tax-relief, --harvest-threshold)"))
    if given:
        raise typer.BadParameter(
            f"{', '.join(given)}: {_are(given)} of the after-tax backtest, which is off "
            f"({why}): add --after-tax")
    return after


def _are(names: list[str]) -> str:
    return "a setting" if len(names) == 1 else "settings"


def harvest_source(config: Config, harvest_every: str | None) -> str:
    """What chose the harvest schedule, in words."""
    if harvest_every is not None:
        return "--harvest-every"
    return f"tax.harvest_in_trades = {str(config.tax.harvest_in_trades).lower()}"


def run(inputs: Inputs, config: Config, first: pd.Timestamp, last: pd.Timestamp, *,
        harvest_every: str | None, samples: int, as_json: bool, table: Path | None,
        report: Path | None, swap_back: bool = False) -> None:
    """Run, write the table and report asked for, print (or print JSON)."""
    b = config.backtest
    result = after_tax_compare(inputs, config, start=first, end=last,
                               harvest_every=harvest_every, swap_back=swap_back,
                               samples=samples, block=b.bootstrap_block_days, seed=b.seed)
    if table is not None:
        write_table(result.metrics.reset_index(), table)
    if report is not None:
        write_report(report, after_tax=result)
    flags = cash_rate_notices(inputs.market, first, last, earns=b.cash_earns_risk_free)
    if as_json:
        print_json({**result.to_dict(), "flags": list(flags)})
        return
    show(result, harvest_source(config, harvest_every))
    if flags:
        console.print(notices_table(flags))
    for label, path in (("table", table), ("report", report)):
        if path is not None:
            console.print(f"{label}: {path.resolve()}")


def show(result: AfterTaxComparison, source: str) -> None:
    """Print the after-tax comparison (``source``: what chose the harvest schedule)."""
    m = result.metrics
    dates = result.aware.dates
    console.print(f"[bold]After-tax backtest {dates[0].date()} .. {dates[-1].date()}[/] "
                  f"({len(dates)} trading days; harvest every {result.harvest_every} "
                  f"({source}); taxes paid "
                  "from cash at each year's end; every remaining gain taxed long-term at "
                  "the end)")
    shown = pd.DataFrame({
        "after-tax return": [pct(x) for x in m["after_tax_return_annual"]],
        "pre-tax return": [pct(x) for x in m["pre_tax_return_annual"]],
        "liquidation value": [usd(x) for x in m["liquidation_value_usd"]],
        "taxes paid": [usd(x) for x in m["taxes_paid_usd"]],
        "of which at the end": [usd(x) for x in m["liquidation_tax_usd"]],
        "losses harvested": [usd(x) for x in m["harvested_loss_usd"]],
        "losses washed": [usd(x) for x in m["disallowed_usd"]],
        "rebalances": [num(x, 0) for x in m["n_rebalances"]],
        "tracking error": [pct(x) for x in m["te_annual"]],
    }, index=pd.Index(m.index, name="rule"))
    console.print(frame_table(shown, "The rule with and without tax awareness"))
    console.print(f"tax alpha {pct(result.tax_alpha)} a year, 95% block-bootstrap interval "
                  f"[{pct(result.tax_alpha_low)}, {pct(result.tax_alpha_high)}]",
                  markup=False)


def run_sweep(inputs: Inputs, config: Config, first: pd.Timestamp, last: pd.Timestamp, *,
              relief: list[str], thresholds: list[float], harvest_every: str | None,
              swap_back: bool, samples: int, as_json: bool, table: Path | None,
              workers: int | None, scheduler: str | None) -> None:
    """The configuration under every combination of ``relief`` and ``thresholds`` (each
    list empty: the configuration's own value), as one batch; print the table (or JSON)."""
    b = config.backtest
    reliefs: list[object] = list(relief) or [config.tax.lot_relief.value]
    levels: list[object] = list(thresholds) or [config.tax.harvest_loss_threshold]
    members = [with_tax(config, lot_relief=r, harvest_loss_threshold=h)
               for r in reliefs for h in levels]
    with progress_bar("after-tax sweep", enabled=not as_json) as progress:
        frame = after_tax_sweep(inputs, members, start=first, end=last,
                                harvest_every=harvest_every, swap_back=swap_back,
                                samples=samples, block=b.bootstrap_block_days, seed=b.seed,
                                workers=workers, scheduler=scheduler, progress=progress)
    if table is not None:
        write_table(frame, table)
    if as_json:
        print_json({"start": first, "end": last,
                    "harvest_every": harvest_schedule(config, harvest_every),
                    "rows": frame.to_dict(orient="records")})
        return
    console.print(f"[bold]After-tax sweep {first.date()} .. {last.date()}[/] "
                  f"({len(members)} tax settings; harvest every "
                  f"{harvest_schedule(config, harvest_every)} "
                  f"({harvest_source(config, harvest_every)}); each row "
                  "against the same rule without tax awareness)")
    shown = pd.DataFrame({
        "relief": frame["lot_relief"],
        "harvest threshold": [pct(x, 0) for x in frame["harvest_loss_threshold"]],
        "after-tax return": [pct(x) for x in frame["aware_after_tax_return_annual"]],
        "without tax awareness": [pct(x) for x in frame["unaware_after_tax_return_annual"]],
        "taxes paid": [usd(x) for x in frame["aware_taxes_paid_usd"]],
        "losses harvested": [usd(x) for x in frame["aware_harvested_loss_usd"]],
        "tax alpha": [pct(x) for x in frame["tax_alpha"]],
        "95% interval": [f"[{pct(lo)}, {pct(hi)}]" for lo, hi in
                         zip(frame["tax_alpha_low"], frame["tax_alpha_high"], strict=True)],
    })
    console.print(frame_table(shown, "Tax settings, each with its tax alpha"))
    if table is not None:
        console.print(f"table: {table.resolve()}")
