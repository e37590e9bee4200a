"""trade_costs, cost_rate_bps and liquidity flags: oracles, properties, fallbacks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.costs import (
    AssetCostInputs,
    CostBreakdown,
    CostParams,
    ImpactModel,
    cost_rate_bps,
    liquidity_flags,
    trade_costs,
)
from driftwise.costs.regime import regime_multiplier

from .conftest import make_inputs

MODELS = list(ImpactModel)


def oracle(trade: float, i: int, inp: AssetCostInputs, p: CostParams,
           vix: float | None) -> dict[str, float]:
    """Plain-Python cost of one trade in one asset (independent of the engine)."""
    a = abs(trade)
    m = 1.0 if vix is None else (1.0 if vix < 20 else 1.5 if vix < 30 else 2.5)
    s = p.cost_scale
    if p.flat_cost_bps is not None:
        flat = a * p.flat_cost_bps / 1e4 * s
        return {"spread": 0.0, "commission": 0.0, "impact": 0.0, "flat": flat}
    if not math.isnan(inp.all_in_bps[i]):
        return {"spread": 0.0, "commission": 0.0, "impact": 0.0,
                "flat": a * inp.all_in_bps[i] / 1e4 * m * s}
    price, sigma = inp.price_usd[i], inp.sigma_daily[i]
    spread = a * inp.half_spread_bps[i] / 1e4 * m * s
    shares = a / price
    commission = a * inp.commission_bps[i] / 1e4 + shares * inp.commission_per_share_usd[i]
    commission = max(commission, inp.min_ticket_usd[i]) * s if a > 0 else 0.0
    x = shares / inp.adv_shares[i]
    if p.impact_model is ImpactModel.SQUARE_ROOT:
        rate = p.impact_coef * sigma * math.sqrt(x)
    else:
        tv = inp.outstanding_over_adv[i]
        tv = p.outstanding_over_adv if math.isnan(tv) else tv
        rate = (0.5 * 0.314 * sigma * x * tv ** 0.25
                + 0.142 * sigma * (x / p.execution_days) ** 0.6)
    return {"spread": spread, "commission": commission, "impact": a * rate * m * s, "flat": 0.0}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("vix", [None, 15.0, 25.0, 45.0])
def test_oracle_three_assets(inputs: AssetCostInputs, model: ImpactModel,
                             vix: float | None) -> None:
    p = CostParams(impact_model=model, cost_scale=1.3, execution_days=0.5)
    trade = np.array([[250_000.0, -40_000.0, 5_000.0], [0.0, 1_000.0, -300.0]])
    got = trade_costs(trade, inputs, p, vix)
    for c in range(2):
        for i in range(3):
            want = oracle(trade[c, i], i, inputs, p, vix)
            for name, value in want.items():
                assert getattr(got, f"{name}_usd")[c, i] == pytest.approx(value, rel=1e-12,
                                                                          abs=1e-15)
            assert got.total_usd[c, i] == pytest.approx(sum(want.values()), rel=1e-12)
    assert not got.borrow_usd.any()


def test_hand_worked_square_root(inputs: AssetCostInputs) -> None:
    # AAA: $1M = 10,000 shares = 1% of ADV; sigma 1.5% -> impact 15 bps = $1,500;
    # half-spread 2 bps = $200; commission 1 bp = $100.
    got = trade_costs(np.array([1e6, 0.0, 0.0]), inputs, CostParams())
    assert got.impact_usd[0] == pytest.approx(1500.0)
    assert got.spread_usd[0] == pytest.approx(200.0)
    assert got.commission_usd[0] == pytest.approx(100.0)
    assert got.total_usd[0] == pytest.approx(1800.0)


@pytest.mark.parametrize("model", MODELS)
def test_per_config_vix_equals_loop(inputs: AssetCostInputs, model: ImpactModel) -> None:
    rng = np.random.default_rng(1)
    p = CostParams(impact_model=model)
    trade = rng.normal(0.0, 1e5, (6, 3))
    vix = np.array([12.0, 22.0, 35.0, np.nan, 20.0, 30.0])
    got = trade_costs(trade, inputs, p, vix)
    for c in range(6):
        one = trade_costs(trade[c], inputs, p, float(vix[c]))
        np.testing.assert_allclose(got.total_usd[c], one.total_usd, rtol=1e-12)
    one_trade = trade_costs(trade[0], inputs, p, vix)  # 1-d trade broadcast over configs
    assert one_trade.total_usd.shape == (6, 3)
    np.testing.assert_allclose(one_trade.total_usd[2], trade_costs(trade[0], inputs, p,
                                                                   35.0).total_usd)


def test_out_buffers_reused(inputs: AssetCostInputs) -> None:
    trade = np.array([[1e5, -2e4, 0.0], [3e3, 0.0, -9e3]])
    p = CostParams(impact_model=ImpactModel.ALMGREN_2005)
    out = CostBreakdown(*[np.full(trade.shape, 7.0) for _ in range(6)])
    got = trade_costs(trade, inputs, p, np.array([15.0, 40.0]), out=out,
                      position_after_usd=-np.ones_like(trade))
    want = trade_costs(trade, inputs, p, np.array([15.0, 40.0]),
                       position_after_usd=-np.ones_like(trade))
    assert got is out
    for name in ("spread", "commission", "impact", "flat", "borrow", "total"):
        np.testing.assert_allclose(getattr(out, f"{name}_usd"), getattr(want, f"{name}_usd"))
    with pytest.raises(ValueError, match="out buffers"):
        trade_costs(trade[:1], inputs, p, out=out)


@pytest.mark.parametrize("model", MODELS)
def test_zero_trade_costs_exactly_zero(inputs: AssetCostInputs, model: ImpactModel) -> None:
    got = trade_costs(np.zeros((4, 3)), inputs, CostParams(impact_model=model), 50.0)
    for name in ("spread", "commission", "impact", "flat", "borrow", "total"):
        assert (getattr(got, f"{name}_usd") == 0.0).all()


def test_flat_cost_replaces_model(inputs: AssetCostInputs) -> None:
    p = CostParams(flat_cost_bps=20.0)
    got = trade_costs(np.array([1e6, -1e4, 0.0]), inputs, p, 45.0)
    assert got.total_usd.tolist() == [pytest.approx(2000.0), pytest.approx(20.0), 0.0]
    assert not got.impact_usd.any() and not got.spread_usd.any()
    scaled = trade_costs(np.array([1e6, 0.0, 0.0]), inputs,
                         CostParams(flat_cost_bps=20.0, scale_flat_by_regime=True), 45.0)
    assert scaled.flat_usd[0] == pytest.approx(5000.0)


def test_estimated_costs_use_tier_all_in_scaled_by_regime() -> None:
    inp = make_inputs(all_in_bps=[np.nan, 50.0, np.nan])
    got = trade_costs(np.array([0.0, 1e4, 0.0]), inp, CostParams(), 25.0)
    assert got.flat_usd[1] == pytest.approx(1e4 * 50e-4 * 1.5)
    assert got.spread_usd[1] == got.impact_usd[1] == got.commission_usd[1] == 0.0


def test_borrow_on_short_position_after_trade(inputs: AssetCostInputs) -> None:
    got = trade_costs(np.array([0.0, -1e5, 0.0]), inputs, CostParams(),
                      position_after_usd=np.array([1e5, -1e5, 0.0]), holding_days=21.0)
    assert got.borrow_usd.tolist() == [0.0, pytest.approx(1e5 * 50e-4 * 21 / 252), 0.0]
    assert got.total_usd[1] == pytest.approx(got.trading_usd[1] + got.borrow_usd[1])


trades = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False)


@given(x=trades, model=st.sampled_from(MODELS), vix=st.floats(5.0, 90.0))
def test_buy_and_sell_cost_the_same(x: float, model: ImpactModel, vix: float) -> None:
    inp, p = make_inputs(), CostParams(impact_model=model)
    buy = trade_costs(np.array([x, x, x]), inp, p, vix).total_usd
    sell = trade_costs(np.array([-x, -x, -x]), inp, p, vix).total_usd
    np.testing.assert_array_equal(buy, sell)


@given(x=st.floats(1.0, 1e7), k=st.floats(1.01, 10.0), model=st.sampled_from(MODELS))
def test_cost_grows_with_size_and_volatility(x: float, k: float, model: ImpactModel) -> None:
    inp, p = make_inputs(), CostParams(impact_model=model)
    small = trade_costs(np.full(3, x), inp, p).total_usd
    big = trade_costs(np.full(3, x * k), inp, p).total_usd
    assert (big > small).all()
    sig = np.asarray(inp.sigma_daily) * k
    riskier = trade_costs(np.full(3, x), make_inputs(sigma_daily=sig), p).total_usd
    assert (riskier > small).all()


@given(x=st.floats(1.0, 1e7), model=st.sampled_from(MODELS))
def test_cost_grows_with_vix_multiplier(x: float, model: ImpactModel) -> None:
    inp, p = make_inputs(), CostParams(impact_model=model)
    got = trade_costs(np.full((3, 3), x), inp, p, np.array([10.0, 25.0, 40.0])).total_usd
    assert (got[1] > got[0]).all() and (got[2] > got[1]).all()


@pytest.mark.parametrize("model", MODELS)
def test_rate_average_and_marginal(inputs: AssetCostInputs, model: ImpactModel) -> None:
    p = CostParams(impact_model=model)
    trade = np.array([[5e5, -3e4, 2e3], [0.0, 0.0, 0.0]])
    avg = cost_rate_bps(trade, inputs, p, 25.0)
    total = trade_costs(trade, inputs, p, 25.0).total_usd
    np.testing.assert_allclose(avg[0], 1e4 * total[0] / np.abs(trade[0]), rtol=1e-12)
    # at zero: spread*m + commission rate (bps + per share / price), no impact, no ticket
    want0 = inputs.half_spread_bps * 1.5 + inputs.commission_bps + \
        1e4 * inputs.commission_per_share_usd / inputs.price_usd
    np.testing.assert_allclose(avg[1], want0)
    h = 1e-3
    up = trade_costs(np.abs(trade[0]) + h, inputs, p, 25.0).total_usd
    down = trade_costs(np.abs(trade[0]) - h, inputs, p, 25.0).total_usd
    marginal = cost_rate_bps(trade[0], inputs, p, 25.0, marginal=True)
    # asset 2 sits on its minimum ticket (flat in size): compare the impact-bearing ones
    np.testing.assert_allclose(marginal[:2], 1e4 * (up - down)[:2] / (2 * h), rtol=1e-5)


def test_liquidity_flags(inputs: AssetCostInputs) -> None:
    p = CostParams()
    # ADV shares 1e6, 2e5, 5e4; participation 10%; AAA 6 days, BBB 11 days, CCC 0.
    days, illiquid, multi = liquidity_flags(np.array([6e5, -2.2e5, 0.0]), inputs, p)
    assert days.tolist() == [pytest.approx(6.0), pytest.approx(11.0), 0.0]
    assert multi.tolist() == [True, True, False]
    assert illiquid.tolist() == [False, True, False]
    thin = make_inputs(adv_shares=[1e6, 2e5, 4e4])  # CCC: 4e4 * $20 = $0.8M ADV < $1M
    assert liquidity_flags(np.zeros(3), thin, p)[1].tolist() == [False, False, True]


def test_regime_multiplier_is_the_one_used(inputs: AssetCostInputs) -> None:
    p = CostParams(vix_multipliers=(1.0, 2.0, 4.0))
    base = trade_costs(np.full(3, 1e4), inputs, p, 10.0)
    high = trade_costs(np.full(3, 1e4), inputs, p, 31.0)
    m = float(regime_multiplier(31.0, p))
    np.testing.assert_allclose(high.spread_usd, base.spread_usd * m)
    np.testing.assert_allclose(high.impact_usd, base.impact_usd * m)
    np.testing.assert_allclose(high.commission_usd, base.commission_usd)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("vix", [None, 25.0, np.array([15.0, 45.0])])
@pytest.mark.parametrize("flat", [None, 10.0])
def test_precomputed_coefficients_give_identical_costs(
        inputs: AssetCostInputs, model: ImpactModel, vix: object, flat: float | None) -> None:
    """``coefficients=`` is a pure cache: bit-for-bit the result of the uncached path."""
    from driftwise.costs import cost_coefficients
    p = CostParams(impact_model=model, cost_scale=1.3, flat_cost_bps=flat)
    trade = np.array([[1e5, -3e4, 0.0], [-2e6, 5e3, 7.5e5]])
    plain = trade_costs(trade, inputs, p, vix)  # type: ignore[arg-type]
    co = cost_coefficients(inputs, p, vix)  # type: ignore[arg-type]
    out = CostBreakdown(*(np.empty(trade.shape) for _ in range(6)))
    for cached in (trade_costs(trade, inputs, p, vix, coefficients=co),  # type: ignore[arg-type]
                   trade_costs(trade, inputs, p, vix, out=out,  # type: ignore[arg-type]
                               coefficients=co)):
        for name in ("spread_usd", "commission_usd", "impact_usd", "flat_usd", "borrow_usd",
                     "total_usd"):
            np.testing.assert_array_equal(getattr(cached, name), getattr(plain, name))


@pytest.mark.parametrize("vix", [None, 25.0, 45.0])
def test_rows_with_different_parameter_sets_cost_as_each_alone(
        inputs: AssetCostInputs, vix: float | None) -> None:
    """A backtest batch mixing cost levels, scales, regimes and impact models: each row
    costs exactly what ``trade_costs`` charges with its own parameters."""
    from driftwise.costs import CostTable, cost_coefficients, row_trading_costs
    sets = [CostParams(), CostParams(impact_model=ImpactModel.ALMGREN_2005, cost_scale=1.5),
            CostParams(flat_cost_bps=10.0), CostParams(vix_multipliers=(1.0, 2.0, 4.0)),
            CostParams(flat_cost_bps=20.0, scale_flat_by_regime=True)]
    coefficients = [cost_coefficients(inputs, p, vix) for p in sets]
    table = CostTable.stack(coefficients, inputs.n_assets)
    which = np.array([4, 0, 1, 1, 3, 2, 0])
    rng = np.random.default_rng(3)
    trade = rng.normal(0.0, 2e5, (len(which), inputs.n_assets))
    trade[0, 1] = 0.0
    mult = np.array([float(coefficients[p].multiplier) for p in which])
    got = row_trading_costs(trade, table, which, mult)
    for r, p in enumerate(which):
        alone = trade_costs(trade[r], inputs, sets[p], vix).trading_usd
        np.testing.assert_array_equal(got[r], alone)
    assert got[0, 1] == 0.0
