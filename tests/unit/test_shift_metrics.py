"""Figures per duty shift: a night shift across midnight counts as one shift."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from routing.metrics import CallRecord, MetricsOptions
from routing.roster import Roster
from routing.shift_metrics import shift_figures, shift_windows

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


def call(n: int, arrived: datetime, answer_after: float | None) -> CallRecord:
    connected = None if answer_after is None else arrived + timedelta(seconds=answer_after)
    return CallRecord(f"c{n}", "12319", "1001", arrived, connected, arrived + timedelta(minutes=5))


def test_windows_are_clipped_to_the_asked_period() -> None:
    roster = Roster.of_pattern("2x12", [], "Asia/Shanghai")
    windows = shift_windows(roster, at(23, 18), at(24, 9))
    assert windows == [
        ("2026-11-23 白班", at(23, 18), at(23, 20)),
        ("2026-11-23 夜班", at(23, 20), at(24, 8)),
        ("2026-11-24 白班", at(24, 8), at(24, 9)),
    ]


def test_calls_either_side_of_midnight_count_for_the_same_night_shift() -> None:
    roster = Roster.of_pattern("2x12", [], "Asia/Shanghai")
    calls = [call(1, at(23, 22), 5), call(2, at(24, 3), 60), call(3, at(24, 10), 2)]
    figures = shift_figures(calls, [], roster, at(23, 8), at(24, 20), MetricsOptions(15, 5))
    assert list(figures) == ["2026-11-23 夜班", "2026-11-24 白班"]
    night = figures["2026-11-23 夜班"]["*"]
    assert (night.offered, night.answered, night.answered_in_time) == (2, 2, 1)
    assert figures["2026-11-24 白班"]["*"].service_level == 1.0


def test_a_callback_request_is_not_an_abandoned_call() -> None:
    from routing.metrics import queue_figures

    start = at(23, 9)
    calls = [
        call(1, start, 5),
        CallRecord("c2", "12319", None, start, None, start + timedelta(seconds=40), "callback"),
        CallRecord("c3", "12319", None, start, None, start + timedelta(seconds=40)),
    ]
    figures = queue_figures(calls, [], start, start + timedelta(hours=1), MetricsOptions(15, 5))
    total = figures["*"]
    assert (total.offered, total.answered, total.abandoned, total.callbacks) == (3, 1, 1, 1)
    assert total.abandon_rate == 1 / 3 and total.answer_rate == 1 / 3 and total.waiting == 0
