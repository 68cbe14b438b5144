"""The routing engine, pure: no event loop, no sleeps, time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing import (
    AgentState,
    AgentStateChanged,
    CallAssigned,
    CallLeftQueue,
    CallQueued,
    RoutingEngine,
    RoutingError,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def engine(wrap_up: float = 10) -> RoutingEngine:
    return RoutingEngine(["12319", "96198"], timedelta(seconds=wrap_up))


def assigned(events: list[object]) -> list[tuple[str, str]]:
    return [(e.call_id, e.agent_id) for e in events if isinstance(e, CallAssigned)]


def test_longest_idle_ready_agent_gets_the_call() -> None:
    routing = engine()
    routing.request_state("1001", AgentState.READY, at(0))
    routing.request_state("1002", AgentState.READY, at(5))
    routing.enqueue("c1", "12319", at(10))
    assert assigned(routing.assign(at(10))) == [("c1", "1001")]
    assert routing.agent("1001").state is AgentState.OFFERED


def test_no_ready_agent_keeps_calls_waiting_in_order() -> None:
    routing = engine()
    events = routing.enqueue("c1", "12319", at(0)) + routing.enqueue("c2", "12319", at(1))
    assert [e.position for e in events if isinstance(e, CallQueued)] == [1, 2]
    assert routing.assign(at(2)) == []
    routing.request_state("1001", AgentState.PAUSED, at(2))
    assert routing.assign(at(3)) == []
    routing.request_state("1001", AgentState.READY, at(4))
    assert assigned(routing.assign(at(4))) == [("c1", "1001")]
    assert routing.position("c2") == 1


def test_oldest_call_across_queues_is_served_first() -> None:
    routing = engine()
    routing.enqueue("late", "12319", at(5))
    routing.enqueue("early", "96198", at(1))
    routing.request_state("1001", AgentState.READY, at(6))
    assert assigned(routing.assign(at(6))) == [("early", "1001")]


def test_agent_serving_only_one_queue_is_not_given_the_other() -> None:
    routing = engine()
    routing.add_agent("1001", at(0), queues=["96198"])
    routing.request_state("1001", AgentState.READY, at(0))
    routing.enqueue("c1", "12319", at(1))
    assert routing.assign(at(1)) == []


def test_answer_talk_wrap_up_then_ready() -> None:
    routing = engine(wrap_up=10)
    routing.request_state("1001", AgentState.READY, at(0))
    routing.enqueue("c1", "12319", at(1))
    routing.assign(at(1))
    routing.answered("c1", at(3))
    assert routing.agent("1001").state is AgentState.TALKING
    routing.ended("c1", at(60))
    assert routing.agent("1001").state is AgentState.WRAP_UP
    assert routing.next_wrap_up_end() == at(70)
    assert routing.expire_wrap_ups(at(69)) == []
    events = routing.expire_wrap_ups(at(70))
    assert [e.state for e in events if isinstance(e, AgentStateChanged)] == [AgentState.READY]
    routing.enqueue("c2", "12319", at(71))
    assert assigned(routing.assign(at(71))) == [("c2", "1001")]


def test_agent_in_wrap_up_is_not_offered_a_call() -> None:
    routing = engine(wrap_up=30)
    routing.request_state("1001", AgentState.READY, at(0))
    routing.enqueue("c1", "12319", at(0))
    routing.assign(at(0))
    routing.answered("c1", at(1))
    routing.ended("c1", at(10))
    routing.enqueue("c2", "96198", at(11))
    assert routing.assign(at(20)) == []


def test_unanswered_offer_requeues_at_its_place_and_pauses_the_agent() -> None:
    routing = engine()
    routing.request_state("1001", AgentState.READY, at(0))
    routing.enqueue("c1", "12319", at(1))
    routing.enqueue("c2", "12319", at(2))
    routing.assign(at(2))
    events = routing.offer_failed("c1", at(22), "no-answer")
    assert routing.agent("1001").state is AgentState.PAUSED
    assert routing.position("c1") == 1 and routing.position("c2") == 2
    assert any(isinstance(e, CallQueued) and e.position == 1 for e in events)
    routing.request_state("1002", AgentState.READY, at(23))
    assert assigned(routing.assign(at(23))) == [("c1", "1002")]


def test_caller_hanging_up_while_queued_or_ringing() -> None:
    routing = engine()
    routing.enqueue("c1", "12319", at(0))
    events = routing.ended("c1", at(5))
    assert events == [CallLeftQueue(at(5), "c1", "12319", None)]
    assert routing.waiting("12319") == []
    routing.request_state("1001", AgentState.READY, at(6))
    routing.enqueue("c2", "12319", at(7))
    routing.assign(at(7))
    events = routing.ended("c2", at(8))
    assert any(isinstance(e, CallLeftQueue) and e.agent_id == "1001" for e in events)
    assert routing.agent("1001").state is AgentState.READY


def test_pause_requested_during_a_call_applies_when_it_ends() -> None:
    routing = engine(wrap_up=10)
    routing.request_state("1001", AgentState.READY, at(0))
    routing.enqueue("c1", "12319", at(0))
    routing.assign(at(0))
    routing.answered("c1", at(1))
    assert routing.request_state("1001", AgentState.PAUSED, at(2), "lunch") == []
    assert routing.agent("1001").state is AgentState.TALKING
    routing.ended("c1", at(30))
    assert routing.agent("1001").state is AgentState.PAUSED
    assert routing.agent("1001").reason == "lunch"


def test_an_agent_never_holds_two_calls() -> None:
    routing = engine()
    routing.request_state("1001", AgentState.READY, at(0))
    for n in range(5):
        routing.enqueue(f"c{n}", "12319", at(n))
    assert len(assigned(routing.assign(at(10)))) == 1
    assert routing.assign(at(11)) == []


def test_unknown_queue_and_state_are_refused() -> None:
    routing = engine()
    with pytest.raises(RoutingError) as error:
        routing.enqueue("c1", "110", at(0))
    assert error.value.error_id == "unknown-queue"
    with pytest.raises(RoutingError):
        routing.request_state("1001", AgentState.TALKING, at(0))


def test_priority_calls_go_first_and_fifo_holds_within_a_priority() -> None:
    routing = engine()
    routing.enqueue("normal-1", "12319", at(0))
    routing.enqueue("transfer-1", "12319", at(5), priority=1)
    routing.enqueue("normal-2", "96198", at(6))
    routing.enqueue("transfer-2", "96198", at(7), priority=1)
    order = []
    for n in range(4):
        agent = f"10{n:02d}"
        routing.request_state(agent, AgentState.READY, at(10 + n))
        order += [call for call, _ in assigned(routing.assign(at(10 + n)))]
    assert order == ["transfer-1", "transfer-2", "normal-1", "normal-2"]


def test_agent_is_paused_only_after_n_missed_offers_in_a_row() -> None:
    routing = RoutingEngine(["12319"], timedelta(seconds=0), missed_offers_before_pause=2)
    routing.request_state("1001", AgentState.READY, at(0))
    routing.request_state("1002", AgentState.READY, at(1))
    routing.enqueue("c1", "12319", at(2))
    assert assigned(routing.assign(at(2))) == [("c1", "1001")]
    routing.offer_failed("c1", at(22), "no-answer")
    assert routing.agent("1001").state is AgentState.READY  # one miss: back of the line
    assert assigned(routing.assign(at(22))) == [("c1", "1002")]
    routing.answered("c1", at(23))
    routing.enqueue("c2", "12319", at(24))
    assert assigned(routing.assign(at(24))) == [("c2", "1001")]
    routing.offer_failed("c2", at(44), "no-answer")
    assert routing.agent("1001").state is AgentState.PAUSED  # second miss in a row


def test_an_answered_offer_resets_the_miss_count() -> None:
    routing = RoutingEngine(["12319"], timedelta(seconds=0), missed_offers_before_pause=2)
    routing.request_state("1001", AgentState.READY, at(0))
    for n, answer in enumerate([False, True, False]):
        routing.enqueue(f"c{n}", "12319", at(n * 10))
        routing.assign(at(n * 10))
        if answer:
            routing.answered(f"c{n}", at(n * 10 + 1))
            routing.ended(f"c{n}", at(n * 10 + 2))
        else:
            routing.offer_failed(f"c{n}", at(n * 10 + 5), "no-answer")
            if n == 0:
                routing.ended("c0", at(n * 10 + 6))  # the caller gives up
    assert routing.agent("1001").state is AgentState.READY
    assert routing.agent("1001").missed_offers == 1


def test_a_visit_waits_behind_calls_and_is_offered_as_its_own_task() -> None:
    from routing import VisitOffered

    t0 = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
    engine = RoutingEngine(["12319"], timedelta(seconds=0))
    engine.request_state("a1", AgentState.READY, t0)
    engine.enqueue_visit("visit:12319-20260608-0001:0", "12319", "12319-20260608-0001", t0)
    assert engine.enqueue_visit("visit:12319-20260608-0001:0", "12319", "x", t0) == []
    engine.enqueue("call-1", "12319", t0 + timedelta(seconds=5))
    first = engine.assign(t0 + timedelta(seconds=6))
    # The call that came later is served first: visits have a lower priority.
    assert any(isinstance(e, CallAssigned) and e.call_id == "call-1" for e in first)
    assert not any(isinstance(e, VisitOffered) for e in first)
    engine.answered("call-1", t0 + timedelta(seconds=7))
    engine.ended("call-1", t0 + timedelta(seconds=60))
    offered = engine.assign(t0 + timedelta(seconds=61))
    visits = [e for e in offered if isinstance(e, VisitOffered)]
    assert [(v.agent_id, v.ticket) for v in visits] == [("a1", "12319-20260608-0001")]
    assert engine.agent("a1").state is AgentState.OFFERED
    assert engine.holds("visit:12319-20260608-0001:0")
    engine.answered("visit:12319-20260608-0001:0", t0 + timedelta(seconds=62))
    engine.ended("visit:12319-20260608-0001:0", t0 + timedelta(seconds=90))
    assert not engine.holds("visit:12319-20260608-0001:0")
    assert engine.agent("a1").state is AgentState.READY
