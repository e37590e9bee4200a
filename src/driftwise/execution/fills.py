"""Fills in: read executed fills and apply them to holdings.

A fills file has one row per execution: ``ticker, side, shares, price_usd, filled_at`` and
optionally ``fee_usd`` (commissions and fees, USD, >= 0), ``order_id``, ``account`` and
``exec_id`` (the broker's execution id, FIX tag 17). A fill is applied once per execution
id: a row repeating an id with the same contents is dropped, one with other contents is an
error naming the row and the field that differs, and ids already applied (the fills
record of :mod:`driftwise.execution.ledger`) are skipped the same way.
Sides are ``BUY`` or ``SELL`` (``B``, ``S``, ``SELL_SHORT``, ``SS`` accepted; a short
sale is a sale). ``filled_at`` is a timestamp; naive times are New York exchange time,
zoned ones are converted to it. Applying fills changes shares and cash, appends buy lots
and relieves sold lots; after it, the portfolio record should set the last rebalance date
to :func:`last_fill_date` (which resets drift tracking).

A sale may name the lots it relieves (specific identification) in an optional ``lots``
column: ``LOT_ID×SHARES`` entries (``*`` for ``×`` too) separated by ``;`` or ``,``, or a
lone ``LOT_ID`` for the whole fill; a lot's id is the lot file's ``lot_id``, else
``TICKER:YYYY-MM-DD`` (``#2``, ``#3`` ... for further lots of the same day, in file order:
:func:`driftwise.tax.lot_ids`). The plan's ``lots`` column is read as it is printed: its
method prefix (``hifo: ``, ``harvest: ``), the notes in parentheses and the lots it defers
(``... deferred until DATE``, not sold) are left out. The named lots are relieved exactly;
their shares must sum to the fill's.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Mapping
from typing import Literal

import numpy as np
import pandas as pd

from driftwise.data._table import (
    LINE,
    Kind,
    Source,
    Table,
    parse_column,
    parse_tickers,
    read_table,
    require_columns,
)
from driftwise.data.model import CASH, Holdings
from driftwise.errors import ConfigError, DataError
from driftwise.flags import Flag, merge_notices, notice
from driftwise.tax import Relief, TaxRates, lot_ids, relief_order
from driftwise.tax.wash import WASH_WINDOW_DAYS

EXCHANGE_TZ = "America/New_York"

FILL_COLUMNS = ["ticker", "side", "shares", "price_usd", "fee_usd", "filled_at", "order_id",
                "account", "exec_id", "lots", "row"]

RECORD_FIELDS = ("ticker", "side", "shares", "price_usd", "fee_usd", "filled_at", "account",
                 "lots")
"""What identifies an execution's contents: a repeated ``exec_id`` must repeat these."""

Relieve = Literal["fifo", "hifo", "min_tax", "specific"]
"""How a sale relieves lots: by a method, or ``specific``: every sale names its lots."""
RELIEF_METHODS = ("fifo", "hifo", "min_tax", "specific")

LOTS_HINT = ("LOT_ID×SHARES entries separated by ';' (the lot file's lot_id, else "
             "TICKER:YYYY-MM-DD), or one LOT_ID for the whole fill")
_SHARES_TOLERANCE = 1e-9
"""Relative tolerance of the named lots' shares against the fill's (float sums)."""
_ENTRY = re.compile(r"^(?P<lot>.+?)\s*[×*]\s*(?P<shares>[^×*\s]+)$")
_PREFIX = re.compile(r"^(?:fifo|hifo|min_tax|specific|harvest)\s*:\s+", re.IGNORECASE)
_DEFERRED = re.compile(r"^\S+ deferred until \S+$")

_SIDES = {"BUY": "BUY", "B": "BUY", "SELL": "SELL", "S": "SELL", "SELL_SHORT": "SELL",
          "SELL SHORT": "SELL", "SS": "SELL"}

ZERO_SHARES = 1e-9
"""Positions and lots smaller than this (fractional-share dust) are treated as closed."""


def read_fills(source: Source, *, as_of: object = None) -> pd.DataFrame:
    """Read and validate fills.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV / CSV.gz / Parquet file or a frame.
    as_of : date-like, optional
        Latest allowed fill time (default: now in New York). A date without a time allows
        the whole day.

    Returns
    -------
    pd.DataFrame
        Columns :data:`FILL_COLUMNS`: ``side`` BUY/SELL, ``shares`` and ``price_usd`` > 0,
        ``fee_usd`` >= 0 (0 when absent), ``filled_at`` naive New York time,
        ``order_id`` / ``account`` / ``exec_id`` (None when absent), ``lots`` (the lots a
        sale names, as ``LOT_ID×SHARES`` entries joined by ``;`` with every share count
        given; None when the row names none), ``row`` (source line). ``attrs["source"]``
        holds the file label for later messages.

    Raises
    ------
    DataError
        Missing column, blank or non-numeric value, shares or price <= 0, negative fee, bad
        side, cash ticker, unparseable or future ``filled_at``; ``lots`` on a purchase, a
        lot's shares not a number > 0, a lot named twice, a lone id beside others, the
        lots' shares not summing to the fill's; naming file, row, field.
    """
    table = read_table(source, name="fills")
    require_columns(table, "ticker", "side", "shares", "price_usd", "filled_at")
    ticker = parse_tickers(table)
    _reject(table, ticker == CASH, "ticker", "cash is not a security",
            "a security ticker")
    side_raw = parse_column(table, "side", Kind.STR).str.upper()
    side = side_raw.map(_SIDES)
    _reject(table, side.isna(), "side", "unknown side", "BUY or SELL", side_raw)
    shares = parse_column(table, "shares", Kind.FLOAT)
    _reject(table, shares <= 0, "shares", "shares must be > 0 (the side gives the direction)",
            "a number > 0")
    price = parse_column(table, "price_usd", Kind.FLOAT)
    _reject(table, price <= 0, "price_usd", "fill price must be > 0", "a price > 0")
    fee = _optional(table, "fee_usd", Kind.FLOAT)
    fee = fee.fillna(0.0) if fee is not None else pd.Series(0.0, index=table.frame.index)
    _reject(table, fee < 0, "fee_usd", "fee must be >= 0", "a fee >= 0")
    filled_at = _timestamps(table, "filled_at", _latest(as_of))
    out = pd.DataFrame({
        "ticker": ticker.astype(object), "side": side.astype(object),
        "shares": shares.astype(float), "price_usd": price.astype(float),
        "fee_usd": fee.astype(float), "filled_at": filled_at,
        "order_id": _optional(table, "order_id", Kind.STR),
        "account": _optional(table, "account", Kind.STR),
        "exec_id": _optional(table, "exec_id", Kind.STR),
        "lots": _named_lots(table, side, shares),
        "row": table.frame[LINE].astype(np.int64),
    })[FILL_COLUMNS]
    out.attrs["source"] = table.label
    return out


def _optional(table: Table, field: str, kind: Kind) -> pd.Series | None:
    if field not in table.frame.columns:
        return None
    return parse_column(table, field, kind, required=False)


def _named_lots(table: Table, side: pd.Series, shares: pd.Series) -> pd.Series:
    """The ``lots`` column as canonical text (None where a row names none)."""
    out = pd.Series([None] * len(table.frame), index=table.frame.index, dtype=object)
    text = _optional(table, "lots", Kind.STR)
    if text is None:
        return out
    for pos, value in enumerate(text):
        if not isinstance(value, str) or not value.strip():
            continue
        if side.iloc[pos] != "SELL":
            raise table.error("a purchase names no lots (it opens one)", position=pos,
                              field="lots", expected="lots on sales only", found=repr(value))
        pairs = parse_lots(value, float(shares.iloc[pos]))
        if isinstance(pairs, str):
            raise table.error(pairs, position=pos, field="lots", expected=LOTS_HINT,
                              found=repr(value))
        out.iloc[pos] = format_lots(pairs)
    return out


def parse_lots(text: str, fill_shares: float) -> list[tuple[str, float]] | str:
    """The (lot id, shares) a sale of ``fill_shares`` names in ``text``, or what is wrong
    with it (a sentence).

    Entries ``LOT_ID×SHARES`` (or ``*``) are separated by ``;`` or ``,``; one lone
    ``LOT_ID`` stands for the whole fill. The plan's text is read as printed: a leading
    method (``hifo: ``), notes in parentheses and deferred lots are left out.
    """
    body = re.sub(r"\([^)]*\)", "", _PREFIX.sub("", text.strip()))
    entries = [e.strip() for e in re.split(r"[;,]", body)]
    entries = [e for e in entries if e and not _DEFERRED.match(e)]
    if not entries:
        return "no lot named"
    pairs: list[tuple[str, float | None]] = []
    for entry in entries:
        match = _ENTRY.match(entry)
        if match is None:
            pairs.append((entry, None))
            continue
        try:
            count = float(match["shares"])
        except ValueError:
            return f"lot {match['lot']}: the shares are not a number"
        if not math.isfinite(count) or count <= 0:
            return f"lot {match['lot']}: the shares must be > 0"
        pairs.append((match["lot"].strip(), count))
    names = [name for name, _ in pairs]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        return f"lot {twice} named twice"
    if any(count is None for _, count in pairs):
        if len(pairs) > 1:
            return "a fill relieving several lots gives each lot's shares"
        return [(pairs[0][0], fill_shares)]
    named = [(name, float(count)) for name, count in pairs if count is not None]
    total = math.fsum(count for _, count in named)
    if abs(total - fill_shares) > _SHARES_TOLERANCE * max(1.0, fill_shares):
        return (f"the lots' shares sum to {total:.12g}, the fill's shares are "
                f"{fill_shares:.12g}")
    return named


def format_lots(pairs: list[tuple[str, float]]) -> str:
    """``LOT_ID×SHARES`` entries joined by ``;`` (each count exact: ``repr``)."""
    return ";".join(f"{name}×{count!r}" for name, count in pairs)


def _reject(table: Table, bad: pd.Series, field: str, problem: str, expected: str,
            shown: pd.Series | None = None) -> None:
    mask = bad.fillna(False).to_numpy(dtype=bool)
    if mask.any():
        pos = int(np.flatnonzero(mask)[0])
        found = (shown if shown is not None else table.frame[field]).iloc[pos]
        raise table.error(problem, position=pos, field=field, expected=expected,
                          found=repr(found))


def _latest(as_of: object) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp.now(tz=EXCHANGE_TZ).tz_localize(None)
    stamp = _to_exchange_time(pd.Timestamp(str(as_of)))
    return stamp + pd.Timedelta(days=1) - pd.Timedelta(1) if stamp == stamp.normalize() else stamp


def _to_exchange_time(stamp: pd.Timestamp) -> pd.Timestamp:
    if stamp.tzinfo is not None:
        return stamp.tz_convert(EXCHANGE_TZ).tz_localize(None)
    return stamp


def _timestamps(table: Table, field: str, latest: pd.Timestamp) -> pd.Series:
    text = parse_column(table, field, Kind.STR)
    values = []
    for pos, item in enumerate(text):
        try:
            stamp = _to_exchange_time(pd.Timestamp(str(item)))
        except (ValueError, TypeError):
            raise table.error("not a timestamp", position=pos, field=field,
                              expected="a time such as 2024-01-05T10:31:02 or 2024-01-05",
                              found=repr(item)) from None
        if stamp > latest:
            raise table.error("fill time is in the future", position=pos, field=field,
                              expected=f"at or before {latest}", found=repr(item))
        values.append(stamp)
    return pd.Series(pd.DatetimeIndex(values).as_unit("ns"), index=table.frame.index)


def last_fill_date(fills: pd.DataFrame) -> pd.Timestamp:
    """Session date of the last fill: the new last-rebalance date of the portfolio record."""
    return pd.Timestamp(fills["filled_at"].max()).normalize()


def apply_fills(
    holdings: Holdings,
    fills: Source | pd.DataFrame,
    *,
    relief: Relieve = "fifo",
    allow_short: bool = False,
    applied: Mapping[str, Mapping[str, object]] | None = None,
    rates: TaxRates | None = None,
    wash_sale_days: int | None = WASH_WINDOW_DAYS,
) -> Holdings:
    """Apply fills (in time order) to holdings, each execution id once.

    Parameters
    ----------
    holdings : Holdings
        Position- or lot-level holdings.
    fills : source or DataFrame
        The output of :func:`read_fills`, or anything it reads.
    relief : {"fifo", "hifo", "min_tax", "specific"}
        Lots a sale relieves first: oldest ``acquired`` (FIFO), highest cost basis per
        share (HIFO), or the lowest tax per share at the fill's price and date and
        ``rates`` (minimum tax, :func:`driftwise.tax.relief_order`). A purchase covering a
        short relieves short lots in the same spirit (oldest first; otherwise the lowest
        short-sale price first, the smallest gain). A sale that names its lots (the
        ``lots`` column, module docstring) relieves exactly those, whatever the method;
        ``specific``: every sale must name its lots (lot-level holdings only).
    allow_short : bool
        If False (long-only), a sale larger than the shares held raises.
    applied : mapping, optional
        Executions already applied, by ``exec_id`` (:func:`fill_record` of each): their
        fills are skipped (:func:`new_fills`).
    rates : TaxRates, optional
        The rates minimum-tax relief weighs (default: :class:`~driftwise.tax.TaxRates`).
    wash_sale_days : int or None
        The wash-sale rule on lot-level holdings (IRC §1091, the rule of
        :func:`driftwise.tax.wash.apply_trades`): a long lot sold at a loss (net of the
        fee) while shares of the same ticker bought within this many days before are
        still held, or followed by a purchase within this many days, has its loss
        disallowed: the loss is added to the replacement lot's basis and the lot's
        ``acquired`` moves earlier by the holding period of the shares sold; each bought
        share replaces one sold share once, in any account. Flagged ``wash sale``. None:
        no rule.

    Returns
    -------
    Holdings
        New record: ``shares`` (closed positions dropped, new tickers added), ``cash_usd``,
        ``lots`` (relieved, buy lots appended with ``acquired`` = fill date and
        ``cost_basis_usd = shares * price + fee``).

    Raises
    ------
    DataError
        A sale exceeds the shares held under long-only, naming the fills row; an
        ``exec_id`` repeated (in the file or from ``applied``) with other contents; a sale
        naming lots of position-level holdings, an unknown lot, a lot of another ticker or
        account, a short lot, or more shares than the lot holds when the fill is applied;
        under ``specific``, a sale naming no lots (each naming the file, row and
        ``lots``).

    Notes
    -----
    Per fill with signed quantity ``q`` (+ buy) at price ``p`` and fee ``f``:
    ``shares += q`` and ``cash_usd -= q p + f``. So ``cash + sum(shares * p)`` is conserved
    net of fees when each ticker fills at one price. A short lot (``allow_short``) has
    negative shares and, as in the holdings reader, a basis >= 0: the net proceeds
    ``|q| p - f`` of the short sale.
    """
    if relief not in RELIEF_METHODS:
        raise ConfigError("lot relief must be 'fifo', 'hifo', 'min_tax' or 'specific', got "
                          f"{relief!r}")
    table = fills if isinstance(fills, pd.DataFrame) and _is_read(fills) else read_fills(fills)
    label = str(table.attrs.get("source", "<fills frame>"))
    table = new_fills(table, applied or {}).fills
    _check_named(table, label, lot_level=holdings.lots is not None, relief=relief)
    position = {str(k): float(v) for k, v in holdings.shares.items()}
    lots = None if holdings.lots is None else _LotBook(holdings.lots, relief,
                                                       rates or TaxRates(), wash_sale_days)
    cash = float(holdings.cash_usd)
    for fill in _in_time_order(table):
        q = fill.shares if fill.side == "BUY" else -fill.shares
        held = position.get(fill.ticker, 0.0)
        if q < 0 and not allow_short and held + q < -ZERO_SHARES:
            raise DataError("sale exceeds the shares held (long-only)", file=label,
                            row=fill.row, field="shares",
                            expected=f"at most {max(held, 0.0):g} shares of {fill.ticker}",
                            found=f"{-q:g}")
        if lots is not None:
            lots.apply(fill, q, label, allow_short)
        position[fill.ticker] = held + q
        cash -= q * fill.price_usd + fill.fee_usd
    shares = pd.Series({t: (0.0 if abs(s) < ZERO_SHARES else s) for t, s in position.items()},
                       dtype=float)
    shares = shares[shares != 0.0].sort_index()
    shares.index.name = holdings.shares.index.name or "ticker"
    went_short = [str(t) for t, s in shares.items()
                  if s < 0 and float(holdings.shares.get(t, 0.0)) >= 0]
    notices = holdings.notices
    if lots is not None and lots.washed:
        total = sum(usd for _, usd in lots.washed)
        notices = merge_notices(notices, [notice(
            Flag.WASH_SALE, f"losses of USD {total:,.2f} disallowed by the wash-sale rule "
            f"(a purchase within {wash_sale_days} days of a loss sale) and added to the "
            "basis of the replacement lots", sorted({t for t, _ in lots.washed}))])
    if went_short:
        notices = merge_notices(notices, [notice(Flag.SHORT_POSITION,
                                                 "fills opened short positions", went_short)])
    return dataclasses.replace(holdings, shares=shares, cash_usd=cash,
                               lots=None if lots is None else lots.frame(), notices=notices)


@dataclasses.dataclass(frozen=True)
class NewFills:
    """The fills of a table still to apply, and what was dropped.

    Attributes
    ----------
    fills : pd.DataFrame
        Rows to apply (``read_fills`` columns).
    repeated : int
        Rows dropped as repeats of an earlier row of the same execution id.
    already_applied : int
        Rows dropped because their execution id was applied before.
    without_id : int
        Rows without an ``exec_id`` (applied; a repeat of them cannot be detected).
    """

    fills: pd.DataFrame
    repeated: int
    already_applied: int
    without_id: int


def fill_record(fill: Mapping[str, object]) -> dict[str, object]:
    """The contents of one fill that a repeated ``exec_id`` must repeat (plain data)."""
    out: dict[str, object] = {}
    for name in RECORD_FIELDS:
        value = fill[name]
        if name == "filled_at":
            value = pd.Timestamp(value).isoformat()  # type: ignore[arg-type]
        elif name in ("shares", "price_usd", "fee_usd"):
            value = float(value)  # type: ignore[arg-type]
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            value = None
        else:
            value = str(value)
        out[name] = value
    return out


def new_fills(table: pd.DataFrame, applied: Mapping[str, Mapping[str, object]]) -> NewFills:
    """Drop the repeats of an execution id (in the table, or applied before).

    Raises
    ------
    DataError
        An ``exec_id`` repeated with other contents, naming the file, the row and the
        first field that differs.
    """
    label = str(table.attrs.get("source", "<fills frame>"))
    seen: dict[str, tuple[dict[str, object], int | None]] = {
        str(k): (dict(v), None) for k, v in applied.items()}
    keep, repeated, before = [], 0, 0
    for pos, row in enumerate(table.to_dict("records")):
        exec_id = row.get("exec_id")
        if not isinstance(exec_id, str) or not exec_id:
            keep.append(pos)
            continue
        record = fill_record({str(k): v for k, v in row.items()})
        if exec_id not in seen:
            seen[exec_id] = (record, int(row["row"]))
            keep.append(pos)
            continue
        earlier, line = seen[exec_id]
        differs = next((f for f in RECORD_FIELDS if earlier.get(f) != record[f]), None)
        if differs is not None:
            where = f"row {line}" if line is not None else "an earlier run (the fills record)"
            raise DataError(f"execution id {exec_id} repeated with other contents",
                            file=label, row=int(row["row"]), field=differs,
                            expected=f"{earlier.get(differs)!r} as in {where}",
                            found=repr(record[differs]))
        if line is None:
            before += 1
        else:
            repeated += 1
    ids = table["exec_id"] if "exec_id" in table.columns else pd.Series(dtype=object)
    without = int(sum(not isinstance(x, str) or not x for x in ids)) if len(ids) else len(table)
    out = table.iloc[keep]
    out.attrs.update(table.attrs)
    return NewFills(out, repeated, before, without)


def _check_named(table: pd.DataFrame, label: str, *, lot_level: bool, relief: str) -> None:
    """Refuse named lots without lots to name, and a sale naming none under ``specific``."""
    named = table["lots"].map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not lot_level and named.any():
        pos = int(np.flatnonzero(named)[0])
        raise DataError("the holdings have no lots (position level): a sale cannot name "
                        "lots", file=label, row=int(table["row"].iloc[pos]), field="lots",
                        expected="lot-level holdings (or no lots column)",
                        found=repr(table["lots"].iloc[pos]))
    if relief != "specific":
        return
    if not lot_level:
        raise DataError("specific-lot relief needs lot-level holdings", file=label,
                        field="lots", expected="holdings with acquired and cost_basis_usd "
                        "per lot", found="position-level holdings")
    bare = ((table["side"] == "SELL").to_numpy(dtype=bool)) & ~named
    if bare.any():
        pos = int(np.flatnonzero(bare)[0])
        raise DataError("specific-lot relief: the sale names no lots", file=label,
                        row=int(table["row"].iloc[pos]), field="lots", expected=LOTS_HINT,
                        found="blank")


def _is_read(fills: object) -> bool:
    return isinstance(fills, pd.DataFrame) and list(fills.columns) == FILL_COLUMNS


@dataclasses.dataclass(frozen=True)
class _Fill:
    ticker: str
    side: str
    shares: float
    price_usd: float
    fee_usd: float
    filled_at: pd.Timestamp
    account: str | None
    row: int
    lots: tuple[tuple[str, float], ...] | None = None
    """The lots the sale names (id, shares), None: relieved by the method."""


def _in_time_order(table: pd.DataFrame) -> Iterator[_Fill]:
    ordered = table.sort_values("filled_at", kind="mergesort")
    columns = [ordered[c].tolist() for c in FILL_COLUMNS]
    for ticker, side, shares, price, fee, filled_at, _, account, _, lots, row in zip(
            *columns, strict=True):
        named = None
        if isinstance(lots, str):
            pairs = parse_lots(lots, float(shares))
            assert not isinstance(pairs, str), pairs  # read_fills checked it
            named = tuple(pairs)
        yield _Fill(str(ticker), str(side), float(shares), float(price), float(fee),
                    pd.Timestamp(filled_at), account if isinstance(account, str) else None,
                    int(row), named)


class _LotBook:
    """Mutable lot list used while applying fills; :meth:`frame` returns the result."""

    def __init__(self, lots: pd.DataFrame, relief: str, rates: TaxRates,
                 wash_sale_days: int | None = None) -> None:
        self.columns = list(lots.columns)
        self.rows: list[dict[str, object]] = [{str(k): v for k, v in r.items()}
                                              for r in lots.to_dict("records")]
        # each lot's id as the plan names it (:func:`driftwise.tax.lot_ids`), by id of its row
        self.ids = {id(r): name for r, name in zip(self.rows, lot_ids(lots), strict=True)}
        self.relief = relief
        self.rates = rates
        self.window = (None if wash_sale_days is None
                       else pd.Timedelta(days=int(wash_sale_days)))
        # per open long lot (by id of its row): purchase date and shares already used as
        # the replacement of a washed loss; losses a later purchase may still wash
        self.bought = {id(r): pd.Timestamp(r["acquired"]) for r in self.rows}  # type: ignore[arg-type]
        self.replaced: dict[int, float] = {}
        # [ticker, day, shares, loss per share, held, id of the lot sold]
        self.pending: list[list[object]] = []
        self.washed: list[tuple[str, float]] = []
        self.has_account = "account" in self.columns
        accounts = {r["account"] for r in self.rows if self.has_account
                    and isinstance(r["account"], str)}
        self.default_account = next(iter(accounts)) if len(accounts) == 1 else None

    def _order(self, ticker: str, account: str | None, sign: float,
               fill: _Fill | None = None) -> list[dict[str, object]]:
        """Open lots of ``ticker`` with shares of ``sign``, in relief order."""
        mine = [r for r in self.rows if r["ticker"] == ticker
                and float(r["shares"]) * sign > ZERO_SHARES  # type: ignore[arg-type]
                and (account is None or not self.has_account or r.get("account") == account)]
        if self.relief == "fifo":
            return sorted(mine, key=lambda r: pd.Timestamp(r["acquired"]))  # type: ignore[arg-type]
        if self.relief == "min_tax" and sign > 0 and fill is not None and mine:
            order = relief_order(
                np.array([float(r["shares"]) for r in mine]),  # type: ignore[arg-type]
                np.array([float(r["cost_basis_usd"]) for r in mine]),  # type: ignore[arg-type]
                np.array([pd.Timestamp(r["acquired"]).date() for r in mine],  # type: ignore[arg-type]
                         dtype="datetime64[D]"),
                fill.price_usd, np.datetime64(fill.filled_at.date(), "D"), Relief.MIN_TAX,
                self.rates)
            return [mine[int(i)] for i in order]
        # HIFO: highest basis per share first for long lots; for short lots the lowest
        # short-sale price first (the smallest realized gain on the cover).
        return sorted(mine, key=lambda r: -sign * _per_share(r))

    def _pieces(self, fill: _Fill, sign: float, shares: float
                ) -> list[tuple[dict[str, object], float]]:
        """The opposite-sign lots a fill of ``shares`` relieves and how many shares of
        each, in the method's order."""
        out = []
        left = shares
        for lot in self._order(fill.ticker, fill.account, -sign, fill):
            if left <= ZERO_SHARES:
                break
            take = min(abs(float(lot["shares"])), left)  # type: ignore[arg-type]
            out.append((lot, take))
            left -= take
        return out

    def _named(self, fill: _Fill, label: str) -> list[tuple[dict[str, object], float]]:
        """The lots a sale names, checked against the lots held when it is applied."""
        assert fill.lots is not None
        out = []
        for name, take in fill.lots:
            lot = next((r for r in self.rows if self.ids.get(id(r)) == name), None)

            def refuse(problem: str, expected: str, found: str) -> DataError:
                return DataError(problem, file=label, row=fill.row, field="lots",
                                 expected=expected, found=found)

            if lot is None:
                held = sorted(self.ids[id(r)] for r in self.rows
                              if r["ticker"] == fill.ticker and id(r) in self.ids
                              and float(r["shares"]) > ZERO_SHARES)  # type: ignore[arg-type]
                raise refuse(f"unknown lot {name}", f"a lot of {fill.ticker} held ("
                             f"{', '.join(held) or 'none'}); ids are the lot file's lot_id, "
                             "else TICKER:YYYY-MM-DD", name)
            if lot["ticker"] != fill.ticker:
                raise refuse(f"lot {name} is a lot of {lot['ticker']}",
                             f"a lot of {fill.ticker}, the fill's ticker", name)
            where = lot.get("account") if self.has_account else None
            if fill.account and isinstance(where, str) and where != fill.account:
                raise refuse(f"lot {name} is held in account {where}",
                             f"a lot of account {fill.account}, the fill's", name)
            size = float(lot["shares"])  # type: ignore[arg-type]
            if size < 0:
                raise refuse(f"lot {name} is a short lot", "a long lot (a sale relieves "
                             "long lots)", f"{size:g} shares")
            if take > size * (1 + _SHARES_TOLERANCE) + ZERO_SHARES:
                raise refuse(f"more shares from lot {name} than it holds",
                             f"at most {size:.12g} shares (what is left of the lot when "
                             "this fill is applied)", f"{take:.12g}")
            out.append((lot, min(take, size)))
        return out

    def apply(self, fill: _Fill, q: float, label: str, allow_short: bool) -> None:
        """Relieve opposite-sign lots (those the sale names, else in the method's order),
        then open a new lot for what is left."""
        left = abs(q)
        sign = 1.0 if q > 0 else -1.0
        day = fill.filled_at.normalize()
        losses: list[list[object]] = []
        named = fill.lots is not None and q < 0
        pieces = self._named(fill, label) if named else self._pieces(fill, sign, left)
        for lot, take in pieces:
            size = abs(float(lot["shares"]))  # type: ignore[arg-type]
            keep = (size - take) / size
            if sign < 0:  # a long lot sold: its loss net of the fee, if any
                loss_ps = _per_share(lot) - (fill.price_usd - fill.fee_usd / abs(q))
                if loss_ps > 1e-12:
                    held = day - pd.Timestamp(lot["acquired"])  # type: ignore[arg-type]
                    losses.append([fill.ticker, day, take, loss_ps, held, id(lot)])
            lot["shares"] = float(lot["shares"]) * keep  # type: ignore[arg-type]
            lot["cost_basis_usd"] = float(lot["cost_basis_usd"]) * keep  # type: ignore[arg-type]
            self.replaced[id(lot)] = min(self.replaced.get(id(lot), 0.0),
                                         abs(float(lot["shares"])))  # type: ignore[arg-type]
            left -= take
        if named:  # the named lots sum to the fill's shares (read_fills): no remainder
            left = 0.0
        if self.window is not None:
            for loss in losses:  # washed by purchases of the window before, still held
                for lot in self._recent(fill.ticker, day):
                    if id(lot) != loss[5]:  # the rest of a lot does not replace its own
                        self._wash(loss, lot)
            self.pending += [loss for loss in losses if float(loss[2]) > ZERO_SHARES]  # type: ignore[arg-type]
        if left <= ZERO_SHARES:
            return
        if q < 0 and not allow_short:
            where = f" in account {fill.account}" if fill.account and self.has_account else ""
            raise DataError(f"sale exceeds the lots held{where} (long-only)", file=label,
                            row=fill.row, field="shares",
                            expected=f"at most {abs(q) - left:g} shares of {fill.ticker}",
                            found=f"{abs(q):g}")
        fee = fill.fee_usd * left / abs(q)
        # a short lot's basis is its net proceeds (never below 0, the reader's rule)
        basis = left * fill.price_usd + fee if q > 0 else max(left * fill.price_usd - fee, 0.0)
        new: dict[str, object] = {c: None for c in self.columns}
        new.update(ticker=fill.ticker, shares=sign * left, acquired=day, cost_basis_usd=basis)
        if self.has_account:
            new["account"] = fill.account or self.default_account
        base = f"{fill.ticker}:{day.date()}"  # a later sale of the same fills may name it
        taken = set(self.ids.values())
        self.ids[id(new)] = base if base not in taken else next(
            f"{base}#{k}" for k in range(2, len(taken) + 3) if f"{base}#{k}" not in taken)
        self.rows.append(new)
        self.bought[id(new)] = day
        if self.window is not None and q > 0:  # a purchase washes the losses before it
            for loss in self.pending:
                if loss[0] == fill.ticker and day - loss[1] <= self.window:  # type: ignore[operator]
                    self._wash(loss, new)
            self.pending = [p for p in self.pending if float(p[2]) > ZERO_SHARES]  # type: ignore[arg-type]

    def _recent(self, ticker: str, day: pd.Timestamp) -> list[dict[str, object]]:
        """Open long lots of ``ticker`` (any account) bought within the window before
        ``day``, oldest purchase first."""
        assert self.window is not None
        mine = [r for r in self.rows if r["ticker"] == ticker
                and float(r["shares"]) > ZERO_SHARES  # type: ignore[arg-type]
                and day - self.window <= self.bought[id(r)] <= day]
        return sorted(mine, key=lambda r: self.bought[id(r)])

    def _wash(self, loss: list[object], lot: dict[str, object]) -> None:
        """Disallow as much of ``loss`` as ``lot``'s unused shares replace."""
        free = float(lot["shares"]) - self.replaced.get(id(lot), 0.0)  # type: ignore[arg-type]
        used = min(free, float(loss[2]))  # type: ignore[arg-type]
        if used <= ZERO_SHARES:
            return
        disallowed = used * float(loss[3])  # type: ignore[arg-type]
        lot["cost_basis_usd"] = float(lot["cost_basis_usd"]) + disallowed  # type: ignore[arg-type]
        lot["acquired"] = min(pd.Timestamp(lot["acquired"]),  # type: ignore[arg-type]
                              self.bought[id(lot)] - loss[4])  # type: ignore[operator]
        self.replaced[id(lot)] = self.replaced.get(id(lot), 0.0) + used
        loss[2] = float(loss[2]) - used  # type: ignore[arg-type]
        self.washed.append((str(loss[0]), disallowed))

    def frame(self) -> pd.DataFrame:
        """The lots after all fills, closed lots dropped."""
        live = [r for r in self.rows if abs(float(r["shares"])) > ZERO_SHARES]  # type: ignore[arg-type]
        out = pd.DataFrame(live, columns=self.columns)
        out["acquired"] = pd.to_datetime(out["acquired"]).astype("datetime64[ns]")
        out["shares"] = out["shares"].astype(float)
        out["cost_basis_usd"] = out["cost_basis_usd"].astype(float)
        return out.reset_index(drop=True)


def _per_share(lot: dict[str, object]) -> float:
    return float(lot["cost_basis_usd"]) / abs(float(lot["shares"]))  # type: ignore[arg-type]
