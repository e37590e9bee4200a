"""A plan's inputs from the record, as of a date: no file needed.

:func:`load_record_inputs` returns the :class:`~driftwise.data.model.Inputs` that
:func:`driftwise.data.loader.load_inputs` returns for files: the account's current
holdings (and lots), the target version effective on the day, the security master, the
latest cost snapshot of each ticker measured on or before the day, and the prices,
volumes and VIX recorded up to the day. The market goes through the same readers as a
file (:func:`~driftwise.data.market.read_prices`, :func:`~driftwise.data.market.read_vix`),
so suspect price jumps, non-session rows and gaps are flagged and refused exactly as
for files; :func:`load_market` reads it once for every account of a ``daily`` run.

The holdings are the account's current snapshot whatever the day (each snapshot keeps
the session it was marked at, ``holdings_snapshots.market_date``, since migration 0004;
a plan of an earlier day still reads the current holdings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.data.costs import COST_COLUMNS, CostFile
from driftwise.data.loader import with_vix
from driftwise.data.market import read_prices
from driftwise.data.model import Inputs, MarketData, SecurityMaster, TargetLevel, Targets
from driftwise.errors import DataError
from driftwise.record.holdings import (
    latest_snapshot_id,
    latest_snapshot_ids,
    read_snapshot,
    read_snapshots,
    to_holdings,
)
from driftwise.record.schema import (
    accounts,
    cost_snapshots,
    market_series,
    prices,
    securities,
    target_versions,
    target_weights,
)


@dataclass(frozen=True)
class RecordInputs:
    """An account's inputs from the record, with the rows they came from.

    Attributes
    ----------
    inputs : Inputs
        What a plan or the monitor reads.
    snapshot_id : int
        The holdings snapshot.
    target_version_id : int or None
        The target version effective on the day (None: the account has none yet, and
        ``inputs.targets`` is None: the plan's default target applies, flagged).
    """

    inputs: Inputs
    snapshot_id: int
    target_version_id: int | None


def _float(value: object) -> float:
    return float("nan") if value is None else float(value)  # type: ignore[arg-type]


def load_market(connection: Connection, as_of: dt.date, *,
                accept_jumps: Iterable[str] = ()) -> MarketData:
    """Prices, volumes and VIX recorded up to ``as_of``, read as a file would be.

    Raises
    ------
    DataError
        No price on or before ``as_of`` in the record, or what the price reader refuses.
    """
    # the exact values are read as the database spells them (decimal text on SQLite,
    # NUMERIC on PostgreSQL) and each converted to the nearest float, as a file's text is
    rows = connection.execute(sa.select(
        prices.c.ticker, sa.type_coerce(prices.c.date, sa.String),
        sa.type_coerce(prices.c.close_usd, sa.String),
        sa.type_coerce(prices.c.volume_shares, sa.String))
        .where(prices.c.date <= as_of)).all()
    if not rows:
        raise DataError("no prices in the record", file="<record prices>", field="date",
                        expected=f"prices on or before {as_of} (driftwise import --prices)",
                        found="none")
    ticker, date, close, volume = zip(*rows, strict=True)
    long = pd.DataFrame({"ticker": ticker, "date": pd.to_datetime([str(d) for d in date]),
                         "close": [float(v) for v in close],
                         "volume": [_float(v) for v in volume]})
    wide = long.pivot(index="date", columns="ticker", values="close")
    frame = wide.reset_index()
    frame.columns = [str(c) for c in frame.columns]
    volumes = None
    if long["volume"].notna().any():
        vol = long.pivot(index="date", columns="ticker", values="volume")
        volumes = vol.reset_index()
        volumes.columns = [str(c) for c in volumes.columns]
    market = read_prices(frame, volumes=volumes, today=pd.Timestamp(as_of),
                         accept_jumps=accept_jumps)
    market = _labelled(market, "<record prices>")
    vix = connection.execute(sa.select(market_series.c.date, market_series.c.value)
                             .where((market_series.c.series == "vix")
                                    & (market_series.c.date <= as_of))
                             .order_by(market_series.c.date)).all()
    if vix:
        series = pd.DataFrame({"date": [pd.Timestamp(d) for d, _ in vix],
                               "vix": [float(v) for _, v in vix]})
        market = with_vix(market, series, pd.Timestamp(as_of))
    return market


def _labelled(market: MarketData, source: str) -> MarketData:
    import dataclasses

    return dataclasses.replace(market, source=source)


def load_master(connection: Connection) -> SecurityMaster:
    """The current security master (the rows not closed)."""
    rows = connection.execute(sa.select(securities).where(securities.c.valid_to.is_(None))
                              .order_by(securities.c.ticker)).all()
    if not rows:
        return SecurityMaster.empty()
    frame = pd.DataFrame(
        {"sector": pd.Series([r.sector for r in rows], dtype=object),
         "asset_class": pd.Series([r.asset_class for r in rows], dtype=object),
         "market_cap_usd": pd.Series([_float(r.market_cap_usd) for r in rows], dtype=float)})
    frame.index = pd.Index([r.ticker for r in rows], name="ticker", dtype=object)
    return SecurityMaster(frame=frame, source="<record security master>")


def load_costs(connection: Connection, as_of: dt.date) -> CostFile | None:
    """Each ticker's latest cost snapshot measured on or before ``as_of`` (None: none)."""
    latest = (sa.select(cost_snapshots.c.ticker,
                        sa.func.max(cost_snapshots.c.as_of).label("as_of"))
              .where(cost_snapshots.c.as_of <= as_of)
              .group_by(cost_snapshots.c.ticker).subquery())
    rows = connection.execute(sa.select(cost_snapshots).join(
        latest, (cost_snapshots.c.ticker == latest.c.ticker)
        & (cost_snapshots.c.as_of == latest.c.as_of)).order_by(cost_snapshots.c.ticker)).all()
    if not rows:
        return None
    data: dict[str, object] = {c: [_float(getattr(r, c)) for r in rows]
                               for c in COST_COLUMNS if c != "as_of"}
    data["as_of"] = pd.to_datetime([r.as_of for r in rows]).astype("datetime64[ns]")
    frame = pd.DataFrame(data, index=pd.Index([r.ticker for r in rows], name="ticker"))
    return CostFile(frame=frame[list(COST_COLUMNS)], source="<record cost snapshots>")


def _in_force(as_of: dt.date) -> sa.ColumnElement[bool]:
    """The target versions that may be in force on ``as_of`` (effective on or before it,
    or without a date); the latest such of an account is."""
    return (target_versions.c.effective_date.is_(None)
            | (target_versions.c.effective_date <= as_of))


def effective_targets(connection: Connection, account: int, as_of: dt.date
                      ) -> tuple[int, Targets] | None:
    """The account's target version effective on ``as_of``: the latest one imported whose
    effective date is on or before the day (or that has none); None when there is none.
    """
    version = connection.execute(
        sa.select(target_versions).where(
            (target_versions.c.account_id == account) & _in_force(as_of))
        .order_by(target_versions.c.id.desc()).limit(1)).one_or_none()
    if version is None:
        return None
    return int(version.id), _targets(connection, version)


def effective_version_id(connection: Connection, account: int, as_of: dt.date) -> int | None:
    """The id of the account's target version effective on ``as_of`` (the version
    :func:`effective_targets` reads; None: none), without its weights."""
    found = connection.execute(
        sa.select(sa.func.max(target_versions.c.id)).where(
            (target_versions.c.account_id == account) & _in_force(as_of))
    ).scalar_one_or_none()
    return None if found is None else int(found)


def effective_versions(connection: Connection, accounts_: Sequence[int], as_of: dt.date
                       ) -> dict[int, tuple[int, Targets]]:
    """:func:`effective_targets` of many accounts in three queries (the versions' ids,
    their rows, their weights) whatever their number; the accounts without a version in
    force left out."""
    latest = effective_version_ids(connection, accounts_, as_of)
    ids = sorted(latest.values())
    if not ids:
        return {}
    versions = {int(r.id): r for r in connection.execute(
        sa.select(target_versions).where(target_versions.c.id.in_(ids)))}
    weights: dict[int, list[Any]] = {i: [] for i in ids}
    for r in connection.execute(sa.select(target_weights).where(
            target_weights.c.version_id.in_(ids))
            .order_by(target_weights.c.version_id, target_weights.c.key)):
        weights[int(r.version_id)].append(r)
    return {a: (v, _targets_of(versions[v], weights[v])) for a, v in latest.items()}


def effective_version_ids(connection: Connection, accounts_: Sequence[int], as_of: dt.date
                          ) -> dict[int, int]:
    """:func:`effective_version_id` of many accounts in one query (the accounts without
    a version in force left out)."""
    if not accounts_:
        return {}
    rows = connection.execute(
        sa.select(target_versions.c.account_id, sa.func.max(target_versions.c.id))
        .where(target_versions.c.account_id.in_(list(accounts_)) & _in_force(as_of))
        .group_by(target_versions.c.account_id)).all()
    return {int(a): int(v) for a, v in rows if v is not None}


def target_history(connection: Connection, account: int) -> tuple[Targets, ...]:
    """Every target version of the account that is in force on some day, as
    :func:`effective_targets` picks them, sorted by effective date (one without a date
    first).

    On a day the version in force is the latest imported whose effective date is on or
    before it; a version is therefore never in force when one imported after it takes
    effect on or before its own date (no date counts as the earliest), and is left out.
    The others, sorted by date, each hold until the next one's date: the backtest's rule
    (:mod:`driftwise.backtest.versions`) over them picks the same version on every day.
    """
    rows = connection.execute(sa.select(target_versions).where(
        target_versions.c.account_id == account).order_by(target_versions.c.id)).all()
    kept = []
    later_first: dt.date | None = dt.date.max  # the earliest date imported after the row
    for row in reversed(rows):
        eff = row.effective_date
        if later_first is not None and (eff is None or eff < later_first):
            kept.append(row)
        later_first = None if later_first is None or eff is None else min(later_first, eff)
    return tuple(_targets(connection, row) for row in reversed(kept))


def _targets(connection: Connection, version: sa.Row[Any]) -> Targets:
    """One stored target version as the targets reader returns it."""
    rows = connection.execute(sa.select(target_weights).where(
        target_weights.c.version_id == version.id).order_by(target_weights.c.key)).all()
    return _targets_of(version, rows)


def _targets_of(version: sa.Row[Any], rows: Sequence[Any]) -> Targets:
    """A target version and its weights' rows (by key) as the targets reader returns
    them."""
    index = pd.Index([r.key for r in rows], name=TargetLevel(version.level).value)
    return Targets(
        level=TargetLevel(version.level),
        weights=pd.Series([float(r.weight) for r in rows], index=index, dtype=float,
                          name="target_weight"),
        cash_weight=float(version.cash_weight),
        band_abs=pd.Series([_float(r.band_abs) for r in rows], index=index, dtype=float,
                           name="band_abs"),
        band_rel=pd.Series([_float(r.band_rel) for r in rows], index=index, dtype=float,
                           name="band_rel"),
        effective_date=(None if version.effective_date is None
                        else pd.Timestamp(version.effective_date)),
        source=f"<record target version {version.id}>")


def load_account(connection: Connection, account: int, as_of: dt.date, *,
                 market: MarketData, master: SecurityMaster, costs: CostFile | None
                 ) -> RecordInputs:
    """One account's inputs on ``as_of``, the shared market, master and costs given.

    Raises
    ------
    DataError
        The account has no holdings in the record.
    """
    row = connection.execute(sa.select(accounts).where(accounts.c.id == account)).one()
    snapshot_id = latest_snapshot_id(connection, account)
    if snapshot_id is None:
        raise DataError(f"account {row.name!r} has no holdings in the record",
                        file="<record>", field="holdings",
                        expected="holdings imported with driftwise import --holdings",
                        found="none")
    holdings = to_holdings(read_snapshot(connection, snapshot_id),
                           f"<record account {row.name} holdings {snapshot_id}>")
    found = effective_targets(connection, account, as_of)
    last = row.last_rebalance
    inputs = Inputs(holdings=holdings, targets=None if found is None else found[1],
                    master=master, market=market,
                    last_rebalance=None if last is None or last > as_of else pd.Timestamp(last),
                    costs=costs)
    return RecordInputs(inputs, snapshot_id, None if found is None else found[0])


def load_accounts(connection: Connection, accounts_: Sequence[int], as_of: dt.date, *,
                  market: MarketData, master: SecurityMaster, costs: CostFile | None
                  ) -> dict[int, RecordInputs]:
    """:func:`load_account` of many accounts, each table read once for all of them
    (accounts, snapshots, positions, lots, target versions and weights); the same
    inputs. The accounts without holdings are left out (:func:`load_account` says why).
    """
    wanted = list(dict.fromkeys(accounts_))
    if not wanted:
        return {}
    rows = {int(r.id): r for r in connection.execute(
        sa.select(accounts).where(accounts.c.id.in_(wanted)))}
    snapshot_ids = latest_snapshot_ids(connection, wanted)
    snapshots = read_snapshots(connection, list(snapshot_ids.values()))
    versions = effective_versions(connection, wanted, as_of)
    out: dict[int, RecordInputs] = {}
    for account in wanted:
        if account not in snapshot_ids:
            continue
        row, snapshot_id = rows[account], snapshot_ids[account]
        holdings = to_holdings(snapshots[snapshot_id],
                               f"<record account {row.name} holdings {snapshot_id}>")
        found = versions.get(account)
        last = row.last_rebalance
        inputs = Inputs(holdings=holdings, targets=None if found is None else found[1],
                        master=master, market=market,
                        last_rebalance=(None if last is None or last > as_of
                                        else pd.Timestamp(last)),
                        costs=costs)
        out[account] = RecordInputs(inputs, snapshot_id, None if found is None else found[0])
    return out


def load_record_inputs(connection: Connection, account: int, as_of: dt.date, *,
                       accept_jumps: Iterable[str] = ()) -> RecordInputs:
    """Everything a plan of ``account`` needs on ``as_of``, from the record alone."""
    return load_account(connection, account, as_of,
                        market=load_market(connection, as_of, accept_jumps=accept_jumps),
                        master=load_master(connection), costs=load_costs(connection, as_of))


def unpriced(inputs: Inputs, as_of: dt.date) -> list[str]:
    """Held tickers without a price on ``as_of`` (delisted or suspended)."""
    panel = inputs.market.prices
    day = pd.Timestamp(as_of)
    held = [str(t) for t, s in inputs.holdings.shares.items() if s != 0]
    if day not in panel.index:
        return held
    row = panel.loc[day]
    return [t for t in held if t not in row.index or not np.isfinite(row[t])]
