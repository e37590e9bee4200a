"""Daily market series beside the prices: the VIX close (and, later, the risk-free rate).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from driftwise.record.schema import Exact

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_series",
        sa.Column("series", sa.String(40), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("value", Exact, nullable=False),
        sa.PrimaryKeyConstraint("series", "date", name="pk_market_series"),
    )


def downgrade() -> None:
    op.drop_table("market_series")
