"""Each account's plan settings from its profile: tax status, restrictions, household.

* **Tax status.** A taxable account is planned after tax (``[tax] enabled`` on: each
  sale's lot-level tax is a cost); a tax-deferred or tax-exempt account is planned with
  tax off, and its plan says so. An account without a declared status follows the
  configuration.
* **Restrictions.** The account's do-not-buy and do-not-sell lists are added to the
  configuration's (``[constraints]``).
* **Household wash sales.** :func:`household_buys`: the tickers bought within the
  wash-sale window in the other accounts of the household (the record's fills) or
  proposed to be bought there (their open orders): a sale at a loss of one of them
  would be washed (IRC §1091 spans the household), so the plan does not propose it
  unless ``[tax] allow_wash_sales``, and says so either way.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from driftwise.config.model import Config
from driftwise.data.model import TaxStatus
from driftwise.record.accounts import AccountProfile, household_members, window_start
from driftwise.record.schema import fills, orders, plans

_OFF = {TaxStatus.TAX_DEFERRED: "tax-deferred", TaxStatus.TAX_EXEMPT: "tax-exempt"}


def account_config(config: Config, profile: AccountProfile | None
                   ) -> tuple[Config, tuple[str, ...]]:
    """The configuration an account is planned with, and the reasons that say how it
    differs from ``config``."""
    if profile is None:
        return config, ()
    reasons: list[str] = []
    tax = config.tax
    if profile.tax_status is TaxStatus.TAXABLE and not tax.enabled:
        tax = tax.model_copy(update={"enabled": True})
        reasons.append(f"tax on: account {profile.name} is taxable (lot-level tax of each "
                       "sale counted as a cost)")
    elif profile.tax_status in _OFF:
        tax = tax.model_copy(update={"enabled": False})
        reasons.append(f"tax off: account {profile.name} is {_OFF[profile.tax_status]} "
                       "(its sales are not taxed; planned without lot-level tax)")
    limits = config.constraints
    if profile.do_not_buy or profile.do_not_sell:
        limits = limits.model_copy(update={
            "do_not_buy": tuple(sorted({*limits.do_not_buy, *profile.do_not_buy})),
            "do_not_sell": tuple(sorted({*limits.do_not_sell, *profile.do_not_sell}))})
        shown = [f"do-not-{k} {', '.join(v)}" for k, v in
                 (("buy", profile.do_not_buy), ("sell", profile.do_not_sell)) if v]
        reasons.append(f"account {profile.name} restrictions: " + "; ".join(shown))
    if tax is config.tax and limits is config.constraints:
        return config, tuple(reasons)
    return config.model_copy(update={"tax": tax, "constraints": limits}), tuple(reasons)


def household_buys(connection: Connection, profile: AccountProfile | None, day: dt.date,
                   window_days: int) -> tuple[str, ...]:
    """Tickers the other accounts of the household bought on or after ``day −
    window_days`` (their fills up to the day), or may still buy (their proposed,
    approved or sent BUY orders of plans made in that window), sorted; () without a
    household."""
    if profile is None or profile.household is None:
        return ()
    others = [i for i, name in household_members(connection, profile.household)
              if name != profile.name]
    if not others:
        return ()
    start = window_start(day, window_days)
    bought = set(connection.execute(sa.select(fills.c.ticker).where(
        fills.c.account_id.in_(others) & (fills.c.side == "BUY")
        & (fills.c.filled_at >= dt.datetime.combine(start, dt.time()))
        & (fills.c.filled_at < dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    )).scalars())
    bought |= set(connection.execute(sa.select(orders.c.ticker).join(
        plans, orders.c.plan_id == plans.c.id).where(
        orders.c.account_id.in_(others) & (orders.c.side == "BUY")
        & orders.c.status.in_(("proposed", "approved", "sent"))
        & (plans.c.as_of >= start) & (plans.c.as_of <= day))).scalars())
    return tuple(sorted(str(t) for t in bought))
