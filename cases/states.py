"""The states a work order (工单) passes through, with the names agents and leads read."""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    ACCEPTED = "accepted"  # 受理: written by an agent, not yet at the dispatch core
    FORWARDED = "forwarded"  # 已转派: the dispatch core has the case
    DISPATCHED = "dispatched"  # 已派遣: the core sent it to a department
    HANDLING = "handling"  # 处置中
    HANDLED = "handled"  # 已处置: the department reports it done
    VERIFYING = "verifying"  # 核查: the core's inspector confirmed the work
    CALLBACK = "callback"  # 回访: the core closed it; the citizen is to be called back
    CLOSED = "closed"  # 办结
    RETURNED = "returned"  # 退单: a department sent it back; the centre 改派 or rejects it
    REJECTED = "rejected"  # 不予受理
    MERGED = "merged"  # 并单: kept under another case
    SENT_BACK = "sent_back"  # 退回 12345: handed back to the platform it came from


LABELS: dict[CaseState, str] = {
    CaseState.ACCEPTED: "受理",
    CaseState.FORWARDED: "已转派",
    CaseState.DISPATCHED: "已派遣",
    CaseState.HANDLING: "处置中",
    CaseState.HANDLED: "已处置",
    CaseState.VERIFYING: "核查",
    CaseState.CALLBACK: "回访",
    CaseState.CLOSED: "办结",
    CaseState.RETURNED: "退单",
    CaseState.REJECTED: "不予受理",
    CaseState.MERGED: "并单",
    CaseState.SENT_BACK: "已退回12345",
}

TERMINAL_STATES = frozenset(
    {CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED, CaseState.SENT_BACK}
)
OPEN_STATES = frozenset(set(CaseState) - TERMINAL_STATES)
# While a case is in one of these, the department's handling deadline runs.
HANDLING_STATES = frozenset(
    {CaseState.ACCEPTED, CaseState.FORWARDED, CaseState.DISPATCHED, CaseState.HANDLING}
)
