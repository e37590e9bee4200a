"""Shared books (backtest/segments.py): a batch run on one book per rebalance day equals
the general compiled loop and the reference simulator to 1e-12 of NAV, and stops (the
general loop then runs) wherever sharing would not be exact."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftwise.app.reference import run_reference
from driftwise.backtest import _kernels as _k
from driftwise.backtest import segments
from driftwise.backtest.batches import DayCosts, Window, starting_nav
from driftwise.backtest.engine import BacktestResult, make_batches, run_backtest
from driftwise.backtest.grid import sweep
from driftwise.backtest.history import HistorySettings, RiskSettings, build_history, universe
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs
from driftwise.costs import CostParams, cost_coefficients
from driftwise.policy.constraints import Constraints
from driftwise.policy.rule import Rule
from driftwise.policy.triggers import DriftThreshold

from .test_reference import DAYS, SYNTHETIC, assert_same

FRACTIONAL = {"constraints.whole_shares": False, "constraints.min_trade_usd": 0.0,
              "constraints.min_adv_usd": 0.0}
"""Trades that scale with the NAV (the synthetic EEE trades below USD 1 M a day, which
the default minimum ADV would leave out of every rebalance)."""

SCALABLE = Constraints(whole_shares=False, min_trade_usd=0.0)

FIELDS = ("nav_usd", "traded_usd", "cost_usd", "cash_usd", "intended_usd")


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """Shared books for batches of two rows and more; yields what each run returned
    (None: done on shared books, else why it stopped)."""
    monkeypatch.setattr(segments, "MIN_ROWS", 2)
    seen: list[str | None] = []
    run = segments.run

    def spy(*args: object) -> str | None:
        seen.append(run(*args))  # type: ignore[arg-type]
        return seen[-1]
    monkeypatch.setattr(segments, "run", spy)
    yield seen


def _general(configs: list[Config], **kw: object) -> BacktestResult:
    """The engine without shared books (the general compiled loop)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(segments, "eligible", lambda batch: False)
        return backtest_configs(SYNTHETIC, configs, **kw)  # type: ignore[arg-type]


def assert_close(a: BacktestResult, b: BacktestResult) -> None:
    """Every money path within 1e-12 of NAV, the drifts within 1e-12, the same trade days."""
    np.testing.assert_array_equal(a.rebalanced, b.rebalanced)
    nav = b.nav_usd
    for name in FIELDS:
        gap = np.abs(getattr(a, name) - getattr(b, name)) / nav
        assert np.nanmax(gap) <= 1e-12, name
    for name in ("drift", "post_drift"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-12,
                                   err_msg=name)


@st.composite
def grids(draw: st.DrawFn) -> list[Config]:
    """Threshold, hybrid or calendar rows of one rule, thresholds that tie and that are
    never reached, flat cost sets with and without VIX regimes."""
    base = Config().with_overrides({
        **FRACTIONAL,
        "constraints.long_only": draw(st.booleans()),
        "constraints.cash_buffer": draw(st.sampled_from([0.0, 0.02])),
        "risk.te_model": "diagonal"})
    kind = draw(st.sampled_from(["threshold", "threshold", "hybrid", "calendar"]))
    out = []
    for _ in range(draw(st.integers(2, 7))):
        cost = draw(st.sampled_from([
            {"costs.flat_cost_bps": 10.0}, {"costs.flat_cost_bps": 40.0},
            {"costs.flat_cost_bps": 10.0, "costs.cost_scale": 3.0},
            {"costs.flat_cost_bps": 0.0}]))
        h = draw(st.sampled_from([0.0, 0.005, 0.01, 0.01, 0.02, 0.04, 0.9]))
        config = base.with_overrides(cost)
        if kind == "threshold":
            out.append(pol.threshold(h, base=config))
        elif kind == "hybrid":
            out.append(pol.hybrid(frequency="month", override=h or 0.005, base=config))
        else:
            out.append(pol.calendar("week", base=config))
    return out


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # runs: cleared
@given(configs=grids(), window=st.sampled_from([(DAYS[2], DAYS[140]), (DAYS[120], DAYS[300])]))
def test_shared_books_equal_the_general_loop(runs: list[str | None], configs: list[Config],
                                             window: tuple[pd.Timestamp, pd.Timestamp]) -> None:
    """Done on shared books, or stopped where the rows' books part by more than the merge
    tolerance (rows that rebalance every day at different cost scales pay costs that part
    their cash weights); either way the general loop's result."""
    runs.clear()
    start, end = window
    fast = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    assert runs and (runs[0] is None or runs[0].startswith("post-trade books that differ"))
    assert_close(fast, _general(configs, start=start, end=end))


def test_rows_whose_costs_part_their_books_stop_and_equal_the_general_loop(
        runs: list[str | None]) -> None:
    """Threshold-0 rows (a trade every day) at 10 bps and at three times that: their cash
    weights part after a large rebalance, sharing stops there, and the result is the
    general loop's."""
    base = Config().with_overrides({**FRACTIONAL, "risk.te_model": "diagonal",
                                    "costs.flat_cost_bps": 10.0})
    configs = [pol.threshold(0.0, base=base),
               pol.threshold(0.0, base=base.with_overrides({"costs.cost_scale": 3.0}))]
    start, end = DAYS[2], DAYS[140]
    fast = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    assert len(runs) == 1 and runs[0] is not None
    assert runs[0].startswith("post-trade books that differ")
    assert_close(fast, _general(configs, start=start, end=end))


def test_a_sweep_shares_books_and_equals_the_reference(runs: list[str | None]) -> None:
    base = Config().with_overrides({**FRACTIONAL, "costs.flat_cost_bps": 15.0})
    configs = [pol.threshold(h, base=base) for h in (0.004, 0.006, 0.006, 0.01, 0.02, 0.5)]
    start, end = DAYS[150], DAYS[230]  # into the stress
    fast = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    assert runs == [None]
    trades = fast.rebalanced.sum(axis=0)
    assert trades[0] > trades[3] > trades[4] > 0 and trades[5] == 0  # one never trades
    np.testing.assert_array_equal(fast.nav_usd[:, 1], fast.nav_usd[:, 2])  # a tie
    assert_close(fast, _general(configs, start=start, end=end))
    for i in (0, 3, 5):
        assert_same(fast, i, run_reference(SYNTHETIC, configs[i], start=start, end=end))


@pytest.mark.parametrize(("overrides", "why"), [
    ({"constraints.max_turnover": 0.02}, "post-trade books that differ"),
    ({"constraints.do_not_buy": ["CCC"]}, "post-trade books that differ"),
    ({"constraints.min_adv_usd": 1e6}, "post-trade books that differ"),
    ({"constraints.min_adv_usd": 0.0, "constraints.max_liquidity_days": 0.05},
     ("illiquid assets that depend on the NAV", "post-trade books that differ")),
])
def test_it_stops_where_sharing_is_not_exact(runs: list[str | None],
                                             overrides: dict[str, object],
                                             why: str | tuple[str, ...]) -> None:
    """A turnover cap, a restriction or an illiquid asset left out keep part of the old
    book (each row's own); an asset illiquid at one row's NAV and not at another's: the
    general loop runs, and the result is the general loop's."""
    base = Config().with_overrides({**FRACTIONAL, "costs.flat_cost_bps": 10.0, **overrides})
    configs = [pol.threshold(h, base=base) for h in (0.005, 0.01, 0.02)]
    if "constraints.max_liquidity_days" in overrides:  # rows of other NAVs on one book
        configs += [pol.threshold(0.01, base=base.with_overrides({"costs.flat_cost_bps": 80.0}))]
    start, end = DAYS[120], DAYS[300]
    fast = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    assert len(runs) == 1 and runs[0] is not None and runs[0].startswith(why)
    general = _general(configs, start=start, end=end)
    for name in (*FIELDS, "drift", "post_drift", "rebalanced"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(general, name))


def test_which_batches_share_books(runs: list[str | None]) -> None:
    """Whole shares, minimum trades, the modelled costs (impact), other destinations and
    one-row batches take the general loop."""
    flat = Config().with_overrides({**FRACTIONAL, "costs.flat_cost_bps": 10.0})
    for base, destination in [
            (flat.with_overrides({"constraints.whole_shares": True}), "full"),
            (flat.with_overrides({"constraints.min_trade_usd": 100.0}), "full"),
            (flat.with_overrides({"constraints.min_trade_shares": 1.0}), "full"),
            (Config().with_overrides(FRACTIONAL), "full"),
            (flat, "half"), (flat, "band_edge")]:
        configs = [pol.threshold(h, destination=destination, base=base) for h in (0.01, 0.02)]
        backtest_configs(SYNTHETIC, configs, start=DAYS[2], end=DAYS[60])
    backtest_configs(SYNTHETIC, [pol.threshold(0.01, base=flat)], start=DAYS[2], end=DAYS[60])
    assert runs == []


def test_vix_regimes_and_cost_sets_in_one_batch(runs: list[str | None]) -> None:
    """Flat cost sets scaled by the VIX regime (the synthetic VIX crosses 20 and 30), rows
    of several cost sets on one book, against the general loop."""
    sets = [CostParams(flat_cost_bps=10.0, scale_flat_by_regime=True,
                       vix_multipliers=(1.0, 2.0, 4.0)),
            CostParams(flat_cost_bps=25.0), CostParams(flat_cost_bps=5.0, cost_scale=2.0,
                                                        scale_flat_by_regime=True)]
    grid = sweep(Rule(DriftThreshold(), constraints=SCALABLE, min_adv_usd=0.0), costs=sets,
                 threshold=[0.0, 0.004, 0.01, 0.011, 0.03, 1.0])
    window = Window(DAYS[60], DAYS[260], False, *starting_nav(SYNTHETIC, None))
    fast = run_backtest(SYNTHETIC, grid, window)
    assert runs == [None]
    assert fast.rebalanced[:, :6].sum() > 20 and not fast.rebalanced[:, 5].any()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(segments, "eligible", lambda batch: False)
        general = run_backtest(SYNTHETIC, grid, window)
    assert_close(fast, general)
    traded = fast.rebalanced[100:140, 2]
    stress = fast.cost_usd[100:140, 2][traded] / fast.traded_usd[100:140, 2][traded]
    assert stress.max() == pytest.approx(4e-3)  # 10 bps x 4 in the stress regime


def test_proportional_costs_oracle() -> None:
    """A flat cost set is proportional; the modelled one (impact) is not, nor is a minimum
    ticket."""
    inputs = build_history(SYNTHETIC, HistorySettings.of(RiskSettings(), CostParams()),
                           tickers=universe(SYNTHETIC, from_holdings=False)).cost_inputs(200)
    n = inputs.n_assets
    for params, expected in [(CostParams(flat_cost_bps=10.0), True), (CostParams(), False),
                             (CostParams(impact_coef=0.0), True)]:
        table = cost_coefficients(inputs, params, 18.0).table(n).kernel_table
        assert _k.proportional(table, 0) is expected, params
        ticket = table._replace(min_ticket_usd=np.full_like(table.min_ticket_usd, 1.0))
        assert not _k.proportional(ticket, 0)


def test_flat_costs_of_a_day_are_the_day_costs() -> None:
    """The event day's cost model (kept per regime multipliers) and ADV (the rolling ADV,
    the cost inputs' where it is unknown) equal the day's own cost inputs, every day."""
    sets = [CostParams(flat_cost_bps=10.0, scale_flat_by_regime=True),
            CostParams(flat_cost_bps=25.0, cost_scale=2.0)]
    grid = sweep(Rule(DriftThreshold(), constraints=SCALABLE), costs=sets,
                 threshold=[0.01, 0.02])
    window = Window(None, None, False, *starting_nav(SYNTHETIC, None))
    tickers = universe(SYNTHETIC, from_holdings=False)
    (batch,) = make_batches(SYNTHETIC, grid, window, tickers)
    flat = segments.FlatCosts(batch)
    unknown = 0
    for k in range(batch.history.n_days):
        model, adv = flat.on(k)
        day = DayCosts(batch, k)
        np.testing.assert_array_equal(adv, day.inputs.adv_shares)
        unknown += int(np.isnan(batch.history.adv_on(k)).any())  # type: ignore[arg-type]
        np.testing.assert_array_equal(model.which, day.model.which)
        np.testing.assert_array_equal(model.multiplier, day.model.multiplier)
        for name in ("spread_frac", "commission_frac", "min_ticket_usd", "flat_frac",
                     "flat_by_regime", "impact_coef"):
            np.testing.assert_array_equal(getattr(model.table.kernel_table, name),
                                          getattr(day.model.table.kernel_table, name))
    assert 0 < unknown < batch.history.n_days and 1 < len(flat.models) <= 3
