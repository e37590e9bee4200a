"""Fork-and-follow: simulate a branch of many events at once.

At each event ``e`` (a path's holdings at the close of day ``t0_e``) a branch says on
which days since the event, ``k = 0 .. H``, it rebalances (``Branch.trade``, shape
``(E, H + 1)``) and, optionally, which assets it may trade (Rule 2). Every branch of an
event starts from the same holdings and follows the same prices; only its trades
differ.

The kernel stacks the events as rows and marches over ``k``: row ``e`` reads the prices
of day ``t0_e + k`` from the history arrays, marks to market, and, where the branch
trades, sizes the trades with the planner's own decision
(:func:`driftwise.policy.rule.step`: illiquid assets left out, then
:func:`~driftwise.policy.sizing.size_trades` with the one cost model,
:func:`~driftwise.costs.trade_costs`, at that day's inputs and VIX). Trades on one
calendar day are sized in **one call for all the events trading that day**; there is no
Python loop over events. The events' holdings are a :class:`~driftwise.policy.book.Book`
and the trades enter it as in the engine (:func:`~driftwise.policy.book.book_trades`: cash
becomes the sizing's own post-trade cash). Order of operations each day is the backtest
engine's: the cash held overnight earns the risk-free rate of the day before (the engine's
own growth, :func:`driftwise.backtest.engine.cash_growth`: ``cash · (1 + rf_{t-1} / 252)``,
none on the event day, none when cash earns nothing), mark to market at the close, trade at
the close, pay costs from cash, then the next day's return applies to the post-trade
holdings.

Tracking error along a branch is ex-ante, with the risk model of the **event day**
(what the decision maker knows at ``t0``), applied to the branch's drifts as they evolve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.backtest.history import MarketHistory
from driftwise.costs import CostCoefficients, CostParams, CostTable, RowCosts, vix_regime
from driftwise.metrics.drift import portfolio_drift
from driftwise.metrics.risk import tracking_error_diag
from driftwise.policy.book import Book, book_trades
from driftwise.policy.context import BookMarks, DayContext
from driftwise.policy.destination import Destination
from driftwise.policy.rule import AssetDay, Rule, step
from driftwise.policy.sizing import SizingResult
from driftwise.policy.triggers import DayInput, DayLoopForm, Reason, Trigger, TriggerResult
from driftwise.validation.events import (
    Portfolio,
    day_coefficients,
    day_cost_fn,
    tracking_errors,
)


@dataclass(frozen=True, eq=False)
class Branch:
    """What one branch does after the fork.

    Attributes
    ----------
    trade : ndarray of bool, shape (E, H + 1)
        ``trade[e, k]``: rebalance at the close of ``t0_e + k``.
    assets : ndarray of bool, shape (E, N), or None
        Assets the branch may trade (None: every asset).
    """

    trade: BoolArray
    assets: BoolArray | None = None

    @property
    def horizon_days(self) -> int:
        """H."""
        return int(self.trade.shape[1]) - 1


@dataclass(frozen=True, eq=False)
class BranchPath:
    """One branch followed over ``k = 0 .. H`` for E events.

    Attributes
    ----------
    nav0_usd : ndarray, shape (E,)
        NAV at the event close before any trade (the same in every branch).
    nav_usd : ndarray, shape (E, H + 1)
        Post-trade NAV at the close of ``t0 + k`` (NaN after the data ends).
    cost_usd, traded_usd : ndarray, shape (E, H + 1)
        Trading costs paid and ``sum |trade_usd|`` at ``t0 + k``.
    te_annual : ndarray, shape (E, H + 1)
        Ex-ante annualized TE of the post-trade holdings (event-day risk model).
    drift : ndarray, shape (E, H + 1)
        Post-trade portfolio drift.
    """

    nav0_usd: FloatArray
    nav_usd: FloatArray
    cost_usd: FloatArray
    traded_usd: FloatArray
    te_annual: FloatArray
    drift: FloatArray


@dataclass(frozen=True)
class _Given:
    """A trigger that fires where told (the branch decides when, not a trigger)."""

    fired: BoolArray
    assets: BoolArray | None = None
    name: str = "rule-validation branch"

    row_wise: ClassVar[bool] = True
    reads: ClassVar[frozenset[DayInput]] = frozenset()
    params: ClassVar[tuple[str, ...]] = ()
    children: ClassVar[tuple[Trigger, ...]] = ()
    compiled: ClassVar[DayLoopForm | None] = None

    def evaluate(self, ctx: DayContext) -> TriggerResult:
        return TriggerResult(self.fired, (Reason("branch", self.fired, "branch trade"),),
                             assets=self.assets)


class EventRisk:
    """The event-day risk model of each event: TE of drifts (E, N) -> (E,).

    Parameters
    ----------
    portfolio : Portfolio
    t0 : ndarray of int, shape (E,)
        Event days.
    """

    def __init__(self, portfolio: Portfolio, t0: IntArray) -> None:
        h = portfolio.history
        self.vol = h.vol_annual[t0]
        self.covs: FloatArray | None = None
        self.which = np.zeros(len(t0), dtype=np.intp)
        if portfolio.full_te and len(t0):
            uniq, inv = np.unique(t0, return_inverse=True)
            self.covs = np.stack([portfolio.cov_on(int(k)) for k in uniq])
            self.which = np.asarray(inv, dtype=np.intp).reshape(-1)

    def te(self, drift: FloatArray, rows: slice | IntArray = slice(None)) -> FloatArray:
        """Annualized TE of ``drift`` (rows of the events ``rows``): one covariance per
        event day, each row's read in place
        (:func:`~driftwise.validation.events.tracking_errors`)."""
        if self.covs is None:
            return np.asarray(tracking_error_diag(drift, self.vol[rows]), dtype=np.float64)
        return tracking_errors(drift, self.covs, self.which[rows])


def branch_rule(rule: Rule) -> Rule:
    """``rule`` made a branch's trade: full rebalance, no cost-benefit skip."""
    return dataclasses.replace(rule, destination=Destination.FULL,
                               skip_if_cost_exceeds_benefit=False)


JOINT_CELLS = 2**23
"""Most numbers one :func:`simulate_forks` run holds per kind of array: its rows times the
covariance (``N^2``), the outputs (five of the widest fork's ``H + 1``) and the holdings
(``N``) of a row (forks are grouped until the next would pass this; a fork is never split)."""


@dataclass(frozen=True, eq=False)
class Fork:
    """The branches of E events under one cost model (one call of a rule's measurement).

    Attributes
    ----------
    params : CostParams
        The cost model of the trades.
    t0 : ndarray of int, shape (E,)
        Event days (history rows).
    shares : ndarray, shape (E, N)
        Holdings at the event close, before any trade.
    cash_usd : ndarray, shape (E,)
    branches : tuple of Branch
        Each followed from the same holdings (rows of ``trade`` are the events).
    """

    params: CostParams
    t0: IntArray
    shares: FloatArray
    cash_usd: FloatArray
    branches: tuple[Branch, ...]

    @property
    def width(self) -> int:
        """The widest branch's ``H + 1``."""
        return max((b.horizon_days + 1 for b in self.branches), default=0)

    @property
    def n_rows(self) -> int:
        """Rows it stacks: events times branches."""
        return len(self.t0) * len(self.branches)


def simulate_branch(portfolio: Portfolio, rule: Rule, params: CostParams, t0: IntArray,
                    shares: FloatArray, cash_usd: FloatArray, branch: Branch,
                    risk: EventRisk | None = None,
                    cash_growth: FloatArray | None = None) -> BranchPath:
    """Follow one branch of every event over ``k = 0 .. H``.

    Parameters
    ----------
    portfolio : Portfolio
    rule : Rule
        Constraints and liquidity limits of the trades (destination FULL, see
        :func:`branch_rule`).
    params : CostParams
        The cost model (its ``flat_cost_bps`` set for a cost-level run).
    t0 : ndarray of int, shape (E,)
        Event days (history rows).
    shares : ndarray, shape (E, N)
        Holdings at the event close, before any trade.
    cash_usd : ndarray, shape (E,)
    branch : Branch
    risk : EventRisk, optional
        Default: built from ``portfolio`` and ``t0``.
    cash_growth : ndarray, shape (T,), optional
        Growth of cash over the night before each history day
        (:func:`driftwise.backtest.engine.cash_growth` of the portfolio's history); None:
        cash earns nothing.

    Returns
    -------
    BranchPath
        Days past the end of the data are NaN.
    """
    fork = Fork(params, np.asarray(t0, dtype=np.intp), shares, cash_usd, (branch,))
    return _simulate(portfolio, rule, [fork], risk, cash_growth)[0][0]


def simulate_forks(portfolio: Portfolio, rule: Rule, forks: Sequence[Fork],
                   cash_growth: FloatArray | None = None) -> list[list[BranchPath]]:
    """Follow every branch of every fork, the rows of all of them stacked.

    Each fork's branches are its events' rows, under the fork's cost model; the forks
    are stacked (in groups of at most :data:`JOINT_CELLS` numbers) so that the trades of
    one step ``k`` on one calendar day, whatever fork, branch or cost model they belong to,
    are sized in **one** :func:`~driftwise.policy.rule.step` call (each row priced with its
    own cost model, :class:`~driftwise.costs.RowCosts`). A row's numbers are those of its
    fork followed alone, to the bit: every step is row by row, and sizing reads a row's
    asset mask the same alone or among others (a row of no tradable asset trades nothing).
    Every row's cash grows each night by ``cash_growth`` of the day (as
    :func:`simulate_branch`).

    Returns
    -------
    list of list of BranchPath
        Per fork, per branch, as :func:`simulate_branch` gives it.
    """
    n = portfolio.history.prices.shape[1]
    order = sorted(range(len(forks)), key=lambda f: -forks[f].width)  # widest first
    groups: list[list[int]] = []
    rows = 0
    for f in order:
        fork = forks[f]
        if groups:  # the group's first fork is its widest
            per_row = n * n + n + 5 * forks[groups[-1][0]].width
            if (rows + fork.n_rows) * per_row <= JOINT_CELLS:
                groups[-1].append(f)
                rows += fork.n_rows
                continue
        groups.append([f])
        rows = fork.n_rows
    out: list[list[BranchPath]] = [[] for _ in forks]
    for group in groups:
        for f, paths in zip(group, _simulate(portfolio, rule, [forks[f] for f in group],
                                             cash_growth=cash_growth), strict=True):
            out[f] = paths
    return out


def _simulate(portfolio: Portfolio, rule: Rule, forks: Sequence[Fork],
              risk: EventRisk | None = None,
              cash_growth: FloatArray | None = None) -> list[list[BranchPath]]:
    """The forks' rows stacked, widest first, and followed together over ``k``.

    Rows are ordered by their branch's width, widest first, so the rows still running at
    ``k`` are a prefix of the stack. Rows of the same path (:func:`_representatives`: the
    hold branches of one event under every rule and cost setting, equal trading rows) are
    followed once. ``risk``: the event risk of the one fork of one branch. ``cash_growth``
    (T,): each row's cash is multiplied by that of its day ``t0 + k`` for ``k > 0``, before
    the day's marks and trades (the engine's night interest).
    """
    h = portfolio.history
    settings: list[CostParams] = []
    t0s, shares, cash, trades, assets, which, widths = [], [], [], [], [], [], []
    any_assets = any(b.assets is not None for f in forks for b in f.branches)
    for fork in forks:
        if fork.params not in settings:
            settings.append(fork.params)
        s = settings.index(fork.params)
        for branch in fork.branches:
            t0s.append(np.asarray(fork.t0, dtype=np.intp))
            shares.append(fork.shares)
            cash.append(fork.cash_usd)
            trades.append(branch.trade)
            widths.append(np.full(len(fork.t0), branch.trade.shape[1], dtype=np.intp))
            which.append(np.full(len(fork.t0), s, dtype=np.intp))
            if any_assets:
                assets.append(np.ones(fork.shares.shape, dtype=bool) if branch.assets is None
                              else branch.assets)
    width_all = np.concatenate(widths) if widths else np.zeros(0, dtype=np.intp)
    t0_all = np.concatenate(t0s) if t0s else np.zeros(0, dtype=np.intp)
    n_all, n_wide = len(t0_all), int(width_all.max()) if len(width_all) else 0
    trade_all = np.zeros((n_all, n_wide), dtype=bool)
    lo = 0
    for block in trades:
        trade_all[lo: lo + len(block), : block.shape[1]] = block
        lo += len(block)
    shares_all = np.concatenate(shares) if shares else np.zeros((0, h.prices.shape[1]))
    cash_all = np.concatenate(cash) if cash else np.zeros(0)
    setting_all = np.concatenate(which) if which else np.zeros(0, dtype=np.intp)
    allowed_all = np.concatenate(assets) if any_assets else None
    rep = _representatives(t0_all, shares_all, cash_all, trade_all, width_all, setting_all,
                           allowed_all)
    kept = np.flatnonzero(rep == np.arange(n_all))
    perm = kept[np.argsort(-width_all[kept], kind="stable")]  # widest first
    t0 = t0_all[perm]
    width = width_all[perm]
    n_rows = len(t0)
    trade = trade_all[perm]
    at = np.empty(n_all, dtype=np.intp)
    at[perm] = np.arange(n_rows)
    pos = at[rep]  # each row's place in the stack: its representative's
    setting = setting_all[perm]
    allowed = allowed_all[perm] if allowed_all is not None else None
    if risk is None or len(forks) != 1 or len(forks[0].branches) != 1 or n_rows != n_all:
        risk = EventRisk(portfolio, t0)
    book = Book.start(shares_all[perm], cash_all[perm])
    out = {name: np.full((n_rows, n_wide), np.nan) for name in
           ("nav", "cost", "traded", "te", "drift")}
    nav0 = np.full(n_rows, np.nan)
    running = np.searchsorted(-width, -np.arange(n_wide), side="right")  # rows with width > k
    costs = _DayCosts(h, settings)
    for k in range(n_wide):
        live = slice(0, int(running[k]))
        day = t0[live] + k
        alive = day < h.n_days
        if not alive.any():
            break
        day = np.minimum(day, h.n_days - 1)
        if cash_growth is not None and k > 0:  # the night before the day: the engine's order
            book.cash_usd[live] = book.cash_usd[live] * cash_growth[day]
        prices = h.prices[day]
        if k == 0:
            nav0 = (book.shares * prices).sum(axis=1) + book.cash_usd
        cost = np.zeros(len(day))
        traded = np.zeros(len(day))
        rows = np.flatnonzero(trade[live, k] & alive)
        if len(rows):
            _trade(portfolio, rule, costs, setting, day, rows, book, cost, traded, allowed)
        held = book.shares[live]
        cash_now = book.cash_usd[live]
        values = held * prices
        nav = values.sum(axis=1) + cash_now
        weights = values / nav[:, None]
        dead = ~alive
        target, target_cash = portfolio.targets_on(day)
        for name, value in (("nav", nav), ("cost", cost), ("traded", traded),
                            ("te", risk.te(weights - target, live)),
                            ("drift", portfolio_drift(weights, target, cash_now / nav,
                                                      target_cash))):
            column = np.asarray(value, dtype=np.float64)
            column[dead] = np.nan
            out[name][live, k] = column
    result: list[list[BranchPath]] = []
    lo = 0
    for fork in forks:
        paths = []
        for branch in fork.branches:
            rows = pos[lo: lo + len(fork.t0)]
            w = branch.trade.shape[1]
            paths.append(BranchPath(nav0[rows], *(out[name][rows, :w] for name in
                                                  ("nav", "cost", "traded", "te", "drift"))))
            lo += len(fork.t0)
        result.append(paths)
    return result


def _representatives(t0: IntArray, shares: FloatArray, cash_usd: FloatArray,
                     trade: BoolArray, width: IntArray, setting: IntArray,
                     assets: BoolArray | None) -> IntArray:
    """For each row, the row followed in its place, shape (R,): itself, or an earlier-kept
    row whose path is the same (each row is followed alone, so equal inputs give equal
    numbers to the bit).

    A row that never trades is buy and hold from its event's holdings: every such row of
    the same event day and holdings (a hold branch of several rules and cost settings) is
    the widest of them, cut to its width. A row that trades is the same as another with the
    same event day, holdings, trade days, width, cost setting and asset mask.
    """
    n = len(t0)
    rep = np.arange(n, dtype=np.intp)
    seen: dict[tuple[object, ...], int] = {}
    trades_any = np.asarray(trade.any(axis=1), dtype=bool)
    for r in np.argsort(-width, kind="stable").tolist():  # widest first
        held = (int(t0[r]), shares[r].tobytes(), float(cash_usd[r]))
        if trades_any[r]:
            key: tuple[object, ...] = (*held, int(width[r]), trade[r].tobytes(),
                                       int(setting[r]),
                                       None if assets is None else assets[r].tobytes())
        else:
            key = held
        rep[r] = seen.setdefault(key, r)
    return rep


class _DayCosts:
    """The cost model of each (cost setting, day) a simulation prices, built once."""

    def __init__(self, history: MarketHistory, settings: Sequence[CostParams]) -> None:
        self.history = history
        self.settings = settings
        self._kept: dict[tuple[int, bool, int], CostCoefficients] = {}
        self._tables: dict[tuple[int, tuple[int, ...]], CostTable] = {}

    def coefficients(self, setting: int, day: int) -> CostCoefficients:
        """:func:`day_coefficients` of ``settings[setting]`` on ``day``."""
        params = self.settings[setting]
        flat = params.flat_cost_bps is not None  # reads no day's inputs: one set a regime
        key = (setting, flat,
               int(vix_regime(float(self.history.vix[day]), params)) if flat else day)
        hit = self._kept.get(key)
        if hit is None:
            hit = self._kept[key] = day_coefficients(self.history, params, day,
                                                     any_inputs=flat)
        return hit

    def rows(self, day: int, setting: IntArray) -> RowCosts:
        """The cost model of rows priced on ``day``, row ``c`` with ``setting[c]``."""
        used, which = np.unique(setting, return_inverse=True)
        n_assets = self.history.prices.shape[1]
        coefficients = [self.coefficients(int(s), day) for s in used.tolist()]
        if len(coefficients) == 1:
            return RowCosts.of(coefficients[0], len(setting), n_assets)
        mult = np.array([float(np.asarray(c.multiplier).reshape(-1)[0]) for c in coefficients])
        which = np.asarray(which, dtype=np.intp).reshape(-1)
        key = (day, tuple(used.tolist()))  # a day recurs at several steps k of the march
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = CostTable.stack(coefficients, n_assets)
        return RowCosts(table, which, np.ascontiguousarray(mult[which]))


def _trade(portfolio: Portfolio, rule: Rule, costs: _DayCosts, setting: IntArray, day: IntArray,
           rows: IntArray, book: Book, cost: FloatArray, traded: FloatArray,
           assets: BoolArray | None) -> None:
    """Size the trades of ``rows``, one :func:`step` call per calendar day for every cost
    setting, and book them with their costs (:func:`~driftwise.policy.book.book_trades`,
    as the engine does)."""
    order = rows[np.argsort(day[rows], kind="stable")]
    uniq, first = np.unique(day[order], return_index=True)
    bounds = [*first.tolist(), len(order)]
    for j, k in enumerate(uniq.tolist()):
        group = order[bounds[j]: bounds[j + 1]]
        sizing = _size_rows(portfolio, rule, int(k), book.shares[group], book.cash_usd[group],
                            None if assets is None else assets[group],
                            costs.rows(int(k), setting[group]))
        book_trades(book, group, sizing)
        cost[group] = sizing.cost_usd.sum(axis=1)
        traded[group] = np.abs(sizing.trade_usd).sum(axis=1)


def trade_on_day(portfolio: Portfolio, rule: Rule, params: CostParams, day: int,
                 shares: FloatArray, cash_usd: FloatArray,
                 assets: BoolArray | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The trades of :func:`size_on_day`: ``(trade_shares, trade_usd, cost_usd)``, shapes
    (C, N) each."""
    s = size_on_day(portfolio, rule, params, day, shares, cash_usd, assets)
    return s.trade_shares, s.trade_usd, s.cost_usd


def size_on_day(portfolio: Portfolio, rule: Rule, params: CostParams, day: int,
                shares: FloatArray, cash_usd: FloatArray,
                assets: BoolArray | None = None) -> SizingResult:
    """Rebalance C portfolios at the close of ``day`` with the planner's step.

    Parameters
    ----------
    shares : ndarray, shape (C, N)
    cash_usd : ndarray, shape (C,)
    assets : ndarray of bool, shape (C, N), optional
        Assets that may trade.

    Returns
    -------
    SizingResult
        The trades (C, N) and the cash they leave (C,).
    """
    return _size_rows(portfolio, rule, day, shares, cash_usd, assets,
                      day_cost_fn(portfolio.history, params, day))


def _size_rows(portfolio: Portfolio, rule: Rule, day: int, shares: FloatArray,
               cash_usd: FloatArray, assets: BoolArray | None, cost_fn: RowCosts) -> SizingResult:
    """:func:`size_on_day` with each row's cost model given (``cost_fn``, C rows or one)."""
    h = portfolio.history
    prices = h.prices[day]
    values = shares * prices
    nav = values.sum(axis=1) + cash_usd
    window = h.cost_window  # every day's inputs at once, when the history keeps them
    adv = (h.cost_inputs(day).adv_shares if window is None
           else window.adv_shares.reshape(h.n_days, -1)[day])
    n_rows = len(nav)

    def total(trade_usd: FloatArray) -> FloatArray:
        return np.asarray(cost_fn(trade_usd).sum(axis=1), dtype=np.float64)

    marks = BookMarks(weights=values / nav[:, None], cash_weight=cash_usd / nav, nav_usd=nav,
                      days_since_rebalance=np.zeros(n_rows),
                      pending_days=np.full(n_rows, np.nan))
    target, target_cash = portfolio.targets_on(np.array([day]))
    ctx = DayContext.of(h.day(day), marks, target=np.asarray(target).reshape(-1),
                        target_cash=float(np.asarray(target_cash).reshape(-1)[0]),
                        band_width=np.zeros(len(prices)),
                        full_cost_usd=total)
    trigger = _Given(np.ones(n_rows, dtype=bool), assets)
    none = np.zeros(len(prices), dtype=bool)
    asset_day = AssetDay(prices_usd=prices, adv_shares=adv, no_buy=none,
                         no_sell=none, cost_fn=cost_fn)
    return step(dataclasses.replace(rule, trigger=trigger), ctx, asset_day).sizing
