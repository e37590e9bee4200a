"""``driftwise backtest --after-tax``: the rule after tax against itself without."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from driftwise.app.aftertax import AfterTaxComparison, after_tax_compare
from driftwise.app.sweep import write_table
from driftwise.cli._output import console, frame_table, num, pct, print_json, usd
from driftwise.config import Config
from driftwise.data.model import Inputs
from driftwise.report import write_report


def run(inputs: Inputs, config: Config, first: pd.Timestamp, last: pd.Timestamp, *,
        harvest_every: str, samples: int, as_json: bool, table: Path | None,
        report: Path | None) -> None:
    """Run, write the table and report asked for, print (or print JSON)."""
    b = config.backtest
    result = after_tax_compare(inputs, config, start=first, end=last,
                               harvest_every=harvest_every, samples=samples,
                               block=b.bootstrap_block_days, seed=b.seed)
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
