"""duty roster, lead overrides (audited) and the missed-call list

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("skills", sa.String(length=200), nullable=False),
        sa.Column("dialects", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_entries")),
    )
    op.create_index(
        "ix_roster_entries_day_shift_agent",
        "roster_entries",
        ["day", "shift", "agent_id"],
        unique=True,
    )
    op.create_table(
        "roster_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_overrides")),
    )
    op.create_index("ix_roster_overrides_until", "roster_overrides", ["until"])
    op.create_table(
        "missed_calls",
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("missed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_missed_calls_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_missed_calls")),
    )
    op.create_index("ix_missed_calls_status_missed_at", "missed_calls", ["status", "missed_at"])


def downgrade() -> None:
    op.drop_index("ix_missed_calls_status_missed_at", table_name="missed_calls")
    op.drop_table("missed_calls")
    op.drop_index("ix_roster_overrides_until", table_name="roster_overrides")
    op.drop_table("roster_overrides")
    op.drop_index("ix_roster_entries_day_shift_agent", table_name="roster_entries")
    op.drop_table("roster_entries")
