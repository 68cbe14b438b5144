"""Statistics from the persisted logs: over the API, for Prometheus, and after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select

from agent_console.app import services_key
from agent_console.recordings import archive_key
from hotline.models import Call
from hotline.recordings import record_call
from hotline.wiring import build_system
from routing import AgentState
from telephony.events import AgentAnswered, CallArrived, CallEnded, RecordingFinished
from tests.conftest import RunningHotline


def feed_calls(hotline: RunningHotline) -> None:
    """Two answered calls (10 s and 40 s to answer) and one abandoned after 30 s."""
    switchboard = hotline.system.switchboard
    switchboard.request_state("1001", AgentState.READY)
    base = datetime.now(UTC) - timedelta(hours=1)
    for n, (answer_after, talk) in enumerate([(10, 60), (40, 120)]):
        call_id = f"call-{n}"
        arrived = base + timedelta(minutes=10 * n)
        switchboard.on_telephony_event(
            CallArrived(arrived, call_id, f"sip-{n}", "13800138000", "12319", "12319", "PCMU")
        )
        connected = arrived + timedelta(seconds=answer_after)
        switchboard.on_telephony_event(AgentAnswered(connected, call_id, "1001"))
        switchboard.on_telephony_event(
            CallEnded(connected + timedelta(seconds=talk), call_id, "caller-hangup", 10, 10)
        )
        switchboard.request_state("1001", AgentState.READY)  # skip wrap-up for the next call
    switchboard.request_state("1001", AgentState.PAUSED)
    lost = base + timedelta(minutes=30)
    switchboard.on_telephony_event(
        CallArrived(lost, "call-lost", "sip-lost", "13900000000", "96198", "96198", "PCMU")
    )
    switchboard.on_telephony_event(
        CallEnded(lost + timedelta(seconds=30), "call-lost", "caller-hangup", 5, 5)
    )


async def test_lead_reads_figures_that_survive_a_restart(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    feed_calls(hotline)
    await hotline.system.switchboard.synced()
    async with aiohttp.ClientSession() as http:
        agent = await hotline.login(http, "1001")
        lead = await hotline.login(http, "9001")
        async with http.get(
            hotline.url("/api/metrics?hours=24"), headers={"Authorization": f"Bearer {agent}"}
        ) as response:
            assert response.status == 403
        async with http.get(
            hotline.url("/api/metrics?hours=abc"), headers={"Authorization": f"Bearer {lead}"}
        ) as response:
            assert response.status == 400
        async with http.get(
            hotline.url("/api/metrics?hours=24"), headers={"Authorization": f"Bearer {lead}"}
        ) as response:
            assert response.status == 200
            body = await response.json()
        async with http.get(hotline.url("/metrics")) as response:
            assert response.status == 200
            exposition = await response.text()

    total = body["queues"]["*"]
    assert (total["offered"], total["answered"], total["answered_in_time"]) == (3, 2, 1)
    assert total["abandoned"] == 1 and total["short_abandons"] == 0
    assert total["service_level"] == 1 / 3
    assert total["asa_seconds"] == 25.0
    assert total["answer_rate"] == 2 / 3
    assert body["queues"]["96198"]["abandon_rate"] == 1.0
    assert body["agents"]["1001"]["answered"] == 2
    assert body["agents"]["1001"]["talk_seconds"] == 180.0
    assert sum(hour["*"]["offered"] for hour in body["hours"].values()) == 3
    assert sum(shift["*"]["offered"] for shift in body["shifts"].values()) == 3
    assert "hotline_shift_service_level_ratio{" in exposition
    assert 'hotline_queue_callback_calls{queue="*"} 0.0' in exposition
    assert 'hotline_queue_offered_calls{queue="12319"} 2.0' in exposition
    assert 'hotline_queue_answer_ratio{queue="*"} 0.6666' in exposition
    assert 'hotline_agent_answered_calls{agent="1001"} 2.0' in exposition

    # A new process on the same database computes the same figures.
    restarted = build_system(hotline.system.config)
    try:
        now = datetime.now(UTC)
        queues, agents = await restarted.app[services_key].statistics.figures(
            now - timedelta(hours=24), now
        )
    finally:
        await restarted.engine.dispose()
    assert queues["*"].answered == 2 and queues["*"].offered == 3
    assert agents["1001"].talk_seconds == 180.0


async def test_prometheus_counts_the_newest_recordings_this_node_cannot_find(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    feed_calls(hotline)
    await hotline.system.switchboard.synced()
    archive = hotline.system.app[archive_key]

    async def exposition() -> str:
        async with aiohttp.ClientSession() as http, http.get(hotline.url("/metrics")) as r:
            assert r.status == 200
            return await r.text()

    await archive.check_storage()
    text = await exposition()
    assert "hotline_recordings_checked 0.0" in text and "hotline_recordings_missing 0.0" in text
    # The call's recording was written on the other machine: its path is not on this disk.
    finished = RecordingFinished(datetime.now(UTC), "call-0", str(tmp_path / "b.wav"), 60.0)
    async with hotline.system.sessions.begin() as db:
        await record_call(finished)(db)
    await archive.check_storage()
    text = await exposition()
    assert "hotline_recordings_checked 1.0" in text and "hotline_recordings_missing 1.0" in text


async def test_a_restart_keeps_agent_states_and_closes_calls_it_could_not_keep(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("1003")
    switchboard = hotline.system.switchboard
    switchboard.request_state("1001", AgentState.READY)
    switchboard.request_state("1002", AgentState.PAUSED, "用餐")
    now = datetime.now(UTC)
    # 1001 takes a call (the simulated call has no SIP legs, so it stays offered, then talks).
    switchboard.on_telephony_event(
        CallArrived(now, "talking", "sip-t", "13800138000", "12319", "12319", "PCMU")
    )
    switchboard.on_telephony_event(AgentAnswered(now, "talking", "1001"))
    switchboard.on_telephony_event(
        CallArrived(now, "waiting", "sip-w", "13900000000", "96198", "96198", "PCMU")
    )
    await switchboard.synced()

    restarted = build_system(hotline.system.config)
    try:
        await restarted.switchboard.start()
        await restarted.switchboard.restore()
        await restarted.switchboard.synced()
        routing = restarted.switchboard.routing
        assert routing.agent("1002").state is AgentState.PAUSED
        assert routing.agent("1002").reason == "用餐"
        assert routing.agent("1001").state is AgentState.PAUSED  # was talking: not auto-ready
        assert routing.find_agent("1003") is None  # never logged in
        assert all(not routing.waiting(q) for q in ("12319", "96198"))
        queues, _ = await restarted.app[services_key].statistics.figures(
            now - timedelta(hours=1), now + timedelta(hours=1)
        )
        assert queues["*"].offered == 2 and queues["*"].answered == 1
        assert queues["*"].waiting == 0  # the log says how each call ended
    finally:
        await restarted.switchboard.stop()
        await restarted.engine.dispose()
    async with hotline.system.sessions() as db:
        waiting = await db.get(Call, "waiting")
    assert waiting is not None and waiting.end_reason == "restart"


async def test_a_write_that_fails_loses_none_of_the_calls_batched_with_it(
    hotline: RunningHotline,
) -> None:
    """Call-log writes are committed in batches; one that fails is retried alone."""
    switchboard = hotline.system.switchboard
    now = datetime.now(UTC)

    async def broken(db: object) -> None:
        raise RuntimeError("a write that cannot succeed")

    switchboard._write(broken)
    for n in range(30):
        switchboard.on_telephony_event(
            CallArrived(now, f"batch-{n}", f"sip-b{n}", "13800138000", "12319", "12319", "PCMU")
        )
    await switchboard.synced()
    async with hotline.system.sessions() as db:
        stored = {call.id for call in (await db.scalars(select(Call))).all()}
    assert {f"batch-{n}" for n in range(30)} <= stored
