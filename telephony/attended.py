"""Attended transfer from agents' phones (RFC 5589 §7) and INVITE with Replaces (RFC 3891).

The agent's phone holds the caller, then calls a transfer target through the gateway: that
consultation is an INVITE from the phone (digest-authenticated as its agent) to a number of the
transfer directory, which the gateway places through the outbound proxy and bridges to the
phone. The phone then REFERs the caller's dialog with `Refer-To: <sip:target?Replaces=...>`
naming the consultation dialog: the gateway bridges the caller to the target, reports 200 in a
NOTIFY and hangs up both of the agent's dialogs.

An INVITE with Replaces naming one of the gateway's agent legs (a phone answering the REFER of
RFC 5589 §7.2 addressed to it, or an agent's other phone taking the call over) replaces that
leg: the new phone is bridged to the caller, the old leg gets BYE (or CANCEL while it rings).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from telephony import sdp, uac
from telephony.events import AgentAnswered, CallTransferred
from telephony.phone_auth import PhoneAuthenticator
from telephony.replaces import DialogState, ReferTarget, Replaces, refusal
from telephony.routeset import first_hop, uas_route_set
from telephony.sip import (
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    new_tag,
    response_for,
)

if TYPE_CHECKING:
    from telephony.gateway import HotlineCall, Leg, SipGateway

log = logging.getLogger(__name__)

Reply = Callable[[SipResponse], None]
CONSULT_RING_SECONDS = 30.0


class AttendedTransfers:
    """Consultation calls from phones, REFER with Replaces, and INVITE with Replaces."""

    def __init__(
        self,
        gateway: SipGateway,
        proxy: tuple[str, int] | None,
        targets: frozenset[str],
        auth: PhoneAuthenticator,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self._gw = gateway
        self._proxy = proxy
        self._targets = targets
        self._auth = auth
        self._credentials = credentials  # username, password for a 401/407 from upstream
        self._consults: dict[str, HotlineCall] = {}  # consultation call id → its call
        # A phone's consultation INVITE not answered yet, by its Call-ID.
        self._pending: dict[str, tuple[Leg, SipRequest, Reply]] = {}

    # --- which INVITEs are ours ----------------------------------------------------------

    def claims(self, request: SipRequest, from_phone: bool) -> bool:
        """A new INVITE with Replaces, or one from a registered phone to a transfer target (a
        consultation; the same number dialled by the trunk is a wrong number, not this)."""
        if request.headers.get("Replaces") is not None:
            return True
        if not from_phone:
            return False
        try:
            number = (request.request_uri.user or "").split(";", 1)[0]
        except SipParseError:
            return False
        return number in self._targets

    def handle(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        self._gw._tasks.spawn(self._handle(request, source, reply), name="phone-invite")

    async def _handle(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        agent = await self._auth.agent(request, source, reply)
        if agent is None:
            return
        replaces_value = request.headers.get("Replaces")
        if replaces_value is not None:
            try:
                replaces = Replaces.parse(replaces_value)
            except ValueError:
                reply(response_for(request, 400, "Bad Request - malformed Replaces"))
                return
            await self._replace(request, source, reply, agent, replaces)
            return
        await self._consult(request, source, reply, agent)

    # --- the consultation call ----------------------------------------------------------

    def _offer(
        self, request: SipRequest, reply: Reply
    ) -> tuple[sdp.SessionDescription, int] | None:
        try:
            offer = sdp.SessionDescription.parse(request.body)
        except ValueError:
            reply(response_for(request, 488, extra=[("Warning", '399 hotline "SDP offer needed"')]))
            return None
        codec = sdp.choose_codec(offer)
        if codec is None:
            reply(
                response_for(request, 488, extra=[("Warning", '305 hotline "PCMU or PCMA only"')])
            )
            return None
        return offer, codec

    async def _uas_leg(
        self,
        request: SipRequest,
        source: tuple[str, int],
        role: str,
        call: HotlineCall,
        offer: sdp.SessionDescription,
        codec: int,
    ) -> Leg | None:
        """A leg for the phone's INVITE, with our SDP answer ready (None: no RTP port)."""
        from telephony.gateway import Dialog, Leg

        gw = self._gw
        try:
            media = await gw._media.open_leg(codec)
        except RuntimeError:
            return None
        media.set_remote((offer.connection_address, offer.audio_port))
        local = NameAddr.parse(str(request.to))
        local.params["tag"] = new_tag()
        contact = request.headers.get("Contact")
        remote_target = str(NameAddr.parse(contact).uri) if contact else str(request.from_.uri)
        routes = uas_route_set(request)
        dialog = Dialog(
            sip_call_id=request.call_id,
            local=local,
            remote=request.from_,
            remote_target=remote_target,
            destination=first_hop(routes, gw._reach_phone(remote_target, source)),
            route_set=routes,
        )
        leg = Leg(role, call, dialog, media)
        answer = sdp.build_answer(
            offer, gw._advertised, media.port, codec, secrets.randbelow(2**31)
        )
        leg.local_sdp = bytes(answer)
        media.payload_type = answer.payload_types[0]
        gw._dialogs[(dialog.sip_call_id, local.tag or "")] = leg
        return leg

    def _answer(self, leg: Leg, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        """200 with our SDP, sent again until the phone's ACK (which _on_ack takes)."""
        gw = self._gw
        response = response_for(
            request,
            200,
            to_tag=leg.dialog.local.tag,
            extra=[("Contact", gw._contact(source)), ("Allow", "INVITE, ACK, CANCEL, BYE, REFER")],
            body=leg.local_sdp,
            content_type="application/sdp",
        )
        reply(response)
        leg.answered = True
        gw._awaiting_ack.add(leg)
        gw._retransmit_2xx(leg, bytes(response), gw._transport.reply_address(request, source))

    def _agents_call(self, agent: str) -> HotlineCall | None:
        for call in self._gw._calls.values():
            leg = call.agent_leg
            if call.agent_id == agent and leg is not None and leg.answered and not leg.ended:
                return call
        return None

    async def _consult(
        self, request: SipRequest, source: tuple[str, int], reply: Reply, agent: str
    ) -> None:
        from telephony.gateway import HotlineCall

        gw = self._gw
        number = (request.request_uri.user or "").split(";", 1)[0]
        on_call = self._agents_call(agent)
        if on_call is None:
            reply(response_for(request, 403, "Forbidden - consult while on a hotline call"))
            return
        if self._proxy is None:
            reply(response_for(request, 503, "No outbound proxy"))
            return
        negotiated = self._offer(request, reply)
        if negotiated is None:
            return
        offer, codec = negotiated
        reply(response_for(request, 100))
        consult = HotlineCall(str(uuid.uuid4()), agent, number, "", codec)
        consult.agent_id = agent
        consult.on_end = self._consult_ended
        phone_leg = await self._uas_leg(request, source, "caller", consult, offer, codec)
        if phone_leg is None:
            reply(response_for(request, 503, extra=[("Retry-After", "5")]))
            return
        consult.caller_leg = phone_leg
        gw._calls[consult.id] = consult
        self._consults[consult.id] = consult
        self._pending[request.call_id] = (phone_leg, request, reply)
        try:
            target_media = await gw._media.open_leg(codec)
        except RuntimeError:
            self._refuse(phone_leg, 503)
            return
        self._invite_target(consult, on_call, number, target_media, request, source)

    def _invite_target(
        self,
        consult: HotlineCall,
        on_call: HotlineCall,
        number: str,
        media: object,
        phone_invite: SipRequest,
        phone_source: tuple[str, int],
    ) -> None:
        from telephony.gateway import Leg
        from telephony.media import RtpLeg

        assert isinstance(media, RtpLeg) and self._proxy is not None
        gw = self._gw
        dialog = uac.proxy_dialog(gw, self._proxy, on_call.dialled, number)
        leg = Leg("department", consult, dialog, media)
        leg.target, leg.mode = number, "attended"
        consult.agent_leg = leg
        uac.offer(gw, leg, [consult.codec])
        subject = f"{on_call.dialled} hotline consultation"
        self._send_target_invite(leg, subject, phone_invite, phone_source, None)
        loop = asyncio.get_running_loop()
        leg.handles.append(loop.call_later(CONSULT_RING_SECONDS, self._ring_timeout, leg))
        log.info("consultation", extra={"call": on_call.id, "agent": consult.caller})

    def _send_target_invite(
        self,
        leg: Leg,
        subject: str,
        phone_invite: SipRequest,
        phone_source: tuple[str, int],
        answer: tuple[str, str] | None,
    ) -> None:
        """The consultation INVITE to the target, with `answer` to a proxy's challenge."""
        uac.send_invite(
            self._gw,
            leg,
            subject,
            lambda invite, response: self._on_target_response(
                leg, invite, response, phone_invite, phone_source
            ),
            lambda: self._target_failed(leg, 408),
            [answer] if answer is not None else [],
        )

    def _ring_timeout(self, leg: Leg) -> None:
        if leg.answered or leg.ended or leg.invite is None:
            return
        uac.cancel(self._gw, leg, leg.invite)
        self._target_failed(leg, 408)

    def _on_target_response(
        self,
        leg: Leg,
        invite: SipRequest,
        response: SipResponse,
        phone_invite: SipRequest,
        phone_source: tuple[str, int],
    ) -> None:
        gw = self._gw
        consult = leg.call
        phone_leg = consult.caller_leg
        if response.status < 200:
            if response.status in (180, 183) and phone_leg is not None and not phone_leg.answered:
                pending = self._pending.get(phone_leg.dialog.sip_call_id)
                if pending is not None:
                    pending[2](response_for(phone_invite, 180, to_tag=phone_leg.dialog.local.tag))
            return
        if response.status >= 300:
            uac.ack_failure(gw, leg, invite, response)
            if leg.invite is not invite or leg.ended:
                return  # a retransmitted final response to an INVITE already retried
            answer = uac.challenge_answer(self._credentials, invite, response)
            if answer is not None:
                # The same offer again, in the same dialog, with a new CSeq and branch.
                subject = invite.headers.get("Subject") or ""
                self._send_target_invite(leg, subject, phone_invite, phone_source, answer)
                return
            self._target_failed(leg, response.status)
            return
        if not uac.confirm(gw, leg, invite, response):
            return  # a retransmitted 2xx, ACKed again
        if leg.ended or consult.ended or phone_leg is None or phone_leg.ended:
            gw._hang_up_leg(leg)
            return
        if not uac.take_answer(leg, response):
            log.warning("consulted target answered without usable SDP")
        leg.answered = True
        leg.cancel_timers()
        gw._media.bridge(phone_leg.media, leg.media)
        pending = self._pending.pop(phone_leg.dialog.sip_call_id, None)
        if pending is not None:
            self._answer(phone_leg, phone_invite, phone_source, pending[2])

    def _refuse(self, phone_leg: Leg, status: int) -> None:
        """The consultation failed before it was answered: the phone hears why."""
        pending = self._pending.pop(phone_leg.dialog.sip_call_id, None)
        consult = phone_leg.call
        consult.caller_leg = None  # answered by the final response, no BYE to send
        if pending is not None:
            _, request, reply = pending
            reply(response_for(request, status, to_tag=phone_leg.dialog.local.tag))
        self._gw._close_leg(phone_leg)
        self._gw._end_call(consult, "consult-failed", None)

    def _target_failed(self, leg: Leg, status: int) -> None:
        if leg.ended:
            return
        consult = leg.call
        self._gw._close_leg(leg)
        consult.agent_leg = None
        phone_leg = consult.caller_leg
        if phone_leg is not None and not phone_leg.answered and not phone_leg.ended:
            self._refuse(phone_leg, status)
        elif not consult.ended:
            self._gw._end_call(consult, "department-hangup", None)

    def cancelled(self, call_id: str) -> bool:
        """The phone CANCELled its consultation INVITE: stop ringing the target."""
        pending = self._pending.get(call_id)
        if pending is None:
            return False
        phone_leg = pending[0]
        target = phone_leg.call.agent_leg
        if target is not None and not target.answered and target.invite is not None:
            uac.cancel(self._gw, target, target.invite)
            self._gw._close_leg(target)
            phone_leg.call.agent_leg = None
        self._refuse(phone_leg, 487)
        return True

    def _consult_ended(self, call: HotlineCall, reason: str) -> None:
        self._consults.pop(call.id, None)

    # --- REFER with Replaces: the gateway is the transferee ------------------------------

    def refer(self, leg: Leg, request: SipRequest, target: ReferTarget, reply: Reply) -> None:
        """The agent's phone REFERs its leg `leg` to the consultation named in Replaces."""
        from telephony.refer import REFUSALS

        gw = self._gw
        replaces = target.replaces
        assert replaces is not None
        consulted = gw._dialogs.get((replaces.call_id, replaces.to_tag))
        call = leg.call
        if call.department_leg is not None:
            reply(response_for(request, REFUSALS["transfer-in-progress"], "Transfer in progress"))
            return
        reply(response_for(request, 202))
        consult = consulted.call if consulted is not None else None
        target_leg = consult.agent_leg if consult is not None else None
        if (
            consulted is None
            or consult is None
            or consult.id not in self._consults
            or consulted is not consult.caller_leg
            or consulted.dialog.remote.tag != replaces.from_tag
            or consult.agent_id != call.agent_id
        ):
            gw.refers.notify(leg, 481, final=True)  # what the target would answer (RFC 3891)
            return
        if consulted.ended or target_leg is None or target_leg.ended:
            gw.refers.notify(leg, 603, final=True)
            return
        if not target_leg.answered:
            gw.refers.notify(leg, 487, final=True)  # still ringing: nothing to hand over
            return
        # The target leaves the consultation for the hotline call, in the agent's place.
        consult.agent_leg = None
        target_leg.call = call
        call.agent_leg = target_leg
        caller_leg = call.caller_leg
        if caller_leg is not None:
            gw._media.bridge(caller_leg.media, target_leg.media)
        gw.refers.notify(leg, 200, final=True)  # before the BYEs, as phones expect
        gw.session_timers.stop(leg)
        gw._hang_up_leg(leg)
        gw._end_call(consult, "transferred", None)
        agent_id = call.agent_id or ""
        log.info(
            "attended transfer",
            extra={"call": call.id, "agent": agent_id, "target": target_leg.target},
        )
        gw._emit(CallTransferred(gw._clock(), call.id, agent_id, target_leg.target, "attended"))

    # --- INVITE with Replaces: the gateway is the target ---------------------------------

    def _state(self, replaces: Replaces) -> tuple[DialogState, Leg | None]:
        leg = self._gw._dialogs.get((replaces.call_id, replaces.to_tag))
        if leg is None or leg.dialog.remote.tag != replaces.from_tag:
            # A UAC leg's remote tag is only known once answered: a ringing leg of ours is
            # named by the tag it will get, which no phone could know; it matches by ours.
            if leg is None or leg.answered or leg.role == "caller":
                return DialogState.UNKNOWN, None
        if leg.ended or leg.call.ended:
            return DialogState.TERMINATED, leg
        if leg.answered:
            return DialogState.CONFIRMED, leg
        if leg.role == "caller":
            return DialogState.EARLY_THEIRS, leg
        return DialogState.EARLY_OURS, leg

    async def _replace(
        self,
        request: SipRequest,
        source: tuple[str, int],
        reply: Reply,
        agent: str,
        replaces: Replaces,
    ) -> None:
        gw = self._gw
        state, old = self._state(replaces)
        status = refusal(replaces, state)
        if status is not None or old is None:
            reply(response_for(request, status or 481))
            return
        call = old.call
        if old is not call.agent_leg or call.id in self._consults:
            reply(response_for(request, 403, "Forbidden - only an agent's leg is replaced"))
            return
        if state is DialogState.EARLY_OURS and agent != call.agent_id:
            reply(response_for(request, 403, "Forbidden - ringing for another agent"))
            return
        negotiated = self._offer(request, reply)
        if negotiated is None:
            return
        offer, codec = negotiated
        leg = await self._uas_leg(request, source, "agent", call, offer, codec)
        if leg is None:
            reply(response_for(request, 503, extra=[("Retry-After", "5")]))
            return
        if old.ended or call.ended:
            gw._close_leg(leg)
            reply(response_for(request, 603))
            return
        previous = call.agent_id or ""
        call.agent_leg = leg
        call.agent_id = agent
        self._answer(leg, request, source, reply)
        if call.caller_leg is not None:
            gw._media.bridge(call.caller_leg.media, leg.media)
        if old.answered:
            gw.session_timers.stop(old)
            gw._hang_up_leg(old)
        else:
            gw._cancel_ringing(old)
        log.info("leg replaced", extra={"call": call.id, "agent": agent})
        if state is DialogState.EARLY_OURS:
            gw._emit(AgentAnswered(gw._clock(), call.id, agent))
        elif agent != previous:
            gw._emit(CallTransferred(gw._clock(), call.id, previous, agent, "attended"))
