"""The OpenAPI 3 document of the console API, generated from the registered routes.

Each handler carries its description (`@operation`: summary, body and response schemas from
agent_console/schemas.py); at start-up aiohttp-apigami walks `app.router.routes()` and apispec
assembles the document, served at GET /api/openapi.json. A route added without `@operation`
is missing from the document, and tests/integration/test_openapi.py fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema
from aiohttp_apigami.core import resolver
from aiohttp_apigami.plugin import ApigamiPlugin
from aiohttp_apigami.route_processor import RouteProcessor
from aiohttp_apigami.utils import get_or_set_apispec
from apispec import APISpec
from marshmallow import Schema

from agent_console.schemas import ErrorSchema
from agent_console.wallboard_schemas import WEBSOCKET_MESSAGES

Handler = TypeVar("Handler", bound=Callable[..., Any])
SchemaRef = type[Schema] | Schema
OPENAPI_VERSION = "3.0.3"
TITLE = "Hotline agent console API"
DESCRIPTION = (
    "Console API of the city-management hotline. Log in with POST /api/login; the session comes "
    "back as an HttpOnly cookie and as a bearer token. Call events are pushed on the websocket "
    "GET /ws as JSON messages: hello, agent.state, call.offered, call.connected, call.missed, "
    "call.ended, call.transferred, call.consulting (a consulted transfer's target answered), "
    "call.transfer_failed, call.held, call.muted, "
    "phone.registered (agents), call.monitor (leads; the agent on the call too where "
    "`[wallboard] monitor_shown_to_agent` is set: a lead listening, whispering or barging, "
    "with state ringing, connected, ended or failed), "
    "agent.state and queue.call (leads). hello carries the agent's state, pause reason, the "
    "end of a wrap-up (wrap_up_until, also in agent.state) and the phone's registration "
    "(phone: registered, expires). A lead's websocket also gets the wallboard: a full "
    "`wallboard` snapshot on connect, then `wallboard.queues`, `wallboard.agents` (the agents "
    "that changed), `wallboard.call` (only the calls that arrived or changed, and the ids of "
    "those that ended) and `wallboard.alert` (raised, acknowledged, cleared) "
    "as things change; the snapshot is the Wallboard schema (also GET /api/wallboard), the "
    "updates the WebsocketWallboard* schemas of the components. A ticket and its recording "
    "are visible only to the agent who took it, shift leads and admins; to anyone else it "
    "does not exist (404)."
)
ERROR_TEXT = {
    400: "Invalid input; `field` names the offending form field",
    401: "Not logged in",
    403: "Not allowed for this role",
    404: "No such object, or not yours to see",
    409: "Conflicts with the object's state",
    413: "Body too large",
    415: "Send Content-Type: application/json",
    429: "Too many attempts",
    503: "A part is down or not configured",
}
# Operation keys of OpenAPI 2 that the decorator adds and OpenAPI 3 does not know.
_SWAGGER2_KEYS = ("produces", "consumes")

openapi_key: web.AppKey[dict[str, Any]] = web.AppKey("openapi")


def operation(
    summary: str,
    *,
    body: SchemaRef | None = None,
    responses: Mapping[int, tuple[str, SchemaRef | None]] | None = None,
    errors: Iterable[int] = (400, 401, 403),
    public: bool = False,
    description: str | None = None,
    tags: list[str] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> Callable[[Handler], Handler]:
    """Describe a handler for the generated OpenAPI document.

    `responses` maps a status to (description, schema or None); each status in `errors`
    answers with the Error schema. `public` routes need no session.
    """

    def decorate(handler: Handler) -> Handler:
        extra: dict[str, Any] = {}
        if description is not None:
            extra["description"] = description
        if public:
            extra["security"] = []
        docs(summary=summary, tags=tags, parameters=parameters, **extra)(handler)
        if body is not None:
            request_schema(body)(handler)
        for status, (text, schema) in (responses or {200: ("OK", None)}).items():
            if schema is None:
                get_or_set_apispec(handler)["responses"][str(status)] = {"description": text}
            else:
                response_schema(schema, status, description=text)(handler)
        for status in errors:
            if public and status in (401, 403):
                continue
            response_schema(ErrorSchema, status, description=ERROR_TEXT[status])(handler)
        return handler

    return decorate


def document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document of every described route of the app."""
    spec = APISpec(
        title=TITLE,
        version="0.1.0",
        openapi_version=OPENAPI_VERSION,
        plugins=(ApigamiPlugin(schema_name_resolver=resolver),),
        info={"description": DESCRIPTION},
        security=[{"session": []}, {"bearer": []}],
    )
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "hotline_session"}
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    RouteProcessor(spec).register_routes(app)
    for name, schema in WEBSOCKET_MESSAGES.items():
        spec.components.schema(name, schema=schema)
    result = spec.to_dict()
    for path in result.get("paths", {}).values():
        path.pop("head", None)  # aiohttp answers HEAD for every GET; HTTP says as much
        for op in path.values():
            for key in _SWAGGER2_KEYS:
                op.pop(key, None)
    return result


async def build_document(app: web.Application) -> None:
    """On start-up, once every route is registered: generate the document once."""
    app[openapi_key] = document(app)


@operation("This document: the console API in OpenAPI 3", public=True, errors=())
async def handler(request: web.Request) -> web.Response:
    return web.json_response(request.app[openapi_key])
