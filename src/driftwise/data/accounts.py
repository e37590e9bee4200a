"""Read an accounts file: each account's household, tax status, model and overrides.

Columns: ``account`` (required, one row per account), and any of ``household``,
``tax_status`` (``taxable``, ``tax_deferred`` or ``tax_exempt``; ``tax-deferred`` and
``tax-exempt`` accepted), ``model`` (the model portfolio the account follows),
``cash_target_weight`` (its cash target, a fraction of NAV in [0, 1), overriding the
model's), ``do_not_buy`` and ``do_not_sell`` (tickers separated by spaces or ``;``).
A blank cell leaves the field unset. Every error names the file, the row and the field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise.data._table import (
    TICKER_PATTERN,
    Kind,
    Source,
    Table,
    first_duplicate,
    parse_column,
    read_table,
    require_columns,
)
from driftwise.data.model import Targets, TaxStatus
from driftwise.errors import DataError

ACCOUNT_FIELDS = ("household", "tax_status", "model", "cash_target_weight", "do_not_buy",
                  "do_not_sell")
"""The optional columns of an accounts file."""


@dataclass(frozen=True)
class AccountSpec:
    """One row of an accounts file (None: the cell was blank or the column absent).

    Attributes
    ----------
    account, household, model : str or None
    tax_status : TaxStatus or None
    cash_target_weight : float or None
        Fraction of NAV in [0, 1).
    cash_target_text : str or None
        The cash target as written (stored exactly).
    do_not_buy, do_not_sell : tuple of str
        Upper-cased tickers.
    """

    account: str
    household: str | None = None
    tax_status: TaxStatus | None = None
    model: str | None = None
    cash_target_weight: float | None = None
    cash_target_text: str | None = None
    do_not_buy: tuple[str, ...] = ()
    do_not_sell: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountFile:
    """An accounts file read: its rows, in file order, and which columns it has."""

    rows: tuple[AccountSpec, ...]
    columns: frozenset[str]
    source: str
    lines: tuple[int, ...] = ()
    """Each row's line in the file (header = 1)."""


_STATUS = {"taxable": TaxStatus.TAXABLE, "tax_deferred": TaxStatus.TAX_DEFERRED,
           "tax-deferred": TaxStatus.TAX_DEFERRED, "tax_exempt": TaxStatus.TAX_EXEMPT,
           "tax-exempt": TaxStatus.TAX_EXEMPT}


def read_account_file(source: Source) -> AccountFile:
    """Read and validate an accounts file (CSV, CSV.gz, Parquet or DataFrame).

    Raises
    ------
    DataError
        Naming the file, the row and the field: no ``account`` column, a blank or
        repeated account, an unknown tax status, a cash target outside [0, 1), a bad
        ticker in a restricted list.
    """
    table = read_table(source, name="accounts")
    require_columns(table, "account")
    names = parse_column(table, "account", Kind.STR)
    first_duplicate(table, names, "account", "account")
    present = frozenset(c for c in ACCOUNT_FIELDS if c in table.columns)

    def text(field: str) -> pd.Series:
        if field not in present:
            return pd.Series([None] * len(names), dtype=object)
        return parse_column(table, field, Kind.STR, required=False)

    status_text = text("tax_status")
    statuses: list[TaxStatus | None] = []
    for pos, value in enumerate(status_text):
        if value is None:
            statuses.append(None)
            continue
        found = _STATUS.get(str(value).strip().lower())
        if found is None:
            raise table.error("unknown tax status", position=pos, field="tax_status",
                              expected="taxable, tax_deferred or tax_exempt",
                              found=repr(value))
        statuses.append(found)
    cash_text = text("cash_target_weight")
    cash = (parse_column(table, "cash_target_weight", Kind.FLOAT, required=False)
            if "cash_target_weight" in present else pd.Series(np.nan, index=names.index))
    bad = ((cash < 0.0) | (cash >= 1.0)).to_numpy(dtype=bool)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error("cash target outside [0, 1)", position=pos,
                          field="cash_target_weight",
                          expected="a fraction of NAV, 0 <= cash < 1",
                          found=repr(cash_text.iloc[pos]))
    lists = {f: [_tickers(table, pos, f, v) for pos, v in enumerate(text(f))]
             for f in ("do_not_buy", "do_not_sell")}
    households, models = text("household"), text("model")
    rows = tuple(
        AccountSpec(account=str(names.iloc[i]), household=households.iloc[i],
                    tax_status=statuses[i], model=models.iloc[i],
                    cash_target_weight=None if np.isnan(cash.iloc[i]) else float(cash.iloc[i]),
                    cash_target_text=cash_text.iloc[i],
                    do_not_buy=lists["do_not_buy"][i], do_not_sell=lists["do_not_sell"][i])
        for i in range(len(names)))
    return AccountFile(rows, present, table.label,
                       tuple(table.line(i) for i in range(len(names))))


def _tickers(table: Table, pos: int, field: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    out = []
    for item in str(value).replace(";", " ").replace(",", " ").split():
        ticker = item.strip().upper()
        if not TICKER_PATTERN.fullmatch(ticker):
            raise table.error("not a valid ticker", position=pos,
                              field=field, expected="tickers separated by spaces or ;",
                              found=repr(item))
        out.append(ticker)
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class AccountProfile:
    """What an account's plan needs from the record besides holdings and targets.

    Attributes
    ----------
    name : str
    household : str or None
    tax_status : TaxStatus or None
        None: not declared (the configuration's ``[tax] enabled`` decides).
    model : str or None
    do_not_buy, do_not_sell : tuple of str
    """

    name: str
    household: str | None = None
    tax_status: TaxStatus | None = None
    model: str | None = None
    do_not_buy: tuple[str, ...] = ()
    do_not_sell: tuple[str, ...] = ()


def with_cash_target(targets: Targets, cash_weight: float) -> Targets:
    """``targets`` with the cash target ``cash_weight``, the other weights scaled by
    ``(1 - cash_weight) / (1 - targets.cash_weight)`` so that they still sum to one.

    Raises
    ------
    DataError
        The model is all cash (nothing to scale).
    """
    if targets.cash_weight >= 1.0:
        raise DataError("a cash override needs a model that is not all cash",
                        file=targets.source, field="cash_target_weight",
                        expected="a model with a cash target below 1",
                        found=str(targets.cash_weight))
    scale = (1.0 - cash_weight) / (1.0 - targets.cash_weight)
    weights = (targets.weights * scale).rename("target_weight")
    return dataclasses.replace(targets, weights=weights, cash_weight=cash_weight,
                               source=f"{targets.source} cash {cash_weight:g}")
