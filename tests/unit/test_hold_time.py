"""The call record's hold figures from hold and resume events (hotline/hold_time.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.hold_time import HoldClock, HoldFigures

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_call_never_held_has_nothing() -> None:
    assert HoldClock().figures(at(60)) == HoldFigures(0.0, 0)


def test_holds_add_up_and_count() -> None:
    clock = HoldClock()
    clock.change("agent", True, at(10))
    clock.change("agent", False, at(25.5))
    clock.change("agent", True, at(40))
    clock.change("agent", False, at(42))
    assert clock.figures(at(100)) == HoldFigures(17.5, 2)
    assert not clock.held


def test_a_call_ending_while_held_counts_until_its_end() -> None:
    clock = HoldClock()
    clock.change("agent", True, at(10))
    assert clock.held
    assert clock.figures(at(30)) == HoldFigures(20.0, 1)
    assert clock.figures(at(31)) == HoldFigures(21.0, 1)  # asked again later: still running


def test_a_repeated_hold_from_the_same_party_is_not_a_new_hold() -> None:
    clock = HoldClock()
    clock.change("agent", True, at(10))
    clock.change("agent", True, at(20))  # a session refresh that keeps sendonly
    clock.change("agent", False, at(30))
    assert clock.figures(at(30)) == HoldFigures(20.0, 1)


def test_overlapping_holds_count_the_time_once() -> None:
    clock = HoldClock()
    clock.change("agent", True, at(10))
    clock.change("caller", True, at(15))
    clock.change("agent", False, at(20))  # the caller still holds
    assert clock.held
    clock.change("caller", False, at(28))
    assert clock.figures(at(40)) == HoldFigures(18.0, 2)


def test_a_resume_without_a_hold_changes_nothing() -> None:
    clock = HoldClock()
    clock.change("caller", False, at(5))
    clock.change("agent", True, at(10))
    clock.change("caller", False, at(12))  # not the holder
    assert clock.figures(at(20)) == HoldFigures(10.0, 1)
