"""The issue's "done when": ``daily`` every session from 2020-02-01 to 2020-04-30 on the
sample, the plans' orders filled at the close; the record shows the March 2020 stress
delay capped at ``max_delay_days`` and acted on, every plan and fill, and the weekly,
monthly and quarterly reviews recomputed by hand from the stored rows."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.record.replay import FEE_USD, replay

from driftwise.app.review import monthly_review, quarterly_review, weekly_review
from driftwise.config import default_config
from driftwise.record import read_events
from driftwise.record.holdings import account_id
from driftwise.record.schema import accounts, fills, orders, plans, prices, target_weights

CONFIG = default_config().with_overrides({"policy.threshold": 0.03,
                                          "policy.skip_if_cost_exceeds_benefit": False})
"""A 3 % threshold that rebalances whatever the cost: the sample trades in the window."""

LAST = dt.date(2020, 4, 30)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The record after the replay (SQLite; the kill tests cover PostgreSQL's writes)."""
    from driftwise.record import migrate, open_engine

    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('replay') / 'record.sqlite'}")
    migrate(engine)
    replay(engine, CONFIG, "2020-02-01", str(LAST))
    return engine


def _plans(engine: Engine) -> list[Any]:
    with engine.connect() as c:
        return list(c.execute(sa.select(plans).order_by(plans.c.as_of)))


def test_every_session_has_one_plan_and_every_order_its_fill(replayed: Engine) -> None:
    rows = _plans(replayed)
    with replayed.connect() as c:
        sessions = sorted(c.execute(sa.select(prices.c.date).distinct().where(
            prices.c.date.between(dt.date(2020, 2, 1), LAST))).scalars())
        order_rows = list(c.execute(sa.select(orders)))
        fill_rows = list(c.execute(sa.select(fills)))
    assert [r.as_of for r in rows] == sessions
    traded = [r for r in rows if r.decision in ("rebalance", "partial")]
    assert len(traded) >= 2
    assert {o.plan_id for o in order_rows} == {r.id for r in traded}
    assert {o.status for o in order_rows} == {"filled"}
    assert len(fill_rows) == len(order_rows)
    assert {f.order_id for f in fill_rows} == {o.id for o in order_rows}
    for f in fill_rows:  # each at the recorded close of its plan's day
        order = next(o for o in order_rows if o.id == f.order_id)
        plan = next(r for r in rows if r.id == order.plan_id)
        assert f.filled_at.date() == plan.as_of and f.shares == order.shares
    with replayed.connect() as c:
        last = c.execute(sa.select(accounts.c.last_rebalance)).scalar_one()
    assert last == traded[-1].as_of


def test_the_march_2020_delay_is_capped_and_acted_on(replayed: Engine) -> None:
    rows = _plans(replayed)
    delays = [r for r in rows if r.decision == "delay" and r.as_of.month == 3]
    assert delays, "the March 2020 stress delays a rebalance"
    start = delays[0].delayed_since
    assert start == delays[0].as_of and start.month == 3
    run = [r for r in rows if r.delayed_since == start]
    acted = run[-1]
    assert acted.decision in ("rebalance", "partial")
    assert all(r.decision == "delay" for r in run[:-1])
    # the sessions waited, counted from the record's own price dates
    with replayed.connect() as c:
        sessions = sorted(c.execute(sa.select(prices.c.date).distinct().where(
            (prices.c.date > start) & (prices.c.date <= acted.as_of))).scalars())
    assert len(sessions) == CONFIG.policy.max_delay_days
    assert all((r.metrics["vix"] or 0) >= CONFIG.policy.stress_vix for r in run)
    assert "stress delay of 20 trading days used up: rebalance due now" in acted.reasons
    with replayed.connect() as c:
        statuses = set(c.execute(sa.select(orders.c.status).where(
            orders.c.plan_id == acted.id)).scalars())
        last = c.execute(sa.select(accounts.c.last_rebalance)).scalar_one()
    assert statuses == {"filled"}
    assert last >= acted.as_of
    after = [r for r in rows if r.as_of > acted.as_of]
    assert after[0].delayed_since is None  # the rebalance ended the delay


def test_the_weekly_review_from_the_stored_drift(replayed: Engine) -> None:
    rows = [r for r in _plans(replayed) if r.as_of > LAST - dt.timedelta(days=7)]
    drift = np.array([r.metrics["drift"] for r in rows])
    slope = np.polyfit(np.arange(len(drift)), drift, 1)[0]
    with replayed.connect() as c:
        review = weekly_review(c, account_id(c, "main"), LAST, CONFIG)
    assert review.sessions == tuple(r.as_of for r in rows)
    assert review.trend_per_session == pytest.approx(slope, rel=1e-9, abs=1e-15)
    h = CONFIG.policy.threshold
    expected = (0.0 if drift[-1] >= h else (h - drift[-1]) / slope if slope > 0
                else math.inf)
    assert review.days_to_breach == pytest.approx(expected, rel=1e-9)


def test_the_monthly_review_from_the_stored_navs_prices_and_fills(replayed: Engine) -> None:
    first = dt.date(2020, 3, 31)
    rows = [r for r in _plans(replayed) if first <= r.as_of <= LAST]
    nav = pd.Series([float(r.nav_usd) for r in rows], index=[r.as_of for r in rows])
    mine = nav.pct_change().dropna()
    with replayed.connect() as c:
        version = rows[0].target_version_id
        w = {k: float(v) for k, v in c.execute(sa.select(
            target_weights.c.key, target_weights.c.weight).where(
            target_weights.c.version_id == version))}
        closes = pd.DataFrame(
            [(t, d, float(p)) for t, d, p in c.execute(sa.select(
                prices.c.ticker, prices.c.date, prices.c.close_usd).where(
                prices.c.date.between(first, LAST)))],
            columns=["t", "d", "p"]).pivot(index="d", columns="t", values="p")
        fee_rows = list(c.execute(sa.select(fills.c.fee_usd, fills.c.filled_at)))
        review = monthly_review(c, account_id(c, "main"), LAST, CONFIG)
    target = (closes.pct_change().dropna()[list(w)] * pd.Series(w)).sum(axis=1)
    active = mine.to_numpy() - target.to_numpy()
    assert review.sessions == tuple(nav.index)
    assert review.te_realized_annual == pytest.approx(active.std(ddof=1) * math.sqrt(252),
                                                      rel=1e-9)
    assert review.sharpe == pytest.approx(mine.mean() / mine.std() * math.sqrt(252), rel=1e-9)
    assert review.target_sharpe == pytest.approx(
        target.mean() / target.std() * math.sqrt(252), rel=1e-9)
    in_month = [f for f in fee_rows if first <= f.filled_at.date() <= LAST]
    assert review.fees_usd == pytest.approx(float(len(in_month) * Decimal(FEE_USD)))
    traded = [r for r in rows if r.decision in ("rebalance", "partial")]
    assert review.rebalances == len(traded) >= 1
    assert review.expected_cost_usd == pytest.approx(sum(r.metrics["cost_usd"]
                                                         for r in traded), rel=1e-12)
    assert review.cost_bps == pytest.approx(
        1e4 * (review.expected_cost_usd + review.fees_usd) / nav.mean(), rel=1e-12)


def test_the_quarterly_review_against_the_empirical_optimum(replayed: Engine) -> None:
    with replayed.connect() as c:
        review = quarterly_review(c, account_id(c, "main"), LAST, CONFIG)
    sweep = review.sweep
    assert list(sweep["threshold"]) == list(CONFIG.backtest.thresholds)
    gamma = CONFIG.policy.tracking_aversion
    score = gamma / 2 * sweep["te_annual"] ** 2 + sweep["cost_per_year"]
    assert review.optimal_threshold == sweep["threshold"].iloc[int(np.argmin(score))]
    assert review.threshold == CONFIG.policy.threshold
    assert review.window[1] == LAST and review.window[0] >= dt.date(2019, 1, 2)
    # the thresholds not told apart from the optimum across the sweep's calendar years
    assert review.optimal_threshold in review.not_told_apart
    assert set(review.not_told_apart) <= set(CONFIG.backtest.thresholds)
    # 2019 and four months of 2020 (fewer than 126 sessions): one year, no interval, so
    # no threshold is told apart from the optimum
    assert review.n_years == 1
    assert review.not_told_apart == tuple(sorted(CONFIG.backtest.thresholds))
    assert "calendar years" in review.basis
    names = [name for name, _, _ in review.target_checks]
    assert dict((n, ok) for n, ok, _ in review.target_checks)["weights and cash sum to 1"]
    assert "every target ticker priced" in names


def test_the_log_tells_the_story(replayed: Engine) -> None:
    with replayed.connect() as c:
        kinds = [e.kind for e in read_events(c, account_id=account_id(c, "main"))]
    assert kinds.count("plan") == len(_plans(replayed))
    assert kinds.count("fills") == len([r for r in _plans(replayed)
                                        if r.decision in ("rebalance", "partial")])
    assert "invalidate" not in kinds  # costs were refreshed every month


def test_review_from_the_command_line(replayed: Engine, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    import json

    from driftwise.cli import EXIT_OK, main

    url = replayed.url.render_as_string(hide_password=False)
    config = ["--as-of", str(LAST)]
    assert main(["review", "weekly", "--db", url, *config, "--json"]) == EXIT_OK
    weekly = json.loads(capsys.readouterr().out)
    with replayed.connect() as c:
        expected = weekly_review(c, account_id(c, "main"), LAST, default_config())
    assert weekly["days_to_breach"] == pytest.approx(expected.days_to_breach)
    assert main(["review", "monthly", "--db", url, *config]) == EXIT_OK
    assert "realized TE (annual)" in capsys.readouterr().out
    assert main(["review", "quarterly", "--db", url, *config]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    assert "not told apart from the optimum" in out and "calendar years" in out
    assert main(["review", "yearly", "--db", url]) == 2


def test_the_monthly_sharpe_is_in_excess_of_the_recorded_risk_free_rate(
        replayed: Engine) -> None:
    """A risk-free series imported (a different rate each day): the Sharpe ratios of the
    month are those of the returns less each interval's rate / 252 (consecutive
    sessions); a day without a rate falls back to zero, said."""
    from driftwise.record import imports, transaction
    from driftwise.record.schema import market_series

    first = dt.date(2020, 3, 31)
    rows = [r for r in _plans(replayed) if first <= r.as_of <= LAST]
    days = [r.as_of for r in rows]
    rate = pd.Series([0.015 + 0.001 * i for i in range(len(days))],
                     index=pd.DatetimeIndex(days))
    nav = pd.Series([float(r.nav_usd) for r in rows], index=days)
    excess = nav.pct_change().dropna().to_numpy() - rate.to_numpy()[:-1] / 252
    try:
        transaction(replayed, lambda c: imports.import_series(c, "risk_free", rate))
        with replayed.connect() as c:
            review = monthly_review(c, account_id(c, "main"), LAST, CONFIG)
        assert review.sharpe == pytest.approx(
            excess.mean() / excess.std(ddof=1) * math.sqrt(252), rel=1e-9)
        assert "returns in excess of the recorded risk-free rate" in review.notes
        with replayed.begin() as c:
            c.execute(market_series.delete().where(
                (market_series.c.series == "risk_free")
                & (market_series.c.date == days[3])))
        with replayed.connect() as c:
            partial = monthly_review(c, account_id(c, "main"), LAST, CONFIG)
        mine = nav.pct_change().dropna()
        assert partial.sharpe == pytest.approx(mine.mean() / mine.std() * math.sqrt(252),
                                               rel=1e-9)
        assert any("missing on 1 plan day" in n for n in partial.notes)
    finally:
        with replayed.begin() as c:
            c.execute(market_series.delete().where(market_series.c.series == "risk_free"))
