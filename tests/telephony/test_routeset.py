"""Route sets (RFC 3261 §12.1, §12.2.1.1): taken from Record-Route, turned into Route headers."""

from __future__ import annotations

import pytest

from telephony.routeset import first_hop, request_target, uac_route_set, uas_route_set
from telephony.sip import Headers, SipParseError, SipRequest, SipResponse

EDGE = "<sip:10.0.0.2;lr>"
CORE = "<sip:10.0.0.3:5070;lr;ftag=x>"
TARGET = "sip:13900000000@192.0.2.55:5060"


def request(*record_routes: str) -> SipRequest:
    headers = Headers([("Record-Route", value) for value in record_routes])
    return SipRequest("INVITE", "sip:12319@10.0.0.1", headers, b"")


def test_we_answer_route_in_the_order_received_and_call_route_in_reverse() -> None:
    assert uas_route_set(request(f"{EDGE}, {CORE}")) == (EDGE, CORE)  # one header, a list
    ok = SipResponse(200, "OK", Headers([("Record-Route", EDGE), ("Record-Route", CORE)]), b"")
    assert uac_route_set(ok) == (CORE, EDGE)


def test_a_malformed_record_route_in_a_request_is_refused_and_in_a_response_left_out() -> None:
    with pytest.raises(SipParseError):
        uas_route_set(request("not a uri"))
    ok = SipResponse(200, "OK", Headers([("Record-Route", "<junk"), ("Record-Route", EDGE)]), b"")
    assert uac_route_set(ok) == (EDGE,)


def test_loose_routing_keeps_the_remote_target_and_sends_to_the_first_route() -> None:
    assert request_target((EDGE, CORE), TARGET) == (TARGET, [EDGE, CORE])
    assert first_hop((CORE, EDGE), ("192.0.2.55", 5060)) == ("10.0.0.3", 5070)
    assert first_hop((EDGE,), ("192.0.2.55", 5060)) == ("10.0.0.2", 5060)


def test_a_strict_router_gets_the_request_uri_and_the_target_goes_last() -> None:
    strict = "<sip:10.0.0.9;transport=udp>"
    assert request_target((strict, EDGE), TARGET) == (
        "sip:10.0.0.9;transport=udp",
        [EDGE, f"<{TARGET}>"],
    )


def test_no_route_set_and_a_named_host_change_nothing() -> None:
    assert request_target((), TARGET) == (TARGET, [])
    assert first_hop((), ("192.0.2.55", 5060)) == ("192.0.2.55", 5060)
    # No name is resolved on the event loop: a host name leaves the address as it was.
    assert first_hop(("<sip:proxy.example.net;lr>",), ("192.0.2.55", 5060)) == (
        "192.0.2.55",
        5060,
    )
