"""The ``driftwise`` command line.

Exit codes: 0 ok, 1 unexpected failure, 2 usage error, 3 bad input (a
:class:`~driftwise.errors.DriftwiseError`: the message names file, row and field; no
traceback). Each command lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from driftwise.cli._output import err_console
from driftwise.errors import ConfigError, DriftwiseError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3

app = typer.Typer(
    name="driftwise",
    help="When and how to rebalance a US portfolio. Every command runs on the embedded "
    "sample when given no input.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    """When and how to rebalance a US portfolio (every command runs on the embedded sample)."""


def _register() -> None:
    from driftwise.cli import backtest, costs, fills, monitor, plan, report, validate

    plan.register(app)
    monitor.register(app)
    costs.register(app)
    fills.register(app)
    validate.register(app)
    backtest.register(app)
    report.register(app)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return (and, as a script, exit with) the exit code.

    Typer runs in standalone mode, so usage errors print their help and exit with 2;
    our own errors are caught here and exit with 3 and a one-line message.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="driftwise")
        code = EXIT_OK
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except ConfigError as exc:
        err_console.print(f"[bold red]configuration error:[/] {exc}", highlight=False)
        code = EXIT_BAD_INPUT
    except DriftwiseError as exc:
        err_console.print(f"[bold red]input error:[/] {exc}", highlight=False)
        code = EXIT_BAD_INPUT
    if argv is None:
        sys.exit(code)
    return code
