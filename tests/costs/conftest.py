"""Shared builders for the cost-model tests."""

from __future__ import annotations

import numpy as np
import pytest

from driftwise.costs import AssetCostInputs


def make_inputs(n: int = 3, **overrides: object) -> AssetCostInputs:
    """Three hand-picked assets (or ``n`` cycled copies) with every component non-zero."""
    base: dict[str, object] = {
        "price_usd": [100.0, 50.0, 20.0],
        "half_spread_bps": [2.0, 5.0, 10.0],
        "commission_bps": [1.0, 0.0, 2.0],
        "commission_per_share_usd": [0.0, 0.01, 0.005],
        "min_ticket_usd": [0.0, 1.0, 5.0],
        "sigma_daily": [0.015, 0.02, 0.03],
        "adv_shares": [1e6, 2e5, 5e4],
        "borrow_bps_annual": [30.0, 50.0, 300.0],
        "outstanding_over_adv": [200.0, np.nan, 100.0],
        "tickers": ("AAA", "BBB", "CCC"),
    }
    base.update(overrides)
    if n != 3:
        for key, value in list(base.items()):
            if key == "tickers":
                base[key] = tuple(f"T{i}" for i in range(n))
            else:
                base[key] = np.resize(np.asarray(value, dtype=float), n)
    return AssetCostInputs(**base)  # type: ignore[arg-type]


@pytest.fixture
def inputs() -> AssetCostInputs:
    return make_inputs()
