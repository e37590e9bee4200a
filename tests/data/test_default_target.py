"""``portfolio.default_target``: targets when none are given, equal or market-cap weights,
flagged "no target specified", and an error naming the field when a cap is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftwise.app.plan import make_plan
from driftwise.config import Config
from driftwise.data.loader import default_targets, with_default_targets
from driftwise.data.model import (
    DefaultTarget,
    Holdings,
    Inputs,
    MarketData,
    SecurityMaster,
    Targets,
)
from driftwise.errors import DataError
from driftwise.flags import Flag

MASTER = SecurityMaster(frame=pd.DataFrame(
    {"sector": ["A", "B", "C"], "asset_class": "Equity",
     "market_cap_usd": [6e11, 3e11, 1e11]}, index=pd.Index(["AAA", "BBB", "CCC"], name="ticker")),
    source="master.csv")


def test_market_cap_weights_are_cap_over_total() -> None:
    t = default_targets(["CCC", "AAA", "BBB"], MASTER, DefaultTarget.MARKET_CAP, what="held")
    np.testing.assert_allclose(t.weights[["AAA", "BBB", "CCC"]], [0.6, 0.3, 0.1], rtol=1e-15)
    assert t.cash_weight == 0.0 and t.band_abs.isna().all()
    (flag,) = t.notices
    assert flag.flag is Flag.NO_TARGET and flag.tickers == ("AAA", "BBB", "CCC")
    assert flag.detail.startswith("no target specified: market-cap weights over the held "
                                  "tickers")


def test_equal_weights() -> None:
    t = default_targets(["AAA", "BBB", "CCC", "DDD"], SecurityMaster.empty(), DefaultTarget.EQUAL,
                        what="priced")
    np.testing.assert_allclose(t.weights, 0.25)
    assert "no target specified: equal weights over the priced tickers" in t.notices[0].detail


@pytest.mark.parametrize("master", [MASTER, SecurityMaster.empty()])
def test_missing_cap_names_the_field_and_the_tickers(master: SecurityMaster) -> None:
    with pytest.raises(DataError) as info:
        default_targets(["AAA", "ZZZ"], master, DefaultTarget.MARKET_CAP, what="held")
    text = str(info.value)
    assert "market_cap_usd" in text and "ZZZ" in text and master.source in text
    assert 'portfolio.default_target = "market_cap"' in text


def _inputs() -> Inputs:
    days = pd.bdate_range("2024-01-02", periods=120)
    prices = pd.DataFrame({"AAA": np.linspace(100, 110, 120), "BBB": np.linspace(50, 45, 120),
                           "CCC": np.linspace(20, 22, 120)}, index=pd.Index(days, name="date"))
    holdings = Holdings(shares=pd.Series([1000.0, 1000.0, 1000.0], index=prices.columns),
                        cash_usd=10_000.0)
    return Inputs(holdings=holdings, targets=None, master=MASTER,
                  market=MarketData(prices=prices, volumes=prices * 0 + 1e7))


def test_plan_without_targets_uses_the_configured_default() -> None:
    inputs = _inputs()
    rule = {"policy.threshold": 0.01, "policy.skip_if_cost_exceeds_benefit": False}
    plan = make_plan(inputs, Config().with_overrides({"portfolio.default_target": "market_cap",
                                                      **rule}))
    weights = pd.Series([0.6, 0.3, 0.1], index=["AAA", "BBB", "CCC"])
    flags = [n for n in plan.notices if n.flag is Flag.NO_TARGET]
    assert flags and "market-cap weights" in flags[0].detail
    nav, prices = plan.nav_usd, inputs.market.prices.iloc[-1]
    value = inputs.holdings.shares * prices + plan.trades["trade_usd"].reindex(
        prices.index, fill_value=0.0)
    np.testing.assert_allclose(value / nav, weights, atol=2e-3)  # whole shares, costs
    equal = make_plan(inputs, Config().with_overrides(rule))
    assert not equal.trades["trade_usd"].equals(plan.trades["trade_usd"])
    assert with_default_targets(inputs, DefaultTarget.EQUAL).targets is not None


def _fresh(tickers: list[str], master: SecurityMaster, how: DefaultTarget) -> Targets:
    """The plain form: the target of the tickers given as a list (a new index)."""
    return default_targets(list(tickers), master, how, what="held")


@pytest.mark.parametrize("how", [DefaultTarget.EQUAL, DefaultTarget.MARKET_CAP])
@pytest.mark.parametrize("index", [
    pd.Index(["AAA", "BBB", "CCC"], name="ticker"),            # reused as it is
    pd.Index(["CCC", "AAA"], name="ticker"),                   # reused, unsorted
    pd.Index(["AAA", "BBB"]),                                  # no name: a new index
    pd.Index(["AAA", "BBB"], name="ticker", dtype=object),     # objects: a new index
])
def test_default_target_over_an_index_equals_the_one_over_its_list(
        how: DefaultTarget, index: pd.Index) -> None:
    """Spread over the held tickers' own index (reused when it is the index the target
    builds), the default target equals the one spread over the same tickers as a list:
    weights, bands (values, index values, dtype and name) and the notice."""
    got = default_targets(index, MASTER, how, what="held")
    want = _fresh(index.tolist(), MASTER, how)
    for name in ("weights", "band_abs", "band_rel"):
        a, b = getattr(got, name), getattr(want, name)
        pd.testing.assert_series_equal(a, b, check_exact=True)
        assert a.index.dtype == b.index.dtype and a.index.name == b.index.name == "ticker"
    assert got.weights.name == "target_weight"
    assert (got.notices, got.cash_weight, got.source, got.level) == (
        want.notices, want.cash_weight, want.source, want.level)
    reused = index.name == "ticker" and index.dtype == want.weights.index.dtype
    assert (got.band_abs.index is index) == reused
