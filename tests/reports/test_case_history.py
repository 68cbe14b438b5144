"""A case's report row from its ticket and its event log: each path of the closed loop, worked
out by hand (March 2026 has no holiday: working days are Monday to Friday)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from cases import CaseEvent, DeadlinePolicy, EventType, WorkingCalendar
from cases.machine import apply, open_case, replay
from reports import CaseOptions, CaseRow, Satisfaction
from reports.case_history import LoggedEvent, TicketFacts, case_row
from reports.cases import tally_case

ZONE = ZoneInfo("Asia/Shanghai")
POLICY = DeadlinePolicy(WorkingCalendar("Asia/Shanghai"))
E = EventType


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=ZONE)


def ticket(number: str = "T1", **fields: object) -> TicketFacts:
    values: dict[str, object] = {
        "number": number,
        "accepted_at": at(2, 9),
        "source": "12319",
        "department": "SANITATION",
        "category": "06001",
    }
    values.update(fields)
    return TicketFacts(**values)  # type: ignore[arg-type]


def ev(kind: EventType, moment: datetime, **fields: object) -> CaseEvent:
    return CaseEvent(kind, moment, "core", **fields)  # type: ignore[arg-type]


def logged(facts: TicketFacts, *events: CaseEvent) -> list[LoggedEvent]:
    """The log as the case machine writes it: each event with the state it led to."""
    limit = POLICY.limit_for(facts.category, facts.urgent)
    case = open_case(events[0], limit, POLICY)
    log = [LoggedEvent(events[0], case.state)]
    for event in events[1:]:
        case = apply(case, event, POLICY)
        log.append(LoggedEvent(event, case.state))
    return log


def agrees_with_the_machine(facts: TicketFacts, log: list[LoggedEvent], row: CaseRow) -> None:
    """One definition of the deadline and the counts: the machine's replay says the same."""
    limit = POLICY.limit_for(facts.category, facts.urgent)
    case = replay([e.event for e in log], limit, POLICY)
    assert row.deadline == case.deadline
    assert (row.extensions, row.returns, row.reopened) == (
        case.extensions,
        case.returns,
        case.reopened,
    )
    assert row.handled_at == case.handled_at
    assert (row.settled_at is not None) == (case.closed_at is not None)


def test_returned_then_reassigned_counts_under_the_new_department() -> None:
    facts = ticket()
    log = logged(
        facts,
        ev(E.ACCEPTED, at(2, 9), department="SANITATION"),
        ev(E.FORWARDED, at(2, 9, 4)),
        ev(E.DISPATCHED, at(2, 9, 30), department="SANITATION"),
        ev(E.RETURNED, at(2, 14), reason="不属本部门职责"),
        ev(E.REASSIGNED, at(2, 15), department="MUNICIPAL", reason="改派市政"),
        ev(E.DISPATCHED, at(3, 9), department="MUNICIPAL"),
        ev(E.HANDLED, at(5, 10)),
        ev(E.CORE_CLOSED, at(5, 12)),
        ev(E.VISIT_SATISFIED, at(6, 10)),
    )
    row = case_row(facts, log, POLICY)
    assert row.department == "MUNICIPAL"
    assert row.forwarded_at == at(2, 9, 4)  # the first forward, not the 改派's
    assert row.returns == 1
    assert row.deadline == at(9, 9)  # Monday 2 March 09:00 + 5 working days
    assert (row.handled_at, row.core_closed_at, row.closed_at) == (at(5, 10), at(5, 12), at(6, 10))
    assert (row.satisfaction, row.visited_at) == (Satisfaction.SATISFIED, at(6, 10))
    assert row.settled_at == at(6, 10)
    assert (row.rejected_at, row.sent_back_at) == (None, None)
    agrees_with_the_machine(facts, log, row)
    tally = tally_case(row, at(31, 0), CaseOptions())
    assert (tally.filed, tally.forwarded_in_time, tally.returned) == (1, 1, 1)
    assert (tally.due, tally.handled_on_time, tally.closed_on_time, tally.finished) == (1, 1, 1, 1)
    assert tally.satisfied == 1


def test_two_extensions_move_the_deadline_and_three_unreached_visits_close_it() -> None:
    facts = ticket()
    log = logged(
        facts,
        ev(E.ACCEPTED, at(2, 9)),
        ev(E.FORWARDED, at(2, 9, 20)),
        ev(E.DISPATCHED, at(2, 10), department="SANITATION"),
        # Deadline Monday 9 March 09:00 → to the end of Wednesday 11 March (2 working days).
        ev(E.EXTENSION_REQUESTED, at(6, 10), reason="材料待采购", new_deadline=date(2026, 3, 11)),
        # → to the end of Monday 16 March (12, 13, 16: 3 working days, the cap).
        ev(E.EXTENSION_REQUESTED, at(10, 10), reason="天气原因", new_deadline=date(2026, 3, 16)),
        ev(E.HANDLED, at(16, 18)),
        ev(E.CORE_CLOSED, at(17, 10)),
        ev(E.VISIT_UNREACHED, at(17, 14)),
        ev(E.VISIT_UNREACHED, at(17, 16, 30)),
        ev(E.VISIT_UNREACHED, at(18, 10)),
    )
    row = case_row(facts, log, POLICY)
    assert row.extensions == 2
    assert row.deadline == at(17, 0)
    assert row.forwarded_at == at(2, 9, 20)
    assert row.handled_at == at(16, 18)
    assert (row.satisfaction, row.visited_at) == (Satisfaction.UNREACHED, at(18, 10))
    assert row.closed_at == row.settled_at == at(18, 10)  # the third attempt closes it
    agrees_with_the_machine(facts, log, row)
    tally = tally_case(row, at(31, 0), CaseOptions())
    # Handled after the first deadline but before the extended one: on time; forwarded after
    # 20 minutes: not within 10.
    assert (tally.extended, tally.handled_on_time, tally.overdue) == (1, 1, 0)
    assert (tally.forwarded_in_time, tally.unreached, tally.reached) == (0, 1, 0)
    # Seen on 12 March, one extension had been granted and the second not yet.
    early = case_row(facts, log, POLICY, as_of=at(9, 12))
    assert (early.extensions, early.deadline, early.settled_at) == (1, at(12, 0), None)


def test_unsatisfied_visit_reopens_then_the_last_handling_and_visit_count() -> None:
    facts = ticket()
    events = [
        ev(E.ACCEPTED, at(2, 9)),
        ev(E.FORWARDED, at(2, 9, 2)),
        ev(E.DISPATCHED, at(2, 9, 30), department="SANITATION"),
        ev(E.HANDLED, at(3, 10)),
        ev(E.CORE_CLOSED, at(3, 12)),
        ev(E.VISIT_UNSATISFIED, at(4, 10)),  # 重办: 5 working days again, to 11 March 10:00
        ev(E.DISPATCHED, at(4, 11), department="SANITATION"),
        ev(E.HANDLED, at(12, 10)),  # after the new deadline: late
        ev(E.CORE_CLOSED, at(12, 11)),
        ev(E.VISIT_SATISFIED, at(13, 10)),
    ]
    log = logged(facts, *events)
    row = case_row(facts, log, POLICY)
    assert row.reopened == 1
    assert row.deadline == at(11, 10)
    assert (row.handled_at, row.core_closed_at) == (at(12, 10), at(12, 11))
    assert (row.satisfaction, row.closed_at, row.settled_at) == (
        Satisfaction.SATISFIED,
        at(13, 10),
        at(13, 10),
    )
    agrees_with_the_machine(facts, log, row)
    tally = tally_case(row, at(31, 0), CaseOptions())
    assert (tally.reopened, tally.handled, tally.handled_on_time, tally.overdue) == (1, 1, 0, 1)
    assert (tally.satisfied, tally.unsatisfied) == (1, 0)

    # While it is being handled again: the 不满意 is the last outcome, nothing handled yet.
    during = case_row(facts, log, POLICY, as_of=at(5, 0))
    assert (during.reopened, during.handled_at, during.core_closed_at) == (1, None, None)
    assert (during.satisfaction, during.settled_at) == (Satisfaction.UNSATISFIED, None)
    agrees_with_the_machine(facts, log[:7], during)
    # Before the 回访: handled on time by the first deadline, not reopened yet.
    before = case_row(facts, log, POLICY, as_of=at(3, 13))
    assert (before.reopened, before.deadline, before.handled_at) == (0, at(9, 9), at(3, 10))
    assert (before.satisfaction, before.core_closed_at) == (None, at(3, 12))


def test_a_merged_case_is_finished_when_its_master_is() -> None:
    master_facts = ticket("T1")
    master_log = logged(
        master_facts,
        ev(E.ACCEPTED, at(2, 9)),
        ev(E.FORWARDED, at(2, 9, 1)),
        ev(E.DISPATCHED, at(2, 9, 5), department="SANITATION"),
        ev(E.HANDLED, at(4, 9)),
        ev(E.CORE_CLOSED, at(4, 10)),
        ev(E.VISIT_FAIRLY_SATISFIED, at(5, 15)),
    )
    master = case_row(master_facts, master_log, POLICY)
    repeat = ticket("T2", accepted_at=at(2, 11), merged_into="T1", source="96198")
    repeat_log = logged(repeat, ev(E.MERGED, at(2, 11)))
    row = case_row(repeat, repeat_log, POLICY, master=master)
    assert (row.merged_into, row.closed_at, row.settled_at) == ("T1", at(5, 15), at(5, 15))
    assert row.handled_at is None and row.satisfaction is None  # the master's, not its own
    tally = tally_case(row, at(31, 0), CaseOptions())
    assert (tally.accepted, tally.filed, tally.merged, tally.finished) == (1, 0, 1, 1)
    assert tally_case(row, at(5, 12), CaseOptions()).finished == 0

    open_master = case_row(master_facts, master_log[:3], POLICY)
    pending = case_row(repeat, repeat_log, POLICY, master=open_master)
    assert (pending.closed_at, pending.settled_at) == (None, None)
    # A master no longer kept: nothing more will be learnt, settled as saved.
    orphan = case_row(repeat, repeat_log, POLICY, master=None)
    assert (orphan.closed_at, orphan.settled_at) == (None, at(2, 11))


def test_rejected_after_a_return_is_finished_and_not_filed() -> None:
    facts = ticket()
    log = logged(
        facts,
        ev(E.ACCEPTED, at(2, 9)),
        ev(E.FORWARDED, at(2, 9, 3)),
        ev(E.DISPATCHED, at(2, 9, 30), department="SANITATION"),
        ev(E.RETURNED, at(2, 16), reason="非城管职责"),
        ev(E.REJECTED, at(3, 9), reason="属民事纠纷，不予受理"),
    )
    row = case_row(facts, log, POLICY)
    assert (row.rejected_at, row.settled_at, row.returns, row.closed_at) == (
        at(3, 9),
        at(3, 9),
        1,
        None,
    )
    assert not row.filed(at(31, 0)) and row.filed(at(3, 8))
    tally = tally_case(row, at(31, 0), CaseOptions())
    assert (tally.filed, tally.rejected, tally.returned, tally.finished, tally.due) == (
        0,
        1,
        1,
        1,
        0,
    )


def test_sent_back_to_12345_is_finished_and_not_filed() -> None:
    facts = ticket(source="12345")
    log = logged(
        facts,
        ev(E.ACCEPTED, at(2, 9)),
        CaseEvent(E.SENT_BACK, at(2, 9, 40), "1001", reason="不属本热线受理范围"),
    )
    row = case_row(facts, log, POLICY)
    assert (row.sent_back_at, row.settled_at, row.forwarded_at) == (
        at(2, 9, 40),
        at(2, 9, 40),
        None,
    )
    tally = tally_case(row, at(31, 0), CaseOptions())
    assert (tally.accepted, tally.filed, tally.finished, tally.rejected) == (1, 0, 1, 0)


def test_open_case_is_not_settled_and_an_urgent_one_has_hours() -> None:
    facts = ticket(urgent=True)
    log = logged(facts, ev(E.ACCEPTED, at(7, 9)), ev(E.FORWARDED, at(7, 9, 5)))  # a Saturday
    row = case_row(facts, log, POLICY)
    assert row.settled_at is None
    assert row.deadline == at(7, 11)  # urgent: 2 clock hours, holidays or not
    tally = tally_case(row, at(7, 12), CaseOptions())
    assert (tally.due, tally.handled, tally.overdue) == (1, 0, 1)


def test_a_ticket_without_a_log_is_settled_as_saved() -> None:
    facts = ticket()
    row = case_row(facts, [], POLICY)
    assert (row.settled_at, row.deadline, row.department) == (at(2, 9), None, "SANITATION")
