"""The kernels run compiled or as plain Python (``driftwise._jit``), with the same results;
``plan`` and ``monitor`` run them as Python and never import numba."""

from __future__ import annotations

import dataclasses
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise import _jit
from driftwise.app.plan import Plan, make_plan
from driftwise.config import Config
from driftwise.data.model import Inputs
from driftwise.data.sample import load_sample

SAMPLE = load_sample()

WORKER = """
import pickle, struct, sys
from driftwise import _jit
from driftwise.app.plan import make_plan
assert _jit.mode() == "python"
read, write = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = read.read(8)
    if not head:
        break
    inputs, config = pickle.loads(read.read(struct.unpack("<Q", head)[0]))
    plan = make_plan(inputs, config)
    data = pickle.dumps((plan, "numba" in sys.modules))
    write.write(struct.pack("<Q", len(data)) + data)
    write.flush()
"""


def _env(mode: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != _jit.MODE_ENV}
    if mode is not None:
        env[_jit.MODE_ENV] = mode
    return env


def _run(code: str, mode: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(mode), timeout=300)


def _after_cli(args: list[str], mode: str | None = None) -> tuple[str, bool]:
    """The jit mode and whether numba was imported after ``driftwise ARGS`` in a fresh
    process."""
    done = _run("import sys\nfrom driftwise.cli import main\nfrom driftwise import _jit\n"
                f"sys.argv = ['driftwise', *{args!r}]\n"
                "try:\n    main()\nexcept SystemExit as done:\n    code = done.code\n"
                "print(code, _jit.mode(), 'numba' in sys.modules)", mode)
    code, mode_name, numba = done.stdout.split()[-3:]
    assert code == "0", done.stderr
    return mode_name, numba == "True"


@pytest.mark.parametrize("command", ["plan", "monitor"])
def test_plan_and_monitor_run_the_kernels_as_python_without_numba(command: str) -> None:
    assert _after_cli([command]) == ("python", False)


def test_a_python_caller_of_the_cli_keeps_its_mode() -> None:
    done = _run("import sys\nfrom driftwise.cli import main\nfrom driftwise import _jit\n"
                "main(['monitor'])\nprint(_jit.mode())")
    assert done.stdout.split()[-1] == "compiled"


def test_the_environment_variable_wins_over_the_command() -> None:
    assert _after_cli(["monitor"], mode="compiled") == ("compiled", True)


def test_plan_with_a_report_keeps_the_kernels_compiled() -> None:
    for args in (["plan", "--report", "r.html", "--help"], ["plan", "--report=r.html", "--help"]):
        assert _after_cli(args)[0] == "compiled"


def test_the_library_defaults_to_compiled_and_python_mode_imports_no_numba() -> None:
    code = ("import sys, driftwise as dw\nfrom driftwise import _jit\n"
            "dw.plan(dw.load())\nprint(_jit.mode(), 'numba' in sys.modules)")
    assert _run(code).stdout.split()[-2:] == ["compiled", "True"]
    assert _run(code, mode="python").stdout.split()[-2:] == ["python", "False"]


def test_a_bad_mode_is_a_clear_error() -> None:
    done = _run("import sys\nfrom driftwise.cli import main\nsys.argv = ['driftwise', 'monitor']\n"
                "main()", mode="fast")
    assert done.returncode == 3
    assert "DRIFTWISE_JIT='fast'" in done.stderr and "compiled, python" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_mode_is_fixed_once() -> None:
    code = ("from driftwise import _jit\n_jit.prefer('python')\nimport driftwise.costs.model\n"
            "_jit.prefer('compiled')\nprint(_jit.mode(), type(driftwise.costs.model.trade_costs)"
            ".__name__)")
    assert _run(code).stdout.split() == ["python", "function"]


# ------------------------------------------------------- the same plan both ways


class _Worker:
    """A process in the Python mode that makes plans of pickled inputs."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=_env("python"))

    def plan(self, inputs: Inputs, config: Config) -> tuple[Plan, bool]:
        data = pickle.dumps((inputs, config))
        stdin, stdout = self._pipes()
        stdin.write(struct.pack("<Q", len(data)) + data)
        stdin.flush()
        head = stdout.read(8)
        assert head, "the Python-mode worker died"
        return pickle.loads(stdout.read(struct.unpack("<Q", head)[0]))  # type: ignore[no-any-return]

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return self.proc.stdin, self.proc.stdout

    def close(self) -> None:
        self._pipes()[0].close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def worker() -> Iterator[_Worker]:
    assert _jit.mode() == "compiled"  # this process: the compiled kernels
    w = _Worker()
    yield w
    w.close()


def assert_same_plan(compiled: Plan, python: Plan) -> None:
    """The same decision and trade list, every amount equal to 1e-12 of NAV."""
    assert python.decision == compiled.decision
    assert python.reasons == compiled.reasons
    assert python.trades.index.equals(compiled.trades.index)
    numeric = compiled.trades.select_dtypes("number").columns
    assert list(numeric) == list(python.trades.select_dtypes("number").columns)
    tol = 1e-12 * compiled.nav_usd
    for column in numeric:
        np.testing.assert_allclose(python.trades[column].to_numpy(float),
                                   compiled.trades[column].to_numpy(float), rtol=0.0,
                                   atol=tol if column.endswith("usd") else 1e-12, err_msg=column)
    for side in ("before", "after"):
        ours, theirs = getattr(python, side), getattr(compiled, side)
        assert ours.keys() == theirs.keys()
        for key, value in theirs.items():
            np.testing.assert_allclose(ours[key], value, rtol=1e-12, atol=1e-12, err_msg=key)


def test_the_sample_plan_is_the_same_both_ways(worker: _Worker) -> None:
    config = Config()
    compiled = make_plan(SAMPLE, config)
    python, numba_loaded = worker.plan(SAMPLE, config)
    assert not numba_loaded
    assert len(compiled.trades) > 0
    assert_same_plan(compiled, python)


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[Inputs, Config]:
    """The sample's stocks held in random amounts with random cash, a random destination,
    constraints and cost setting, a threshold low enough to trade."""
    held = SAMPLE.holdings.shares
    scale = np.array(draw(st.lists(st.floats(0.05, 3.0), min_size=len(held),
                                   max_size=len(held))))
    shares = held * scale
    cash = draw(st.floats(0.0, 0.3)) * float((held * 100.0).sum())
    holdings = dataclasses.replace(SAMPLE.holdings, shares=pd.Series(shares, index=held.index),
                                   cash_usd=cash, lots=None)
    overrides: dict[str, Any] = {
        "policy.trigger": "threshold",
        "policy.threshold": draw(st.sampled_from([0.0, 0.01, 0.05])),
        "policy.destination": draw(st.sampled_from(
            ["full", "half", "band_edge", "cost_constrained"])),
        "constraints.whole_shares": draw(st.booleans()),
        "constraints.min_trade_usd": draw(st.sampled_from([0.0, 100.0, 5000.0])),
        "constraints.cash_buffer": draw(st.sampled_from([0.0, 0.02])),
        "constraints.max_turnover": draw(st.sampled_from([1.0, 0.05])),
        "costs.cost_scale": draw(st.sampled_from([0.5, 1.0, 20.0])),
        "costs.impact_model": draw(st.sampled_from(["square_root", "almgren_2005"])),
        "policy.skip_if_cost_exceeds_benefit": draw(st.booleans()),
    }
    return dataclasses.replace(SAMPLE, holdings=holdings), Config().with_overrides(overrides)


@settings(max_examples=25, deadline=None)
@given(case=portfolios())
def test_random_plans_are_the_same_both_ways(worker: _Worker,
                                             case: tuple[Inputs, Config]) -> None:
    inputs, config = case
    compiled = make_plan(inputs, config)
    python, _ = worker.plan(inputs, config)
    assert_same_plan(compiled, python)


def test_the_backtest_is_the_same_both_ways() -> None:
    """The compiled day loop's records are read by attribute in both modes."""
    import driftwise as dw

    code = ("import pickle, sys\nimport driftwise as dw\n"
            "frame = dw.backtest(start='2022-06-01').to_frame()\n"
            "sys.stdout.buffer.write(pickle.dumps((frame, 'numba' in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=_env("python"),
                          timeout=600, check=True)
    python, numba_loaded = pickle.loads(done.stdout)
    compiled = dw.backtest(start="2022-06-01").to_frame()
    assert not numba_loaded
    pd.testing.assert_frame_equal(python, compiled, check_exact=False, rtol=1e-12, atol=1e-12)
