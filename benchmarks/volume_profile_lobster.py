"""The VWAP schedule's intraday volume profile against the LOBSTER AAPL sample.

Reads the sample's message file (``../shared/data/lobster-aapl-2012-06-21-sample``),
sums its executions (visible, hidden, cross) in the schedule's equal clock buckets
(``--buckets``, 13 half hours by default), and prints, per bucket, the profile the
schedule uses beside what the file measures: the seconds covered, the executed shares,
their share of the day's consolidated volume (AAPL's 2012-06-21 volume from the daily
file) against the schedule's share for the covered seconds, and, when the file covers
the whole session, the measured profile and the largest absolute difference. Prints the
CPU time and the load average.

    .venv/bin/python benchmarks/volume_profile_lobster.py
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import pandas as pd

from driftwise.execution.intraday import (
    compare_profile,
    max_abs_difference,
    measure_profile,
    read_lobster_messages,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MESSAGES = (DATA / "lobster-aapl-2012-06-21-sample"
            / "AAPL_2012-06-21_34200000_57600000_message_10.csv")
DAILY = DATA / "sp500-daily-ohlcv-alphavantage" / "daily" / "AAPL.csv.gz"
DAY = "2012-06-21"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=13)
    args = parser.parse_args()
    if not MESSAGES.is_file():
        raise SystemExit(f"the LOBSTER sample is not at {MESSAGES}")
    began, cpu = time.perf_counter(), time.process_time()
    msgs = read_lobster_messages(MESSAGES)
    daily = pd.read_csv(DAILY)
    day_volume = float(daily.loc[daily["date"] == DAY, "volume"].iloc[0])
    measured = measure_profile(msgs, args.buckets)
    table = compare_profile(measured, day_volume=day_volume)
    wall, used = time.perf_counter() - began, time.process_time() - cpu
    print(f"{len(msgs)} messages, {msgs['time'].min():.3f} .. {msgs['time'].max():.3f} s after "
          f"midnight; AAPL {DAY} consolidated volume {day_volume:,.0f} shares")
    shown = table.assign(
        schedule_share=lambda t: t["schedule_share"].map(lambda x: f"{100 * x:.1f}%"),
        covered_s=lambda t: t["covered_s"].map(lambda x: f"{x:.1f}"),
        coverage=lambda t: t["coverage"].map(lambda x: f"{100 * x:.1f}%"),
        measured_share=lambda t: t["measured_share"].map(
            lambda x: "-" if math.isnan(x) else f"{100 * x:.1f}%"),
        measured_share_of_day=lambda t: t["measured_share_of_day"].map(
            lambda x: "-" if math.isnan(x) else f"{100 * x:.3f}%"),
        schedule_share_covered=lambda t: t["schedule_share_covered"].map(
            lambda x: f"{100 * x:.3f}%")).drop(columns="abs_difference")
    print(shown.to_string(index=False))
    worst = max_abs_difference(table)
    print("max |measured - schedule| over buckets: "
          + ("not measurable (the file does not cover the session)" if math.isnan(worst)
             else f"{100 * worst:.2f} percentage points"))
    print(f"wall {wall:.3f} s, CPU {used:.3f} s, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
