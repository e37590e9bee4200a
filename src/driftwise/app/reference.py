"""Reference simulator: one configuration, a plain loop over days, the planner every day.

It shares nothing with the engine but the planner (:func:`driftwise.app.plan.make_plan`) and
the book: each day it builds the :class:`~driftwise.data.model.Inputs` a portfolio manager
would have on that day (current shares and cash, market data cut at the day, the same
targets, master and cost file), asks for the plan, and applies the plan's trade list
(shares, side, USD, cost) to its holdings, a one-row :class:`~driftwise.policy.book.Book`
(:func:`~driftwise.policy.book.book_trades`, the one way trades enter a book). Slow (one
full plan a day, about 30 ms) and obviously right: the tests require the engine to match
it on every day.

Conventions, the same as the engine's (written again here, on purpose):
the start is at the target weights at the first close at no cost (whole shares rounded
toward zero under ``whole_shares``, the rest in cash) or from the holdings; from the second
day on, the cash held overnight earns the risk-free rate of the day before (``cash * (1 +
rf / 252)``, ``rf`` the last known annual rate, 0 when none; not under ``[backtest]
cash_earns_risk_free = false``), then the shorts held overnight pay ``borrow_bps_annual /
252`` of their value at the close from cash before the plan (the cost file's fee, else
``[costs] borrow_bps_annual``); the first day is ``first_day=True``; the targets'
effective date is dropped (one target version over the whole window), or, with
``target_versions``, each day's plan gets the version in force that day (the latest
effective date on or before it) with its date, so that the planner's own event rebalances
on a new version (at asset level or by group: a group version's planner splits its groups
each day); ``last_rebalance`` is the last day that traded. The reference portfolio
rebalances to the targets in force at every close at no cost; a group target's is split
over its members by the value of the reference's own holdings (equal within each group
on the first close at target), as the planner splits a group. A rebalance the plan
delays has waited 1 day on the next day, one more each further day it stays delayed
(:meth:`Book.end_day <driftwise.policy.book.Book.end_day>`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd

from driftwise._types import TRADING_DAYS
from driftwise.app.plan import Decision, Plan, make_plan
from driftwise.backtest.batches import starting_nav
from driftwise.backtest.engine import BacktestResult
from driftwise.calendar import DateLike, as_day
from driftwise.config import Config
from driftwise.config.policies import describe_configs, policy_name
from driftwise.costs import borrow_cost_usd
from driftwise.data.model import Holdings, Inputs, MarketData, TargetLevel, Targets
from driftwise.errors import ConfigError
from driftwise.policy.book import Book, Trades, book_trades


def _window(inputs: Inputs, config: Config, start: DateLike | None,
            end: DateLike | None) -> list[pd.Timestamp]:
    first = start if start is not None else config.backtest.start
    last = end if end is not None else config.backtest.end
    days = [pd.Timestamp(d) for d in inputs.market.prices.index
            if (first is None or d >= as_day(first)) and (last is None or d <= as_day(last))]
    if not days:
        raise ConfigError("reference backtest: the window holds no price date")
    return days


class _Closes:
    """Close of a ticker on a day, from the price table (plain lookups)."""

    def __init__(self, prices: pd.DataFrame, tickers: list[str]) -> None:
        self.values = prices.reindex(columns=tickers).to_numpy(dtype=np.float64)
        self.row = {pd.Timestamp(d): i for i, d in enumerate(prices.index)}
        self.col = {t: j for j, t in enumerate(tickers)}

    def __call__(self, day: pd.Timestamp, ticker: str) -> float:
        return float(self.values[self.row[day], self.col[ticker]])


def _cut_series(series: pd.Series | None, day: pd.Timestamp) -> pd.Series | None:
    return None if series is None else series.loc[:day]


def _cut(market: MarketData, day: pd.Timestamp) -> MarketData:
    """The market data a manager has at the close of ``day``."""
    volumes = None if market.volumes is None else market.volumes.loc[:day]
    return dataclasses.replace(market, prices=market.prices.loc[:day], volumes=volumes,
                               vix=_cut_series(market.vix, day),
                               risk_free_annual=_cut_series(market.risk_free_annual, day))


def _last_value(series: pd.Series | None, day: pd.Timestamp) -> float:
    """The last known value on or before ``day`` (0 when none)."""
    known = _cut_series(series, day)
    known = None if known is None else known.dropna()
    return 0.0 if known is None or known.empty else float(known.to_numpy(dtype=np.float64)[-1])


def _start(inputs: Inputs, config: Config, tickers: list[str], close: _Closes,
           day: pd.Timestamp) -> tuple[dict[str, float], float, pd.Timestamp | None]:
    if config.backtest.start_from_holdings:
        held = inputs.holdings.shares.to_dict()
        shares = {t: float(held.get(t, 0.0)) for t in tickers}
        return shares, float(inputs.holdings.cash_usd), inputs.last_rebalance
    assert inputs.targets is not None
    weights = _split(inputs.targets, inputs, tickers, {})  # groups: equal within each
    nav, _ = starting_nav(inputs, config.backtest.initial_nav_usd)
    shares, cash = {}, nav
    for t in tickers:
        price = close(day, t)
        n = float(weights.get(t, 0.0)) * nav / price
        if config.constraints.whole_shares:
            n = float(math.trunc(n))
        shares[t] = n
        cash -= n * price
    return shares, cash, day


def run_reference(inputs: Inputs, config: Config, *, start: DateLike | None = None,
                  end: DateLike | None = None) -> BacktestResult:
    """Simulate one configuration by calling the planner on every day of the window.

    Parameters, result and errors as :func:`~driftwise.backtest.engine.run_backtest`
    with one configuration.
    """
    if inputs.targets is None:
        raise ConfigError("reference backtest: targets are needed")
    days = _window(inputs, config, start, end)
    versions = _versions(inputs, days)
    held = list(inputs.holdings.tickers) if config.backtest.start_from_holdings else []
    named = {t for v in versions for t in (
        map(str, v.weights.index) if v.level is TargetLevel.ASSET else _members(inputs, v))}
    tickers = sorted(named | set(map(str, held)))
    inputs = dataclasses.replace(inputs, targets=versions[0])
    close = _Closes(inputs.market.prices, tickers)
    shares, cash, last = _start(inputs, config, tickers, close, days[0])
    book = Book.start(np.array([[shares[t] for t in tickers]]), np.array([cash]))
    fees = _borrow_fees(inputs, config, tickers)
    rows: list[dict[str, float]] = []
    rates = _rates(inputs, config, days)
    for k, day in enumerate(days):
        closes = np.array([close(day, t) for t in tickers])
        borrow = 0.0
        if k > 0:
            if rates is not None:
                book.cash_usd = book.cash_usd * (1.0 + rates[k - 1] / TRADING_DAYS)
            borrow = float(borrow_cost_usd(book.shares[0] * closes, fees, 1.0).sum())
            book.pay(np.array([borrow]))
        today = dataclasses.replace(
            inputs, holdings=Holdings(shares=pd.Series(book.shares[0], index=tickers,
                                                       name="shares"),
                                      cash_usd=float(book.cash_usd[0])),
            targets=versions[k], market=_cut(inputs.market, day), last_rebalance=last)
        plan = make_plan(today, config, as_of=day, pending_days=float(book.pending_days[0]),
                         first_day=k == 0, with_schedule=False)
        traded = len(book_trades(book, np.zeros(1, dtype=np.intp), _trades(plan, book, tickers)))
        book.end_day(np.array([plan.decision is Decision.DELAY]))
        if traded:
            last = day
        cash = float(book.cash_usd[0])
        nav = float((book.shares[0] * closes).sum()) + cash
        rows.append({"nav": nav, "cash": cash, "rebalanced": float(traded),
                     "traded": float(plan.trades["trade_usd"].abs().sum()),
                     "cost": float(plan.trades["cost_usd"].sum()) + borrow, "borrow": borrow,
                     "drift": plan.before["drift"], "post_drift": plan.after["drift"]})
    return _result(inputs, config, days, tickers, close, rows, rates, versions)


def _members(inputs: Inputs, targets: Targets) -> list[str]:
    """Every ticker of the security master in a group of ``targets``."""
    key = "sector" if targets.level is TargetLevel.SECTOR else "asset_class"
    groups = {str(g) for g in targets.weights.index}
    labels = inputs.master.frame[key]
    return [str(t) for t, g in labels.items() if g is not None and g == g and str(g) in groups]


def _split(targets: Targets, inputs: Inputs, tickers: list[str],
           values: dict[str, float]) -> dict[str, float]:
    """Asset targets of group targets: each group's weight over its members pro rata to
    their (non-negative) value, equally when the group holds nothing."""
    if targets.level is TargetLevel.ASSET:
        return {str(t): float(w) for t, w in targets.weights.items()}
    key = "sector" if targets.level is TargetLevel.SECTOR else "asset_class"
    labels = inputs.master.frame[key].to_dict()
    out: dict[str, float] = {}
    for group, weight in targets.weights.items():
        inside = [t for t in tickers if labels.get(t) is not None and str(labels[t]) == group]
        total = sum(max(values.get(t, 0.0), 0.0) for t in inside)
        for t in inside:
            share = max(values.get(t, 0.0), 0.0) / total if total > 0 else 1.0 / len(inside)
            out[t] = float(weight) * share
    return out


def _versions(inputs: Inputs, days: list[pd.Timestamp]) -> list[Targets]:
    """The targets of each day: the version in force (the latest effective date on or
    before the day, kept), or the one ``targets`` without its date."""
    assert inputs.targets is not None
    if not inputs.target_versions:
        return [dataclasses.replace(inputs.targets, effective_date=None)] * len(days)
    out = []
    for day in days:
        known = [v for v in inputs.target_versions
                 if v.effective_date is None or v.effective_date <= day]
        if not known:
            raise ConfigError(f"reference backtest: no target version in force on {day.date()}")
        out.append(max(known, key=lambda v: (v.effective_date is not None,
                                             v.effective_date or day)))
    return out


def _rates(inputs: Inputs, config: Config, days: list[pd.Timestamp]) -> list[float] | None:
    """The risk-free rate (annual) of each day, the last known on or before it (0 when
    none); None when cash earns nothing (turned off, or no rate but on the last day)."""
    if not config.backtest.cash_earns_risk_free:
        return None
    rates = [_last_value(inputs.market.risk_free_annual, d) for d in days]
    return rates if any(r != 0.0 for r in rates[:-1]) else None


def _borrow_fees(inputs: Inputs, config: Config, tickers: list[str]) -> np.ndarray:
    """Annual borrow fee (bps) per ticker: the cost file's, else the configured default."""
    default = config.costs.borrow_bps_annual
    frame = None if inputs.costs is None else inputs.costs.frame["borrow_bps_annual"]
    fees = [default if frame is None or t not in frame.index or np.isnan(frame[t])
            else float(frame[t]) for t in tickers]
    return np.array(fees, dtype=np.float64)


def _trades(plan: Plan, book: Book, tickers: list[str]) -> Trades:
    """The plan's trade list as trades of the book's one row: signed shares and USD by
    ticker, and the cash once they and their costs are paid."""
    trades = plan.trades
    sign = np.where(trades["side"] == "BUY", 1.0, -1.0)
    trade_shares = pd.Series(sign * trades["shares"].to_numpy(dtype=np.float64),
                             index=trades.index.astype(str))
    trade_usd = trades["trade_usd"].to_numpy(dtype=np.float64)
    post_cash = book.cash_usd - trade_usd.sum() - trades["cost_usd"].to_numpy(np.float64).sum()
    return Trades(
        trade_usd=pd.Series(trade_usd, index=trade_shares.index).reindex(
            tickers, fill_value=0.0).to_numpy()[None, :],
        trade_shares=trade_shares.reindex(tickers, fill_value=0.0).to_numpy()[None, :],
        post_cash_usd=post_cash)


def _reference_path(inputs: Inputs, config: Config, versions: list[Targets],
                    days: list[pd.Timestamp], tickers: list[str], close: _Closes, nav0: float,
                    rates: list[float] | None) -> list[float]:
    """Target weights (those in force on each day) rebalanced at every close at no cost;
    cash earns the rate of the day before each night (``rates``; None: nothing).

    Targets by group: the reference holds shares; at each close it splits each group's
    weight over the group's members by the value of its own shares, as the planner splits
    a group for a portfolio holding them (on the first close by the start's holdings: equal
    within each group at target), and buys the result."""
    path = [nav0]
    values: dict[str, float] = {}  # the reference's holdings' value at the close
    if config.backtest.start_from_holdings:
        shares, _, _ = _start(inputs, config, tickers, close, days[0])
        values = {t: n * close(days[0], t) for t, n in shares.items()}
    for k, (before, day) in enumerate(itertools.pairwise(days)):
        weights = _split(versions[k], inputs, tickers, values)
        growth = float(versions[k].cash_weight) * (
            1.0 if rates is None else 1.0 + rates[k] / TRADING_DAYS)
        for t in tickers:
            growth += float(weights.get(t, 0.0)) * (close(day, t) / close(before, t))
        path.append(path[-1] * growth)
        values = {t: path[-2] * float(weights.get(t, 0.0)) * close(day, t) / close(before, t)
                  for t in tickers}
    return path


def _result(inputs: Inputs, config: Config, days: list[pd.Timestamp], tickers: list[str],
            close: _Closes, rows: list[dict[str, float]],
            rates: list[float] | None, versions: list[Targets]) -> BacktestResult:
    def column(name: str) -> np.ndarray:
        return np.array([[r[name]] for r in rows], dtype=np.float64)
    if config.backtest.start_from_holdings:
        held = inputs.holdings.shares.to_dict()
        nav0 = float(inputs.holdings.cash_usd) + sum(float(held.get(t, 0.0)) * close(days[0], t)
                                                     for t in tickers)
    else:
        nav0, _ = starting_nav(inputs, config.backtest.initial_nav_usd)
    name = policy_name(config)
    return BacktestResult(
        dates=pd.DatetimeIndex(days), names=[name],
        describe=lambda: describe_configs([config], [name]),
        nav_usd=column("nav"),
        ref_nav_usd=np.array(_reference_path(inputs, config, versions, days, tickers, close,
                                             nav0, rates)),
        traded_usd=column("traded"), cost_usd=column("cost"),
        rebalanced=column("rebalanced").astype(bool), drift=column("drift"),
        post_drift=column("post_drift"), cash_usd=column("cash"),
        intended_usd=column("traded"),  # the planner's trade list: executed trades only
        risk_free_annual=np.array([_last_value(inputs.market.risk_free_annual, d) for d in days]),
        config_toml=[config.to_toml()], tickers=tickers, borrow_usd=column("borrow"))
