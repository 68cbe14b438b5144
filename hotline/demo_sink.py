"""A stand-in dispatch core for `make run`: accepts signed cases and, after short delays,
reports back what a real 数字城管平台 would (派遣, 处置中, 已处置, sometimes 退单 or 延期,
核查通过, 结案), signed, through the hotline's own POST /api/dispatch/events, so a newcomer
sees a case go all the way round within minutes."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from agent_console.openapi import operation
from agent_console.schemas import CaseReceivedSchema
from dispatch.sender import SIGNATURE_HEADER, sign_body
from hotline.config import DEMO_DISPATCH_PATH
from hotline.tasks import BackgroundTasks

log = logging.getLogger(__name__)

received_key = web.AppKey("demo_received_cases", dict)
EVENTS_PATH = "/api/dispatch/events"
RETURN_SHARE = 0.15  # how often the demo department sends a case back (退单)
EXTENSION_SHARE = 0.15  # how often it asks for more time (延期)
DEPARTMENTS = ("MUNICIPAL", "SANITATION", "ENFORCEMENT", "LANDSCAPE")


def lifecycle(command: str, rng: random.Random, deadline: date) -> list[dict[str, Any]]:
    """The status events the stand-in sends for a case (or a command about one), in order;
    a 延期 asks for two days past the case's `deadline` (within the usual cap)."""
    department = rng.choice(DEPARTMENTS)
    if command in ("case", "reassign", "reopen"):
        events: list[dict[str, Any]] = [{"type": "dispatched", "department": department}]
        if command == "case" and rng.random() < RETURN_SHARE:
            return [*events, {"type": "returned", "reason": "经核实不属于本部门职责范围，请改派"}]
        events.append({"type": "handling"})
        if rng.random() < EXTENSION_SHARE:
            events.append(
                {
                    "type": "extension_requested",
                    "reason": "需协调产权单位，申请延期",
                    "new_deadline": (deadline + timedelta(days=2)).isoformat(),
                }
            )
        return [
            *events,
            {"type": "handled", "reason": "已到场处置完毕"},
            {"type": "verified"},
            {"type": "closed", "reason": "核查通过，结案"},
        ]
    return []  # 催办, 督办, 不予受理, 退回: noted, nothing to report back


def add_demo_dispatch_core(
    app: web.Application,
    secret: str,
    events_url: Callable[[], str] | None = None,
    delay_seconds: float = 8.0,
) -> None:
    """Serve POST /demo/dispatch-core/cases as the city's platform would (idempotent), and
    report status back to `events_url()` every `delay_seconds` (0 reports nothing)."""
    app[received_key] = {}
    tasks = BackgroundTasks()
    rng = random.Random()

    async def report(ticket: str, command: str, deadline: date) -> None:
        events = lifecycle(command, rng, deadline)
        if events_url is None or not events:
            return
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for event in events:
                await asyncio.sleep(delay_seconds * rng.uniform(0.6, 1.4))
                body = json.dumps(
                    {
                        "event_id": str(uuid.uuid4()),
                        "ticket": ticket,
                        "at": datetime.now(UTC).isoformat(),
                        **event,
                    },
                    ensure_ascii=False,
                ).encode()
                headers = {
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign_body(secret, body),
                }
                async with http.post(events_url(), data=body, headers=headers) as response:
                    if response.status != 200:
                        log.warning(
                            "demo dispatch core: event refused",
                            extra={"ticket": ticket, "status": response.status},
                        )
                        return

    @operation(
        "Demo only: the stand-in dispatch core receives a signed case (idempotent)",
        public=True,
        errors=(),
        responses={
            200: ("Accepted", CaseReceivedSchema),
            400: ("Idempotency-Key missing", None),
            401: ("Bad signature", None),
        },
    )
    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not hmac.compare_digest(
            request.headers.get(SIGNATURE_HEADER, ""), sign_body(secret, body)
        ):
            return web.json_response({"error": "bad signature"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return web.json_response({"error": "Idempotency-Key required"}, status=400)
        cases: dict[str, object] = request.app[received_key]
        first = key not in cases
        payload = json.loads(body)
        cases.setdefault(key, payload)
        log.info("demo dispatch core received", extra={"key": key, "first": first})
        if first and delay_seconds > 0:
            command = str(payload.get("command", "case"))
            ticket = str(payload.get("ticket") or payload.get("number") or key)
            try:
                deadline = datetime.fromisoformat(str(payload.get("deadline"))).date()
            except ValueError:
                deadline = datetime.now(UTC).date() + timedelta(days=5)
            tasks.spawn(report(ticket, command, deadline), name=f"demo-core-{key}")
        return web.json_response({"accepted": key, "duplicate": not first})

    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        yield
        await tasks.cancel_all()

    app.router.add_post(DEMO_DISPATCH_PATH, receive)
    app.cleanup_ctx.append(lifetime)
