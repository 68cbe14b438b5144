"""call survey: the post-call survey (好差评) on calls and their tickets

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("survey", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("survey_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("survey", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("survey")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("survey_at")
        batch.drop_column("survey")
