"""retention marks: when a ticket's personal fields and a delivered case's payload were erased

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("personal_erased_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_tickets_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payload_erased_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.create_index("ix_call_events_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.drop_index("ix_call_events_at")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("payload_erased_at")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_created_at")
        batch_op.drop_column("personal_erased_at")
