"""call recordings (one stereo WAV per bridged call or voicemail), draft tickets without an agent

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-23 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_recordings_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("call_id", name=op.f("uq_recordings_call_id")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recordings_recorded_at"), ["recorded_at"], unique=False
        )
    # A voicemail becomes a draft ticket that no agent has written yet.
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("created_by", existing_type=sa.String(length=32), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM tickets WHERE created_by IS NULL")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("created_by", existing_type=sa.String(length=32), nullable=False)
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_recorded_at"))
    op.drop_table("recordings")
