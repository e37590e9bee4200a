"""The command line starts fast: ``--help`` imports no command, a command only its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from driftwise import cli


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(sorted(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    return set(eval(out))


def test_the_root_help_imports_no_command_nor_the_numeric_stack() -> None:
    loaded = _modules_after("from driftwise.cli import main; main(['--help'])")
    heavy = {"pandas", "numba", "driftwise.app.plan", "driftwise.cli.plan", "driftwise.config"}
    assert not heavy & loaded


def test_a_command_imports_its_own_module_only() -> None:
    loaded = _modules_after("from driftwise.cli import main; main(['fills', '--help'])")
    assert "driftwise.cli.fills" in loaded
    assert not {"driftwise.cli.backtest", "driftwise.app.backtest", "numba"} & loaded


@pytest.mark.parametrize("name", list(cli.MODULES))
def test_the_listed_help_is_the_command_s_own(name: str) -> None:
    command = cli._loaded(cli.MODULES[name])[name]
    own = (command.help or "").split("\n\n")[0].replace("\n", " ")
    assert cli._short_help(name) == own


def test_dask_is_imported_by_a_parallel_run_only() -> None:
    """``distributed`` loads on the first parallel run, never with a command's module."""
    for command in ("backtest", "validate-rules"):
        loaded = _modules_after(f"from driftwise.cli import main; main(['{command}', '--help'])")
        assert f"driftwise.cli.{command.replace('-rules', '')}" in loaded
        assert not {"distributed", "dask"} & loaded, command


def _after_command(args: list[str]) -> tuple[set[str], str]:
    """The modules loaded and the output of ``driftwise ARGS`` run as the ``driftwise``
    process runs it (``main()`` reading ``sys.argv``)."""
    code = ("import sys\nfrom driftwise.cli import main\n"
            f"sys.argv = ['driftwise', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
            "print('MODULES', sorted(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    head, _, modules = out.rpartition("MODULES ")
    return set(eval(modules)), head


MONITOR_NEVER = {
    "numba", "pyarrow", "scipy", "sqlalchemy", "dask", "distributed", "plotly", "clarabel",
    "cvxpy", "exchange_calendars", "driftwise.backtest", "driftwise.backtest.batches",
    "driftwise.backtest.grid", "driftwise.backtest.history", "driftwise.app.plan",
    "driftwise.app.backtest", "driftwise.policy.rule", "driftwise.policy.sizing",
    "driftwise.policy.book", "driftwise.validation", "driftwise.report", "driftwise.record",
    "driftwise.execution", "driftwise.execution.schedule", "driftwise.policy.optimize",
    "driftwise.policy.triggers", "driftwise.tax",
}
"""What ``monitor`` never uses: the compiler, Arrow, the solvers, the record, the backtest,
the planner's decision, the execution schedule, the optimizer, the trigger registry, the
tax rules, the report and the study."""


def test_monitor_imports_only_what_it_uses() -> None:
    loaded, out = _after_command(["monitor", "--json"])
    assert '"portfolio_drift"' in out
    assert not MONITOR_NEVER & loaded, sorted(MONITOR_NEVER & loaded)


def test_plan_imports_neither_arrow_nor_the_backtest() -> None:
    loaded, _ = _after_command(["plan", "--json"])
    assert not {"numba", "pyarrow", "driftwise.backtest.engine", "driftwise.validation",
                "driftwise.report", "driftwise.record"} & loaded


def test_a_parquet_input_still_reads_when_pandas_came_without_arrow(tmp_path: Path) -> None:
    """pandas imported without pyarrow (``monitor``, ``plan``) still reads a Parquet file:
    pyarrow loads then, and the figures equal those of the same data as CSV."""
    from driftwise.data.sample import load_sample, sample_file

    prices = load_sample().market.prices.iloc[-300:].rename_axis("date").reset_index()
    prices["date"] = prices["date"].dt.strftime("%Y-%m-%d")
    prices.to_parquet(tmp_path / "prices.parquet", index=False)
    prices.to_csv(tmp_path / "prices.csv", index=False)
    common = ["monitor", "--json", "--holdings", str(sample_file("holdings.csv")),
              "--targets", str(sample_file("targets.csv"))]
    loaded, parquet = _after_command([*common, "--prices", str(tmp_path / "prices.parquet")])
    assert "pyarrow" in loaded
    _, csv = _after_command([*common, "--prices", str(tmp_path / "prices.csv")])
    assert json.loads(parquet.replace("prices.parquet", "prices.csv")) == json.loads(csv)
