"""The monitor: where one portfolio stands today (drift, risk, speed, flags).

``monitor(inputs)`` validates and aligns the inputs (:func:`driftwise.state.build_state`),
estimates volatility and covariance from the price history up to the as-of date (with the
fallbacks, each flagged), then evaluates the section 3 metrics. It decides
nothing: triggers and trades belong to the planner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise import _display
from driftwise._types import FloatArray
from driftwise.calendar import trading_days_between
from driftwise.costs import CostParams, build_cost_inputs, trade_costs
from driftwise.data.market import refuse_jumps, vix_on, vix_reading
from driftwise.data.model import Inputs, TargetLevel
from driftwise.flags import Flag, Notice, merge_notices, notice
from driftwise.metrics.drift import (
    asset_drift,
    band_width,
    cap_drift,
    group_drift,
    group_weights,
    outside_band,
    portfolio_drift,
)
from driftwise.metrics.risk import (
    tracking_error,
    tracking_error_diag,
)
from driftwise.metrics.risk_model import MonitorConfig, estimate_risk
from driftwise.metrics.speed import (
    days_to_breach,
    drift_rate,
    drift_speed,
    percentile_rank,
    relative_volatility,
)
from driftwise.metrics.threshold import ThresholdReport, corrected_band, threshold_report
from driftwise.state import PortfolioState, build_state


@dataclass(frozen=True)
class MonitorReport:
    """What ``driftwise monitor`` shows.

    Attributes
    ----------
    state : PortfolioState
    assets : pd.DataFrame
        One row per asset of the universe (index ticker).
    summary : dict
        Portfolio figures: drift, TE variants, drift rate, days to breach, ...
    groups : pd.DataFrame or None
        Group weights, targets and drift when targets are given by group.
    thresholds : ThresholdReport
    notices : tuple of Notice
    """

    state: PortfolioState
    assets: pd.DataFrame
    summary: dict[str, object]
    groups: pd.DataFrame | None
    thresholds: ThresholdReport
    notices: tuple[Notice, ...]

    def to_frame(self) -> pd.DataFrame:
        """The per-asset table, tidy: one row per asset of the universe (column ``ticker``)."""
        return self.assets.reset_index()

    def _figures(self) -> list[tuple[str, object]]:
        s = self.summary
        return [("NAV (USD)", f"{float(s['nav_usd']):,.0f}"),  # type: ignore[arg-type]
                ("portfolio drift", _display.pct(s["portfolio_drift"])),
                ("tracking error (full covariance, long window)", _display.pct(s["te_long"])),
                ("assets outside band", s["assets_outside_band"]),
                ("drift threshold", _display.pct(s["threshold"])),
                ("trading days to breach", f"{float(s['days_to_breach']):.0f}"),  # type: ignore[arg-type]
                ("flags", len(self.notices))]

    def _title(self) -> str:
        return f"Monitor on {str(self.summary['as_of'])[:10]}"

    def __repr__(self) -> str:
        return _display.text(self._title(), self._figures())

    def _repr_html_(self) -> str:
        return _display.html_card(self._title(), self._figures(), [("Assets", self.assets)])


def one_way_cost_rate(inputs: Inputs, state: PortfolioState, params: CostParams,
                      trade: FloatArray | None = None) -> tuple[float, tuple[Notice, ...]]:
    """One-way cost of ``trade`` (USD per asset; default: a full rebalance today), as a
    fraction of the value traded: the ``k`` of the optimal-threshold formulas, priced by
    the cost model.
    """
    cost_inputs, notes = build_cost_inputs(state.tickers, inputs.market.prices,
                                           inputs.market.volumes, inputs.master, inputs.costs,
                                           as_of=state.as_of, params=params)
    if trade is None:
        trade = (state.target_weights - state.weights) * state.nav_usd
    vix = vix_on(inputs.market.vix, state.as_of)
    total = float(trade_costs(trade, cost_inputs, params, vix).trading_usd.sum())
    traded = float(np.abs(trade).sum())
    return (total / traded if traded > 0 else 0.0), notes


def monitor(inputs: Inputs, *, as_of: pd.Timestamp | str | None = None,
            config: MonitorConfig | None = None,
            cost_params: CostParams | None = None) -> MonitorReport:
    """Compute today's drift, tracking error, drift speed and flags for one portfolio.

    With ``cost_params`` the optimal-threshold report prices ``k`` with the cost model (a
    full rebalance today); otherwise it uses ``config.one_way_cost``.
    """
    config = config or MonitorConfig()
    state = build_state(inputs.holdings, inputs.targets, inputs.market, inputs.master,
                        as_of=as_of)
    refuse_jumps(inputs.market, state.tickers, state.as_of,
                 max(config.long_window_days, config.short_window_days, config.vol_window_days),
                 what="the monitor")
    risk = estimate_risk(state, inputs.market.prices, config)
    notes: list[Notice] = []
    one_way_cost, cost_notes = config.one_way_cost, tuple[Notice, ...]()
    if cost_params is not None:
        one_way_cost, cost_notes = one_way_cost_rate(inputs, state, cost_params)

    raw_d = asset_drift(state.weights, state.target_weights)
    d, capped = cap_drift(raw_d, config.drift_cap)
    if capped.any():
        notes.append(notice(Flag.DRIFT_CAPPED, f"asset drift above {config.drift_cap:.0%} capped: "
                            "probable data error or corporate action", state.tickers[capped]))
    weights = state.target_weights + d
    drift = float(portfolio_drift(weights, state.target_weights, state.cash_weight,
                                  state.target_cash_weight))
    band_abs = np.where(np.isfinite(state.band_abs), state.band_abs, config.band_abs)
    band_rel = np.where(np.isfinite(state.band_rel), state.band_rel, config.band_rel)
    width = band_width(state.target_weights, band_abs, band_rel, config.band_mode)
    out = outside_band(d, width)

    days_since, since_note = _days_since(inputs, state)
    if since_note is not None:
        notes.append(since_note)
    speed = drift_speed(risk.vol_annual, days_since)
    rel_vol = relative_volatility(risk.cov_long, state.target_weights)
    sigma_p = float(tracking_error(state.target_weights, risk.cov_long))
    rate = float(drift_rate(state.target_weights, rel_vol, state.target_cash_weight, sigma_p))
    breach = float(days_to_breach(drift, config.threshold, rate))
    band = corrected_band(state.target_weights, risk.cov_long, one_way_cost,
                          config.tracking_aversion, target_cash_weight=state.target_cash_weight)
    thresholds = threshold_report(one_way_cost=one_way_cost, portfolio_vol=sigma_p,
                                  horizon_years=1.0, drift_vol=band.drift_vol,
                                  tracking_penalty=band.tracking_penalty,
                                  tracking_aversion=config.tracking_aversion)

    assets = pd.DataFrame({
        "shares": state.shares, "price_usd": state.prices_usd, "value_usd": state.values_usd,
        "weight": state.weights, "target": state.target_weights, "drift": d,
        "band": width, "outside_band": out, "vol_annual": risk.vol_annual,
        "drift_speed": speed, "speed_rank": percentile_rank(speed),
        "sector": state.sectors,
    }, index=state.tickers)
    vix_notes = vix_reading(inputs.market.vix, state.as_of)[1] if cost_params else ()
    all_notes = merge_notices(state.notices, risk.notices, notes, cost_notes, vix_notes)
    assets["flags"] = _flags_per_ticker(state.tickers, all_notes)
    summary: dict[str, object] = {
        "as_of": state.as_of, "nav_usd": state.nav_usd, "cash_usd": state.cash_usd,
        "cash_weight": state.cash_weight, "target_cash_weight": state.target_cash_weight,
        "n_assets": state.n_assets, "portfolio_drift": drift,
        "te_diag_short": float(tracking_error_diag(d, risk.vol_annual)),
        "te_short": float(tracking_error(d, risk.cov_short)),
        "te_long": float(tracking_error(d, risk.cov_long)),
        "te_long_shrunk": float(tracking_error(d, risk.cov_long_shrunk)),
        "windows_days": (config.short_window_days, config.long_window_days),
        "estimator": config.estimator.value,
        "assets_outside_band": int(out.sum()),
        "days_since_rebalance": days_since, "drift_rate_annual": rate,
        "threshold": config.threshold, "days_to_breach": breach,
        "target_portfolio_vol_annual": sigma_p,
    }
    groups = _group_table(state, weights) if state.target_level is not TargetLevel.ASSET else None
    if groups is not None:
        summary["group_drift"] = float(0.5 * (groups["drift"].abs().sum()
                                              + abs(state.cash_weight - state.target_cash_weight)))
    return MonitorReport(state=state, assets=assets, summary=summary, groups=groups,
                         thresholds=thresholds, notices=all_notes)


def _days_since(inputs: Inputs, state: PortfolioState) -> tuple[float, Notice | None]:
    index = pd.DatetimeIndex(inputs.market.prices.index)
    if inputs.last_rebalance is not None:
        return float(trading_days_between(index, inputs.last_rebalance, state.as_of)), None
    lots = inputs.holdings.lots
    if lots is not None and len(lots):
        start = pd.Timestamp(lots["acquired"].max())
        return float(trading_days_between(index, start, state.as_of)), notice(
            Flag.NO_LAST_REBALANCE, f"no last rebalance date given: the latest lot purchase "
            f"({start.date()}) is used")
    return float("nan"), notice(Flag.NO_LAST_REBALANCE, "no last rebalance date given: drift "
                                "speed is unknown (pass --last-rebalance)")


def _group_table(state: PortfolioState, weights: FloatArray) -> pd.DataFrame:
    labels = state.groups().astype(str)
    names = np.unique(np.concatenate([labels, state.group_targets.index.astype(str).to_numpy()]))
    codes = np.searchsorted(names, labels)
    target = state.group_targets.reindex(names, fill_value=0.0).to_numpy(dtype=np.float64)
    current = group_weights(weights, codes, len(names))
    d = group_drift(weights, target, codes, len(names))
    return pd.DataFrame({"weight": current, "target": target, "drift": d},
                        index=pd.Index(names, name=state.target_level.value))


def _flags_per_ticker(tickers: pd.Index, notes: tuple[Notice, ...]) -> list[str]:
    per: dict[str, list[str]] = {str(t): [] for t in tickers}
    for item in notes:
        for t in item.tickers:
            if t in per and item.flag.value not in per[t]:
                per[t].append(item.flag.value)
    return ["; ".join(per[str(t)]) for t in tickers]
