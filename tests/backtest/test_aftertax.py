"""The after-tax backtest: tax off equals the engine exactly; the yearly netting, the
carry-forward, the liquidation and a harvest with its wash-sale lockout, recomputed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.aftertax import (
    after_tax_compare,
    after_tax_settings,
    after_tax_sweep,
    run_one,
    with_tax,
)
from driftwise.backtest.aftertax import AfterTaxSettings
from driftwise.config import Config
from driftwise.config.assemble import backtest_configs
from driftwise.data.model import Inputs
from driftwise.errors import ConfigError

from .conftest import synthetic_inputs

INPUTS = synthetic_inputs()
ZERO = {"tax.short_term_rate": 0.0, "tax.long_term_rate": 0.0, "tax.niit_rate": 0.0}


@pytest.mark.parametrize("overrides", [
    {"policy.trigger": "threshold", "policy.threshold": 0.03},
    {"policy.trigger": "calendar", "policy.frequency": "month",
     "constraints.whole_shares": False, "policy.destination": "half"},
])
def test_tax_off_equals_the_engine_exactly(overrides: dict[str, object]) -> None:
    config = Config().with_overrides({**overrides, **ZERO})
    engine = backtest_configs(INPUTS, [config])
    mine = run_one(INPUTS, config, aware=False, harvest_every="never")
    np.testing.assert_array_equal(mine.nav_usd, engine.nav_usd[:, 0])
    np.testing.assert_array_equal(mine.rebalanced, engine.rebalanced[:, 0])
    assert mine.taxes_paid_usd == 0.0 and mine.liquidation_value_usd == mine.nav_usd[-1]


def _oracle_year(st: float, lt: float, cs: float, cl: float, r_st: float, r_lt: float,
                 r_ord: float) -> tuple[float, float, float]:
    """Schedule D by hand: (tax, short carry, long carry)."""
    st, lt = st - cs, lt - cl
    if st >= 0 and lt >= 0:
        return st * r_st + lt * r_lt, 0.0, 0.0
    total = st + lt
    if total >= 0:  # one character's loss absorbed by the other's gain
        return (total * r_st if st > 0 else total * r_lt), 0.0, 0.0
    if st < 0 and lt < 0:
        short, long_ = -st, -lt
    elif st < 0:
        short, long_ = -total, 0.0
    else:
        short, long_ = 0.0, -total
    offset = min(3_000.0, -total)
    from_short = min(short, offset)
    return -offset * r_ord, short - from_short, long_ - (offset - from_short)


def test_years_netted_and_carried_as_by_hand() -> None:
    config = Config().with_overrides({"policy.trigger": "threshold",
                                      "policy.threshold": 0.03})
    result = run_one(INPUTS, config, aware=False)
    years = result.years
    assert list(years["year"]) == [2019, 2020]
    r_st, r_lt, r_ord = 0.37 + 0.038, 0.20 + 0.038, 0.37
    carry = (0.0, 0.0)
    for _, row in years.iterrows():
        assert (row["carry_in_short_usd"], row["carry_in_long_usd"]) == pytest.approx(carry)
        tax, cs, cl = _oracle_year(row["realized_short_usd"],
                                   row["realized_long_usd"] + row["liquidation_gain_usd"],
                                   *carry, r_st, r_lt, r_ord)
        # with the tax on the year's interest on cash, ordinary income (st + state + NIIT)
        assert row["interest_usd"] > 0
        assert row["tax_usd"] == pytest.approx(tax + row["interest_usd"] * r_st)
        carry = (cs, cl)
        assert (row["carry_out_short_usd"], row["carry_out_long_usd"]) == pytest.approx(carry)
    # the first year's tax left cash on its last session; the last year's is the
    # liquidation tax
    end_2019 = np.flatnonzero(result.dates.year == 2019)[-1]
    assert result.tax_paid_usd[end_2019] == pytest.approx(years["tax_usd"].iloc[0])
    assert np.count_nonzero(result.tax_paid_usd) <= 1
    assert result.liquidation_tax_usd == pytest.approx(years["tax_usd"].iloc[-1])
    assert result.liquidation_value_usd == pytest.approx(result.nav_usd[-1]
                                                         - result.liquidation_tax_usd)


def _falling_inputs() -> Inputs:
    """Five flat prices, AAA falling 30% on the 10th session and staying there."""
    prices = INPUTS.market.prices.copy()
    prices.loc[:, :] = np.array([120.0, 45.0, 80.0, 30.0, 18.0])
    prices.iloc[10:, 0] = 84.0
    market = dataclasses.replace(INPUTS.market, prices=prices)
    return dataclasses.replace(INPUTS, market=market)


def test_a_harvest_by_hand_and_its_wash_sale_lockout() -> None:
    inputs = _falling_inputs()
    # a rule that never trades: the only trades are the harvest and its rebuy
    config = Config().with_overrides({"policy.trigger": "threshold",
                                      "policy.threshold": 0.9, "backtest.initial_nav_usd":
                                      1_000_000.0, "tax.harvest_in_trades": True})
    aware = run_one(inputs, config, aware=True)
    unaware = run_one(inputs, config, aware=False)
    dates = aware.dates
    first_feb = int(np.flatnonzero((dates.year == 2019) & (dates.month == 2))[0])
    assert np.flatnonzero(aware.harvested).tolist() == [first_feb]
    # AAA: 25% of 1,000,000 at 120 = 2,083 whole shares; loss 36 a share
    shares0 = np.trunc(0.25 * 1_000_000.0 / 120.0)
    assert aware.shares[0, 0] == shares0
    assert aware.harvested_loss_usd == pytest.approx(shares0 * 36.0)
    # none held from the harvest through the 30 days after it; bought back the first
    # session more than 30 calendar days later
    back = int(np.searchsorted(dates, dates[first_feb] + pd.Timedelta(days=31)))
    assert (aware.shares[first_feb:back, 0] == 0).all()
    assert aware.shares[back, 0] > 0 and aware.disallowed_usd == 0.0
    # the 2019 loss: 3,000 against ordinary income, the rest carried as short-term
    y2019 = aware.years.iloc[0]
    assert y2019["realized_short_usd"] == pytest.approx(-shares0 * 36.0)
    assert y2019["ordinary_offset_usd"] == 3_000.0
    assert y2019["carry_out_short_usd"] == pytest.approx(shares0 * 36.0 - 3_000.0)
    # (and the interest on cash, ordinary income at 37% + 3.8% NIIT)
    assert aware.tax_paid_usd.sum() == pytest.approx(-3_000.0 * 0.37
                                                     + y2019["interest_usd"] * 0.408)
    # the unaware rule never sells: no capital gains tax until the end, where AAA's loss
    # is long-term; the interest's tax only
    assert unaware.harvested_loss_usd == 0.0
    assert unaware.tax_paid_usd.sum() == pytest.approx(
        unaware.years.iloc[0]["interest_usd"] * 0.408)
    assert after_tax_compare(inputs, config, samples=100).tax_alpha > 0.0


def test_harvest_threshold_and_schedule_are_read() -> None:
    inputs = _falling_inputs()
    config = Config().with_overrides({"policy.trigger": "threshold", "policy.threshold": 0.9,
                                      "tax.harvest_in_trades": True})
    # a 30% loss is below a 35% threshold: nothing harvested
    high = run_one(inputs, with_tax(config, harvest_loss_threshold=0.35), aware=True)
    assert high.harvested_loss_usd == 0.0
    never = run_one(inputs, config, aware=True, harvest_every="never")
    assert never.harvested_loss_usd == 0.0
    weekly = run_one(inputs, config, aware=True, harvest_every="week")
    dates = weekly.dates
    assert dates[np.flatnonzero(weekly.harvested)[0]] < pd.Timestamp("2019-02-01")
    # the harvest's value in the table, recomputed: loss x r_lt x (1 - (1 + rho)^-T) and
    # loss x (r_now - r_lt), short-term here
    base = run_one(inputs, config, aware=True).harvests.iloc[0]
    other = run_one(inputs, with_tax(config, harvest_discount_rate_annual=0.10,
                                     harvest_years_to_sale=5.0), aware=True).harvests.iloc[0]
    r_st, r_lt = 0.37 + 0.038, 0.20 + 0.038
    for row, rho, years in ((base, 0.05, 10.0), (other, 0.10, 5.0)):
        assert row["deferral_usd"] == pytest.approx(
            row["loss_usd"] * r_lt * (1.0 - (1.0 + rho) ** -years))
        assert row["arbitrage_usd"] == pytest.approx(row["loss_usd"] * (r_st - r_lt))
        assert row["replacement"] == "cash"


def test_the_aware_rule_never_buys_inside_the_window_of_its_loss_sales() -> None:
    config = Config().with_overrides({"policy.trigger": "threshold",
                                      "policy.threshold": 0.03})
    result = run_one(INPUTS, config, aware=True, harvest_every="week")
    harvests = result.harvests
    assert len(harvests) and (harvests["loss_usd"] > 0).all()
    assert harvests["loss_usd"].sum() == pytest.approx(result.harvested_loss_usd)
    assert (harvests["loss_usd"] >= 0.10 * harvests["basis_usd"]).all()
    assert (harvests["loss_usd"] >= 1_000.0).all()
    bought = pd.DataFrame(np.diff(result.shares, axis=0) > 1e-9, index=result.dates[1:],
                          columns=result.tickers)
    for _, row in harvests.iterrows():
        inside = bought.loc[row["date"] + pd.Timedelta(days=1):
                            row["date"] + pd.Timedelta(days=30), row["ticker"]]
        assert not inside.any(), (row["date"], row["ticker"])
    # no purchase washed any loss the rule or a harvest realized
    assert result.disallowed_usd == 0.0


def test_sweep_over_tax_settings_is_one_table() -> None:
    config = Config().with_overrides({"policy.trigger": "threshold",
                                      "policy.threshold": 0.03, "tax.enabled": True})
    members = [with_tax(config, lot_relief="fifo"), with_tax(config, lot_relief="hifo"),
               with_tax(config, long_term_rate=0.15, gain_budget_usd=0.0)]
    table = after_tax_sweep(INPUTS, members, samples=50)
    assert table["lot_relief"].tolist() == ["fifo", "hifo", "hifo"]
    assert table["long_term_rate"].tolist() == [0.20, 0.20, 0.15]
    assert table["tax_alpha_low"].le(table["tax_alpha"]).all()
    assert table["tax_alpha"].le(table["tax_alpha_high"]).all()
    assert table["aware_after_tax_return_annual"].nunique() >= 2


def test_settings_refused_with_a_reason() -> None:
    # specific relief names lots of the starting holdings; these runs start from targets
    with pytest.raises(ConfigError, match=r"specific_lots.*AAA:2020-01-02.*start_from_holdings"):
        run_one(INPUTS, Config().with_overrides({"tax.lot_relief": "specific",
                                                 "tax.specific_lots": ["AAA:2020-01-02"]}),
                aware=True)
    with pytest.raises(ConfigError, match=r"harvest_pairs: AAA:ZZZ.*no prices"):
        run_one(INPUTS, Config().with_overrides({"tax.harvest_pairs": ["AAA:ZZZ"]}),
                aware=True)
    with pytest.raises(ConfigError, match="harvest_pairs"):
        AfterTaxSettings(tax=after_tax_settings(Config()).tax, swap_back=True)
    with pytest.raises(ConfigError, match="harvest_every"):
        AfterTaxSettings(tax=after_tax_settings(Config()).tax, harvest_every="fortnight")
    with pytest.raises(ConfigError, match="long-only"):
        run_one(INPUTS, Config().with_overrides({"constraints.long_only": False}), aware=True)


def test_a_sweep_equals_each_configuration_alone_inline_and_on_a_cluster() -> None:
    config = Config().with_overrides({"policy.trigger": "threshold",
                                      "policy.threshold": 0.03})
    members = [with_tax(config, lot_relief=relief, harvest_loss_threshold=threshold)
               for relief in ("fifo", "min_tax") for threshold in (0.05, 0.20)]
    seen: list[tuple[int, int]] = []
    table = after_tax_sweep(INPUTS, members, harvest_every="week", samples=60,
                            progress=lambda done, total: seen.append((done, total)))
    # two relief methods: two tax-unaware runs shared by the four configurations
    assert seen[-1] == (6, 6)
    for member, (_, row) in zip(members, table.iterrows(), strict=True):
        alone = after_tax_compare(INPUTS, member, harvest_every="week", samples=60)
        aware = alone.metrics.loc["tax-aware"]
        for key in aware.index:
            assert row[f"aware_{key}"] == aware[key], key
        assert row["unaware_after_tax_return_annual"] == \
            alone.metrics.loc["tax-unaware", "after_tax_return_annual"]
        assert (row["tax_alpha"], row["tax_alpha_low"], row["tax_alpha_high"]) == \
            (alone.tax_alpha, alone.tax_alpha_low, alone.tax_alpha_high)
    assert table["aware_harvested_loss_usd"].nunique() >= 2  # the thresholds are read
    on_cluster = after_tax_sweep(INPUTS, members, harvest_every="week", samples=60,
                                 workers=2)
    pd.testing.assert_frame_equal(on_cluster, table)
