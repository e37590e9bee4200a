"""Per-batch bookkeeping of the backtest engine.

A batch is one :class:`~driftwise.backtest.grid.RuleBlock` of the run's rule grid bound
to its market history: the rows share a rule whose trigger parameters are arrays shaped
``(C_g,)`` and are priced each with its own cost parameters. This module holds what a
batch carries through the days: the constant part (:class:`Batch`, :class:`Window`),
the holdings (:class:`BatchState`: a
:class:`~driftwise.policy.book.Book`, set by :func:`start_state`), the result arrays being
filled (:class:`Outputs`) and the cost model bound to one day (:class:`DayCosts`). It
moves no state itself: the day loop is :mod:`driftwise.backtest.engine`, quiet blocks
:mod:`driftwise.backtest.blocks`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.backtest.history import MarketHistory
from driftwise.backtest.versions import Schedule, pending_at_start
from driftwise.calendar import DateLike, trading_days_between
from driftwise.costs import (
    AssetCostInputs,
    CostParams,
    CostTable,
    RowCosts,
    cost_coefficients,
    row_trading_costs,
)
from driftwise.data.model import Inputs
from driftwise.policy.book import Book
from driftwise.policy.factors import FactorHistory
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import Trigger
from driftwise.state import GroupTargets

if TYPE_CHECKING:
    from driftwise.backtest.grid import Bands

DEFAULT_INITIAL_NAV_USD = 1_000_000.0
"""Starting NAV of a backtest without holdings and without ``backtest.initial_nav_usd``."""


@dataclass(frozen=True)
class Window:
    """The window and start shared by every configuration of one run.

    ``nav_source`` says where ``initial_nav_usd`` came from (see :func:`starting_nav`).
    ``cash_earns_risk_free``: cash grows each night by the risk-free rate of the day
    before (``1 + rf_{t-1} / 252`` from the close of ``t - 1`` to that of ``t``, the
    convention of the metrics' excess returns); False (``[backtest] cash_earns_risk_free =
    false``): cash earns nothing. Without a risk-free series the rate is 0 either way.
    """

    start: DateLike | None
    end: DateLike | None
    from_holdings: bool
    initial_nav_usd: float
    nav_source: str = "backtest.initial_nav_usd"
    cash_earns_risk_free: bool = True


def starting_nav(inputs: Inputs | None, configured: float | None) -> tuple[float, str]:
    """The starting NAV of a backtest at target, and where it came from.

    ``backtest.initial_nav_usd`` when set; otherwise the NAV of the given holdings (shares
    at each ticker's last known price, plus cash); otherwise
    :data:`DEFAULT_INITIAL_NAV_USD`.
    """
    if configured is not None:
        return float(configured), "backtest.initial_nav_usd"
    h = None if inputs is None else inputs.holdings
    if h is not None and (len(h.shares) or h.cash_usd):
        prices = inputs.market.prices  # type: ignore[union-attr]
        last = prices.reindex(columns=h.shares.index).ffill().iloc[-1]
        unpriced = [str(t) for t in last.index[last.isna() & (h.shares != 0)]]
        nav = float((h.shares * last.fillna(0.0)).sum()) + float(h.cash_usd)
        if unpriced:
            return DEFAULT_INITIAL_NAV_USD, (
                "the default USD 1,000,000 (no price for the held "
                f"{', '.join(unpriced[:5])}{' ...' if len(unpriced) > 5 else ''})")
        if math.isfinite(nav) and nav > 0.0:
            day = pd.Timestamp(prices.index[-1]).date()
            return nav, f"the holdings' NAV on {day}"
        return DEFAULT_INITIAL_NAV_USD, "the default USD 1,000,000 (the holdings' NAV is not " \
            "positive)"
    return DEFAULT_INITIAL_NAV_USD, "the default USD 1,000,000 (no holdings given)"


@dataclass(frozen=True, eq=False)
class Batch:
    """Configurations simulated together, and everything constant over the days.

    Attributes
    ----------
    members : ndarray of int, shape (C_g,)
        Positions in the run's configuration list.
    rule : Rule
        The shared rule with the stacked trigger (parameters shaped (C_g,)).
    params : tuple of CostParams
        The distinct cost parameters of the members.
    param_rows : ndarray of int, shape (C_g,)
        Each member's position in ``params``.
    history : MarketHistory
    target : ndarray, shape (N,)
    target_cash : float
    band_width : ndarray, shape (N,)
    no_buy, no_sell : ndarray of bool, shape (N,)
    with_cov : bool
        Pass the covariance (``te_model = "full"`` and a rule whose trades depend on TE).
    invalid : ndarray of bool, shape (T,)
        Days the planner's plan is invalid (stale cost inputs not accepted): no trade.
    columns : slice or ndarray of int
        ``members`` as a slice when contiguous (cheaper to index the result arrays).
    max_span : int
        Most days evaluated at once in a quiet block (1: day by day, the trigger is not
        :func:`~driftwise.backtest.blocks.block_safe`).
    compiled : bool
        The days run in the compiled loop of :mod:`driftwise.backtest.compiled`.
    tiled : dict of int to Trigger
        The trigger repeated for a block of that many days (filled on use).
    cost_buffers : dict of shape to list of ndarray
        Scratch buffers of the cost components by trade shape (filled on use).
    """

    members: IntArray
    rule: Rule
    params: tuple[CostParams, ...]
    param_rows: IntArray
    history: MarketHistory
    target: FloatArray
    target_cash: float
    band_width: FloatArray
    no_buy: BoolArray
    no_sell: BoolArray
    with_cov: bool
    invalid: BoolArray
    columns: slice | IntArray
    max_span: int = 1
    compiled: bool = False
    tiled: dict[int, Trigger] = dataclasses.field(default_factory=dict)
    cost_buffers: dict[tuple[int, ...], list[FloatArray]] = dataclasses.field(
        default_factory=dict)
    borrow_daily: FloatArray | None = None
    """Borrow fee of a short per night, fraction of its value (N,): ``borrow_bps_annual /
    1e4 / 252``; None when the batch can hold no short (long-only, no short at the start)."""
    groups: IntArray | None = None
    """Sector of each asset (N,) from the security master (-1: none), for the optimized
    destination's group bounds."""
    cash_growth: FloatArray | None = None
    """Growth of cash over the night before each day (T,): ``1 + rf_{k-1} / 252`` on day
    ``k > 0`` (``MarketHistory.risk_free_annual``), 1 on day 0; None when cash earns
    nothing (turned off, or a zero rate over the window)."""
    versions: Schedule | None = None
    """The target versions in force over the window when they switch in it
    (:mod:`driftwise.backtest.versions`): ``target``, ``target_cash`` and ``band_width``
    are then the first day's, and :meth:`on_day` the batch of another day's version."""
    version_widths: FloatArray | None = None
    """Band half-widths of each version (V, N), with ``versions``."""
    group_targets: GroupTargets | None = None
    """Targets by sector or asset class (:mod:`driftwise.backtest.groups`): each day's
    asset targets are split from them by each row's holdings; ``target`` is the first
    day's split (of the version in force then; ``versions`` holds every version's groups)."""
    bands: Bands | None = None
    """The rule's bands, with ``group_targets`` (each day's widths follow its targets)."""
    by_version: dict[int, object] = dataclasses.field(default_factory=dict)
    """The batch of each version (:meth:`on_day`, filled on use)."""
    factors: FactorHistory | None = None
    """The returns the optimized destination's factor betas are estimated from (its rows
    those of the full price history, :attr:`MarketHistory.rows`); None without factor
    targets."""

    def on_day(self, k: int) -> Batch:
        """The batch with the target, cash target and bands in force on day ``k`` (itself
        without target versions), the stocks sold because they stopped trading added to
        its no-buy list (``Schedule.sold``); a version by sector or asset class gives its
        groups (``group_targets``, split each day by :func:`~driftwise.backtest.engine.open_day`),
        an asset-level one none."""
        sched = self.versions
        if sched is None:
            return self
        v = int(sched.day_version[k])
        hit = self.by_version.get(v)
        if hit is None:
            assert self.version_widths is not None
            sold = sched.sold[v]
            hit = self.by_version[v] = dataclasses.replace(
                self, target=np.ascontiguousarray(sched.weights[v]),
                target_cash=float(sched.cash[v]),
                band_width=np.ascontiguousarray(self.version_widths[v]),
                no_buy=self.no_buy | sold if sold.any() else self.no_buy,
                group_targets=sched.groups[v] if sched.groups else None)
        return cast(Batch, hit)

# ------------------------------------------------------------------ state


class DayCosts:
    """The cost model bound to one day and to some rows of a batch.

    Each row is priced with its own configuration's cost parameters (a batch may mix
    them): the day's coefficients of every parameter set are laid out once in a
    :class:`~driftwise.costs.CostTable` and :func:`~driftwise.costs.row_trading_costs`
    prices each row with its set, in the compiled kernel of
    :func:`~driftwise.costs.trade_costs`. Built only when a trade or a trigger asks;
    :meth:`take` restricts it to some rows (the rows that fire) and shares what was built.
    Calling it gives the total cost per row (a :class:`~driftwise.policy.context.DayContext`
    cost function).
    """

    def __init__(self, batch: Batch, k: int, rows: IntArray | None = None,
                 shared: dict[str, object] | None = None) -> None:
        self.batch, self.k = batch, k
        self.rows = np.arange(len(batch.members)) if rows is None else rows
        vix = float(batch.history.vix[k])
        self.vix = None if np.isnan(vix) else vix
        self._shared: dict[str, object] = {} if shared is None else shared

    def take(self, rows: IntArray) -> DayCosts:
        """The same day's costs for ``rows`` (positions among this object's rows)."""
        return DayCosts(self.batch, self.k, self.rows[rows], self._shared)

    @property
    def inputs(self) -> AssetCostInputs:
        if "inputs" not in self._shared:
            self._shared["inputs"] = self.batch.history.cost_inputs(self.k)
        return cast(AssetCostInputs, self._shared["inputs"])

    @property
    def adv_shares(self) -> FloatArray:
        """The day's ADV in shares (N,): ``inputs.adv_shares``, from the history's cost
        window when it is whole (:meth:`MarketHistory.costs_whole`; the same numbers)."""
        history = self.batch.history
        if history.costs_whole():
            return history.cost_cells(self.k, "adv_shares")
        return self.inputs.adv_shares

    @property
    def borrow_bps_annual(self) -> FloatArray:
        """The day's borrow fee of shorts (N,): ``inputs.borrow_bps_annual``, from the
        cost window when it is whole (the same numbers)."""
        history = self.batch.history
        if history.costs_whole():
            return history.cost_cells(self.k, "borrow_bps_annual")
        return self.inputs.borrow_bps_annual

    @property
    def table(self) -> tuple[CostTable, FloatArray]:
        """The day's table of the batch's parameter sets and each set's multiplier."""
        if "table" not in self._shared:
            co = [cost_coefficients(self.inputs, p, self.vix) for p in self.batch.params]
            table = (co[0].table(self.inputs.n_assets) if len(co) == 1
                     else CostTable.stack(co, self.inputs.n_assets))
            self._shared["table"] = (table, np.array([float(c.multiplier) for c in co]))
        return cast(tuple[CostTable, FloatArray], self._shared["table"])

    @cached_property
    def model(self) -> RowCosts:
        """The cost model of these rows (what sizing prices trades with)."""
        history, params = self.batch.history, self.batch.params
        if len(params) == 1 and history.costs_whole():
            # set k of the window's table is the day's coefficients, to the bit
            window = history.cost_table(params[0])
            assert window is not None  # costs_whole: the window is kept
            n_rows = len(self.rows)
            return RowCosts(window[0], np.array([self.k] * n_rows, dtype=np.intp),
                            np.array([float(window[1][self.k])] * n_rows))
        which = np.ascontiguousarray(self.batch.param_rows[self.rows])
        return RowCosts(self.table[0], which, np.ascontiguousarray(self.table[1][which]))

    def per_asset(self, trade_usd: FloatArray) -> FloatArray:
        """Signed trades (R, N) USD of these rows -> trading cost (R, N) USD."""
        shape = np.shape(trade_usd)
        scratch = self.batch.cost_buffers.get(shape)
        if scratch is None:
            scratch = self.batch.cost_buffers[shape] = [np.empty(shape) for _ in range(4)]
        model = self.model
        return row_trading_costs(trade_usd, model.table, model.which, model.multiplier, scratch)

    def total(self, trade_usd: FloatArray) -> FloatArray:
        """Signed trades (R, N) USD -> total cost (R,) USD."""
        return np.asarray(self.per_asset(trade_usd).sum(axis=1), dtype=np.float64)

    __call__ = total


@dataclass
class BatchState:
    """What a batch carries from day to day: its :class:`~driftwise.policy.book.Book` (the
    holdings of its C_g rows), and the run of a compiled batch."""

    book: Book
    loop: object = None
    """The run of a compiled batch (:class:`driftwise.backtest.compiled.Loop`), if any."""
    version_pending: BoolArray | None = None
    """Rows (C,) for which a new target version is an event not yet acted on (they fire
    until they trade); None without target versions."""
    optimized: object = None
    """What the days of an optimized rule reviewed at every close share
    (:class:`driftwise.backtest.optimized.Plan`, built on its first day there), or the
    word "off" for a batch that takes the general day; None before its first day."""


@dataclass
class Outputs:
    """The result arrays being filled, (T, C) each."""

    nav: FloatArray
    traded: FloatArray
    cost: FloatArray
    rebalanced: BoolArray
    drift: FloatArray
    post_drift: FloatArray
    cash: FloatArray
    intended: FloatArray
    borrow: FloatArray
    """Borrow paid on shorts held overnight (0 where none)."""
    fallback: BoolArray
    """Days the optimized destination's solver failed and the full destination was used."""

    @classmethod
    def empty(cls, n_days: int, n_configs: int) -> Outputs:
        def nan() -> FloatArray:
            return np.full((n_days, n_configs), np.nan)
        return cls(nan(), nan(), nan(), np.zeros((n_days, n_configs), dtype=bool), nan(), nan(),
                   nan(), nan(), np.zeros((n_days, n_configs)),
                   np.zeros((n_days, n_configs), dtype=bool))

    def columns(self, share: slice) -> Outputs:
        """Views of the configurations ``share`` (writes go to these arrays)."""
        return Outputs(*(getattr(self, f.name)[:, share] for f in dataclasses.fields(self)))

    def quiet(self, days: slice, columns: slice | IntArray, nav: FloatArray, drift: FloatArray,
              cash: FloatArray) -> None:
        """Record days without a trade: NAV, drift (before = after), cash; nothing traded."""
        self.nav[days, columns] = nav
        self.drift[days, columns] = drift
        self.post_drift[days, columns] = drift
        self.traded[days, columns] = 0.0
        self.cost[days, columns] = 0.0
        self.cash[days, columns] = cash
        self.intended[days, columns] = 0.0


def start_state(inputs: Inputs, batch: Batch, window: Window) -> BatchState:
    """Holdings at the first close: at target at no cost, or the given holdings."""
    h = batch.history
    n_rows, n_assets = len(batch.members), len(h.tickers)
    if window.from_holdings:
        held = inputs.holdings.shares.reindex(h.tickers, fill_value=0.0).to_numpy(np.float64)
        shares = np.broadcast_to(held, (n_rows, n_assets)).copy()
        cash = np.full(n_rows, float(inputs.holdings.cash_usd))
        last = inputs.last_rebalance
        since = (float(trading_days_between(pd.DatetimeIndex(inputs.market.prices.index),
                                            last, h.dates[0])) if last is not None else np.nan)
    else:
        nav0 = window.initial_nav_usd
        shares = np.broadcast_to(batch.target * nav0 / h.prices[0], (n_rows, n_assets)).copy()
        if batch.rule.constraints.whole_shares:
            shares = np.trunc(shares)
        cash = nav0 - (shares * h.prices[0]).sum(axis=1)
        since = 0.0
    pending = None
    if batch.versions is not None:
        first = pending_at_start(batch.versions, inputs.last_rebalance, window.from_holdings)
        pending = np.full(n_rows, first)
    return BatchState(Book.start(shares, cash, since), version_pending=pending)
