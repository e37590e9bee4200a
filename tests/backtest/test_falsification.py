"""The falsification criterion: three verdicts, each branch on a hand-built case."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from driftwise.app.backtest import compare
from driftwise.backtest.falsification import (
    FalsificationTest,
    Verdict,
    falsification_test,
    falsification_tests,
    interval_verdict,
)
from driftwise.backtest.metrics import policy_metrics
from driftwise.config import policies

from .conftest import synthetic_inputs


def case(te_thr: float, te_cal: float, high: float, cost_thr: float, cost_cal: float,
         gamma: float = 2.0, half: float = 1e-5) -> FalsificationTest:
    """A test whose yearly excess intervals sit ``± half`` around the whole-window
    excess of each form (10 years)."""
    utility = (cost_thr - cost_cal) - 0.5 * gamma * (te_cal ** 2 - te_thr ** 2)
    seed_form = (cost_thr - cost_cal) - (te_cal - te_thr)
    return FalsificationTest(te_threshold=te_thr, te_calendar=te_cal, te_diff=te_thr - te_cal,
                             te_diff_low=te_thr - te_cal - 0.002, te_diff_high=high,
                             cost_threshold=cost_thr, cost_calendar=cost_cal,
                             tracking_aversion=gamma,
                             excess=(utility, utility - half, utility + half),
                             excess_seed=(seed_form, seed_form - half, seed_form + half),
                             n_years=10)


def test_no_te_reduction_makes_the_cost_comparison_not_applicable() -> None:
    # the threshold rule tracks worse (1.2% vs 1.0%) and costs 1 bp a year more: the old
    # signed comparison said "costs exceed the TE reduction" (1e-4 > 1.0% - 1.2% = -0.2%)
    test = case(0.012, 0.010, high=0.003, cost_thr=0.0003, cost_cal=0.0002)
    assert not test.threshold_reduces_te
    assert test.costs_exceed(utility=False) is None
    assert test.costs_exceed(utility=True) is None
    assert test.verdict() is Verdict.NO_TE_REDUCTION
    assert test.verdict(utility=False) is Verdict.NO_TE_REDUCTION
    assert test.verdict().value == "fails: threshold does not reduce TE"


def test_a_reduction_whose_interval_reaches_zero_is_no_reduction() -> None:
    test = case(0.009, 0.010, high=0.0, cost_thr=0.0, cost_cal=0.0)
    assert test.verdict() is Verdict.NO_TE_REDUCTION


def test_costs_exceed_the_te_reduction() -> None:
    # TE 2.0% -> 1.5%: utility gain (2/2)(0.02^2 - 0.015^2) = 1.75e-4 a year (1.75 bps);
    # extra cost 3 bps a year exceeds it
    test = case(0.015, 0.020, high=-0.001, cost_thr=0.0005, cost_cal=0.0002)
    assert test.te_reduction_utility == pytest.approx(1.75e-4)
    assert test.costs_exceed() is True
    assert test.verdict() is Verdict.COSTS_EXCEED
    assert test.verdict().value == "fails: costs exceed the TE reduction"


def test_holds() -> None:
    # the same TE cut for 1 bp a year more: 1e-4 < 1.75e-4
    test = case(0.015, 0.020, high=-0.001, cost_thr=0.0003, cost_cal=0.0002)
    assert test.costs_exceed() is False
    assert test.verdict() is Verdict.HOLDS


def test_the_two_forms_can_disagree() -> None:
    # TE 2.0% -> 1.5%: ratio form TE_cal - TE_thr = 0.005 (50 bps "a year"), utility 1.75 bps;
    # an extra cost of 3 bps holds in the ratio form and fails in utility form
    test = case(0.015, 0.020, high=-0.001, cost_thr=0.0005, cost_cal=0.0002)
    assert test.verdict(utility=False) is Verdict.HOLDS
    assert test.verdict(utility=True) is Verdict.COSTS_EXCEED
    record = test.record()
    assert record["verdict"] == Verdict.COSTS_EXCEED.value
    assert record["verdict_seed"] == Verdict.HOLDS.value
    assert record["cost_diff"] == pytest.approx(3e-4)


def test_backtest_comparison_reports_the_verdict_of_each_pair() -> None:
    inputs = synthetic_inputs()
    configs = [policies.monthly(), policies.threshold(0.03), policies.threshold(0.05),
               policies.never()]
    result = compare(inputs, configs, samples=100, workers=1)
    table = result.falsification
    assert list(zip(table["threshold"], table["calendar"], strict=True)) == [
        ("threshold 3%", "monthly"), ("threshold 5%", "monthly")]
    m = result.metrics
    for _, row in table.iterrows():
        assert row["te_threshold"] == m.loc[row["threshold"], "te_annual"]
        assert row["cost_calendar"] == m.loc[row["calendar"], "cost_per_year"]
        reduces = row["te_diff_high"] < 0
        assert row["threshold_reduces_te"] == reduces
        if not reduces:
            assert row["verdict"] == Verdict.NO_TE_REDUCTION.value
            assert row["costs_exceed_te_reduction_utility"] is None
        elif row["excess_low"] > 0:
            assert row["verdict"] == Verdict.COSTS_EXCEED.value
        elif row["excess_high"] < 0:
            assert row["verdict"] == Verdict.HOLDS.value
        else:  # the interval holds 0, or fewer than two calendar years give none
            assert row["verdict"] == Verdict.UNDECIDED.value
            assert row["costs_exceed_te_reduction_utility"] is None


def test_no_pair_no_table() -> None:
    result = compare(synthetic_inputs(), [policies.never(), policies.threshold(0.05)],
                     samples=50, workers=1)
    assert isinstance(result.falsification, pd.DataFrame) and result.falsification.empty


def test_pairs_tested_together_equal_each_pair_alone() -> None:
    inputs = synthetic_inputs()
    configs = [policies.monthly(), policies.threshold(0.03), policies.threshold(0.05),
               policies.never()]
    result = compare(inputs, configs, samples=60, workers=1)
    m = result.metrics
    pairs = [("threshold 3%", "monthly"), ("threshold 5%", "monthly"), ("never", "monthly")]
    together = falsification_tests(result.result, pairs, te=m["te_annual"],
                                   cost=m["cost_per_year"], tracking_aversion=2.0, samples=60)
    for (thr, cal), test in zip(pairs, together, strict=True):
        alone = falsification_test(result.result, thr, cal, te=m["te_annual"],
                                   cost=m["cost_per_year"], tracking_aversion=2.0, samples=60)
        assert repr(test) == repr(alone)  # NaN intervals compare as text


def years_result(extra_cost: float, seed: int = 4) -> SimpleNamespace:
    """Two rules over six calendar years (2015-2020) of business days: the threshold rule
    tracks the reference closely (daily active noise 0.05%) and the calendar rule loosely
    (0.3%), so the threshold rule cuts TE clearly; each day the threshold rule pays the
    calendar rule's cost plus ``extra_cost`` x NAV x a noise of mean 1."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-01", "2020-12-31")
    n = len(dates)
    ref = 100.0 * np.cumprod(1.0 + rng.normal(0.0003, 0.01, n))
    nav = np.column_stack([ref * np.cumprod(1.0 + rng.normal(0.0, s, n))
                           for s in (0.0005, 0.003)])
    base = rng.uniform(0.0, 2e-6, n) * nav[:, 1]
    extra = extra_cost / 252.0 * rng.uniform(0.0, 2.0, n) * nav[:, 0]
    cost = np.column_stack([base * nav[:, 0] / nav[:, 1] + extra, base])
    zeros = np.zeros((n, 2))
    return SimpleNamespace(names=["thr", "cal"], dates=dates, nav_usd=nav, ref_nav_usd=ref,
                           cost_usd=cost, traded_usd=zeros, rebalanced=zeros, drift=zeros,
                           risk_free_annual=np.zeros(n), params=pd.DataFrame(index=range(2)))


def run_test(r: SimpleNamespace) -> FalsificationTest:
    m = policy_metrics(r)
    return falsification_test(r, "thr", "cal", te=m["te_annual"], cost=m["cost_per_year"],
                              tracking_aversion=2.0, samples=200)


def test_excess_interval_oracle() -> None:
    """The excess's interval recomputed from the definitions: each year's TE and cost
    by plain loops, then the one-sample t interval across the six years."""
    r = years_result(extra_cost=2e-3)
    test = run_test(r)
    excess, excess_seed = [], []
    for y in range(2015, 2021):
        days = [t for t in range(1, len(r.dates)) if r.dates[t].year == y]
        te, cost = [], []
        for c in (0, 1):
            act = [r.nav_usd[t, c] / r.nav_usd[t - 1, c] - r.ref_nav_usd[t] / r.ref_nav_usd[t - 1]
                   for t in days]
            te.append(float(np.std(act, ddof=1)) * math.sqrt(252))
            cost.append(252 * float(np.mean([r.cost_usd[t, c] / r.nav_usd[t, c]
                                             for t in days])))
        excess.append((cost[0] - cost[1]) - (te[1] ** 2 - te[0] ** 2))  # γ/2 = 1
        excess_seed.append((cost[0] - cost[1]) - (te[1] - te[0]))
    assert test.n_years == 6
    for got, values in ((test.excess, excess), (test.excess_seed, excess_seed)):
        m = float(np.mean(values))
        half = stats.t.ppf(0.975, 5) * float(np.std(values, ddof=1)) / math.sqrt(6)
        assert got == pytest.approx((m, m - half, m + half), rel=1e-9)


def test_clear_excess_fails_and_no_excess_is_undecided() -> None:
    # TE 4.8% -> 0.8%: utility gain (2/2)(0.048² − 0.008²) about 22 bps a year
    costly = run_test(years_result(extra_cost=1e-2))  # 100 bps a year more: clearly above
    assert costly.threshold_reduces_te and costly.excess[1] > 0
    assert costly.verdict() is Verdict.COSTS_EXCEED and costly.costs_exceed() is True
    gain = costly.te_reduction_utility
    even = run_test(years_result(extra_cost=gain))  # extra cost = the gain: cannot tell
    assert even.threshold_reduces_te and even.excess[1] <= 0 <= even.excess[2]
    assert even.verdict() is Verdict.UNDECIDED and even.costs_exceed() is None
    assert even.record()["verdict"] == "undecided: extra cost and TE reduction cannot be " \
        "told apart"
    cheap = run_test(years_result(extra_cost=0.0))  # same costs: the TE gain wins
    assert cheap.excess[2] < 0 and cheap.verdict() is Verdict.HOLDS
    # the methodology's form: a 4 pp "reduction" a year dwarfs 100 bps of cost
    assert costly.verdict(utility=False) is Verdict.HOLDS


def test_interval_verdict_branches() -> None:
    assert interval_verdict(0.001, 1.0, 2.0) is Verdict.NO_TE_REDUCTION
    assert interval_verdict(math.nan, 1.0, 2.0) is Verdict.NO_TE_REDUCTION
    assert interval_verdict(-0.001, 1e-5, 2e-5) is Verdict.COSTS_EXCEED
    assert interval_verdict(-0.001, -2e-5, -1e-5) is Verdict.HOLDS
    assert interval_verdict(-0.001, -1e-5, 1e-5) is Verdict.UNDECIDED
    assert interval_verdict(-0.001, math.nan, math.nan) is Verdict.UNDECIDED


def test_undecided_in_the_case_helper() -> None:
    # the same TE cut; an excess interval of ±3 bps around -0.75 bps holds 0
    test = case(0.015, 0.020, high=-0.001, cost_thr=0.0003, cost_cal=0.0002, half=3e-4)
    assert test.verdict() is Verdict.UNDECIDED and test.costs_exceed() is None
