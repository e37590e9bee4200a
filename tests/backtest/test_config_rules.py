"""Rules read from the configuration in the backtest: composed triggers and the
cost-constrained multiple, in the compiled loop, the Python day loop and the reference."""

from __future__ import annotations

import numpy as np

from driftwise.app.reference import run_reference
from driftwise.backtest.engine import make_batches
from driftwise.backtest.history import universe
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs, rule_grid, run_window

from .test_compiled import _assert_equal, _in_python
from .test_reference import SYNTHETIC, WINDOWS, assert_same

BASE = Config().with_overrides({"policy.stress_delay": False,
                                "policy.skip_if_cost_exceeds_benefit": False,
                                "policy.frequency": "month", "policy.threshold": 0.02})


def composed(mode: str, *components: object, **more: object) -> Config:
    return BASE.with_overrides({"policy.trigger": mode, "policy.triggers": list(components),
                                **more})


def _compiled(configs: list[Config]) -> list[bool]:
    window = run_window(configs)
    tickers = universe(SYNTHETIC, from_holdings=False)
    batches = make_batches(SYNTHETIC, rule_grid(configs), window, tickers)
    return [b.compiled for b in sorted(batches, key=lambda b: int(b.members[0]))]


def test_any_of_threshold_and_calendar_is_the_hybrid_rule_in_the_compiled_loop() -> None:
    either = composed("any_of", "threshold", "calendar")
    same = pol.hybrid(frequency="month", override=0.02, base=BASE)
    assert _compiled([either]) == [True]
    start, end = WINDOWS[2]
    fast = backtest_configs(SYNTHETIC, [either, same], start=start, end=end)
    _assert_equal(fast, _in_python(SYNTHETIC, [either, same], start=start, end=end))
    np.testing.assert_array_equal(fast.nav_usd[:, 0], fast.nav_usd[:, 1])
    assert fast.rebalanced[:, 0].sum() >= 2


def test_all_of_falls_back_to_the_python_loop_and_equals_the_reference() -> None:
    both = composed("all_of", "threshold", "calendar")
    nested = composed("any_of", "bands", {"all_of": ["calendar", "threshold"]},
                      **{"policy.stress_delay": True, "policy.delay_days": 3,
                         "policy.max_delay_days": 6})
    assert _compiled([both, nested]) == [False, False]
    for start, end in WINDOWS[1:]:
        engine = backtest_configs(SYNTHETIC, [both, nested], start=start, end=end)
        for i, config in enumerate((both, nested)):
            assert_same(engine, i, run_reference(SYNTHETIC, config, start=start, end=end))
    # all_of trades only on review days where the threshold is also met: a subset of both
    engine = backtest_configs(SYNTHETIC, [both, pol.monthly(base=BASE), pol.threshold(0.02,
                                                                                 base=BASE)])
    traded = engine.rebalanced[1:]
    assert traded[:, 0].sum() >= 1
    assert not (traded[:, 0] & ~traded[:, 1]).any()


def test_cost_constrained_multiple_in_both_loops_and_the_reference() -> None:
    def rule(multiple: float, te_model: str) -> Config:
        return pol.threshold(0.02, destination="cost_constrained", base=BASE.with_overrides(
            {"policy.cost_constrained_multiple": multiple, "risk.te_model": te_model,
             "costs.cost_scale": 5.0}))
    configs = [rule(2.0, "diagonal"), rule(0.5, "diagonal"), rule(8.0, "diagonal")]
    assert _compiled(configs) == [True, True, True]  # each multiple its own batch
    fast = backtest_configs(SYNTHETIC, configs)
    _assert_equal(fast, _in_python(SYNTHETIC, configs))
    traded = fast.traded_usd.sum(axis=0)
    assert traded[1] > traded[0] > traded[2]  # a higher multiple trades fewer assets
    start, end = WINDOWS[0]
    full = [rule(8.0, "full"), rule(0.5, "full")]
    engine = backtest_configs(SYNTHETIC, full, start=start, end=end)
    for i, config in enumerate(full):
        assert_same(engine, i, run_reference(SYNTHETIC, config, start=start, end=end))
