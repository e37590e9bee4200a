"""The loss each open sale is expected to realize: ``orders.loss_usd``.

A sale's orders carry the loss of the lots the plan relieves below their basis (USD,
exact; 0 for a buy or a sale at no loss; NULL for orders stored before this revision or
without lots), so that a household's other accounts see a proposed, approved or sent
sale at a loss before it fills: a buy of the ticker would wash that loss.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from driftwise.record.schema import Exact

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("loss_usd", Exact, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("loss_usd")
