"""The after-tax backtest: one configuration, its tax lots through history, a plain loop.

Each day of the window, in the engine's order (:mod:`driftwise.backtest.engine`, whose
day building it calls: borrow, marks, :meth:`DayContext.of`, the trigger):

1. the trigger is evaluated on the book's marks;
2. on a day it fires, the **tax-aware** rule decides with
   :func:`driftwise.policy.tax_gate.tax_step`, the planner's own decision after tax
   (relief, deferral, wash-sale holds, each sale cut at its best lot boundary, the gain
   budget with the year's realized gain so far, the skip counting the tax); the
   **tax-unaware** rule (the baseline of the tax alpha) decides with
   :func:`driftwise.policy.rule.step` and its sales relieve lots in the same relief order
   (HIFO, FIFO, minimum tax, or specific lots: the lots of the starting holdings named by
   ``specific_lots`` first, then minimum tax);
3. the trades are booked (:func:`~driftwise.policy.book.book_trades`) and the lots
   relieved and opened (:class:`~driftwise.backtest.lotbook.LotBook`, which applies the
   wash-sale rule: a loss washed by a purchase within the window is disallowed and moved
   to the replacement's basis);
4. on a harvest day (the first session of each period of ``harvest_every``), the
   tax-aware rule sells every lot at or beyond the harvest threshold
   (:func:`driftwise.tax.harvest.harvest_values`, the planner's harvest test), unless a
   lot of the asset was bought within the wash-sale window. The proceeds buy the
   ticker's configured replacement (``harvest_pairs``; not substantially identical, so
   no wash) unless that purchase would itself wash a loss sale of the replacement within
   the window (then, unless wash sales are allowed, they wait in cash); the proceeds
   held in cash buy the asset back on the first session after the window, and with
   ``swap_back`` so do the replacement's lots, sold then. The replacement's lots are lots
   like any other: the wash-sale rule applies to them by their own ticker;
5. on the last session of each calendar year the year's realized results are netted
   (:func:`driftwise.tax.netting.net_year`, the USD 3,000 limit, the carry-forward) and the
   tax is paid from cash (a negative tax, the ordinary-income offset, is received), with
   the tax on the year's interest earned by cash (the risk-free rate, as in the engine):
   ordinary income at the short-term rate + state + NIIT (a year's net interest below
   zero, cash overdrawn by taxes, is not deducted);
6. on the last day the portfolio is liquidated on paper: the remaining lots' gains are
   long-term gains of the last year, netted with it; the **after-tax liquidation value**
   is the NAV less that year's tax, so that deferral is not counted as a saving.

The day starts as the engine's (:func:`~driftwise.backtest.engine.open_day`): target
versions switch on their effective dates, the switch an event the rule acts on whatever
its trigger says (without the cost skip; the tax-aware rule still defers and holds what
tax says to), and targets by sector or asset class are split over each day's holdings
as the planner splits them.

**Stocks that stop trading.** On the switch day of a version that names stocks that
stopped trading (its "delisted or suspended" notices, ``Schedule.exits``), the whole
position in them is sold first, at the day's close with the day's cost model, by the
engine's own sale (:func:`~driftwise.backtest.engine.sell_exits`); every lot of them is
relieved and its gain or loss realized in the year's result like any sale's
(:attr:`AfterTaxResult.exit_sales`); then the rule, tax-aware or not, sizes the event on
the book after the sale, so that no destination (half-way, the band's edge) keeps part of
a stock that no longer trades. The stock is on the no-buy list from then on (the rule,
harvest replacements, buy-backs and swaps back alike). A harvest replacement standing in
for it is not sold by the sale (it still trades): it keeps counting against the stopped
stock's target in the new version (0 when the version drops it), so the event moves it
there by the rule's destination (:func:`_sell_exits`). Switch days are never inside a
quiet block.

Taxes paid may take cash below zero; the rule's next rebalance restores the cash target.
A replacement outside the targets joins the universe at target weight 0 and, once a
harvest buys it, **stands in** for the harvested asset: the two count as one position
against the harvested asset's target (:func:`stand_in_targets`: the target and band split
over the two in proportion to their values, the portfolio drift of the position), so
holding the replacement is no drift, a band or threshold fires when the position leaves
it, and a rebalance moves the position to target keeping its mix. While a stand-in is
held the days are simulated one by one (its split target moves with its prices). A
replacement with a target of its own counts against its own target.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._blas import one_blas_thread
from driftwise._types import TRADING_DAYS, FloatArray, IntArray
from driftwise.backtest import blocks
from driftwise.backtest.batches import Batch, DayCosts, Outputs, Window, start_state
from driftwise.backtest.engine import (
    event_rule,
    make_batches,
    open_day,
    pay_borrow,
    reference_nav,
    sell_exits,
)
from driftwise.backtest.grid import RuleGrid
from driftwise.backtest.history import universe
from driftwise.backtest.lotbook import LotBook
from driftwise.backtest.metrics import tracking_error
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError
from driftwise.policy.book import Book, Trades, book_trades
from driftwise.policy.rule import AssetDay, step
from driftwise.policy.tax_gate import TaxLots, TaxSettings, tax_step
from driftwise.tax.harvest import HARVEST_MIN_LOSS_USD, HARVEST_THRESHOLD, harvest_values
from driftwise.tax.lots import Relief, lot_ids, relief_order, relieve
from driftwise.tax.netting import ORDINARY_LOSS_LIMIT_USD, net_year, year_tax_usd

HARVEST_PERIODS = ("day", "week", "month", "quarter", "year", "never")
"""Values of :attr:`AfterTaxSettings.harvest_every`."""


HARVEST_COLUMNS = ("date", "ticker", "acquired", "shares", "basis_usd", "proceeds_usd",
                   "loss_usd", "long_term", "deferral_usd", "arbitrage_usd", "replacement")
"""Columns of :attr:`AfterTaxResult.harvests`."""

EXIT_COLUMNS = ("date", "ticker", "acquired", "shares", "basis_usd", "proceeds_usd",
                "gain_usd", "long_term", "lot_id")
"""Columns of :attr:`AfterTaxResult.exit_sales`."""


@dataclass(frozen=True)
class AfterTaxSettings:
    """How a configuration is taxed through the backtest.

    Attributes
    ----------
    tax : TaxSettings
        Rates, relief, gain budget, deferral, wash-sale window (the planner's settings;
        the recent-sales fields are filled by the run).
    aware : bool
        Decide after tax (``tax_step``) and harvest; False: the same rule deciding
        without tax (``step``), its lots and taxes still kept (the tax alpha's baseline).
    harvest_every : str
        One of :data:`HARVEST_PERIODS`: harvest on the first session of each period.
    harvest_threshold, harvest_min_loss_usd : float
        A lot is harvested at a loss of at least this fraction of its basis and USD.
    ordinary_limit_usd : float
        Net capital loss deducted from ordinary income per year, USD.
    harvest_pairs : tuple of (str, str)
        ``(ticker, replacement)``: a harvested ticker's proceeds buy its replacement (not
        substantially identical) instead of waiting in cash; the backtest's universe
        gets the replacements of its tickers (at target weight 0).
    swap_back : bool
        Sell a harvest's replacement lots and buy the harvested ticker back once its
        wash-sale window has ended; False: keep the replacement (standing in for the
        harvested ticker, one position with it in the rule's later rebalances).
    harvest_discount_rate_annual, harvest_years_to_sale : float
        The value of each harvest shown in :attr:`AfterTaxResult.harvests` (its deferral
        and rate arbitrage, :func:`driftwise.tax.harvest.harvest_values`).
    """

    tax: TaxSettings
    aware: bool = True
    harvest_every: str = "month"
    harvest_threshold: float = HARVEST_THRESHOLD
    harvest_min_loss_usd: float = HARVEST_MIN_LOSS_USD
    ordinary_limit_usd: float = ORDINARY_LOSS_LIMIT_USD
    harvest_pairs: tuple[tuple[str, str], ...] = ()
    swap_back: bool = False
    harvest_discount_rate_annual: float = 0.05
    harvest_years_to_sale: float = 10.0

    def __post_init__(self) -> None:
        if self.harvest_every not in HARVEST_PERIODS:
            raise ConfigError(f"harvest_every must be one of {', '.join(HARVEST_PERIODS)}; "
                              f"found {self.harvest_every!r}")
        if self.swap_back and not self.harvest_pairs:
            raise ConfigError("swapping a harvest's replacement back needs replacement "
                              "pairs (tax.harvest_pairs, TICKER:REPLACEMENT)")


@dataclass(frozen=True)
class AfterTaxResult:
    """The daily path and the taxes of one after-tax run.

    Attributes
    ----------
    dates : DatetimeIndex (T,)
    nav_usd : ndarray (T,)
        NAV at each close after the day's trades and tax payment.
    shares : ndarray (T, N)
        Shares held at each close after the day's trades.
    tickers : list of str (N,)
    tax_paid_usd : ndarray (T,)
        Tax paid from cash on each day (the year-end payments; negative: received).
    rebalanced, harvested : ndarray of bool (T,)
        Days the rule traded; days lots were harvested.
    harvested_loss_usd : float
        Losses realized by harvest sales, USD.
    disallowed_usd : float
        Losses washed (moved to a replacement's basis), USD.
    liquidation_tax_usd : float
        Tax of the last year with every remaining gain realized long-term.
    years : pd.DataFrame
        One row per tax year: realized short/long, taxable, offset, carries, tax.
    harvests : pd.DataFrame
        One row per harvested lot: ``date, ticker, acquired, shares, basis_usd,
        proceeds_usd, loss_usd, long_term``, the harvest's value split into
        ``deferral_usd`` and ``arbitrage_usd``, and ``replacement`` (the ticker bought
        with the proceeds, or ``cash``).
    initial_nav_usd : float
    lots : pd.DataFrame
        The lots held at the end, before the liquidation on paper: ``ticker, shares,
        basis_usd, acquired`` (start of the holding period), ``bought`` and ``lot_id``.
    ref_nav_usd : ndarray (T,)
        The target weights rebalanced every close at zero cost, without tax
        (:func:`~driftwise.backtest.engine.reference_nav`, the engine's reference path).
    exit_sales : pd.DataFrame
        One row per lot sold because its stock stopped trading (a target version's
        "delisted or suspended" notice, sold in full on its switch day at the day's
        close): ``date, ticker, acquired, shares, basis_usd, proceeds_usd`` (shares x
        close, before the sale's cost), ``gain_usd`` (proceeds − basis, realized in the
        year's result), ``long_term`` and ``lot_id``.
    """

    dates: pd.DatetimeIndex
    nav_usd: FloatArray
    shares: FloatArray
    tickers: list[str]
    tax_paid_usd: FloatArray
    rebalanced: np.ndarray
    harvested: np.ndarray
    harvested_loss_usd: float
    disallowed_usd: float
    liquidation_tax_usd: float
    years: pd.DataFrame
    harvests: pd.DataFrame
    initial_nav_usd: float
    lots: pd.DataFrame
    ref_nav_usd: FloatArray
    exit_sales: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=list(EXIT_COLUMNS)))

    @property
    def liquidation_value_usd(self) -> float:
        """NAV at the end less the tax of liquidating it."""
        return float(self.nav_usd[-1]) - self.liquidation_tax_usd

    @property
    def after_tax_path_usd(self) -> FloatArray:
        """NAV with its last value the liquidation value, (T,)."""
        out = self.nav_usd.copy()
        out[-1] = self.liquidation_value_usd
        return out

    @property
    def taxes_paid_usd(self) -> float:
        """Taxes paid through the run plus the liquidation tax, USD."""
        return float(self.tax_paid_usd.sum()) + self.liquidation_tax_usd

    @property
    def te_annual(self) -> float:
        """Annualized ex-post tracking error of the run against :attr:`ref_nav_usd`,
        ``std(r − r_ref) · sqrt(252)``, the run's daily return taken before the day's tax
        payment, ``r_t = (NAV_t + tax_t) / NAV_{t−1} − 1`` (a year's tax leaves the NAV
        but is not a deviation from the target; the engine's ``te_annual`` when no tax
        is paid)."""
        nav, ref = self.nav_usd, self.ref_nav_usd
        mine = (nav[1:] + self.tax_paid_usd[1:]) / nav[:-1] - 1.0
        return float(tracking_error(mine[:, None], (ref[1:] / ref[:-1] - 1.0)[:, None])[0])

    @property
    def after_tax_return_annual(self) -> float:
        """Compound annual growth of the after-tax path (252 sessions a year)."""
        n = len(self.dates) - 1
        growth = self.liquidation_value_usd / self.initial_nav_usd
        return float(growth ** (TRADING_DAYS / max(n, 1)) - 1.0)


@dataclass(frozen=True)
class _Rebuy:
    """A harvested asset to buy back once its wash-sale window has ended.

    Without a replacement, ``usd`` (the harvest's proceeds, held in cash) buys it; with
    one (a swap back), the replacement's lots named ``tag`` are sold and pay for it."""

    when: np.datetime64
    asset: int
    usd: float = 0.0
    replacement: int = -1
    tag: str = ""


class _Run:
    """The mutable state of one run (book, lots, the year's loss sales and rebuys)."""

    def __init__(self, inputs: Inputs, batch: Batch, window: Window,
                 settings: AfterTaxSettings) -> None:
        self.batch, self.settings = batch, settings
        self.state = start_state(inputs, batch, window)
        self.book: Book = self.state.book
        self.interest_usd = 0.0  # the year's interest on cash, taxed as ordinary income
        h = batch.history
        self.days = np.asarray(h.dates.values, dtype="datetime64[D]")
        self.lots = LotBook(settings.tax.rates, settings.tax.wash_window_days)
        self._open_start(inputs, window)
        self.loss_days: list[np.datetime64] = []
        self.loss_assets: list[int] = []
        self.rebuys: list[_Rebuy] = []
        self.carry = (0.0, 0.0)
        self.year_rows: list[dict[str, float]] = []
        self.harvested_loss = 0.0
        self.harvest_rows: list[dict[str, object]] = []
        self.exit_rows: list[dict[str, object]] = []
        self.tickers = [str(t) for t in h.tickers]
        index = {t: i for i, t in enumerate(self.tickers)}
        self.pairs = {index[a]: index[b] for a, b in settings.harvest_pairs
                      if a in index and b in index}
        self.stand_in: dict[int, dict[int, float]] = {}
        """Replacement (no target of its own) -> {harvested asset with a target: the
        fraction of the replacement's shares that stands in for it}."""

    def no_buy(self, k: int) -> np.ndarray:
        """The assets not to buy on day ``k`` (N,): the configured ones and the stocks
        that stopped trading and were sold by a version in force by then
        (``Schedule.sold``, :meth:`Batch.on_day`)."""
        return self.batch.on_day(k).no_buy

    def sync_stand_ins(self) -> None:
        """Forget the replacements no longer held."""
        held = self.book.shares[0]
        self.stand_in = {b: parts for b, parts in self.stand_in.items() if held[b] > 1e-9}

    def _open_start(self, inputs: Inputs, window: Window) -> None:
        """The first close's lots: the holdings' lots, else one lot per asset bought at
        the first close (positions without lots are bought then too)."""
        h = self.batch.history
        day0 = self.days[0]
        held = self.book.shares[0].copy()
        given = inputs.holdings.lots if window.from_holdings else None
        if given is not None:
            index = {str(t): i for i, t in enumerate(h.tickers)}
            where = [index.get(str(t), -1) for t in given["ticker"]]
            acquired = pd.to_datetime(given["acquired"]).to_numpy().astype("datetime64[D]")
            n_shares = given["shares"].to_numpy(dtype=np.float64)
            basis = given["cost_basis_usd"].to_numpy(dtype=np.float64)
            for a, n, b, day, name in zip(where, n_shares, basis, acquired, lot_ids(given),
                                          strict=True):
                if a < 0 or n <= 0.0:
                    continue
                self.lots.open(a, float(n), float(b), day, lot_id=name)
                held[a] -= n
        start = np.flatnonzero(held > 1e-9)
        for i in start:
            self.lots.open(int(i), float(held[i]), float(held[i] * h.prices[0, i]), day0)

    def tax_lots(self) -> TaxLots:
        """The lots as the planner takes them (with their ids under specific relief)."""
        self.lots.compact()
        specific = self.settings.tax.relief is Relief.SPECIFIC
        return TaxLots(self.lots.asset.copy(), self.lots.shares.copy(),
                       self.lots.basis_usd.copy(), self.lots.acquired.copy(),
                       ids=tuple(str(i) for i in self.lots.lot_id) if specific else ())

    def settings_today(self, day: np.datetime64) -> TaxSettings:
        window = np.timedelta64(self.settings.tax.wash_window_days, "D")
        keep = [(d, a) for d, a in zip(self.loss_days, self.loss_assets, strict=True)
                if day - d <= window]
        self.loss_days = [d for d, _ in keep]
        self.loss_assets = [a for _, a in keep]
        return dataclasses.replace(
            self.settings.tax,
            realized_ytd_usd=self.lots.realized_short_usd + self.lots.realized_long_usd,
            loss_sale_days=np.asarray(self.loss_days, dtype="datetime64[D]"),
            loss_sale_assets=np.asarray(self.loss_assets, dtype=np.intp))

    def trade_lots(self, taken: FloatArray, trade_shares: FloatArray, prices: FloatArray,
                   day: np.datetime64) -> float:
        """Sales relieve ``taken`` (L,), buys open lots; the loss sales are remembered.
        Returns the recognized result of the sales, USD."""
        asset = self.lots.asset.copy()  # a wash may split lots: keep the sale's view
        gain = self.lots.sell(taken, prices, day)
        for a in np.unique(asset[(taken > 0) & (gain < 0)]):
            self.loss_days.append(day)
            self.loss_assets.append(int(a))
        for i in np.flatnonzero(trade_shares > 0):
            self.lots.buy(int(i), float(trade_shares[i]), float(prices[i]), day)
        self.lots.expire(day)
        return float(gain.sum())

    def relieved(self, sold_shares: FloatArray, prices: FloatArray, day: np.datetime64
                 ) -> FloatArray:
        """Shares each lot gives up to sales ``sold_shares`` (N,) in the relief order."""
        self.lots.compact()
        t = self.settings.tax
        taken = np.zeros(self.lots.n_lots)
        for i in np.flatnonzero(sold_shares > 0):
            mine = np.flatnonzero(self.lots.asset == i)
            order = mine[relief_order(self.lots.shares[mine], self.lots.basis_usd[mine],
                                      self.lots.acquired[mine], float(prices[i]), day,
                                      t.relief, t.rates,
                                      lot_ids=[str(n) for n in self.lots.lot_id[mine]],
                                      specific=t.specific)]
            taken += relieve(self.lots.shares, order, float(sold_shares[i]))
        return taken

    def pay_year(self, year: int, extra_long_usd: float = 0.0) -> float:
        """Net the year (with ``extra_long_usd`` of long-term gain: the liquidation) and
        carry its unused loss; the tax, USD."""
        lots = self.lots
        netted = net_year(lots.realized_short_usd, lots.realized_long_usd + extra_long_usd,
                          carry_short_usd=self.carry[0], carry_long_usd=self.carry[1],
                          ordinary_limit_usd=self.settings.ordinary_limit_usd)
        rates = self.settings.tax.rates
        interest_tax = max(self.interest_usd, 0.0) * rates.short_term_total
        tax = year_tax_usd(netted, rates) + interest_tax
        self.year_rows.append({
            "year": year, "realized_short_usd": lots.realized_short_usd,
            "realized_long_usd": lots.realized_long_usd,
            "liquidation_gain_usd": extra_long_usd,
            "carry_in_short_usd": self.carry[0], "carry_in_long_usd": self.carry[1],
            "taxable_short_usd": netted.taxable_short_usd,
            "taxable_long_usd": netted.taxable_long_usd,
            "ordinary_offset_usd": netted.ordinary_offset_usd,
            "carry_out_short_usd": netted.carry_short_usd,
            "carry_out_long_usd": netted.carry_long_usd, "interest_usd": self.interest_usd,
            "interest_tax_usd": interest_tax, "tax_usd": tax})
        self.carry = (netted.carry_short_usd, netted.carry_long_usd)
        self.interest_usd = 0.0
        lots.realized_short_usd = lots.realized_long_usd = 0.0
        return tax


def _harvest_day(days: np.ndarray, every: str) -> np.ndarray:
    """First session of each period (T,); never the first day of the run."""
    if every == "never":
        return np.zeros(len(days), dtype=bool)
    if every == "day":
        out = np.ones(len(days), dtype=bool)
    else:
        stamps = pd.DatetimeIndex(days.astype("datetime64[ns]"))
        code = {"week": stamps.to_period("W").asi8, "month": stamps.to_period("M").asi8,
                "quarter": stamps.to_period("Q").asi8, "year": stamps.year.to_numpy()}[every]
        out = np.concatenate([[True], np.diff(np.asarray(code)) != 0])
    out[0] = False
    return out


def run_after_tax(inputs: Inputs, grid: RuleGrid, window: Window,
                  settings: AfterTaxSettings) -> AfterTaxResult:
    """Simulate one configuration with its tax lots (module docstring).

    Parameters
    ----------
    inputs, window
        As :func:`~driftwise.backtest.engine.run_backtest`; lots of the holdings are the
        starting lots when the window starts from holdings.
    grid : RuleGrid
        One configuration.
    settings : AfterTaxSettings

    Raises
    ------
    ConfigError
        A grid of more than one configuration, a rule that may sell short (lots are
        long), a specific lot that is not a lot of the starting holdings, a harvest
        replacement without prices.
    """
    if grid.n_configs != 1:
        raise ConfigError("the after-tax backtest runs one configuration at a time "
                          f"(found {grid.n_configs}); run a sweep as a list of runs")
    _check_specific(inputs, window, settings)
    tickers = _with_replacements(inputs, universe(inputs, from_holdings=window.from_holdings),
                                 settings.harvest_pairs)
    batch = make_batches(inputs, grid, window, tickers)[0]
    if not batch.rule.constraints.long_only:
        raise ConfigError("the after-tax backtest needs a long-only rule "
                          "(constraints.long_only = true): tax lots are long")
    with one_blas_thread():
        return _simulate(_Run(inputs, batch, window, settings), tickers)


def _check_specific(inputs: Inputs, window: Window, settings: AfterTaxSettings) -> None:
    """Specific relief names lots of the holdings the run starts from."""
    if settings.tax.relief is not Relief.SPECIFIC:
        return
    given = inputs.holdings.lots if window.from_holdings else None
    known = lot_ids(given) if given is not None else []
    unknown = [name for name in settings.tax.specific if name not in known]
    if unknown:
        where = ("the lots held: " + ", ".join(known)) if known else (
            "no lots: set backtest.start_from_holdings = true with lot-level holdings")
        raise ConfigError(f"tax.specific_lots: lot {unknown[0]!r} is not a lot of the "
                          "holdings the after-tax backtest starts from (lot ids are the "
                          f"lot file's lot_id, else TICKER:YYYY-MM-DD; {where})")


def _with_replacements(inputs: Inputs, tickers: pd.Index,
                       pairs: tuple[tuple[str, str], ...]) -> pd.Index:
    """``tickers`` and the harvest replacements of those of them that have one."""
    held = set(map(str, tickers))
    extra = sorted({b for a, b in pairs if a in held and b not in held})
    if not extra:
        return tickers
    priced = set(map(str, inputs.market.prices.columns))
    missing = [(a, b) for a, b in pairs if a in held and b in extra and b not in priced]
    if missing:
        a, b = missing[0]
        raise ConfigError(f"tax.harvest_pairs: {a}:{b}: the replacement {b} has no prices "
                          "in the market data; add its prices or remove the pair")
    out: pd.Index = pd.Index(sorted(held | set(extra)), name=tickers.name)
    return out


def _simulate(run: _Run, tickers: pd.Index) -> AfterTaxResult:
    """The day loop of :func:`run_after_tax`, on one BLAS thread: its matrices are one
    day's (N x N covariance, one portfolio), far too small for threads to pay, and a
    second thread waiting for a core on a busy machine made the loop three times slower."""
    batch, settings = run.batch, run.settings
    h, book = batch.history, run.book
    n_days = h.n_days
    out = Outputs.empty(n_days, 1)
    nav = np.zeros(n_days)
    held = np.zeros((n_days, len(tickers)))
    paid = np.zeros(n_days)
    rebalanced = np.zeros(n_days, dtype=bool)
    harvested = np.zeros(n_days, dtype=bool)
    harvest_on = _harvest_day(run.days, settings.harvest_every) if settings.aware else \
        np.zeros(n_days, dtype=bool)
    years = pd.DatetimeIndex(h.dates).year.to_numpy()
    nav0 = float((book.shares[0] * h.prices[0]).sum() + book.cash_usd[0])
    liquidation_tax = 0.0
    year_end = np.concatenate([years[1:] != years[:-1], [True]])
    fixed = harvest_on | year_end
    if batch.versions is not None:  # a version's switch (its event, its sales) alone
        fixed = fixed | batch.versions.switch
    k, span = 0, 1
    while k < n_days:
        if span > 1 and batch.max_span > 1 and not fixed[k] and not _rebuy_due(run, k) \
                and not run.stand_in:  # a stand-in's targets move with its prices
            stretch = min(span, batch.max_span, _next_event(run, fixed, k) - k)
            before = float(book.cash_usd[0])
            quiet = _quiet(run, out, k, stretch)
            run.interest_usd += float(book.cash_usd[0]) - before  # no trade, tax or borrow
            nav[k: k + quiet] = out.nav[k: k + quiet, 0]
            held[k: k + quiet] = book.shares[0]
            k += quiet
            if quiet == stretch:
                span *= 2
                continue
            span = max(1, span // 2)
        day = run.days[k]
        prices = h.prices[k]
        before = float(book.cash_usd[0])
        blocks.night_interest(batch, book, k)
        run.interest_usd += float(book.cash_usd[0]) - before
        pay_borrow(batch, run.state, out, k, interest=False)
        delayed = _decide(run, out, k, day, prices, rebalanced)
        if harvest_on[k]:
            harvested[k] = _harvest(run, k, day, prices)
        _rebuy(run, k, day, prices)
        if k == n_days - 1:
            gain = run.lots.unrealized_usd(prices)
            liquidation_tax = run.pay_year(int(years[k]), gain)
        elif year_end[k]:
            paid[k] = run.pay_year(int(years[k]))
            book.cash_usd[0] -= paid[k]
        book.end_day(delayed)
        nav[k] = float((book.shares[0] * prices).sum() + book.cash_usd[0])
        held[k] = book.shares[0]
        span = 1 if rebalanced[k] or harvested[k] else 2
        k += 1
    return AfterTaxResult(
        dates=pd.DatetimeIndex(h.dates), nav_usd=nav, shares=held,
        tickers=[str(t) for t in tickers], tax_paid_usd=paid,
        rebalanced=rebalanced, harvested=harvested, harvested_loss_usd=run.harvested_loss,
        disallowed_usd=run.lots.disallowed_usd, liquidation_tax_usd=liquidation_tax,
        years=pd.DataFrame(run.year_rows),
        harvests=pd.DataFrame(run.harvest_rows, columns=list(HARVEST_COLUMNS)),
        initial_nav_usd=nav0, lots=_lot_frame(run),
        ref_nav_usd=reference_nav(h, batch.target, batch.target_cash, nav0, batch.cash_growth,
                                  batch.versions),
        exit_sales=pd.DataFrame(run.exit_rows, columns=list(EXIT_COLUMNS)))


def _lot_frame(run: _Run) -> pd.DataFrame:
    """The open lots of ``run`` as :attr:`AfterTaxResult.lots`."""
    lots = run.lots
    lots.compact()
    return pd.DataFrame({
        "ticker": [run.tickers[int(a)] for a in lots.asset], "shares": lots.shares,
        "basis_usd": lots.basis_usd,
        "acquired": pd.DatetimeIndex(lots.acquired.astype("datetime64[ns]")),
        "bought": pd.DatetimeIndex(lots.bought.astype("datetime64[ns]")),
        "lot_id": [str(i) for i in lots.lot_id]})


def _rebuy_due(run: _Run, k: int) -> bool:
    return any(r.when <= run.days[k] for r in run.rebuys)


def _next_event(run: _Run, fixed: np.ndarray, k: int) -> int:
    """The first day after ``k`` that must be simulated alone (a harvest day, a year's
    end, the last day, a target version's switch, a rebuy)."""
    later = np.flatnonzero(fixed[k + 1:])
    out = k + 1 + int(later[0]) if len(later) else len(fixed)
    if run.rebuys:
        first = min(r.when for r in run.rebuys)
        out = min(out, int(np.searchsorted(run.days, first)))
    return out


def _quiet(run: _Run, out: Outputs, k: int, span: int) -> int:
    """Days ``k ..`` without a trade, evaluated at once by the engine's quiet blocks
    (:func:`driftwise.backtest.blocks.quiet_days`); their count."""
    if span <= 1:
        return 0
    return blocks.quiet_days(run.batch, run.state, out, k, span)


def _decide(run: _Run, out: Outputs, k: int, day: np.datetime64, prices: FloatArray,
            rebalanced: np.ndarray) -> np.ndarray | None:
    """Steps 1-3 of the day, after the sale of the stocks that stopped trading on a
    version's switch day (:func:`_sell_exits`); the trigger's delay."""
    batch, ctx, costs = open_day(run.batch, run.state, k)  # the day's version and targets
    book, pending = run.book, run.state.version_pending
    if _sell_exits(run, out, k, day, prices, costs):  # the rule sizes the book after it
        rebalanced[k] = True
        batch, ctx, costs = open_day(run.batch, run.state, k)
    if run.stand_in:  # a harvest replacement counts with the asset it stands in for
        target, band, drift = stand_in_targets(
            book.shares[0] * prices, float(ctx.nav_usd[0]), np.atleast_2d(ctx.target)[0],
            np.atleast_2d(ctx.band_width)[0], float(ctx.cash_weight[0]), batch.target_cash,
            run.stand_in)
        ctx = dataclasses.replace(ctx, target=target, band_width=band,
                                  known_drift=np.array([drift]))
    if batch.invalid[k]:
        return None
    result = batch.rule.trigger.evaluate(ctx)
    event = pending is not None and bool(pending[0])  # a new version not yet acted on
    if not event and not bool(result.fired[0]):
        return result.delayed
    rule, evaluated = (event_rule(batch.rule), None) if event else (batch.rule, result)
    asset_day = AssetDay(prices_usd=prices, adv_shares=costs.inputs.adv_shares,
                         no_buy=batch.no_buy, no_sell=batch.no_sell, cost_fn=costs.model,
                         borrow_bps_annual=None, groups=batch.groups)
    if run.settings.aware:
        taxed = tax_step(rule, ctx, asset_day, run.tax_lots(), run.settings_today(day),
                         day, evaluated=evaluated)
        outcome, taken = taxed.outcome, taxed.taken_shares
    else:
        outcome = step(rule, ctx, asset_day, evaluated=evaluated)
        taken = None
    sized = outcome.sizing
    rows = np.zeros(1, dtype=np.intp)
    if len(book_trades(book, rows, sized)):
        rebalanced[k] = True
        if run.state.version_pending is not None:  # acted on (the day's own array, as
            run.state.version_pending[0] = False  # the engine's _trade clears it)
        shares = sized.trade_shares[0]
        if taken is None or not np.allclose(
                _by_asset(run.lots.asset, taken, len(prices)), np.maximum(-shares, 0.0),
                rtol=1e-9, atol=1e-9):
            taken = run.relieved(np.maximum(-shares, 0.0), prices, day)
        run.trade_lots(taken, shares, prices, day)
        run.sync_stand_ins()
    if event:  # the event's row is not delayed, as in the engine
        return None if result.delayed is None else np.zeros_like(result.delayed)
    return outcome.trigger.delayed


def _sell_exits(run: _Run, out: Outputs, k: int, day: np.datetime64, prices: FloatArray,
                costs: DayCosts) -> bool:
    """On the switch day of a version that names stocks that stopped trading
    (``Schedule.exits``), sell the whole position in them at the day's close, paying the
    day's cost model from cash: the engine's own sale
    (:func:`driftwise.backtest.engine.sell_exits`). The lots sold are relieved in the
    relief order (all of them: the whole position goes) and their gains and losses are
    realized as any sale's, short- or long-term, in the year's result; each lot sold is a
    row of :attr:`AfterTaxResult.exit_sales`. From that day on the stock is on the no-buy
    list (:meth:`Batch.on_day <driftwise.backtest.batches.Batch.on_day>`): neither the
    rule, a harvest's replacement purchase, a buy-back after the wash-sale window nor a
    swap back buys it.

    A harvest replacement standing in for the stock (:func:`stand_in_targets`) is not
    sold here: it is a different security that still trades. It keeps standing in for
    the stock, so it counts against the stock's target in the version that sells the
    stock (0 when the version drops it, as
    :func:`driftwise.backtest.paths.path_versions` does): the switch's event moves it
    toward that target by the rule's destination, with the rule's own tax decisions
    (a half-way rule sells half of it, the tax-aware rule may defer a short-term gain).
    A stopped stock that was itself a replacement is sold and stands in no more.

    Returns whether anything was sold."""
    book, lots = run.book, run.lots
    before = book.shares[0].copy()
    if not sell_exits(run.batch, run.state, out, k, costs):
        return False
    sold = np.maximum(before - book.shares[0], 0.0)  # long only: every exit a sale
    taken = run.relieved(sold, prices, day)
    long_term = lots.long_term(day)
    for j in np.flatnonzero(taken > 0.0):
        a = int(lots.asset[j])
        basis = float(lots.basis_usd[j] * taken[j] / lots.shares[j])
        run.exit_rows.append({
            "date": pd.Timestamp(day), "ticker": run.tickers[a],
            "acquired": pd.Timestamp(lots.acquired[j]), "shares": float(taken[j]),
            "basis_usd": basis, "proceeds_usd": float(taken[j] * prices[a]),
            "gain_usd": float(taken[j] * prices[a]) - basis,
            "long_term": bool(long_term[j]), "lot_id": str(lots.lot_id[j])})
    run.trade_lots(taken, np.zeros(len(prices)), prices, day)
    run.sync_stand_ins()
    return True


def stand_in_targets(value_usd: FloatArray, nav_usd: float, target: FloatArray,
                     band_width: FloatArray, cash_weight: float, target_cash: float,
                     stand_in: dict[int, dict[int, float]]
                     ) -> tuple[FloatArray, FloatArray, float]:
    """The day's targets, band widths and portfolio drift with each harvest replacement
    counted as one position with the asset it stands in for.

    Parameters
    ----------
    value_usd : ndarray, shape (N,)
        Market value of each holding.
    nav_usd : float
    target, band_width : ndarray, shape (N,)
        The targets and band widths of the rule (a replacement's target is 0).
    cash_weight, target_cash : float
    stand_in : dict
        Replacement ``b`` -> {harvested asset ``a``: fraction of ``b``'s shares standing
        in for ``a``}.

    Returns
    -------
    target, band_width : ndarray, shape (N,)
        ``a``'s target ``t_a`` split over ``a`` and its stand-ins in proportion to their
        values (``t_a · v_a / V_a``, ``t_a · f_b v_b / V_a`` with
        ``V_a = v_a + Σ_b f_b v_b``), its band width alike; unchanged where ``V_a = 0``.
    drift : float
        ``½ (Σ_{a} |V_a / NAV − t_a| + Σ_{other i} |w_i − t_i| + |w_cash − t_cash|)``.

    Notes
    -----
    With one stand-in per asset the split makes each part's drift the position's drift
    times the part's share of it, with the same sign, so the parts' drifts add up to the
    position's drift, a band fires exactly when the position leaves its band, and a
    rebalance to target moves the position to ``t_a`` keeping the mix of the two (it
    never sells the replacement to buy back the harvested asset). A replacement standing
    in for several assets counts each part with its asset; its own band and drift are
    those of the parts together.
    """
    nav = nav_usd
    out_t, out_w = target.copy(), band_width.copy()
    gap = np.abs(value_usd / nav - target) if nav > 0.0 else np.abs(target)
    roots: dict[int, list[tuple[int, float]]] = {}
    for b, parts in stand_in.items():
        out_t[b] = out_w[b] = gap[b] = 0.0
        for a, f in parts.items():
            roots.setdefault(a, []).append((b, f * float(value_usd[b])))
    for a, held in roots.items():
        total = float(value_usd[a]) + sum(v for _, v in held)
        gap[a] = abs(total / nav - target[a]) if nav > 0.0 else target[a]
        if total <= 0.0:
            continue
        t, w = float(target[a]), float(band_width[a])
        out_t[a], out_w[a] = t * value_usd[a] / total, w * value_usd[a] / total
        for b, v in held:
            out_t[b] += t * v / total
            out_w[b] += w * v / total
    return out_t, out_w, 0.5 * (float(gap.sum()) + abs(cash_weight - target_cash))


def _by_asset(asset: IntArray, values: FloatArray, n: int) -> FloatArray:
    out = np.zeros(n)
    np.add.at(out, asset, values)
    return out


def _harvest(run: _Run, k: int, day: np.datetime64, prices: FloatArray) -> bool:
    """Step 4: sell the lots at or beyond the threshold; their proceeds buy the ticker's
    replacement (``tax.harvest_pairs``) when it has one that no harvest sells today and whose
    purchase washes no loss (unless wash sales are allowed), else wait in cash."""
    lots, s = run.lots, run.settings
    lots.compact()
    if lots.n_lots == 0:
        return False
    values = harvest_values(lots.shares, lots.basis_usd, lots.acquired,
                            prices[lots.asset], day, s.tax.rates,
                            threshold=s.harvest_threshold,
                            min_loss_usd=s.harvest_min_loss_usd,
                            discount_rate_annual=s.harvest_discount_rate_annual,
                            years_to_sale=s.harvest_years_to_sale)
    pick = values.eligible & ~run.batch.no_sell[lots.asset]
    for a in np.unique(lots.asset[pick]):
        if lots.recent_buy(int(a), day, besides=pick):
            pick[lots.asset == a] = False  # a lot kept, bought in the window, washes it
    if not pick.any():
        return False
    taken = np.where(pick, lots.shares, 0.0)
    sold = _by_asset(lots.asset, taken, len(prices))
    trade_usd = -sold * prices
    cost = DayCosts(run.batch, k).per_asset(trade_usd[None, :])[0]
    into = {int(i): run.pairs[int(i)] for i in np.flatnonzero(sold > 0)
            if _replaceable(run, run.pairs.get(int(i), -1), sold, day, run.no_buy(k))}
    bought = np.zeros(len(prices))
    if into:
        trade_usd, cost, bought = _with_replacement_buys(run, k, trade_usd, cost, into,
                                                         prices)
        into = {a: b for a, b in into.items() if bought[b] > 0.0}
    for j in np.flatnonzero(pick):
        a = int(lots.asset[j])
        run.harvest_rows.append({
            "date": pd.Timestamp(day), "ticker": run.tickers[a],
            "acquired": pd.Timestamp(lots.acquired[j]), "shares": float(lots.shares[j]),
            "basis_usd": float(lots.basis_usd[j]),
            "proceeds_usd": float(lots.shares[j] * prices[a]),
            "loss_usd": float(values.loss_usd[j]),
            "long_term": bool(values.long_term[j]),
            "deferral_usd": float(values.deferral_usd[j]),
            "arbitrage_usd": float(values.arbitrage_usd[j]),
            "replacement": run.tickers[into[a]] if a in into else "cash"})
    book = run.book
    held_before = book.shares[0].copy()
    post_cash = book.cash_usd - trade_usd.sum() - cost.sum()
    book_trades(book, np.zeros(1, dtype=np.intp),
                Trades(trade_usd[None, :], (bought - sold if into else -sold)[None, :],
                       post_cash))
    _stand_in_for(run, into, held_before, bought, trade_usd)
    before = lots.disallowed_usd
    gain = run.trade_lots(taken, np.zeros(len(prices)), prices, day)
    run.harvested_loss += -gain - (lots.disallowed_usd - before)
    back = day + np.timedelta64(s.tax.wash_window_days + 1, "D")
    for i in np.flatnonzero(sold > 0):
        if int(i) not in into:
            run.rebuys.append(_Rebuy(back, int(i), float(-trade_usd[i] - cost[i])))
            continue
        b = into[int(i)]
        tag = f"replacement of {run.tickers[int(i)]} {day}"
        lots.buy(b, float(bought[b] * -trade_usd[i] / _funds(trade_usd, into, b)),
                 float(prices[b]), day, lot_id=tag)
        if s.swap_back:
            run.rebuys.append(_Rebuy(back, int(i), replacement=b, tag=tag))
    return True


def _stand_in_for(run: _Run, into: dict[int, int], held_before: FloatArray,
                  bought: FloatArray, trade_usd: FloatArray) -> None:
    """Record the replacements a harvest bought as stand-ins for the assets it sold: a
    replacement without a target of its own stands in for the harvested asset (or, when
    that was itself a stand-in, for the assets it stood in for), its shares attributed
    by the proceeds that bought them."""
    target = run.batch.target
    shares: dict[int, dict[int, float]] = {}
    for a, b in into.items():
        if target[b] != 0.0 or bought[b] <= 0.0:
            continue
        roots = run.stand_in.get(a, {a: 1.0} if target[a] > 0.0 else {})
        if not roots:
            continue
        mine = shares.setdefault(b, {r: f * float(held_before[b]) for r, f in
                                     run.stand_in.get(b, {}).items()})
        x = float(bought[b]) * -float(trade_usd[a]) / _funds(trade_usd, into, b)
        for r, g in roots.items():
            mine[r] = mine.get(r, 0.0) + g * x
    for b, mine in shares.items():
        total = sum(mine.values())
        if total > 0.0:
            run.stand_in[b] = {r: v / total for r, v in mine.items()}
    run.sync_stand_ins()


def _replaceable(run: _Run, b: int, sold: FloatArray, day: np.datetime64,
                 no_buy: np.ndarray) -> bool:
    """Whether a harvest's proceeds may buy replacement ``b`` today: one is configured,
    may be bought (not on the day's ``no_buy`` list, which holds the stocks that stopped
    trading), is not harvested itself today, and its purchase washes no loss sale of it
    within the window (unless wash sales are allowed)."""
    if b < 0 or no_buy[b] or sold[b] > 0:
        return False
    if run.settings.tax.allow_wash_sales:
        return True
    window = np.timedelta64(run.settings.tax.wash_window_days, "D")
    return not any(a == b and day - d <= window
                   for d, a in zip(run.loss_days, run.loss_assets, strict=True))


def _funds(trade_usd: FloatArray, into: dict[int, int], b: int) -> float:
    """The harvest proceeds that pay for replacement ``b``, USD."""
    return float(sum(-trade_usd[a] for a, r in into.items() if r == b))


def _with_replacement_buys(run: _Run, k: int, trade_usd: FloatArray, cost: FloatArray,
                           into: dict[int, int], prices: FloatArray
                           ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The harvest's trades with its replacements bought: each for the proceeds of the
    tickers it replaces net of their selling cost, less its own buying cost (whole
    shares under ``constraints.whole_shares``); the trades, their costs and the shares
    bought (N,)."""
    funds = np.zeros(len(prices))
    for a, b in into.items():
        funds[b] += -trade_usd[a] - cost[a]
    costs = DayCosts(run.batch, k)
    own = costs.per_asset(funds[None, :])[0]
    bought = np.maximum(funds - own, 0.0) / prices
    if run.batch.rule.constraints.whole_shares:
        bought = np.floor(bought + 1e-9)
    trade_usd = trade_usd + bought * prices
    return trade_usd, costs.per_asset(trade_usd[None, :])[0], bought


def _rebuy(run: _Run, k: int, day: np.datetime64, prices: FloatArray) -> None:
    """Buy back the harvested assets whose wash-sale window has ended: from the cash set
    aside, or (a swap back) by selling their replacement's lots."""
    window = np.timedelta64(run.settings.tax.wash_window_days, "D")
    later = []
    for r in run.rebuys:  # a later loss sale of the asset starts a new window
        losses = [d for d, a in zip(run.loss_days, run.loss_assets, strict=True)
                  if a == r.asset and day - d <= window]
        later.append(dataclasses.replace(
            r, when=max([r.when, *(d + window + np.timedelta64(1, "D") for d in losses)])))
    due = [r for r in later if r.when <= day]
    run.rebuys = [r for r in later if r.when > day]
    swaps = [r for r in due if r.replacement >= 0]
    if swaps:
        _swap_back(run, k, day, prices, swaps)
    due = [r for r in due if r.replacement < 0]
    if not due:
        return
    trade_usd = np.zeros(len(prices))
    no_buy = run.no_buy(k)  # a stock that stopped trading is not bought back: cash stays
    for r in due:
        if not no_buy[r.asset]:
            trade_usd[r.asset] += r.usd
    book = run.book
    room = max(float(book.cash_usd[0]), 0.0)
    if trade_usd.sum() > room:
        trade_usd *= room / trade_usd.sum()
    cost = DayCosts(run.batch, k).per_asset(trade_usd[None, :])[0]
    spend = trade_usd.sum() + cost.sum()
    if spend > room and spend > 0.0:
        trade_usd *= max(room - cost.sum(), 0.0) / trade_usd.sum()
    shares = trade_usd / prices
    if run.batch.rule.constraints.whole_shares:
        shares = np.floor(shares)
    trade_usd = shares * prices
    cost = DayCosts(run.batch, k).per_asset(trade_usd[None, :])[0]
    post_cash = book.cash_usd - trade_usd.sum() - cost.sum()
    book_trades(book, np.zeros(1, dtype=np.intp),
                Trades(trade_usd[None, :], shares[None, :], post_cash))
    run.trade_lots(np.zeros(run.lots.n_lots), shares, prices, day)


def _swap_back(run: _Run, k: int, day: np.datetime64, prices: FloatArray,
               swaps: list[_Rebuy]) -> None:
    """Sell the replacement lots of ``swaps`` still held (the lots named by their tags)
    and buy the harvested assets with the proceeds net of both trades' costs."""
    lots = run.lots
    lots.compact()
    n = len(prices)
    taken = np.zeros(lots.n_lots)
    funds = np.zeros(n)
    costs = DayCosts(run.batch, k)
    given_back: list[tuple[int, int, float]] = []
    no_buy = run.no_buy(k)
    for r in swaps:
        mine = (lots.lot_id == r.tag) & (lots.asset == r.replacement)
        if not mine.any() or run.batch.no_sell[r.replacement] or no_buy[r.asset]:
            continue
        taken[mine] = lots.shares[mine]
        given_back.append((r.replacement, r.asset, float(lots.shares[mine].sum())))
        sale = np.zeros(n)
        sale[r.replacement] = -float(lots.shares[mine].sum()) * prices[r.replacement]
        funds[r.asset] += -sale[r.replacement] - costs.per_asset(sale[None, :])[0][
            r.replacement]
    if not taken.any():
        return
    sold = _by_asset(lots.asset, taken, n)
    own = costs.per_asset(funds[None, :])[0]
    bought = np.maximum(funds - own, 0.0) / prices
    if run.batch.rule.constraints.whole_shares:
        bought = np.floor(bought + 1e-9)
    shares = bought - sold
    trade_usd = shares * prices
    cost = costs.per_asset(trade_usd[None, :])[0]
    book = run.book
    held_before = book.shares[0].copy()
    post_cash = book.cash_usd - trade_usd.sum() - cost.sum()
    book_trades(book, np.zeros(1, dtype=np.intp),
                Trades(trade_usd[None, :], shares[None, :], post_cash))
    run.trade_lots(taken, bought, prices, day)
    left: dict[int, dict[int, float]] = {}
    for b, a, back in given_back:  # the shares sold stood in for the asset bought back
        if b not in run.stand_in:
            continue
        mine = left.setdefault(b, {r: f * float(held_before[b])
                                   for r, f in run.stand_in[b].items()})
        if a in mine:
            mine[a] = max(mine[a] - back, 0.0)
    for b, mine in left.items():
        total = sum(mine.values())
        if total > 0.0:
            run.stand_in[b] = {r: v / total for r, v in mine.items()}
    run.sync_stand_ins()
