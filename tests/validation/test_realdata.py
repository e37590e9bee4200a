"""A small random-portfolio study on the real 504-stock data (skipped without it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwise.config.assemble import study_settings
from driftwise.validation.output import caveats
from driftwise.validation.study import (
    PortfolioSpec,
    eligible_sp500,
    load_portfolio,
    random_portfolios,
    run_study,
)

pytestmark = pytest.mark.realdata
WINDOW = ("2015-01-02", "2017-12-29")


def test_sp500_random_portfolios_end_to_end(shared_data: Path) -> None:
    pool = eligible_sp500(shared_data, WINDOW[0])
    assert len(pool) > 300
    assert "BF.B" not in pool  # its source file holds an API error
    specs = random_portfolios(pool, 2, seed=3, universe="sp500", data_dir=str(shared_data))
    settings = study_settings(workers=2, chunks=2, start=WINDOW[0], end=WINDOW[1],
                              bootstrap_samples=50)
    result = run_study(specs, settings)
    assert result.rules["rule"].tolist() == ["Rule 1", "Rule 2", "Rule 3", "Rule 4"]
    assert result.n_paths > 40
    assert len(result.falsification) == 2 * 4 * 2  # portfolios x cost settings x calendars
    assert result.rules["n_events"].sum() > 0
    said = " ".join(caveats(result))
    assert "drawn point in time" in said and "clean, complete prices over the window" not in said


def test_sp500_volumes_give_dollar_adv(shared_data: Path) -> None:
    spec = PortfolioSpec("aapl", "sp500", ("AAPL", "MSFT"), str(shared_data))
    settings = study_settings(start="2020-06-01", end="2020-12-31")
    inputs, portfolio = load_portfolio(spec, settings)
    assert inputs.market.volumes is not None
    raw = inputs.market.volumes.loc["2020-08-28", "AAPL"] * inputs.market.prices.loc[
        "2020-08-28", "AAPL"]
    # AAPL split 4:1 on 2020-08-31: dollar volume is unaffected by the adjustment
    assert 1e9 < raw < 1e11
    assert np.isfinite(portfolio.history.vix).all()
