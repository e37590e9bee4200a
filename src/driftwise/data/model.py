"""Validated input records: what each reader returns.

These are values (frozen dataclasses). Readers build them only from data that passed
validation, so code downstream never re-checks types, NaN, signs or duplicates.
Cash is always its own scalar (``cash_usd``, ``cash_weight``), never a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import pandas as pd

from driftwise.data.jumps import PriceJump
from driftwise.flags import Notice

if TYPE_CHECKING:  # costs.build imports this module
    from driftwise.data.costs import CostFile
    from driftwise.data.sales import RecentSales

CASH = "CASH"
"""Ticker that marks the cash row in holdings and targets files."""


class TargetLevel(StrEnum):
    """The level at which target weights are given."""

    ASSET = "ticker"
    SECTOR = "sector"
    ASSET_CLASS = "asset_class"


class TaxStatus(StrEnum):
    """An account's tax status: its sales are taxed (lot-level tax in its plans), or
    not (a tax-deferred account such as an IRA or 401(k), a tax-exempt one such as a
    Roth IRA or an endowment: planned with tax off)."""

    TAXABLE = "taxable"
    TAX_DEFERRED = "tax_deferred"
    TAX_EXEMPT = "tax_exempt"


class DefaultTarget(StrEnum):
    """What to use when no target is given."""

    EQUAL = "equal"
    MARKET_CAP = "market_cap"


@dataclass(frozen=True)
class Holdings:
    """Current positions.

    Attributes
    ----------
    shares : pd.Series
        Shares per ticker (float, negative = short), index ``ticker``, unique, sorted,
        no cash. Positions aggregated over lots and accounts.
    cash_usd : float
        Cash in USD (may be negative only if the file says so; validated by the reader).
    lots : pd.DataFrame or None
        Lot-level rows (``ticker, shares, acquired, cost_basis_usd, account``) when the
        file is lot level; None for position-level files.
    source : str
        File label for messages.
    notices : tuple of Notice
    """

    shares: pd.Series
    cash_usd: float
    lots: pd.DataFrame | None = None
    source: str = "<holdings>"
    notices: tuple[Notice, ...] = field(default=())
    lines: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    """First source line of each ticker (index ticker), for errors found later."""

    @property
    def tickers(self) -> pd.Index:
        """Held tickers (sorted)."""
        return self.shares.index


@dataclass(frozen=True)
class Targets:
    """One version of the target allocation.

    Attributes
    ----------
    level : TargetLevel
        Asset, sector or asset-class level.
    weights : pd.Series
        Target weight per key (ticker or group name), fractions, no cash entry.
    cash_weight : float
        Target weight of cash (0 when the file has no ``CASH`` row).
    band_abs : pd.Series
        Absolute band per key (fraction of NAV), NaN where not given.
    band_rel : pd.Series
        Relative band per key (fraction of the target), NaN where not given.
    effective_date : pd.Timestamp or None
        When this version takes effect.
    source : str
    notices : tuple of Notice
    """

    level: TargetLevel
    weights: pd.Series
    cash_weight: float = 0.0
    band_abs: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    band_rel: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    effective_date: pd.Timestamp | None = None
    source: str = "<targets>"
    notices: tuple[Notice, ...] = field(default=())
    lines: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    """Source line of each key (index key), for errors found later."""


@dataclass(frozen=True)
class SecurityMaster:
    """Static data per ticker.

    Attributes
    ----------
    frame : pd.DataFrame
        Index ``ticker``; columns ``sector``, ``asset_class`` (object, None where
        unknown) and ``market_cap_usd`` (float, NaN where unknown).
    source : str
    """

    frame: pd.DataFrame
    source: str = "<security master>"

    @classmethod
    def empty(cls) -> SecurityMaster:
        """A master that knows nothing (every lookup falls back and is flagged)."""
        frame = pd.DataFrame(
            {"sector": pd.Series(dtype=object), "asset_class": pd.Series(dtype=object),
             "market_cap_usd": pd.Series(dtype=float)},
            index=pd.Index([], name="ticker", dtype=object),
        )
        return cls(frame=frame)


@dataclass(frozen=True)
class MarketData:
    """Daily market history on NYSE trading days.

    Attributes
    ----------
    prices : pd.DataFrame
        Adjusted close in USD, index ``date`` (ascending, unique), one column per
        ticker. NaN before a ticker's first day or after its last (never in between
        without a flag).
    volumes : pd.DataFrame or None
        Shares traded, split-adjusted, same shape as ``prices``; None if no volume.
    vix : pd.Series or None
        VIX close in index points, indexed by date.
    risk_free_annual : pd.Series or None
        Risk-free rate as an annual fraction, indexed by date.
    source : str
    notices : tuple of Notice
    """

    prices: pd.DataFrame
    volumes: pd.DataFrame | None = None
    vix: pd.Series | None = None
    risk_free_annual: pd.Series | None = None
    source: str = "<prices>"
    notices: tuple[Notice, ...] = field(default=())
    jumps: tuple[PriceJump, ...] = field(default=())
    """Suspect one-day price jumps the user has not accepted (:mod:`driftwise.data.jumps`)."""

    @property
    def last_date(self) -> pd.Timestamp:
        """The last date with any price."""
        return pd.Timestamp(self.prices.index[-1])


@dataclass(frozen=True)
class Inputs:
    """Everything a command needs about one portfolio: files already validated.

    Attributes
    ----------
    holdings : Holdings
    targets : Targets or None
        None means no target was given (a default is used and flagged).
    master : SecurityMaster
    market : MarketData
    last_rebalance : pd.Timestamp or None
        Date of the last rebalance, which drift speed and calendar rules need.
    costs : CostFile or None
        Per-ticker spread, commission and borrow inputs (tier defaults where absent).
    sales : RecentSales or None
        Recent realized sales (wash sales, gains realized this year).
    household_buys : tuple of str
        Tickers bought (or proposed to be bought) in another account of the same
        household within the wash-sale window: a sale at a loss of one of them would be
        washed (the record's fills and open orders; see ``driftwise daily``).
    household_loss_sales : tuple of (str, str)
        Sales at a loss (ticker, ISO date) in another account of the same household
        within the wash-sale window: a buy of the ticker would wash that loss.
    target_versions : tuple of Targets
        Every version of the targets a backtest switches between on their effective
        dates (the record's or several target files); empty: ``targets`` alone, over the
        whole window. The planner reads ``targets`` only.
    """

    holdings: Holdings
    targets: Targets | None
    master: SecurityMaster
    market: MarketData
    last_rebalance: pd.Timestamp | None = None
    costs: CostFile | None = None
    sales: RecentSales | None = None
    household_buys: tuple[str, ...] = ()
    household_loss_sales: tuple[tuple[str, str], ...] = ()
    target_versions: tuple[Targets, ...] = ()
