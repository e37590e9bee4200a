"""The fills record: which executions a holdings file already contains, written atomically.

``driftwise fills`` writes the updated holdings and, beside them, a record of every
execution applied so far (``<holdings file>.fills.json``): its ``exec_id`` and contents
(:func:`~driftwise.execution.fills.fill_record`), the SHA-256 of the holdings file it
belongs to, the hash of the file it replaced, and the ids of the last run. Applying the
same fills file again then changes nothing, and an id that comes back with other contents
is an error.

Each file is written to a temporary file in the same folder and renamed over the old one
(``os.replace``, atomic on one file system): a reader sees the old file or the new one,
never half of one. The record is renamed first, the holdings second; if a run stops
between the two renames, the holdings file still hashes to the record's *previous* hash,
and the next run knows that the last run's executions did not reach the holdings (it
applies them again, once). A holdings file edited by hand after the record was written
matches neither hash: the record is still trusted (its executions are in the holdings)
and the output says so.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from driftwise.data.holdings import write_holdings
from driftwise.data.model import Holdings
from driftwise.errors import DataError

SUFFIX = ".fills.json"
VERSION = 1


def record_path(holdings_path: Path) -> Path:
    """The fills record that belongs to a holdings file."""
    return holdings_path.with_name(holdings_path.name + SUFFIX)


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes (None when it does not exist)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class FillRecord:
    """Executions applied to a holdings file.

    Attributes
    ----------
    fills : dict
        ``exec_id`` -> contents of the fill (:func:`~driftwise.execution.fills.fill_record`).
    holdings_sha256 : str or None
        Hash of the holdings file written with this record.
    previous_sha256 : str or None
        Hash of the file that holdings file replaced (None: there was none).
    last_run : tuple of str
        The ids the last run applied.
    note : str
        What reading found, for the output ("" when the record matches its holdings).
    """

    fills: dict[str, dict[str, object]] = field(default_factory=dict)
    holdings_sha256: str | None = None
    previous_sha256: str | None = None
    last_run: tuple[str, ...] = ()
    note: str = ""


def read_record(holdings_path: Path) -> FillRecord:
    """The record of the executions already in ``holdings_path`` (empty when none).

    Raises
    ------
    DataError
        An unreadable record, naming it.
    """
    path = record_path(holdings_path)
    if not path.exists():
        return FillRecord()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fills = {str(k): dict(v) for k, v in data["fills"].items()}
        last = tuple(str(x) for x in data.get("last_run", ()))
        current, previous = data.get("holdings_sha256"), data.get("previous_sha256")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError("unreadable fills record", file=str(path), field="fills",
                        expected="the JSON written by driftwise fills",
                        found=f"{type(exc).__name__}: {exc}") from None
    actual = file_sha256(holdings_path)
    note = ""
    if actual != current and actual == previous and previous is not None:
        for key in last:  # the last run stopped before its holdings were renamed
            fills.pop(key, None)
        note = (f"the last run's {len(last)} execution(s) never reached {holdings_path.name}: "
                "they are applied now")
    elif actual != current:
        note = (f"{holdings_path.name} changed after its fills record was written: the "
                f"{len(fills)} recorded execution(s) are taken as already in it")
    return FillRecord(fills, current, previous, last, note)


def write_atomically(holdings: Holdings, out: Path, record: Mapping[str, Mapping[str, object]],
                     last_run: tuple[str, ...]) -> Path:
    """Write ``holdings`` to ``out`` and its fills record beside it, each atomically.

    The record goes first (temporary file, then rename), the holdings second; see the
    module docstring for what a reader makes of a run stopped in between.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    write_holdings(holdings, temp)
    try:
        data = {"version": VERSION, "holdings_sha256": file_sha256(temp),
                "previous_sha256": file_sha256(out), "last_run": list(last_run),
                "fills": {k: dict(v) for k, v in record.items()}}
        target = record_path(out)
        temp_record = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp_record.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n",
                               encoding="utf-8")
        os.replace(temp_record, target)
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    return out
