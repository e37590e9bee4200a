"""The ``driftwise`` command line.

Exit codes: 0 ok, 1 unexpected failure, 2 usage error, 3 bad input (a
:class:`~driftwise.errors.DriftwiseError`: the message names file, row and field; no
traceback). Each command lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
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


def _register() -> None:
    from driftwise.cli import monitor

    monitor.register(app)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return (and, as a script, exit with) the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, standalone_mode=False, prog_name="driftwise")
    except click.exceptions.Exit as done:
        code = int(done.exit_code)
    except click.UsageError as exc:
        exc.show(file=sys.stderr)
        code = EXIT_USAGE
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        code = exc.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted")
        code = 1
    except ConfigError as exc:
        err_console.print(f"[bold red]configuration error:[/] {exc}", highlight=False)
        code = EXIT_BAD_INPUT
    except DriftwiseError as exc:
        err_console.print(f"[bold red]input error:[/] {exc}", highlight=False)
        code = EXIT_BAD_INPUT
    else:
        code = result if isinstance(result, int) else EXIT_OK
    if argv is None:
        sys.exit(code)
    return code
