"""Triggers on hand-worked contexts, and the batch equals a loop of single configurations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.policy.context import Anchor, DayContext, Frequency
from driftwise.policy.triggers import (
    AllOf,
    AnyOf,
    AssetBands,
    Calendar,
    CostBenefit,
    CostBenefitForm,
    DriftThreshold,
    DynamicThreshold,
    Never,
    StressDelay,
    VolatilityAware,
    hybrid,
    vix_regime,
)

TARGET = np.array([0.4, 0.4, 0.2])


def ctx(weights: list[list[float]], *, vix: float = 15.0, calendar: frozenset = frozenset(),
        first_day: bool = False, vol: tuple[float, ...] = (0.2, 0.1, 0.4),
        cost_rate: float = 0.001, pending: list[float] | None = None,
        band: float = 0.05) -> DayContext:
    w = np.asarray(weights, dtype=float)
    c = w.shape[0]
    return DayContext(
        date=np.datetime64("2024-03-01"), weights=w, cash_weight=1.0 - w.sum(axis=1),
        target=TARGET, target_cash=0.0, nav_usd=np.full(c, 1e6),
        vol_annual=np.asarray(vol), band_width=np.full(3, band),
        full_cost_usd=lambda trade: cost_rate * np.abs(trade).sum(axis=1),
        vix=vix, calendar=calendar, first_day=first_day,
        days_since_rebalance=np.zeros(c),
        pending_days=np.asarray(pending if pending is not None else [np.nan] * c),
    )


# drift of [0.46, 0.36, 0.18] vs [0.4, 0.4, 0.2]: |d| = 0.06 + 0.04 + 0.02 -> D = 0.06
DRIFTED = [0.46, 0.36, 0.18]


def test_never() -> None:
    assert not Never().evaluate(ctx([DRIFTED])).fired[0]


def test_drift_threshold_by_hand() -> None:
    c = ctx([DRIFTED, TARGET.tolist()])
    np.testing.assert_allclose(c.portfolio_drift, [0.06, 0.0], atol=1e-15)
    result = DriftThreshold(0.05).evaluate(c)
    assert result.fired.tolist() == [True, False]
    assert result.explain(0)[0] == "portfolio drift 6.00% vs threshold 5.00%"


def test_threshold_sweep_is_one_trigger() -> None:
    c = ctx([DRIFTED] * 4)
    fired = DriftThreshold(np.array([0.03, 0.05, 0.07, 0.10])).evaluate(c).fired
    assert fired.tolist() == [True, True, False, False]


def test_calendar_fires_on_its_day_only_and_never_on_the_first_day() -> None:
    month_start = frozenset({(Frequency.MONTH, Anchor.FIRST)})
    trig = Calendar(Frequency.MONTH, Anchor.FIRST)
    assert trig.evaluate(ctx([DRIFTED], calendar=month_start)).fired[0]
    assert not trig.evaluate(ctx([DRIFTED])).fired[0]
    assert not trig.evaluate(ctx([DRIFTED], calendar=month_start, first_day=True)).fired[0]
    assert not Calendar(Frequency.QUARTER).evaluate(ctx([DRIFTED], calendar=month_start)).fired[0]


def test_asset_bands_count_assets_outside() -> None:
    # |d| = 0.06, 0.04, 0.02 against a 5% band: one asset outside
    result = AssetBands().evaluate(ctx([DRIFTED]))
    assert result.fired[0] and result.explain(0)[0] == "1 asset(s) outside their band"
    assert not AssetBands().evaluate(ctx([DRIFTED], band=0.07)).fired[0]


def test_hybrid_is_calendar_or_override() -> None:
    trig = hybrid(Frequency.MONTH, override=0.10)
    big = [0.52, 0.30, 0.18]  # D = 0.12
    assert trig.evaluate(ctx([big])).fired[0]
    assert not trig.evaluate(ctx([DRIFTED])).fired[0]
    month_start = frozenset({(Frequency.MONTH, Anchor.FIRST)})
    assert trig.evaluate(ctx([DRIFTED], calendar=month_start)).fired[0]


def test_cost_benefit_utility_by_hand() -> None:
    c = ctx([DRIFTED], cost_rate=0.001)
    # TE diag² = 0.06²·0.2² + 0.04²·0.1² + 0.02²·0.4² = 1.44e-4 + 1.6e-5 + 6.4e-5 = 2.24e-4
    # benefit = (2/2)·2.24e-4·(252/252) = 2.24e-4; cost = 0.001·(0.12·1e6)/1e6 = 1.2e-4
    result = CostBenefit(CostBenefitForm.UTILITY, gamma=2.0).evaluate(c)
    ratio = result.reasons[0].values["r"]
    assert float(ratio[0]) == pytest.approx(1.2e-4 / 2.24e-4)
    assert result.fired[0]
    assert not CostBenefit(CostBenefitForm.UTILITY, gamma=1.0).evaluate(c).fired[0]


def test_cost_benefit_seed_form_divides_cost_by_te() -> None:
    result = CostBenefit(CostBenefitForm.RATIO).evaluate(ctx([DRIFTED], cost_rate=0.001))
    assert float(result.reasons[0].values["r"][0]) == pytest.approx(1.2e-4 / np.sqrt(2.24e-4))


def test_cost_benefit_on_target_does_not_fire() -> None:
    assert not CostBenefit().evaluate(ctx([TARGET.tolist()])).fired[0]


def test_volatility_aware_restricts_to_volatile_drifted_assets() -> None:
    # asset 3 has σ 40% but |d| 2%; asset 1 has |d| 6% but σ 20%: nothing
    assert not VolatilityAware().evaluate(ctx([DRIFTED])).fired[0]
    result = VolatilityAware().evaluate(ctx([[0.4, 0.36, 0.24]]))  # asset 3: d = +4%
    assert result.fired[0]
    assert result.assets is not None and result.assets[0].tolist() == [False, False, True]


def test_vix_regimes() -> None:
    assert [vix_regime(v) for v in (12.0, 20.0, 29.9, 30.0, float("nan"))] == [0, 1, 1, 2, 0]


def test_dynamic_threshold_widens_with_vix() -> None:
    trig = DynamicThreshold(base=0.05)
    assert trig.evaluate(ctx([DRIFTED], vix=15)).fired[0]        # 6% >= 5%
    assert trig.evaluate(ctx([DRIFTED], vix=25)).fired[0]        # 6% >= 6%
    assert not trig.evaluate(ctx([DRIFTED], vix=35)).fired[0]    # 6% < 7.5%
    paused = DynamicThreshold(base=0.05, pause_in_stress=True, extreme=0.15)
    assert not paused.evaluate(ctx([[0.52, 0.30, 0.18]], vix=35)).fired[0]  # 12% < 15%


def test_stress_delay_blocks_moderate_drift_then_releases() -> None:
    gate = StressDelay(DriftThreshold(0.05), delay_days=10, max_delay_days=20)
    calm, stressed = ctx([DRIFTED], vix=15), ctx([DRIFTED], vix=35)
    assert gate.evaluate(calm).fired[0]
    blocked = gate.evaluate(stressed)
    assert not blocked.fired[0] and blocked.delayed is not None and blocked.delayed[0]
    # still stressed after 12 days: wait; after 20 days: forced
    assert not gate.evaluate(ctx([DRIFTED], vix=35, pending=[12.0])).fired[0]
    assert gate.evaluate(ctx([DRIFTED], vix=35, pending=[20.0])).fired[0]
    # stress over after 10 days: go
    assert gate.evaluate(ctx([DRIFTED], vix=18, pending=[10.0])).fired[0]


def test_stress_delay_does_not_hold_large_drift() -> None:
    gate = StressDelay(DriftThreshold(0.05))
    assert gate.evaluate(ctx([[0.52, 0.30, 0.18]], vix=40)).fired[0]  # D = 12% > 10%


def test_any_of_all_of_and_asset_union() -> None:
    c = ctx([[0.4, 0.36, 0.24]])  # D = 4%, asset 3 volatile and drifted by 4%
    either = AnyOf((DriftThreshold(0.05), VolatilityAware()))
    both = AllOf((DriftThreshold(0.05), VolatilityAware()))
    assert either.evaluate(c).fired[0] and not both.evaluate(c).fired[0]
    union = either.evaluate(c).assets
    assert union is not None and union[0].tolist() == [False, False, True]


@given(st.lists(st.tuples(st.floats(0, 0.6), st.floats(0, 0.6)), min_size=1, max_size=6),
       st.floats(0.0, 60.0))
def test_batch_equals_loop(rows: list[tuple[float, float]], vix: float) -> None:
    weights = [[a, b, max(0.0, 1 - a - b)] for a, b in rows]
    trigger = AnyOf((StressDelay(DynamicThreshold(0.05)), VolatilityAware(),
                     CostBenefit(), AssetBands()))
    batch = trigger.evaluate(ctx(weights, vix=vix))
    for i, w in enumerate(weights):
        single = trigger.evaluate(ctx([w], vix=vix))
        assert bool(batch.fired[i]) == bool(single.fired[0])
        assert batch.explain(i) == single.explain(0)


# ------------------------------------------------ rows with their own day (engine blocks)

FLAGS = [(Frequency.MONTH, Anchor.FIRST), (Frequency.QUARTER, Anchor.LAST)]


@st.composite
def day_rows(draw: st.DrawFn) -> dict[str, list]:
    """Rows, each a portfolio on its own day: weights, VIX, calendar, first day, vol, wait."""
    n = draw(st.integers(1, 8))
    share = st.floats(0.0, 0.6)
    weights = []
    for _ in range(n):
        a, b = draw(share), draw(share)
        weights.append([a, b, max(0.0, 1.0 - a - b)])
    vix = draw(st.lists(st.one_of(st.floats(5.0, 60.0), st.just(float("nan"))),
                        min_size=n, max_size=n))
    flags = draw(st.lists(st.lists(st.booleans(), min_size=2, max_size=2), min_size=n,
                          max_size=n))
    first = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    vol = draw(st.lists(st.lists(st.floats(0.05, 0.8), min_size=3, max_size=3), min_size=n,
                        max_size=n))
    pending = draw(st.lists(st.one_of(st.just(float("nan")), st.sampled_from([1.0, 3.0, 10.0,
                                                                                 20.0])),
                            min_size=n, max_size=n))
    base = draw(st.lists(st.sampled_from([0.02, 0.05, 0.08]), min_size=n, max_size=n))
    return {"weights": weights, "vix": vix, "flags": flags, "first": first, "vol": vol,
            "pending": pending, "base": base}


def _rule(base: float | np.ndarray) -> StressDelay:
    return StressDelay(AnyOf((
        DynamicThreshold(base=base, pause_in_stress=True),
        AllOf((Calendar(Frequency.MONTH, Anchor.FIRST), DriftThreshold(base))),
        Calendar(Frequency.QUARTER, Anchor.LAST), VolatilityAware(), AssetBands())),
        drift_max=base, delay_days=3, max_delay_days=10)


@given(day_rows())
def test_rows_with_their_own_day_equal_one_day_each(rows: dict[str, list]) -> None:
    """The engine's block context (day data per row) gives each row its one-day answer."""
    n = len(rows["weights"])
    flags = np.asarray(rows["flags"], dtype=bool)
    block = dataclasses.replace(
        ctx(rows["weights"], pending=rows["pending"]), vix=np.asarray(rows["vix"]),
        calendar={FLAGS[0]: flags[:, 0], FLAGS[1]: flags[:, 1]},
        first_day=np.asarray(rows["first"]), vol_annual=np.asarray(rows["vol"]),
        date=np.full(n, np.datetime64("2024-03-01")))
    got = _rule(np.asarray(rows["base"])).evaluate(block)
    for i in range(n):
        calendar = frozenset(f for f, on in zip(FLAGS, flags[i], strict=True) if on)
        one = ctx([rows["weights"][i]], vix=rows["vix"][i], calendar=calendar,
                  first_day=rows["first"][i], vol=tuple(rows["vol"][i]),
                  pending=[rows["pending"][i]])
        want = _rule(rows["base"][i]).evaluate(one)
        assert bool(got.fired[i]) == bool(want.fired[0])
        assert got.delayed is not None and want.delayed is not None
        assert bool(got.delayed[i]) == bool(want.delayed[0])
        assert got.assets is not None and want.assets is not None
        assert got.assets[i].tolist() == want.assets[0].tolist()
        assert got.explain(i) == want.explain(0)


def test_take_keeps_each_row() -> None:
    weights = [DRIFTED, TARGET.tolist(), [0.5, 0.3, 0.2]]
    full = dataclasses.replace(ctx(weights, pending=[np.nan, 4.0, 12.0]),
                               vix=np.array([15.0, 35.0, np.nan]),
                               calendar={FLAGS[0]: np.array([True, False, True])},
                               first_day=np.array([False, False, True]))
    part = full.take(np.array([2, 0]))
    assert part.n_configs == 2
    np.testing.assert_array_equal(part.weights, full.weights[[2, 0]])
    np.testing.assert_array_equal(part.pending_days, [12.0, np.nan])
    np.testing.assert_array_equal(part.vix_rows(), [np.nan, 15.0])
    assert part.calendar_mask(*FLAGS[0]).tolist() == [False, True]  # row 2 is a first day
    np.testing.assert_array_equal(part.portfolio_drift, full.portfolio_drift[[2, 0]])
    same_day = ctx(weights).take(np.array([1]))
    assert same_day.vix == 15.0 and same_day.is_calendar_day(*FLAGS[0]) is False


def test_scalar_and_row_calendar_agree() -> None:
    on = ctx([DRIFTED, DRIFTED], calendar=frozenset({FLAGS[0]}))
    assert on.calendar_mask(*FLAGS[0]).tolist() == [True, True]
    assert on.is_calendar_day(*FLAGS[0])
    assert not on.is_calendar_day(*FLAGS[1])
    first = ctx([DRIFTED], calendar=frozenset({FLAGS[0]}), first_day=True)
    assert not first.is_calendar_day(*FLAGS[0])
