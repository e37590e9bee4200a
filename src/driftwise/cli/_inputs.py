"""Input options shared by every command (one definition, many commands).

Every date option of every command goes through :func:`parse_date`: a value that is not
a calendar date in the form YYYY-MM-DD is a usage error (exit 2) naming the option and
the value, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from driftwise.cli._options import ConfigOption as ConfigOption
from driftwise.config import Config, accepted_jumps, default_config, load_config
from driftwise.data.jumps import parse_jump_key
from driftwise.data.loader import last_rebalance_after, load_inputs
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError

_FILE = {"exists": False, "dir_okay": False, "show_default": False}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: str) -> str:
    """A date option's value as ``YYYY-MM-DD``.

    Raises
    ------
    typer.BadParameter
        Not a calendar date written YYYY-MM-DD (typer adds the option's name; exit 2).
    """
    text = value.strip() if isinstance(value, str) else ""
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise typer.BadParameter(f"not a calendar date: {value!r} (expected YYYY-MM-DD, "
                             "e.g. 2024-01-31)")


def date_option(help: str) -> Any:
    """A ``--...`` date option parsed by :func:`parse_date`."""
    return typer.Option(help=help, parser=parse_date, metavar="YYYY-MM-DD", show_default=False)


def parse_accept_jump(value: str) -> str:
    """An ``--accept-jump`` value as ``TICKER:YYYY-MM-DD`` (usage error otherwise)."""
    try:
        ticker, day = parse_jump_key(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return f"{ticker}:{day.date()}"


class InputOptions:
    """Annotated option types; a command declares ``holdings: InputOptions.holdings = None``."""

    holdings = Annotated[Path | None, typer.Option(
        help="Holdings CSV/Parquet (ticker, shares; lot level adds acquired, cost_basis_usd; "
        "a CASH row). Default: the embedded sample.", **_FILE)]
    targets = Annotated[Path | None, typer.Option(
        help="Targets (ticker|sector|asset_class, target_weight; optional band_abs, band_rel, "
        "effective_date).", **_FILE)]
    prices = Annotated[Path | None, typer.Option(
        help="Daily closes, long (date, ticker, adj_close or close[, volume]; the adjusted "
        "close is used when present) or wide.", **_FILE)]
    volumes = Annotated[Path | None, typer.Option(
        help="Daily volumes in shares, long or wide (if not in the prices file).", **_FILE)]
    master = Annotated[Path | None, typer.Option(
        help="Security master (ticker; optional sector, asset_class, market_cap_usd).", **_FILE)]
    vix = Annotated[Path | None, typer.Option(help="VIX closes (date, close).", **_FILE)]
    risk_free = Annotated[Path | None, typer.Option(
        help="Risk-free rate (date, rate_annual as a fraction): the rate cash earns "
        "(unless backtest.cash_earns_risk_free = false) and the Sharpe ratio's.", **_FILE)]
    lots = Annotated[Path | None, typer.Option(
        help="Tax lots (ticker, shares, acquired, cost_basis_usd) to reconcile with "
        "position-level holdings.", **_FILE)]
    sales = Annotated[Path | None, typer.Option(
        help="Recent realized sales (ticker, sold, shares, proceeds_usd, cost_basis_usd): "
        "the loss sales a buy would wash and the gains realized this year.", **_FILE)]
    cost_file = Annotated[Path | None, typer.Option(
        help="Cost inputs (ticker, spread_bps, commission_bps or commission_per_share_usd, "
        "as_of[, borrow_bps_annual]).", **_FILE)]
    as_of = Annotated[str | None, date_option(
        "As-of date (YYYY-MM-DD); default: the last price date.")]
    last_rebalance = Annotated[str | None, date_option(
        "Date of the last rebalance (YYYY-MM-DD).")]
    accept_jump = Annotated[list[str] | None, typer.Option(
        "--accept-jump", parser=parse_accept_jump, metavar="TICKER:YYYY-MM-DD",
        help="A one-day price jump that is real, not an unadjusted split or a typo "
        "(repeatable; adds to data.accept_jumps of the configuration).", show_default=False)]


def input_options(**given: Any) -> dict[str, Any]:
    """Keyword arguments for :func:`driftwise.data.loader.load_inputs` from CLI options."""
    return {k: v for k, v in given.items() if v is not None}


def load_portfolio(cfg: Config, *, as_of: str | None, last_rebalance: str | None,
                   accept_jump: list[str] | None, account: str | None = None,
                   every_account: bool = False, **files: Path | None) -> Inputs:
    """The inputs of a portfolio command (plan, monitor, report).

    The files given (the embedded sample otherwise), the configuration's
    ``portfolio.last_rebalance`` and ``default_target`` when the options leave them out,
    the price jumps accepted by ``--accept-jump`` and ``data.accept_jumps``; a last
    rebalance after the as-of date is refused (:func:`check_last_rebalance`).
    ``account`` / ``every_account``: see :func:`driftwise.data.holdings.read_holdings`.
    """
    inputs = load_inputs(**input_options(
        **files, last_rebalance=last_rebalance or cfg.portfolio.last_rebalance,
        default_target=cfg.portfolio.default_target, account=account),
        every_account=every_account, accept_jumps=accepted_jumps(cfg, accept_jump))
    check_last_rebalance(inputs, as_of, last_rebalance)
    return inputs


def with_sales(inputs: Inputs, path: Path, as_of: str | None,
               accounts: Collection[str] | None = None) -> Inputs:
    """``inputs`` with the recent-sales file read (no sale after the as-of date; each
    ``account`` named one of ``accounts`` when given)."""
    import dataclasses

    from driftwise.data.sales import read_sales

    day = as_of if as_of is not None else inputs.market.prices.index[-1]
    return dataclasses.replace(inputs, sales=read_sales(path, as_of=day, accounts=accounts))



def load_cli_config(path: Path | None) -> Config:
    """The configuration file given, or the defaults."""
    return default_config() if path is None else load_config(path)


def check_last_rebalance(inputs: Inputs, as_of: str | None, option: str | None) -> None:
    """A last rebalance after the as-of date is refused.

    Raises
    ------
    typer.BadParameter
        When ``--last-rebalance`` (``option``) is after the as-of date (exit 2).
    ConfigError
        When the configuration's ``portfolio.last_rebalance`` is.
    """
    day, last = last_rebalance_after(inputs, as_of), inputs.last_rebalance
    if day is None or last is None:
        return
    where = "the as-of date" if as_of is not None else "the last price date (the as-of date)"
    if option is not None:
        raise typer.BadParameter(f"the last rebalance {option} is after {where} {day.date()}",
                                 param_hint="'--last-rebalance'")
    raise ConfigError(f"portfolio.last_rebalance = {last.date()} is after {where} "
                      f"{day.date()}")


def check_window(start: str | None, end: str | None) -> None:
    """``--start`` must come before ``--end`` (usage error otherwise)."""
    if start is not None and end is not None and start >= end:
        raise typer.BadParameter(f"{start} is not before --end {end}",
                                 param_hint="'--start'")


def record_url(db: str | None, cfg: Config) -> str:
    """The record's URL: ``--db``, the configuration, ``DRIFTWISE_DB``, the per-user file."""
    from driftwise.record.db import resolve_url

    return resolve_url(db, config_path=cfg.record.path, config_url=cfg.record.url)


SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", help="Address of a running Dask scheduler (tcp://HOST:PORT) to share a "
    "large run with its workers, which need driftwise installed (default cluster.scheduler, "
    "else a local cluster of --workers processes). The result does not depend on it.",
    show_default=False)]
