"""Speed of trade_costs on (1000 configurations, 500 assets): best of 30 runs.

Run: ``.venv/bin/python benchmarks/cost_model_speed.py``.
"""

from __future__ import annotations

import time

import numpy as np

from driftwise.costs import AssetCostInputs, CostBreakdown, CostParams, ImpactModel, trade_costs

N_CONFIGS, N_ASSETS, REPEATS = 1000, 500, 30


def main() -> None:
    rng = np.random.default_rng(0)
    n = N_ASSETS
    inputs = AssetCostInputs(
        price_usd=rng.uniform(10, 500, n), half_spread_bps=rng.uniform(1, 10, n),
        commission_bps=np.full(n, 1.0), commission_per_share_usd=np.full(n, 0.005),
        min_ticket_usd=np.full(n, 1.0), sigma_daily=rng.uniform(0.01, 0.03, n),
        adv_shares=rng.uniform(1e5, 1e7, n), borrow_bps_annual=np.full(n, 30.0))
    trade = rng.normal(0.0, 1e5, (N_CONFIGS, n))
    vix = rng.uniform(10, 40, N_CONFIGS)
    out = CostBreakdown(*[np.empty(trade.shape) for _ in range(6)])
    for model in ImpactModel:
        params = CostParams(impact_model=model)
        for label, v in (("one VIX", 25.0), ("VIX per config", vix)):
            for buffers in (None, out):
                trade_costs(trade, inputs, params, v, out=buffers)
                best = np.inf
                for _ in range(REPEATS):
                    t0 = time.perf_counter()
                    trade_costs(trade, inputs, params, v, out=buffers)
                    best = min(best, time.perf_counter() - t0)
                how = "out= buffers" if buffers is not None else "fresh arrays"
                print(f"{model.value:13} {label:15} {how:12} {best * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()
