"""A lot-level portfolio with large embedded gains: the embedded sample (USD 10 M, 20
stocks, drift above the 5% threshold) split into four lots per stock bought at the closes
of 2010-01-04, 2015-01-02, 2020-01-02 and 2022-06-01 (``benchmarks/tax_plan.py``'s
portfolio). The plan after tax ends inside the drift threshold, realizes less tax than
today's plan under either relief, and says why per asset and per lot."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from driftwise.app.plan import make_plan
from driftwise.config import default_config
from driftwise.data.loader import load_inputs
from driftwise.tax import Relief


def _tax_plan_script() -> ModuleType:
    """``benchmarks/tax_plan.py`` loaded as a module (not through ``sys.path``, where the
    benchmarks' script names would shadow other modules): its portfolio is this test's."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "tax_plan.py"
    spec = importlib.util.spec_from_file_location("driftwise_bench_tax_plan", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SCRIPT = _tax_plan_script()
_with_lots = _SCRIPT.with_lots
_tax = _SCRIPT.realized_tax
"""The sample split into lots, and the tax of a plan's sales relieved from them by a
method (the tax model, :func:`driftwise.tax.relieve_lots`): the benchmark's own."""


def test_the_plan_after_tax_reaches_the_threshold_with_less_tax_and_says_why() -> None:
    inputs = _with_lots(load_inputs())
    today = make_plan(inputs, default_config())
    taxed = make_plan(inputs, default_config().with_overrides({"tax.enabled": True}))
    threshold = default_config().policy.threshold
    assert today.before["drift"] > threshold  # the rule fires
    assert taxed.after["drift"] <= threshold  # inside the threshold after the trades
    # today's plan sells USD 556 k; relieved HIFO or FIFO its tax is what it would realize
    hifo, fifo = _tax(inputs, today, Relief.HIFO), _tax(inputs, today, Relief.FIFO)
    tax = float(taxed.trades["tax_usd"].sum())
    assert abs(tax - _tax(inputs, taxed, Relief.HIFO)) <= 1e-6 * max(1.0, abs(tax))
    assert tax < hifo - 10_000.0 and tax < fifo - 50_000.0
    sold = taxed.trades[taxed.trades["side"] == "SELL"]
    assert (sold["shares"].abs() > 0).all() and len(sold) > 0
    assert sold["lots"].str.len().gt(0).all()  # each sale names the lots it relieves
    # every stock today's plan sells and the plan after tax sells less of (or not at all)
    # has its reason, by ticker
    sold_today = today.trades[today.trades["side"] == "SELL"]["shares"].abs()
    after = taxed.trades["shares"].abs().reindex(sold_today.index).fillna(0.0)
    held_back = sold_today.index[after < sold_today - 1e-9]
    assert len(held_back) > 0
    for ticker in held_back:
        assert any(r.startswith(f"{ticker}: ") for r in taxed.reasons), ticker
