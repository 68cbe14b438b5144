"""The admission decision before a caller is queued."""

from __future__ import annotations

from datetime import time

import pytest

from telephony.admission import Admission, OpeningHours, decide

DAY = OpeningHours.parse("08:00-20:00")
NIGHT_SHIFT = OpeningHours.parse("22:00-06:00")


def test_opening_hours_parse_and_may_run_past_midnight() -> None:
    assert DAY == OpeningHours(time(8), time(20))
    assert OpeningHours.parse("") is None
    assert DAY is not None and DAY.is_open(time(8)) and not DAY.is_open(time(20))
    assert NIGHT_SHIFT is not None
    assert NIGHT_SHIFT.is_open(time(23, 30)) and NIGHT_SHIFT.is_open(time(5, 59))
    assert not NIGHT_SHIFT.is_open(time(12))
    for bad in ("8 to 20", "08:00-25:00"):
        with pytest.raises(ValueError, match="08:00-20:00"):
            OpeningHours.parse(bad)


@pytest.mark.parametrize(
    ("local", "hours", "on_duty", "waiting", "cap", "expected"),
    [
        (time(12), None, 3, 0, 0, Admission.OPEN),
        (time(3), None, 1, 50, 0, Admission.OPEN),  # 24 h, no cap
        (time(21), DAY, 3, 0, 10, Admission.AFTER_HOURS),
        (time(21), DAY, 0, 0, 10, Admission.AFTER_HOURS),  # after hours wins
        (time(12), DAY, 0, 0, 10, Admission.NOBODY_ON_DUTY),
        (time(12), DAY, 2, 10, 10, Admission.FULL),
        (time(12), DAY, 2, 9, 10, Admission.OPEN),
    ],
)
def test_the_decision(
    local: time,
    hours: OpeningHours | None,
    on_duty: int,
    waiting: int,
    cap: int,
    expected: Admission,
) -> None:
    assert decide(local, hours, on_duty, waiting, cap) is expected
