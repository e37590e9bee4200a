"""``driftwise report``: today's plan and the evidence for the rules, in one HTML file."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from driftwise.app.backtest import compare
from driftwise.app.monitor import monitor
from driftwise.app.plan import Plan, make_plan
from driftwise.app.sweep import SweepGrid, progress_bar
from driftwise.cli._inputs import (
    ConfigOption,
    InputOptions,
    load_cli_config,
    load_portfolio,
)
from driftwise.cli._output import console
from driftwise.cli.validate import run_with_progress
from driftwise.config import Config, policies
from driftwise.config.assemble import cost_params, monitor_config, study_settings
from driftwise.data.model import Inputs
from driftwise.report import backtest_data, write_report
from driftwise.report.validation_page import ValidationPageData, page_data
from driftwise.validation import PortfolioSpec, StudySettings, run_study

YEARS = 10


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""
    app.command("report")(report_command)


def report_command(
    holdings: InputOptions.holdings = None,
    targets: InputOptions.targets = None,
    prices: InputOptions.prices = None,
    volumes: InputOptions.volumes = None,
    master: InputOptions.master = None,
    vix: InputOptions.vix = None,
    as_of: InputOptions.as_of = None,
    last_rebalance: InputOptions.last_rebalance = None,
    cost_file: InputOptions.cost_file = None,
    accept_jump: InputOptions.accept_jump = None,
    config: ConfigOption = None,
    out: Annotated[Path, typer.Option(help="The HTML file to write.", dir_okay=False)
                   ] = Path("report.html"),
    years: Annotated[int, typer.Option(help="Years of history for the backtest.", min=1)
                     ] = YEARS,
    sweep: Annotated[bool, typer.Option(
        help="Include the threshold × cost × VIX sensitivity sweep of \\[backtest].")] = True,
    validate: Annotated[bool, typer.Option(
        help="Include the rule validation study of the sample (in this process).")] = True,
) -> None:
    """Write one self-contained HTML report: the plan, the backtest of the methodology's rules.

    The plan page shows today's decision, drift against bands, cost per trade and the
    schedule; the backtest page compares the methodology's five rules (monthly, 5% and 10%
    thresholds, hybrid, cost-benefit) over the last ``years``
    (with intervals) and, with ``--sweep``, the sensitivity heat maps and the empirical
    optimal threshold beside the corrected band. With no input it reports on the sample.
    """
    cfg = load_cli_config(config)
    inputs = load_portfolio(cfg, as_of=as_of, last_rebalance=last_rebalance,
                            accept_jump=accept_jump, holdings=holdings, targets=targets,
                            prices=prices, volumes=volumes, master=master, vix=vix,
                            cost_file=cost_file)
    plan = make_plan(inputs, cfg, as_of=as_of)
    path = write_full_report(out, inputs, cfg, plan, years=years, sweep=sweep, validate=validate)
    console.print(f"report: {path.resolve()}")


def write_full_report(out: Path, inputs: Inputs, cfg: Config, plan: Plan, *, years: int = YEARS,
                      sweep: bool = True, validate: bool = True) -> Path:
    """The plan page, the backtest of the methodology's five rules over the last ``years`` and,
    with ``validate``, the rule validation study of the embedded sample (the rules'
    evidence does not depend on the portfolio planned; ``validate-rules`` runs larger ones).
    """
    settings = study_settings(cfg, bootstrap_samples=cfg.backtest.bootstrap_samples,
                              seed=cfg.backtest.seed, workers=1) if validate else None
    with _Beside(settings) as study:
        state = monitor(inputs, as_of=plan.as_of, config=monitor_config(cfg),
                        cost_params=cost_params(cfg))
        dates = inputs.market.prices.index
        end = plan.as_of
        start = pd.Timestamp(dates[dates >= end - pd.DateOffset(years=years)][0])
        rules = policies.methodology_rules(base=cfg)
        grid = SweepGrid.from_config(cfg.backtest) if sweep else None
        with progress_bar("backtest for the report") as progress:
            comparison = compare(inputs, list(rules.values()), list(rules), start=start,
                                 end=end, grid=grid,
                                 grid_base=policies.threshold(0.05, base=cfg),
                                 progress=progress, samples=cfg.backtest.bootstrap_samples,
                                 block=cfg.backtest.bootstrap_block_days,
                                 seed=cfg.backtest.seed)
        page = backtest_data(comparison.result, metrics=comparison.metrics,
                             sweep=comparison.sweep, threshold_inputs=comparison.theory,
                             tracking_aversion=cfg.policy.tracking_aversion,
                             ranking=comparison.ranked, optimum=comparison.optimum,
                             description=f"Monthly, 5% and 10% thresholds, hybrid and "
                             f"cost-benefit on {start.date()} .. {end.date()}")
        validation = None
        if study is not None:
            with console.status("validating rules on the sample"):
                validation = study.result()
        elif settings is not None:
            validation = page_data(run_with_progress([PortfolioSpec("sample")], settings))
    return write_report(out, plan=plan, monitor=state, backtest=page, validation=validation)


class _Beside:
    """The sample's rule validation study in a second process, forked from this one, while
    this process runs the backtest: the two are independent and each is one core's work
    (a fork copies nothing up front and imports nothing again). ``None`` where processes
    cannot be forked or this one runs other threads (a fork copies their locks held; the
    study then runs here, after the backtest) or without a study.

    The study's numbers do not depend on the process it runs in.
    """

    def __init__(self, settings: StudySettings | None) -> None:
        self.settings = settings
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Future[ValidationPageData] | None:
        if (self.settings is None or "fork" not in multiprocessing.get_all_start_methods()
                or threading.active_count() > 1):
            return None
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        return self.pool.submit(_sample_study, self.settings)

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _sample_study(settings: StudySettings) -> ValidationPageData:
    """The validation page of the sample's study (run in the forked process)."""
    return page_data(run_study([PortfolioSpec("sample")], settings))
