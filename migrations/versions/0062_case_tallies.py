"""case tallies: a closed day's settled cases summed per source and department, and per
category, for reports

Revision ID: 0062
Revises: 0061
Create Date: 2026-12-04 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0062"
down_revision = "0061"
branch_labels = None
depends_on = None

COUNTS = (
    "accepted",
    "filed",
    "forwarded_in_time",
    "due",
    "handled",
    "handled_on_time",
    "closed",
    "closed_on_time",
    "finished",
    "merged",
    "rejected",
    "returned",
    "extended",
    "reopened",
    "satisfied",
    "fairly_satisfied",
    "unsatisfied",
    "unreached",
)


def upgrade() -> None:
    op.create_table(
        "case_tally_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("forward_minutes", sa.Float(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_case_tally_days")),
    )
    for table, keys in (
        ("case_tallies", (("source", 32), ("department", 32))),
        ("category_case_tallies", (("category", 16),)),
    ):
        op.create_table(
            table,
            sa.Column("day", sa.Date(), nullable=False),
            *(sa.Column(name, sa.String(length=size), nullable=False) for name, size in keys),
            *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
            sa.ForeignKeyConstraint(
                ["day"],
                ["case_tally_days.day"],
                name=op.f(f"fk_{table}_day_case_tally_days"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("day", *(name for name, _ in keys), name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    op.drop_table("category_case_tallies")
    op.drop_table("case_tallies")
    op.drop_table("case_tally_days")
