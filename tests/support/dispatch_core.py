"""A real HTTP server standing in for the city's dispatch core, recording what it receives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ReceivedCase:
    idempotency_key: str
    signature: str
    body: bytes

    @property
    def case(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class DispatchCoreStub:
    """Answers `failures_before_success` requests with 503, then 200; records all of them.
    With `refuse_commands` set, commands about a case (改派, 催办 …) get that status."""

    failures_before_success: int = 0
    refuse_commands: int | None = None
    received: list[ReceivedCase] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cases", self._receive)
        app.router.add_post("/12345", self._receive)  # cases sent back to 12345
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        case = ReceivedCase(
            request.headers.get("Idempotency-Key", ""),
            request.headers.get("X-Hotline-Signature", ""),
            body,
        )
        async with self.arrived:
            self.received.append(case)
            self.arrived.notify_all()
        if self.refuse_commands is not None and "command" in case.case:
            return web.json_response({"error": "refused"}, status=self.refuse_commands)
        if self.failures_before_success > 0:
            self.failures_before_success -= 1
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"accepted": case.idempotency_key})

    async def wait_until(
        self, found: Callable[[list[ReceivedCase]], bool], timeout: float = 30.0
    ) -> list[ReceivedCase]:
        """Wait until what has arrived satisfies `found`."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: found(self.received)), timeout)
        return list(self.received)

    def commands(self, name: str) -> list[dict[str, Any]]:
        return [r.case for r in self.received if r.case.get("command") == name]

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[ReceivedCase]:
        """Wait until `count` requests have arrived."""
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.received) >= count), timeout
            )
        return list(self.received)
