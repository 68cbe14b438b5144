"""Console presence (pure, no loop): the grace logout and the blip that keeps the state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routing import AgentState, RoutingEngine, RoutingError
from routing.presence import ConsolePresence

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)


def test_an_agent_gone_past_the_grace_is_due_for_logout_once() -> None:
    presence = ConsolePresence(GRACE)
    presence.connected("1001", T0)
    presence.disconnected("1001", T0 + timedelta(seconds=5))
    assert presence.next_deadline() == T0 + timedelta(seconds=65)
    assert presence.gone(T0 + timedelta(seconds=64)) == []
    assert presence.gone(T0 + timedelta(seconds=65)) == ["1001"]
    assert presence.gone(T0 + timedelta(seconds=500)) == []
    assert presence.next_deadline() is None


def test_a_reconnect_within_the_grace_calls_the_logout_off() -> None:
    presence = ConsolePresence(GRACE)
    presence.connected("1001", T0)
    presence.disconnected("1001", T0)
    presence.connected("1001", T0 + timedelta(seconds=10))
    assert presence.pending() == {}
    assert presence.gone(T0 + timedelta(hours=1)) == []
    assert presence.online("1001")


def test_one_of_two_tabs_closing_is_not_a_departure() -> None:
    presence = ConsolePresence(GRACE)
    presence.connected("1001", T0)
    presence.connected("1001", T0)
    presence.disconnected("1001", T0)
    assert presence.online("1001") and presence.pending() == {}
    presence.disconnected("1001", T0)
    assert presence.pending() == {"1001": T0 + GRACE}


def test_no_grace_means_nobody_is_logged_out() -> None:
    presence = ConsolePresence(timedelta(0))
    presence.connected("1001", T0)
    presence.disconnected("1001", T0)
    assert presence.next_deadline() is None and presence.gone(T0 + timedelta(days=1)) == []


def wrapping_up(wrap_up: timedelta = timedelta(seconds=15)) -> tuple[RoutingEngine, datetime]:
    engine = RoutingEngine(["12319"], wrap_up)
    engine.request_state("1001", AgentState.READY, T0)
    engine.enqueue("c1", "12319", T0)
    engine.assign(T0)
    engine.answered("c1", T0)
    ended = T0 + timedelta(seconds=60)
    engine.ended("c1", ended)
    return engine, ended


def test_extending_wrap_up_adds_time_up_to_the_cap() -> None:
    engine, ended = wrapping_up()
    by, longest = timedelta(seconds=30), timedelta(seconds=60)
    assert engine.agent("1001").wrap_up_until == ended + timedelta(seconds=15)
    assert engine.extend_wrap_up("1001", ended, by, longest) == ended + timedelta(seconds=45)
    assert engine.extend_wrap_up("1001", ended, by, longest) == ended + longest
    try:
        engine.extend_wrap_up("1001", ended, by, longest)
    except RoutingError as error:
        assert error.error_id == "wrap-up-at-limit"
    else:
        raise AssertionError("extended past the cap")
    assert engine.expire_wrap_ups(ended + timedelta(seconds=59)) == []
    assert [e.state for e in engine.expire_wrap_ups(ended + longest)] == [AgentState.READY]


def test_ready_now_ends_wrap_up_and_extending_outside_wrap_up_is_refused() -> None:
    engine, ended = wrapping_up()
    changes = engine.request_state("1001", AgentState.READY, ended + timedelta(seconds=1))
    assert [e.state for e in changes] == [AgentState.READY]
    assert engine.next_wrap_up_end() is None
    try:
        engine.extend_wrap_up("1001", ended, timedelta(seconds=30), timedelta(seconds=60))
    except RoutingError as error:
        assert error.error_id == "not-in-wrap-up"
    else:
        raise AssertionError("extended a wrap-up that had ended")
