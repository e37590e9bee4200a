"""Asset location: a household's tax-inefficient assets held in its tax-deferred accounts
first (``[accounts] asset_location``).

The household's target, in USD, is the sum of its accounts' targets times their NAV:
``D_i = Σ_a NAV_a · w_a,i``. The tax-deferred accounts' invested capacity is
``K = Σ_{a deferred} NAV_a · (1 − c_a)`` (``c_a`` the account's cash target, kept). The
tax-inefficient assets ``I`` (bonds, REITs: configured asset classes or tickers) go
there first: ``P = min(K, Σ_{i∈I} D_i)`` USD of them, each in proportion to its ``D_i``;
the rest of ``K`` holds the other assets in proportion to theirs. Each tax-deferred
account takes its share ``NAV_a (1 − c_a) / K`` of that, and the other accounts share
what is left in proportion to their own invested capacity. Each account's weight is its
USD over its NAV, so every account still invests ``1 − c_a`` and the household's
target in USD is unchanged.

It applies when the household has a tax-deferred account and another one, each with an
asset-level target; otherwise each account keeps its own target, and its plan says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise.data.model import SecurityMaster, TargetLevel, Targets


@dataclass(frozen=True)
class Member:
    """One account of a household, as asset location sees it.

    Attributes
    ----------
    name : str
    nav_usd : float
        Its holdings marked to market, cash included.
    deferred : bool
        A tax-deferred account.
    targets : Targets or None
        Its target (None: none).
    """

    name: str
    nav_usd: float
    deferred: bool
    targets: Targets | None


def inefficient_tickers(master: SecurityMaster, classes: Sequence[str],
                        tickers: Sequence[str]) -> frozenset[str]:
    """The configured tickers and those whose master asset class is one of ``classes``
    (any case)."""
    wanted = {c.strip().lower() for c in classes}
    frame = master.frame
    found: set[str] = {t.upper() for t in tickers}
    if "asset_class" in frame.columns and wanted:
        found |= {str(t) for t, a in frame["asset_class"].items()
                  if isinstance(a, str) and a.strip().lower() in wanted}
    return frozenset(found)


def locate(members: Sequence[Member], inefficient: frozenset[str]
           ) -> tuple[dict[str, Targets], str]:
    """Each account's target after asset location, and what was done (or why not).

    Returns
    -------
    (dict, str)
        Account name -> its located target (empty: nothing changed), and the reason.
    """
    deferred = [m for m in members if m.deferred]
    if not deferred or len(deferred) == len(members):
        return {}, "asset location: the household needs a tax-deferred account and another"
    if any(m.targets is None or m.targets.level is not TargetLevel.ASSET for m in members):
        return {}, ("asset location: not applied (every account of the household needs an "
                    "asset-level target)")
    if any(not m.nav_usd > 0.0 for m in members):
        return {}, "asset location: not applied (an account of the household has no NAV)"
    targets = [m.targets for m in members if m.targets is not None]
    tickers = sorted(set().union(*(t.weights.index for t in targets)))
    nav = np.array([m.nav_usd for m in members])
    cash = np.array([t.cash_weight for t in targets])
    weights = np.array([t.weights.reindex(tickers).fillna(0.0).to_numpy() for t in targets])
    dollars = nav @ weights  # (N,) the household's target in USD
    bad = np.array([t in inefficient for t in tickers])
    is_deferred = np.array([m.deferred for m in members])
    capacity = nav * (1.0 - cash)  # (A,)
    room = float(capacity[is_deferred].sum())
    inside = np.zeros(len(tickers))
    held_bad = float(dollars[bad].sum())
    placed = min(room, held_bad)
    if held_bad > 0.0:
        inside[bad] = dollars[bad] * placed / held_bad
    good = float(dollars[~bad].sum())
    if good > 0.0:
        inside[~bad] = dollars[~bad] * (room - placed) / good
    outside = dollars - inside
    out: dict[str, Targets] = {}
    others = float(capacity[~is_deferred].sum())
    for k, m in enumerate(members):
        share = capacity[k] / (room if m.deferred else others)
        mine = (inside if m.deferred else outside) * share / nav[k]
        t = targets[k]
        index = pd.Index(tickers, name=t.weights.index.name)
        out[m.name] = dataclasses.replace(
            t, weights=pd.Series(mine, index=index, name="target_weight"),
            band_abs=t.band_abs.reindex(index), band_rel=t.band_rel.reindex(index),
            source=f"{t.source} located")
    moved = ", ".join(t for t, b in zip(tickers, bad, strict=True) if b) or "none"
    return out, (f"asset location: the household's targets split by tax status, its "
                 f"tax-inefficient assets ({moved}) held in its tax-deferred accounts first "
                 f"({placed:,.0f} of {held_bad:,.0f} USD fit there)")


def marked_nav_usd(shares: pd.Series, cash_usd: float, marks: pd.Series) -> float:
    """An account's NAV: ``cash + Σ shares · mark`` (NaN when a held ticker has no mark).

    Parameters
    ----------
    shares : pd.Series
        Shares by ticker.
    marks : pd.Series
        The last price of each ticker on the day, USD.
    """
    prices = marks.reindex(shares.index).to_numpy(dtype=float)
    return float(cash_usd) + float(np.dot(shares.to_numpy(dtype=float), prices))


def located_reason(why: str, target: Targets) -> str:
    """The reason a located account's plan gives: what was done and its own target."""
    shown = ", ".join(f"{t} {w:.1%}" for t, w in target.weights.items() if w > 0)
    return f"{why}; this account's target: {shown}"
