"""Every ``[tax]`` key changes what the after-tax backtest gives (or is covered by a
named test): the key-effect test of the after-tax backtest.

For each field of :class:`~driftwise.config.model.TaxConfig` (walked from the model, so a
new key fails here until it is read by the backtest or given a case), the tax-aware and
tax-unaware runs are made with a base configuration and with the key changed, and some
output must differ: the runs' metrics, the tax years or the harvested lots.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftwise.app.aftertax import after_tax_compare, after_tax_settings
from driftwise.config import Config
from driftwise.config.model import TaxConfig
from driftwise.data.model import Inputs

from .conftest import synthetic_inputs

INPUTS = synthetic_inputs()


def _falling() -> Inputs:
    """Flat prices, AAA down 30% from the 10th session (a loss to harvest)."""
    prices = INPUTS.market.prices.copy()
    prices.loc[:, :] = np.array([120.0, 45.0, 80.0, 30.0, 18.0])
    prices.iloc[10:, 0] = 84.0
    return dataclasses.replace(INPUTS, market=dataclasses.replace(INPUTS.market,
                                                                  prices=prices))


def _rising() -> Inputs:
    """The synthetic market with a drift of 0.2% a session (gains to realize)."""
    prices = INPUTS.market.prices.copy()
    prices = prices.mul(np.exp(0.002 * np.arange(len(prices))), axis=0)
    return dataclasses.replace(INPUTS, market=dataclasses.replace(INPUTS.market,
                                                                  prices=prices))


FALLING = _falling()
RISING = _rising()
TRADING = {"policy.trigger": "threshold", "policy.threshold": 0.03}
"""A rule that trades often on the synthetic market (gains and losses realized)."""
HARVESTING = {"policy.trigger": "threshold", "policy.threshold": 0.9,
              "backtest.initial_nav_usd": 1_000_000.0, "tax.harvest_in_trades": True}
"""A rule that never trades on the falling market: only the harvest and its rebuy."""


CASES: dict[str, tuple[Any, dict[str, Any], Inputs]] = {
    # key: (other value, base settings, market)
    "short_term_rate": (0.30, TRADING, INPUTS),
    "long_term_rate": (0.10, TRADING, RISING),
    "state_rate": (0.05, TRADING, INPUTS),
    "niit_rate": (0.0, TRADING, INPUTS),
    "long_term_after_days": (60, TRADING, RISING),
    "lot_relief": ("fifo", TRADING, INPUTS),
    "wash_sale_days": (60, HARVESTING, FALLING),
    "allow_wash_sales": (True, {**TRADING, "tax.harvest_in_trades": True}, INPUTS),
    "harvest_loss_threshold": (0.35, HARVESTING, FALLING),
    "harvest_min_loss_usd": (1e9, HARVESTING, FALLING),
    "harvest_pairs": (("AAA:BBB",), HARVESTING, FALLING),
    "harvest_in_trades": (False, HARVESTING, FALLING),
    "harvest_discount_rate_annual": (0.10, HARVESTING, FALLING),
    "harvest_years_to_sale": (5.0, HARVESTING, FALLING),
}

COVERED_ELSEWHERE = {
    "enabled": "tests/tax/test_aftertax_cli.py::"
               "test_tax_enabled_runs_the_backtest_after_tax_and_the_flag_wins",
    "specific_lots": "tests/backtest/test_aftertax_relief.py::"
                     "test_each_relief_method_realizes_its_lots_by_hand",
    # the decision after tax of the backtest is the plan's tax_step with these settings
    # (test_the_decision_keys_reach_the_tax_step); their effect on it is shown there
    "gain_budget_usd": "tests/tax/test_plan_tax.py::"
                       "test_the_gain_budget_caps_the_years_realized_net_gain",
    "defer_short_term_gains": "tests/tax/test_plan_tax.py::"
                              "test_a_short_term_gain_about_to_turn_long_term_is_deferred",
    "defer_horizon_days": "tests/tax/test_plan_tax.py::"
                          "test_a_short_term_gain_about_to_turn_long_term_is_deferred",
}
"""Keys whose effect needs other inputs (lots of the starting holdings) or another entry
point (the command's switch), each with the test that shows it."""


def test_every_tax_key_has_a_case() -> None:
    keys = set(TaxConfig.model_fields)
    assert keys == set(CASES) | set(COVERED_ELSEWHERE), keys ^ (set(CASES)
                                                                | set(COVERED_ELSEWHERE))


def _outputs(inputs: Inputs, config: Config) -> dict[str, object]:
    c = after_tax_compare(inputs, config, samples=50)
    return {"metrics": c.metrics.round(6).to_dict(),
            "years": c.aware.years.round(6).to_dict(),
            "harvests": c.aware.harvests.to_dict(),
            "unaware_years": c.unaware.years.round(6).to_dict()}


@pytest.mark.parametrize("key", sorted(CASES))
def test_each_tax_key_changes_the_after_tax_backtest(key: str) -> None:
    value, settings, inputs = CASES[key]
    base = Config().with_overrides(dict(settings))
    assert getattr(base.tax, key) != (value if not isinstance(value, str)
                                      else type(getattr(base.tax, key))(value))
    changed = base.with_overrides({f"tax.{key}": value})
    assert _outputs(inputs, base) != _outputs(inputs, changed), key


def test_the_harvest_value_keys_move_only_the_harvest_table() -> None:
    base = Config().with_overrides(dict(HARVESTING))
    other = base.with_overrides({"tax.harvest_discount_rate_annual": 0.10})
    a, b = (after_tax_compare(FALLING, c, samples=50) for c in (base, other))
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    assert not a.aware.harvests["deferral_usd"].equals(b.aware.harvests["deferral_usd"])


def test_the_decision_keys_reach_the_tax_step() -> None:
    # on the synthetic markets the decision after tax sells no gain these keys would
    # hold back; what the backtest hands to tax_step carries them
    config = Config().with_overrides({"tax.gain_budget_usd": 5_000.0,
                                      "tax.defer_horizon_days": 90})
    tax = after_tax_settings(config).tax
    assert tax.gain_budget_usd == 5_000.0 and tax.defer_horizon_days == 90.0
    off = after_tax_settings(config.with_overrides({"tax.defer_short_term_gains": False}))
    assert off.tax.defer_horizon_days == 0.0
