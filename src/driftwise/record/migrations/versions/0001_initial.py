"""The first schema: accounts, holdings snapshots, targets, master, costs, prices, plans,
orders, fills and the append-only event log.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from driftwise.record.schema import Exact

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = "the event log is append-only"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("last_rebalance", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
    )
    op.create_table(
        "holdings_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("cash_usd", Exact, nullable=False),
        sa.Column("lot_level", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_holdings_snapshots"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_holdings_snapshots_account_id_accounts"),
    )
    op.create_index("ix_holdings_snapshots_account_id", "holdings_snapshots", ["account_id"])
    op.create_table(
        "positions",
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("ticker", sa.String(32), nullable=False),
        sa.Column("shares", Exact, nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "ticker", name="pk_positions"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["holdings_snapshots.id"],
                                name="fk_positions_snapshot_id_holdings_snapshots"),
    )
    op.create_table(
        "lots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("ticker", sa.String(32), nullable=False),
        sa.Column("shares", Exact, nullable=False),
        sa.Column("acquired", sa.Date, nullable=False),
        sa.Column("cost_basis_usd", Exact, nullable=False),
        sa.Column("lot_account", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_lots"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["holdings_snapshots.id"],
                                name="fk_lots_snapshot_id_holdings_snapshots"),
    )
    op.create_index("ix_lots_snapshot_id", "lots", ["snapshot_id"])
    op.create_table(
        "target_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=True),
        sa.Column("cash_weight", Exact, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_target_versions"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_target_versions_account_id_accounts"),
    )
    op.create_index("ix_target_versions_account_id", "target_versions", ["account_id"])
    op.create_table(
        "target_weights",
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("weight", Exact, nullable=False),
        sa.Column("band_abs", Exact, nullable=True),
        sa.Column("band_rel", Exact, nullable=True),
        sa.PrimaryKeyConstraint("version_id", "key", name="pk_target_weights"),
        sa.ForeignKeyConstraint(["version_id"], ["target_versions.id"],
                                name="fk_target_weights_version_id_target_versions"),
    )
    op.create_table(
        "securities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticker", sa.String(32), nullable=False),
        sa.Column("sector", sa.String(200), nullable=True),
        sa.Column("asset_class", sa.String(200), nullable=True),
        sa.Column("market_cap_usd", Exact, nullable=True),
        sa.Column("valid_from", _when(), nullable=False),
        sa.Column("valid_to", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_securities"),
    )
    op.create_index("ix_securities_ticker", "securities", ["ticker"])
    op.create_table(
        "cost_snapshots",
        sa.Column("ticker", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("spread_bps", Exact, nullable=True),
        sa.Column("commission_bps", Exact, nullable=False),
        sa.Column("commission_per_share_usd", Exact, nullable=False),
        sa.Column("min_ticket_usd", Exact, nullable=False),
        sa.Column("borrow_bps_annual", Exact, nullable=True),
        sa.Column("imported_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("ticker", "as_of", name="pk_cost_snapshots"),
    )
    op.create_table(
        "prices",
        sa.Column("ticker", sa.String(32), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("close_usd", Exact, nullable=False),
        sa.Column("volume_shares", Exact, nullable=True),
        sa.PrimaryKeyConstraint("ticker", "date", name="pk_prices"),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("delay_until", sa.Date, nullable=True),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("fingerprints", sa.JSON, nullable=False),
        sa.Column("configuration", sa.Text, nullable=False),
        sa.Column("nav_usd", Exact, nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_plans_account_id_accounts"),
    )
    op.create_index("ix_plans_account_id", "plans", ["account_id"])
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("client_order_id", sa.String(100), nullable=False),
        sa.Column("ticker", sa.String(32), nullable=False),
        sa.Column("side", sa.String(10), nullable=False),
        sa.Column("shares", Exact, nullable=False),
        sa.Column("order_type", sa.String(20), nullable=False),
        sa.Column("limit_price_usd", Exact, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("filled_shares", Exact, nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_orders_plan_id_plans"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_orders_account_id_accounts"),
        sa.UniqueConstraint("plan_id", "client_order_id",
                            name="uq_orders_plan_id_client_order_id"),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'sent', 'filled', 'cancelled')",
            name="ck_orders_status"),
    )
    op.create_index("ix_orders_plan_id", "orders", ["plan_id"])
    op.create_index("ix_orders_account_id", "orders", ["account_id"])
    op.create_index("ix_orders_client_order_id", "orders", ["client_order_id"])
    op.create_table(
        "fills",
        sa.Column("exec_id", sa.String(200), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("order_id", sa.Integer, nullable=True),
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("ticker", sa.String(32), nullable=False),
        sa.Column("side", sa.String(10), nullable=False),
        sa.Column("shares", Exact, nullable=False),
        sa.Column("price_usd", Exact, nullable=False),
        sa.Column("fee_usd", Exact, nullable=False),
        sa.Column("filled_at", sa.DateTime, nullable=False),
        sa.Column("contents", sa.JSON, nullable=False),
        sa.Column("applied_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("exec_id", name="pk_fills"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_fills_account_id_accounts"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_fills_order_id_orders"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["holdings_snapshots.id"],
                                name="fk_fills_snapshot_id_holdings_snapshots"),
    )
    op.create_index("ix_fills_account_id", "fills", ["account_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _when(), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_events_account_id_accounts"),
    )
    op.create_index("ix_events_account_id", "events", ["account_id"])
    _append_only_events()


def _append_only_events() -> None:
    """Database triggers that refuse any UPDATE or DELETE of the event log."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
        return
    op.execute("CREATE FUNCTION driftwise_events_append_only() RETURNS trigger "
               f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")
    op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
               "ON events FOR EACH STATEMENT EXECUTE FUNCTION driftwise_events_append_only()")


def downgrade() -> None:
    raise NotImplementedError("the record's first schema has nothing to go back to")
