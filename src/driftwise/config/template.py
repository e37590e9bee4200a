"""The hand-written lines of the commented default configuration (``driftwise config init``).

:data:`TEMPLATE_TOML` shows fields of :class:`driftwise.config.Config` with their
default, unit and a comment; optional fields without a default value are shown commented
out, with an example. :func:`driftwise.config.complete_template` adds a line for every
field not written here (its description and default), which gives
:data:`driftwise.config.DEFAULT_CONFIG_TOML`: loading it gives exactly
:func:`driftwise.config.default_config` (tested). The names of ``policy.trigger`` are
listed from the trigger registry (:data:`driftwise.policy.triggers.TRIGGERS`), so a new
trigger needs no line here either; the registry is imported when the template is first read
(:func:`template_toml`), not with the configuration.
"""

from __future__ import annotations

from functools import cache

__all__ = ["template_toml"]  # and TEMPLATE_TOML, built on first use (__getattr__)

_TEXT = """\
# driftwise configuration. Every field is shown with its default; delete what you do
# not change. Weights, drifts and rates are fractions (0.05 = 5%), money is in USD,
# costs in basis points (bps) of traded value, volatility annualized, "_days" are
# trading days unless the comment says calendar days. Unknown keys are errors.

[policy]
# When to rebalance, one of:
{triggers}
#   "any_of" / "all_of": compose the triggers listed in `triggers` below.
trigger = "threshold"
# Review period of the triggers with a calendar review: "day", "week", "month", "quarter",
# "half", "year".
frequency = "quarter"
# Calendar rules fire on the "first" or "last" NYSE session of the period.
anchor = "first"
# Portfolio drift ½·Σ|w − t| that triggers a rebalance, fraction of NAV (0.10 passive, 0.03 tight;
# 0: any drift).
threshold = 0.05
# Hybrid: drift that forces a rebalance between calendar reviews, fraction of NAV.
hybrid_override = 0.10
# Per-asset absolute band on |w_i − t_i|, fraction of NAV.
band_abs = 0.02
# Per-asset relative band, fraction of the asset's target weight t_i.
band_rel = 0.25
# Band of an asset: "absolute" (band_abs), "relative" (band_rel·t_i) or "larger" of both.
band_mode = "larger"
# Cost-benefit form: "utility" (certainty-equivalent gain, sound) or "ratio" (cost / ΔTE).
cost_benefit_form = "utility"
# Tracking aversion γ of the utility benefit (γ/2)·(TE_before² − TE_after²)·H/252.
tracking_aversion = 2.0
# Horizon H of the benefit, trading days.
benefit_horizon_days = 252
# Rule 2 (volatility-aware): assets with annualized σ_60d at or above this ...
vol_aware_min_vol = 0.30
# ... and |drift| at or above this (fraction of NAV) are traded.
vol_aware_min_drift = 0.03
# Rule 4 (stress delay): hold back a moderate rebalance while VIX is high.
stress_delay = true
# Rule 4: VIX level (index points) at or above which the market is in stress.
stress_vix = 30.0
# Rule 4: delay only when portfolio drift is at or below this, fraction of NAV.
stress_max_drift = 0.10
# Drift (fraction of NAV) at or above which no delay or pause applies.
extreme_drift = 0.15
# Rule 4: minimum delay, trading days.
delay_days = 10
# Rule 4: a delayed rebalance is taken after at most this many trading days.
max_delay_days = 20
# Dynamic trigger: threshold multipliers for VIX below, between and above costs.vix_breaks.
dynamic_multipliers = [1.0, 1.2, 1.5]
# Dynamic trigger: in the top VIX regime pause instead of widening, unless drift is extreme.
dynamic_stress_pause = false
# Triggers composed by trigger = "any_of" (fires when one fires) or "all_of" (when all fire),
# each with its own parameters above; one level of nesting, e.g.
# ["cost_benefit", { all_of = ["calendar", "threshold"] }]. Empty for any other trigger.
triggers = []
# What to trade to: "full" (target), "half" (half the drift), "band_edge",
# "cost_constrained" (assets whose benefit exceeds the multiple below × cost), "optimized"
# (the trades minimizing (γ/2)·TE² + γ_trade·cost under the constraints; see [optimizer]).
destination = "full"
# Cost-constrained destination: trade an asset only if its benefit > this × its cost.
cost_constrained_multiple = 2.0
# Skip a rebalance whose cost exceeds its benefit.
skip_if_cost_exceeds_benefit = true

[constraints]
# Long-only mandate: no short position after trading.
long_only = true
# Cash kept back from investing, fraction of NAV.
cash_buffer = 0.0
# Trades smaller than this are dropped, USD.
min_trade_usd = 100.0
# Trades smaller than this are dropped, shares.
min_trade_shares = 0.0
# Round trades to whole shares (false: fractional shares).
whole_shares = true
# Tickers never bought, e.g. ["XOM", "CVX"].
do_not_buy = []
# Tickers never sold.
do_not_sell = []
# Cap on the turnover ½·Σ|trade_usd| / NAV of one rebalance, fraction of NAV.
max_turnover = 1.0
# Assets with 60-day average daily volume below this (USD) are left out, flagged.
min_adv_usd = 1000000.0
# Assets needing more liquidity days |shares| / (participation·ADV) are left out, flagged.
max_liquidity_days = 10.0

[optimizer]
# Risk aversion γ of the optimized destination: (γ/2)·(w − t)'Σ(w − t), Σ annualized.
gamma = 2.0
# Trade aversion γ_trade: the multiple of the cost model's cost the optimizer charges;
# "auto": 5 × (N_eff / 20)^(-2/3), at least 1.5, N_eff = (Σ t)² / Σ t² the target's
# effective number of names (5 at 20 equal weights, 2.0 at 80, 1.5 from 122), or a number
# such as 5.0.
gamma_trade = "auto"
# Upper bound of every asset's weight after an optimized rebalance, fraction of NAV.
max_weight = 1.0
# Largest |Σ (w − t)| of a group (see group_by) after an optimized rebalance, fraction of
# NAV, e.g. 0.02 (left out: no group bound).
# group_deviation = 0.02
# The security master's column whose values group the assets: "sector" or "asset_class".
group_by = "sector"
# Factor proxies of the factor exposure targets: "name = TICKER" or "name = LONG - SHORT"
# (daily returns of the long leg minus the short leg). A ticker is read from the market
# prices, else from the reference series (S&P 500 index SP500; MSCI USA factor ETFs MTUM,
# QUAL, SIZE, USMV, VLUE; 2014 .. 2022-12-28).
factors = ["market = SP500", "size = SIZE - SP500", "value = VLUE - SP500"]
# Sessions of daily returns (up to the decision day) the factor betas are estimated from.
factor_window_days = 252
# Largest |B'(w − t)| of each factor after an optimized rebalance (beta-weighted fraction
# of NAV), e.g. 0.05 (left out: no factor bound).
# factor_bound = 0.05
# λ of the penalty λ·||B'(w − t)||² on the factor exposures (0: none).
factor_penalty = 0.0
# γ_tax: with [tax] enabled and lots, the objective adds γ_tax × the tax of the sales
# (fractions of NAV; each lot's rate times its gain; a loss lowers it): 1 counts the tax at
# face value, 0 leaves it out of the solve (the lots' rules still hold). The default 0.25:
# a gain kept is still taxed later, and on real portfolios 0.25 did best after tax.
tax_weight = 0.25

[costs]
# Market impact: "square_root" (Y·σ_daily·sqrt(Q/ADV)) or "almgren_2005" (3/5 power).
impact_model = "square_root"
# Coefficient Y of the square-root impact law.
impact_coef = 1.0
# VIX levels (index points) splitting the regimes: below, between, above.
vix_breaks = [20.0, 30.0]
# Spread and impact multipliers per VIX regime (assumptions to sweep, not facts).
vix_multipliers = [1.0, 1.5, 2.5]
# Participation assumed for impact and liquidity days, fraction of daily volume.
participation = 0.10
# Multiplies every cost (for sensitivity runs).
cost_scale = 1.0
# All-in cost replacing the cost model when set, bps of traded value.
# flat_cost_bps = 20.0
# Cost inputs older than this are stale (plan invalid unless accepted), calendar days.
stale_after_days = 30
# Plan with stale cost inputs anyway (flagged).
accept_stale_costs = false
# Commission when the cost file gives none, bps of traded value.
commission_bps = 1.0
# Commission per share (USD); when set it replaces commission_bps.
# commission_per_share_usd = 0.005
# Minimum commission per order, USD.
min_ticket_usd = 0.0
# Borrow cost of short positions when the cost file gives none, bps per year.
borrow_bps_annual = 25.0
# Window of the average daily volume, trading days.
adv_window_days = 60

[risk]
# Window of the volatility estimate, trading days.
vol_window_days = 60
# Covariance windows (increasing), trading days; the first drives decisions.
cov_windows_days = [60, 252]
# Estimator of the long-window covariance that `driftwise monitor` shows beside the sample
# one: "ledoit_wolf" (shrinkage) or "sample". Decisions use the sample covariance.
estimator = "ledoit_wolf"
# Tracking error with the "full" covariance or its "diagonal" approximation.
te_model = "full"
# Asset drift above this (fraction of NAV) is capped and flagged as a probable data error.
drift_cap = 0.5

[execution]
# Slicing within a day: "twap", "vwap" (intraday volume profile) or "pov" (participation).
style = "vwap"
# Participation cap of child orders, fraction of volume.
participation = 0.10
# Trades needing more liquidity days than this are worked over several sessions.
multi_day_after_days = 5.0
# Almgren-Chriss risk aversion λ, per USD.
risk_aversion = 1e-6
# Child-order buckets per session (13 = 30-minute buckets).
slices_per_day = 13
# Child order type: "market", or "limit" at the as-of close moved by the order's expected
# price cost (half-spread + impact): buy close·(1 + bps/1e4), sell close·(1 − bps/1e4).
order_type = "market"

[tax]
# Lots are relieved and shown in the trade list whenever the holdings carry them; true
# makes the plan decide after tax: each sale's tax is a cost next to spread, commission
# and impact, a sale whose tax exceeds what it brings is cut at a lot boundary or left
# out, short-term gains about to turn long-term are deferred, wash sales held back.
enabled = false
# Lots a sale relieves first: "hifo", "fifo", "min_tax" or "specific".
lot_relief = "hifo"
# Lot ids relieved first under "specific" (the lot file's lot_id, else TICKER:YYYY-MM-DD);
# the rest by minimum tax.
specific_lots = []
# Tax rate on short-term gains, fraction of the gain.
short_term_rate = 0.37
# Tax rate on long-term gains, fraction of the gain.
long_term_rate = 0.20
# State tax rate on every gain, fraction of the gain.
state_rate = 0.0
# Net investment income tax on every gain, fraction of the gain.
niit_rate = 0.038
# A lot sold after the anniversary of its purchase is long-term; a number of calendar
# days replaces that rule (held longer than this many days).
# long_term_after_days = 365
# Most net gain realized per calendar year, USD (gains so far this year from --sales);
# sales are cut to keep within it. Default: no cap.
# gain_budget_usd = 50000.0
# Short-term gain lots turning long-term within defer_horizon_days are not sold unless
# the tracking penalty of waiting exceeds the tax saved by waiting.
defer_short_term_gains = true
# The deferral horizon, calendar days.
defer_horizon_days = 60
# A purchase within this many calendar days before or after a loss sale washes the loss.
wash_sale_days = 30
# true: propose trades that wash a loss (flagged); false: hold them back.
allow_wash_sales = false
# Loss-harvest candidates: a loss of at least this fraction of the lot's basis ...
harvest_loss_threshold = 0.10
# ... and at least this many USD.
harvest_min_loss_usd = 1000.0
# Replacements bought with a harvest's proceeds, TICKER:REPLACEMENT (not substantially
# identical, e.g. another issuer's sector ETF); a ticker without one waits in cash until
# the wash-sale window ends.
harvest_pairs = []
# Put the proposed harvest sales (and their pairs' buys) in the plan's trade list and
# orders, each row with reason "harvest" or "harvest replacement of TICKER".
harvest_in_trades = false
# A harvest's value (and a realized loss's worth in the optimized destination's solve)
# discounts the tax paid back on the lower basis at this rate per year ...
harvest_discount_rate_annual = 0.05
# ... over this many years until the replacement is sold.
harvest_years_to_sale = 10.0

[backtest]
# First day of the window (default: first day of the data).
# start = 2005-01-03
# Last day of the window (default: last day of the data).
# end = 2022-12-30
# Start from the given holdings instead of the target weights.
start_from_holdings = false
# Starting portfolio value, USD (default: the NAV of the given holdings, else 1,000,000).
# initial_nav_usd = 1000000.0
# Cash earns the risk-free rate of the day before each night, 1 + rf / 252 (false: nothing).
cash_earns_risk_free = true
# Drift thresholds to sweep (increasing), fraction of NAV (0: any drift).
thresholds = [0.03, 0.05, 0.07, 0.10]
# All-in cost levels to sweep (increasing), bps of traded value.
cost_levels_bps = [10.0, 20.0, 50.0]
# VIX regime multiplier triples to sweep (below, between, above costs.vix_breaks).
vix_multipliers = [[1.0, 1.0, 1.0], [1.0, 1.5, 2.5], [1.0, 2.0, 3.0]]
# Impact models to sweep: "square_root", "almgren_2005".
impact_models = ["square_root", "almgren_2005"]
# Block length of the block bootstrap, trading days.
bootstrap_block_days = 21
# Number of bootstrap resamples.
bootstrap_samples = 1000
# Random seed of bootstraps and random portfolios.
seed = 0

[portfolio]
# Date of the last rebalance when the command line gives no --last-rebalance.
# last_rebalance = 2024-01-02
# Target when no targets file is given: "equal" weights, or "market_cap" weights from the
# security master's market_cap_usd (every ticker needs one); flagged either way.
default_target = "equal"

[data]
# One-day price jumps known to be real, as "TICKER:YYYY-MM-DD" (e.g. ["OXY:2020-03-09"]):
# not refused as a suspected unadjusted split or typo (flagged as accepted).
accept_jumps = []

[record]
# The portfolio record (driftwise init / import / approve / fills --db): a SQLite file,
# or the URL of a shared database (postgresql+psycopg://user@host/driftwise); set one.
# Default: the DRIFTWISE_DB variable, else ~/.local/share/driftwise/record.sqlite.
# path = "record.sqlite"
# url = "postgresql+psycopg://user@host/driftwise"

[cluster]
# Where large runs (backtest sweeps, validate-rules) share their work (--workers and
# --scheduler override it): processes of a local Dask cluster (default: the backtest every
# core when the run is large enough, validate-rules 2; 1: this process alone) ...
# workers = 2
# ... or the address of a running Dask scheduler, whose workers have driftwise installed.
# scheduler = "tcp://10.0.0.5:8786"

[accounts]
# Household rules of driftwise daily (households and tax status: driftwise import
# --accounts) and of plan --all --accounts FILE. Hold the household's tax-inefficient
# assets in its tax-deferred accounts first: its targets split across its accounts by tax
# status before planning.
asset_location = false
# Tax-inefficient asset classes (the security master's asset_class, any case) ...
tax_inefficient_classes = ["Bond", "REIT"]
# ... and tickers, whatever their asset class.
tax_inefficient_tickers = []
"""


@cache
def template_toml() -> str:
    """:data:`TEMPLATE_TOML`, its trigger lines listed from the registry (imported here,
    when the template is first read: reading a configuration does not need it)."""
    from driftwise.policy.triggers import TRIGGERS

    lines = "\n".join(f'#   "{name}": {spec.summary}' for name, spec in TRIGGERS.items())
    return _TEXT.replace("{triggers}", lines)


def __getattr__(name: str) -> str:
    """``TEMPLATE_TOML``: :func:`template_toml`, built on first use."""
    if name == "TEMPLATE_TOML":
        return template_toml()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
