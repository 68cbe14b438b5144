"""A real call on the dialect line (SIPp through the gateway) reaches the agent rostered on the
dialect seat, though another agent has been idle longer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from hotline.models import Call
from routing.roster import Roster
from tests.conftest import RunningHotline
from tests.support.peers import open_console, register_phones, start_agent_phones, start_caller
from tests.support.sipp import free_ports

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize(
        "hotline_overrides", [{"hotlines": {"12319": "12319", "12320": "粤语"}}]
    ),
]


async def test_a_dialect_call_reaches_the_dialect_seat_over_a_longer_idle_agent(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    for agent in ("1001", "1002"):
        await hotline.add_agent(agent)
    await hotline.add_agent("9001", role="lead")
    day, shift = Roster.of_pattern("2x12", [], "Asia/Shanghai").current(datetime.now(UTC))
    phones, phone_port, _ = await start_agent_phones(tmp_path, 1)
    async with aiohttp.ClientSession() as http:
        lead = await hotline.login(http, "9001")
        for agent, dialects in (("1001", []), ("1002", ["粤语"])):
            body = {"day": str(day), "shift": shift.name, "agent_id": agent, "dialects": dialects}
            async with http.post(
                hotline.url("/api/roster/assignments"),
                json=body,
                headers={"Authorization": f"Bearer {lead}"},
            ) as r:
                assert r.status == 201, await r.text()
        # Both phones ring at the one answering SIPp: only routing decides who gets the call.
        await register_phones(hotline, tmp_path, ["1001", "1002"], phone_port)
        plain = await open_console(hotline, http, "1001")
        dialect = await open_console(hotline, http, "1002")
        await plain.go_ready()  # idle longest: any strategy but the dialect rule picks 1001
        await dialect.go_ready()
        caller = await start_caller(hotline, tmp_path, 1, free_ports(4), dialled="12320")
        offer = await dialect.next_message("call.offered")
        assert offer["queue"] == "粤语"
        await dialect.next_message("call.connected")
        await dialect.next_message("call.ended")
        for console in (plain, dialect):
            await console.ws.close()
    assert (await caller.wait(60))[0] == 0
    assert (await phones.wait(60))[0] == 0
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
    assert call is not None and (call.queue, call.agent_id) == ("粤语", "1002")
