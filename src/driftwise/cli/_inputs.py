"""Input-file options shared by every command (one definition, many commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from driftwise.config import Config, default_config, load_config

_FILE = {"exists": False, "dir_okay": False, "show_default": False}


class InputOptions:
    """Annotated option types; a command declares ``holdings: InputOptions.holdings = None``."""

    holdings = Annotated[Path | None, typer.Option(
        help="Holdings CSV/Parquet (ticker, shares; lot level adds acquired, cost_basis_usd; "
        "a CASH row). Default: the embedded sample.", **_FILE)]
    targets = Annotated[Path | None, typer.Option(
        help="Targets (ticker|sector|asset_class, target_weight; optional band_abs, band_rel, "
        "effective_date).", **_FILE)]
    prices = Annotated[Path | None, typer.Option(
        help="Daily adjusted closes, long (date, ticker, close[, volume]) or wide.", **_FILE)]
    volumes = Annotated[Path | None, typer.Option(
        help="Daily volumes in shares, long or wide (if not in the prices file).", **_FILE)]
    master = Annotated[Path | None, typer.Option(
        help="Security master (ticker; optional sector, asset_class, market_cap_usd).", **_FILE)]
    vix = Annotated[Path | None, typer.Option(help="VIX closes (date, close).", **_FILE)]
    lots = Annotated[Path | None, typer.Option(
        help="Tax lots (ticker, shares, acquired, cost_basis_usd) to reconcile with "
        "position-level holdings.", **_FILE)]
    cost_file = Annotated[Path | None, typer.Option(
        help="Cost inputs (ticker, spread_bps, commission_bps or commission_per_share_usd, "
        "as_of[, borrow_bps_annual]).", **_FILE)]
    as_of = Annotated[str | None, typer.Option(
        help="As-of date (YYYY-MM-DD); default: the last price date.", show_default=False)]
    last_rebalance = Annotated[str | None, typer.Option(
        help="Date of the last rebalance (YYYY-MM-DD).", show_default=False)]


def input_options(**given: Any) -> dict[str, Any]:
    """Keyword arguments for :func:`driftwise.data.loader.load_inputs` from CLI options."""
    return {k: v for k, v in given.items() if v is not None}


ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="TOML configuration (see `driftwise config init`); defaults otherwise.",
    **_FILE)]


def load_cli_config(path: Path | None) -> Config:
    """The configuration file given, or the defaults."""
    return default_config() if path is None else load_config(path)
