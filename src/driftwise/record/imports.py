"""Import the files driftwise reads into the record, reporting what changed.

Each function takes what a reader of :mod:`driftwise.data` returned (so a file is
validated exactly as the other commands validate it) and writes in the caller's
transaction: the command runs one import as one transaction, all of it or none.

* holdings (and lots): a new snapshot when they differ from the current one;
* targets: a new version when the weights, bands, cash target, level or effective
  date differ from the latest version;
* security master: the file is the whole master; changed and removed tickers close
  their row (``valid_to``), new values open one; nothing is deleted;
* costs: one snapshot per ticker and ``as_of`` date (a date imported again with other
  values is changed in place: it is the same measurement, corrected);
* prices and volumes: one row per ticker and date, added or corrected; the VIX likewise
  (``market_series``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.data.costs import CostFile
from driftwise.data.model import Holdings, MarketData, SecurityMaster, Targets
from driftwise.record._values import day, exact, now, required, text
from driftwise.record.holdings import Changes, compare, current, from_holdings, write_snapshot
from driftwise.record.schema import (
    cost_snapshots,
    market_series,
    prices,
    securities,
    target_versions,
    target_weights,
)

CHUNK = 5_000
"""Rows per bulk statement."""

T = TypeVar("T")


def import_holdings(connection: Connection, account: int, holdings: Holdings, *,
                    market_date: dt.date | None = None) -> list[Changes]:
    """Store ``holdings`` as the account's current holdings when they differ;
    ``market_date``: the session they were marked at."""
    new = from_holdings(holdings)
    old = current(connection, account)
    found = compare(old, new)
    if old is None or any(c.any for c in found) or (old.lots is None) != (new.lots is None):
        write_snapshot(connection, account, new, reason="import", source=holdings.source,
                       market_date=market_date)
    return list(found)


def _weights(targets: Targets) -> dict[str, tuple[Decimal, Decimal | None, Decimal | None]]:
    out = {}
    for key, weight in targets.weights.items():
        out[str(key)] = (required(weight), exact(targets.band_abs.get(key)),
                         exact(targets.band_rel.get(key)))
    return out


def import_targets(connection: Connection, account: int, targets: Targets) -> list[Changes]:
    """Store ``targets`` as a new version when they differ from the latest one."""
    return store_version(connection, target_versions, target_weights,
                         target_versions.c.account_id, account, targets, "targets")


def store_version(connection: Connection, versions: sa.Table, weights: sa.Table,
                  owner_column: sa.Column[int], owner: int, targets: Targets, name: str
                  ) -> list[Changes]:
    """Store ``targets`` as a new version of ``owner`` (an account's target versions or a
    model's versions) when they differ from its latest one."""
    latest = connection.execute(
        sa.select(versions).where(owner_column == owner)
        .order_by(versions.c.id.desc()).limit(1)).one_or_none()
    new = _weights(targets)
    head = (targets.level.value, day(targets.effective_date), required(targets.cash_weight))
    old: dict[str, tuple[Decimal, Decimal | None, Decimal | None]] = {}
    if latest is not None:
        old = {r.key: (r.weight, r.band_abs, r.band_rel) for r in connection.execute(
            sa.select(weights).where(weights.c.version_id == latest.id))}
        if (latest.level, latest.effective_date, latest.cash_weight) == head and old == new:
            return [Changes(name)]
    result = connection.execute(versions.insert().values({
        owner_column.name: owner, "level": head[0], "effective_date": head[1],
        "cash_weight": head[2], "source": targets.source, "created_at": now()}))
    key = result.inserted_primary_key
    assert key is not None
    connection.execute(weights.insert(), [
        {"version_id": int(key[0]), "key": k, "weight": w, "band_abs": a, "band_rel": r}
        for k, (w, a, r) in sorted(new.items())])
    return [Changes(name, len(new.keys() - old.keys()),
                    sum(old[k] != new[k] for k in old.keys() & new.keys()),
                    len(old.keys() - new.keys()))]


def import_master(connection: Connection, master: SecurityMaster) -> list[Changes]:
    """Make ``master`` the current security master (the file is the whole master)."""
    live = {r.ticker: (r.id, (r.sector, r.asset_class, r.market_cap_usd))
            for r in connection.execute(sa.select(securities).where(
                securities.c.valid_to.is_(None)))}
    frame = master.frame
    new = {str(t): (text(s), text(a), exact(m)) for t, s, a, m in zip(
        frame.index, frame["sector"], frame["asset_class"], frame["market_cap_usd"],
        strict=True)}
    moment = now()
    closing = [live[t][0] for t in live if t not in new or live[t][1] != new[t]]
    opening = [t for t in new if t not in live or live[t][1] != new[t]]
    for chunk in _chunks(closing):
        connection.execute(securities.update().where(securities.c.id.in_(chunk))
                           .values(valid_to=moment))
    if opening:
        connection.execute(securities.insert(), [
            {"ticker": t, "sector": new[t][0], "asset_class": new[t][1],
             "market_cap_usd": new[t][2], "valid_from": moment} for t in opening])
    changed = sum(t in live for t in opening)
    return [Changes("securities", len(opening) - changed, changed,
                    len(live.keys() - new.keys()))]


_COST_FIELDS = ("spread_bps", "commission_bps", "commission_per_share_usd", "min_ticket_usd",
                "borrow_bps_annual")


def import_costs(connection: Connection, costs: CostFile) -> list[Changes]:
    """Store each ticker's cost inputs under their ``as_of`` date."""
    frame = costs.frame
    columns = [frame[f].tolist() for f in _COST_FIELDS]
    new = {(str(t), _day(a)): tuple(exact(c[i]) for c in columns)
           for i, (t, a) in enumerate(zip(frame.index, frame["as_of"], strict=True))}
    dates = sorted({d for _, d in new})
    old = {(r.ticker, r.as_of): tuple(getattr(r, f) for f in _COST_FIELDS)
           for r in connection.execute(sa.select(cost_snapshots).where(
               cost_snapshots.c.as_of.in_(dates)))}
    moment = now()
    added = [k for k in new if k not in old]
    changed = [k for k in new if k in old and old[k] != new[k]]
    if added:
        connection.execute(cost_snapshots.insert(), [
            {"ticker": t, "as_of": d, "imported_at": moment,
             **dict(zip(_COST_FIELDS, new[(t, d)], strict=True))} for t, d in added])
    for t, d in changed:
        connection.execute(cost_snapshots.update().where(
            (cost_snapshots.c.ticker == t) & (cost_snapshots.c.as_of == d)).values(
            imported_at=moment, **dict(zip(_COST_FIELDS, new[(t, d)], strict=True))))
    return [Changes("cost_snapshots", len(added), len(changed), 0)]


def import_prices(connection: Connection, market: MarketData) -> list[Changes]:
    """Store each ticker's close (and volume) per date; other dates are left as they are."""
    panel = market.prices
    volume = market.volumes
    new: dict[tuple[str, dt.date], tuple[Decimal, Decimal | None]] = {}
    for ticker in panel.columns:
        closes = panel[ticker]
        vols = volume[ticker] if volume is not None and ticker in volume else None
        for stamp, close in closes.items():
            if not np.isfinite(close):
                continue
            v = None if vols is None else exact(vols.get(stamp))
            new[(str(ticker), _day(stamp))] = (required(close), v)
    if not new:
        return [Changes("prices")]
    first, last = min(d for _, d in new), max(d for _, d in new)
    old = {(r.ticker, r.date): (r.close_usd, r.volume_shares) for r in connection.execute(
        sa.select(prices).where(prices.c.date.between(first, last)))}
    added = [k for k in new if k not in old]
    changed = [k for k in new if k in old and old[k] != new[k]]
    for chunk in _chunks(added):
        connection.execute(prices.insert(), [
            {"ticker": t, "date": d, "close_usd": new[(t, d)][0],
             "volume_shares": new[(t, d)][1]} for t, d in chunk])
    for t, d in changed:
        connection.execute(prices.update().where(
            (prices.c.ticker == t) & (prices.c.date == d)).values(
            close_usd=new[(t, d)][0], volume_shares=new[(t, d)][1]))
    return [Changes("prices", len(added), len(changed), 0)]


def import_series(connection: Connection, name: str, values: pd.Series) -> list[Changes]:
    """Store a daily series (``vix``: closes by date); other dates are left as they are."""
    new = {_day(d): required(v) for d, v in values.items()}
    if not new:
        return [Changes(name)]
    old = {r.date: r.value for r in connection.execute(sa.select(market_series).where(
        (market_series.c.series == name)
        & market_series.c.date.between(min(new), max(new))))}
    added = [d for d in new if d not in old]
    changed = [d for d in new if d in old and old[d] != new[d]]
    for chunk in _chunks(added):
        connection.execute(market_series.insert(), [
            {"series": name, "date": d, "value": new[d]} for d in chunk])
    for d in changed:
        connection.execute(market_series.update().where(
            (market_series.c.series == name) & (market_series.c.date == d)).values(
            value=new[d]))
    return [Changes(name, len(added), len(changed), 0)]


def _day(value: object) -> dt.date:
    out = day(value)
    if out is None:
        raise ValueError(f"a date is required, got {value!r}")
    return out


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]

