"""Property tests: no sequence of events reaches an undefined state, and the derived state
is always the replay of the events the machine accepted."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cases import CaseError, CaseEvent, CaseState, DeadlinePolicy, EventType, WorkingCalendar
from cases.deadlines import TimeLimit
from cases.machine import TRANSITIONS, Case, apply, open_case, replay

ZONE = ZoneInfo("Asia/Shanghai")
POLICY = DeadlinePolicy(WorkingCalendar("Asia/Shanghai"))
START = datetime(2026, 2, 10, 9, 0, tzinfo=ZONE)  # the week before the Spring Festival
STATES = set(CaseState)

events = st.builds(
    lambda kind, minutes, reason, department, days: CaseEvent(
        kind,
        START + timedelta(minutes=minutes),
        "core",
        reason,
        department,
        None if days is None else date(2026, 2, 10) + timedelta(days=days),
    ),
    st.sampled_from([e for e in EventType if e not in {EventType.ACCEPTED, EventType.MERGED}]),
    st.integers(min_value=1, max_value=60 * 24 * 40),
    st.sampled_from(["", "原因"]),
    st.sampled_from([None, "WATER", "MUNICIPAL"]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
)
limits = st.one_of(
    st.integers(min_value=1, max_value=10).map(lambda d: TimeLimit(working_days=d)),
    st.floats(min_value=0.5, max_value=72).map(lambda h: TimeLimit(hours=h)),
)


@settings(max_examples=300, deadline=None)
@given(limit=limits, attempts=st.lists(events, max_size=40))
def test_no_sequence_reaches_an_undefined_state(
    limit: TimeLimit, attempts: list[CaseEvent]
) -> None:
    opening = CaseEvent(EventType.ACCEPTED, START, "1001")
    case = open_case(opening, limit, POLICY)
    accepted = [opening]
    for event in sorted(attempts, key=lambda e: e.at):
        try:
            after = apply(case, event, POLICY)
        except CaseError as error:
            assert error.error_id  # refused with a stable id, and the case unchanged
            continue
        sources, target = TRANSITIONS[event.type]
        assert case.state in sources
        assert after.state in STATES
        if target is not None and event.type is not EventType.VISIT_UNREACHED:
            assert after.state is target
        case = after
        accepted.append(event)
        # The derived state is always the replay of what was accepted.
        assert replay(accepted, limit, POLICY) == case
    assert _consistent(case)


def _consistent(case: Case) -> bool:
    if case.state is CaseState.CLOSED:
        return case.closed_at is not None
    if case.state is CaseState.CALLBACK:
        return case.visit_due is not None
    return case.state in STATES


@settings(max_examples=200, deadline=None)
@given(attempts=st.lists(events, max_size=30))
def test_a_refused_event_changes_nothing(attempts: list[CaseEvent]) -> None:
    case = open_case(CaseEvent(EventType.ACCEPTED, START, "1001"), TimeLimit(5), POLICY)
    for event in sorted(attempts, key=lambda e: e.at):
        before = case
        try:
            case = apply(case, event, POLICY)
        except CaseError:
            assert case == before
