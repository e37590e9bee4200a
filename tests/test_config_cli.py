"""Settings the commands read from ``--config``: the default target, the last rebalance,
the monitor's estimator, the backtest's own rule, destination, window, resamples and grid,
and commissions without a cost file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.config import loads_config
from driftwise.config.assemble import backtest_configs
from driftwise.data.loader import load_backtest_inputs
from test_config_keys import LAST_REBALANCE, _write_fixture


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    _write_fixture(folder)
    return folder


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    code = main([*args, "--json"])
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    return json.loads(out.out)


def _config(folder: Path, text: str, name: str = "dw.toml") -> str:
    (folder / name).write_text(text, encoding="utf-8")
    return str(folder / name)


def portfolio(f: Path, *, targets: bool = True, last: bool = True) -> list[str]:
    args = ["--holdings", str(f / "holdings.csv"), "--prices", str(f / "prices.csv"),
            "--master", str(f / "master.csv"), "--vix", str(f / "vix.csv"),
            "--cost-file", str(f / "costs.csv")]
    args += ["--targets", str(f / "targets.csv")] if targets else []
    return args + (["--last-rebalance", LAST_REBALANCE] if last else [])


def market(f: Path, *, targets: bool = True) -> list[str]:
    args = ["--prices", str(f / "prices.csv"), "--master", str(f / "master.csv"),
            "--vix", str(f / "vix.csv"), "--cost-file", str(f / "costs.csv")]
    return args + (["--targets", str(f / "targets.csv")] if targets else [])


# --------------------------------------------------------------- default target

CAPS = {"AAA": 9e11, "BBB": 3e11, "CCC": 5e10, "DDD": 8e9}


def test_plan_and_monitor_use_market_cap_weights_without_targets(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(files, '[portfolio]\ndefault_target = "market_cap"\n')
    want = pd.Series(CAPS) / sum(CAPS.values())
    monitor = _json(["monitor", *portfolio(files, targets=False), "--config", config], capsys)
    got = pd.Series({a.get("ticker", k): a["target"]
                     for k, a in _assets(monitor["assets"]).items()})
    np.testing.assert_allclose(got[want.index], want, rtol=1e-12)
    assert any(f["flag"] == "no target specified" and "market-cap weights" in f["detail"]
               for f in monitor["flags"])
    plan = _json(["plan", *portfolio(files, targets=False), "--config", config], capsys)
    assert any("market-cap weights" in f["detail"] for f in plan["flags"])
    assert plan["decision"] == "rebalance"
    equal = _json(["plan", *portfolio(files, targets=False)], capsys)
    assert any("equal weights" in f["detail"] for f in equal["flags"])
    assert equal["trades"] != plan["trades"]


def _assets(assets: object) -> dict[str, dict]:
    """The monitor's per-asset records by ticker (JSON of a frame indexed by ticker)."""
    if isinstance(assets, dict):
        return {str(k): v for k, v in assets.items()}
    assert isinstance(assets, list)
    return {str(a["ticker"]): a for a in assets}


def test_backtest_uses_market_cap_weights_and_flags_them(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(files, '[portfolio]\ndefault_target = "market_cap"\n'
                            '[backtest]\nbootstrap_samples = 50\n')
    data = _json(["backtest", *market(files, targets=False), "--config", config], capsys)
    assert any("market-cap weights over the priced tickers" in f["detail"]
               for f in data["flags"])
    assert "your rule" in data["policies"]


def test_missing_market_caps_exit_3_naming_the_field(
        files: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = _config(tmp_path, '[portfolio]\ndefault_target = "market_cap"\n')
    pd.read_csv(files / "master.csv").drop(columns="market_cap_usd").to_csv(
        tmp_path / "master.csv", index=False)
    args = [*portfolio(files, targets=False), "--config", config]
    args[args.index("--master") + 1] = str(tmp_path / "master.csv")
    assert main(["plan", *args]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "market_cap_usd" in err and "master.csv" in err and "Traceback" not in err


def test_backtest_without_targets_or_default_asks_for_targets(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", *market(files, targets=False)]) == EXIT_BAD_INPUT
    assert "--targets" in capsys.readouterr().err


# --------------------------------------------------------------- last rebalance


def test_config_last_rebalance_is_used_and_the_option_wins(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(files, "[portfolio]\nlast_rebalance = 2023-12-01\n")
    days = {}
    for name, extra in (("config", ["--config", config]),
                        ("option", ["--config", config, "--last-rebalance", "2023-11-01"])):
        data = _json(["monitor", *portfolio(files, last=False), *extra], capsys)
        days[name] = data["summary"]["days_since_rebalance"]
    assert days["config"] == 19  # NYSE sessions after 2023-12-01 up to 2023-12-29
    assert days["option"] == 40


# --------------------------------------------------------------- monitor estimator


def test_monitor_estimator_comes_from_the_configuration(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = _config(files, '[risk]\nestimator = "sample"\n', "sample.toml")
    by_config = _json(["monitor", *portfolio(files), "--config", sample], capsys)["summary"]
    assert by_config["estimator"] == "sample"
    assert by_config["te_long_shrunk"] == pytest.approx(by_config["te_long"], rel=1e-12)
    default = _json(["monitor", *portfolio(files)], capsys)["summary"]
    assert default["estimator"] == "ledoit_wolf"
    option = _json(["monitor", *portfolio(files), "--config", sample,
                    "--estimator", "ledoit_wolf"], capsys)["summary"]
    assert option["te_long_shrunk"] == pytest.approx(default["te_long_shrunk"], rel=1e-12)


# --------------------------------------------------------------- backtest


def test_backtest_adds_your_rule_and_gives_the_named_rules_its_destination(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ('[policy]\ntrigger = "any_of"\ntriggers = ["threshold", "calendar"]\n'
            'threshold = 0.03\ndestination = "half"\n[backtest]\nbootstrap_samples = 50\n')
    config = _config(files, text)
    data = _json(["backtest", *market(files), "--config", config], capsys)
    assert list(data["policies"]) == ["monthly [half]", "threshold 5% [half]",
                                      "threshold 10% [half]", "hybrid (monthly + 10%) [half]",
                                      "cost-benefit [half]", "your rule"]
    assert data["ranking"] and "your rule" in data["ranking"]
    # "your rule" is the configuration itself, run by the engine over the same window
    inputs = load_backtest_inputs(prices=files / "prices.csv", targets=files / "targets.csv",
                                  master=files / "master.csv", vix=files / "vix.csv",
                                  cost_file=files / "costs.csv")
    result = backtest_configs(inputs, [loads_config(text)], start=data["start"], end=data["end"])
    assert data["policies"]["your rule"]["final_nav_usd"] == pytest.approx(
        float(result.nav_usd[-1, 0]), rel=1e-12)
    plain = _json(["backtest", *market(files), "--samples", "50"], capsys)
    assert "your rule" not in plain["policies"] and "monthly" in plain["policies"]


def test_backtest_window_resamples_and_grid_come_from_the_configuration(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(files, "[backtest]\nstart = 2023-01-03\nend = 2023-10-31\n"
                            "bootstrap_samples = 60\nthresholds = [0.02, 0.06]\n"
                            "cost_levels_bps = [15.0]\nimpact_models = [\"square_root\"]\n"
                            "vix_multipliers = [[1.0, 1.0, 1.0]]\n")
    data = _json(["backtest", *market(files), "--config", config, "--policy", "monthly"],
                 capsys)
    assert (data["start"][:10], data["end"][:10]) == ("2023-01-03", "2023-10-31")
    explicit = _json(["backtest", *market(files), "--config", config, "--policy", "monthly",
                      "--samples", "60"], capsys)
    assert explicit["policies"] == data["policies"]  # 60 resamples either way
    other = _json(["backtest", *market(files), "--config", config, "--policy", "monthly",
                   "--samples", "50"], capsys)
    assert other["policies"]["monthly"]["te_low"] != data["policies"]["monthly"]["te_low"]
    wider = _json(["backtest", *market(files), "--config", config, "--policy", "monthly",
                   "--start", "2022-06-01"], capsys)
    assert wider["start"][:10] == "2022-06-01"
    assert data["sweep"] is None
    swept = _json(["backtest", *market(files), "--config", config, "--policy", "monthly",
                   "--sweep"], capsys)
    assert sorted({row["threshold"] for row in _rows(swept["sweep"])}) == [0.02, 0.06]


def _rows(table: object) -> list[dict]:
    if isinstance(table, dict):  # a frame as {column: {row: value}}
        columns = list(table)
        return [{c: table[c][k] for c in columns} for k in table[columns[0]]]
    assert isinstance(table, list)
    return table


# --------------------------------------------------------------- commissions


def test_commission_per_share_and_ticket_without_a_cost_file(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Oracle: commission = max(|shares| × per share, minimum ticket) (SPEC section 4)."""
    config = _config(files, "[costs]\ncommission_per_share_usd = 0.01\nmin_ticket_usd = 25.0\n")
    args = portfolio(files)
    at = args.index("--cost-file")
    del args[at:at + 2]
    data = _json(["plan", *args, "--config", config], capsys)
    trades = _rows(data["trades"]) if not isinstance(data["trades"], list) else data["trades"]
    assert trades
    for row in trades:
        want = max(abs(row["shares"]) * 0.01, 25.0)
        assert row["commission_usd"] == pytest.approx(want, rel=1e-12)
