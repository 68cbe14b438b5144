"""Signed endpoints other systems call: status events from the dispatch core
(POST /api/dispatch/events) and cases transferred from 12345 (POST /api/handoff/12345)."""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web

from agent_console.app import ApiError
from cases import CaseError, CaseEvent
from cases.events import CORE_EVENT_TYPES, EventType
from dispatch.sender import SIGNATURE_HEADER, sign_body

log = logging.getLogger(__name__)

CORE_TYPES = {e.value: e for e in CORE_EVENT_TYPES}
MALFORMED = frozenset({"missing-reason", "missing-department", "missing-new-deadline"})


@dataclass(frozen=True)
class StatusEvent:
    event_id: str
    ticket: str
    event: CaseEvent


async def signed_json(request: web.Request, secret: str, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, after its size (413), signature (401), content type (415)
    and syntax (400) are checked, in that order."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "body-too-large", f"the body is over {max_bytes} bytes")
    body = await request.content.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ApiError(413, "body-too-large", f"the body is over {max_bytes} bytes")
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not secret or not given or not hmac.compare_digest(given, sign_body(secret, body)):
        log.warning("signature refused", extra={"path": request.path, "remote": request.remote})
        raise ApiError(401, "bad-signature", f"{SIGNATURE_HEADER} is missing or does not match")
    if request.content_type != "application/json":
        raise ApiError(415, "json-required", "send Content-Type: application/json")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid-json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid-body", "the body must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "missing-field", f"{name} is required", name)
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(400, "invalid-field", f"{name} must be text of at most {limit}", name)
    return value


def parse_status_event(data: dict[str, Any]) -> StatusEvent:
    """The contract's JSON, checked field by field (400 naming the field)."""
    event_id = _text(data, "event_id", 100, required=True)
    ticket = _text(data, "ticket", 40, required=True)
    kind = _text(data, "type", 32, required=True)
    if kind not in CORE_TYPES:
        raise ApiError(400, "invalid-field", f"type must be one of {', '.join(CORE_TYPES)}", "type")
    at_text = _text(data, "at", 40, required=True)
    try:
        at = datetime.fromisoformat(str(at_text))
    except ValueError:
        raise ApiError(400, "invalid-field", "at must be an ISO 8601 datetime", "at") from None
    if at.tzinfo is None:
        raise ApiError(400, "invalid-field", "at must carry a UTC offset", "at")
    department = _text(data, "department", 32, required=False)
    reason = _text(data, "reason", 1000, required=False) or ""
    deadline_text = _text(data, "new_deadline", 10, required=False)
    new_deadline = None
    if deadline_text is not None:
        try:
            new_deadline = date.fromisoformat(deadline_text)
        except ValueError:
            raise ApiError(
                400, "invalid-field", "new_deadline must be an ISO date", "new_deadline"
            ) from None
    by = f"core:{department}" if department else "core"
    event = CaseEvent(CORE_TYPES[kind], at, by, reason, department, new_deadline)
    return StatusEvent(str(event_id), str(ticket), event)


def case_error(error: CaseError) -> ApiError:
    status = 400 if error.error_id in MALFORMED else 409
    return ApiError(status, error.error_id, str(error))


def is_core_event(kind: EventType) -> bool:
    return kind in CORE_EVENT_TYPES
