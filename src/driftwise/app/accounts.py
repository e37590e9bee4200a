"""Each account's plan settings from its profile: tax status, restrictions, household.

* **Tax status.** A taxable account is planned after tax (``[tax] enabled`` on: each
  sale's lot-level tax is a cost); a tax-deferred or tax-exempt account is planned with
  tax off, and its plan says so. An account without a declared status follows the
  configuration.
* **Restrictions.** The account's do-not-buy and do-not-sell lists are added to the
  configuration's (``[constraints]``).
* **Household wash sales** (:func:`driftwise.record.accounts.household_buys`, read by
  ``daily``): the tickers bought within the wash-sale window in the other accounts of
  the household or proposed to be bought there: a sale at a loss of one of them would
  be washed (IRC §1091 spans the household), so the plan does not propose it unless
  ``[tax] allow_wash_sales``, and says so either way. The other way round, a buy that
  would wash another account's sale at a loss is held back by the account's
  :class:`Terms` (:mod:`driftwise.app.household`).
* **Terms** (:class:`Terms`, :func:`with_terms`): what the household changes in one
  account's plan: tickers not bought, its located target, its own recent sales.
"""

from __future__ import annotations

from dataclasses import dataclass

from driftwise.config.model import Config
from driftwise.data.accounts import AccountProfile
from driftwise.data.model import Targets, TaxStatus
from driftwise.data.sales import RecentSales

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


@dataclass(frozen=True)
class Terms:
    """What its household changes in one account's plan.

    Attributes
    ----------
    no_buy : tuple of str
        Tickers not bought in this plan (a buy would wash another account's loss).
    reasons : tuple of str
        Added to the plan's reasons.
    targets : Targets or None
        The account's own target (asset location); None: as planned without it.
    sales : RecentSales or None
        The account's own recent sales; None: as planned without it.
    """

    no_buy: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    targets: Targets | None = None
    sales: RecentSales | None = None


def with_terms(config: Config, terms: Terms | None) -> Config:
    """``config`` with the terms' tickers added to ``[constraints] do_not_buy``."""
    if terms is None or not terms.no_buy:
        return config
    limits = config.constraints
    return config.model_copy(update={"constraints": limits.model_copy(update={
        "do_not_buy": tuple(sorted({*limits.do_not_buy, *terms.no_buy}))})})
