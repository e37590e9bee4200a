"""The child orders of many grids found in one pass (``grid_cells``, ``days_used``)
against the plain reading, grid by grid (``np.flatnonzero(grid > 0)`` of each)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.execution.profile import rescale_profile
from driftwise.execution.schedule import ExecutionStyle, _Plan, days_used, grid_cells, plan_grids


def plain(plans: list[_Plan | None], slices: int) -> tuple[np.ndarray, ...]:
    owner, cell, shares, n_days = [], [], [], []
    for i, plan in enumerate(plans):
        if plan is None:
            n_days.append(0)
            continue
        where = np.flatnonzero(plan.grid > 0)
        owner.append(np.full(where.size, i, dtype=np.intp))
        cell.append(where)
        shares.append(plan.grid[where])
        n_days.append(int(where[-1]) // slices + 1)
    if not owner:
        return (np.zeros(0, dtype=np.intp),) * 2 + (np.zeros(0),) + (np.array(n_days),)
    return (np.concatenate(owner), np.concatenate(cell), np.concatenate(shares),
            np.array(n_days))


def check(plans: list[_Plan | None], slices: int) -> None:
    owner, cell, shares, n_days = plain(plans, slices)
    found = grid_cells(plans)
    for mine, theirs in zip(found, (owner, cell, shares), strict=True):
        np.testing.assert_array_equal(mine, theirs)
        assert mine.dtype == theirs.dtype
    np.testing.assert_array_equal(days_used(found, len(plans), slices), n_days)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.5, 7.0]),
                                              min_size=1, max_size=30)
                          .filter(lambda g: max(g) > 0)), max_size=8),
       st.integers(1, 5))
def test_grid_cells_equal_the_grid_by_grid_reading(grids: list[list[float] | None],
                                                   slices: int) -> None:
    plans = [None if g is None else _Plan(np.array(g), ExecutionStyle.TWAP, 1.0, [])
             for g in grids]
    check(plans, slices)


def test_grid_cells_of_real_multi_day_grids() -> None:
    trade = np.array([1e3, 0.0, -5e5, 2e4, 7.5, -3e6])
    adv = np.array([1e6, 1e6, 1e5, np.nan, 1e6, 4e5])
    shape = rescale_profile(13)
    for style in (ExecutionStyle.TWAP, ExecutionStyle.VWAP):
        plans = plan_grids(np.array([f"T{i}" for i in range(6)], dtype=object), trade, adv,
                           style, 0.1, 5.0, shape)
        assert any(p is not None and p.grid.size > 13 for p in plans)  # some multi-day
        check(plans, 13)
