"""The access policy: who may see or act on an object holding a citizen's personal data."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hotline.access import Guarded, may_act, may_see


@dataclass(frozen=True)
class Person:
    agent_id: str
    role: str


AGENT = Person("1001", "agent")
OTHER = Person("1002", "agent")
LEAD = Person("9001", "lead")
ADMIN = Person("8001", "admin")
TICKET = Guarded("ticket", "1001")


@pytest.mark.parametrize(
    "who, seen, ground",
    [
        (AGENT, True, "taking-agent"),
        (OTHER, False, "not-yours"),
        (LEAD, True, "shift-lead"),
        (ADMIN, True, "admin"),
    ],
)
def test_a_ticket_is_seen_by_its_agent_leads_and_admins_only(
    who: Person, seen: bool, ground: str
) -> None:
    decision = may_see(who, TICKET)
    assert (decision.allowed, decision.ground, bool(decision)) == (seen, ground, seen)


def test_an_admin_reads_but_does_not_work_cases() -> None:
    assert may_see(ADMIN, TICKET)
    assert not may_act(ADMIN, TICKET)
    assert may_act(LEAD, TICKET) and may_act(AGENT, TICKET) and not may_act(OTHER, TICKET)


def test_agents_working_a_case_see_it_as_assigned() -> None:
    follow_up = Guarded("ticket", "1001", workers=frozenset({"1002"}))
    assert may_see(OTHER, follow_up).ground == "assigned"
    assert may_act(OTHER, follow_up)
    assert not may_see(Person("1003", "agent"), follow_up)


def test_a_pool_object_is_any_agents_to_pick_up_but_an_owned_one_is_not() -> None:
    voicemail = Guarded("voicemail", None, pool=True)
    assert may_see(OTHER, voicemail).ground == "pool" and may_act(OTHER, voicemail)
    assert may_see(ADMIN, voicemail).ground == "admin" and not may_act(ADMIN, voicemail)
    taken = Guarded("missed-call", "1001")
    assert not may_see(OTHER, taken) and not may_act(OTHER, taken)


def test_an_unknown_role_sees_nothing() -> None:
    stranger = Person("1001x", "auditor")
    assert not may_see(stranger, Guarded("ticket", None, pool=True))
    assert not may_see(stranger, TICKET)


def test_an_agent_with_the_citizen_on_the_line_may_read_but_not_act() -> None:
    from dataclasses import replace

    on_line = replace(TICKET, on_line=True)
    seen = may_see(OTHER, on_line)
    assert seen and seen.ground == "caller-on-line"
    assert not may_act(OTHER, on_line)
    # The taking agent keeps their own ground.
    assert may_see(AGENT, on_line).ground == "taking-agent"
