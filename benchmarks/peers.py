"""The same backtest in driftwise, vectorbt and bt, timed in one run.

Case: 500 synthetic assets x 2,520 days (``end_to_end.frames``), equal target weights,
invested at target on the first day; rebalance fully to target whenever the portfolio
drift ``D = ½ Σ|w_i − t_i|`` reaches 5% at a close; 10 bps of traded value per trade;
fractional shares. Each tool's time runs from the in-memory DataFrames to its result
(values of the portfolio each day); each result's number of rebalances and final value
are printed beside it, so that one sees the tools ran the same rule.

* driftwise: ``run_backtest`` + ``policy_metrics`` (``end_to_end.backtest_case``'s
  end-to-end path).
* vectorbt: the rule's schedule (a loop over days on numpy arrays, the drift of
  buy-and-hold holdings since the last rebalance) then ``Portfolio.from_orders`` with
  target-percent orders on the rebalance days (cash shared, sells first).
* bt: a ``Strategy`` with an ``Algo`` that passes when ``D ≥ 5%``, then ``WeighEqually``
  and ``Rebalance``, commissions of 10 bps.

vectorbt and bt are not dependencies of driftwise: run this script from a separate
virtual environment (see benchmarks/README.md). A tool that is not importable is skipped.

    python benchmarks/peers.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import frames, inputs_of

from driftwise.backtest.metrics import policy_metrics
from driftwise.config import policies
from driftwise.config.assemble import backtest_configs

THRESHOLD, FEE, NAV_USD = 0.05, 0.001, 1e6


def best(run: Callable[[], tuple[int, float]], repeats: int) -> tuple[float, int, float]:
    """Best time of ``repeats`` runs (after one untimed run) and the run's result."""
    out = run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return min(times), *out


def run_driftwise(prices: pd.DataFrame, volumes: pd.DataFrame, weights: pd.Series
                  ) -> tuple[int, float]:
    config = policies.threshold(THRESHOLD).with_overrides({
        "costs.flat_cost_bps": FEE * 1e4, "constraints.whole_shares": False,
        "constraints.min_trade_usd": 0.0, "backtest.initial_nav_usd": NAV_USD})
    result = backtest_configs(inputs_of(prices, volumes, weights), [config], workers=1)
    metrics = policy_metrics(result)
    return int(metrics["n_rebalances"].iloc[0]), float(metrics["final_nav_usd"].iloc[0])


def schedule(prices: np.ndarray, target: np.ndarray, threshold: float) -> np.ndarray:
    """Days (after the first) where the drift of the holdings bought at the last
    rebalance reaches ``threshold``: the rule's decisions, frictionless."""
    days = np.zeros(prices.shape[0], dtype=bool)
    units = target / prices[0]
    for t in range(1, prices.shape[0]):
        value = units * prices[t]
        if 0.5 * np.abs(value / value.sum() - target).sum() >= threshold:
            days[t] = True
            units = target / prices[t]
    return days


def run_vectorbt(prices: pd.DataFrame, weights: pd.Series) -> tuple[int, float]:
    import vectorbt as vbt

    target = weights.to_numpy()
    days = schedule(prices.to_numpy(), target, THRESHOLD)
    days[0] = True  # invest at target on the first day
    size = pd.DataFrame(np.where(days[:, None], target[None, :], np.nan), index=prices.index,
                        columns=prices.columns)
    pf = vbt.Portfolio.from_orders(prices, size=size, size_type="targetpercent",
                                   fees=FEE, init_cash=NAV_USD, cash_sharing=True,
                                   group_by=True, call_seq="auto", freq="1D")
    return int(days[1:].sum()), float(np.asarray(pf.value())[-1])


def run_bt(prices: pd.DataFrame, weights: pd.Series) -> tuple[int, float]:
    import bt

    target = weights.to_numpy()
    count = {"n": 0}

    class Drifted(bt.Algo):  # type: ignore[misc]
        """Passes on the first day and when the portfolio drift reaches the threshold."""

        def __call__(self, strategy: bt.core.Strategy) -> bool:
            if strategy.value <= 0 or not strategy.children:
                return True
            held = np.array([strategy.children[t].value if t in strategy.children else 0.0
                             for t in weights.index])
            drifted = 0.5 * np.abs(held / strategy.value - target).sum() >= THRESHOLD
            count["n"] += int(drifted)
            return bool(drifted)

    strategy = bt.Strategy("threshold", [Drifted(), bt.algos.SelectAll(),
                                         bt.algos.WeighEqually(), bt.algos.Rebalance()])
    test = bt.Backtest(strategy, prices, initial_capital=NAV_USD, integer_positions=False,
                       commissions=lambda quantity, price: abs(quantity) * price * FEE,
                       progress_bar=False)
    result = bt.run(test)
    return count["n"], float(result.prices.iloc[-1, 0] / 100.0 * NAV_USD)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per tool")
    args = parser.parse_args()
    prices, volumes, weights = frames()
    print(f"threshold {THRESHOLD:.0%} rule, {prices.shape[1]} assets x {prices.shape[0]} days, "
          f"{FEE * 1e4:g} bps, end to end from DataFrames (best of {args.repeats}):")
    mine, n, nav = best(lambda: run_driftwise(prices, volumes, weights), args.repeats)
    print(f"  driftwise  {mine:8.3f} s   {n:4d} rebalances, final value USD {nav:,.0f}",
          flush=True)
    peers: dict[str, Callable[[], tuple[int, float]]] = {
        "vectorbt": lambda: run_vectorbt(prices, weights),
        "bt": lambda: run_bt(prices, weights),
    }
    for name, run in peers.items():
        if importlib.util.find_spec(name) is None:
            print(f"  {name:<9}  not importable here: skipped")
            continue
        took, n, nav = best(run, args.repeats if name != "bt" else 1)
        print(f"  {name:<9}  {took:8.3f} s   {n:4d} rebalances, final value USD {nav:,.0f}   "
              f"driftwise / {name} = {mine / took:.2f}", flush=True)


if __name__ == "__main__":
    main()
