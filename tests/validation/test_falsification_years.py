"""The falsification criterion by calendar year: each portfolio's years and the pooled
verdict, recomputed from their definitions."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.backtest.falsification import yearly_cells
from driftwise.validation.output import falsification_pooled_display
from driftwise.validation.stats import (
    POOLED_UNDECIDED,
    falsification_pooled,
    pooled_verdict,
    t_critical,
)

GAMMA = 2.0


def fake_result(seed: int = 0, n_days: int = 700) -> SimpleNamespace:
    """Two rules and a reference over business days from 2018-06-01 (a partial first
    year of about 150 days, 2019, 2020, and a partial last year)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-06-01", periods=n_days)
    ref = 100.0 * np.cumprod(1.0 + rng.normal(0.0003, 0.01, n_days))
    nav = np.column_stack([ref * np.cumprod(1.0 + rng.normal(0.0, s, n_days))
                           for s in (0.001, 0.003)])
    cost = rng.uniform(0.0, 0.02, (n_days, 2)) * (rng.random((n_days, 2)) < 0.05)
    zeros = np.zeros((n_days, 2))
    return SimpleNamespace(names=["thr", "cal"], dates=dates, nav_usd=nav, ref_nav_usd=ref,
                           cost_usd=cost, traded_usd=zeros, rebalanced=zeros, drift=zeros,
                           risk_free_annual=np.zeros(n_days))


def test_cells_follow_the_definitions_year_by_year() -> None:
    r = fake_result()
    cells = yearly_cells(r, "thr", "cal", tracking_aversion=GAMMA)
    year = r.dates.year.to_numpy()
    expected_years = [y for y in np.unique(year[1:]) if (year[1:] == y).sum() >= 126]
    assert cells["years"] == expected_years and len(expected_years) >= 3
    for y, d, e in zip(cells["years"], cells["te_diff"], cells["excess"], strict=True):
        te, cost = [], []
        for c in (0, 1):  # plain loops over the year's days
            act = [r.nav_usd[t, c] / r.nav_usd[t - 1, c] - r.ref_nav_usd[t] / r.ref_nav_usd[t - 1]
                   for t in range(1, len(r.dates)) if r.dates[t].year == y]
            te.append(float(np.std(act, ddof=1) * math.sqrt(252.0)))
            cost.append(252.0 * float(np.mean(
                [r.cost_usd[t, c] / r.nav_usd[t, c] for t in range(1, len(r.dates))
                 if r.dates[t].year == y])))
        assert d == pytest.approx(te[0] - te[1], rel=1e-12, abs=1e-15)
        assert e == pytest.approx((cost[0] - cost[1]) - GAMMA / 2 * (te[1] ** 2 - te[0] ** 2),
                                  rel=1e-10, abs=1e-15)


def test_a_short_year_is_left_out() -> None:
    r = fake_result(n_days=300)  # 2018 from June (about 150 days) and 2019 (about 150)
    cells = yearly_cells(r, "thr", "cal", tracking_aversion=GAMMA)
    assert cells["years"] == [2018, 2019]
    assert yearly_cells(r, "thr", "cal", tracking_aversion=GAMMA, min_days=200)["years"] == []


def frame(cells: list[tuple[str, list[int], list[float], list[float]]]) -> pd.DataFrame:
    return pd.DataFrame([{"portfolio": p, "setting": "model", "calendar": "quarter",
                          "years": ys, "te_diff_by_year": te, "excess_by_year": ex}
                         for p, ys, te, ex in cells])


def test_pooled_interval_clusters_the_portfolios_years() -> None:
    f = frame([("a", [2001, 2002, 2003], [-0.01, -0.02, -0.012], [1e-4, 1.1e-4, 1.2e-4]),
               ("b", [2001, 2002, 2003], [-0.011, -0.018, -0.009], [1.05e-4, 1.1e-4, 1.2e-4])])
    row = falsification_pooled(f).iloc[0]
    assert (row["portfolios"], row["cells"], row["n_years"]) == (2, 6, 3)
    te = np.array([-0.01, -0.02, -0.012, -0.011, -0.018, -0.009])
    g = np.array([0, 1, 2, 0, 1, 2])
    m = te.mean()
    sums = np.bincount(g, weights=te)
    var = float(np.sum((sums - 2 * m) ** 2 / (1 - 2 / 6))) / 36  # CR2, two cells a year
    half = t_critical(3) * math.sqrt(var)
    assert row["te_diff_mean"] == pytest.approx(m)
    assert (row["te_diff_low"], row["te_diff_high"]) == pytest.approx((m - half, m + half))
    assert row["verdict"] == "fails: costs exceed the TE reduction"
    study = SimpleNamespace(falsification_pooled=falsification_pooled(f))
    shown = falsification_pooled_display(study)  # type: ignore[arg-type]
    assert shown.loc["model", "years (G)"] == 3


def test_pooled_verdicts() -> None:
    assert pooled_verdict(0.001, -1.0, -0.5) == "fails: threshold does not reduce TE"
    assert pooled_verdict(float("nan"), -1.0, -0.5) == "fails: threshold does not reduce TE"
    assert pooled_verdict(-0.001, 0.1, 0.2) == "fails: costs exceed the TE reduction"
    assert pooled_verdict(-0.001, -0.2, -0.1) == "holds"
    assert pooled_verdict(-0.001, -0.2, 0.1) == POOLED_UNDECIDED
    assert falsification_pooled(pd.DataFrame()).empty
    assert falsification_pooled(pd.DataFrame({"setting": ["model"]})).empty


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(-0.05, 0.05))
def test_a_shift_of_every_year_shifts_the_pooled_interval(seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    years = list(range(2000, 2010))
    te = rng.normal(-0.005, 0.003, 10).tolist()
    ex = rng.normal(0.0, 1e-4, 10).tolist()
    base = falsification_pooled(frame([("a", years, te, ex)])).iloc[0]
    moved = falsification_pooled(frame([("a", years, [x + shift for x in te], ex)])).iloc[0]
    for k in ("te_diff_mean", "te_diff_low", "te_diff_high"):
        assert moved[k] == pytest.approx(base[k] + shift, abs=1e-12)
    assert base["te_diff_low"] <= base["te_diff_mean"] <= base["te_diff_high"]
