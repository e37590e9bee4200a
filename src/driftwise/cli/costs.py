"""``driftwise costs``: what a trade list costs, component by component."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from driftwise.cli._inputs import ConfigOption, InputOptions, input_options, load_cli_config
from driftwise.cli._output import (
    console,
    frame_table,
    notices_table,
    num,
    pairs_table,
    print_csv,
    print_json,
    usd,
)
from driftwise.config import ImpactModel
from driftwise.config.assemble import cost_params
from driftwise.costs import build_cost_inputs, cost_notices, cost_table, short_notices
from driftwise.data.loader import load_inputs
from driftwise.data.market import vix_reading
from driftwise.data.trades import read_trades
from driftwise.flags import Flag, Notice, merge_notices
from driftwise.state import build_state


def register(app: typer.Typer) -> None:
    """Add the ``costs`` command to ``app``."""
    app.command("costs")(costs_command)


def costs_command(
    holdings: InputOptions.holdings = None,
    targets: InputOptions.targets = None,
    prices: InputOptions.prices = None,
    volumes: InputOptions.volumes = None,
    master: InputOptions.master = None,
    vix: InputOptions.vix = None,
    as_of: InputOptions.as_of = None,
    trades: Annotated[Path | None, typer.Option(
        help="Trade list (ticker + trade_usd, or shares, or side + shares). Default: a full "
        "rebalance of the portfolio to its target.", exists=False, dir_okay=False)] = None,
    cost_file: InputOptions.cost_file = None,
    config: ConfigOption = None,
    impact_model: Annotated[ImpactModel | None, typer.Option(
        help="Override the impact model.")] = None,
    cost_bps: Annotated[float | None, typer.Option(
        help="Flat all-in cost in bps of traded value instead of the model.", min=0)] = None,
    vix_level: Annotated[float | None, typer.Option(
        help="VIX level to price at, index points (default: the VIX of --vix on the as-of "
        "date).", min=0)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Per-asset table as CSV.")] = False,
) -> None:
    """Price a trade list: half-spread, commission, impact, borrow; liquidity days; flags.

    A sale larger than the position opens a short: it is flagged, and the borrow of the
    short it adds is charged over the benefit horizon ([policy] benefit_horizon_days).
    """
    cfg = load_cli_config(config)
    overrides: dict[str, object] = {}
    if impact_model is not None:
        overrides["costs.impact_model"] = impact_model
    if cost_bps is not None:
        overrides["costs.flat_cost_bps"] = cost_bps
    if overrides:
        cfg = cfg.with_overrides(overrides, source="command line")
    params = cost_params(cfg)
    inputs = load_inputs(**input_options(holdings=holdings, targets=targets, prices=prices,
                                         volumes=volumes, master=master, vix=vix,
                                         cost_file=cost_file,
                                         default_target=cfg.portfolio.default_target))
    state = build_state(inputs.holdings, inputs.targets, inputs.market, inputs.master,
                        as_of=as_of)
    prices_now = pd.Series(state.prices_usd, index=state.tickers)
    if trades is None:
        trade = pd.Series((state.target_weights - state.weights) * state.nav_usd,
                          index=state.tickers, name="trade_usd")
        what = f"full rebalance to target on {state.as_of.date()}"
    else:
        trade = read_trades(trades, prices_now)
        what = f"trade list {trades}"
    universe = state.tickers.union(trade.index)
    cost_inputs, notes = build_cost_inputs(universe, inputs.market.prices, inputs.market.volumes,
                                           inputs.master, inputs.costs, as_of=state.as_of,
                                           params=params)
    level, vix_notes = ((vix_level, ()) if vix_level is not None
                        else vix_reading(inputs.market.vix, state.as_of))
    trade = trade.reindex(universe, fill_value=0.0)
    before = pd.Series(state.values_usd, index=state.tickers).reindex(universe, fill_value=0.0)
    horizon = float(cfg.policy.benefit_horizon_days)
    table = cost_table(trade, cost_inputs, params, vix=level, nav_usd=state.nav_usd,
                       position_after_usd=before + trade, position_before_usd=before,
                       holding_days=horizon)
    held = pd.Series(state.shares, index=state.tickers)
    flags = merge_notices(notes, short_notices(table["trade_shares"], held),
                          cost_notices(trade.to_numpy(), cost_inputs, params,
                                       position_after_usd=(before + trade).to_numpy()),
                          (n for n in inputs.market.notices if n.flag is Flag.VIX_PROXY),
                          vix_notes)
    totals = {
        "what": what, "as_of": state.as_of, "nav_usd": state.nav_usd, "vix": level,
        "impact_model": params.impact_model.value, "flat_cost_bps": params.flat_cost_bps,
        "traded_usd": float(table["trade_usd"].abs().sum()),
        "borrow_usd": float(table["borrow_usd"].sum()), "borrow_days": horizon,
        "total_usd": float(table["total_usd"].sum()),
        "total_bps_nav": float(1e4 * table["total_usd"].sum() / state.nav_usd),
    }
    if as_json:
        print_json({"totals": totals, "assets": table, "flags": list(flags)})
    elif as_csv:
        print_csv(table)
    else:
        _show(table, totals, flags)


def _show(table: pd.DataFrame, totals: dict[str, object], flags: tuple[Notice, ...]) -> None:
    shown = table[table["trade_usd"] != 0]
    columns = {"trade_usd": "trade USD", "spread_bps": "half-spread",
               "commission_bps": "commission", "impact_bps": "impact",
               "trading_bps": "total bps", "total_usd": "total USD",
               "liquidity_days": "liq. days", "flags": "flags"}
    if totals["flat_cost_bps"] is not None:
        columns = {"trade_usd": "trade USD", "flat_bps": "flat", "trading_bps": "total bps",
                   "total_usd": "total USD", "liquidity_days": "liq. days", "flags": "flags"}
    if (shown["borrow_usd"] > 0).any():
        columns = {**{k: v for k, v in columns.items() if k not in ("liquidity_days", "flags")},
                   "borrow_usd": "borrow USD", "liquidity_days": "liq. days", "flags": "flags"}
    console.print(frame_table(shown[list(columns)].rename(columns=columns),
                              f"Costs: {totals['what']} (bps of traded value)", {
        "trade USD": usd, "half-spread": _bps, "commission": _bps, "impact": _bps, "flat": _bps,
        "total bps": _bps, "total USD": usd, "borrow USD": _cents,
        "liq. days": lambda x: num(x, 2)},
        index_name="ticker"))
    vix = totals["vix"]
    console.print(pairs_table([
        ("traded (USD)", usd(totals["traded_usd"])),
        ("borrow of shorts opened (USD, "
         f"{num(totals['borrow_days'], 0)} trading days)", _cents(totals["borrow_usd"])),
        ("total cost (USD)", usd(totals["total_usd"])),
        ("total cost (bps of NAV)", num(totals["total_bps_nav"], 2)),
        ("NAV (USD)", usd(totals["nav_usd"])),
        ("impact model", str(totals["impact_model"])),
        ("VIX", "unknown (calm regime assumed)" if vix is None else num(vix, 1)),
    ], title="Total"))
    if flags:
        console.print(notices_table(flags))


def _bps(x: object) -> str:
    return num(x, 1)


def _cents(x: object) -> str:
    return num(x, 2)
