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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

SUMMARY_COLUMNS = ("decision", "needs_action", "nav_usd", "drift", "drift_after", "te",
                   "cost_usd", "cost_bps", "benefit_bps", "cost_benefit_ratio", "trades")
"""The columns of :meth:`BatchPlan.summary` (drift and TE fractions, TE annual)."""


def needs_action(plan: Plan) -> bool:
    """A rebalance, partial, delay or invalid plan (anything but a skip)."""
    return plan.decision is not Decision.SKIP


@dataclass(frozen=True)
class BatchPlan:
    """Every account's plan on one day.

    Attributes
    ----------
    plans : Mapping[str, Plan]
        By account, in the order planned.
    """

    plans: Mapping[str, Plan]

    def summary(self) -> pd.DataFrame:
        """One row per account (index ``account``, columns :data:`SUMMARY_COLUMNS`):
        those needing action first, then by drift (largest first), then by cost-benefit
        ratio (lowest first)."""
        rows = [{"account": name, "decision": p.decision.value, "needs_action": needs_action(p),
                 "nav_usd": p.nav_usd, "drift": p.before.get("drift", math.nan),
                 "drift_after": p.after.get("drift", math.nan),
                 "te": p.before.get("te", math.nan), "cost_usd": p.after.get("cost_usd", 0.0),
                 "cost_bps": p.after.get("cost_bps", 0.0),
                 "benefit_bps": p.after.get("benefit_bps", 0.0),
                 "cost_benefit_ratio": p.after.get("cost_benefit_ratio", math.nan),
                 "trades": len(p.trades)} for name, p in self.plans.items()]
        if not rows:
            return pd.DataFrame(columns=list(SUMMARY_COLUMNS),
                                index=pd.Index([], name="account"))
        frame = pd.DataFrame(rows).set_index("account")
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
"""Accounts per task on a Dask cluster (a task per account would cost the scheduler more
than a plan)."""


Book: TypeAlias = "Holdings | tuple[Holdings, AccountSpec | None, Terms | None]"
"""An account's holdings, alone or with its row of an accounts file and what its
household changes in its plan."""


def plan_chunk(shared: Shared, books: list[Book]) -> list[Plan]:
    """The plans of a chunk of accounts (a Dask task, or called in this process: the same
    function either way).

    Each account goes through the planner's own steps (:func:`~driftwise.app.plan.
    plan_steps`) up to its trade list; the execution schedules of the whole chunk are then
    built together (:func:`build_schedules`), and each plan finished with its own."""
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
    built = iter(build_schedules(asked))
    out = []
    for one, request, reasons in zip(steps, requests, said, strict=True):
        plan = finish_plan(one, None if request is None else next(built))
        out.append(dataclasses.replace(plan, reasons=plan.reasons + reasons)
                   if reasons else plan)
    return out


def build_schedules(requests: Sequence[ScheduleRequest]) -> list[Schedule]:
    """Each request's schedule, equal to :meth:`ScheduleRequest.build` of it alone.

    Requests with the same cost settings, VIX, ``[execution]`` settings and first session
    are built in one :func:`~driftwise.execution.build_schedule` call over all their
    trades (every column of a schedule is computed trade by trade: the cost model prices
    each trade from its own asset's inputs), then split back. A group whose joint build
    fails is built request by request, so that an error names the account's own ticker
    and row."""
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
            made = _joint_schedules(members) if len(members) > 1 else None
        except DriftwiseError:
            made = None
        if made is None:
            made = [r.build() for r in members]
        for j, schedule in zip(group, made, strict=True):
            out[j] = schedule
    return [s for s in out if s is not None]


def _joint_schedules(requests: Sequence[ScheduleRequest]) -> list[Schedule] | None:
    """The schedules of ``requests`` (same settings) from one build over all their trades,
    each labelled by its position, split back by request; None if a request's share of
    the children is empty (its own build says how it looks then)."""
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
    out = []
    for k in range(len(requests)):
        lo, hi = int(ends[k] - sizes[k]), int(ends[k])
        c_lo = int(child_ends[k - 1]) if k else 0
        c_hi = int(child_ends[k])
        if c_hi == c_lo:
            return None
        mine = summary.iloc[lo:hi].reset_index(drop=True)
        theirs = children.iloc[c_lo:c_hi].reset_index(drop=True)
        out.append(Schedule(child_orders=theirs, summary=mine,
                            notices=schedule_notices(mine) if flagged[lo:hi].any() else ()))
    return out


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
                  chunk: int = CHUNK_ACCOUNTS,
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
        1 and None: in this process; else the accounts go in chunks of ``chunk`` as tasks
        of a Dask cluster (``workers`` local processes, or the scheduler at
        ``scheduler``), the shared inputs sent to every worker once. The plans do not
        depend on it.
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
    size = max(1, chunk)
    mine: dict[str, Book] = {
        n: (books[n], None if profiles is None else profiles.get(n),
            None if terms is None else terms.get(n))
        if profiles is not None or terms is not None else books[n] for n in names}
    chunks = [[mine[n] for n in names[i:i + size]] for i in range(0, len(names), size)]
    if workers == 1 and scheduler is None:
        made = [plan_chunk(shared, c) for c in chunks]
    else:
        from driftwise.backtest.cluster import client, run_tasks

        with client(workers, scheduler) as dask_client:
            made = run_tasks(dask_client, plan_chunk, chunks, shared)
    plans = [p for part in made for p in part]
    return BatchPlan(dict(zip(names, plans, strict=True)))
