"""Requests an endpoint refuses before any dialog logic sees them (RFC 3261 §8.2, RFC 4475).

Pure: a parsed request in, the status to refuse it with (and any header that must go with
the refusal) out, or None when the request may be handled.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from telephony.sip import SipParseError, SipRequest

# RFC 3261 §8.1.1.7: a branch must begin with the magic cookie and then identify something.
MAGIC_COOKIE = "z9hG4bK"
# URI schemes whose Request-URIs this endpoint can be addressed by.
SCHEMES = ("sip", "sips", "tel")


@dataclass(frozen=True)
class Refusal:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)


def screen(
    request: SipRequest, known_methods: Collection[str], allowed_methods: Collection[str]
) -> Refusal | None:
    """Why this request must be refused, in the order RFC 3261 §8.2 checks, or None."""
    allow = ", ".join(sorted(allowed_methods))
    if request.version != "SIP/2.0":
        return Refusal(505)
    if request.method not in known_methods:
        return Refusal(501, [("Allow", allow)])
    if request.method not in allowed_methods:
        return Refusal(405, [("Allow", allow)])
    scheme = request.uri.split(":", 1)[0].strip().lower()
    if scheme not in SCHEMES:
        return Refusal(416)
    if scheme != "tel":
        try:
            request.request_uri  # noqa: B018
        except SipParseError:
            return Refusal(416)
    # The one extension we support: session timers (RFC 4028).
    unsupported = [r for r in request.headers.get_all("Require") if r.strip().lower() != "timer"]
    if unsupported and request.method not in ("CANCEL", "ACK"):
        return Refusal(420, [("Unsupported", ", ".join(unsupported))])
    vias = request.vias
    if not vias or vias[0].branch == MAGIC_COOKIE:
        return Refusal(400)
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    # INFO carries keys (application/dtmf-relay …): its handler judges its body.
    if request.body and content_type != "application/sdp" and request.method not in ("ACK", "INFO"):
        return Refusal(415, [("Accept", "application/sdp")])
    accepted = [v.split(";")[0].strip().lower() for v in request.headers.get_all("Accept")]
    if request.method == "INVITE" and accepted and "application/sdp" not in accepted:
        if "*/*" not in accepted and "application/*" not in accepted:
            return Refusal(406, [("Accept", "application/sdp")])
    return None
