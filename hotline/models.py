"""SQLAlchemy 2.0 typed models: agents and sessions, calls and their events, tickets, outbox.
The reports' tables are in hotline/report_models.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Agent(Base):
    """A call-taker or shift lead who logs in to the console and registers a phone."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | lead
    password_hash: Mapped[str] = mapped_column(String(200))
    # MD5(agent:realm:sip password), what digest auth needs; the SIP password itself is not kept.
    sip_ha1: Mapped[str] = mapped_column(String(32))
    sip_realm: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgentSession(Base):
    """A console login; only the SHA-256 of the token is stored."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The last request made with it, for the idle timeout (None: never used since login).
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Call(Base):
    """One citizen call from arrival at the gateway to hang-up."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sip_call_id: Mapped[str] = mapped_column(String(255), index=True)
    dialled: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(32))
    caller: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # queued | offered | connected | ended
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    codec: Mapped[str] = mapped_column(String(8))
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime)
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rtp_from_caller: Mapped[int] = mapped_column(Integer, default=0)
    rtp_to_caller: Mapped[int] = mapped_column(Integer, default=0)
    # The post-call survey (好差评, telephony.survey_rules.SurveyOutcome): satisfied |
    # fairly_satisfied | unsatisfied | no_answer; None when the caller was not asked or left.
    survey: Mapped[str | None] = mapped_column(String(16), nullable=True)
    survey_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Time on hold (any party holding; until the end for a call ended held) and how many
    # times a party held (hotline.hold_time), written when the call ends.
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    hold_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # ended_at: the wallboard reads the open and the just ended calls (wallboard/day_calls.py).
    __table_args__ = (
        Index("ix_calls_arrived_at", "arrived_at"),
        Index("ix_calls_ended_at", "ended_at"),
    )


# A call log row as reports/calls.py's CallRow takes it, in its order (survey last, optional).
CALL_ROW_COLUMNS = (
    Call.id,
    Call.queue,
    Call.agent_id,
    Call.arrived_at,
    Call.connected_at,
    Call.ended_at,
    Call.end_reason,
    Call.dialled,
)


class CallEvent(Base):
    """An append-only log of what happened to a call (the source of later statistics)."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    agent_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_call_events_at", "at"),)


class AgentEvent(Base):
    """An append-only log of agent state changes (occupancy and handle time come from it)."""

    __tablename__ = "agent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    previous: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_agent_events_agent_at", "agent_id", "at"),)


class TicketCounter(Base):
    """The last sequence number handed out per hotline and local day."""

    __tablename__ = "ticket_counters"

    hotline: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, centre's timezone
    last: Mapped[int] = mapped_column(Integer)


class Recording(Base):
    """The stereo WAV of a bridged call (caller left, agent right); its ticket via the call."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    duration_seconds: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Ticket(Base):
    """A case (工单) written by an agent, forwarded to the dispatch core."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    hotline: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), nullable=True, index=True)
    caller_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    department_code: Mapped[str] = mapped_column(String(32))
    category_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The case's state (cases.CaseState), kept in the same transaction as each case event as
    # a projection of the log for lists and queries; "draft" for an unfinished voicemail.
    status: Mapped[str] = mapped_column(String(16), default="accepted")
    # None for a draft made from a voicemail, until an agent completes it.
    created_by: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # 并单: a repeat report of an open case is kept under it and not forwarded again.
    merged_into: Mapped[str | None] = mapped_column(
        ForeignKey("tickets.number"), nullable=True, index=True
    )
    # Where the case came from, for the reports: 12319, 96198, 12345, voicemail, callback.
    source: Mapped[str] = mapped_column(String(16), default="")
    # The 12345 platform's own number of a case it transferred (its idempotency key).
    external_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # 保密: the caller asked that their identity go no further than the taking agent and leads.
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # 110/119/120/122 when the caller was handed to an emergency service (国办函〔2025〕66号).
    emergency_service: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # The caller's post-call survey (好差评) of the call the ticket was taken on (as on calls).
    survey: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The deadline now running (handling or 回访), projected from the event log.
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Retention: when the caller's name, phone and address were erased (None: still kept).
    personal_erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    # Retention and reports select tickets by when they were accepted.
    __table_args__ = (
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_status_deadline", "status", "deadline"),
        Index("ix_tickets_phone", "phone"),
        Index("ix_tickets_external_number", "external_number", unique=True),
    )


class CaseEventRow(Base):
    """One event of a case (who, when, from, to, why): appended, never edited or deleted."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … per case: concurrent appends collide
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str | None] = mapped_column(String(32), nullable=True)
    new_deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The dispatch core's (or 12345's) event id: a retried event is applied once.
    source_event_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    # For events the centre raises itself (催办/督办 per deadline): raised once, even after a
    # restart or by two processes at once.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_case_events_ticket_seq", "ticket_id", "seq", unique=True),)


class ClassifierFeedback(Base):
    """What the classifier suggested for a saved ticket, and whether the agent kept it: the
    accept/correct record `hotline nlp train` and the acceptance figures are made from."""

    __tablename__ = "classifier_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    suggested_department: Mapped[str] = mapped_column(String(32))
    suggested_category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    suggested_urgent: Mapped[bool] = mapped_column(Boolean)
    department_accepted: Mapped[bool] = mapped_column(Boolean)
    category_accepted: Mapped[bool] = mapped_column(Boolean)
    urgent_accepted: Mapped[bool] = mapped_column(Boolean)
    # Which learned model made the suggestion; None for the rules alone.
    model_version: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class OutboxMessage(Base):
    """A case waiting to be (or already) delivered to the dispatch core; written with the ticket."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # case (the case itself) | command (改派, 退回, 催办, 督办, 重办 for a case already sent)
    kind: Mapped[str] = mapped_column(String(16), default="case")
    # core (the dispatch core) | 12345 (the platform a transferred case is sent back to)
    target: Mapped[str] = mapped_column(String(16), default="core")
    # Refused for good (a 4xx): no more attempts; shift leads see it in the dead-letter list.
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Retention: when the delivered payload (the case with the citizen's data) was erased.
    payload_erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The sender holding the row now (a token written when it claimed the row, until
    # next_attempt_at): only that sender records a failure; see dispatch/sender.py.
    claimed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)


class JobRunRow(Base):
    """One run of a scheduled job (retention, backup …) for one due time: the row is written
    before the job runs, so of several nodes only the one that wrote it runs it."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    due: Mapped[datetime] = mapped_column(UtcDateTime)
    token: Mapped[str] = mapped_column(String(32))  # the run holding it (a takeover changes it)
    node: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_job_runs_job_due", "job", "due", unique=True),)


class RosterEntryRow(Base):
    """Who is on which shift of which day (the duty roster, 排班)."""

    __tablename__ = "roster_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(8))
    skills: Mapped[str] = mapped_column(String(200), default="")  # ';'-separated seats
    dialects: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        Index("ix_roster_entries_day_shift_agent", "day", "shift", "agent_id", unique=True),
    )


class RosterOverride(Base):
    """A shift lead let an agent off the roster go ready: who, for whom, when, why (audit)."""

    __tablename__ = "roster_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_roster_overrides_until", "until"),)


class MissedCall(Base):
    """An abandoned call or a callback request, and whether someone has called back."""

    __tablename__ = "missed_calls"

    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # abandoned | callback
    number: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(32))
    missed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | offered | done
    agent_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_missed_calls_status_missed_at", "status", "missed_at"),)


class AuditRecord(Base):
    """Who did or saw what, when and why: every privileged action and every view of a
    ticket's personal data. Append-only; read by admins."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor_id: Mapped[str] = mapped_column(String(64))  # an agent id, or cli:<os user>
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))  # ticket.view, agent.role, retention.run …
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(String(200))  # the policy's ground, and a stated purpose
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
        Index("ix_audit_log_object", "object_kind", "object_id"),
    )


class PhoneBinding(Base):
    """Where an agent's phone registered from, kept so a restart does not forget the phones
    until their next REGISTER (which may be an hour away) while their agents show ready."""

    __tablename__ = "phone_bindings"

    agent_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contact: Mapped[str] = mapped_column(String(255), primary_key=True)
    source_host: Mapped[str] = mapped_column(String(64))
    source_port: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboundCall(Base):
    """A click-to-call (回拨) placed for a 回访 or a missed call: who dialled whom for which
    task, how far it got, and its recording (citizen left, agent right)."""

    __tablename__ = "outbound_calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task: Mapped[str] = mapped_column(String(16))  # visit | callback
    task_ref: Mapped[str] = mapped_column(String(64))  # the ticket number or missed call id
    agent_id: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # talked | agent-unreached | citizen-unreached | cancelled; None while dialling
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    recording_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    recording_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_outbound_calls_task", "task", "task_ref"),)
