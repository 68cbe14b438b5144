"""One outgoing INVITE (the gateway as UAC): a new dialog, the offer, the INVITE itself, the
ACK of its answer and a digest answer to a challenge.

The gateway calls out in several places (an agent's phone, a transfer or consultation target,
a citizen called back); each decides what a response means for its call, and shares these
steps, which RFC 3261 (§12.1.2, §13.2, §22) fixes the same way for all of them.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from telephony import sdp
from telephony.digest_client import authorization
from telephony.legs import Dialog, Leg
from telephony.sip import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    new_tag,
)

if TYPE_CHECKING:
    from telephony.gateway import SipGateway

log = logging.getLogger(__name__)

# How the gateway names itself: User-Agent in its requests, Server in its answers.
USER_AGENT = "hotline-gateway/0.1"


def proxy_dialog(
    gw: SipGateway,
    proxy: tuple[str, int],
    user: str,
    number: str,
    display: str | None = None,
) -> Dialog:
    """A new dialog to `number` at the outbound proxy, from `user` at the gateway."""
    host, port = proxy
    local = NameAddr(display, SipUri("sip", user, gw._advertised, gw._port, {}), {"tag": new_tag()})
    remote = NameAddr(None, SipUri("sip", number, host, port, {}), {})
    return Dialog(
        sip_call_id=f"{uuid.uuid4().hex}@{gw._advertised}",
        local=local,
        remote=remote,
        remote_target=str(remote.uri),
        destination=proxy,
    )


def phone_dialog(
    gw: SipGateway,
    user: str,
    phone_user: str,
    contact: str,
    source: tuple[str, int],
    display: str | None = None,
) -> Dialog:
    """A new dialog to a registered phone (`phone_user`, reached at `contact` or, behind NAT,
    where it registered from), from `user` at the gateway, shown as `display`."""
    local = NameAddr(display, SipUri("sip", user, gw._advertised, gw._port, {}), {"tag": new_tag()})
    remote = NameAddr(None, SipUri("sip", phone_user, gw._advertised, gw._port, {}), {})
    return Dialog(
        sip_call_id=f"{uuid.uuid4().hex}@{gw._advertised}",
        local=local,
        remote=remote,
        remote_target=contact,
        destination=gw._reach_phone(contact, source),
    )


def own_offer(gw: SipGateway, leg: Leg, codecs: Sequence[int]) -> bytes:
    """An offer of the leg's own media port (in this gateway's embedded engine)."""
    return bytes(sdp.build_offer(gw._advertised, leg.media.port, codecs, secrets.randbelow(2**31)))


def offer(gw: SipGateway, leg: Leg, codecs: Sequence[int]) -> None:
    """The leg's SDP offer, and the leg findable by its dialog for what comes back."""
    leg.local_sdp = own_offer(gw, leg, codecs)
    gw._dialogs[(leg.dialog.sip_call_id, leg.dialog.local.tag or "")] = leg


def send_invite(
    gw: SipGateway,
    leg: Leg,
    subject: str,
    on_response: Callable[[SipRequest, SipResponse], None],
    on_failure: Callable[[], None],
    headers: Iterable[tuple[str, str]] = (),
) -> SipRequest:
    """Send the leg's INVITE (its offer as the body) in a client transaction."""
    request = gw._request(leg, "INVITE", body=leg.local_sdp, content_type="application/sdp")
    request.headers.add("Subject", subject)
    for name, value in headers:
        request.headers.add(name, value)
    leg.invite = request
    gw._clients.start(
        request.vias[0].branch or "",
        "INVITE",
        bytes(request),
        leg.dialog.destination,
        lambda response: on_response(request, response),
        on_failure,
    )
    return request


def confirm(
    gw: SipGateway, leg: Leg, invite: SipRequest, response: SipResponse, phone: bool = False
) -> bool:
    """A 2xx to the leg's INVITE: fix the dialog (the remote tag, target and route set) and
    ACK it. False for a retransmitted 2xx, which only gets the same ACK again. `phone`: the
    other end is a registered phone, reached where its registration says (NAT)."""
    if leg.ack is not None:
        gw._transport.send(leg.ack, leg.dialog.destination)
        return False
    dialog = leg.dialog
    if response.to.tag:
        dialog.remote = response.to
    contact = response.headers.get("Contact")
    if contact:
        try:
            dialog.remote_target = str(NameAddr.parse(contact).uri)
            if phone:
                # A phone behind NAT answers with its private Contact: keep the mapping.
                dialog.destination = gw._reach_phone(dialog.remote_target, dialog.destination)
        except SipParseError:
            pass
    dialog.follow_record_route(response)
    leg.ack = bytes(gw._request(leg, "ACK", cseq=invite.cseq.number))
    gw._transport.send(leg.ack, dialog.destination)
    return True


def reinvite(
    gw: SipGateway,
    leg: Leg,
    body: bytes,
    on_answer: Callable[[SipResponse], None],
    on_failure: Callable[[], None],
) -> None:
    """A new offer within the leg's established dialog (RFC 3261 §14.1): `on_answer` gets
    the 2xx once (ACKed, and ACKed again if retransmitted); `on_failure` a refusal or no
    answer, after which the session goes on as it was."""
    request = gw._request(leg, "INVITE", body=body, content_type="application/sdp")
    settled = False  # answered or failed: what comes later changes nothing
    ack: bytes | None = None

    def settle(outcome: Callable[[], None]) -> None:
        nonlocal settled
        if not settled:
            settled = True
            outcome()

    def on_response(response: SipResponse) -> None:
        nonlocal ack
        if response.status < 200:
            return
        if response.status >= 300:
            ack_failure(gw, leg, request, response)
            settle(on_failure)
            return
        if ack is None:
            ack = bytes(gw._request(leg, "ACK", cseq=request.cseq.number))
        gw._transport.send(ack, leg.dialog.destination)  # again for a retransmitted 2xx
        settle(lambda: on_answer(response))

    def on_timeout() -> None:
        settle(on_failure)

    gw._clients.start(
        request.vias[0].branch or "",
        "INVITE",
        bytes(request),
        leg.dialog.destination,
        on_response,
        on_timeout,
    )


def cancel(gw: SipGateway, leg: Leg, invite: SipRequest) -> None:
    """CANCEL the leg's INVITE that has no final answer yet (RFC 3261 §9.1)."""
    request = _in_invite_transaction(invite, "CANCEL", invite.headers.get("To") or "")
    gw._clients.start(
        invite.vias[0].branch or "",
        "CANCEL",
        bytes(request),
        leg.dialog.destination,
        lambda response: None,
        lambda: None,
    )


def ack_failure(gw: SipGateway, leg: Leg, invite: SipRequest, response: SipResponse) -> None:
    """The ACK of a non-2xx final response belongs to the INVITE transaction (§17.1.1.3)."""
    ack = _in_invite_transaction(invite, "ACK", response.headers.get("To") or "")
    gw._transport.send(bytes(ack), leg.dialog.destination)


def _in_invite_transaction(invite: SipRequest, method: str, to: str) -> SipRequest:
    """CANCEL or non-2xx ACK: same Request-URI, Via branch, From, Call-ID and CSeq number."""
    headers = Headers(
        [
            ("Via", invite.headers.get("Via") or ""),
            ("Max-Forwards", "70"),
            ("From", invite.headers.get("From") or ""),
            ("To", to),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{invite.cseq.number} {method}"),
            ("User-Agent", USER_AGENT),
        ]
    )
    return SipRequest(method=method, uri=invite.uri, headers=headers)


def take_answer(leg: Leg, response: SipResponse) -> bool:
    """Send the leg's media where the answer's SDP says; False if it says nothing usable."""
    try:
        answer = sdp.SessionDescription.parse(response.body)
    except ValueError:
        return False
    leg.media.set_remote((answer.connection_address, answer.audio_port))
    return True


def challenge_answer(
    credentials: tuple[str, str] | None, invite: SipRequest, response: SipResponse
) -> tuple[str, str] | None:
    """The header answering a 401/407 once with digest credentials; None when there are none,
    the INVITE already carried an answer (so the credentials are wrong) or the challenge is
    unusable."""
    if credentials is None or response.status not in (401, 407):
        return None
    if invite.headers.get("Authorization") or invite.headers.get("Proxy-Authorization"):
        return None
    asked, header = (
        ("WWW-Authenticate", "Authorization")
        if response.status == 401
        else ("Proxy-Authenticate", "Proxy-Authorization")
    )
    challenge = response.headers.get(asked)
    if not challenge:
        return None
    try:
        return header, authorization(challenge, "INVITE", str(invite.uri), *credentials)
    except ValueError as error:
        log.warning("unusable challenge from upstream", extra={"error": str(error)})
        return None
