"""outbound calls: click-to-call (回拨) for 回访 and missed calls, with their recordings

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("task", sa.String(length=16), nullable=False),
        sa.Column("task_ref", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("recording_path", sa.String(length=500), nullable=True),
        sa.Column("recording_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_calls")),
    )
    op.create_index("ix_outbound_calls_task", "outbound_calls", ["task", "task_ref"])


def downgrade() -> None:
    op.drop_index("ix_outbound_calls_task", table_name="outbound_calls")
    op.drop_table("outbound_calls")
