"""The duty roster over the console API, callbacks, the missed-call list, repeat callers,
and a restart in the middle of a busy queue (a rebuilt System on the same database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import func, select

from agent_console.app import services_key
from hotline.models import CallEvent, RosterOverride
from hotline.wiring import build_system
from routing import AgentState
from routing.roster import Roster
from telephony.events import AgentAnswered, CallArrived, CallbackRequested, CallEnded
from tests.conftest import RunningHotline


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def roster_csv_for_now() -> str:
    """1001 on the shift running now, 9001 its lead; 1002 only on tomorrow's day shift."""
    now = datetime.now(UTC)
    day, shift = Roster.of_pattern("2x12", [], "Asia/Shanghai").current(now)
    tomorrow = day + timedelta(days=1)
    return (
        "date,shift,agent_id,role,skills,dialects\n"
        f"{day},{shift.name},1001,agent,投诉,粤语\n"
        f"{day},{shift.name},9001,lead,,\n"
        f"{tomorrow},白班,1002,agent,,\n"
    )


async def test_only_rostered_agents_go_ready_unless_the_lead_overrides(
    hotline: RunningHotline,
) -> None:
    for agent in ("1001", "1002"):
        await hotline.add_agent(agent)
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        agent, other, lead = [await hotline.login(http, a) for a in ("1001", "1002", "9001")]
        async with http.put(
            hotline.url("/api/roster"), data=roster_csv_for_now(), headers=bearer(agent)
        ) as r:
            assert r.status == 403
        bad = "date,shift,agent_id\n2026-11-23,早班,1001\n"  # no such shift in 2x12
        async with http.put(hotline.url("/api/roster"), data=bad, headers=bearer(lead)) as r:
            assert r.status == 400 and (await r.json())["error_id"] == "unknown-shift"
        async with http.put(
            hotline.url("/api/roster"), data=roster_csv_for_now(), headers=bearer(lead)
        ) as r:
            assert r.status == 200 and (await r.json()) == {"imported": 3}
        async with http.get(hotline.url("/api/roster"), headers=bearer(lead)) as r:
            shown = await r.json()
        assert [e["agent_id"] for e in shown["on_duty"]] == ["1001", "9001"]
        assert shown["lead"] == "9001" and shown["seats"] == {"投诉": ["1001"], "粤语": ["1001"]}

        ready = {"state": "ready"}
        async with http.post(
            hotline.url("/api/agents/1002/state"), json=ready, headers=bearer(other)
        ) as r:
            assert r.status == 409 and (await r.json())["error_id"] == "not-on-duty"
        async with http.post(
            hotline.url("/api/agents/1001/state"), json=ready, headers=bearer(agent)
        ) as r:
            assert r.status == 200
        # The seats of the shift become the skills the routing strategy weighs.
        assert hotline.system.switchboard.routing.agent("1001").skills == {"投诉": 1, "粤语": 1}
        override = {"agent_id": "1002", "reason": "1001 needs a second pair of hands"}
        async with http.post(
            hotline.url("/api/roster/overrides"), json=override, headers=bearer(other)
        ) as r:
            assert r.status == 403
        async with http.post(
            hotline.url("/api/roster/overrides"), json=override, headers=bearer(lead)
        ) as r:
            assert r.status == 201
        async with http.post(
            hotline.url("/api/agents/1002/state"), json=ready, headers=bearer(other)
        ) as r:
            assert r.status == 200
        async with http.get(hotline.url("/api/roster.csv"), headers=bearer(lead)) as r:
            exported = await r.text()
    assert exported == roster_csv_for_now()
    async with hotline.system.sessions() as db:
        audit = (await db.scalars(select(RosterOverride))).all()
    assert [(o.agent_id, o.lead_id, o.reason) for o in audit] == [
        ("1002", "9001", "1001 needs a second pair of hands")
    ]


async def test_a_repeat_caller_is_served_before_a_first_time_caller(
    hotline: RunningHotline,
) -> None:
    switchboard = hotline.system.switchboard
    now = datetime.now(UTC)
    for n, number in enumerate(["13800000001", "13800000002", "13800000001"]):
        switchboard.on_telephony_event(
            CallArrived(now, f"c{n}", f"s{n}", number, "12319", "12319", "PCMU")
        )
    assert [c.call_id for c in switchboard.routing.waiting("12319")] == ["c2", "c0", "c1"]


async def test_a_restart_in_a_busy_queue_loses_no_waiting_call_and_no_statistic(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    switchboard = hotline.system.switchboard
    start = datetime.now(UTC) - timedelta(minutes=10)
    at = [start + timedelta(seconds=s) for s in range(0, 100, 10)]

    def arrive(n: int, queue: str = "12319") -> None:
        switchboard.on_telephony_event(
            CallArrived(at[n], f"c{n}", f"s{n}", f"1390000000{n}", queue, queue, "PCMU")
        )

    switchboard.request_state("1001", AgentState.READY)
    arrive(0)  # answered, then ended
    switchboard.on_telephony_event(AgentAnswered(at[1], "c0", "1001"))
    switchboard.on_telephony_event(CallEnded(at[2], "c0", "agent-hangup", 1, 1))
    switchboard.request_state("1001", AgentState.PAUSED, "用餐")
    for n in range(1, 6):
        arrive(n)
    switchboard.on_telephony_event(CallbackRequested(at[6], "c2", "13900000002"))
    switchboard.on_telephony_event(CallEnded(at[6], "c2", "caller-hangup", 1, 1))
    switchboard.on_telephony_event(CallEnded(at[7], "c5", "caller-hangup", 1, 1))  # abandoned
    assert [c.call_id for c in switchboard.routing.waiting("12319")] == ["c1", "c2", "c3", "c4"]
    await switchboard.synced()
    window = (start - timedelta(hours=1), start + timedelta(hours=1))
    before, _ = await hotline.system.app[services_key].statistics.figures(*window)
    # The callback is neither answered nor abandoned; c5 is the one abandon.
    assert (before["*"].callbacks, before["*"].abandoned, before["*"].waiting) == (1, 1, 3)

    restarted = build_system(hotline.system.config)
    try:
        await restarted.switchboard.start()
        await restarted.switchboard.restore()
        await restarted.switchboard.synced()
        routing = restarted.switchboard.routing
        # The callback needs no SIP leg: it is back in line where it was.
        assert [c.call_id for c in routing.waiting("12319")] == ["c2"]
        assert routing.agent("1001").state is AgentState.PAUSED
        missed = await restarted.app[services_key].statistics.figures(*window)
        assert missed[0]["*"].offered == before["*"].offered == 6
        assert missed[0]["*"].answered == before["*"].answered == 1

        restarted.switchboard.request_state("1001", AgentState.READY)
        assert routing.agent_for_call("c2") == "1001"
        restarted.switchboard.finish_callback("c2", "1001", reached=True)
        await restarted.switchboard.synced()
        listed = await restarted.app[services_key].statistics.figures(*window)
        assert listed[0]["*"].offered == 6
    finally:
        await restarted.switchboard.stop()
        await restarted.engine.dispose()

    async with aiohttp.ClientSession() as http:
        lead = await hotline.login(http, "9001")
        async with http.get(hotline.url("/api/missed-calls"), headers=bearer(lead)) as r:
            listed_calls = (await r.json())["missed_calls"]
        async with http.get(
            hotline.url("/api/missed-calls?status=nonsense"), headers=bearer(lead)
        ) as r:
            assert r.status == 400
    by_id = {m["call_id"]: m for m in listed_calls}
    # c1, c3, c4 lost their legs in the restart; c5 hung up; c2 was called back.
    assert {k: (v["kind"], v["status"]) for k, v in by_id.items()} == {
        "c1": ("restart", "open"),
        "c2": ("callback", "done"),
        "c3": ("restart", "open"),
        "c4": ("restart", "open"),
        "c5": ("abandoned", "open"),
    }
    assert by_id["c5"]["number"] == "139****0005"  # masked in lists
    async with hotline.system.sessions() as db:
        offers = await db.execute(
            select(CallEvent.call_id, func.count())
            .where(CallEvent.kind == "offered")
            .group_by(CallEvent.call_id)
        )
        assert all(count == 1 for _, count in offers)  # no call assigned twice


async def test_a_late_hang_up_does_not_end_the_callback_an_agent_is_making(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    switchboard = hotline.system.switchboard
    now = datetime.now(UTC)
    switchboard.on_telephony_event(
        CallArrived(now, "c0", "s0", "13800001111", "12319", "12319", "PCMU")
    )
    switchboard.on_telephony_event(CallbackRequested(now, "c0", "13800001111"))
    switchboard.request_state("1001", AgentState.READY)
    assert switchboard.routing.agent_for_call("c0") == "1001"
    # The gateway ends the caller's leg only now, while the agent already has the task.
    switchboard.on_telephony_event(CallEnded(now, "c0", "caller-hangup", 0, 0))
    assert switchboard.routing.agent_for_call("c0") == "1001"
    assert switchboard.routing.agent("1001").state is AgentState.OFFERED
    switchboard.finish_callback("c0", "1001", reached=False)
    assert switchboard.routing.agent("1001").state is not AgentState.OFFERED
    await switchboard.synced()
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        async with http.get(hotline.url("/api/missed-calls"), headers=bearer(token)) as r:
            (row,) = (await r.json())["missed_calls"]
    assert (row["kind"], row["status"], row["agent_id"]) == ("callback", "unreached", "1001")


async def test_a_caller_the_trunk_marks_urgent_is_served_before_earlier_callers(
    hotline: RunningHotline,
) -> None:
    """An INVITE with `Priority: emergency` (RFC 3261) jumps the line in its queue."""
    switchboard = hotline.system.switchboard
    now = datetime.now(UTC)
    for n, urgent in enumerate([False, False, True]):
        switchboard.on_telephony_event(
            CallArrived(
                now + timedelta(seconds=n),
                f"c{n}",
                f"s{n}",
                f"1380013800{n}",
                "12319",
                "12319",
                "PCMA",
                urgent,
            )
        )
    assert [c.call_id for c in switchboard.routing.waiting("12319")] == ["c2", "c0", "c1"]
