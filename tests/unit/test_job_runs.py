"""The pure parts of running scheduled work once across nodes: what to do with a due run,
when the last run was due, the report jobs' slots, the outbox claim's lease."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.sender import CLAIM_MARGIN_SECONDS, claim_lease
from hotline.job_runs import STALE_AFTER, Decision, RunState, decide, look_again_at
from hotline.report_jobs import slot_of
from hotline.schedule import last_daily, next_daily

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def run(heartbeat: datetime, finished: datetime | None = None) -> RunState:
    return RunState("t", "node-a", heartbeat, heartbeat, finished)


def test_a_run_nobody_has_is_claimed() -> None:
    assert decide(None, NOW) is Decision.RUN


def test_a_finished_run_is_done_even_if_it_failed_long_ago() -> None:
    assert decide(run(NOW - timedelta(days=1), NOW - timedelta(hours=20)), NOW) is Decision.DONE


def test_a_run_beating_recently_is_held_and_looked_at_again_when_it_could_be_stale() -> None:
    held = run(NOW - timedelta(seconds=10))
    assert decide(held, NOW) is Decision.HELD
    again = look_again_at(held)
    assert decide(held, again) is Decision.TAKE_OVER
    assert again - held.heartbeat_at > STALE_AFTER


def test_a_silent_run_is_taken_over() -> None:
    assert decide(run(NOW - STALE_AFTER - timedelta(seconds=1)), NOW) is Decision.TAKE_OVER
    assert decide(run(NOW - STALE_AFTER), NOW) is Decision.HELD  # not before the bound


def test_a_catch_up_runs_only_a_job_that_has_run_before() -> None:
    assert decide(None, NOW, catching_up=True, has_history=True) is Decision.RUN
    assert decide(None, NOW, catching_up=True, has_history=False) is Decision.SKIP
    assert decide(None, NOW, catching_up=False, has_history=False) is Decision.RUN


def test_the_last_daily_run_is_today_once_its_time_has_passed() -> None:
    assert last_daily(NOW, time(3, 30), SHANGHAI) == datetime(2026, 12, 4, 19, 30, tzinfo=UTC)
    assert last_daily(NOW, time(11, 0), SHANGHAI) == datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    at_time = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)
    assert last_daily(at_time, time(3, 30), SHANGHAI) == at_time
    for at in (time(0, 0), time(3, 30), time(23, 59)):
        last = last_daily(NOW, at, SHANGHAI)
        assert last <= NOW < last + timedelta(days=1)
        assert next_daily(last, at, SHANGHAI) == last + timedelta(days=1)


def test_report_slots_are_the_same_for_every_node_within_an_interval() -> None:
    start = slot_of(NOW + timedelta(minutes=7), 900)
    assert start == NOW
    assert slot_of(NOW + timedelta(minutes=14, seconds=59), 900) == start
    assert slot_of(NOW + timedelta(minutes=15), 900) == start + timedelta(minutes=15)


def test_a_claim_outlasts_the_post_timeout() -> None:
    assert claim_lease(NOW, 10.0) == NOW + timedelta(seconds=10.0 + CLAIM_MARGIN_SECONDS)
