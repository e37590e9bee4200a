"""The methodology's falsification criterion: threshold against calendar rebalancing.

"A rule fails if threshold rebalancing does not reduce TE versus calendar, or if costs
exceed the TE reduction". One implementation, used by ``driftwise
backtest`` (every threshold / calendar pair among the compared rules) and by
``driftwise validate-rules`` (its falsification backtests).

The verdict has four values, each resting on an interval, checked in this order:

1. **fails: threshold does not reduce TE**: the paired block-bootstrap interval of
   ``TE_threshold − TE_calendar`` does not lie below 0. Whether costs exceed "the TE
   reduction" is then not applicable (there is no reduction to exceed): ``None``.
2. **fails: costs exceed the TE reduction**: the **excess** of the threshold rule, its
   extra cost per year ``cost_thr − cost_cal`` less the TE reduction, has a 95% interval
   above 0. The TE reduction is taken in utility form ``(γ/2)(TE_cal² − TE_thr²)`` (the
   certainty-equivalent gain a year, same units as the cost: the default) or in the
   methodology's own form ``TE_cal − TE_thr`` (both fractions a year; dimensionally
   unsound, kept for fidelity). The interval is the CR2 ``t(G − 1)`` interval of the
   mean yearly excess across the path's ``G`` calendar years
   (:func:`yearly_cells`, :mod:`driftwise.backtest.years`), as the pooled verdict of
   the rule study has across portfolios.
3. **holds**: the excess's interval lies below 0.
4. **undecided: extra cost and TE reduction cannot be told apart**: the interval holds 0
   (or there are fewer than two calendar years: no interval).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from driftwise.backtest.bootstrap import difference_cis
from driftwise.backtest.cluster_robust import clustered_mean
from driftwise.backtest.metrics import ResultLike
from driftwise.backtest.years import MIN_YEAR_DAYS, yearly_metrics

__all__ = [
    "MIN_YEAR_DAYS",
    "FalsificationTest",
    "Verdict",
    "falsification_test",
    "interval_verdict",
    "yearly_cells",
]


class Verdict(StrEnum):
    """Outcome of the falsification criterion."""

    HOLDS = "holds"
    NO_TE_REDUCTION = "fails: threshold does not reduce TE"
    COSTS_EXCEED = "fails: costs exceed the TE reduction"
    UNDECIDED = "undecided: extra cost and TE reduction cannot be told apart"


def interval_verdict(te_high: float, excess_low: float, excess_high: float) -> Verdict:
    """The verdict from intervals: no TE reduction unless the TE difference's interval lies
    below 0; then costs exceed the reduction when the excess's interval lies above 0, the
    criterion holds when it lies below 0, and it is undecided otherwise (or without an
    interval)."""
    if not math.isfinite(te_high) or te_high >= 0.0:
        return Verdict.NO_TE_REDUCTION
    if math.isfinite(excess_low) and excess_low > 0.0:
        return Verdict.COSTS_EXCEED
    if math.isfinite(excess_high) and excess_high < 0.0:
        return Verdict.HOLDS
    return Verdict.UNDECIDED


NO_INTERVAL = (math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class FalsificationTest:
    """The criterion on one threshold rule against one calendar rule.

    Attributes
    ----------
    te_threshold, te_calendar : float
        Annualized tracking errors against the reference, fractions.
    te_diff, te_diff_low, te_diff_high : float
        ``TE_threshold − TE_calendar`` and its paired block-bootstrap interval.
    cost_threshold, cost_calendar : float
        Costs per year, fractions of NAV.
    tracking_aversion : float
        γ of the utility form.
    excess : (float, float, float)
        Mean over the path's calendar years of the excess in utility form,
        ``(cost_thr − cost_cal) − (γ/2)(TE_cal² − TE_thr²)``, and its CR2 ``t(G − 1)``
        interval ``(mean, low, high)``; NaN without two years.
    excess_seed : (float, float, float)
        The same with the TE reduction in the methodology's form ``TE_cal − TE_thr``.
    n_years : int
        ``G``, the calendar years the excess intervals rest on.
    """

    te_threshold: float
    te_calendar: float
    te_diff: float
    te_diff_low: float
    te_diff_high: float
    cost_threshold: float
    cost_calendar: float
    tracking_aversion: float
    excess: tuple[float, float, float] = NO_INTERVAL
    excess_seed: tuple[float, float, float] = NO_INTERVAL
    n_years: int = 0

    @property
    def threshold_reduces_te(self) -> bool:
        """The whole interval of the TE difference lies below 0."""
        return self.te_diff_high < 0.0

    @property
    def cost_diff(self) -> float:
        """Extra cost per year of the threshold rule, ``cost_thr − cost_cal``."""
        return self.cost_threshold - self.cost_calendar

    @property
    def te_reduction_seed(self) -> float:
        """``TE_cal − TE_thr`` (the methodology's form)."""
        return self.te_calendar - self.te_threshold

    @property
    def te_reduction_utility(self) -> float:
        """``(γ/2)(TE_cal² − TE_thr²)``, the certainty-equivalent gain a year."""
        return 0.5 * self.tracking_aversion * (self.te_calendar**2 - self.te_threshold**2)

    def verdict(self, *, utility: bool = True) -> Verdict:
        """The verdict (utility form by default) from the intervals
        (:func:`interval_verdict`)."""
        _, low, high = self.excess if utility else self.excess_seed
        return interval_verdict(self.te_diff_high, low, high)

    def costs_exceed(self, *, utility: bool = True) -> bool | None:
        """Whether the extra cost exceeds the TE reduction: True when the excess's interval
        lies above 0, False when below; None when not applicable (no TE reduction) or
        undecided (the interval holds 0)."""
        return {Verdict.COSTS_EXCEED: True, Verdict.HOLDS: False}.get(
            self.verdict(utility=utility))

    def record(self) -> dict[str, object]:
        """Plain-data form: the inputs, the excess intervals, both forms' answers and
        verdicts."""
        return {
            "te_threshold": self.te_threshold, "te_calendar": self.te_calendar,
            "te_diff": self.te_diff, "te_diff_low": self.te_diff_low,
            "te_diff_high": self.te_diff_high, "cost_threshold": self.cost_threshold,
            "cost_calendar": self.cost_calendar, "cost_diff": self.cost_diff,
            "tracking_aversion": self.tracking_aversion,
            "threshold_reduces_te": self.threshold_reduces_te,
            "excess_mean": self.excess[0], "excess_low": self.excess[1],
            "excess_high": self.excess[2], "excess_seed_mean": self.excess_seed[0],
            "excess_seed_low": self.excess_seed[1], "excess_seed_high": self.excess_seed[2],
            "n_years": self.n_years,
            "costs_exceed_te_reduction_seed": self.costs_exceed(utility=False),
            "costs_exceed_te_reduction_utility": self.costs_exceed(utility=True),
            "verdict_seed": self.verdict(utility=False).value,
            "verdict": self.verdict(utility=True).value,
        }


def falsification_test(result: ResultLike, threshold: str, calendar: str, *,
                       te: pd.Series, cost: pd.Series, tracking_aversion: float,
                       samples: int = 1000, block: int = 21, seed: int = 0) -> FalsificationTest:
    """The criterion for two configurations of one backtest ``result``.

    Parameters
    ----------
    result : ResultLike
        The backtest holding both configurations.
    threshold, calendar : str
        Names of the threshold and the calendar configuration.
    te, cost : pandas.Series
        ``te_annual`` and ``cost_per_year`` indexed by configuration name (columns of
        :func:`~driftwise.backtest.metrics.policy_metrics`).
    tracking_aversion : float
        γ of the utility form.
    samples, block, seed :
        Of the paired block bootstrap of the TE difference
        (:func:`~driftwise.backtest.bootstrap.difference_ci`).
    """
    return falsification_tests(result, [(threshold, calendar)], te=te, cost=cost,
                               tracking_aversion=tracking_aversion, samples=samples,
                               block=block, seed=seed)[0]


def falsification_tests(result: ResultLike, pairs: Sequence[tuple[str, str]], *,
                        te: pd.Series, cost: pd.Series, tracking_aversion: float,
                        samples: int = 1000, block: int = 21,
                        seed: int = 0) -> list[FalsificationTest]:
    """:func:`falsification_test` of each ``(threshold, calendar)`` pair of ``pairs``, the
    TE of every configuration named resampled once
    (:func:`~driftwise.backtest.bootstrap.difference_cis`; each test equals its pair's
    alone to the bit), the excess's interval across the path's calendar years
    (:func:`yearly_cells`)."""
    cis = difference_cis(result, pairs, "te_annual", samples=samples, block=block, seed=seed)
    out = []
    for (threshold, calendar), ci in zip(pairs, cis, strict=True):
        cells = yearly_cells(result, threshold, calendar, tracking_aversion=tracking_aversion)
        out.append(FalsificationTest(
            te_threshold=float(te[threshold]), te_calendar=float(te[calendar]),
            te_diff=ci.estimate, te_diff_low=ci.low, te_diff_high=ci.high,
            cost_threshold=float(cost[threshold]), cost_calendar=float(cost[calendar]),
            tracking_aversion=float(tracking_aversion),
            excess=clustered_mean(cells["excess"], cells["years"]),
            excess_seed=clustered_mean(cells["excess_seed"], cells["years"]),
            n_years=len(cells["years"])))
    return out


def yearly_cells(result: ResultLike, threshold: str, calendar: str, *,
                 tracking_aversion: float,
                 min_days: int = MIN_YEAR_DAYS) -> dict[str, list[float]]:
    """The criterion's quantities in each calendar year of one backtest ``result``.

    In each calendar year with at least ``min_days`` daily returns
    (:func:`~driftwise.backtest.years.yearly_metrics`: the whole-window definitions of
    :func:`~driftwise.backtest.metrics.policy_metrics` applied to the year's days):

    - ``te_diff``: ``TE_thr − TE_cal``, annualized tracking errors against the reference;
    - ``excess``: the threshold rule's extra cost a year less its TE reduction in utility
      form, ``(cost_thr − cost_cal) − (γ/2)(TE_cal² − TE_thr²)`` (> 0: costs exceed it);
    - ``excess_seed``: the same with the reduction in the methodology's form
      ``TE_cal − TE_thr``.

    Returns ``{"years": [...], "te_diff": [...], "excess": [...], "excess_seed": [...]}``
    (plain lists, for JSON). The years are the independent observations of the verdicts
    with an interval (:class:`FalsificationTest`,
    :func:`driftwise.validation.stats.falsification_pooled`).
    """
    y = yearly_metrics(result, [threshold, calendar], min_days=min_days)
    te, cost = y.te, y.cost
    extra = cost[:, 0] - cost[:, 1]
    return {"years": [int(v) for v in y.years],
            "te_diff": [float(v) for v in te[:, 0] - te[:, 1]],
            "excess": [float(v) for v in
                       extra - 0.5 * tracking_aversion * (te[:, 1] ** 2 - te[:, 0] ** 2)],
            "excess_seed": [float(v) for v in extra - (te[:, 1] - te[:, 0])]}
