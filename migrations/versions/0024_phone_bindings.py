"""phone bindings: agent phones' registrations kept across restarts

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-04 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_bindings",
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=255), nullable=False),
        sa.Column("source_host", sa.String(length=64), nullable=False),
        sa.Column("source_port", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "contact", name=op.f("pk_phone_bindings")),
    )


def downgrade() -> None:
    op.drop_table("phone_bindings")
