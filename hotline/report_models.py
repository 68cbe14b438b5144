"""The reports' tables: closed days' sums of calls and cases (hotline/report_sums.py) and
closed months' reports (hotline/reporting.py). Same metadata as hotline/models.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models import Base, UtcDateTime


class CallTallyDay(Base):
    """A local day whose calls are summed in `call_tallies` (its calls all had an outcome)."""

    __tablename__ = "call_tally_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    # The [metrics] thresholds the day was summed with.
    answer_seconds: Mapped[float] = mapped_column(Float)
    short_abandon_seconds: Mapped[float] = mapped_column(Float)
    rolled_at: Mapped[datetime] = mapped_column(UtcDateTime)


class _CallSums:
    """The columns of reports/calls.py's CallTally."""

    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    answered_in_time: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandons: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    voicemails: Mapped[int] = mapped_column(Integer)
    callbacks: Mapped[int] = mapped_column(Integer)
    waiting: Mapped[int] = mapped_column(Integer)
    wait_seconds: Mapped[float] = mapped_column(Float)
    talk_seconds: Mapped[float] = mapped_column(Float)
    talked: Mapped[int] = mapped_column(Integer)
    surveyed: Mapped[int] = mapped_column(Integer, server_default="0")
    survey_pleased: Mapped[int] = mapped_column(Integer, server_default="0")


class CallTallyRow(_CallSums, Base):
    """Calls of one local day, hour and hotline, summed (reports/calls.py): a year's report reads
    these instead of millions of calls, and they outlive retention."""

    __tablename__ = "call_tallies"

    day: Mapped[date] = mapped_column(
        ForeignKey("call_tally_days.day", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotline: Mapped[str] = mapped_column(String(32), primary_key=True)


class AgentCallTallyRow(_CallSums, Base):
    """Calls one agent answered on one local day, summed."""

    __tablename__ = "agent_call_tallies"

    day: Mapped[date] = mapped_column(
        ForeignKey("call_tally_days.day", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class CaseTallyDay(Base):
    """A local day whose accepted cases are all settled and summed in `case_tallies`."""

    __tablename__ = "case_tally_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    forward_minutes: Mapped[float] = mapped_column(Float)  # [reports] it was summed with
    rolled_at: Mapped[datetime] = mapped_column(UtcDateTime)


class _CaseSums:
    """The columns of reports/cases.py's CaseTally."""

    accepted: Mapped[int] = mapped_column(Integer)
    filed: Mapped[int] = mapped_column(Integer)
    forwarded_in_time: Mapped[int] = mapped_column(Integer)
    due: Mapped[int] = mapped_column(Integer)
    handled: Mapped[int] = mapped_column(Integer)
    handled_on_time: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    closed_on_time: Mapped[int] = mapped_column(Integer)
    finished: Mapped[int] = mapped_column(Integer)
    merged: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    extended: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    fairly_satisfied: Mapped[int] = mapped_column(Integer)
    unsatisfied: Mapped[int] = mapped_column(Integer)
    unreached: Mapped[int] = mapped_column(Integer)


class CaseTallyRow(_CaseSums, Base):
    """Settled cases accepted on one local day from one source for one department, summed."""

    __tablename__ = "case_tallies"

    day: Mapped[date] = mapped_column(
        ForeignKey("case_tally_days.day", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str] = mapped_column(String(32), primary_key=True)


class CategoryCaseTallyRow(_CaseSums, Base):
    """Settled cases accepted on one local day in one category, summed."""

    __tablename__ = "category_case_tallies"

    day: Mapped[date] = mapped_column(
        ForeignKey("case_tally_days.day", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(16), primary_key=True)


class ReportSnapshot(Base):
    """A closed month's report as it stood at month end, kept so that its figures do not change
    when calls and tickets are later purged by retention."""

    __tablename__ = "report_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # month
    period: Mapped[str] = mapped_column(String(32))  # 2026-11
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_report_snapshots_kind_period", "kind", "period", unique=True),)
