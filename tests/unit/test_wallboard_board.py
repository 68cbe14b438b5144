"""The wallboard's figures: pure, from routing state and call rows, at a given `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reports.calls import CallOptions, CallRow
from routing import AgentState, RoutingEngine
from wallboard import AgentSeat, CallBoard, WaitingCall, build_board, waiting_calls
from wallboard.board import board_json

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
OPTIONS = CallOptions(answer_seconds=15, short_abandon_seconds=5)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def answered(call_id: str, queue: str, arrived: datetime, wait: float, talk: float = 60) -> CallRow:
    connected = arrived + timedelta(seconds=wait)
    return CallRow(call_id, queue, "1001", arrived, connected, connected + timedelta(seconds=talk))


def abandoned(call_id: str, queue: str, arrived: datetime, after: float) -> CallRow:
    return CallRow(call_id, queue, None, arrived, None, arrived + timedelta(seconds=after))


def test_today_and_last_hour_use_the_report_definitions() -> None:
    rows = [
        answered("a", "12319", ago(hours=3), wait=5),  # today, in time
        answered("b", "12319", ago(hours=2), wait=40),  # today, late
        abandoned("c", "12319", ago(hours=2), after=30),  # today, counted abandon
        abandoned("d", "12319", ago(minutes=30), after=2),  # last hour, short abandon
        answered("e", "12319", ago(minutes=20), wait=10),  # last hour, in time
        answered("f", "96198", ago(minutes=10), wait=20),  # other queue
        answered("y", "12319", DAY - timedelta(minutes=1), wait=1),  # yesterday: not today
    ]
    board = build_board(["12319", "96198"], [], [], [], rows, NOW, DAY, OPTIONS)
    today = board.queue("12319").today
    assert (today.offered, today.answered, today.abandoned) == (5, 3, 2)
    # 15秒接通率 = in time / decided = 2/5; service level leaves the short abandon out: 2/4.
    assert today.answer_rate_in_time == 2 / 5
    assert today.service_level == 2 / 4
    hour = board.queue("12319").last_hour
    assert (hour.offered, hour.answered, hour.abandoned) == (2, 1, 1)
    assert hour.answer_rate_in_time == 1 / 2 and hour.service_level == 1 / 1
    other = board.queue("96198")
    assert other.today.answer_rate_in_time == 0.0 and other.today.service_level == 0.0


def test_a_quiet_queue_has_no_rates_rather_than_zero() -> None:
    board = build_board(["12319"], [], [], [], [], NOW, DAY, OPTIONS)
    quiet = board.queue("12319")
    assert quiet.today.offered == 0 and quiet.today.service_level is None
    assert quiet.last_hour.answer_rate_in_time is None
    assert quiet.longest_wait_seconds(NOW) == 0.0


def test_waiting_calls_and_the_longest_wait_come_from_routing() -> None:
    routing = RoutingEngine(["12319", "96198"], timedelta(seconds=5))
    routing.enqueue("old", "12319", ago(seconds=40))
    routing.enqueue("new", "12319", ago(seconds=3))
    routing.enqueue("cb", "12319", ago(seconds=50))
    routing.request_callback("cb", "13800138000", ago(seconds=45))
    waiting = waiting_calls(routing)
    assert {w.call_id for w in waiting} == {"old", "new"}  # a callback request is not on the line
    board = build_board(["12319", "96198"], waiting, [], [], [], NOW, DAY, OPTIONS)
    assert board.queue("12319").waiting == 2
    assert board.queue("12319").longest_wait_seconds(NOW) == 40.0
    assert board.queue("96198").waiting == 0


def test_agents_show_state_reason_time_in_state_and_their_call() -> None:
    seats = [
        AgentSeat("1002", "李四", AgentState.PAUSED, ago(minutes=12), "培训"),
        AgentSeat("1001", "张三", AgentState.TALKING, ago(seconds=95), call_id="c1"),
        AgentSeat("1003", "王五", AgentState.LOGGED_OUT, None),
        AgentSeat("1004", "赵六", AgentState.READY, ago(seconds=5), queues=frozenset({"96198"})),
    ]
    calls = [
        CallBoard(
            "c1",
            "12319",
            "12345",
            "connected",
            ago(seconds=100),
            "138****8000",
            "1001",
            ago(seconds=90),
        ),
        CallBoard("c2", "12319", "12319", "queued", ago(seconds=20), "139****0000"),
    ]
    waiting = [WaitingCall("c2", "12319", ago(seconds=20))]
    board = build_board(["12319", "96198"], waiting, seats, calls, [], NOW, DAY, OPTIONS)
    assert [a.agent_id for a in board.agents] == ["1001", "1002", "1004", "1003"]
    talking = board.agent("1001")
    assert talking.hotline == "12345" and talking.call_seconds(NOW) == 90.0
    paused = board.agent("1002")
    assert paused.reason == "培训" and paused.seconds_in_state(NOW) == 720.0
    assert board.agent("1003").seconds_in_state(NOW) == 0.0
    # 1004 serves only 96198; 1001 and 1002 serve every queue.
    assert (board.queue("12319").on_duty, board.queue("12319").ready) == (2, 0)
    assert (board.queue("96198").on_duty, board.queue("96198").ready) == (3, 1)
    assert board.queue("12319").busy == 1
    assert [c.call_id for c in board.calls] == ["c1", "c2"]
    shown = board_json(board)
    assert shown["calls"][0]["caller"] == "138****8000"
    assert shown["agents"][1]["state"] == "paused" and shown["agents"][1]["reason"] == "培训"
    assert shown["queues"][0]["oldest_since"] == ago(seconds=20).isoformat()
