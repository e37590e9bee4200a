"""``validate-rules --vix``: the VIX file replaces the universe's own VIX."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from driftwise.flags import Flag
from driftwise.validation.study import PortfolioSpec, _inputs


def test_vix_file_replaces_the_sample_vix(tmp_path: Path) -> None:
    path = tmp_path / "vix.csv"
    path.write_text("date,close\n2020-03-16,82.69\n2020-03-17,75.91\n")
    own = _inputs(PortfolioSpec("sample"))
    given = _inputs(PortfolioSpec("sample", vix_file=str(path)))
    assert own.market.vix is not None and len(own.market.vix) > 2
    assert given.market.vix is not None
    assert given.market.vix.to_dict() == {pd.Timestamp("2020-03-16"): 82.69,
                                          pd.Timestamp("2020-03-17"): 75.91}
    assert not any(n.flag is Flag.VIX_PROXY for n in given.market.notices)
