"""Ringing the agent's phone for a queued call: the INVITE to its registered contact, the ring
timeout, and what the phone's answer means: bridged to the caller (AgentAnswered), or
AgentLegFailed with why (not registered, no media port, no answer, rejected, unreachable),
after which routing offers the call again.

Under a media relay (rtpengine) the phone gets the relay's address in the offer and its
answer goes to the relay, which records the call as the embedded engine would.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telephony import uac
from telephony.events import AgentAnswered, AgentLegFailed
from telephony.legs import HotlineCall, Leg
from telephony.media_relay import MediaRelayError
from telephony.sip import SipRequest, SipResponse

if TYPE_CHECKING:
    from telephony.gateway import SipGateway

log = logging.getLogger(__name__)


class AgentRinging:
    """The agent leg of inbound calls (the gateway's `ring_agent`)."""

    def __init__(self, gateway: SipGateway) -> None:
        self._gw = gateway

    def ring(self, call_id: str, agent_id: str) -> None:
        """Call the agent's phone for a queued call; AgentAnswered or AgentLegFailed follows."""
        gw = self._gw
        call = gw._calls.get(call_id)
        loop = asyncio.get_running_loop()
        if call is None or call.ended:
            return
        bindings = gw.registrar.bindings(agent_id, loop.time())
        if not bindings:
            loop.call_soon(
                gw._emit, AgentLegFailed(gw._clock(), call_id, agent_id, "not-registered")
            )
            return
        call.agent_id = agent_id
        gw._tasks.spawn(
            self._invite(call, agent_id, bindings[0].contact, bindings[0].source),
            name="invite-agent",
        )

    async def _invite(
        self, call: HotlineCall, agent_id: str, contact: str, source: tuple[str, int]
    ) -> None:
        gw = self._gw
        try:
            media = await gw._media.open_leg(call.codec)
        except RuntimeError:
            gw._emit(AgentLegFailed(gw._clock(), call.id, agent_id, "no-media-port"))
            return
        if call.ended:
            gw._media.close_leg(media)
            return
        # The phone's display shows who is calling: the citizen's number, not the gateway.
        dialog = uac.phone_dialog(gw, call.caller, agent_id, contact, source, call.caller)
        leg = Leg("agent", call, dialog, media)
        call.agent_leg = leg
        uac.offer(gw, leg, [call.codec])
        if not gw._relay.direct:
            try:
                leg.local_sdp = await gw._relay.agent_offer(call.id, leg.local_sdp)
            except MediaRelayError as exc:
                log.error("media relay refused the agent leg", extra={"error": str(exc)})
                gw._close_leg(leg)
                gw._emit(AgentLegFailed(gw._clock(), call.id, agent_id, "no-media-relay"))
                return
            if call.ended:
                gw._close_leg(leg)
                return
        request = uac.send_invite(
            gw,
            leg,
            f"{call.dialled} hotline call",
            lambda invite, response: self._on_response(leg, invite, response),
            lambda: self.failed(leg, "unreachable"),
        )
        loop = asyncio.get_running_loop()
        leg.handles.append(loop.call_later(gw._ring_seconds, self._ring_timeout, leg, request))

    def _ring_timeout(self, leg: Leg, invite: SipRequest) -> None:
        if leg.answered or leg.ended:
            return
        uac.cancel(self._gw, leg, invite)
        self.failed(leg, "no-answer")

    def _on_response(self, leg: Leg, invite: SipRequest, response: SipResponse) -> None:
        gw = self._gw
        if response.status < 200:
            return
        if response.status >= 300:
            uac.ack_failure(gw, leg, invite, response)
            if not leg.ended:
                self.failed(leg, f"rejected-{response.status}")
            return
        if not uac.confirm(gw, leg, invite, response, phone=True):
            return  # a retransmitted 2xx, ACKed again
        if leg.ended or leg.call.ended:
            # The caller hung up while the phone was being answered.
            gw._hang_up_leg(leg)
            return
        if not uac.take_answer(leg, response):
            log.warning("agent phone answered without usable SDP", extra={"call": leg.call.id})
        leg.answered = True
        leg.cancel_timers()
        caller_leg = leg.call.caller_leg
        if not gw._relay.direct:
            leg.media.remote = None  # its RTP goes to the relay; the embedded leg stays silent
            record = None
            if leg.call.media is not None:  # the relay records it, as the engine would
                record = leg.call.media.recording_path(gw._clock())
                leg.call.media.relayed_recording = record
            gw._tasks.spawn(
                self._relay_answer(leg, response.body, record is not None), name="relay-answer"
            )
        if caller_leg is not None:
            gw._media.bridge(caller_leg.media, leg.media)
            if leg.call.media is not None and gw._relay.direct:
                leg.call.media.bridged(gw._media, caller_leg.media, leg.media, gw._clock())
        agent_id = leg.call.agent_id or ""
        log.info("agent answered; legs bridged", extra={"call": leg.call.id, "agent": agent_id})
        gw._emit(AgentAnswered(gw._clock(), leg.call.id, agent_id))

    async def _relay_answer(self, leg: Leg, agent_sdp: bytes, record: bool) -> None:
        try:
            await self._gw._relay.agent_answer(leg.call.id, agent_sdp, record)
        except MediaRelayError as exc:
            log.error("media relay refused the agent's answer", extra={"error": str(exc)[:200]})
            self._gw._end_call(leg.call, "media-relay", None)

    def failed(self, leg: Leg, reason: str) -> None:
        """The agent leg is over before it bridged: closed, and routing hears why."""
        if leg.ended:
            return
        gw = self._gw
        call = leg.call
        gw._close_leg(leg)
        if call.agent_leg is leg:
            call.agent_leg = None
        agent_id = call.agent_id or ""
        call.agent_id = None
        if call.ended:
            return
        log.info("agent leg failed", extra={"call": call.id, "agent": agent_id, "reason": reason})
        gw._emit(AgentLegFailed(gw._clock(), call.id, agent_id, reason))
