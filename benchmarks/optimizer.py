"""The optimized destination against threshold rules, and its speed (issue 17).

1. On the sample's last 10 years (20 stocks, the cost model with its defaults), the loss
   ``(γ/2)·TE² + cost per year`` (TE the annualized tracking error against the target
   rebalanced daily at no cost, cost per year a fraction of NAV) of:
   * threshold rules (full destination) at drifts 1% .. 10%;
   * the optimized destination reviewed daily over a grid of γ_trade (γ = 2).
   It prints each rule's TE and cost per year with their block-bootstrap 95% intervals
   (``--samples`` resamples of 21-day blocks), turnover, rebalances and loss, the best
   γ_trade against the best threshold, and whether the default γ_trade is dominated
   (higher TE and higher cost) by any threshold rule.
2. The time (wall clock and CPU) of one optimized backtest over the 20 stocks × 2,516 days
   (target <= 2 s).
3. The time (wall clock and CPU) of one plan with the optimized destination over 500
   synthetic assets (target <= 1 s; γ_trade = 1, so that the solver runs), after a first
   plan that pays the imports.
4. ``--sp500``: the frontier of 1. on real S&P 500 stocks (``../shared/data``: the
   Alpha Vantage daily adjusted closes of the stocks priced on every day of the last
   ``--years`` years of the data, at most ``--assets`` of them, equal weight; CBOE VIX),
   with the time of the run; skipped, saying so, without the data.

    python benchmarks/optimizer.py [--gammas 1 3 10 30 100] [--samples 1000] [--skip-grid]
    python benchmarks/optimizer.py --sp500 [--assets 500] [--years 10] [--gammas 5 30]
    python benchmarks/optimizer.py --study [--sizes 20 50 100 200 452] [--gammas ...]
        [--skip-sample]

5. ``--study``: the best γ_trade by universe size. For the sample (20 stocks, last 10
   years) and the first N of the S&P 500 stocks of 4. for each N of ``--sizes``, the loss
   of each γ_trade of ``--gammas`` and of each threshold rule (one path, no bootstrap),
   the best γ_trade (the grid's, and the minimum of a parabola in log γ_trade through it
   and its two neighbours), the best threshold, and the least-squares slope of
   log(best γ_trade) against log N: the evidence for the rule of
   :func:`driftwise.policy.optimize.auto_gamma_trade`.
6. ``--large``: the time (wall clock and CPU) of one optimized backtest (γ_trade "auto") of
   ``--assets`` synthetic assets over ``--days`` sessions, and the rows Clarabel solved.

    python benchmarks/optimizer.py --large [--assets 500] [--days 2520]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

import driftwise as dw
from driftwise.calendar import nyse_sessions
from driftwise.config import Config, policies
from driftwise.policy.optimize import DEFAULT_GAMMA, DEFAULT_GAMMA_TRADE, auto_gamma_trade

THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.10)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GAMMA = DEFAULT_GAMMA


def load_average() -> str:
    """The machine's load averages over 1, 5 and 15 minutes, printed beside each time (the
    wall and CPU times of a shared machine grow with its load)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f}"


def optimized(gamma_trade: float | str, base: Config | None = None) -> Config:
    """The optimized destination reviewed at every close, no cost-benefit skip."""
    config = policies.daily(destination="optimized", base=base)
    return config.with_overrides({"optimizer.gamma": GAMMA,
                                  "optimizer.gamma_trade": gamma_trade,
                                  "policy.skip_if_cost_exceeds_benefit": False})


def frontier(inputs: dw.Inputs, gammas: list[float], start: pd.Timestamp,
             end: pd.Timestamp, samples: int) -> pd.DataFrame:
    """TE and cost per year of each rule with their block-bootstrap 95% intervals
    (``samples`` resamples of 21-day blocks), turnover, rebalances and the loss."""
    rules: dict[str, Config] = {f"threshold {h:.0%}": policies.threshold(h) for h in THRESHOLDS}
    rules |= {f"optimized γ_trade={g:g}": optimized(g) for g in gammas}
    result = dw.backtest(inputs, rules, start=start, end=end, samples=samples)
    frame = result.metrics[["te_low", "te_annual", "te_high", "cost_low", "cost_per_year",
                            "cost_high", "turnover_per_year", "n_rebalances"]].copy()
    frame["loss"] = 0.5 * GAMMA * frame["te_annual"] ** 2 + frame["cost_per_year"]
    return frame


def default_gamma_trade(inputs: dw.Inputs) -> float:
    """The default ("auto") γ_trade of the inputs' target weights."""
    targets = inputs.targets
    return (DEFAULT_GAMMA_TRADE if targets is None
            else auto_gamma_trade(targets.weights.to_numpy(dtype=float)))


def print_frontier(frame: pd.DataFrame, default_gamma: float = DEFAULT_GAMMA_TRADE) -> None:
    """The table, the best rules and whether the default γ_trade is dominated."""
    with pd.option_context("display.float_format", "{:.6f}".format, "display.width", 200,
                           "display.max_columns", 20):
        print(frame)
    thresholds = frame[frame.index.str.startswith("threshold")]
    optimized_rows = frame[frame.index.str.startswith("optimized")]
    best_t, best_o = thresholds["loss"].idxmin(), optimized_rows["loss"].idxmin()
    print(f"best threshold: {best_t} loss {thresholds['loss'].min():.6f}; best optimized: "
          f"{best_o} loss {optimized_rows['loss'].min():.6f}")
    default = f"optimized γ_trade={default_gamma:g}"
    if default in frame.index:
        row = frame.loc[default]
        dominated = thresholds[(thresholds["te_annual"] <= row["te_annual"])
                               & (thresholds["cost_per_year"] <= row["cost_per_year"])]
        print(f"default γ_trade = {default_gamma:g}: loss {row['loss']:.6f}; "
              f"dominated by {list(dominated.index) or 'no threshold rule'}")


def sp500_inputs(n_assets: int, years: int) -> dw.Inputs | None:
    """Equal weight over the S&P 500 stocks priced on every day of the data's last
    ``years`` years (at most ``n_assets``, alphabetically), CBOE VIX; None without the
    data."""
    from driftwise.app.backtest import equal_weight_inputs
    from driftwise.data.alphavantage import read_alphavantage_folder
    from driftwise.data.market import read_vix

    folder = SHARED / "sp500-daily-ohlcv-alphavantage" / "daily"
    if not folder.is_dir():
        return None
    last = pd.Timestamp("2021-04-21")  # the data's last day
    market = read_alphavantage_folder(folder, start=last - pd.DateOffset(years=years),
                                      end=last)
    vix, _ = read_vix(SHARED / "cboe-vix" / "vix-daily.csv")
    if market.jumps:  # the backtest refuses unconfirmed jumps: these are taken as real
        print(f"{len(market.jumps)} suspect one-day price jumps taken as real: "
              + ", ".join(f"{j.ticker} {pd.Timestamp(j.date).date()}" for j in market.jumps))
    market = dataclasses.replace(market, vix=vix, jumps=())
    inputs = equal_weight_inputs(market)
    keep = inputs.market.prices.columns[:n_assets]
    if len(keep) < len(inputs.market.prices.columns):
        cut = dataclasses.replace(market, prices=market.prices[keep],
                                  volumes=None if market.volumes is None
                                  else market.volumes[keep])
        inputs = equal_weight_inputs(cut)
    return inputs


def run_sp500(args: argparse.Namespace) -> None:
    inputs = sp500_inputs(args.assets, args.years)
    if inputs is None:
        print(f"skipped: no S&P 500 data at {SHARED}")
        return
    days = inputs.market.prices.index
    print(f"S&P 500: {len(inputs.market.prices.columns)} stocks, {days[0].date()} .. "
          f"{days[-1].date()}, equal weight, CBOE VIX")
    t0, c0 = time.perf_counter(), time.process_time()
    auto = default_gamma_trade(inputs)  # the default ("auto") for these names, run too
    gammas = args.gammas + ([auto] if auto not in args.gammas else [])
    frame = frontier(inputs, gammas, days[0], days[-1], args.samples)
    print_frontier(frame, auto)
    print(f"frontier ({len(frame)} rules): {time.perf_counter() - t0:.1f} s, "
          f"{time.process_time() - c0:.1f} s of CPU")


def best_gamma(losses: pd.Series) -> float:
    """The γ_trade of least loss: the grid's best, refined by the minimum of the parabola in
    log γ_trade through it and its two neighbours (the grid's best at an end of the grid)."""
    x, y = np.log(losses.index.to_numpy(dtype=float)), losses.to_numpy(dtype=float)
    i = int(np.argmin(y))
    if i == 0 or i == len(y) - 1:
        return float(np.exp(x[i]))
    a, b, _ = np.polyfit(x[i - 1:i + 2], y[i - 1:i + 2], 2)
    return float(np.exp(-b / (2.0 * a))) if a > 0 else float(np.exp(x[i]))


def study_row(label: str, inputs: dw.Inputs, gammas: list[float], start: pd.Timestamp,
              end: pd.Timestamp) -> dict[str, object]:
    """One universe of the study: the loss of each γ_trade and threshold, the best of each."""
    c0 = time.process_time()
    rules: dict[str, Config] = {f"t{h:g}": policies.threshold(h) for h in THRESHOLDS}
    rules |= {f"g{g:g}": optimized(g) for g in gammas}
    result = dw.backtest(inputs, rules, start=start, end=end, samples=1, workers=1)
    m = result.metrics
    loss = 0.5 * GAMMA * m["te_annual"] ** 2 + m["cost_per_year"]
    g_loss = pd.Series([float(loss[f"g{g:g}"]) for g in gammas], index=gammas)
    t_loss = pd.Series([float(loss[f"t{h:g}"]) for h in THRESHOLDS], index=THRESHOLDS)
    targets = inputs.targets
    assert targets is not None
    weights = targets.weights.to_numpy(dtype=float)
    row: dict[str, object] = {
        "universe": label, "n": len(inputs.market.prices.columns),
        "n_eff": float(weights.sum() ** 2 / (weights**2).sum()),
        "best_grid": gammas[int(np.argmin(g_loss.to_numpy()))],
        "best_gamma_trade": best_gamma(g_loss), "best_loss": float(g_loss.min()),
        "best_threshold": THRESHOLDS[int(np.argmin(t_loss.to_numpy()))],
        "threshold_loss": float(t_loss.min()), "cpu_s": time.process_time() - c0,
        "load_1min": os.getloadavg()[0]}
    row |= {f"loss g={g:g}": float(v) for g, v in g_loss.items()}
    print(pd.Series(row).to_string(), flush=True)
    return row


def run_study(args: argparse.Namespace) -> None:
    """The best γ_trade on the sample and on S&P subsets of each size; the fit on log N."""
    rows = []
    if not args.skip_sample:
        sample = dw.load()
        days = sample.market.prices.index
        rows.append(study_row("sample", sample, args.gammas, days[max(0, len(days) - 2516)],
                              days[-1]))
    for n in args.sizes:
        inputs = sp500_inputs(n, args.years)
        if inputs is None:
            print(f"skipped: no S&P 500 data at {SHARED}")
            break
        days = inputs.market.prices.index
        rows.append(study_row(f"S&P {n}", inputs, args.gammas, days[0], days[-1]))
    frame = pd.DataFrame(rows).set_index("universe")
    with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 250,
                           "display.max_columns", 30):
        print(frame)
    if len(frame) > 2:
        slope, intercept = np.polyfit(np.log(frame["n_eff"].to_numpy(dtype=float)),
                                      np.log(frame["best_gamma_trade"].to_numpy(dtype=float)),
                                      1)
        print(f"log(best γ_trade) = {intercept:.3f} + {slope:.3f} log N_eff "
              f"(γ_trade at N_eff = 20: {np.exp(intercept) * 20 ** slope:.3g})")


def run_large(args: argparse.Namespace) -> None:
    """One optimized backtest (reviewed every close, γ_trade "auto") over ``--assets``
    synthetic assets (``plan_500.synthetic_inputs``: one market factor, 1.5% daily
    idiosyncratic volatility, equal weight) and the last ``--days`` sessions; CPU and wall
    time, and the rows the interior point solved."""
    from plan_500 import synthetic_inputs

    from driftwise.policy import optimize

    first = nyse_sessions("2000-01-03", "2024-06-28")
    start = first[max(0, len(first) - args.days - 300)]  # a year of history before
    inputs = synthetic_inputs(args.assets, start=str(pd.Timestamp(start).date()))
    days = inputs.market.prices.index
    cold = {"rows": 0}
    solve = optimize.solve_row

    def counted(*a: object, **k: object) -> object:
        cold["rows"] += 1
        return solve(*a, **k)  # type: ignore[arg-type]
    optimize.solve_row = counted  # type: ignore[assignment]
    t0, c0 = time.perf_counter(), time.process_time()
    result = dw.backtest(inputs, {"optimized": optimized("auto")}, start=days[-args.days],
                         end=days[-1], samples=1, workers=1)
    print(f"optimized backtest, {inputs.market.prices.shape[1]} "
          f"assets x {args.days:,} days (γ_trade auto = "
          f"{optimize.auto_gamma_trade(inputs.targets.weights.to_numpy()):.3g}): "  # type: ignore[union-attr]
          f"{time.perf_counter() - t0:.1f} s, {time.process_time() - c0:.1f} s of CPU; "
          f"{cold['rows']} rows solved by Clarabel; "
          f"{int(result.metrics['n_rebalances'].iloc[0])} days traded; {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gammas", type=float, nargs="+", default=[1, 3, 10, 30, 100])
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument("--samples", type=int, default=1000,
                        help="block-bootstrap resamples of the intervals")
    parser.add_argument("--sp500", action="store_true",
                        help="the frontier on real S&P 500 stocks (../shared/data)")
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--study", action="store_true",
                        help="the best γ_trade by universe size (sample and S&P subsets)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100, 200, 452],
                        help="S&P subset sizes of --study")
    parser.add_argument("--skip-sample", action="store_true",
                        help="--study on the S&P subsets only")
    parser.add_argument("--large", action="store_true",
                        help="an optimized backtest of --assets synthetic assets x --days")
    parser.add_argument("--days", type=int, default=2520, help="sessions of --large")
    args = parser.parse_args()
    if args.large:
        run_large(args)
        return
    if args.study:
        run_study(args)
        return
    if args.sp500:
        run_sp500(args)
        return
    inputs = dw.load()
    last = inputs.market.prices.index[-1]
    days = inputs.market.prices.index
    start = days[max(0, len(days) - 2516)]
    print(f"sample: {inputs.market.prices.shape[1]} stocks, {start.date()} .. {last.date()}")
    if not args.skip_grid:
        print_frontier(frontier(inputs, args.gammas, start, last, args.samples))
    t0, c0 = time.perf_counter(), time.process_time()
    dw.backtest(inputs, {"optimized": optimized(DEFAULT_GAMMA_TRADE)}, start=start, end=last,
                samples=1)
    print(f"optimized backtest, 20 stocks x 2,516 days: {time.perf_counter() - t0:.2f} s, "
          f"{time.process_time() - c0:.2f} s of CPU (target <= 2 s); {load_average()}")
    plan_500()


def plan_500() -> None:
    from plan_500 import synthetic_inputs  # type: ignore[import-not-found]

    inputs = synthetic_inputs()
    # γ_trade = 1: outside the no-trade region, so that the solver runs (at the default
    # γ_trade this drifted book of 500 small weights sits inside it: no solve at all)
    config = Config().with_overrides({"policy.destination": "optimized",
                                      "policy.threshold": 0.0,
                                      "policy.skip_if_cost_exceeds_benefit": False,
                                      "optimizer.gamma_trade": 1.0})
    dw.plan(inputs, config=config)
    times, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        plan = dw.plan(inputs, config=config)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"optimized plan, {len(inputs.market.prices.columns)} assets: best "
          f"{min(times):.2f} s, median {float(np.median(times)):.2f} s, best CPU "
          f"{min(cpu):.2f} s (target <= 1 s); {len(plan.trades)} trades; {load_average()}")


if __name__ == "__main__":
    main()
