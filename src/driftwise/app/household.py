"""Wash sales across the accounts of a household, inside one run and against the record.

A sale at a loss in one account and a buy of the same ticker in another account of the
same household within the wash-sale window wash the loss once both fill (IRC §1091 spans
the household; a buy in a tax-deferred account washes a taxable account's loss too). The
planner sees such sales wherever they are: filled (the record's fills, the recent-sales
file's rows of the other accounts), open (the record's proposed, approved or sent sale
orders with a loss, ``orders.loss_usd``), or proposed by another account of the same run.

**Priority: the loss sale is kept, the buy is held back.** A loss sale realizes a tax
asset; a held-back buy only waits (or buys a replacement). Every account of the household
is first planned on its own (the record, not the run's other plans); then each account
whose plan buys a ticker that another account sells at a loss is planned again with that
ticker not bought (added to its do-not-buy list for this plan), and its reasons name the
other account and its sale. Planning again only ever adds tickers held back, so the
rounds end; they repeat until no plan buys what another sells at a loss. Under ``[tax]
allow_wash_sales`` nothing is held back: the buyer's and the seller's plans both say the
loss would be disallowed.

A loss sale counts when its account is neither tax-deferred nor tax-exempt (a loss there
is no tax loss) and its lots are relieved below their basis (the trade list's
``loss_usd``). Only rebalance and partial plans propose trades (as their stored orders).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from driftwise.app.accounts import Terms
from driftwise.app.plan import Decision, Plan
from driftwise.config.model import Config
from driftwise.data.accounts import AccountSpec
from driftwise.data.model import Holdings, Inputs, Targets, TaxStatus
from driftwise.data.sales import RecentSales
from driftwise.errors import DataError

if TYPE_CHECKING:
    from driftwise.app.batch import BatchPlan

ACTING = (Decision.REBALANCE, Decision.PARTIAL)
"""The decisions whose trades are proposed as orders."""

MARK = "(household wash sale)"
"""In every reason this module adds, so that a reader can pick them out."""


@dataclass(frozen=True)
class LossSale:
    """A sale at a loss in an account of the household.

    Attributes
    ----------
    ticker, account : str
    day : date
        The day it filled, or the day of the plan that proposed it.
    loss_usd : float
        The loss of its lots sold below their basis, USD (NaN: not known).
    status : str
        ``filled``, ``proposed``, ``approved`` or ``sent`` (an open order of the record),
        or ``planned`` (proposed by the account's plan in this run).
    """

    ticker: str
    account: str
    day: dt.date
    loss_usd: float
    status: str

    def text(self) -> str:
        """The sale in words, naming its account."""
        amount = f" ({self.loss_usd:,.2f} USD)" if math.isfinite(self.loss_usd) else ""
        if self.status == "filled":
            return f"account {self.account} sold {self.ticker} at a loss{amount} on {self.day}"
        if self.status == "planned":
            return (f"account {self.account} sells {self.ticker} at a loss{amount} in this "
                    "run's plan")
        return (f"account {self.account} has a {self.status} sale of {self.ticker} at a "
                f"loss{amount} (plan of {self.day})")


def counts(status: TaxStatus | None) -> bool:
    """Whether an account's sales at a loss are tax losses (not tax-deferred or exempt)."""
    return status not in (TaxStatus.TAX_DEFERRED, TaxStatus.TAX_EXEMPT)


def plan_losses(plan: Plan, account: str, day: dt.date) -> tuple[LossSale, ...]:
    """The plan's sales at a loss (``status`` planned), one per ticker."""
    trades = plan.trades
    if plan.decision not in ACTING or "loss_usd" not in trades.columns:
        return ()
    sold = trades[(trades["side"] == "SELL") & (trades["loss_usd"] > 0.0)]
    by_ticker = sold["loss_usd"].groupby(level=0, sort=True).sum()
    return tuple(LossSale(str(t), account, day, float(v), "planned")
                 for t, v in by_ticker.items())


def plan_buys(plan: Plan) -> frozenset[str]:
    """The tickers the plan buys."""
    if plan.decision not in ACTING or not len(plan.trades):
        return frozenset()
    trades = plan.trades
    return frozenset(str(t) for t in trades.index[trades["side"] == "BUY"])


Planner = Callable[[Mapping[str, Terms]], Mapping[str, Plan]]
"""Plans the accounts named by the mapping's keys, each with its terms."""


def settle(names: Sequence[str], planner: Planner, terms: Mapping[str, Terms],
           known: Mapping[str, Sequence[LossSale]], taxed: Mapping[str, bool],
           day: dt.date, config: Config, *, plans: Mapping[str, Plan] | None = None
           ) -> tuple[dict[str, Plan], dict[str, Terms]]:
    """Plan the accounts ``names`` of one household so that no buy washes another
    account's loss (see the module's notes for the priority), and return each plan and
    the terms it was made with.

    Parameters
    ----------
    names : sequence of str
        The household's accounts planned in this run.
    planner : Planner
    terms : Mapping[str, Terms]
        Each account's terms before the wash-sale rule (asset location, its sales).
    known : Mapping[str, sequence of LossSale]
        The sales at a loss each account's buys must not wash besides the run's: the
        other accounts' fills and open orders, the recent-sales file's rows.
    taxed : Mapping[str, bool]
        Whether the account's losses count (:func:`counts`).
    plans : Mapping[str, Plan], optional
        The accounts' plans with ``terms`` already made (else made first).
    """
    t = config.tax
    now = {n: terms.get(n, Terms()) for n in names}
    plans = dict(planner(now) if plans is None else plans)
    held: dict[str, set[str]] = {n: set(now[n].no_buy) for n in names}
    while True:
        mine = {n: plan_losses(plans[n], n, day) if taxed.get(n, True) else ()
                for n in names}
        redo: dict[str, Terms] = {}
        for n in names:
            hits = [s for s in _seen(n, names, known, mine)
                    if s.ticker in plan_buys(plans[n]) and s.ticker not in held[n]]
            if not hits or t.allow_wash_sales:
                continue
            tickers = {s.ticker for s in hits}
            held[n] |= tickers
            said = tuple(f"{s.ticker}: not bought {MARK}: {s.text()}, within "
                         f"{t.wash_sale_days} days; the buy would wash that loss (the loss "
                         "sale is kept, the buy held back)" for s in hits)
            redo[n] = dataclasses.replace(
                now[n], no_buy=tuple(sorted({*now[n].no_buy, *tickers})),
                reasons=now[n].reasons + said)
        if not redo:
            break
        now.update(redo)
        plans.update(planner(redo))
    if t.allow_wash_sales:
        plans = _flag(names, plans, known, mine, t.wash_sale_days)
    return plans, now


def _seen(name: str, names: Sequence[str], known: Mapping[str, Sequence[LossSale]],
          mine: Mapping[str, Sequence[LossSale]]) -> list[LossSale]:
    return [*known.get(name, ()), *(s for m in names if m != name for s in mine[m])]


def _flag(names: Sequence[str], plans: dict[str, Plan],
          known: Mapping[str, Sequence[LossSale]], mine: Mapping[str, Sequence[LossSale]],
          window_days: int) -> dict[str, Plan]:
    """Under ``allow_wash_sales``: each buy that washes a loss, and each loss sale of the
    run that another plan's buy washes, said in both plans."""
    said: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        bought = plan_buys(plans[n])
        for s in _seen(n, names, known, mine):
            if s.ticker not in bought:
                continue
            said[n].append(f"{s.ticker}: wash sale {MARK}: {s.text()}, within {window_days} "
                           "days; this buy disallows that loss (allowed by "
                           "tax.allow_wash_sales)")
            if s.status == "planned":
                said[s.account].append(
                    f"{s.ticker}: wash sale {MARK}: account {n} buys {s.ticker} in this "
                    "run's plan; the loss of this sale would be disallowed (allowed by "
                    "tax.allow_wash_sales)")
    return {n: (dataclasses.replace(p, reasons=p.reasons + tuple(said[n])) if said[n] else p)
            for n, p in plans.items()}


def plan_book(inputs: Inputs, books: Mapping[str, Holdings], config: Config, *,
              profiles: Mapping[str, AccountSpec],
              as_of: pd.Timestamp | str | None = None, pending_days: float = float("nan"),
              shared_targets: bool = True, workers: int | None = 1,
              scheduler: str | None = None) -> BatchPlan:
    """``driftwise plan --all`` with an accounts file: every account planned
    (:func:`driftwise.app.batch.plan_accounts`), each household's accounts together.

    * **Recent sales.** When the recent-sales file (``inputs.sales``) has an ``account``
      column, each account's plan reads its own rows and those without an account (its
      wash sales and the year's realized gain); the other rows of its household's
      accounts are sales at a loss its buys must not wash (within the window); rows of
      accounts outside its household are not its concern. Without the column, every
      account reads every row, as a plan of one account does.
    * **Wash sales across the household** (:func:`settle`): no account buys what
      another sells at a loss, in the file or in this run; the accounts planned again
      are planned in this process.
    * **Asset location** (``[accounts] asset_location``, with ``--targets``): each
      household's target split by tax status (:func:`driftwise.app.location.locate`),
      each account marked to market on the day.
    """
    from driftwise.app.batch import BatchPlan, plan_accounts

    houses: dict[str, list[str]] = {}
    for name in books:
        spec = profiles.get(name)
        if spec is not None and spec.household is not None:
            houses.setdefault(spec.household, []).append(name)
    houses = {h: names for h, names in houses.items() if len(names) > 1}
    window = config.tax.wash_sale_days
    terms, known = _file_terms(inputs, books, houses, window, as_of)
    if config.accounts.asset_location and shared_targets:
        for names in houses.values():
            for name, (target, why) in _located(inputs, books, profiles, names, config,
                                                as_of).items():
                mine = terms.get(name, Terms())
                terms[name] = dataclasses.replace(
                    mine, targets=target if target is not None else mine.targets,
                    reasons=(*mine.reasons, why))

    def run(chosen: Mapping[str, Terms], many: bool) -> dict[str, Plan]:
        batch = plan_accounts(inputs, {n: books[n] for n in chosen}, config, as_of=as_of,
                              pending_days=pending_days, shared_targets=shared_targets,
                              workers=workers if many else 1,
                              scheduler=scheduler if many else None,
                              profiles=profiles, terms=chosen)
        return dict(batch.plans)

    plans = run({n: terms.get(n, Terms()) for n in books}, True)
    for names in houses.values():
        day = pd.Timestamp(plans[names[0]].as_of).date()
        made, _ = settle(names, lambda chosen: run(chosen, False),
                         {n: terms.get(n, Terms()) for n in names}, known,
                         {n: counts(profiles[n].tax_status) for n in names}, day, config,
                         plans={n: plans[n] for n in names})
        plans.update(made)
    return BatchPlan({n: plans[n] for n in books})


def _file_terms(inputs: Inputs, books: Mapping[str, Holdings],
                houses: Mapping[str, list[str]], window_days: int,
                as_of: pd.Timestamp | str | None
                ) -> tuple[dict[str, Terms], dict[str, list[LossSale]]]:
    """Each account's own recent sales, and the loss sales of its household's other
    accounts within the window (by the ``account`` column of the recent-sales file)."""
    sales = inputs.sales
    if sales is None or sales.frame["account"].isna().all():
        return {}, {}
    frame = sales.frame
    day = pd.Timestamp(as_of if as_of is not None else inputs.market.prices.index[-1])
    unknown = sorted(set(frame["account"].dropna()) - set(books))
    if unknown:
        raise DataError(f"the recent sales name an account the holdings file does not "
                        f"have: {', '.join(map(str, unknown))}", file=sales.source,
                        field="account", expected="an account of the holdings file: "
                        + ", ".join(books), found=str(unknown[0]))
    terms = {n: Terms(sales=RecentSales(frame[frame["account"].isna()
                                              | (frame["account"] == n)].reset_index(
                                                  drop=True), sales.source))
             for n in books}
    recent = frame[(frame["gain_usd"] < 0.0) & (frame["sold"] >= day - pd.Timedelta(
        days=window_days)) & frame["account"].notna()]
    known: dict[str, list[LossSale]] = {}
    for names in houses.values():
        for n in names:
            theirs = recent[recent["account"].isin([m for m in names if m != n])]
            known[n] = [LossSale(str(t), str(a), pd.Timestamp(d).date(), -float(g), "filled")
                        for t, a, d, g in zip(theirs["ticker"], theirs["account"],
                                              theirs["sold"], theirs["gain_usd"],
                                              strict=True)]
    return terms, known


def _located(inputs: Inputs, books: Mapping[str, Holdings],
             profiles: Mapping[str, AccountSpec], names: Sequence[str], config: Config,
             as_of: pd.Timestamp | str | None) -> dict[str, tuple[Targets | None, str]]:
    """The household's located targets and the reason each plan gives (the shared target
    with each account's cash target)."""
    from driftwise.app.location import (
        Member,
        inefficient_tickers,
        locate,
        located_reason,
        marked_nav_usd,
    )
    from driftwise.data.accounts import with_cash_target

    day = pd.Timestamp(as_of) if as_of is not None else inputs.market.prices.index[-1]
    marks = inputs.market.prices.loc[:day].ffill().iloc[-1]
    members = []
    for n in names:
        target, spec = inputs.targets, profiles[n]
        if target is not None and spec.cash_target_weight is not None:
            target = with_cash_target(target, spec.cash_target_weight)
        nav = marked_nav_usd(books[n].shares, books[n].cash_usd, marks)
        members.append(Member(n, nav if math.isfinite(nav) else float("nan"),
                              spec.tax_status is TaxStatus.TAX_DEFERRED, target))
    settings = config.accounts
    located, why = locate(members, inefficient_tickers(
        inputs.master, settings.tax_inefficient_classes, settings.tax_inefficient_tickers))
    return {n: ((located[n], located_reason(why, located[n])) if n in located
                else (None, why)) for n in names}
