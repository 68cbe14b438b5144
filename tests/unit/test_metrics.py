"""Contact-centre figures from call and agent-state records (pure, hand-computed answers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.metrics import (
    AgentStateRecord,
    CallRecord,
    MetricsOptions,
    agent_figures,
    hourly_figures,
    queue_figures,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def call(
    n: int,
    arrived: float,
    connected: float | None,
    ended: float | None,
    queue: str = "12319",
    agent: str | None = "1001",
) -> CallRecord:
    return CallRecord(
        f"c{n}",
        queue,
        agent if connected is not None else None,
        at(arrived),
        None if connected is None else at(connected),
        None if ended is None else at(ended),
    )


CALLS = [
    call(1, 0, 10, 130),  # answered in 10 s, talked 120 s
    call(2, 20, 50, 110, agent="1002"),  # answered in 30 s (late), talked 60 s
    call(3, 30, None, 33),  # short abandon (3 s): excluded from SL and abandon rate
    call(4, 40, None, 100),  # abandoned after 60 s
    call(5, 200, 205, 265, queue="96198"),  # answered in 5 s
    call(6, 3590, None, None),  # still waiting: no outcome yet
]
STATES = [
    AgentStateRecord("1001", "ready", at(-100)),
    AgentStateRecord("1001", "offered", at(5)),
    AgentStateRecord("1001", "talking", at(10)),
    AgentStateRecord("1001", "wrap_up", at(130)),
    AgentStateRecord("1001", "ready", at(160)),
    AgentStateRecord("1001", "offered", at(202)),
    AgentStateRecord("1001", "talking", at(205)),
    AgentStateRecord("1001", "wrap_up", at(265)),
    AgentStateRecord("1001", "paused", at(275)),
    AgentStateRecord("1002", "ready", at(0)),
    AgentStateRecord("1002", "talking", at(50)),
    AgentStateRecord("1002", "ready", at(110)),
    AgentStateRecord("1002", "logged_out", at(600)),
]


def test_queue_figures_by_hand() -> None:
    figures = queue_figures(CALLS, STATES, T0, at(3600))
    total = figures["*"]
    assert (total.offered, total.answered, total.answered_in_time) == (6, 3, 2)
    assert (total.abandoned, total.short_abandons, total.waiting) == (2, 1, 1)
    # decided = 3 answered + 2 lost = 5; short abandons leave 4 for SL and abandon rate
    assert total.service_level == pytest.approx(2 / 4)
    assert total.abandon_rate == pytest.approx(1 / 4)
    assert total.answer_rate_in_time == pytest.approx(2 / 5)
    assert total.answer_rate == pytest.approx(3 / 5)
    assert total.asa_seconds == pytest.approx((10 + 30 + 5) / 3)
    # handle = talk + the wrap-up that follows: (120+30), (60+0), (60+10)
    assert total.aht_seconds == pytest.approx((150 + 60 + 70) / 3)
    assert figures["96198"].offered == 1 and figures["96198"].service_level == 1.0
    assert figures["12319"].offered == 5


def test_answer_and_short_abandon_thresholds_are_configurable() -> None:
    strict = queue_figures(
        CALLS, STATES, T0, at(3600), MetricsOptions(answer_seconds=5, short_abandon_seconds=0)
    )
    assert strict["*"].answered_in_time == 1
    assert strict["*"].short_abandons == 0
    assert strict["*"].service_level == pytest.approx(1 / 5)


def test_agent_occupancy_and_handle_time() -> None:
    figures = agent_figures(CALLS, STATES, T0, at(3600))
    first = figures["1001"]
    # available (ready/offered/talking/wrap-up) from 0 to 275 s; busy 5-160 and 202-275
    assert first.available_seconds == pytest.approx(275)
    assert first.occupancy == pytest.approx((155 + 73) / 275)
    assert first.answered == 2 and first.talk_seconds == pytest.approx(180)
    assert first.aht_seconds == pytest.approx((180 + 30 + 10) / 2)
    second = figures["1002"]
    assert second.available_seconds == pytest.approx(600)
    assert second.occupancy == pytest.approx(60 / 600)


def test_window_clips_intervals_and_selects_calls() -> None:
    figures = queue_figures(CALLS, STATES, at(100), at(3600))
    assert figures["*"].offered == 2  # calls 5 and 6 arrived inside the window
    agents = agent_figures(CALLS, STATES, at(100), at(200))
    assert agents["1001"].available_seconds == pytest.approx(100)
    assert agents["1001"].occupancy == pytest.approx(60 / 100)  # talking 100-130, wrap-up to 160


def test_empty_window_has_no_ratios_rather_than_zero() -> None:
    assert queue_figures([], [], T0, at(60)) == {}
    lonely = queue_figures([call(9, 0, None, None)], [], T0, at(60))["*"]
    assert lonely.service_level is None and lonely.asa_seconds is None


def test_hourly_breakdown() -> None:
    hours = hourly_figures(CALLS, STATES, T0, T0 + timedelta(hours=2))
    assert list(hours) == [T0]
    assert hours[T0]["*"].offered == 6


def test_refused_calls_and_voicemails_are_offered_not_answered_and_not_abandoned() -> None:
    calls = [
        call(1, 0, 5, 65),  # answered in time
        call(2, 10, None, 70),  # abandoned after 60 s
        CallRecord(
            "r1", "12319", None, at(20), None, at(20), "refused-queue-full"
        ),  # 486 queue full
        CallRecord("r2", "12319", None, at(21), None, at(21), "refused-draining"),  # 503 draining
        CallRecord("v1", "12319", None, at(30), None, at(150), "voicemail"),
    ]
    figures = queue_figures(calls, [], T0, at(3600))["12319"]
    assert (figures.offered, figures.answered, figures.abandoned) == (5, 1, 1)
    assert (figures.refused, figures.voicemails, figures.short_abandons) == (2, 1, 0)
    assert figures.waiting == 0
    assert figures.answer_rate == pytest.approx(1 / 5)  # 接通率 counts the overload calls
    assert figures.answer_rate_in_time == pytest.approx(1 / 5)
    assert figures.service_level == pytest.approx(1 / 5)
    assert figures.abandon_rate == pytest.approx(1 / 5)  # a voicemail is not an abandon
