"""Click-to-call (回拨): the gateway calls the agent's phone, then the citizen through the trunk.

One outbound call is two UAC legs on one `HotlineCall`: the agent's leg first; once the agent
answers, the citizen's leg through the outbound proxy (answering a 401/407 once with the
trunk credentials). When the citizen answers the two legs are bridged and recorded (citizen
left, agent right), like an inbound call. Either side hanging up ends the other (the gateway's
BYE handling, through `HotlineCall.on_end`). The agent declining or not answering dials
nobody out; the citizen busy, refusing or not answering hangs up the agent's leg.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.privacy import mask_phone
from telephony import sdp, uac
from telephony.events import OutboundEnded, OutboundProgress, OutboundRecorded
from telephony.legs import HotlineCall, Leg
from telephony.recording import CallRecorder
from telephony.sip import SipRequest, SipResponse

if TYPE_CHECKING:
    from telephony.gateway import SipGateway

log = logging.getLogger(__name__)

CITIZEN_RING_SECONDS = 40.0
# G.711 A-law: what Chinese trunks carry; both legs use it so the bridge relays unchanged.
CODEC = sdp.PCMA


class OutboundError(Exception):
    """A click-to-call that cannot start; `error_id` is stable for the console."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class Origination:
    """What to dial: the agent's phone first, then `number` shown `caller_id` (the hotline)."""

    dial_id: str
    agent_id: str
    number: str
    caller_id: str


@dataclass
class _Progress:
    """How far one click-to-call got; decides its outcome when it ends."""

    order: Origination
    failure: str = ""  # why a leg failed: rejected-486, no-answer, unreachable …
    recorder: CallRecorder | None = None
    cancelled: bool = False  # stopped from the console


class OutboundCalls:
    """Click-to-call legs on behalf of one gateway."""

    def __init__(
        self,
        gateway: SipGateway,
        proxy: tuple[str, int] | None,
        credentials: tuple[str, str] | None = None,
        recordings_dir: Path | None = None,
    ) -> None:
        self._gw = gateway
        self._proxy = proxy
        self._credentials = credentials
        self._recordings = recordings_dir
        self._dials: dict[str, _Progress] = {}

    def start(self, order: Origination) -> None:
        """Ring the agent's phone; OutboundProgress and, in the end, OutboundEnded follow."""
        gw = self._gw
        if self._proxy is None:
            raise OutboundError("no-outbound-proxy", "no outbound proxy (trunk) is configured")
        if not order.number.isdigit():
            raise OutboundError("invalid-number", "the number to call must be digits")
        if order.dial_id in self._dials:
            raise OutboundError("dial-in-progress", "this call-back is being dialled already")
        bindings = gw.registrar.bindings(order.agent_id, asyncio.get_running_loop().time())
        if not bindings:
            raise OutboundError("no-phone", "坐席话机未注册，无法回拨")
        self._dials[order.dial_id] = _Progress(order)
        gw._tasks.spawn(
            self._call_agent(order, bindings[0].contact, bindings[0].source), name="dial-agent"
        )

    def active(self, dial_id: str) -> bool:
        return dial_id in self._dials

    def cancel(self, dial_id: str) -> bool:
        """The agent stops the dial: a ringing leg gets CANCEL, an answered one BYE."""
        progress = self._dials.get(dial_id)
        call = self._gw._calls.get(dial_id)
        if progress is None or call is None or call.ended:
            return False
        progress.cancelled = True
        self._gw._end_call(call, "agent-cancelled", None)
        return True

    async def _call_agent(self, order: Origination, contact: str, source: tuple[str, int]) -> None:

        gw = self._gw
        call = HotlineCall(order.dial_id, order.number, order.caller_id, "", CODEC)
        call.agent_id = order.agent_id
        call.on_end = self._ended
        try:
            media = await gw._media.open_leg(CODEC)
        except RuntimeError:
            self._dials[order.dial_id].failure = "no-media-port"
            self._ended(call, "no-media-port")
            return
        # The phone shows whom it is about to call: the citizen's number.
        dialog = uac.phone_dialog(gw, order.number, order.agent_id, contact, source, order.number)
        leg = Leg("agent", call, dialog, media)
        call.agent_leg = leg
        gw._calls[call.id] = call
        self._invite(leg, "hotline click-to-call", gw._ring_seconds)
        gw._emit(OutboundProgress(gw._clock(), call.id, order.agent_id, "calling-agent"))
        log.info("click-to-call: ringing the agent", extra={"dial": call.id})

    async def _call_citizen(self, call: HotlineCall) -> None:

        gw = self._gw
        assert self._proxy is not None
        progress = self._dials.get(call.id)
        if progress is None or call.ended:
            return
        order = progress.order
        try:
            media = await gw._media.open_leg(CODEC)
        except RuntimeError:
            progress.failure = "no-media-port"
            gw._end_call(call, "no-media-port", None)
            return
        if call.ended:
            gw._media.close_leg(media)
            return
        dialog = uac.proxy_dialog(gw, self._proxy, order.caller_id, order.number)
        # The citizen's side of the call: "caller" in the gateway's terms (hold, BYE).
        leg = Leg("caller", call, dialog, media)
        call.caller_leg = leg
        self._invite(leg, "hotline call-back", CITIZEN_RING_SECONDS)
        gw._emit(OutboundProgress(gw._clock(), call.id, order.agent_id, "calling-citizen"))
        log.info(
            "click-to-call: calling the citizen",
            extra={"dial": call.id, "number": mask_phone(order.number)},
        )

    # --- one UAC leg ------------------------------------------------------------------

    def _invite(self, leg: Leg, subject: str, ring_seconds: float) -> None:
        uac.offer(self._gw, leg, [CODEC])
        self._send_invite(leg, subject, None)
        loop = asyncio.get_running_loop()
        leg.handles.append(loop.call_later(ring_seconds, self._ring_timeout, leg))

    def _send_invite(self, leg: Leg, subject: str, answer: tuple[str, str] | None) -> None:
        gw = self._gw
        headers = []
        if leg.role == "caller":
            # The trunk shows the citizen the hotline's number.
            headers.append(("P-Asserted-Identity", f"<sip:{leg.call.dialled}@{gw._advertised}>"))
        if answer is not None:
            headers.append(answer)
        uac.send_invite(
            gw,
            leg,
            subject,
            lambda invite, response: self._on_response(leg, invite, response, subject),
            lambda: self._failed(leg, "unreachable"),
            headers,
        )

    def _ring_timeout(self, leg: Leg) -> None:
        if leg.answered or leg.ended or leg.invite is None:
            return
        uac.cancel(self._gw, leg, leg.invite)
        self._failed(leg, "no-answer")

    def _on_response(
        self, leg: Leg, invite: SipRequest, response: SipResponse, subject: str
    ) -> None:
        gw = self._gw
        if response.status < 200:
            return
        if response.status >= 300:
            uac.ack_failure(gw, leg, invite, response)
            if leg.invite is not invite or leg.ended:
                return  # a retransmitted final response to an INVITE already retried
            if leg.role == "caller":
                answer = uac.challenge_answer(self._credentials, invite, response)
                if answer is not None:
                    self._send_invite(leg, subject, answer)
                    return
            self._failed(leg, f"rejected-{response.status}")
            return
        if not uac.confirm(gw, leg, invite, response, phone=leg.role == "agent"):
            return  # a retransmitted 2xx, ACKed again
        call = leg.call
        if leg.ended or call.ended:
            gw._hang_up_leg(leg)  # the other side hung up while this one answered
            return
        if not uac.take_answer(leg, response):
            log.warning("click-to-call answered without usable SDP", extra={"dial": call.id})
        leg.answered = True
        leg.cancel_timers()
        if leg.role == "agent":
            gw._tasks.spawn(self._call_citizen(call), name="dial-citizen")
            return
        self._connected(call)

    def _connected(self, call: HotlineCall) -> None:
        gw = self._gw
        progress = self._dials.get(call.id)
        citizen, agent = call.caller_leg, call.agent_leg
        if progress is None or citizen is None or agent is None:
            return
        gw._media.bridge(citizen.media, agent.media)
        if self._recordings is not None:
            at = gw._clock()
            progress.recorder = CallRecorder(
                self._recordings / at.strftime("%Y-%m-%d") / f"{call.id}.wav"
            )
            gw._media.record(citizen.media, agent.media, progress.recorder)
        log.info("click-to-call connected", extra={"dial": call.id})
        gw._emit(OutboundProgress(gw._clock(), call.id, progress.order.agent_id, "connected"))

    def _failed(self, leg: Leg, reason: str) -> None:
        if leg.ended:
            return
        gw = self._gw
        progress = self._dials.get(leg.call.id)
        if progress is not None:
            progress.failure = reason
        gw._close_leg(leg)
        gw._end_call(leg.call, f"{'agent' if leg.role == 'agent' else 'citizen'}-{reason}", None)

    # --- the end ------------------------------------------------------------------------

    def _ended(self, call: HotlineCall, reason: str) -> None:
        """Every ending comes here (a failed leg, a BYE from either side, shutdown)."""
        gw = self._gw
        progress = self._dials.pop(call.id, None)
        if progress is None:
            return
        citizen, agent = call.caller_leg, call.agent_leg
        if citizen is not None and citizen.answered:
            outcome = "talked"
            reason = {"caller-hangup": "citizen-hangup"}.get(reason, reason)
        elif progress.cancelled:
            outcome, reason = "cancelled", "agent-cancelled"
        elif agent is None or not agent.answered:
            outcome = "agent-unreached"
        elif citizen is None or not progress.failure:
            outcome = "cancelled"  # the agent hung up before the citizen answered
        else:
            outcome = "citizen-unreached"
        received = citizen.media.received if citizen is not None else 0
        sent = citizen.media.sent if citizen is not None else 0
        log.info(
            "click-to-call ended", extra={"dial": call.id, "outcome": outcome, "reason": reason}
        )
        gw._emit(
            OutboundEnded(
                gw._clock(),
                call.id,
                progress.order.agent_id,
                outcome,
                progress.failure or reason,
                received,
                sent,
            )
        )
        if progress.recorder is not None:
            gw._tasks.spawn(self._finish_recording(call.id, progress.recorder), name="recording")

    async def _finish_recording(self, dial_id: str, recorder: CallRecorder) -> None:
        try:
            finished = await recorder.finish()
        except OSError:
            log.exception("click-to-call recording could not be written", extra={"dial": dial_id})
            return
        gw = self._gw
        gw._emit(
            OutboundRecorded(gw._clock(), dial_id, str(finished.path), finished.duration_seconds)
        )
