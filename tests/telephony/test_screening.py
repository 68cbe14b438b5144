"""What the gateway refuses before dialog logic: one check per RFC 3261 §8.2 step."""

from __future__ import annotations

import pytest

from telephony.gateway import ALLOWED_METHODS, KNOWN_METHODS
from telephony.screening import screen
from telephony.sip import SipRequest, parse_message


def request(first_line: str, *headers: str, body: str = "") -> SipRequest:
    lines = [
        first_line,
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-screen-1",
        "From: <sip:13800138000@127.0.0.1>;tag=1",
        "To: <sip:12319@127.0.0.1>",
        "Call-ID: screen-1",
        f"CSeq: 1 {first_line.split()[0]}",
        *headers,
        f"Content-Length: {len(body.encode())}",
        "",
        body,
    ]
    message = parse_message("\r\n".join(lines).encode())
    assert isinstance(message, SipRequest)
    return message


@pytest.mark.parametrize(
    ("first_line", "headers", "body", "status"),
    [
        ("INVITE sip:12319@127.0.0.1 SIP/2.0", (), "", None),
        ("INVITE tel:12319 SIP/2.0", (), "", None),
        ("INVITE mailto:x@example.com SIP/2.0", (), "", 416),
        ("FROB sip:12319@127.0.0.1 SIP/2.0", (), "", 501),
        ("MESSAGE sip:12319@127.0.0.1 SIP/2.0", (), "", 405),
        ("INVITE sip:12319@127.0.0.1 SIP/2.0", ("Require: 100rel",), "", 420),
        ("INVITE sip:12319@127.0.0.1 SIP/2.0", ("Content-Type: text/plain",), "hi", 415),
        ("INVITE sip:12319@127.0.0.1 SIP/2.0", ("Accept: text/nonsense",), "", 406),
        ("INVITE sip:12319@127.0.0.1 SIP/2.0", ("Accept: */*",), "", None),
    ],
)
def test_screening(
    first_line: str, headers: tuple[str, ...], body: str, status: int | None
) -> None:
    refusal = screen(request(first_line, *headers, body=body), KNOWN_METHODS, ALLOWED_METHODS)
    assert (refusal.status if refusal else None) == status
