"""Click-to-call peers: a case waiting for its 回访, SIPp as the citizen behind the trunk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import RunningHotline
from tests.support.core_events import post_event
from tests.support.peers import ConsoleClient, open_console
from tests.support.rtp_audio import write_rtp_pcap
from tests.support.sipp import SippRun, start_sipp

CITIZEN = "13800138000"
FORM = {
    "hotline": "12319",
    "caller_name": "张先生",
    "phone": CITIZEN,
    "address": "幸福路12号",
    "description": "小区门口井盖缺失，晚上很危险",
    "department_code": "MUNICIPAL",
    "category_code": "01001",
}


async def case_awaiting_visit(
    hotline: RunningHotline, http: aiohttp.ClientSession, visitor_id: str
) -> tuple[str, ConsoleClient]:
    """A case taken by agent 1001, forwarded, handled and closed by the core; its 回访 is
    offered to `visitor_id`, whose console is returned ready for the dial."""
    await hotline.add_agent("1001")
    await hotline.add_agent(visitor_id)
    taker = await open_console(hotline, http, "1001")
    status, ticket = await taker.post("/api/tickets", FORM)
    assert status == 201, ticket
    number = str(ticket["number"])
    await hotline.dispatch.wait_for(1)
    async with asyncio.timeout(20):
        while await case_state(taker, number) != "forwarded":
            await asyncio.sleep(0.05)  # delivery is confirmed just after the core answers
    await taker.ws.close()
    for kind in ("dispatched", "handled", "closed"):
        status, body = await post_event(http, hotline, number, kind, department="MUNICIPAL")
        assert status == 200 and body["applied"], body
    visitor = await open_console(hotline, http, visitor_id)
    await visitor.go_ready()
    offered = await visitor.next_message("visit.offered")
    assert offered["ticket"] == number
    return number, visitor


async def start_citizen(
    tmp: Path,
    trunk_port: int,
    media_port: int,
    payloads: list[bytes],
    talk_ms: int = 4000,
) -> SippRun:
    """SIPp as the trunk: answers the gateway's INVITE, plays `payloads`, hangs up after
    `talk_ms`; its messages are traced to *_messages.log in its folder."""
    workdir = tmp / "citizen"
    workdir.mkdir(parents=True, exist_ok=True)
    write_rtp_pcap(workdir / "party.pcap", payloads, 8)
    return await start_sipp(
        "citizen",
        "citizen_answers.xml",
        cwd=workdir,
        local_port=trunk_port,
        extra=["-mp", str(media_port), "-mi", "127.0.0.1", "-d", str(talk_ms), "-trace_msg"],
        timeout_s=90,
    )


async def case_state(client: ConsoleClient, number: str) -> str:
    return str((await case_view(client, number))["state"])


async def case_view(client: ConsoleClient, number: str) -> dict[str, Any]:
    async with client.http.get(
        client.hotline.url(f"/api/tickets/{number}"),
        headers={"Authorization": f"Bearer {client.token}"},
    ) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


def traced_messages(run: SippRun) -> str:
    return "".join(p.read_text(errors="replace") for p in run.cwd.glob("*_messages.log"))
