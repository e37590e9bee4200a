"""What ``driftwise daily`` keeps with each plan: the first day of a running stress delay,
the target version the plan ran against, and its metrics (drift, TE, cost, cost-benefit).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("delayed_since", sa.Date, nullable=True))
    op.add_column("plans", sa.Column("target_version_id", sa.Integer, nullable=True))
    op.add_column("plans", sa.Column("metrics", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("metrics")
        batch.drop_column("target_version_id")
        batch.drop_column("delayed_since")
