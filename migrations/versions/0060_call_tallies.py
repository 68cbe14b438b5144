"""call tallies: a closed day's calls summed per hour and hotline, and per agent, for reports

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

COUNTS = (
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
    for table, keys in (
        ("call_tallies", ("hour", "hotline")),
        ("agent_call_tallies", ("agent_id",)),
    ):
        key_columns = [
            sa.Column("hour", sa.Integer(), nullable=False)
            if name == "hour"
            else sa.Column(name, sa.String(length=32), nullable=False)
            for name in keys
        ]
        op.create_table(
            table,
            sa.Column("day", sa.Date(), nullable=False),
            *key_columns,
            *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
            sa.Column("wait_seconds", sa.Float(), nullable=False),
            sa.Column("talk_seconds", sa.Float(), nullable=False),
            sa.Column("talked", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["day"],
                ["call_tally_days.day"],
                name=op.f(f"fk_{table}_day_call_tally_days"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("day", *keys, name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    op.drop_table("agent_call_tallies")
    op.drop_table("call_tallies")
    op.drop_table("call_tally_days")
