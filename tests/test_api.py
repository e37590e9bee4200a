"""The library API (``import driftwise as dw``): the CLI's defaults, DataFrames as files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import driftwise as dw
from driftwise.cli import EXIT_OK, main
from driftwise.data.sample import load_sample, sample_file
from driftwise.errors import ConfigError, DataError

WINDOW = {"start": "2021-01-04", "end": "2021-12-30", "samples": 60}
CLI_WINDOW = ["--start", "2021-01-04", "--end", "2021-12-30", "--samples", "60"]


def cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main([*args, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def sample_frames() -> dict[str, object]:
    """The sample's holdings, targets and prices as a quant would hold them in pandas."""
    s = load_sample()
    assert s.targets is not None
    targets = s.targets.weights.copy()
    targets["CASH"] = s.targets.cash_weight
    return {"holdings": s.holdings.shares, "cash_usd": s.holdings.cash_usd, "targets": targets,
            "prices": s.market.prices, "volumes": s.market.volumes,
            "vix": s.market.vix, "master": s.master.frame, "last_rebalance": s.last_rebalance,
            "costs": pd.read_csv(sample_file("costs.csv"))}


def test_import_is_light() -> None:
    code = ("import sys, driftwise; assert callable(driftwise.plan); "
            "print(sorted(m for m in sys.modules if m.startswith(('driftwise.', 'numba', "
            "'pandas'))))")
    light = ("import sys, driftwise; "
             "print(sorted(m for m in sys.modules if m.startswith(('driftwise.', 'numba', "
             "'pandas'))))")
    out = subprocess.run([sys.executable, "-c", light], capture_output=True, text=True,
                         check=True).stdout
    assert eval(out) == ["driftwise.errors", "driftwise.flags"]
    used = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout
    assert "driftwise.api" in used  # the first use imports the API, not before


def test_api_names_survive_module_imports() -> None:
    import driftwise.app.monitor
    import driftwise.backtest.engine
    import driftwise.report.html  # noqa: F401
    from driftwise import api
    from driftwise.app.plan import make_plan

    assert dw.plan is api.plan and dw.monitor is api.monitor and dw.report is api.report
    assert dw.backtest is api.backtest and callable(make_plan)
    assert set(dw.__all__) <= set(dir(dw))
    with pytest.raises(AttributeError):
        _ = dw.not_a_name


def test_plan_equals_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(["plan"], capsys)
    plan = dw.plan()
    assert plan.decision.value == data["decision"]
    assert plan.nav_usd == pytest.approx(data["nav_usd"], rel=1e-12)
    trades = plan.to_frame()
    assert list(trades["ticker"]) == [r["ticker"] for r in data["trades"]]
    np.testing.assert_allclose(trades["shares"], [r["shares"] for r in data["trades"]])
    np.testing.assert_allclose(trades["cost_usd"], [r["cost_usd"] for r in data["trades"]],
                               rtol=1e-12)


def test_monitor_equals_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(["monitor"], capsys)
    report = dw.monitor()
    for key in ("portfolio_drift", "te_long", "te_long_shrunk", "days_to_breach", "nav_usd"):
        assert report.summary[key] == pytest.approx(data["summary"][key], rel=1e-12)
    frame = report.to_frame()
    assert len(frame) == report.summary["n_assets"] and frame.columns[0] == "ticker"
    assert dw.monitor(threshold=0.5).summary["threshold"] == 0.5
    sample_cov = cli_json(["monitor", "--estimator", "sample"], capsys)["summary"]
    assert dw.monitor(estimator="sample").summary["te_long_shrunk"] == pytest.approx(
        sample_cov["te_long_shrunk"], rel=1e-12)


def test_backtest_equals_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(["backtest", *CLI_WINDOW], capsys)
    result = dw.backtest(**WINDOW)
    frame = result.to_frame().set_index("config")
    assert list(frame.index) == list(data["policies"])
    for name, row in data["policies"].items():
        for field in ("te_annual", "te_low", "te_high", "cost_per_year", "n_rebalances",
                      "final_nav_usd"):
            assert frame.loc[name, field] == pytest.approx(row[field], rel=1e-12), field


def test_backtest_named_rules_and_configs(capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(["backtest", *CLI_WINDOW, "--policy", "monthly", "--policy", "threshold",
                     "--threshold", "0.05"], capsys)
    named = dw.backtest(rules=["monthly", "threshold"], thresholds=[0.05], **WINDOW)
    assert list(named.metrics.index) == list(data["policies"]) == ["monthly", "threshold 5%"]
    from driftwise.config import policies
    by_config = dw.backtest(rules={"calendar": policies.monthly(),
                                   "band": policies.threshold(0.05)}, **WINDOW)
    assert list(by_config.metrics.index) == ["calendar", "band"]
    np.testing.assert_allclose(by_config.metrics["te_annual"], named.metrics["te_annual"],
                               rtol=1e-12)
    with pytest.raises(ConfigError, match="unknown policy 'weekly-ish'"):
        dw.backtest(rules=["weekly-ish"], **WINDOW)


def test_frames_equal_files(sample_frames: dict[str, object], tmp_path: Path) -> None:
    f = dict(sample_frames)
    holdings = pd.DataFrame({"ticker": [*f["holdings"].index, "CASH"],
                             "shares": [*f["holdings"], f["cash_usd"]]})
    targets = f["targets"].rename("target_weight").rename_axis("ticker")
    prices = f["prices"].rename_axis("date")
    paths = {name: tmp_path / f"{name}.csv" for name in ("holdings", "targets", "prices")}
    holdings.to_csv(paths["holdings"], index=False)
    targets.to_csv(paths["targets"])
    prices.to_csv(paths["prices"])
    from_files = dw.load(**{k: str(v) for k, v in paths.items()})
    from_frames = dw.load(holdings=f["holdings"], cash_usd=f["cash_usd"],
                          targets=f["targets"], prices=f["prices"])
    a, b = dw.plan(from_files), dw.plan(from_frames)
    assert a.decision == b.decision and a.nav_usd == pytest.approx(b.nav_usd, rel=1e-12)
    pd.testing.assert_frame_equal(a.to_frame().drop(columns="flags"),
                                  b.to_frame().drop(columns="flags"))
    m1, m2 = dw.monitor(from_files), dw.monitor(from_frames)
    assert m1.summary["te_long"] == pytest.approx(m2.summary["te_long"], rel=1e-12)


def test_frames_of_the_whole_sample_give_the_sample_plan(sample_frames: dict[str, object]
                                                         ) -> None:
    own = dw.load(**sample_frames)
    sample = dw.load()
    a, b = dw.plan(own), dw.plan(sample)
    assert a.decision == b.decision
    np.testing.assert_allclose(a.trades["shares"], b.trades["shares"], rtol=1e-12)


def test_backtest_inputs_from_prices_and_targets(sample_frames: dict[str, object]) -> None:
    inputs = dw.load(prices=sample_frames["prices"], targets=sample_frames["targets"])
    assert inputs.holdings.shares.empty
    result = dw.backtest(inputs, ["monthly"], **WINDOW)
    assert list(result.metrics.index) == ["monthly"]
    with pytest.raises(ConfigError, match="needs --targets"):
        dw.load(prices=sample_frames["prices"])


def test_bad_frames_name_the_field_and_row(sample_frames: dict[str, object]) -> None:
    prices = sample_frames["prices"].copy()
    prices.iloc[3, 2] = -5.0
    with pytest.raises(DataError) as bad_price:
        dw.load(holdings=sample_frames["holdings"], cash_usd=1.0, prices=prices)
    text = str(bad_price.value)
    assert "<prices frame>" in text and str(prices.columns[2]) in text
    holdings = pd.DataFrame({"ticker": ["AAPL", "MSFT"], "shares": ["10", "many"]})
    with pytest.raises(DataError) as bad_shares:
        dw.load(holdings=holdings, prices=sample_frames["prices"])
    assert bad_shares.value.field == "shares" and bad_shares.value.row == 2
    with pytest.raises(DataError) as bad_target:
        dw.load(targets=pd.Series({"AAPL": "lots"}))
    assert bad_target.value.field == "target_weight"
    with pytest.raises(ConfigError, match="holdings: expected a file path"):
        dw.load(holdings=42)


def test_config_as_dict_path_or_object(tmp_path: Path) -> None:
    loose = dw.as_config({"policy.threshold": 0.5})
    assert loose.policy.threshold == 0.5
    assert dw.plan(config={"policy.threshold": 0.5}).decision.value == "skip"
    path = tmp_path / "my.toml"
    path.write_text("[policy]\nthreshold = 0.5\n")
    assert dw.as_config(path) == loose and dw.as_config(loose) is loose
    with pytest.raises(ConfigError, match="thresh"):
        dw.as_config({"policy.thresh": 0.5})
    with pytest.raises(ConfigError, match="expected a Config"):
        dw.as_config(3)


def test_results_show_themselves() -> None:
    plan, report = dw.plan(), dw.monitor()
    result = dw.backtest(rules=["monthly", "threshold"], **WINDOW)
    for item, first_line, in_html in (
            (plan, f"Plan on {plan.as_of.date()}", "Trade list"),
            (report, "Monitor on 2022-12-28", "Assets"),
            (result, "Backtest 2021-01-04 .. 2021-12-30", "Metrics")):
        text = repr(item)
        assert text.splitlines()[0].startswith(first_line)
        assert len(text.splitlines()) < 40 and "DataFrame" not in text
        html = item._repr_html_()
        assert html.startswith("<div>") and "<table" in html and in_html in html
    assert "decision: rebalance" in repr(plan)
    assert "monthly: TE " in repr(result)
    frame = result.to_frame()
    assert frame.shape == (2, 1 + len(result.metrics.columns))
    assert list(frame["config"]) == ["monthly", "threshold 5%"]


def test_validate_rules_equals_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    data = cli_json(["validate-rules", "--start", "2018-01-02", "--no-falsification"], capsys)
    study = dw.validate_rules(start="2018-01-02", falsification=False)
    frame = study.to_frame()
    assert list(frame["rule"]) == [r["rule"] for r in data["rules"]]
    assert list(frame["verdict"]) == [r["verdict"] for r in data["rules"]]
    np.testing.assert_allclose(frame["n_events"], [r["n_events"] for r in data["rules"]])
    text = repr(study)
    assert text.startswith("Rule validation: 1 portfolio(s)") and "Rule 1: " in text
    assert "<table" in study._repr_html_()


def test_report_writes_one_html_file(tmp_path: Path) -> None:
    out = dw.report(out=tmp_path / "r.html", years=1, sweep=False, validate=False)
    assert out == tmp_path / "r.html"
    assert out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_a_last_rebalance_after_the_as_of_date_is_refused() -> None:
    late = dw.load(last_rebalance="2022-12-30")
    for call in (dw.plan, dw.monitor):
        with pytest.raises(ConfigError, match="last rebalance 2022-12-30 is after the as-of"):
            call(late)
    with pytest.raises(ConfigError, match="after the as-of date 2022-06-01"):
        dw.plan(as_of="2022-06-01")  # the sample's last rebalance is 2022-06-30


def test_backtest_result_carries_the_cash_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """``dw.backtest``'s result carries the flags the command prints: cash earns nothing
    without a risk-free series (the sample has none), not with one covering the window,
    and again with ``backtest.cash_earns_risk_free = false``."""
    def cash(result: object) -> list[str]:
        return [n.detail for n in result.notices if n.flag.value == "cash earns nothing"]

    plain = dw.backtest(rules=["never"], **WINDOW)
    (no_series,) = cash(plain)
    assert "no risk-free rate was given" in no_series
    assert "cash earns nothing" in repr(plain)
    assert plain.to_frame().attrs["notices"] == plain.notices
    cli = cli_json(["backtest", "--policy", "never", *CLI_WINDOW], capsys)
    assert [n.detail for n in plain.notices] == [f["detail"] for f in cli["flags"]]
    days = load_sample().market.prices.index
    rates = pd.Series(0.04, index=days)
    earning = dw.backtest(dw.load(risk_free=rates), ["never"], **WINDOW)
    assert cash(earning) == []
    nav = "final_nav_usd"
    assert earning.to_frame()[nav].iloc[0] > plain.to_frame()[nav].iloc[0]
    off = dw.backtest(dw.load(risk_free=rates), ["never"],
                      config={"backtest.cash_earns_risk_free": False}, **WINDOW)
    (switched_off,) = cash(off)
    assert "cash_earns_risk_free is false" in switched_off
    assert off.to_frame()[nav].iloc[0] == plain.to_frame()[nav].iloc[0]
    late = dw.backtest(dw.load(risk_free=rates[rates.index >= "2021-06-01"]), ["never"],
                       **WINDOW)
    (before,) = cash(late)
    assert "before 2021-06-01" in before
    with pytest.raises(DataError, match="rate_annual"):
        dw.load(risk_free=pd.Series(4.0, index=days))
