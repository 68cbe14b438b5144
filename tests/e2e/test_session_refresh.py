"""Session timers and UPDATE against the running gateway, from a hand-driven trunk over real
UDP: too brief an interval is refused 422 with our Min-SE; an accepted one is echoed with
Require: timer; an UPDATE refreshes the session (no SDP back without an offer) and, with an
offer, holds the call as a re-INVITE would."""

from __future__ import annotations

import pytest

from tests.conftest import RunningHotline
from tests.e2e.test_dialog_routes import answered, headers_named, in_dialog, receive
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of
from tests.e2e.test_phone_registration import header

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

HOLD_OFFER = (
    b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0\r\na=sendonly\r\n"
)


def with_headers(request: bytes, *lines: str) -> bytes:
    extra = "".join(f"{line}\r\n" for line in lines).encode()
    return request.replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\n" + extra)


async def test_session_timers_and_update(hotline: RunningHotline) -> None:
    gateway = hotline.sip_address
    trunk = SipProbe()
    try:
        brief = with_headers(invite(trunk, gateway, call_id="brief"), "Session-Expires: 60")
        await trunk.send(brief, gateway)
        refused = await receive(trunk, b"SIP/2.0 422 ")
        assert header(refused, "Min-SE") == "90"

        timed = with_headers(
            invite(trunk, gateway, call_id="timed"),
            "Session-Expires: 90;refresher=uac",
            "Supported: timer",
        )
        ok = await answered(trunk, gateway, timed)
        assert header(ok, "Session-Expires") == "90;refresher=uac"
        assert "timer" in headers_named(ok, "Require")
        contact = header(ok, "Contact").strip("<>")
        await trunk.send(in_dialog("ACK", contact, "127.0.0.1", ok, 1), gateway)

        refresh = with_headers(
            in_dialog("UPDATE", contact, "127.0.0.1", ok, 2).replace(
                b"Content-Length: 0\r\n", b"Max-Forwards: 70\r\nContent-Length: 0\r\n"
            ),
            "Session-Expires: 90;refresher=uac",
        )
        refreshed = await answered(trunk, gateway, refresh)
        assert b"CSeq: 2 UPDATE" in refreshed
        assert header(refreshed, "Session-Expires") == "90;refresher=uac"
        assert refreshed.endswith(b"\r\n\r\n")  # no offer, no answer (RFC 3311 §5.2)

        update = in_dialog("UPDATE", contact, "127.0.0.1", ok, 3).replace(
            b"Content-Length: 0\r\n",
            b"Content-Type: application/sdp\r\nContent-Length: "
            + str(len(HOLD_OFFER)).encode()
            + b"\r\n",
        )
        held = await answered(trunk, gateway, update + HOLD_OFFER)
        assert b"CSeq: 3 UPDATE" in held and b"a=recvonly" in held

        bye = await answered(trunk, gateway, in_dialog("BYE", contact, "127.0.0.1", ok, 4))
        assert status_of(bye) == 200
    finally:
        trunk.close()
