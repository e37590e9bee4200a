"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader (or a run stopped half-way) sees the old file or the new one, never a
truncated mix. ``os.replace`` is atomic on one file system, and the temporary file
lives beside its target so that both are on the same one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block ends.

    The folder is created when missing. When the block raises, ``path`` is left as it was
    and the temporary file is removed. The temporary name keeps the target's suffix (a
    writer that infers the format from it still works).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(out.suffixes)
    stem = out.name[: len(out.name) - len(suffix)] if suffix else out.name
    temp = out.with_name(f".{stem}.{os.getpid()}.tmp{suffix}")
    try:
        yield temp
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    out = Path(path)
    with atomic_path(out) as temp:
        temp.write_text(text, encoding=encoding)
    return out
