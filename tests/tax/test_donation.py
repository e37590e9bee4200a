"""Donations of appreciated lots, worked by hand, and in the plan."""

from __future__ import annotations

import numpy as np
import pytest

from driftwise.app.plan import make_plan
from driftwise.errors import DataError
from driftwise.tax import TaxRates
from driftwise.tax.donation import choose_donation

from .test_plan_tax import NAV, NIIT, PRICE, _inputs, cfg

DAY = np.datetime64("2024-06-28")


def test_overweight_and_most_appreciated_first() -> None:
    # price 100 for all; lots (asset, shares, basis per share, acquired):
    # 0: asset 0 (overweight), 10 sh, basis 60, long-term: gain 40%
    # 1: asset 0 (overweight), 10 sh, basis 30, long-term: gain 70%
    # 2: asset 1 (underweight), 10 sh, basis 10, long-term: gain 90%
    # 3: asset 0, 10 sh, basis 5, short-term: never given (its gain is short-term)
    # 4: asset 1, 10 sh, basis 120: a loss, never given
    asset = np.array([0, 0, 1, 0, 1])
    shares = np.full(5, 10.0)
    basis = shares * np.array([60.0, 30.0, 10.0, 5.0, 120.0])
    acquired = np.array(["2020-01-02"] * 3 + ["2024-03-01", "2020-01-02"],
                        dtype="datetime64[D]")
    prices = np.full(5, 100.0)
    rates = TaxRates(niit=NIIT)
    gift = choose_donation(asset, shares, basis, acquired, prices, np.array([True, False]),
                           2_550.0, DAY, rates)
    # lot 1 (10 sh, 1,000), lot 0 (10 sh, 1,000), then lot 2: 5 whole shares of the 550 left
    assert gift.shares.tolist() == [10.0, 10.0, 5.0, 0.0, 0.0]
    assert gift.from_cash_usd == pytest.approx(50.0)
    assert gift.gain_usd.tolist() == pytest.approx([400.0, 700.0, 450.0, 0.0, 0.0])
    assert gift.tax_avoided_usd.sum() == pytest.approx(1_550.0 * (0.20 + NIIT))


def test_the_plan_gives_first_and_shows_the_tax_avoided() -> None:
    inputs = _inputs([(0.5, "2020-01-02", 0.3), (1.0, "2021-01-04", 0.6)])
    plan = make_plan(inputs, cfg(), donate_usd=100_000.0)
    given = np.floor(100_000.0 / PRICE["S0"])
    assert plan.donation is not None
    assert plan.donation["lot"].tolist() == ["S0:2020-01-02"]
    assert plan.donation["shares"].tolist() == [given]
    gain = given * PRICE["S0"] * 0.7
    assert plan.donation["tax_avoided_usd"].sum() == pytest.approx(gain * (0.20 + NIIT))
    # the plan is that of what is left: the NAV less the shares given and the cash part
    cash_part = 100_000.0 - given * PRICE["S0"]
    assert plan.nav_usd == pytest.approx(NAV - given * PRICE["S0"] - cash_part, rel=1e-9)
    assert any(r.startswith("donation of USD 100,000.00") for r in plan.reasons)
    assert make_plan(inputs, cfg()).donation is None


def test_a_donation_beyond_lots_and_cash_is_refused() -> None:
    inputs = _inputs([(1.0, "2024-01-02", 1.0)])  # no appreciated long-term lot
    with pytest.raises(DataError, match="exceeds what appreciated long-term lots and cash"):
        make_plan(inputs, cfg(), donate_usd=1e9)
