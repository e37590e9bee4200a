"""The typed rule grid: sweeps as axes, blocks, shares, and histories from the grid's own
parameters."""

from __future__ import annotations

import numpy as np
import pytest

from driftwise.backtest.batches import Window, starting_nav
from driftwise.backtest.engine import run_backtest
from driftwise.backtest.grid import Bands, RuleBlock, RuleGrid, sweep
from driftwise.backtest.history import HistorySettings, RiskSettings
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs, history_settings, rule_grid
from driftwise.costs import CostParams, ImpactModel
from driftwise.errors import ConfigError
from driftwise.metrics.drift import BandMode
from driftwise.policy.constraints import Constraints
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import AssetBands, DriftThreshold, StressDelay

from .conftest import synthetic_inputs
from .test_reference import SYNTHETIC

START, END = "2019-02-01", "2019-10-31"
FRACTIONAL = Constraints(whole_shares=False, min_trade_usd=0.0)
FLAT = Config().with_overrides({"constraints.whole_shares": False,
                                "constraints.min_trade_usd": 0.0})


def _window() -> Window:
    return Window(START, END, False, *starting_nav(SYNTHETIC, None))


def test_a_threshold_sweep_is_one_block_whose_rows_equal_their_configurations() -> None:
    thresholds = [0.02, 0.03, 0.05]
    grid = sweep(Rule(DriftThreshold(), constraints=FRACTIONAL),
                 costs=CostParams(flat_cost_bps=10.0), threshold=thresholds)
    assert len(grid.blocks) == 1 and grid.n_configs == 3
    assert grid.blocks[0].rule.trigger.threshold.tolist() == thresholds  # type: ignore[attr-defined]
    typed = run_backtest(SYNTHETIC, grid, _window())
    configs = [pol.threshold(h, base=FLAT.with_overrides({"costs.flat_cost_bps": 10.0}))
               for h in thresholds]
    edge = backtest_configs(SYNTHETIC, configs, start=START, end=END)
    assert typed.rebalanced.sum() > 0
    np.testing.assert_array_equal(typed.nav_usd, edge.nav_usd)
    np.testing.assert_array_equal(typed.cost_usd, edge.cost_usd)
    assert list(typed.params["threshold"]) == thresholds
    assert 'threshold = 0.03' in typed.config_toml[1]


def test_axes_multiply_and_cost_sets_are_an_axis() -> None:
    rule = Rule(StressDelay(DriftThreshold(0.05)), constraints=FRACTIONAL)
    costs = [CostParams(flat_cost_bps=b) for b in (5.0, 20.0)]
    grid = sweep(rule, costs=costs, threshold=[0.03, 0.05], drift_max=[0.08, 0.12])
    assert grid.n_configs == 8 and len(grid.blocks) == 1  # pricing may differ in a block
    block = grid.blocks[0]
    assert block.cost_rows.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    gate = block.rule.trigger
    assert gate.drift_max.tolist() == [0.08, 0.12] * 4  # type: ignore[attr-defined]
    inner = gate.inner.threshold  # type: ignore[attr-defined]
    assert inner.tolist() == [0.03, 0.03, 0.05, 0.05] * 2
    assert len(set(grid.names)) == 8
    with pytest.raises(ConfigError, match="no parameter 'frequency'"):
        sweep(rule, frequency=[1.0])
    with pytest.raises(ConfigError, match="empty"):
        sweep(rule, threshold=[])


def test_rows_that_estimate_differently_never_share_a_history() -> None:
    """Cost sets that change what the per-day inputs are estimated with (here the ADV
    window) land in separate blocks with separate histories, and each row equals its run
    alone."""
    sets = [CostParams(), CostParams(adv_window_days=20), CostParams(cost_scale=2.0)]
    grid = sweep(Rule(DriftThreshold(0.03), constraints=FRACTIONAL), costs=sets)
    assert [b.positions.tolist() for b in grid.blocks] == [[0, 2], [1]]
    assert grid.blocks[0].history != grid.blocks[1].history
    assert grid.blocks[0].history == HistorySettings.of(RiskSettings(), CostParams(cost_scale=3))
    together = run_backtest(SYNTHETIC, grid, _window())
    for j in range(3):
        alone = run_backtest(SYNTHETIC, grid.share(slice(j, j + 1)), _window())
        np.testing.assert_array_equal(together.nav_usd[:, j], alone.nav_usd[:, 0])
    with pytest.raises(ConfigError, match="separate blocks"):
        RuleBlock(Rule(DriftThreshold()), tuple(sets[:2]), np.array([0, 1]), RiskSettings(),
                  Bands(), False, np.array([0, 1]))


def test_history_settings_come_from_the_parameters_not_the_labels() -> None:
    base = Config()
    priced = base.with_overrides({"costs.cost_scale": 3.0, "costs.impact_model": "almgren_2005",
                                  "costs.vix_multipliers": [1.0, 2.0, 3.0]})
    assert history_settings(base) == history_settings(priced)
    for key, value in (("costs.adv_window_days", 30), ("risk.vol_window_days", 30),
                       ("costs.stale_after_days", 10), ("risk.te_model", "diagonal")):
        assert history_settings(base.with_overrides({key: value})) != history_settings(base)
    assert CostParams(impact_model=ImpactModel.ALMGREN_2005).estimation() == CostParams()


def test_share_and_concat_keep_rows_and_names() -> None:
    a = sweep(Rule(DriftThreshold(), constraints=FRACTIONAL), threshold=[0.02, 0.04, 0.06])
    b = rule_grid([pol.monthly(base=FLAT)])
    both = RuleGrid.concat([a, b])
    assert both.n_configs == 4 and both.names[-1] == b.names[0]
    assert sorted(np.concatenate([x.positions for x in both.blocks]).tolist()) == [0, 1, 2, 3]
    every_other = both.share(slice(1, 4, 2))
    assert every_other.names == (both.names[1], both.names[3])
    run = run_backtest(SYNTHETIC, both, _window())
    part = run_backtest(SYNTHETIC, every_other, _window())
    np.testing.assert_array_equal(run.nav_usd[:, [1, 3]], part.nav_usd)
    assert list(part.params.index) == list(every_other.names)
    with pytest.raises(ConfigError, match="unique"):
        RuleGrid.concat([a, a])
    assert "4 configurations in 2 blocks" in repr(both)


def test_a_block_checks_its_shapes() -> None:
    rule = Rule(DriftThreshold(np.array([0.02, 0.03])))
    with pytest.raises(ConfigError, match="2 values for 3 rows"):
        RuleBlock(rule, (CostParams(),), np.zeros(3, dtype=np.intp), RiskSettings(), Bands(),
                  False, np.arange(3))
    block = RuleBlock(rule, (CostParams(),), np.zeros(2, dtype=np.intp), RiskSettings(),
                      Bands(), False, np.arange(2))
    with pytest.raises(ConfigError, match="each position once"):
        RuleGrid((block,), ("a",), lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="no configuration"):
        RuleGrid((), (), lambda: None)  # type: ignore[arg-type,return-value]


def test_bands_and_stale_costs_are_read_from_the_block() -> None:
    bands = Rule(AssetBands(), constraints=FRACTIONAL)
    narrow, wide = (run_backtest(SYNTHETIC, sweep(bands, bands=Bands(abs=a, rel=0.0,
                                                                   mode=BandMode.ABSOLUTE)),
                                 _window()) for a in (0.01, 0.2))
    assert narrow.rebalanced.sum() > wide.rebalanced.sum()
    stale = synthetic_inputs(costs_as_of="2019-03-01")  # stale from 2019-04-01 on
    refused = run_backtest(stale, sweep(Rule(DriftThreshold(0.03), constraints=FRACTIONAL)),
                           _window())
    accepted = run_backtest(stale, sweep(Rule(DriftThreshold(0.03), constraints=FRACTIONAL),
                                         accept_stale_costs=True), _window())
    assert refused.rebalanced.sum() < accepted.rebalanced.sum()
