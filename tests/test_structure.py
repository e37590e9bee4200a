"""The package's structure: layers, no cycles, a small root.

Read from the source (AST), so that an import inside a function counts as much as one at
the top: the configuration is read only by the configuration layer and the layers above
it, and no package imports a package that imports it back.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import driftwise

SRC = Path(driftwise.__file__).parent
EDGE = {"config", "app", "cli", "api"}
"""The configuration layer and the layers above it (the commands, the library API)."""


def _unit(module: str) -> str:
    """The top-level folder or root module of ``driftwise.x.y`` (``x``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "driftwise"


def _imports() -> dict[str, set[tuple[str, str]]]:
    """Each source file's unit -> {(imported module, importing file)}."""
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts)
        unit = _unit(module) if len(rel.parts) > 1 else "driftwise"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = ([f"{node.module}.{a.name}" for a in node.names]
                         if node.module == "driftwise" else [node.module])
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("driftwise."):
                    out[unit].add((name, str(path.relative_to(SRC))))
    return out


def test_the_configuration_is_read_only_at_the_edge() -> None:
    offenders = sorted(
        f"{where} imports {name}" for unit, found in _imports().items() if unit not in EDGE
        for name, where in found if _unit(name) == "config")
    assert offenders == []


def test_no_cycle_between_packages() -> None:
    graph = {unit: {_unit(name) for name, _ in found} - {unit}
             for unit, found in _imports().items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, f"cycle: {' -> '.join([*path, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_root_holds_the_public_face_and_little_else() -> None:
    modules = {p.stem for p in SRC.glob("*.py")}
    public = {"__init__", "__main__", "api", "errors", "flags", "calendar", "state"}
    private = {m for m in modules if m.startswith("_") and not m.startswith("__")}
    assert modules - private == public
    assert private == {"_atomic", "_blas", "_display", "_jit", "_kernels", "_types"}
    folders = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert folders == {"app", "backtest", "cli", "config", "costs", "data", "execution",
                       "metrics", "policy", "record", "report", "tax", "validation"}
