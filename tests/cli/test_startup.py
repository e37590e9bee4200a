"""The command line starts fast: ``--help`` imports no command, a command only its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from driftwise import cli


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(sorted(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    return set(eval(out))


HELP_NEVER = {
    "pandas", "numpy", "numba", "pydantic", "driftwise.app.plan", "driftwise.cli.plan",
    "driftwise.config", "typer.rich_utils", "rich.markdown", "rich.traceback", "rich.syntax",
    "markdown_it", "pygments", "attr",
}
"""What ``driftwise --help`` never imports: a command, the numeric stack, the
configuration, and typer's help renderer with the Markdown, syntax highlighting and
traceback modules it brings (the root's help is drawn with rich's panel and table)."""


def test_the_root_help_imports_no_command_nor_the_numeric_stack() -> None:
    loaded = _modules_after("from driftwise.cli import main; main(['--help'])")
    assert not HELP_NEVER & loaded, sorted(HELP_NEVER & loaded)


def test_the_root_help_lists_every_command_with_its_own_help() -> None:
    """The root's help, drawn without typer's renderer, shows each command beside its
    short help, in panels as typer draws them (and click's plain help without rich)."""
    code = "from driftwise.cli import main; main(['--help'])"
    env = {**os.environ, "TERMINAL_WIDTH": "400"}
    for use_rich in ("1", "0"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**env, "TYPER_USE_RICH": use_rich}).stdout
        assert "Usage: driftwise [OPTIONS] COMMAND [ARGS]..." in out
        assert ("╭─ Commands" in out) == (use_rich == "1")
        for name in cli.MODULES:  # click's plain help cuts a help to its first words
            shown = cli.SHORT_HELP[name] if use_rich == "1" else cli.SHORT_HELP[name][:20]
            assert re.search(rf"^\W*{re.escape(name)} +{re.escape(shown)}", out, re.M), \
                (use_rich, name)
        assert re.search(r"--help +Show this message and exit\.", out)


def test_a_command_imports_its_own_module_only() -> None:
    loaded = _modules_after("from driftwise.cli import main; main(['fills', '--help'])")
    assert "driftwise.cli.fills" in loaded
    assert not {"driftwise.cli.backtest", "driftwise.app.backtest", "numba"} & loaded


def test_every_command_has_a_short_help() -> None:
    assert list(cli.SHORT_HELP) == list(cli.MODULES)


@pytest.mark.parametrize("name", list(cli.MODULES))
def test_the_listed_help_is_the_command_s_own(name: str) -> None:
    command = cli._loaded(cli.MODULES[name])[name]
    own = (command.help or "").split("\n\n")[0].replace("\n", " ")
    assert cli.SHORT_HELP[name] == own


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
    "driftwise.policy.triggers", "driftwise.tax", "typer.rich_utils", "markdown_it",
    "pygments", "rich._emoji_codes", "html", "tomllib", "tomli_w",
    "driftwise.config.messages", "driftwise.config.template",
}
"""What ``monitor`` never uses: the compiler, Arrow, the solvers, the record, the backtest,
the planner's decision, the execution schedule, the optimizer, the trigger registry, the
tax rules, the report and the study, typer's help renderer; rich's table of emoji codes
(text is printed as written), the HTML of a notebook's card, and what the configuration
needs only to read or write a TOML file or to word an error."""


def test_monitor_imports_only_what_it_uses() -> None:
    loaded, out = _after_command(["monitor", "--json"])
    assert '"portfolio_drift"' in out
    assert not MONITOR_NEVER & loaded, sorted(MONITOR_NEVER & loaded)


def test_a_command_given_no_configuration_builds_no_configuration_validator() -> None:
    """The defaults need no validator (``default_config``): ``monitor`` builds none, and
    ``plan`` only the whole configuration's, for the TOML its plan records."""
    check = ("import driftwise.config.model as m\n"
             "print('BUILT', sorted(n for n in m.__all__ if isinstance(getattr(m, n), type)"
             " and issubclass(getattr(m, n), m.BaseModel)"
             " and getattr(m, n).__pydantic_complete__))\n")
    for command, built in ((["monitor", "--json"], []), (["plan", "--json"], ["Config"])):
        code = ("import sys\nfrom driftwise.cli import main\n"
                f"sys.argv = ['driftwise', *{command!r}]\n"
                "try:\n    main()\nexcept SystemExit as done:\n    assert done.code == 0\n"
                + check)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        assert eval(run.stdout.rpartition("BUILT ")[2]) == built, command


PLAN_NEVER = {
    "numba", "pyarrow", "scipy", "driftwise.backtest.engine", "driftwise.validation",
    "driftwise.report", "driftwise.record", "typer.rich_utils", "markdown_it", "pygments",
    "driftwise.tax", "driftwise.tax.lots", "driftwise.tax.wash", "driftwise.tax.harvest",
    "driftwise.tax.donation", "driftwise.policy.tax_gate", "driftwise.execution.fills",
    "driftwise.execution.orders", "rich._emoji_codes", "html", "tomllib",
    "driftwise.config.messages", "driftwise.config.template",
}
"""What ``plan`` without lots, ``--out`` or a configuration file never uses: the compiler,
Arrow, the backtest, the record, the report and the study; the lot arithmetic (the tax
step, relief, wash sales, harvesting, donations: ``[tax]`` decides only on lots); the
fills' reader and the order files; rich's emoji codes, a notebook's HTML, and the
configuration's TOML reader, messages and template."""


def test_plan_imports_neither_arrow_nor_the_backtest() -> None:
    loaded, _ = _after_command(["plan"])
    assert "driftwise.execution.schedule" in loaded
    assert not PLAN_NEVER & loaded, sorted(PLAN_NEVER & loaded)


def test_the_lot_arithmetic_and_the_order_files_load_when_a_plan_uses_them(
        tmp_path: Path) -> None:
    """The modules ``plan`` leaves out load where they are used: the tax step with lots
    under ``[tax] enabled``, the order files with ``--out`` (and the plan is the same)."""
    from driftwise.data.sample import load_sample, sample_file

    lots = ["ticker,shares,acquired,cost_basis_usd"]
    for line in sample_file("holdings.csv").read_text().splitlines()[1:]:
        ticker, shares, value = line.split(",")[:3]
        lots.append(f"{ticker},{value},," if ticker == "CASH"
                    else f"{ticker},{shares},2022-09-15,{float(shares) * 400.0}")
    (tmp_path / "lots.csv").write_text("\n".join(lots) + "\n")
    prices = load_sample().market.prices.iloc[-300:].rename_axis("date").reset_index()
    prices["date"] = prices["date"].dt.strftime("%Y-%m-%d")
    prices.to_csv(tmp_path / "prices.csv", index=False)
    (tmp_path / "tax.toml").write_text("[tax]\nenabled = true\n")
    loaded, out = _after_command([
        "plan", "--json", "--holdings", str(tmp_path / "lots.csv"),
        "--prices", str(tmp_path / "prices.csv"), "--targets", str(sample_file("targets.csv")),
        "--master", str(sample_file("security_master.csv")),
        "--cost-file", str(sample_file("costs.csv")), "--config", str(tmp_path / "tax.toml")])
    assert {"driftwise.policy.tax_gate", "driftwise.tax.lots", "tomllib"} <= loaded
    sold = [t for t in json.loads(out)["trades"] if t["side"] == "SELL"]
    assert sold and all(t["tax_usd"] != 0 for t in sold), "the sales are taxed"
    loaded, _ = _after_command(["plan", "--out", str(tmp_path / "out")])
    assert "driftwise.execution.orders" in loaded
    assert (tmp_path / "out" / "orders.csv").exists()
    assert "driftwise.execution.fills" not in loaded


def test_the_execution_package_exports_its_names_on_first_use() -> None:
    """``from driftwise.execution import X`` imports X's module only, and every exported
    name resolves to the object its module defines."""
    loaded = _modules_after("from driftwise.execution import build_schedule")
    assert "driftwise.execution.schedule" in loaded
    assert not {"driftwise.execution.fills", "driftwise.execution.orders"} & loaded
    import importlib

    import driftwise.execution as execution

    for name in execution.__all__:
        module = importlib.import_module(f"driftwise.execution.{execution._MODULES[name]}")
        assert getattr(execution, name) is getattr(module, name)
    assert set(execution._MODULES) == set(execution.__all__)
    with pytest.raises(AttributeError):
        execution.no_such_name  # noqa: B018


def test_a_console_prints_emoji_codes_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """A ticker, an account or a flag's detail holding ``:name:`` is printed as written,
    not as a picture (rich would replace ``:thumbs_up:``)."""
    from driftwise.cli._output import console, notices_table, pairs_table
    from driftwise.flags import Flag, notice

    console.print(pairs_table([("account :thumbs_up:", ":x: 5%")], title="Portfolio :+1:"))
    console.print(notices_table([notice(Flag.VIX_PROXY, "detail :smile:", ["A:B"])]))
    out = capsys.readouterr().out
    for text in ("account :thumbs_up:", ":x: 5%", "Portfolio :+1:", "detail :smile:"):
        assert text in out


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


def test_the_driftwise_process_imports_with_the_collector_paused() -> None:
    """The ``driftwise`` process (``main()`` reading ``sys.argv``) imports with the cyclic
    collector paused and runs the command with it running again, the imported objects
    frozen; a Python caller of ``main(argv)`` keeps its collector as it was."""
    probe = ("import gc, sys\n"
             "import driftwise.app.monitor as app_monitor\n"
             "seen = []\n"
             "real = app_monitor.monitor\n"
             "def monitor(*args, **kwargs):\n"
             "    seen.append((gc.isenabled(), gc.get_freeze_count() > 0))\n"
             "    return real(*args, **kwargs)\n"
             "app_monitor.monitor = monitor\n"
             "from driftwise.cli import main\n")
    as_process = (probe + "sys.argv = ['driftwise', 'monitor', '--json']\n"
                  "try:\n    main()\nexcept SystemExit as done:\n    assert done.code == 0\n"
                  "print('STATE', seen, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", as_process], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert out.rpartition("STATE ")[2].split() == ["[(True,", "True)]", "True"], out[-300:]
    paused = ("import gc, sys\nfrom driftwise import cli\nstates = []\n"
              "real = cli._loaded.__wrapped__\n"
              "def loaded(module):\n"
              "    states.append(gc.isenabled())\n"
              "    return real(module)\n"
              "cli._loaded = loaded\n"
              "sys.argv = ['driftwise', 'monitor', '--json']\n"
              "try:\n    cli.main()\nexcept SystemExit as done:\n    assert done.code == 0\n"
              "print('STATE', states, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", paused], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert out.rpartition("STATE ")[2].split() == ["[False]", "True"], out[-300:]
    for caller in ("gc.enable()", "gc.disable()"):
        code = (probe + f"{caller}\nassert main(['monitor', '--json']) == 0\n"
                "print('STATE', seen, gc.isenabled(), gc.get_freeze_count())")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=300).stdout
        enabled = caller == "gc.enable()"
        assert out.rpartition("STATE ")[2].split() == [
            f"[({enabled},", "False)]", str(enabled), "0"], (caller, out[-300:])
