"""The after-tax backtest on real S&P 500 prices (skipped without ../shared/data): monthly
loss harvesting through the 2000-2002 fall, the threshold rule to target and the optimized
rule with each lot's tax in its solve, each against itself without tax awareness
(``benchmarks/tax_alpha.py`` runs the same check on many 50-stock portfolios)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwise.app.aftertax import after_tax_compare
from driftwise.config import Config
from driftwise.validation.study import PortfolioSpec, eligible_sp500, load_inputs

pytestmark = pytest.mark.realdata
START, END = "2000-01-03", "2002-12-31"


def _config(destination: str) -> Config:
    return Config().with_overrides({
        "policy.trigger": "threshold", "policy.threshold": 0.10,
        "policy.destination": destination, "backtest.start": START, "backtest.end": END,
        "backtest.initial_nav_usd": 1e6, "tax.enabled": True, "tax.short_term_rate": 0.37,
        "tax.long_term_rate": 0.20, "tax.niit_rate": 0.0, "tax.state_rate": 0.0,
        "tax.lot_relief": "hifo"})


@pytest.mark.parametrize("destination", ["full", "optimized"])
def test_harvesting_through_the_2000_fall_on_real_prices(shared_data: Path,
                                                         destination: str) -> None:
    pool = sorted(eligible_sp500(shared_data, START))
    rng = np.random.default_rng(5)
    tickers = tuple(sorted(rng.choice(pool, size=20, replace=False).tolist()))
    inputs = load_inputs(PortfolioSpec("real 20", "sp500", tickers, str(shared_data),
                                       as_of=START))
    c = after_tax_compare(inputs, _config(destination), harvest_every="month", samples=200)
    aware, unaware = c.aware, c.unaware
    # the fall leaves lots at a loss: harvested, each at or beyond 10% of basis and USD 1,000
    h = aware.harvests
    assert len(h) > 0 and aware.harvested_loss_usd > 0.0
    loss = h["basis_usd"] - h["proceeds_usd"]
    np.testing.assert_allclose(h["loss_usd"], loss, rtol=1e-12)
    assert bool((loss >= 0.10 * h["basis_usd"] - 1e-6).all())
    assert bool((loss >= 1000.0 - 1e-6).all())
    # the tax-aware rule never washes a loss; the harvests and the rule's sales are allowed
    assert aware.disallowed_usd == 0.0
    # taxes paid are the years' taxes (the last year's with the liquidation)
    for run in (aware, unaware):
        assert run.taxes_paid_usd == pytest.approx(float(run.years["tax_usd"].sum()),
                                                   rel=1e-12, abs=1e-6)
        assert len(run.years) == 3  # 2000, 2001, 2002
    # the tax alpha is the after-tax return difference, inside its bootstrap interval
    assert c.tax_alpha == aware.after_tax_return_annual - unaware.after_tax_return_annual
    assert c.tax_alpha_low <= c.tax_alpha <= c.tax_alpha_high
    assert np.isfinite([c.tax_alpha_low, c.tax_alpha_high]).all()
    assert 0.0 < aware.te_annual < 0.2 and 0.0 < unaware.te_annual < 0.2
