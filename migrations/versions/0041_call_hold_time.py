"""call hold time: seconds on hold and how many holds, on each call record

Revision ID: 0041
Revises: 0032
Create Date: 2026-12-12 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("hold_seconds", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("hold_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("hold_count")
        batch.drop_column("hold_seconds")
