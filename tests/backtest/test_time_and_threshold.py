"""The time-and-threshold rule in the backtest: it trades exactly on the review days whose
drift reaches the threshold, and the engine equals the reference simulator."""

from __future__ import annotations

import numpy as np

from driftwise.app.reference import run_reference
from driftwise.calendar import nyse_sessions
from driftwise.config import Config
from driftwise.config import policies as pol
from driftwise.config.assemble import backtest_configs

from .conftest import day_by_day
from .test_engine import _assert_identical
from .test_reference import DAYS, SYNTHETIC, assert_same

FRACTIONAL = Config().with_overrides({"constraints.whole_shares": False,
                                      "constraints.min_trade_usd": 0.0,
                                      "policy.frequency": "month"})
START, END = DAYS[2], DAYS[-1]


def _first_sessions_of_the_month(dates: np.ndarray) -> np.ndarray:
    """An NYSE session whose previous NYSE session lies in another month."""
    sessions = nyse_sessions("2018-12-01", str(np.datetime_as_string(dates[-1], unit="D")))
    month = sessions.year * 12 + sessions.month
    first = sessions[1:][np.diff(month) != 0]
    return np.isin(dates.astype("datetime64[D]"), first.to_numpy().astype("datetime64[D]"))


def test_trades_on_review_days_with_drift_at_or_above_the_threshold() -> None:
    h = 0.03
    configs = [pol.named("time-and-threshold", h, base=FRACTIONAL),
               pol.monthly(base=FRACTIONAL), pol.threshold(h, base=FRACTIONAL)]
    result = backtest_configs(SYNTHETIC, configs, start=START, end=END)
    review = _first_sessions_of_the_month(result.dates.to_numpy())
    review[0] = False  # a calendar rule never fires on the first day of the window
    expected = review & (result.drift[:, 0] >= h)
    assert expected.sum() >= 3 and (review & ~expected).any()  # both outcomes happen
    np.testing.assert_array_equal(result.rebalanced[:, 0], expected)
    n = result.rebalanced.sum(axis=0)
    assert n[0] < n[1] and n[0] < n[2]
    assert result.names[0] == "monthly review, threshold 3%"


def test_engine_equals_reference_and_blocks_equal_day_by_day() -> None:
    configs = [pol.named("time-and-threshold", 0.015, destination="half", stress_delay=True,
                         base=Config().with_overrides({"policy.frequency": "month",
                                                       "policy.delay_days": 3,
                                                       "policy.max_delay_days": 6})),
               pol.named("time-and-threshold", 0.01, base=FRACTIONAL)]
    start, end = DAYS[120], DAYS[230]
    engine = backtest_configs(SYNTHETIC, configs, start=start, end=end)
    assert engine.rebalanced.any(axis=0).all()
    for i, config in enumerate(configs):
        assert_same(engine, i, run_reference(SYNTHETIC, config, start=start, end=end))
    _assert_identical(engine, day_by_day(SYNTHETIC, configs, start=start, end=end))
