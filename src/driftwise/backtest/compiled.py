"""The compiled day loop of drift-threshold batches (SPEC section 8).

A batch whose trigger is a (stacked) :class:`~driftwise.policy.triggers.DriftThreshold`
and whose rule needs neither the cost-benefit skip nor the covariance runs its days in
compiled code: :func:`driftwise._kernels.threshold_scan` marks the quiet days to market
and stops on the first day a row's drift reaches its threshold;
:func:`driftwise._kernels.threshold_event` simulates that day (mark to market, the rows
that fire leave their illiquid assets out, are sized and pay from cash). Python only
builds the day's cost table between the two (:class:`~driftwise.backtest.batches.DayCosts`).

Nothing here is a second implementation: the loop calls the kernels the planner's code
calls, each through its own public function elsewhere: the mark to market
(:func:`driftwise.metrics.drift.mark_to_market`), the trigger's comparison
(:meth:`DriftThreshold.evaluate <driftwise.policy.triggers.DriftThreshold.evaluate>`),
the illiquid assets (:func:`driftwise.policy.rule.illiquid_assets`), the sizing with its
cost model (:func:`driftwise.policy.sizing.size_trades`). The order of
:func:`driftwise.policy.rule.step` (trigger, illiquid assets, sizing) is the kernel's.
Tests require this loop to equal the Python day loop of the same batch, and the engine
to equal the reference simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driftwise import _kernels as _k
from driftwise.backtest.batches import Batch, BatchState, DayCosts, Outputs
from driftwise.errors import ConfigError, DataError
from driftwise.policy.context import BoolArray, FloatArray
from driftwise.policy.destination import Destination
from driftwise.policy.rule import Rule
from driftwise.policy.sizing import KIND_CODES, no_landing_error
from driftwise.policy.triggers import DriftThreshold

TOL = 1e-12
"""Relative tolerance of sizing's cost fixed point (``size_trades``' default)."""
MAX_ITER = 50
"""Its iteration limit (``size_trades``' default)."""


def supports(rule: Rule, with_cov: bool) -> bool:
    """Whether a batch of ``rule`` runs in the compiled loop.

    Its trigger is a drift threshold (stacked or not), the cost-benefit skip is off and
    sizing needs no covariance; every destination and constraint is supported.
    """
    return (type(rule.trigger) is DriftThreshold and not rule.skip_if_cost_exceeds_benefit
            and not with_cov)


@dataclass
class Loop:
    """One run of a compiled batch: its thresholds and its result columns, (T, C_g) each
    (contiguous; written into the run's :class:`Outputs` when the last day is done)."""

    threshold: FloatArray
    nav: FloatArray
    drift: FloatArray
    post_drift: FloatArray
    traded: FloatArray
    cost: FloatArray
    cash: FloatArray
    rebalanced: BoolArray

    @classmethod
    def start(cls, batch: Batch) -> Loop:
        trigger = batch.rule.trigger
        assert isinstance(trigger, DriftThreshold)  # supports() checked it
        n_days, n_rows = batch.history.n_days, len(batch.members)
        threshold = np.asarray(trigger.threshold, dtype=np.float64)

        def nan() -> FloatArray:
            return np.full((n_days, n_rows), np.nan)
        return cls(_k.arg(np.broadcast_to(threshold, (n_rows,))), nan(), nan(),
                   nan(), nan(), nan(), nan(), np.zeros((n_days, n_rows), dtype=np.bool_))

    def write(self, out: Outputs, batch: Batch) -> None:
        """Copy the columns into the run's result arrays."""
        cols = batch.columns
        out.nav[:, cols] = self.nav
        out.drift[:, cols] = self.drift
        out.post_drift[:, cols] = self.post_drift
        out.traded[:, cols] = self.traded
        out.cost[:, cols] = self.cost
        out.cash[:, cols] = self.cash
        out.rebalanced[:, cols] = self.rebalanced


def advance(batch: Batch, state: BatchState, out: Outputs, k: int) -> int:
    """Simulate from day ``k`` through the next day on which a row fires; return the next
    day to simulate (the number of days when done, the result then written to ``out``)."""
    h = batch.history
    loop = state.loop
    if not isinstance(loop, Loop):
        loop = state.loop = Loop.start(batch)
    day = _k.threshold_scan(k, state.shares, state.cash, state.since, h.prices, batch.target,
                            float(batch.target_cash), loop.threshold, batch.invalid, loop.nav,
                            loop.drift, loop.post_drift, loop.traded, loop.cost, loop.cash)
    if day < h.n_days:
        _event(batch, state, loop, day)
        day += 1
    if day >= h.n_days:
        loop.write(out, batch)
    return day


def _event(batch: Batch, state: BatchState, loop: Loop, k: int) -> None:
    h, rule = batch.history, batch.rule
    c = rule.constraints
    costs = DayCosts(batch, k)
    model = costs.model
    failed = np.zeros(1, dtype=np.intp)
    status = _k.threshold_event(
        k, state.shares, state.cash, state.since, h.prices[k], batch.target,
        float(batch.target_cash), loop.threshold, batch.band_width, batch.no_buy, batch.no_sell,
        _k.arg(h.vol_annual[k]), _k.arg(costs.inputs.adv_shares, np.float64),
        float(rule.participation), float(rule.min_adv_usd), float(rule.max_liquidity_days),
        KIND_CODES[Destination(rule.destination)], float(rule.gamma), float(rule.horizon_days),
        bool(c.long_only), float(c.cash_buffer), float(c.min_trade_usd),
        float(c.min_trade_shares), bool(c.whole_shares), float(c.max_turnover), model.which,
        model.multiplier, model.table.kernel_args, TOL, MAX_ITER, loop.nav, loop.drift,
        loop.post_drift, loop.traded, loop.cost, loop.cash, loop.rebalanced, failed)
    if status == _k.NAV_NOT_POSITIVE:
        raise DataError("NAV must be positive", field="nav_usd", expected="a positive amount",
                        found=str(loop.nav[k, int(failed[0])]))
    if status == _k.NO_LANDING:
        raise no_landing_error(MAX_ITER)
    if status != _k.OK:
        raise ConfigError("cash constraint did not converge: the cost model is not increasing "
                          "in the trade size")
