"""The plan page: today's decision, drift against the bands, costs, schedule and flags.

Every chart function takes plain DataFrames / dicts so it can be tested on hand-made
data; :func:`plan_page` wires them to a :class:`driftwise.app.plan.Plan` and, for the
per-asset view, a :class:`driftwise.app.monitor.MonitorReport` of the same day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from driftwise.app.monitor import MonitorReport
from driftwise.app.plan import REGIMES, Check, Decision, Plan
from driftwise.flags import Notice
from driftwise.report.html import (
    Block,
    Bullets,
    Chart,
    Note,
    Page,
    Table,
    Tile,
    Tone,
    fmt_bps,
    fmt_date,
    fmt_num,
    fmt_pct,
    fmt_usd,
    styled,
)
from driftwise.report.tax_section import plan_tax_blocks

BUY_COLOR, SELL_COLOR = "#1b7f4b", "#b3261e"
COST_PARTS = (("spread_usd", "half-spread", "#4c78a8"), ("commission_usd", "commission", "#9ecae9"),
              ("impact_usd", "market impact", "#f58518"), ("tax_usd", "tax", "#e45756"))
MAX_BARS = 60
"""Most assets drawn on the drift chart (the most drifted; the tables list every one)."""
MAX_ROWS = 40
"""Most trades drawn on the cost and schedule charts (the largest)."""
TONES = {Decision.REBALANCE: Tone.GO, Decision.PARTIAL: Tone.GO, Decision.DELAY: Tone.WAIT,
         Decision.SKIP: Tone.INFO, Decision.INVALID: Tone.STOP}


def _get(values: Mapping[str, object], key: str) -> float:
    value = values.get(key)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


# ---------------------------------------------------------------- charts

def asset_drift_after(assets: pd.DataFrame, trades: pd.DataFrame, nav_usd: float,
                      cost_usd: float) -> pd.Series:
    """Expected per-asset drift once the trade list is done.

    Parameters
    ----------
    assets : pd.DataFrame
        Index ticker; ``value_usd`` (market value before trading) and ``target`` (fraction).
    trades : pd.DataFrame
        Index ticker; ``trade_usd`` (signed, positive = buy). Tickers absent do not trade.
    nav_usd : float
        NAV before trading.
    cost_usd : float
        Total trading cost, paid from cash.

    Returns
    -------
    pd.Series
        ``(value_usd + trade_usd) / (nav_usd - cost_usd) - target``, index of ``assets``.
    """
    trade = trades["trade_usd"].reindex(assets.index, fill_value=0.0).astype(float)
    after_nav = nav_usd - cost_usd
    weight = (assets["value_usd"].astype(float) + trade) / after_nav
    return (weight - assets["target"].astype(float)).rename("drift_after")


def drift_band_figure(assets: pd.DataFrame, drift_after: pd.Series | None = None) -> go.Figure:
    """Drift per asset (bars) against its band (grey corridor), and after trading (diamonds).

    Parameters
    ----------
    assets : pd.DataFrame
        Index ticker; ``drift`` (weight − target, fraction) and ``band`` (half-width, fraction).
    drift_after : pd.Series, optional
        Expected drift after the trades, same index.
    """
    drift = assets["drift"].astype(float)
    band = assets["band"].astype(float)
    outside = drift.abs() > band
    tickers = [str(t) for t in assets.index]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=tickers, y=2 * band, base=-band, name="band (no-trade zone)",
                         marker={"color": "rgba(120,130,140,0.18)"}, hoverinfo="skip",
                         width=0.9))
    fig.add_trace(go.Bar(
        x=tickers, y=drift, name="drift today", width=0.5,
        marker={"color": np.where(outside, "#b3261e", "#4c78a8").tolist()},
        customdata=np.column_stack([band, outside]),
        hovertemplate="%{x}: drift %{y:.2%}<br>band ±%{customdata[0]:.2%}<extra></extra>"))
    if drift_after is not None:
        fig.add_trace(go.Scatter(x=tickers, y=drift_after.reindex(assets.index).astype(float),
                                 mode="markers", name="after the trades",
                                 marker={"symbol": "diamond", "size": 9, "color": "#1d2733"},
                                 hovertemplate="%{x}: after %{y:.2%}<extra></extra>"))
    fig.update_layout(barmode="overlay", bargap=0.1)
    return styled(fig, y_title="weight − target", y_format=".1%")


def before_after_figure(before: Mapping[str, object], after: Mapping[str, object]) -> go.Figure:
    """Portfolio drift and ex-ante tracking error before and after the plan (two panels)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Portfolio drift",
                                                        "Tracking error (annual, ex-ante)"))
    for col, key in ((1, "drift"), (2, "te")):
        values = [_get(before, key), _get(after, key)]
        fig.add_trace(go.Bar(
            x=["before", "after"], y=values, marker={"color": ["#b3261e", "#1b7f4b"]},
            text=[fmt_pct(v) for v in values], textposition="outside", showlegend=False,
            hovertemplate="%{x}: %{y:.3%}<extra></extra>"), row=1, col=col)
        top = max([v for v in values if math.isfinite(v)], default=0.0)
        fig.update_yaxes(range=[0, 1.25 * top if top > 0 else 1e-3], row=1, col=col)
    return styled(fig, y_format=".1%", legend=False)


def cost_split_figure(trades: pd.DataFrame) -> go.Figure:
    """Expected cost of each trade split into half-spread, commission, impact and tax (USD).

    Parameters
    ----------
    trades : pd.DataFrame
        Index ticker; ``spread_usd``, ``commission_usd``, ``impact_usd``, ``tax_usd``
        (missing parts count as 0), optional ``side``, ``trade_usd`` and ``cost_bps``.
    """
    parts = [c for c, _, _ in COST_PARTS]
    table = trades.reindex(columns=parts).fillna(0.0).astype(float)
    order = table.sum(axis=1).sort_values().index
    table = table.loc[order]
    side = trades["side"].reindex(order) if "side" in trades else pd.Series("", index=order)
    labels = [f"{t} ({s.lower()})" if s else str(t) for t, s in zip(order, side, strict=True)]
    bps = (trades["cost_bps"].reindex(order).astype(float) if "cost_bps" in trades
           else pd.Series(np.nan, index=order))
    fig = go.Figure()
    for column, name, color in COST_PARTS:
        if column == "tax_usd" and not (table[column] != 0).any():
            continue
        fig.add_trace(go.Bar(
            y=labels, x=table[column], name=name, orientation="h", marker={"color": color},
            customdata=bps.to_numpy(),
            hovertemplate=f"%{{y}}: {name} USD %{{x:,.2f}}<br>all-in %{{customdata:.1f}} bp"
                          "<extra></extra>"))
    fig.update_layout(barmode="stack")
    return styled(fig, x_title="expected cost (USD)", x_format=",.0f")


def schedule_times(child_orders: pd.DataFrame) -> pd.Series:
    """Start time of each child order: its session ``day`` plus its ``start_time`` (New York)."""
    day = pd.to_datetime(child_orders["day"])
    clock = pd.to_timedelta(child_orders["start_time"].astype(str) + ":00")
    return (day + clock).rename("start")


def schedule_figure(child_orders: pd.DataFrame) -> go.Figure:
    """The execution schedule: one row per ticker, one dot per child order.

    Dot size grows with the child's share count (relative to the ticker's largest child),
    colour gives the side. Overnight hours and weekends are hidden on the time axis.

    Parameters
    ----------
    child_orders : pd.DataFrame
        ``ticker``, ``side`` (BUY/SELL), ``day``, ``start_time`` ("HH:MM"), ``shares`` (> 0),
        optional ``participation`` and ``expected_cost_usd``.
    """
    orders = child_orders.assign(start=schedule_times(child_orders))
    largest = orders.groupby("ticker")["shares"].transform("max").astype(float)
    size = 5 + 13 * np.sqrt(orders["shares"].astype(float) / largest.where(largest > 0, 1.0))
    part = orders.get("participation", pd.Series(np.nan, index=orders.index)).astype(float)
    cost = orders.get("expected_cost_usd", pd.Series(np.nan, index=orders.index)).astype(float)
    fig = go.Figure()
    for side, color in (("SELL", SELL_COLOR), ("BUY", BUY_COLOR)):
        mask = (orders["side"] == side).to_numpy()
        if not mask.any():
            continue
        fig.add_trace(go.Scatter(
            x=orders["start"][mask], y=orders["ticker"][mask].astype(str), mode="markers",
            name=side.lower(), marker={"color": color, "size": size[mask], "opacity": 0.8},
            customdata=np.column_stack([orders["shares"][mask], part[mask], cost[mask]]),
            hovertemplate="%{y} %{x|%Y-%m-%d %H:%M}<br>%{customdata[0]:,.0f} shares, "
                          "participation %{customdata[1]:.2%}<br>impact USD "
                          "%{customdata[2]:,.2f}<extra></extra>"))
    fig.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]},
                                  {"bounds": [16, 9.5], "pattern": "hour"}])
    fig.update_yaxes(categoryorder="category descending")
    return styled(fig, x_title="child order start (New York time)")


# ---------------------------------------------------------------- tables and words

def trade_table(trades: pd.DataFrame) -> Table:
    """The trade list with its cost split, liquidity and flags."""
    columns = {"side": "side", "shares": "shares", "trade_usd": "USD", "spread_usd": "spread",
               "commission_usd": "commission", "impact_usd": "impact", "tax_usd": "tax",
               "cost_usd": "cost", "cost_bps": "cost (bp of trade)",
               "liquidity_days": "liquidity days", "lots": "lots to sell", "flags": "flags"}
    frame = trades.reindex(columns=[c for c in columns if c in trades]).rename(columns=columns)
    usd2 = lambda x: fmt_num(x, 2)  # noqa: E731
    formats = {"shares": lambda x: fmt_num(x, 0), "USD": lambda x: fmt_num(x, 0),
               "spread": usd2, "commission": usd2, "impact": usd2, "tax": usd2, "cost": usd2,
               "cost (bp of trade)": lambda x: fmt_num(x, 1),
               "liquidity days": lambda x: fmt_num(x, 3)}
    return Table("plan-trades", "Trade list", frame, formats,
                 caption="Sells first. Money in USD; cost = half-spread + commission + impact "
                         "(+ tax where lots are known).")


def schedule_table(summary: pd.DataFrame) -> Table:
    """Per-trade execution summary: style, days, children, expected cost and risk."""
    columns = {"ticker": "ticker", "side": "side", "shares": "shares", "style": "style",
               "days": "days", "first_day": "first day", "last_day": "last day",
               "n_children": "child orders", "max_participation": "max participation",
               "expected_cost_usd": "expected impact (USD)", "risk_usd": "risk (USD, 1σ)",
               "ac_cost_usd": "Almgren–Chriss cost", "ac_risk_usd": "Almgren–Chriss risk",
               "flags": "flags"}
    frame = summary.reindex(columns=[c for c in columns if c in summary]).rename(columns=columns)
    if "ticker" in frame:
        frame = frame.set_index("ticker")
    usd2 = lambda x: fmt_num(x, 2)  # noqa: E731
    formats = {"shares": lambda x: fmt_num(x, 0), "days": lambda x: fmt_num(x, 0),
               "child orders": lambda x: fmt_num(x, 0), "first day": fmt_date,
               "last day": fmt_date, "max participation": lambda x: fmt_pct(x, 3),
               "expected impact (USD)": usd2, "risk (USD, 1σ)": usd2,
               "Almgren–Chriss cost": usd2, "Almgren–Chriss risk": usd2}
    return Table("plan-schedule", "Execution schedule by trade", frame, formats,
                 caption="Risk is the standard deviation of the implementation shortfall; the "
                         "Almgren–Chriss columns price the optimal trajectory over the same "
                         "horizon.")


def flags_table(notices: Sequence[Notice]) -> Table:
    """Every degradation by its stable name, the tickers concerned and what was done."""
    frame = pd.DataFrame({
        "flag": [n.flag.value for n in notices],
        "tickers": [", ".join(n.tickers) if n.tickers else "portfolio" for n in notices],
        "what was done": [n.detail for n in notices]})
    return Table("plan-flags", "Flags", frame, index=False,
                 caption="Nothing degrades silently: every fallback or repair is listed here.")


def checks_bullets(checks: Sequence[Check]) -> Bullets:
    """Quality checks with a tick or a cross."""
    return Bullets("Quality checks", tuple(f"{c.name}: {c.detail}" for c in checks),
                   tuple(c.ok for c in checks))


def decision_headline(plan: Plan) -> str:
    """The decision in one sentence a portfolio manager can repeat."""
    b, a = plan.before, plan.after
    drift0, drift1 = fmt_pct(_get(b, "drift")), fmt_pct(_get(a, "drift"))
    te0, te1 = fmt_pct(_get(b, "te")), fmt_pct(_get(a, "te"))
    first = plan.reasons[0] if plan.reasons else "no reason recorded"
    if plan.decision in (Decision.REBALANCE, Decision.PARTIAL):
        traded = float(plan.trades["trade_usd"].abs().sum()) if len(plan.trades) else 0.0
        what = "REBALANCE" if plan.decision is Decision.REBALANCE else "PARTIAL REBALANCE"
        ratio = _get(a, "cost_benefit_ratio")
        text = (f"Decision: {what} today. {len(plan.trades)} trades worth {fmt_usd(traded)} "
                f"({fmt_pct(_get(a, 'turnover'), 1)} turnover) bring drift from {drift0} to "
                f"{drift1} and tracking error from {te0} to {te1} a year, for an expected "
                f"cost of {fmt_usd(_get(a, 'cost_usd'))} ({fmt_bps(_get(a, 'cost_bps') / 1e4, 2)} "
                f"of NAV), {fmt_num(ratio)}× the expected benefit.")
        if plan.decision is Decision.PARTIAL:
            text += " Some positions are left as they are (see the reasons)."
        return text
    if plan.decision is Decision.DELAY:
        return (f"Decision: DELAY until {fmt_date(plan.delay_until)}. {_sentence(first)} "
                f"Drift is {drift0} and tracking error {te0} a year; the rebalance is "
                "reconsidered then.")
    if plan.decision is Decision.SKIP:
        return (f"Decision: SKIP, no trade today. {_sentence(first)} Drift is {drift0}, "
                f"tracking error {te0} a year.")
    return f"Decision: INVALID, do not trade. {_sentence(first)}"


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def plan_tiles(plan: Plan, monitor: MonitorReport | None = None) -> tuple[Tile, ...]:
    """Key figures: drift, TE, cost, trades, market regime, NAV (and the optimal band)."""
    b, a = plan.before, plan.after
    sells = int((plan.trades["side"] == "SELL").sum()) if len(plan.trades) else 0
    regime = _get(b, "regime")
    regime_text = REGIMES[int(regime)] if math.isfinite(regime) and 0 <= regime < 3 else "unknown"
    tiles = [
        Tile("Portfolio drift", f"{fmt_pct(_get(b, 'drift'))} → {fmt_pct(_get(a, 'drift'))}",
             "before → after"),
        Tile("Tracking error", f"{fmt_pct(_get(b, 'te'))} → {fmt_pct(_get(a, 'te'))}",
             "annual, ex-ante"),
        Tile("Expected cost", fmt_usd(_get(a, "cost_usd")),
             f"{fmt_bps(_get(a, 'cost_bps') / 1e4, 2)} of NAV · cost/benefit "
             f"{fmt_num(_get(a, 'cost_benefit_ratio'))}"),
        Tile("Trades", f"{len(plan.trades)}", f"{sells} sells, {len(plan.trades) - sells} buys"),
        Tile("Market", f"VIX {fmt_num(_get(b, 'vix'), 1)}", regime_text),
        Tile("NAV", fmt_usd(plan.nav_usd), f"as of {fmt_date(plan.as_of)}"),
    ]
    if monitor is not None:
        t = monitor.thresholds
        root = fmt_pct(float(t.square_root_threshold), 1)
        tiles.append(Tile("Optimal drift band", fmt_pct(float(t.half_band)),
                          f"corrected cube-root band; the square-root formula gives {root}, "
                          "not a band"))
    return tuple(tiles)


def _largest(values: pd.Series, limit: int) -> pd.Index:
    """Index of the ``limit`` largest values, in their original order."""
    index: pd.Index = values.index
    return index[index.isin(list(values.abs().nlargest(limit).index))]


def _shown(n_shown: int, n_all: int, what: str) -> str:
    return f" The {n_shown} largest of {n_all} {what} are drawn." if n_all > n_shown else ""


def drift_block(plan: Plan, monitor: MonitorReport | None) -> Block:
    """Drift against the bands (at most :data:`MAX_BARS` assets, the most drifted)."""
    if monitor is None:
        return Note("Per-asset drift against the bands needs the monitor report of the same "
                    "day (pass monitor=...).")
    assets = monitor.assets
    after = (asset_drift_after(assets, plan.trades, plan.nav_usd,
                               _get(plan.after, "cost_usd") if len(plan.trades) else 0.0)
             if "value_usd" in assets else None)
    keep = _largest(assets["drift"].astype(float), MAX_BARS)
    return Chart("plan-drift-bands", "Drift per asset against its band",
                 drift_band_figure(assets.loc[keep], None if after is None else after[keep]),
                 caption="Bars: weight − target today (red when outside the band). Grey "
                         "corridor: the asset's no-trade band. Diamonds: expected drift after "
                         "the trades." + _shown(len(keep), len(assets), "drifts"),
                 height_px=440)


def trade_blocks(plan: Plan) -> list[Block]:
    """Cost split, trade list, schedule chart and schedule table (largest trades drawn)."""
    trades = plan.trades
    if not len(trades):
        return [Note("No trades today: there is no cost split and no schedule.")]
    costly = _largest(trades["cost_usd"].astype(float), MAX_ROWS)
    blocks: list[Block] = [
        Chart("plan-cost-split", "Expected cost of each trade",
              cost_split_figure(trades.loc[costly]),
              caption=_shown(len(costly), len(trades), "costs").strip(),
              height_px=max(320, 22 * len(costly) + 120)),
        trade_table(trades)]
    if plan.schedule is not None and len(plan.schedule.child_orders):
        big = _largest(trades["trade_usd"].astype(float), MAX_ROWS)
        children = plan.schedule.child_orders
        children = children[children["ticker"].isin(list(big))]
        blocks.append(Chart("plan-schedule", "Execution schedule", schedule_figure(children),
                            caption="One dot per child order; larger dots trade more shares."
                                    + _shown(len(big), len(trades), "trades"),
                            height_px=max(320, 22 * children["ticker"].nunique() + 120)))
        blocks.append(schedule_table(plan.schedule.summary))
    return blocks


def plan_blocks(plan: Plan, monitor: MonitorReport | None = None) -> tuple[Block, ...]:
    """The page's charts and tables, leaving out charts that would be empty."""
    return (
        Bullets("Why", tuple(plan.reasons) or ("no reason recorded",)),
        drift_block(plan, monitor),
        Chart("plan-before-after", "Drift and tracking error, before and after",
              before_after_figure(plan.before, plan.after), height_px=360),
        *trade_blocks(plan),
        *plan_tax_blocks(plan),
        checks_bullets(plan.checks),
        flags_table(plan.notices) if plan.notices else Note(
            "No flags: no input was repaired or estimated."),
    )


def plan_page(plan: Plan, monitor: MonitorReport | None = None) -> Page:
    """The plan page of the report.

    Parameters
    ----------
    plan : Plan
        From :func:`driftwise.app.plan.make_plan`.
    monitor : MonitorReport, optional
        From :func:`driftwise.app.monitor.monitor` on the same inputs and day: adds the per-asset
        drift-against-band chart and the optimal band.
    """
    return Page(key="plan", title="Plan", headline=decision_headline(plan),
                tone=TONES[plan.decision], tiles=plan_tiles(plan, monitor),
                blocks=plan_blocks(plan, monitor),
                subtitle=f"Portfolio as of {fmt_date(plan.as_of)} · rule: {plan.rule}")
