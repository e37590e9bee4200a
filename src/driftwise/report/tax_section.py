"""The report's tax sections: the plan's tax (per trade and per lot, deferred and harvest
lots, the decision after tax) and the after-tax backtest (tax-aware against tax-unaware).

:func:`plan_tax_blocks` reads what a :class:`~driftwise.app.plan.Plan` carries under
``[tax] enabled`` with lots (the trade list's ``lots`` and ``tax_usd`` columns, the reasons,
the harvest table, the donation); :func:`after_tax_page` turns an
:class:`~driftwise.app.aftertax.AfterTaxComparison` into a page of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from driftwise.report.html import (
    Block,
    Bullets,
    Chart,
    Note,
    Page,
    Table,
    Tile,
    Tone,
    color,
    fmt_date,
    fmt_num,
    fmt_pct,
    fmt_usd,
    styled,
)

if TYPE_CHECKING:
    from driftwise.app.aftertax import AfterTaxComparison
    from driftwise.app.plan import Plan

TAX_WORDS = ("tax", "deferred", "wash", "gain budget", "harvest", "donation", "lot")
"""A plan reason that mentions one of these is shown in the tax section."""
MAX_HARVESTS = 40
"""Most harvested lots listed in the after-tax page (the largest losses)."""


def plan_tax_blocks(plan: Plan) -> list[Block]:
    """The plan's tax section: blocks only when the plan carries tax (else none)."""
    trades = plan.trades
    has_lots = "lots" in trades.columns and trades["lots"].astype(str).str.len().gt(0).any()
    taxed = "tax_usd" in trades.columns and bool(np.any(trades["tax_usd"].to_numpy() != 0.0))
    reasons = tuple(r for r in plan.reasons if any(w in r.lower() for w in TAX_WORDS))
    if not (has_lots or taxed or reasons or plan.harvest is not None
            or plan.donation is not None):
        return []
    blocks: list[Block] = []
    if has_lots or taxed:
        frame = trades.loc[:, [c for c in ("side", "shares", "trade_usd", "tax_usd", "lots",
                                           "flags") if c in trades.columns]]
        blocks.append(Table("plan-tax-trades", "Tax per trade and the lots each sale relieves",
                            frame, {"shares": lambda x: fmt_num(x, 0), "trade_usd": fmt_usd,
                                    "tax_usd": fmt_usd},
                            caption="Lots as RELIEF: LOT×SHARES (LT/ST, gain); a lot held "
                                    "back to turn long-term says until when."))
    if reasons:
        blocks.append(Bullets("The decision after tax", reasons))
    if plan.harvest is not None:
        if len(plan.harvest):
            columns = [c for c in ("ticker", "lot", "term", "shares", "loss_usd",
                                   "tax_saved_now_usd", "deferral_usd", "arbitrage_usd",
                                   "replacement", "proposed", "note")
                       if c in plan.harvest.columns]
            blocks.append(Table("plan-tax-harvest", "Loss-harvest lots", plan.harvest[columns],
                                {c: fmt_usd for c in ("loss_usd", "tax_saved_now_usd",
                                                      "deferral_usd", "arbitrage_usd")},
                                caption="The harvested loss, the tax it saves now, and its "
                                        "worth split into the deferral and the rate "
                                        "arbitrage (a harvest is not its whole loss times "
                                        "the rate).", index=False))
        else:
            blocks.append(Note("No lot is at or beyond the loss-harvest threshold."))
    if plan.donation is not None and len(plan.donation):
        blocks.append(Table("plan-tax-donation", "Lots donated", plan.donation,
                            {c: fmt_usd for c in ("value_usd", "gain_usd", "tax_avoided_usd")},
                            index=False))
    return blocks


def after_tax_figure(comparison: AfterTaxComparison) -> go.Figure:
    """NAV of both runs after the taxes paid, the last point the liquidation value."""
    fig = go.Figure()
    for i, (name, run) in enumerate((("tax-aware", comparison.aware),
                                     ("tax-unaware", comparison.unaware))):
        fig.add_trace(go.Scatter(x=[str(d.date()) for d in run.dates],
                                 y=np.round(run.after_tax_path_usd, 2), name=name,
                                 mode="lines", line={"color": color(i)}))
    return styled(fig, y_title="USD")


METRIC_FORMATS = {"after_tax_return_annual": fmt_pct, "pre_tax_return_annual": fmt_pct,
                  "liquidation_value_usd": fmt_usd, "final_nav_usd": fmt_usd,
                  "taxes_paid_usd": fmt_usd, "liquidation_tax_usd": fmt_usd,
                  "harvested_loss_usd": fmt_usd, "disallowed_usd": fmt_usd,
                  "n_rebalances": lambda x: fmt_num(x, 0),
                  "n_harvest_days": lambda x: fmt_num(x, 0), "te_annual": fmt_pct}


def after_tax_blocks(comparison: AfterTaxComparison) -> list[Block]:
    """Chart and tables of the after-tax backtest."""
    years = comparison.aware.years
    blocks: list[Block] = [
        Chart("aftertax-nav", "After-tax NAV: tax-aware against tax-unaware",
              after_tax_figure(comparison),
              caption="Taxes paid from cash at each year's end; the last point is the "
                      "after-tax liquidation value (every remaining gain taxed long-term)."),
        Table("aftertax-metrics", "After-tax metrics", comparison.metrics.T.reset_index(
            names="metric"), {c: _metric_cell for c in comparison.metrics.index},
              index=False),
    ]
    if len(years):
        shown = years.set_index("year")
        blocks.append(Table("aftertax-years", "Tax years of the tax-aware rule", shown,
                            {c: fmt_usd for c in shown.columns},
                            caption="Short against short first, then long; up to USD 3,000 "
                                    "of net loss against ordinary income; the rest carried "
                                    "forward with its character."))
    harvests = comparison.aware.harvests
    if len(harvests):
        top = harvests.nlargest(MAX_HARVESTS, "loss_usd")
        blocks.append(Table("aftertax-harvests", "Harvested lots (largest losses)", top,
                            {"date": fmt_date, "acquired": fmt_date,
                             "shares": lambda x: fmt_num(x, 0), "basis_usd": fmt_usd,
                             "proceeds_usd": fmt_usd, "loss_usd": fmt_usd},
                            caption=f"{len(harvests)} lots harvested in all.", index=False))
    else:
        blocks.append(Note("No lot reached the loss-harvest threshold in this window."))
    return blocks


def _metric_cell(value: object) -> str:
    """Metric cells mix fractions and USD: a fraction below 1 in size is a percent."""
    if isinstance(value, float | int | np.floating) and abs(float(value)) < 1.0 \
            and value != 0:
        return fmt_pct(value)
    return fmt_usd(value)


def after_tax_page(comparison: AfterTaxComparison) -> Page:
    """The after-tax page of the report."""
    dates = comparison.aware.dates
    span = f"{pd.Timestamp(dates[0]).date()} to {pd.Timestamp(dates[-1]).date()}"
    m = comparison.metrics
    alpha = (f"{fmt_pct(comparison.tax_alpha)} a year [{fmt_pct(comparison.tax_alpha_low)}, "
             f"{fmt_pct(comparison.tax_alpha_high)}]")
    tiles = (Tile("Period", span, f"{len(dates)} trading days"),
             Tile("Tax alpha", fmt_pct(comparison.tax_alpha),
                  f"95% [{fmt_pct(comparison.tax_alpha_low)}, "
                  f"{fmt_pct(comparison.tax_alpha_high)}]"),
             Tile("After-tax return", fmt_pct(m.loc["tax-aware", "after_tax_return_annual"]),
                  "tax-aware, per year"),
             Tile("Losses harvested", fmt_usd(m.loc["tax-aware", "harvested_loss_usd"]),
                  f"{fmt_num(m.loc['tax-aware', 'n_harvest_days'], 0)} harvest days"))
    headline = (f"Deciding after tax and harvesting losses changed the after-tax return by "
                f"{alpha} against the same rule without tax awareness.")
    return Page(key="aftertax", title="After tax", headline=headline, tone=Tone.INFO,
                tiles=tiles, blocks=tuple(after_tax_blocks(comparison)),
                subtitle=f"After-tax backtest {span}")
