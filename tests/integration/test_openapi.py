"""The OpenAPI document is generated from the routes: every registered route is in it, and it
is a valid OpenAPI 3 document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from openapi_spec_validator import validate

from agent_console.openapi import document
from hotline.wiring import build_system
from tests.conftest import hotline_config


@pytest.fixture
async def console(sqlite_url: str) -> AsyncIterator[TestServer]:
    """The whole console as `hotline serve` builds it, demo stand-in included."""
    config = hotline_config(sqlite_url, "http://127.0.0.1:9/cases", demo={"dispatch_sink": True})
    system = build_system(config)
    server = TestServer(system.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def registered(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route a client can call, static files and HEAD aside."""
    routes = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource):
            continue
        if route.method == "HEAD":
            continue
        routes.add((route.method.lower(), resource.canonical))
    return routes


async def test_every_registered_route_is_documented(console: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(console.make_url("/api/openapi.json")) as response:
            assert response.status == 200
            served = await response.json()
    documented = {
        (method, path) for path, item in served["paths"].items() for method in item.keys()
    }
    routes = registered(console.app)
    assert len(routes) >= 30  # the console's own routes, recordings, duty, nlp, demo
    assert routes - documented == set()
    assert documented - routes == set()
    for path, item in served["paths"].items():
        for method, op in item.items():
            assert op.get("summary"), (method, path)
            assert op.get("responses"), (method, path)
    validate(served)


async def test_a_route_without_a_description_is_missing_from_the_document() -> None:
    async def undocumented(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/api/undocumented", undocumented)
    assert ("get", "/api/undocumented") in registered(app)
    assert "/api/undocumented" not in document(app).get("paths", {})


async def test_bodies_and_errors_come_from_the_schemas(console: TestServer) -> None:
    spec = document(console.app)
    create = spec["paths"]["/api/tickets"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TicketForm"}
    form = spec["components"]["schemas"]["TicketForm"]
    assert set(form["required"]) == {
        "hotline",
        "phone",
        "address",
        "description",
        "department_code",
    }
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Ticket"
    }
    assert create["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    ticket = spec["paths"]["/api/tickets/{number}"]["get"]
    assert ticket["parameters"] == [
        {"in": "path", "name": "number", "required": True, "schema": {"type": "string"}}
    ]
    assert spec["paths"]["/api/login"]["post"]["security"] == []
