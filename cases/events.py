"""The events of a case: each one is a row of the append-only log, never edited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class EventType(StrEnum):
    # The centre's own acts.
    ACCEPTED = "accepted"  # 受理 (an agent saved the ticket)
    MERGED = "merged"  # 并单 (saved as a repeat of an open case)
    FORWARDED = "forwarded"  # the dispatch core acknowledged the case
    REASSIGNED = "reassigned"  # 改派 after a 退单, to another department
    REJECTED = "rejected"  # 不予受理 after a 退单
    SENT_BACK = "sent_back"  # 退回 to 12345
    URGED = "urged"  # 催办: the deadline is near
    SUPERVISED = "supervised"  # 督办: the deadline has passed
    VISIT_SATISFIED = "visit_satisfied"  # 回访: 满意
    VISIT_FAIRLY_SATISFIED = "visit_fairly_satisfied"  # 回访: 基本满意
    VISIT_UNSATISFIED = "visit_unsatisfied"  # 回访: 不满意 → 重办
    VISIT_UNREACHED = "visit_unreached"  # 回访: 未接通 (retried, then closed)
    # Reported by the dispatch core (POST /api/dispatch/events).
    DISPATCHED = "dispatched"  # 派遣
    HANDLING = "handling"  # 处置中
    HANDLED = "handled"  # 已处置
    RETURNED = "returned"  # 退单
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请
    VERIFIED = "verified"  # 核查通过
    VERIFICATION_FAILED = "verification_failed"  # 核查不通过
    CORE_CLOSED = "closed"  # 结案


CORE_EVENT_TYPES = frozenset(
    {
        EventType.DISPATCHED,
        EventType.HANDLING,
        EventType.HANDLED,
        EventType.RETURNED,
        EventType.EXTENSION_REQUESTED,
        EventType.VERIFIED,
        EventType.VERIFICATION_FAILED,
        EventType.CORE_CLOSED,
    }
)
VISIT_OUTCOMES = frozenset(
    {
        EventType.VISIT_SATISFIED,
        EventType.VISIT_FAIRLY_SATISFIED,
        EventType.VISIT_UNSATISFIED,
        EventType.VISIT_UNREACHED,
    }
)

LABELS: dict[EventType, str] = {
    EventType.ACCEPTED: "受理",
    EventType.MERGED: "并单",
    EventType.FORWARDED: "转派",
    EventType.REASSIGNED: "改派",
    EventType.REJECTED: "不予受理",
    EventType.SENT_BACK: "退回12345",
    EventType.URGED: "催办",
    EventType.SUPERVISED: "督办",
    EventType.VISIT_SATISFIED: "回访：满意",
    EventType.VISIT_FAIRLY_SATISFIED: "回访：基本满意",
    EventType.VISIT_UNSATISFIED: "回访：不满意（重办）",
    EventType.VISIT_UNREACHED: "回访：未接通",
    EventType.DISPATCHED: "派遣",
    EventType.HANDLING: "处置中",
    EventType.HANDLED: "已处置",
    EventType.RETURNED: "退单",
    EventType.EXTENSION_REQUESTED: "延期",
    EventType.VERIFIED: "核查通过",
    EventType.VERIFICATION_FAILED: "核查不通过",
    EventType.CORE_CLOSED: "结案",
}


@dataclass(frozen=True)
class CaseEvent:
    """One thing that happened to a case: who (agent id, "core", "system"), when, why."""

    type: EventType
    at: datetime
    by: str
    reason: str = ""
    department: str | None = None  # 改派's new department, or the core's department code
    new_deadline: date | None = None  # 延期: the day asked for
