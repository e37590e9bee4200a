"""The optimized destination through the after-tax backtest: tax off equals the engine's
optimized run exactly, γ_tax (``optimizer.tax_weight``) is read by the tax-aware run only,
a sweep over γ_tax shares one tax-unaware run, and the tracking error of an after-tax run
is recomputed from its path."""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwise.app.aftertax import after_tax_compare, after_tax_sweep, run_one
from driftwise.backtest.metrics import policy_metrics
from driftwise.config import Config
from driftwise.config.assemble import backtest_configs

from .conftest import synthetic_inputs

INPUTS = synthetic_inputs()
ZERO = {"tax.short_term_rate": 0.0, "tax.long_term_rate": 0.0, "tax.niit_rate": 0.0}
OPTIMIZED = {"policy.destination": "optimized", "policy.trigger": "threshold",
             "policy.threshold": 0.03}


def test_tax_off_optimized_equals_the_engine_exactly() -> None:
    config = Config().with_overrides({**OPTIMIZED, **ZERO})
    engine = backtest_configs(INPUTS, [config])
    mine = run_one(INPUTS, config, aware=False, harvest_every="never")
    assert mine.rebalanced.sum() > 10  # the optimized rule trades in this window
    np.testing.assert_array_equal(mine.nav_usd, engine.nav_usd[:, 0])
    np.testing.assert_array_equal(mine.rebalanced, engine.rebalanced[:, 0])
    np.testing.assert_array_equal(mine.ref_nav_usd, engine.ref_nav_usd)
    # no tax paid: the run's tracking error is the engine's, to the bit
    assert mine.te_annual == float(policy_metrics(engine)["te_annual"].iloc[0])


def test_tracking_error_of_a_taxed_run_by_hand() -> None:
    """``std(r − r_ref)·sqrt(252)``, the day's tax added back to its return: recomputed
    here with pandas from the NAV, the year's tax and the target's daily growth."""
    config = Config().with_overrides({"policy.trigger": "threshold", "policy.threshold": 0.03,
                                      "tax.enabled": True})
    result = run_one(INPUTS, config, aware=False, harvest_every="never")
    paid = pd.Series(result.tax_paid_usd)
    assert (paid != 0.0).sum() == 1  # one year's end inside the window, tax paid
    nav = pd.Series(result.nav_usd)
    mine = (nav + paid) / nav.shift(1) - 1.0
    ref = pd.Series(result.ref_nav_usd).pct_change()
    expected = float((mine - ref).iloc[1:].std(ddof=1)) * 252.0 ** 0.5
    assert abs(result.te_annual - expected) <= 1e-15
    naive = float((nav.pct_change() - ref).iloc[1:].std(ddof=1)) * 252.0 ** 0.5
    assert naive > expected + 5e-5  # the payment would have counted as a deviation


def test_tax_weight_is_read_by_the_tax_aware_run_only() -> None:
    runs = {}
    for weight in (0.0, 1.0):
        config = Config().with_overrides({**OPTIMIZED, "tax.enabled": True,
                                          "optimizer.tax_weight": weight})
        runs[weight] = (run_one(INPUTS, config, aware=True, harvest_every="month"),
                        run_one(INPUTS, config, aware=False, harvest_every="never"))
    aware0, unaware0 = runs[0.0]
    aware1, unaware1 = runs[1.0]
    assert aware0.taxes_paid_usd != aware1.taxes_paid_usd
    assert not np.array_equal(aware0.nav_usd, aware1.nav_usd)
    np.testing.assert_array_equal(unaware0.nav_usd, unaware1.nav_usd)
    assert unaware0.taxes_paid_usd == unaware1.taxes_paid_usd


def test_a_sweep_over_tax_weight_shares_one_tax_unaware_run() -> None:
    config = Config().with_overrides({**OPTIMIZED, "tax.enabled": True})
    members = [config.with_overrides({"optimizer.tax_weight": w}) for w in (0.1, 1.0)]
    seen: list[tuple[int, int]] = []
    table = after_tax_sweep(INPUTS, members, harvest_every="month", samples=40,
                            progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)  # two tax-aware runs and the one tax-unaware run
    assert table["tax_weight"].tolist() == [0.1, 1.0]
    for member, (_, row) in zip(members, table.iterrows(), strict=True):
        alone = after_tax_compare(INPUTS, member, harvest_every="month", samples=40)
        for key, value in alone.metrics.loc["tax-aware"].items():
            assert row[f"aware_{key}"] == value, key
        assert row["unaware_te_annual"] == alone.metrics.loc["tax-unaware", "te_annual"]
        assert row["tax_alpha"] == alone.tax_alpha
    assert table["aware_te_annual"].nunique() == 2
