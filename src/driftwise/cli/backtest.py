"""``driftwise backtest``: which rule, at which threshold, for my costs."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from driftwise.app.backtest import (
    Comparison,
    backtest_default_target,
    backtest_window,
    compare,
    record_versions,
)
from driftwise.app.paths import PathComparison
from driftwise.app.sweep import SweepGrid, progress_bar, write_table
from driftwise.backtest.paths import PathSettings
from driftwise.backtest.years import RANKING_BASIS
from driftwise.cli._inputs import (
    ConfigOption,
    InputOptions,
    SchedulerOption,
    check_window,
    date_option,
    load_cli_config,
    record_url,
)
from driftwise.cli._options import DEFAULT_ACCOUNT, DbOption
from driftwise.cli._output import (
    console,
    frame_table,
    notices_table,
    num,
    pairs_table,
    pct,
    print_json,
    usd,
)
from driftwise.config import accepted_jumps, load_config, policies
from driftwise.config.model import LotRelief
from driftwise.config.policies import with_flat_cost
from driftwise.data.loader import load_backtest_inputs
from driftwise.data.market import cash_rate_notices, vix_window_notices
from driftwise.data.model import Inputs, Targets
from driftwise.flags import merge_notices
from driftwise.report import backtest_data, write_report


class HarvestEvery(StrEnum):
    """How often the after-tax backtest harvests losses."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    NEVER = "never"


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command to ``app``."""
    app.command("backtest")(backtest_command)


def backtest_command(
    holdings: InputOptions.holdings = None,
    prices: InputOptions.prices = None,
    targets: Annotated[list[Path] | None, typer.Option(
        help="Targets (ticker|sector|asset_class, target_weight; optional band_abs, band_rel, "
        "effective_date). Repeatable: each file one version in force from its "
        "effective_date (the files `driftwise import --targets` stores), the switch an "
        "event.", exists=False, dir_okay=False, show_default=False)] = None,
    db: DbOption = None,
    account: Annotated[str | None, typer.Option(
        "--account", help="With --db: the account whose target versions to backtest "
        "(default main).", show_default=False)] = None,
    volumes: InputOptions.volumes = None,
    master: InputOptions.master = None,
    vix: InputOptions.vix = None,
    risk_free: InputOptions.risk_free = None,
    cost_file: InputOptions.cost_file = None,
    start: Annotated[str | None, date_option(
        "First day (YYYY-MM-DD; default: 10 years before the last).")] = None,
    end: Annotated[str | None, date_option(
        "Last day (YYYY-MM-DD; default: the last price date).")] = None,
    accept_jump: InputOptions.accept_jump = None,
    policy: Annotated[list[policies.PolicyName] | None, typer.Option(
        help="Policy to run (repeatable). Default: monthly, threshold 5% and 10%, hybrid, "
        "cost-benefit.")] = None,
    threshold: Annotated[list[float] | None, typer.Option(
        help="Drift threshold(s) for threshold-type policies (repeatable).", min=0.0,
        max=1.0)] = None,
    cost_bps: Annotated[float | None, typer.Option(
        help="Flat cost in bps of traded value instead of the full cost model.", min=0.0)] = None,
    grid: Annotated[Path | None, typer.Option(
        help="TOML with a \\[backtest] grid (thresholds, cost_levels_bps, vix_multipliers, "
        "impact_models) to sweep.", dir_okay=False)] = None,
    sweep: Annotated[bool, typer.Option(
        "--sweep", help="Sweep the \\[backtest] grid of --config (thresholds, cost levels, "
        "VIX multipliers, impact models; the default grid without --config).")
    ] = False,
    table: Annotated[Path | None, typer.Option(
        help="Write the tidy results table (.csv, .csv.gz or .parquet).", dir_okay=False)] = None,
    config: ConfigOption = None,
    samples: Annotated[int | None, typer.Option(
        help="Bootstrap resamples (default: backtest.bootstrap_samples, 1000).", min=50,
        show_default=False)] = None,
    report: Annotated[Path | None, typer.Option(
        help="Write a self-contained HTML report.", dir_okay=False)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Processes to share a large run among (default: every core when the run is "
        "large enough to gain; 1: one process; default cluster.workers). The result does "
        "not depend on it.", min=1, show_default=False)] = None,
    scheduler: SchedulerOption = None,
    paths_length: Annotated[int | None, typer.Option(
        help="Also run every rule over many paths of this many sessions each (rolling "
        "start dates), with intervals across paths.", min=21, show_default=False)] = None,
    paths_step: Annotated[int, typer.Option(
        help="Sessions between the start dates of the paths.", min=1)] = 63,
    paths_portfolios: Annotated[int, typer.Option(
        help="Random equal-weight portfolios per start date, drawn from the stocks one "
        "could have chosen on it (0: the given portfolio).", min=0)] = 0,
    paths_size: Annotated[int, typer.Option(
        help="Stocks per random portfolio.", min=2)] = 20,
    paths_history: Annotated[int, typer.Option(
        help="Priced sessions a stock needs up to a start date to be drawn on it.",
        min=1)] = 252,
    paths_seed: Annotated[int | None, typer.Option(
        help="Random seed of the portfolios drawn (default: backtest.seed).",
        show_default=False)] = None,
    after_tax: Annotated[bool | None, typer.Option(
        "--after-tax/--no-after-tax", help="Run the configuration's rule with its tax lots "
        "and \\[tax] settings, tax-aware (decisions after tax, loss harvesting) and "
        "tax-unaware, and show the after-tax returns and the tax alpha. Default: after tax "
        "when tax.enabled is true; the flag wins.", show_default=False)] = None,
    harvest_every: Annotated[HarvestEvery | None, typer.Option(
        help="After tax: harvest losses on the first session of each period. Default: each "
        "month when tax.harvest_in_trades is true, never when false; the flag wins.",
        show_default=False)] = None,
    harvest_swap_back: Annotated[bool, typer.Option(
        "--harvest-swap-back", help="With --after-tax and tax.harvest_pairs: sell a "
        "harvest's replacement and buy the harvested stock back once the wash-sale window "
        "has ended (default: keep the replacement).")] = False,
    tax_relief: Annotated[list[LotRelief] | None, typer.Option(
        help="With --after-tax: sweep these lot relief methods (repeatable); one row per "
        "combination with --harvest-threshold.", show_default=False)] = None,
    harvest_threshold: Annotated[list[float] | None, typer.Option(
        help="With --after-tax: sweep these harvest thresholds, fraction of a lot's basis "
        "(repeatable).", min=0.0, max=1.0, show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare rebalancing rules on history, with block-bootstrap intervals.

    With no arguments: the methodology's five rules (monthly, 5% threshold, 10% threshold,
    hybrid, cost-benefit) on the sample's last 10 years, starting at the NAV of the
    holdings (--holdings, the sample's by default) unless backtest.initial_nav_usd says
    otherwise. With --config, the file's own
    rule is added as "your rule", and the named rules take its destination, constraints,
    costs and window. With --paths-length, every rule also runs over many paths (rolling
    start dates, random portfolios with --paths-portfolios) and the ranking gets intervals.
    """
    check_window(start, end)
    base = load_cli_config(config)
    jumps = accepted_jumps(base, accept_jump)
    stored = None
    if db is not None or account is not None:
        if targets:
            raise typer.BadParameter("--db reads the account's target versions from the "
                                     "record: leave out --targets", param_hint="'--targets'")
        stored = record_versions(record_url(db, base), account or DEFAULT_ACCOUNT,
                                 with_market=prices is None, accept_jumps=jumps)
    inputs = load_backtest_inputs(prices=prices, targets=targets, volumes=volumes,
                                  master=master, vix=vix, cost_file=cost_file,
                                  holdings=holdings, risk_free=risk_free,
                                  accept_jumps=jumps,
                                  default_target=backtest_default_target(base),
                                  market=None if stored is None else stored.market,
                                  target_versions=() if stored is None else stored.versions)
    if stored is not None and master is None and stored.master is not None:
        inputs = dataclasses.replace(inputs, master=stored.master)
    first, last = backtest_window(inputs, base, start, end)
    tax_sweep = bool(tax_relief or harvest_threshold)
    from driftwise.cli import aftertax

    if aftertax.resolve(after_tax, base, tax_options={
            "--tax-relief": bool(tax_relief), "--harvest-threshold": bool(harvest_threshold),
            "--harvest-swap-back": harvest_swap_back,
            "--harvest-every": harvest_every is not None}, pre_tax_options={
            "--policy": bool(policy), "--threshold": bool(threshold),
            "--cost-bps": cost_bps is not None, "--grid": grid is not None, "--sweep": sweep,
            "--paths-length": paths_length is not None,
            "--workers": workers is not None and not tax_sweep,
            "--scheduler": scheduler is not None and not tax_sweep}):
        n_samples = samples if samples is not None else base.backtest.bootstrap_samples
        every = None if harvest_every is None else harvest_every.value
        if tax_sweep:
            if report is not None:
                raise typer.BadParameter("--report shows one after-tax run; a sweep over "
                                         "tax settings writes --table (or --json)")
            aftertax.run_sweep(
                inputs, base, first, last, relief=[r.value for r in tax_relief or []],
                thresholds=list(harvest_threshold or []), harvest_every=every,
                swap_back=harvest_swap_back, samples=n_samples, as_json=as_json, table=table,
                workers=workers if workers is not None else base.cluster.workers,
                scheduler=scheduler if scheduler is not None else base.cluster.scheduler)
            return
        aftertax.run(inputs, base, first, last, harvest_every=every,
                     swap_back=harvest_swap_back, samples=n_samples, as_json=as_json,
                     table=table, report=report)
        return
    configs = policies.build_policies(base, policy, threshold, cost_bps)
    if config is not None:
        configs[policies.YOUR_RULE] = with_flat_cost(base, cost_bps)
    b = base.backtest
    sweep_grid = (SweepGrid.from_config(load_config(grid).backtest) if grid is not None
                  else SweepGrid.from_config(b) if sweep else None)
    grid_base = policies.threshold(0.05, destination=base.policy.destination, base=base)
    many = None if paths_length is None else PathSettings(
        length_days=paths_length, step_days=paths_step, portfolios=paths_portfolios,
        size=paths_size, seed=b.seed if paths_seed is None else paths_seed,
        min_history_days=paths_history)
    with progress_bar("backtest", enabled=not as_json) as progress:
        result = compare(inputs, list(configs.values()), list(configs), start=first, end=last,
                         grid=sweep_grid, grid_base=with_flat_cost(grid_base, cost_bps),
                         progress=progress,
                         samples=samples if samples is not None else b.bootstrap_samples,
                         block=b.bootstrap_block_days, seed=b.seed,
                         workers=workers if workers is not None else base.cluster.workers,
                         scheduler=scheduler if scheduler is not None
                         else base.cluster.scheduler, paths=many)
    if table is not None:
        write_table(result.sweep if result.sweep is not None
                    else result.metrics.reset_index(), table)
    flags = merge_notices(inputs.targets.notices if inputs.targets is not None else (),
                          inputs.market.notices, vix_window_notices(inputs.market, first, last),
                          cash_rate_notices(inputs.market, first, last,
                                            earns=b.cash_earns_risk_free),
                          result.paths.runs.notices if result.paths is not None else ())
    if report is not None:
        write_report(report, backtest=backtest_data(
            result.result, metrics=result.metrics, sweep=result.sweep,
            threshold_inputs=result.theory, tracking_aversion=base.policy.tracking_aversion,
            flags=flags, ranking=result.ranked, optimum=result.optimum,
            **paths_report(result)))
    versions = version_list(inputs)
    if as_json:
        print_json({**as_dict(result), "target_versions": versions, "flags": list(flags)})
        return
    show(result)
    if versions:
        console.print("target versions (each in force from its date, the switch an event): "
                      + "; ".join(f"{v['source']} from {v['effective_date'] or 'the start'}"
                                  for v in versions), markup=False, soft_wrap=True)
    if flags:
        console.print(notices_table(flags))
    for label, path in (("table", table), ("report", report)):
        if path is not None:
            console.print(f"{label}: {path.resolve()}")


def version_list(inputs: Inputs) -> list[dict[str, str | None]]:
    """The target versions the run switches between, by effective date (empty: one
    target over the whole window)."""
    def when(v: Targets) -> pd.Timestamp:
        return pd.Timestamp.min if v.effective_date is None else pd.Timestamp(v.effective_date)

    return [{"source": v.source, "effective_date": None if v.effective_date is None
             else str(pd.Timestamp(v.effective_date).date())}
            for v in sorted(inputs.target_versions, key=when)]


JSON_FIELDS = ("final_nav_usd", "total_return", "return_annual", "vol_annual", "sharpe",
               "ref_sharpe", "sharpe_diff", "te_annual", "te_low", "te_high", "cost_per_year",
               "cost_low", "cost_high", "cost_total_usd", "turnover_per_year", "n_rebalances",
               "max_drift")


def as_dict(result: Comparison) -> dict[str, object]:
    """JSON form: per policy, then the intervals of the differences, then the sweep."""
    r = result.result
    return {
        "start": r.dates[0], "end": r.dates[-1], "days": len(r.dates),
        "initial_nav_usd": r.initial_nav_usd, "initial_nav_source": r.initial_nav_source,
        "notices": [n.to_dict() for n in r.notices],
        "policies": {name: {f: result.metrics.loc[name, f] for f in JSON_FIELDS
                            if f in result.metrics.columns} for name in result.metrics.index},
        "ranking": list(result.ranked.index),
        "ranking_basis": one_path_order(result.paths is not None),
        "ranking_intervals": result.ranked.reset_index(),
        "ranking_pairs": result.ranked_pairs,
        "differences_vs_baseline": result.differences,
        "sweep": result.sweep, "optimal_threshold": result.optimum,
        "falsification": result.falsification,
        **({} if result.paths is None else {"paths": paths_dict(result.paths)}),
    }


def one_path_order(with_paths: bool) -> str:
    """What the one-path ranking rests on: the window's calendar years."""
    return (RANKING_BASIS
            + ("; the ranking across many paths stands beside it"
               if with_paths else "; --paths-length N ranks the rules across many paths"))


def paths_dict(paths: PathComparison) -> dict[str, object]:
    """JSON form of the many-path comparison."""
    st = paths.stats
    return {"description": paths.describe(), "n_paths": st.n_paths, "n_starts": st.n_starts,
            "block_starts": st.block_starts, "n_blocks": st.n_blocks,
            "settings": dataclasses.asdict(paths.settings),
            "ranking": st.ranking.reset_index(), "summary": st.summary,
            "differences": st.differences, "paths": paths.runs.table()}


def paths_report(result: Comparison) -> dict[str, Any]:
    """The report page's many-path section (nothing without paths)."""
    if result.paths is None:
        return {}
    return {"paths_ranking": result.paths.stats.ranking,
            "paths_summary": result.paths.stats.summary,
            "paths_description": result.paths.describe()}


def show_paths(paths: PathComparison) -> None:
    """Print the many-path tables: metrics with intervals, ranking, P(beats)."""
    st = paths.stats
    console.print(paths.describe(), markup=False, soft_wrap=True)
    summary = st.summary.set_index(["config", "metric"])
    names = list(st.ranking.index)

    def cell(name: str, metric: str, scale: float, unit: str, digits: int) -> str:
        row = summary.loc[(name, metric), ["mean", "low", "high"]].to_numpy(dtype=float)
        mean, low, high = (scale * float(v) for v in row)
        return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]{unit}"

    shown = pd.DataFrame({
        "rank [95%]": [f"{k} [{lo}-{hi}]" for k, lo, hi in zip(
            st.ranking["rank"], st.ranking["rank_low"], st.ranking["rank_high"], strict=True)],
        "score": [cell(n, "score", 1e4, " bps", 1) for n in names],
        "P(best)": [pct(x, 0) for x in st.ranking["p_best"]],
        "TE": [cell(n, "te_annual", 100.0, "%", 2) for n in names],
        "cost/yr": [cell(n, "cost_per_year", 1e4, " bps", 1) for n in names],
        "turnover/yr": [cell(n, "turnover_per_year", 100.0, "%", 1) for n in names],
        "Sharpe − ref": [cell(n, "sharpe_diff", 1.0, "", 3) for n in names],
        "cannot be told apart from": [t or "-" for t in st.ranking["tied_with"]]},
        index=pd.Index(names, name="policy"))
    console.print(frame_table(shown, f"Across {st.n_paths} paths: mean [95% interval, "
                                     f"G = {st.n_blocks:.1f} blocks of start dates]"))
    d = st.differences[st.differences["metric"] == "score"]
    pairs = pd.DataFrame({
        "score a − b": [f"{1e4 * e:+.1f} [{1e4 * lo:+.1f}, {1e4 * hi:+.1f}] bps"
                        for e, lo, hi in zip(d["estimate"], d["low"], d["high"], strict=True)],
        "P(a beats b)": [pct(x, 0) for x in d["p_a_better"]],
        "paths where a beats b": [pct(x, 0) for x in d["share_of_paths"]]},
        index=pd.Index([f"{a} vs {b}" for a, b in zip(d["a"], d["b"], strict=True)],
                       name="a vs b"))
    console.print(frame_table(pairs, "Pairs across paths (γ/2·TE² + cost/yr)"))


def show(result: Comparison) -> None:
    """Print the comparison tables."""
    r, m = result.result, result.metrics
    console.print(f"[bold]Backtest {pd.Timestamp(r.dates[0]).date()} .. "
                  f"{pd.Timestamp(r.dates[-1]).date()}[/] ({len(r.dates)} trading days; "
                  "reference: the target rebalanced daily at no cost)")
    console.print(f"starting NAV {usd(r.initial_nav_usd)}: {r.initial_nav_source}",
                  markup=False)
    for item in r.notices:
        console.print(f"{item.flag.value}: {item.detail}", markup=False, soft_wrap=True)
    shown = pd.DataFrame({
        "TE": [f"{pct(t)} [{pct(lo)}, {pct(hi)}]" for t, lo, hi in
               zip(m["te_annual"], m["te_low"], m["te_high"], strict=True)],
        "cost/yr": [f"{num(1e4 * c, 1)} [{num(1e4 * lo, 1)}, {num(1e4 * hi, 1)}] bps"
                    for c, lo, hi in zip(m["cost_per_year"], m["cost_low"], m["cost_high"],
                                         strict=True)],
        "turnover/yr": [pct(x, 1) for x in m["turnover_per_year"]],
        "rebalances": [num(x, 0) for x in m["n_rebalances"]],
        "return": [pct(x) for x in m["return_annual"]],
        "Sharpe − ref": [num(x, 3) for x in m["sharpe_diff"]],
        "max drift": [pct(x, 1) for x in m["max_drift"]],
        "final NAV": [usd(x) for x in m["final_nav_usd"]],
    }, index=pd.Index(m.index, name="policy"))
    console.print(frame_table(shown, "Policies (95% block-bootstrap intervals)"))
    console.print(frame_table(ranking_view(result.ranked),
                              f"Ranking over the window's {years_of(result.ranked)} calendar "
                              "years: mean [95% interval]"))
    console.print(one_path_order(result.paths is not None), markup=False, soft_wrap=True)
    if len(result.differences):
        d = result.differences
        rows = d[d["metric"].isin(["te_annual", "cost_per_year"])].copy()
        scale = rows["metric"].map({"te_annual": 100.0, "cost_per_year": 1e4})
        unit = rows["metric"].map({"te_annual": "pp", "cost_per_year": "bps"})
        rows["difference"] = [f"{e * s:+.3f} [{lo * s:+.3f}, {hi * s:+.3f}] {u}" for e, lo, hi, s, u
                              in zip(rows["estimate"], rows["low"], rows["high"], scale, unit,
                                     strict=True)]
        out = rows.set_index(["a", "metric"])[["difference"]]
        out.index = [f"{a} − {rows['b'].iloc[0]}: {met}" for a, met in out.index]
        console.print(frame_table(out, "Differences to the baseline (paired block bootstrap)"))
    if len(result.falsification):
        console.print(frame_table(falsification_view(result.falsification),
                                  "Falsification test: threshold vs calendar rebalancing"))
        for line in falsification_lines(result.falsification):
            console.print(line, markup=False, soft_wrap=True)
    if result.optimum is not None:
        console.print(frame_table(optimum_view(result.optimum),
                                  "Empirical optimal threshold vs the corrected band"))
    if result.paths is not None:
        show_paths(result.paths)
    if result.theory is not None:
        t = result.theory
        console.print(pairs_table([("one-way cost k", f"{num(1e4 * t.one_way_cost, 1)} bps"),
                                   ("portfolio volatility", pct(t.portfolio_vol)),
                                   ("drift volatility s (along the drift direction)",
                                    pct(t.drift_vol)),
                                   ("tracking penalty λ", num(t.tracking_penalty, 4))],
                                  title="Inputs of the theoretical band"))


def years_of(ranked: pd.DataFrame) -> int:
    """``G``, the calendar years the one-path ranking rests on."""
    return int(ranked["n_years"].iloc[0]) if len(ranked) else 0


def ranking_view(ranked: pd.DataFrame) -> pd.DataFrame:
    """The one-path ranking for a terminal: rank interval, mean yearly score with its
    interval, the whole-window score, the rules it cannot be told apart from."""
    return pd.DataFrame({
        "rank [95%]": [f"{k} [{lo}-{hi}]" for k, lo, hi in
                       zip(ranked["rank"], ranked["rank_low"], ranked["rank_high"],
                           strict=True)],
        "yearly score": [f"{num(1e4 * x, 1)} [{num(1e4 * lo, 1)}, {num(1e4 * hi, 1)}] bps"
                         if lo == lo else f"{num(1e4 * x, 1)} bps, no interval (G < 2)"
                         for x, lo, hi in zip(ranked["score"], ranked["score_low"],
                                              ranked["score_high"], strict=True)],
        "window score": [f"{num(1e4 * x, 1)} bps" for x in ranked["window_score"]],
        "cannot be told apart from": [t or "-" for t in ranked["tied_with"]]},
        index=pd.Index(ranked.index, name="policy"))


def falsification_view(table: pd.DataFrame) -> pd.DataFrame:
    """The falsification criterion per threshold / calendar pair, for a terminal.

    A rule fails if threshold rebalancing does not reduce TE versus calendar (the paired
    95% interval of the TE difference is not below 0), or if its extra cost per year
    exceeds the TE reduction (utility form ``(γ/2)(TE_cal² − TE_thr²)``; the
    methodology's own form ``TE_cal − TE_thr`` beside it): the 95% interval of the mean
    yearly excess across the window's ``G`` calendar years lies above 0 (below: it holds;
    holding 0: undecided).
    """
    return pd.DataFrame({
        "TE threshold": [pct(x) for x in table["te_threshold"]],
        "TE calendar": [pct(x) for x in table["te_calendar"]],
        "TE difference [95%]": [f"{100 * e:+.3f} [{100 * lo:+.3f}, {100 * hi:+.3f}] pp"
                                for e, lo, hi in zip(table["te_diff"], table["te_diff_low"],
                                                     table["te_diff_high"], strict=True)],
        "extra cost/yr": [f"{1e4 * x:+.2f} bps" for x in table["cost_diff"]],
        "TE gain/yr (γ/2)ΔTE²": [f"{1e4 * 0.5 * g * (c**2 - t**2):+.2f} bps" for g, c, t in
                                 zip(table["tracking_aversion"], table["te_calendar"],
                                     table["te_threshold"], strict=True)],
        "excess: cost − gain [95%]": [
            f"{1e4 * e:+.2f} [{1e4 * lo:+.2f}, {1e4 * hi:+.2f}] bps" if lo == lo
            else f"{1e4 * e:+.2f} bps, no interval" for e, lo, hi in
            zip(table["excess_mean"], table["excess_low"], table["excess_high"], strict=True)],
        "years (G)": [num(g, 0) for g in table["n_years"]],
    }, index=pd.Index([f"{t} vs {c}" for t, c in zip(table["threshold"], table["calendar"],
                                                     strict=True)], name="rules"))


def falsification_lines(table: pd.DataFrame) -> list[str]:
    """One verdict line per pair (utility form, and the methodology's form when it differs)."""
    out = []
    for _, row in table.iterrows():
        line = f"verdict, {row['threshold']} vs {row['calendar']}: {row['verdict']}"
        if not row["threshold_reduces_te"]:
            line += " (the 95% interval of the TE difference is not below 0)"
        elif row["n_years"] < 2:
            line += (" (fewer than two calendar years of at least 126 days: no interval of "
                     "the excess cost; a longer window gives one)")
        if row["verdict_seed"] != row["verdict"]:
            line += f" (with the TE reduction in percent, the methodology's form: " \
                    f"{row['verdict_seed']})"
        out.append(line)
    return out


def cost_setting(row: pd.Series) -> str:
    """A sweep row's cost setting in words: a flat level, or the model with its regimes."""
    scale = _value(row.get("cost_scale"))
    scaled = "" if scale is None or scale == 1.0 else f" x{scale:g}"
    flat = _value(row.get("flat_cost_bps"))
    if flat is not None:
        return f"flat {flat:g} bps{scaled}"
    model = str(row.get("impact_model") or "model").replace("_", " ")
    regimes = [_value(row.get(f"vix_mult_{k}")) for k in ("low", "mid", "high")]
    vix = ("" if any(v is None for v in regimes)
           else " VIX x" + "/".join(f"{v:g}" for v in regimes if v is not None))
    return f"{model}{vix}{scaled}"


def optimum_view(optimum: pd.DataFrame) -> pd.DataFrame:
    """The optimum table for a terminal: one row per cost setting (and rule, when several)."""
    rules = [f"{row['trigger']} / {row['destination']}" for _, row in optimum.iterrows()]
    labels = [cost_setting(row) for _, row in optimum.iterrows()]
    if len(set(rules)) > 1:
        labels = [f"{rule}: {label}" for rule, label in zip(rules, labels, strict=True)]
    edge = optimum["at_grid_edge"].astype(bool).to_numpy()
    return pd.DataFrame({
        "optimal threshold": [pct(h, 1) + (" (grid edge)" if e else "")
                              for h, e in zip(optimum["optimal_threshold"], edge, strict=True)],
        "TE": [pct(x) for x in optimum["te_annual"]],
        "cost/yr": [f"{num(1e4 * x, 1)} bps" for x in optimum["cost_per_year"]],
        "cost k": [f"{num(1e4 * x, 1)} bps" for x in optimum["one_way_cost"]],
        "corrected half-band": [pct(x, 1) for x in optimum["half_band"]],
        "square-root formula": [pct(x, 1) for x in optimum["square_root_threshold"]],
        "empirical / band": [num(x, 2) for x in optimum["empirical_over_band"]],
        "thresholds": [num(x, 0) for x in optimum["n_thresholds"]],
        "not told apart (95%)": [not_told_apart_cell(t, g) for t, g in
                                 zip(optimum.get("not_told_apart", [None] * len(optimum)),
                                     optimum.get("n_years", [0] * len(optimum)),
                                     strict=True)],
    }, index=pd.Index(labels, name=f"{rules[0]}: cost setting" if len(set(rules)) == 1
                      else "rule: cost setting"))


def not_told_apart_cell(thresholds: object, n_years: object) -> str:
    """The thresholds not told apart from the optimum, with ``G``; or the label of a
    one-path point estimate."""
    if not isinstance(thresholds, str) or not thresholds:
        return "point estimate on one path, no interval"
    shown = ", ".join(pct(float(h), 1) for h in str(thresholds).split("/"))
    return f"{shown} (G = {int(n_years)} years)"  # type: ignore[call-overload]


def _value(value: object) -> float | None:
    """A float, or None when missing (None or NaN)."""
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if number != number else number
