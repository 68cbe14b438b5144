"""Alert rules and the alert book: pure, at a given `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing import AgentState
from wallboard import (
    AgentSeat,
    AlertBook,
    AlertError,
    AlertKind,
    AlertRules,
    CaseDue,
    OutboxFacts,
    WaitingCall,
    Watch,
    conditions,
    next_check,
)
from wallboard.alerts import Abandon

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RULES = AlertRules(
    wait_seconds=15,
    pause_seconds=600,
    abandon_count=3,
    abandon_window_seconds=300,
    forward_stuck_seconds=600,
    case_warning_hours=4,
)
ON_DUTY = (AgentSeat("1001", "张三", AgentState.READY, NOW - timedelta(hours=1)),)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def kinds(watch: Watch, now: datetime = NOW) -> dict[str, AlertKind]:
    return {c.key: c.kind for c in conditions(watch, RULES, now)}


def test_a_call_waiting_past_the_limit_and_not_before() -> None:
    watch = Watch(["12319"], waiting=[WaitingCall("c1", "12319", ago(seconds=14))], seats=ON_DUTY)
    assert kinds(watch) == {}
    assert next_check(watch, RULES, NOW) == ago(seconds=14) + timedelta(seconds=15)
    later = NOW + timedelta(seconds=1)
    assert kinds(watch, later) == {"long_wait:c1": AlertKind.LONG_WAIT}


def test_an_agent_paused_too_long_and_a_new_pause_is_a_new_alert() -> None:
    seat = AgentSeat("1002", "李四", AgentState.PAUSED, ago(minutes=11), "用餐")
    found = conditions(Watch(["12319"], seats=[*ON_DUTY, seat]), RULES, NOW)
    assert [c.kind for c in found] == [AlertKind.LONG_PAUSE]
    assert "李四" in found[0].text and "用餐" in found[0].text
    again = AgentSeat("1002", "李四", AgentState.PAUSED, ago(minutes=10, seconds=1), "用餐")
    (other,) = conditions(Watch(["12319"], seats=[*ON_DUTY, again]), RULES, NOW)
    assert other.key != found[0].key
    ready = AgentSeat("1002", "李四", AgentState.READY, ago(minutes=30))
    assert kinds(Watch(["12319"], seats=[*ON_DUTY, ready])) == {}


def test_an_abandon_spike_counts_within_the_window_per_queue() -> None:
    abandons = [Abandon("12319", ago(seconds=s)) for s in (10, 100, 299)]
    abandons.append(Abandon("96198", ago(seconds=20)))
    watch = Watch(["12319", "96198"], seats=ON_DUTY, abandons=abandons)
    assert kinds(watch) == {"abandon_spike:12319": AlertKind.ABANDON_SPIKE}
    # Two seconds on, the oldest has left the window.
    assert kinds(watch, NOW + timedelta(seconds=2)) == {}
    assert next_check(watch, RULES, NOW) == ago(seconds=299) + timedelta(seconds=300)


def test_a_queue_nobody_serves() -> None:
    only_96198 = AgentSeat("1004", "赵六", AgentState.PAUSED, NOW, queues=frozenset({"96198"}))
    gone = AgentSeat("1001", "张三", AgentState.LOGGED_OUT, NOW)
    watch = Watch(["12319", "96198"], seats=[only_96198, gone])
    assert kinds(watch) == {"no_agent:12319": AlertKind.NO_AGENT}
    quiet = conditions(watch, AlertRules(no_agent=False, abandon_count=0), NOW)
    assert quiet == []


def test_forwarding_stuck_once_for_all_rows_and_each_dead_letter() -> None:
    outbox = OutboxFacts(
        pending_since=[ago(minutes=11), ago(minutes=12), ago(minutes=1)],
        dead_letters=[("12319-20260302-0001", ago(minutes=3))],
    )
    found = conditions(Watch(["12319"], seats=ON_DUTY, outbox=outbox), RULES, NOW)
    assert [(c.key, c.kind) for c in found] == [
        ("forward_stuck", AlertKind.FORWARD_STUCK),
        ("dead_letter:12319-20260302-0001", AlertKind.DEAD_LETTER),
    ]
    assert found[0].text.startswith("2 件")


def test_cases_near_and_past_their_deadline() -> None:
    cases = [
        CaseDue("A", NOW + timedelta(hours=5)),  # not yet near
        CaseDue("B", NOW + timedelta(hours=3)),  # near
        CaseDue("C", ago(minutes=1)),  # past
    ]
    watch = Watch(["12319"], seats=ON_DUTY, cases=cases)
    assert kinds(watch) == {
        "case_due:B": AlertKind.CASE_DUE,
        "case_overdue:C": AlertKind.CASE_OVERDUE,
    }
    assert next_check(watch, RULES, NOW) == NOW + timedelta(hours=1)


def test_the_book_raises_once_acknowledges_and_clears() -> None:
    book = AlertBook()
    waiting = Watch(["12319"], waiting=[WaitingCall("c1", "12319", ago(seconds=20))], seats=ON_DUTY)
    (raised,) = book.update(conditions(waiting, RULES, NOW), NOW)
    assert raised.kind is AlertKind.LONG_WAIT and raised.raised_at == NOW
    # The same condition a second later raises nothing new.
    later = NOW + timedelta(seconds=1)
    assert book.update(conditions(waiting, RULES, later), later) == []
    acked = book.ack(raised.id, "9001", later)
    assert acked.acked_by == "9001" and acked.acked_at == later
    with pytest.raises(AlertError) as twice:
        book.ack(raised.id, "9001", later)
    assert twice.value.error_id == "already-acknowledged"
    assert [a.id for a in book.open()] == [raised.id]
    # The caller is answered: the alert clears and leaves the book.
    (cleared,) = book.update(conditions(Watch(["12319"], seats=ON_DUTY), RULES, later), later)
    assert cleared.id == raised.id and cleared.cleared_at == later and cleared.acked_by == "9001"
    assert book.open() == []
    with pytest.raises(AlertError) as gone:
        book.ack(raised.id, "9001", later)
    assert gone.value.error_id == "unknown-alert"


def test_new_figures_update_an_open_alert_without_raising_another() -> None:
    book = AlertBook()
    one = Watch(["12319"], seats=ON_DUTY, outbox=OutboxFacts(pending_since=[ago(minutes=20)]))
    (first,) = book.update(conditions(one, RULES, NOW), NOW)
    two = Watch(
        ["12319"],
        seats=ON_DUTY,
        outbox=OutboxFacts(pending_since=[ago(minutes=20), ago(minutes=15)]),
    )
    (updated,) = book.update(conditions(two, RULES, NOW), NOW)
    assert updated.id == first.id and updated.text.startswith("2 件")
    assert len(book.open()) == 1
