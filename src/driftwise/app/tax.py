"""The plan's tax: lots and settings from the inputs and ``[tax]``, and their text.

:func:`taxed_step` builds the typed lots and settings of
:func:`driftwise.policy.tax_gate.tax_step` from the holdings' lots, the recent-sales file
and the configuration; :func:`lot_text` and :func:`tax_reasons` say what it decided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from driftwise.config import Config
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError
from driftwise.policy.context import DayContext
from driftwise.policy.rule import AssetDay, Rule
from driftwise.state import PortfolioState

if TYPE_CHECKING:  # the lot arithmetic is imported where a plan has lots (see applies)
    from driftwise.policy.tax_gate import TaxedStep, TaxLots, TaxSettings
    from driftwise.tax import TaxRates

__all__ = ["HARVEST_COLUMNS", "TaxLots", "TaxedStep", "applies", "donate", "harvest_scan",
           "harvest_table", "lot_text", "rates", "settings", "tax_lots", "tax_reasons",
           "taxed_step"]


def __getattr__(name: str) -> Any:
    """``TaxLots`` and ``TaxedStep`` (:mod:`driftwise.policy.tax_gate`), imported on first
    use like the rest of the lot arithmetic."""
    if name in ("TaxLots", "TaxedStep"):
        from driftwise.policy import tax_gate

        return getattr(tax_gate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


HARVEST_COLUMNS = ("ticker", "lot", "term", "shares", "basis_usd", "value_usd", "loss_usd",
                   "loss_fraction", "tax_saved_now_usd", "deferral_usd", "arbitrage_usd",
                   "harvest_value_usd", "replacement", "proposed", "note")
"""Columns of :func:`harvest_table`."""


def applies(inputs: Inputs, config: Config) -> bool:
    """The plan decides after tax: ``[tax] enabled`` and the holdings carry lots."""
    lots = inputs.holdings.lots
    return bool(config.tax.enabled and lots is not None and (lots["shares"] > 0).any())


def rates(config: Config) -> TaxRates:
    """The configured rates and holding period."""
    from driftwise.tax import TaxRates

    t = config.tax
    return TaxRates(t.short_term_rate, t.long_term_rate, t.long_term_after_days,
                    t.state_rate, t.niit_rate)


def tax_lots(inputs: Inputs, state: PortfolioState) -> TaxLots:
    """The long lots of held tickers, aligned to the universe."""
    from driftwise.policy.tax_gate import TaxLots
    from driftwise.tax import lot_ids

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
    from driftwise.policy.tax_gate import TaxSettings
    from driftwise.tax import Relief

    t = config.tax
    unknown = [name for name in t.specific_lots if name not in lots.ids]
    if t.lot_relief.value == Relief.SPECIFIC and unknown:
        raise ConfigError(f"tax.specific_lots: lot {unknown[0]!r} is not held; lot ids are "
                          f"the lot file's lot_id, else TICKER:YYYY-MM-DD (held: "
                          f"{', '.join(lots.ids)})")
    realized, days, assets = 0.0, np.zeros(0, "datetime64[D]"), np.zeros(0, np.intp)
    if inputs.sales is not None:
        realized = inputs.sales.realized_in_year_usd(state.as_of)
        losses = inputs.sales.losses()
        where = state.tickers.get_indexer(pd.Index(losses["ticker"]))
        held = where >= 0
        days = losses["sold"].to_numpy().astype("datetime64[D]")[held]
        assets = np.asarray(where[held], dtype=np.intp)
    if inputs.household_loss_sales:
        where = state.tickers.get_indexer(pd.Index([t for t, _ in inputs.household_loss_sales],
                                                   dtype=object))
        held = where >= 0
        days = np.concatenate([days, np.array([d for _, d in inputs.household_loss_sales],
                                              dtype="datetime64[D]")[held]])
        assets = np.concatenate([assets, np.asarray(where[held], dtype=np.intp)])
    bought = state.tickers.get_indexer(pd.Index(list(inputs.household_buys), dtype=object))
    return TaxSettings(
        household_buy_assets=np.asarray(bought[bought >= 0], dtype=np.intp),
        rates=rates(config), relief=Relief(t.lot_relief.value), specific=t.specific_lots,
        gain_budget_usd=t.gain_budget_usd, realized_ytd_usd=realized,
        defer_horizon_days=float(t.defer_horizon_days) if t.defer_short_term_gains else 0.0,
        wash_window_days=t.wash_sale_days, allow_wash_sales=t.allow_wash_sales,
        loss_sale_days=days, loss_sale_assets=assets,
        harvest_discount_rate_annual=t.harvest_discount_rate_annual,
        harvest_years_to_sale=t.harvest_years_to_sale)


def taxed_step(rule: Rule, ctx: DayContext, day: AssetDay, inputs: Inputs,
               state: PortfolioState, config: Config) -> tuple[TaxedStep, TaxLots]:
    """The day's step after tax and the lots it relieved."""
    from driftwise.policy.tax_gate import tax_step

    lots = tax_lots(inputs, state)
    taxed = tax_step(rule, ctx, day, lots, settings(inputs, state, config, lots),
                     np.datetime64(state.as_of.date(), "D"))
    return taxed, lots


def lot_text(taxed: TaxedStep, lots: TaxLots, asset: int, relief: str) -> str:
    """The lots a sale of ``asset`` relieves, and those deferred, as text (each count to
    12 significant digits: ``driftwise fills`` reads the text back as the lots sold)."""
    mine = np.flatnonzero((lots.asset == asset) & (taxed.taken_shares > 0))
    parts = [f"{lots.ids[j]}×{taxed.taken_shares[j]:.12g} "
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


def harvest_table(inputs: Inputs, state: PortfolioState, config: Config) -> pd.DataFrame:
    """The loss-harvest candidates of the lots on the as-of date, largest loss first.

    One row per lot at or beyond ``[tax] harvest_loss_threshold`` and
    ``harvest_min_loss_usd`` (columns :data:`HARVEST_COLUMNS`): the harvested loss, the tax
    it saves now, and its value split into the present value of the deferral and the
    rate arbitrage (:mod:`driftwise.tax.harvest`); the replacement (the configured pair,
    or cash until the wash-sale window ends). A lot of a ticker also bought within the
    wash-sale window is not proposed (the loss would be washed) unless wash sales are
    allowed, and the note says so either way; so is a lot of a ticker bought (or proposed
    to be bought) in another account of the household (``inputs.household_buys``).
    """
    from driftwise.tax.harvest import harvest_values, replacement_pairs

    t = config.tax
    lots = tax_lots(inputs, state)
    prices = state.prices_usd[lots.asset]
    day = np.datetime64(state.as_of.date(), "D")
    values = harvest_values(lots.shares, lots.basis_usd, lots.acquired, prices, day,
                            rates(config), threshold=t.harvest_loss_threshold,
                            min_loss_usd=t.harvest_min_loss_usd,
                            discount_rate_annual=t.harvest_discount_rate_annual,
                            years_to_sale=t.harvest_years_to_sale)
    pairs = replacement_pairs(t.harvest_pairs)
    window = np.timedelta64(t.wash_sale_days, "D")
    until = (state.as_of + pd.Timedelta(days=t.wash_sale_days + 1)).date()
    rows = []
    for j in np.flatnonzero(values.eligible):
        ticker = str(state.tickers[lots.asset[j]])
        recent = (lots.asset == lots.asset[j]) & (day - lots.acquired <= window)
        recent[j] = False
        note, proposed = "", True
        if recent.any():
            bought = ", ".join(str(d) for d in lots.acquired[recent])
            note = (f"wash sale: {ticker} bought {bought}, within {t.wash_sale_days} days"
                    + ("; the loss would be disallowed (allowed by tax.allow_wash_sales)"
                       if t.allow_wash_sales else "; not proposed"))
            proposed = t.allow_wash_sales
        elif ticker in inputs.household_buys:
            note = (f"wash sale: {ticker} bought within {t.wash_sale_days} days in another "
                    "account of the household"
                    + ("; the loss would be disallowed (allowed by tax.allow_wash_sales)"
                       if t.allow_wash_sales else "; not proposed"))
            proposed = t.allow_wash_sales
        rows.append({
            "ticker": ticker, "lot": lots.ids[j],
            "term": "LT" if values.long_term[j] else "ST", "shares": lots.shares[j],
            "basis_usd": lots.basis_usd[j], "value_usd": lots.shares[j] * prices[j],
            "loss_usd": values.loss_usd[j],
            "loss_fraction": values.loss_usd[j] / lots.basis_usd[j],
            "tax_saved_now_usd": values.tax_saved_now_usd[j],
            "deferral_usd": values.deferral_usd[j], "arbitrage_usd": values.arbitrage_usd[j],
            "harvest_value_usd": values.value_usd[j],
            "replacement": pairs.get(ticker, f"cash until {until}"),
            "proposed": proposed, "note": note})
    frame = pd.DataFrame(rows, columns=list(HARVEST_COLUMNS))
    return frame.sort_values("loss_usd", ascending=False, kind="stable").reset_index(drop=True)


def harvest_scan(inputs: Inputs, config: Config, *, as_of: pd.Timestamp | str | None = None
                 ) -> tuple[pd.Timestamp, pd.DataFrame]:
    """``driftwise harvest``: the as-of date and the loss-harvest candidates of the lots.

    Raises
    ------
    DataError
        The holdings carry no lots (a harvest is decided lot by lot).
    """
    from driftwise.data.loader import with_default_targets
    from driftwise.errors import DataError
    from driftwise.state import build_state

    lots = inputs.holdings.lots
    if lots is None or not (lots["shares"] > 0).any():
        raise DataError("loss harvesting needs tax lots: give lot-level holdings "
                        "(ticker, shares, acquired, cost_basis_usd) or --lots",
                        file=inputs.holdings.source, field="acquired",
                        expected="lot-level holdings", found="positions without lots")
    if inputs.targets is None:
        inputs = with_default_targets(inputs, config.portfolio.default_target)
    state = build_state(inputs.holdings, inputs.targets, inputs.market, inputs.master,
                        as_of=as_of)
    return state.as_of, harvest_table(inputs, state, config)


def donate(inputs: Inputs, state: PortfolioState, config: Config, amount_usd: float
           ) -> tuple[Inputs, pd.DataFrame, str]:
    """Give ``amount_usd`` before the plan: appreciated long-term lots of overweight
    assets first (:mod:`driftwise.tax.donation`), the rest from cash.

    Returns
    -------
    inputs : Inputs
        The holdings after the gift (lots relieved, shares and cash reduced).
    table : pd.DataFrame
        One row per lot given: ``ticker, lot, shares, value_usd, gain_usd,
        tax_avoided_usd``.
    reason : str
        The gift in words, with the tax avoided.

    Raises
    ------
    DataError
        No lots, or the lots and the cash together hold less than the amount.
    """
    import dataclasses

    from driftwise.errors import DataError
    from driftwise.tax.donation import choose_donation

    source = inputs.holdings.source
    if inputs.holdings.lots is None:
        raise DataError("a donation of lots needs tax lots: give lot-level holdings or "
                        "--lots", file=source, field="acquired",
                        expected="lot-level holdings", found="positions without lots")
    lots = tax_lots(inputs, state)
    overweight = state.weights > state.target_weights
    gift = choose_donation(lots.asset, lots.shares, lots.basis_usd, lots.acquired,
                           state.prices_usd[lots.asset], overweight, amount_usd,
                           np.datetime64(state.as_of.date(), "D"), rates(config),
                           whole_shares=config.constraints.whole_shares)
    cash = inputs.holdings.cash_usd - gift.from_cash_usd
    if cash < -1e-6:
        raise DataError(f"the donation of USD {amount_usd:,.2f} exceeds what appreciated "
                        f"long-term lots and cash can give (USD "
                        f"{amount_usd - gift.from_cash_usd + inputs.holdings.cash_usd:,.2f})",
                        file=source, field="cost_basis_usd",
                        expected="a donation at most the appreciated long-term lots plus cash",
                        found=f"USD {amount_usd:,.2f}")
    frame = inputs.holdings.lots.copy()
    keep = (frame["shares"].to_numpy(dtype=float) > 0) & frame["ticker"].isin(
        list(state.tickers)).to_numpy(dtype=bool)
    rows = np.flatnonzero(keep)
    left = 1.0 - gift.shares / lots.shares
    frame.loc[frame.index[rows], "cost_basis_usd"] = lots.basis_usd * left
    frame.loc[frame.index[rows], "shares"] = lots.shares * left
    frame = frame.loc[frame["shares"] > 1e-9].reset_index(drop=True)
    shares = inputs.holdings.shares.copy()
    given = pd.Series(gift.shares, index=[state.tickers[a] for a in lots.asset]).groupby(
        level=0).sum()
    shares = shares.sub(given.reindex(shares.index, fill_value=0.0))
    shares = shares[shares.abs() > 1e-9]
    holdings = dataclasses.replace(inputs.holdings, shares=shares, cash_usd=cash, lots=frame)
    given_lots = np.flatnonzero(gift.shares > 0)
    table = pd.DataFrame({
        "ticker": [str(state.tickers[lots.asset[j]]) for j in given_lots],
        "lot": [lots.ids[j] for j in given_lots], "shares": gift.shares[given_lots],
        "value_usd": gift.value_usd[given_lots], "gain_usd": gift.gain_usd[given_lots],
        "tax_avoided_usd": gift.tax_avoided_usd[given_lots]})
    reason = (f"donation of USD {amount_usd:,.2f}: USD {gift.value_usd.sum():,.2f} in "
              f"appreciated long-term lots ({', '.join(table['lot']) or 'none'}), USD "
              f"{gift.from_cash_usd:,.2f} in cash; tax avoided USD "
              f"{gift.tax_avoided_usd.sum():,.2f} (the gain given, "
              f"{gift.gain_usd.sum():,.2f}, at the long-term rate)")
    return dataclasses.replace(inputs, holdings=holdings), table, reason
