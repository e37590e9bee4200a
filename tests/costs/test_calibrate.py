"""``driftwise calibrate-costs`` (``app.calibrate``): spreads by VIX regime and size tier
on simulated bars whose spread per regime is known, each cell recomputed independently
from the estimators' moment form, the block bootstrap of months against a plain loop, the
episodes, the verdict against the methodology's "2-3x", the configuration fragment and
bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.app.calibrate import (
    block_weights,
    calibrate,
    calibrate_folder,
    config_fragment,
    episodes,
    read_bars,
    yearly_caps,
    yearly_tiers,
)
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, main
from driftwise.config import loads_config
from driftwise.config.assemble import cost_params
from driftwise.costs.regime import claim_verdict
from driftwise.costs.spread_estimators import Estimator, pair_moments, pooled_spread
from driftwise.costs.tiers import TierDefaults
from driftwise.errors import DataError

SPREADS = (0.004, 0.008, 0.016)
"""The simulated full spread in each VIX regime (calm, elevated, stressed)."""
BREAKS = (20.0, 30.0)


def simulated(seed: int, n_days: int = 900) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """Three stocks trading at bid or ask around a random walk (volatility 0.5% a day), the
    spread set by a VIX that stays in one regime for a month at a time."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2005-01-03", periods=n_days)
    months = dates.to_period("M")
    level = dict(zip(months.unique(), rng.choice([15.0, 25.0, 40.0], len(months.unique()),
                                                 p=[0.5, 0.3, 0.2]), strict=True))
    vix = pd.Series([level[m] for m in months], index=dates, name="vix")
    regime = np.searchsorted(BREAKS, vix.to_numpy(), side="right")
    spread = np.asarray(SPREADS)[regime]
    bars = {}
    for ticker in ("AAA", "BBB", "CCC"):
        steps = 120
        mid = np.cumsum(rng.normal(0, 0.005 / math.sqrt(steps), n_days * steps))
        side = rng.choice([-1.0, 1.0], n_days * steps)
        price = 50 * np.exp(mid + side * np.repeat(spread, steps) / 2).reshape(n_days, steps)
        bars[ticker] = pd.DataFrame({
            "high": price.max(1), "low": price.min(1), "close": price[:, -1],
            "volume": 1e6, "split_coefficient": 1.0, "adjusted_close": price[:, -1]},
            index=dates)
    return bars, vix


@pytest.fixture(scope="module")
def market() -> tuple[dict[str, pd.DataFrame], pd.Series]:
    return simulated(3)


def run(market: tuple[dict[str, pd.DataFrame], pd.Series], **kw: object) -> pd.DataFrame:
    bars, vix = market
    result = calibrate(bars, vix, breaks=BREAKS, tiers=TierDefaults(),
                       start=pd.Timestamp("2000-01-03").date(), n_boot=200, **kw)  # type: ignore[arg-type]
    return result.table


def test_each_cell_is_the_estimators_average_over_its_pairs(
        market: tuple[dict[str, pd.DataFrame], pd.Series]) -> None:
    table = run(market).set_index(["estimator", "tier", "regime_index"])
    bars, vix = market
    for estimator in Estimator:
        values: dict[int, list[np.ndarray]] = {0: [], 1: [], 2: []}
        for frame in bars.values():  # oracle: pair t belongs to the regime of day t's VIX
            v = pair_moments(estimator, frame["high"], frame["low"], frame["close"])
            for t, value in enumerate(v):
                level = vix.loc[frame.index[t]]
                values[int(level >= 20) + int(level >= 30)].append(value)
        # the moment form: the spread of the cell's mean values, none truncated before
        calm = float(pooled_spread(estimator, np.mean(values[0], axis=0)))
        for k, found in values.items():
            row = table.loc[(estimator.value, "all", k)]
            expected = float(pooled_spread(estimator, np.mean(found, axis=0)))
            assert row["spread_bps"] == pytest.approx(1e4 * expected, rel=1e-9)
            assert row["multiplier"] == pytest.approx(expected / calm, rel=1e-9)
            assert row["pairs"] == len(found)
            assert row["spread_low_bps"] <= row["spread_bps"] <= row["spread_high_bps"]
            assert row["multiplier_low"] <= row["multiplier"] <= row["multiplier_high"] + 1e-12


def test_the_measured_multipliers_follow_the_simulated_spreads(
        market: tuple[dict[str, pd.DataFrame], pd.Series]) -> None:
    table = run(market)
    ar = table[(table["estimator"] == "abdi-ranaldo") & (table["tier"] == "all")]
    mult = ar.sort_values("regime_index")["multiplier"].to_numpy()
    assert mult[0] == 1.0
    assert 1.4 < mult[1] < 2.8 and 2.8 < mult[2] < 5.6, mult  # simulated: 2 and 4
    cs = table[(table["estimator"] == "corwin-schultz") & (table["tier"] == "all")]
    mult = cs.sort_values("regime_index")["multiplier"].to_numpy()
    assert 1.6 < mult[1] < 2.4 and 3.2 < mult[2] < 4.8, mult  # simulated: 2 and 4
    spread = cs.sort_values("regime_index")["spread_bps"].to_numpy()
    np.testing.assert_allclose(spread, [40.0, 80.0, 160.0], rtol=0.2)


def test_the_bootstrap_is_repeatable_and_counts_months(
        market: tuple[dict[str, pd.DataFrame], pd.Series]) -> None:
    a, b = run(market), run(market)
    pd.testing.assert_frame_equal(a, b)
    c = run(market, random_state=1)
    assert not np.allclose(a["spread_low_bps"], c["spread_low_bps"])
    _, vix = market
    regime = np.searchsorted(BREAKS, vix.to_numpy()[:-1], side="right")
    months = pd.Series(vix.index[:-1].to_period("M")).groupby(regime).nunique()
    rows = a[(a["tier"] == "all") & (a["estimator"] == "abdi-ranaldo")]
    assert rows.sort_values("regime_index")["months"].tolist() == months.tolist()
    # episodes: runs of consecutive months of each regime, counted by hand
    month_regime = pd.Series(regime, index=vix.index[:-1].to_period("M"))
    for k, found in zip(rows.sort_values("regime_index")["regime_index"],
                        rows.sort_values("regime_index")["episodes"], strict=True):
        held = sorted({m.ordinal for m in month_regime[month_regime == k].index})
        runs = sum(1 for i, o in enumerate(held) if i == 0 or o != held[i - 1] + 1)
        assert found == runs
    # longer blocks: other intervals from the same draws' seed
    d = run(market, block_months=1)
    assert not np.allclose(a["multiplier_low"], d["multiplier_low"], equal_nan=True)
    pd.testing.assert_series_equal(a["multiplier"], d["multiplier"])
    with pytest.raises(ValueError, match="block_months"):
        run(market, block_months=0)


def test_block_weights_are_a_circular_moving_block_bootstrap() -> None:
    """Against a plain loop: the same starts, blocks of consecutive months wrapping round
    the end, the last block cut so that a draw holds as many months as the sample."""
    n_months, block, n_boot = 23, 5, 40
    got = block_weights(n_months, block, n_boot, np.random.default_rng(4))
    starts = np.random.default_rng(4).integers(0, n_months, size=(n_boot, 5))
    for b in range(n_boot):
        expected = np.zeros(n_months)
        drawn = 0
        for start in starts[b]:
            for j in range(block):
                if drawn < n_months:
                    expected[(start + j) % n_months] += 1
                    drawn += 1
        np.testing.assert_array_equal(got[b], expected)
    assert (got.sum(1) == n_months).all()
    np.testing.assert_array_equal(block_weights(12, 12, 3, np.random.default_rng(0)),
                                  np.ones((3, 12)))  # one block: the whole circle


def test_episodes_are_runs_of_consecutive_months() -> None:
    months = pd.Series(pd.PeriodIndex(["2008-09", "2008-10", "2008-10", "2008-12", "2009-01",
                                       "2011-08", "2020-03"], freq="M"))
    assert episodes(months) == 4  # 2008-09..10, 2008-12..2009-01, 2011-08, 2020-03
    assert episodes(months.iloc[:0]) == 0


@pytest.mark.parametrize(("low", "high", "verdict"), [
    (2.16, 2.91, "supported"), (2.0, 3.0, "supported"), (1.8, 2.5, "inconclusive"),
    (2.5, 3.4, "inconclusive"), (0.9, 1.4, "not supported"), (3.1, 3.5, "not supported"),
    (math.nan, 1.2, "inconclusive")])
def test_the_claim_s_verdict_reads_the_interval(low: float, high: float, verdict: str) -> None:
    assert claim_verdict(low, high) == verdict


def test_a_cell_whose_calm_spread_is_not_positive_has_no_multiplier(
        market: tuple[dict[str, pd.DataFrame], pd.Series]) -> None:
    bars, vix = market
    flat = {t: f.assign(high=f["close"] * 1.000001, low=f["close"] * 0.999999)
            for t, f in bars.items()}  # no spread in the ranges: random closes outside them
    flat = {t: f.assign(high=np.maximum(f["high"], f["close"]),
                        low=np.minimum(f["low"], f["close"])) for t, f in flat.items()}
    result = calibrate(flat, vix, breaks=BREAKS, tiers=TierDefaults(),
                       start=pd.Timestamp("2000-01-03").date(), n_boot=50)
    cs = result.table[(result.table["estimator"] == "corwin-schultz")
                      & (result.table["tier"] == "all")].sort_values("regime_index")
    assert cs["spread_bps"].iloc[0] <= 0
    assert cs["multiplier"].isna().all() and cs["multiplier_low"].isna().all()
    with pytest.raises(DataError, match="not usable") as err:
        config_fragment(result, Estimator.CORWIN_SCHULTZ)
    assert "calm spread is" in str(err.value) and "does not resolve" in str(err.value)
    shown = result.to_dict((1.0, 1.5, 2.5))
    assert shown["rows"][0]["multiplier"] is None  # JSON null, not NaN
    json.dumps(shown, allow_nan=False)


def test_size_tiers_from_market_caps_known_on_the_year_s_first_session(
        market: tuple[dict[str, pd.DataFrame], pd.Series]) -> None:
    bars, _ = market
    day = bars["AAA"].index[400]  # 2006-07-14: no snapshot before it
    caps = pd.DataFrame({"date": [day] * 3, "ticker": ["AAA", "BBB", "CCC"],
                         "cap_usd": [50e9, 5e9, 1e9]})
    bars, vix = market
    result = calibrate(bars, vix, breaks=BREAKS, tiers=TierDefaults(), caps=caps,
                       start=pd.Timestamp("2000-01-03").date(), n_boot=50)
    sources = result.tier_sources.set_index("source")
    # 2005 and 2006 start before the snapshot: the dollar-volume proxy; 2007 and 2008 the
    # snapshot (AAA large, BBB mid, CCC small)
    assert sources.loc["dollar volume", "stock_years"] == 6
    assert (sources.loc["dollar volume", "first_year"],
            sources.loc["dollar volume", "last_year"]) == (2005, 2006)
    assert sources.loc["snapshot", "stock_years"] == 6
    assert (sources.loc["snapshot", "first_year"], sources.loc["snapshot", "last_year"]) == \
        (2007, 2008)
    assert sources["pairs"].sum() == result.table.query(
        "tier == 'all' and estimator == 'abdi-ranaldo'")["pairs"].sum()
    note = result.tier_note()
    assert "6 stock-years 2005-2006 from the dollar-volume proxy" in note
    assert "6 stock-years 2007-2008 from the last market-cap snapshot" in note
    for ticker, tier in (("AAA", "large"), ("BBB", "mid"), ("CCC", "small")):
        tiers = yearly_tiers(bars[ticker], caps[caps["ticker"] == ticker], TierDefaults())
        assert tiers.loc[2007] == tiers.loc[2008] == tier


def test_a_year_s_tier_is_the_cap_known_that_day_recomputed_by_hand() -> None:
    days = pd.bdate_range("2010-12-01", "2013-02-28")
    close = np.full(len(days), 40.0)
    volume = np.full(len(days), 1e6)
    volume[days.year == 2011] = 2e5  # 2011: 8 M USD a day; 2012: 40 M USD a day
    volume[days == pd.Timestamp("2012-01-02")] = 0.0  # no trade on 2012's first session
    bars = pd.DataFrame({"high": close * 1.01, "low": close * 0.99, "close": close,
                         "volume": volume, "split_coefficient": 1.0,
                         "adjusted_close": close / 2}, index=days)
    caps = pd.DataFrame({"date": pd.to_datetime(["2012-06-29", "2013-01-02"]),
                         "ticker": "X", "cap_usd": [15e9, 1.5e9]})
    known = yearly_caps(bars, caps)
    assert known["day"].tolist() == [pd.Timestamp(d) for d in
                                     ("2010-12-01", "2011-01-03", "2012-01-02", "2013-01-01")]
    # oracle: the median dollar volume of the 60 sessions up to the day (days without
    # volume left out) / 0.5%; a snapshot dated on or before the day wins
    dollars = pd.Series(np.where(volume > 0, close * volume, np.nan), index=days)
    for year, day in zip(known.index, known["day"], strict=True):
        expected = dollars.loc[:day].tail(60).median() / 0.005
        if year < 2013:
            assert known.loc[year, "cap_usd"] == pytest.approx(expected, rel=1e-12)
            assert known.loc[year, "source"] == "dollar volume"
    # 2010-12-01 and 2011-01-03: a median of 40 M USD a day, 8 B: mid; 2012: the 60
    # sessions up to 2012-01-02 are 2011's 8 M USD days (2012-01-02 has no trade), 1.6 B:
    # small, though the snapshot of June 2012 says large; 2013-01-01: that snapshot (the
    # one of 2013-01-02 comes a day later)
    assert known.loc[2010, "cap_usd"] == pytest.approx(8e9)
    assert known.loc[2012, "cap_usd"] == pytest.approx(8e6 / 0.005)
    assert known.loc[2013, "cap_usd"] == 15e9 and known.loc[2013, "source"] == "snapshot"
    tiers = yearly_tiers(bars, caps, TierDefaults())
    assert tiers.to_dict() == {2010: "mid", 2011: "mid", 2012: "small", 2013: "large"}


def test_a_planted_future_snapshot_or_volume_changes_no_earlier_tier(
        market: tuple[dict[str, pd.DataFrame], pd.Series]) -> None:
    bars, _ = market
    frame = bars["AAA"]
    cut = pd.Timestamp("2007-01-02")  # the first session of 2007
    before = yearly_caps(frame, None)
    planted = frame.copy()
    planted.loc[planted.index > cut, "volume"] = 1.0  # the stock all but stops trading
    caps = pd.DataFrame({"date": [cut + pd.Timedelta(days=1)], "ticker": ["AAA"],
                         "cap_usd": [1e6]})  # and a tiny cap, dated the day after
    after = yearly_caps(planted, caps)
    pd.testing.assert_frame_equal(before.loc[:2007], after.loc[:2007])
    assert after.loc[2008, "cap_usd"] == 1e6 and after.loc[2008, "source"] == "snapshot"


def test_split_days_and_days_without_trades_are_left_out() -> None:
    bars, vix = simulated(5, n_days=60)
    vix[:] = 15.0
    frame = bars["AAA"]
    frame.iloc[10, frame.columns.get_loc("split_coefficient")] = 2.0
    frame.iloc[20, frame.columns.get_loc("volume")] = 0.0
    result = calibrate({"AAA": frame}, vix, breaks=BREAKS, tiers=TierDefaults(),
                       start=frame.index[0].date(), n_boot=50)
    rows = result.table[(result.table["tier"] == "all")
                        & (result.table["estimator"] == "abdi-ranaldo")]
    assert rows["pairs"].sum() == 59 - 1 - 2  # pair (9, 10); pairs (19, 20) and (20, 21)


def test_the_fragment_is_a_configuration(market: tuple[dict[str, pd.DataFrame], pd.Series]
                                         ) -> None:
    bars, vix = market
    result = calibrate(bars, vix, breaks=BREAKS, tiers=TierDefaults(),
                       start=pd.Timestamp("2000-01-03").date(), n_boot=50)
    text = config_fragment(result, Estimator.ABDI_RANALDO)
    params = cost_params(loads_config(text))
    measured = result.multipliers(Estimator.ABDI_RANALDO)
    assert params.vix_multipliers == pytest.approx(measured, abs=5e-4)
    assert params.vix_breaks == BREAKS
    assert "months" in text and "abdi-ranaldo" in text and "episodes" in text
    assert "12-month blocks" in text
    top = result.table.query("estimator == 'abdi-ranaldo' and tier == 'all' "
                             "and regime_index == 2").iloc[0]
    verdict = claim_verdict(top["multiplier_low"], top["multiplier_high"])
    assert f"against the methodology's 2-3x normal: {verdict}." in text
    cs = cost_params(loads_config(config_fragment(result, Estimator.CORWIN_SCHULTZ, "all")))
    assert cs.vix_multipliers == pytest.approx(result.multipliers(Estimator.CORWIN_SCHULTZ),
                                               abs=5e-4)


def _write(folder: Path, market: tuple[dict[str, pd.DataFrame], pd.Series]) -> Path:
    bars, vix = market
    (folder / "bars").mkdir()
    for ticker, frame in bars.items():
        frame.rename_axis("date").reset_index().to_csv(folder / "bars" / f"{ticker}.csv",
                                                       index=False)
    vix.rename_axis("date").rename("close").reset_index().to_csv(folder / "vix.csv",
                                                                 index=False)
    return folder


def test_the_command_prints_writes_and_refuses_bad_bars(
        tmp_path: Path, market: tuple[dict[str, pd.DataFrame], pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = _write(tmp_path, market)
    args = ["calibrate-costs", "--bars", str(folder / "bars"), "--vix", str(folder / "vix.csv"),
            "--start", "2005-01-03", "--bootstrap", "50"]
    assert main([*args, "--out", str(tmp_path / "vix.toml"), "--estimator",
                 "abdi-ranaldo"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "Effective spreads" in printed
    assert "from the dollar-volume proxy" in printed  # no --market-caps: the proxy, said
    config = tmp_path / "vix.toml"
    assert "stock-years" in config.read_text()
    assert cost_params(loads_config(config.read_text())).vix_multipliers[0] == 1.0
    assert main([*args, "--json"]) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["configured"] == [1.0, 1.5, 2.5] and shown["stocks"] == 3
    assert [r["source"] for r in shown["tier_sources"]] == ["dollar volume"]
    assert shown["claim"] == [2.0, 3.0] and shown["block_months"] == 12
    top = [r for r in shown["rows"] if r["regime_index"] == 2]
    for r in top:
        assert r["claim_verdict"] == claim_verdict(r["multiplier_low"], r["multiplier_high"])
        assert r["configured_inside"] == (r["multiplier_low"] <= 2.5 <= r["multiplier_high"])
        assert r["episodes"] >= 1
    assert all(r["claim_verdict"] == "" for r in shown["rows"] if r["regime_index"] < 2)
    assert main([*args, "--block-months", "1"]) == EXIT_OK
    one = capsys.readouterr().out
    assert "1-month blocks" in one and "the methodology's 2-3x normal:" in one
    assert main([*args, "--block-months", "0"]) == EXIT_USAGE
    assert "--block-months" in capsys.readouterr().err
    assert main([*args, "--tier", "huge"]) == EXIT_BAD_INPUT
    assert "--tier" in capsys.readouterr().err
    bad = folder / "bars" / "BBB.csv"
    frame = pd.read_csv(bad)
    frame.loc[4, "high"] = frame.loc[4, "low"] / 2
    frame.to_csv(bad, index=False)
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "BBB.csv" in err and "row 6" in err and "high" in err


def test_read_bars_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("date,high,close\n2020-01-02,10,9\n")
    with pytest.raises(DataError, match="low"):
        read_bars(path)
    with pytest.raises(DataError, match="bars folder not found"):
        calibrate_folder(tmp_path / "missing", path, breaks=BREAKS, tiers=TierDefaults())


def test_the_regimes_are_the_configurations_breaks(
        tmp_path: Path, market: tuple[dict[str, pd.DataFrame], pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = _write(tmp_path, market)
    config = tmp_path / "driftwise.toml"
    config.write_text("[costs]\nvix_breaks = [18, 35]\nvix_multipliers = [1.0, 1.2, 2.0]\n")
    assert main(["calibrate-costs", "--bars", str(folder / "bars"), "--vix",
                 str(folder / "vix.csv"), "--bootstrap", "50", "--config", str(config),
                 "--start", "2005-01-03", "--json", "--out", str(tmp_path / "f.toml")]) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["breaks"] == [18.0, 35.0] and shown["configured"] == [1.0, 1.2, 2.0]
    assert {r["regime"] for r in shown["rows"]} == {"< 18", "18-35", ">= 35"}
    assert [r["configured"] for r in shown["rows"][:3]] == [1.0, 1.2, 2.0]
    assert "vix_breaks = [18, 35]" in (tmp_path / "f.toml").read_text()


def test_the_open_takes_the_overnight_return_out_of_corwin_schultz(tmp_path: Path) -> None:
    """Bars with an open: Corwin-Schultz's cells use it (the whole overnight return
    removed), Abdi-Ranaldo's do not need it; an open that is not positive is refused."""
    bars, vix = simulated(8, n_days=200)
    gap = np.exp(np.random.default_rng(1).normal(0, 0.004, 200))
    moved = {}
    for t, f in bars.items():  # an overnight move before each day: the whole bar shifts
        factor = np.cumprod(gap)
        moved[t] = f.assign(high=f["high"] * factor, low=f["low"] * factor,
                            close=f["close"] * factor)
    with_open = {t: f.assign(open=f["close"].shift(1) * gap).iloc[1:]
                 for t, f in moved.items()}
    without = {t: f.iloc[1:] for t, f in moved.items()}
    kw = {"breaks": BREAKS, "tiers": TierDefaults(), "start": pd.Timestamp("2000-01-03").date(),
          "n_boot": 50}
    keys = ["estimator", "tier", "regime_index"]
    a = calibrate(with_open, vix, **kw).table.set_index(keys).sort_index()  # type: ignore[arg-type]
    b = calibrate(without, vix, **kw).table.set_index(keys).sort_index()  # type: ignore[arg-type]
    assert not np.allclose(a.loc["corwin-schultz", "spread_bps"],
                           b.loc["corwin-schultz", "spread_bps"])
    np.testing.assert_allclose(a.loc["abdi-ranaldo", "spread_bps"],
                               b.loc["abdi-ranaldo", "spread_bps"], rtol=1e-12)
    # the open shift gives back the ranges the simulation drew: the same cells as the bars
    # before the move, each opening at the previous close (no shift at all)
    unmoved = {t: f.assign(open=f["close"].shift(1)).iloc[1:] for t, f in bars.items()}
    c = calibrate(unmoved, vix, **kw).table.set_index(  # type: ignore[arg-type]
        ["estimator", "tier", "regime_index"]).sort_index()
    np.testing.assert_allclose(a.loc[("corwin-schultz", "all"), "spread_bps"],
                               c.loc[("corwin-schultz", "all"), "spread_bps"], rtol=1e-9)
    path = tmp_path / "X.csv"
    path.write_text("date,open,high,low,close\n2020-01-02,10,11,9,10\n2020-01-03,0,11,9,10\n")
    with pytest.raises(DataError, match="open") as err:
        read_bars(path)
    assert "row 3" in str(err.value)


def test_the_command_shows_the_table_then_refuses_an_undefined_fragment(
        tmp_path: Path, market: tuple[dict[str, pd.DataFrame], pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    bars, vix = market
    flat = {t: f.assign(high=np.maximum(f["close"] * 1.000001, f["close"]),
                        low=np.minimum(f["close"] * 0.999999, f["close"]))
            for t, f in bars.items()}  # ranges without a spread: Corwin-Schultz reads <= 0
    folder = _write(tmp_path, (flat, vix))
    args = ["calibrate-costs", "--bars", str(folder / "bars"), "--vix", str(folder / "vix.csv"),
            "--start", "2005-01-03", "--bootstrap", "50", "--out", str(tmp_path / "f.toml")]
    assert main(args) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert "Effective spreads" in captured.out and "no multiplier (the calm spread" in \
        captured.out
    assert "not usable" in captured.err and "calm spread is" in captured.err
    assert not (tmp_path / "f.toml").exists()


def test_the_verdict_line_says_plainly_when_multipliers_stay_near_1() -> None:
    from driftwise.cli.calibrate import verdict_lines

    table = pd.DataFrame({
        "estimator": "corwin-schultz", "tier": "all", "regime_index": [0, 1, 2],
        "regime": ["< 20", "20-30", ">= 30"], "spread_bps": [5.0, 5.5, 6.5],
        "multiplier": [1.0, 1.1, 1.3], "multiplier_low": [1.0, 1.0, 1.1],
        "multiplier_high": [1.0, 1.2, 1.45], "months": [179, 118, 52], "episodes": [12, 26, 17],
        "configured": [1.0, 1.5, 2.5], "configured_inside": [True, False, False],
        "claim_verdict": ["", "", "not supported"]})
    first, second = verdict_lines(table, Estimator.CORWIN_SCHULTZ, "all")
    assert first == ("VIX >= 30, corwin-schultz, tier all: spreads x1.30 [1.10, 1.45] the calm "
                     "ones (52 months in 17 episodes); the methodology's 2-3x normal: not "
                     "supported; the configured x2.5 is outside the interval.")
    assert second.startswith("The measured multipliers stay within 1-1.5x")
    assert verdict_lines(table, Estimator.ABDI_RANALDO, "all") == [
        "No abdi-ranaldo rows for tier all: nothing to judge."]


@given(st.integers(1, 60), st.integers(1, 24), st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_every_draw_holds_as_many_months_as_the_sample(n_months: int, block: int,
                                                       seed: int) -> None:
    weights = block_weights(n_months, block, 7, np.random.default_rng(seed))
    assert weights.shape == (7, n_months)
    assert (weights.sum(1) == n_months).all() and (weights >= 0).all()
    assert np.array_equal(weights, np.round(weights))
