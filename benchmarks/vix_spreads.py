"""VIX multipliers measured on real data, and the VWAP profile against LOBSTER's AAPL.

1. Effective spreads of the 504 S&P 500 stocks of ``../shared/data`` (Alpha Vantage daily
   OHLCV to 2021-04-21) estimated by Corwin-Schultz and Abdi-Ranaldo, by VIX regime
   (CBOE VIX close) and size tier (the cost model's tiers from the market cap known on each
   stock's first session of the year: the last snapshot dated on or before it, else the
   dollar-volume proxy; no snapshot exists before 2012-12-27), each cell's spread the
   estimator's moment form over its pairs, with 95% intervals from a bootstrap of 12-month
   blocks of calendar months (the months and episodes behind each cell beside it); the
   measured multipliers beside the configured ones (1.0 / 1.5 / 2.5) and the methodology's
   "2-3x normal" under stress, with its verdict. The same computation as
   ``driftwise calibrate-costs``.
2. The share of the day's volume the VWAP schedule's profile expects in the first 49 s
   of the session, against the executions of LOBSTER's AAPL sample (2012-06-21, NASDAQ,
   09:30:00-09:30:49) over that day's consolidated volume.

Skips (exit 0, with the reason) when the data folder is absent.
Run: ``.venv/bin/python benchmarks/vix_spreads.py [--limit N] [--bootstrap B] [--json FILE]
[DATA_DIR]``; ``--json FILE`` also writes the calibration as ``driftwise calibrate-costs
--json`` prints it (the months of each regime per tier, ``months_by_regime``, and the months
behind every row), the file ``validate-rules --multipliers`` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from driftwise._atomic import write_text
from driftwise.app.calibrate import calibrate_folder
from driftwise.cli._output import to_jsonable
from driftwise.costs import CostParams
from driftwise.costs.regime import claim_verdict
from driftwise.execution.profile import NYSE_HALF_HOUR_PROFILE

BARS = "sp500-daily-ohlcv-alphavantage/daily"
VIX = "cboe-vix/vix-daily.csv"
CAPS = "sp500-constituents/market_cap_snapshots.csv.gz"
LOBSTER = "lobster-aapl-2012-06-21-sample/AAPL_2012-06-21_34200000_57600000_message_10.csv"


def spreads(data: Path, limit: int | None, n_boot: int, json_file: Path | None = None) -> None:
    params = CostParams()
    bars = data / BARS
    if limit is not None:  # a quick look: the first N tickers, linked into a temporary folder
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="vix-spreads-"))
        for path in sorted(bars.iterdir())[:limit]:
            (folder / path.name).symlink_to(path.resolve())
        bars = folder
    start, began = time.perf_counter(), time.process_time()
    result = calibrate_folder(bars, data / VIX, breaks=params.vix_breaks, tiers=params.tiers,
                              caps_file=data / CAPS, n_boot=n_boot)
    seconds, cpu = time.perf_counter() - start, time.process_time() - began
    if json_file is not None:
        write_text(json_file, json.dumps(to_jsonable(result.to_dict(params.vix_multipliers)),
                                         indent=2) + "\n")
        print(f"wrote {json_file}")
    print(f"{result.n_stocks} stocks, {result.start} .. {result.end}, {result.n_months} months, "
          f"{n_boot} draws of a bootstrap of {result.block_months}-month blocks; "
          f"{seconds:.1f} s wall, {cpu:.1f} s CPU, load "
          f"average {os.getloadavg()[0]:.1f} (under load: noisy)")
    print(result.tier_note())
    table = result.table
    configured = dict(enumerate(params.vix_multipliers))
    print(f"\n{'estimator':<15} {'tier':<8} {'VIX':<6} {'spread bps':>10} {'95% interval':>16} "
          f"{'mult':>6} {'mult 95%':>14} {'config':>6} {'pairs':>9} {'stocks':>6} {'months':>6} "
          f"{'episodes':>8}")
    for row in table.itertuples():
        print(f"{row.estimator:<15} {row.tier:<8} {row.regime:<6} {row.spread_bps:>10.1f} "
              f"{row.spread_low_bps:>7.1f} .. {row.spread_high_bps:<6.1f} {row.multiplier:>6.2f} "
              f"{row.multiplier_low:>6.2f} .. {row.multiplier_high:<5.2f} "
              f"{configured[row.regime_index]:>6g} {row.pairs:>9,} {row.stocks:>6} "
              f"{row.months:>6} {row.episodes:>8}")
    stressed = table[(table["tier"] == "all") & (table["regime_index"] == 2)]
    print("\nStressed (VIX >= 30) over calm, all tiers, against the methodology's 2-3x and the "
          "configured 2.5x:")
    calm = table[(table["tier"] == "all") & (table["regime_index"] == 0)].set_index("estimator")
    for row in stressed.itertuples():
        verdict = claim_verdict(float(row.multiplier_low), float(row.multiplier_high))
        note = ""
        if not float(calm.loc[row.estimator, "spread_bps"]) > 0:
            note = (f" (no multiplier: the calm spread, "
                    f"{float(calm.loc[row.estimator, 'spread_bps']):.1f} bps, is not positive)")
        print(f"  {row.estimator}: {row.multiplier:.2f} ({row.multiplier_low:.2f} .. "
              f"{row.multiplier_high:.2f}), {row.episodes} episodes: 2-3x {verdict}{note}")


def vwap_profile(data: Path) -> None:
    path = data / LOBSTER
    bars = data / BARS / "AAPL.csv.gz"
    if not (path.is_file() and bars.is_file()):
        print("\nLOBSTER sample or AAPL bars absent: profile check skipped")
        return
    messages = pd.read_csv(path, header=None,
                           names=["time", "type", "order_id", "size", "price", "direction"])
    executed = int(messages.loc[messages["type"].isin([4, 5]), "size"].sum())
    seconds = float(messages["time"].iloc[-1] - 34200.0)
    day = pd.read_csv(bars, parse_dates=["date"], index_col="date").loc["2012-06-21"]
    expected = float(NYSE_HALF_HOUR_PROFILE[0]) * seconds / 1800.0
    measured = executed / float(day["volume"])
    print(f"\nVWAP profile, first {seconds:.1f} s of 2012-06-21 (AAPL):")
    print(f"  executed on NASDAQ (LOBSTER types 4 and 5): {executed:,} shares; consolidated "
          f"volume that day {day['volume']:,.0f}")
    print(f"  measured share of the day {100 * measured:.3f}%, the profile's first half hour "
          f"spread evenly {100 * expected:.3f}% (ratio {measured / expected:.2f}); NASDAQ "
          "alone, the opening seconds only: a format check more than a calibration")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("data", nargs="?", default="../shared/data")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tickers")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None, dest="json_file",
                        help="also write the calibration's JSON here (calibrate-costs --json)")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / BARS).is_dir() or not (data / VIX).is_file():
        print(f"data not found under {data}: skipped")
        return 0
    spreads(data, args.limit, args.bootstrap, args.json_file)
    vwap_profile(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
