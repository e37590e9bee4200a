"""Households, tax status, model portfolios with per-account overrides; the market date of
a holdings snapshot.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from driftwise.record.schema import Exact

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
        sa.UniqueConstraint("name", name="uq_households_name"),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("name", name="uq_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=True),
        sa.Column("cash_weight", Exact, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"],
                                name="fk_model_versions_model_id_models"),
    )
    op.create_index("ix_model_versions_model_id", "model_versions", ["model_id"])
    op.create_table(
        "model_weights",
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("weight", Exact, nullable=False),
        sa.Column("band_abs", Exact, nullable=True),
        sa.Column("band_rel", Exact, nullable=True),
        sa.PrimaryKeyConstraint("version_id", "key", name="pk_model_weights"),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"],
                                name="fk_model_weights_version_id_model_versions"),
    )
    op.add_column("accounts", sa.Column("household_id", sa.Integer, nullable=True))
    op.add_column("accounts", sa.Column("tax_status", sa.String(20), nullable=True))
    op.add_column("accounts", sa.Column("model_id", sa.Integer, nullable=True))
    op.add_column("accounts", sa.Column("cash_target_weight", Exact, nullable=True))
    op.add_column("accounts", sa.Column("do_not_buy", sa.JSON, nullable=True))
    op.add_column("accounts", sa.Column("do_not_sell", sa.JSON, nullable=True))
    op.add_column("holdings_snapshots", sa.Column("market_date", sa.Date, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holdings_snapshots") as batch:
        batch.drop_column("market_date")
    with op.batch_alter_table("accounts") as batch:
        for name in ("do_not_sell", "do_not_buy", "cash_target_weight", "model_id",
                     "tax_status", "household_id"):
            batch.drop_column(name)
    op.drop_table("model_weights")
    op.drop_index("ix_model_versions_model_id", "model_versions")
    op.drop_table("model_versions")
    op.drop_table("models")
    op.drop_table("households")
