"""The breakdowns (by VIX regime, by cost level) and the sensitivity table carry, per row, the
events, the number of clusters G, the mean effect with its CR2 t(G − 1) interval against the
claim's bar and the verdict resting on it, the hit rate with its interval beside it.

The oracle recomputes one row from the definitions with numpy and scipy: the clusters are
the calendar years of the events (rule 3's 12-month cluster), the CR2 variance is the matrix
form of Bell and McCaffrey (2002) and the quantile is ``scipy.stats.t.ppf``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from driftwise.errors import ConfigError
from driftwise.validation.output import (
    NO_INTERVAL,
    breakdown_display,
    effect_cells,
)
from driftwise.validation.rules import Thresholds
from driftwise.validation.stats import (
    BREAKDOWN_EFFECT_COLUMNS,
    EFFECT_BARS,
    MODEL,
    NO_VIX_SCALING,
    SECOND_EFFECT_COLUMNS,
    by_cost,
    by_regime,
    label_events,
    sensitivity,
)


def _oracle(y: np.ndarray, groups: np.ndarray) -> tuple[float, float, float, int]:
    """Mean, 95% interval and G of ``y`` clustered by ``groups``, from the definitions:
    ``V = (X'X)^-1 Σ_g X_g' A_g e_g e_g' A_g X_g (X'X)^-1`` with ``A_g = (I - H_gg)^(-1/2)``
    and the interval ``b ± t_{0.975, G-1} sqrt(V)``."""
    n = len(y)
    x = np.ones((n, 1))
    xtx_inv = np.linalg.inv(x.T @ x)
    b = float((xtx_inv @ x.T @ y)[0])
    e = y - b
    h = x @ xtx_inv @ x.T
    meat = 0.0
    labels = np.unique(groups)
    for g in labels:
        at = np.flatnonzero(groups == g)
        vals, vecs = np.linalg.eigh(np.eye(len(at)) - h[np.ix_(at, at)])
        a = vecs @ np.diag(vals ** -0.5) @ vecs.T
        meat += float((x[at].T @ a @ e[at])[0]) ** 2
    var = float(xtx_inv[0, 0]) ** 2 * meat
    half = float(scipy_stats.t.ppf(0.975, len(labels) - 1)) * math.sqrt(var)
    return b, b - half, b + half, len(labels)


# rule 3 events: (date, VIX, Sharpe gain); the calm regime spans six calendar years with
# unequal numbers of events, the stressed one a single year
CALM = [("2010-03-01", 14.0, 0.21), ("2010-09-13", 15.5, 0.17), ("2011-02-07", 18.0, 0.31),
        ("2012-05-14", 12.0, 0.09), ("2012-06-18", 13.0, 0.26), ("2012-11-05", 19.5, 0.19),
        ("2013-04-01", 16.0, 0.35), ("2014-01-06", 11.0, 0.12), ("2014-08-04", 17.0, 0.28),
        ("2014-10-06", 19.0, 0.22), ("2015-03-02", 14.5, 0.15), ("2015-07-06", 13.5, 0.40)]
STRESS = [("2011-08-08", 45.0, -0.05), ("2011-08-22", 42.0, 0.08), ("2011-09-12", 38.0, 0.02)]


def _rule3_events(setting: str = MODEL, level: float = math.nan) -> pd.DataFrame:
    rows = [{"rule": "Rule 3", "setting": setting, "cost_level_bps": level,
             "portfolio": "p", "path": i, "date": pd.Timestamp(d), "vix": v,
             "hit": gain >= 0.1, "effect": gain}
            for i, (d, v, gain) in enumerate(CALM + STRESS)]
    return pd.DataFrame(rows)


def test_a_regime_rows_effect_interval_and_g_match_the_definition() -> None:
    events = label_events(_rule3_events())
    row = by_regime(events).set_index(["rule", "vix_regime"]).loc[("Rule 3", "< 20")]
    y = np.array([g for _, _, g in CALM])
    years = np.array([pd.Timestamp(d).year for d, _, _ in CALM])
    mean, low, high, g = _oracle(y, years)
    assert g == 6 and row["n_clusters"] == 6 and row["n_events"] == 12
    assert row["effect_mean"] == pytest.approx(mean, rel=1e-12)
    assert (row["effect_ci_low"], row["effect_ci_high"]) == pytest.approx((low, high),
                                                                          rel=1e-10)
    assert row["effect_bar"] == EFFECT_BARS["Rule 3"] == 0.1
    # the interval (about 0.16 .. 0.29) lies above the bar 0.1: supported on the effect,
    # whatever the hit rate (11 of 12) says
    assert low >= 0.1
    assert row["verdict"] == "supported"
    assert row["hit_rate"] == pytest.approx(11 / 12)
    assert row["hit_verdict"] in {"supported", "inconclusive"}
    assert row["ci_low"] <= row["hit_rate"] <= row["ci_high"]


def test_a_regime_with_one_cluster_has_no_interval_and_no_verdict() -> None:
    events = label_events(_rule3_events())
    row = by_regime(events).set_index(["rule", "vix_regime"]).loc[("Rule 3", "> 30")]
    assert row["n_events"] == 3 and row["n_clusters"] == 1
    assert math.isnan(row["second_effect_mean"])  # rule 3's claim has one part
    assert row["effect_mean"] == pytest.approx(np.mean([-0.05, 0.08, 0.02]))
    assert math.isnan(row["effect_ci_low"]) and math.isnan(row["effect_ci_high"])
    assert row["verdict"] == "inconclusive"
    shown = breakdown_display(by_regime(events), "vix_regime", "VIX")
    stress = shown[shown["VIX"] == "> 30"].iloc[0]
    assert stress["G"] == "1"
    assert stress["mean effect [95%] vs bar"] == f"0.017 {NO_INTERVAL} vs 0.100"


def test_a_cost_level_row_matches_the_definition() -> None:
    events = label_events(pd.concat([_rule3_events(MODEL), _rule3_events("flat 20 bps", 20.0)],
                                    ignore_index=True))
    table = by_cost(events)
    assert table["cost_level_bps"].tolist() == [20.0]  # the model costs are not a level
    row = table.iloc[0]
    y = np.array([g for _, _, g in CALM + STRESS])
    years = np.array([pd.Timestamp(d).year for d, _, _ in CALM + STRESS])
    mean, low, high, g = _oracle(y, years)
    assert row["n_clusters"] == g == 6  # 2011 holds a calm and the three stressed events
    assert (row["effect_mean"], row["effect_ci_low"], row["effect_ci_high"]) == \
        pytest.approx((mean, low, high), rel=1e-10)
    assert set(BREAKDOWN_EFFECT_COLUMNS) | set(SECOND_EFFECT_COLUMNS) <= set(table.columns)


def test_rule_1_rows_need_both_parts_of_the_claim() -> None:
    rng = np.random.default_rng(5)
    n = 40
    dates = pd.bdate_range("2012-01-02", periods=n, freq="2W-MON")  # 7 quarters
    events = pd.DataFrame({
        "rule": "Rule 1", "setting": MODEL, "cost_level_bps": np.nan, "portfolio": "p",
        "path": np.arange(n), "date": dates, "vix": 15.0, "hit": False,
        "effect": 0.8 + 0.01 * rng.standard_normal(n),  # TE cut well above the bar 0.5
        "ce_gain_bps": -2.0 + 0.1 * rng.standard_normal(n)})  # loses to waiting
    frame = by_regime(label_events(events))
    row = frame.iloc[0]
    assert row["n_clusters"] >= 5 and row["effect_ci_low"] > 0.5
    assert row["verdict"] == "not supported"
    # the second part stands beside the first: its mean, interval and bar
    mean, low, high, _ = _oracle(events["ce_gain_bps"].to_numpy(),
                                 label_events(events)["cluster"].to_numpy())
    assert (row["second_effect_mean"], row["second_effect_ci_low"],
            row["second_effect_ci_high"]) == pytest.approx((mean, low, high), rel=1e-10)
    assert row["second_effect_bar"] == 0.0 and high < 0.0
    cell = breakdown_display(frame, "vix_regime", "VIX").iloc[0]["mean effect [95%] vs bar"]
    assert cell.endswith(f"; CE gain over waiting {mean:.3f} [{low:.3f}, {high:.3f}] vs "
                         "0.000 bps")


def _rule2_events() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 36
    dates = pd.bdate_range("2014-01-06", periods=n, freq="2W-MON")  # 6 quarters and more
    cost = rng.uniform(2.0, 6.0, n)
    ce = cost * rng.uniform(0.5, 4.0, n)
    realized = cost * rng.uniform(0.0, 5.0, n)
    pnl = rng.normal(3.0, 10.0, n)
    gamma = 2.0
    return label_events(pd.DataFrame({
        "rule": "Rule 2", "setting": MODEL, "cost_level_bps": np.nan, "portfolio": "p",
        "path": np.arange(n), "date": dates, "vix": 18.0, "hit": ce >= 2.0 * cost,
        "effect": ce / cost, "trade_cost_bps": cost, "benefit_ce_bps": ce,
        "benefit_realized_bps": realized, "benefit_pnl_bps": pnl,
        "hit_realized": realized >= 2.0 * cost, "hit_pnl": pnl >= 2.0 * cost,
        **{f"hit_gamma_{g:g}": (g / gamma) * ce >= 2.0 * cost for g in (10.0, 50.0)}}))


def test_sensitivity_rows_carry_the_variants_effect() -> None:
    events = _rule2_events()
    table = sensitivity(events, Thresholds(), tracking_aversion=2.0).set_index("variant")
    clusters = events["cluster"].to_numpy()
    ratio = events["effect"].to_numpy()
    for label, values in (
            ("benefit = CE of ex-ante tracking variance, γ of the config", ratio),
            ("benefit = CE of ex-ante tracking variance, γ = 10", ratio * 10.0 / 2.0),
            ("benefit = CE of ex-ante tracking variance, γ = 50", ratio * 50.0 / 2.0),
            ("benefit = CE of realized tracking variance",
             events["benefit_realized_bps"].to_numpy() / events["trade_cost_bps"].to_numpy()),
            ("benefit = return difference (gross of cost)",
             events["benefit_pnl_bps"].to_numpy() / events["trade_cost_bps"].to_numpy())):
        row = table.loc[label]
        mean, low, high, g = _oracle(values, clusters)
        assert row["n_clusters"] == g and row["n_events"] == len(values)
        assert (row["effect_mean"], row["effect_ci_low"], row["effect_ci_high"]) == \
            pytest.approx((mean, low, high), rel=1e-10), label
        assert row["effect_bar"] == 2.0
        expected = ("supported" if low >= 2.0 else "not supported" if high < 2.0
                    else "inconclusive")
        assert row["verdict"] == expected, label
    # the γ = 50 benefit is 25 times the configured one: its interval clears the bar
    assert table.loc["benefit = CE of ex-ante tracking variance, γ = 50", "verdict"] == \
        "supported"


def test_sensitivity_of_rule_4_without_vix_scaling_and_rule_1_part_b() -> None:
    n = 30
    dates = pd.bdate_range("2008-09-01", periods=n, freq="3W-MON")
    base = {"cost_level_bps": np.nan, "portfolio": "p", "path": np.arange(n), "date": dates,
            "vix": 35.0}
    cut = np.linspace(-0.2, 0.4, n)
    gain = np.linspace(-1.0, 3.0, n)
    events = label_events(pd.concat([
        pd.DataFrame({**base, "rule": "Rule 4", "setting": NO_VIX_SCALING, "hit": cut >= 0.3,
                      "effect": cut}),
        pd.DataFrame({**base, "rule": "Rule 1", "setting": MODEL, "hit": gain > 0,
                      "effect": 0.6, "hit_te": True, "hit_return": gain > 0,
                      "ce_gain_bps": gain})], ignore_index=True))
    table = sensitivity(events, Thresholds(), tracking_aversion=2.0).set_index("variant")
    clusters = events.loc[events["rule"] == "Rule 4", "cluster"].to_numpy()
    row = table.loc["costs without VIX scaling (multipliers 1, 1, 1)"]
    mean, low, high, g = _oracle(cut, clusters)
    assert (row["effect_mean"], row["effect_ci_low"], row["effect_ci_high"], row["n_clusters"]) \
        == pytest.approx((mean, low, high, g), rel=1e-10)
    assert row["effect_bar"] == 0.3 and row["verdict"] == "not supported"
    part_b = table.loc["part (b) only: beats waiting on risk-adjusted return"]
    assert part_b["effect_bar"] == 0.0
    assert part_b["effect_mean"] == pytest.approx(gain.mean())
    assert part_b["verdict"] == ("supported" if part_b["effect_ci_low"] >= 0 else "inconclusive")


def test_every_display_row_shows_g_the_effect_and_the_hit_rate() -> None:
    events = label_events(_rule3_events())
    shown = breakdown_display(by_regime(events), "vix_regime", "VIX")
    assert list(shown.columns) == ["VIX", "events", "G", "mean effect [95%] vs bar",
                                   "verdict (effect)", "hit rate [95%]", "hit-rate verdict",
                                   "reason"]
    calm = shown[shown["VIX"] == "< 20"].iloc[0]
    row = by_regime(events).iloc[0]
    assert calm["events"] == "12" and calm["G"] == "6"
    assert calm["mean effect [95%] vs bar"] == (
        f"{row['effect_mean']:.3f} [{row['effect_ci_low']:.3f}, {row['effect_ci_high']:.3f}]"
        " vs 0.100")
    assert calm["verdict (effect)"] == "supported"
    assert calm["reason"] == "every part's interval lies at or above its bar (Sharpe gain ≥ 0.1)"
    assert calm["hit rate [95%]"].startswith("91.7% ")
    assert set(effect_cells(by_regime(events))) == set(shown.columns) - {"VIX"}


def test_sensitivity_refuses_a_tracking_aversion_that_is_not_positive() -> None:
    with pytest.raises(ConfigError, match=r"tracking aversion γ must be positive; found 0\.0"):
        sensitivity(_rule2_events(), Thresholds(), tracking_aversion=0.0)
