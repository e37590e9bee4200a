"""The methodology's falsification criterion: threshold against calendar rebalancing.

"A rule fails if threshold rebalancing does not reduce TE versus calendar, or if costs
exceed the TE reduction". One implementation, used by ``driftwise
backtest`` (every threshold / calendar pair among the compared rules) and by
``driftwise validate-rules`` (its falsification backtests).

The verdict has three values, checked in this order:

1. **fails: threshold does not reduce TE**: the paired block-bootstrap interval of
   ``TE_threshold − TE_calendar`` does not lie below 0. Whether costs exceed "the TE
   reduction" is then not applicable (there is no reduction to exceed): ``None``.
2. **fails: costs exceed the TE reduction**: the extra cost per year of the threshold
   rule, ``cost_thr − cost_cal``, exceeds the TE reduction, in utility form
   ``(γ/2)(TE_cal² − TE_thr²)`` (the certainty-equivalent gain a year, same units as the
   cost: the default) or in the methodology's own form ``TE_cal − TE_thr`` (both fractions
   a year; dimensionally unsound, kept for fidelity).
3. **holds** otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from driftwise.backtest.bootstrap import difference_cis
from driftwise.backtest.metrics import (
    ResultLike,
    cost_per_year,
    daily_returns,
    result_arrays,
    tracking_error,
)

__all__ = [
    "MIN_YEAR_DAYS",
    "FalsificationTest",
    "Verdict",
    "falsification_test",
    "yearly_cells",
]

MIN_YEAR_DAYS = 126
"""Fewest daily returns a calendar year needs to be one of :func:`yearly_cells`' years
(half a year: a window's partial first and last years with fewer are left out)."""


class Verdict(StrEnum):
    """Outcome of the falsification criterion."""

    HOLDS = "holds"
    NO_TE_REDUCTION = "fails: threshold does not reduce TE"
    COSTS_EXCEED = "fails: costs exceed the TE reduction"


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
    """

    te_threshold: float
    te_calendar: float
    te_diff: float
    te_diff_low: float
    te_diff_high: float
    cost_threshold: float
    cost_calendar: float
    tracking_aversion: float

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

    def costs_exceed(self, *, utility: bool = True) -> bool | None:
        """Whether the extra cost exceeds the TE reduction; None (not applicable) when the
        threshold rule does not reduce TE."""
        if not self.threshold_reduces_te:
            return None
        reduction = self.te_reduction_utility if utility else self.te_reduction_seed
        return self.cost_diff > reduction

    def verdict(self, *, utility: bool = True) -> Verdict:
        """The three-valued verdict (utility form by default)."""
        exceed = self.costs_exceed(utility=utility)
        if exceed is None:
            return Verdict.NO_TE_REDUCTION
        return Verdict.COSTS_EXCEED if exceed else Verdict.HOLDS

    def record(self) -> dict[str, object]:
        """Plain-data form: the inputs, both forms' answers and verdicts."""
        return {
            "te_threshold": self.te_threshold, "te_calendar": self.te_calendar,
            "te_diff": self.te_diff, "te_diff_low": self.te_diff_low,
            "te_diff_high": self.te_diff_high, "cost_threshold": self.cost_threshold,
            "cost_calendar": self.cost_calendar, "cost_diff": self.cost_diff,
            "tracking_aversion": self.tracking_aversion,
            "threshold_reduces_te": self.threshold_reduces_te,
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
        Of the paired block bootstrap (:func:`~driftwise.backtest.bootstrap.difference_ci`).
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
    alone to the bit)."""
    cis = difference_cis(result, pairs, "te_annual", samples=samples, block=block, seed=seed)
    return [FalsificationTest(
        te_threshold=float(te[threshold]), te_calendar=float(te[calendar]),
        te_diff=ci.estimate, te_diff_low=ci.low, te_diff_high=ci.high,
        cost_threshold=float(cost[threshold]), cost_calendar=float(cost[calendar]),
        tracking_aversion=float(tracking_aversion))
        for (threshold, calendar), ci in zip(pairs, cis, strict=True)]


def yearly_cells(result: ResultLike, threshold: str, calendar: str, *,
                 tracking_aversion: float,
                 min_days: int = MIN_YEAR_DAYS) -> dict[str, list[float]]:
    """The criterion's two quantities in each calendar year of one backtest ``result``.

    In each calendar year with at least ``min_days`` daily returns (a return belongs to
    the year of the day it ends on), with the whole-window definitions of
    :func:`~driftwise.backtest.metrics.policy_metrics` applied to the year's days:

    - ``te_diff``: ``TE_thr − TE_cal``, annualized tracking errors against the reference;
    - ``excess``: the threshold rule's extra cost a year less its TE reduction in utility
      form, ``(cost_thr − cost_cal) − (γ/2)(TE_cal² − TE_thr²)`` (> 0: costs exceed it).

    Returns ``{"years": [...], "te_diff": [...], "excess": [...]}`` (plain lists, for
    JSON). The years are the independent observations of the verdicts with an interval
    (:func:`driftwise.validation.stats.falsification_pooled`).
    """
    a = result_arrays(result)
    names = list(result.names)
    cols = [names.index(threshold), names.index(calendar)]
    nav = a["nav_usd"][:, cols]
    active = daily_returns(nav) - daily_returns(a["ref_nav_usd"][:, None])
    cost = a["cost_usd"][:, cols]
    year = pd.DatetimeIndex(result.dates).year.to_numpy()
    out: dict[str, list[float]] = {"years": [], "te_diff": [], "excess": []}
    for y in np.unique(year[1:]):
        days = np.flatnonzero(year[1:] == y)  # returns ending in year y (day index - 1)
        if len(days) < min_days:
            continue
        te = tracking_error(active[days], 0.0)
        c = cost_per_year(cost[days + 1], nav[days + 1])
        out["years"].append(int(y))
        out["te_diff"].append(float(te[0] - te[1]))
        out["excess"].append(float((c[0] - c[1])
                                   - 0.5 * tracking_aversion * (te[1] ** 2 - te[0] ** 2)))
    return out
