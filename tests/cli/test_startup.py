"""The command line starts fast: ``--help`` imports no command, a command only its own."""

from __future__ import annotations

import subprocess
import sys

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
