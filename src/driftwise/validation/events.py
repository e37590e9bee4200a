"""Portfolio paths on a monthly grid and the days where a rule's IF holds.

**Paths.** For every start date on a grid (the first NYSE session of each month, after a
warm-up that gives the risk estimates their windows), the portfolio is invested at its
target weights at that close (fractional shares, no cost) and then follows the **base
policy**: buy and hold until the next calendar review (first session of the next
quarter by default), where it rebalances to target. The path ends at that review: after
it the portfolio is on target again, which is exactly the path that starts there, so
every (path, day) is a distinct portfolio state and no day is counted twice for one
start. Between reviews the holdings are constant in shares, so each day's state is
computed directly from prices (exact, and one array operation for every day of every
path) instead of by running the backtest engine.

**Path days.** Every day strictly after a path's start and strictly before its review,
with the day's weights, portfolio drift, ex-ante tracking error (the risk model of that
day: covariance when ``risk.te_model = "full"``, else the diagonal form) and the cost of a
full rebalance priced by the one cost model (:func:`~driftwise.costs.trade_costs`).

**Events.** Where a rule's IF holds, at most one event per path (per asset for Rule 2)
per block of ``gap_days`` trading days counted from the path's start: the first day of
the block where the IF holds. The statistics cluster events by calendar period as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from driftwise import _jit
from driftwise._types import BoolArray, FloatArray, IntArray
from driftwise.backtest.history import MarketHistory
from driftwise.costs import CostCoefficients, CostParams, CostTable, RowCosts, cost_coefficients
from driftwise.costs.regime import vix_regime
from driftwise.metrics.drift import portfolio_drift
from driftwise.metrics.risk import tracking_error, tracking_error_diag
from driftwise.policy.context import Anchor, Frequency
from driftwise.validation._kernels import quadratic_forms

COST_CHUNK_CELLS = 2**22
"""Most trades :func:`rebalance_cost` prices in one call (each of the kernel's component
arrays that many numbers)."""

KEEP_COV_CELLS = 2**24
"""Most covariance entries a :class:`Portfolio` keeps (8 bytes each: 134 MB; every day of
20 years of a 40-stock portfolio)."""


COV_CHUNK_DAYS = 256
"""Days of covariance :meth:`Portfolio.prepare_covariances` estimates in one call."""


EINSUM_ORDER_CELLS = 8192
"""Most ``N * N`` for which ``numpy.einsum`` sums a quadratic form in one pass over its
terms (its buffer's size), the order :func:`~driftwise.validation._kernels.quadratic_forms`
repeats."""


def compiled_order(n_assets: int) -> bool:
    """Whether :func:`tracking_errors` sums ``n_assets`` in compiled code: ``3 <= N``,
    ``N * N <= EINSUM_ORDER_CELLS`` and the kernels compiled (the einsum sums the forms of
    two assets in an order that depends on the shape of its operands)."""
    return n_assets >= 3 and n_assets**2 <= EINSUM_ORDER_CELLS and _jit.mode() == "compiled"


def tracking_errors(drift: FloatArray, covs: FloatArray, which: IntArray) -> FloatArray:
    """``tracking_error(drift[r], covs[which[r]])`` of every row ``r``, shape (R,).

    Parameters
    ----------
    drift : ndarray, shape (R, N)
        Per-asset drift (fractions of NAV).
    covs : ndarray, shape (D, N, N)
        Annualized covariances.
    which : ndarray of int, shape (R,)
        Each row's covariance.

    Returns
    -------
    ndarray, shape (R,)
        Equal to the bit to :func:`~driftwise.metrics.risk.tracking_error` of the rows
        (``tests/validation/test_kernels.py``): the compiled
        :func:`~driftwise.validation._kernels.quadratic_forms` sums each form in the
        einsum's own order, without copying a covariance per row, for ``3 <= N`` and
        ``N * N <= EINSUM_ORDER_CELLS`` (where that order is known); otherwise, in the
        Python mode of the kernels, and for the rare negative forms (rounding), the
        einsum itself.
    """
    x = np.ascontiguousarray(drift, dtype=np.float64)
    rows = np.ascontiguousarray(which, dtype=np.intp)
    if not compiled_order(x.shape[1]):
        return np.asarray(tracking_error(x, covs[rows]), dtype=np.float64)
    q = np.empty(len(x))
    quadratic_forms(x, np.ascontiguousarray(covs, dtype=np.float64), rows, q)
    te = np.sqrt(np.maximum(q, 0.0))
    negative = np.flatnonzero(q < 0.0)
    if len(negative):  # within rounding of zero, or not PSD: the einsum's own verdict
        te[negative] = tracking_error(x[negative], covs[rows[negative]])
    return np.asarray(te, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Portfolio:
    """One portfolio to validate on: its market history and target.

    Attributes
    ----------
    label : str
    history : MarketHistory
        ``T`` days, ``N`` assets.
    target : ndarray, shape (N,)
        Target weights (fractions of NAV).
    target_cash : float
    full_te : bool
        Tracking error from the day's covariance (else the diagonal form).
    day_targets : tuple of (ndarray (T, N), ndarray (T,)), optional
        The target and cash target in force on each day when the target changes inside
        the history (a stock that stopped trading sold: a new version from the next
        session); the branches that cross a change follow it (:meth:`targets_on`).
        None: ``target`` on every day.
    """

    label: str
    history: MarketHistory
    target: FloatArray
    target_cash: float
    full_te: bool = True
    _covs: dict[int, FloatArray] = field(default_factory=dict, repr=False)
    day_targets: tuple[FloatArray, FloatArray] | None = None

    def targets_on(self, day: IntArray) -> tuple[FloatArray, FloatArray | float]:
        """The target (R, N) and cash target (R,) in force on each of ``day`` (R,); the
        one ``target`` and ``target_cash`` (broadcast) without :attr:`day_targets`."""
        if self.day_targets is None:
            return self.target, self.target_cash
        weights, cash = self.day_targets
        return weights[day], cash[day]

    def cov_on(self, day: int) -> FloatArray:
        """The history's covariance of ``day`` (:meth:`MarketHistory.cov_on`), (N, N).

        The study reads each day's covariance for the path days and again for the events
        of every rule and cost setting, while the history keeps only the last day: here
        every day read is kept, up to :data:`KEEP_COV_CELLS` numbers.
        """
        hit = self._covs.get(day)
        if hit is None:
            hit = self.history.cov_on(day)
            if (len(self._covs) + 1) * hit.size <= KEEP_COV_CELLS:
                self._covs[day] = hit
        return hit

    def prepare_covariances(self, days: IntArray) -> None:
        """Estimate the covariances of ``days`` at once and keep them (as many as
        :data:`KEEP_COV_CELLS` allows; :meth:`cov_on` estimates any other day alone).

        :meth:`MarketHistory.covs_on` rolls one window sum over consecutive days
        (``O(N^2)`` a day instead of ``O(window N^2)``), in chunks of
        :data:`COV_CHUNK_DAYS` days.
        """
        if not self.full_te:
            return
        todo = np.setdiff1d(np.unique(days), np.fromiter(self._covs, dtype=np.intp))
        n = self.history.prices.shape[1]
        room = KEEP_COV_CELLS // max(n * n, 1) - len(self._covs)
        todo = todo[: max(room, 0)]
        for start in range(0, len(todo), COV_CHUNK_DAYS):
            chunk = todo[start: start + COV_CHUNK_DAYS]
            for k, cov in zip(chunk.tolist(), self.history.covs_on(chunk), strict=True):
                self._covs[k] = cov

    def te_rows(self, day: IntArray, drift: FloatArray) -> FloatArray:
        """:meth:`te_on` of every row: ``te_on(day[r], drift[r])``, shape (R,).

        With the full TE model, the covariances of :data:`COV_CHUNK_DAYS` days at a time
        and one compiled pass over their rows (:func:`tracking_errors`, equal to the bit
        to :meth:`te_on`).
        """
        if not self.full_te or not compiled_order(drift.shape[1]):
            return by_day(day, lambda k, rows: self.te_on(k, drift[rows]))
        out = np.full(len(day), np.nan)
        uniq, inv = np.unique(day, return_inverse=True)
        inv = inv.reshape(-1)
        order = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[order], np.arange(0, len(uniq) + COV_CHUNK_DAYS,
                                                       COV_CHUNK_DAYS))
        for j, lo in enumerate(range(0, len(uniq), COV_CHUNK_DAYS)):
            block = uniq[lo: lo + COV_CHUNK_DAYS]
            rows = order[bounds[j]: bounds[j + 1]]
            covs = np.stack([self.cov_on(int(k)) for k in block.tolist()])
            out[rows] = tracking_errors(drift[rows], covs, inv[rows] - lo)
        return out

    def te_on(self, day: int, drift: FloatArray) -> FloatArray:
        """Ex-ante annualized TE of drifts (R, N) with the risk model of ``day`` -> (R,)."""
        if self.full_te:
            return np.asarray(tracking_error(drift, self.cov_on(day)), dtype=np.float64)
        return np.asarray(tracking_error_diag(drift, self.history.vol_annual[day]),
                          dtype=np.float64)

    def reference_returns(self) -> FloatArray:
        """Daily return of the target rebalanced every close at no cost, shape (T,).

        ``r_t = sum_i t_i p_{t,i} / p_{t-1,i} + t_cash - 1`` (0 on the first day), the
        backtest's reference portfolio.
        """
        p = self.history.prices
        out = np.zeros(len(p))
        out[1:] = (p[1:] / p[:-1]) @ self.target + self.target_cash - 1.0
        return out


@dataclass(frozen=True, eq=False)
class Paths:
    """Buy-and-hold paths from target, each until the base policy's next review.

    Attributes
    ----------
    start : ndarray of int, shape (P,)
        Day (history row) of the start close, where the path is on target.
    review : ndarray of int, shape (P,)
        Day of the next calendar review; ``T`` when the data ends first (the path is
        then censored: it has no review to wait for).
    shares : ndarray, shape (P, N)
    cash_usd : ndarray, shape (P,)
    """

    start: IntArray
    review: IntArray
    shares: FloatArray
    cash_usd: FloatArray

    @property
    def n_paths(self) -> int:
        """P."""
        return len(self.start)


def calendar_days(history: MarketHistory, frequency: Frequency,
                  anchor: Anchor = Anchor.FIRST) -> BoolArray:
    """Days that are the ``anchor`` session of a ``frequency`` period, shape (T,)."""
    key = (frequency, anchor)
    return np.array([key in flags for flags in history.calendar], dtype=bool)


def make_paths(portfolio: Portfolio, nav_usd: float, *, review: Frequency = Frequency.QUARTER,
               grid: Frequency = Frequency.MONTH, warmup_days: int = 252,
               starts: IntArray | None = None, events: IntArray | None = None) -> Paths:
    """Paths starting on every grid date after the warm-up.

    Parameters
    ----------
    portfolio : Portfolio
    nav_usd : float
        NAV at each start (USD).
    review : Frequency
        The base policy's calendar (first session of each period).
    grid : Frequency
        Start dates: first session of each period of this frequency.
    warmup_days : int
        No start before this row (risk windows filled).
    starts : ndarray of int, optional
        Explicit start rows (overrides the grid).
    events : ndarray of int, optional
        Rows where the base policy rebalances besides its calendar (a new target version:
        a stock that stopped trading sold): a path ends on the first review or event
        after its start, and, with the grid, a path also starts on each event.

    Returns
    -------
    Paths
    """
    h = portfolio.history
    extra = np.zeros(0, dtype=np.intp) if events is None else np.asarray(events, dtype=np.intp)
    if starts is None:
        starts = np.union1d(np.flatnonzero(calendar_days(h, grid)), extra)
        starts = starts[starts >= warmup_days]
    starts = np.asarray(starts, dtype=np.intp)
    reviews = np.union1d(np.flatnonzero(calendar_days(h, review)), extra)
    pos = np.searchsorted(reviews, starts, side="right")
    end = np.where(pos < len(reviews), reviews[np.minimum(pos, len(reviews) - 1)], h.n_days)
    prices = h.prices[starts]
    shares = portfolio.target[None, :] * nav_usd / prices
    cash = np.full(len(starts), portfolio.target_cash * nav_usd)
    return Paths(starts, np.asarray(end, dtype=np.intp), shares, cash)


@dataclass(frozen=True, eq=False)
class PathDays:
    """The state of every path on each day strictly between its start and review.

    ``R`` rows, one per (path, day), ordered by path then day.

    Attributes
    ----------
    path, day : ndarray of int, shape (R,)
    weights : ndarray, shape (R, N)
    cash_weight, nav_usd, drift, te_annual : ndarray, shape (R,)
        Portfolio drift ``D`` and ex-ante annualized TE (before trading).
    asset_drift : ndarray, shape (R, N)
        ``w - t``.
    since_start : ndarray of int, shape (R,)
        Trading days since the path's start.
    """

    path: IntArray
    day: IntArray
    weights: FloatArray
    cash_weight: FloatArray
    nav_usd: FloatArray
    drift: FloatArray
    te_annual: FloatArray
    asset_drift: FloatArray
    since_start: IntArray

    @property
    def n_rows(self) -> int:
        """R."""
        return len(self.day)


def path_days(portfolio: Portfolio, paths: Paths) -> PathDays:
    """Every path's state on each of its days (vectorized over all paths and days)."""
    h = portfolio.history
    last = np.minimum(paths.review, h.n_days)
    lengths = np.maximum(last - paths.start - 1, 0)
    path = np.repeat(np.arange(paths.n_paths), lengths)
    offsets = np.arange(len(path)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    since = np.asarray(offsets + 1, dtype=np.intp)
    day = np.asarray(paths.start[path] + since, dtype=np.intp)
    values = paths.shares[path] * h.prices[day]
    cash = paths.cash_usd[path]
    nav = values.sum(axis=1) + cash
    weights = values / nav[:, None]
    cash_w = cash / nav
    d = weights - portfolio.target
    drift = np.asarray(portfolio_drift(weights, portfolio.target, cash_w, portfolio.target_cash),
                       dtype=np.float64)
    portfolio.prepare_covariances(day)
    te = portfolio.te_rows(day, d)
    return PathDays(path, day, weights, cash_w, nav, drift, te, d, since)


def by_day(day: IntArray, fn: Callable[[int, IntArray], FloatArray]) -> FloatArray:
    """``fn(k, rows)`` for each distinct day ``k`` of ``day``, scattered back, shape (R,).

    One call per distinct day (the day's risk or cost model is built once for all the
    rows on that day).
    """
    out = np.full(len(day), np.nan)
    if len(day) == 0:
        return out
    order = np.argsort(day, kind="stable")
    uniq, first = np.unique(day[order], return_index=True)
    bounds = [*first.tolist(), len(day)]
    for j, k in enumerate(uniq.tolist()):
        rows = order[bounds[j]: bounds[j + 1]]
        out[rows] = fn(int(k), rows)
    return out


def day_cost_fn(history: MarketHistory, params: CostParams, day: int, *,
                any_inputs: bool = False) -> RowCosts:
    """The cost model of ``day``: signed trades (C, N) USD -> cost per asset (C, N) USD.

    ``any_inputs``: a flat cost does not read the day's inputs, so any day's will do
    (the history keeps one day of inputs; this avoids rebuilding them).
    """
    coefficients = day_coefficients(history, params, day, any_inputs=any_inputs)
    return RowCosts.of(coefficients, 1, history.prices.shape[1])


def day_coefficients(history: MarketHistory, params: CostParams, day: int, *,
                     any_inputs: bool = False) -> CostCoefficients:
    """The cost coefficients of ``day`` with the day's VIX (those :func:`day_cost_fn`
    prices with).

    A model cost reads the day's row of the history's table of every day
    (:meth:`MarketHistory.cost_table`, the same numbers as ``cost_coefficients`` of
    the day's inputs) when the history keeps one.
    """
    vix = float(history.vix[day])
    flat = params.flat_cost_bps is not None
    table = None if flat else history.cost_table(params)
    if table is not None:
        t, mult = table
        return CostCoefficients(
            t.spread_frac[day], t.commission_frac[day], t.flat_frac[day], t.min_ticket_usd[day],
            tuple((t.impact_coef[day, j], float(t.impact_power[day, j]))
                  for j in range(t.impact_coef.shape[1])),
            np.asarray(mult[day]), bool(t.flat_by_regime[day]))
    return cost_coefficients(history.cost_inputs(0 if flat and any_inputs else day), params,
                             None if np.isnan(vix) else vix)


def rebalance_cost(days: PathDays, history: MarketHistory, params: CostParams) -> FloatArray:
    """Cost of a full rebalance on each path day, fraction of NAV, shape (R,).

    The trade is ``-d * NAV`` (``DayContext.full_rebalance_trade_usd``), priced by the cost
    model of its day with the day's VIX, as the planner's cost-benefit trigger does.
    A flat cost (``params.flat_cost_bps``) does not depend on the day's inputs: its days
    share one parameter set per VIX regime. A model cost prices each row with its day's
    set of the history's table of every day (:meth:`MarketHistory.cost_table`).

    Each day's coefficients are one parameter set of a :class:`~driftwise.costs.CostTable`
    and each row is priced with its day's set (the kernel prices a row alone, so the
    numbers are those of the day's own model), many days at once: at most
    :data:`COST_CHUNK_CELLS` trades and as many table entries a call.
    """
    trades = -days.asset_drift * days.nav_usd[:, None]
    out = np.full(len(days.day), np.nan)
    if len(days.day) == 0:
        return out
    n_assets = trades.shape[1]
    per_chunk = max(1, COST_CHUNK_CELLS // max(1, n_assets))
    flat = params.flat_cost_bps is not None
    table = None if flat else history.cost_table(params)
    if table is not None:  # every day's set at hand: rows in chunks, each with its day's
        t, mult = table
        for lo in range(0, len(days.day), per_chunk):
            part = slice(lo, lo + per_chunk)
            which = np.ascontiguousarray(days.day[part], dtype=np.intp)
            costs = RowCosts(t, which, np.ascontiguousarray(mult[which]))
            out[part] = (costs(np.ascontiguousarray(trades[part])).sum(axis=1)
                         / days.nav_usd[part])
        return out
    order = np.argsort(days.day, kind="stable")
    uniq, first = np.unique(days.day[order], return_index=True)
    bounds = [*first.tolist(), len(order)]
    # a flat cost reads no day's inputs: its coefficients differ only by the day's VIX regime
    regimes = vix_regime(history.vix[uniq], params) if flat else np.zeros(0, dtype=np.intp)
    regime_sets: dict[int, CostCoefficients] = {}
    lo = 0
    while lo < len(uniq):  # days lo .. hi - 1, at most per_chunk rows (one day at least)
        hi = lo + 1
        while (hi < len(uniq) and hi - lo < per_chunk
               and bounds[hi + 1] - bounds[lo] <= per_chunk):
            hi += 1
        if flat:  # one parameter set per VIX regime of these days
            sets, day_set = np.unique(regimes[lo:hi], return_inverse=True)
            coefficients = [regime_sets.setdefault(int(r), day_coefficients(
                history, params, int(uniq[lo + int(np.argmax(regimes[lo:hi] == r))]),
                any_inputs=True)) for r in sets.tolist()]
        else:
            coefficients = [day_coefficients(history, params, int(k)) for k in uniq[lo:hi]]
            day_set = np.arange(hi - lo)
        rows = order[bounds[lo]: bounds[hi]]
        which = np.repeat(np.asarray(day_set, dtype=np.intp).reshape(-1),
                          np.diff(bounds[lo: hi + 1]))
        mult = np.array([float(np.asarray(c.multiplier).reshape(-1)[0]) for c in coefficients])
        costs = RowCosts(CostTable.stack(coefficients, n_assets), which,
                         np.ascontiguousarray(mult[which]))
        out[rows] = costs(np.ascontiguousarray(trades[rows])).sum(axis=1) / days.nav_usd[rows]
        lo = hi
    return out


def thin_events(mask: BoolArray, group: IntArray, since_start: IntArray,
                gap_days: int) -> IntArray:
    """Rows kept as events: the first row where ``mask`` holds per (group, block).

    Parameters
    ----------
    mask : ndarray of bool, shape (R,)
        Where the IF holds.
    group : ndarray of int, shape (R,)
        Path (or path and asset) of each row.
    since_start : ndarray of int, shape (R,)
        Trading days since the path's start; blocks are ``since_start // gap_days``.
    gap_days : int
        Block length (1 keeps every row where the IF holds).

    Returns
    -------
    ndarray of int
        Positions of the kept rows, ascending.
    """
    rows = np.flatnonzero(mask)
    if len(rows) == 0 or gap_days <= 1:
        return np.asarray(rows, dtype=np.intp)
    block = since_start[rows] // gap_days
    key = group[rows].astype(np.int64) * (int(since_start.max()) + 2) + block
    order = np.lexsort((rows, key))
    _, first = np.unique(key[order], return_index=True)
    return np.asarray(np.sort(rows[order[first]]), dtype=np.intp)
