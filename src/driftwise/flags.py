"""Named degradations and warnings.

Nothing in driftwise degrades silently: every fallback, repair or doubtful input is a
:class:`Notice` carrying one :class:`Flag` (a stable name a user can grep for), the
tickers it concerns and a sentence of detail. Results carry a tuple of notices, and
every output (terminal, JSON, CSV, report) lists them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Flag(StrEnum):
    """Stable names of degradations, repairs and warnings."""

    # degradations of the inputs
    NO_TARGET = "no target specified"
    DRIFT_CAPPED = "drift capped"
    SHORT_POSITION = "short position"
    # positions the plan cannot trade as asked
    NOT_IN_TARGETS = "not in the targets"
    NO_PRICE_TODAY = "delisted or suspended"
    OPENS_SHORT = "opens a short"
    COSTS_AFTER_AS_OF = "costs dated after the as-of date"
    NO_VOLATILITY = "no volatility"
    NO_CORRELATIONS = "no correlations"
    ESTIMATED_LIQUIDITY = "estimated liquidity"
    ESTIMATED_COSTS = "estimated costs"
    TIER_SPREAD = "tier spread"
    STALE_COSTS = "stale costs"
    # liquidity
    ILLIQUID = "illiquid"
    MULTI_DAY = "multi-day execution"
    # data repairs and proxies
    VIX_PROXY = "VIX proxy"
    NO_VIX = "no VIX"
    GROUP_TARGET = "group-level target"
    SHORT_HISTORY = "short history"
    NO_LAST_REBALANCE = "no last rebalance date"
    PRICE_GAP_FILLED = "price gap filled"
    TARGETS_RESCALED = "targets rescaled"
    NON_SESSION_DROPPED = "non-session rows dropped"
    UNKNOWN_ADV = "unknown ADV"
    OVER_PARTICIPATION = "participation above cap"
    ESTIMATED_BORROW = "estimated borrow"
    UNKNOWN_MARKET_CAP = "unknown market cap"
    NO_MEMBERSHIP = "no index membership"
    TURNOVER_DROPPED = "turnover dropped by rounding"
    OPTIMIZER_FALLBACK = "optimizer fallback"
    # prices and VIX read
    PRICE_COLUMN = "price column"
    RAW_CLOSES = "raw closes"
    PRICE_JUMP = "suspect price jump"
    PRICE_JUMP_ACCEPTED = "price jump accepted"
    VIX_CARRIED = "VIX carried forward"
    NO_RISK_FREE = "cash earns nothing"
    # tax
    WASH_SALE = "wash sale"


@dataclass(frozen=True)
class Notice:
    """One flagged degradation.

    Parameters
    ----------
    flag : Flag
        The stable name.
    detail : str
        One sentence saying what was done and why.
    tickers : tuple of str
        The assets concerned (empty for portfolio-wide notices).
    """

    flag: Flag
    detail: str
    tickers: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """Plain-data form for JSON output."""
        return {"flag": self.flag.value, "detail": self.detail, "tickers": list(self.tickers)}


def notice(flag: Flag, detail: str, tickers: Iterable[str] = ()) -> Notice:
    """Build a :class:`Notice` with the tickers sorted and de-duplicated."""
    return Notice(flag=flag, detail=detail, tickers=tuple(sorted(set(tickers))))


def merge_notices(*groups: Iterable[Notice]) -> tuple[Notice, ...]:
    """Concatenate notice groups, dropping exact duplicates, keeping first-seen order."""
    seen: dict[Notice, None] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item, None)
    return tuple(seen)
