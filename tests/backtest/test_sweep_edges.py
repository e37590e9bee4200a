"""The parts of a sweep around the compiled engine: the day records copied into the result
arrays in blocks (compiled.Loop.write), the whole-window ADV estimated in parts on threads
(history.in_parts) and the rule grid's blocks (config.assemble._block_key), each equal to
its plain form bit for bit."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.backtest import _kernels as _k
from driftwise.backtest import compiled, history
from driftwise.backtest.batches import Outputs
from driftwise.backtest.engine import make_batches
from driftwise.backtest.history import universe
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import build_rule, rule_grid, run_window
from driftwise.costs.estimation import rolling_adv_shares

from .conftest import synthetic_inputs
from .test_rows_at_once import FIELDS


def _records(n_days: int, n_rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    days = np.zeros((n_days, n_rows), dtype=_k.DAY)
    for name in _k.DAY_FIELDS:
        if name == "rebalanced":
            days[name] = rng.random((n_days, n_rows)) < 0.3
        else:
            days[name] = rng.normal(size=(n_days, n_rows))
            days[name][rng.random((n_days, n_rows)) < 0.05] = np.nan
    return days


@settings(max_examples=40, deadline=None)
@given(n_days=st.integers(1, 40), n_rows=st.integers(1, 12), extra=st.integers(0, 5),
       block=st.integers(1, 64), contiguous=st.booleans(), seed=st.integers(0, 2**16))
def test_write_in_blocks_equals_the_field_by_field_copy(
        n_days: int, n_rows: int, extra: int, block: int, contiguous: bool,
        seed: int) -> None:
    days = _records(n_days, n_rows, seed)
    n_configs = n_rows + extra
    if contiguous:
        cols: slice | np.ndarray = slice(extra, extra + n_rows)
    else:
        cols = np.sort(np.random.default_rng(seed).choice(n_configs, n_rows, replace=False))
    loop = SimpleNamespace(days=days)
    batch = SimpleNamespace(columns=cols)
    got, want = Outputs.empty(n_days, n_configs), Outputs.empty(n_days, n_configs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "WRITE_RECORDS", block)
        compiled.Loop.write(loop, got, batch)  # type: ignore[arg-type]
    for name in _k.DAY_FIELDS:  # the plain copy, a field at a time
        getattr(want, name)[:, cols] = days[name]
    for f in dataclasses.fields(Outputs):
        a, b = getattr(got, f.name), getattr(want, f.name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8), err_msg=f.name)


@settings(max_examples=25, deadline=None)
@given(n_days=st.integers(1, 90), n_assets=st.integers(2, 6), part=st.integers(1, 40),
       window=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_adv_in_parts_equals_one_call(n_days: int, n_assets: int, part: int, window: int,
                                      seed: int) -> None:
    rng = np.random.default_rng(seed)
    volumes = rng.uniform(1e3, 1e6, (n_days, n_assets))
    volumes[rng.random(volumes.shape) < 0.1] = 0.0  # missing: not counted
    rows = np.arange(n_days, dtype=np.intp)

    def estimate(ends: np.ndarray) -> np.ndarray:
        return rolling_adv_shares(volumes, ends, window, max(1, window // 2))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(history, "PART_ROWS", part)
        mp.setattr(history.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
        got = history.in_parts(estimate, rows)
    want = estimate(rows)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))


def test_adv_of_a_window_in_parts_is_the_rolling_mean_of_each_day(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The history's whole-window ADV (in parts on threads) row by row against the
    estimate of each day alone."""
    monkeypatch.setattr(history, "PART_ROWS", 40)
    monkeypatch.setattr(history.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    inputs = synthetic_inputs()
    configs = [pol.threshold(0.05)]
    batches = make_batches(inputs, rule_grid(configs), run_window(configs),
                           universe(inputs, from_holdings=False), {})
    h = batches[0].history
    adv = h.adv_shares
    assert adv is not None and h.n_days >= 2 * history.PART_ROWS
    for k in range(h.n_days):
        one = h._raw_adv(h.rows[k: k + 1])[0]
        np.testing.assert_array_equal(adv[k].view(np.uint64), one.view(np.uint64))


def _old_shape(rule: Any) -> Any:
    """The block key's rule part as it was defined: the rule without its trigger, γ and
    γ_trade set to 1."""
    from driftwise.policy.triggers import Never

    return dataclasses.replace(rule, trigger=Never(), optimizer=dataclasses.replace(
        rule.optimizer, gamma=1.0, gamma_trade=1.0))


OVERRIDES = {
    "policy.threshold": [0.02, 0.05],
    "policy.tracking_aversion": [1.0, 2.0],
    "policy.destination": ["full", "half"],
    "optimizer.gamma": [1.0, 3.0],
    "optimizer.gamma_trade": [2.0, "auto"],
    "optimizer.max_weight": [1.0, 0.5],
    "optimizer.tax_weight": [0.25, 0.0],
    "optimizer.factor_penalty": [0.0, 0.1],
    "constraints.whole_shares": [True, False],
    "costs.flat_cost_bps": [10.0, 20.0],
}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in OVERRIDES.items()}),
                min_size=1, max_size=8))
def test_rule_grid_blocks_are_those_of_the_rule_without_trigger_and_gammas(
        choices: list[dict[str, object]]) -> None:
    configs = [Config().with_overrides(c) for c in choices]
    grid = rule_grid(configs)
    # the oracle: configurations whose rules differ only in trigger, γ and γ_trade (and
    # whose other block settings match) share a block, in first appearance order
    keys: list[Any] = []
    want: list[list[int]] = []
    for i, config in enumerate(configs):
        key = _old_shape(build_rule(config))  # the other block settings are not varied
        if key in keys:
            want[keys.index(key)].append(i)
        else:
            keys.append(key)
            want.append([i])
    assert [b.positions.tolist() for b in grid.blocks] == want


def test_a_result_field_list_covers_the_day_records() -> None:
    assert {f.removesuffix("_usd") for f in FIELDS} >= set(_k.DAY_FIELDS)
