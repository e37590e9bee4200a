"""Load every input of a command from files, or the embedded sample when none is given."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from driftwise.costs.inputs import read_cost_inputs
from driftwise.data.holdings import read_holdings
from driftwise.data.market import read_prices, read_risk_free, read_vix
from driftwise.data.master import read_security_master
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster
from driftwise.data.sample import load_sample
from driftwise.data.targets import read_targets
from driftwise.errors import ConfigError
from driftwise.flags import Flag, merge_notices

PathLike = str | Path


def load_inputs(
    *,
    holdings: PathLike | None = None,
    targets: PathLike | None = None,
    prices: PathLike | None = None,
    volumes: PathLike | None = None,
    master: PathLike | None = None,
    vix: PathLike | None = None,
    risk_free: PathLike | None = None,
    lots: PathLike | None = None,
    cost_file: PathLike | None = None,
    last_rebalance: str | pd.Timestamp | None = None,
    today: pd.Timestamp | None = None,
    accept_jumps: Sequence[str] = (),
) -> Inputs:
    """Read and validate the inputs of one portfolio.

    With no ``holdings`` the embedded sample is used (its own targets, master, prices and
    VIX); any other file given alongside then replaces the sample's part.
    ``accept_jumps`` (``TICKER:YYYY-MM-DD``) are price jumps the user knows are real.

    Raises
    ------
    ConfigError
        ``holdings`` given without ``prices`` (there is nothing to value them with).
    DataError
        Any file fails validation.
    """
    if holdings is None:
        base = load_sample()
        if prices is not None:
            raise ConfigError("--prices needs --holdings: the sample has its own prices")
    else:
        if prices is None:
            raise ConfigError("--holdings needs --prices (daily closes to value the holdings)")
        market = read_prices(prices, volumes=volumes, today=today, accept_jumps=accept_jumps)
        base = Inputs(
            holdings=read_holdings(holdings, lots=lots, as_of=None, today=today),
            targets=None,
            master=SecurityMaster.empty(),
            market=market,
            last_rebalance=None,
        )
    market = with_vix(base.market, vix, today)
    if risk_free is not None:
        rates, notes = read_risk_free(risk_free, today=today)
        market = dataclasses.replace(market, risk_free_annual=rates,
                                     notices=merge_notices(market.notices, notes))
    return Inputs(
        holdings=base.holdings,
        targets=read_targets(targets) if targets is not None else base.targets,
        master=read_security_master(master) if master is not None else base.master,
        market=market,
        last_rebalance=(pd.Timestamp(last_rebalance).normalize() if last_rebalance is not None
                        else base.last_rebalance),
        costs=read_cost_inputs(cost_file, today=today) if cost_file is not None else base.costs,
    )


def load_backtest_inputs(
    *,
    prices: PathLike | None = None,
    targets: PathLike | None = None,
    volumes: PathLike | None = None,
    master: PathLike | None = None,
    vix: PathLike | None = None,
    cost_file: PathLike | None = None,
    holdings: PathLike | None = None,
    today: pd.Timestamp | None = None,
    accept_jumps: Sequence[str] = (),
) -> Inputs:
    """Inputs of a backtest: prices and targets (holdings only to start from them).

    With no ``prices`` the sample's market is used (and its targets unless ``targets`` is
    given); with ``prices``, ``targets`` is required.

    Raises
    ------
    ConfigError
        ``prices`` without ``targets``.
    """
    if prices is None:
        base = load_sample()
        market = base.market
    else:
        if targets is None:
            raise ConfigError("--prices needs --targets (the allocation to backtest)")
        market = read_prices(prices, volumes=volumes, today=today, accept_jumps=accept_jumps)
        base = Inputs(holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=0.0),
                      targets=None, master=SecurityMaster.empty(), market=market)
    market = with_vix(market, vix, today)
    return Inputs(
        holdings=read_holdings(holdings, today=today) if holdings is not None else base.holdings,
        targets=read_targets(targets) if targets is not None else base.targets,
        master=read_security_master(master) if master is not None else base.master,
        market=market,
        costs=read_cost_inputs(cost_file, today=today) if cost_file is not None else base.costs,
    )


def with_vix(market: MarketData, vix: PathLike | None, today: pd.Timestamp | None) -> MarketData:
    """``market`` with the VIX of file ``vix`` (replacing any proxy and its flag)."""
    if vix is None:
        return market
    series, notes = read_vix(vix, today=today)
    kept = (n for n in market.notices if n.flag is not Flag.VIX_PROXY)
    return dataclasses.replace(market, vix=series, notices=merge_notices(kept, notes))
