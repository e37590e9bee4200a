"""Tax alpha on real data: monthly loss harvesting on random 50-stock S&P 500 portfolios.

Each portfolio holds 50 stocks drawn at random, **point in time**, from the S&P 500 stocks
one could have chosen on the first day of the window from the data up to it
(:func:`driftwise.validation.study.eligible_sp500`: priced that day, a year of history, no
split artefact before it; ``../shared/data/sp500-daily-ohlcv-alphavantage``, still
survivorship-biased: April-2021 members only), cost tiers from the market caps known that
day, a stock that stops trading held at its last price; equal weight, 2% cash,
USD 1,000,000 at the first close. The rule is a 10% drift threshold rebalancing to target
with the full cost model; it runs twice through the after-tax backtest
(:mod:`driftwise.backtest.aftertax`):

* **tax-aware**: the planner's decision after tax (HIFO relief, deferral of short-term
  gains, wash-sale holds) and loss harvesting on the first session of every month (lots
  down at least 10% of basis and USD 1,000; the proceeds held in cash until the 30-day
  window ends, then the stock bought back);
* **tax-unaware**: the same rule deciding without tax, its lots relieved HIFO, taxes paid
  (wash sales it triggers are disallowed).

Rates 37% short-term / 20% long-term (no state tax, no NIIT), yearly netting with the USD
3,000 ordinary-income offset and the carry-forward, taxes paid from cash at each year's
end, and every remaining gain taxed long-term at the end (the after-tax liquidation
value). The tax alpha is the after-tax annual return difference, with a paired circular
block bootstrap (21-day blocks) per portfolio; across the K portfolios the mean, its 95%
t-interval (the portfolios are independent draws) and the share of portfolios with a
positive alpha. With ``--workers W`` the portfolios run on a local Dask cluster of W
processes (:func:`driftwise.backtest.cluster.run_tasks`, results in portfolio order, the
same numbers as inline).

``--destination optimized``: the same check for the optimized destination (the 10% drift
threshold as its trigger, ``[optimizer]`` γ from ``--gamma``, γ_trade automatic): the
tax-aware run weighs each lot's tax inside the solve with ``optimizer.tax_weight`` =
``--tax-weight`` (γ_tax; several values run one tax-aware run each against the one
tax-unaware run they share, which never reads γ_tax), the tax-unaware run is the same
optimized rule deciding without tax. ``--threshold-alpha X`` prints the threshold rule's
measured tax alpha beside it (the figure of benchmarks/README.md).

Literature: Chaudhuri, Burnham and Lo (2020), "An Empirical Evaluation of Tax-Loss
Harvesting Alpha", Financial Analysts Journal 76(3): 0.82% a year with the wash-sale rule
(1.08% without), 500 largest US stocks, 1926-2018, monthly harvesting, 35%/15% rates
(see benchmarks/README.md for why the figures differ). The tax alpha is split into the
pre-tax return difference of the two runs and the difference of their tax drag (pre-tax
less after-tax annual return), each with its interval across portfolios.

    python benchmarks/tax_alpha.py [--portfolios 4] [--workers 2] [--start 2000-01-03]
        [--end 2020-12-31 | --years 10] [--samples 1000] [--random 0]
        [--destination optimized --tax-weight 0.1 1 --gamma 2 --threshold-alpha 0.0008]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from driftwise._atomic import write_text
from driftwise.app.aftertax import metrics_row, run_one, tax_alpha_ci
from driftwise.backtest import cluster
from driftwise.config import Config
from driftwise.validation.study import PortfolioSpec, eligible_sp500, load_inputs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LITERATURE = 0.0082
"""Chaudhuri, Burnham and Lo (2020): tax alpha with the wash-sale rule, per year."""


def config(start: str, end: str, threshold: float, destination: str = "full",
           tax_weight: float = 1.0, gamma: float | None = None) -> Config:
    """The rule and the tax settings of the check (``tax_weight``, ``gamma``: the optimized
    destination's γ_tax and γ, read only by it)."""
    optimized: dict[str, object] = {}
    if destination == "optimized":
        optimized = {"optimizer.tax_weight": tax_weight}
        if gamma is not None:
            optimized["optimizer.gamma"] = gamma
    return Config().with_overrides({
        "policy.trigger": "threshold", "policy.threshold": threshold,
        "policy.destination": destination, **optimized,
        "backtest.start": start, "backtest.end": end, "backtest.initial_nav_usd": 1e6,
        "tax.enabled": True, "tax.short_term_rate": 0.37, "tax.long_term_rate": 0.20,
        "tax.niit_rate": 0.0, "tax.state_rate": 0.0, "tax.lot_relief": "hifo"})


@dataclass(frozen=True)
class Check:
    """What every portfolio's task shares: the window, the rule and the bootstrap."""

    start: str
    end: str
    threshold: float
    samples: int
    random: int
    rows_dir: str | None = None
    """Each portfolio's row is also written here as ``<label>.json`` when it is done."""
    destination: str = "full"
    tax_weights: tuple[float, ...] = (1.0,)
    """γ_tax of the optimized destination's tax-aware runs (one row each)."""
    gamma: float | None = None


def draw(pool: list[str], n: int, stocks: int, random: int, data_dir: Path, start: str
         ) -> list[PortfolioSpec]:
    """``n`` portfolios of ``stocks`` of ``pool`` (sorted), drawn on ``start``."""
    rng = np.random.default_rng(random)
    out = []
    for j in range(n):
        tickers = tuple(sorted(rng.choice(pool, size=stocks, replace=False).tolist()))
        out.append(PortfolioSpec(f"random {j + 1}", "sp500", tickers, str(data_dir),
                                 as_of=start))
    return out


def one_portfolio(check: Check, item: tuple[int, PortfolioSpec]
                  ) -> list[dict[str, float | str]]:
    """The tax-unaware run of one portfolio and its tax-aware run at each γ_tax of
    ``check`` (one for a formula destination): its rows of the table."""
    j, spec = item
    began, cpu = time.perf_counter(), time.process_time()
    inputs = load_inputs(spec)
    weights = check.tax_weights if check.destination == "optimized" else (1.0,)
    unaware = run_one(inputs, config(check.start, check.end, check.threshold,
                                     check.destination, weights[0], check.gamma),
                      aware=False, harvest_every="never")
    u = metrics_row(unaware)
    rows: list[dict[str, float | str]] = []
    for weight in weights:
        aware = run_one(inputs, config(check.start, check.end, check.threshold,
                                       check.destination, weight, check.gamma),
                        aware=True, harvest_every="month")
        a = metrics_row(aware)
        alpha, low, high = tax_alpha_ci(aware, unaware, samples=check.samples,
                                        seed=check.random + j)
        rows.append({
            "portfolio": spec.label, "tax_weight": weight, "tax_alpha": alpha,
            "low": low, "high": high,
            "aware_after_tax": a["after_tax_return_annual"],
            "unaware_after_tax": u["after_tax_return_annual"],
            "aware_pre_tax": a["pre_tax_return_annual"],
            "unaware_pre_tax": u["pre_tax_return_annual"],
            "aware_te": a["te_annual"], "unaware_te": u["te_annual"],
            "harvested_usd": a["harvested_loss_usd"], "harvest_days": a["n_harvest_days"],
            "disallowed_unaware_usd": u["disallowed_usd"],
            "taxes_aware_usd": a["taxes_paid_usd"],
            "taxes_unaware_usd": u["taxes_paid_usd"],
            "rebalances_aware": a["n_rebalances"], "rebalances_unaware": u["n_rebalances"]})
    for row in rows:  # the portfolio's time, shared by its rows
        row["seconds"] = time.perf_counter() - began
        row["cpu_seconds"] = (time.process_time() - cpu) / len(rows)
    if check.rows_dir is not None:
        write_text(Path(check.rows_dir) / f"{spec.label.replace(' ', '-')}.json",
                   json.dumps(rows))
    return rows


def finished(rows_dir: Path, label: str, check: Check) -> list[dict[str, float | str]] | None:
    """The rows a run wrote for portfolio ``label``, when they are this run's: one per
    γ_tax of ``check`` (the optimized rule) or one row (the threshold rule); else None."""
    path = rows_dir / f"{label.replace(' ', '-')}.json"
    if not path.is_file():
        return None
    rows: list[dict[str, float | str]] = json.loads(path.read_text())
    weights = sorted(float(row["tax_weight"]) for row in rows)
    wanted = sorted(check.tax_weights) if check.destination == "optimized" else weights
    return rows if rows and weights == wanted else None


def across(alpha: pd.Series, level: float = 0.95) -> tuple[float, float]:
    """The t-interval of the mean of ``alpha`` (one value per portfolio)."""
    n = len(alpha)
    if n < 2:
        return float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(alpha.std(ddof=1)) / np.sqrt(n)
    return float(alpha.mean()) - half, float(alpha.mean()) + half


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--portfolios", type=int, default=4)
    parser.add_argument("--stocks", type=int, default=50)
    parser.add_argument("--start", default="2000-01-03")
    parser.add_argument("--end", default="2020-12-31")
    parser.add_argument("--years", type=int, default=None,
                        help="Window of this many years from --start (instead of --end).")
    parser.add_argument("--threshold", type=float, default=0.10)
    parser.add_argument("--destination", choices=("full", "optimized"), default="full",
                        help="Where a rebalance trades to: the target (full) or the "
                             "optimized destination's solve (the tax in it when aware).")
    parser.add_argument("--tax-weight", type=float, nargs="+", default=[1.0],
                        help="optimizer.tax_weight (γ_tax) of the optimized tax-aware runs; "
                             "several: one tax-aware run each against one tax-unaware run.")
    parser.add_argument("--gamma", type=float, default=None,
                        help="optimizer.gamma of the optimized destination (default: the "
                             "configuration's).")
    parser.add_argument("--threshold-alpha", type=float, default=None,
                        help="The threshold rule's measured mean tax alpha (a fraction a "
                             "year), printed beside this run's for comparison.")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--random", type=int, default=0, help="Random state of the draws.")
    parser.add_argument("--workers", type=int, default=None,
                        help="Run the portfolios on a local Dask cluster of this many "
                             "processes (default: one after another in this process).")
    parser.add_argument("--rows-dir", type=Path, default=None,
                        help="Also write each portfolio's rows here as JSON when it is done "
                             "(an interrupted run keeps the portfolios it finished).")
    parser.add_argument("--resume", action="store_true",
                        help="Read the portfolios already written to --rows-dir (by the same "
                             "command) instead of running them again.")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    args = parser.parse_args()
    if args.portfolios < 1 or (args.workers is not None and args.workers < 1) or (
            args.years is not None and args.years < 1):
        parser.error("--portfolios, --workers and --years must be at least 1")
    if any(not 0.0 <= w <= 100.0 for w in args.tax_weight):
        parser.error("--tax-weight must be between 0 and 100 (optimizer.tax_weight)")
    if args.resume and args.rows_dir is None:
        parser.error("--resume reads the rows of --rows-dir: give it")
    if args.destination != "optimized" and (args.tax_weight != [1.0] or args.gamma is not None):
        parser.error("--tax-weight and --gamma are read by --destination optimized only")
    if not (args.data_dir / "sp500-daily-ohlcv-alphavantage").is_dir():
        print(f"skipped: no real data at {args.data_dir} (the S&P 500 folder of the shared "
              "data is needed)")
        return 0
    end = args.end if args.years is None else str(
        (pd.Timestamp(args.start) + pd.DateOffset(years=args.years)
         - pd.Timedelta(days=1)).date())
    t0, c0 = time.perf_counter(), time.process_time()
    pool = sorted(eligible_sp500(args.data_dir, args.start))
    specs = draw(pool, args.portfolios, args.stocks, args.random, args.data_dir, args.start)
    if args.rows_dir is not None:
        args.rows_dir.mkdir(parents=True, exist_ok=True)
    check = Check(args.start, end, args.threshold, args.samples, args.random,
                  None if args.rows_dir is None else str(args.rows_dir), args.destination,
                  tuple(args.tax_weight), args.gamma)
    items = list(enumerate(specs))
    optimized = args.destination == "optimized"
    kept: dict[int, list[dict[str, float | str]]] = {}
    if args.resume:
        kept = {j: rows for j, spec in items
                if (rows := finished(args.rows_dir, spec.label, check)) is not None}
        items = [item for item in items if item[0] not in kept]
        print(f"{len(kept)} portfolios read from {args.rows_dir}", flush=True)

    def report(rows: list[dict[str, float | str]]) -> None:
        for row in rows:
            weight = f" γ_tax {float(row['tax_weight']):g}" if optimized else ""
            print(f"{row['portfolio']}{weight}: tax alpha "
                  f"{100 * float(row['tax_alpha']):+.2f}%/yr "
                  f"[{100 * float(row['low']):+.2f}, {100 * float(row['high']):+.2f}] "
                  f"(CPU {float(row['cpu_seconds']):.0f} s, wall {float(row['seconds']):.0f} s, "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)

    if args.workers is None or not items:
        done = []
        for item in items:
            done.append(one_portfolio(check, item))
            report(done[-1])
    else:
        with cluster.client(args.workers, None) as dask_client:
            done = cluster.run_tasks(dask_client, one_portfolio, items, check,
                                     lambda k, n: print(f"{k}/{n} portfolios done",
                                                        flush=True))
        for rows in done:
            report(rows)
    ran = dict(zip((j for j, _ in items), done, strict=True))
    done = [kept[j] if j in kept else ran[j] for j in range(len(specs))]
    full = pd.DataFrame([row for rows in done for row in rows])
    where = "inline" if args.workers is None else f"on {args.workers} Dask workers"
    rule = (f"{100 * args.threshold:g}% drift threshold to the optimized destination "
            f"(γ {'default' if args.gamma is None else f'{args.gamma:g}'})" if optimized
            else f"{100 * args.threshold:g}% drift threshold to target")
    print(f"\n{args.portfolios} random portfolios of {args.stocks} of {len(pool)} S&P 500 "
          f"stocks eligible on {args.start}, {args.start} .. {end}, 37%/20%, wash-sale rule, "
          f"monthly harvesting; {rule}")
    for _, table in full.groupby("tax_weight", sort=True):
        table = table.set_index("portfolio")
        alpha = table["tax_alpha"]
        low, high = across(alpha)
        if optimized:
            print(f"\n-- γ_tax (optimizer.tax_weight) = {float(table['tax_weight'].iloc[0]):g}")
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(table.drop(columns=["seconds", "cpu_seconds", "tax_weight"]).to_string(
                float_format=lambda x: f"{x:.4f}"))
        print(f"\nmean tax alpha {100 * alpha.mean():+.2f}%/yr (95% t-interval across "
              f"portfolios [{100 * low:+.2f}, {100 * high:+.2f}]; median "
              f"{100 * alpha.median():+.2f}%; positive in {int((alpha > 0).sum())} of "
              f"{len(alpha)}; mean of the per-portfolio bootstrap bounds "
              f"[{100 * table['low'].mean():+.2f}, {100 * table['high'].mean():+.2f}])")
        print(f"mean TE aware {100 * table['aware_te'].mean():.2f}% / unaware "
              f"{100 * table['unaware_te'].mean():.2f}%; mean taxes paid aware USD "
              f"{table['taxes_aware_usd'].mean():,.0f} / unaware USD "
              f"{table['taxes_unaware_usd'].mean():,.0f}")
        pre = table["aware_pre_tax"] - table["unaware_pre_tax"]
        drag = ((table["aware_pre_tax"] - table["aware_after_tax"])
                - (table["unaware_pre_tax"] - table["unaware_after_tax"]))
        for label, part in (("pre-tax return difference (aware - unaware)", pre),
                            ("tax drag difference (pre - after tax, aware - unaware)", drag)):
            lo, hi = across(part)
            print(f"{label}: {100 * part.mean():+.2f}%/yr [{100 * lo:+.2f}, {100 * hi:+.2f}]")
        if len(table) > 2:
            print(f"correlation of the tax alpha with the pre-tax difference across "
                  f"portfolios: {float(np.corrcoef(alpha, pre)[0, 1]):.3f}")
    if args.threshold_alpha is not None:
        print(f"the threshold rule to target (measured, benchmarks/README.md): "
              f"{100 * args.threshold_alpha:+.2f}%/yr")
    print(f"Chaudhuri, Burnham and Lo (2020), with wash sales: {100 * LITERATURE:+.2f}%/yr "
          "(500 largest US stocks, 1926-2018)")
    print(f"portfolio runs: CPU {full['cpu_seconds'].sum():.0f} s in all; {where}; this "
          f"process CPU {time.process_time() - c0:.0f} s; wall {time.perf_counter() - t0:.0f} s; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
