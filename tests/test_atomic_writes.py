"""Writes are atomic: a failed write leaves the old file whole, and nothing is rounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise._atomic import atomic_path, write_text
from driftwise.config import Config
from driftwise.costs.params import CostParams
from driftwise.data.holdings import read_holdings, write_holdings
from driftwise.data.model import Holdings


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = write_text(tmp_path / "plan.json", "old\n")
    with pytest.raises(RuntimeError), atomic_path(out) as temp:
        temp.write_text("half a new fi", encoding="utf-8")
        raise RuntimeError("stopped mid-write")
    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_the_temporary_file_keeps_the_suffix(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, 2.5]})
    with atomic_path(tmp_path / "sub" / "t.parquet") as temp:
        assert temp.name.endswith(".parquet") and temp.parent == tmp_path / "sub"
        frame.to_parquet(temp)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "sub" / "t.parquet"), frame)


def test_holdings_round_trip_without_losing_a_cent_or_a_share(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    shares = pd.Series(rng.uniform(0, 1e6, 6).round(6), index=list("ABCDEF"))
    held = Holdings(shares=shares, cash_usd=123_456_789.12)  # 11 significant digits
    back = read_holdings(write_holdings(held, tmp_path / "h.csv"))
    assert back.cash_usd == 123_456_789.12
    pd.testing.assert_series_equal(back.shares.reindex(shares.index), shares,
                                   check_names=False, rtol=0, atol=0)


def test_default_borrow_fee_is_one_number() -> None:
    assert Config().costs.borrow_bps_annual == CostParams().default_borrow_bps_annual
