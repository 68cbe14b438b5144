"""Schemas of the wallboard: its HTTP bodies and the websocket messages leads receive.

The websocket messages are not routes, so `openapi.document` adds them to the document's
components by name (`WEBSOCKET_MESSAGES`)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

STATES = ["logged_out", "ready", "offered", "talking", "wrap_up", "paused"]
KINDS = [
    "long_wait",
    "long_pause",
    "abandon_spike",
    "no_agent",
    "forward_stuck",
    "dead_letter",
    "case_due",
    "case_overdue",
]


class PeriodSchema(Schema):
    offered = fields.Integer(required=True)
    answered = fields.Integer(required=True)
    abandoned = fields.Integer(required=True)
    service_level = fields.Float(
        allow_none=True, metadata={"description": "服务水平, 0..1; null with no calls"}
    )
    answer_rate_in_time = fields.Float(
        allow_none=True, metadata={"description": "15秒接通率 (GB/T 33358), 0..1"}
    )


class QueueTileSchema(Schema):
    queue = fields.String(required=True)
    waiting = fields.Integer(required=True, metadata={"description": "callers on the line"})
    oldest_since = fields.DateTime(
        allow_none=True, metadata={"description": "when the longest-waiting caller joined"}
    )
    on_duty = fields.Integer(metadata={"description": "agents logged in serving the queue"})
    ready = fields.Integer()
    busy = fields.Integer()
    today = fields.Nested(PeriodSchema, metadata={"description": "since local midnight"})
    last_hour = fields.Nested(PeriodSchema)


class AgentTileSchema(Schema):
    agent_id = fields.String(required=True)
    name = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    reason = fields.String(metadata={"description": "pause reason (示忙原因)"})
    since = fields.DateTime(allow_none=True, metadata={"description": "in this state since"})
    call_id = fields.String(allow_none=True)
    call_connected_at = fields.DateTime(allow_none=True)
    hotline = fields.String(metadata={"description": "dialled number of the current call"})


class CallTileSchema(Schema):
    call_id = fields.String(required=True)
    queue = fields.String()
    hotline = fields.String()
    state = fields.String(metadata={"description": "queued, offered, connected, callback …"})
    arrived_at = fields.DateTime()
    caller = fields.String(metadata={"description": "masked: 138****8000"})
    agent_id = fields.String(allow_none=True)
    connected_at = fields.DateTime(allow_none=True)
    monitor = fields.Nested(
        "CallMonitorSchema",
        allow_none=True,
        metadata={"description": "a lead listening (监听), whispering (密语) or barging (强插)"},
    )


class CallMonitorSchema(Schema):
    lead_id = fields.String()
    mode = fields.String(validate=validate.OneOf(["listen", "whisper", "barge"]))
    state = fields.String(metadata={"description": "ringing (the lead's phone) or connected"})


class AlertSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(validate=validate.OneOf(KINDS))
    label = fields.String(metadata={"description": "the kind in Chinese"})
    subject = fields.String(metadata={"description": "the call's queue, agent, case or key"})
    text = fields.String()
    raised_at = fields.DateTime()
    acked_by = fields.String(allow_none=True)
    acked_at = fields.DateTime(allow_none=True)
    cleared_at = fields.DateTime(
        allow_none=True, metadata={"description": "set once, when the condition has gone"}
    )


class WallboardSchema(Schema):
    type = fields.String(metadata={"description": "wallboard (on the websocket)"})
    at = fields.DateTime(required=True, metadata={"description": "the server's clock"})
    queues = fields.List(fields.Nested(QueueTileSchema))
    agents = fields.List(fields.Nested(AgentTileSchema))
    calls = fields.List(fields.Nested(CallTileSchema))
    alerts = fields.List(fields.Nested(AlertSchema), metadata={"description": "open alerts"})
    rules = fields.Dict(metadata={"description": "wait_seconds, pause_seconds"})


class AckSchema(Schema):
    note = fields.String(validate=validate.Length(max=200))


class WallboardQueuesMessage(Schema):
    type = fields.Constant("wallboard.queues")
    at = fields.DateTime()
    queues = fields.List(fields.Nested(QueueTileSchema), metadata={"description": "every queue"})


class WallboardAgentsMessage(Schema):
    type = fields.Constant("wallboard.agents")
    at = fields.DateTime()
    agents = fields.List(
        fields.Nested(AgentTileSchema), metadata={"description": "only the agents that changed"}
    )


class WallboardCallMessage(Schema):
    type = fields.Constant("wallboard.call")
    at = fields.DateTime()
    calls = fields.List(
        fields.Nested(CallTileSchema),
        metadata={"description": "calls that arrived or changed: add, or replace by call_id"},
    )
    removed = fields.List(
        fields.String(), metadata={"description": "call_ids of calls that ended: drop them"}
    )


class WallboardAlertMessage(Schema):
    type = fields.Constant("wallboard.alert")
    alert = fields.Nested(AlertSchema, metadata={"description": "raised, acked or cleared"})


WEBSOCKET_MESSAGES: dict[str, type[Schema]] = {
    "WebsocketWallboardQueues": WallboardQueuesMessage,
    "WebsocketWallboardAgents": WallboardAgentsMessage,
    "WebsocketWallboardCall": WallboardCallMessage,
    "WebsocketWallboardAlert": WallboardAlertMessage,
}
