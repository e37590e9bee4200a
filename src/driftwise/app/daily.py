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

The accounts of a household are planned together, as one task (in this process or on a
Dask worker, :func:`household_task`), from what was read of them and of the household
(its fills and open orders within the wash-sale window) before the write transaction;
the transaction stores their plans when nothing they read has changed, else plans the
household again inside it (:func:`plan_household`, the same function planning).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from driftwise.app.accounts import Terms, account_config, with_terms
from driftwise.app.household import LossSale, counts, settle
from driftwise.app.plan import Decision, Plan, TradeList, make_plan
from driftwise.config.model import AccountsConfig, Config
from driftwise.data.accounts import AccountProfile
from driftwise.data.costs import CostFile
from driftwise.data.model import Holdings, Inputs, MarketData, SecurityMaster, Targets
from driftwise.errors import DataError
from driftwise.execution import orders_frame
from driftwise.flags import Flag
from driftwise.record import transaction
from driftwise.record._values import exact, required
from driftwise.record.accounts import (
    HouseholdState,
    account_profiles,
    household_buys,
    household_loss_sales,
    household_members,
    household_state,
)
from driftwise.record.events import append_event
from driftwise.record.holdings import account_id, latest_snapshot_id, latest_snapshot_ids
from driftwise.record.inputs import (
    RecordInputs,
    effective_targets,
    effective_version_id,
    effective_version_ids,
    load_account,
    load_accounts,
    load_costs,
    load_market,
    load_master,
    unpriced,
)
from driftwise.record.orders import (
    OrderValue,
    PlanRecord,
    move_orders,
    order_values,
    store_plan,
)
from driftwise.record.schema import accounts, orders, plans

DAILY = "record"
"""``fingerprints["inputs"]`` of a plan made by ``daily`` (its inputs are the record's)."""

ORDER_COLUMNS = ["order_id", "ticker", "side", "shares", "order_type", "limit_price_usd"]
"""The order columns of a daily plan's orders."""

STORED_COLUMNS = [*ORDER_COLUMNS, "loss_usd"]
"""The order columns a daily plan stores (``loss_usd``: see :func:`with_losses`)."""

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


def order_rows(plan: Plan, day: dt.date, held: pd.Series, *, schedule: bool) -> pd.DataFrame:
    """The orders a daily plan stores (:data:`STORED_COLUMNS`): one parent order per
    traded ticker (MARKET, the day's whole trade; a sale crossing zero split in two), or,
    with ``schedule``, the execution schedule's child orders; none without trades."""
    if plan.decision not in (Decision.REBALANCE, Decision.PARTIAL) or not len(plan.trades):
        return pd.DataFrame(columns=STORED_COLUMNS)
    if schedule:
        if plan.schedule is None:
            return pd.DataFrame(columns=STORED_COLUMNS)
        return with_losses(orders_frame(plan.schedule), plan.trades)
    trades = plan.trades.reset_index()[["ticker", "side", "shares"]]
    return with_losses(parent_orders(trades, day, held), plan.trades)


def stored_orders(plan: Plan, day: dt.date, held: pd.Series, *, schedule: bool
                  ) -> list[OrderValue]:
    """The orders a daily plan stores, as the record stores them: the rows of
    :func:`order_rows` (:func:`driftwise.record.orders.order_values` of them), built from
    the trade list's columns without a frame when each trade is one parent order (no
    sale crossing zero, one trade per ticker); otherwise through :func:`order_rows`."""
    if schedule or plan.decision not in (Decision.REBALANCE, Decision.PARTIAL):
        return order_values(order_rows(plan, day, held, schedule=schedule))
    raw = vars(plan).get("trades")
    if isinstance(raw, TradeList):
        tickers = [str(t) for t in raw.tickers]
        side = raw.column("side").astype(str)
        shares = raw.column("shares").astype(float)
        loss = (raw.column("loss_usd").astype(float) if "loss_usd" in raw.columns
                else np.zeros(len(tickers)))
    else:
        trades = plan.trades
        tickers = [str(t) for t in trades.index]
        side = trades["side"].astype(str).to_numpy()
        shares = trades["shares"].to_numpy(dtype=float)
        loss = (trades["loss_usd"].to_numpy(dtype=float) if "loss_usd" in trades.columns
                else np.zeros(len(tickers)))
    if not tickers:
        return []
    found = parent_values(tickers, side, shares, loss, day, held)
    if found is None:
        return order_values(order_rows(plan, day, held, schedule=False))
    return found


def parent_values(tickers: Sequence[str], side: np.ndarray, shares: np.ndarray,
                  loss: np.ndarray, day: dt.date, held: pd.Series) -> list[OrderValue] | None:
    """The parent orders of a trade list given as columns (one trade per ticker: its
    ``side``, ``shares`` > 0 and the ``loss_usd`` of the lots its sale relieves) as the
    record stores them, the values :func:`with_losses` of :func:`parent_orders` gives;
    None when a sale crosses zero or a ticker repeats (those go through the frames)."""
    sell = np.asarray(side).astype(str) == "SELL"
    if len(set(tickers)) != len(tickers):
        return None
    position = held.to_dict()
    before = np.array([float(position.get(t, 0.0)) for t in tickers], dtype=float)
    before = np.where(np.isnan(before), 0.0, before)
    if np.any(sell & (shares > np.maximum(before, 0.0))):
        return None
    # as with_losses sums each ticker's loss (NaN as 0) and shares it among the ticker's
    # one sale: 0.0 + loss, times shares / shares (1.0)
    sold = np.where(sell, shares, 0.0)
    ticker_loss = 0.0 + np.where(np.isnan(loss), 0.0, loss)
    part = np.divide(shares, 0.0 + sold, out=np.zeros_like(shares), where=sold > 0)
    losses = np.round(np.where(sell, ticker_loss * part, 0.0), 2)
    stamp = pd.Timestamp(day).strftime("%Y%m%d")
    return [(f"DW-{stamp}-{t}-001", t, "SELL" if s else "BUY", required(n), "MARKET", None,
             exact(x))
            for t, s, n, x in zip(tickers, sell.tolist(), shares.tolist(), losses.tolist(),
                                  strict=True)]


def with_losses(rows: pd.DataFrame, trades: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (orders) with ``loss_usd``: the loss of the lots each sale relieves below
    their basis (the trade list's ``loss_usd`` of its ticker, shared among the ticker's
    ``SELL`` orders in proportion to their shares, in USD rounded to the cent); 0 for the
    other orders. A household's other accounts read it while the order is open (a buy of
    the ticker would wash that loss)."""
    out = rows[ORDER_COLUMNS].copy()
    loss = (trades["loss_usd"] if "loss_usd" in trades.columns
            else pd.Series(0.0, index=trades.index))
    sell = out["side"].astype(str).to_numpy() == "SELL"
    shares = out["shares"].to_numpy(dtype=float)
    ticker_sold = pd.Series(np.where(sell, shares, 0.0)).groupby(
        out["ticker"].astype(str).to_numpy()).transform("sum").to_numpy()
    ticker_loss = (loss.groupby(level=0).sum().reindex(out["ticker"].astype(str))
                   .fillna(0.0).to_numpy(dtype=float))
    share = np.divide(shares, ticker_sold, out=np.zeros_like(shares), where=ticker_sold > 0)
    out["loss_usd"] = np.round(np.where(sell, ticker_loss * share, 0.0), 2)
    return out


def parent_orders(trades: pd.DataFrame, day: dt.date, held: pd.Series) -> pd.DataFrame:
    """One MARKET order per trade (:data:`ORDER_COLUMNS`), as
    :func:`driftwise.execution.orders_frame` makes them from a trade list (ids
    ``DW-YYYYMMDD-TICKER-001``), built directly; a sale crossing zero (split in a sale and
    a short sale) goes through ``orders_frame`` itself.

    Parameters
    ----------
    trades : pd.DataFrame
        ``ticker``, ``side`` (BUY / SELL), ``shares`` (> 0), one row per ticker.
    held : pd.Series
        Shares held before the trades, by ticker.
    """
    tickers = trades["ticker"].astype(str).to_numpy()
    shares = trades["shares"].to_numpy(dtype=float)
    sell = trades["side"].astype(str).to_numpy() == "SELL"
    before = held.reindex(tickers).fillna(0.0).to_numpy(dtype=float)
    if np.any(sell & (shares > np.maximum(before, 0.0))):
        return orders_frame(trades, day=day, position_shares=held)[ORDER_COLUMNS]
    stamp = pd.Timestamp(day).strftime("%Y%m%d")
    return pd.DataFrame({"order_id": [f"DW-{stamp}-{t}-001" for t in tickers],
                         "ticker": tickers.astype(object),
                         "side": np.where(sell, "SELL", "BUY").astype(object),
                         "shares": shares, "order_type": "MARKET",
                         "limit_price_usd": np.nan})


@dataclass(frozen=True)
class Prepared:
    """An account's state read from the record before its plan (see :func:`prepare`).

    Attributes
    ----------
    name : str
    account : int
        The account's row id.
    previous : Any or None
        The account's latest daily plan before the day (a ``plans`` row).
    found : RecordInputs
        Its inputs on the day.
    last_rebalance : date or None
    since : date or None
        First day of the stress delay still running (None: none).
    profile : AccountProfile or None
        Its household, tax status and restrictions.
    household_buys : tuple of str
        Tickers bought or proposed to be bought in the household's other accounts
        within the wash-sale window (:func:`driftwise.record.accounts.household_buys`).
    shared_household : bool
        The account's household has other accounts: it is planned with the household's
        other accounts of the run, as one task (:func:`household_task`).
    """

    name: str
    account: int
    previous: Any | None
    found: RecordInputs
    last_rebalance: dt.date | None
    since: dt.date | None
    profile: AccountProfile | None = None
    household_buys: tuple[str, ...] = ()
    shared_household: bool = False
    losses: tuple[LossSale, ...] = ()
    """Sales at a loss of the household's other accounts, filled within the window or in
    open orders (:func:`driftwise.record.accounts.household_loss_sales`): a buy would
    wash them."""
    notes: tuple[str, ...] = ()
    """Reasons the plan adds (asset location)."""

    @property
    def basis(self) -> tuple[int | None, int, dt.date | None, int | None]:
        """What the plan depends on in the record: the previous plan, the holdings
        snapshot, the last rebalance and the target version."""
        return (None if self.previous is None else int(self.previous.id),
                self.found.snapshot_id, self.last_rebalance, self.found.target_version_id)


def prepare(connection: Connection, name: str, day: dt.date, *, market: MarketData,
            master: SecurityMaster, costs: CostFile | None, lock: bool = False,
            wash_window_days: int = 30, location: AccountsConfig | None = None,
            replaced: frozenset[str] = frozenset()) -> Prepared | AccountDay:
    """Read what the plan of account ``name`` on ``day`` needs; the stored plan
    (``already``) when it was planned on the day already. ``lock``: hold the account's
    row until the transaction ends. ``location``: the ``[accounts]`` settings when asset
    location is on (the account's target located within its household). ``replaced``:
    the household's accounts planned in the same run, whose proposed orders it
    supersedes (not counted as the household's buys or loss sales)."""
    account = account_id(connection, name, lock=lock)
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
    profile = account_profiles(connection, [name]).get(name)
    shared = (profile is not None and profile.household is not None
              and len(household_members(connection, profile.household)) > 1)
    notes: tuple[str, ...] = ()
    if location is not None and shared and profile is not None:
        found, notes = _located(connection, found, profile, day, market, master, location)
    losses = tuple(LossSale(*row) for row in household_loss_sales(
        connection, profile, day, wash_window_days, replaced=replaced))
    return Prepared(name, account, previous, found, last, running_delay(previous, last),
                    profile, household_buys(connection, profile, day, wash_window_days,
                                            replaced=replaced),
                    shared, losses=losses, notes=notes)


def prepare_singles(connection: Connection, names: Sequence[str], day: dt.date, *,
                    market: MarketData, master: SecurityMaster, costs: CostFile | None,
                    wash_window_days: int = 30) -> dict[str, Prepared | AccountDay]:
    """:func:`prepare` of accounts outside any household, each table read once for all
    of them (their rows, daily plans, profiles and inputs:
    :func:`driftwise.record.inputs.load_accounts`); the same result for each. An account
    this cannot read so (unknown, without holdings, or in a household) goes through
    :func:`prepare`, which reads it alone (and raises what it raises)."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    rows = {str(r.name): r for r in connection.execute(
        sa.select(accounts.c.id, accounts.c.name, accounts.c.last_rebalance)
        .where(accounts.c.name.in_(wanted)))}
    ids = [int(rows[n].id) for n in wanted if n in rows]
    history: dict[int, list[Any]] = {i: [] for i in ids}
    for r in connection.execute(sa.select(plans).where(
            plans.c.account_id.in_(ids) & (plans.c.as_of <= day))
            .order_by(plans.c.as_of, plans.c.id)):
        if (r.fingerprints or {}).get("inputs") == DAILY:
            history[int(r.account_id)].append(r)
    profiles = account_profiles(connection, [n for n in wanted if n in rows])
    pending = [i for i in ids if not any(r.as_of == day for r in history[i])]
    found = load_accounts(connection, pending, day, market=market, master=master,
                          costs=costs)
    out: dict[str, Prepared | AccountDay] = {}
    for name in wanted:
        row = rows.get(name)
        profile = profiles.get(name)
        account = None if row is None else int(row.id)
        mine = [] if account is None else history[account]
        today = [r for r in mine if r.as_of == day]
        if today:
            r = today[-1]
            out[name] = AccountDay(name, int(r.id), r.decision, r.delay_until,
                                   r.delayed_since, dict(r.metrics or {}), 0,
                                   reasons=tuple(r.reasons), already=True)
        elif (account is None or account not in found
              or (profile is not None and profile.household is not None)):
            out[name] = prepare(connection, name, day, market=market, master=master,
                                costs=costs, wash_window_days=wash_window_days,
                                replaced=frozenset({name}))
        else:
            assert row is not None
            previous = mine[-1] if mine else None
            last = row.last_rebalance
            out[name] = Prepared(name, account, previous, found[account], last,
                                 running_delay(previous, last), profile)
    return out


def _located(connection: Connection, found: RecordInputs, profile: AccountProfile,
             day: dt.date, market: MarketData, master: SecurityMaster,
             settings: AccountsConfig) -> tuple[RecordInputs, tuple[str, ...]]:
    """The account's inputs with its target after asset location within its household
    (:func:`driftwise.app.location.locate`), and the reason that says so."""
    from driftwise.app.location import (
        Member,
        inefficient_tickers,
        locate,
        located_reason,
        marked_nav_usd,
    )
    from driftwise.data.model import TaxStatus
    from driftwise.record.holdings import read_snapshot

    assert profile.household is not None
    members = household_members(connection, profile.household)
    profiles = account_profiles(connection, [n for _, n in members])
    marks = market.prices.loc[:pd.Timestamp(day)].ffill().iloc[-1]
    book = []
    for key, member in members:
        snapshot_id = latest_snapshot_id(connection, key)
        nav = 0.0
        if snapshot_id is not None:
            held = read_snapshot(connection, snapshot_id)
            nav = marked_nav_usd(pd.Series({t: float(s) for t, s in held.positions.items()},
                                           dtype=float), float(held.cash_usd), marks)
        version = effective_targets(connection, key, day)
        book.append(Member(member, nav if math.isfinite(nav) else float("nan"),
                           profiles[member].tax_status is TaxStatus.TAX_DEFERRED,
                           None if version is None else version[1]))
    located, why = locate(book, inefficient_tickers(
        master, settings.tax_inefficient_classes, settings.tax_inefficient_tickers))
    if profile.name not in located:
        return found, (why,)
    mine = located[profile.name]
    inputs = dataclasses.replace(found.inputs, targets=mine)
    return dataclasses.replace(found, inputs=inputs), (located_reason(why, mine),)


def store(connection: Connection, prepared: Prepared, plan: Plan, config: Config,
          day: dt.date, *, schedule: bool = False,
          rows: Sequence[OrderValue] | None = None) -> AccountDay:
    """Store the plan of a prepared account with its orders and events, in the caller's
    transaction (the account's row locked by the caller). ``rows``: the plan's orders
    as :func:`stored_orders` made them from the same holdings (None: made here)."""
    account, found, previous, since = (prepared.account, prepared.found, prepared.previous,
                                       prepared.since)
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
    if rows is None:
        rows = stored_orders(plan, day, found.inputs.holdings.shares, schedule=schedule)
    plan_id, order_ids = store_plan(connection, account, saved, rows)
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
    return AccountDay(prepared.name, plan_id, plan.decision.value, saved.delay_until, since,
                      metrics, len(order_ids), tuple(causes), tuple(cancelled), plan.reasons)


def plan_account(connection: Connection, name: str, day: dt.date, config: Config, *,
                 market: MarketData, master: SecurityMaster, costs: CostFile | None,
                 schedule: bool = False) -> AccountDay:
    """Plan one account on ``day`` and store it, in the caller's transaction (read,
    plan and store with the account's row locked).

    ``schedule``: store the execution schedule's child orders instead of one parent
    order per ticker (see :func:`order_rows`)."""
    (done,) = plan_household(connection, [name], day, config, market=market, master=master,
                             costs=costs, schedule=schedule)
    return done


def plan_household(connection: Connection, names: Sequence[str], day: dt.date,
                   config: Config, *, market: MarketData, master: SecurityMaster,
                   costs: CostFile | None, schedule: bool = False) -> list[AccountDay]:
    """Plan accounts of one household together on ``day`` and store each plan, in the
    caller's transaction (read, plan and store with their rows locked), in the order of
    ``names``.

    Each account sees the household's other accounts in the record (fills, and the
    open orders of those not planned here) and the other plans made here: no buy washes
    another account's sale at a loss; the loss sale is kept and the buy held back, its
    reason naming the other account (:func:`driftwise.app.household.settle`)."""
    location = config.accounts if config.accounts.asset_location else None
    planned = frozenset(n for n in names if not any(
        r.as_of == day for r in daily_plans(connection, account_id(connection, n, lock=True))))
    read = [prepare(connection, n, day, market=market, master=master, costs=costs,
                    lock=True, wash_window_days=config.tax.wash_sale_days,
                    location=location, replaced=planned) for n in names]
    mine = [p for p in read if isinstance(p, Prepared)]
    made = dict(zip([p.name for p in mine], household_task(
        (config, market, master, costs, day, schedule),
        HouseholdItem(tuple(member(p) for p in mine))), strict=True))
    return [p if isinstance(p, AccountDay) else
            store(connection, p, made[p.name], config, day, schedule=schedule)
            for p in read]


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


BATCH_ACCOUNTS = 50
"""Accounts read, planned and stored together (one write transaction per batch)."""

Shared = tuple[Config, MarketData, SecurityMaster, "CostFile | None", dt.date, bool]
"""What every account's plan shares: configuration, market, master, costs, day, schedule."""

Item = tuple[Holdings, "Targets | None", "pd.Timestamp | None", "dt.date | None",
             "AccountProfile | None", tuple[str, ...], "Terms | None"]
"""One account's own inputs: holdings, targets, last rebalance, running delay's start,
its profile (tax status, restrictions, household), the household's recent buys and what
the household's wash-sale rule changes in its plan (:class:`Terms`)."""


def plan_task(shared: Shared, item: Item) -> Plan:
    """The plan of one account from its own inputs and the shared ones (a Dask task, or
    called in this process: the same function either way)."""
    config, market, master, costs, day, schedule = shared
    holdings, targets, last, since, profile, buys, terms = item
    mine, said = account_config(config, profile)
    mine = with_terms(mine, terms)
    said += () if terms is None else terms.reasons
    inputs = Inputs(holdings=holdings, targets=targets, master=master, market=market,
                    last_rebalance=last, costs=costs, household_buys=buys)
    plan = make_plan(inputs, mine, as_of=pd.Timestamp(day),
                     pending_days=pending_days(market.prices.index, since, day),
                     with_schedule=schedule)
    return dataclasses.replace(plan, reasons=plan.reasons + said) if said else plan


def _item(prepared: Prepared, terms: Terms | None = None) -> Item:
    inputs = prepared.found.inputs
    return (inputs.holdings, inputs.targets, inputs.last_rebalance, prepared.since,
            prepared.profile, prepared.household_buys, terms)


@dataclass(frozen=True)
class HouseholdAccount:
    """One account of a household task (:class:`HouseholdItem`): what its plan reads.

    Attributes
    ----------
    name : str
    item : Item
        Its own inputs (:data:`Item`, without terms: the household's wash-sale rule
        makes them).
    losses : tuple of LossSale
        The sales at a loss of the household's other accounts in the record, filled
        within the wash-sale window or in open orders (:attr:`Prepared.losses`).
    taxed : bool
        Whether its own sales at a loss are tax losses
        (:func:`driftwise.app.household.counts`).
    notes : tuple of str
        Reasons its plan adds (asset location).
    """

    name: str
    item: Item
    losses: tuple[LossSale, ...]
    taxed: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HouseholdItem:
    """The accounts of one household planned together, in the order they are planned
    (a Dask task, or planned in this process: :func:`household_task`)."""

    accounts: tuple[HouseholdAccount, ...]


def member(prepared: Prepared) -> HouseholdAccount:
    """A prepared account as a member of its household's task."""
    return HouseholdAccount(prepared.name, _item(prepared), prepared.losses,
                            counts(None if prepared.profile is None
                                   else prepared.profile.tax_status), prepared.notes)


def household_task(shared: Shared, house: HouseholdItem) -> list[Plan]:
    """The plans of a household's accounts (in the order of ``house.accounts``) from
    their inputs read beforehand and the shared ones; no database, so a Dask task or
    called in this process (by :func:`plan_household` too): the same function either way.

    The accounts are settled by :func:`driftwise.app.household.settle`: each planned with
    :func:`plan_task`, then those whose buys would wash another account's sale at a loss
    (of the record, or proposed by another account's plan here) planned again with those
    tickers held back, until none does."""
    config, day = shared[0], shared[4]
    by_name = {a.name: a for a in house.accounts}

    def planner(terms: Mapping[str, Terms]) -> dict[str, Plan]:
        out = {}
        for n, t in terms.items():
            mine = by_name[n]
            holdings, targets, last, since, profile, buys, _ = mine.item
            plan = plan_task(shared, (holdings, targets, last, since, profile, buys, t))
            out[n] = (dataclasses.replace(plan, reasons=plan.reasons + mine.notes)
                      if mine.notes else plan)
        return out

    made, _ = settle([a.name for a in house.accounts], planner, {},
                     {a.name: a.losses for a in house.accounts},
                     {a.name: a.taxed for a in house.accounts}, day, config)
    return [made[a.name] for a in house.accounts]


Task = Item | HouseholdItem
"""One task of a ``daily`` batch: one account's inputs, or a household's."""


def daily_task(shared: Shared, task: Task) -> Plan | list[Plan]:
    """The plan of one account (:func:`plan_task`), or the plans of one household's
    accounts (:func:`household_task`)."""
    if isinstance(task, HouseholdItem):
        return household_task(shared, task)
    return plan_task(shared, task)


Made = tuple[Plan, list[OrderValue]]
"""A plan with the orders it stores (:func:`stored_orders`)."""


def stored_task(shared: Shared, task: Task) -> list[Made]:
    """:func:`daily_task` with each plan's orders as the record stores them, made from
    the holdings the task planned (so that a worker builds them, not the writer); one
    per account of the task, in its order."""
    day, schedule = shared[4], shared[5]
    result = daily_task(shared, task)
    made = result if isinstance(result, list) else [result]
    held = ([a.item[0] for a in task.accounts] if isinstance(task, HouseholdItem)
            else [task[0]])
    return [(plan, stored_orders(plan, day, h.shares, schedule=schedule))
            for plan, h in zip(made, held, strict=True)]


def _still(connection: Connection, prepared: Prepared, day: dt.date) -> bool:
    """Whether the account's basis in the record is still the one its plan was made
    from (nothing planned, filled, imported or rebalanced since the read); locks its row."""
    account = account_id(connection, prepared.name, lock=True)
    history = daily_plans(connection, account)
    if any(r.as_of == day for r in history):
        return False
    earlier = [r for r in history if r.as_of < day]
    previous = int(earlier[-1].id) if earlier else None
    last = connection.execute(sa.select(accounts.c.last_rebalance)
                              .where(accounts.c.id == account)).scalar_one()
    now_basis = (previous, latest_snapshot_id(connection, account), last,
                 effective_version_id(connection, account, day))
    return now_basis == prepared.basis


def _unchanged(connection: Connection, prepared: Sequence[Prepared], day: dt.date
               ) -> set[str]:
    """:func:`_still` of many accounts, each table read once for all of them: the names
    of those whose basis in the record is still the one their plans were made from;
    locks their rows (in the order of their ids)."""
    if not prepared:
        return set()
    rows = {str(r.name): r for r in connection.execute(
        sa.select(accounts.c.id, accounts.c.name, accounts.c.last_rebalance)
        .where(accounts.c.name.in_([p.name for p in prepared]))
        .order_by(accounts.c.id).with_for_update())}
    ids = [int(r.id) for r in rows.values()]
    history: dict[int, list[Any]] = {i: [] for i in ids}
    for r in connection.execute(sa.select(plans.c.id, plans.c.account_id, plans.c.as_of,
                                          plans.c.fingerprints).where(
            plans.c.account_id.in_(ids) & (plans.c.as_of <= day))
            .order_by(plans.c.as_of, plans.c.id)):
        if (r.fingerprints or {}).get("inputs") == DAILY:
            history[int(r.account_id)].append(r)
    snapshots = latest_snapshot_ids(connection, ids)
    versions = effective_version_ids(connection, ids, day)
    out = set()
    for p in prepared:
        row = rows.get(p.name)
        if row is None:
            continue
        account = int(row.id)
        mine = history[account]
        if any(r.as_of == day for r in mine):
            continue
        earlier = [r for r in mine if r.as_of < day]
        previous = int(earlier[-1].id) if earlier else None
        if (previous, snapshots.get(account), row.last_rebalance,
                versions.get(account)) == p.basis:
            out.add(p.name)
    return out


def run_daily(engine: Engine, config: Config, as_of: dt.date | None = None, *,
              names: Sequence[str] | None = None, market: MarketData | None = None,
              progress: Callable[[str], None] | None = None, schedule: bool = False,
              workers: int | None = 1, scheduler: str | None = None,
              batch: int = BATCH_ACCOUNTS) -> DailyRun:
    """Plan every account of the record (or ``names``) on ``as_of`` (default: the last
    recorded price date) and store each plan with its orders and events.

    The accounts go in batches of ``batch``: their state read in one pass, their plans
    made (in this process, or as tasks of a Dask cluster: ``workers`` local processes, or
    the scheduler at ``scheduler``; one market, master and cost snapshot sent to every
    worker once), then stored in one transaction per batch (on a cluster, while the
    workers plan a batch this process reads the next one and writes the one before). The
    accounts outside households are read together (:func:`prepare_singles`) and their
    orders built by the task that plans them (:func:`stored_task`). A task is one account, or
    the accounts of one household (:func:`household_task`: each sees what the earlier
    ones proposed, with the household's fills and open orders read before). An account
    whose record changed between the read and the write (a fill, an import, another
    run's plan), or a household of which anything its plans read changed
    (:func:`driftwise.record.accounts.household_state`: an order approved, sent, filled
    or cancelled, another account's new holdings, target or profile), is read and
    planned again inside the transaction, so a plan is never stored against state it did
    not see. ``schedule``: store each plan's child orders (the execution schedule)
    instead of one parent order per ticker.

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
        houses = {n: p.household for n, p in account_profiles(
            connection, None if names is None else chosen).items()}
    shared: Shared = (config, market, master, costs, day, schedule)
    groups = batches(chosen, houses, batch)
    if workers == 1 and scheduler is None:
        out = _batches(engine, groups, houses, shared, progress,
                       lambda tasks: [stored_task(shared, t) for t in tasks])
    else:
        from driftwise.backtest.cluster import client, run_tasks

        with client(workers, scheduler) as dask_client:
            out = _batches(engine, groups, houses, shared, progress,
                           lambda tasks: run_tasks(dask_client, stored_task, tasks, shared),
                           overlap=True)
    return DailyRun(day, tuple(sorted(out, key=_order_key)))


def batches(chosen: Sequence[str], houses: Mapping[str, str | None], size: int
            ) -> list[list[list[str]]]:
    """The accounts in batches of about ``size``, each batch a list of units: one
    account, or the accounts of one household (in the order of ``chosen``, at its first
    member), never split between batches so that they are planned together."""
    members: dict[str, list[str]] = {}
    for n in chosen:
        if houses.get(n) is not None:
            members.setdefault(str(houses[n]), []).append(n)
    units: list[list[str]] = []
    for n in chosen:
        house = houses.get(n)
        if house is None:
            units.append([n])
        elif members[house][0] == n:
            units.append(members[house])
    out: list[list[list[str]]] = []
    count = 0
    for unit in units:
        if not out or count >= max(1, size):
            out.append([])
            count = 0
        out[-1].append(unit)
        count += len(unit)
    return out


Read = dict[str, "Prepared | AccountDay"]
"""The accounts of a batch as read: prepared, or planned on the day already."""


def _read(connection: Connection, units: list[list[str]], houses: Mapping[str, str | None],
          shared: Shared) -> tuple[Read, dict[int, tuple[str, HouseholdState]]]:
    """What the plans of a batch's ``units`` read, and for each unit that is a
    household's (by its index) the household and its state read first
    (:func:`driftwise.record.accounts.household_state`: read before the accounts, so
    that a change made during the read shows as a change at the write)."""
    config, market, master, costs, day, _ = shared
    location = config.accounts if config.accounts.asset_location else None
    # the accounts outside households read together (prepare_singles), the households'
    # one by one, each after its state
    singles = [u[0] for u in units if len(u) == 1 and houses.get(u[0]) is None]
    read: Read = prepare_singles(connection, singles, day, market=market, master=master,
                                 costs=costs, wash_window_days=config.tax.wash_sale_days)
    states: dict[int, tuple[str, HouseholdState]] = {}
    for k, unit in enumerate(units):
        house = houses.get(unit[0])
        if len(unit) == 1 and house is None:
            continue
        state = None if house is None else household_state(connection, house, day)
        # the household's accounts planned in this run supersede their proposed orders
        # (not counted as the household's buys or loss sales), as plan_household reads
        planned = frozenset(unit) if len(unit) == 1 else frozenset(
            n for n in unit if not any(r.as_of == day for r in daily_plans(
                connection, account_id(connection, n))))
        for n in unit:
            read[n] = prepare(connection, n, day, market=market, master=master, costs=costs,
                              wash_window_days=config.tax.wash_sale_days, location=location,
                              replaced=planned)
        mine = [read[n] for n in unit if isinstance(read[n], Prepared)]
        if house is not None and state is not None and any(
                p.shared_household and p.profile is not None and p.profile.household == house
                for p in mine if isinstance(p, Prepared)):
            states[k] = (house, state)
    return read, states


def _household_still(connection: Connection, unit: list[str], read: Read, house: str,
                     state: HouseholdState, day: dt.date) -> bool:
    """Whether nothing the household's plans read changed since the read: each planned
    account's basis (:func:`_still`; the rows locked in the unit's order) and the
    household's state."""
    for n in unit:
        p = read[n]
        if isinstance(p, AccountDay):
            account_id(connection, n, lock=True)
        elif not _still(connection, p, day):
            return False
    return household_state(connection, house, day) == state


Batch = tuple[list[list[str]], "Read", dict[int, tuple[str, HouseholdState]],
              list[tuple[list[str], Task]]]
"""A batch as read: its units, what its plans read, its households' states, its tasks
(the names each plans, the task)."""


def _read_batch(engine: Engine, units: list[list[str]], houses: Mapping[str, str | None],
                shared: Shared) -> Batch:
    """A batch read in one pass (:func:`_read`) and its tasks: one account each, or one
    household's accounts."""
    with engine.connect() as connection:
        read, states = _read(connection, units, houses, shared)
    tasks: list[tuple[list[str], Task]] = []
    for k, unit in enumerate(units):
        mine = [p for n in unit if isinstance(p := read[n], Prepared)]
        if k in states and mine:
            tasks.append(([p.name for p in mine],
                          HouseholdItem(tuple(member(p) for p in mine))))
        elif len(unit) == 1 and len(mine) == 1 and not mine[0].shared_household:
            tasks.append(([mine[0].name], _item(mine[0])))
    return units, read, states, tasks


def _batches(engine: Engine, groups: list[list[list[str]]],
             houses: Mapping[str, str | None], shared: Shared,
             progress: Callable[[str], None] | None,
             planner: Callable[[list[Task]], list[list[Made]]], *,
             overlap: bool = False) -> list[AccountDay]:
    """Each batch read in one pass, its tasks planned (one account each, or one
    household's accounts), then stored in one write transaction: a plan is stored when
    nothing it read has changed, else its account (or household) is read and planned
    again inside the transaction.

    ``overlap`` (the tasks planned elsewhere, on a cluster): the planner runs in a
    thread of this process, so that while the workers plan one batch this process
    reads the next one and then writes the one before; the batches are written in
    their order, each as without ``overlap``."""
    out: list[AccountDay] = []

    def written(batch: Batch, results: list[list[Made]]) -> None:
        stored = transaction(engine, lambda c: _write(c, batch, results, shared))
        out.extend(stored)
        if progress is not None:
            for a in stored:
                progress(a.account)

    if not overlap:
        for units in groups:
            batch = _read_batch(engine, units, houses, shared)
            written(batch, planner([t for _, t in batch[3]]))
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="driftwise-daily-plan") as pool:
        pending: list[Any] = []  # the batch being planned and its future
        try:
            for units in groups:
                batch = _read_batch(engine, units, houses, shared)  # while one plans
                if pending:
                    before, future = pending
                    results = future.result()
                    pending = [batch, pool.submit(planner, [t for _, t in batch[3]])]
                    written(before, results)  # while the batch just read plans
                else:
                    pending = [batch, pool.submit(planner, [t for _, t in batch[3]])]
            if pending:
                written(pending[0], pending[1].result())
                pending = []
        finally:
            if pending:
                pending[1].cancel()
    return out


def _write(connection: Connection, batch: Batch, results: list[list[Made]],
           shared: Shared) -> list[AccountDay]:
    """Store a batch's plans in the caller's transaction: each plan whose account (or
    household) is as it was read, the others read and planned again here."""
    config, market, master, costs, day, schedule = shared
    units, read, states, tasks = batch
    made: dict[str, Made] = {}
    for (names, _), result in zip(tasks, results, strict=True):
        made.update(zip(names, result, strict=True))
    done: list[AccountDay] = []
    # the accounts planned alone, their basis checked together (rows locked)
    alone = [p for k, unit in enumerate(units)
             if k not in states and len(unit) == 1
             and isinstance(p := read[unit[0]], Prepared) and p.name in made]
    fresh = _unchanged(connection, alone, day)
    for k, unit in enumerate(units):
        p = read[unit[0]]
        if len(unit) == 1 and isinstance(p, AccountDay):
            done.append(p)
        elif k in states and _household_still(connection, unit, read, *states[k], day):
            done.extend(q if isinstance(q, AccountDay) else
                        store(connection, q, made[q.name][0], config, day,
                              schedule=schedule, rows=made[q.name][1])
                        for q in (read[n] for n in unit))
        elif (k not in states and len(unit) == 1 and isinstance(p, Prepared)
              and p.name in made and p.name in fresh):
            done.append(store(connection, p, made[p.name][0], config, day,
                              schedule=schedule, rows=made[p.name][1]))
        else:
            done.extend(plan_household(connection, unit, day, config, market=market,
                                       master=master, costs=costs, schedule=schedule))
    return done
