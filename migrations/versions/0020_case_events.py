"""the case event log (工单闭环): an append-only case_events table, the ticket's source, 12345
number, 保密 flag, emergency hand-off and derived deadline, and outbox rows for commands and
dead letters

Revision ID: 0020
Revises: 0062
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0062"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("new_deadline", sa.Date(), nullable=True),
        sa.Column("source_event_id", sa.String(length=100), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_case_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("source_event_id", name=op.f("uq_case_events_source_event_id")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_case_events_dedupe_key")),
    )
    op.create_index("ix_case_events_ticket_seq", "case_events", ["ticket_id", "seq"], unique=True)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("external_number", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("deadline", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("emergency_service", sa.String(length=8), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_external_number"), ["external_number"], unique=True
        )
        batch_op.create_index("ix_tickets_status_deadline", ["status", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_phone"), ["phone"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="case")
        )
        batch_op.add_column(
            sa.Column("target", sa.String(length=16), nullable=False, server_default="core")
        )
        batch_op.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
    # Tickets written before the event log: each gets its opening event (and 转派 when the
    # core already has it), so every case replays from its log.
    op.execute("UPDATE tickets SET source = 'voicemail' WHERE status = 'draft'")
    op.execute("UPDATE tickets SET source = hotline WHERE source = ''")
    op.execute(
        "INSERT INTO case_events (ticket_id, seq, type, at, by, from_state, to_state, reason,"
        " recorded_at)"
        " SELECT id, 1, CASE WHEN status = 'merged' THEN 'merged' ELSE 'accepted' END,"
        " created_at, COALESCE(created_by, 'system'), NULL,"
        " CASE WHEN status = 'merged' THEN 'merged' ELSE 'accepted' END, '', created_at"
        " FROM tickets WHERE status IN ('accepted', 'merged')"
    )
    op.execute(
        "INSERT INTO case_events (ticket_id, seq, type, at, by, from_state, to_state, reason,"
        " recorded_at)"
        " SELECT t.id, 2, 'forwarded', o.delivered_at, 'system', 'accepted', 'forwarded', '',"
        " o.delivered_at FROM tickets t JOIN outbox o ON o.ticket_id = t.id"
        " WHERE t.status = 'accepted' AND o.delivered_at IS NOT NULL"
    )
    op.execute(
        "UPDATE tickets SET status = 'forwarded' WHERE status = 'accepted' AND id IN"
        " (SELECT ticket_id FROM outbox WHERE delivered_at IS NOT NULL)"
    )


def downgrade() -> None:
    op.execute("UPDATE tickets SET status = 'accepted' WHERE status NOT IN ('merged', 'draft')")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("dead_at")
        batch_op.drop_column("target")
        batch_op.drop_column("kind")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_phone"))
        batch_op.drop_index("ix_tickets_status_deadline")
        batch_op.drop_index(batch_op.f("ix_tickets_external_number"))
        batch_op.drop_column("emergency_service")
        batch_op.drop_column("deadline")
        batch_op.drop_column("confidential")
        batch_op.drop_column("external_number")
        batch_op.drop_column("source")
    op.drop_index("ix_case_events_ticket_seq", table_name="case_events")
    op.drop_table("case_events")
