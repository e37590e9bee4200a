"""read_targets: asset and group levels, cash, bands, effective date, sums, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.data.model import TargetLevel
from driftwise.data.targets import read_targets
from driftwise.errors import DataError
from driftwise.flags import Flag

# ---------------------------------------------------------------- happy paths


def test_asset_level_with_cash_bands_and_date(write_csv):
    path = write_csv("t.csv", """
        ticker,target_weight,band_abs,band_rel,effective_date
        msft,0.3,0.02,,2024-01-02
        AAPL,0.5,,0.25,2024-01-02
        CASH,0.2,,,2024-01-02
    """)
    t = read_targets(path)
    assert t.level is TargetLevel.ASSET
    assert t.weights.to_dict() == {"AAPL": 0.5, "MSFT": 0.3}
    assert t.weights.index.name == "ticker"
    assert t.cash_weight == 0.2
    assert t.band_abs["MSFT"] == 0.02 and np.isnan(t.band_abs["AAPL"])
    assert t.band_rel["AAPL"] == 0.25 and np.isnan(t.band_rel["MSFT"])
    assert t.effective_date == pd.Timestamp("2024-01-02")
    assert t.notices == () and t.source == str(path)
    assert t.lines.to_dict() == {"AAPL": 3, "MSFT": 2}


def test_without_optional_columns(write_csv):
    t = read_targets(write_csv("t.csv", "ticker,target_weight\nAAPL,0.6\nMSFT,0.4\n"))
    assert t.cash_weight == 0.0 and t.effective_date is None
    assert t.band_abs.index.equals(t.weights.index) and t.band_abs.isna().all()


@pytest.mark.parametrize("level", ["sector", "asset_class"])
def test_group_level(write_csv, level):
    path = write_csv("t.csv", f"""
        {level},target_weight
        Information  Technology,0.6
        Energy,0.35
        cash,0.05
    """)
    t = read_targets(path)
    assert t.level is TargetLevel(level)
    assert t.weights.index.name == level
    assert t.weights.to_dict() == {"Energy": 0.35, "Information Technology": 0.6}
    assert t.cash_weight == 0.05


def test_float_noise_is_fixed_silently(write_csv):
    t = read_targets(write_csv("t.csv", "ticker,target_weight\nA,0.1\nB,0.2\nC,0.7\n"))
    assert t.notices == ()
    assert abs(t.weights.sum() - 1.0) < 1e-15


def test_small_gap_is_rescaled_with_a_notice(write_csv):
    t = read_targets(write_csv("t.csv", "ticker,target_weight\nA,0.5\nB,0.45\nCASH,0.04995\n"))
    (note,) = t.notices
    assert note.flag is Flag.TARGETS_RESCALED and "0.99995" in note.detail
    total = 0.5 + 0.45 + 0.04995
    assert t.weights["A"] == pytest.approx(0.5 / total, rel=1e-15)
    assert t.cash_weight == pytest.approx(0.04995 / total, rel=1e-15)
    assert t.weights.sum() + t.cash_weight == pytest.approx(1.0, abs=1e-15)


def test_long_short_allows_negative_weights(write_csv):
    t = read_targets(write_csv("t.csv", "ticker,target_weight\nA,1.3\nB,-0.3\n"), long_only=False)
    assert t.weights.to_dict() == {"A": 1.3, "B": -0.3}


def test_parquet_source(write_parquet):
    frame = pd.DataFrame({"ticker": ["A", "B"], "target_weight": [0.25, 0.75]})
    t = read_targets(write_parquet("t.parquet", frame))
    assert t.weights.to_dict() == {"A": 0.25, "B": 0.75}


# ---------------------------------------------------------------- bad input


def test_no_key_column(write_csv, located):
    path = write_csv("t.csv", "symbol,target_weight\nA,1\n")
    with pytest.raises(DataError, match="missing key column") as exc:
        read_targets(path)
    located(exc.value, path, 1, "ticker, sector, asset_class")


def test_two_key_columns(write_csv, located):
    path = write_csv("t.csv", "ticker,sector,target_weight\nA,Energy,1\n")
    with pytest.raises(DataError, match="more than one key column") as exc:
        read_targets(path)
    located(exc.value, path, 1, "ticker, sector")


def test_missing_weight_column(write_csv, located):
    path = write_csv("t.csv", "ticker,weight\nA,1\n")
    with pytest.raises(DataError, match="missing column") as exc:
        read_targets(path)
    located(exc.value, path, 1, "target_weight")


def test_weight_not_a_number(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,0.5\nB,half\n")
    with pytest.raises(DataError, match="not a finite number") as exc:
        read_targets(path)
    located(exc.value, path, 3, "target_weight")


def test_blank_weight(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,0.5\nB,\n")
    with pytest.raises(DataError, match="missing value") as exc:
        read_targets(path)
    located(exc.value, path, 3, "target_weight")


def test_duplicate_ticker(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,0.5\nB,0.25\na,0.25\n")
    with pytest.raises(DataError, match="duplicate ticker") as exc:
        read_targets(path)
    located(exc.value, path, 4, "ticker")
    assert "first on row 2" in str(exc.value)


def test_duplicate_sector_in_another_case(write_csv, located):
    path = write_csv("t.csv", "sector,target_weight\nEnergy,0.5\nENERGY,0.5\n")
    with pytest.raises(DataError, match="duplicate sector") as exc:
        read_targets(path)
    located(exc.value, path, 3, "sector")


def test_duplicate_cash_row(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,0.8\nCASH,0.1\ncash,0.1\n")
    with pytest.raises(DataError, match="duplicate ticker") as exc:
        read_targets(path)
    located(exc.value, path, 4, "ticker")


def test_negative_weight_long_only(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,1.1\nB,-0.1\n")
    with pytest.raises(DataError, match="negative target weight") as exc:
        read_targets(path)
    located(exc.value, path, 3, "target_weight")


def test_weight_above_one_long_only(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,0.5\nB,1.5\n")
    with pytest.raises(DataError, match="above 1") as exc:
        read_targets(path)
    located(exc.value, path, 3, "target_weight")


def test_sum_not_one(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,0.5\nB,0.4\nCASH,0.05\n")
    with pytest.raises(DataError, match="do not sum to 1") as exc:
        read_targets(path)
    located(exc.value, path, 4, "target_weight")
    assert "sum of 0.95" in str(exc.value)


def test_weights_as_percentages(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA,60\nB,39.99\n")
    with pytest.raises(DataError, match="weights look like percentages; give fractions") as exc:
        read_targets(path)
    located(exc.value, path, 3, "target_weight")


def test_negative_band(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight,band_rel\nA,0.5,0.2\nB,0.5,-0.2\n")
    with pytest.raises(DataError, match="negative band") as exc:
        read_targets(path)
    located(exc.value, path, 3, "band_rel")


def test_band_on_cash_row(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight,band_abs\nA,0.9,0.05\nCASH,0.1,0.05\n")
    with pytest.raises(DataError, match="band on the CASH row") as exc:
        read_targets(path)
    located(exc.value, path, 3, "band_abs")


def test_two_effective_dates(write_csv, located):
    path = write_csv("t.csv", """
        ticker,target_weight,effective_date
        A,0.5,2024-01-02
        B,0.5,2024-02-01
    """)
    with pytest.raises(DataError, match="one date for the whole file") as exc:
        read_targets(path)
    located(exc.value, path, 3, "effective_date")


def test_effective_date_blank_on_some_rows(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight,effective_date\nA,0.5,\nB,0.5,2024-01-02\n")
    with pytest.raises(DataError, match="one date for the whole file") as exc:
        read_targets(path)
    located(exc.value, path, 2, "effective_date")


def test_invalid_ticker(write_csv, located):
    path = write_csv("t.csv", "ticker,target_weight\nA B,1\n")
    with pytest.raises(DataError, match="not a valid ticker") as exc:
        read_targets(path)
    located(exc.value, path, 2, "ticker")


# ---------------------------------------------------------------- properties


@given(raw=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30),
       cash=st.floats(min_value=0.0, max_value=1.0),
       gap=st.floats(min_value=-9e-5, max_value=9e-5))
def test_any_nearly_summing_allocation_is_read_summing_to_one(tmp_path_factory, raw, cash, gap):
    total = sum(raw) + cash
    if total <= 0:
        return
    weights = [w / total * (1 + gap) for w in raw]
    cash_weight = cash / total * (1 + gap)
    path = tmp_path_factory.mktemp("t") / "t.csv"
    rows = [f"T{i},{w!r}" for i, w in enumerate(weights)]
    path.write_text("ticker,target_weight\n" + "\n".join([*rows, f"CASH,{cash_weight!r}"]))
    t = read_targets(path)
    assert t.weights.sum() + t.cash_weight == pytest.approx(1.0, abs=1e-12)
    scale = sum(weights) + cash_weight  # oracle: each weight divided by the file's sum
    for i, w in enumerate(weights):
        assert t.weights[f"T{i}"] == pytest.approx(w / scale, rel=1e-12, abs=1e-300)
