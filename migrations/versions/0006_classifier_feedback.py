"""classifier feedback (what was suggested for each saved ticket and whether the agent kept
it), and 并单: a ticket merged into an open one

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classifier_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("suggested_department", sa.String(length=32), nullable=False),
        sa.Column("suggested_category", sa.String(length=16), nullable=True),
        sa.Column("suggested_urgent", sa.Boolean(), nullable=False),
        sa.Column("department_accepted", sa.Boolean(), nullable=False),
        sa.Column("category_accepted", sa.Boolean(), nullable=False),
        sa.Column("urgent_accepted", sa.Boolean(), nullable=False),
        sa.Column("model_version", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_classifier_feedback_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_feedback")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_classifier_feedback_ticket_id")),
    )
    with op.batch_alter_table("classifier_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_classifier_feedback_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_merged_into_tickets"), "tickets", ["merged_into"], ["number"]
        )
        batch_op.create_index(batch_op.f("ix_tickets_merged_into"), ["merged_into"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_merged_into"))
        batch_op.drop_constraint(batch_op.f("fk_tickets_merged_into_tickets"), type_="foreignkey")
        batch_op.drop_column("merged_into")
    with op.batch_alter_table("classifier_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifier_feedback_created_at"))
    op.drop_table("classifier_feedback")
