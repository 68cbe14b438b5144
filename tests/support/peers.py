"""Real peers driven together: SIPp agent phones and trunk caller, a websocket console."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import RunningHotline
from tests.support.rtp_audio import caller_payloads, write_rtp_pcap
from tests.support.sipp import SippRun, free_ports, start_sipp

CALLER_NUMBER = "13800138000"
TALK_MS = 4000
AUDIO_SECONDS = 3.0


@dataclass
class ConsoleClient:
    """An agent's console over the real websocket and JSON API."""

    agent_id: str
    token: str
    ws: ClientConnection
    http: aiohttp.ClientSession
    hotline: RunningHotline

    async def next_message(self, kind: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next pushed message of this type (others are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if message["type"] == kind:
                    return dict(message)

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.http.post(
            self.hotline.url(path), json=body, headers={"Authorization": f"Bearer {self.token}"}
        ) as response:
            return response.status, await response.json()

    async def go_ready(self) -> None:
        status, body = await self.post(f"/api/agents/{self.agent_id}/state", {"state": "ready"})
        assert status == 200, body
        message = await self.next_message("agent.state")
        assert message["state"] == "ready"


async def open_console(
    hotline: RunningHotline, http: aiohttp.ClientSession, agent_id: str
) -> ConsoleClient:
    token = await hotline.login(http, agent_id)
    ws_url = hotline.url("/ws").replace("http://", "ws://")
    ws = await connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"})
    client = ConsoleClient(agent_id, token, ws, http, hotline)
    hello = await client.next_message("hello")
    assert hello["agent"]["id"] == agent_id
    return client


async def register_phones(
    hotline: RunningHotline, tmp: Path, agent_ids: list[str], answer_port: int
) -> None:
    """SIPp registers each agent's phone with digest auth; the contact is the answering SIPp."""

    async def register(agent: str) -> None:
        run = await start_sipp(
            f"register-{agent}",
            "agent_register.xml",
            cwd=tmp / f"register-{agent}",
            local_port=free_ports(1),
            remote=hotline.sip_address,
            calls=1,
            extra=[
                "-s",
                agent,
                "-au",
                agent,
                "-ap",
                f"sip-{agent}-secret",
                "-key",
                "contact_port",
                str(answer_port),
            ],
            timeout_s=30,
        )
        code, output = await run.wait(40)
        assert code == 0, output

    await asyncio.gather(*(register(agent) for agent in agent_ids))
    loop_now = asyncio.get_running_loop().time()
    for agent in agent_ids:
        assert hotline.system.gateway.registrar.bindings(agent, loop_now), agent


async def start_agent_phones(
    tmp: Path, calls: int, scenario: str = "agent_answer.xml", extra: list[str] | None = None
) -> tuple[SippRun, int, int]:
    """SIPp answering as agent phones (one process for all contacts registered to its port)."""
    sip_port, media_port = free_ports(1), free_ports(4)
    run = await start_sipp(
        "agent-phone",
        scenario,
        cwd=tmp / f"phone-{sip_port}",
        local_port=sip_port,
        calls=calls,
        extra=["-rtp_echo", "-mp", str(media_port), "-mi", "127.0.0.1", *(extra or [])],
        timeout_s=90,
    )
    return run, sip_port, media_port


async def start_caller(
    hotline: RunningHotline | None,
    tmp: Path,
    calls: int,
    media_port: int,
    scenario: str = "caller.xml",
    dialled: str = "12319",
    talk_ms: int = TALK_MS,
    payloads: list[bytes] | None = None,
    transport: str = "u1",
    extra: list[str] | None = None,
    remote: tuple[str, int] | None = None,
) -> SippRun:
    """SIPp as the carrier trunk: `calls` citizens dial at once, each playing caller.pcap;
    `transport` is SIPp's -t (u1 UDP, t1 one TCP connection); with no `hotline`, `remote`
    says where to call."""
    if remote is None:
        assert hotline is not None, "where to call: a running hotline or a remote address"
        remote = hotline.sip_address
    workdir = tmp / f"caller-{media_port}"
    workdir.mkdir(parents=True, exist_ok=True)
    audio = caller_payloads(AUDIO_SECONDS, 8) if payloads is None else payloads
    write_rtp_pcap(workdir / "caller.pcap", audio, 8)
    options = {
        "-s": dialled,
        "-d": str(talk_ms),
        "-mp": str(media_port),
        "-mi": "127.0.0.1",
        "-l": str(calls),
        "-r": str(calls),
        "-t": transport,
    }
    return await start_sipp(
        "caller",
        scenario,
        cwd=workdir,
        local_port=free_ports(1),
        remote=remote,  # the gateway, or a proxy in front of it
        calls=calls,
        extra=[
            *("-key", "caller", CALLER_NUMBER),
            *(x for pair in options.items() for x in pair),
            *(extra or []),
        ],
        timeout_s=90,
    )


def ticket_form(call_id: str, offer: dict[str, Any], n: int = 0) -> dict[str, Any]:
    return {
        "hotline": offer["hotline"],
        "call_id": call_id,
        "caller_name": "王女士",
        "phone": offer["caller"],
        "address": f"人民路{n + 1}号门口",
        "description": "小区门口井盖缺失，晚上很危险，请尽快处理",
        "department_code": "MUNICIPAL",
        "category_code": "01023",
        "urgent": True,
    }
