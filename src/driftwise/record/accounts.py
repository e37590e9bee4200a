"""Households, tax status, model portfolios and each account's overrides, in the record.

* :func:`import_accounts` stores an accounts file (:func:`driftwise.data.accounts.
  read_account_file`): each account's household (created when new), tax status, model
  and overrides (cash target, do-not-buy and do-not-sell lists). A column the file does
  not have leaves that field as it was; a blank cell clears it.
* :func:`import_model` stores a targets file as a new version of a model portfolio.
* A model's latest version is written into the target versions of every account that
  follows it (:func:`follow_models`, run by both imports), its cash target replaced by
  the account's override when it has one (the other weights scaled by
  ``(1 - cash_account) / (1 - cash_model)``), so a plan, ``daily`` and the reviews read
  the account's own target version whether it follows a model or not, and a model
  changed is a new target version of each follower (the event that invalidates its plan).
* :func:`account_profiles` reads what the plan of each account needs besides its
  holdings and targets (:class:`AccountProfile`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.data.accounts import AccountFile, AccountProfile, with_cash_target
from driftwise.data.model import TargetLevel, Targets, TaxStatus
from driftwise.errors import DataError
from driftwise.record._values import now, required
from driftwise.record.holdings import Changes, account_id, read_snapshot
from driftwise.record.imports import import_targets, store_version
from driftwise.record.schema import (
    accounts,
    fills,
    holdings_snapshots,
    households,
    model_versions,
    model_weights,
    models,
    orders,
    plans,
    target_versions,
)


def _named(connection: Connection, table: sa.Table, name: str, *, create: bool) -> int | None:
    found = connection.execute(sa.select(table.c.id).where(table.c.name == name)
                               ).scalar_one_or_none()
    if found is not None or not create:
        return None if found is None else int(found)
    key = connection.execute(table.insert().values(name=name, created_at=now())
                             ).inserted_primary_key
    assert key is not None
    return int(key[0])


def import_model(connection: Connection, name: str, targets: Targets) -> list[Changes]:
    """Store ``targets`` as a new version of model ``name`` (created when new) when they
    differ from its latest one, then write it into each follower's target versions."""
    model = _named(connection, models, name, create=True)
    assert model is not None
    changes = store_version(connection, model_versions, model_weights,
                            model_versions.c.model_id, model, targets, "model_versions")
    return changes + follow_models(connection, model=model)


def model_targets(connection: Connection, model: int) -> Targets | None:
    """The model's latest version (None: none imported yet)."""
    version = connection.execute(sa.select(model_versions).where(
        model_versions.c.model_id == model).order_by(model_versions.c.id.desc()).limit(1)
    ).one_or_none()
    if version is None:
        return None
    rows = connection.execute(sa.select(model_weights).where(
        model_weights.c.version_id == version.id).order_by(model_weights.c.key)).all()
    level = TargetLevel(version.level)
    index = pd.Index([r.key for r in rows], name=level.value)

    def column(values: list[Decimal | None], name: str) -> pd.Series:
        return pd.Series([float("nan") if v is None else float(v) for v in values],
                         index=index, dtype=float, name=name)

    name = connection.execute(sa.select(models.c.name).where(models.c.id == model)
                              ).scalar_one()
    return Targets(level=level, weights=column([r.weight for r in rows], "target_weight"),
                   cash_weight=float(version.cash_weight),
                   band_abs=column([r.band_abs for r in rows], "band_abs"),
                   band_rel=column([r.band_rel for r in rows], "band_rel"),
                   effective_date=(None if version.effective_date is None
                                   else pd.Timestamp(version.effective_date)),
                   source=f"<record model {name} version {version.id}>")


def follow_models(connection: Connection, *, model: int | None = None,
                  names: list[str] | None = None) -> list[Changes]:
    """Write each model's latest version (with the account's cash override) into the
    target versions of the accounts that follow it: every follower of ``model``, or the
    accounts ``names``; an account whose target is already that is left alone."""
    query = sa.select(accounts).where(accounts.c.model_id.is_not(None))
    if model is not None:
        query = query.where(accounts.c.model_id == model)
    if names is not None:
        query = query.where(accounts.c.name.in_(names))
    changes: list[Changes] = []
    latest: dict[int, Targets | None] = {}
    for row in connection.execute(query.order_by(accounts.c.name)).all():
        if row.model_id not in latest:
            latest[row.model_id] = model_targets(connection, row.model_id)
        targets = latest[row.model_id]
        if targets is None:
            continue
        if row.cash_target_weight is not None:
            targets = with_cash_target(targets, float(row.cash_target_weight))
        changes += import_targets(connection, int(row.id), targets)
    return changes


def import_accounts(connection: Connection, found: AccountFile) -> list[Changes]:
    """Store each account of an accounts file (created when new): its household, tax
    status, model and overrides; then the followers' target versions.

    Raises
    ------
    DataError
        A model the record does not have (naming the file, the row and the field).
    """
    added = changed = 0
    houses = 0
    for line, spec in zip(found.lines, found.rows, strict=True):
        before = connection.execute(sa.select(accounts.c.id).where(
            accounts.c.name == spec.account)).scalar_one_or_none()
        owner = account_id(connection, spec.account, create=True, lock=True)
        values: dict[str, object] = {}
        if "household" in found.columns:
            house = None
            if spec.household is not None:
                house = _named(connection, households, spec.household, create=False)
                if house is None:
                    house = _named(connection, households, spec.household, create=True)
                    houses += 1
            values["household_id"] = house
        if "tax_status" in found.columns:
            values["tax_status"] = None if spec.tax_status is None else spec.tax_status.value
        if "model" in found.columns:
            model = None
            if spec.model is not None:
                model = _named(connection, models, spec.model, create=False)
                if model is None:
                    known = connection.execute(sa.select(models.c.name).order_by(
                        models.c.name)).scalars().all()
                    raise DataError(f"no model {spec.model!r} in the record",
                                    file=found.source, row=line, field="model",
                                    expected="a model imported with driftwise import "
                                    "--model NAME --targets FILE (the record has: "
                                    + (", ".join(known) or "none") + ")",
                                    found=spec.model)
            values["model_id"] = model
        if "cash_target_weight" in found.columns:
            values["cash_target_weight"] = (None if spec.cash_target_text is None
                                            else required(spec.cash_target_text))
        for name in ("do_not_buy", "do_not_sell"):
            if name in found.columns:
                values[name] = list(getattr(spec, name)) or None
        old = connection.execute(sa.select(*[accounts.c[k] for k in values]).where(
            accounts.c.id == owner)).one() if values else ()
        if values and tuple(old) != tuple(values.values()):
            connection.execute(accounts.update().where(accounts.c.id == owner)
                               .values(**values))
            changed += before is not None
        added += before is None
    out = [Changes("accounts", added, changed, 0), Changes("households", houses, 0, 0)]
    return out + follow_models(connection, names=[s.account for s in found.rows])


def account_profiles(connection: Connection, names: list[str] | None = None
                     ) -> dict[str, AccountProfile]:
    """Each account's household, tax status, model and restrictions (every account, or
    ``names``)."""
    query = (sa.select(accounts.c.name, accounts.c.tax_status, accounts.c.do_not_buy,
                       accounts.c.do_not_sell, households.c.name.label("household"),
                       models.c.name.label("model"))
             .select_from(accounts.outerjoin(households,
                                             accounts.c.household_id == households.c.id)
                          .outerjoin(models, accounts.c.model_id == models.c.id)))
    if names is not None:
        query = query.where(accounts.c.name.in_(names))
    return {r.name: AccountProfile(
        r.name, r.household, None if r.tax_status is None else TaxStatus(r.tax_status),
        r.model, tuple(r.do_not_buy or ()), tuple(r.do_not_sell or ()))
        for r in connection.execute(query).all()}


def household_members(connection: Connection, household: str) -> list[tuple[int, str]]:
    """The accounts of a household: (id, name), by name."""
    rows = connection.execute(
        sa.select(accounts.c.id, accounts.c.name).join(
            households, accounts.c.household_id == households.c.id)
        .where(households.c.name == household).order_by(accounts.c.name)).all()
    return [(int(r.id), str(r.name)) for r in rows]


HouseholdState = tuple[Any, ...]
"""What the plans of a household's accounts read of its other accounts (see
:func:`household_state`); equal tuples: nothing they read has changed."""


def household_state(connection: Connection, household: str, day: dt.date) -> HouseholdState:
    """What the plans of ``household``'s accounts on ``day`` read of the household's
    accounts besides each planned account's own holdings, targets and plans: its
    members, their profiles (tax status, restrictions), their current holdings
    snapshots (a fills run writes one), their target versions in force on the day (asset
    location), and their open orders (id and status: proposed, approved, sent).

    Read before a household's accounts are read and planned outside the write
    transaction, and again inside it: when the two differ, something the plans read
    (a fill, an import, an order approved, sent, filled or cancelled, another run's
    plan) changed in between.
    """
    members = household_members(connection, household)
    ids = [i for i, _ in members]
    profiles = account_profiles(connection, [n for _, n in members])
    snapshots = connection.execute(
        sa.select(holdings_snapshots.c.account_id, sa.func.max(holdings_snapshots.c.id))
        .where(holdings_snapshots.c.account_id.in_(ids))
        .group_by(holdings_snapshots.c.account_id)).all()
    versions = connection.execute(
        sa.select(target_versions.c.account_id, sa.func.max(target_versions.c.id))
        .where(target_versions.c.account_id.in_(ids)
               & (target_versions.c.effective_date.is_(None)
                  | (target_versions.c.effective_date <= day)))
        .group_by(target_versions.c.account_id)).all()
    open_orders = connection.execute(
        sa.select(orders.c.id, orders.c.status).where(
            orders.c.account_id.in_(ids)
            & orders.c.status.in_(("proposed", "approved", "sent")))
        .order_by(orders.c.id)).all()
    return (tuple(members), tuple(profiles[n] for _, n in members),
            tuple(sorted((int(a), int(s)) for a, s in snapshots)),
            tuple(sorted((int(a), int(v)) for a, v in versions)),
            tuple((int(i), str(s)) for i, s in open_orders))


def window_start(day: dt.date, window_days: int) -> dt.date:
    """The first calendar day of the wash-sale window ending on ``day``."""
    return day - dt.timedelta(days=window_days)


def other_members(connection: Connection, profile: AccountProfile | None) -> list[int]:
    """Ids of the other accounts of ``profile``'s household ([] without a household)."""
    if profile is None or profile.household is None:
        return []
    return [i for i, name in household_members(connection, profile.household)
            if name != profile.name]


def household_buys(connection: Connection, profile: AccountProfile | None, day: dt.date,
                   window_days: int, *, replaced: frozenset[str] = frozenset()
                   ) -> tuple[str, ...]:
    """Tickers the other accounts of the household bought on or after ``day −
    window_days`` (their fills up to the day), or may still buy (their proposed,
    approved or sent BUY orders of plans made in that window), sorted; () without a
    household. The proposed orders of the accounts ``replaced`` (planned again in the
    same run, which supersedes them) are left out."""
    others = other_members(connection, profile)
    if not others:
        return ()
    if replaced:
        names = {int(r.id): str(r.name) for r in connection.execute(
            sa.select(accounts.c.id, accounts.c.name).where(accounts.c.id.in_(others)))}
        kept = [i for i in others if names[i] not in replaced]
    else:
        kept = others
    start = window_start(day, window_days)
    bought = set(connection.execute(sa.select(fills.c.ticker).where(
        fills.c.account_id.in_(others) & (fills.c.side == "BUY")
        & (fills.c.filled_at >= dt.datetime.combine(start, dt.time()))
        & (fills.c.filled_at < dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    )).scalars())
    bought |= set(connection.execute(sa.select(orders.c.ticker).join(
        plans, orders.c.plan_id == plans.c.id).where(
        (orders.c.side == "BUY") & (plans.c.as_of >= start) & (plans.c.as_of <= day)
        & ((orders.c.account_id.in_(kept) & (orders.c.status == "proposed"))
           | (orders.c.account_id.in_(others)
              & orders.c.status.in_(("approved", "sent")))))).scalars())
    return tuple(sorted(str(t) for t in bought))


LossRow = tuple[str, str, dt.date, float, str]
"""A sale at a loss of another account of the household: ticker, account, day (filled
on, or the day of the plan that proposed it), loss in USD (NaN: not measured) and
status (``filled``, or the open order's ``proposed`` / ``approved`` / ``sent``)."""


def household_loss_sales(connection: Connection, profile: AccountProfile | None,
                         day: dt.date, window_days: int, *,
                         replaced: frozenset[str] = frozenset()) -> tuple[LossRow, ...]:
    """The sales at a loss of the household's other accounts that a buy today would
    wash, sorted; () without a household:

    * their recorded fills on or after ``day − window_days`` up to the day
      (:func:`filled_loss_sales`; loss measured on the lots the fills run relieved);
    * their open sale orders (proposed, approved or sent) with a loss
      (``orders.loss_usd`` > 0), whatever their plan's day: the order may still fill,
      and a buy within the window before the sale washes it too. The proposed orders of
      the accounts ``replaced`` (planned again in the same run, which supersedes them)
      are left out.

    Accounts that are tax-deferred or tax-exempt are left out (a loss there is no tax
    loss).
    """
    others = other_members(connection, profile)
    if not others:
        return ()
    status = {int(r.id): (str(r.name), r.tax_status) for r in connection.execute(
        sa.select(accounts.c.id, accounts.c.name, accounts.c.tax_status).where(
            accounts.c.id.in_(others))).all()}
    taxed = [i for i, (_, s) in status.items()
             if s not in (TaxStatus.TAX_DEFERRED.value, TaxStatus.TAX_EXEMPT.value)]
    out: set[LossRow] = {(t, status[a][0], d, loss, "filled")
                         for a, t, d, loss in filled_loss_sales(connection, taxed, day,
                                                                window_days)}
    rows = connection.execute(sa.select(
        orders.c.account_id, orders.c.ticker, orders.c.status, orders.c.loss_usd,
        plans.c.as_of).join(plans, orders.c.plan_id == plans.c.id).where(
        orders.c.account_id.in_(taxed) & (orders.c.side == "SELL")
        & orders.c.status.in_(("proposed", "approved", "sent"))
        & (orders.c.loss_usd > 0))).all()
    found: dict[tuple[str, str, dt.date, str], float] = {}
    for r in rows:
        name = status[int(r.account_id)][0]
        if r.status == "proposed" and name in replaced:
            continue
        key = (str(r.ticker), name, r.as_of, str(r.status))
        found[key] = found.get(key, 0.0) + float(r.loss_usd)
    out |= {(t, a, d, loss, s) for (t, a, d, s), loss in found.items()}
    return tuple(sorted(out, key=lambda r: (r[0], r[1], r[2], r[4])))


def filled_loss_sales(connection: Connection, members: list[int], day: dt.date,
                      window_days: int) -> list[tuple[int, str, dt.date, float]]:
    """The sales at a loss the accounts ``members`` made on or after ``day −
    window_days`` (their recorded fills up to the day): ``(account id, ticker, last fill
    day, loss USD)``, one per account, fills run and ticker.

    A fill's loss is measured on the lots its fills run relieved: the lots of the
    ticker in the account's snapshot before the run less those in the snapshot the run
    wrote (a lot partly relieved gives up its basis pro rata), the proceeds of the run's
    sales of the ticker against the basis of the shares they relieved. Accounts kept
    without lots have no basis to measure: their sales are not counted.
    """
    if not members:
        return []
    start = window_start(day, window_days)
    rows = connection.execute(sa.select(
        fills.c.account_id, fills.c.snapshot_id, fills.c.ticker, fills.c.shares,
        fills.c.price_usd, fills.c.filled_at).where(
        fills.c.account_id.in_(members) & (fills.c.side == "SELL")
        & (fills.c.filled_at >= dt.datetime.combine(start, dt.time()))
        & (fills.c.filled_at < dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    )).all()
    runs: dict[tuple[int, int, str], list[Any]] = {}
    for r in rows:
        runs.setdefault((int(r.account_id), int(r.snapshot_id), str(r.ticker)), []).append(r)
    out: list[tuple[int, str, dt.date, float]] = []
    for (account, snapshot, ticker), sold in sorted(runs.items()):
        before = connection.execute(sa.select(sa.func.max(holdings_snapshots.c.id)).where(
            (holdings_snapshots.c.account_id == account)
            & (holdings_snapshots.c.id < snapshot))).scalar_one_or_none()
        if before is None:
            continue
        old, new = read_snapshot(connection, int(before)), read_snapshot(connection, snapshot)
        if old.lots is None or new.lots is None:
            continue
        left = {(lot.acquired, lot.lot_account): lot for lot in new.lots
                if lot.ticker == ticker}
        shares = basis = Decimal(0)
        for lot in old.lots:
            if lot.ticker != ticker or lot.shares <= 0:
                continue
            kept = left.get((lot.acquired, lot.lot_account))
            gone = lot.shares - (kept.shares if kept is not None else Decimal(0))
            if gone > 0:
                shares += gone
                basis += lot.cost_basis_usd * gone / lot.shares
        quantity = sum((r.shares for r in sold), Decimal(0))
        proceeds = sum((r.shares * r.price_usd for r in sold), Decimal(0))
        relieved = basis * min(quantity, shares) / shares if shares > 0 else Decimal(0)
        if shares > 0 and proceeds < relieved:
            out.append((account, ticker, max(r.filled_at for r in sold).date(),
                        float(relieved - proceeds)))
    return out
