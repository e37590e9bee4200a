"""Orders out: a flat order table, CSV and JSON files, FIX 4.4 NewOrderSingle text.

One row per order: a child order of a :class:`~driftwise.execution.schedule.Schedule`, or
one DAY order per ticker of a plain trade list. An order with a limit price is a LIMIT
order (FIX OrdType 40=2 with Price 44); a schedule built with ``order_type = "limit"``
gives each child its limit (:func:`driftwise.execution.schedule.limit_prices`: the close
moved by the order's expected price cost), otherwise orders are MARKET (40=1).
Quantities are unsigned; the side carries the direction (``BUY``, ``SELL``,
``SELL_SHORT``). When the current position is known, a sale that would take a position
below zero is split into a long sale (``SELL``) down to zero and a short sale
(``SELL_SHORT``) for the rest, as Regulation SHO requires orders to be marked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from driftwise._atomic import atomic_path, write_text
from driftwise.errors import ConfigError, DataError
from driftwise.execution.schedule import Schedule

ORDER_COLUMNS = ["order_id", "ticker", "side", "shares", "order_type", "limit_price_usd",
                 "time_in_force", "day", "start_time", "expected_cost_usd"]

SOH = "\x01"
"""FIX field separator (Start Of Header)."""

DISPLAY_SEPARATOR = "|"
"""Separator shown to people instead of SOH."""

_FIX_SIDE = {"BUY": "1", "SELL": "2", "SELL_SHORT": "5"}
_FIX_ORD_TYPE = {"MARKET": "1", "LIMIT": "2"}
_FIX_TIF = {"DAY": "0", "GTC": "1", "OPG": "2", "IOC": "3", "FOK": "4", "CLOSE": "7"}


def orders_frame(
    source: Schedule | pd.DataFrame | pd.Series,
    *,
    day: object = None,
    position_shares: pd.Series | Mapping[str, float] | None = None,
    limit_price_usd: pd.Series | Mapping[str, float] | None = None,
    time_in_force: str = "DAY",
    prefix: str = "DW",
) -> pd.DataFrame:
    """Build the order table from a schedule or a trade list.

    Parameters
    ----------
    source : Schedule, DataFrame or Series
        A schedule (one order per child order); a trade list DataFrame with ``ticker`` and
        either signed ``trade_shares`` or ``side`` + ``shares`` (optional
        ``limit_price_usd``); or a Series of signed shares indexed by ticker.
    day : date-like, optional
        Trading day for trade-list orders (schedules carry their own days).
    position_shares : Series or mapping, optional
        Current shares per ticker; when given, sales crossing zero are split (see module).
    limit_price_usd : Series or mapping, optional
        Limit price per ticker, replacing a schedule's own; tickers without one keep the
        schedule's limit, or get market orders.
    time_in_force : str
        One of DAY, GTC, OPG, IOC, FOK, CLOSE.
    prefix : str
        Start of each ``order_id`` (``PREFIX-YYYYMMDD-TICKER-NNN``).

    Returns
    -------
    pd.DataFrame
        Columns :data:`ORDER_COLUMNS`; ``shares`` > 0; ``order_type`` MARKET or LIMIT.
    """
    if time_in_force not in _FIX_TIF:
        raise ConfigError(f"time in force must be one of {sorted(_FIX_TIF)}, got {time_in_force!r}")
    base = _from_schedule(source) if isinstance(source, Schedule) else _from_trades(source, day)
    if position_shares is not None:
        base = _split_short_sales(base, dict(position_shares))
    limits = {} if limit_price_usd is None else dict(limit_price_usd)
    if "limit_price_usd" not in base.columns:
        base["limit_price_usd"] = np.nan
    mapped = base["ticker"].map(lambda t: limits.get(t, math.nan)).astype(float)
    base["limit_price_usd"] = mapped.where(mapped.notna(), base["limit_price_usd"].astype(float))
    bad = base["limit_price_usd"].notna() & ~(base["limit_price_usd"] > 0)
    if bad.any():
        raise DataError("limit price must be > 0", field="limit_price_usd",
                        found=f"{base.loc[bad, 'ticker'].iloc[0]}: "
                              f"{base.loc[bad, 'limit_price_usd'].iloc[0]}")
    base["order_type"] = np.where(base["limit_price_usd"].notna(), "LIMIT", "MARKET")
    base["time_in_force"] = time_in_force
    seq = base.groupby("ticker", sort=False).cumcount() + 1
    stamp = pd.to_datetime(base["day"]).dt.strftime("%Y%m%d").fillna("00000000")
    base["order_id"] = [f"{prefix}-{d}-{t}-{n:03d}"
                        for d, t, n in zip(stamp, base["ticker"], seq, strict=True)]
    return base[ORDER_COLUMNS].reset_index(drop=True)


def _from_schedule(schedule: Schedule) -> pd.DataFrame:
    frame = schedule.child_orders
    out = pd.DataFrame({
        "ticker": frame["ticker"].astype(object), "side": frame["side"].astype(object),
        "shares": frame["shares"].astype(float), "day": pd.to_datetime(frame["day"]),
        "start_time": frame["start_time"].astype(object),
        "expected_cost_usd": frame["expected_cost_usd"].astype(float),
    })
    if "limit_price_usd" in frame.columns:  # LIMIT child orders carry their limit
        out["limit_price_usd"] = frame["limit_price_usd"].astype(float)
    return out


def _from_trades(trades: pd.DataFrame | pd.Series, day: object) -> pd.DataFrame:
    if isinstance(trades, pd.Series):
        trades = pd.DataFrame({"ticker": trades.index.astype(str),
                               "trade_shares": trades.to_numpy(dtype=float)})
    cols = set(trades.columns)
    if "ticker" not in cols or not ("trade_shares" in cols or {"side", "shares"} <= cols):
        raise DataError("trade list needs ticker and trade_shares (or side and shares)",
                        file="<trade list>", row=1, found=", ".join(map(str, trades.columns)))
    if "trade_shares" in cols:
        signed = trades["trade_shares"].astype(float).to_numpy()
    else:
        side = trades["side"].astype(str).str.upper().to_numpy()
        qty = trades["shares"].astype(float).abs().to_numpy()
        signed = np.where(np.char.startswith(side.astype(str), "SELL"), -qty, qty)
    keep = signed != 0
    if not np.all(np.isfinite(signed)):
        raise DataError("trade shares must be finite", file="<trade list>", field="trade_shares")
    out = pd.DataFrame({
        "ticker": trades["ticker"].astype(str).to_numpy()[keep],
        "side": np.where(signed[keep] > 0, "BUY", "SELL").astype(object),
        "shares": np.abs(signed[keep]),
        "day": pd.Timestamp(str(day)).normalize() if day is not None else pd.NaT,
        "start_time": "", "expected_cost_usd": np.nan,
    })
    if "limit_price_usd" in cols:
        out["limit_price_usd"] = trades["limit_price_usd"].astype(float).to_numpy()[keep]
    return out


def _split_short_sales(orders: pd.DataFrame, position: dict[str, float]) -> pd.DataFrame:
    """Walk each ticker's orders in time order; split sales that cross zero."""
    rows: list[dict[str, object]] = []
    held = {str(k): float(v) for k, v in position.items()}
    for raw in orders.to_dict("records"):
        record = {str(k): v for k, v in raw.items()}
        ticker = str(record["ticker"])
        qty = float(record["shares"])  # type: ignore[arg-type]
        pos = held.get(ticker, 0.0)
        if record["side"] == "BUY":
            held[ticker] = pos + qty
            rows.append(record)
            continue
        long_part = min(qty, max(pos, 0.0))
        for side, part in (("SELL", long_part), ("SELL_SHORT", qty - long_part)):
            if part > 0:
                cost = record["expected_cost_usd"]
                share = float(cost) * part / qty if cost is not None else math.nan  # type: ignore[arg-type]
                rows.append({**record, "side": side, "shares": part, "expected_cost_usd": share})
        held[ticker] = pos - qty
    return pd.DataFrame(rows, columns=list(orders.columns))


def _json_value(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_orders_csv(path: str | Path, orders: pd.DataFrame) -> Path:
    """Write the order table as CSV (dates ``YYYY-MM-DD``, blanks for missing values)."""
    out = Path(path)
    frame = orders.copy()
    if "day" in frame.columns:
        frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%Y-%m-%d")
    with atomic_path(out) as temp:
        frame.to_csv(temp, index=False)
    return out


def write_orders_json(path: str | Path, orders: pd.DataFrame) -> Path:
    """Write the order table as a JSON array of objects (null for missing values)."""
    out = Path(path)
    records = [{str(k): _json_value(v) for k, v in row.items()}
               for row in orders.to_dict("records")]
    write_text(out, json.dumps(records, indent=2) + "\n")
    return out


def _fix_number(value: float) -> str:
    if not math.isfinite(value):
        raise DataError("FIX numeric field must be finite", found=repr(value))
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.8f}".rstrip("0").rstrip(".")


def _utc_timestamp(moment: object) -> str:
    stamp = pd.Timestamp(moment)  # type: ignore[arg-type]
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp
    return stamp.strftime("%Y%m%d-%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


def fix_checksum(data: bytes) -> str:
    """FIX CheckSum (tag 10): sum of all bytes modulo 256, three digits."""
    return f"{sum(data) % 256:03d}"


def fix_new_order_single(
    order: Mapping[str, object] | pd.Series,
    *,
    sender: str,
    target: str,
    seq: int,
    sending_time: datetime | pd.Timestamp | str,
    transact_time: datetime | pd.Timestamp | str | None = None,
    position_shares: float | None = None,
    handl_inst: str = "1",
    separator: str = SOH,
) -> str:
    """One FIX 4.4 NewOrderSingle (35=D) for one order row.

    Parameters
    ----------
    order : mapping or Series
        A row of :func:`orders_frame` (``order_id``, ``ticker``, ``side``, ``shares``,
        ``order_type``, ``limit_price_usd``, ``time_in_force``).
    sender, target : str
        SenderCompID (49) and TargetCompID (56).
    seq : int
        MsgSeqNum (34), >= 1.
    sending_time : datetime-like
        SendingTime (52); naive times are taken as UTC.
    transact_time : datetime-like, optional
        TransactTime (60); defaults to ``sending_time``.
    position_shares : float, optional
        Current position; a SELL larger than the long position is marked 54=5 (sell short).
    handl_inst : str
        HandlInst (21): 1 automated private (default), 2 automated public, 3 manual.
    separator : str
        Field separator of the returned text: SOH (the wire format) or ``"|"`` for display.
        Body length and checksum are always those of the SOH form.

    Returns
    -------
    str
        ``8=FIX.4.4 9=.. 35=D 49 56 34 52 11 21 55 54 60 38 40 [44] 59 10=..``.

    Notes
    -----
    FIX 4.4 session rules: BodyLength (9) counts the bytes after the SOH that ends field 9
    up to and including the SOH before ``10=``; CheckSum (10) is the sum of every byte
    before ``10=`` modulo 256, written with three digits.
    """
    for name, value in (("sender", sender), ("target", target)):
        if not value or SOH in value:
            raise ConfigError(f"FIX {name} must be non-empty text without SOH, got {value!r}")
    if seq < 1:
        raise ConfigError(f"FIX MsgSeqNum must be >= 1, got {seq}")
    side = str(order["side"]).upper()
    qty = float(order["shares"])  # type: ignore[arg-type]
    if side == "SELL" and position_shares is not None and qty > max(position_shares, 0.0):
        side = "SELL_SHORT"
    order_type = str(order.get("order_type", "MARKET")).upper()
    tif = str(order.get("time_in_force", "DAY")).upper()
    if side not in _FIX_SIDE or order_type not in _FIX_ORD_TYPE or tif not in _FIX_TIF:
        raise DataError("order cannot be written as FIX", field="side/order_type/time_in_force",
                        found=f"{side}, {order_type}, {tif}")
    if not qty > 0:
        raise DataError("order quantity must be > 0", field="shares", found=repr(qty))
    body: list[tuple[int, str]] = [
        (35, "D"), (49, sender), (56, target), (34, str(seq)),
        (52, _utc_timestamp(sending_time)), (11, str(order["order_id"])), (21, handl_inst),
        (55, str(order["ticker"])), (54, _FIX_SIDE[side]),
        (60, _utc_timestamp(sending_time if transact_time is None else transact_time)),
        (38, _fix_number(qty)), (40, _FIX_ORD_TYPE[order_type]),
    ]
    if order_type == "LIMIT":
        body.append((44, _fix_number(float(order["limit_price_usd"]))))  # type: ignore[arg-type]
    body.append((59, _FIX_TIF[tif]))
    body_text = "".join(f"{tag}={value}{SOH}" for tag, value in body)
    try:
        body_bytes = body_text.encode("ascii")
    except UnicodeEncodeError:
        raise DataError("FIX fields must be ASCII", found=repr(body_text)) from None
    head = f"8=FIX.4.4{SOH}9={len(body_bytes)}{SOH}".encode("ascii")
    message = head + body_bytes
    text = (message + f"10={fix_checksum(message)}{SOH}".encode("ascii")).decode("ascii")
    return text if separator == SOH else text.replace(SOH, separator)


def write_orders_fix(
    path: str | Path,
    orders: pd.DataFrame,
    *,
    sender: str,
    target: str,
    sending_time: datetime | pd.Timestamp | str,
    start_seq: int = 1,
    separator: str = SOH,
) -> Path:
    """Write one NewOrderSingle per order, one message per line, sequence numbers rising."""
    lines = [fix_new_order_single(orders.iloc[i], sender=sender, target=target, seq=start_seq + i,
                                  sending_time=sending_time, separator=separator)
             for i in range(len(orders))]
    out = Path(path)
    write_text(out, "\n".join(lines) + "\n", encoding="ascii")
    return out
