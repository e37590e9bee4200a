"""The record's tables (SQLAlchemy Core), the one description the code reads and writes.

The migrations in :mod:`driftwise.record.migrations` create exactly these tables
(``tests/record/test_schema.py`` compares a migrated database with this metadata).

Money and shares are exact decimals (:class:`Exact`): ``NUMERIC`` on PostgreSQL, decimal
text on SQLite (whose ``NUMERIC`` affinity would turn them into binary floats). Times are
UTC; dates are session dates.

Holdings over time are **snapshots**: each import or fills run that changes an account's
holdings writes a new ``holdings_snapshots`` row with all its ``positions`` (and
``lots``); the current holdings are the account's latest snapshot, and no snapshot is
ever changed. The security master is kept as **valid-from / valid-to** rows (a changed
or removed ticker closes its row; nothing is deleted), cost inputs as snapshots keyed by
their ``as_of`` date, prices by date, targets as versions with their effective date.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

ORDER_STATUSES = ("proposed", "approved", "sent", "filled", "cancelled")
"""Every status an order can have, in the order of its life."""

TAX_STATUSES = ("taxable", "tax_deferred", "tax_exempt")
"""An account's tax status (``accounts.tax_status``; NULL: not declared, the
configuration's ``[tax] enabled`` decides)."""


class Exact(TypeDecorator[Decimal]):
    """An exact decimal column: ``NUMERIC`` on PostgreSQL, decimal text on SQLite.

    Binds and returns :class:`decimal.Decimal` (``None`` for SQL NULL); a float is
    refused, so no binary rounding reaches the database unnoticed.
    """

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(64))
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal | int):
            raise TypeError(f"an exact column takes a Decimal or an int, got {value!r}")
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError(f"an exact column takes a finite number, got {value!r}")
        return str(number) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", _when(), nullable=False),
    sa.Column("last_rebalance", sa.Date, nullable=True),
    sa.Column("household_id", sa.Integer, nullable=True),
    sa.Column("tax_status", sa.String(20), nullable=True),
    sa.Column("model_id", sa.Integer, nullable=True),
    sa.Column("cash_target_weight", Exact, nullable=True),
    sa.Column("do_not_buy", sa.JSON, nullable=True),
    sa.Column("do_not_sell", sa.JSON, nullable=True),
)
"""An account: ``household_id`` the household it belongs to (``households``; None:
none), ``tax_status`` one of :data:`TAX_STATUSES` (None: not declared), ``model_id`` the
model portfolio it follows (``models``; None: its own targets), with its overrides: the
cash target (a fraction of NAV; None: the model's) and the tickers it never buys or
sells (JSON lists of tickers)."""

households = sa.Table(
    "households", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", _when(), nullable=False),
)
"""A household: accounts of the same owners (the wash-sale rule spans them)."""

models = sa.Table(
    "models", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", _when(), nullable=False),
)
"""A model portfolio: a named target shared by the accounts that follow it."""

model_versions = sa.Table(
    "model_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model_id", sa.ForeignKey("models.id"), nullable=False, index=True),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("effective_date", sa.Date, nullable=True),
    sa.Column("cash_weight", Exact, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", _when(), nullable=False),
)

model_weights = sa.Table(
    "model_weights", metadata,
    sa.Column("version_id", sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("weight", Exact, nullable=False),
    sa.Column("band_abs", Exact, nullable=True),
    sa.Column("band_rel", Exact, nullable=True),
)
"""A model's versions, as an account's ``target_versions`` / ``target_weights``; each
version is written into the target versions of every account following the model (with
its cash override), so a plan reads its account's own target version either way."""

holdings_snapshots = sa.Table(
    "holdings_snapshots", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("cash_usd", Exact, nullable=False),
    sa.Column("lot_level", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", _when(), nullable=False),
    sa.Column("market_date", sa.Date, nullable=True),
)
"""A holdings snapshot: ``market_date`` the session its holdings were marked at (an
import's as-of date, else the last price date recorded then; a fills run's last fill
date); None: written before the record kept it."""

positions = sa.Table(
    "positions", metadata,
    sa.Column("snapshot_id", sa.ForeignKey("holdings_snapshots.id"), primary_key=True),
    sa.Column("ticker", sa.String(32), primary_key=True),
    sa.Column("shares", Exact, nullable=False),
)

lots = sa.Table(
    "lots", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("snapshot_id", sa.ForeignKey("holdings_snapshots.id"), nullable=False,
              index=True),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("shares", Exact, nullable=False),
    sa.Column("acquired", sa.Date, nullable=False),
    sa.Column("cost_basis_usd", Exact, nullable=False),
    sa.Column("lot_account", sa.String(200), nullable=True),
)

target_versions = sa.Table(
    "target_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("effective_date", sa.Date, nullable=True),
    sa.Column("cash_weight", Exact, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", _when(), nullable=False),
)

target_weights = sa.Table(
    "target_weights", metadata,
    sa.Column("version_id", sa.ForeignKey("target_versions.id"), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("weight", Exact, nullable=False),
    sa.Column("band_abs", Exact, nullable=True),
    sa.Column("band_rel", Exact, nullable=True),
)

securities = sa.Table(
    "securities", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ticker", sa.String(32), nullable=False, index=True),
    sa.Column("sector", sa.String(200), nullable=True),
    sa.Column("asset_class", sa.String(200), nullable=True),
    sa.Column("market_cap_usd", Exact, nullable=True),
    sa.Column("valid_from", _when(), nullable=False),
    sa.Column("valid_to", _when(), nullable=True),
)

cost_snapshots = sa.Table(
    "cost_snapshots", metadata,
    sa.Column("ticker", sa.String(32), primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("spread_bps", Exact, nullable=True),
    sa.Column("commission_bps", Exact, nullable=False),
    sa.Column("commission_per_share_usd", Exact, nullable=False),
    sa.Column("min_ticket_usd", Exact, nullable=False),
    sa.Column("borrow_bps_annual", Exact, nullable=True),
    sa.Column("imported_at", _when(), nullable=False),
)

prices = sa.Table(
    "prices", metadata,
    sa.Column("ticker", sa.String(32), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("close_usd", Exact, nullable=False),
    sa.Column("volume_shares", Exact, nullable=True),
)

market_series = sa.Table(
    "market_series", metadata,
    sa.Column("series", sa.String(40), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("value", Exact, nullable=False),
)
"""Daily market series by name: ``vix`` (close, index points), ``risk_free`` (the
risk-free rate, an annual fraction)."""

plans = sa.Table(
    "plans", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("delay_until", sa.Date, nullable=True),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("fingerprints", sa.JSON, nullable=False),
    sa.Column("configuration", sa.Text, nullable=False),
    sa.Column("nav_usd", Exact, nullable=False),
    sa.Column("created_at", _when(), nullable=False),
    sa.Column("delayed_since", sa.Date, nullable=True),
    sa.Column("target_version_id", sa.Integer, nullable=True),
    sa.Column("metrics", sa.JSON, nullable=True),
)
"""A plan: ``delayed_since`` is the first day of the stress delay still running when it
was made (None: none), ``target_version_id`` the target version it ran against,
``metrics`` its figures before and after (drift, TE, cost, cost-benefit; plain floats,
for the reviews: they are measurements, not money)."""

orders = sa.Table(
    "orders", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("plan_id", sa.ForeignKey("plans.id"), nullable=False, index=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("client_order_id", sa.String(100), nullable=False, index=True),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("side", sa.String(10), nullable=False),
    sa.Column("shares", Exact, nullable=False),
    sa.Column("order_type", sa.String(20), nullable=False),
    sa.Column("limit_price_usd", Exact, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("filled_shares", Exact, nullable=False),
    sa.Column("updated_at", _when(), nullable=False),
    # the loss of the lots a sale relieves below their basis, USD (0: none; NULL: unknown)
    sa.Column("loss_usd", Exact, nullable=True),
    sa.UniqueConstraint("plan_id", "client_order_id"),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'sent', 'filled', 'cancelled')",
                       name="status"),
)

fills = sa.Table(
    "fills", metadata,
    sa.Column("exec_id", sa.String(200), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("order_id", sa.ForeignKey("orders.id"), nullable=True),
    sa.Column("snapshot_id", sa.ForeignKey("holdings_snapshots.id"), nullable=False),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("side", sa.String(10), nullable=False),
    sa.Column("shares", Exact, nullable=False),
    sa.Column("price_usd", Exact, nullable=False),
    sa.Column("fee_usd", Exact, nullable=False),
    sa.Column("filled_at", sa.DateTime, nullable=False),
    sa.Column("contents", sa.JSON, nullable=False),
    sa.Column("applied_at", _when(), nullable=False),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", _when(), nullable=False),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), nullable=True, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)
"""The event log: rows are appended, never changed or removed (database triggers refuse
an UPDATE or a DELETE; :mod:`driftwise.record.events` only appends)."""
