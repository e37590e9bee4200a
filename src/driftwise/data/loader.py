"""Load every input of a command from files, or the embedded sample when none is given.

When no targets are given, :func:`default_targets` builds them from
``portfolio.default_target``: equal weights, or market-cap weights from the security
master, flagged "no target specified".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from driftwise.data._table import Source
from driftwise.data.costs import read_cost_inputs
from driftwise.data.holdings import read_holdings
from driftwise.data.market import read_prices, read_risk_free, read_vix
from driftwise.data.master import read_security_master
from driftwise.data.model import (
    DefaultTarget,
    Holdings,
    Inputs,
    MarketData,
    SecurityMaster,
    TargetLevel,
    Targets,
)
from driftwise.data.sample import load_sample, sample_file
from driftwise.data.targets import read_targets
from driftwise.errors import ConfigError, DataError
from driftwise.flags import Flag, merge_notices, notice

PathLike = Source
"""A file path, or a DataFrame with the file's columns (library use)."""


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
    default_target: DefaultTarget | None = None,
    account: str | None = None,
    every_account: bool = False,
) -> Inputs:
    """Read and validate the inputs of one portfolio.

    With no ``holdings`` the embedded sample is used (its own targets, master, prices and
    VIX); any other file given alongside then replaces the sample's part, and ``lots``
    split the sample's positions into lots (they must sum to them).
    ``accept_jumps`` (``TICKER:YYYY-MM-DD``) are price jumps the user knows are real.
    Without targets, ``default_target`` (``portfolio.default_target``) builds them over
    the held tickers (:func:`default_targets`); None leaves them out (the planner then
    uses equal weights). ``account`` picks one account of a holdings file naming several;
    ``every_account`` reads them all as one book (see
    :func:`~driftwise.data.holdings.read_holdings`).

    Raises
    ------
    ConfigError
        ``holdings`` given without ``prices`` (there is nothing to value them with), or
        ``prices`` or ``volumes`` without ``holdings`` (the sample has its own).
    DataError
        Any file fails validation.
    """
    if holdings is None:
        if prices is not None:
            raise ConfigError("--prices needs --holdings: the sample has its own prices")
        if volumes is not None:
            raise ConfigError("--volumes needs --holdings and --prices: the sample has its "
                              "own volumes")
        base = load_sample()
        if lots is not None or account is not None:  # the sample's positions, in these lots
            base = dataclasses.replace(base, holdings=read_holdings(
                sample_file("holdings.csv"), lots=lots, as_of=None,
                today=base.market.last_date, account=account, every_account=every_account))
    else:
        if prices is None:
            raise ConfigError("--holdings needs --prices (daily closes to value the holdings)")
        market = read_prices(prices, volumes=volumes, today=today, accept_jumps=accept_jumps)
        base = Inputs(
            holdings=read_holdings(holdings, lots=lots, as_of=None, today=today,
                                   account=account, every_account=every_account),
            targets=None,
            master=SecurityMaster.empty(),
            market=market,
            last_rebalance=None,
        )
    market = with_vix(base.market, vix, today)
    market = with_risk_free(market, risk_free, today)
    out = Inputs(
        holdings=base.holdings,
        targets=read_targets(targets) if targets is not None else base.targets,
        master=read_security_master(master) if master is not None else base.master,
        market=market,
        last_rebalance=(pd.Timestamp(last_rebalance).normalize() if last_rebalance is not None
                        else base.last_rebalance),
        costs=read_cost_inputs(cost_file, today=today) if cost_file is not None else base.costs,
    )
    return out if default_target is None else with_default_targets(out, default_target)


def load_backtest_inputs(
    *,
    prices: PathLike | None = None,
    targets: PathLike | Sequence[PathLike] | None = None,
    volumes: PathLike | None = None,
    master: PathLike | None = None,
    vix: PathLike | None = None,
    cost_file: PathLike | None = None,
    holdings: PathLike | None = None,
    today: pd.Timestamp | None = None,
    accept_jumps: Sequence[str] = (),
    default_target: DefaultTarget | None = None,
    risk_free: PathLike | None = None,
    market: MarketData | None = None,
    target_versions: Sequence[Targets] = (),
) -> Inputs:
    """Inputs of a backtest: prices and targets (holdings only to start from them).

    ``targets``: one file, or a list of files, each one version of the targets with its
    own ``effective_date`` (the file :func:`~driftwise.data.targets.read_targets` reads,
    as ``driftwise import`` stores one version per file); several are the run's
    ``target_versions``, switching on their dates, and ``targets`` is the one that takes
    effect first; one applies to the whole window (its date ignored).
    ``target_versions``: versions already read (the record's), likewise.
    ``market``: prices already read (the record's), instead of ``prices``.

    ``risk_free`` (``date, rate_annual``): the rate cash earns (and the Sharpe ratio's);
    without it the sample's and the files' cash earns nothing.

    With no ``prices`` the sample's market is used (and its targets unless ``targets`` is
    given); with ``prices`` and no ``targets``, ``default_target``
    (``portfolio.default_target``) builds them over every ticker of the prices file
    (:func:`default_targets`).

    Raises
    ------
    ConfigError
        ``prices`` with neither ``targets`` nor ``default_target``.
    DataError
        A market-cap default target with a ticker whose market cap is unknown.
    """
    files: list[PathLike] = (list(targets) if isinstance(targets, list | tuple) else []
                             if targets is None else [cast(PathLike, targets)])
    versions = [read_targets(f) for f in files] if len(files) > 1 else list(target_versions)
    if prices is None and market is None:
        if volumes is not None:
            raise ConfigError("--volumes needs --prices: the sample has its own volumes")
        base = load_sample()
        market = base.market
    else:
        if not files and not versions and default_target is None:
            raise ConfigError("--prices needs --targets (the allocation to backtest), or "
                              "portfolio.default_target in the --config file")
        if market is None:
            assert prices is not None
            market = read_prices(prices, volumes=volumes, today=today,
                                 accept_jumps=accept_jumps)
        base = Inputs(holdings=Holdings(shares=pd.Series(dtype=float), cash_usd=0.0),
                      targets=None, master=SecurityMaster.empty(), market=market)
    market = with_vix(market, vix, today)
    market = with_risk_free(market, risk_free, today)
    info = read_security_master(master) if master is not None else base.master
    target = (first_version(versions) if versions
              else read_targets(files[0]) if files else base.targets)
    if target is None and default_target is not None:
        target = default_targets(market.prices.columns, info, default_target, what="priced")
    return Inputs(
        holdings=read_holdings(holdings, today=today) if holdings is not None else base.holdings,
        targets=target,
        master=info,
        market=market,
        costs=read_cost_inputs(cost_file, today=today) if cost_file is not None else base.costs,
        target_versions=tuple(versions) if len(versions) > 1 else (),
    )


def first_version(versions: Sequence[Targets]) -> Targets:
    """The version that takes effect first (one without an effective date before all)."""
    return min(versions, key=lambda v: pd.Timestamp.min if v.effective_date is None
               else pd.Timestamp(v.effective_date))


def last_rebalance_after(inputs: Inputs, as_of: str | pd.Timestamp | None
                         ) -> pd.Timestamp | None:
    """The as-of date (default: the last price date) when the last rebalance is after it.

    None when the last rebalance is unknown or not after the as-of date; a plan or a
    monitor refuses the other case.
    """
    last = inputs.last_rebalance
    day = pd.Timestamp(as_of) if as_of is not None else inputs.market.last_date
    return None if last is None or last <= day else day


_STR = pd.Index(["a"]).dtype
"""The dtype pandas gives an index of Python strings."""


def ticker_index(listed: list[str], *given: tuple[pd.Index, list[str]] | None) -> pd.Index:
    """``pd.Index(listed, name="ticker")``: one of the ``given`` indexes (with their
    ``tolist()``) when it is that already (the holdings' or the targets' own tickers,
    as with a default target over the holdings), else a new one (building a string index
    costs some 0.2 ms)."""
    if all(type(t) is str for t in listed):
        for pair in given:
            if pair is not None and pair[1] == listed and pair[0].name == "ticker" \
                    and pair[0].dtype == _STR and type(pair[0]) is pd.Index:
                return pair[0]
    return pd.Index(listed, name="ticker")


def with_default_targets(inputs: Inputs, how: DefaultTarget) -> Inputs:
    """``inputs`` with :func:`default_targets` over the held tickers when it has no targets."""
    if inputs.targets is not None:
        return inputs
    held = inputs.holdings.shares
    # the mask as an array, and none when every ticker is held: indexing a string index
    # by a boolean series costs five times more, by an array about as much as a frame
    nonzero = held.to_numpy() != 0
    return dataclasses.replace(inputs, targets=default_targets(
        held.index if nonzero.all() else held.index[nonzero], inputs.master, how,
        what="held"))


def default_targets(tickers: Sequence[str] | pd.Index, master: SecurityMaster,
                    how: DefaultTarget, *, what: str) -> Targets:
    """Targets when none are given, flagged "no target specified".

    Parameters
    ----------
    tickers : sequence of str
        The tickers to spread the target over (the held ones for a plan, the priced ones
        for a backtest).
    master : SecurityMaster
        ``market_cap_usd`` of each ticker, for market-cap weights.
    how : DefaultTarget
        ``EQUAL``: ``1/n`` each; ``MARKET_CAP``: ``cap_i / Σ cap``. No cash target.
    what : str
        How the tickers are described in the flag ("held", "priced").

    Raises
    ------
    DataError
        ``MARKET_CAP`` and a ticker without a positive market cap in the master (named
        with the field ``market_cap_usd`` and the setting that asked for it).
    """
    listed = tickers.tolist() if isinstance(tickers, pd.Index) else list(tickers)
    names = [str(t) for t in listed]
    # the tickers' own index when it is the one built here (a string index costs 0.2 ms)
    index = ticker_index(names, (tickers, listed) if isinstance(tickers, pd.Index) else None)
    if len(index) == 0:
        raise DataError("no ticker to spread a default target over", file=master.source,
                        expected=f"at least one {what} ticker", found="none")
    if how is DefaultTarget.MARKET_CAP:
        caps = master.frame["market_cap_usd"].reindex(index).astype(float)
        missing = index[~(caps > 0)]
        if len(missing):
            raise DataError(
                "no market cap for the default target", file=master.source,
                field="market_cap_usd",
                expected=f"a market cap > 0 for every {what} ticker "
                         '(portfolio.default_target = "market_cap"; give --master, or targets)',
                found="none for " + ", ".join(map(str, missing)))
        weights = caps / caps.sum()
        weights = weights.rename("target_weight")
    else:
        weights = pd.Series(np.full(len(index), 1.0 / len(index)), index=index,
                            name="target_weight", copy=False)
    label = "market-cap" if how is DefaultTarget.MARKET_CAP else "equal"
    flag = notice(Flag.NO_TARGET, f"no target specified: {label} weights over the {what} "
                  f"tickers (portfolio.default_target = \"{how.value}\")", names)
    nan = pd.Series(np.full(len(index), np.nan), index=index, copy=False)
    return Targets(level=TargetLevel.ASSET, weights=weights,
                   cash_weight=0.0, band_abs=nan, band_rel=nan,
                   source=f"default target ({label} weights)", notices=(flag,))


def with_risk_free(market: MarketData, risk_free: PathLike | None,
                   today: pd.Timestamp | None) -> MarketData:
    """``market`` with the risk-free rate of file ``risk_free`` (``date, rate_annual``)."""
    if risk_free is None:
        return market
    rates, notes = read_risk_free(risk_free, today=today)
    return dataclasses.replace(market, risk_free_annual=rates,
                               notices=merge_notices(market.notices, notes))


def with_vix(market: MarketData, vix: PathLike | None, today: pd.Timestamp | None) -> MarketData:
    """``market`` with the VIX of file ``vix`` (replacing any proxy and its flag)."""
    if vix is None:
        return market
    series, notes = read_vix(vix, today=today)
    kept = (n for n in market.notices if n.flag is not Flag.VIX_PROXY)
    return dataclasses.replace(market, vix=series, notices=merge_notices(kept, notes))
