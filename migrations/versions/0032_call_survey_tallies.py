"""call survey tallies: each kept day's rated calls and satisfied ratings (通话满意率)

Revision ID: 0032
Revises: 0026
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0026"
branch_labels = None
depends_on = None

TABLES = ("call_tallies", "agent_call_tallies")
COLUMNS = ("surveyed", "survey_pleased")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in COLUMNS:
                batch.add_column(
                    sa.Column(column, sa.Integer(), nullable=False, server_default="0")
                )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in COLUMNS:
                batch.drop_column(column)
