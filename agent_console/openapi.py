"""The OpenAPI 3.1 description of the console API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return response


ERROR = {"$ref": "#/components/schemas/Error"}
ERRORS = {
    "400": _ok("Invalid input; `field` names the offending form field", ERROR),
    "401": _ok("Not logged in", ERROR),
    "403": _ok("Not allowed for this role", ERROR),
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Hotline agent console API",
        "version": "0.1.0",
        "description": (
            "Console API of the city-management hotline. Log in with POST /api/login; the "
            "session comes back as an HttpOnly cookie and as a bearer token. Call events are "
            "pushed on the websocket GET /ws as JSON messages: hello, agent.state, "
            "call.offered, call.connected, call.missed, call.ended (agents), queue.call (leads)."
        ),
    },
    "components": {
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "hotline_session"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error_id", "message"],
                "properties": {
                    "error_id": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            },
            "TicketForm": {
                "type": "object",
                "required": ["hotline", "phone", "address", "description", "department_code"],
                "properties": {
                    "hotline": {"type": "string", "examples": ["12319"]},
                    "call_id": {"type": ["string", "null"]},
                    "caller_name": {"type": "string", "maxLength": 100},
                    "phone": {"type": "string", "maxLength": 32},
                    "address": {"type": "string", "maxLength": 300},
                    "description": {"type": "string", "maxLength": 4000},
                    "department_code": {"type": "string", "examples": ["MUNICIPAL"]},
                    "category_code": {"type": ["string", "null"], "examples": ["01023"]},
                    "urgent": {"type": "boolean"},
                    "merge_into": {
                        "type": ["string", "null"],
                        "description": "并单: an open ticket this report repeats; not forwarded",
                    },
                },
            },
            "Ticket": {
                "allOf": [
                    {"$ref": "#/components/schemas/TicketForm"},
                    {
                        "type": "object",
                        "properties": {
                            "number": {"type": "string", "examples": ["12319-20261123-0007"]},
                            "status": {"type": "string"},
                            "created_by": {"type": "string"},
                            "created_at": {"type": "string", "format": "date-time"},
                            "forwarded": {"type": "boolean"},
                            "merged_into": {"type": ["string", "null"]},
                        },
                    },
                ]
            },
            "AgentState": {
                "type": "object",
                "properties": {
                    "agent_id": {"type": "string"},
                    "state": {
                        "enum": ["logged_out", "ready", "offered", "talking", "wrap_up", "paused"]
                    },
                    "since": {"type": "string", "format": "date-time"},
                    "reason": {"type": "string"},
                    "call_id": {"type": ["string", "null"]},
                    "after_call": {"type": ["string", "null"]},
                },
            },
            "Classification": {
                "type": "object",
                "properties": {
                    "departments": {
                        "type": "array",
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "name": {"type": "string"},
                                "score": {"type": "number"},
                            },
                        },
                    },
                    "category": {
                        "type": ["object", "null"],
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                    },
                    "urgent": {"type": "boolean"},
                    "urgent_reason": {"type": ["string", "null"]},
                    "reasons": {
                        "type": "array",
                        "description": "Words behind each suggestion",
                        "items": {
                            "type": "object",
                            "properties": {
                                "kind": {
                                    "enum": [
                                        "department",
                                        "category",
                                        "urgent",
                                        "ownership",
                                        "model",
                                    ]
                                },
                                "target": {"type": "string"},
                                "words": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                    "location": {
                        "type": ["object", "null"],
                        "properties": {
                            "address": {"type": "string"},
                            "places": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "kind": {"type": "string"},
                                        "text": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                    "unclear_ownership": {"type": ["string", "null"]},
                    "coordinator": {
                        "type": "object",
                        "description": "Present when ownership is unclear (确权)",
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                    },
                },
            },
        },
    },
    "security": [{"session": []}, {"bearer": []}],
    "paths": {
        "/api/login": {
            "post": {
                "summary": "Log in with agent id and password",
                "security": [],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["agent_id", "password"],
                        "properties": {
                            "agent_id": {"type": "string"},
                            "password": {"type": "string"},
                        },
                    }
                ),
                "responses": {"200": _ok("Session started"), **ERRORS},
            }
        },
        "/api/logout": {
            "post": {
                "summary": "End the session (and log out of the queue)",
                "responses": {"200": _ok("Logged out")},
            }
        },
        "/api/me": {
            "get": {
                "summary": "Who I am, my state and my current call",
                "responses": {"200": _ok("Me"), **ERRORS},
            }
        },
        "/api/agents": {
            "get": {
                "summary": "All agents with their state (shift leads only)",
                "responses": {"200": _ok("Agents"), **ERRORS},
            }
        },
        "/api/agents/{agent_id}/state": {
            "post": {
                "summary": "Go ready, paused or logged out (self, or anyone for a lead)",
                "parameters": [
                    {
                        "name": "agent_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["state"],
                        "properties": {
                            "state": {"enum": ["ready", "paused", "logged_out"]},
                            "reason": {"type": "string", "maxLength": 100},
                        },
                    }
                ),
                "responses": {
                    "200": _ok("New state", {"$ref": "#/components/schemas/AgentState"}),
                    **ERRORS,
                },
            }
        },
        "/api/tickets": {
            "post": {
                "summary": "Save a ticket; it is numbered and queued for the dispatch core",
                "requestBody": _json_body({"$ref": "#/components/schemas/TicketForm"}),
                "responses": {
                    "201": _ok("Saved", {"$ref": "#/components/schemas/Ticket"}),
                    **ERRORS,
                },
            }
        },
        "/api/tickets/{number}": {
            "get": {
                "summary": "One ticket by its number",
                "parameters": [
                    {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": _ok("Ticket", {"$ref": "#/components/schemas/Ticket"}),
                    "404": _ok("No such ticket", ERROR),
                    **ERRORS,
                },
            }
        },
        "/api/classify": {
            "post": {
                "summary": "Suggest departments, category and urgency for a complaint text",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {"type": "string"}},
                    }
                ),
                "responses": {
                    "200": _ok("Suggestion", {"$ref": "#/components/schemas/Classification"}),
                    **ERRORS,
                },
            }
        },
        "/api/tickets/repeats": {
            "post": {
                "summary": "Open tickets the one being written probably repeats (并单)",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "text": {"type": "string"},
                            "address": {"type": "string"},
                            "category_code": {"type": ["string", "null"]},
                        },
                    }
                ),
                "responses": {"200": _ok("Repeats, most alike first (addresses masked)"), **ERRORS},
            }
        },
        "/api/nlp/status": {
            "get": {
                "summary": "Leads: the learned model in use and how often suggestions are kept",
                "responses": {"200": _ok("Model and acceptance"), **ERRORS},
            }
        },
        "/api/departments": {
            "get": {
                "summary": "Department codes and names",
                "responses": {"200": _ok("Departments")},
            }
        },
        "/api/calls/{call_id}/transfer": {
            "post": {
                "summary": "Blind transfer or three-way call to a target of the directory",
                "description": (
                    "For the agent on the call or a shift lead. 202 while the target rings; "
                    "call.transferred or call.transfer_failed follows on the websocket."
                ),
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["target"],
                        "properties": {
                            "target": {"type": "string", "description": "name or number"},
                            "mode": {"enum": ["blind", "three_way"], "default": "blind"},
                        },
                    }
                ),
                "responses": {
                    "202": _ok("The target is being called"),
                    **ERRORS,
                    "404": _ok("No such call", ERROR),
                    "409": _ok("Not connected, or a transfer is under way", ERROR),
                    "503": _ok("No outbound proxy configured", ERROR),
                },
            }
        },
        "/api/transfer-targets": {
            "get": {
                "summary": "The transfer directory: names and numbers",
                "responses": {"200": _ok("Targets")},
            }
        },
        "/healthz": {
            "get": {
                "summary": "200 when SIP, database and forwarding sender are up, else 503",
                "security": [],
                "responses": {"200": _ok("Healthy"), "503": _ok("A part is down")},
            }
        },
        "/ws": {
            "get": {
                "summary": "Websocket of console events",
                "responses": {"101": _ok("Switching protocols")},
            }
        },
    },
}


async def handler(request: web.Request) -> web.Response:
    return web.json_response(SPEC)
