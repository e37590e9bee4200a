"""The ``driftwise`` command line.

Exit codes: 0 ok, 1 unexpected failure, 2 usage error, 3 bad input (a
:class:`~driftwise.errors.DriftwiseError`: the message names file, row and field; no
traceback). Each command lives in its own module and registers itself on :data:`app`.

The commands are loaded when used (:class:`_LazyCommands`): ``driftwise --help`` lists them
with the first line of their docstrings, read from the source without importing it, and
``driftwise plan`` imports only what ``plan`` needs, so a command starts fast; ``plan``
and ``monitor`` run the kernels as plain Python, without numba (:data:`PLAIN_PYTHON`).
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import MutableMapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import typer
import typer.core
import typer.main

from driftwise.errors import ConfigError, DriftwiseError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3

MODULES = {"plan": "plan", "monitor": "monitor", "harvest": "harvest", "costs": "costs",
           "fills": "fills", "validate-rules": "validate", "backtest": "backtest",
           "report": "report", "config": "plan", "init": "record", "import": "record",
           "approve": "record", "history": "record", "daily": "daily", "review": "daily",
           "dashboard": "dashboard", "calibrate-costs": "calibrate"}
"""Each command (in the order of ``--help``) and the module of ``driftwise.cli`` that
registers it."""


PLAIN_PYTHON = frozenset({"plan", "monitor"})
"""The commands that run the kernels as plain Python (:mod:`driftwise._jit`): one
configuration on one day, where setting up numba's compiler would cost more than the
computation; ``plan --report`` runs backtests, so it keeps them compiled. Only the
``driftwise`` process itself does (:func:`main` without ``argv``): a Python caller of
:func:`main` keeps the mode of its process."""


class _LazyCommands(typer.core.TyperGroup):
    """The root group: a command's module is imported when the command is used.

    Listing the commands for ``--help`` needs only their short help, which
    :func:`_short_help` reads from the module's source; any other use of a command (running
    it, its own ``--help``, ``commands``) imports its module and registers it as usual.
    """

    _listing = False

    @property  # type: ignore[override]
    def commands(self) -> MutableMapping[str, Any]:
        return {name: self.get_command(None, name) for name in MODULES}  # type: ignore[arg-type]

    @commands.setter
    def commands(self, value: MutableMapping[str, Any]) -> None:
        pass  # the commands come from MODULES

    def list_commands(self, ctx: Any) -> list[str]:
        return list(MODULES)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in MODULES:
            return None
        if self._listing:
            return typer.core.TyperCommand(cmd_name, help=_short_help(cmd_name))
        return _loaded(MODULES[cmd_name]).get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


@cache
def _loaded(module: str) -> dict[str, Any]:
    """The commands ``driftwise.cli.<module>`` registers, by name."""
    sub = typer.Typer(rich_markup_mode="rich", pretty_exceptions_enable=False)
    importlib.import_module(f"driftwise.cli.{module}").register(sub)
    group = typer.main.get_group(sub)
    return dict(group.commands)


@cache
def _short_help(name: str) -> str:
    """The first paragraph of the docstring of the function registered as ``name``, read
    from the source of its module (``app.command(name)(fn)`` or ``app.add_typer(x,
    name=name)`` with ``x = typer.Typer(help=...)``)."""
    tree = ast.parse(Path(__file__).with_name(f"{MODULES[name]}.py").read_text("utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if (isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Attribute)
                and node.func.func.attr == "command" and node.func.args
                and ast.literal_eval(node.func.args[0]) == name
                and isinstance(node.args[0], ast.Name)):
            doc = ast.get_docstring(functions[node.args[0].id]) or ""
            return doc.split("\n\n")[0].replace("\n", " ")
        if (isinstance(node.func, ast.Attribute) and node.func.attr == "add_typer"
                and any(k.arg == "name" and ast.literal_eval(k.value) == name
                        for k in node.keywords)):
            return _typer_help(tree, node.args[0])
    raise LookupError(f"driftwise.cli.{MODULES[name]} registers no command {name!r}")


def _typer_help(tree: ast.Module, target: ast.expr) -> str:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(target, ast.Name)
                and any(isinstance(t, ast.Name) and t.id == target.id for t in node.targets)
                and isinstance(node.value, ast.Call)):
            for k in node.value.keywords:
                if k.arg == "help":
                    return str(ast.literal_eval(k.value))
    return ""


app = typer.Typer(
    name="driftwise",
    help="When and how to rebalance a US portfolio. Every command runs on the embedded "
    "sample when given no input.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    cls=_LazyCommands,
)


@app.callback()
def _root() -> None:
    """When and how to rebalance a US portfolio (every command runs on the embedded sample)."""


def _prefer_python_kernels(args: Sequence[str]) -> None:
    """Ask for the kernels' Python mode when ``args`` run a command of :data:`PLAIN_PYTHON`
    (``plan`` without ``--report``)."""
    if args and args[0] in PLAIN_PYTHON and not any(
            a == "--report" or a.startswith("--report=") for a in args[1:]):
        from driftwise import _jit

        _jit.prefer("python")
        _import_pandas_without_pyarrow()


def _import_pandas_without_pyarrow() -> None:
    """Import pandas without letting it import pyarrow (about 0.1 s), for a command of
    :data:`PLAIN_PYTHON`.

    pandas imports pyarrow when it can, to offer Arrow-backed dtypes that these commands
    never use; blocked while pandas is imported, pandas keeps its own string storage. A
    Parquet file read later still imports pyarrow then (``pandas.read_parquet`` imports it
    itself), so only a command that reads one pays for it.
    """
    if "pandas" in sys.modules or "pyarrow" in sys.modules:
        return
    sys.modules["pyarrow"] = None  # type: ignore[assignment]  # import pyarrow -> ImportError
    try:
        import pandas  # noqa: F401
    finally:
        if sys.modules.get("pyarrow", False) is None:
            del sys.modules["pyarrow"]


def _check_jit_environment() -> None:
    """Refuse a ``DRIFTWISE_JIT`` that names no mode before any kernel is defined."""
    from driftwise import _jit

    try:
        _jit.requested()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return (and, as a script, exit with) the exit code.

    Typer runs in standalone mode, so usage errors print their help and exit with 2;
    our own errors are caught here and exit with 3 and a one-line message.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        _check_jit_environment()
        if argv is None:  # the driftwise process itself (a caller in Python keeps its mode)
            _prefer_python_kernels(args)
        app(args=args, prog_name="driftwise")
        code = EXIT_OK
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except ConfigError as exc:
        from driftwise.cli._output import err_console

        err_console.print(f"[bold red]configuration error:[/] {exc}", highlight=False)
        code = EXIT_BAD_INPUT
    except DriftwiseError as exc:
        from driftwise.cli._output import err_console

        err_console.print(f"[bold red]input error:[/] {exc}", highlight=False)
        code = EXIT_BAD_INPUT
    if argv is None:
        sys.exit(code)
    return code
