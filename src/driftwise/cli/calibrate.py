"""``driftwise calibrate-costs``: the cost model's VIX multipliers measured on daily bars."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from driftwise.cli._inputs import date_option, load_cli_config
from driftwise.cli._options import ConfigOption
from driftwise.cli._output import console, frame_table, print_json
from driftwise.costs.spread_estimators import Estimator


def register(app: typer.Typer) -> None:
    """Add ``calibrate-costs`` to ``app``."""
    app.command("calibrate-costs")(calibrate_command)


def calibrate_command(
    bars: Annotated[Path, typer.Option(
        "--bars", help="Folder of daily bars, one <TICKER>.csv(.gz) per stock with date, "
        "high, low, close (volume, split_coefficient, adjusted_close used when present).",
        file_okay=False, show_default=False)],
    vix: Annotated[Path, typer.Option(
        "--vix", help="VIX closes (date and close; CBOE's DATE,OPEN,HIGH,LOW,CLOSE).",
        dir_okay=False, show_default=False)],
    market_caps: Annotated[Path | None, typer.Option(
        "--market-caps", help="Market-cap snapshots (snapshot_date, symbol, market_cap_usd) "
        "for the size tiers (point in time: the last snapshot dated on or before each "
        "year's first session, else the dollar-volume proxy, as without this file).",
        dir_okay=False,
        show_default=False)] = None,
    estimator: Annotated[Estimator, typer.Option(
        help="The estimator whose multipliers the fragment sets.")
    ] = Estimator.CORWIN_SCHULTZ,
    tier: Annotated[str, typer.Option(
        help="The size tier whose multipliers the fragment sets: all, large, mid, small.")
    ] = "all",
    start: Annotated[str | None, date_option(
        "First session of the sample (default 2001-04-09, when US quotes were all in cents).")
    ] = None,
    end: Annotated[str | None, date_option("Last session (default: the last bar).")] = None,
    bootstrap: Annotated[int, typer.Option(
        help="Bootstrap draws for the intervals.", min=50)] = 1000,
    block_months: Annotated[int, typer.Option(
        help="Length of the bootstrap's blocks of consecutive calendar months (1: months "
        "drawn one by one; stressed months come in a few episodes, so blocks keep an "
        "episode together).", min=1)] = 12,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write a \\[costs] configuration fragment with the measured "
        "vix_multipliers (and vix_breaks) here.", dir_okay=False, show_default=False)] = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Measure the VIX multipliers of spread and impact from daily high, low and close
    (Corwin-Schultz and Abdi-Ranaldo), by VIX regime and size tier, with intervals.

    The regimes are the configuration's costs.vix_breaks; each cell's spread is the
    estimator's moment form over its pairs of sessions, and the multiplier of a regime is
    its spread over the calm regime's, with 95% intervals from a bootstrap of blocks of
    consecutive calendar months (the months and episodes behind each cell beside it). The
    configured multipliers and the methodology's "2-3x normal" under stress are shown
    beside the measured ones, with a verdict; --out writes the measured ones as a
    configuration fragment.
    """
    import datetime as dt

    from driftwise._atomic import write_text
    from driftwise.app.calibrate import (
        DECIMALIZATION,
        TIER_NAMES,
        calibrate_folder,
        config_fragment,
    )
    from driftwise.config.assemble import cost_params
    from driftwise.errors import ConfigError

    if tier not in ("all", *TIER_NAMES.values()):
        raise ConfigError(f"--tier must be all, large, mid or small; found {tier!r}")
    params = cost_params(load_cli_config(config))
    result = calibrate_folder(
        bars, vix, breaks=params.vix_breaks, tiers=params.tiers, caps_file=market_caps,
        start=dt.date.fromisoformat(start) if start else DECIMALIZATION,
        end=dt.date.fromisoformat(end) if end else None, n_boot=bootstrap,
        block_months=block_months)
    table = result.judged(params.vix_multipliers)
    # the fragment is built after the table is shown: when the multipliers are undefined,
    # the refusal comes with the table that says why
    if as_json:
        print_json(result.to_dict(params.vix_multipliers))
        if out is not None:
            write_text(out, config_fragment(result, estimator, tier))
        return
    console.print(f"{result.n_stocks} stocks, {result.start} .. {result.end}, "
                  f"{result.n_months} months; 95% intervals from {result.n_boot} draws of a "
                  f"bootstrap of {result.block_months}-month blocks.", highlight=False)
    console.print(result.tier_note(), highlight=False)
    console.print(frame_table(_shown(table), title="Effective spreads by VIX regime and "
                              "size tier (multiplier: regime spread / calm spread)"))
    for line in verdict_lines(table, estimator, tier):
        console.print(line, highlight=False)
    if out is not None:
        write_text(out, config_fragment(result, estimator, tier))
        console.print(f"Wrote {out} ({estimator.value}, tier {tier}).", highlight=False)


def verdict_lines(table: pd.DataFrame, estimator: Estimator, tier: str) -> list[str]:
    """The top regime's measured multiplier of ``estimator`` and ``tier`` against the
    configured one and the methodology's "2-3x normal", in words (``table``:
    ``Calibration.judged``)."""
    from driftwise.costs.regime import STRESS_CLAIM

    rows = table[(table["estimator"] == estimator.value) & (table["tier"] == tier)]
    if rows.empty:
        return [f"No {estimator.value} rows for tier {tier}: nothing to judge."]
    rows = rows.sort_values("regime_index")
    top = rows.iloc[-1]
    low, high = STRESS_CLAIM
    mult, lo, hi = (float(top[c]) for c in ("multiplier", "multiplier_low", "multiplier_high"))
    calm = float(rows["spread_bps"].iloc[0])
    measured = (f"spreads x{mult:.2f} [{lo:.2f}, {hi:.2f}] the calm ones"
                if math.isfinite(mult) else
                f"no multiplier (the calm spread, {calm:.1f} bps, is not positive: "
                f"{estimator.value} does not resolve these spreads)")
    configured = float(top["configured"])
    lines = [f"VIX {top['regime']}, {estimator.value}, tier {tier}: {measured} "
             f"({int(top['months'])} months in {int(top['episodes'])} episodes); the "
             f"methodology's {low:g}-{high:g}x normal: {top['claim_verdict']}; the configured "
             f"x{configured:g} is "
             + ("inside the interval." if top["configured_inside"] else
                "outside the interval." if math.isfinite(lo) else "not tested (no interval).")]
    if math.isfinite(hi) and hi <= 1.5:
        lines.append(f"The measured multipliers stay within 1-1.5x: spreads under stress are "
                     f"close to calm ones on this estimator; the configured "
                     f"{', '.join(f'{v:g}' for v in rows['configured'])} exceed them.")
    return lines


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The calibration table for the terminal: one row per (estimator, tier, regime)."""
    def span(low: float, high: float, digits: int) -> str:
        return f"{low:.{digits}f} .. {high:.{digits}f}"

    return pd.DataFrame({
        "estimator": table["estimator"], "tier": table["tier"], "VIX": table["regime"],
        "spread bps": table["spread_bps"].map(lambda v: f"{v:.1f}"),
        "95% interval": [span(a, b, 1) for a, b in
                         zip(table["spread_low_bps"], table["spread_high_bps"], strict=True)],
        "multiplier": table["multiplier"].map(lambda v: f"{v:.2f}"),
        "multiplier 95%": [span(a, b, 2) for a, b in
                           zip(table["multiplier_low"], table["multiplier_high"], strict=True)],
        "configured": table["configured"].map(lambda v: f"{v:g}"),
        "configured inside": table["configured_inside"].map(lambda v: "yes" if v else "no"),
        "vs 2-3x": table["claim_verdict"],
        "pairs": table["pairs"], "stocks": table["stocks"], "months": table["months"],
        "episodes": table["episodes"]},
        ).set_index("estimator").astype(str)
