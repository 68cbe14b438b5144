"""The work order (工单) lifecycle: states, transitions, working-day deadlines, 催办/督办 timing
and 回访 outcomes. Pure and synchronous: everything takes `now` and the event log, nothing
touches a database or the network; the state of a case is the replay of its events."""

from cases.calendar import WorkingCalendar
from cases.deadlines import DeadlinePolicy
from cases.events import CaseEvent, EventType
from cases.machine import Case, CaseError, apply, replay
from cases.states import OPEN_STATES, TERMINAL_STATES, CaseState

__all__ = [
    "OPEN_STATES",
    "TERMINAL_STATES",
    "Case",
    "CaseError",
    "CaseEvent",
    "CaseState",
    "DeadlinePolicy",
    "EventType",
    "WorkingCalendar",
    "apply",
    "replay",
]
