"""A compiled batch run row by row on threads (backtest/compiled.run_rows) equals the day
loop of the same batch bit for bit, and raises its errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftwise.backtest import compiled, segments
from driftwise.backtest.engine import BacktestResult
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Holdings
from driftwise.errors import ConfigError, DataError

from .conftest import synthetic_inputs
from .test_borrow import BASE, SHORT
from .test_reference import DAYS, SYNTHETIC

FIELDS = ("nav_usd", "traded_usd", "cost_usd", "rebalanced", "drift", "post_drift", "cash_usd",
          "intended_usd", "borrow_usd")


@pytest.fixture
def rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every flat-cost batch of one row and more runs row by row, three rows to a chunk
    (several chunks, on threads); yields the number of rows of each such run."""
    monkeypatch.setattr(compiled, "MIN_ROWS_AT_ONCE", 1)
    monkeypatch.setattr(compiled, "ROW_CHUNK", 3)
    monkeypatch.setattr(compiled, "thread_count", lambda: 2)
    seen: list[int] = []
    run = compiled.run_rows

    def spy(batch: object, *args: object) -> None:
        seen.append(len(batch.members))  # type: ignore[attr-defined]
        run(batch, *args)  # type: ignore[arg-type]
    monkeypatch.setattr(compiled, "run_rows", spy)
    yield seen


def _day_loop(inputs: object, configs: list[Config], **kw: object) -> BacktestResult:
    """The same run in the compiled day loop (no batch row by row)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "MIN_ROWS_AT_ONCE", 10**9)
        return backtest_configs(inputs, configs, **kw)  # type: ignore[arg-type]


def _assert_equal(a: BacktestResult, b: BacktestResult) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@st.composite
def flat_grids(draw: st.DrawFn) -> list[Config]:
    """Threshold, hybrid or calendar rows of one rule at flat costs (with and without VIX
    regimes, so that a run builds several cost models), whole shares or not, minimum
    trades, a cash buffer, a turnover cap, shorts allowed, illiquid assets."""
    base = Config().with_overrides({
        "constraints.whole_shares": draw(st.booleans()),
        "constraints.min_trade_usd": draw(st.sampled_from([0.0, 100.0, 3000.0])),
        "constraints.min_trade_shares": draw(st.sampled_from([0.0, 5.0])),
        "constraints.cash_buffer": draw(st.sampled_from([0.0, 0.02])),
        "constraints.max_turnover": draw(st.sampled_from([1.0, 0.03])),
        "constraints.long_only": draw(st.booleans()),
        "constraints.min_adv_usd": draw(st.sampled_from([1e6, 0.0])),
        "risk.te_model": "diagonal",
    })
    destination = draw(st.sampled_from(["full", "half", "band_edge"]))
    kind = draw(st.sampled_from(["threshold", "threshold", "hybrid", "calendar"]))
    out = []
    for _ in range(draw(st.integers(2, 9))):
        cost = draw(st.sampled_from([
            {"costs.flat_cost_bps": 10.0}, {"costs.flat_cost_bps": 40.0},
            {"costs.flat_cost_bps": 10.0, "costs.vix_multipliers": [1.0, 2.0, 4.0]},
            {"costs.flat_cost_bps": 5.0, "costs.cost_scale": 3.0}]))
        h = draw(st.sampled_from([0.0, 0.005, 0.01, 0.02, 0.04, 0.9]))
        config = base.with_overrides(cost)
        if kind == "threshold":
            out.append(pol.threshold(h, destination=destination, base=config))
        elif kind == "hybrid":
            out.append(pol.hybrid(frequency="month", override=h or 0.005,
                                  destination=destination, base=config))
        else:
            out.append(pol.calendar("week", destination=destination, base=config))
    return out


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # rows: cleared
@given(configs=flat_grids(), window=st.sampled_from([(DAYS[2], DAYS[140]),
                                                      (DAYS[120], DAYS[300])]))
def test_rows_at_once_equal_the_day_loop(rows: list[int], configs: list[Config],
                                         window: tuple[pd.Timestamp, pd.Timestamp]) -> None:
    rows.clear()
    start, end = window
    fast = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    assert sum(rows) == len(configs)  # every batch ran row by row
    _assert_equal(fast, _day_loop(SYNTHETIC, configs, start=start, end=end))


def test_a_sweep_with_stale_days_unknown_adv_and_shorts(rows: list[int]) -> None:
    """Stale cost days (no trade), days without volumes (the ADV proxy of the day, built as
    the day loop builds it), short targets paying borrow, cash earning interest; 16 rows,
    so that both build the window's rolling ADV at once, and the history estimates the
    same days of each input in both."""
    stale = synthetic_inputs(costs_as_of="2019-03-01")
    no_volumes = synthetic_inputs(with_volumes=False)
    flat = Config().with_overrides({"costs.flat_cost_bps": 10.0})
    for inputs, base in ((stale, flat), (no_volumes, flat),
                         (SHORT, BASE.with_overrides({"costs.flat_cost_bps": 10.0}))):
        configs = [pol.threshold(float(h), base=base) for h in np.linspace(0.0, 0.08, 16)]
        rows.clear()
        fast_histories: dict[object, object] = {}
        slow_histories: dict[object, object] = {}
        fast = backtest_configs(inputs, configs,  # type: ignore[arg-type]
                                histories=fast_histories)
        assert rows == [16]
        slow = _day_loop(inputs, configs, histories=slow_histories)
        _assert_equal(fast, slow)
        assert fast.rebalanced.sum() > 16
        built = [h.built for h in fast_histories.values()]  # type: ignore[attr-defined]
        assert built == [h.built for h in slow_histories.values()]  # type: ignore[attr-defined]
    assert fast.borrow_usd.sum() > 0.0  # the short run paid borrow


def test_rows_at_once_are_taken_for_large_flat_batches_only() -> None:
    """The default: 16 rows and more at flat costs, not cost-constrained; otherwise the day
    loop (the one-rule cases and model costs keep building each day's inputs alone)."""
    seen: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        run = compiled.run_rows

        def spy(batch: object, *args: object) -> None:
            seen.append(len(batch.members))  # type: ignore[attr-defined]
            run(batch, *args)  # type: ignore[arg-type]
        mp.setattr(compiled, "run_rows", spy)
        flat = Config().with_overrides({"costs.flat_cost_bps": 10.0})
        sweep = [pol.threshold(float(h), base=flat) for h in np.linspace(0.01, 0.1, 16)]
        backtest_configs(SYNTHETIC, sweep)
        backtest_configs(SYNTHETIC, sweep[:15])
        backtest_configs(SYNTHETIC, [pol.threshold(float(h)) for h in np.linspace(0.01, 0.1, 16)])
        backtest_configs(SYNTHETIC, [pol.threshold(float(h), destination="cost_constrained",
                                                   base=flat.with_overrides(
                                                       {"risk.te_model": "diagonal"}))
                                     for h in np.linspace(0.01, 0.1, 16)])
    assert seen == [16]


def test_shared_books_first_then_rows_at_once(rows: list[int],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that could share books but stops (post-trade books that differ) runs row by
    row from its first day, equal to the day loop."""
    monkeypatch.setattr(segments, "MIN_ROWS", 2)
    fractional = Config().with_overrides({"constraints.whole_shares": False,
                                          "constraints.min_trade_usd": 0.0,
                                          "constraints.min_adv_usd": 1e7,
                                          "costs.flat_cost_bps": 10.0})
    configs = [pol.threshold(float(h), base=fractional) for h in (0.005, 0.01, 0.02, 0.03)]
    fast = backtest_configs(SYNTHETIC, configs)
    _assert_equal(fast, _day_loop(SYNTHETIC, configs))


def test_errors_are_the_day_loops(rows: list[int]) -> None:
    """A cost fixed point that cannot converge, and a NAV that is not positive, raise what
    the day loop raises (its first failing day and row)."""
    ruinous = [pol.threshold(h, base=Config().with_overrides({"costs.flat_cost_bps": 9999.0}))
               for h in (0.01, 0.02)]
    for run in (backtest_configs, _day_loop):
        with pytest.raises(ConfigError, match="cost fixed point did not converge"):
            run(SYNTHETIC, ruinous)
    short = dataclasses.replace(synthetic_inputs(), holdings=Holdings(
        shares=pd.Series({"AAA": -20_000.0, "BBB": 100.0}), cash_usd=1_000.0))
    base = Config().with_overrides({"backtest.start_from_holdings": True,
                                    "constraints.long_only": False,
                                    "costs.flat_cost_bps": 10.0})
    messages = []
    for run in (backtest_configs, _day_loop):
        with pytest.raises(DataError, match="NAV must be positive") as error:
            run(short, [pol.threshold(h, base=base) for h in (0.05, 0.02)])
        messages.append(str(error.value))
    assert messages[0] == messages[1]


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # rows: cleared
@given(configs=flat_grids(), window=st.sampled_from([(DAYS[2], DAYS[140]),
                                                      (DAYS[120], DAYS[300])]))
def test_the_shared_start_equals_each_row_marked_alone(
        rows: list[int], configs: list[Config], window: tuple[pd.Timestamp, pd.Timestamp]
) -> None:
    """The days before each row first fires, marked once for rows on the same starting
    book (compiled.shared_start), equal every row marked on its own, bit for bit."""
    start, end = window
    shared = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "SHARED_START", False)
        alone = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    _assert_equal(shared, alone)


def test_the_shared_start_skips_the_days_before_the_first_trade(
        rows: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows starting on the same book begin row by row on the day each first fires (at
    or before its first trade; a threshold that never fires: after the last day), with
    the days before recorded; short books paying borrow and cash earning interest are
    equal to the day loop."""
    starts: list[list[int]] = []
    share = compiled.shared_start

    def spy(batch: object, state: object, loop: object, start: int,
            next_day: np.ndarray) -> None:
        share(batch, state, loop, start, next_day)  # type: ignore[arg-type]
        starts.append([int(d) for d in next_day])
    monkeypatch.setattr(compiled, "shared_start", spy)
    for inputs, base in ((SYNTHETIC, Config().with_overrides({"costs.flat_cost_bps": 10.0})),
                         (SHORT, BASE.with_overrides({"costs.flat_cost_bps": 10.0}))):
        configs = [pol.threshold(h, base=base) for h in (0.0, 0.01, 0.03, 0.9)]
        starts.clear()
        result = backtest_configs(inputs, configs)  # type: ignore[arg-type]
        _assert_equal(result, _day_loop(inputs, configs))
        n_days = len(result.dates)
        first_trade = [int(np.argmax(result.rebalanced[:, c])) for c in range(3)]
        (fired,) = starts  # a row may fire without trading (its ADV unknown on day 0)
        assert all(f <= t for f, t in zip(fired, first_trade, strict=False))
        assert fired[1:] == [*first_trade[1:], n_days]
        assert first_trade[0] <= first_trade[1] <= first_trade[2] and fired[2] > 0
        assert not result.rebalanced[:, 3].any()
        assert np.isfinite(result.nav_usd).all()


def _without_groups(inputs: object, configs: list[Config], **kw: object) -> BacktestResult:
    """The same run with each row simulated on its own (compiled.threshold_rows)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "GROUPS", False)
        return backtest_configs(inputs, configs, **kw)  # type: ignore[arg-type]


@pytest.fixture
def group_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the groups handed to the threads (compiled.group_tasks)."""
    sizes: list[int] = []
    make = compiled.group_tasks

    def spy(*args: object) -> list[tuple[np.ndarray, np.ndarray]]:
        tasks = make(*args)  # type: ignore[arg-type]
        sizes.extend(int(n) for _, bounds in tasks for n in np.diff(bounds))
        return tasks
    monkeypatch.setattr(compiled, "group_tasks", spy)
    return sizes


@st.composite
def repeated_grids(draw: st.DrawFn) -> list[Config]:
    """:func:`flat_grids` with rows repeated (the same threshold at other costs, or the
    same row twice), so that rows share books in groups and split on their cost models."""
    configs = draw(flat_grids())
    extra = draw(st.lists(st.sampled_from(configs), min_size=1, max_size=4))
    cost = draw(st.sampled_from([{"costs.flat_cost_bps": 25.0}, {}]))
    return [*configs, *(c.with_overrides(cost) for c in extra)]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # rows: unchanged
@given(configs=repeated_grids(), window=st.sampled_from([(DAYS[2], DAYS[140]),
                                                         (DAYS[120], DAYS[300])]))
def test_groups_on_the_same_book_equal_each_row_alone(
        rows: list[int], configs: list[Config],
        window: tuple[pd.Timestamp, pd.Timestamp]) -> None:
    """Rows holding the same book, marked once a group (compiled.threshold_groups), equal
    every row simulated on its own (threshold_rows) bit for bit (groups of several rows:
    the next test)."""
    start, end = window
    grouped = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    _assert_equal(grouped, _without_groups(SYNTHETIC, configs, start=start, end=end))


def test_groups_wait_fail_and_pay_borrow_as_rows_alone(rows: list[int],
                                                       group_sizes: list[int]) -> None:
    """Groups waiting on days whose ADV is unknown, shorts paying borrow, cash earning
    interest, rows at other costs in one group, and a failing cost fixed point: each
    equal to the rows alone (or the same error)."""
    no_volumes = synthetic_inputs(with_volumes=False)
    flat = Config().with_overrides({"costs.flat_cost_bps": 10.0})
    short = BASE.with_overrides({"costs.flat_cost_bps": 10.0})
    for inputs, base in ((no_volumes, flat), (SHORT, short), (SYNTHETIC, flat)):
        configs = [pol.threshold(float(h), base=base.with_overrides(
            {"costs.flat_cost_bps": bps})) for h in np.linspace(0.0, 0.06, 8)
            for bps in (10.0, 30.0)]
        group_sizes.clear()
        grouped = backtest_configs(inputs, configs)  # type: ignore[arg-type]
        assert max(group_sizes) > 1
        _assert_equal(grouped, _without_groups(inputs, configs))
        assert grouped.rebalanced.sum() > 16
    assert grouped.rebalanced[:, 0::2].sum() != grouped.rebalanced[:, 1::2].sum()
    ruinous = [pol.threshold(h, base=Config().with_overrides({"costs.flat_cost_bps": 9999.0}))
               for h in (0.01, 0.01, 0.02)]
    for run in (backtest_configs, _without_groups):
        with pytest.raises(ConfigError, match="cost fixed point did not converge"):
            run(SYNTHETIC, ruinous)


def test_group_tasks_group_equal_keys_lowest_threshold_first() -> None:
    """Rows with equal keys form one group, by threshold; tasks hold whole groups, up to
    ROW_CHUNK rows unless one group is larger."""
    keys = (np.array([0, 0, 0, 1, 0, 0]), np.array([5, 5, 5, 5, 5, 2]))
    threshold = np.array([0.3, 0.1, 0.2, 0.1, 0.0, 0.5])
    tasks = compiled.group_tasks(np.array([0, 1, 2, 3, 4, 5]), keys, threshold)
    groups = [order[bounds[i]:bounds[i + 1]].tolist() for order, bounds in tasks
              for i in range(len(bounds) - 1)]
    assert sorted(groups) == [[3], [4, 1, 2, 0], [5]]
    assert all(len(order) <= compiled.ROW_CHUNK or len(bounds) == 2 for order, bounds in tasks)
    assert compiled.group_tasks(np.array([], dtype=np.intp), keys, threshold) == []


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # rows: unchanged
@given(configs=repeated_grids())
def test_groups_led_by_their_highest_threshold_equal_each_row_alone(
        rows: list[int], configs: list[Config]) -> None:
    """Groups ordered highest threshold first: the leader stays quiet on days other rows
    fire, and the rows that fire go on under a leader given the book; still equal to every
    row on its own."""
    make = compiled.group_tasks
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "group_tasks",
                   lambda rows, keys, threshold: make(rows, keys, -threshold))
        grouped = backtest_configs(SYNTHETIC, configs)
    _assert_equal(grouped, _without_groups(SYNTHETIC, configs))


def _rounds_and_days(inputs: object, configs: list[Config], ahead: bool
                     ) -> tuple[BacktestResult, list[int], int, list[object]]:
    """A run with or without building ahead: its result, the days built, the rounds of
    the threads and what its history estimated."""
    built: list[int] = []
    rounds: list[int] = []
    histories: dict[object, object] = {}
    build, make = compiled.Days.build, compiled.group_tasks

    def spy_build(days: compiled.Days, k: int) -> None:
        built.append(k)
        build(days, k)

    def spy_tasks(*args: object) -> object:
        rounds.append(1)
        return make(*args)  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "BUILD_AHEAD", ahead)
        mp.setattr(compiled.Days, "build", spy_build)
        mp.setattr(compiled, "group_tasks", spy_tasks)
        result = backtest_configs(inputs, configs, histories=histories)  # type: ignore[arg-type]
    return (result, sorted(built), len(rounds),
            [h.built for h in histories.values()])  # type: ignore[attr-defined]


def test_building_ahead_builds_the_day_loops_days_in_fewer_rounds(rows: list[int]) -> None:
    """Days without volumes (each day's ADV proxy built when a row fires on it): every
    day rows wait on is built after the earliest (compiled.build_ahead), the same days as
    one a round and as the day loop, in fewer rounds, with the same results."""
    no_volumes = synthetic_inputs(with_volumes=False)
    flat = Config().with_overrides({"costs.flat_cost_bps": 10.0})
    configs = [pol.threshold(float(h), base=flat) for h in np.linspace(0.0, 0.08, 16)]
    fast, days_ahead, n_ahead, estimated = _rounds_and_days(no_volumes, configs, True)
    slow, days_one, n_one, estimated_one = _rounds_and_days(no_volumes, configs, False)
    _assert_equal(fast, slow)
    assert days_ahead == days_one and len(days_one) > 3
    assert estimated == estimated_one
    assert n_ahead < n_one
    loop_histories: dict[object, object] = {}
    _assert_equal(fast, _day_loop(no_volumes, configs, histories=loop_histories))
    assert estimated == [h.built for h in loop_histories.values()]  # type: ignore[attr-defined]


class _Days:
    """The two members of compiled.Days that build_ahead reads, a build failing on one day."""

    def __init__(self, fails_on: int) -> None:
        self.ready = np.zeros(10, dtype=np.bool_)
        self.fails_on = fails_on
        self.built: list[int] = []

    def build(self, k: int) -> None:
        if k == self.fails_on:
            raise ValueError(f"no inputs on day {k}")
        self.built.append(k)
        self.ready[k] = True


def test_build_ahead_stops_at_a_failing_build_and_a_failed_row() -> None:
    """Later days are built in order, after the one built and before the first failed
    row's day; a build that raises stops the rest (raised again in its own round)."""
    days = _Days(fails_on=6)
    days.ready[2] = True
    compiled.build_ahead(days, np.array([7, 2, 5, 6, 1, 5, 8]), 1, 8)  # type: ignore[arg-type]
    assert days.built == [5]
    days = _Days(fails_on=-1)
    compiled.build_ahead(days, np.array([7, 3, 5, 9]), 3, 8)  # type: ignore[arg-type]
    assert days.built == [5, 7]
