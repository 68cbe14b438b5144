"""The console API's bodies as marshmallow schemas: the OpenAPI document is generated from them
and from the routes (agent_console/openapi.py). Handlers validate with their own rules, so each
error keeps its stable `error_id`; these schemas describe, they do not parse."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ErrorSchema(Schema):
    error_id = fields.String(required=True, metadata={"description": "stable, for programs"})
    message = fields.String(required=True)
    field = fields.String(metadata={"description": "the offending form field, if any"})


class OkSchema(Schema):
    ok = fields.Boolean(required=True)


class LoginSchema(Schema):
    agent_id = fields.String(required=True)
    password = fields.String(required=True)


class PrincipalSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(validate=validate.OneOf(["agent", "lead", "admin"]))


class LoginResultSchema(Schema):
    token = fields.String(required=True, metadata={"description": "bearer token; also a cookie"})
    agent = fields.Nested(PrincipalSchema, required=True)


class AgentStateSchema(Schema):
    agent_id = fields.String(required=True)
    state = fields.String(
        validate=validate.OneOf(["logged_out", "ready", "offered", "talking", "wrap_up", "paused"])
    )
    since = fields.DateTime(allow_none=True)
    reason = fields.String()
    call_id = fields.String(allow_none=True)
    after_call = fields.String(allow_none=True)


class StateChangeSchema(Schema):
    state = fields.String(required=True, validate=validate.OneOf(["ready", "paused", "logged_out"]))
    reason = fields.String(validate=validate.Length(max=100))


class LiveCallSchema(Schema):
    type = fields.String()
    call_id = fields.String()
    caller = fields.String(metadata={"description": "full number: the agent may call back"})
    hotline = fields.String()
    queue = fields.String()
    state = fields.String()
    connected_at = fields.DateTime(allow_none=True)


class MeSchema(Schema):
    agent = fields.Nested(PrincipalSchema, required=True)
    status = fields.Nested(AgentStateSchema, required=True)
    call = fields.Nested(LiveCallSchema, allow_none=True)
    hotlines = fields.List(fields.String())
    pause_reasons = fields.List(fields.String())


class AgentRowSchema(AgentStateSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)


class AgentListSchema(Schema):
    agents = fields.List(fields.Nested(AgentRowSchema), required=True)


class TicketFormSchema(Schema):
    hotline = fields.String(required=True, metadata={"example": "12319"})
    call_id = fields.String(allow_none=True)
    caller_name = fields.String(validate=validate.Length(max=100))
    phone = fields.String(required=True, validate=validate.Length(max=32))
    address = fields.String(required=True, validate=validate.Length(max=300))
    description = fields.String(required=True, validate=validate.Length(max=4000))
    department_code = fields.String(required=True, metadata={"example": "MUNICIPAL"})
    category_code = fields.String(allow_none=True, metadata={"example": "01023"})
    urgent = fields.Boolean()
    merge_into = fields.String(
        allow_none=True, metadata={"description": "并单: an open ticket this report repeats"}
    )


class TicketSchema(TicketFormSchema):
    number = fields.String(required=True, metadata={"example": "12319-20261123-0007"})
    status = fields.String()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    forwarded = fields.Boolean(allow_none=True)
    merged_into = fields.String(allow_none=True)


class RepeatQuerySchema(Schema):
    text = fields.String(required=True, validate=validate.Length(max=4000))
    address = fields.String(validate=validate.Length(max=300))
    category_code = fields.String(allow_none=True)


class RepeatSchema(Schema):
    number = fields.String(required=True)
    reason = fields.String()
    similarity = fields.Float()
    place = fields.String(allow_none=True)
    address = fields.String(metadata={"description": "masked: house and room numbers hidden"})
    description = fields.String(metadata={"description": "first 120 characters, numbers masked"})
    department_code = fields.String()
    category_code = fields.String(allow_none=True)
    created_at = fields.DateTime()
    mine = fields.Boolean(metadata={"description": "written by the asking agent"})


class RepeatListSchema(Schema):
    days = fields.Integer()
    repeats = fields.List(fields.Nested(RepeatSchema))


class ClassifyQuerySchema(Schema):
    text = fields.String(required=True, validate=validate.Length(max=4000))


class SuggestedDepartmentSchema(Schema):
    code = fields.String()
    name = fields.String()
    score = fields.Float()


class CodeNameSchema(Schema):
    code = fields.String()
    name = fields.String()


class ReasonSchema(Schema):
    kind = fields.String(
        validate=validate.OneOf(["department", "category", "urgent", "ownership", "model"])
    )
    target = fields.String()
    words = fields.List(fields.String())


class CategoryScoreSchema(Schema):
    code = fields.String()
    name = fields.String()
    score = fields.Float()


class HazardSchema(Schema):
    kind = fields.String(metadata={"example": "cover"})
    object = fields.String(metadata={"example": "井盖"})
    failure = fields.String(allow_none=True, metadata={"example": "missing"})
    failure_word = fields.String(allow_none=True)
    exposure = fields.List(fields.String())


class ClassificationSchema(Schema):
    departments = fields.List(fields.Nested(SuggestedDepartmentSchema))
    category = fields.Nested(CodeNameSchema, allow_none=True)
    categories = fields.List(
        fields.Nested(CategoryScoreSchema),
        metadata={"description": "up to three directory categories, best first"},
    )
    hazard = fields.Nested(
        HazardSchema,
        allow_none=True,
        metadata={"description": "the danger that makes the case urgent (danger model)"},
    )
    urgent = fields.Boolean()
    urgent_reason = fields.String(allow_none=True)
    reasons = fields.List(fields.Nested(ReasonSchema))
    location = fields.Dict(allow_none=True)
    unclear_ownership = fields.String(allow_none=True)
    coordinator = fields.Nested(
        CodeNameSchema, metadata={"description": "present when ownership is unclear (确权)"}
    )
    matched = fields.List(fields.String())


class NlpStatusSchema(Schema):
    model = fields.Dict(allow_none=True)
    acceptance = fields.Dict()


class DepartmentListSchema(Schema):
    departments = fields.List(fields.Nested(CodeNameSchema))


class TransferSchema(Schema):
    target = fields.String(required=True, metadata={"description": "name or number"})
    mode = fields.String(
        validate=validate.OneOf(["blind", "three_way", "attended"]),
        metadata={
            "description": "blind (default); three_way; attended: the caller hears music on "
            "hold while the agent consults the target, then POST .../transfer/complete or "
            ".../transfer/cancel"
        },
    )


class TransferStartedSchema(Schema):
    call_id = fields.String()
    target = fields.String()
    mode = fields.String()


class TransferFinishedSchema(Schema):
    call_id = fields.String()
    action = fields.String(metadata={"enum": ["complete", "cancel"]})


class CallControlSchema(Schema):
    call_id = fields.String()
    action = fields.String(metadata={"enum": ["hold", "resume", "mute", "unmute", "hangup"]})


class MonitorRequestSchema(Schema):
    mode = fields.String(
        required=True,
        metadata={
            "enum": ["listen", "whisper", "barge"],
            "description": "listen 监听 (nobody hears the lead), whisper 密语 (only the agent "
            "hears the lead), barge 强插 (everyone hears everyone)",
        },
    )


class MonitorSchema(Schema):
    call_id = fields.String()
    agent_id = fields.String(metadata={"description": "the agent on the call"})
    mode = fields.String(metadata={"enum": ["listen", "whisper", "barge"]})
    state = fields.String(
        metadata={
            "enum": ["ringing", "connected", "ended"],
            "description": "ringing: the lead's phone is being called; connected: the lead "
            "was on the call already and the mode is switched; ended (DELETE)",
        }
    )


class WrapUpSchema(Schema):
    agent_id = fields.String()
    wrap_up_until = fields.DateTime()


class TransferTargetSchema(Schema):
    name = fields.String()
    number = fields.String()


class TransferTargetListSchema(Schema):
    targets = fields.List(fields.Nested(TransferTargetSchema))


class MetricsSchema(Schema):
    start = fields.DateTime()
    end = fields.DateTime()
    queues = fields.Dict(metadata={"description": "per queue ('*' for all): QueueFigures"})
    agents = fields.Dict()
    hours = fields.Dict()
    shifts = fields.Dict()


class HealthSchema(Schema):
    ok = fields.Boolean()
    checks = fields.Dict(keys=fields.String(), values=fields.Boolean())
    # With [cluster] enabled: this node's name, and "active" (a standby answers 503 with
    # role "standby" to every request).
    role = fields.String()
    node = fields.String()


class VoicemailSchema(Schema):
    number = fields.String()
    hotline = fields.String()
    call_id = fields.String()
    phone = fields.String(metadata={"description": "masked"})
    left_at = fields.DateTime()
    duration_seconds = fields.Float()
    recording = fields.String()


class TicketRecordingSchema(Schema):
    url = fields.String(metadata={"description": "GET it for the WAV (Range answered)"})
    duration_seconds = fields.Float()


class OutboundCallSchema(Schema):
    dial_id = fields.String()
    task = fields.String(metadata={"description": "visit (回访) | callback (漏话回拨)"})
    agent_id = fields.String()
    number = fields.String(metadata={"description": "masked"})
    started_at = fields.DateTime()
    connected_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    outcome = fields.String(
        allow_none=True,
        metadata={"description": "talked | citizen-unreached | agent-unreached | cancelled"},
    )
    outcome_label = fields.String()
    reason = fields.String(allow_none=True)
    recording = fields.String(allow_none=True, metadata={"description": "the WAV's URL"})
    recording_seconds = fields.Float(allow_none=True)


class TicketInboundCallSchema(Schema):
    call_id = fields.String()
    agent_id = fields.String(allow_none=True)
    arrived_at = fields.DateTime()
    connected_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    hold_seconds = fields.Float(metadata={"description": "time on hold, to the end if ended held"})
    hold_count = fields.Integer(metadata={"description": "how many times a party held the call"})


class TicketCallsSchema(Schema):
    number = fields.String()
    call = fields.Nested(TicketInboundCallSchema, allow_none=True)
    recording = fields.Nested(TicketRecordingSchema, allow_none=True)
    outbound_calls = fields.List(fields.Nested(OutboundCallSchema))


class VoicemailListSchema(Schema):
    voicemails = fields.List(fields.Nested(VoicemailSchema))


class RosterEntrySchema(Schema):
    day = fields.Date()
    shift = fields.String()
    agent_id = fields.String()
    role = fields.String()
    skills = fields.List(fields.String())
    dialects = fields.List(fields.String())


class OverrideSchema(Schema):
    agent_id = fields.String()
    lead_id = fields.String()
    at = fields.DateTime()
    until = fields.DateTime()
    reason = fields.String()


class OverrideRequestSchema(Schema):
    agent_id = fields.String(required=True)
    reason = fields.String(validate=validate.Length(max=200))


class OverrideListSchema(Schema):
    overrides = fields.List(fields.Nested(OverrideSchema))


class RosterSchema(Schema):
    day = fields.Date()
    shift = fields.String()
    holiday = fields.String(allow_none=True)
    lead = fields.String(allow_none=True)
    enforced = fields.Boolean()
    on_duty = fields.List(fields.Nested(RosterEntrySchema))
    seats = fields.Dict()
    overrides = fields.List(fields.Nested(OverrideSchema))


class RosterAssignSchema(Schema):
    day = fields.Date(required=True)
    shift = fields.String(required=True, metadata={"description": "a shift of the pattern"})
    agent_id = fields.String(required=True)
    role = fields.String(validate=validate.OneOf(["agent", "lead"]))
    skills = fields.List(fields.String(), metadata={"description": "queue[:1-9]"})
    dialects = fields.List(
        fields.String(), metadata={"description": "方言席: a configured queue named for it"}
    )


class RosterUnassignedSchema(Schema):
    day = fields.Date()
    shift = fields.String()
    agent_id = fields.String()


class RosterShiftSchema(Schema):
    name = fields.String()
    starts = fields.String(metadata={"description": "HH:MM, local"})
    hours = fields.Integer()


class RosterDaySchema(Schema):
    day = fields.Date()
    holiday = fields.String(allow_none=True)


class RosterAgentSchema(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()


class RosterWeekSchema(Schema):
    start = fields.Date()
    today = fields.Date()
    days = fields.List(fields.Nested(RosterDaySchema))
    shifts = fields.List(fields.Nested(RosterShiftSchema))
    entries = fields.List(fields.Nested(RosterEntrySchema))
    agents = fields.List(fields.Nested(RosterAgentSchema))
    queues = fields.List(fields.String())


class StaffingHourSchema(Schema):
    hour = fields.Integer()
    calls = fields.Float(metadata={"description": "mean arrivals over the weeks read"})
    needed = fields.Integer(metadata={"description": "Erlang C"})
    rostered = fields.Integer(metadata={"description": "agents, not leads"})
    gap = fields.Integer(metadata={"description": "rostered - needed; negative is short"})
    cases_due = fields.Integer()


class StaffingTargetSchema(Schema):
    aht_seconds = fields.Float()
    service_level = fields.Float()
    answer_seconds = fields.Float()
    weeks = fields.Integer()


class StaffingGapSchema(Schema):
    day = fields.Date()
    weeks_read = fields.List(fields.Date())
    cases_due = fields.Integer()
    hours_short = fields.Integer()
    hours = fields.List(fields.Nested(StaffingHourSchema))
    target = fields.Nested(StaffingTargetSchema)


class RosterImportedSchema(Schema):
    imported = fields.Integer()


class MissedCallSchema(Schema):
    call_id = fields.String()
    kind = fields.String(validate=validate.OneOf(["abandoned", "callback", "refused", "restart"]))
    number = fields.String(metadata={"description": "masked unless the asking agent holds it"})
    queue = fields.String()
    missed_at = fields.DateTime()
    status = fields.String(validate=validate.OneOf(["open", "offered", "unreached", "done"]))
    agent_id = fields.String(allow_none=True)


class MissedCallListSchema(Schema):
    missed_calls = fields.List(fields.Nested(MissedCallSchema))


class MissedCallMarkSchema(Schema):
    status = fields.String(
        required=True, validate=validate.OneOf(["open", "offered", "unreached", "done"])
    )


class MissedCallMarkedSchema(Schema):
    call_id = fields.String()
    status = fields.String()


class CallbackFinishSchema(Schema):
    reached = fields.Boolean(required=True)


class CallbackFinishedSchema(Schema):
    call_id = fields.String()
    reached = fields.Boolean()


class CaseReceivedSchema(Schema):
    accepted = fields.String()
    duplicate = fields.Boolean()


class AccountSchema(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(["agent", "lead", "admin"]))
    active = fields.Boolean()
    created_at = fields.DateTime()


class NewAgentSchema(Schema):
    id = fields.String(required=True, metadata={"description": "2-16 digits"})
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["agent", "lead", "admin"]))
    password = fields.String(required=True, validate=validate.Length(min=8))
    sip_password = fields.String(required=True, validate=validate.Length(min=8))


class AccountChangeSchema(Schema):
    role = fields.String(validate=validate.OneOf(["agent", "lead", "admin"]))
    active = fields.Boolean()


class AuditEntrySchema(Schema):
    at = fields.DateTime()
    actor_id = fields.String()
    actor_role = fields.String()
    action = fields.String(metadata={"example": "ticket.view"})
    object_kind = fields.String()
    object_id = fields.String()
    why = fields.String()
    detail = fields.Dict()


class AuditListSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema))


class DialStartedSchema(Schema):
    """A click-to-call started: its progress follows as `dial.state` websocket messages
    (calling-agent, calling-citizen, connected, then ended / unreached / agent-unreached /
    cancelled)."""

    dial_id = fields.String()
    task = fields.String(metadata={"enum": ["visit", "callback"]})
    ref = fields.String(metadata={"description": "ticket number or missed call id"})
    state = fields.String(metadata={"example": "calling-agent"})


class DialCancelledSchema(Schema):
    """The dial is being stopped: a ringing INVITE is CANCELled (an answered leg gets BYE);
    the end follows as a `dial.state` message (cancelled, or ended if the citizen had
    answered)."""

    dial_id = fields.String()
    state = fields.String(metadata={"example": "cancelling"})
