"""The error tree of driftwise.

Every error a user can cause derives from :class:`DriftwiseError` and is also a
``ValueError``. Data errors name the file, the row and the field, what was expected
and what was found; the command line maps them to exit code 3 without a traceback.

Row numbers are **line numbers in the file as a person sees it in an editor**: the
header is line 1, the first data row is line 2. For Parquet files, where there are no
lines, the row is the 1-based record number.
"""

from __future__ import annotations

from pathlib import Path


class DriftwiseError(ValueError):
    """Root of every error driftwise raises on purpose."""


class DataError(DriftwiseError):
    """An input file or frame holds data driftwise cannot use.

    Parameters
    ----------
    problem : str
        What is wrong, in words a portfolio manager understands.
    file : str or Path, optional
        The file (or a label such as ``"prices"`` for an in-memory frame).
    row : int, optional
        Line number in the file (header = line 1) or 1-based record number.
    field : str, optional
        The column or field.
    expected, found : str, optional
        What was expected and what was found.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = None if file is None else str(file)
        self.row = row
        self.field = field
        self.expected = expected
        self.found = found
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        text = (", ".join(where) + ": " if where else "") + self.problem
        if self.expected is not None:
            text += f"; expected {self.expected}"
        if self.found is not None:
            text += f", found {self.found}"
        return text


class ConfigError(DriftwiseError):
    """A configuration value (TOML file, option or parameter) is invalid."""
