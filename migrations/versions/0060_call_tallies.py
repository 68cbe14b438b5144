"""call tallies: a closed day's calls summed per hour, hotline and agent for reports

Revision ID: 0060
Revises: 0012
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0060"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_tally_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("answer_seconds", sa.Float(), nullable=False),
        sa.Column("short_abandon_seconds", sa.Float(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_call_tally_days")),
    )
    op.create_table(
        "call_tallies",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("hotline", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "offered",
                "answered",
                "answered_in_time",
                "abandoned",
                "short_abandons",
                "refused",
                "voicemails",
                "callbacks",
                "waiting",
            )
        ),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.Column("talk_seconds", sa.Float(), nullable=False),
        sa.Column("talked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["day"],
            ["call_tally_days.day"],
            name=op.f("fk_call_tallies_day_call_tally_days"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "hour", "hotline", "agent_id", name=op.f("pk_call_tallies")),
    )


def downgrade() -> None:
    op.drop_table("call_tallies")
    op.drop_table("call_tally_days")
