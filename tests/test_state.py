"""build_state: universe, cross-file checks, default and group targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.data.holdings import read_holdings
from driftwise.data.master import read_security_master
from driftwise.data.model import DefaultTarget, MarketData, TargetLevel
from driftwise.data.targets import read_targets
from driftwise.errors import DataError
from driftwise.flags import Flag
from driftwise.state import build_state, reindexed

DATES = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"], name="date")


def market(**columns: list[float]) -> MarketData:
    return MarketData(prices=pd.DataFrame(columns, index=DATES), source="prices.csv")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_three_asset_state_by_hand(tmp_path: Path) -> None:
    # A: 10 sh x 50 = 500, B: 20 sh x 10 = 200, C unheld (target only), cash 300 -> NAV 1000
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares,market_value_usd\n"
                                   "A,10,\nB,20,\nCASH,,300\n"))
    targets = read_targets(write(tmp_path, "t.csv", "ticker,target_weight\n"
                                 "A,0.4\nB,0.3\nC,0.2\nCASH,0.1\n"))
    state = build_state(holdings, targets, market(A=[40, 45, 50], B=[10, 10, 10], C=[5, 5, 5]))
    assert list(state.tickers) == ["A", "B", "C"]
    assert state.nav_usd == pytest.approx(1000.0)
    np.testing.assert_allclose(state.weights, [0.5, 0.2, 0.0])
    np.testing.assert_allclose(state.target_weights, [0.4, 0.3, 0.2])
    assert state.cash_weight == pytest.approx(0.3)
    assert state.target_cash_weight == pytest.approx(0.1)


def test_unknown_held_ticker_names_file_row_and_field(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\nZZZ,5\n"))
    with pytest.raises(DataError) as err:
        build_state(holdings, None, market(A=[1, 1, 1]))
    text = str(err.value)
    assert "h.csv" in text and "row 3" in text and "'ticker'" in text and "ZZZ" in text
    assert "unknown ticker" in text


def test_unknown_target_ticker(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\n"))
    targets = read_targets(write(tmp_path, "t.csv", "ticker,target_weight\nA,0.5\nQQQQ,0.5\n"))
    with pytest.raises(DataError, match=r"t\.csv, row 3, field 'ticker'.*unknown ticker"):
        build_state(holdings, targets, market(A=[1, 1, 1]))


def test_held_ticker_without_price_on_as_of_is_valued_at_its_last_close_and_flagged(
        tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\nB,2\n"))
    state = build_state(holdings, None, market(A=[1, 1, 1], B=[2, 3, np.nan]))
    # B is valued at its last close (3 on 2024-01-03): NAV = 1 + 2 x 3
    assert state.nav_usd == pytest.approx(7.0)
    np.testing.assert_array_equal(state.prices_usd, [1.0, 3.0])
    np.testing.assert_array_equal(state.frozen, [False, True])
    assert state.no_price_since["B"] == pd.Timestamp("2024-01-03")
    flagged = [n for n in state.notices if n.flag is Flag.NO_PRICE_TODAY]
    assert len(flagged) == 1 and flagged[0].tickers == ("B",)
    assert "delisted or suspended: no price since 2024-01-03, not traded" in flagged[0].detail
    # no price on or before the as-of date at all stays an error
    with pytest.raises(DataError) as err:
        build_state(holdings, None, market(A=[1, 1, 1], B=[np.nan, np.nan, 2]),
                    as_of="2024-01-03")
    text = str(err.value)
    assert "h.csv, row 3, field 'ticker'" in text and "no earlier price" in text
    # so does a target ticker that is not held and has no price that day
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\n"))
    targets = read_targets(write(tmp_path, "t.csv", "ticker,target_weight\nA,0.5\nB,0.5\n"))
    with pytest.raises(DataError, match=r"t\.csv, row 3, field 'ticker'.*last price on 2024-01-03"):
        build_state(holdings, targets, market(A=[1, 1, 1], B=[2, 2, np.nan]))


def test_held_ticker_missing_from_targets_is_flagged_by_name(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\nB,2\nC,3\n"))
    targets = read_targets(write(tmp_path, "t.csv", "ticker,target_weight\nA,1.0\n"))
    state = build_state(holdings, targets, market(A=[1, 1, 1], B=[2, 2, 2], C=[1, 1, 1]))
    np.testing.assert_array_equal(state.target_weights, [1.0, 0.0, 0.0])
    flagged = [n for n in state.notices if n.flag is Flag.NOT_IN_TARGETS]
    assert len(flagged) == 1 and flagged[0].tickers == ("B", "C")
    assert "held but not in the targets" in flagged[0].detail
    assert "sold to zero" in flagged[0].detail
    # every held ticker in the targets: no flag
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\n"))
    targets = read_targets(write(tmp_path, "t.csv", "ticker,target_weight\nA,0.5\nB,0.5\n"))
    state = build_state(holdings, targets, market(A=[1, 1, 1], B=[2, 2, 2]))
    assert not [n for n in state.notices if n.flag is Flag.NOT_IN_TARGETS]


def test_as_of_not_in_prices(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\n"))
    with pytest.raises(DataError, match="as-of date has no prices"):
        build_state(holdings, None, market(A=[1, 1, 1]), as_of="2024-01-06")


def test_missing_target_is_equal_weight_and_flagged(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\nB,3\n"))
    state = build_state(holdings, None, market(A=[1, 1, 1], B=[1, 1, 1]))
    np.testing.assert_allclose(state.target_weights, [0.5, 0.5])
    assert any(n.flag is Flag.NO_TARGET for n in state.notices)


def test_market_cap_default_target(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,1\nB,3\n"))
    master = read_security_master(write(tmp_path, "m.csv", "ticker,market_cap_usd\nA,3e9\nB,1e9\n"))
    state = build_state(holdings, None, market(A=[1, 1, 1], B=[1, 1, 1]), master,
                        default_target=DefaultTarget.MARKET_CAP)
    np.testing.assert_allclose(state.target_weights, [0.75, 0.25])


def test_group_targets_split_pro_rata_and_flagged(tmp_path: Path) -> None:
    # sector X holds A (300) and B (100): target 0.6 splits 0.45 / 0.15; sector Y has C only
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares\nA,3\nB,1\nC,6\n"))
    master = read_security_master(write(tmp_path, "m.csv", "ticker,sector\nA,X\nB,X\nC,Y\n"))
    targets = read_targets(write(tmp_path, "t.csv", "sector,target_weight\nX,0.6\nY,0.4\n"))
    state = build_state(holdings, targets, market(A=[100] * 3, B=[100] * 3, C=[100] * 3), master)
    assert state.target_level is TargetLevel.SECTOR
    np.testing.assert_allclose(state.target_weights, [0.45, 0.15, 0.4])
    assert any(n.flag is Flag.GROUP_TARGET for n in state.notices)


def test_short_position_flagged(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares,market_value_usd\n"
                                   "A,-1,\nB,2,\nCASH,,10\n"))
    state = build_state(holdings, None, market(A=[1, 1, 1], B=[1, 1, 1]))
    assert any(n.flag is Flag.SHORT_POSITION and n.tickers == ("A",) for n in state.notices)
    assert state.weights[0] < 0


def test_non_positive_nav_is_an_error(tmp_path: Path) -> None:
    holdings = read_holdings(write(tmp_path, "h.csv", "ticker,shares,market_value_usd\n"
                                   "A,-10,\nCASH,,5\n"))
    with pytest.raises(DataError, match="portfolio value is not positive"):
        build_state(holdings, None, market(A=[1, 1, 1]))


_LABELS = st.sampled_from(["A", "B", "C", "D", "E", "F", "G"])


@settings(max_examples=80, deadline=None)
@given(keys=st.lists(_LABELS, max_size=8),
       values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                 st.just(-0.0)), min_size=8, max_size=8),
       wanted=st.lists(_LABELS, unique=True, max_size=7),
       fill=st.sampled_from([0.0, float("nan")]),
       kind=st.sampled_from(["float64", "object", "str-index"]))
def test_reindexed_equals_a_pandas_reindex(keys: list[str], values: list[float],
                                           wanted: list[str], fill: float,
                                           kind: str) -> None:
    """``reindexed`` (the state's alignment of holdings, targets and bands) gives
    ``series.reindex(tickers, fill_value=fill).to_numpy(float64)`` to the bit (signed
    zeros and NaN included), and raises as the reindex does on repeated labels."""
    series = pd.Series(values[:len(keys)], index=pd.Index(
        keys, dtype="str" if kind == "str-index" else object),
        dtype=object if kind == "object" else np.float64)
    tickers = pd.Index(sorted(wanted), name="ticker")
    try:
        want = (series.reindex(tickers) if np.isnan(fill)
                else series.reindex(tickers, fill_value=fill)).to_numpy(dtype=np.float64)
    except ValueError as refused:  # repeated labels
        with pytest.raises(ValueError, match=str(refused)[:20]):
            reindexed(series, tickers, tickers.tolist(), fill)
        return
    got = reindexed(series, tickers, tickers.tolist(), fill)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want, strict=True)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
