"""The accounts dashboard: one self-contained HTML page of the book, from the record.

Built from a :class:`~driftwise.record.book_view.BookView` (each account's latest plan,
its orders and the events that invalidated it): the accounts needing action first, in a
table sorted by a click on any heading; the distribution of drift across the accounts; the
expected trading costs and taxes of the plans (totals and per account); the orders by
status and their list. Charts are plotly's basic bundle (bars), embedded once, so the
page opens with no network (:mod:`driftwise.report.html`).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from driftwise._atomic import write_text
from driftwise.record.book_view import BookView
from driftwise.record.schema import ORDER_STATUSES
from driftwise.report.html import (
    Bullets,
    Chart,
    Note,
    Page,
    Table,
    Tile,
    Tone,
    color,
    fmt_bps,
    fmt_date,
    fmt_num,
    fmt_pct,
    fmt_usd,
    render_html,
    styled,
)

DRIFT_BINS = 10
"""Bars of the drift histogram (equal widths from 0 to the largest drift)."""
MAX_COST_BARS = 40
"""Accounts shown in the per-account costs and taxes chart (the largest first)."""
MAX_ORDER_ROWS = 5000
"""Orders listed (the open ones first); the counts by status are always of every order."""


def drift_histogram(drift: np.ndarray, bins: int = DRIFT_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Counts of accounts per drift bin.

    Parameters
    ----------
    drift : ndarray, shape (n_accounts,)
        Portfolio drift, fractions; NaN (no figure stored) left out.
    bins : int

    Returns
    -------
    edges : ndarray, shape (bins + 1,)
        Bin edges, fractions, from 0 to the largest drift (0.01 when every drift is 0).
    counts : ndarray of int, shape (bins,)
        Accounts per bin; the last bin holds its right edge.
    """
    finite = drift[np.isfinite(drift)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 0.01
    edges = np.linspace(0.0, top, bins + 1)
    counts, _ = np.histogram(finite, bins=edges)
    return edges, counts.astype(np.int64)


def _headline(view: BookView) -> tuple[str, Tone]:
    frame = view.accounts
    n = len(frame)
    if n == 0:
        return "No plan in the record yet: run driftwise daily (or plan --record).", Tone.INFO
    act = int(frame["needs_action"].sum())
    if act == 0:
        return f"All {n} accounts are within their rules: nothing to do.", Tone.GO
    invalid = int((frame["events"] != "").sum())
    extra = f" ({invalid} with an invalidated plan)" if invalid else ""
    return f"{act} of {n} accounts need action{extra}.", Tone.STOP if invalid else Tone.WAIT


def _tiles(view: BookView) -> tuple[Tile, ...]:
    frame, counts = view.accounts, view.status_counts()
    open_orders = sum(counts[s] for s in ("proposed", "approved", "sent"))
    taxes = frame["tax_usd"] if len(frame) else pd.Series(dtype=float)
    return (
        Tile("Accounts", str(len(frame)), f"{len(view.unplanned)} without a plan"),
        Tile("Need action", str(int(frame["needs_action"].sum()) if len(frame) else 0),
             "decision not skip, or invalidated"),
        Tile("Book NAV", fmt_usd(frame["nav_usd"].sum() if len(frame) else 0.0),
             "latest plans"),
        Tile("Expected costs", fmt_usd(frame["cost_usd"].sum() if len(frame) else 0.0),
             "spread + commission, the plans' trades"),
        Tile("Expected taxes", fmt_usd(taxes.sum()),
             f"{int(taxes.notna().sum())} plan(s) with a tax figure"),
        Tile("Open orders", str(open_orders),
             " · ".join(f"{counts[s]} {s}" for s in ("proposed", "approved", "sent"))),
    )


ACCOUNT_FORMATS = {"drift": fmt_pct, "drift after": fmt_pct, "TE": fmt_pct,
                   "cost": fmt_usd, "cost of NAV": lambda x: fmt_bps(_bps_to_fraction(x), 1),
                   "tax": fmt_usd, "cost-benefit": fmt_num, "NAV": fmt_usd,
                   "orders": lambda x: fmt_num(x, 0), "open orders": lambda x: fmt_num(x, 0),
                   "plan": lambda x: fmt_num(x, 0)}


def _bps_to_fraction(x: object) -> float:
    try:
        return float(x) / 1e4  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def accounts_table(view: BookView) -> Table:
    """The accounts, those needing action first (sortable)."""
    f = view.accounts.set_index("account")
    shown = pd.DataFrame({
        "needs action": f["needs_action"].astype(bool), "decision": f["decision"],
        "plan": f["plan_id"], "as of": [fmt_date(d) for d in f["as_of"]],
        "drift": f["drift"], "drift after": f["drift_after"], "TE": f["te"],
        "cost": f["cost_usd"], "cost of NAV": f["cost_bps"], "tax": f["tax_usd"],
        "cost-benefit": f["cost_benefit_ratio"], "NAV": f["nav_usd"], "orders": f["orders"],
        "open orders": f["open_orders"], "events": f["events"],
        "reasons": [" · ".join(r) for r in f["reasons"]]}, index=f.index)
    return Table("dashboard-accounts", "Accounts (needing action first)", shown,
                 formats=ACCOUNT_FORMATS, sortable=True,
                 caption="Each account's latest plan. Click a heading to sort. Drift and TE "
                 "before the trades; cost is the plan's expected spread and commission; tax "
                 "is the tax of its sales (a dash: the plan recorded none).")


def drift_chart(view: BookView) -> Chart:
    """Histogram of the accounts' drift (bars; the basic bundle has no histogram trace)."""
    edges, counts = drift_histogram(view.accounts["drift"].to_numpy(dtype=float))
    mids = 0.5 * (edges[:-1] + edges[1:])
    labels = [f"{100 * a:.1f}-{100 * b:.1f}%" for a, b in itertools.pairwise(edges)]
    figure = go.Figure(go.Bar(x=mids, y=counts, width=np.diff(edges) * 0.95, name="accounts",
                              marker_color=color(0), customdata=labels,
                              hovertemplate="drift %{customdata}: %{y} account(s)"
                              "<extra></extra>"))
    styled(figure, x_title="portfolio drift (before trading)", y_title="accounts",
           x_format=".1%", legend=False)
    return Chart("dashboard-drift", "Drift across the accounts", figure,
                 caption=f"{int(counts.sum())} account(s) with a drift figure, "
                 f"{DRIFT_BINS} equal bins.", height_px=320)


def costs_chart(view: BookView) -> Chart:
    """Expected costs and taxes per account (stacked bars, the largest first)."""
    f = view.accounts.assign(total=view.accounts["cost_usd"].fillna(0.0)
                             + view.accounts["tax_usd"].fillna(0.0))
    top = f.sort_values("total", ascending=False, kind="stable").head(MAX_COST_BARS)
    figure = go.Figure([
        go.Bar(x=top["account"], y=top["cost_usd"].fillna(0.0), name="trading cost",
               marker_color=color(0), hovertemplate="%{x}: USD %{y:,.0f}<extra>cost</extra>"),
        go.Bar(x=top["account"], y=top["tax_usd"].fillna(0.0), name="tax",
               marker_color=color(1), hovertemplate="%{x}: USD %{y:,.0f}<extra>tax</extra>")])
    figure.update_layout(barmode="stack")
    styled(figure, y_title="USD", y_format=",.0f")
    shown = f"the {len(top)} largest" if len(f) > MAX_COST_BARS else "every account"
    return Chart("dashboard-costs", "Expected costs and taxes per account", figure,
                 caption=f"{shown}: the latest plan's expected trading cost and tax.",
                 height_px=340)


def orders_chart(view: BookView) -> Chart:
    """Orders by status (bars, every status)."""
    counts = view.status_counts()
    figure = go.Figure(go.Bar(x=list(ORDER_STATUSES), y=[counts[s] for s in ORDER_STATUSES],
                              marker_color=[color(i) for i in range(len(ORDER_STATUSES))],
                              name="orders", hovertemplate="%{x}: %{y}<extra></extra>"))
    styled(figure, y_title="orders", legend=False)
    return Chart("dashboard-orders", "Orders by status", figure,
                 caption="The orders of the latest plans and any order still open.",
                 height_px=300)


def orders_table(view: BookView) -> Table:
    """Every order shown, sortable."""
    done = ~view.orders["status"].isin(("proposed", "approved", "sent"))
    o = (view.orders.assign(_done=done).sort_values(["_done", "account", "order_id"],
                                                     kind="stable")
         .head(MAX_ORDER_ROWS).drop(columns="_done").set_index("order_id").rename_axis("id"))
    shown = pd.DataFrame({
        "account": o["account"], "plan": o["plan_id"], "order": o["client_order_id"],
        "ticker": o["ticker"], "side": o["side"], "shares": o["shares"],
        "filled": o["filled_shares"], "type": o["order_type"],
        "limit": o["limit_price_usd"], "status": o["status"]}, index=o.index)
    shares = {"shares": lambda x: fmt_num(x, 0), "filled": lambda x: fmt_num(x, 0),
              "limit": lambda x: fmt_num(x, 2), "plan": lambda x: fmt_num(x, 0)}
    cut = (f" The first {MAX_ORDER_ROWS:,} of {len(view.orders):,} orders, the open ones "
           "first." if len(view.orders) > MAX_ORDER_ROWS else "")
    return Table("dashboard-orders-list", "Orders", shown, formats=shares, sortable=True,
                 caption="Open orders first; shares as recorded; limit in USD (a dash: none)."
                 + cut)


def totals_table(view: BookView) -> Table:
    """Expected costs and taxes in total, and over the accounts needing action."""
    f = view.accounts
    act = f[f["needs_action"].astype(bool)]
    rows = {name: {"accounts": len(part), "cost": part["cost_usd"].sum(),
                   "tax": part["tax_usd"].sum(), "cost + tax": (part["cost_usd"].fillna(0.0)
                                                               + part["tax_usd"].fillna(0.0)).sum(),
                   "NAV": part["nav_usd"].sum()}
            for name, part in (("all accounts", f), ("needing action", act))}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "book"
    return Table("dashboard-totals", "Expected costs and taxes: totals", frame,
                 formats={"accounts": lambda x: fmt_num(x, 0), "cost": fmt_usd, "tax": fmt_usd,
                          "cost + tax": fmt_usd, "NAV": fmt_usd})


def dashboard_page(view: BookView) -> Page:
    """The book as one page."""
    headline, tone = _headline(view)
    blocks: list[Chart | Table | Bullets | Note] = []
    if len(view.accounts):
        blocks += [accounts_table(view), drift_chart(view), totals_table(view),
                   costs_chart(view), orders_chart(view)]
        blocks.append(orders_table(view) if len(view.orders)
                      else Note("No order in the latest plans and none open."))
    if view.unplanned:
        blocks.append(Bullets("Accounts without a plan", view.unplanned))
    subtitle = ("Latest plans up to " + fmt_date(view.as_of)) if view.as_of else "No plan yet"
    return Page("book", "Accounts", headline, tone, _tiles(view), tuple(blocks), subtitle)


def render_dashboard(view: BookView, *, title: str = "driftwise accounts") -> str:
    """The dashboard as one self-contained HTML document."""
    return render_html([dashboard_page(view)], title=title,
                       subtitle=f"{len(view.accounts)} account(s) with a plan")


def write_dashboard(path: str | Path, view: BookView, *, title: str = "driftwise accounts"
                    ) -> Path:
    """Write the dashboard to ``path`` (atomically; parent folders created)."""
    out = Path(path)
    write_text(out, render_dashboard(view, title=title))
    return out
