"""Command-line runs in forked processes, forked from a clean process.

Forking the test process itself is unsafe: a pytest-xdist worker runs threads of its own
(and, after a Dask test, a cluster's event loop), and a lock one of them held at the fork
stays held forever in the child, which then hangs. The runs are therefore forked by a
``forkserver``: a fresh single-threaded interpreter started once, which imports the
package and loads the compiled kernels (this module, preloaded) and forks a child per run,
so a run still takes milliseconds. A run that outlives :data:`DEADLINE_S` is killed and
reported as a hang.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.context import ForkServerContext

import driftwise.app.daily
import driftwise.cli.daily
import driftwise.cli.fills
import driftwise.cli.record
import driftwise.record.fills  # noqa: F401  (imported once, in the fork server)
from driftwise.cli import main
from driftwise.record.db import KILL_HOOK_VAR

DEADLINE_S = 300.0
"""Seconds a forked run may take before it counts as hung."""

_CONTEXT: ForkServerContext | None = None


def _context() -> ForkServerContext:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload([__name__, "tests.record._forked_warm"])
    return _CONTEXT


def _child(argv: list[str], kill_after: int | None) -> None:
    code = 98
    try:
        if kill_after is not None:
            os.environ[KILL_HOOK_VAR] = str(kill_after)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        code = main(argv)
    finally:
        os._exit(code)


def start(argv: list[str], kill_after: int | None = None) -> multiprocessing.process.BaseProcess:
    """Start ``driftwise argv`` in a forked child (``DRIFTWISE_RECORD_KILL_AFTER`` set to
    ``kill_after`` when given)."""
    process = _context().Process(target=_child, args=(argv, kill_after))
    process.start()
    return process


def finish(process: multiprocessing.process.BaseProcess) -> int | None:
    """The exit code of a run started by :func:`start`, or None when it was killed
    (SIGKILL); a run past :data:`DEADLINE_S` is killed and fails the test."""
    process.join(DEADLINE_S)
    if process.exitcode is None:
        process.kill()
        process.join()
        raise AssertionError(f"a forked driftwise run hung for {DEADLINE_S:.0f} s")
    if process.exitcode < 0:
        assert -process.exitcode == signal.SIGKILL
        return None
    return process.exitcode


def run(argv: list[str], kill_after: int | None = None) -> int | None:
    """Run ``driftwise argv`` in a forked child: its exit code, or None when killed."""
    return finish(start(argv, kill_after))
