"""The plans a cluster sends back: each chunk's plans pickled once in the worker with the
summary's columns beside them (``PlanPart``), unpickled on the client only when read.

The summary built from the columns must be the frame the plans themselves give (the
reference below builds it row by row from the plans, as the summary was first written);
the plans read back must be the serial run's, to the bit, on a real local cluster.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.app.test_batch_accounts import DAY, _book, _config, _inputs, _market, assert_same_plan

from driftwise.app.batch import (
    SUMMARY_COLUMNS,
    TASK_ACCOUNTS,
    TASKS_PER_WORKER,
    BatchPlan,
    PartPlans,
    PlanPart,
    needs_action,
    plan_accounts,
    plan_chunk,
    summary_columns,
    task_chunk,
)
from driftwise.app.plan import Plan


def reference_summary(plans: dict[str, Plan]) -> pd.DataFrame:
    """The summary from one dict per plan: who needs action first, then by drift
    (largest first), then by cost-benefit ratio (lowest first)."""
    rows = [{"account": name, "decision": p.decision.value, "needs_action": needs_action(p),
             "nav_usd": p.nav_usd, "drift": p.before.get("drift", math.nan),
             "drift_after": p.after.get("drift", math.nan),
             "te": p.before.get("te", math.nan), "cost_usd": p.after.get("cost_usd", 0.0),
             "cost_bps": p.after.get("cost_bps", 0.0),
             "benefit_bps": p.after.get("benefit_bps", 0.0),
             "cost_benefit_ratio": p.after.get("cost_benefit_ratio", math.nan),
             "trades": len(p.trades)} for name, p in plans.items()]
    frame = pd.DataFrame(rows).set_index("account")
    act = ~frame["needs_action"]
    drift = -frame["drift"].fillna(0.0)
    ratio = frame["cost_benefit_ratio"].fillna(math.inf)
    order = sorted(range(len(frame)), key=lambda i: (act.iloc[i], drift.iloc[i],
                                                     ratio.iloc[i], i))
    return frame.iloc[order][list(SUMMARY_COLUMNS)]


@pytest.fixture(scope="module")
def planned() -> tuple[dict[str, Plan], tuple[object, ...], list[object]]:
    """Eighteen accounts, some skipping (the cost gate on), planned serially."""
    market = _market(7)
    books = _book(market, 7, 18)
    inputs = _inputs(market, next(iter(books.values())))
    config = _config("vwap", "market", skip=True)
    batch = plan_accounts(inputs, books, config, as_of=DAY, shared_targets=False, chunk=5)
    shared = (inputs, config, DAY, float("nan"), False, True, None)
    return dict(batch.plans), shared, list(books.values())


def test_the_summary_from_columns_equals_the_reference(
        planned: tuple[dict[str, Plan], tuple[object, ...], list[object]]) -> None:
    plans, _, _ = planned
    decisions = {p.decision.value for p in plans.values()}
    assert "skip" in decisions and len(decisions) > 1  # both sides of the sort
    expected = reference_summary(plans)
    pd.testing.assert_frame_equal(BatchPlan(plans).summary(), expected, check_exact=True)
    names = list(plans)
    parts = [PlanPart.of([plans[n] for n in names[i:i + 4]]) for i in range(0, 18, 4)]
    columns = {k: np.concatenate([p.columns[k] for p in parts]) for k in SUMMARY_COLUMNS}
    packed = BatchPlan(PartPlans(names, parts), columns=columns)
    pd.testing.assert_frame_equal(packed.summary(), expected, check_exact=True)


def test_a_part_gives_back_its_plans_to_the_bit(
        planned: tuple[dict[str, Plan], tuple[object, ...], list[object]]) -> None:
    plans, _, _ = planned
    names = list(plans)
    parts = [PlanPart.of([plans[n] for n in names[i:i + 5]]) for i in range(0, 18, 5)]
    assert [len(p) for p in parts] == [5, 5, 5, 3]
    for part in parts:  # as a cluster moves it
        assert isinstance(pickle.loads(pickle.dumps(part)), PlanPart)
    read = PartPlans(names, [pickle.loads(pickle.dumps(p)) for p in parts])
    assert list(read) == names and len(read) == 18
    for name in reversed(names):  # any order; a part opened once
        assert_same_plan(read[name], plans[name])
    assert read[names[0]] is read[names[0]]
    with pytest.raises(KeyError):
        read["nobody"]
    with pytest.raises(ValueError, match="19 accounts for 18 plans"):
        PartPlans([*names, "extra"], parts)


def test_the_empty_batch_has_an_empty_summary() -> None:
    summary = BatchPlan(PartPlans([], []), columns=None).summary()
    assert summary.empty and list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary_columns([])["trades"].dtype == np.int64


def test_a_chunk_planned_as_a_part_equals_the_chunk(
        planned: tuple[dict[str, Plan], tuple[object, ...], list[object]]) -> None:
    """The schedules a chunk builds together travel as their joint frames (each plan
    packed without its own, with its share named); the plans read back are the chunk's
    and the serial run's, to the bit."""
    from driftwise.app.batch import plan_part

    plans, shared, books = planned
    part = plan_part(shared, books)  # type: ignore[arg-type]
    assert not part.joints  # one plan trades: its schedule built alone, sent in the plan
    for got, name in zip(part.plans(), list(plans), strict=True):
        assert_same_plan(got, plans[name])
    # the cost gate off: every account trades
    market = _market(7)
    config = _config("vwap", "market", skip=False)
    trading = plan_accounts(_inputs(market, books[0]), dict(zip(plans, books, strict=True)),
                            config, as_of=DAY, shared_targets=False)
    plans = dict(trading.plans)
    shared = (shared[0], config, *shared[2:])
    part = plan_part(shared, books)  # type: ignore[arg-type]
    packed = pickle.loads(part.packed)
    shares = [ref for ref in part.refs if ref is not None]
    assert len(part.joints) == 1 and len(part.refs) == len(books)
    assert len(shares) >= 2  # (one plan trading alone would be built alone)
    assert all(plan.schedule is None for plan, ref in zip(packed, part.refs, strict=True)
               if ref is not None)
    assert sorted(k for _, k, _ in shares) == list(range(len(shares)))
    moved = pickle.loads(pickle.dumps(part))  # as a cluster moves it
    for got, alone in zip(moved.plans(), plan_chunk(shared, books),  # type: ignore[arg-type]
                          strict=True):
        assert_same_plan(got, alone)
    for got, name in zip(part.plans(), list(plans), strict=True):
        assert_same_plan(got, plans[name])
    assert any(p.schedule is not None for p in part.plans())


def test_a_local_cluster_sends_back_the_serial_plans(
        planned: tuple[dict[str, Plan], tuple[object, ...], list[object]]) -> None:
    """Two worker processes, chunks of four: the summary and every plan (trade list,
    schedule and child orders, figures, reasons, notices) those of the serial run."""
    plans, _, _ = planned
    market = _market(7)
    books = _book(market, 7, 18)
    inputs = _inputs(market, next(iter(books.values())))
    config = _config("vwap", "market", skip=True)
    dask = plan_accounts(inputs, books, config, as_of=DAY, shared_targets=False, chunk=4,
                         workers=2)
    assert isinstance(dask.plans, PartPlans) and dask.columns is not None
    assert list(dask.plans) == list(plans)
    pd.testing.assert_frame_equal(dask.summary(), BatchPlan(plans).summary(),
                                  check_exact=True)
    for name, plan in plans.items():
        assert_same_plan(dask.plans[name], plan)


def test_a_local_cluster_with_tasks_sized_for_its_workers_sends_back_the_serial_plans(
        planned: tuple[dict[str, Plan], tuple[object, ...], list[object]]) -> None:
    """Without ``chunk``, a cluster's tasks are sized by :func:`task_chunk` (18 accounts on
    two workers: six tasks of three, the serial run's chunks being five): every plan and
    the summary are the serial run's."""
    plans, _, _ = planned
    assert task_chunk(18, 2) == 3
    market = _market(7)
    books = _book(market, 7, 18)
    inputs = _inputs(market, next(iter(books.values())))
    config = _config("vwap", "market", skip=True)
    dask = plan_accounts(inputs, books, config, as_of=DAY, shared_targets=False, workers=2)
    assert isinstance(dask.plans, PartPlans)
    assert [len(p) for p in dask.plans._parts] == [3] * 6
    pd.testing.assert_frame_equal(dask.summary(), BatchPlan(plans).summary(),
                                  check_exact=True)
    for name, plan in plans.items():
        assert_same_plan(dask.plans[name], plan)


def test_task_chunk_sizes() -> None:
    assert TASK_ACCOUNTS == 100 and TASKS_PER_WORKER == 4
    assert task_chunk(10_000, 2) == 100  # 100 tasks
    assert task_chunk(800, 2) == 100  # 8 tasks: 4 a worker
    assert task_chunk(801, 2) == 100
    assert task_chunk(500, 2) == 63  # 8 tasks, the last of 59
    assert task_chunk(9, 1) == 3  # 3 tasks
    assert task_chunk(7, 2) == 1 and task_chunk(0, 2) == 1


@given(st.integers(0, 200_000), st.integers(1, 64))
def test_task_chunk_keeps_every_worker_busy(n_accounts: int, n_workers: int) -> None:
    """At most :data:`TASK_ACCOUNTS` accounts a task; a smaller task only where the
    accounts would make fewer than :data:`TASKS_PER_WORKER` tasks a worker, and then more
    than half that many tasks and no more (or one account a task)."""
    size = task_chunk(n_accounts, n_workers)
    tasks = math.ceil(n_accounts / size)
    most = n_workers * TASKS_PER_WORKER
    assert 1 <= size <= TASK_ACCOUNTS
    if size < TASK_ACCOUNTS:
        assert n_accounts < TASK_ACCOUNTS * most
        assert tasks <= most
        assert tasks == n_accounts if n_accounts < most else 2 * tasks > most
    else:
        assert n_accounts > (TASK_ACCOUNTS - 1) * most  # full tasks: enough of them


def test_joint_schedules_kept_whole_give_each_request_its_own() -> None:
    """Unsplit (as a cluster's task sends them), the schedules of each group of equal
    settings are one joint build with each request's share; a request alone in its group
    keeps its own schedule; every share split back equals the request built alone."""
    from driftwise.app.batch import _grouped_schedules
    from driftwise.app.plan import plan_steps
    from driftwise.data.model import Inputs

    market = _market(4)
    books = _book(market, 4, 6)
    inputs = _inputs(market, next(iter(books.values())))
    requests = []
    for k, holdings in enumerate(books.values()):
        style = "pov" if k == 5 else ("twap", "vwap")[k % 2]
        steps = plan_steps(Inputs(holdings=holdings, targets=None, master=inputs.master,
                                  market=market, last_rebalance=inputs.last_rebalance,
                                  costs=inputs.costs), _config(style, "market", skip=False),
                           as_of=DAY)
        request = next(steps)
        assert request is not None
        requests.append(request)
    made, joints, where = _grouped_schedules(requests, split=False)
    assert len(joints) == 2 and where[5] is None
    assert [w[0] for w in where[:5] if w is not None] == [0, 1, 0, 1, 0]
    for request, schedule, at in zip(requests, made, where, strict=True):
        alone = request.build()
        if at is None:
            got = schedule
        else:
            assert schedule.summary is joints[at[0]].summary  # the joint frames, unsplit
            got = joints[at[0]].schedule(at[1], schedule.notices)
        pd.testing.assert_frame_equal(got.child_orders, alone.child_orders, check_exact=True)
        pd.testing.assert_frame_equal(got.summary, alone.summary, check_exact=True)
        assert got.notices == alone.notices
