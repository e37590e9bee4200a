"""``driftwise backtest --after-tax``: the rule after tax against itself without."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from driftwise.app.aftertax import (
    AfterTaxComparison,
    after_tax_compare,
    after_tax_sweep,
    with_tax,
)
from driftwise.app.sweep import progress_bar, write_table
from driftwise.cli._output import console, frame_table, num, pct, print_json, usd
from driftwise.config import Config
from driftwise.data.model import Inputs
from driftwise.report import write_report


def run(inputs: Inputs, config: Config, first: pd.Timestamp, last: pd.Timestamp, *,
        harvest_every: str, samples: int, as_json: bool, table: Path | None,
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
    if as_json:
        print_json(result.to_dict())
        return
    show(result, harvest_every)
    for label, path in (("table", table), ("report", report)):
        if path is not None:
            console.print(f"{label}: {path.resolve()}")


def show(result: AfterTaxComparison, harvest_every: str) -> None:
    """Print the after-tax comparison."""
    m = result.metrics
    dates = result.aware.dates
    console.print(f"[bold]After-tax backtest {dates[0].date()} .. {dates[-1].date()}[/] "
                  f"({len(dates)} trading days; harvest every {harvest_every}; taxes paid "
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
    }, index=pd.Index(m.index, name="rule"))
    console.print(frame_table(shown, "The rule with and without tax awareness"))
    console.print(f"tax alpha {pct(result.tax_alpha)} a year, 95% block-bootstrap interval "
                  f"[{pct(result.tax_alpha_low)}, {pct(result.tax_alpha_high)}]",
                  markup=False)


def run_sweep(inputs: Inputs, config: Config, first: pd.Timestamp, last: pd.Timestamp, *,
              relief: list[str], thresholds: list[float], harvest_every: str,
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
        print_json({"start": first, "end": last, "harvest_every": harvest_every,
                    "rows": frame.to_dict(orient="records")})
        return
    console.print(f"[bold]After-tax sweep {first.date()} .. {last.date()}[/] "
                  f"({len(members)} tax settings; harvest every {harvest_every}; each row "
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
