"""The SIP gateway: a back-to-back user agent between the trunk and the agents' phones.

A caller's INVITE is answered at once and hears the greeting while queued; when routing picks
an agent, `ring_agent` calls the agent's registered phone and, once it answers, the two RTP
legs are bridged. A BYE on either side ends both.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from hotline.privacy import mask_phone
from hotline.tasks import BackgroundTasks
from telephony import call_control, consultation, hold, sdp, session_timer, uac
from telephony.admission import Admission
from telephony.agent_leg import AgentRinging
from telephony.attended import AttendedTransfers
from telephony.busy import refuse_busy
from telephony.caller_media import CallerMedia, CallerMediaOptions
from telephony.dtmf import digit_from_info
from telephony.endpoint import SipEndpoint
from telephony.events import (
    CallArrived,
    CallbackRequested,
    CallEnded,
    CallHeld,
    CallRefused,
    DigitPressed,
    RecordingFinished,
    TelephonyEvent,
    VoicemailLeft,
)
from telephony.guard import SipGuard
from telephony.legs import Dialog, HotlineCall, Leg
from telephony.lockout import RegisterLockout
from telephony.media import MediaEngine
from telephony.media_relay import DirectMedia, MediaRelay, MediaRelayError
from telephony.monitor import Supervisions
from telephony.outbound import Origination, OutboundCalls
from telephony.phone_auth import PhoneAuthenticator
from telephony.refer import ReferHandler
from telephony.registrar import Registrar
from telephony.registration import RegistrationHandler
from telephony.routeset import first_hop, request_target, uas_route_set
from telephony.screening import screen
from telephony.sip import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    new_branch,
    new_tag,
    response_for,
    stamp_top_via,
)
from telephony.survey import PostCallSurveys, SurveyOptions
from telephony.transactions import ClientTransactions, ServerTransactions, server_key
from telephony.transfer import Transfers
from telephony.trunk_binding import TrunkBinding, TrunkStatus
from telephony.uac import USER_AGENT
from telephony.upstream import UpstreamRegistration, UpstreamTrunk

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, REFER, UPDATE, INFO"
ALLOWED_METHODS = frozenset(method.strip() for method in ALLOW.split(","))
KNOWN_METHODS = {
    "INVITE",
    "ACK",
    "CANCEL",
    "BYE",
    "OPTIONS",
    "REGISTER",
    "SUBSCRIBE",
    "NOTIFY",
    "MESSAGE",
    "INFO",
    "PRACK",
    "UPDATE",
    "REFER",
    "PUBLISH",
}
CODEC_NAMES = {sdp.PCMU: "PCMU", sdp.PCMA: "PCMA"}

EventSink = Callable[[TelephonyEvent], None]
CredentialLookup = Callable[[str], Awaitable[str | None]]
Clock = Callable[[], datetime]
# RFC 3261 §20.43: 305 Incompatible media format. Media addresses are IP literals only: a host
# name would have to be resolved, and never on the event loop that carries every call.
_BAD_ADDRESS_WARNING = (
    "Warning",
    '305 hotline "Incompatible media format: c= is not an IP address"',
)
# Answered calls at once whose ACK has not come: a trunk's round trip leaves a handful.
DEFAULT_MAX_UNACKNOWLEDGED = 100
# Priority header values (RFC 3261 §20.26) that put a caller ahead of others.
URGENT_PRIORITIES = frozenset({"emergency", "urgent"})


def _bridged(call: HotlineCall) -> bool:
    """The caller talks to someone (an agent or a department), not to the queue."""
    return any(leg is not None and leg.answered for leg in (call.agent_leg, call.department_leg))


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _target_address(uri_text: str, fallback: tuple[str, int]) -> tuple[str, int]:
    """Where to send a request for a Contact URI; the source address if it names a host."""
    try:
        uri = SipUri.parse(uri_text)
    except SipParseError:
        return fallback
    if not _ip_literal(uri.host):
        return fallback
    return (uri.host.strip("[]"), uri.port or 5060)


def _phone_address(contact: str, source: tuple[str, int]) -> tuple[str, int]:
    """Where to reach a registered phone: its Contact when that names the host it registered
    from, else where its REGISTER came from. A phone behind NAT puts its private address in
    the Contact, which is unreachable; its REGISTER's source is the NAT's mapping, kept open
    by its refreshes (what Kamailio's nathelper does with fix_nated_register)."""
    target = _target_address(contact, source)
    return target if target[0] == source[0] else source


def _user_of(name_addr: NameAddr) -> str:
    return name_addr.uri.user or ""


def _caller_of(request: SipRequest) -> str:
    """The caller's number: P-Asserted-Identity (the trunk vouches for it), else From."""
    caller = _user_of(request.from_) or "anonymous"
    identity = request.headers.get("P-Asserted-Identity")
    if identity:
        try:
            caller = _user_of(NameAddr.parse(identity)) or caller
        except SipParseError:
            pass
    return caller


class SipGateway:
    """Answers trunk calls, registers agent phones, bridges callers to agents."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        advertised_host: str,
        realm: str,
        nonce_secret: bytes,
        is_trunk_peer: Callable[[str], bool],
        hotlines: Mapping[str, str],
        credentials: CredentialLookup,
        media: MediaEngine,
        on_event: EventSink,
        clock: Clock,
        agent_ring_seconds: float,
        caller_media: CallerMediaOptions | None = None,
        outbound_proxy: tuple[str, int] | None = None,
        transfer_numbers: Iterable[str] = (),
        outbound_credentials: tuple[str, str] | None = None,
        upstream: UpstreamTrunk | None = None,
        guard: SipGuard | None = None,
        registrar: Registrar | None = None,
        lockout: RegisterLockout | None = None,
        max_unacknowledged: int = DEFAULT_MAX_UNACKNOWLEDGED,
        survey: SurveyOptions | None = None,
        relay: MediaRelay | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._advertised = advertised_host or host
        self._is_trunk_peer = is_trunk_peer
        self._hotlines = dict(hotlines)
        self._media = media
        self._relay: MediaRelay = relay if relay is not None else DirectMedia()
        self._emit = on_event
        self._clock = clock
        self._ring_seconds = agent_ring_seconds
        self._caller_media = caller_media or CallerMediaOptions()
        self._transport = SipEndpoint(self._on_request, self._on_response, guard=guard)
        self._servers = ServerTransactions(self._transport.send, reliable=self._transport.reliable)
        self._clients = ClientTransactions(self._transport.send, self._transport.reliable)
        self._tasks = BackgroundTasks()
        self.registrar = registrar if registrar is not None else Registrar()
        self._registrations = RegistrationHandler(
            registrar=self.registrar,
            realm=realm,
            nonce_secret=nonce_secret,
            credentials=credentials,
            on_event=on_event,
            clock=clock,
            tasks=self._tasks,
            lockout=lockout,
        )
        self._calls: dict[str, HotlineCall] = {}
        self._dialogs: dict[tuple[str, str], Leg] = {}  # (Call-ID, our tag) → leg
        self._accepting = True
        # Answers sent (or about to be) that no ACK has confirmed yet; past the cap new calls
        # get 503, so that INVITEs never ACKed cannot take every RTP port.
        self._max_unacknowledged = max_unacknowledged
        self._answering = 0
        self._awaiting_ack: set[Leg] = set()
        self._stopping = False
        self._call_ended = asyncio.Event()
        self.transfers = Transfers(self, outbound_proxy, outbound_credentials)
        self.outbound = OutboundCalls(
            self, outbound_proxy, outbound_credentials, self._caller_media.recordings_dir
        )
        self.refers = ReferHandler(self, frozenset(transfer_numbers))
        self.attended = AttendedTransfers(
            self,
            outbound_proxy,
            frozenset(transfer_numbers),
            PhoneAuthenticator(realm, nonce_secret, credentials, lockout),
            outbound_credentials,
        )
        self.session_timers = session_timer.SessionTimers(self)
        self.surveys = PostCallSurveys(self, survey or SurveyOptions())
        self.supervisions = Supervisions(self)
        self.agent_legs = AgentRinging(self)
        self.trunk: list[UpstreamRegistration] = []  # our numbers registered upstream
        if upstream is not None:
            self.trunk = [
                UpstreamRegistration(
                    TrunkBinding(account), upstream.registrar, self._clients, USER_AGENT
                )
                for account in upstream.accounts
            ]

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._transport.running

    @property
    def address(self) -> tuple[str, int]:
        return self._transport.address

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    def trunk_status(self) -> list[TrunkStatus]:
        """How each trunk number's registration upstream stands."""
        return [registration.status() for registration in self.trunk]

    async def start(self) -> None:
        await self._transport.listen(self._host, self._port)
        self._port = self._transport.address[1]
        log.info("sip gateway listening", extra={"host": self._host, "port": self._port})
        for registration in self.trunk:
            registration.start(self._advertised, self._port)

    async def stop(self, drain_seconds: float = 0.0) -> None:
        """New calls get 503; bridged calls go on for up to `drain_seconds`, then get BYE."""
        if self._stopping:
            return
        self._stopping = True
        self._accepting = False
        # Unregistered first, the upstream sends new calls elsewhere while ours drain.
        await asyncio.gather(*(registration.stop() for registration in self.trunk))
        for call in list(self._calls.values()):
            if not _bridged(call):
                self._end_call(call, "shutdown", None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_seconds
        while any(_bridged(call) for call in self._calls.values()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._call_ended.clear()
            try:
                await asyncio.wait_for(self._call_ended.wait(), remaining)
            except TimeoutError:
                break
        for call in list(self._calls.values()):
            self._end_call(call, "shutdown", None)
        self.surveys.stop()
        await self._tasks.cancel_all()
        self._relay.close()
        self._clients.clear()
        self._servers.clear()
        await self._media.close()
        self._transport.close()

    # --- incoming requests --------------------------------------------------------------

    def _on_request(self, request: SipRequest, source: tuple[str, int]) -> None:
        if request.method == "ACK":
            self._on_ack(request, source)
            return
        key = server_key(request)
        existing = self._servers.get(key)
        if existing is not None:
            self._servers.retransmit(existing)
            return
        transaction = self._servers.begin(key, source)
        try:
            stamp_top_via(request, source)
        except SipParseError:
            pass  # a Via that does not parse is refused by the screen below

        def reply(response: SipResponse) -> None:
            response.headers.add("Server", USER_AGENT)
            self._servers.respond(
                transaction, bytes(response), self._transport.reply_address(request, source)
            )

        refusal = screen(request, KNOWN_METHODS, ALLOWED_METHODS)
        if refusal is not None:
            reply(response_for(request, refusal.status, extra=refusal.headers))
            return
        if not self._from_dialog_peer(request, source):
            log.warning(
                "request in a dialog from outside it refused",
                extra={"source": source[0], "method": request.method},
            )
            reply(response_for(request, 403, "Forbidden - not a party to this dialog"))
            return
        handler = {
            "INVITE": self._on_invite,
            "BYE": self._on_bye,
            "CANCEL": self._on_cancel,
            "OPTIONS": self._on_options,
            "REGISTER": self._registrations.handle,
            "REFER": self.refers.handle,
            "UPDATE": self._on_update,
            "INFO": self._on_info,
        }.get(request.method)
        if handler is None:
            reply(response_for(request, 405, extra=[("Allow", ALLOW)]))
            return
        handler(request, source, reply)

    def _on_options(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        reply(
            response_for(
                request,
                200,
                extra=[("Allow", ALLOW), ("Accept", "application/sdp"), ("Supported", "timer")],
            )
        )

    def _from_registered_phone(self, request: SipRequest, source: tuple[str, int]) -> bool:
        """An INVITE from an agent's phone: its From names an agent with a live registration
        from this address. A trunk's INVITE (the citizen's number in From) never is, even to a
        number that is also a transfer target, and even when trunk and phones share a host."""
        now = asyncio.get_running_loop().time()
        bindings = self.registrar.bindings(_user_of(request.from_), now)
        return any(binding.source[0] == source[0] for binding in bindings)

    def _on_invite(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        if request.to.tag:
            self._on_reinvite(request, reply)
            return
        if self.attended.claims(request, self._from_registered_phone(request, source)):
            self.attended.handle(request, source, reply)  # a consultation, or Replaces
            return
        if not self._is_trunk_peer(source[0]):
            log.warning("invite from a non-peer refused", extra={"source": source[0]})
            reply(response_for(request, 403))
            return
        try:
            dialled = request.request_uri.user or ""
        except SipParseError:
            reply(response_for(request, 416))
            return
        dialled = dialled.split(";", 1)[0]
        queue = self._hotlines.get(dialled) or self._hotlines.get(_user_of(request.to))
        if queue is None:
            reply(response_for(request, 404))
            return
        if not self._accepting:
            reply(response_for(request, 503, extra=[("Retry-After", "30")]))
            self._refused(request, dialled, queue, "draining", 503)
            return
        try:
            uas_route_set(request)
        except SipParseError:
            reply(response_for(request, 400, "Bad Request - malformed Record-Route"))
            return
        if not self._session_timer_acceptable(request, reply):
            return
        try:
            offer = sdp.SessionDescription.parse(request.body)
        except sdp.BadConnectionAddress:
            reply(response_for(request, 488, extra=[_BAD_ADDRESS_WARNING]))
            return
        except ValueError:
            reply(response_for(request, 488, extra=[("Warning", '399 hotline "SDP offer needed"')]))
            return
        codec = sdp.choose_codec(offer)
        if codec is None:
            reply(
                response_for(request, 488, extra=[("Warning", '305 hotline "PCMU or PCMA only"')])
            )
            return
        reply(response_for(request, 100))
        admission = self._caller_media.admission(queue)
        if admission is Admission.FULL:
            self._refused(request, dialled, queue, "queue-full", 486)
            self._tasks.spawn(
                refuse_busy(
                    self._media,
                    self._caller_media.prompts,
                    request,
                    reply,
                    offer,
                    codec,
                    self._advertised,
                    self._contact(source),
                ),
                name="busy",
            )
            return
        voicemail = admission if self._caller_media.takes_voicemail(admission) else None
        dialled = dialled if dialled in self._hotlines else _user_of(request.to)
        if self._answering + len(self._awaiting_ack) >= self._max_unacknowledged:
            # Not a CallRefused: a flood of INVITEs never ACKed must not become a flood of
            # rows; the log line is at debug level for the same reason.
            log.debug("too many unacknowledged answers; 503", extra={"source": source[0]})
            reply(response_for(request, 503, extra=[("Retry-After", "5")]))
            return
        self._answering += 1
        self._tasks.spawn(
            self._answer_caller(request, source, reply, offer, codec, dialled, queue, voicemail),
            name="answer-caller",
        )

    async def _relay_caller(self, call: HotlineCall, leg: Leg, request: SipRequest) -> bool:
        """The caller's media through the relay: the answer it gets, and where the embedded
        leg's greeting and music go; False (the leg closed) when the relay refuses."""
        try:
            path = await self._relay.caller_offer(call.id, request.body, leg.local_sdp)
            to_player = sdp.SessionDescription.parse(path.to_player)
        except (MediaRelayError, ValueError) as exc:
            log.error("media relay refused the caller", extra={"error": str(exc)[:200]})
            self._media.close_leg(leg.media)
            return False
        leg.local_sdp = path.to_caller
        leg.media.set_remote((to_player.connection_address, to_player.audio_port))
        return True

    def _refused(
        self, request: SipRequest, dialled: str, queue: str, reason: str, status: int
    ) -> None:
        """Tell the switchboard of a caller turned away, so the statistics count the call."""
        number = dialled if dialled in self._hotlines else _user_of(request.to)
        self._emit(
            CallRefused(
                self._clock(),
                str(uuid.uuid4()),
                request.call_id,
                _caller_of(request),
                number,
                queue,
                reason,
                status,
            )
        )

    async def _answer_caller(
        self,
        request: SipRequest,
        source: tuple[str, int],
        reply: Reply,
        offer: sdp.SessionDescription,
        codec: int,
        dialled: str,
        queue: str,
        voicemail: Admission | None = None,
    ) -> None:
        try:
            await self._answer(request, source, reply, offer, codec, dialled, queue, voicemail)
        finally:
            self._answering -= 1

    async def _answer(
        self,
        request: SipRequest,
        source: tuple[str, int],
        reply: Reply,
        offer: sdp.SessionDescription,
        codec: int,
        dialled: str,
        queue: str,
        voicemail: Admission | None,
    ) -> None:
        """Answer 200 with our SDP; nothing costly (prompts, the switchboard) until the ACK."""
        try:
            media = await self._media.open_leg(codec)
        except RuntimeError:
            log.error("no RTP port left for a caller")
            reply(response_for(request, 503, extra=[("Retry-After", "5")]))
            self._refused(request, dialled, queue, "no-ports", 503)
            return
        media.set_remote((offer.connection_address, offer.audio_port))
        call = HotlineCall(str(uuid.uuid4()), _caller_of(request), dialled, queue, codec)
        call.urgent = (request.headers.get("Priority") or "").strip().lower() in URGENT_PRIORITIES
        call.media = CallerMedia(call.id, self._caller_media)
        local = NameAddr.parse(str(request.to))
        local.params["tag"] = new_tag()
        contact = request.headers.get("Contact")
        remote_target = NameAddr.parse(contact).uri.__str__() if contact else str(request.from_.uri)
        routes = uas_route_set(request)  # checked in _on_invite
        dialog = Dialog(
            sip_call_id=request.call_id,
            local=local,
            remote=request.from_,
            remote_target=remote_target,
            # Behind a record-routing proxy (Kamailio, an SBC) BYE and re-INVITE go through it.
            destination=first_hop(routes, _target_address(remote_target, source)),
            route_set=routes,
        )
        leg = Leg("caller", call, dialog, media)
        answer = sdp.build_answer(
            offer, self._advertised, media.port, codec, secrets.randbelow(2**31)
        )
        leg.local_sdp = bytes(answer)
        if not await self._relay_caller(call, leg, request):
            reply(response_for(request, 503, extra=[("Retry-After", "5")]))
            self._refused(request, dialled, queue, "no-media-relay", 503)
            return
        media.payload_type = answer.payload_types[0]
        if len(answer.payload_types) > 1:
            media.event_payload_type = answer.payload_types[1]  # telephone-event
        # Keys by RFC 4733 and by SIP INFO (a carrier without telephone-event) both land here.
        media.on_digit = lambda digit: self._on_digit(call, digit)
        call.caller_leg = leg
        self._calls[call.id] = call
        self._dialogs[(dialog.sip_call_id, local.tag or "")] = leg
        timer = session_timer.negotiate(request)  # acceptable: checked in _on_invite
        response = response_for(
            request,
            200,
            to_tag=local.tag,
            extra=[
                ("Contact", self._contact(source)),
                ("Allow", ALLOW),
                ("Supported", "timer"),
                *(timer.headers() if timer else []),
            ],
            body=leg.local_sdp,
            content_type="application/sdp",
        )
        reply(response)
        self.session_timers.start(leg, timer)
        self._retransmit_2xx(leg, bytes(response), self._transport.reply_address(request, source))
        leg.answered = True
        leg.on_ack = lambda: self._start_call(call, leg, voicemail)
        self._awaiting_ack.add(leg)

    def _start_call(self, call: HotlineCall, leg: Leg, voicemail: Admission | None) -> None:
        """The caller ACKed: greeting, menu or voicemail start, and the switchboard is told."""
        if call.ended or call.media is None:
            return
        call.started = True
        media = leg.media
        loop = asyncio.get_running_loop()
        # Not in leg.handles: the ACK cancels those. _end_call on an ended call does nothing.
        if voicemail is not None:
            seconds = call.media.leave_voicemail(self._media, media, voicemail, self._clock())
            loop.call_later(seconds, self._end_call, call, "voicemail", None)
            log.info("caller leaves a voicemail", extra={"call": call.id, "reason": voicemail})
            return
        wait = call.media.offer_menu(self._media, media)
        if wait is not None:
            loop.call_later(wait, self._queue_caller, call, None)
            return
        self._queue_caller(call, None)

    def _queue_caller(self, call: HotlineCall, queue: str | None) -> None:
        """The caller joins a queue (the dialled number's, or one chosen in the menu)."""
        leg = call.caller_leg
        if call.ended or leg is None or call.media is None or call.media.queued:
            return
        call.media.queued = True
        call.queue = queue or call.queue
        call.media.hold(self._media, leg.media, asyncio.get_running_loop().time())
        log.info(
            "call answered and queued",
            extra={"call": call.id, "caller": mask_phone(call.caller), "dialled": call.dialled},
        )
        self._emit(
            CallArrived(
                self._clock(),
                call.id,
                leg.dialog.sip_call_id,
                call.caller,
                call.dialled,
                call.queue,
                CODEC_NAMES[call.codec],
                call.urgent,
            )
        )

    def _retransmit_2xx(self, leg: Leg, data: bytes, destination: tuple[str, int]) -> None:
        """Timer G until the ACK comes; Timer H gives up and hangs up. Over TCP as well: the
        ACK is end to end, and a hop past the trunk may be UDP (RFC 3261 §13.3.1.4)."""
        loop = asyncio.get_running_loop()

        def again(interval: float) -> None:
            if leg.ended:
                return
            self._transport.send(data, destination)
            leg.handles.append(
                loop.call_later(min(interval * 2, 4.0), again, min(interval * 2, 4.0))
            )

        def give_up() -> None:
            log.warning("no ACK for 200 OK; ending call", extra={"call": leg.call.id})
            self._end_call(leg.call, "timeout", None)

        leg.handles.append(loop.call_later(0.5, again, 0.5))
        leg.handles.append(loop.call_later(32.0, give_up))

    def _session_timer_acceptable(self, request: SipRequest, reply: Reply) -> bool:
        """422 to an interval under our Min-SE, 400 to a Session-Expires that does not parse."""
        try:
            session_timer.negotiate(request)
        except session_timer.TooBrief as brief:
            reply(response_for(request, 422, extra=[("Min-SE", str(brief))]))
            return False
        except ValueError:
            reply(response_for(request, 400, "Bad Request - malformed Session-Expires"))
            return False
        return True

    def _on_update(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        """UPDATE (RFC 3311): a session refresh, or an offer (hold, resume) inside the dialog."""
        self._on_reinvite(request, reply, answer_offer_only=True)

    def _on_reinvite(
        self, request: SipRequest, reply: Reply, answer_offer_only: bool = False
    ) -> None:
        leg = self._dialogs.get((request.call_id, request.to.tag or ""))
        if leg is None or leg.ended:
            reply(response_for(request, 481))
            return
        if not self._session_timer_acceptable(request, reply):
            return
        # Session refresh, hold or resume: the same stream, never a second leg.
        offer: sdp.SessionDescription | None = None
        try:
            offer = sdp.SessionDescription.parse(request.body)
        except sdp.BadConnectionAddress:
            reply(response_for(request, 488, extra=[_BAD_ADDRESS_WARNING]))
            return
        except ValueError:
            pass  # no offer: a refresh, answered with the SDP as it stands
        through_relay = leg.role == "caller" or (leg.role == "agent" and not leg.call.media_home)
        if offer is not None and not self._relay.direct and through_relay:
            # The party's RTP goes to the relay, not to this leg: the relay takes the offer.
            reinvite = self._relay_reoffer(leg, request, reply, offer, answer_offer_only)
            self._tasks.spawn(reinvite, name="relay-reoffer")
            return
        if offer is not None:
            leg.media.set_remote((offer.connection_address, offer.audio_port))
        self._answer_reoffer(leg, request, reply, offer, answer_offer_only)

    async def _relay_reoffer(
        self,
        leg: Leg,
        request: SipRequest,
        reply: Reply,
        offer: sdp.SessionDescription,
        answer_offer_only: bool,
    ) -> None:
        try:
            answer = await self._relay.reoffer(leg.call.id, leg.role == "caller", request.body)
        except MediaRelayError as exc:
            # The session goes on as it was (RFC 3261 §14.2); the party may try again.
            log.error("media relay refused a new offer", extra={"error": str(exc)[:200]})
            reply(response_for(request, 500, extra=[("Retry-After", "5")]))
            return
        if leg.ended:
            reply(response_for(request, 481))
            return
        if answer is None:  # a call the relay does not carry (click-to-call)
            leg.media.set_remote((offer.connection_address, offer.audio_port))
        else:
            leg.local_sdp = answer
        self._answer_reoffer(leg, request, reply, offer, answer_offer_only)

    def _answer_reoffer(
        self,
        leg: Leg,
        request: SipRequest,
        reply: Reply,
        offer: sdp.SessionDescription | None,
        answer_offer_only: bool,
    ) -> None:
        if offer is not None:
            leg.local_sdp = hold.answer_sdp(leg.local_sdp, offer.direction)
            if (offer.direction in hold.HOLDING) != leg.held:
                self._hold(leg, not leg.held)
        timer = session_timer.negotiate(request)
        if leg.role == "caller":
            self.session_timers.start(leg, timer)  # refreshed, or no timer any more
        # An UPDATE without an offer gets no SDP back (RFC 3311 §5.2); an INVITE always does.
        with_sdp = offer is not None or not answer_offer_only
        reply(
            response_for(
                request,
                200,
                extra=[
                    ("Contact", self._contact(leg.dialog.destination)),
                    *(timer.headers() if timer else []),
                ],
                body=leg.local_sdp if with_sdp else b"",
                content_type="application/sdp" if with_sdp else None,
            )
        )

    def _hold(self, leg: Leg, held: bool) -> None:
        """The party on `leg` holds (or resumes): nothing is sent to it meanwhile, and the one
        it talks to hears music on hold instead of it, then the two are bridged again."""
        leg.held = held
        leg.media.muted = held
        call = leg.call
        other = (
            call.caller_leg
            if leg.role != "caller"
            else next((x for x in (call.agent_leg, call.department_leg) if x and x.answered), None)
        )
        in_conference = leg.media.conference is not None
        if other is not None and other.answered and not other.ended and not in_conference:
            if not self._relay.direct:
                # The parties' RTP runs through the relay: it blocks and plays the music.
                if not other.held:
                    hold_task = self._relay_hold(
                        call, held, music_to_caller=other is call.caller_leg
                    )
                    self._tasks.spawn(hold_task, name="relay-hold")
            elif held:
                leg.media.partner = other.media.partner = None
                library = self._caller_media.prompts
                if library is not None:
                    self._media.play_programme(other.media, hold.Music(library.clip("moh")))
            elif not other.held:
                self._media.bridge(leg.media, other.media)
        log.info("call held" if held else "call resumed", extra={"call": call.id, "by": leg.role})
        self._emit(CallHeld(self._clock(), call.id, leg.role, held))

    def _from_dialog_peer(self, request: SipRequest, source: tuple[str, int]) -> bool:
        """The trunk ACL holds for a whole dialog, not only its INVITE: a request within one
        of our dialogs must come from a trunk peer or from where the dialog's requests go (the
        agent's phone, or the proxy that record-routed). Other requests are not judged here."""
        try:
            tag = request.to.tag
        except SipParseError:
            return True  # refused by whoever parses it
        leg = self._dialogs.get((request.call_id, tag or "")) if tag else None
        return (
            leg is None or source[0] == leg.dialog.destination[0] or self._is_trunk_peer(source[0])
        )

    def _on_ack(self, request: SipRequest, source: tuple[str, int]) -> None:
        if not self._from_dialog_peer(request, source):
            return  # an ACK cannot be answered: dropped
        self._servers.acknowledge(server_key(request))  # a refusal's ACK ends its Timer G
        leg = self._dialogs.get((request.call_id, request.to.tag or ""))
        if leg is not None and (leg.role == "caller" or leg in self._awaiting_ack):
            leg.cancel_timers()
            start, leg.on_ack = leg.on_ack, None
            self._awaiting_ack.discard(leg)
            if start is not None and not leg.ended:
                start()
        # An ACK for a non-2xx response or for nothing we know is absorbed silently.

    def _on_bye(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        leg = self._dialogs.get((request.call_id, request.to.tag or ""))
        if leg is None:
            reply(response_for(request, 481))
            return
        reply(response_for(request, 200))
        if leg.ended:
            # A BYE crossing ours (a phone finishing its REFER hangs up as the gateway does):
            # that leg is over already, the rest of the call is not its to end.
            return
        if leg.role == "lead":
            self.supervisions.lead_hung_up(leg)
            return
        if leg.role != "caller" and self.transfers.party_left(leg):
            return
        if leg.role == "caller" and self.surveys.caller_left(leg):
            return
        if leg.role == "agent" and self.surveys.take_over(leg.call, leg):
            return  # the caller stays on for the survey (好差评)
        self._end_call(leg.call, f"{leg.role}-hangup", leg)

    def _on_info(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        """INFO in a dialog (RFC 6086): a key by `application/dtmf-relay` or `application/dtmf`
        from the caller counts as an RFC 4733 key would (menu, callback offer, voicemail `#`,
        post-call survey); an Info Package we never offered (we send no Recv-Info) gets 469."""
        leg = self._dialogs.get((request.call_id, request.to.tag or ""))
        if leg is None or leg.ended:
            reply(response_for(request, 481))
            return
        if request.headers.get("Info-Package"):
            reply(response_for(request, 469, "Bad Info Package", extra=[("Recv-Info", "")]))
            return
        reply(response_for(request, 200))
        key = digit_from_info(request.headers.get("Content-Type") or "", request.body)
        if key is None or leg.role != "caller" or self.surveys.info(leg, key):
            return
        if leg.media.on_digit is not None:
            leg.media.on_digit(key)

    def _on_cancel(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> None:
        invite = self._servers.get((request.call_id, server_key(request)[1], "INVITE"))
        if invite is None:
            reply(response_for(request, 481))
            return
        # Callers are answered at once, so the INVITE is normally final already: nothing to stop.
        reply(response_for(request, 200))
        self.attended.cancelled(request.call_id)  # a phone's consultation still ringing

    # --- calling the agent ----------------------------------------------------------------

    def _reach_phone(self, contact: str, source: tuple[str, int]) -> tuple[str, int]:
        """Where a phone's requests go: on the TCP connection it registered (or answered) on
        while that is open (a phone on TCP listens on no port of its own we could reach, as
        RFC 5626 has it), else by its Contact or its NAT mapping (`_phone_address`)."""
        if self._transport.reliable(source):
            return source
        return _phone_address(contact, source)

    def ring_agent(self, call_id: str, agent_id: str) -> None:
        """Call the agent's phone for a queued call; AgentAnswered or AgentLegFailed follows."""
        self.agent_legs.ring(call_id, agent_id)

    def originate(self, order: Origination) -> None:
        """Click-to-call: the agent's phone, then the citizen (raises OutboundError)."""
        self.outbound.start(order)

    def transfer(self, call_id: str, number: str, mode: str) -> None:
        """Blind, three-way or consulted transfer to `number` (raises TransferError)."""
        self.transfers.start(call_id, number, mode)

    def finish_consultation(self, call_id: str, action: str) -> None:
        """转接 (complete) or 取回 (cancel) a consulted transfer (raises TransferError)."""
        consultation.finish(self, call_id, action)

    def monitor(self, call_id: str, lead_id: str, mode: str) -> str:
        """A lead's phone joins the call to listen, whisper or barge, or switches mode
        (raises MonitorError); returns ringing or connected."""
        return self.supervisions.start(call_id, lead_id, mode)

    def stop_monitor(self, call_id: str, lead_id: str) -> bool:
        """Take the lead's phone off the call; False if it was not on it."""
        return self.supervisions.stop(call_id, lead_id)

    def control(self, call_id: str, action: str) -> None:
        """The console acts on a connected call (raises CallControlError): hold puts the
        caller on music on hold, mute stops the agent's audio reaching the caller, hangup
        sends BYE to both legs."""
        call = self._calls.get(call_id)
        leg = call_control.agent_leg(call, call_id)
        if action == "hangup":
            self._end_call(leg.call, "agent-hangup", None)
        elif action in ("hold", "resume"):
            if leg.held != (action == "hold"):
                self._hold(leg, action == "hold")
        else:
            leg.media.silenced = action == "mute"
            if not self._relay.direct and not leg.call.media_home:
                # The phone's RTP goes through the relay, never through the silenced leg.
                self._tasks.spawn(self._relay_mute(leg.call, leg.media.silenced), name="relay-mute")
            log.info(
                "agent " + ("muted" if leg.media.silenced else "unmuted"), extra={"call": call_id}
            )

    # --- ending -------------------------------------------------------------------------

    def _end_call(
        self, call: HotlineCall, reason: str, initiator: Leg | None, keep: Leg | None = None
    ) -> None:
        """End the call and every leg of it but `keep` (a caller staying on for the survey)."""
        if call.ended:
            return
        call.ended = True
        caller_leg = call.caller_leg
        received = caller_leg.media.received if caller_leg else 0
        sent = caller_leg.media.sent if caller_leg else 0
        for leg in (call.caller_leg, call.agent_leg, call.department_leg, call.monitor_leg):
            if leg is None or leg.ended or leg is keep:
                continue
            self.session_timers.stop(leg)
            if leg is initiator:
                self._close_leg(leg)
            elif leg.answered:
                self._hang_up_leg(leg)
            else:
                self._cancel_ringing(leg)
        self._calls.pop(call.id, None)
        self._call_ended.set()
        if not self._relay.direct:
            recording = call.media.relayed_recording if call.media is not None else None
            self._tasks.spawn(self._end_relay(call.id, recording), name="relay-delete")
        log.info("call ended", extra={"call": call.id, "reason": reason})
        if call.started:
            self._emit(CallEnded(self._clock(), call.id, reason, received, sent))
        if call.on_end is not None:
            call.on_end(call, reason)
        # else: answered and never ACKed (or hung up before the ACK): the switchboard never
        # heard of it, and the ports and timers are already released above.
        media, call.media = call.media, None
        # The legs stay findable for Timer J (32 s) after this; what they no longer need goes
        # now, so 10,000 short calls do not leave 32 s worth of prompts and buffers behind.
        if media is not None and media.voicemail is not None:
            self._tasks.spawn(self._finish_voicemail(call, media), name="voicemail")
        elif media is not None and media.recorder is not None:
            self._tasks.spawn(self._finish_recording(call.id, media), name="recording")

    async def _finish_voicemail(self, call: HotlineCall, media: CallerMedia) -> None:
        finished = await media.finish()
        if finished is not None:
            self._emit(
                VoicemailLeft(
                    self._clock(),
                    call.id,
                    call.caller,
                    call.dialled,
                    call.queue,
                    str(media.voicemail),
                    str(finished.path),
                    finished.duration_seconds,
                )
            )

    async def _end_relay(self, call_id: str, recording: Path | None) -> None:
        """The relay frees the call's media; its recording, if any, is then written."""
        await self._relay.delete(call_id)
        if recording is None:
            return
        finished = await self._relay.finish_recording(call_id, recording)
        if finished is not None:
            self._emit(
                RecordingFinished(
                    self._clock(), call_id, str(finished.path), finished.duration_seconds
                )
            )

    async def _relay_hold(self, call: HotlineCall, held: bool, music_to_caller: bool) -> None:
        library = self._caller_media.prompts
        try:
            if held:
                music = library.clip("moh") if library is not None else b""
                await self._relay.hold(call.id, music_to_caller, music)
            else:
                await self._relay.resume(call.id)
        except MediaRelayError as exc:
            log.error("media relay could not hold or resume", extra={"error": str(exc)[:200]})

    async def _relay_mute(self, call: HotlineCall, muted: bool) -> None:
        try:
            await self._relay.mute(call.id, muted)
        except MediaRelayError as exc:
            log.error("media relay could not mute or unmute", extra={"error": str(exc)[:200]})

    async def _finish_recording(self, call_id: str, media: CallerMedia) -> None:
        finished = await media.finish()
        if finished is not None:
            self._emit(
                RecordingFinished(
                    self._clock(), call_id, str(finished.path), finished.duration_seconds
                )
            )

    def _on_digit(self, call: HotlineCall, digit: str) -> None:
        if call.ended or call.media is None or not call.started:
            return
        self._emit(DigitPressed(self._clock(), call.id, digit))
        if call.media.voicemail is not None:
            if digit == "#":
                self._end_call(call, "voicemail", None)
            return
        if not call.media.queued:
            chosen = call.media.options.menu.get(digit)
            if chosen is not None:
                self._queue_caller(call, chosen)
            return
        if call.agent_leg is not None:
            return  # bridged or ringing: the digits are the agent's business
        hang_up_in = call.media.digit(digit)
        if hang_up_in is not None:
            log.info("caller booked a callback", extra={"call": call.id})
            self._emit(CallbackRequested(self._clock(), call.id, call.caller))
            # Hang up once the confirmation has been heard.
            asyncio.get_running_loop().call_later(
                hang_up_in + 0.5, self._end_call, call, "callback", None
            )

    def _cancel_ringing(self, leg: Leg) -> None:
        if leg.role != "caller" and leg.invite is not None:
            uac.cancel(self, leg, leg.invite)
        self._close_leg(leg)

    def _hang_up_leg(self, leg: Leg) -> None:
        bye = self._request(leg, "BYE")
        self._clients.start(
            bye.vias[0].branch or "",
            "BYE",
            bytes(bye),
            leg.dialog.destination,
            lambda response: None,
            lambda: None,
        )
        self._close_leg(leg)

    def _close_leg(self, leg: Leg) -> None:
        leg.ended = True
        leg.on_ack = None
        self._awaiting_ack.discard(leg)
        leg.cancel_timers()
        self._media.close_leg(leg.media)
        key = (leg.dialog.sip_call_id, leg.dialog.local.tag or "")
        # Keep the dialog findable for a while so a retransmitted BYE still gets its 200.
        asyncio.get_running_loop().call_later(32.0, self._dialogs.pop, key, None)

    # --- building requests ----------------------------------------------------------------

    def _contact(self, peer: tuple[str, int]) -> str:
        """Our Contact toward `peer`; a dialog that runs over TCP stays on TCP."""
        transport = ";transport=tcp" if self._transport.reliable(peer) else ""
        return f"<sip:hotline@{self._advertised}:{self._port}{transport}>"

    def _request(
        self,
        leg: Leg,
        method: str,
        *,
        cseq: int | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipRequest:
        dialog = leg.dialog
        if cseq is None:
            dialog.local_cseq += 1
            cseq = dialog.local_cseq
        transport = self._transport.via_transport(dialog.destination)
        via = f"SIP/2.0/{transport} {self._advertised}:{self._port};branch={new_branch()};rport"
        uri, routes = request_target(dialog.route_set, dialog.remote_target)
        headers = Headers(
            [
                ("Via", via),
                ("Max-Forwards", "70"),
                *(("Route", route) for route in routes),
                ("From", str(dialog.local)),
                ("To", str(dialog.remote)),
                ("Call-ID", dialog.sip_call_id),
                ("CSeq", f"{cseq} {method}"),
                ("Contact", self._contact(dialog.destination)),
                ("User-Agent", USER_AGENT),
            ]
        )
        if content_type:
            headers.add("Content-Type", content_type)
        return SipRequest(method=method, uri=uri, headers=headers, body=body)

    def _on_response(self, response: SipResponse, source: tuple[str, int]) -> None:
        if not self._clients.response(response):
            log.debug("stray response dropped", extra={"status": response.status})


Reply = Callable[[SipResponse], None]
