"""What the plan says about an optimized rebalance: the no-trade region and the rounding.

The solver (:mod:`driftwise.policy.optimize`) leaves an asset untraded when the marginal
benefit of its first dollar traded, ``|γ (Σ (w − t))_i|``, is at most its marginal cost,
``γ_trade κ_i`` (spread, commission and flat cost per dollar; the impact's slope is 0 at
0): the asset sits inside the no-trade region. The sizing then lands, fits cash, drops
minimum trades and rounds to whole shares; the plan reports what that step changed in
cost and tracking error against the solver's own trades. With factor exposure targets
(:mod:`driftwise.policy.factors`), the plan shows each factor's exposure ``B'w`` of the
target, before and after the trades, from the betas of the as-of date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwise.flags import Flag, Notice, notice
from driftwise.policy.context import DayContext
from driftwise.policy.factors import MIN_OBSERVATIONS, FactorSettings, exposures, factor_history
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
    benefit, cost = solved.marginal_benefit[0], solved.marginal_cost[0]
    untraded = ~solved.traded[0] & may_trade
    inside = untraded & (benefit <= cost * (1.0 + 1e-6) + 1e-12)
    out = []
    left = np.flatnonzero(inside)
    if len(left):
        order = left[np.argsort(-(benefit[left] / np.maximum(cost[left], 1e-300)))]
        shown = [f"{tickers[i]} ({1e4 * benefit[i]:.2f} ≤ {1e4 * cost[i]:.2f})"
                 for i in order[:MAX_LISTED]]
        more = f" and {len(left) - MAX_LISTED} more" if len(left) > MAX_LISTED else ""
        out.append(f"inside the no-trade region (the optimizer leaves them: the marginal "
                   f"benefit of the first dollar traded is below its marginal cost, bps per "
                   f"dollar, benefit ≤ γ_trade × cost): {', '.join(shown)}{more}")
    taxed = np.zeros_like(untraded)
    if solved.gradient is not None and solved.marginal_tax is not None:
        # a sale worth its trading cost but not its tax: said by the tax reasons
        g, tax = solved.gradient[0], solved.marginal_tax[0]
        taxed = untraded & ~inside & (g > cost) & (g <= cost + tax)
    held = np.flatnonzero(untraded & ~inside & ~taxed)
    if len(held):
        out.append("left by a constraint of the optimizer (a restricted list, the weight or "
                   "group bounds, the cash buffer or the turnover cap), though worth trading: "
                   + ", ".join(map(str, tickers[held])))
    return out


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


def plan_factor_betas(prices: pd.DataFrame, tickers: pd.Index, as_of: pd.Timestamp,
                      settings: FactorSettings) -> tuple[np.ndarray, np.ndarray]:
    """The factor betas (N, F) of ``tickers`` on ``as_of`` and which assets have them (N,):
    :meth:`FactorHistory.betas` on the as-of row of the market prices, from the returns of
    the last ``window_days`` sessions up to it (the backtest reads the same rows)."""
    upto = prices.loc[:as_of]
    recent = upto.iloc[max(0, len(upto) - settings.window_days - 1):]
    history = factor_history(recent, tickers, settings)
    return history.betas(len(recent) - 1)


def factor_report(outcome: StepResult, ctx: DayContext, betas: np.ndarray, known: np.ndarray,
                  tickers: pd.Index, settings: FactorSettings
                  ) -> tuple[list[str], dict[str, float], dict[str, float]]:
    """The factor exposures of the plan (row 0): a reason line (target → before → after
    per factor) and the figures of ``before`` (``exposure_<name>``) and ``after``
    (``exposure_<name>`` after the trades, ``exposure_<name>_target``)."""
    target = exposures(betas, np.broadcast_to(ctx.target, ctx.weights.shape)[0])
    before = exposures(betas, ctx.weights[0])
    after = exposures(betas, outcome.sizing.post_weights[0])
    how = ([f"bound ±{settings.bound:.4f}"] if settings.bound is not None else []) + (
        [f"penalty λ = {settings.penalty:g}"] if settings.penalty > 0 else [])
    shown = "; ".join(f"{name} {target[f]:.4f} → {before[f]:.4f} → {after[f]:.4f}"
                      for f, name in enumerate(settings.names))
    reasons = [f"factor exposures B'w (target → before → after; {', '.join(how)}; betas on "
               f"{settings.window_days} sessions of returns up to the as-of date): {shown}"]
    missing = tickers[~known]
    if len(missing):
        reasons.append("no factor betas (fewer than "
                       f"{MIN_OBSERVATIONS} daily returns with the factors'), taken as 0: "
                       + ", ".join(map(str, missing[:MAX_LISTED]))
                       + (f" and {len(missing) - MAX_LISTED} more"
                          if len(missing) > MAX_LISTED else ""))
    names = settings.names
    return (reasons, {f"exposure_{n}": float(before[f]) for f, n in enumerate(names)},
            {**{f"exposure_{n}": float(after[f]) for f, n in enumerate(names)},
             **{f"exposure_{n}_target": float(target[f]) for f, n in enumerate(names)}})
