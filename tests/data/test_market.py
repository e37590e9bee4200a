"""read_prices, read_vix, read_risk_free: layouts, columns, formats, gaps, jumps, bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from driftwise.data.market import read_prices, read_risk_free, read_vix
from driftwise.errors import DataError
from driftwise.flags import Flag

TODAY = "2024-06-28"

WIDE = """
    date,AAPL,msft
    2024-01-02,185.0,370.0
    2024-01-03,184.0,
    2024-01-04,,
    2024-01-05,,
"""
"""MSFT ends on 01-02 and AAPL on 01-03: trailing NaN only."""


# ---------------------------------------------------------------- happy paths


def test_long_csv_with_volume(write_csv):
    path = write_csv("p.csv", """
        date,ticker,close,volume
        2024-01-03,AAPL,184.25,58000000
        2024-01-02,aapl,185.64,82000000
        2024-01-03,MSFT,370.6,0
        2024-01-04,MSFT,367.94,20900000
    """)
    m = read_prices(path, today=TODAY)
    assert m.prices.index.tolist() == list(pd.to_datetime(["2024-01-02", "2024-01-03",
                                                           "2024-01-04"]))
    assert m.prices.index.name == "date" and m.prices.columns.name == "ticker"
    assert m.prices.columns.tolist() == ["AAPL", "MSFT"]
    assert m.prices.dtypes.eq(np.float64).all()
    assert m.prices.loc["2024-01-02", "AAPL"] == 185.64
    assert np.isnan(m.prices.loc["2024-01-02", "MSFT"])  # before MSFT's first price
    assert np.isnan(m.prices.loc["2024-01-04", "AAPL"])  # after AAPL's last price
    assert m.volumes is not None and m.volumes.shape == m.prices.shape
    assert m.volumes.loc["2024-01-03", "MSFT"] == 0.0  # zero volume kept
    assert m.source == str(path)


@pytest.mark.parametrize("column", ["adj_close", "adjusted_close"])
def test_long_adjusted_close_stands_in_for_close(write_csv, column):
    path = write_csv("p.csv", f"date,ticker,{column}\n2024-01-02,AAPL,1.5\n")
    assert read_prices(path, today=TODAY).prices.iloc[0, 0] == 1.5


@pytest.mark.parametrize("column", ["adj_close", "adjusted_close", "Adj Close", "adjusted close"])
@pytest.mark.parametrize("order", ["close first", "adjusted first"])
def test_adjusted_close_wins_over_close(write_csv, column, order):
    header = f"close,{column}" if order == "close first" else f"{column},close"
    row = "2.0,1.5" if order == "close first" else "1.5,2.0"
    path = write_csv("p.csv", f"date,ticker,{header}\n2024-01-02,AAPL,{row}\n")
    m = read_prices(path, today=TODAY)
    assert m.prices.iloc[0, 0] == 1.5  # dividends reinvested: the adjusted close
    used = [n.detail for n in m.notices if n.flag is Flag.PRICE_COLUMN]
    assert used == [f"prices from column '{column.lower()}' of {path}"]
    assert not [n for n in m.notices if n.flag is Flag.RAW_CLOSES]


def test_adjusted_close_wins_in_parquet(write_parquet):
    frame = pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "ticker": ["SPY", "SPY"],
                          "close": [470.0, 472.0], "adj_close": [450.0, 452.5]})
    m = read_prices(write_parquet("p.parquet", frame), today=TODAY)
    assert m.prices["SPY"].tolist() == [450.0, 452.5]
    assert any(n.flag is Flag.PRICE_COLUMN and "'adj_close'" in n.detail for n in m.notices)


def test_raw_closes_are_flagged(write_csv):
    path = write_csv("p.csv", "date,ticker,close\n2024-01-02,AAPL,2.0\n")
    m = read_prices(path, today=TODAY)
    raw = [n.detail for n in m.notices if n.flag is Flag.RAW_CLOSES]
    assert len(raw) == 1 and raw[0].startswith("raw closes: dividends not reinvested; returns "
                                               "and backtests understate total return")
    assert any(n.flag is Flag.PRICE_COLUMN and "'close'" in n.detail for n in m.notices)


def test_wide_file_names_its_columns(write_csv):
    path = write_csv("p.csv", "date,AAPL\n2024-01-02,1\n")
    m = read_prices(path, today=TODAY)
    assert [n.detail for n in m.notices if n.flag is Flag.PRICE_COLUMN] == [
        f"prices from the ticker columns of {path} (a wide file: each column is taken as "
        "adjusted closes)"]


def test_wide_csv_with_trailing_gaps(write_csv):
    m = read_prices(write_csv("p.csv", WIDE), today=TODAY)
    assert m.prices.columns.tolist() == ["AAPL", "MSFT"]
    assert m.prices["AAPL"].notna().tolist() == [True, True, False, False]
    assert m.volumes is None


def test_wide_gzip_csv(tmp_path):
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(b"date,SPY\n2024-01-02,472.65\n2024-01-03,468.79\n"))
    assert read_prices(path, today=TODAY).prices["SPY"].tolist() == [472.65, 468.79]


def test_long_and_wide_parquet_match_csv(write_csv, write_parquet):
    long = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"] * 2),
                         "ticker": ["AAPL", "AAPL", "MSFT", "MSFT"],
                         "close": [185.0, 184.0, 370.0, 371.0]})
    wide = long.pivot(index="date", columns="ticker", values="close").reset_index()
    a = read_prices(write_parquet("long.parquet", long), today=TODAY).prices
    b = read_prices(write_parquet("wide.parquet", wide), today=TODAY).prices
    c = read_prices(write_csv("wide.csv", wide.to_csv(index=False)), today=TODAY).prices
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_dataframe_with_date_index():
    frame = pd.DataFrame({"AAPL": [185.0, 184.0]},
                         index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    m = read_prices(frame, today=TODAY)
    assert m.prices["AAPL"].tolist() == [185.0, 184.0] and m.source == "<prices frame>"


def test_separate_wide_volume_file(write_csv):
    prices = write_csv("p.csv", WIDE)
    volumes = write_csv("v.csv", """
        date,AAPL,MSFT
        2023-12-29,1,1
        2024-01-02,82000000,25000000
        2024-01-03,58000000,
    """)
    m = read_prices(prices, volumes=volumes, today=TODAY)
    assert m.volumes is not None
    assert m.volumes.index.equals(m.prices.index) and m.volumes.columns.equals(m.prices.columns)
    assert m.volumes.loc["2024-01-02", "MSFT"] == 25_000_000.0
    assert np.isnan(m.volumes.loc["2024-01-05", "AAPL"])


def test_jump_detection_can_be_skipped(write_csv):
    path = write_csv("p.csv", "date,X\n2024-01-02,100\n2024-01-03,50\n")
    m = read_prices(path, today=TODAY, detect_jumps=False)
    assert m.prices["X"].iloc[-1] == 50.0 and m.jumps == ()
    assert read_prices(path, today=TODAY).jumps != ()


# ---------------------------------------------------------------- bad input


def test_missing_close_column(write_csv, located):
    path = write_csv("p.csv", "date,ticker,price\n2024-01-02,AAPL,1\n")
    with pytest.raises(DataError, match="missing column") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 1, "close")


def test_missing_date_column(write_csv, located):
    path = write_csv("p.csv", "day,AAPL\n2024-01-02,1\n")
    with pytest.raises(DataError, match="missing column") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 1, "date")


def test_price_not_a_number(write_csv, located):
    path = write_csv("p.csv", "date,AAPL\n2024-01-02,1\n2024-01-03,1.0.0\n")
    with pytest.raises(DataError, match="not a finite number") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 3, "aapl")


def test_blank_price_inside_life_wide(write_csv, located):
    path = write_csv("p.csv", "date,AAPL,MSFT\n2024-01-02,1,2\n2024-01-03,1,\n2024-01-04,1,2\n")
    with pytest.raises(DataError, match="missing price inside the history of MSFT") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 3, "MSFT")


def test_nan_price_inside_life_long(write_csv, located):
    path = write_csv("p.csv", """
        date,ticker,close
        2024-01-02,AAPL,1
        2024-01-03,AAPL,NaN
        2024-01-04,AAPL,1
    """)
    with pytest.raises(DataError, match="missing price inside the history of AAPL") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 3, "close")


def test_short_run_of_missing_rows_is_filled_and_flagged(write_csv):
    path = write_csv("p.csv", """
        date,ticker,close
        2024-01-02,AAPL,1
        2024-01-02,MSFT,2
        2024-01-03,MSFT,2
        2024-01-04,AAPL,1.02
        2024-01-04,MSFT,2
    """)
    market = read_prices(path, today=TODAY)
    assert market.prices.loc["2024-01-03", "AAPL"] == 1.0  # last close carried forward
    assert [n.flag for n in market.notices] == [Flag.PRICE_COLUMN, Flag.RAW_CLOSES,
                                                Flag.PRICE_GAP_FILLED]
    assert market.notices[2].tickers == ("AAPL",)


def test_long_run_of_missing_rows_is_an_error(write_csv, located):
    days = pd.bdate_range("2024-01-08", periods=10)  # Mon 8th .. Fri 19th (15th is a holiday)
    days = [d for d in days if d != pd.Timestamp("2024-01-15")]
    rows = ["date,ticker,close"] + [f"{d.date()},MSFT,2" for d in days]
    rows += [f"{days[0].date()},AAPL,1", f"{days[-1].date()},AAPL,1"]
    path = write_csv("p.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="missing price inside the history of AAPL") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, len(rows), "close")  # the row where AAPL's gap ends


@pytest.mark.parametrize("price", ["0", "-3.5"])
def test_price_not_positive(write_csv, located, price):
    path = write_csv("p.csv", f"date,AAPL\n2024-01-02,1\n2024-01-03,{price}\n")
    with pytest.raises(DataError, match="price must be positive") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 3, "AAPL")


def test_negative_volume(write_csv, located):
    path = write_csv("p.csv", """
        date,ticker,close,volume
        2024-01-02,AAPL,1,100
        2024-01-03,AAPL,1,-100
    """)
    with pytest.raises(DataError, match="negative volume") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 3, "volume")


def test_negative_volume_in_volume_file(write_csv, located):
    prices = write_csv("p.csv", "date,AAPL\n2024-01-02,1\n")
    volumes = write_csv("v.csv", "date,AAPL\n2024-01-02,-5\n")
    with pytest.raises(DataError, match="negative volume") as exc:
        read_prices(prices, volumes=volumes, today=TODAY)
    located(exc.value, volumes, 2, "AAPL")


def test_volume_given_twice(write_csv, located):
    path = write_csv("p.csv", "date,ticker,close,volume\n2024-01-02,AAPL,1,100\n")
    with pytest.raises(DataError, match="volume given twice") as exc:
        read_prices(path, volumes=path, today=TODAY)
    located(exc.value, path, 1, "volume")


def test_volume_for_unknown_ticker(write_csv, located):
    prices = write_csv("p.csv", "date,AAPL\n2024-01-02,1\n")
    volumes = write_csv("v.csv", "date,AAPL,MSFT\n2024-01-02,5,6\n")
    with pytest.raises(DataError, match="volume for a ticker without prices") as exc:
        read_prices(prices, volumes=volumes, today=TODAY)
    located(exc.value, volumes, 1, "MSFT")


def test_duplicate_date_wide(write_csv, located):
    path = write_csv("p.csv", "date,AAPL\n2024-01-02,1\n2024-01-03,1\n2024-01-02,1\n")
    with pytest.raises(DataError, match="duplicate date") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 4, "date")
    assert "first on row 2" in str(exc.value)


def test_duplicate_date_and_ticker_long(write_csv, located):
    path = write_csv("p.csv", """
        date,ticker,close
        2024-01-02,AAPL,1
        2024-01-02,MSFT,1
        2024-01-02,aapl,1
    """)
    with pytest.raises(DataError, match="duplicate date and ticker") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 4, "date")
    assert "AAPL" in str(exc.value) and "first on row 2" in str(exc.value)


def test_date_in_the_future(write_csv, located):
    path = write_csv("p.csv", "date,AAPL\n2024-06-28\n2024-07-01,1\n".replace("28\n", "28,1\n"))
    with pytest.raises(DataError, match="date in the future") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 3, "date")


@pytest.mark.parametrize(("day", "kind"), [("2024-01-06", "Saturday"), ("2024-06-19", "holiday")])
def test_non_session_date(write_csv, located, day, kind):
    path = write_csv("p.csv", f"date,ticker,close\n2024-01-02,AAPL,1\n{day},AAPL,1\n")
    with pytest.raises(DataError, match=f"not an NYSE trading day.*{kind}") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 3, "date")


def test_date_not_a_date(write_csv, located):
    path = write_csv("p.csv", "date,AAPL\n01/02/2024,1\n")
    with pytest.raises(DataError, match="not a date") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 2, "date")


@pytest.mark.parametrize(("before", "after", "label"),
                         [(100.0, 50.4, "2-for-1 split"), (30.0, 90.0, "1-for-3 reverse split"),
                          (90.0, 30.2, "3-for-1 split"), (10.0, 100.5, "1-for-10 reverse split"),
                          (80.0, 10.05, "8-for-1 split"), (90.0, 61.0, "3-for-2 split")])
def test_unadjusted_split_wide_is_flagged_with_file_row_ticker(write_csv, before, after, label):
    path = write_csv("p.csv", f"date,AAPL,X\n2024-01-02,5,{before}\n2024-01-03,5,{after}\n")
    m = read_prices(path, today=TODAY)  # reading flags; the plan and monitor refuse
    assert [(j.ticker, str(j.date.date()), j.row, j.field, j.file) for j in m.jumps] == [
        ("X", "2024-01-03", 3, "X", str(path))]
    assert label in m.jumps[0].detail
    flagged = [n for n in m.notices if n.flag is Flag.PRICE_JUMP]
    assert len(flagged) == 1 and flagged[0].tickers == ("X",)
    assert f"X on 2024-01-03: ×{after / before:.4f}" in flagged[0].detail


def test_unadjusted_split_long_names_the_close_column(write_csv):
    path = write_csv("p.csv", """
        date,ticker,close
        2024-01-02,MSFT,100
        2024-01-02,AAPL,400
        2024-01-03,AAPL,100
        2024-01-03,MSFT,100
    """)
    (jump,) = read_prices(path, today=TODAY).jumps
    assert (jump.ticker, jump.row, jump.field) == ("AAPL", 4, "close")
    assert "4-for-1 split" in jump.detail


def test_accepted_jump_is_not_suspect(write_csv):
    path = write_csv("p.csv", "date,AAPL,X\n2024-01-02,5,100\n2024-01-03,5,50.2\n")
    m = read_prices(path, today=TODAY, accept_jumps=["x:2024-01-03"])
    assert m.jumps == ()
    assert [n.tickers for n in m.notices if n.flag is Flag.PRICE_JUMP_ACCEPTED] == [("X",)]


def test_single_ticker_file_without_ticker_column(write_csv, located):
    path = write_csv("p.csv", "date,close\n2024-01-02,1\n")
    with pytest.raises(DataError, match="one ticker's file without a ticker column") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 1, "close")


def test_wide_column_not_a_ticker(write_csv, located):
    path = write_csv("p.csv", "date,AAPL,my price\n2024-01-02,1,2\n")
    with pytest.raises(DataError, match="not a valid ticker") as exc:
        read_prices(path, today=TODAY)
    located(exc.value, path, 1, "my price")


def test_header_only(write_csv):
    with pytest.raises(DataError, match="no data rows"):
        read_prices(write_csv("p.csv", "date,AAPL\n"), today=TODAY)


# ---------------------------------------------------------------- VIX and risk-free


def test_vix_cboe_layout_drops_holidays_with_notice(write_csv):
    path = write_csv("vix.csv", """
        DATE,OPEN,HIGH,LOW,CLOSE
        2024-07-05,12.1,12.5,11.9,12.48
        2024-07-03,12.2,12.4,12.0,12.22
        2024-07-04,12.3,12.3,12.1,12.2
    """)
    series, notes = read_vix(path, today=TODAY.replace("06-28", "07-31"))
    assert series.index.tolist() == list(pd.to_datetime(["2024-07-03", "2024-07-05"]))
    assert series.tolist() == [12.22, 12.48] and series.name == "vix"
    (note,) = notes
    assert note.flag is Flag.NON_SESSION_DROPPED and "2024-07-04" in note.detail


def test_vix_column_named_vix(write_csv):
    series, notes = read_vix(write_csv("v.csv", "Date,VIX\n2024-01-02,13.2\n"), today=TODAY)
    assert series.tolist() == [13.2] and notes == ()


def test_vix_missing_column(write_csv, located):
    path = write_csv("v.csv", "date,level\n2024-01-02,13\n")
    with pytest.raises(DataError, match="missing column") as exc:
        read_vix(path, today=TODAY)
    located(exc.value, path, 1, "close")


def test_vix_not_positive(write_csv, located):
    path = write_csv("v.csv", "date,close\n2024-01-02,13\n2024-01-03,0\n")
    with pytest.raises(DataError, match="VIX must be positive") as exc:
        read_vix(path, today=TODAY)
    located(exc.value, path, 3, "close")


def test_vix_blank_value(write_csv, located):
    path = write_csv("v.csv", "date,close\n2024-01-02,\n")
    with pytest.raises(DataError, match="missing value") as exc:
        read_vix(path, today=TODAY)
    located(exc.value, path, 2, "close")


def test_vix_duplicate_date(write_csv, located):
    path = write_csv("v.csv", "date,close\n2024-01-02,13\n2024-01-02,14\n")
    with pytest.raises(DataError, match="duplicate date") as exc:
        read_vix(path, today=TODAY)
    located(exc.value, path, 3, "date")


def test_vix_future_date(write_csv, located):
    path = write_csv("v.csv", "date,close\n2024-07-01,13\n")
    with pytest.raises(DataError, match="date in the future") as exc:
        read_vix(path, today=TODAY)
    located(exc.value, path, 2, "date")


def test_risk_free_happy(write_csv):
    path = write_csv("rf.csv", "date,rate_annual\n2024-01-03,0.0525\n2024-01-02,0.0526\n")
    series, notes = read_risk_free(path, today=TODAY)
    assert series.tolist() == [0.0526, 0.0525] and series.name == "risk_free_annual"
    assert notes == ()


def test_risk_free_in_percent(write_csv, located):
    path = write_csv("rf.csv", "date,rate_annual\n2024-01-02,0.05\n2024-01-03,5.25\n")
    with pytest.raises(DataError, match="looks like percent") as exc:
        read_risk_free(path, today=TODAY)
    located(exc.value, path, 3, "rate_annual")


def test_risk_free_duplicate_date(write_csv, located):
    path = write_csv("rf.csv", "date,rate_annual\n2024-01-02,0.05\n2024-01-02,0.05\n")
    with pytest.raises(DataError, match="duplicate date") as exc:
        read_risk_free(path, today=TODAY)
    located(exc.value, path, 3, "date")


def test_risk_free_future_date(write_csv, located):
    path = write_csv("rf.csv", "date,rate_annual\n2024-07-01,0.05\n")
    with pytest.raises(DataError, match="date in the future") as exc:
        read_risk_free(path, today=TODAY)
    located(exc.value, path, 2, "date")


# ---------------------------------------------------------------- real data


def _alphavantage_long(shared_data, ticker: str, close: str, tmp_path):
    raw = pd.read_csv(shared_data / "sp500-daily-ohlcv-alphavantage" / "daily" /
                      f"{ticker}.csv.gz")
    long = pd.DataFrame({"date": raw["date"], "ticker": ticker, "close": raw[close],
                         "volume": raw["volume"]})
    path = tmp_path / f"{ticker}_long.csv"
    long.to_csv(path, index=False)
    return path, raw


@pytest.mark.realdata
def test_real_aapl_adjusted_close(shared_data, tmp_path):
    path, raw = _alphavantage_long(shared_data, "AAPL", "adjusted_close", tmp_path)
    m = read_prices(path, today="2021-04-21")
    assert m.prices.shape == (len(raw), 1)
    assert m.prices.index[0] == pd.Timestamp("1999-11-01")
    crash = m.prices["AAPL"].pct_change().loc["2000-09-29"]
    assert -0.53 < crash < -0.51  # a real crash (ratio 0.48), not taken for a split
    assert "AAPL:2000-09-29" not in {j.key for j in m.jumps}
    assert m.volumes is not None and (m.volumes["AAPL"] >= 0).all()


@pytest.mark.realdata
def test_real_aapl_raw_close_is_caught_as_unadjusted(shared_data, tmp_path):
    path, _ = _alphavantage_long(shared_data, "AAPL", "close", tmp_path)
    m = read_prices(path, today="2021-04-21")
    split = [j for j in m.jumps if j.key == "AAPL:2005-02-28"]  # the 2-for-1 split
    assert len(split) == 1 and split[0].row == 1339 and split[0].field == "close"
    assert "2-for-1 split" in split[0].detail
    assert any(j.key == "AAPL:2020-08-31" and "4-for-1 split" in j.detail for j in m.jumps)
    assert any(n.flag is Flag.RAW_CLOSES for n in m.notices)


@pytest.mark.realdata
def test_real_trmb_adjustment_artefact_is_caught(shared_data, tmp_path):
    path, _ = _alphavantage_long(shared_data, "TRMB", "adjusted_close", tmp_path)
    m = read_prices(path, today="2021-04-21")
    (jump,) = [j for j in m.jumps if j.key == "TRMB:2007-02-23"]
    assert jump.ratio == pytest.approx(2.0) and jump.kind.value == "spike that reverses (typo)"
    assert not [j for j in m.jumps if j.key == "TRMB:2007-02-26"]  # the same event, once


@pytest.mark.realdata
def test_real_cboe_vix(shared_data):
    series, notes = read_vix(shared_data / "cboe-vix" / "vix-daily.csv", today="2026-07-23")
    (note,) = notes
    assert note.flag is Flag.NON_SESSION_DROPPED
    for holiday in ["2022-05-30", "2022-07-04", "2004-06-11"]:  # CBOE rows, NYSE closed
        assert pd.Timestamp(holiday) not in series.index
    assert series.index.is_monotonic_increasing and series.index.is_unique
    assert series.loc["2020-03-16"] == pytest.approx(82.69)
    assert series.min() == pytest.approx(9.14)


@pytest.mark.realdata
def test_real_etf_long_file_with_staggered_starts(shared_data):
    m = read_prices(shared_data / "us-etf-daily-yahoo" / "etf_daily.csv.gz", today="2025-09-26")
    assert m.prices.shape[1] == 21 and m.volumes is not None
    spy, bil = m.prices["SPY"], m.prices["BIL"]
    assert spy.first_valid_index() == pd.Timestamp("1993-01-29")
    assert bil.first_valid_index() == pd.Timestamp("2007-05-30")
    assert bil.loc[:"2007-05-29"].isna().all()  # NaN only before BIL's first price
    assert m.prices.index[-1] == pd.Timestamp("2025-09-26")


def test_tickers_named_like_ohlc_columns_are_tickers(write_csv):
    # LOW (Lowe's) and OPEN (Opendoor) are real tickers of a wide file
    path = write_csv("p.csv", "date,LOW,OPEN,AAPL\n2024-01-02,200,3,180\n2024-01-03,201,3.1,181\n")
    assert list(read_prices(path, today=TODAY).prices.columns) == ["AAPL", "LOW", "OPEN"]
