"""The kernels' disk cache: one stamp over every kernel source, so that no kernel keeps a
stale copy of a kernel of another file."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import driftwise
from driftwise import _jit

ROOT = Path(driftwise.__file__).resolve().parent

CALLER = """
from {decorator_import}
from kpkg.a._kernels import callee


@{decorator}
def caller(x):
    return callee(x) + 1.0
"""

CALLEE = """
from {decorator_import}


@{decorator}
def callee(x):
    return x * {factor}
"""

RUN = """
from kpkg.b._kernels import caller
print(caller(1.0), sum(caller.stats.cache_hits.values()))
"""


def _write_package(base: Path, decorator_import: str, decorator: str, factor: str) -> None:
    for sub in ("kpkg", "kpkg/a", "kpkg/b"):
        (base / sub).mkdir(parents=True, exist_ok=True)
        (base / sub / "__init__.py").write_text("")
    names = {"decorator_import": decorator_import, "decorator": decorator}
    (base / "kpkg/a/_kernels.py").write_text(CALLEE.format(**names, factor=factor))
    (base / "kpkg/b/_kernels.py").write_text(CALLER.format(**names))


def _run(base: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = os.pathsep.join([str(base), str(ROOT.parent)])
    done = subprocess.run([sys.executable, "-c", RUN], env=env, cwd=base, check=True,
                          capture_output=True, text=True, timeout=120)
    value, hits = done.stdout.split()
    return float(value), int(hits)


def _scenario(base: Path, decorator_import: str, decorator: str) -> list[tuple[float, int]]:
    """Run the caller, run it again, change the callee (same length), run it again."""
    _write_package(base, decorator_import, decorator, "2.0")
    first, second = _run(base), _run(base)
    _write_package(base, decorator_import, decorator, "3.0")
    return [first, second, _run(base)]


def test_a_changed_callee_in_another_file_recompiles_its_caller(tmp_path: Path) -> None:
    first, second, changed = _scenario(tmp_path, "driftwise._jit import kernel", "kernel")
    assert first == (3.0, 0)
    assert second == (3.0, 1)  # the cache works: loaded, not compiled
    assert changed == (4.0, 0)  # the callee's change reached the caller


def test_numbas_own_cache_keeps_the_stale_callee(tmp_path: Path) -> None:
    """The scenario above catches a stale cache: numba's per-file stamp misses it."""
    first, second, changed = _scenario(tmp_path, "numba import njit", "njit(cache=True)")
    assert (first, second) == ((3.0, 0), (3.0, 1))
    assert changed == (3.0, 1)


def test_the_stamp_changes_with_any_kernel_source(tmp_path: Path) -> None:
    _write_package(tmp_path, "driftwise._jit import kernel", "kernel", "2.0")
    before = _jit.sources_stamp(tmp_path / "kpkg")
    (tmp_path / "kpkg/a/_kernels.py").write_text("x = 1\n")
    assert _jit.sources_stamp(tmp_path / "kpkg") != before
    other = tmp_path / "kpkg/a/other.py"
    other.write_text("y = 2\n")
    after = _jit.sources_stamp(tmp_path / "kpkg")
    other.write_text("y = 3\n")
    assert _jit.sources_stamp(tmp_path / "kpkg") == after  # not a kernel source


def test_a_kernel_outside_a_kernel_source_is_refused() -> None:
    def twice(x: float) -> float:
        return 2.0 * x

    with pytest.raises(TypeError, match=r"test_jit\.py"):
        _jit.kernel(twice)


def test_every_kernel_lives_in_a_kernel_source() -> None:
    sources = set(_jit.kernel_sources(ROOT))
    with_kernels = {p for p in ROOT.rglob("*.py") if "@kernel\n" in p.read_text()}
    assert with_kernels <= sources
    names = {str(p.relative_to(ROOT)) for p in sources}
    assert {"_kernels.py", "costs/_kernels.py", "policy/_kernels.py", "metrics/_kernels.py",
            "backtest/_kernels.py", "_jit.py", "_types.py"} <= names


def test_kernel_sources_import_only_kernel_sources() -> None:
    """A kernel freezes the globals it reads: the stamp covers them when they come from
    kernel sources only."""
    sources = set(_jit.kernel_sources(ROOT))
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("driftwise"):
                module = ROOT.parent / Path(*str(node.module).split("."))
                targets = [module.with_suffix(".py")] if module.with_suffix(".py").exists() \
                    else [module / f"{alias.name}.py" for alias in node.names]
                for target in targets:
                    assert target in sources, f"{path.name} imports {target}"



NAMED = """
from typing import NamedTuple

from driftwise._jit import kernel


class {name}(NamedTuple):
    x: float


@kernel
def caller(p):
    return p.x + 1.0


def run():
    return caller({name}(2.0))
"""


def test_an_index_naming_a_removed_type_is_stale(tmp_path: Path) -> None:
    """numba unpickles a cache index before comparing its stamp: an index whose signature
    names a class since renamed must read as stale, not fail."""
    for sub in ("kpkg", "kpkg/b"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "__init__.py").write_text("")
    script = "from kpkg.b._kernels import caller, run\nprint(run(), 0)\n"
    values = []
    for name in ("Before", "After"):
        (tmp_path / "kpkg/b/_kernels.py").write_text(NAMED.format(name=name))
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT.parent)])
        done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        values.append(float(done.stdout.split()[0]))
    assert values == [3.0, 3.0]
