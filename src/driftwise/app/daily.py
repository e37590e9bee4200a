"""``driftwise daily``: every account of the record, planned from the record alone.

For each account, in one transaction: its inputs as of the day
(:func:`driftwise.record.inputs.load_account`; the market, master and costs read once
for the run), the plan with the account's last rebalance and the stress delay still
running (the first day of the delay is stored with each plan, so rule 4's cap on the
wait holds across days), the events that invalidate the open plan (a new target
version, a held ticker without a price, stale costs: its proposed and approved orders
cancelled, an ``invalidate`` event appended, the day's plan being the review), and the
plan stored with its orders (proposed). The proposed orders of the account's earlier
plans are superseded (cancelled) by the new plan. An account already planned on the day
is left as it is, so a run that was stopped can simply be run again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from driftwise.app.plan import Decision, Plan, make_plan
from driftwise.config.model import Config
from driftwise.data.costs import CostFile
from driftwise.data.model import MarketData, SecurityMaster
from driftwise.errors import DataError
from driftwise.execution import orders_frame
from driftwise.flags import Flag
from driftwise.record import transaction
from driftwise.record.events import append_event
from driftwise.record.holdings import account_id
from driftwise.record.inputs import load_account, load_costs, load_market, load_master, unpriced
from driftwise.record.orders import PlanRecord, move_orders, store_plan
from driftwise.record.schema import accounts, orders, plans

DAILY = "record"
"""``fingerprints["inputs"]`` of a plan made by ``daily`` (its inputs are the record's)."""

ORDER_COLUMNS = ["order_id", "ticker", "side", "shares", "order_type", "limit_price_usd"]

METRICS = {"drift": ("before", "drift"), "te": ("before", "te"), "vix": ("before", "vix"),
           "drift_after": ("after", "drift"), "te_after": ("after", "te"),
           "cost_bps": ("after", "cost_bps"), "cost_usd": ("after", "cost_usd"),
           "benefit_bps": ("after", "benefit_bps"),
           "cost_benefit_ratio": ("after", "cost_benefit_ratio"),
           "turnover": ("after", "turnover"), "tax_usd": ("after", "tax_usd")}
"""The figures stored with a daily plan (``plans.metrics``), from ``Plan.before/after``
(``tax_usd``: the tax of the plan's sales, None unless the plan was decided after tax)."""


@dataclass(frozen=True)
class AccountDay:
    """What ``daily`` did for one account.

    Attributes
    ----------
    account : str
    plan_id : int or None
        The plan stored (the existing one when the account was already planned).
    decision : str
    delay_until : date or None
    delayed_since : date or None
        First day of the stress delay running (None: none).
    metrics : dict
        Drift, TE (fractions, annual), cost (bps of NAV, USD), cost-benefit ratio.
    orders : int
        Orders proposed.
    events : tuple of str
        What invalidated the open plan (empty: nothing).
    cancelled : tuple of int
        Orders cancelled by those events or superseded by this plan.
    reasons : tuple of str
    already : bool
        The account had a daily plan on the day already (nothing written).
    """

    account: str
    plan_id: int | None
    decision: str
    delay_until: dt.date | None
    delayed_since: dt.date | None
    metrics: dict[str, float | None]
    orders: int
    events: tuple[str, ...] = ()
    cancelled: tuple[int, ...] = ()
    reasons: tuple[str, ...] = field(default=())
    already: bool = False

    @property
    def needs_action(self) -> bool:
        """A rebalance, partial, delay or invalid plan, or an event."""
        return bool(self.events) or self.decision != Decision.SKIP.value


def _finite(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def plan_metrics(plan: Plan) -> dict[str, float | None]:
    """The plan's figures stored with it (non-finite values as None)."""
    sides = {"before": plan.before, "after": plan.after}
    return {k: _finite(sides[s].get(f, float("nan"))) for k, (s, f) in METRICS.items()}


def daily_plans(connection: Connection, account: int) -> list[Any]:
    """The account's daily plans, oldest first."""
    rows = connection.execute(sa.select(plans).where(plans.c.account_id == account)
                              .order_by(plans.c.as_of, plans.c.id)).all()
    return [r for r in rows if (r.fingerprints or {}).get("inputs") == DAILY]


def pending_days(sessions: pd.Index, since: dt.date | None, day: dt.date) -> float:
    """Trading days a stress delay begun on ``since`` has waited on ``day`` (NaN: none):
    the sessions after ``since`` up to and including ``day``, as the backtest counts."""
    if since is None:
        return float("nan")
    index = pd.DatetimeIndex(sessions)
    return float(((index > pd.Timestamp(since)) & (index <= pd.Timestamp(day))).sum())


def running_delay(previous: Any | None, last_rebalance: dt.date | None) -> dt.date | None:
    """The first day of the stress delay still running after the ``previous`` plan: its
    ``delayed_since`` unless a rebalance was recorded since that day."""
    if previous is None or previous.delayed_since is None:
        return None
    if last_rebalance is not None and last_rebalance >= previous.delayed_since:
        return None
    return previous.delayed_since  # type: ignore[no-any-return]


def _events(previous: Any | None, version: int | None, missing: list[str], stale: bool
            ) -> list[str]:
    before = {} if previous is None else dict(previous.fingerprints or {})
    causes = []
    if previous is not None and version is not None and before.get("target_version") != version:
        causes.append(f"new target version {version} (the open plan used "
                      f"{before.get('target_version')})")
    new = sorted(set(missing) - set(before.get("unpriced", [])))
    if new:
        causes.append(f"held without a price (delisted or suspended): {', '.join(new)}")
    if stale and not before.get("stale_costs", False):
        causes.append("cost inputs are stale")
    return causes


def plan_account(connection: Connection, name: str, day: dt.date, config: Config, *,
                 market: MarketData, master: SecurityMaster, costs: CostFile | None
                 ) -> AccountDay:
    """Plan one account on ``day`` and store it, in the caller's transaction."""
    account = account_id(connection, name, lock=True)
    history = daily_plans(connection, account)
    today = [r for r in history if r.as_of == day]
    if today:
        r = today[-1]
        return AccountDay(name, int(r.id), r.decision, r.delay_until, r.delayed_since,
                          dict(r.metrics or {}), 0, reasons=tuple(r.reasons), already=True)
    earlier = [r for r in history if r.as_of < day]
    previous = earlier[-1] if earlier else None
    found = load_account(connection, account, day, market=market, master=master, costs=costs)
    last = connection.execute(sa.select(accounts.c.last_rebalance)
                              .where(accounts.c.id == account)).scalar_one()
    since = running_delay(previous, last)
    plan = make_plan(found.inputs, config, as_of=pd.Timestamp(day),
                     pending_days=pending_days(market.prices.index, since, day))
    if plan.decision is Decision.DELAY:
        since = since or day
    elif plan.decision not in (Decision.REBALANCE, Decision.PARTIAL):
        since = None
    missing = unpriced(found.inputs, day)
    stale = (not config.costs.accept_stale_costs
             and any(n.flag is Flag.STALE_COSTS for n in plan.notices))
    causes = _events(previous, found.target_version_id, missing, stale)
    cancelled: list[int] = []
    if causes:
        open_rows = connection.execute(sa.select(orders).where(
            (orders.c.account_id == account)
            & orders.c.status.in_(("proposed", "approved"))).order_by(orders.c.id)
            .with_for_update()).all()
        cancelled = move_orders(connection, open_rows, "cancelled",
                                why="invalidated: " + "; ".join(causes))
    trades = plan.decision in (Decision.REBALANCE, Decision.PARTIAL) and plan.schedule is not None
    order_rows = (orders_frame(plan.schedule) if trades and plan.schedule is not None
                  else pd.DataFrame(columns=ORDER_COLUMNS))
    metrics = plan_metrics(plan)
    saved = PlanRecord(
        as_of=day, decision=plan.decision.value,
        delay_until=None if plan.delay_until is None else plan.delay_until.date(),
        rule=plan.rule, reasons=plan.reasons,
        fingerprints={"inputs": DAILY, "holdings_snapshot": found.snapshot_id,
                      "target_version": found.target_version_id, "unpriced": missing,
                      "stale_costs": stale},
        configuration=plan.config_toml, nav_usd=plan.nav_usd, delayed_since=since,
        target_version_id=found.target_version_id, metrics=metrics)
    plan_id, order_ids = store_plan(connection, account, saved, order_rows)
    if causes:
        append_event(connection, "invalidate", {
            "as_of": str(day), "causes": causes, "orders_cancelled": cancelled,
            "review_plan_id": plan_id}, account_id=account)
    else:
        superseded = connection.execute(sa.select(orders).where(
            (orders.c.account_id == account) & (orders.c.status == "proposed")
            & (orders.c.plan_id != plan_id)).order_by(orders.c.id).with_for_update()).all()
        cancelled = move_orders(connection, superseded, "cancelled",
                                why=f"superseded by plan {plan_id}")
    return AccountDay(name, plan_id, plan.decision.value, saved.delay_until, since, metrics,
                      len(order_ids), tuple(causes), tuple(cancelled), plan.reasons)


@dataclass(frozen=True)
class DailyRun:
    """One ``daily`` run: the day and each account's outcome, the ones needing action
    first (largest drift, then lowest cost-benefit ratio)."""

    as_of: dt.date
    accounts: tuple[AccountDay, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per account (index ``account``)."""
        rows = [{"account": a.account, "plan_id": a.plan_id, "decision": a.decision,
                 "delay_until": a.delay_until, "delayed_since": a.delayed_since,
                 **a.metrics, "orders": a.orders, "events": "; ".join(a.events),
                 "cancelled": len(a.cancelled), "needs_action": a.needs_action,
                 "already_planned": a.already} for a in self.accounts]
        return pd.DataFrame(rows).set_index("account") if rows else pd.DataFrame()


def _order_key(a: AccountDay) -> tuple[bool, float, float]:
    drift = a.metrics.get("drift")
    ratio = a.metrics.get("cost_benefit_ratio")
    return (not a.needs_action, -(drift if drift is not None else 0.0),
            ratio if ratio is not None else math.inf)


def last_session(connection: Connection) -> dt.date:
    """The last date with a price in the record.

    Raises
    ------
    DataError
        No price recorded.
    """
    from driftwise.record.schema import prices

    found = connection.execute(sa.select(sa.func.max(prices.c.date))).scalar_one_or_none()
    if found is None:
        raise DataError("no prices in the record", file="<record prices>", field="date",
                        expected="prices imported with driftwise import --prices",
                        found="none")
    return found  # type: ignore[no-any-return]


def run_daily(engine: Engine, config: Config, as_of: dt.date | None = None, *,
              names: Sequence[str] | None = None, market: MarketData | None = None,
              progress: Callable[[str], None] | None = None) -> DailyRun:
    """Plan every account of the record (or ``names``) on ``as_of`` (default: the last
    recorded price date); each account's plan, orders and events one transaction.

    ``market`` is the record's market already read (:func:`load_market`, on this day or a
    later one: a plan reads no price after its day), so that a replay of many days reads
    it once; by default it is read up to the day.

    Raises
    ------
    DataError
        ``as_of`` is not a session with prices in the record, or an account's inputs fail.
    """
    with engine.connect() as connection:
        day = as_of or last_session(connection)
        if market is None:
            market = load_market(connection, day, accept_jumps=config.data.accept_jumps)
        if pd.Timestamp(day) not in market.prices.index:
            raise DataError("no prices on the as-of date in the record",
                            file="<record prices>", field="date",
                            expected="a session with prices (driftwise import --prices)",
                            found=str(day))
        master, costs = load_master(connection), load_costs(connection, day)
        every = connection.execute(sa.select(accounts.c.name).order_by(accounts.c.name)
                                   ).scalars().all()
    chosen = list(every) if names is None else list(names)
    read = market
    out = []
    for name in chosen:
        def work(connection: Connection, name: str = name) -> AccountDay:
            return plan_account(connection, name, day, config, market=read, master=master,
                                costs=costs)

        out.append(transaction(engine, work))
        if progress is not None:
            progress(name)
    return DailyRun(day, tuple(sorted(out, key=_order_key)))
