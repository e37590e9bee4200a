"""Many accounts planned from one set of market inputs (``driftwise plan --all``).

The market, the security master, the costs and the targets (a model portfolio shared
by the accounts) are read once; each account brings its own holdings and lots. Each
account is planned exactly as ``driftwise plan --account ID`` plans it alone, and the
summary lists who needs action first, the largest drift first, then the lowest
cost-benefit ratio (the cheapest benefit).
"""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import pandas as pd

from driftwise.app.accounts import Terms, account_config, with_terms
from driftwise.app.plan import (
    Decision,
    Plan,
    PlanSteps,
    ScheduleRequest,
    SharedDay,
    finish_plan,
    plan_steps,
)
from driftwise.config.model import Config
from driftwise.costs import AssetCostInputs
from driftwise.data.accounts import AccountProfile, AccountSpec, with_cash_target
from driftwise.data.model import Holdings, Inputs, TargetLevel
from driftwise.errors import DriftwiseError
from driftwise.execution import Schedule
from driftwise.execution.schedule import schedule_notices
from driftwise.flags import Notice

SUMMARY_COLUMNS = ("decision", "needs_action", "nav_usd", "drift", "drift_after", "te",
                   "cost_usd", "cost_bps", "benefit_bps", "cost_benefit_ratio", "trades")
"""The columns of :meth:`BatchPlan.summary` (drift and TE fractions, TE annual)."""


def needs_action(plan: Plan) -> bool:
    """A rebalance, partial, delay or invalid plan (anything but a skip)."""
    return plan.decision is not Decision.SKIP


def summary_columns(plans: Sequence[Plan]) -> dict[str, np.ndarray]:
    """The columns of :meth:`BatchPlan.summary` for ``plans``, in their order, unsorted
    (one array per column of :data:`SUMMARY_COLUMNS`)."""
    return {
        "decision": np.array([p.decision.value for p in plans], dtype=object),
        "needs_action": np.array([needs_action(p) for p in plans], dtype=bool),
        "nav_usd": np.array([p.nav_usd for p in plans], dtype=np.float64),
        "drift": np.array([p.before.get("drift", math.nan) for p in plans],
                          dtype=np.float64),
        "drift_after": np.array([p.after.get("drift", math.nan) for p in plans],
                                dtype=np.float64),
        "te": np.array([p.before.get("te", math.nan) for p in plans], dtype=np.float64),
        "cost_usd": np.array([p.after.get("cost_usd", 0.0) for p in plans],
                             dtype=np.float64),
        "cost_bps": np.array([p.after.get("cost_bps", 0.0) for p in plans],
                             dtype=np.float64),
        "benefit_bps": np.array([p.after.get("benefit_bps", 0.0) for p in plans],
                                dtype=np.float64),
        "cost_benefit_ratio": np.array([p.after.get("cost_benefit_ratio", math.nan)
                                        for p in plans], dtype=np.float64),
        "trades": np.array([p.n_trades for p in plans], dtype=np.int64),
    }


@dataclass(frozen=True, eq=False)
class PlanPart:
    """The plans of one chunk of accounts as a worker sends them back: the summary's
    columns as arrays (:func:`summary_columns`) and the plans pickled once, in the
    worker, into one buffer (:meth:`PlanPart.plans`, unpickled where and when they are
    read). The client of a cluster receives one buffer and eleven arrays per chunk
    instead of a graph of frames per account, and ranks the accounts without
    unpickling a plan.

    Attributes
    ----------
    columns : dict of str to ndarray
        :data:`SUMMARY_COLUMNS`, one value per plan of the chunk.
    packed : bytes
        ``pickle.dumps(plans)`` (highest protocol).
    """

    columns: dict[str, np.ndarray]
    packed: bytes
    joints: tuple[JointSchedules, ...] = ()
    refs: tuple[ScheduleRef | None, ...] = ()

    @classmethod
    def of(cls, plans: Sequence[Plan], joints: Sequence[JointSchedules] = (),
           refs: Sequence[ScheduleRef | None] = ()) -> PlanPart:
        """The part of ``plans``; a plan whose ``refs`` entry is not None was packed
        without its schedule, which is that share of ``joints`` (:meth:`plans` puts it
        back)."""
        return cls(columns=summary_columns(plans),
                   packed=pickle.dumps(list(plans), protocol=pickle.HIGHEST_PROTOCOL),
                   joints=tuple(joints), refs=tuple(refs))

    def __len__(self) -> int:
        return len(self.columns["decision"])

    def plans(self) -> list[Plan]:
        """The plans, unpickled, each with its schedule (a new copy at each call)."""
        made: list[Plan] = pickle.loads(self.packed)
        for i, ref in enumerate(self.refs):
            if ref is not None:
                j, k, notices = ref
                made[i] = made[i].replaced(schedule=self.joints[j].schedule(k, notices))
        return made


class PartPlans(Mapping[str, Plan]):
    """The plans of the accounts, by account, from the parts a cluster sent back
    (:class:`PlanPart`): a part is unpickled the first time one of its plans is read,
    and kept."""

    def __init__(self, names: Sequence[str], parts: Sequence[PlanPart]) -> None:
        self._names = list(names)
        self._parts = list(parts)
        self._where: dict[str, tuple[int, int]] = {}
        k = 0
        for j, part in enumerate(self._parts):
            for i in range(len(part)):
                self._where[self._names[k]] = (j, i)
                k += 1
        if k != len(self._names):
            raise ValueError(f"{len(self._names)} accounts for {k} plans")
        self._open: dict[int, list[Plan]] = {}

    def __getitem__(self, name: str) -> Plan:
        j, i = self._where[name]
        if j not in self._open:
            self._open[j] = self._parts[j].plans()
        return self._open[j][i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class BatchPlan:
    """Every account's plan on one day.

    Attributes
    ----------
    plans : Mapping[str, Plan]
        By account, in the order planned.
    columns : dict of str to ndarray, optional
        The summary's columns (:func:`summary_columns`) in the order of ``plans``, when
        the batch already has them (a cluster's parts); else read from the plans.
    """

    plans: Mapping[str, Plan]
    columns: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """One row per account (index ``account``, columns :data:`SUMMARY_COLUMNS`):
        those needing action first, then by drift (largest first), then by cost-benefit
        ratio (lowest first)."""
        if not self.plans:
            return pd.DataFrame(columns=list(SUMMARY_COLUMNS),
                                index=pd.Index([], name="account"))
        columns = (self.columns if self.columns is not None
                   else summary_columns(list(self.plans.values())))
        frame = pd.DataFrame(columns, index=pd.Index(list(self.plans), name="account"))
        key = pd.DataFrame({"act": ~frame["needs_action"],
                            "drift": -frame["drift"].fillna(0.0),
                            "ratio": frame["cost_benefit_ratio"].fillna(math.inf)},
                           index=frame.index)
        order = key.sort_values(["act", "drift", "ratio"], kind="stable").index
        return frame.loc[order, list(SUMMARY_COLUMNS)]


Shared = tuple[Inputs, Config, "pd.Timestamp | str | None", float, bool, bool,
               "SharedDay | None"]
"""What every account's plan shares: inputs, configuration, day, pending days, targets,
schedule, and the per-asset estimates of the day for every account's tickers
(:class:`~driftwise.app.plan.SharedDay`, None: each account computes its own)."""

CHUNK_ACCOUNTS = 25
"""Accounts planned together in this process (their execution schedules built in one
call)."""

TASK_ACCOUNTS = 100
"""Most accounts per task on a Dask cluster: each task costs the scheduler, this process
and the worker's event loop a few milliseconds whatever its size (1,000 accounts on one
worker, benchmarks/README.md: 25 a task cost this process 2.0-2.4 ms of CPU an account,
100 a task 1.7-1.9 ms)."""

TASKS_PER_WORKER = 4
"""Tasks per worker below which the tasks are made smaller: the last task to finish keeps
one worker busy while the others wait, so a run is not split into a few large tasks."""


def task_chunk(n_accounts: int, n_workers: int) -> int:
    """Accounts per task for ``n_accounts`` on ``n_workers`` workers: :data:`TASK_ACCOUNTS`,
    or ``ceil(n_accounts / (n_workers * TASKS_PER_WORKER))`` when that is smaller (at
    least 1), which makes more than half and at most ``n_workers * TASKS_PER_WORKER``
    tasks (every account its own task when there are fewer accounts)."""
    spread = math.ceil(n_accounts / (max(1, n_workers) * TASKS_PER_WORKER))
    return max(1, min(TASK_ACCOUNTS, spread))


Book: TypeAlias = "Holdings | tuple[Holdings, AccountSpec | None, Terms | None]"
"""An account's holdings, alone or with its row of an accounts file and what its
household changes in its plan."""


def plan_chunk(shared: Shared, books: list[Book]) -> list[Plan]:
    """The plans of a chunk of accounts (a Dask task, or called in this process: the same
    function either way).

    Each account goes through the planner's own steps (:func:`~driftwise.app.plan.
    plan_steps`) up to its trade list; the execution schedules of the whole chunk are then
    built together (:func:`build_schedules`), and each plan finished with its own."""
    return _plan_chunk(shared, books, joint=False)[0]


def _plan_chunk(shared: Shared, books: list[Book], *, joint: bool
                ) -> tuple[list[Plan], list[JointSchedules], list[ScheduleRef | None]]:
    """:func:`plan_chunk`; ``joint``: the schedules built together are not split per
    plan: such a plan comes without its schedule, and its :data:`ScheduleRef` says
    which share of which :class:`JointSchedules` it is (:meth:`PlanPart.plans` splits
    it where the plans are read)."""
    inputs, config, as_of, pending, shared_targets, with_schedule, day = shared
    steps: list[PlanSteps] = []
    requests: list[ScheduleRequest | None] = []
    said: list[tuple[str, ...]] = []
    for book in books:
        holdings, spec, terms = book if isinstance(book, tuple) else (book, None, None)
        targets = inputs.targets if shared_targets else None
        if spec is not None and spec.cash_target_weight is not None and targets is not None:
            targets = with_cash_target(targets, spec.cash_target_weight)
        mine, reasons = account_config(config, None if spec is None else AccountProfile(
            spec.account, spec.household, spec.tax_status, spec.model, spec.do_not_buy,
            spec.do_not_sell))
        own = inputs
        if terms is not None:  # the household's: located target, own sales, held buys
            mine, reasons = with_terms(mine, terms), reasons + terms.reasons
            own = dataclasses.replace(
                inputs, targets=terms.targets if terms.targets is not None else targets,
                sales=terms.sales if terms.sales is not None else inputs.sales)
            targets = own.targets
        one = plan_steps(dataclasses.replace(own, holdings=holdings, targets=targets),
                         mine, as_of=as_of, pending_days=pending,
                         with_schedule=with_schedule, shared=day)
        requests.append(next(one))
        steps.append(one)
        said.append(reasons)
    asked = [r for r in requests if r is not None]
    schedules, joints, where = _grouped_schedules(asked, split=not joint)
    built, at = iter(schedules), iter(where)
    out: list[Plan] = []
    refs: list[ScheduleRef | None] = []
    for one, request, reasons in zip(steps, requests, said, strict=True):
        schedule, ref = (None, None) if request is None else (next(built), next(at))
        plan = finish_plan(one, schedule)
        if reasons:
            plan = plan.replaced(reasons=plan.reasons + reasons)
        if ref is not None and schedule is not None:  # sent as its share of the joint
            plan = plan.replaced(schedule=None)
            refs.append((ref[0], ref[1], schedule.notices))
        else:
            refs.append(None)
        out.append(plan)
    return out, joints, refs


def plan_part(shared: Shared, books: list[Book]) -> PlanPart:
    """:func:`plan_chunk` as a cluster's task returns it: the chunk's plans packed with
    their summary columns (:class:`PlanPart`), the schedules built together sent as their
    joint frames (two frames per group instead of two per plan, split on the client when
    a plan is read)."""
    plans, joints, refs = _plan_chunk(shared, books, joint=True)
    return PlanPart.of(plans, joints, refs)


ScheduleRef: TypeAlias = "tuple[int, int, tuple[Notice, ...]]"
"""A plan's schedule as a share of a part's joint schedules: which of them, which
request of its group, and the schedule's notices."""


@dataclass(frozen=True, eq=False)
class JointSchedules:
    """The schedules of a group of requests built in one call: the summary and the child
    orders of all their trades (tickers their own), and each request's rows.

    Attributes
    ----------
    summary, children : pd.DataFrame
        The joint build's summary and child orders.
    bounds : ndarray of int64, shape (K, 4)
        Each request's summary rows ``[lo, hi)`` and child-order rows ``[c_lo, c_hi)``.
    """

    summary: pd.DataFrame
    children: pd.DataFrame
    bounds: np.ndarray

    def schedule(self, k: int, notices: tuple[Notice, ...]) -> Schedule:
        """Request ``k``'s schedule: its rows of both frames, indexes from 0."""
        lo, hi, c_lo, c_hi = (int(b) for b in self.bounds[k])
        return Schedule(child_orders=self.children.iloc[c_lo:c_hi].reset_index(drop=True),
                        summary=self.summary.iloc[lo:hi].reset_index(drop=True),
                        notices=notices)


def build_schedules(requests: Sequence[ScheduleRequest]) -> list[Schedule]:
    """Each request's schedule, equal to :meth:`ScheduleRequest.build` of it alone.

    Requests with the same cost settings, VIX, ``[execution]`` settings and first session
    are built in one :func:`~driftwise.execution.build_schedule` call over all their
    trades (every column of a schedule is computed trade by trade: the cost model prices
    each trade from its own asset's inputs), then split back. A group whose joint build
    fails is built request by request, so that an error names the account's own ticker
    and row."""
    return _grouped_schedules(requests, split=True)[0]


def _grouped_schedules(requests: Sequence[ScheduleRequest], *, split: bool
                       ) -> tuple[list[Schedule], list[JointSchedules],
                                  list[tuple[int, int] | None]]:
    """:func:`build_schedules`; unless ``split``, a request of a joint build gets a
    schedule with its notices and the joint frames (not its own), and its place in the
    joint builds returned beside (which one, which request); None: its own schedule."""
    joints: list[JointSchedules] = []
    where: list[tuple[int, int] | None] = [None] * len(requests)
    out: list[Schedule | None] = [None] * len(requests)
    groups: list[list[int]] = []
    for j, r in enumerate(requests):
        for group in groups:
            first = requests[group[0]]
            if (r.params == first.params and r.vix == first.vix
                    and r.execution == first.execution and r.start_date == first.start_date):
                group.append(j)
                break
        else:
            groups.append([j])
    for group in groups:
        members = [requests[j] for j in group]
        try:
            found = _joint_build(members) if len(members) > 1 else None
        except DriftwiseError:
            found = None
        if found is None:
            made = [r.build() for r in members]
        elif split:
            made = [found[0].schedule(k, said) for k, said in enumerate(found[1])]
        else:
            made = [Schedule(child_orders=found[0].children, summary=found[0].summary,
                             notices=said) for said in found[1]]
            for k, j in enumerate(group):
                where[j] = (len(joints), k)
            joints.append(found[0])
        for j, schedule in zip(group, made, strict=True):
            out[j] = schedule
    return [s for s in out if s is not None], joints, where


def _joint_build(requests: Sequence[ScheduleRequest]
                 ) -> tuple[JointSchedules, list[tuple[Notice, ...]]] | None:
    """The schedules of ``requests`` (same settings) from one build over all their
    trades, each labelled by its position: the joint frames with each request's rows
    (:class:`JointSchedules`, whose ``schedule(k, ...)`` splits one back) and each
    request's notices (from its own summary rows); None if a request's share of the
    children is empty (its own build says how it looks then)."""
    sizes = np.array([len(r.tickers) for r in requests])
    first = requests[0]
    joint = ScheduleRequest(
        tickers=tuple(str(k) for k in range(int(sizes.sum()))),
        shares=np.concatenate([r.shares for r in requests]),
        price_usd=np.concatenate([r.price_usd for r in requests]),
        trade_usd=np.concatenate([r.trade_usd for r in requests]),
        costs=_joined_costs([r.costs for r in requests]), params=first.params,
        vix=first.vix, execution=first.execution, start_date=first.start_date)
    schedule = joint.build()
    summary, children = schedule.summary, schedule.child_orders
    tickers = np.asarray([t for r in requests for t in r.tickers], dtype=object)
    counts = summary["n_children"].to_numpy(dtype=np.int64)
    summary["ticker"] = tickers
    children["ticker"] = np.repeat(tickers, counts)
    flagged = summary["flags"].to_numpy(dtype=object).astype(bool)
    ends = np.cumsum(sizes)
    child_ends = np.cumsum(counts)[ends - 1]
    starts = np.concatenate([[0], child_ends[:-1]])
    if (child_ends == starts).any():
        return None
    bounds = np.stack([ends - sizes, ends, starts, child_ends], axis=1).astype(np.int64)
    notices = [schedule_notices(summary.iloc[lo:hi].reset_index(drop=True))
               if flagged[lo:hi].any() else () for lo, hi in bounds[:, :2].tolist()]
    return JointSchedules(summary=summary, children=children, bounds=bounds), notices


def _joined_costs(parts: Sequence[AssetCostInputs]) -> AssetCostInputs:
    """The cost inputs of several asset lists, one after the other."""
    fields = {f.name: np.concatenate([getattr(p, f.name) for p in parts])
              for f in dataclasses.fields(AssetCostInputs) if f.name != "tickers"}
    return AssetCostInputs(**fields, tickers=tuple(t for p in parts for t in p.tickers))


def shared_day(inputs: Inputs, books: Mapping[str, Holdings], config: Config,
               as_of: pd.Timestamp | str | None, shared_targets: bool) -> SharedDay | None:
    """The per-asset estimates of the day for the tickers of every account (its holdings
    and the shared asset targets) priced in the market, computed once; None for fewer
    than two accounts (nothing to share)."""
    if len(books) < 2:
        return None
    names: set[str] = set()
    for holdings in books.values():
        names.update(map(str, holdings.tickers))
    targets = inputs.targets
    if shared_targets and targets is not None and targets.level is TargetLevel.ASSET:
        names.update(map(str, targets.weights.index))
    known = inputs.market.prices.columns
    return SharedDay.of(inputs, config, known[known.isin(list(names))], as_of)


def plan_accounts(inputs: Inputs, books: Mapping[str, Holdings], config: Config, *,
                  as_of: pd.Timestamp | str | None = None,
                  pending_days: float = float("nan"), shared_targets: bool = True,
                  workers: int | None = 1, scheduler: str | None = None,
                  chunk: int | None = None,
                  profiles: Mapping[str, AccountSpec] | None = None,
                  with_schedule: bool = True,
                  terms: Mapping[str, Terms] | None = None) -> BatchPlan:
    """Plan each account of ``books`` with the shared ``inputs``.

    Parameters
    ----------
    inputs : Inputs
        The market, master, costs, targets and sales every account shares (its
        holdings are replaced by each account's).
    books : Mapping[str, Holdings]
        Each account's holdings (:func:`driftwise.data.holdings.read_accounts`).
    shared_targets : bool
        Plan against ``inputs.targets``; False: each account against the default target
        over its own holdings (``portfolio.default_target``), as a plan without a
        targets file does.
    workers, scheduler
        1 and None: in this process, in chunks of ``chunk`` accounts (None:
        :data:`CHUNK_ACCOUNTS`) whose schedules are built together; else the accounts go
        in chunks of ``chunk`` (None: :func:`task_chunk` for the cluster's workers) as
        tasks of a Dask cluster (``workers`` local processes, or the scheduler at
        ``scheduler``), the shared inputs sent to every worker once; each chunk comes
        back as a :class:`PlanPart` (its plans pickled in the worker, with the summary's
        columns), a chunk's plans unpickled when one of them is first read
        (:class:`PartPlans`). The plans do not depend on it.
    profiles : Mapping[str, AccountSpec], optional
        Rows of an accounts file by account: each account planned with its tax status
        (a tax-deferred or tax-exempt account with tax off, a taxable one with tax on),
        its do-not-buy and do-not-sell lists and its cash target (the shared targets'
        other weights scaled to fit), each said in its plan's reasons.
    with_schedule : bool
        Build each plan's execution schedule (child orders); False: plans without one,
        as ``make_plan(..., with_schedule=False)``.
    terms : Mapping[str, Terms], optional
        What its household changes in an account's plan (:class:`~driftwise.app.
        accounts.Terms`: its located target, its own recent sales, tickers not bought),
        said in its reasons; see :func:`driftwise.app.household.plan_book`.
    """
    names = list(books)
    shared: Shared = (inputs, config, as_of, pending_days, shared_targets, with_schedule,
                      shared_day(inputs, books, config, as_of, shared_targets))
    mine: dict[str, Book] = {
        n: (books[n], None if profiles is None else profiles.get(n),
            None if terms is None else terms.get(n))
        if profiles is not None or terms is not None else books[n] for n in names}

    def chunks(size: int) -> list[list[Book]]:
        size = max(1, size)
        return [[mine[n] for n in names[i:i + size]] for i in range(0, len(names), size)]

    if workers == 1 and scheduler is None:
        made = [plan_chunk(shared, c)
                for c in chunks(CHUNK_ACCOUNTS if chunk is None else chunk)]
    else:
        from driftwise.backtest.cluster import client, run_tasks, worker_count

        with client(workers, scheduler) as dask_client:
            size = (task_chunk(len(names), worker_count(dask_client)) if chunk is None
                    else chunk)
            parts = run_tasks(dask_client, plan_part, chunks(size), shared)
        columns = ({k: np.concatenate([p.columns[k] for p in parts]) for k in SUMMARY_COLUMNS}
                   if parts else None)
        return BatchPlan(PartPlans(names, parts), columns=columns)
    plans = [p for part in made for p in part]
    return BatchPlan(dict(zip(names, plans, strict=True)))
