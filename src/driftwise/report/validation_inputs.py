"""Read the research page's measured inputs from the files other commands write.

* **VIX multipliers**: what ``driftwise calibrate-costs --json`` prints (its ``rows``: one
  per estimator, size tier and VIX regime), or a CSV / Parquet table of the same columns;
* **many-path ranking**: what ``driftwise backtest --paths-length N --json`` prints (its
  ``paths.ranking``: one row per rule), or a CSV / Parquet table of the same columns with
  the rule's name in ``config``.

Each is checked as every input file is (:mod:`driftwise.data._table`): a missing column or
a value that is not a finite number is a :class:`~driftwise.errors.DataError` naming the
file, the row (a table's line; in a JSON file, the entry's number in its list, the
list's key beside the file) and the field.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise.data._table import Kind, Table, parse_column, read_table, require_columns
from driftwise.errors import DataError
from driftwise.report.validation_page import MULTIPLIER_COLUMNS, RANKING_COLUMNS

MULTIPLIERS_KEY = "rows"
"""The list of ``driftwise calibrate-costs --json`` the multipliers are read from."""
RANKING_KEY = ("paths", "ranking")
"""The list of ``driftwise backtest --paths-length N --json`` the ranking is read from."""
RULE_COLUMN = "config"
"""The ranking's column of rule names (the index of ``PathStats.ranking``)."""

_MULTIPLIER_NUMBERS = ("multiplier", "multiplier_low", "multiplier_high")
_OPTIONAL_NUMBERS = ("regime_index", "pairs", "stocks", "months", "episodes", "configured",
                     "spread_bps")


def read_multipliers(path: str | Path) -> pd.DataFrame:
    """The calibrated VIX multipliers of ``path`` (module docstring), one row per
    estimator, tier and regime: ``estimator, tier, regime, multiplier, multiplier_low,
    multiplier_high`` (and ``regime_index``, ``pairs``, ``stocks``, ``months`` (the
    calendar months behind the cell), ``episodes`` (runs of consecutive months among
    them), ``configured`` and ``spread_bps`` when given). A multiplier or a bound may be
    empty (null in JSON): the calibration leaves it undefined where the calm spread is not
    positive; it is read as NaN.

    Raises
    ------
    DataError
        Not readable, not the calibration's JSON or table, a missing column, a value that
        is not a number, an interval that does not hold its multiplier.
    """
    table = _table(path, "VIX multipliers", (MULTIPLIERS_KEY,),
                   "the output of driftwise calibrate-costs --json")
    require_columns(table, *MULTIPLIER_COLUMNS)
    out = pd.DataFrame({c: parse_column(table, c, Kind.STR)
                        for c in ("estimator", "tier", "regime")})
    for c in _MULTIPLIER_NUMBERS:  # empty: undefined (the calm spread not positive)
        out[c] = parse_column(table, c, Kind.FLOAT, required=False)
    for c in _OPTIONAL_NUMBERS:
        if c in table.columns:
            out[c] = parse_column(table, c, Kind.FLOAT, required=False)
    _check_interval(table, out, "multiplier")
    return out


def read_ranking(path: str | Path) -> pd.DataFrame:
    """The many-path ranking of ``path`` (module docstring), index the rule's name:
    ``rank, score, score_low, score_high, rank_low, rank_high, p_best`` (and
    ``tied_with``).

    Raises
    ------
    DataError
        Not readable, not the backtest's JSON (with paths) or table, a missing column, a
        value that is not a number, a duplicate rule, an interval that does not hold its
        score, a P(best) outside [0, 1].
    """
    table = _table(path, "ranking", RANKING_KEY,
                   "the output of driftwise backtest --paths-length N --json")
    require_columns(table, RULE_COLUMN, *RANKING_COLUMNS)
    names = parse_column(table, RULE_COLUMN, Kind.STR)
    seen = names.duplicated().to_numpy()
    if seen.any():
        pos = int(np.flatnonzero(seen)[0])
        raise table.error("the same rule twice", position=pos, field=RULE_COLUMN,
                          expected="one row per rule", found=str(names.iloc[pos]))
    out = pd.DataFrame({c: parse_column(table, c, Kind.FLOAT).to_numpy()
                        for c in RANKING_COLUMNS}, index=pd.Index(names, name=RULE_COLUMN))
    if "tied_with" in table.columns:
        tied = parse_column(table, "tied_with", Kind.STR, required=False)
        out["tied_with"] = [t or "" for t in tied]
    _check_interval(table, out, "score")
    outside = ((out["p_best"] < 0) | (out["p_best"] > 1)).to_numpy()
    if outside.any():
        pos = int(np.flatnonzero(outside)[0])
        raise table.error("P(best) is not a probability", position=pos, field="p_best",
                          expected="a fraction in [0, 1]", found=f"{out['p_best'].iloc[pos]:g}")
    return out


def _check_interval(table: Table, frame: pd.DataFrame, name: str) -> None:
    low, mid, high = (frame[f"{name}_low"].to_numpy(), frame[name].to_numpy(),
                      frame[f"{name}_high"].to_numpy())
    bad = (low > mid + 1e-12 * np.abs(mid)) | (mid > high + 1e-12 * np.abs(mid))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error(f"the interval does not hold the {name}", position=pos,
                          field=f"{name}_low, {name}_high",
                          expected=f"{name}_low <= {name} <= {name}_high",
                          found=f"{low[pos]:g} <= {mid[pos]:g} <= {high[pos]:g}")


def _table(path: str | Path, name: str, key: tuple[str, ...], what: str) -> Table:
    """A JSON file's list at ``key`` as a table (rows numbered from 1), else a CSV or
    Parquet table read as every input file is."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        return read_table(path, name=name)
    if not path.is_file():
        raise DataError(f"{name} file not found", file=path)
    where = ".".join(key)
    try:
        data: object = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError("file is not UTF-8 text", file=path, expected=what) from None
    except json.JSONDecodeError as exc:
        raise DataError("not valid JSON", file=path, row=exc.lineno, expected=what,
                        found=exc.msg) from None
    for k in key:
        if not isinstance(data, dict) or k not in data:
            raise DataError(f"no {name} in the JSON file", file=path, field=where,
                            expected=f"{what} (its {where!r} list)",
                            found="keys " + ", ".join(map(str, data)) if isinstance(data, dict)
                            else type(data).__name__)
        data = data[k]
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        raise DataError(f"no {name} rows in the JSON file", file=path, field=where,
                        expected=f"a non-empty list of records ({what})",
                        found=type(data).__name__ if not isinstance(data, list)
                        else f"{len(data)} entries")
    frame = pd.DataFrame.from_records(data)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame["_line"] = np.arange(1, len(frame) + 1)
    return Table(frame=frame, label=f"{path} (its {where!r} list)")
