"""What the demo stand-in dispatch core reports back for a case, by seeded chance."""

from __future__ import annotations

import random
from datetime import date

from hotline.demo_sink import lifecycle


def test_every_case_is_dispatched_then_either_returned_or_closed() -> None:
    outcomes = set()
    for seed in range(200):
        events = [e["type"] for e in lifecycle("case", random.Random(seed), date(2026, 6, 15))]
        assert events[0] == "dispatched"
        if events[-1] == "returned":
            assert events == ["dispatched", "returned"]
        else:
            assert events[-3:] == ["handled", "verified", "closed"]
        outcomes.add(events[-1])
        if "extension_requested" in events:
            outcomes.add("extension_requested")
    assert outcomes == {"returned", "closed", "extension_requested"}


def test_reassigned_and_reopened_cases_are_never_returned_again() -> None:
    for seed in range(100):
        for command in ("reassign", "reopen"):
            events = lifecycle(command, random.Random(seed), date(2026, 6, 15))
            assert events[-1]["type"] == "closed"
    assert lifecycle("urge", random.Random(1), date(2026, 6, 15)) == []


def test_the_extension_it_asks_for_is_within_the_default_cap() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from cases import DeadlinePolicy, WorkingCalendar

    policy = DeadlinePolicy(WorkingCalendar("Asia/Shanghai"))
    for day in range(1, 29):  # every weekday position, across the Spring Festival
        deadline = datetime(2026, 2, day, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        for seed in range(40):
            for event in lifecycle("case", random.Random(seed), deadline.date()):
                if event["type"] == "extension_requested":
                    asked = date.fromisoformat(event["new_deadline"])
                    assert policy.extension_problem(deadline, asked, 0) is None
