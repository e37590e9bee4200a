"""The methodology's four insight rules as measurable IF / THEN definitions.

Each ``measure_rule*`` finds the rule's events on a portfolio's path days, forks each
event into "act now" and the rule's alternative (:mod:`driftwise.validation.branching`),
and returns one row per event: whether the THEN claim held (``hit``), the effect size
(``effect``) and the rule's other measurements. The definitions, in words, are in
``docs/rule-validation.md``; every threshold is a field of :class:`Thresholds`.

Shared conventions: the cost of a rebalance is the cost model's (or the flat cost level's)
for the full rebalance trade ``-d * NAV``, as a fraction of NAV; returns of a branch
start from the NAV **before** the event's trade (so the trade's cost is in the first
return); ``gamma`` is ``policy.tracking_aversion``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from driftwise._types import TRADING_DAYS, BoolArray, FloatArray, IntArray
from driftwise.backtest.metrics import sharpe_ratio
from driftwise.costs import CostParams
from driftwise.policy.rule import Rule
from driftwise.validation.branching import Branch, BranchPath, Fork, simulate_forks
from driftwise.validation.events import PathDays, Paths, Portfolio, thin_events

MAX_EVENTS = 400
"""Events of one fork (one chunk of a rule's events; the forks of a study task are
simulated together, grouped by :data:`~driftwise.validation.branching.JOINT_CELLS`)."""

Measurement = Generator[Fork, list[BranchPath], pd.DataFrame]
"""One chunk of a rule's events: yields its :class:`Fork`, receives the fork's branch
paths and returns its event rows."""


@dataclass(frozen=True)
class Thresholds:
    """Every number of the four rules (fractions, bps as fractions, trading days)."""

    r1_drift: float = 0.05
    r1_cost: float = 0.0020
    r1_te_cut: float = 0.50
    r2_vol: float = 0.30
    r2_drift: float = 0.03
    r2_horizon_days: int = 21
    r2_multiple: float = 2.0
    r2_gammas: tuple[float, ...] = (10.0, 50.0)
    r3_te_reduction: float = 0.015
    r3_cost: float = 0.0030
    r3_horizon_days: int = 252
    r3_sharpe_gain: float = 0.1
    r4_vix: float = 30.0
    r4_drift_max: float = 0.10
    r4_drift_min: float = 0.03
    r4_delay_min_days: int = 10
    r4_delay_max_days: int = 20
    r4_cost_cut: float = 0.30


@dataclass(frozen=True)
class RuleSpec:
    """An insight rule: its key, claim in words, stated confidence and statistics cluster."""

    key: str
    title: str
    claim: str
    stated_confidence: float
    cluster_months: int
    effect: str


RULES = (
    RuleSpec("Rule 1", "threshold rebalance beats waiting for the calendar",
             "drift ≥ 5% and cost ≤ 20 bps → rebalancing now cuts expected TE by ≥ 50% "
             "and beats waiting for the next calendar review on risk-adjusted return",
             0.70, 3, "TE cut (1 − mean TE now / mean TE waiting)"),
    RuleSpec("Rule 2", "high-volatility asset: trade it now",
             "σ60 ≥ 30% and |drift| ≥ 3% → trading the asset now earns ≥ 2× its cost "
             "in benefit over 30 days", 0.65, 3, "benefit / cost (certainty equivalent, γ)"),
    RuleSpec("Rule 3", "cost-benefit: rebalance when TE reduction is large",
             "TE reduction ≥ 1.5% and cost ≤ 30 bps → Sharpe ratio up ≥ 0.1 over 12 months",
             0.60, 12, "Sharpe gain over 12 months"),
    RuleSpec("Rule 4", "stress: delay 10-20 days",
             "VIX ≥ 30 and drift ≤ 10% → delaying 10-20 days cuts costs by ≥ 30%",
             0.65, 3, "cost cut (1 − cost delayed / cost now)"),
)
"""The four rules, in order (cluster: calendar months of one statistics cluster)."""

MEASUREMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Rule 1": (("effect", "TE cut, fraction"),
               ("ce_gain_bps", "certainty-equivalent gain over waiting, bps of NAV"),
               ("days_to_review", "trading days to the calendar review"),
               ("cost_bps", "cost of the rebalance, bps of NAV")),
    "Rule 2": (("effect", "benefit / cost (CE, γ of the config)"),
               ("breakeven_gamma", "γ at which benefit = 2 × cost"),
               ("trade_cost_bps", "cost of the asset's trade, bps of NAV"),
               ("benefit_ce_bps", "benefit: CE of ex-ante tracking variance, bps"),
               ("benefit_realized_bps", "benefit: CE of realized tracking variance, bps"),
               ("benefit_pnl_bps", "benefit: return difference gross of cost, bps")),
    "Rule 3": (("effect", "Sharpe gain (act now − hold)"),
               ("te_before", "ex-ante TE before (expected TE reduction), fraction"),
               ("realized_te_now", "realized TE over 12 months, act now"),
               ("realized_te_hold", "realized TE over 12 months, hold"),
               ("cost_bps", "cost of the rebalance, bps of NAV")),
    "Rule 4": (("effect", "cost cut, fraction"),
               ("cost_now_bps", "cost now, bps of NAV"),
               ("cost_delay_bps", "cost after the delay, bps of NAV"),
               ("te_increase", "TE increase caused by the delay (ex-ante, mean over 20 days)"),
               ("realized_te_increase", "TE increase caused by the delay (realized, annualized)"),
               ("delay_days", "trading days delayed")),
}
"""Per rule: the event columns reported as effect sizes, with their meaning."""


@dataclass(frozen=True, eq=False)
class RuleInput:
    """What every rule reads for one portfolio and one cost setting.

    Attributes
    ----------
    portfolio : Portfolio
    paths : Paths
    days : PathDays
    cost : ndarray, shape (R,)
        Full-rebalance cost of each path day under ``params`` (fraction of NAV).
    params : CostParams
        The cost setting.
    rule : Rule
        Constraints of the branch trades (see :func:`~driftwise.validation.branching.branch_rule`).
    gamma : float
        Risk (tracking) aversion of the certainty equivalents.
    gap_days : int
        Event thinning block (:func:`~driftwise.validation.events.thin_events`).
    limits : Thresholds
    cash_growth : ndarray, shape (T,), optional
        Growth of the branches' cash over the night before each history day
        (:func:`driftwise.backtest.engine.cash_growth`); None: cash earns nothing.
    """

    portfolio: Portfolio
    paths: Paths
    days: PathDays
    cost: FloatArray
    params: CostParams
    rule: Rule
    gamma: float = 2.0
    gap_days: int = 5
    limits: Thresholds = Thresholds()
    cash_growth: FloatArray | None = None

    def fork(self, rows: IntArray, branches: list[Branch]) -> Fork:
        """``branches`` from the path-day ``rows`` (events) under this cost setting."""
        path = self.days.path[rows]
        return Fork(self.params, self.days.day[rows], self.paths.shares[path],
                    self.paths.cash_usd[path], tuple(branches))

    def simulate(self, rows: IntArray, branches: list[Branch]) -> list[BranchPath]:
        """Follow ``branches`` from the path-day ``rows`` (events), same risk model."""
        return simulate_forks(self.portfolio, self.rule, [self.fork(rows, branches)],
                              self.cash_growth)[0]

    def base(self, rows: IntArray) -> dict[str, object]:
        """Columns every event row has."""
        h = self.portfolio.history
        t0 = self.days.day[rows]
        return {"portfolio": self.portfolio.label, "path": self.days.path[rows],
                "date": h.dates[t0], "day": t0, "vix": h.vix[t0],
                "drift": self.days.drift[rows], "cost_bps": 1e4 * self.cost[rows]}


def _chunks(rows: IntArray, fn: Callable[[IntArray], Measurement]) -> list[Measurement]:
    return [fn(rows[i: i + MAX_EVENTS]) for i in range(0, len(rows), MAX_EVENTS)]


def run_measurements(portfolio: Portfolio, rule: Rule, measurements: Sequence[Measurement],
                     cash_growth: FloatArray | None = None) -> list[pd.DataFrame]:
    """The event rows of each measurement, all their forks simulated together
    (:func:`~driftwise.validation.branching.simulate_forks`: the trades of one day, of
    every rule, chunk and cost setting, sized in one call; the branches' cash grows by
    ``cash_growth``)."""
    forks = [next(m) for m in measurements]
    frames = []
    for m, paths in zip(measurements, simulate_forks(portfolio, rule, forks, cash_growth),
                        strict=True):
        try:
            m.send(paths)
        except StopIteration as stop:
            frames.append(stop.value)
        else:
            raise RuntimeError("a measurement asks for one fork")
    return frames


def measure(inp: RuleInput, measurements: Callable[[RuleInput], list[Measurement]]
            ) -> pd.DataFrame:
    """The event rows of one rule's ``measurements`` on ``inp``, chunks in order."""
    frames = run_measurements(inp.portfolio, inp.rule, measurements(inp), inp.cash_growth)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _trades_at(k: IntArray | int, n_events: int, width: int) -> BoolArray:
    out = np.zeros((n_events, width), dtype=bool)
    out[np.arange(n_events), k] = True
    return out


def _returns(path: BranchPath, upto: int) -> FloatArray:
    """Daily returns k = 1..upto from the pre-trade NAV at the event, shape (E, upto)."""
    nav = path.nav_usd[:, : upto + 1].copy()
    nav[:, 0] = path.nav0_usd
    return np.asarray(nav[:, 1:] / nav[:, :-1] - 1.0, dtype=np.float64)


def _within(horizon: int, inp: RuleInput) -> BoolArray:
    return np.asarray(inp.days.day + horizon <= inp.portfolio.history.n_days - 1, dtype=bool)


# ------------------------------------------------------------------ cost limits


COST_LIMITS: dict[str, str] = {"Rule 1": "r1_cost", "Rule 3": "r3_cost"}
"""The rules whose IF has a cost limit, and the :class:`Thresholds` field holding it."""
COST_LIMIT_COLUMNS = ("rule", "limit_bps", "candidates", "events", "removed",
                      "candidate_days", "days_over_limit", "event_cost_bps", "event_turnover")
"""Columns of :func:`cost_limit_counts`."""


def rule_condition(inp: RuleInput, key: str, *, cost_limit: bool = True) -> BoolArray:
    """Where the IF of rule ``key`` (1 or 3) holds on each path day, shape (R,).

    The cost limit compares like with like: ``inp.cost``, the cost of the whole
    rebalance as a fraction of NAV (``Σ |trade_i| · cost rate_i / NAV``, the cost model),
    against the limit as a fraction of NAV (20 bps for rule 1, 30 bps for rule 3).
    ``cost_limit=False`` drops that condition (the candidates the limit is applied to).
    """
    lim, d = inp.limits, inp.days
    if key == "Rule 1":
        review = inp.paths.review[d.path]
        mask = (d.drift >= lim.r1_drift) & (review < inp.portfolio.history.n_days)
    elif key == "Rule 3":
        mask = (d.te_annual >= lim.r3_te_reduction) & _within(lim.r3_horizon_days, inp)
    else:
        raise ValueError(f"{key} has no cost limit; expected one of {list(COST_LIMITS)}")
    if cost_limit:
        mask = mask & (inp.cost <= float(getattr(lim, COST_LIMITS[key])))
    return np.asarray(mask, dtype=bool)


def cost_limit_counts(inp: RuleInput, keys: Sequence[str] = tuple(COST_LIMITS)
                      ) -> pd.DataFrame:
    """How many events the cost limit of each rule of ``keys`` removes, one row a rule.

    Events are counted as the rules count them (:func:`thin_events` on the IF), with
    and without the cost limit; rules of ``keys`` without a cost limit are skipped.

    Returns
    -------
    pd.DataFrame
        ``rule``, ``limit_bps`` (the limit, bps of NAV), ``candidates`` (events without
        the limit), ``events`` (with it), ``removed`` (``candidates - events``),
        ``candidate_days`` (path days where the rest of the IF holds),
        ``days_over_limit`` (those whose rebalance costs more than the limit), and per
        candidate event (a tuple each, summarized by the study's cost-limit table)
        ``event_cost_bps``, the rebalance's cost in bps of NAV, and ``event_turnover``, the
        value it trades over NAV (``Σ |d_i|``, twice the drift when cash is on target).
    """
    d = inp.days
    rows = []
    traded = np.abs(d.asset_drift).sum(axis=1)
    for key in (k for k in keys if k in COST_LIMITS):
        limit = float(getattr(inp.limits, COST_LIMITS[key]))
        other = rule_condition(inp, key, cost_limit=False)
        within = rule_condition(inp, key)
        candidates = thin_events(other, d.path, d.since_start, inp.gap_days)
        n_all = len(candidates)
        n_kept = len(thin_events(within, d.path, d.since_start, inp.gap_days))
        rows.append({"rule": key, "limit_bps": 1e4 * limit, "candidates": n_all,
                     "events": n_kept, "removed": n_all - n_kept,
                     "candidate_days": int(other.sum()),
                     "days_over_limit": int((other & (inp.cost > limit)).sum()),
                     "event_cost_bps": tuple((1e4 * inp.cost[candidates]).tolist()),
                     "event_turnover": tuple(traded[candidates].tolist())})
    return pd.DataFrame(rows, columns=list(COST_LIMIT_COLUMNS))


# ------------------------------------------------------------------ Rule 1


def rule1_measurements(inp: RuleInput) -> list[Measurement]:
    """Rule 1: drift ≥ 5% and cost ≤ 20 bps → rebalance now vs wait for the review.

    Act now: full rebalance at the event close, then the base policy (rebalance again at
    the review). Wait: rebalance at the review. Window: the event day ``k = 0`` to the
    review ``k = K``. Hit when (a) the mean ex-ante TE over ``k < K`` is at most half the
    waiting branch's, and (b) the certainty equivalent ``R - (γ/2) Σ r_k²`` over the
    window (``R`` the window's return after all costs) beats the waiting branch's.
    Effect: the TE cut ``1 - mean TE now / mean TE wait``.
    """
    lim, d = inp.limits, inp.days
    review = inp.paths.review[d.path]
    rows = thin_events(rule_condition(inp, "Rule 1"), d.path, d.since_start, inp.gap_days)

    def run(chunk: IntArray) -> Measurement:
        k_review = np.asarray(review[chunk] - d.day[chunk], dtype=np.intp)
        width = int(k_review.max()) + 1
        n = len(chunk)
        now = _trades_at(0, n, width) | _trades_at(k_review, n, width)
        now_path, wait_path = yield inp.fork(chunk, [Branch(now), Branch(_trades_at(k_review, n,
                                                                                 width))])
        before = np.arange(width)[None, :] < k_review[:, None]
        te_now = _mean_where(now_path.te_annual, before)
        te_wait = _mean_where(wait_path.te_annual, before)
        with np.errstate(divide="ignore", invalid="ignore"):
            cut = np.where(te_wait > 0, 1.0 - te_now / te_wait, np.nan)
        ce_now = _window_ce(now_path, k_review, inp.gamma)
        ce_wait = _window_ce(wait_path, k_review, inp.gamma)
        hit_te = cut >= lim.r1_te_cut
        hit_ret = ce_now > ce_wait
        return pd.DataFrame({**inp.base(chunk), "hit": hit_te & hit_ret, "effect": cut,
                             "hit_te": hit_te, "hit_return": hit_ret,
                             "ce_gain_bps": 1e4 * (ce_now - ce_wait),
                             "days_to_review": k_review})
    return _chunks(rows, run)


def _mean_where(values: FloatArray, where: BoolArray) -> FloatArray:
    total = np.where(where, values, 0.0).sum(axis=1)
    count = where.sum(axis=1)
    return np.asarray(total / np.maximum(count, 1), dtype=np.float64)


def _window_ce(path: BranchPath, upto: IntArray, gamma: float) -> FloatArray:
    """``R - (γ/2) Σ_{k<=K} r_k²`` over each event's window ``k = 1..K_e``."""
    width = path.nav_usd.shape[1] - 1
    r = _returns(path, width)
    inside = np.arange(1, width + 1)[None, :] <= upto[:, None]
    sq = np.where(inside, r * r, 0.0).sum(axis=1)
    end = path.nav_usd[np.arange(len(upto)), upto]
    return np.asarray(end / path.nav0_usd - 1.0 - 0.5 * gamma * sq, dtype=np.float64)


# ------------------------------------------------------------------ Rule 2


def rule2_measurements(inp: RuleInput) -> list[Measurement]:
    """Rule 2: σ60 ≥ 30% and |d_i| ≥ 3% → trading asset i now pays ≥ 2× its cost.

    Act now: trade asset ``i`` alone back to target at the event close, then hold. Wait:
    hold (do not trade the asset). Horizon 21 trading days (30 calendar days). Benefit in
    cost units (fractions of the pre-trade NAV):

    * ``ce`` (the verdict's): the certainty equivalent of the ex-ante tracking variance
      removed along the two paths, ``(γ/2) Σ_{k<H} (TE²_wait,k − TE²_now,k) / 252``;
    * ``realized``: ``(γ/2) (Σ a²_wait − Σ a²_now)``, ``a`` the daily return minus the
      reference portfolio's (realized tracking variance removed);
    * ``pnl``: the return difference gross of the trade's cost.

    Hit when ``ce ≥ 2 × cost``. Effect: ``ce / cost``. ``breakeven_gamma`` is the γ at
    which the ``ce`` benefit equals twice the cost (the claim holds for any larger γ).
    """
    lim, d = inp.limits, inp.days
    h = inp.portfolio.history
    horizon = lim.r2_horizon_days
    vol = h.vol_annual[d.day]
    pairs = (vol >= lim.r2_vol) & (np.abs(d.asset_drift) >= lim.r2_drift) & _within(
        horizon, inp)[:, None]
    rr, ii = np.nonzero(pairs)
    n_assets = len(h.tickers)
    flat = np.zeros(d.n_rows * n_assets, dtype=bool)
    flat[rr * n_assets + ii] = True
    kept = thin_events(flat, np.repeat(d.path, n_assets) * n_assets
                       + np.tile(np.arange(n_assets), d.n_rows),
                       np.repeat(d.since_start, n_assets), inp.gap_days)
    rows_all, assets_all = kept // n_assets, kept % n_assets
    ref = inp.portfolio.reference_returns()

    def run(sel: IntArray) -> Measurement:
        rows, asset = rows_all[sel], assets_all[sel]
        n = len(rows)
        mask = np.zeros((n, n_assets), dtype=bool)
        mask[np.arange(n), asset] = True
        now, wait = yield inp.fork(rows, [Branch(_trades_at(0, n, horizon + 1), mask),
                                        Branch(np.zeros((n, horizon + 1), dtype=bool))])
        cost = now.cost_usd[:, 0] / now.nav0_usd
        var_gain = 0.5 * ((wait.te_annual[:, :horizon] ** 2 - now.te_annual[:, :horizon] ** 2)
                          .sum(axis=1)) / TRADING_DAYS
        ref_r = ref[d.day[rows][:, None] + np.arange(1, horizon + 1)[None, :]]
        a_now, a_wait = _returns(now, horizon) - ref_r, _returns(wait, horizon) - ref_r
        realized = 0.5 * inp.gamma * ((a_wait**2).sum(axis=1) - (a_now**2).sum(axis=1))
        pnl = (now.nav_usd[:, horizon] - wait.nav_usd[:, horizon]) / now.nav0_usd + cost
        ce = inp.gamma * var_gain
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(cost > 0, ce / cost, np.nan)
            breakeven = np.where(var_gain > 0, lim.r2_multiple * cost / var_gain, np.inf)
        frame = pd.DataFrame({
            **inp.base(rows), "asset": np.asarray(h.tickers)[asset],
            "hit": ce >= lim.r2_multiple * cost, "effect": ratio,
            "trade_cost_bps": 1e4 * cost, "benefit_ce_bps": 1e4 * ce,
            "benefit_realized_bps": 1e4 * realized, "benefit_pnl_bps": 1e4 * pnl,
            "hit_realized": realized >= lim.r2_multiple * cost,
            "hit_pnl": pnl >= lim.r2_multiple * cost, "breakeven_gamma": breakeven})
        for g in lim.r2_gammas:
            frame[f"hit_gamma_{g:g}"] = g * var_gain >= lim.r2_multiple * cost
        return frame[cost > 0].reset_index(drop=True)
    return _chunks(np.arange(len(rows_all), dtype=np.intp), run)


# ------------------------------------------------------------------ Rule 3


def rule3_measurements(inp: RuleInput) -> list[Measurement]:
    """Rule 3: TE reduction ≥ 1.5% and cost ≤ 30 bps → Sharpe up ≥ 0.1 over 12 months.

    The expected TE reduction of a full rebalance is the TE before it (a full rebalance
    lands on target). Act now: full rebalance at the event close, then hold 252 days.
    Alternative: do not trade, hold. Sharpe of daily excess returns over ``k = 1..252``
    (returns from the pre-trade NAV). Hit when ``Sharpe_now − Sharpe_hold ≥ 0.1``.
    Effect: the Sharpe difference.
    """
    lim, d = inp.limits, inp.days
    horizon = lim.r3_horizon_days
    rows = thin_events(rule_condition(inp, "Rule 3"), d.path, d.since_start, inp.gap_days)
    h = inp.portfolio.history
    ref = inp.portfolio.reference_returns()

    def run(chunk: IntArray) -> Measurement:
        n = len(chunk)
        now, hold = yield inp.fork(chunk, [Branch(_trades_at(0, n, horizon + 1)),
                                         Branch(np.zeros((n, horizon + 1), dtype=bool))])
        steps = d.day[chunk][:, None] + np.arange(horizon)[None, :]
        rf = h.risk_free_annual[steps] / TRADING_DAYS
        r_now, r_hold = _returns(now, horizon), _returns(hold, horizon)
        s_now = sharpe_ratio((r_now - rf).T)
        s_hold = sharpe_ratio((r_hold - rf).T)
        gain = s_now - s_hold
        ref_r = ref[steps + 1]
        te_now = np.std(r_now - ref_r, axis=1, ddof=1) * np.sqrt(TRADING_DAYS)
        te_hold = np.std(r_hold - ref_r, axis=1, ddof=1) * np.sqrt(TRADING_DAYS)
        return pd.DataFrame({**inp.base(chunk), "hit": gain >= lim.r3_sharpe_gain,
                             "effect": gain, "te_before": d.te_annual[chunk],
                             "sharpe_now": s_now, "sharpe_hold": s_hold,
                             "realized_te_now": te_now, "realized_te_hold": te_hold})
    return _chunks(rows, run)


# ------------------------------------------------------------------ Rule 4


def delay_days(vix: FloatArray, t0: IntArray, limits: Thresholds) -> IntArray:
    """The planner's stress delay of each event, shape (E,).

    :class:`~driftwise.policy.triggers.StressDelay`: the delayed rebalance is taken on
    the first day ``k`` in ``[10, 20]`` when VIX is below 30 again, else on day 20.
    """
    ks = np.arange(limits.r4_delay_min_days, limits.r4_delay_max_days + 1)
    days = np.minimum(t0[:, None] + ks[None, :], len(vix) - 1)
    level = vix[days]
    calm = np.isfinite(level) & (level < limits.r4_vix)
    first = np.where(calm.any(axis=1), ks[np.argmax(calm, axis=1)], limits.r4_delay_max_days)
    return np.asarray(first, dtype=np.intp)


def rule4_measurements(inp: RuleInput) -> list[Measurement]:
    """Rule 4: VIX ≥ 30 and 3% ≤ drift ≤ 10% → delaying 10-20 days cuts costs ≥ 30%.

    Act now: full rebalance at the event close. Delay: hold, then full rebalance on the
    planner's delay day (:func:`delay_days`). Both hold to day 20. Hit when the delayed
    rebalance costs at most 70% of the immediate one. Effect: the cost cut
    ``1 − cost_delay / cost_now``. The TE the delay causes: the mean ex-ante TE over
    ``k = 0..20`` and the realized TE (annualized, against the reference) of the delayed
    branch minus the immediate one's.
    """
    lim, d = inp.limits, inp.days
    h = inp.portfolio.history
    horizon = lim.r4_delay_max_days
    with np.errstate(invalid="ignore"):
        stress = h.vix[d.day] >= lim.r4_vix
    mask = stress & (d.drift <= lim.r4_drift_max) & (d.drift >= lim.r4_drift_min) & _within(
        horizon, inp)
    rows = thin_events(mask, d.path, d.since_start, inp.gap_days)
    ref = inp.portfolio.reference_returns()

    def run(chunk: IntArray) -> Measurement:
        n = len(chunk)
        t0 = d.day[chunk]
        wait = delay_days(h.vix, t0, lim)
        now, later = yield inp.fork(chunk, [Branch(_trades_at(0, n, horizon + 1)),
                                          Branch(_trades_at(wait, n, horizon + 1))])
        cost_now = now.cost_usd[:, 0]
        cost_later = later.cost_usd[np.arange(n), wait]
        with np.errstate(divide="ignore", invalid="ignore"):
            cut = np.where(cost_now > 0, 1.0 - cost_later / cost_now, np.nan)
        ref_r = ref[t0[:, None] + np.arange(1, horizon + 1)[None, :]]
        realized = (np.std(_returns(later, horizon) - ref_r, axis=1, ddof=1)
                    - np.std(_returns(now, horizon) - ref_r, axis=1, ddof=1))
        frame = pd.DataFrame({
            **inp.base(chunk), "hit": cost_later <= (1.0 - lim.r4_cost_cut) * cost_now,
            "effect": cut, "delay_days": wait,
            "cost_now_bps": 1e4 * cost_now / now.nav0_usd,
            "cost_delay_bps": 1e4 * cost_later / now.nav0_usd,
            "te_increase": later.te_annual.mean(axis=1) - now.te_annual.mean(axis=1),
            "realized_te_increase": realized * np.sqrt(TRADING_DAYS),
            "vix_at_trade": h.vix[t0 + wait]})
        return frame[cost_now > 0].reset_index(drop=True)
    return _chunks(rows, run)


def measure_rule1(inp: RuleInput) -> pd.DataFrame:
    """Rule 1's event rows (:func:`rule1_measurements`)."""
    return measure(inp, rule1_measurements)


def measure_rule2(inp: RuleInput) -> pd.DataFrame:
    """Rule 2's event rows (:func:`rule2_measurements`)."""
    return measure(inp, rule2_measurements)


def measure_rule3(inp: RuleInput) -> pd.DataFrame:
    """Rule 3's event rows (:func:`rule3_measurements`)."""
    return measure(inp, rule3_measurements)


def measure_rule4(inp: RuleInput) -> pd.DataFrame:
    """Rule 4's event rows (:func:`rule4_measurements`)."""
    return measure(inp, rule4_measurements)


MEASURES: dict[str, Callable[[RuleInput], pd.DataFrame]] = {
    "Rule 1": measure_rule1, "Rule 2": measure_rule2, "Rule 3": measure_rule3,
    "Rule 4": measure_rule4}
"""Rule key -> its measurement."""

MEASUREMENTS_OF: dict[str, Callable[[RuleInput], list[Measurement]]] = {
    "Rule 1": rule1_measurements, "Rule 2": rule2_measurements,
    "Rule 3": rule3_measurements, "Rule 4": rule4_measurements}
"""Rule key -> its chunks of events, to simulate with other rules' and cost settings'."""


def rule_spec(key: str) -> RuleSpec:
    """The :class:`RuleSpec` of ``key`` (``"Rule 1"`` .. ``"Rule 4"``)."""
    return next(r for r in RULES if r.key == key)


def vix_regime_label(vix: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """``"< 20"``, ``"20-30"``, ``"> 30"`` (30 and above), ``"unknown"`` for NaN."""
    v = np.asarray(vix, dtype=np.float64)
    out = np.full(v.shape, "unknown", dtype=object)
    with np.errstate(invalid="ignore"):
        out[v < 20.0] = "< 20"
        out[(v >= 20.0) & (v < 30.0)] = "20-30"
        out[v >= 30.0] = "> 30"
    return out
