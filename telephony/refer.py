"""Transfer asked for by the agent's phone: REFER (RFC 3515) with NOTIFY sipfrag progress.

The phone's REFER gets 202 and a NOTIFY "100 Trying"; the gateway then makes a blind transfer.
When the target answers, a final NOTIFY "200 OK" goes to the phone before its leg is hung up;
when it fails, the final NOTIFY says why and the caller stays with the agent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from telephony.replaces import refer_target as parse_refer_to
from telephony.sip import (
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    reason_phrase,
    response_for,
)

if TYPE_CHECKING:
    from telephony.gateway import Leg, SipGateway

SIPFRAG = "message/sipfrag;version=2.0"
# TransferError id → the REFER's final answer when the transfer cannot even start.
REFUSALS = {"transfer-in-progress": 491, "no-outbound-proxy": 503}


def refer_target(request: SipRequest) -> str | None:
    """The number in Refer-To, or None if there is none to read."""
    value = request.headers.get("Refer-To")
    if not value:
        return None
    try:
        user = NameAddr.parse(value).uri.user or ""
    except SipParseError:
        return None
    number = user.split(";", 1)[0]
    return number if number.isdigit() else None


def status_of(reason: str) -> int:
    """The SIP status a failed transfer reports in its final sipfrag."""
    if reason.startswith("rejected-") and reason[len("rejected-") :].isdigit():
        return int(reason[len("rejected-") :])
    return {"no-answer": 408, "unreachable": 408}.get(reason, 503)


class ReferHandler:
    """REFERs from agents' phones, and the NOTIFYs that report on them."""

    def __init__(self, gateway: SipGateway, allowed: frozenset[str]) -> None:
        self._gw = gateway
        self._allowed = allowed
        self._referrers: dict[str, Leg] = {}  # call id → the agent leg that sent REFER

    def handle(
        self,
        request: SipRequest,
        source: tuple[str, int],
        reply: Callable[[SipResponse], None],
    ) -> None:
        from telephony.transfer import TransferError

        gw = self._gw
        leg = gw._dialogs.get((request.call_id, request.to.tag or ""))
        if leg is None or leg.ended:
            reply(response_for(request, 481))
            return
        if leg.role != "agent" or not leg.answered:
            reply(response_for(request, 403, "Only the agent may transfer"))
            return
        try:
            target = parse_refer_to(request.headers.get("Refer-To") or "")
        except ValueError:
            reply(response_for(request, 400, "Bad Request - malformed Refer-To"))
            return
        if target.replaces is not None:
            gw.attended.refer(leg, request, target, reply)  # attended transfer (RFC 5589)
            return
        number = refer_target(request)
        if number is None:
            reply(response_for(request, 400, "Refer-To with a number needed"))
            return
        if number not in self._allowed:
            reply(response_for(request, 403, "Not a transfer target"))
            return
        try:
            gw.transfers.start(leg.call.id, number, "blind")
        except TransferError as error:
            reply(response_for(request, REFUSALS.get(error.error_id, 403), str(error)))
            return
        self._referrers[leg.call.id] = leg
        reply(response_for(request, 202))
        self.notify(leg, 100, final=False)

    def finished(self, call_id: str, status: int) -> None:
        """The transfer of `call_id` ended with `status`: tell the phone that asked for it."""
        leg = self._referrers.pop(call_id, None)
        if leg is not None and not leg.ended:
            self.notify(leg, status, final=True)

    def notify(self, leg: Leg, status: int, *, final: bool) -> None:
        gw = self._gw
        body = f"SIP/2.0 {status} {reason_phrase(status)}\r\n".encode()
        request = gw._request(leg, "NOTIFY", body=body, content_type=SIPFRAG)
        request.headers.add("Event", "refer")
        state = "terminated;reason=noresource" if final else "active;expires=60"
        request.headers.add("Subscription-State", state)
        gw._clients.start(
            request.vias[0].branch or "",
            "NOTIFY",
            bytes(request),
            leg.dialog.destination,
            lambda response: None,
            lambda: None,
        )
