"""Fixtures for the input readers: small (often bad) files written to ``tmp_path``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from driftwise.errors import DataError

WriteText = Callable[[str, str], Path]
WriteParquet = Callable[[str, pd.DataFrame], Path]
Located = Callable[[DataError, "Path | str", int, str], None]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteText:
    """Write dedented CSV text to ``tmp_path / name`` and return the path.

    Line numbers in the text are the ones a reader reports: the header is line 1.
    """

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_parquet(tmp_path: Path) -> WriteParquet:
    """Write a frame to ``tmp_path / name`` as Parquet (no index) and return the path."""

    def write(name: str, frame: pd.DataFrame) -> Path:
        path = tmp_path / name
        frame.to_parquet(path, index=False)
        return path

    return write


def _located(err: DataError, file: Path | str, row: int, field: str) -> None:
    text = str(err)
    assert err.file == str(file), text
    assert err.row == row, text
    assert err.field == field, text
    assert str(file) in text and f"row {row}" in text and f"field '{field}'" in text, text


@pytest.fixture
def located() -> Located:
    """Assert a DataError names the file, the row (line number) and the field."""
    return _located
