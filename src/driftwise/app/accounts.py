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
  ``[tax] allow_wash_sales``, and says so either way.
"""

from __future__ import annotations

from driftwise.config.model import Config
from driftwise.data.accounts import AccountProfile
from driftwise.data.model import TaxStatus

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
