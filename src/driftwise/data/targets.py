"""Read a target allocation.

One key column, exactly one of ``ticker`` (asset level), ``sector`` or ``asset_class``
(group level), and ``target_weight`` as a fraction of NAV. Optional per-row bands
``band_abs`` (fraction of NAV) and ``band_rel`` (fraction of the target) and an
``effective_date`` that must be one date for the whole file. A ``CASH`` row is the cash
target. Weights, cash included, must sum to 1: a sum within 1e-4 of 1 is rescaled and
flagged (:data:`~driftwise.flags.Flag.TARGETS_RESCALED`), anything else is an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwise.data._table import (
    Kind,
    Source,
    Table,
    first_duplicate,
    parse_column,
    parse_tickers,
    read_table,
    require_columns,
)
from driftwise.data.model import CASH, TargetLevel, Targets
from driftwise.errors import DataError
from driftwise.flags import Flag, Notice, notice

SUM_TOLERANCE = 1e-4
"""Largest |sum of weights − 1| that is rescaled (with a notice) instead of rejected."""

_SILENT_TOLERANCE = 1e-9
"""Float round-off: sums this close to 1 are rescaled without a notice."""

_PERCENT_TOLERANCE = 1.0
"""Sums within this of 100 are taken for percentages."""


def read_targets(source: Source, *, long_only: bool = True) -> Targets:
    """Read one version of the target allocation.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV, CSV.gz or Parquet with a key column and ``target_weight``.
    long_only : bool
        If True, weights must lie in [0, 1] (cash target included).

    Returns
    -------
    Targets
        Weights by key (sorted, no cash), the cash weight, bands aligned to the weights
        (NaN where not given), the effective date, and notices.

    Raises
    ------
    DataError
        No or several key columns, bad values, duplicate keys, negative or > 1 weights
        under long-only, negative bands, several effective dates, weights not summing
        to 1 (or given as percentages).
    """
    table = read_table(source, name="targets")
    level = _level(table)
    require_columns(table, level.value, "target_weight")
    keys = _keys(table, level)
    weights = parse_column(table, "target_weight", Kind.FLOAT)
    is_cash = (keys == CASH).to_numpy(dtype=bool)
    same = keys if level is TargetLevel.ASSET else keys.map(str.upper)  # "Energy" = "energy"
    first_duplicate(table, same, level.value, level.value)
    _check_weights(table, weights, long_only)
    band_abs = _band(table, "band_abs", is_cash)
    band_rel = _band(table, "band_rel", is_cash)
    effective = _effective_date(table)
    weights, notices = _normalized(table, weights)

    index = pd.Index(keys[~is_cash].to_numpy(dtype=object), name=level.value, dtype=object)

    def by_key(values: pd.Series, name: str) -> pd.Series:
        return pd.Series(values[~is_cash].to_numpy(dtype=float), index=index,
                         name=name).sort_index()

    lines = pd.Series(table.frame["_line"].to_numpy(dtype=np.int64)[~is_cash], index=index,
                      name="line").sort_index()
    return Targets(
        level=level,
        weights=by_key(weights, "target_weight"),
        cash_weight=float(weights[is_cash].sum()),
        band_abs=by_key(band_abs, "band_abs"),
        band_rel=by_key(band_rel, "band_rel"),
        effective_date=effective,
        source=table.label,
        notices=notices,
        lines=lines,
    )


def _level(table: Table) -> TargetLevel:
    present = [lv for lv in TargetLevel if lv.value in table.columns]
    names = ", ".join(lv.value for lv in TargetLevel)
    if not present:
        raise DataError("missing key column", file=table.label, row=1, field=names,
                        expected=f"exactly one of {names}",
                        found=", ".join(table.columns) or "no columns")
    if len(present) > 1:
        raise DataError("more than one key column", file=table.label, row=1,
                        field=", ".join(lv.value for lv in present),
                        expected=f"exactly one of {names}")
    return present[0]


def _keys(table: Table, level: TargetLevel) -> pd.Series:
    if level is TargetLevel.ASSET:
        return parse_tickers(table, level.value)
    names = parse_column(table, level.value, Kind.STR)
    # group names keep their spelling (whitespace collapsed); cash is recognised in any case
    names = names.map(lambda s: " ".join(str(s).split()))
    return names.map(lambda s: CASH if s.upper() == CASH else s).astype(object)


def _check_weights(table: Table, weights: pd.Series, long_only: bool) -> None:
    total = float(weights.sum())
    if abs(total - 100.0) <= _PERCENT_TOLERANCE:
        raise table.error("weights look like percentages; give fractions",
                          position=len(weights) - 1, field="target_weight",
                          expected="fractions summing to 1 (e.g. 0.25 for 25%)",
                          found=f"weights summing to {total:.6g}")
    if not long_only:
        return
    negative = (weights < 0).to_numpy(dtype=bool)
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise table.error("negative target weight in a long-only mandate", position=pos,
                          field="target_weight", expected="a weight >= 0 (or long_only=False)",
                          found=f"{weights.iloc[pos]:g}")
    above = (weights > 1 + SUM_TOLERANCE).to_numpy(dtype=bool)  # 1.00005 is rescaled later
    if above.any():
        pos = int(np.flatnonzero(above)[0])
        raise table.error("target weight above 1 in a long-only mandate", position=pos,
                          field="target_weight", expected="a fraction of NAV in [0, 1]",
                          found=f"{weights.iloc[pos]:g}")


def _band(table: Table, field: str, is_cash: np.ndarray) -> pd.Series:
    if field not in table.columns:
        return pd.Series(np.nan, index=table.frame.index, dtype=float)
    band = parse_column(table, field, Kind.FLOAT, required=False)
    negative = (band < 0).to_numpy(dtype=bool)
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise table.error("negative band", position=pos, field=field,
                          expected="a fraction >= 0", found=f"{band.iloc[pos]:g}")
    on_cash = band.notna().to_numpy(dtype=bool) & is_cash
    if on_cash.any():
        pos = int(np.flatnonzero(on_cash)[0])
        raise table.error("band on the CASH row", position=pos, field=field,
                          expected="blank (cash has a target but no band)",
                          found=f"{band.iloc[pos]:g}")
    return band


def _effective_date(table: Table) -> pd.Timestamp | None:
    if "effective_date" not in table.columns:
        return None
    dates = parse_column(table, "effective_date", Kind.DATE, required=False)
    if dates.isna().all():
        return None
    first = pd.Timestamp(dates.dropna().iloc[0])
    differs = (dates != first).to_numpy(dtype=bool)  # NaT differs too
    if differs.any():
        pos = int(np.flatnonzero(differs)[0])
        found = "blank" if pd.isna(dates.iloc[pos]) else str(pd.Timestamp(dates.iloc[pos]).date())
        raise table.error("effective_date must be one date for the whole file",
                          position=pos, field="effective_date",
                          expected=f"{first.date()} on every row", found=found)
    return first


def _normalized(table: Table, weights: pd.Series) -> tuple[pd.Series, tuple[Notice, ...]]:
    """Weights divided by their sum (cash included), with a notice when that mattered."""
    total = float(weights.sum())
    gap = abs(total - 1.0)
    if gap > SUM_TOLERANCE:
        rows = f"{table.line(0)}..{table.line(len(weights) - 1)}"
        raise table.error(f"target weights (cash included) on rows {rows} do not sum to 1",
                          position=len(weights) - 1, field="target_weight",
                          expected=f"a sum of 1 within {SUM_TOLERANCE:g}",
                          found=f"a sum of {total:.10g}")
    if gap <= _SILENT_TOLERANCE:
        return weights / total, ()
    detail = (f"target weights summed to {total:.10g}; divided every weight (cash included) "
              "by that sum so they sum to 1")
    return weights / total, (notice(Flag.TARGETS_RESCALED, detail),)
