"""``driftwise monitor``: drift, tracking error, drift speed, days to breach and flags."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from driftwise.app.monitor import MonitorReport, monitor
from driftwise.cli._inputs import (
    ConfigOption,
    InputOptions,
    load_cli_config,
    load_portfolio,
)
from driftwise.cli._output import (
    console,
    frame_table,
    notices_table,
    num,
    pairs_table,
    pct,
    print_csv,
    print_json,
    usd,
)
from driftwise.config.assemble import cost_params, monitor_config
from driftwise.metrics.risk import CovarianceEstimator


def register(app: typer.Typer) -> None:
    """Add the ``monitor`` command to ``app``."""
    app.command("monitor")(monitor_command)


def monitor_command(
    holdings: InputOptions.holdings = None,
    targets: InputOptions.targets = None,
    prices: InputOptions.prices = None,
    volumes: InputOptions.volumes = None,
    master: InputOptions.master = None,
    vix: InputOptions.vix = None,
    lots: InputOptions.lots = None,
    as_of: InputOptions.as_of = None,
    last_rebalance: InputOptions.last_rebalance = None,
    cost_file: InputOptions.cost_file = None,
    accept_jump: InputOptions.accept_jump = None,
    config: ConfigOption = None,
    threshold: Annotated[float | None, typer.Option(
        help="Portfolio drift threshold (fraction) for days to breach; default from the "
        "configuration (5%).", min=0.0, max=1.0)] = None,
    estimator: Annotated[CovarianceEstimator | None, typer.Option(
        help="Covariance estimator of the long window; default from the configuration "
        "(risk.estimator).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Per-asset table as CSV.")] = False,
) -> None:
    """Where the portfolio stands today: drift, TE, drift speed, days to breach, flags.

    With no input files it runs on the embedded sample portfolio.
    """
    cfg = load_cli_config(config)
    inputs = load_portfolio(cfg, as_of=as_of, last_rebalance=last_rebalance,
                            accept_jump=accept_jump, holdings=holdings, targets=targets,
                            prices=prices, volumes=volumes, master=master, vix=vix,
                            lots=lots, cost_file=cost_file)
    settings = monitor_config(cfg)
    if estimator is not None:
        settings = dataclasses.replace(settings, estimator=estimator)
    if threshold is not None:
        settings = dataclasses.replace(settings, threshold=threshold)
    report = monitor(inputs, as_of=as_of, config=settings, cost_params=cost_params(cfg))
    if as_json:
        print_json(report_dict(report))
    elif as_csv:
        print_csv(report.assets)
    else:
        show(report)


def report_dict(report: MonitorReport) -> dict[str, object]:
    """The JSON form of a monitor report."""
    return {
        "summary": report.summary,
        "assets": report.assets,
        "groups": report.groups if report.groups is not None else None,
        "optimal_threshold": report.thresholds.to_dict(),
        "flags": list(report.notices),
    }


def show(report: MonitorReport) -> None:
    """Print the monitor report as rich tables."""
    s = report.summary
    windows = s["windows_days"]
    assert isinstance(windows, tuple)
    console.print(pairs_table([
        ("as of", str(s["as_of"])[:10]),
        ("NAV (USD)", usd(s["nav_usd"])),
        ("cash", f"{usd(s['cash_usd'])} USD ({pct(s['cash_weight'])}, target "
                 f"{pct(s['target_cash_weight'])})"),
        ("portfolio drift", pct(s["portfolio_drift"])),
        *([("group drift", pct(s["group_drift"]))] if "group_drift" in s else []),
        (f"TE, diagonal, {windows[0]}d", pct(s["te_diag_short"])),
        (f"TE, full covariance, {windows[0]}d", pct(s["te_short"])),
        (f"TE, full covariance, {windows[1]}d", pct(s["te_long"])),
        (f"TE, {s['estimator']} shrinkage, {windows[1]}d", pct(s["te_long_shrunk"])),
        ("assets outside band", str(s["assets_outside_band"])),
        ("trading days since rebalance", num(s["days_since_rebalance"], 0)),
        ("drift rate (expected drift after 1y)", pct(s["drift_rate_annual"])),
        (f"est. trading days to {pct(s['threshold'], 0)} breach", _breach(s)),
    ], title="Portfolio"))
    table = report.assets.assign(
        weight=report.assets["weight"], outside_band=report.assets["outside_band"].map(
            {True: "yes", False: ""}))
    columns = {"weight": "weight", "target": "target", "drift": "drift", "band": "band",
               "outside_band": "out", "vol_annual": "vol 60d", "drift_speed": "speed",
               "speed_rank": "rank", "flags": "flags"}
    shown = table[list(columns)].rename(columns=columns)
    console.print(frame_table(shown, "Assets", {
        "weight": pct, "target": pct, "drift": pct, "band": pct, "vol 60d": lambda x: pct(x, 1),
        "speed": lambda x: pct(x, 1), "rank": lambda x: pct(x, 0)}, index_name="ticker"))
    if report.groups is not None:
        console.print(frame_table(report.groups, "Groups",
                                  {"weight": pct, "target": pct, "drift": pct}))
    console.print(pairs_table(report.thresholds.rows(), title="Optimal threshold"))
    if report.notices:
        console.print(notices_table(report.notices))


def _breach(summary: dict[str, object]) -> str:
    drift, threshold = summary["portfolio_drift"], summary["threshold"]
    assert isinstance(drift, float) and isinstance(threshold, float)
    return "breached" if drift >= threshold else num(summary["days_to_breach"], 0)
