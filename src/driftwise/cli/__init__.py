"""The ``driftwise`` command line.

Exit codes: 0 ok, 1 unexpected failure, 2 usage error, 3 bad input (a
:class:`~driftwise.errors.DriftwiseError`: the message names file, row and field; no
traceback). Each command lives in its own module and registers itself on :data:`app`.

The commands are loaded when used (:class:`_LazyCommands`): ``driftwise --help`` lists them
with the first line of their docstrings (:data:`SHORT_HELP`) without importing them, and
``driftwise plan`` imports only what ``plan`` needs, so a command starts fast; ``plan``
and ``monitor`` run the kernels as plain Python, without numba (:data:`PLAIN_PYTHON`).
The ``driftwise`` process imports with Python's cyclic garbage collector paused
(:func:`_pause_collector`): imports create objects by the hundred thousand and almost no
garbage, and the collections they set off were a tenth of ``monitor``'s CPU time.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import MutableMapping, Sequence
from functools import cache
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

    Listing the commands for ``--help`` needs only their short help
    (:data:`SHORT_HELP`); any other use of a command (running
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
            return typer.core.TyperCommand(cmd_name, help=SHORT_HELP[cmd_name])
        return _loaded(MODULES[cmd_name]).get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            if typer.core.HAS_RICH and self.rich_markup_mode is not None:
                _print_root_help(self, ctx)
            else:  # TYPER_USE_RICH=0: click's plain help
                super().format_help(ctx, formatter)
        finally:
            self._listing = False


_OPTION_STYLES = {"option": "bold cyan", "switch": "bold green", "usage": "yellow"}
"""The colours typer's help gives options, switches and the usage line."""


def _print_root_help(group: _LazyCommands, ctx: Any) -> None:
    """Print ``driftwise --help`` as typer's renderer does (usage, help, an Options and a
    Commands panel, the same colours), drawn with rich's console, panel and table alone.

    typer's renderer (``typer.rich_utils``) also imports rich's Markdown, syntax and
    traceback modules, and through them markdown-it, pygments and attrs, for about 0.08 s
    of a 0.2 s ``--help``; the root's help uses none of them.
    """
    import inspect
    import os

    from rich.console import Console
    from rich.highlighter import RegexHighlighter
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text
    from rich.theme import Theme

    class Options(RegexHighlighter):
        highlights = [  # noqa: RUF012  (rich's own pattern: a class attribute)
                      r"(^|\W)(?P<switch>\-\w+)(?![a-zA-Z0-9])",
                      r"(^|\W)(?P<option>\-\-[\w\-]+)(?![a-zA-Z0-9])",
                      r"(?P<usage>Usage: )"]

    width = os.environ.get("TERMINAL_WIDTH")  # the variables typer's console reads
    force = True if any(os.environ.get(v) for v in ("GITHUB_ACTIONS", "FORCE_COLOR",
                                                    "PY_COLORS")) else None
    if os.environ.get("_TYPER_FORCE_DISABLE_TERMINAL"):
        force = False
    highlight = Options()
    console = Console(theme=Theme(_OPTION_STYLES), highlighter=highlight,
                      force_terminal=force, width=int(width) if width else None)
    console.print(Padding(highlight(group.get_usage(ctx)), 1), style="bold")
    if group.help:
        first = inspect.cleandoc(group.help).split("\n\n")[0].replace("\n", " ")
        console.print(Padding(highlight(Text.from_markup(first.strip())), (0, 1, 1, 1)))
    names = list(group.list_commands(ctx))
    rows = {"Options": [(", ".join(p.opts), getattr(p, "help", None) or "")
                        for p in group.get_params(ctx) if not getattr(p, "hidden", False)],
            "Commands": [(n, group.get_command(ctx, n).help or "") for n in names]}
    first_width = max(len(name) for row in rows.values() for name, _ in row)
    for title, row in rows.items():
        table = Table(highlight=False, show_header=False, expand=True, box=None,
                      pad_edge=False, padding=(0, 1))
        table.add_column(style="bold cyan", no_wrap=True, width=first_width)
        table.add_column(justify="left", no_wrap=False, ratio=10)
        for name, text in row:
            table.add_row(Text(name), highlight(Text.from_markup(text.strip())))
        console.print(Panel(table, border_style="dim", title=title, title_align="left"))


@cache
def _loaded(module: str) -> dict[str, Any]:
    """The commands ``driftwise.cli.<module>`` registers, by name (the collector, paused
    while the ``driftwise`` process imports, runs again once the command is loaded)."""
    sub = typer.Typer(rich_markup_mode="rich", pretty_exceptions_enable=False)
    importlib.import_module(f"driftwise.cli.{module}").register(sub)
    group = typer.main.get_group(sub)
    _resume_collector()
    return dict(group.commands)


_collector = {"paused": False}


def _pause_collector() -> None:
    """Pause the cyclic garbage collector while the ``driftwise`` process imports.

    Importing pandas, typer, rich, pydantic and a command's modules allocates objects by
    the hundred thousand (modules, classes, functions) and frees almost none, so the
    collections those allocations set off (about 200 in ``monitor``, a tenth of its CPU
    time) find next to nothing. Reference counting still frees everything else at once;
    :func:`_resume_collector` restarts the collector when the command is loaded, before
    its own work.
    """
    if gc.isenabled():
        gc.disable()
        _collector["paused"] = True


def _resume_collector() -> None:
    """Restart the collector :func:`_pause_collector` paused, the objects imported so far
    frozen (:func:`gc.freeze`: kept for the process's life, they are never scanned again,
    nor copied by a forked worker's collections)."""
    if _collector["paused"]:
        _collector["paused"] = False
        gc.freeze()
        gc.enable()


SHORT_HELP = {
    "plan": "Today's decision for one portfolio: rebalance, partial, delay, skip or invalid.",
    "monitor": "Where the portfolio stands today: drift, TE, drift speed, days to breach, flags.",
    "harvest": "Scan tax lots for loss-harvest candidates: loss, deferral and rate arbitrage.",
    "costs": "Price a trade list: half-spread, commission, impact, borrow; liquidity days; flags.",
    "fills": "Import fills: update shares, cash and lots, and reset drift tracking.",
    "validate-rules": (
        "Validate the methodology's rules 1-4 on history: events, hit rates, intervals, "
        "verdicts."
    ),
    "backtest": "Compare rebalancing rules on history, with block-bootstrap intervals.",
    "report": (
        "Write one self-contained HTML report: the plan, the backtest of the "
        "methodology's rules."
    ),
    "config": "Configuration files.",
    "init": "Create the portfolio record, or migrate it to this version's schema (idempotent).",
    "import": (
        "Import holdings, lots, targets, security master, costs, prices and VIX into the "
        "record."
    ),
    "approve": (
        "Approve the orders of a plan (proposed -> approved), or mark them sent or "
        "cancelled."
    ),
    "history": (
        "What was decided when, and why: an account's imports, plans (decision and "
        "reasons), order approvals and fills, in the order they were recorded."
    ),
    "daily": (
        "Plan every account of the record on one day, from the record alone, and show "
        "what needs action, sorted by drift and cost-benefit."
    ),
    "review": "Review an account from the history driftwise daily recorded.",
    "dashboard": (
        "Write the accounts dashboard: the accounts needing action, drift, expected costs"
        " and taxes, and orders, from the record."
    ),
    "calibrate-costs": (
        "Measure the VIX multipliers of spread and impact from daily high, low and close "
        "(Corwin-Schultz and Abdi-Ranaldo), by VIX regime and size tier, with intervals."
    ),
}
"""The first paragraph of each command's help, as ``driftwise --help`` lists it without
importing the command (``tests/cli/test_startup.py`` holds each equal to the help of the
command its module registers)."""


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
        if argv is None:  # the driftwise process itself (a caller in Python keeps its mode
            _pause_collector()  # and its collector)
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
    finally:
        _resume_collector()  # when no command was loaded (the root's help, a usage error)
    if argv is None:
        sys.exit(code)
    return code
