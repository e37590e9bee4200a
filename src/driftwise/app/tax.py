"""The plan's tax: lots and settings from the inputs and ``[tax]``, and their text.

:func:`taxed_step` builds the typed lots and settings of
:func:`driftwise.policy.tax_gate.tax_step` from the holdings' lots, the recent-sales file
and the configuration; :func:`lot_text` and :func:`tax_reasons` say what it decided.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwise.config import Config
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError
from driftwise.policy.context import DayContext
from driftwise.policy.rule import AssetDay, Rule
from driftwise.policy.tax_gate import TaxedStep, TaxLots, TaxSettings, tax_step

__all__ = ["TaxLots", "TaxedStep", "applies", "lot_text", "rates", "settings", "tax_lots",
           "tax_reasons", "taxed_step"]
from driftwise.state import PortfolioState
from driftwise.tax import Relief, TaxRates, lot_ids


def applies(inputs: Inputs, config: Config) -> bool:
    """The plan decides after tax: ``[tax] enabled`` and the holdings carry lots."""
    lots = inputs.holdings.lots
    return bool(config.tax.enabled and lots is not None and (lots["shares"] > 0).any())


def rates(config: Config) -> TaxRates:
    """The configured rates and holding period."""
    t = config.tax
    return TaxRates(t.short_term_rate, t.long_term_rate, t.long_term_after_days,
                    t.state_rate, t.niit_rate)


def tax_lots(inputs: Inputs, state: PortfolioState) -> TaxLots:
    """The long lots of held tickers, aligned to the universe."""
    lots = inputs.holdings.lots
    if lots is None:
        raise ValueError("tax_lots: the holdings carry no lots")
    ids = lot_ids(lots)
    keep = (lots["shares"].to_numpy(dtype=float) > 0) & lots["ticker"].isin(
        list(state.tickers)).to_numpy(dtype=bool)
    frame = lots.loc[keep]
    return TaxLots(
        asset=np.asarray(state.tickers.get_indexer(pd.Index(frame["ticker"])), dtype=np.intp),
        shares=frame["shares"].to_numpy(dtype=np.float64),
        basis_usd=frame["cost_basis_usd"].to_numpy(dtype=np.float64),
        acquired=pd.to_datetime(frame["acquired"]).to_numpy().astype("datetime64[D]"),
        ids=tuple(i for i, k in zip(ids, keep, strict=True) if k))


def settings(inputs: Inputs, state: PortfolioState, config: Config,
             lots: TaxLots) -> TaxSettings:
    """The decision's settings; the recent-sales file gives the year's realized gains
    and the loss sales a buy would wash.

    Raises
    ------
    ConfigError
        A specific lot id that names no lot held.
    """
    t = config.tax
    unknown = [name for name in t.specific_lots if name not in lots.ids]
    if t.lot_relief.value == Relief.SPECIFIC and unknown:
        raise ConfigError(f"tax.specific_lots: lot {unknown[0]!r} is not held; lot ids are "
                          f"TICKER:YYYY-MM-DD or the lot_id column (held: "
                          f"{', '.join(lots.ids)})")
    realized, days, assets = 0.0, np.zeros(0, "datetime64[D]"), np.zeros(0, np.intp)
    if inputs.sales is not None:
        realized = inputs.sales.realized_in_year_usd(state.as_of)
        losses = inputs.sales.losses()
        where = state.tickers.get_indexer(pd.Index(losses["ticker"]))
        held = where >= 0
        days = losses["sold"].to_numpy().astype("datetime64[D]")[held]
        assets = np.asarray(where[held], dtype=np.intp)
    return TaxSettings(
        rates=rates(config), relief=Relief(t.lot_relief.value), specific=t.specific_lots,
        gain_budget_usd=t.gain_budget_usd, realized_ytd_usd=realized,
        defer_horizon_days=float(t.defer_horizon_days) if t.defer_short_term_gains else 0.0,
        wash_window_days=t.wash_sale_days, allow_wash_sales=t.allow_wash_sales,
        loss_sale_days=days, loss_sale_assets=assets)


def taxed_step(rule: Rule, ctx: DayContext, day: AssetDay, inputs: Inputs,
               state: PortfolioState, config: Config) -> tuple[TaxedStep, TaxLots]:
    """The day's step after tax and the lots it relieved."""
    lots = tax_lots(inputs, state)
    taxed = tax_step(rule, ctx, day, lots, settings(inputs, state, config, lots),
                     np.datetime64(state.as_of.date(), "D"))
    return taxed, lots


def lot_text(taxed: TaxedStep, lots: TaxLots, asset: int, relief: str) -> str:
    """The lots a sale of ``asset`` relieves, and those deferred, as text."""
    mine = np.flatnonzero((lots.asset == asset) & (taxed.taken_shares > 0))
    parts = [f"{lots.ids[j]}×{taxed.taken_shares[j]:g} "
             f"({'LT' if taxed.long_term[j] else 'ST'}, gain {taxed.gain_usd[j]:,.0f})"
             for j in mine]
    held = np.flatnonzero((lots.asset == asset) & taxed.deferred)
    parts += [f"{lots.ids[j]} deferred until {taxed.long_term_from[j]}" for j in held]
    return f"{relief}: " + ", ".join(parts) if parts else ""


def tax_reasons(taxed: TaxedStep, tickers: pd.Index) -> list[str]:
    """What the tax changed, by ticker."""
    out = []
    for asset, text in taxed.reasons:
        out.append(text if asset < 0 else f"{tickers[asset]}: {text}")
    total = float(taxed.tax_usd.sum())
    if taxed.taken_shares.any():
        out.append(f"tax of the sales {total:,.2f} USD (realized net gain "
                   f"{float(taxed.gain_usd.sum()):,.2f} USD), counted as a cost")
    return out
