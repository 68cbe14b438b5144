"""An agent dialling out for a call-back is busy for routing, and comes back after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing import AgentState, CallAssigned, CallbackOffered, RoutingEngine, RoutingError

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def sec(n: float) -> timedelta:
    return timedelta(seconds=n)


def engine_with_abandoned_caller() -> RoutingEngine:
    """c0 hung up waiting and is a call-back task in its place; c1 waits behind it."""
    engine = RoutingEngine(["12319"], sec(10))
    engine.enqueue("c0", "12319", T0)
    engine.enqueue("c1", "12319", T0 + sec(1))
    engine.request_callback("c0", "13800138000", T0 + sec(5))
    return engine


def test_a_task_the_queue_offered_is_talking_while_dialled_then_wrap_up() -> None:
    engine = engine_with_abandoned_caller()
    engine.request_state("1001", AgentState.READY, T0 + sec(6))
    offered = engine.assign(T0 + sec(6))
    assert [type(e) for e in offered][-1] is CallbackOffered
    engine.dial_started("1001", "c0", "12319", T0 + sec(7))
    assert engine.agent("1001").state is AgentState.TALKING
    engine.request_state("1002", AgentState.READY, T0 + sec(8))
    (assigned,) = [e for e in engine.assign(T0 + sec(8)) if isinstance(e, CallAssigned)]
    assert (assigned.call_id, assigned.agent_id) == ("c1", "1002")
    engine.dial_ended("c0", T0 + sec(30), worked=True)
    assert engine.agent("1001").state is AgentState.WRAP_UP
    assert engine.agent("1001").wrap_up_until == T0 + sec(40)
    assert not engine.holds("c0")


def test_an_agent_dialling_a_task_taken_from_the_list_is_offered_no_call() -> None:
    engine = engine_with_abandoned_caller()
    engine.cancel("c0", T0 + sec(6))  # taken from the list: no longer in line
    engine.cancel("c1", T0 + sec(6))
    engine.request_state("1001", AgentState.READY, T0 + sec(9))
    events = engine.dial_started("1001", "c0", "12319", T0 + sec(10))
    assert [(e.state, e.previous) for e in events] == [(AgentState.TALKING, AgentState.READY)]
    engine.enqueue("c2", "12319", T0 + sec(11))
    assert engine.assign(T0 + sec(11)) == []  # busy dialling: the new caller waits
    engine.dial_ended("c0", T0 + sec(20), worked=True)
    assert engine.agent("1001").state is AgentState.WRAP_UP


def test_a_paused_agent_returns_to_the_pause_and_an_unanswered_dial_skips_wrap_up() -> None:
    engine = RoutingEngine(["12319"], sec(10))
    engine.request_state("1001", AgentState.PAUSED, T0, "回拨")
    engine.dial_started("1001", "c9", "12319", T0 + sec(1))
    assert engine.agent("1001").state is AgentState.TALKING
    events = engine.dial_ended("c9", T0 + sec(2), worked=False)
    assert [(e.state, e.reason) for e in events] == [(AgentState.PAUSED, "回拨")]

    engine.request_state("1002", AgentState.READY, T0)
    engine.dial_started("1002", "c8", "12319", T0 + sec(1))
    engine.dial_ended("c8", T0 + sec(2), worked=False)
    assert engine.agent("1002").state is AgentState.READY  # nobody reached: no wrap-up


def test_a_busy_agent_or_another_agents_task_cannot_be_dialled() -> None:
    engine = engine_with_abandoned_caller()
    engine.request_state("1001", AgentState.READY, T0 + sec(6))
    engine.assign(T0 + sec(6))  # c0's task is offered to 1001
    with pytest.raises(RoutingError) as busy:
        engine.dial_started("1001", "c7", "12319", T0 + sec(7))
    assert busy.value.error_id == "agent-busy"
    engine.request_state("1002", AgentState.READY, T0 + sec(7))
    with pytest.raises(RoutingError) as other:
        engine.dial_started("1002", "c0", "12319", T0 + sec(8))
    assert other.value.error_id == "not-yours"
