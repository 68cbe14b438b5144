"""Bodies of the case routes as marshmallow schemas, for the generated OpenAPI document: the
dispatch core's status events (the binding contract), 12345 hand-offs, the ticket view with
its history, lead actions, 回访 outcomes, dead letters, emergency hand-offs."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from agent_console.schemas import TicketFormSchema, TicketSchema

CORE_TYPES = [
    "dispatched",
    "handling",
    "handled",
    "returned",
    "extension_requested",
    "verified",
    "verification_failed",
    "closed",
]
STATES = [
    "accepted",
    "forwarded",
    "dispatched",
    "handling",
    "handled",
    "verifying",
    "callback",
    "closed",
    "returned",
    "rejected",
    "merged",
    "sent_back",
]
SIGNATURE = {
    "name": "X-Hotline-Signature",
    "in": "header",
    "required": True,
    "description": "sha256=<hex HMAC-SHA256 of the raw body with the shared secret>",
    "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
}


class StatusEventSchema(Schema):
    event_id = fields.String(required=True, metadata={"description": "applied once per id"})
    ticket = fields.String(required=True, metadata={"example": "12319-20261123-0007"})
    type = fields.String(required=True, validate=validate.OneOf(CORE_TYPES))
    at = fields.DateTime(required=True, metadata={"description": "ISO 8601 with UTC offset"})
    department = fields.String()
    reason = fields.String(metadata={"description": "required for returned and 延期"})
    new_deadline = fields.Date(metadata={"description": "延期: the day asked for"})


class StatusEventResultSchema(Schema):
    event_id = fields.String(required=True)
    ticket = fields.String(required=True)
    applied = fields.Boolean(required=True)
    duplicate = fields.Boolean(required=True)
    state = fields.String(validate=validate.OneOf(STATES))


class HandoffSchema(TicketFormSchema):
    external_number = fields.String(required=True, metadata={"description": "12345's number"})


class HandoffResultSchema(Schema):
    number = fields.String(required=True)
    external_number = fields.String(required=True)
    duplicate = fields.Boolean(required=True)


class CaseEventSchema(Schema):
    type = fields.String(required=True)
    label = fields.String(metadata={"example": "派遣"})
    at = fields.DateTime(required=True)
    by = fields.String(required=True, metadata={"description": "agent, core[:DEPT], system"})
    reason = fields.String(required=True)
    to = fields.String()
    department = fields.String(allow_none=True)
    new_deadline = fields.Date(allow_none=True)


class CaseViewSchema(TicketSchema):
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    state_label = fields.String(metadata={"example": "已派遣"})
    deadline = fields.DateTime(required=True, allow_none=True)
    overdue = fields.Boolean(required=True)
    forward_overdue = fields.Boolean()
    time_limit = fields.String(metadata={"example": "5个工作日"})
    source = fields.String(metadata={"example": "12319"})
    confidential = fields.Boolean()
    emergency_service = fields.String(allow_none=True)
    survey = fields.String(
        allow_none=True,
        validate=validate.OneOf(["satisfied", "fairly_satisfied", "unsatisfied", "no_answer"]),
        metadata={
            "description": "好差评: the caller's key after the agent hung up; null if not asked"
        },
    )
    survey_label = fields.String(
        allow_none=True, metadata={"example": "满意", "description": "满意 基本满意 不满意 未评价"}
    )
    events = fields.List(fields.Nested(CaseEventSchema), required=True)


class CaseSummarySchema(Schema):
    number = fields.String(required=True)
    state = fields.String(required=True)
    state_label = fields.String()
    deadline = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    phone = fields.String(metadata={"description": "masked"})
    address = fields.String(metadata={"description": "masked"})


class CaseListSchema(Schema):
    tickets = fields.List(fields.Nested(CaseSummarySchema))


class CaseActionSchema(Schema):
    action = fields.String(
        required=True, validate=validate.OneOf(["reassign", "reject", "send_back"])
    )
    reason = fields.String()
    department = fields.String()


class VisitOutcomeSchema(Schema):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(["satisfied", "fairly_satisfied", "unsatisfied", "unreached"]),
    )
    note = fields.String(validate=validate.Length(max=1000))


class DeadLetterSchema(Schema):
    id = fields.Integer(required=True)
    key = fields.String()
    kind = fields.String()
    target = fields.String()
    command = fields.String()
    ticket = fields.String()
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    dead_at = fields.DateTime(allow_none=True)


class DeadLetterListSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema))


class ResentSchema(Schema):
    id = fields.Integer(required=True)
    resent = fields.Boolean(required=True)


class EmergencySchema(Schema):
    service = fields.String(required=True, validate=validate.OneOf(["110", "119", "120", "122"]))


class EmergencyResultSchema(Schema):
    call_id = fields.String(required=True)
    service = fields.String(required=True)
    number = fields.String(required=True)
