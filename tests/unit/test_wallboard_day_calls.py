"""Today's calls kept between reads (wallboard/day_calls.py): a day of calls read every few
minutes, each read returning only what the query asks for, must give the same board as
reading and tallying the whole day each time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from reports.calls import CallOptions, CallRow, CallTally, tally_calls
from wallboard import build_board
from wallboard.day_calls import CallLogQuery, DayCalls

OPTIONS = CallOptions(answer_seconds=15, short_abandon_seconds=5)
DAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # midnight in the board's zone (UTC here)
WINDOW = timedelta(hours=1)
QUEUES = ["12319", "96198"]


def a_day_of_calls(rng: random.Random, start: datetime, hours: float) -> list[CallRow]:
    """Calls from `start` on: answered after a wait, abandoned, refused, some still open."""
    calls, prefix = [], start.strftime("%d%H")
    for n in range(int(hours * 120)):
        arrived = start + timedelta(seconds=rng.uniform(0, hours * 3600))
        wait = timedelta(seconds=rng.expovariate(1 / 20))
        queue = rng.choice(QUEUES)
        if rng.random() < 0.7:
            connected = arrived + wait
            ended = connected + timedelta(seconds=rng.expovariate(1 / 240))
            calls.append(CallRow(f"{prefix}-{n}", queue, "1001", arrived, connected, ended))
        else:
            reason = rng.choice(["caller-hangup", "refused-queue-full"])
            calls.append(
                CallRow(f"{prefix}-{n}", queue, None, arrived, None, arrived + wait, reason)
            )
    return calls


def as_logged_at(call: CallRow, now: datetime) -> CallRow | None:
    """The call log's row at `now`: what had happened by then."""
    if call.arrived_at > now:
        return None
    connected = call.connected_at if call.connected_at and call.connected_at <= now else None
    ended = call.ended_at if call.ended_at and call.ended_at <= now else None
    reason = call.end_reason if ended else None
    return CallRow(
        call.call_id, call.queue, call.agent_id, call.arrived_at, connected, ended, reason
    )


def read(log: list[CallRow], now: datetime, query: CallLogQuery) -> list[CallRow]:
    """The feed's SELECT, over the log as it stands at `now`."""
    rows = [r for c in log if (r := as_logged_at(c, now)) is not None]
    if query.ended_since is None:
        return [r for r in rows if r.arrived_at >= query.arrived_since]
    return [
        r
        for r in rows
        if r.ended_at is None
        or r.ended_at >= query.ended_since
        or r.arrived_at >= query.recent_since
    ]


def test_reading_only_what_can_differ_gives_the_board_of_the_whole_day() -> None:
    rng = random.Random(7)
    # The evening before (for the last hour after midnight), then the day itself.
    log = a_day_of_calls(rng, DAY - timedelta(hours=2), 2) + a_day_of_calls(rng, DAY, 20)
    day_calls = DayCalls(WINDOW, OPTIONS)
    now, reads, largest = DAY - timedelta(hours=1, minutes=30), 0, 0
    while now < DAY + timedelta(hours=20):
        day = DAY if now >= DAY else DAY - timedelta(days=1)
        query = day_calls.query(now, day)
        answer = read(log, now, query)
        if reads:  # the day's first read is the whole day
            largest = max(largest, len(answer))
        day_calls.merge(answer, now, day)
        reads += 1
        whole = [r for c in log if (r := as_logged_at(c, now)) is not None]
        kept = build_board(QUEUES, [], [], [], day_calls.rows, now, day, OPTIONS, day_calls.earlier)
        full = build_board(QUEUES, [], [], [], whole, now, day, OPTIONS)
        assert kept.queues == full.queues, now
        now += timedelta(seconds=rng.uniform(1, 600))
    assert reads > 200
    # After the first, a read returns the open and recent calls, not the day (2,400 calls).
    assert largest < 400, largest
    assert len(day_calls.rows) < 400


def test_each_call_is_tallied_once_even_when_it_ends_at_the_moment_of_a_read() -> None:
    day_calls = DayCalls(WINDOW, OPTIONS)
    arrived = DAY + timedelta(hours=1)
    now = arrived + timedelta(hours=2)
    call = CallRow("c", "12319", None, arrived, None, now, "caller-hangup")  # ends at `now`
    day_calls.merge([call], now, DAY)
    assert day_calls.rows == [call] and day_calls.earlier == {}
    later = now + timedelta(seconds=2)
    again = read([call], later, day_calls.query(later, DAY))
    assert again == [call]
    day_calls.merge(again, later, DAY)
    assert day_calls.rows == []
    assert day_calls.earlier == {"12319": tally_calls([call], OPTIONS)}
    last = later + timedelta(seconds=2)
    assert read([call], last, day_calls.query(last, DAY)) == []  # tallied: not read again


def test_a_new_day_starts_the_tally_afresh_and_reads_the_whole_window_again() -> None:
    day_calls = DayCalls(WINDOW, OPTIONS)
    evening = DAY - timedelta(hours=3)
    call = CallRow("c", "12319", None, evening, None, evening + timedelta(seconds=30), "x")
    day_calls.merge([call], DAY - timedelta(minutes=1), DAY - timedelta(days=1))
    assert day_calls.earlier["12319"] != CallTally()
    query = day_calls.query(DAY + timedelta(minutes=1), DAY)
    assert query.ended_since is None and query.arrived_since == DAY - timedelta(minutes=59)
    day_calls.merge([], DAY + timedelta(minutes=1), DAY)
    assert day_calls.earlier == {} and day_calls.rows == []
