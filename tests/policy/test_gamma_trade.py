"""γ_trade by universe size: ``gamma_trade = "auto"`` and the rule behind it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import driftwise as dw
from driftwise.config import Config
from driftwise.config.assemble import optimizer_settings, rule_grid
from driftwise.costs import RowCosts
from driftwise.errors import ConfigError, DriftwiseError
from driftwise.policy import optimize as opt
from driftwise.policy.constraints import Constraints
from driftwise.policy.optimize import OptimizerSettings, auto_gamma_trade, effective_names


def test_effective_names_is_the_inverse_herfindahl() -> None:
    """``(Σ t)² / Σ t²`` recomputed by hand: equal weights give their count exactly, the
    cash left out of the target changes nothing, and no risky weight gives NaN."""
    assert effective_names(np.full(20, 0.049)) == 20.0
    assert effective_names(np.full(452, 1.0 / 452)) == 452.0
    # 0.5, 0.25, 0.25: 1 / (0.25 + 0.0625 + 0.0625) = 8/3
    assert effective_names(np.array([0.5, 0.25, 0.25])) == pytest.approx(8.0 / 3.0, rel=1e-9)
    assert effective_names(0.9 * np.array([0.5, 0.25, 0.25])) == pytest.approx(8.0 / 3.0,
                                                                                rel=1e-9)
    assert np.isnan(effective_names(np.zeros(4)))


def test_auto_gamma_trade_is_the_documented_power_law() -> None:
    """5 at 20 equal names; ``5 · (N / 20)^(-2/3)`` elsewhere down to the floor of 1.5,
    computed from the figures."""
    assert auto_gamma_trade(np.full(20, 0.05)) == 5.0
    assert auto_gamma_trade(np.full(80, 1 / 80)) == pytest.approx(5.0 * 4.0 ** (-2 / 3),
                                                                  rel=1e-12)
    assert auto_gamma_trade(np.full(80, 1 / 80)) == pytest.approx(1.9842513149602494,
                                                                  rel=1e-12)
    # 5·(N/20)^(-2/3) = 1.5 at N = 20·(5/1.5)^1.5 = 121.7: below, the law; above, the floor
    assert auto_gamma_trade(np.full(121, 1 / 121)) == pytest.approx(
        5.0 * (121 / 20) ** (-2 / 3), rel=1e-12)
    assert auto_gamma_trade(np.full(121, 1 / 121)) > 1.5
    assert auto_gamma_trade(np.full(122, 1 / 122)) == 1.5
    assert auto_gamma_trade(np.full(160, 1 / 160)) == 1.5  # the law alone: 1.25
    assert auto_gamma_trade(np.full(452, 1 / 452)) == 1.5
    assert auto_gamma_trade(np.zeros(5)) == opt.DEFAULT_GAMMA_TRADE  # all cash


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 2000), m=st.integers(1, 2000), cash=st.floats(0.0, 0.5))
def test_auto_gamma_trade_falls_with_the_names(n: int, m: int, cash: float) -> None:
    """More names, less trade aversion down to the floor; the cash weight of the target
    changes nothing."""
    small, large = min(n, m), max(n, m)
    g_small = auto_gamma_trade(np.full(small, (1 - cash) / small))
    g_large = auto_gamma_trade(np.full(large, (1 - cash) / large))
    assert opt.GAMMA_TRADE_FLOOR <= g_large <= g_small
    if large > small and g_small > opt.GAMMA_TRADE_FLOOR:
        assert g_large < g_small


def _rows(targets: np.ndarray, settings: OptimizerSettings) -> opt.Optimized:
    """Two rows drifted off their targets, a diagonal Σ, a linear cost."""
    n = targets.shape[1]
    rng = np.random.default_rng(3)
    weights = np.clip(targets + rng.normal(0.0, 0.01, targets.shape), 0.0, None)
    none = np.zeros(targets.shape, dtype=bool)
    return opt.optimize_rows(
        weights=weights, cash_weight=1.0 - weights.sum(axis=1), target=targets,
        nav_usd=np.full(len(targets), 1e6), active=np.ones(len(targets), dtype=bool),
        tradable=~none, no_buy=none, no_sell=none, cost_fn=RowCosts.simple(n, rate=0.001),
        constraints=Constraints(), settings=settings, cov_annual=None,
        vol_annual=np.full(n, 0.3))


def test_auto_resolves_per_row_from_its_target() -> None:
    """The solver charges each row ``auto_gamma_trade(target) · κ`` for the first dollar
    (the plan's marginal cost); a per-row array mixes numbers and NaN ("auto")."""
    n = 40
    targets = np.zeros((2, n))
    targets[0, :10] = 0.095  # 10 names
    targets[1, :] = 0.95 / n  # 40 names
    auto = _rows(targets, OptimizerSettings(gamma_trade="auto"))
    kappa = 0.001
    np.testing.assert_allclose(auto.marginal_cost[0], 5.0 * 0.5 ** (-2 / 3) * kappa, rtol=1e-9)
    np.testing.assert_allclose(auto.marginal_cost[1], 5.0 * 2.0 ** (-2 / 3) * kappa, rtol=1e-9)
    fixed = _rows(targets, OptimizerSettings(gamma_trade=np.array([np.nan, 1.0])))
    np.testing.assert_allclose(fixed.marginal_cost[0], auto.marginal_cost[0], rtol=1e-12)
    np.testing.assert_allclose(fixed.marginal_cost[1], kappa, rtol=1e-12)
    # fewer names: more trade aversion, so fewer assets traded than at γ_trade = 1
    assert auto.traded[1].sum() < _rows(targets, OptimizerSettings(gamma_trade=1.0)).traded[1].sum()


def test_auto_is_the_configuration_default_and_other_words_are_refused() -> None:
    assert Config().optimizer.gamma_trade == "auto"
    assert optimizer_settings(Config()).gamma_trade == "auto"
    with pytest.raises(DriftwiseError, match=r"optimizer\.gamma_trade"):
        Config().with_overrides({"optimizer.gamma_trade": "fast"})
    with pytest.raises(ConfigError, match="gamma_trade"):
        OptimizerSettings(gamma_trade="fast")
    with pytest.raises(ConfigError, match="gamma_trade"):
        OptimizerSettings(gamma_trade=np.array([1.0, -1.0]))


def test_auto_and_numbers_share_a_block_of_the_rule_grid() -> None:
    base = Config().with_overrides({"policy.destination": "optimized"})
    grid = rule_grid([base, base.with_overrides({"optimizer.gamma_trade": 2.0})])
    assert len(grid.blocks) == 1
    values = np.asarray(grid.blocks[0].rule.optimizer.gamma_trade)
    assert np.isnan(values[0]) and values[1] == 2.0


def test_auto_on_the_sample_plans_as_gamma_trade_5() -> None:
    """The sample's 20 equal target weights: "auto" is 5, the plan trades the same."""
    inputs = dw.load()
    config = {"policy.destination": "optimized", "policy.threshold": 0.0,
              "policy.skip_if_cost_exceeds_benefit": False}
    auto = dw.plan(inputs, config=config)
    five = dw.plan(inputs, config={**config, "optimizer.gamma_trade": 5.0})
    one = dw.plan(inputs, config={**config, "optimizer.gamma_trade": 1.0})
    assert auto.trades.equals(five.trades)
    assert not auto.trades.equals(one.trades)


def test_default_on_the_sample_beats_every_threshold_rule() -> None:
    """The issue's test, on the sample's last 10 years (20 names, reviewed every close, the
    cost model's defaults): the default γ_trade ("auto", 5 here) has a lower loss
    (γ/2)·TE² + cost per year (γ = 2) than the best threshold rule, so the best γ_trade does
    too, and no threshold rule has both a lower TE and a lower cost."""
    from driftwise.config import policies

    inputs = dw.load()
    days = inputs.market.prices.index
    start = days[len(days) - 2516]
    rules = {f"threshold {h:g}": policies.threshold(h) for h in (0.01, 0.03, 0.05, 0.07, 0.10)}
    rules["default"] = policies.daily(destination="optimized").with_overrides(
        {"policy.skip_if_cost_exceeds_benefit": False})
    assert rules["default"].optimizer.gamma_trade == "auto"
    m = dw.backtest(inputs, rules, start=start, end=days[-1], samples=1, workers=1).metrics
    loss = 0.5 * 2.0 * m["te_annual"] ** 2 + m["cost_per_year"]
    thresholds = m.index[m.index.str.startswith("threshold")]
    assert loss["default"] < loss[thresholds].min()
    dominated = ((m.loc[thresholds, "te_annual"] <= m.loc["default", "te_annual"])
                 & (m.loc[thresholds, "cost_per_year"] <= m.loc["default", "cost_per_year"]))
    assert not dominated.any()
