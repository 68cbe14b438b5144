"""A stand-in dispatch core for `make run`: accepts signed cases and keeps them in memory."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from agent_console.openapi import operation
from agent_console.schemas import CaseReceivedSchema
from dispatch.sender import SIGNATURE_HEADER, sign_body
from hotline.config import DEMO_DISPATCH_PATH

log = logging.getLogger(__name__)

received_key = web.AppKey("demo_received_cases", dict)


def add_demo_dispatch_core(app: web.Application, secret: str) -> None:
    """Serve POST /demo/dispatch-core/cases as the city's platform would (idempotent)."""
    app[received_key] = {}

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
        cases.setdefault(key, json.loads(body))
        log.info("demo dispatch core received a case", extra={"ticket": key, "first": first})
        return web.json_response({"accepted": key, "duplicate": not first})

    app.router.add_post(DEMO_DISPATCH_PATH, receive)
