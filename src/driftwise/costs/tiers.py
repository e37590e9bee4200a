"""Market-capitalization tiers and the fallback values they carry.

When an asset lacks cost or liquidity data, driftwise falls back to a value chosen by
its market-cap tier. The tier boundaries and every tier value are **assumptions**, kept
in one frozen :class:`TierDefaults` so a user can override and sweep them.

Boundaries (a common US convention, e.g. the Morningstar / FINRA investor-education
bands): large cap ``>= $10B``, mid cap ``$2B .. $10B``, small cap ``< $2B``. An asset
whose market cap is unknown is treated as **mid cap**, and that is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray, IntArray
from driftwise.errors import ConfigError


class CapTier(IntEnum):
    """Market-cap tier; the value indexes the per-tier tuples of :class:`TierDefaults`."""

    LARGE = 0
    MID = 1
    SMALL = 2


DEFAULT_OUTSTANDING_OVER_ADV = 150.0
"""Default ``Theta / V``: shares outstanding over average daily volume (days).

Its inverse is the daily turnover (1/150 = 0.67% of the shares a day). 150 is the median
of ``market cap / 60-day dollar ADV`` over the 398 S&P 500 stocks of the 2017-03-08
market-cap snapshot in ``../shared/data`` (quartiles 108 and 208); used by the
Almgren et al. (2005) permanent-impact term and by the ADV proxy when a stock has no
volume history. An assumption for stocks outside the large-cap universe.
"""


@dataclass(frozen=True)
class TierDefaults:
    """Tier boundaries and fallback values (all assumptions, documented per field).

    Attributes
    ----------
    large_cap_min_usd : float
        Market cap at or above which an asset is large cap (default $10B).
    mid_cap_min_usd : float
        Market cap at or above which an asset is mid cap (default $2B); below: small.
    spread_bps : tuple of 3 floats
        Full quoted bid-ask spread used when no spread is known, large / mid / small,
        in bps of price (5 / 10 / 20). Half is paid per trade.
    all_in_bps : tuple of 3 floats
        One-way all-in cost (spread + commission + impact) when an asset has no cost
        data and no liquidity data at all (20 / 50 / 100).
    sigma_daily : tuple of 3 floats
        Daily volatility used when a stock has no price history and no peer to borrow
        from (1.5% / 2.0% / 2.5%, i.e. about 24% / 32% / 40% annualized; assumption).
    unknown_cap_usd : float
        Market cap assumed for the ADV proxy when the cap is unknown ($4.5B, the
        geometric middle of the mid-cap band; the asset is also treated as mid cap).
    """

    large_cap_min_usd: float = 10e9
    mid_cap_min_usd: float = 2e9
    spread_bps: tuple[float, float, float] = (5.0, 10.0, 20.0)
    all_in_bps: tuple[float, float, float] = (20.0, 50.0, 100.0)
    sigma_daily: tuple[float, float, float] = (0.015, 0.020, 0.025)
    unknown_cap_usd: float = 4.5e9

    def __post_init__(self) -> None:
        if not 0.0 < self.mid_cap_min_usd < self.large_cap_min_usd < np.inf:
            raise ConfigError(
                "tier boundaries must satisfy 0 < mid_cap_min_usd < large_cap_min_usd; "
                f"found {self.mid_cap_min_usd} and {self.large_cap_min_usd}")
        for name in ("spread_bps", "all_in_bps", "sigma_daily"):
            values = tuple(float(v) for v in getattr(self, name))
            if len(values) != 3 or not all(np.isfinite(v) and v >= 0.0 for v in values):
                raise ConfigError(f"tier {name} must be three finite non-negative numbers "
                                  f"(large, mid, small); found {getattr(self, name)!r}")
            object.__setattr__(self, name, values)
        if not (np.isfinite(self.unknown_cap_usd) and self.unknown_cap_usd > 0.0):
            raise ConfigError(f"unknown_cap_usd must be positive; found {self.unknown_cap_usd}")


def cap_tier(market_cap_usd: npt.ArrayLike, tiers: TierDefaults) -> IntArray:
    """Tier index per asset (0 large, 1 mid, 2 small; unknown cap -> 1 mid).

    Parameters
    ----------
    market_cap_usd : array_like, shape (n_assets,)
        Market capitalization in USD, NaN where unknown.
    tiers : TierDefaults

    Returns
    -------
    ndarray of intp, shape (n_assets,)
        Values of :class:`CapTier`.
    """
    cap = np.asarray(market_cap_usd, dtype=np.float64)
    out = np.full(cap.shape, CapTier.MID, dtype=np.intp)
    out[cap >= tiers.large_cap_min_usd] = CapTier.LARGE
    out[cap < tiers.mid_cap_min_usd] = CapTier.SMALL
    return out


def tier_value(tier: IntArray, values: tuple[float, float, float]) -> FloatArray:
    """Look up a per-tier value, ``values[tier]``, elementwise."""
    return np.asarray(values, dtype=np.float64)[tier]
