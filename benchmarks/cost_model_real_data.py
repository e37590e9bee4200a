"""Cost model on real S&P 500 data: impact at 0.1%, 1%, 5% and 10% of ADV.

Reads ``../shared/data`` (Alpha Vantage daily OHLCV of 504 S&P 500 stocks to 2021-04-21
and the 2018-02-08 market-cap snapshot), builds the cost inputs on 2021-04-21 with
:func:`driftwise.costs.build_cost_inputs`, and prints the model's costs for typical
large caps under both impact laws next to the published orders of magnitude.

Run: ``.venv/bin/python benchmarks/cost_model_real_data.py [DATA_DIR]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.costs import (
    AssetCostInputs,
    CostParams,
    ImpactModel,
    adv_usd,
    almgren_impact,
    build_cost_inputs,
    trade_costs,
)
from driftwise.data.alphavantage import split_adjusted_volume
from driftwise.data.model import SecurityMaster

AS_OF = pd.Timestamp("2021-04-21")
CAP_SNAPSHOT = pd.Timestamp("2018-02-08")
SIZES = (0.001, 0.01, 0.05, 0.10)
TAIL_ROWS = 130
NAMED = ("AAPL", "MSFT", "JPM", "XOM", "KO", "PG")


def data_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("DRIFTWISE_SHARED_DATA", repo.parent / "shared" / "data"))


def load(root: Path, tickers: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Per-ticker daily frames (date index) from the Alpha Vantage folder."""
    folder = root / "sp500-daily-ohlcv-alphavantage" / "daily"
    names = tickers or sorted(p.name[:-7] for p in folder.glob("*.csv.gz"))
    return {t: pd.read_csv(folder / f"{t}.csv.gz", parse_dates=["date"], index_col="date")
            for t in names}


def market_frames(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Wide adjusted close, raw close, raw volume and split-adjusted volume (last rows)."""
    tails = {t: d.loc[:AS_OF].tail(TAIL_ROWS) for t, d in raw.items()}
    out = {}
    for name, column in (("prices", "adjusted_close"), ("close", "close"),
                         ("volume", "volume"), ("split", "split_coefficient")):
        out[name] = pd.DataFrame({t: d[column] for t, d in tails.items()}).sort_index()
    out["volumes"] = pd.DataFrame(
        split_adjusted_volume(out["volume"].to_numpy(), out["split"].to_numpy()),
        index=out["volume"].index, columns=out["volume"].columns)
    return out


def market_caps(root: Path, raw: dict[str, pd.DataFrame]) -> pd.Series:
    """Market cap on AS_OF: 2018 shares (cap / price) x later splits x close on AS_OF."""
    snap = pd.read_csv(root / "sp500-constituents" / "market_cap_snapshots.csv.gz",
                       parse_dates=["snapshot_date"])
    snap = snap[snap["snapshot_date"] == CAP_SNAPSHOT].set_index("symbol")
    caps = {}
    for t, d in raw.items():
        if t not in snap.index or AS_OF not in d.index:
            continue
        shares = float(snap.loc[t, "market_cap_usd"]) / float(snap.loc[t, "price"])
        splits = d.loc[(d.index > CAP_SNAPSHOT) & (d.index <= AS_OF), "split_coefficient"]
        caps[t] = shares * float(splits.prod()) * float(d.loc[AS_OF, "close"])
    return pd.Series(caps, dtype=float)


def impact_bps(frames: dict[str, pd.DataFrame], caps: pd.Series,
               model: ImpactModel) -> tuple[pd.DataFrame, AssetCostInputs]:
    """Impact in bps per asset (rows) and size (columns) on AS_OF."""
    tickers = [t for t in frames["prices"].columns if t in caps.index]
    master = SecurityMaster(frame=pd.DataFrame(
        {"sector": None, "asset_class": None, "market_cap_usd": caps.reindex(tickers)},
        index=pd.Index(tickers, name="ticker")))
    params = CostParams(impact_model=model)
    inputs, _ = build_cost_inputs(tickers, frames["prices"], frames["volumes"], master,
                                  as_of=AS_OF, params=params)
    trade = np.asarray(SIZES)[:, None] * inputs.adv_usd[None, :]   # sizes as the configs axis
    costs = trade_costs(trade, inputs, params)
    bps = pd.DataFrame((1e4 * costs.impact_usd / trade).T, index=tickers,
                       columns=[f"{q:.1%}" for q in SIZES])
    return bps, inputs


def main() -> None:
    root = data_dir()
    if not (root / "README.md").is_file():
        print(f"no real data at {root}: nothing to do")
        return
    t0 = time.perf_counter()
    raw = load(root)
    frames = market_frames(raw)
    caps = market_caps(root, raw)
    print(f"loaded {len(raw)} stocks in {time.perf_counter() - t0:.1f} s; as of {AS_OF.date()}")
    dollar = adv_usd(frames["close"].to_numpy(), frames["volume"].to_numpy(), window=60)
    large = caps.index[caps >= 10e9]
    results = {m: impact_bps(frames, caps, m) for m in ImpactModel}
    inputs = results[ImpactModel.SQUARE_ROOT][1]
    tickers = results[ImpactModel.SQUARE_ROOT][0].index
    sigma = pd.Series(inputs.sigma_daily, index=tickers)
    theta_v = pd.Series(inputs.outstanding_over_adv, index=tickers)
    adv_model = pd.Series(inputs.adv_usd, index=tickers)
    adv_raw = pd.Series(dollar, index=frames["close"].columns).reindex(tickers)
    sel = tickers.intersection(large)
    print(f"large caps (>= $10B on {AS_OF.date()}): {len(sel)} of {len(tickers)} with a cap")
    print(f"  daily sigma (20d): median {sigma[sel].median():.2%} "
          f"[{sigma[sel].quantile(.25):.2%}, {sigma[sel].quantile(.75):.2%}]")
    print(f"  dollar ADV (60d, raw close x raw volume): median "
          f"${adv_raw[sel].median() / 1e6:,.0f}M; model price x split-adjusted ADV / that: "
          f"{(adv_model[sel] / adv_raw[sel]).median():.3f}")
    print(f"  Theta/V (cap / dollar ADV): median {theta_v[sel].median():.0f}")
    for model, (bps, _) in results.items():
        print(f"\nimpact, {model.value}: bps of traded value (median [p25, p75] over large caps)")
        for col in bps.columns:
            v = bps.loc[sel, col]
            print(f"  {col:>5} of ADV: {v.median():7.2f}  [{v.quantile(.25):6.2f}, "
                  f"{v.quantile(.75):6.2f}]")
        named = [t for t in NAMED if t in bps.index]
        print(bps.loc[named].round(2).to_string())
    ref = 1e4 * float(almgren_impact(0.01, 0.015, 150.0, CostParams()))
    print("\npublished orders of magnitude at 1% of ADV, sigma 1.5%:")
    print("  square root, Y = 1: 15 bps (1 * 0.015 * sqrt(0.01))")
    print(f"  Almgren et al. 2005, T = 1 day, Theta/V = 150: {ref:.2f} bps (paper: 2-3 bps)")
    sq = results[ImpactModel.SQUARE_ROOT][0].loc[sel]
    am = results[ImpactModel.ALMGREN_2005][0].loc[sel]
    print("ratio square-root / Almgren (median over large caps): "
          + ", ".join(f"{c} {(sq[c] / am[c]).median():.1f}x" for c in sq.columns))


if __name__ == "__main__":
    main()
