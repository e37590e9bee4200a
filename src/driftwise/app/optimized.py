"""What the plan says about an optimized rebalance: the no-trade region and the rounding.

The solver (:mod:`driftwise.policy.optimize`) leaves an asset untraded when the marginal
benefit of its first dollar traded, ``|γ (Σ (w − t))_i|``, is at most its marginal cost,
``γ_trade κ_i`` (spread, commission and flat cost per dollar; the impact's slope is 0 at
0): the asset sits inside the no-trade region. The sizing then lands, fits cash, drops
minimum trades and rounds to whole shares; the plan reports what that step changed in
cost and tracking error against the solver's own trades.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwise.flags import Flag, Notice, notice
from driftwise.policy.context import DayContext
from driftwise.policy.rule import StepResult

MAX_LISTED = 12
"""Assets named one by one in the no-trade reason (the rest are counted)."""


def no_trade_reason(outcome: StepResult, tickers: pd.Index, may_trade: np.ndarray) -> list[str]:
    """The assets the solver left (row 0) and why, as one reason; empty when none.

    ``may_trade`` (N,) are the assets free to trade today (restricted, illiquid or frozen
    ones are explained by their own reasons)."""
    solved = outcome.sizing.optimized
    if solved is None or solved.failed[0] or not outcome.trigger.fired[0]:
        return []
    left = np.flatnonzero(~solved.traded[0] & may_trade)
    if not len(left):
        return []
    order = left[np.argsort(-(solved.marginal_benefit[0, left]
                              / np.maximum(solved.marginal_cost[0, left], 1e-300)))]
    shown = [f"{tickers[i]} ({1e4 * solved.marginal_benefit[0, i]:.2f} ≤ "
             f"{1e4 * solved.marginal_cost[0, i]:.2f})" for i in order[:MAX_LISTED]]
    more = f" and {len(left) - MAX_LISTED} more" if len(left) > MAX_LISTED else ""
    return [f"inside the no-trade region (the optimizer leaves them: the marginal benefit of "
            f"the first dollar traded is below its marginal cost, bps per dollar, benefit ≤ "
            f"γ_trade × cost): {', '.join(shown)}{more}"]


def rounding_effect(outcome: StepResult, ctx: DayContext) -> dict[str, float]:
    """Cost (USD) and tracking error of the final trades minus those of the solver's own
    trades (row 0): the effect of landing after costs, the cash fit, minimum trades and
    whole shares. Empty unless the optimizer sized the trades."""
    solved = outcome.sizing.optimized
    if solved is None or solved.failed[0] or not outcome.trigger.fired[0]:
        return {}
    nav = float(ctx.nav_usd[0])
    solver_te = float(ctx.te((ctx.weights + solved.trade - ctx.target)[:1])[0])
    final_te = float(outcome.te_after[0])
    final_cost = float(outcome.sizing.cost_usd[0].sum())
    return {"optimizer_cost_usd": float(solved.cost_fraction[0]) * nav,
            "optimizer_te": solver_te,
            "rounding_cost_change_usd": final_cost - float(solved.cost_fraction[0]) * nav,
            "rounding_te_change": final_te - solver_te}


def fallback_notice(outcome: StepResult) -> tuple[Notice, ...]:
    """The flag of a solve that failed (the plan then trades to the full target)."""
    solved = outcome.sizing.optimized
    if solved is None or not solved.failed[0]:
        return ()
    return (notice(Flag.OPTIMIZER_FALLBACK, f"the optimizer did not solve "
                   f"({solved.status[0]}): the full destination was used instead"),)
