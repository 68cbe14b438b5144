"""report snapshots: each closed month's report as it stood at month end

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-04 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0061"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshots")),
    )
    op.create_index(
        "ix_report_snapshots_kind_period", "report_snapshots", ["kind", "period"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_report_snapshots_kind_period", table_name="report_snapshots")
    op.drop_table("report_snapshots")
