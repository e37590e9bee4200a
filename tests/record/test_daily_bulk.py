"""``daily``'s bulk paths against the plain per-account ones: the batch's accounts read
together (:func:`driftwise.app.daily.prepare_singles`, ``load_accounts``,
``read_snapshots``, ``effective_versions``) read what each read alone gives; a plan's
orders built from the trade list's columns (:func:`driftwise.app.daily.stored_orders`,
``parent_values``) are the rows :func:`~driftwise.app.daily.order_rows` makes through
frames, as the record stores them; and a whole run stores the record that planning one
account at a time with the frames' orders stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection, Engine
from tests.record.daily_data import day, fill_record, sample_inputs

from driftwise.app import daily
from driftwise.app.daily import (
    AccountDay,
    Prepared,
    order_rows,
    parent_orders,
    parent_values,
    plan_account,
    prepare,
    prepare_singles,
    run_daily,
    stored_orders,
    with_losses,
)
from driftwise.app.plan import Decision, make_plan
from driftwise.config import default_config
from driftwise.data.model import Holdings, Inputs
from driftwise.errors import DataError
from driftwise.record import imports, migrate, open_engine, transaction
from driftwise.record.holdings import (
    account_id,
    latest_snapshot_id,
    latest_snapshot_ids,
    read_snapshot,
    read_snapshots,
)
from driftwise.record.inputs import (
    effective_targets,
    effective_versions,
    load_account,
    load_accounts,
    load_costs,
    load_market,
    load_master,
)
from driftwise.record.orders import order_values
from driftwise.record.schema import events, orders, plans

DAY = "2022-12-28"
NAMES = ("b-lots", "c-plain", "d-later", "e-none", "f-varied")


def _lots(inputs: Inputs) -> Holdings:
    """The sample's holdings as lots: each position in two lots, one at a gain and one
    at a loss."""
    shares = inputs.holdings.shares
    last = inputs.market.prices.iloc[-1]
    rows = []
    for t, s in shares.items():
        half = float(np.floor(s / 2))
        rows.append((t, half, pd.Timestamp("2019-03-01"), 0.6 * half * float(last[t]), None))
        rows.append((t, float(s) - half, pd.Timestamp("2022-06-01"),
                     1.3 * (float(s) - half) * float(last[t]), None))
    frame = pd.DataFrame(rows, columns=["ticker", "shares", "acquired", "cost_basis_usd",
                                        "account"])
    frame["acquired"] = frame["acquired"].astype("datetime64[ns]")
    return Holdings(shares=shares, cash_usd=inputs.holdings.cash_usd, lots=frame)


def _book(engine: Engine) -> Engine:
    """Accounts that differ in what is read: lots, a target taking effect after the day
    (the earlier version in force), no target version, other holdings."""
    inputs = sample_inputs()
    fill_record(engine, inputs, tuple(n for n in NAMES if n != "e-none"))

    def vary(c: Connection) -> None:
        imports.import_holdings(c, account_id(c, "b-lots"), _lots(inputs))
        assert inputs.targets is not None
        later = dataclasses.replace(inputs.targets, weights=inputs.targets.weights * 0.5,
                                    cash_weight=1.0 - float(inputs.targets.weights.sum()) / 2,
                                    effective_date=pd.Timestamp("2023-01-03"))
        imports.import_targets(c, account_id(c, "d-later"), later)
        shares = inputs.holdings.shares.copy()
        shares.iloc[::2] *= 1.4
        imports.import_holdings(c, account_id(c, "f-varied"), Holdings(
            shares=shares.round(), cash_usd=inputs.holdings.cash_usd * 0.5))
        # e-none: no target version (the plan's default target applies)
        imports.import_holdings(c, account_id(c, "e-none", create=True), inputs.holdings)
        account_id(c, "g-empty", create=True)  # an account without holdings

    transaction(engine, vary)
    return engine


def _same_inputs(got: Any, want: Any) -> None:
    assert got.snapshot_id == want.snapshot_id
    assert got.target_version_id == want.target_version_id
    a, b = got.inputs, want.inputs
    pd.testing.assert_series_equal(a.holdings.shares, b.holdings.shares)
    assert a.holdings.cash_usd == b.holdings.cash_usd
    assert a.holdings.source == b.holdings.source
    if b.holdings.lots is None:
        assert a.holdings.lots is None
    else:
        pd.testing.assert_frame_equal(a.holdings.lots, b.holdings.lots)
    if b.targets is None:
        assert a.targets is None
    else:
        assert (a.targets.level, a.targets.cash_weight, a.targets.effective_date,
                a.targets.source) == (b.targets.level, b.targets.cash_weight,
                                      b.targets.effective_date, b.targets.source)
        for name in ("weights", "band_abs", "band_rel"):
            pd.testing.assert_series_equal(getattr(a.targets, name),
                                           getattr(b.targets, name))
    assert a.last_rebalance == b.last_rebalance
    assert a.market is b.market and a.master is b.master and a.costs is b.costs


def _same(got: Prepared | AccountDay, want: Prepared | AccountDay) -> None:
    assert type(got) is type(want)
    if isinstance(want, AccountDay):
        assert got == want
        return
    assert isinstance(got, Prepared)
    _same_inputs(got.found, want.found)
    assert (got.name, got.account, got.previous, got.last_rebalance, got.since,
            got.profile, got.household_buys, got.shared_household, got.losses,
            got.notes, got.basis) == (
        want.name, want.account, want.previous, want.last_rebalance, want.since,
        want.profile, want.household_buys, want.shared_household, want.losses,
        want.notes, want.basis)


def test_the_batch_read_reads_what_each_account_read_alone_reads(engine: Engine) -> None:
    book = _book(engine)
    config = default_config()
    # c-plain planned on the day already, f-varied the session before (its previous plan)
    run_daily(book, config, day(DAY), names=["c-plain"])
    run_daily(book, config, day("2022-12-27"), names=["f-varied"])
    with book.connect() as c:
        market = load_market(c, day(DAY))
        master, costs = load_master(c), load_costs(c, day(DAY))
        ids = [account_id(c, n) for n in NAMES]
        snapshots = latest_snapshot_ids(c, ids)
        assert snapshots == {i: latest_snapshot_id(c, i) for i in ids}
        assert read_snapshots(c, list(snapshots.values())) == {
            s: read_snapshot(c, s) for s in snapshots.values()}
        versions = effective_versions(c, ids, day(DAY))
        for i in ids:
            want = effective_targets(c, i, day(DAY))
            if want is None:
                assert i not in versions
            else:
                assert versions[i][0] == want[0]
                pd.testing.assert_series_equal(versions[i][1].weights, want[1].weights)
        together = load_accounts(c, ids, day(DAY), market=market, master=master,
                                 costs=costs)
        for i in ids:
            _same_inputs(together[i], load_account(c, i, day(DAY), market=market,
                                                   master=master, costs=costs))
        got = prepare_singles(c, list(NAMES), day(DAY), market=market, master=master,
                              costs=costs)
        assert list(got) == list(NAMES)
        for n in NAMES:
            _same(got[n], prepare(c, n, day(DAY), market=market, master=master,
                                  costs=costs, replaced=frozenset({n})))
        assert isinstance(got["c-plain"], AccountDay) and got["c-plain"].already
        f = got["f-varied"]
        assert isinstance(f, Prepared) and f.previous is not None
        b = got["b-lots"]
        assert isinstance(b, Prepared) and b.found.inputs.holdings.lots is not None
        e = got["e-none"]
        assert isinstance(e, Prepared) and e.found.inputs.targets is None
        d = got["d-later"]
        assert isinstance(d, Prepared) and d.found.inputs.targets is not None
        # the version in force, not the one taking effect later
        assert d.found.inputs.targets.effective_date < pd.Timestamp(DAY)
        # an account without holdings: the error reading it alone gives
        with pytest.raises(DataError, match="'g-empty' has no holdings"):
            prepare_singles(c, ["b-lots", "g-empty"], day(DAY), market=market,
                            master=master, costs=costs)
        with pytest.raises(DataError, match="no account 'nobody'"):
            prepare_singles(c, ["nobody"], day(DAY), market=market, master=master,
                            costs=costs)


def _frame_rows(plan: Any, held: pd.Series, *, schedule: bool) -> list[Any]:
    return order_values(order_rows(plan, day(DAY), held, schedule=schedule))


def test_a_plans_orders_from_its_columns_are_the_frames_rows() -> None:
    """On real plans (positions, lots with losses, a held position crossing zero, the
    schedule), the trade list's columns before and after its frame is built."""
    config = default_config()
    inputs = sample_inputs()
    lots = dataclasses.replace(inputs, holdings=_lots(inputs))
    tax = config.with_overrides({"tax.enabled": True})
    cases = [(inputs, config), (lots, config), (lots, tax)]
    seen_loss = False
    for case, cfg in cases:
        plan = make_plan(case, cfg, as_of=DAY)
        assert plan.decision in (Decision.REBALANCE, Decision.PARTIAL)
        held = case.holdings.shares
        for schedule in (False, True):
            fresh = make_plan(case, cfg, as_of=DAY)  # its trades not yet a frame
            got = stored_orders(fresh, day(DAY), held, schedule=schedule)
            assert got == _frame_rows(plan, held, schedule=schedule)
            assert got == stored_orders(plan, day(DAY), held, schedule=schedule)
            assert len(got) >= len(plan.trades)
        seen_loss |= any(r[6] is not None and r[6] > 0
                         for r in stored_orders(plan, day(DAY), held, schedule=False))
        # a sale crossing zero: the held shares of a sold ticker below the sale
        sold = plan.trades.index[plan.trades["side"] == "SELL"]
        if len(sold):
            short = held.copy()
            short[sold[0]] = 0.5 * float(plan.trades.loc[sold[0], "shares"])
            rows = stored_orders(plan, day(DAY), short, schedule=False)
            assert rows == _frame_rows(plan, short, schedule=False)
            assert len(rows) == len(plan.trades) + 1
    assert seen_loss  # a loss carried by some sale order


TICKERS = ["AAA", "BB", "C", "DDDD", "EE", "F"]


@st.composite
def trade_lists(draw: Any) -> tuple[pd.DataFrame, pd.Series]:
    names = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=6, unique=True))
    n = len(names)
    side = draw(st.lists(st.sampled_from(["BUY", "SELL"]), min_size=n, max_size=n))
    amount = st.floats(min_value=0.001, max_value=1e7, allow_nan=False)
    shares = draw(st.lists(amount, min_size=n, max_size=n))
    loss = draw(st.lists(st.one_of(st.just(float("nan")), st.just(0.0), st.just(-0.0),
                                   st.floats(min_value=-1e6, max_value=1e6)),
                         min_size=n, max_size=n))
    position = st.floats(min_value=-1e7, max_value=1e7).filter(
        lambda x: x == 0 or abs(x) >= 1e-6)  # (no subnormal share counts)
    held = draw(st.lists(st.one_of(st.just(float("nan")), st.just(0.0), position),
                         min_size=len(TICKERS), max_size=len(TICKERS)))
    trades = pd.DataFrame({"side": side, "shares": shares, "loss_usd": loss},
                          index=pd.Index(names, name="ticker"))
    return trades, pd.Series(held, index=TICKERS, dtype=float)


@settings(max_examples=300, deadline=None)
@given(trade_lists())
def test_parent_values_equal_the_frames_rows(case: tuple[pd.DataFrame, pd.Series]) -> None:
    trades, held = case
    got = parent_values([str(t) for t in trades.index], trades["side"].to_numpy(),
                        trades["shares"].to_numpy(dtype=float),
                        trades["loss_usd"].to_numpy(dtype=float), day(DAY), held)
    frame = with_losses(parent_orders(trades.reset_index()[["ticker", "side", "shares"]],
                                      day(DAY), held), trades)
    want = order_values(frame)
    sell = (trades["side"] == "SELL").to_numpy()
    before = held.reindex(trades.index).fillna(0.0).to_numpy()
    crossing = bool(np.any(sell & (trades["shares"].to_numpy() > np.maximum(before, 0.0))))
    if crossing:
        assert got is None  # left to the frames
    else:
        assert got == want


def _record(engine: Engine) -> list[Any]:
    """Every plan, order and event as stored, ids included (times left out)."""
    with engine.connect() as c:
        out: list[Any] = [tuple(r) for r in c.execute(sa.select(
            plans.c.id, plans.c.account_id, plans.c.as_of, plans.c.decision,
            plans.c.reasons, plans.c.fingerprints, plans.c.configuration, plans.c.nav_usd,
            plans.c.delayed_since, plans.c.target_version_id, plans.c.metrics)
            .order_by(plans.c.id))]
        out += [tuple(r) for r in c.execute(sa.select(
            orders.c.id, orders.c.plan_id, orders.c.account_id, orders.c.client_order_id,
            orders.c.ticker, orders.c.side, orders.c.shares, orders.c.order_type,
            orders.c.limit_price_usd, orders.c.status, orders.c.loss_usd)
            .order_by(orders.c.id))]
        out += [tuple(r) for r in c.execute(sa.select(
            events.c.id, events.c.account_id, events.c.kind, events.c.detail)
            .order_by(events.c.id))]
    return out


def test_a_run_stores_what_one_account_at_a_time_stores(db_url: str, tmp_path: Any,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """Two days (the second supersedes the first's proposed orders): ``run_daily`` in
    batches (read together, orders from columns, built by the task) against
    :func:`plan_account` one account at a time, each in its own transaction, with the
    orders built through frames; the same rows with the same ids."""
    if not db_url.startswith("sqlite"):
        pytest.skip("compared on SQLite (two records)")
    # a 3 % threshold: the accounts rebalance on both days
    config = default_config().with_overrides({"policy.threshold": 0.03,
                                              "policy.skip_if_cost_exceeds_benefit": False})
    days = [day("2022-12-27"), day(DAY)]
    engines = []
    for n in range(2):
        engine = open_engine(f"sqlite:///{tmp_path / f'r{n}.sqlite'}")
        migrate(engine)
        engines.append(_book(engine))
    names = list(NAMES)
    for d in days:
        run_daily(engines[0], config, d, names=names, batch=2)
    with monkeypatch.context() as m:
        m.setattr(daily, "stored_orders",
                  lambda plan, on, held, *, schedule: _frame_rows_on(plan, on, held,
                                                                     schedule))
        for d in days:
            with engines[1].connect() as c:
                market = load_market(c, d)
                master, costs = load_master(c), load_costs(c, d)
            for n in names:
                transaction(engines[1], lambda c, n=n, d=d, market=market, master=master,
                            costs=costs: plan_account(c, n, d, config, market=market,
                                                      master=master, costs=costs))
    got, want = _record(engines[0]), _record(engines[1])
    for e in engines:
        e.dispose()
    assert got == want
    assert any(r[2] == "orders" and "superseded" in r[3]["why"]
               for r in got if len(r) == 4)


def _frame_rows_on(plan: Any, on: dt.date, held: pd.Series, schedule: bool) -> list[Any]:
    return order_values(order_rows(plan, on, held, schedule=schedule))


def test_the_batch_basis_check_is_each_accounts_check(engine: Engine) -> None:
    """Read, then changed before the write: new holdings, a plan of the day made by
    another run, a new target version in force; the others unchanged. The check of all
    together (``_unchanged``) keeps the accounts that each one's check (``_still``)
    keeps."""
    book = _book(engine)
    config = default_config()
    names = ["b-lots", "c-plain", "d-later", "e-none", "f-varied"]
    with book.connect() as c:
        market = load_market(c, day(DAY))
        master, costs = load_master(c), load_costs(c, day(DAY))
        read = prepare_singles(c, names, day(DAY), market=market, master=master,
                               costs=costs)
    inputs = sample_inputs()

    def change(c: Connection) -> None:
        imports.import_holdings(c, account_id(c, "b-lots"), inputs.holdings)
        assert inputs.targets is not None
        imports.import_targets(c, account_id(c, "e-none"), inputs.targets)

    transaction(book, change)
    run_daily(book, config, day(DAY), names=["c-plain"])
    prepared = [p for p in read.values() if isinstance(p, Prepared)]
    assert len(prepared) == len(names)
    with book.connect() as c:
        together = daily._unchanged(c, prepared, day(DAY))
        alone = {p.name for p in prepared if daily._still(c, p, day(DAY))}
    assert together == alone == {"d-later", "f-varied"}


def test_batches_overlapped_store_what_batches_in_turn_store(
        db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next batch read while one plans (``overlap``, as on a cluster) against each
    batch read, planned and written in turn: the same rows with the same ids; and a
    planner's error reaches the caller with the batches before it written."""
    if not db_url.startswith("sqlite"):
        pytest.skip("compared on SQLite (two records)")
    config = default_config()
    real = daily._batches
    got = []
    for n, overlap in enumerate((False, True)):
        engine = open_engine(f"sqlite:///{tmp_path / f'o{n}.sqlite'}")
        migrate(engine)
        _book(engine)
        with monkeypatch.context() as m:
            m.setattr(daily, "_batches", lambda *a, overlap=overlap, **k: real(
                *a, **k, overlap=overlap))
            run = run_daily(engine, config, day(DAY), names=list(NAMES), batch=2)
        assert len(run.accounts) == len(NAMES)
        got.append(_record(engine))
        engine.dispose()
    assert got[0] == got[1]
    engine = open_engine(f"sqlite:///{tmp_path / 'e.sqlite'}")
    migrate(engine)
    _book(engine)
    calls: list[int] = []

    def planner(tasks: list[Any]) -> list[Any]:
        calls.append(len(tasks))
        if len(calls) == 2:
            raise RuntimeError("the second batch's planning failed")
        return [daily.stored_task(shared, t) for t in tasks]

    with engine.connect() as c:
        market = load_market(c, day(DAY))
        shared = (config, market, load_master(c), load_costs(c, day(DAY)), day(DAY), False)
    groups = daily.batches(list(NAMES), {}, 2)
    with pytest.raises(RuntimeError, match="second batch"):
        real(engine, groups, {}, shared, None, planner, overlap=True)
    with engine.connect() as c:
        stored = c.execute(sa.select(plans.c.account_id)).scalars().all()
        assert sorted(stored) == sorted(account_id(c, n) for n in NAMES[:2])
    engine.dispose()
