"""Asset location (``[accounts] asset_location``): a household's tax-inefficient assets
held in its tax-deferred accounts first. Oracles worked by hand on two-account
households, invariants by hypothesis, and ``daily`` planning each account against its
located target (with the control: off, each keeps its own)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from tests.record.daily_data import day, fill_record, sample_inputs
from tests.record.test_households import DAY, TIGHT, _orders, _profile, _reasons

from driftwise.app.daily import run_daily
from driftwise.app.location import Member, inefficient_tickers, locate
from driftwise.data.model import SecurityMaster, TargetLevel, Targets

BOND = frozenset({"BND"})


def _targets(weights: dict[str, float], cash: float) -> Targets:
    index = pd.Index(list(weights), name="ticker")
    return Targets(level=TargetLevel.ASSET,
                   weights=pd.Series(list(weights.values()), index=index, dtype=float),
                   cash_weight=cash, band_abs=pd.Series(np.nan, index=index),
                   band_rel=pd.Series(np.nan, index=index))


MODEL = _targets({"BND": 0.3, "SPY": 0.6}, 0.1)


def _located(ira_nav: float) -> dict[str, dict[str, float]]:
    out, why = locate([Member("taxable", 600_000.0, False, MODEL),
                       Member("ira", ira_nav, True, MODEL)], BOND)
    assert why.startswith("asset location: the household's targets split by tax status")
    return {name: t.weights.to_dict() for name, t in out.items()}


def test_the_bonds_fit_in_the_ira() -> None:
    # household: BND 0.3 * 1M = 300k, SPY 600k; the IRA invests 0.9 * 400k = 360k:
    # all 300k of BND and 60k of SPY; the taxable account the other 540k of SPY
    found = _located(400_000.0)
    assert found["ira"] == pytest.approx({"BND": 300 / 400, "SPY": 60 / 400}, abs=1e-15)
    assert found["taxable"] == pytest.approx({"BND": 0.0, "SPY": 540 / 600}, abs=1e-15)


def test_the_ira_is_too_small_for_the_bonds() -> None:
    # household 700k: BND 210k, SPY 420k; the IRA invests 90k, all of it BND; the taxable
    # account holds the other 120k of BND and all 420k of SPY
    found = _located(100_000.0)
    assert found["ira"] == pytest.approx({"BND": 0.9, "SPY": 0.0}, abs=1e-15)
    assert found["taxable"] == pytest.approx({"BND": 120 / 600, "SPY": 420 / 600}, abs=1e-15)


def test_it_needs_a_deferred_account_and_asset_level_targets() -> None:
    assert locate([Member("a", 1.0, False, MODEL), Member("b", 1.0, False, MODEL)],
                  BOND)[0] == {}
    sectors = Targets(level=TargetLevel.SECTOR, weights=pd.Series([1.0], index=["Tech"]))
    out, why = locate([Member("a", 1.0, False, MODEL), Member("b", 1.0, True, sectors)], BOND)
    assert out == {} and "asset-level target" in why


def test_the_inefficient_tickers_come_from_the_master_and_the_list() -> None:
    master = SecurityMaster(frame=pd.DataFrame(
        {"sector": None, "asset_class": ["bond", "US Equity", "REIT"],
         "market_cap_usd": np.nan}, index=pd.Index(["BND", "SPY", "VNQ"], name="ticker")))
    assert inefficient_tickers(master, ("Bond", "REIT"), ("tip",)) == {"BND", "VNQ", "TIP"}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(1e4, 1e7), st.booleans(), st.floats(0.0, 0.3),
                          st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3)),
                min_size=2, max_size=4))
def test_the_household_target_is_kept_and_each_account_invests_as_before(
        accounts: list[tuple[float, bool, float, list[float]]]) -> None:
    members = []
    for k, (nav, deferred, cash, raw) in enumerate(accounts):
        w = np.array(raw) + 1e-3
        w = w / w.sum() * (1.0 - cash)
        members.append(Member(f"m{k}", nav, deferred,
                              _targets(dict(zip(["BND", "SPY", "VNQ"], w, strict=True)), cash)))
    out, _ = locate(members, frozenset({"BND", "VNQ"}))
    if not out:
        assert all(m.deferred for m in members) or not any(m.deferred for m in members)
        return
    before = sum(m.nav_usd * m.targets.weights for m in members if m.targets is not None)
    after = sum(m.nav_usd * out[m.name].weights for m in members)
    assert np.allclose(after.to_numpy(), before.to_numpy(), rtol=1e-12, atol=1e-6)
    for m in members:
        assert m.targets is not None
        mine = out[m.name]
        assert float(mine.weights.sum()) == pytest.approx(1.0 - m.targets.cash_weight,
                                                          abs=1e-12)
        assert (mine.weights >= -1e-12).all() and mine.cash_weight == m.targets.cash_weight
    # the deferred accounts hold as much of the inefficient assets as fits
    room = sum(m.nav_usd * (1 - m.targets.cash_weight) for m in members
               if m.deferred and m.targets is not None)
    inside = sum(m.nav_usd * out[m.name].weights[["BND", "VNQ"]].sum()
                 for m in members if m.deferred)
    assert inside == pytest.approx(min(room, float(before[["BND", "VNQ"]].sum())), rel=1e-9)


@pytest.mark.parametrize("on", [False, True])
def test_daily_plans_each_account_against_its_located_target(engine: Engine, on: bool) -> None:
    fill_record(engine, sample_inputs(), ("ira", "joint"))
    _profile(engine, "account,household,tax_status\nira,smith,tax_deferred\n"
                     "joint,smith,taxable\n")
    config = TIGHT.with_overrides({"accounts.asset_location": on,
                                   "accounts.tax_inefficient_tickers": ["JNJ", "KO"]})
    run = run_daily(engine, config, day(DAY))
    ira, joint = _orders(engine, "ira"), _orders(engine, "joint")

    def side(frame: pd.DataFrame, ticker: str) -> set[str]:
        return set(frame.loc[frame["ticker"] == ticker, "side"])

    said = [r for r in _reasons(run, "ira") if r.startswith("asset location")]
    if on:
        # the IRA holds half the household: all of JNJ and KO fit; it buys them, the
        # taxable account sells them
        assert side(ira, "JNJ") == side(ira, "KO") == {"BUY"}
        assert side(joint, "JNJ") == side(joint, "KO") == {"SELL"}
        assert said and "(JNJ, KO)" in said[0]
    else:
        assert not said
        assert side(ira, "JNJ") != {"BUY"} or side(joint, "JNJ") != {"SELL"}
    with engine.connect() as c:
        from driftwise.record.schema import plans

        assert c.execute(sa.select(sa.func.count()).select_from(plans)).scalar() == 2


@pytest.mark.parametrize("classes", [("Bond", "REIT"), ()])
def test_the_configured_asset_classes_are_located(engine: Engine,
                                                  classes: tuple[str, ...]) -> None:
    """JNJ and KO recorded as bonds in the master: the default
    ``accounts.tax_inefficient_classes`` places them in the IRA; none configured, the
    household's targets are split with nothing to place first."""
    import dataclasses

    from driftwise.record import imports, transaction

    inputs = sample_inputs()
    fill_record(engine, inputs, ("ira", "joint"))
    frame = inputs.master.frame.copy()
    frame.loc[["JNJ", "KO"], "asset_class"] = "bond"
    master = dataclasses.replace(inputs.master, frame=frame)
    transaction(engine, lambda c: imports.import_master(c, master))
    _profile(engine, "account,household,tax_status\nira,smith,tax_deferred\n"
                     "joint,smith,taxable\n")
    config = TIGHT.with_overrides({"accounts.asset_location": True,
                                   "accounts.tax_inefficient_classes": list(classes)})
    run = run_daily(engine, config, day(DAY))
    (said,) = [r for r in _reasons(run, "ira") if r.startswith("asset location")]
    assert ("(JNJ, KO)" in said) == bool(classes)
    assert ("(none)" in said) == (not classes)
