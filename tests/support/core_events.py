"""Posting signed status events to the hotline as the dispatch core does."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from dispatch.sender import sign_body
from tests.conftest import RunningHotline

SECRET = "test-secret"  # the [dispatch] secret of tests.conftest.hotline_config


async def post_event(
    http: aiohttp.ClientSession,
    hotline: RunningHotline,
    ticket: str,
    kind: str,
    event_id: str | None = None,
    secret: str = SECRET,
    **fields: Any,
) -> tuple[int, dict[str, Any]]:
    event = {
        "event_id": event_id or str(uuid.uuid4()),
        "ticket": ticket,
        "type": kind,
        "at": datetime.now(UTC).isoformat(),
        **fields,
    }
    body = json.dumps(event, ensure_ascii=False).encode()
    return await post_raw(http, hotline, body, sign_body(secret, body))


async def post_raw(
    http: aiohttp.ClientSession,
    hotline: RunningHotline,
    body: bytes,
    signature: str | None,
    content_type: str = "application/json",
    path: str = "/api/dispatch/events",
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Hotline-Signature"] = signature
    async with http.post(hotline.url(path), data=body, headers=headers) as response:
        return response.status, await response.json()
