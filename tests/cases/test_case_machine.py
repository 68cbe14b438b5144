"""The work order state machine: transitions, errors, deadlines, 催办/督办 and 回访 rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases import CaseError, CaseEvent, CaseState, DeadlinePolicy, EventType, WorkingCalendar
from cases.deadlines import TimeLimit
from cases.machine import allowed, apply, due_reminders, next_reminder_at, open_case, replay

ZONE = ZoneInfo("Asia/Shanghai")
POLICY = DeadlinePolicy(WorkingCalendar("Asia/Shanghai"))
FIVE_DAYS = TimeLimit(working_days=5)
E = EventType
S = CaseState
# Monday 8 June 2026, an ordinary working week (no holiday until 19 June).
T0 = datetime(2026, 6, 8, 10, 0, tzinfo=ZONE)


def ev(kind: EventType, minutes: float, **fields: object) -> CaseEvent:
    by = "core" if kind.value in {"dispatched", "handling", "handled", "returned"} else "1001"
    return CaseEvent(kind, T0 + timedelta(minutes=minutes), by, **fields)  # type: ignore[arg-type]


def run(*events: CaseEvent) -> object:
    return replay([ev(E.ACCEPTED, 0), *events], FIVE_DAYS, POLICY)


def test_the_whole_loop_ends_closed_with_the_satisfaction() -> None:
    case = replay(
        [
            ev(E.ACCEPTED, 0),
            ev(E.FORWARDED, 1),
            ev(E.DISPATCHED, 30, department="MUNICIPAL"),
            ev(E.HANDLING, 60),
            ev(E.HANDLED, 600),
            ev(E.VERIFIED, 700),
            ev(E.CORE_CLOSED, 800),
            ev(E.VISIT_SATISFIED, 900),
        ],
        FIVE_DAYS,
        POLICY,
    )
    assert case.state is S.CLOSED
    assert case.satisfaction is E.VISIT_SATISFIED
    assert case.handled_on_time is True
    assert case.department == "MUNICIPAL"
    assert case.current_deadline is None


def test_the_deadline_is_five_working_days_from_acceptance() -> None:
    case = replay([ev(E.ACCEPTED, 0)], FIVE_DAYS, POLICY)
    assert case.deadline == datetime(2026, 6, 15, 10, 0, tzinfo=ZONE)  # Mon → next Mon
    # 催办 one working day before: Friday 12 June 10:00.
    assert case.remind_at == datetime(2026, 6, 12, 10, 0, tzinfo=ZONE)
    assert case.overdue(case.deadline + timedelta(seconds=1))
    assert not case.overdue(case.deadline)


def test_an_illegal_transition_names_the_state_and_the_event() -> None:
    with pytest.raises(CaseError) as raised:
        replay([ev(E.ACCEPTED, 0), ev(E.HANDLED, 5)], FIVE_DAYS, POLICY)
    assert raised.value.error_id == "transition-not-allowed"
    assert "handled" in str(raised.value) and "accepted" in str(raised.value)
    assert "受理" in str(raised.value)


def test_an_older_core_event_than_the_last_is_out_of_order() -> None:
    with pytest.raises(CaseError) as raised:
        replay([ev(E.ACCEPTED, 0), ev(E.DISPATCHED, 30), ev(E.HANDLING, 20)], FIVE_DAYS, POLICY)
    assert raised.value.error_id == "out-of-order"


def test_returned_then_reassigned_goes_back_to_the_core() -> None:
    case = replay(
        [
            ev(E.ACCEPTED, 0),
            ev(E.DISPATCHED, 10, department="MUNICIPAL"),
            ev(E.RETURNED, 20, reason="不属于本部门职责"),
            ev(E.REASSIGNED, 30, department="WATER"),
        ],
        FIVE_DAYS,
        POLICY,
    )
    assert case.state is S.FORWARDED and case.department == "WATER" and case.returns == 1
    assert case.late_return is False


def test_a_return_after_a_working_day_is_marked_late() -> None:
    case = replay(
        [ev(E.ACCEPTED, 0), ev(E.DISPATCHED, 10), ev(E.RETURNED, 60 * 24 * 2, reason="晚")],
        FIVE_DAYS,
        POLICY,
    )
    assert case.late_return is True


@pytest.mark.parametrize("kind", [E.RETURNED, E.REJECTED, E.SENT_BACK])
def test_returns_and_refusals_need_a_reason(kind: EventType) -> None:
    events = [ev(E.ACCEPTED, 0), ev(E.DISPATCHED, 1)]
    if kind is not E.RETURNED:
        events.append(ev(E.RETURNED, 2, reason="越权"))
    with pytest.raises(CaseError) as raised:
        replay([*events, ev(kind, 3, reason="  ")], FIVE_DAYS, POLICY)
    assert raised.value.error_id == "missing-reason"


def test_reassign_needs_a_department() -> None:
    with pytest.raises(CaseError) as raised:
        run(ev(E.DISPATCHED, 1), ev(E.RETURNED, 2, reason="越权"), ev(E.REASSIGNED, 3))
    assert raised.value.error_id == "missing-department"


def test_extensions_move_the_deadline_and_are_capped_at_three() -> None:
    base = [ev(E.ACCEPTED, 0), ev(E.DISPATCHED, 1)]
    days = [date(2026, 6, 16), date(2026, 6, 17), date(2026, 6, 18)]
    extensions = [
        ev(E.EXTENSION_REQUESTED, 2 + i, reason="材料未到", new_deadline=day)
        for i, day in enumerate(days)
    ]
    case = replay([*base, *extensions], FIVE_DAYS, POLICY)
    assert case.extensions == 3
    assert case.deadline == datetime(2026, 6, 19, 0, 0, tzinfo=ZONE)  # end of 18 June
    with pytest.raises(CaseError) as raised:
        apply(
            case,
            ev(E.EXTENSION_REQUESTED, 9, reason="再延", new_deadline=date(2026, 6, 22)),
            POLICY,
        )
    assert raised.value.error_id == "extension-refused"


def test_an_extension_needs_a_date() -> None:
    with pytest.raises(CaseError) as raised:
        run(ev(E.DISPATCHED, 1), ev(E.EXTENSION_REQUESTED, 2, reason="x"))
    assert raised.value.error_id == "missing-new-deadline"


def test_urge_then_supervise_once_each_per_deadline() -> None:
    case = replay([ev(E.ACCEPTED, 0), ev(E.DISPATCHED, 1)], FIVE_DAYS, POLICY)
    assert due_reminders(case, case.remind_at - timedelta(seconds=1)) == []
    assert next_reminder_at(case) == case.remind_at
    assert due_reminders(case, case.remind_at) == [E.URGED]
    urged = apply(case, CaseEvent(E.URGED, case.remind_at, "system"), POLICY)
    assert due_reminders(urged, case.remind_at + timedelta(hours=1)) == []
    assert next_reminder_at(urged) == case.deadline
    assert due_reminders(urged, case.deadline) == [E.SUPERVISED]
    supervised = apply(urged, CaseEvent(E.SUPERVISED, case.deadline, "system"), POLICY)
    assert due_reminders(supervised, case.deadline + timedelta(days=3)) == []
    assert next_reminder_at(supervised) is None
    # A case found only after its deadline gets 督办 alone, not a late 催办.
    assert due_reminders(case, case.deadline + timedelta(minutes=1)) == [E.SUPERVISED]


def test_an_extension_rearms_the_reminders() -> None:
    case = replay(
        [
            ev(E.ACCEPTED, 0),
            ev(E.DISPATCHED, 1),
            CaseEvent(E.URGED, T0 + timedelta(days=4), "system"),
        ],
        FIVE_DAYS,
        POLICY,
    )
    extended = apply(
        case,
        CaseEvent(
            E.EXTENSION_REQUESTED,
            T0 + timedelta(days=4, hours=1),
            "core",
            "等待材料",
            new_deadline=date(2026, 6, 17),
        ),
        POLICY,
    )
    assert not extended.urged and next_reminder_at(extended) == extended.remind_at


def test_unsatisfied_visit_reopens_with_a_new_deadline() -> None:
    closed = [ev(E.DISPATCHED, 1), ev(E.HANDLED, 2), ev(E.CORE_CLOSED, 3)]
    case = replay([ev(E.ACCEPTED, 0), *closed, ev(E.VISIT_UNSATISFIED, 60)], FIVE_DAYS, POLICY)
    assert case.state is S.FORWARDED and case.reopened == 1
    assert case.deadline == POLICY.deadline(T0 + timedelta(minutes=60), FIVE_DAYS)
    # The reopened case can go round again.
    again = replay(
        [
            ev(E.ACCEPTED, 0),
            *closed,
            ev(E.VISIT_UNSATISFIED, 60),
            ev(E.DISPATCHED, 70),
            ev(E.HANDLED, 80),
            ev(E.CORE_CLOSED, 90),
            ev(E.VISIT_FAIRLY_SATISFIED, 100),
        ],
        FIVE_DAYS,
        POLICY,
    )
    assert again.state is S.CLOSED and again.satisfaction is E.VISIT_FAIRLY_SATISFIED


def test_unreached_visits_are_retried_then_closed() -> None:
    closed = [ev(E.ACCEPTED, 0), ev(E.DISPATCHED, 1), ev(E.HANDLED, 2), ev(E.CORE_CLOSED, 3)]
    once = replay([*closed, ev(E.VISIT_UNREACHED, 10)], FIVE_DAYS, POLICY)
    assert once.state is S.CALLBACK and once.visit_attempts == 1
    assert once.next_visit_at == T0 + timedelta(minutes=10 + POLICY.visit_retry_minutes)
    thrice = replay(
        [*closed, *(ev(E.VISIT_UNREACHED, 10 + i) for i in range(3))], FIVE_DAYS, POLICY
    )
    assert thrice.state is S.CLOSED and thrice.satisfaction is None


def test_the_visit_deadline_runs_in_the_callback_state() -> None:
    case = run(ev(E.DISPATCHED, 1), ev(E.HANDLED, 2), ev(E.CORE_CLOSED, 3))
    assert case.state is S.CALLBACK  # type: ignore[attr-defined]
    assert case.current_deadline == POLICY.visit_deadline(T0 + timedelta(minutes=3))  # type: ignore[attr-defined]


def test_opening_events_only_open() -> None:
    case = open_case(ev(E.ACCEPTED, 0), FIVE_DAYS, POLICY)
    with pytest.raises(CaseError) as raised:
        apply(case, ev(E.ACCEPTED, 1), POLICY)
    assert raised.value.error_id == "already-open"
    with pytest.raises(CaseError):
        open_case(ev(E.DISPATCHED, 0), FIVE_DAYS, POLICY)


def test_merged_cases_take_no_further_events() -> None:
    case = open_case(ev(E.MERGED, 0), FIVE_DAYS, POLICY)
    assert case.state is S.MERGED and allowed(S.MERGED) == []
