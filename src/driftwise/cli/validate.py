"""``driftwise validate-rules``: test the methodology's four insight rules on history."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from driftwise._atomic import write_text
from driftwise.cli._inputs import (
    ConfigOption,
    InputOptions,
    SchedulerOption,
    check_window,
    date_option,
    load_cli_config,
)
from driftwise.cli._output import console, err_console, frame_table, notices_table, print_json
from driftwise.config import Config
from driftwise.config.assemble import study_settings
from driftwise.data.market import read_risk_free
from driftwise.policy.context import Frequency
from driftwise.report import write_report
from driftwise.report.validation_page import page_data
from driftwise.validation.output import (
    BREAKDOWN_NOTE,
    FALSIFICATION_NOTE,
    SENSITIVITY_NOTE,
    breakdown_display,
    caveats,
    cost_limits_display,
    describe,
    falsification_display,
    falsification_pooled_display,
    markdown,
    research_display,
    rules_display,
    sensitivity_display,
    to_dict,
)
from driftwise.validation.study import (
    PortfolioSpec,
    StudyResult,
    StudySettings,
    run_study,
    study_portfolios,
    study_window,
)


def register(app: typer.Typer) -> None:
    """Add ``validate-rules`` to ``app``."""
    app.command("validate-rules")(validate_command)


def validate_command(
    universe: Annotated[str, typer.Option(
        help="sample (the embedded portfolio) or sp500 (random portfolios of 10-50 stocks "
        "from the 504-stock data in --data-dir; the sample portfolio is included).")] = "sample",
    data_dir: Annotated[Path | None, typer.Option(
        help="The shared real-data folder (default: $DRIFTWISE_SHARED_DATA).",
        file_okay=False)] = None,
    portfolios: Annotated[int | None, typer.Option(
        help="Random portfolios to add (default 0 for sample, 20 for sp500).", min=0)] = None,
    start: Annotated[str | None, date_option("First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, date_option("Last day (YYYY-MM-DD).")] = None,
    vix: InputOptions.vix = None,
    risk_free: InputOptions.risk_free = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes of the local Dask cluster (default cluster.workers, else 2; "
        "1: this process alone).", min=1, show_default=False)] = None,
    scheduler: SchedulerOption = None,
    event_gap: Annotated[int, typer.Option(
        help="At most one event per path per this many trading days.", min=1)] = 5,
    review: Annotated[Frequency, typer.Option(
        help="Calendar of the base policy (and of Rule 1's alternative).")] = Frequency.QUARTER,
    nav_usd: Annotated[float, typer.Option(help="NAV of every path, USD.", min=1.0)] = 1e6,
    seed: Annotated[int | None, typer.Option(
        help="Random seed of the portfolio draws and the falsification's bootstrap (default "
        "backtest.seed, 0).", show_default=False)] = None,
    no_falsification: Annotated[bool, typer.Option(
        "--no-falsification", help="Skip the falsification backtest (threshold 5% against "
        "the review calendar and a monthly one).")] = False,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    markdown_file: Annotated[Path | None, typer.Option(
        "--markdown", help="Write the markdown report here.", dir_okay=False)] = None,
    report: Annotated[Path | None, typer.Option(
        help="Write the self-contained HTML report here.", dir_okay=False)] = None,
    multipliers: Annotated[Path | None, typer.Option(
        "--multipliers", help="Calibrated VIX multipliers to show beside the verdicts: the "
        "output of `driftwise calibrate-costs --json` saved to a file (or a CSV/Parquet "
        "table of its rows).", dir_okay=False, show_default=False)] = None,
    ranking: Annotated[Path | None, typer.Option(
        "--ranking", help="The many-path ranking of rules to show beside the verdicts: the "
        "output of `driftwise backtest --paths-length N --json` saved to a file (or a "
        "CSV/Parquet table of its paths.ranking, the rule in 'config').", dir_okay=False,
        show_default=False)] = None,
) -> None:
    """Validate the methodology's rules 1-4 on history: events, hit rates, intervals, verdicts.

    Each rule's IF is found on buy-and-hold paths (one per month start); each event is
    forked into "act now" and the rule's alternative and both are followed with the same
    prices and the one cost model. With no arguments it runs on the embedded sample.
    """
    cfg = load_cli_config(config)
    # [backtest] start / end are the window when no option gives one (the falsification
    # backtest and the events' paths share it)
    start = start if start is not None else _day(cfg.backtest.start)
    end = end if end is not None else _day(cfg.backtest.end)
    check_window(start, end)
    seed = seed if seed is not None else cfg.backtest.seed
    unread = unread_keys(cfg)
    if unread:
        err_console.print("validate-rules does not read these configured keys (other "
                          f"commands do): {', '.join(unread)}", markup=False)
    measured = read_measured(multipliers, ranking)  # before the study: a bad file fails fast
    if risk_free is not None:
        read_risk_free(risk_free)
    specs = study_portfolios(universe, data_dir, portfolios, seed, start, end)
    if vix is not None:  # the VIX of every portfolio: the file's, as in every command
        specs = [dataclasses.replace(spec, vix_file=str(vix)) for spec in specs]
    if risk_free is not None:  # the rate cash earns in every portfolio (the falsification
        # backtest and the events' branches, as in backtest) and rule 3's Sharpe ratios'
        specs = [dataclasses.replace(spec, risk_free_file=str(risk_free)) for spec in specs]
    start, end = study_window(universe, start, end)
    workers = workers if workers is not None else cfg.cluster.workers or 2
    settings = study_settings(cfg, nav_usd=nav_usd, start=start, end=end, review=review,
                              gap_days=event_gap, workers=workers, seed=seed,
                              scheduler=scheduler if scheduler is not None
                              else cfg.cluster.scheduler,
                              falsification=not no_falsification,
                              chunks=max(8, 2 * workers),
                              cost_levels_bps=tuple(cfg.backtest.cost_levels_bps),
                              **({"bootstrap_samples": cfg.backtest.bootstrap_samples}
                                 if "backtest.bootstrap_samples" in cfg.non_defaults()
                                 else {}))
    result = run_with_progress(specs, settings)
    if markdown_file is not None:
        markdown_file.parent.mkdir(parents=True, exist_ok=True)
        write_text(markdown_file, markdown(result, measured.get("multipliers")))
    if report is not None:
        write_report(report, validation=page_data(result, **measured),
                     title="driftwise rule validation")
    if as_json:
        data = to_dict(result, measured.get("multipliers"))
        data["settings"]["config_not_read"] = unread
        print_json({**data, **{JSON_KEYS[k]: v for k, v in measured.items()}})
        return
    show(result)
    show_measured(**measured)
    console.print(frame_table(research_display(result, measured.get("multipliers")),
                              "Claims beside the literature"))
    for path, what in ((markdown_file, "markdown"), (report, "report")):
        if path is not None:
            console.print(f"{what}: {path.resolve()}")


NOT_READ = ("policy.trigger", "policy.frequency", "policy.threshold", "policy.hybrid_override",
            "policy.destination", "policy.stress_delay", "policy.stress_vix",
            "policy.stress_max_drift", "policy.extreme_drift", "policy.delay_days",
            "policy.max_delay_days", "policy.vol_aware_min_vol", "policy.vol_aware_min_drift",
            "policy.dynamic_multipliers", "policy.dynamic_stress_pause", "policy.triggers",
            "policy.cost_constrained_multiple", "backtest.initial_nav_usd",
            "backtest.thresholds", "backtest.vix_multipliers", "backtest.impact_models",
            "optimizer.", "execution.", "tax.", "portfolio.", "record.", "accounts.")
"""Configuration keys (a trailing dot: a whole section) validate-rules does not read: the
rules' IFs and the falsification's policies are the methodology's (threshold 5%, the
--review calendar and monthly, full rebalances, the thresholds of
:class:`~driftwise.validation.rules.Thresholds`), the NAV is --nav-usd, and no sweep,
optimizer, execution schedule, tax, portfolio record or household is part of the study."""


def unread_keys(config: Config) -> list[str]:
    """The configured (non-default) keys of ``config`` that validate-rules does not read
    (:data:`NOT_READ`), in the configuration's order."""
    return [k for k in config.non_defaults()
            if any(k == n or (n.endswith(".") and k.startswith(n)) for n in NOT_READ)]


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


JSON_KEYS = {"multipliers": "vix_multipliers", "ranking": "path_ranking"}
"""The JSON keys of the measured inputs given with --multipliers and --ranking."""


def read_measured(multipliers: Path | None, ranking: Path | None
                  ) -> dict[str, pd.DataFrame]:
    """The measured inputs given (:mod:`driftwise.report.validation_inputs`), by the name
    :func:`page_data` takes them under."""
    from driftwise.report.validation_inputs import read_multipliers, read_ranking

    out = {}
    if multipliers is not None:
        out["multipliers"] = read_multipliers(multipliers)
    if ranking is not None:
        out["ranking"] = read_ranking(ranking)
    return out


def show_measured(multipliers: pd.DataFrame | None = None,
                  ranking: pd.DataFrame | None = None) -> None:
    """Print the calibrated multipliers and the many-path ranking given."""
    if multipliers is not None:
        console.print(frame_table(multipliers_view(multipliers),
                                  "Calibrated VIX multipliers of spreads (regime / calm) "
                                  "beside the configured ones", index_name="estimator"))
    if ranking is not None:
        rows = ranking.sort_values("rank", kind="stable")
        shown = pd.DataFrame({
            "rank [95%]": [f"{r:.0f} [{lo:.0f}-{hi:.0f}]" for r, lo, hi in zip(
                rows["rank"], rows["rank_low"], rows["rank_high"], strict=True)],
            "score [95%]": [f"{1e4 * v:.1f} [{1e4 * lo:.1f}, {1e4 * hi:.1f}] bps" for v, lo, hi
                            in zip(rows["score"], rows["score_low"], rows["score_high"],
                                   strict=True)],
            "P(best)": [f"{100 * p:.0f}%" for p in rows["p_best"]],
            "cannot be told apart from": [str(t) or "-" for t in
                                          rows.get("tied_with", pd.Series("", rows.index))]},
            index=pd.Index(rows.index.astype(str), name="rule"))
        console.print(frame_table(shown, "Ranking of rules across many paths "
                                  "(γ/2·TE² + cost/yr)", index_name="rule"))


def multipliers_view(table: pd.DataFrame) -> pd.DataFrame:
    """The multipliers for a terminal: per estimator, tier and regime, with the interval,
    and the configured multiplier and the months behind the cell when the file has them."""
    out = pd.DataFrame({
        "tier": table["tier"].to_numpy(), "VIX": table["regime"].to_numpy(),
        "multiplier [95%]": [
            f"{m:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(m) else "undefined (calm spread "
            "not positive)" for m, lo, hi in zip(
                table["multiplier"].astype(float), table["multiplier_low"].astype(float),
                table["multiplier_high"].astype(float), strict=True)]},
        index=pd.Index(table["estimator"].astype(str), name="estimator"))
    if "configured" in table:
        out["configured"] = [f"{v:g}" for v in table["configured"]]
    if "months" in table:  # the bootstrap's clusters behind the cell
        out["months"] = [f"{v:.0f}" for v in table["months"]]
    return out


def run_with_progress(specs: list[PortfolioSpec], settings: StudySettings) -> StudyResult:
    """:func:`run_study` with a rich progress bar on standard error."""
    columns = (TextColumn("validating rules"), BarColumn(), MofNCompleteColumn(),
               TextColumn("tasks"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("validate", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
        return run_study(specs, settings, progress=advance)


def show(result: StudyResult) -> None:
    """Print the verdicts, breakdowns, falsification test and caveats."""
    console.print(f"[bold]Rule validation[/]: {describe(result)}", highlight=False)
    console.print(frame_table(rules_display(result), "Verdicts (model costs)", index_name="rule"))
    shown = False
    for frame, column, label, title in (
            (result.by_regime, "vix_regime", "VIX", "By VIX regime at the event (model costs)"),
            (result.by_cost, "cost_level_bps", "cost bps", "By flat cost level")):
        # the verdicts table names each verdict's reason; here the columns keep their width
        table = breakdown_display(frame, column, label).drop(columns="reason", errors="ignore")
        if len(table):
            console.print(frame_table(table, title, index_name="rule"))
            shown = True
    if shown:
        console.print(BREAKDOWN_NOTE, highlight=False, markup=False, soft_wrap=True)
    sens = sensitivity_display(result).drop(columns="reason", errors="ignore")
    if len(sens):
        console.print(frame_table(sens, "Sensitivity of the claims (model costs)",
                                  index_name="rule"))
        console.print(SENSITIVITY_NOTE, highlight=False, markup=False, soft_wrap=True)
    limits = cost_limits_display(result)
    if len(limits):
        console.print(frame_table(limits.set_index("rule"), "Events removed by the cost limits",
                                  index_name="rule"))
    fals = falsification_display(result)
    if len(fals):
        console.print(frame_table(fals, "Falsification: threshold 5% vs calendar",
                                  index_name="costs"))
        console.print(FALSIFICATION_NOTE, highlight=False, markup=False, soft_wrap=True)
        pooled = falsification_pooled_display(result)
        if len(pooled):
            console.print(frame_table(pooled, "Falsification pooled over portfolios "
                                      "(intervals across calendar years)", index_name="costs"))
    for line in caveats(result):
        console.print(f"  • {line}", highlight=False)
    if result.notices:
        console.print(notices_table(result.notices))
