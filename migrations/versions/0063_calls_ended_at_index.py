"""calls.ended_at index: the wallboard reads only the open and the just ended calls

Revision ID: 0063
Revises: 0042
Create Date: 2026-12-06 03:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0063"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_calls_ended_at", "calls", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_ended_at", table_name="calls")
