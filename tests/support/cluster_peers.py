"""Real peers of a cluster (tools/cluster.py) behind Kamailio: agent phones on their own
loopback address that register through the proxy, and an agent's console on a node's URL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from tests.support.sipp import SippRun, free_ports, start_sipp

# Phones live on an address of their own, so that the node sees them behind the proxy (their
# Contact names another host than the REGISTER's source) and reaches them through it.
PHONE_HOST = "127.0.0.4"


def demo_password(agent_id: str) -> str:
    return f"demo-{agent_id}"


def demo_sip_password(agent_id: str) -> str:
    return f"sip-{agent_id}"


async def start_phone(
    workdir: Path, port: int, calls: int, scenario: str = "agent_answer.xml"
) -> SippRun:
    """SIPp answering as agent phones on PHONE_HOST:`port`, echoing RTP."""
    return await start_sipp(
        f"phone-{port}",
        scenario,
        cwd=workdir,
        local_port=port,
        calls=calls,
        extra=["-i", PHONE_HOST, "-rtp_echo", "-mp", str(free_ports(4)), "-mi", PHONE_HOST],
        timeout_s=600,
    )


async def register_through(
    proxy: tuple[str, int], workdir: Path, agent_id: str, contact_port: int
) -> None:
    """The agent's phone (contact PHONE_HOST:`contact_port`) registers through the proxy,
    with its digest password; fails the test unless it ends with a 200."""
    run = await start_sipp(
        f"register-{agent_id}",
        "agent_register.xml",
        cwd=workdir,
        local_port=free_ports(1),
        remote=proxy,
        calls=1,
        extra=[
            *("-i", PHONE_HOST),
            *("-s", agent_id, "-au", agent_id, "-ap", demo_sip_password(agent_id)),
            *("-key", "contact_port", str(contact_port)),
        ],
        timeout_s=30,
    )
    code, output = await run.wait(40)
    assert code == 0, output


@dataclass
class NodeConsole:
    """An agent's console on one node: the JSON API and the websocket."""

    base_url: str
    agent_id: str
    token: str
    ws: ClientConnection
    http: aiohttp.ClientSession

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, base_url: str, agent_id: str) -> NodeConsole:
        async with http.post(
            base_url + "/api/login",
            json={"agent_id": agent_id, "password": demo_password(agent_id)},
        ) as response:
            assert response.status == 200, await response.text()
            token = str((await response.json())["token"])
        ws = await connect(
            base_url.replace("http://", "ws://") + "/ws",
            additional_headers={"Authorization": f"Bearer {token}"},
        )
        console = cls(base_url, agent_id, token, ws, http)
        await console.next_message("hello")
        return console

    async def next_message(self, kind: str, timeout: float = 60.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if message["type"] == kind:
                    return dict(message)

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        async with self.http.request(
            method,
            self.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        ) as response:
            return response.status, await response.json(content_type=None)

    async def go_ready(self) -> None:
        status, body = await self.request(
            "POST", f"/api/agents/{self.agent_id}/state", {"state": "ready"}
        )
        assert status == 200, body
        while (await self.next_message("agent.state"))["state"] != "ready":
            pass

    async def close(self) -> None:
        await self.ws.close()
