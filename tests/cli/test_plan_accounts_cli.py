"""``driftwise plan`` on a holdings file of several accounts: refused without --account or
--all (file, row, field); --account plans one as a file of its own; --all plans each as
--account does, with the summary sorted by who needs action, drift and cost-benefit."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from driftwise.app.batch import BatchPlan, plan_accounts
from driftwise.app.plan import make_plan
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.config import default_config
from driftwise.data.holdings import read_accounts
from driftwise.data.loader import load_inputs
from driftwise.data.sample import load_sample, sample_file

AS_OF = "2022-12-28"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample's prices and targets as files, and a book of three accounts: the
    sample's holdings, the same scaled down with more cash, and a drifted one."""
    folder = tmp_path_factory.mktemp("accounts")
    sample = load_sample()
    prices = sample.market.prices.loc["2020-01-01":AS_OF]
    prices.rename_axis("date").reset_index().to_csv(folder / "prices.csv", index=False)
    held = pd.read_csv(sample_file("holdings.csv"))
    stocks, cash = held[held["ticker"] != "CASH"], held[held["ticker"] == "CASH"]
    drifted = stocks.copy()
    drifted.loc[drifted.index[::2], "shares"] = (drifted["shares"][::2] * 1.6).round()
    small = stocks.copy()
    small["shares"] = (small["shares"] / 4).round()
    parts = []
    for name, part, extra in (("core", stocks, 0.0), ("small", small, 1e5),
                              ("drifted", drifted, 0.0)):
        rows = pd.concat([part, cash.assign(market_value_usd=cash["market_value_usd"] + extra)])
        parts.append(rows.assign(account=name))
    pd.concat(parts).to_csv(folder / "book.csv", index=False)
    stocks.to_csv(folder / "core.csv", index=False)
    (folder / "targets.csv").write_text(sample_file("targets.csv").read_text())
    return {"book": folder / "book.csv", "prices": folder / "prices.csv",
            "targets": folder / "targets.csv", "core": folder / "core.csv"}


def _args(files: dict[str, Path], holdings: str = "book") -> list[str]:
    return ["plan", "--holdings", str(files[holdings]), "--prices", str(files["prices"]),
            "--targets", str(files["targets"]), "--as-of", AS_OF]


def test_a_book_is_refused_without_account_or_all(files: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(files)) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "book.csv" in err and "field 'account'" in err and "--all" in err
    assert "Traceback" not in err


def test_account_plans_one_as_its_own_file(files: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(files), "--account", "core", "--json"]) == EXIT_OK
    one = json.loads(capsys.readouterr().out)
    book = read_accounts(files["book"], today=AS_OF)
    alone = read_accounts(files["book"], today=AS_OF)["core"]
    assert one["nav_usd"] == pytest.approx(
        float((alone.shares * load_sample().market.prices.loc[AS_OF, alone.shares.index])
              .sum() + alone.cash_usd), rel=1e-12)
    assert set(book) == {"core", "small", "drifted"}


def test_all_plans_each_account_as_account_does(files: dict[str, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(files), "--all", "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert set(out["accounts"]) == {"core", "small", "drifted"}
    for name in ("core", "drifted"):
        assert main([*_args(files), "--account", name, "--json"]) == EXIT_OK
        alone = json.loads(capsys.readouterr().out)
        mine = out["accounts"][name]
        assert (mine["decision"], mine["reasons"]) == (alone["decision"], alone["reasons"])
        assert mine["before"]["drift"] == alone["before"]["drift"]
        assert mine["trades"] == alone["trades"]
    order = [r["account"] for r in out["summary"]]
    acting = [r for r in out["summary"] if r["needs_action"]]
    assert order[:len(acting)] == [r["account"] for r in acting]
    drifts = [r["drift"] for r in acting]
    assert drifts == sorted(drifts, reverse=True)


def test_all_writes_a_folder_per_account(files: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(files), "--all", "--out", str(tmp_path / "run")]) == EXIT_OK
    shown = capsys.readouterr().out
    assert "need action" in shown and "drifted" in shown
    for name in ("core", "small", "drifted"):
        plan = json.loads((tmp_path / "run" / name / "plan.json").read_text())
        assert plan["decision"] in ("rebalance", "partial", "skip", "delay", "invalid")


def test_the_summary_sorts_by_action_then_drift_then_cost_benefit() -> None:
    inputs = load_inputs()
    config = default_config().with_overrides({"policy.threshold": 0.5})
    plan = make_plan(inputs, config)
    assert plan.decision.value == "skip"
    busy = make_plan(inputs, default_config().with_overrides(
        {"policy.threshold": 0.01, "policy.skip_if_cost_exceeds_benefit": False}))
    assert busy.decision.value == "rebalance"
    summary = BatchPlan({"quiet": plan, "busy": busy}).summary()
    assert list(summary.index) == ["busy", "quiet"]
    assert summary.loc["busy", "needs_action"] and not summary.loc["quiet", "needs_action"]


def test_plan_accounts_shares_one_market(files: dict[str, Path]) -> None:
    inputs = load_inputs(holdings=files["book"], prices=files["prices"],
                         targets=files["targets"], account="core")
    books = read_accounts(files["book"], today=AS_OF)
    batch = plan_accounts(inputs, books, default_config(), as_of=AS_OF)
    for name, plan in batch.plans.items():
        alone = make_plan(load_inputs(holdings=files["book"], prices=files["prices"],
                                      targets=files["targets"], account=name),
                          default_config(), as_of=AS_OF)
        pd.testing.assert_series_equal(pd.Series(plan.before), pd.Series(alone.before))
        assert plan.decision is alone.decision
        pd.testing.assert_frame_equal(plan.trades, alone.trades)


def test_plan_accounts_on_a_local_dask_cluster_equals_serial(files: dict[str, Path]) -> None:
    inputs = load_inputs(holdings=files["book"], prices=files["prices"],
                         targets=files["targets"], account="core")
    books = read_accounts(files["book"], today=AS_OF)
    serial = plan_accounts(inputs, books, default_config(), as_of=AS_OF)
    dask = plan_accounts(inputs, books, default_config(), as_of=AS_OF, workers=2, chunk=1)
    assert list(dask.plans) == list(serial.plans)
    pd.testing.assert_frame_equal(dask.summary(), serial.summary())
    for name, plan in serial.plans.items():
        pd.testing.assert_frame_equal(dask.plans[name].trades, plan.trades)
        assert dask.plans[name].reasons == plan.reasons


def test_workers_plan_the_accounts_on_a_local_cluster(files: dict[str, Path],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """``plan --all --workers 2`` reaches ``plan_accounts`` (a Dask local cluster of two
    processes) and gives the serial run's plans."""
    import driftwise.app.batch as batch

    asked: list[tuple[int | None, str | None]] = []
    real = batch.plan_accounts

    def spy(*args: object, **kwargs: object) -> BatchPlan:
        asked.append((kwargs.get("workers"), kwargs.get("scheduler")))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "plan_accounts", spy)
    assert main([*_args(files), "--all", "--json"]) == EXIT_OK
    serial = json.loads(capsys.readouterr().out)
    assert main([*_args(files), "--all", "--workers", "2", "--json"]) == EXIT_OK
    dask = json.loads(capsys.readouterr().out)
    assert asked == [(1, None), (2, None)]
    assert dask == serial


def test_workers_go_with_all(files: dict[str, Path],
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_args(files, "core"), "--workers", "2"]) != EXIT_OK
    assert "--all" in capsys.readouterr().err


def test_all_plans_each_account_with_its_row_of_an_accounts_file(
        files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--accounts``: ``small`` is tax-exempt with a 30 % cash target (the shared
    targets scaled by 0.7 / 0.98, by hand) and never buys AAPL; ``core`` has no row and
    plans as without the file."""
    rows = tmp_path / "accounts.csv"
    rows.write_text("account,tax_status,cash_target_weight,do_not_buy\n"
                    "small,tax_exempt,0.3,AAPL\n")
    assert main([*_args(files), "--all", "--json"]) == EXIT_OK
    plain = json.loads(capsys.readouterr().out)["accounts"]
    assert main([*_args(files), "--all", "--accounts", str(rows), "--json"]) == EXIT_OK
    mine = json.loads(capsys.readouterr().out)["accounts"]
    assert mine["core"] == plain["core"]
    small = mine["small"]
    assert any(r.startswith("tax off: account small is tax-exempt") for r in small["reasons"])
    assert any("restrictions: do-not-buy AAPL" in r for r in small["reasons"])
    assert not [t for t in small["trades"] if t["ticker"] == "AAPL" and t["side"] == "BUY"]
    # the oracle: the shared targets scaled by hand, AAPL never bought, tax off
    import dataclasses

    inputs = load_inputs(holdings=files["book"], prices=files["prices"],
                         targets=files["targets"], account="small")
    assert inputs.targets is not None and inputs.targets.cash_weight == pytest.approx(0.02)
    scaled = dataclasses.replace(inputs.targets, cash_weight=0.3,
                                 weights=inputs.targets.weights * 0.7 / 0.98)
    alone = make_plan(dataclasses.replace(inputs, targets=scaled),
                      default_config().with_overrides({"constraints.do_not_buy": ["AAPL"]}),
                      as_of=AS_OF)
    assert small["decision"] == alone.decision.value
    assert [(t["ticker"], t["side"], t["shares"]) for t in small["trades"]] == [
        (str(k), r["side"], float(r["shares"])) for k, r in alone.trades.iterrows()]
    assert small["trades"]


def test_an_accounts_file_naming_another_account_is_refused(
        files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "accounts.csv"
    rows.write_text("account,tax_status\nsmall,taxable\nnobody,taxable\n")
    assert main([*_args(files), "--all", "--accounts", str(rows)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "accounts.csv" in err and "row 3" in err and "field 'account'" in err
    rows.write_text("account,model\nsmall,growth\n")
    assert main([*_args(files), "--all", "--accounts", str(rows)]) == EXIT_BAD_INPUT
    assert "field 'model'" in capsys.readouterr().err
