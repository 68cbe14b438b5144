"""Strategies, caller priority, escalation, overflow, per-queue wrap-up and callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing import (
    AgentState,
    CallAssigned,
    CallbackOffered,
    CallEscalated,
    CallOverflowed,
    QueueSettings,
    RoutingEngine,
    RoutingError,
    Strategy,
    caller_priority,
)

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def sec(n: float) -> timedelta:
    return timedelta(seconds=n)


def ready(engine: RoutingEngine, *agents: str, at: datetime = T0) -> None:
    for offset, agent in enumerate(agents):
        engine.request_state(agent, AgentState.READY, at + sec(offset))


def serve(engine: RoutingEngine, call_id: str, now: datetime) -> str:
    """Assign, answer and end one call; returns the agent who took it."""
    events = engine.enqueue(call_id, "12319", now) and engine.assign(now)
    (assigned,) = [e for e in events if isinstance(e, CallAssigned)]
    engine.answered(call_id, now)
    engine.ended(call_id, now)
    engine.request_state(assigned.agent_id, AgentState.READY, now)
    return assigned.agent_id


def test_round_robin_takes_turns_whoever_has_idled_longest() -> None:
    engine = RoutingEngine(
        ["12319"], sec(0), settings=[QueueSettings("12319", Strategy.ROUND_ROBIN)]
    )
    ready(engine, "1003", "1001", "1002")
    taken = [serve(engine, f"c{n}", T0 + sec(10 + n)) for n in range(5)]
    assert taken == ["1001", "1002", "1003", "1001", "1002"]


def test_fewest_calls_prefers_the_agent_with_the_fewest_answered_calls() -> None:
    engine = RoutingEngine(
        ["12319"], sec(0), settings=[QueueSettings("12319", Strategy.FEWEST_CALLS)]
    )
    ready(engine, "1001")
    serve(engine, "c1", T0 + sec(5))
    serve(engine, "c2", T0 + sec(6))
    ready(engine, "1002", at=T0 + sec(7))  # idle for less time, but has taken no call
    assert serve(engine, "c3", T0 + sec(8)) == "1002"


def test_skills_strategy_picks_the_most_proficient_ready_agent() -> None:
    engine = RoutingEngine(
        ["12319", "粤语"], sec(0), settings=[QueueSettings("粤语", Strategy.SKILLS)]
    )
    engine.add_agent("1001", T0, skills={"粤语": 1})
    engine.add_agent("1002", T0, skills={"粤语": 5})
    engine.add_agent("1003", T0, queues=["12319"])
    ready(engine, "1001", "1002", "1003")
    engine.enqueue("c1", "粤语", T0 + sec(10))
    (assigned,) = [e for e in engine.assign(T0 + sec(10)) if isinstance(e, CallAssigned)]
    assert assigned.agent_id == "1002"


def test_caller_priority_orders_urgent_transfer_repeat_normal() -> None:
    levels = [
        caller_priority(urgent=True, repeat=True),
        caller_priority(transfer=True),
        caller_priority(repeat=True),
        caller_priority(),
    ]
    assert levels == sorted(levels, reverse=True) and len(set(levels)) == 4
    engine = RoutingEngine(["12319"], sec(0))
    engine.enqueue("normal", "12319", T0)
    engine.enqueue("repeat", "12319", T0 + sec(1), caller_priority(repeat=True))
    engine.enqueue("urgent", "12319", T0 + sec(2), caller_priority(urgent=True))
    assert [c.call_id for c in engine.waiting("12319")] == ["urgent", "repeat", "normal"]


def test_a_long_wait_escalates_once_then_overflows_keeping_its_arrival_time() -> None:
    engine = RoutingEngine(
        ["12319", "overflow"],
        sec(0),
        settings=[
            QueueSettings(
                "12319",
                escalate_after=sec(30),
                overflow_after=sec(60),
                overflow_to="overflow",
            )
        ],
    )
    engine.enqueue("old", "12319", T0)
    engine.enqueue("urgent", "12319", T0 + sec(20), priority=1)
    engine.enqueue("late", "overflow", T0 + sec(40))
    assert engine.next_deadline() == T0 + sec(30)
    escalated = engine.tick(T0 + sec(30))
    assert escalated == [CallEscalated(T0 + sec(30), "old", "12319", 1)]
    assert [c.call_id for c in engine.waiting("12319")] == ["old", "urgent"]  # FIFO in level 1
    assert engine.tick(T0 + sec(31)) == []  # only once
    moved = engine.tick(T0 + sec(60))
    assert moved == [
        CallOverflowed(T0 + sec(60), "old", "12319", "overflow", 1),
        CallEscalated(T0 + sec(60), "urgent", "12319", 2),  # waited 40 s by now
    ]
    assert [c.call_id for c in engine.waiting("overflow")] == ["old", "late"]
    assert [c.call_id for c in engine.waiting("12319")] == ["urgent"]


def test_overflow_to_an_unknown_queue_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        RoutingEngine(
            ["12319"],
            sec(0),
            settings=[QueueSettings("12319", overflow_after=sec(5), overflow_to="nowhere")],
        )


def test_wrap_up_of_one_queue_holds_the_agent_for_every_queue() -> None:
    engine = RoutingEngine(
        ["12319", "96198"], sec(5), settings=[QueueSettings("96198", wrap_up=sec(60))]
    )
    ready(engine, "1001")
    engine.enqueue("c1", "96198", T0 + sec(1))
    engine.assign(T0 + sec(1))
    engine.answered("c1", T0 + sec(2))
    engine.ended("c1", T0 + sec(10))
    engine.enqueue("c2", "12319", T0 + sec(11))
    assert engine.assign(T0 + sec(11)) == []
    assert engine.agent("1001").state is AgentState.WRAP_UP
    assert engine.expire_wrap_ups(T0 + sec(69)) == []  # 12319's 5 s do not apply
    engine.expire_wrap_ups(T0 + sec(70))
    assert any(isinstance(e, CallAssigned) for e in engine.assign(T0 + sec(70)))


def test_a_callback_keeps_its_place_and_is_offered_as_an_outbound_task() -> None:
    engine = RoutingEngine(["12319"], sec(0))
    for n in range(3):
        engine.enqueue(f"c{n}", "12319", T0 + sec(n))
    engine.request_callback("c1", "13800138000", T0 + sec(5))
    engine.ended("c1", T0 + sec(6))  # the caller hangs up waiting for the call back
    assert [c.call_id for c in engine.waiting("12319")] == ["c0", "c1", "c2"]
    engine.enqueue("c3", "12319", T0 + sec(7), priority=0)
    ready(engine, "1001", at=T0 + sec(8))
    engine.assign(T0 + sec(8))
    engine.answered("c0", T0 + sec(9))
    engine.ended("c0", T0 + sec(20))
    engine.request_state("1001", AgentState.READY, T0 + sec(21))
    events = engine.assign(T0 + sec(21))
    assert [e for e in events if isinstance(e, CallbackOffered)] == [
        CallbackOffered(T0 + sec(21), "c1", "12319", "1001", "13800138000")
    ]
    assert not any(isinstance(e, CallAssigned) for e in events)
    # The agent's outbound call fails: the request goes back to its place, not the back.
    engine.offer_failed("c1", T0 + sec(30), "no-answer")
    assert [c.call_id for c in engine.waiting("12319")] == ["c1", "c2", "c3"]


def test_a_callback_for_a_call_that_is_not_waiting_is_refused() -> None:
    engine = RoutingEngine(["12319"], sec(0))
    with pytest.raises(RoutingError) as refused:
        engine.request_callback("nope", "13800138000", T0)
    assert refused.value.error_id == "not-waiting"


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_dialect_call_goes_first_to_a_dialect_seat_under_every_strategy(
    strategy: Strategy,
) -> None:
    engine = RoutingEngine(["12319", "粤语"], sec(0), settings=[QueueSettings("粤语", strategy)])
    # 1001 is idle longest, has taken fewest calls, sorts first and has the higher skill:
    # every strategy would pick it, were it not for 1002's dialect seat.
    engine.add_agent("1001", T0, skills={"粤语": 5})
    engine.add_agent("1002", T0)
    engine.set_skills("1002", {}, T0, dialects=["粤语"])
    engine.agent("1002").calls_taken = 3
    ready(engine, "1001", "1002")
    engine.enqueue("c1", "粤语", T0 + sec(10))
    (assigned,) = [e for e in engine.assign(T0 + sec(10)) if isinstance(e, CallAssigned)]
    assert assigned.agent_id == "1002"


def test_a_dialect_call_falls_back_to_any_agent_when_no_dialect_seat_is_ready() -> None:
    engine = RoutingEngine(["12319", "粤语"], sec(0))
    engine.add_agent("1001", T0)
    engine.add_agent("1002", T0)
    engine.set_skills("1002", {}, T0, dialects=["粤语"])
    ready(engine, "1001")
    engine.enqueue("c1", "粤语", T0 + sec(10))
    engine.enqueue("c2", "12319", T0 + sec(11))
    (assigned,) = [e for e in engine.assign(T0 + sec(10)) if isinstance(e, CallAssigned)]
    assert (assigned.call_id, assigned.agent_id) == ("c1", "1001")


def test_a_dialect_seat_still_serves_ordinary_calls() -> None:
    engine = RoutingEngine(["12319", "粤语"], sec(0))
    engine.add_agent("1002", T0)
    engine.set_skills("1002", {}, T0, dialects=["粤语"])
    ready(engine, "1002")
    engine.enqueue("c1", "12319", T0 + sec(10))
    (assigned,) = [e for e in engine.assign(T0 + sec(10)) if isinstance(e, CallAssigned)]
    assert assigned.agent_id == "1002"
