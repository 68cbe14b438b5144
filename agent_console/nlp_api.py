"""Console API of the classifier: suggestions as the agent types, repeat reports (并单), and
for leads the learned model's state and how often agents keep the suggestion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import schemas
from agent_console.app import ApiError, read_json
from agent_console.http import current
from agent_console.openapi import operation
from hotline.classification import acceptance, open_repeats
from hotline.config import NlpConfig
from hotline.privacy import mask_address, mask_text
from nlp import Classifier
from nlp.emergency import detect_emergency
from nlp.repeats import CaseSketch

MAX_TEXT = 4000
# Acceptance figures cover this many days back.
ACCEPTANCE_DAYS = 30


@dataclass(frozen=True)
class NlpServices:
    classifier: Classifier
    sessions: async_sessionmaker[AsyncSession]
    config: NlpConfig
    departments: dict[str, str]
    clock: Callable[[], datetime]


nlp_key = web.AppKey("nlp", NlpServices)


def _text(data: dict[str, Any], name: str, required: bool, limit: int = MAX_TEXT) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApiError(400, "invalid-field", f"{name} must be a string", name)
    if len(value) > limit:
        raise ApiError(400, "invalid-field", f"{name} is longer than {limit} characters", name)
    if required and not value.strip():
        raise ApiError(400, "missing-field", f"{name} is required", name)
    return value


@operation(
    "Suggest departments, category and urgency for a complaint text",
    body=schemas.ClassifyQuerySchema,
    responses={200: ("Suggestion", schemas.ClassificationSchema)},
    errors=(400, 401, 415),
)
async def classify(request: web.Request) -> web.Response:
    current(request)
    services = request.app[nlp_key]
    text = _text(await read_json(request), "text", required=False)
    result = services.classifier.classify(text)
    body = result.to_json_dict()
    # The console shows the words that drove the suggestion and the departments' names.
    body["matched"] = list(result.matched)
    found = detect_emergency(text)
    body["emergency"] = (
        None
        if found is None
        else {"service": found.service, "name": found.name, "reason": found.reason}
    )
    for department in body["departments"]:
        department["name"] = services.departments.get(department["code"], department["code"])
    if result.unclear_ownership is not None and services.config.coordinator_code:
        body["coordinator"] = {
            "code": services.config.coordinator_code,
            "name": services.config.coordinator_name,
        }
    return web.json_response(body)


@operation(
    "Open tickets the one being written probably repeats (并单), as masked summaries",
    body=schemas.RepeatQuerySchema,
    responses={200: ("Repeats, most alike first", schemas.RepeatListSchema)},
    errors=(400, 401, 415),
)
async def repeats(request: web.Request) -> web.Response:
    """Open tickets the one being written probably repeats (并单 suggestions): masked
    summaries, whoever wrote them, enough to choose one to merge into and no more."""
    principal = current(request)
    services = request.app[nlp_key]
    data = await read_json(request)
    text = _text(data, "text", required=True)
    address = _text(data, "address", required=False, limit=300)
    category = _text(data, "category_code", required=False, limit=16) or None
    now = services.clock()
    found = await open_repeats(
        services.sessions,
        CaseSketch("", text, address, category, now),
        now,
        services.config.repeat_days,
        services.config.repeat_similarity,
    )
    return web.json_response(
        {
            "days": services.config.repeat_days,
            "repeats": [
                {
                    "number": ticket.number,
                    "reason": match.reason,
                    "similarity": round(match.similarity, 3),
                    "place": match.place,
                    "address": mask_address(ticket.address),
                    "description": mask_text(ticket.description[:120]),
                    "department_code": ticket.department_code,
                    "category_code": ticket.category_code,
                    "created_at": ticket.created_at.isoformat(),
                    "mine": ticket.created_by == principal.agent_id,
                }
                for match, ticket in found
            ],
        }
    )


@operation(
    "Leads: the learned model in use and how often suggestions are kept",
    responses={200: ("Model and acceptance", schemas.NlpStatusSchema)},
)
async def status(request: web.Request) -> web.Response:
    """For leads: which model is running and how often agents kept its suggestions."""
    principal = current(request)
    if not principal.is_lead:
        raise ApiError(403, "forbidden", "only shift leads may do this")
    services = request.app[nlp_key]
    model = services.classifier.model
    since = services.clock() - timedelta(days=ACCEPTANCE_DAYS)
    kept = await acceptance(services.sessions, since)
    return web.json_response(
        {
            "model": None
            if model is None
            else {"trained_at": model.trained_at, "examples": model.examples},
            "acceptance": {
                "days": ACCEPTANCE_DAYS,
                "tickets": kept.tickets,
                "department": kept.department,
                "category": kept.category,
                "urgent": kept.urgent,
            },
        }
    )


def add_routes(app: web.Application, services: NlpServices) -> None:
    app[nlp_key] = services
    app.router.add_post("/api/classify", classify)
    app.router.add_post("/api/tickets/repeats", repeats)
    app.router.add_get("/api/nlp/status", status)
