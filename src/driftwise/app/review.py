"""``driftwise review weekly|monthly|quarterly``: the reviews of section 7, from the
history ``driftwise daily`` recorded.

* **weekly**: the portfolio drift of each daily plan of the last 7 calendar days, its
  trend (least-squares slope per session) and the sessions until it reaches the
  threshold at that pace;
* **monthly**: over the month ending on the day, the realized tracking error of the
  account against its target (daily NAV returns of the recorded plans minus the target
  portfolio's returns on the recorded prices), the costs (the expected trading cost of
  the plans whose orders were filled, and the fees of the recorded fills), and the Sharpe
  ratio of the account beside the target's, in excess of the recorded risk-free rate
  (``driftwise import --risk-free``: each interval between consecutive plans earns the
  rate of its first day times its sessions / 252); without a rate recorded on every
  plan day, in excess of zero, said in the review;
* **quarterly**: the target version re-checked (weights and cash sum to one, every
  target ticker priced, held tickers outside the targets, its age) and the threshold
  against the empirical optimum: the configuration's thresholds swept on the recorded
  prices over the last years (``app.sweep.empirical_optimal_threshold``), with the
  thresholds not told apart from it across the sweep's calendar years (a 95% CR2
  ``t(G − 1)`` interval; with fewer than two full years none is told apart).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise._types import TRADING_DAYS
from driftwise.app.daily import daily_plans
from driftwise.config.model import Config
from driftwise.errors import DataError
from driftwise.record.inputs import effective_targets, load_record_inputs
from driftwise.record.schema import (
    fills,
    market_series,
    orders,
    prices,
    target_versions,
    target_weights,
)

WEEK_DAYS = 7
"""Calendar days a weekly review looks back."""

QUARTER_YEARS = 3
"""Years of recorded prices the quarterly threshold sweep runs over (fewer if the record
holds fewer)."""


@dataclass(frozen=True)
class WeeklyReview:
    """Drift trend and days to breach.

    Attributes
    ----------
    sessions : tuple of date
        The days with a daily plan in the week, oldest first.
    drift : tuple of float
        Portfolio drift on each (fraction of NAV).
    trend_per_session : float
        Least-squares slope of the drift per session (NaN: fewer than two days).
    threshold : float
        ``policy.threshold`` (fraction of NAV).
    days_to_breach : float
        Sessions until the drift reaches the threshold at the trend: 0 at or above it,
        ``inf`` when the trend is not rising, NaN without a trend.
    """

    as_of: dt.date
    sessions: tuple[dt.date, ...]
    drift: tuple[float, ...]
    trend_per_session: float
    threshold: float
    days_to_breach: float


@dataclass(frozen=True)
class MonthlyReview:
    """Realized tracking error, costs and Sharpe against the target.

    Attributes
    ----------
    sessions : tuple of date
        The days with a daily plan in the month, oldest first (returns between each
        consecutive pair).
    te_realized_annual : float
        ``std(r_p - r_t) * sqrt(252)`` (sample std), the realized TE.
    te_expected_annual : float
        Mean of the plans' ex-ante TE (``metrics.te``).
    return_annual, target_return_annual : float
        Mean daily return times 252, the account's and the target's.
    sharpe, target_sharpe : float
        ``mean / std * sqrt(252)`` of the daily returns in excess of the risk-free rate
        (of zero when the record has no rate on every plan day; the notes say which).
    expected_cost_usd : float
        The plans' expected trading cost (``metrics.cost_usd``) of the plans with a filled
        order in the month.
    fees_usd : float
        Fees of the fills recorded in the month.
    cost_bps : float
        Both, in bps of the mean NAV.
    rebalances : int
        Plans whose orders were filled.
    notes : tuple of str
    """

    as_of: dt.date
    sessions: tuple[dt.date, ...]
    te_realized_annual: float
    te_expected_annual: float
    return_annual: float
    target_return_annual: float
    sharpe: float
    target_sharpe: float
    expected_cost_usd: float
    fees_usd: float
    cost_bps: float
    rebalances: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuarterlyReview:
    """The target version re-checked and the threshold against the empirical optimum.

    Attributes
    ----------
    target_version : int or None
    target_checks : tuple of (str, bool, str)
        Name, passed, detail.
    threshold : float
        ``policy.threshold``.
    optimal_threshold : float
        The swept threshold of least ``γ/2·TE² + cost per year`` on the recorded prices.
    not_told_apart : tuple of float
        The swept thresholds not told apart from the optimum across the sweep's calendar
        years (:func:`~driftwise.app.sweep.empirical_optimal_threshold`), the optimum
        included; every threshold when there are fewer than two years.
    n_years : int
        ``G``, the calendar years (of at least 126 sessions) that set rests on.
    basis : str
        What the optimum rests on, in words.
    sweep : pd.DataFrame
        One row per threshold swept: ``threshold``, ``te_annual``, ``cost_per_year``,
        ``objective_value``.
    window : (date, date)
        The sweep's first and last day.
    """

    as_of: dt.date
    target_version: int | None
    target_checks: tuple[tuple[str, bool, str], ...]
    threshold: float
    optimal_threshold: float
    at_grid_edge: bool
    sweep: pd.DataFrame = field(repr=False)
    window: tuple[dt.date, dt.date]
    not_told_apart: tuple[float, ...] = ()
    n_years: int = 0
    basis: str = ""


def _plans_between(connection: Connection, account: int, first: dt.date, last: dt.date
                   ) -> list[Any]:
    rows = [r for r in daily_plans(connection, account) if first <= r.as_of <= last]
    latest: dict[dt.date, Any] = {}
    for r in rows:  # one plan a day: the last stored
        latest[r.as_of] = r
    return [latest[d] for d in sorted(latest)]


def _metric(row: Any, name: str) -> float:
    value = (row.metrics or {}).get(name)
    return float("nan") if value is None else float(value)


def trend_and_breach(drift: Sequence[float], threshold: float) -> tuple[float, float]:
    """Least-squares slope of ``drift`` per session and the sessions until it reaches
    ``threshold`` at that slope (0 at or above it, inf if not rising, NaN: < 2 points)."""
    y = np.asarray(drift, dtype=float)
    if y.size < 2:
        return float("nan"), float("nan")
    x = np.arange(y.size, dtype=float)
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
    last = float(y[-1])
    if last >= threshold:
        return slope, 0.0
    return slope, (threshold - last) / slope if slope > 0 else math.inf


def weekly_review(connection: Connection, account: int, as_of: dt.date, config: Config
                  ) -> WeeklyReview:
    """The drift of the week's daily plans, its trend and the days to breach."""
    rows = _plans_between(connection, account, as_of - dt.timedelta(days=WEEK_DAYS - 1),
                          as_of)
    _need(rows, "week", as_of)
    drift = [_metric(r, "drift") for r in rows]
    threshold = config.policy.threshold
    slope, breach = trend_and_breach(drift, threshold)
    return WeeklyReview(as_of, tuple(r.as_of for r in rows), tuple(drift), slope, threshold,
                        breach)


def _need(rows: list[Any], what: str, as_of: dt.date) -> None:
    if not rows:
        raise DataError(f"no daily plan in the {what} ending {as_of}", file="<record plans>",
                        field="as_of", expected="plans stored by driftwise daily",
                        found="none")


def _target_weights(connection: Connection, version: int) -> tuple[pd.Series, float]:
    rows = connection.execute(sa.select(target_weights.c.key, target_weights.c.weight)
                              .where(target_weights.c.version_id == version)).all()
    cash = connection.execute(sa.select(target_versions.c.cash_weight, target_versions.c.level)
                              .where(target_versions.c.id == version)).one()
    if cash.level != "ticker":
        raise DataError("the monthly review needs asset-level targets", file="<record>",
                        field="level", expected="ticker", found=str(cash.level))
    return pd.Series({r.key: float(r.weight) for r in rows}, dtype=float), float(cash.cash_weight)


def _closes(connection: Connection, tickers: list[str], days: list[dt.date]) -> pd.DataFrame:
    rows = connection.execute(sa.select(prices.c.ticker, prices.c.date, prices.c.close_usd)
                              .where(prices.c.ticker.in_(tickers) & prices.c.date.in_(days))
                              ).all()
    frame = pd.DataFrame([(r.ticker, r.date, float(r.close_usd)) for r in rows],
                         columns=["ticker", "date", "close"])
    return frame.pivot(index="date", columns="ticker", values="close").reindex(
        index=days, columns=tickers)


def monthly_review(connection: Connection, account: int, as_of: dt.date, config: Config
                   ) -> MonthlyReview:
    """Realized TE, costs and Sharpe of the month ending on ``as_of`` (from the day one
    month before, excluded)."""
    first = (pd.Timestamp(as_of) - pd.DateOffset(months=1)).date() + dt.timedelta(days=1)
    rows = _plans_between(connection, account, first, as_of)
    _need(rows, "month", as_of)
    days = [r.as_of for r in rows]
    rf, notes = risk_free_returns(connection, days)
    nav = np.array([float(r.nav_usd) for r in rows])
    r_p = nav[1:] / nav[:-1] - 1.0
    r_t = np.full(r_p.shape, np.nan)
    versions = {r.target_version_id for r in rows[:-1] if r.target_version_id is not None}
    weights = {v: _target_weights(connection, v) for v in versions}
    tickers = sorted({t for w, _ in weights.values() for t in w.index})
    closes = _closes(connection, tickers, days) if tickers else pd.DataFrame()
    for i, row in enumerate(rows[:-1]):
        if row.target_version_id is None:
            continue
        w, _cash = weights[row.target_version_id]
        panel = closes[list(w.index)].to_numpy(dtype=float)
        growth = panel[i + 1] / panel[i] - 1.0
        if not np.isfinite(growth).all():
            continue  # a target ticker without both closes: the day is left out
        r_t[i] = float(w.to_numpy() @ growth)  # cash earns nothing
    if np.isnan(r_t).any():
        notes.append("days without a target version or a target ticker's closes left out "
                     "of the tracking error")
    active = (r_p - r_t)[~np.isnan(r_t)]
    filled_plans = set(connection.execute(
        sa.select(orders.c.plan_id).where((orders.c.account_id == account)
                                          & (orders.c.status == "filled")
                                          & orders.c.plan_id.in_([r.id for r in rows]))
        ).scalars())
    expected = sum(_metric(r, "cost_usd") for r in rows if r.id in filled_plans)
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    fees = sum(float(f) for f in connection.execute(
        sa.select(fills.c.fee_usd).where((fills.c.account_id == account)
                                         & (fills.c.filled_at >= start)
                                         & (fills.c.filled_at < end))).scalars())
    return MonthlyReview(
        as_of, tuple(days), _std_annual(active),
        float(np.nanmean([_metric(r, "te") for r in rows])),
        _mean_annual(r_p), _mean_annual(r_t[~np.isnan(r_t)]), _sharpe(r_p - rf),
        _sharpe((r_t - rf)[~np.isnan(r_t)]), expected, fees,
        1e4 * (expected + fees) / float(nav.mean()), len(filled_plans), tuple(notes))


def risk_free_returns(connection: Connection, days: Sequence[dt.date]
                      ) -> tuple[np.ndarray, list[str]]:
    """The risk-free return of each interval between consecutive ``days``, shape
    (len(days) - 1,): the recorded rate of its first day (``market_series``
    ``risk_free``, annual) times its NYSE sessions / 252; zeros, and the note that says
    so, when a day has no rate recorded."""
    from driftwise.calendar import nyse_sessions, trading_days_between

    out = np.zeros(max(len(days) - 1, 0))
    if len(days) < 2:
        return out, []
    found = {r.date: float(r.value) for r in connection.execute(
        sa.select(market_series.c.date, market_series.c.value).where(
            (market_series.c.series == "risk_free")
            & market_series.c.date.in_(list(days[:-1]))))}
    if len(found) < len(days) - 1:
        why = ("the risk-free rate is not in the record" if not found else
               f"the risk-free rate is missing on {len(days) - 1 - len(found)} plan day(s)")
        return out, [f"returns in excess of zero: {why} (driftwise import --risk-free)"]
    sessions = nyse_sessions(days[0], days[-1])
    for i, (a, b) in enumerate(pairwise(days)):
        n = trading_days_between(sessions, pd.Timestamp(a), pd.Timestamp(b))
        out[i] = found[a] * n / TRADING_DAYS
    return out, ["returns in excess of the recorded risk-free rate"]


def _std_annual(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1) * math.sqrt(TRADING_DAYS)) if x.size > 1 else math.nan


def _mean_annual(x: np.ndarray) -> float:
    return float(np.mean(x) * TRADING_DAYS) if x.size else math.nan


def _sharpe(x: np.ndarray) -> float:
    if x.size < 2:
        return math.nan
    sd = float(np.std(x, ddof=1))
    return float(np.mean(x)) / sd * math.sqrt(TRADING_DAYS) if sd > 0 else math.nan


def target_checks(connection: Connection, account: int, as_of: dt.date, held: pd.Series
                  ) -> tuple[int | None, list[tuple[str, bool, str]]]:
    """The effective target version re-checked on ``as_of`` (``held``: shares by ticker)."""
    found = effective_targets(connection, account, as_of)
    if found is None:
        return None, [("target version", False, "the account has no target version")]
    version, targets = found
    total = float(targets.weights.sum()) + targets.cash_weight
    checks = [("weights and cash sum to 1", abs(total - 1.0) <= 1e-9, f"sum {total:.12g}")]
    if targets.level.value == "ticker":
        day_prices = {r.ticker for r in connection.execute(
            sa.select(prices.c.ticker).where(prices.c.date == as_of))}
        unpriced = sorted(set(targets.weights.index) - day_prices)
        checks.append(("every target ticker priced", not unpriced,
                       ", ".join(unpriced) or f"all priced on {as_of}"))
        outside = sorted(set(held.index[held != 0]) - set(targets.weights.index))
        checks.append(("held tickers inside the targets", not outside,
                       ", ".join(outside) or "all inside"))
    created = connection.execute(sa.select(target_versions.c.effective_date,
                                           target_versions.c.created_at)
                                 .where(target_versions.c.id == version)).one()
    since = created.effective_date or created.created_at.date()
    checks.append(("target version age", True, f"version {version}, effective since {since} "
                   f"({(as_of - since).days} days)"))
    return version, checks


def quarterly_review(connection: Connection, account: int, as_of: dt.date, config: Config
                     ) -> QuarterlyReview:
    """Targets re-checked and the threshold against the empirical optimum of a sweep of
    ``backtest.thresholds`` over the recorded prices of the last :data:`QUARTER_YEARS`.

    Raises
    ------
    DataError
        No target version, or fewer than 300 sessions of recorded prices.
    """
    from driftwise.app.sweep import empirical_optimal_threshold, tidy
    from driftwise.backtest.metrics import policy_metrics
    from driftwise.backtest.years import yearly_metrics
    from driftwise.config.assemble import backtest_configs

    found = load_record_inputs(connection, account, as_of,
                               accept_jumps=config.data.accept_jumps)
    version, checks = target_checks(connection, account, as_of,
                                    found.inputs.holdings.shares)
    if found.inputs.targets is None:
        raise DataError("the quarterly review needs the account's targets", file="<record>",
                        field="targets", expected="a target version", found="none")
    dates = found.inputs.market.prices.index
    if len(dates) < 300:
        raise DataError("too little price history in the record for the threshold sweep",
                        file="<record prices>", field="date",
                        expected="at least 300 sessions", found=str(len(dates)))
    start = max(pd.Timestamp(dates[0]) + pd.Timedelta(days=366),
                pd.Timestamp(as_of) - pd.DateOffset(years=QUARTER_YEARS))
    base = config.with_overrides({"policy.trigger": "threshold"})
    configs = [base.with_overrides({"policy.threshold": h}) for h in config.backtest.thresholds]
    result = backtest_configs(found.inputs, configs, start=start, end=pd.Timestamp(as_of),
                              names=[f"threshold {h:g}" for h in config.backtest.thresholds])
    table = tidy(result, policy_metrics(result))
    best = empirical_optimal_threshold(table, by=[],
                                       tracking_aversion=config.policy.tracking_aversion,
                                       yearly=yearly_metrics(result))
    apart = best["not_told_apart"].iloc[0]
    near = tuple(float(h) for h in apart.split("/")) if isinstance(apart, str) else ()
    gamma = config.policy.tracking_aversion
    sweep = table[["threshold", "te_annual", "cost_per_year"]].copy()
    sweep["objective_value"] = gamma / 2 * sweep["te_annual"] ** 2 + sweep["cost_per_year"]
    used = pd.Timestamp(result.dates[0]).date(), pd.Timestamp(result.dates[-1]).date()
    return QuarterlyReview(as_of, version, tuple(checks), config.policy.threshold,
                           float(best["optimal_threshold"].iloc[0]),
                           bool(best["at_grid_edge"].iloc[0]),
                           sweep.reset_index(drop=True), used,
                           near,
                           int(best["n_years"].iloc[0]), str(best["basis"].iloc[0]))

