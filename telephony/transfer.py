"""Blind, three-way and consulted transfers: the gateway calls a department out through the
proxy.

Blind: once the target answers, the caller is bridged to it and the agent's leg is hung up.
Three-way: once the target answers, caller, agent and target are mixed (telephony/conference.py).
Attended (consulted): the caller hears music on hold while the target rings; once it answers
the agent talks with it, then completes or cancels (telephony/consultation.py).
If the target does not answer, nothing changes for caller and agent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telephony import media_home, uac
from telephony.events import AgentLeftCall, CallTransferred, TransferFailed
from telephony.legs import HotlineCall, Leg
from telephony.sip import SipRequest, SipResponse

if TYPE_CHECKING:
    from telephony.gateway import SipGateway

log = logging.getLogger(__name__)

MODES = ("blind", "three_way", "attended")
TARGET_RING_SECONDS = 30.0


class TransferError(Exception):
    """A transfer that cannot start; `error_id` is stable for the console."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


class Transfers:
    """Outgoing calls to transfer targets on behalf of one gateway."""

    def __init__(
        self,
        gateway: SipGateway,
        proxy: tuple[str, int] | None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self._gw = gateway
        self._proxy = proxy
        self._credentials = credentials  # username, password for a 401/407 from upstream

    def start(self, call_id: str, number: str, mode: str) -> None:
        """Call `number` for a connected call; CallTransferred or TransferFailed follows."""
        gw = self._gw
        if mode not in MODES:
            raise TransferError("invalid-mode", "mode must be blind, three_way or attended")
        if not number.isdigit():
            raise TransferError("unknown-target", "the target must be a number")
        call = gw._calls.get(call_id)
        if call is None or call.ended:
            raise TransferError("unknown-call", f"no call {call_id}")
        agent_leg = call.agent_leg
        if agent_leg is None or not agent_leg.answered or agent_leg.ended:
            raise TransferError("not-connected", "the call is not connected to an agent")
        if call.department_leg is not None:
            raise TransferError("transfer-in-progress", "the call is already being transferred")
        if self._proxy is None:
            raise TransferError("no-outbound-proxy", "no outbound proxy is configured")
        gw._tasks.spawn(self._invite_target(call, number, mode), name="invite-target")

    async def _invite_target(self, call: HotlineCall, number: str, mode: str) -> None:

        gw = self._gw
        assert self._proxy is not None
        # The agent stays on the call: under rtpengine its phone's audio must come here first.
        if mode != "blind" and not await media_home.bring_home(gw, call):
            self._failed(call, number, "media-relay", None)
            return
        try:
            media = await gw._media.open_leg(call.codec)
        except RuntimeError:
            self._failed(call, number, "no-media-port", None)
            return
        dialog = uac.proxy_dialog(gw, self._proxy, call.caller, number, display=call.caller)
        leg = Leg("department", call, dialog, media)
        leg.target = number
        leg.mode = mode
        call.department_leg = leg
        if mode == "attended":
            from telephony import consultation

            consultation.hold_caller(gw, call)
        uac.offer(gw, leg, [call.codec])
        self._send_invite(leg, None)
        loop = asyncio.get_running_loop()
        leg.handles.append(loop.call_later(TARGET_RING_SECONDS, self._ring_timeout, leg))
        log.info("calling transfer target", extra={"call": call.id, "target": number})

    def _send_invite(self, leg: Leg, answer: tuple[str, str] | None) -> None:
        uac.send_invite(
            self._gw,
            leg,
            f"{leg.call.dialled} hotline transfer",
            lambda invite, response: self._on_response(leg, invite, response),
            lambda: self._failed(leg.call, leg.target, "unreachable", leg),
            [answer] if answer is not None else [],
        )

    def _ring_timeout(self, leg: Leg) -> None:
        if leg.answered or leg.ended or leg.invite is None:
            return
        uac.cancel(self._gw, leg, leg.invite)
        self._failed(leg.call, leg.target, "no-answer", leg)

    def _on_response(self, leg: Leg, invite: SipRequest, response: SipResponse) -> None:
        gw = self._gw
        if response.status < 200:
            return
        if response.status >= 300:
            uac.ack_failure(gw, leg, invite, response)
            if leg.invite is not invite or leg.ended:
                return  # a retransmitted final response to an INVITE already retried
            answer = uac.challenge_answer(self._credentials, invite, response)
            if answer is not None:
                self._send_invite(leg, answer)
                return
            self._failed(leg.call, leg.target, f"rejected-{response.status}", leg)
            return
        if not uac.confirm(gw, leg, invite, response):
            return  # a retransmitted 2xx, ACKed again
        call = leg.call
        agent_leg = call.agent_leg
        agent_gone = agent_leg is None or agent_leg.ended
        if leg.ended or call.ended or (agent_gone and leg.mode != "blind"):
            gw._hang_up_leg(leg)
            if call.department_leg is leg:
                call.department_leg = None
            return
        if not uac.take_answer(leg, response):
            log.warning("transfer target answered without usable SDP", extra={"call": call.id})
        leg.answered = True
        leg.cancel_timers()
        if leg.mode == "attended":
            from telephony import consultation

            consultation.consulted(gw, leg)
            return
        agent_id = call.agent_id or ""
        caller_leg = call.caller_leg
        gw.refers.finished(call.id, 200)  # before the BYE, as the phone expects
        if leg.mode == "blind":
            # The department takes the agent's place on the call.
            call.agent_leg = leg
            call.department_leg = None
            if agent_leg is not None and not agent_leg.ended:
                gw._hang_up_leg(agent_leg)
            if caller_leg is not None:
                gw._media.bridge(caller_leg.media, leg.media)
                if not gw._relay.direct:  # the caller's audio is at rtpengine, with the phone
                    gw._tasks.spawn(media_home.take_back(gw, call), name="relay-take-back")
        elif caller_leg is not None and agent_leg is not None:
            gw._media.conference([caller_leg.media, agent_leg.media, leg.media])
        log.info(
            "transfer target answered",
            extra={"call": call.id, "target": leg.target, "mode": leg.mode},
        )
        gw._emit(CallTransferred(gw._clock(), call.id, agent_id, leg.target, leg.mode))

    def _failed(self, call: HotlineCall, number: str, reason: str, leg: Leg | None) -> None:
        gw = self._gw
        if leg is not None:
            if leg.ended:
                return
            gw._close_leg(leg)
        if call.department_leg is leg:
            call.department_leg = None
        if call.ended:
            return
        if leg is not None and leg.mode == "attended":
            from telephony import consultation

            consultation.back_to_caller(gw, call)
        from telephony.refer import status_of

        gw.refers.finished(call.id, status_of(reason))
        log.info("transfer failed", extra={"call": call.id, "target": number, "reason": reason})
        gw._emit(TransferFailed(gw._clock(), call.id, call.agent_id or "", number, reason))
        if call.agent_leg is None:
            # The agent hung up after asking for the transfer: nobody is left for the caller.
            gw._end_call(call, "transfer-failed", None)

    def party_left(self, leg: Leg) -> bool:
        """A party of a three-way call hung up: the other two stay bridged. False if `leg`
        was not one of three live parties (its BYE then ends the call as usual)."""
        gw = self._gw
        call = leg.call
        from telephony import consultation

        if consultation.target_left(gw, leg):
            return True
        ringing = call.department_leg
        if (
            leg is call.agent_leg
            and ringing is not None
            and ringing.mode == "blind"
            and not ringing.answered
            and not ringing.ended
        ):
            # Phones often hang up right after their REFER is accepted: the caller waits on
            # the prompt while the department rings, and the agent is free.
            gw._close_leg(leg)
            call.agent_leg = None
            if call.caller_leg is not None:
                gw._media.play_prompt(call.caller_leg.media)
            gw._emit(AgentLeftCall(gw._clock(), call.id, call.agent_id or ""))
            return True
        parties = [
            party
            for party in (call.caller_leg, call.agent_leg, call.department_leg)
            if party is not None and party.answered and not party.ended
        ]
        if call.department_leg is None or len(parties) < 3 or leg not in parties:
            return False
        gw._close_leg(leg)  # leaves the mix
        first, second = (party for party in parties if party is not leg)
        gw._media.bridge(first.media, second.media)
        agent_id = call.agent_id or ""
        if leg is call.department_leg:
            call.department_leg = None
        elif leg is call.agent_leg:
            # The department takes the agent's place; the agent is free for the next call.
            call.agent_leg, call.department_leg = call.department_leg, None
            gw._emit(AgentLeftCall(gw._clock(), call.id, agent_id))
        log.info("party left a three-way call", extra={"call": call.id, "party": leg.role})
        return True
