"""Call-control events the gateway emits (separate from SIP messages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telephony.survey_rules import SurveyOutcome


@dataclass(frozen=True)
class CallArrived:
    """A caller was answered, greeted and is waiting for an agent."""

    at: datetime
    call_id: str
    sip_call_id: str
    caller: str
    dialled: str
    queue: str
    codec: str
    # The INVITE's Priority header said "emergency" or "urgent" (RFC 3261 §20.26), as a
    # 12345 platform or PBX does for a case it already knows is urgent.
    urgent: bool = False


@dataclass(frozen=True)
class CallRefused:
    """A caller the gateway turned away before queueing: the queue was full (486), the
    gateway was draining for shutdown or had no RTP port left (503). Offered, not answered."""

    at: datetime
    call_id: str
    sip_call_id: str
    caller: str
    dialled: str
    queue: str
    reason: str  # queue-full | draining | no-ports
    status: int  # the SIP answer: 486 or 503


@dataclass(frozen=True)
class AgentAnswered:
    at: datetime
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class AgentLegFailed:
    """The agent's phone could not be reached or did not answer in time."""

    at: datetime
    call_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True)
class CallEnded:
    at: datetime
    call_id: str
    # caller-hangup | agent-hangup | department-hangup | transfer-failed | timeout | shutdown
    # | error
    reason: str
    rtp_from_caller: int
    rtp_to_caller: int


@dataclass(frozen=True)
class CallTransferred:
    """The target answered: blind, the caller now talks to it and the agent is released;
    three_way, caller, agent and target hear each other; attended, the agent handed the
    caller over after consulting the target, and is released."""

    at: datetime
    call_id: str
    agent_id: str
    target: str
    mode: str  # blind | three_way | attended


@dataclass(frozen=True)
class TransferConsulting:
    """A consulted transfer from the console: the target answered and talks with the agent,
    while the caller hears music on hold until the agent completes or takes the caller back."""

    at: datetime
    call_id: str
    agent_id: str
    target: str


@dataclass(frozen=True)
class TransferFailed:
    """The target did not answer (or, consulted, hung up or was dropped by the agent:
    reason cancelled); the caller stays with the agent."""

    at: datetime
    call_id: str
    agent_id: str
    target: str
    reason: str


@dataclass(frozen=True)
class AgentLeftCall:
    """The agent hung up a three-way call; caller and department talk on without them."""

    at: datetime
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class PhoneRegistered:
    at: datetime
    agent_id: str
    contact: str
    expires: int  # seconds; 0 means the phone unregistered
    source: tuple[str, int] | None = None  # where the REGISTER came from (its NAT mapping)


@dataclass(frozen=True)
class CallHeld:
    """A party put the call on hold (re-INVITE sendonly or inactive) or took it off again."""

    at: datetime
    call_id: str
    by: str  # the leg's role: caller | agent | department
    held: bool


@dataclass(frozen=True)
class DigitPressed:
    """The caller pressed a key (RFC 4733 telephone-event)."""

    at: datetime
    call_id: str
    digit: str


@dataclass(frozen=True)
class CallbackRequested:
    """The caller asked to be called back instead of waiting; the call then ends."""

    at: datetime
    call_id: str
    number: str


@dataclass(frozen=True)
class RecordingFinished:
    """A bridged call's stereo recording is complete on disk."""

    at: datetime
    call_id: str
    path: str
    duration_seconds: float


@dataclass(frozen=True)
class VoicemailLeft:
    """Nobody could answer; the caller left a message (a draft ticket is made of it)."""

    at: datetime
    call_id: str
    caller: str
    dialled: str
    queue: str
    reason: str  # nobody-on-duty | after-hours
    path: str
    duration_seconds: float


@dataclass(frozen=True)
class OutboundProgress:
    """A click-to-call (回拨) moved on: the agent's phone rings (calling-agent), the agent
    answered and the citizen is being called (calling-citizen), the citizen answered
    (connected)."""

    at: datetime
    dial_id: str
    agent_id: str
    stage: str  # calling-agent | calling-citizen | connected


@dataclass(frozen=True)
class OutboundEnded:
    """A click-to-call is over. `outcome`: talked (the citizen answered), agent-unreached
    (the agent's phone declined or did not answer: nobody was dialled out), citizen-unreached
    (busy, refused, no answer, unreachable), cancelled (the agent hung up first)."""

    at: datetime
    dial_id: str
    agent_id: str
    outcome: str
    reason: str  # citizen-hangup | agent-hangup | rejected-486 | no-answer | unreachable …
    rtp_from_citizen: int
    rtp_to_citizen: int


@dataclass(frozen=True)
class OutboundRecorded:
    """A click-to-call's stereo recording (citizen left, agent right) is on disk."""

    at: datetime
    dial_id: str
    path: str
    duration_seconds: float


OutboundEvent = OutboundProgress | OutboundEnded | OutboundRecorded


@dataclass(frozen=True)
class SurveyAnswered:
    """The post-call survey (好差评) is over: the caller pressed 1–3, or nothing in time
    (NO_ANSWER). A caller who hung up before either gives no event."""

    at: datetime
    call_id: str
    outcome: SurveyOutcome
    key: str | None  # the key pressed; None for NO_ANSWER
    via: str | None  # rfc4733 | info; None for NO_ANSWER


@dataclass(frozen=True)
class MonitorChanged:
    """A shift lead's phone on a live call: ringing, connected (or switched to another mode),
    or gone (`state` ended or failed, with `reason`)."""

    at: datetime
    call_id: str
    lead_id: str
    mode: str  # listen | whisper | barge
    state: str  # ringing | connected | ended | failed
    reason: str = ""


TelephonyEvent = (
    CallArrived
    | CallRefused
    | AgentAnswered
    | AgentLegFailed
    | CallEnded
    | PhoneRegistered
    | DigitPressed
    | CallbackRequested
    | RecordingFinished
    | VoicemailLeft
    | CallTransferred
    | TransferConsulting
    | TransferFailed
    | AgentLeftCall
    | CallHeld
    | OutboundProgress
    | OutboundEnded
    | OutboundRecorded
    | SurveyAnswered
    | MonitorChanged
)
