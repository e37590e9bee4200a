"""Real-data check: impact orders of magnitude on S&P 500 large caps (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.costs import (
    CostParams,
    ImpactModel,
    build_cost_inputs,
    trade_costs,
)
from driftwise.data.alphavantage import split_adjusted_volume

AS_OF = pd.Timestamp("2021-04-21")
SIZES = np.array([0.001, 0.01, 0.05, 0.10])


def _load(root: Path, n: int = 40) -> dict[str, pd.DataFrame]:
    folder = root / "sp500-daily-ohlcv-alphavantage"
    index = pd.read_csv(folder / "tickers.csv")
    top = index.nlargest(n, "median_dollar_volume_2020")["ticker"]
    return {t: pd.read_csv(folder / "daily" / f"{t}.csv.gz", parse_dates=["date"],
                           index_col="date") for t in top}


def _impact_bps(raw: dict[str, pd.DataFrame], model: ImpactModel) -> np.ndarray:
    tails = {t: d.loc[:AS_OF].tail(130) for t, d in raw.items()}
    prices = pd.DataFrame({t: d["adjusted_close"] for t, d in tails.items()})
    volume = pd.DataFrame({t: d["volume"] for t, d in tails.items()})
    split = pd.DataFrame({t: d["split_coefficient"] for t, d in tails.items()})
    volumes = pd.DataFrame(split_adjusted_volume(volume.to_numpy(), split.to_numpy()),
                           index=volume.index, columns=volume.columns)
    params = CostParams(impact_model=model)
    inputs, _ = build_cost_inputs(list(raw), prices, volumes, None, as_of=AS_OF, params=params)
    trade = SIZES[:, None] * inputs.adv_usd[None, :]
    return np.asarray(1e4 * trade_costs(trade, inputs, params).impact_usd / trade)


@pytest.mark.realdata
def test_impact_orders_of_magnitude(shared_data: Path) -> None:
    raw = _load(shared_data)
    sqrt_bps = np.median(_impact_bps(raw, ImpactModel.SQUARE_ROOT), axis=1)
    almgren_bps = np.median(_impact_bps(raw, ImpactModel.ALMGREN_2005), axis=1)
    # published: ~15 bps (square root, Y = 1, sigma 1.5%) and ~2-3 bps (Almgren) at 1% ADV
    assert 5.0 < sqrt_bps[1] < 40.0
    assert 0.7 < almgren_bps[1] < 6.0
    assert (np.diff(sqrt_bps) > 0).all() and (np.diff(almgren_bps) > 0).all()
    assert (sqrt_bps > almgren_bps).all()
    assert 3.0 < sqrt_bps[1] / almgren_bps[1] < 15.0


@pytest.mark.realdata
def test_split_adjusted_volume_is_continuous(shared_data: Path) -> None:
    aapl = _load_one(shared_data, "AAPL").loc["2020-07-01":"2020-10-30"]
    adjusted = split_adjusted_volume(aapl[["volume"]].to_numpy(),
                                     aapl[["split_coefficient"]].to_numpy())[:, 0]
    before = aapl.index < pd.Timestamp("2020-08-31")
    raw_ratio = aapl["volume"][~before].mean() / aapl["volume"][before].mean()
    adj_ratio = adjusted[~before].mean() / adjusted[before].mean()
    assert raw_ratio > 2.0            # raw volume jumps with the 4-for-1 split
    assert 0.5 < adj_ratio < 1.5      # adjusted volume does not


def _load_one(root: Path, ticker: str) -> pd.DataFrame:
    path = root / "sp500-daily-ohlcv-alphavantage" / "daily" / f"{ticker}.csv.gz"
    return pd.read_csv(path, parse_dates=["date"], index_col="date")


@pytest.mark.realdata
def test_vix_multipliers_measured_on_the_real_bars(shared_data: Path) -> None:
    """The calibration on real daily bars (the 40 most traded stocks, 2001-2021).

    Two-day Corwin-Schultz estimates set to zero and then averaged read 30-60 bps in calm
    markets and more than twice that with the VIX above 30: volatility, since a constant
    spread does the same in simulation (``test_spread_simulation.py``). The moment form
    puts the calm spread within 10 bps of zero (the LOBSTER AAPL sample's quoted spread on
    2012-06-21 is 3.8 bps, median over its 999 book updates): below what daily bars
    resolve, so no multiplier is defined, and the claim's verdict is not "supported" for
    either estimator (docs/costs.md)."""
    from driftwise.app.calibrate import calibrate, read_bars
    from driftwise.costs.regime import claim_verdict
    from driftwise.costs.spread_estimators import corwin_schultz
    from driftwise.data.market import read_vix

    folder = shared_data / "sp500-daily-ohlcv-alphavantage"
    index = pd.read_csv(folder / "tickers.csv")
    top = index.nlargest(40, "median_dollar_volume_2020")["ticker"]
    bars = {t: read_bars(folder / "daily" / f"{t}.csv.gz") for t in top}
    vix, _ = read_vix(shared_data / "cboe-vix" / "vix-daily.csv")
    params = CostParams()
    result = calibrate(bars, vix, breaks=params.vix_breaks, tiers=params.tiers, n_boot=200)
    rows = result.table[result.table["tier"] == "all"].set_index(["estimator", "regime_index"])
    assert abs(rows.loc[("corwin-schultz", 0), "spread_bps"]) < 10.0
    for estimator in ("corwin-schultz", "abdi-ranaldo"):
        top_row = rows.loc[(estimator, 2)]
        assert claim_verdict(top_row["multiplier_low"], top_row["multiplier_high"]) != \
            "supported"
    assert int(rows.loc[("corwin-schultz", 2), "episodes"]) >= 4 and result.n_stocks == 40
    # the earlier reading: two-day estimates set to zero, averaged by regime
    per_regime: dict[int, list[np.ndarray]] = {0: [], 1: [], 2: []}
    for frame in bars.values():
        frame = frame.loc["2001-04-09":]
        two_day = corwin_schultz(frame["high"], frame["low"], frame["close"])
        level = vix.reindex(frame.index[:-1]).to_numpy()
        regime = np.searchsorted(params.vix_breaks, level, side="right")
        ok = np.isfinite(two_day) & np.isfinite(level)
        for k in per_regime:
            per_regime[k].append(two_day[ok & (regime == k)])
    mean = {k: float(np.concatenate(v).mean()) for k, v in per_regime.items()}
    assert 30e-4 < mean[0] < 60e-4 and mean[2] > 2 * mean[0]
