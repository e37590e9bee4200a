"""Options of the record's commands that must stay light: ``fills`` and ``plan`` declare
them without importing the configuration or the record (``tests/cli/test_startup.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="TOML configuration (see `driftwise config init`); defaults otherwise.",
    exists=False, dir_okay=False, show_default=False)]


DbOption = Annotated[str | None, typer.Option(
    "--db", help="The portfolio record: a SQLite file or a database URL "
    "(postgresql+psycopg://user@host/db). Default: \\[record] path or url of the "
    "configuration, then the DRIFTWISE_DB variable, then "
    "~/.local/share/driftwise/record.sqlite.", show_default=False)]

DEFAULT_ACCOUNT = "main"
"""The account of the record a command uses when none is named."""

AccountOption = Annotated[str, typer.Option(
    "--account", help="The account of the record.")]
