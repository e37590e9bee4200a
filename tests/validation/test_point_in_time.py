"""Point-in-time portfolios of the study: the sample's random draws read nothing after the
window's first day, and a stock that stops trading is sold at its last price."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import driftwise.data.sample as sample_module
from driftwise.data.model import MarketData
from driftwise.data.sample import load_sample_market
from driftwise.validation.study import (
    STUDY_MIN_HISTORY_DAYS,
    PortfolioSpec,
    eligible_sample,
    study_portfolios,
)

SAMPLE_TICKERS = sorted(str(t) for t in load_sample_market().prices.columns)


def test_the_whole_sample_is_eligible_on_its_first_day() -> None:
    assert eligible_sample(None) == SAMPLE_TICKERS


def test_moves_before_the_first_day_exclude_a_stock_later_ones_do_not() -> None:
    # the sample's prices move beyond 50% in a day on RRC 1990-04-10 and 1998-10-19, AAPL
    # 2000-09-29 and AMD 2016-04-22: recomputed here from the prices
    prices = load_sample_market().prices
    moves = (prices / prices.shift(1) - 1.0).abs()
    big = {str(t): [d for d in moves.index[moves[t] > 0.5]] for t in prices.columns}
    for day in ("1995-01-03", "2000-09-28", "2000-10-02", "2016-04-21", "2016-04-25"):
        on = pd.Timestamp(day)
        expected = sorted(t for t in SAMPLE_TICKERS if not any(d <= on for d in big[t]))
        assert eligible_sample(day) == expected, day
    assert "AAPL" in eligible_sample("2000-09-28") and "AAPL" not in eligible_sample("2000-10-02")


def test_history_before_the_first_day_is_required() -> None:
    prices = load_sample_market().prices
    second = str(prices.index[1].date())  # two sessions of history: all the sample has
    assert eligible_sample(second) == SAMPLE_TICKERS
    assert STUDY_MIN_HISTORY_DAYS > 2


def _planted(after: pd.Timestamp) -> MarketData:
    """The sample with a crash of MSFT (-95%) and an end of trading of KO after ``after``."""
    market = load_sample_market()
    prices = market.prices.copy()
    later = prices.index > after
    prices.loc[later, "MSFT"] *= 0.05
    prices.loc[prices.index > after + pd.Timedelta(days=30), "KO"] = np.nan
    return dataclasses.replace(market, prices=prices)


@pytest.mark.parametrize("start", ["1995-06-01", "2008-01-02", "2018-01-02"])
def test_a_planted_future_crash_or_stop_changes_no_draw(
        start: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = study_portfolios("sample", None, 6, 3, start, None)
    pool = eligible_sample(start)
    planted = _planted(pd.Timestamp(start))
    monkeypatch.setattr(sample_module, "load_sample_market", lambda: planted)
    assert eligible_sample(start) == pool
    assert study_portfolios("sample", None, 6, 3, start, None) == clean
    assert all(set(p.tickers) <= set(pool) for p in clean[1:])
    assert all(p.as_of == start for p in clean[1:])
    # the filter sees the crash once it is in the past
    assert "MSFT" not in eligible_sample(str((pd.Timestamp(start) + pd.Timedelta(days=10))
                                             .date()))


def test_the_sample_draws_carry_the_survivorship_caveat() -> None:
    from types import SimpleNamespace

    from driftwise.validation.output import caveats

    costs = SimpleNamespace(vix_multipliers=(1.0, 1.5, 2.5))
    drawn = SimpleNamespace(  # the fields caveats reads
        portfolios=[PortfolioSpec("sample"),
                    PortfolioSpec("sample random 1", "sample", ("AAPL", "KO"))],
        notices=(), settings=SimpleNamespace(model=SimpleNamespace(costs=costs)))
    text = " ".join(caveats(drawn))  # type: ignore[arg-type]
    assert "Survivorship bias of the sample" in text and "point in time" in text
    alone = SimpleNamespace(**{**vars(drawn), "portfolios": [PortfolioSpec("sample")]})
    assert "Survivorship bias of the sample" not in " ".join(caveats(alone))  # type: ignore[arg-type]
