"""``docs/api.md`` runs: its ``python`` blocks, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[str]:
    """The ``python`` code blocks of ``docs/api.md``, in order."""
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_has_the_session() -> None:
    code = "\n".join(blocks())
    for call in ("dw.load(", "dw.monitor(", "dw.plan(", "dw.backtest(", "dw.validate_rules(",
                 "dw.report(", ".to_frame()"):
        assert call in code, call


def test_the_session_runs() -> None:
    namespace: dict[str, object] = {"__name__": "api_doc"}
    for number, code in enumerate(blocks(), start=1):
        exec(compile(code, f"{DOC.name}, block {number}", "exec"), namespace)
    assert namespace["plan"].decision.value == "rebalance"
