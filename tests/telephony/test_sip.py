"""SIP messages: parsing rules of RFC 3261, serialisation, responses, and robustness."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.sip import (
    COMPACT,
    CSeq,
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
    request_summary_for_400,
    response_for,
    stamp_top_via,
)

# An INVITE as a carrier trunk sends it, with compact forms, folding and a Via list.
INVITE = (
    b"INVITE sip:12319@10.0.0.1:5060;user=phone SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKabc;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKdef, "
    b"SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKx\r\n"
    b"Max-Forwards: 69\r\n"
    b'f: "Zhang San" <sip:13800138000@10.0.0.9>;tag=t1\r\n'
    b"t: <sip:12319@10.0.0.1>\r\n"
    b"i: call-1@10.0.0.9\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Subject: a folded\r\n  header\r\n"
    b"Contact: <sip:13800138000@10.0.0.9:5062>\r\n"
    b"P-Asserted-Identity: <sip:13800138000@10.0.0.9>\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n\r\nbody-and-noise"
)
RESPONSE = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=10.0.0.1\r\n"
    b"From: <sip:12319@10.0.0.1>;tag=a\r\n"
    b"To: <sip:1001@10.0.0.20>;tag=b\r\n"
    b"Call-ID: c2@10.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n\r\n"
)
OPTIONS = (
    b"OPTIONS sip:10.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKo\r\n"
    b"From: <sip:probe@10.0.0.9>;tag=p\r\n"
    b"To: <sip:10.0.0.1>\r\n"
    b"Call-ID: o1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"\r\n"
)


def request(data: bytes = INVITE) -> SipRequest:
    message = parse_message(data)
    assert isinstance(message, SipRequest)
    return message


# --- messages -------------------------------------------------------------------------------


def test_request_with_compact_folded_and_listed_headers() -> None:
    invite = request()
    assert (invite.method, invite.version) == ("INVITE", "SIP/2.0")
    assert invite.uri == "sip:12319@10.0.0.1:5060;user=phone"
    assert invite.request_uri == SipUri("sip", "12319", "10.0.0.1", 5060, {"user": "phone"})
    assert [v.branch for v in invite.vias] == ["z9hG4bKabc", "z9hG4bKdef", "z9hG4bKx"]
    assert invite.vias[0].params == {"branch": "z9hG4bKabc", "rport": None}
    assert (invite.vias[2].transport, invite.vias[2].host, invite.vias[2].port) == (
        "TCP",
        "[2001:db8::1]",
        5070,
    )
    assert invite.from_.display == "Zhang San" and invite.from_.tag == "t1"
    assert invite.to.tag is None and invite.to.uri.user == "12319"
    assert invite.call_id == "call-1@10.0.0.9"
    assert invite.cseq == CSeq(7, "INVITE")
    assert invite.headers.get("Subject") == "a folded header"
    assert invite.headers.get("content-type") == "application/sdp"
    assert invite.body == b"body"  # Content-Length frames it; the rest is noise


def test_response_parses_with_the_same_views() -> None:
    response = parse_message(RESPONSE)
    assert isinstance(response, SipResponse)
    assert (response.status, response.reason) == (180, "Ringing")
    assert response.vias[0].params["received"] == "10.0.0.1"
    assert (response.from_.tag, response.to.tag, response.cseq.method) == ("a", "b", "INVITE")
    assert SipResponse.parse(RESPONSE) == response


def test_parse_classmethods_refuse_the_other_kind() -> None:
    with pytest.raises(SipParseError):
        SipRequest.parse(RESPONSE)
    with pytest.raises(SipParseError):
        SipResponse.parse(INVITE)


def test_serialised_request_parses_back_the_same() -> None:
    invite = request()
    again = request(bytes(invite))
    assert again.headers.items == [*invite.headers.items[:-1], ("Content-Length", "4")]
    assert (again.method, again.uri, again.body) == (invite.method, invite.uri, invite.body)


def test_serialisation_writes_content_length_from_the_body_and_crlf_lines() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"), ("Content-Length", "99")])
    data = bytes(SipRequest("MESSAGE", "sip:a@h", headers, b"hello"))
    assert data == (
        b"MESSAGE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        b"Content-Length: 5\r\n\r\nhello"
    )
    reply = SipResponse(200, "OK", Headers([("To", "<sip:a@h>")]))
    assert bytes(reply) == b"SIP/2.0 200 OK\r\nTo: <sip:a@h>\r\nContent-Length: 0\r\n\r\n"


def test_serialisation_refuses_a_line_break_that_would_forge_a_header() -> None:
    headers = Headers([("Subject", "hi\r\nVia: SIP/2.0/UDP evil")])
    with pytest.raises(ValueError):
        bytes(SipRequest("MESSAGE", "sip:a@h", headers))
    with pytest.raises(ValueError):
        bytes(SipResponse(200, "OK\r\nX: y", Headers()))


def test_bare_lf_header_line_ends_and_leading_crlf_are_accepted() -> None:
    start, rest = INVITE.split(b"\r\n", 1)
    invite = request(b"\r\n\r\n" + start + b"\r\n" + rest.replace(b"\r\n", b"\n"))
    assert invite.body == b"body" and invite.headers.get("Subject") == "a folded header"


def test_a_start_line_ended_by_a_bare_lf_is_refused() -> None:
    """RFC 3261 §7.1: the start line ends with CRLF (issue 10: such INVITEs were answered)."""
    with pytest.raises(SipParseError, match="CRLF"):
        parse_message(INVITE.replace(b"\r\n", b"\n", 1))
    with pytest.raises(SipParseError, match="CRLF"):
        parse_message(b"\r\n" + INVITE.replace(b"\r\n", b"\n"))


def test_without_content_length_the_body_is_the_rest_of_the_datagram() -> None:
    data = INVITE.replace(b"l: 4\r\n", b"")
    assert request(data).body == b"body-and-noise"


def test_a_shorter_content_length_truncates_the_body() -> None:
    assert request(INVITE.replace(b"l: 4", b"l: 0")).body == b""
    assert request(INVITE.replace(b"l: 4", b"l: 0004")).body == b"body"


def test_header_names_are_tokens_and_lws_before_the_colon_is_allowed() -> None:
    invite = request(INVITE.replace(b"Subject: a folded", b"Subject \t: a folded"))
    assert invite.headers.get("subject") == "a folded header"
    assert request(INVITE.replace(b"Subject:", b"X-Odd-!%*_+`'~.Name:")).headers.get(
        "x-odd-!%*_+`'~.name"
    )


@pytest.mark.parametrize(
    "broken, why",
    [
        (INVITE.replace(b"i: call-1@10.0.0.9\r\n", b""), "missing Call-ID header"),
        (INVITE.replace(b"t: <sip:12319@10.0.0.1>\r\n", b""), "missing To header"),
        (
            INVITE.replace(b'f: "Zhang San" <sip:13800138000@10.0.0.9>;tag=t1\r\n', b""),
            "missing From",
        ),
        (INVITE.replace(b"CSeq: 7 INVITE\r\n", b""), "missing CSeq header"),
        (re.sub(rb"(v|Via): [^\r]*\r\n", b"", INVITE), "missing Via header"),
        (INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: 7 BYE"), "CSeq method mismatch"),
        (INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: 4294967296 INVITE"), "CSeq number too large"),
        (INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: 7"), "bad CSeq"),
        (INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: -7 INVITE"), "bad CSeq"),
        (INVITE.replace(b"l: 4", b"l: 400"), "body shorter than Content-Length"),
        (INVITE.replace(b"l: 4", b"l: five"), "bad Content-Length"),
        (INVITE.replace(b"l: 4", b"l: -4"), "bad Content-Length"),
        (INVITE.replace(b"l: 4", b"l: " + b"9" * 5000), "Content-Length too large"),
        (INVITE.replace(b"Max-Forwards: 69", b"Max-Forwards: many"), "bad Max-Forwards"),
        (INVITE.replace(b"i: call-1@10.0.0.9", b"i: call 1"), "bad Call-ID"),
        (INVITE.replace(b"Subject:", b"Sub ject:"), "malformed header line"),
        (INVITE.replace(b"Subject:", b"Subject"), "malformed header line"),
        (INVITE.replace(b"Subject:", b"Sub<ject>:"), "malformed header line"),
        (INVITE.replace(b"a folded", b"a\rfolded"), "malformed header line"),
        (INVITE.replace(b"t: <sip:12319@10.0.0.1>", b"t: <tel:12319>"), "bad To header"),
        (INVITE.replace(b"Contact: <", b"Contact: <<"), "URI"),
        (b"SIP/2.0 999 Big\r\n\r\n", "status code out of range"),
        (b"SIP/2.0 099 Small\r\n\r\n", "status code out of range"),
        (b"SIP/2.0 20 OK\r\n\r\n", "bad status line"),
        (b"SIP/2.0 2000 OK\r\n\r\n", "bad status line"),
        (b"SIP/3.0 200 OK\r\n\r\n", "bad status line"),
        (b"", "empty message"),
        (b"\r\n\r\n", "empty message"),
    ],
)
def test_broken_messages_raise_a_parse_error_that_says_why(broken: bytes, why: str) -> None:
    with pytest.raises(SipParseError, match=why):
        parse_message(broken)


@pytest.mark.parametrize(
    "start_line",
    [
        b"INVITE  sip:12319@10.0.0.1 SIP/2.0",  # two SP
        b"INVITE sip:12319@10.0.0.1  SIP/2.0",
        b"INVITE sip:12319@10.0.0.1 SIP/2.0 ",  # trailing SP
        b" INVITE sip:12319@10.0.0.1 SIP/2.0",
        b"INVITE\tsip:12319@10.0.0.1 SIP/2.0",
        b"INVITE sip:12319@10.0.0.1",
        b"INVITE sip:12319@10.0.0.1 HTTP/1.1",
        b"INV(ITE sip:12319@10.0.0.1 SIP/2.0",
        b"INVITE <sip:12319@10.0.0.1> SIP/2.0",
        b"INVITE sip:12319@10.0.0.1?Route=x SIP/2.0",  # headers in a Request-URI
        b"INVITE 12319 SIP/2.0",
        b"INVITE sip:12319@ SIP/2.0",
        b"INVITE sip:12319@10.0.0.1:99999 SIP/2.0",
    ],
)
def test_request_lines_are_read_strictly(start_line: bytes) -> None:
    data = start_line + INVITE[INVITE.index(b"\r\n") :]
    with pytest.raises(SipParseError, match=r"request line|Request-URI|port|host"):
        parse_message(data)


@pytest.mark.parametrize("version", [b"SIP/2", b"SIP/2.....0", b"SIP/99999.0", b"SIP/.0"])
def test_any_other_sip_version_parses_so_that_it_can_be_answered_505(version: bytes) -> None:
    data = b"INVITE sip:12319@10.0.0.1 " + version + INVITE[INVITE.index(b"\r\n") :]
    data = data.replace(b"SIP/2.0/UDP", version + b"/UDP")
    assert request(data).version == version.decode()


@pytest.mark.parametrize("version", ["SIP/.0", "SIP/99999.0", "SIP/2.....0", "SIP/3.0"])
def test_a_via_of_another_protocol_version_in_a_sip_2_request_is_refused(version: str) -> None:
    data = INVITE.replace(b"SIP/2.0/UDP", f"{version}/UDP".encode(), 1)
    with pytest.raises(SipParseError, match="Via protocol"):
        parse_message(data)


def test_another_sip_version_is_kept_so_it_can_be_answered_505() -> None:
    data = INVITE.replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1)
    assert request(data).version == "SIP/7.0"
    assert request(INVITE.replace(b"SIP/2.0\r\n", b"sip/2.0\r\n", 1)).version == "SIP/2.0"


def test_an_empty_reason_phrase_is_allowed() -> None:
    response = parse_message(RESPONSE.replace(b"180 Ringing", b"180 "))
    assert isinstance(response, SipResponse) and response.reason == ""
    assert bytes(response).startswith(b"SIP/2.0 180 \r\n")


@pytest.mark.parametrize(
    "name", ["To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length"]
)
def test_single_value_headers_may_appear_only_once(name: str) -> None:
    value = request().headers.get(name)
    data = INVITE.replace(b"\r\n\r\n", f"\r\n{name}: {value}\r\n\r\n".encode(), 1)
    with pytest.raises(SipParseError, match=f"more than one {name}"):
        parse_message(data)


def test_messages_over_65535_bytes_are_refused() -> None:
    filler = b"X-Filler: " + b"a" * (65535 - len(INVITE) - 12)  # + CRLF: 12 bytes of frame
    exactly = INVITE.replace(b"\r\n\r\n", b"\r\n" + filler + b"\r\n\r\n", 1)
    assert len(exactly) == 65535 and request(exactly).body == b"body"
    with pytest.raises(SipParseError, match="too large"):
        parse_message(exactly + b"x")


def test_a_non_sip_request_uri_parses_but_its_sip_view_refuses() -> None:
    invite = request(INVITE.replace(b"sip:12319@10.0.0.1:5060;user=phone", b"tel:+8612319"))
    assert invite.uri == "tel:+8612319"
    with pytest.raises(SipParseError):
        invite.request_uri  # noqa: B018 - the gateway answers 416 on this


def test_unparseable_bytes_never_raise_anything_but_a_parse_error() -> None:
    for data in [b"\x00" * 40, b"\xff\xfe" * 30, "INVITE 中文 SIP/2.0\r\n".encode(), b"SIP/2.0"]:
        with pytest.raises(SipParseError):
            parse_message(data)


def test_non_utf8_header_text_is_read_not_refused() -> None:
    # A GBK display name from an old PBX: not UTF-8, still a call to answer.
    data = INVITE.replace(b'"Zhang San"', '"张三"'.encode("gbk"))
    invite = request(data)
    assert invite.from_.tag == "t1" and invite.from_.display is not None
    assert request(bytes(invite)).from_.tag == "t1"


# --- headers --------------------------------------------------------------------------------


def test_headers_are_an_ordered_case_insensitive_multimap() -> None:
    headers = Headers()
    headers.add("via", "SIP/2.0/UDP a;branch=z9hG4bK1")
    headers.add("v", "SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c;branch=z9hG4bK3")
    headers.add("X-Custom", "1")
    headers.add("x-custom", "2")
    assert headers.items[0] == ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1")
    assert headers.get("VIA") == "SIP/2.0/UDP a;branch=z9hG4bK1"
    assert len(headers.get_all("Via")) == 3
    assert headers.get_all("X-CUSTOM") == ["1", "2"]
    assert headers.get("Nothing") is None and headers.get_all("Nothing") == []
    headers.set("Via", "SIP/2.0/UDP d;branch=z9hG4bK4")
    assert headers.get_all("Via") == ["SIP/2.0/UDP d;branch=z9hG4bK4"]
    assert headers.items[0][0] == "Via"  # set keeps the first position
    headers.remove("x-custom")
    assert headers.items == [("Via", "SIP/2.0/UDP d;branch=z9hG4bK4")]


@pytest.mark.parametrize("short, long", sorted(COMPACT.items()))
def test_compact_names_are_expanded(short: str, long: str) -> None:
    headers = Headers()
    headers.add(short.upper(), "x")
    assert headers.items == [(long, "x")]
    assert headers.get(long.lower()) == "x" and headers.get(short) == "x"


def test_list_values_split_at_commas_outside_quotes_and_brackets() -> None:
    headers = Headers(
        [
            ("Contact", '"Li, Si" <sip:a@h;x=1,2>;q=0.5, <sip:b@h> , sip:c@h'),
            ("Route", "<sip:p1;lr>,<sip:p2;lr>"),
            ("Record-Route", "<sip:p3;lr>"),
            ("Subject", "one, two"),  # not a list header
        ]
    )
    assert headers.get_all("m") == ['"Li, Si" <sip:a@h;x=1,2>;q=0.5', "<sip:b@h>", "sip:c@h"]
    assert headers.get_all("Route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert headers.get_all("Record-Route") == ["<sip:p3;lr>"]
    assert headers.get_all("Subject") == ["one, two"]


# --- URIs, addresses, Via, CSeq -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sip:10.0.0.1", SipUri("sip", None, "10.0.0.1", None, {})),
        ("SIP:1001@pbx.example.cn", SipUri("sip", "1001", "pbx.example.cn", None, {})),
        ("sips:a@[2001:db8::1]:5061", SipUri("sips", "a", "[2001:db8::1]", 5061, {})),
        (
            "sip:user;par=u%40example.net@example.com:5070;transport=udp?h=v",
            SipUri(
                "sip", "user;par=u%40example.net", "example.com", 5070, {"transport": "udp"}, "h=v"
            ),
        ),
        (
            "sip:p1.example.com;lr;Maddr=x",
            SipUri("sip", None, "p1.example.com", None, {"lr": None, "maddr": "x"}),
        ),
        ("sip:alice:secret@h", SipUri("sip", "alice", "h", None, {}, "", "secret")),
        ("sip:*97#@10.0.0.1", SipUri("sip", "*97#", "10.0.0.1", None, {})),
        ("sip:%61lice@h", SipUri("sip", "%61lice", "h", None, {})),  # escapes kept as received
    ],
)
def test_sip_uris(text: str, expected: SipUri) -> None:
    uri = SipUri.parse(text)
    assert uri == expected
    assert SipUri.parse(str(uri)) == uri


@pytest.mark.parametrize(
    "text",
    [
        "tel:+8612319",
        "http://example.com",
        "sip:",
        "sip:@h",
        "sip:a@",
        "sip:a@h:0",
        "sip:a@h:65536",
        "sip:a@h:x",
        "sip:a b@h",
        "sip:a@h;",
        "sip:a@h;x=",
        "sip:a@[::1",
        "sip:a@[::1]x",
        "<sip:a@h>",
        " sip:a@h",
    ],
)
def test_bad_sip_uris_are_refused(text: str) -> None:
    with pytest.raises(SipParseError):
        SipUri.parse(text)


@pytest.mark.parametrize(
    "text, display, uri, params",
    [
        ('"Zhang San" <sip:1@h>;tag=x', "Zhang San", "sip:1@h", {"tag": "x"}),
        ('"say \\"hi\\" \\\\" <sip:1@h>', 'say "hi" \\', "sip:1@h", {}),
        ("Zhang  San <sip:1@h>", "Zhang San", "sip:1@h", {}),
        ("caller<sip:1@h>;tag=323", "caller", "sip:1@h", {"tag": "323"}),
        (
            "<sip:1@h;transport=tcp>;expires=60;q=0.5",
            None,
            "sip:1@h;transport=tcp",
            {"expires": "60", "q": "0.5"},
        ),
        ("sip:1@h;expires=60", None, "sip:1@h", {"expires": "60"}),  # params belong to the header
        ("sip:1@h ; tag = a1 ; lr", None, "sip:1@h", {"tag": "a1", "lr": None}),
        ('<sip:1@h>;x="quoted; value"', None, "sip:1@h", {"x": '"quoted; value"'}),
        ('"" <sip:1@h>', None, "sip:1@h", {}),
        ("张三 <sip:1@h>", "张三", "sip:1@h", {}),  # should be quoted; accepted anyway
    ],
)
def test_name_addrs(
    text: str, display: str | None, uri: str, params: dict[str, str | None]
) -> None:
    address = NameAddr.parse(text)
    assert (address.display, str(address.uri), address.params) == (display, uri, params)
    assert NameAddr.parse(str(address)) == address


@pytest.mark.parametrize(
    "text",
    [
        '"unterminated <sip:1@h>',
        "Li, Si <sip:1@h>",  # a comma is not a token character
        "< sip:1@h >",
        "<sip:1@h",
        '"x" sip:1@h',
        "sip:1@h?Route=x",  # '?' needs <>
        "<sip:1@h>;;tag=1",
        "<sip:1@h>;tag=",
        "<sip:1@h> junk",
        "<tel:123>",
    ],
)
def test_bad_name_addrs_are_refused(text: str) -> None:
    with pytest.raises(SipParseError):
        NameAddr.parse(text)


def test_name_addr_output_escapes_the_display_name() -> None:
    uri = SipUri.parse("sip:1@h")
    assert str(NameAddr('a "b" \\', uri, {"tag": "t"})) == '"a \\"b\\" \\\\" <sip:1@h>;tag=t'
    assert str(NameAddr("line\r\nVia: x", uri)) == '"line  Via: x" <sip:1@h>'
    assert str(NameAddr(None, uri, {"lr": None})) == "<sip:1@h>;lr"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKa;rport",
            Via("UDP", "10.0.0.9", 5062, {"branch": "z9hG4bKa", "rport": None}),
        ),
        (
            "SIP / 2.0 / tcp  host.example.com ; branch = z9hG4bKb",
            Via("TCP", "host.example.com", None, {"branch": "z9hG4bKb"}),
        ),
        (
            "SIP/2.0/UDP [2001:db8::9] : 5060;received=[2001:db8::9]",
            Via("UDP", "[2001:db8::9]", 5060, {"received": "[2001:db8::9]"}),
        ),
        (
            "SIP/2.0/WSS h;branch=z9hG4bKc;rport=5070;received=1.2.3.4",
            Via("WSS", "h", None, {"branch": "z9hG4bKc", "rport": "5070", "received": "1.2.3.4"}),
        ),
        ("SIP/7.0/UDP h", Via("UDP", "h", None, {}, "SIP/7.0")),
    ],
)
def test_vias(text: str, expected: Via) -> None:
    via = Via.parse(text)
    assert via == expected
    assert Via.parse(str(via)) == via


def test_via_branch_property_and_output() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKa;rport")
    assert via.branch == "z9hG4bKa"
    assert str(via) == "SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKa;rport"
    assert Via.parse("SIP/2.0/UDP h").branch is None


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP",
        "SIP/2.0 h",
        "HTTP/2.0/UDP h",
        "SIP/2.0/UDP h:0",
        "SIP/2.0/UDP h;;",
        "SIP/2.0/UDP a b",
        "SIP/2.0/UDP h;branch=a b",
    ],
)
def test_bad_vias_are_refused(text: str) -> None:
    with pytest.raises(SipParseError):
        Via.parse(text)


def test_cseq() -> None:
    assert CSeq.parse("0009 INVITE") == CSeq(9, "INVITE")
    assert CSeq.parse(" 2147483647\tBYE ") == CSeq(2**31 - 1, "BYE")
    assert str(CSeq(3, "ACK")) == "3 ACK"
    # RFC 3261 §8.1.1.5: less than 2**31.
    for bad in [
        "2147483648 INVITE",
        "4294967295 BYE",
        "4294967296 INVITE",
        "1",
        "INVITE 1",
        "1 INVITE x",
        "1 IN<VITE",
        "",
        "1.5 BYE",
    ]:
        with pytest.raises(SipParseError):
            CSeq.parse(bad)


# --- responses ------------------------------------------------------------------------------


def test_response_for_copies_the_transaction_headers_and_adds_a_tag() -> None:
    invite = request()
    response = response_for(invite, 486, to_tag="x9")
    assert [k for k, _ in response.headers.items] == ["Via", "Via", "From", "To", "Call-ID", "CSeq"]
    # Via values are copied as received, in order, not re-split or re-written.
    assert response.headers.items[1][1] == invite.headers.items[1][1]
    parsed = SipResponse.parse(bytes(response))
    assert (parsed.status, parsed.reason) == (486, "Busy Here")
    assert [v.branch for v in parsed.vias] == ["z9hG4bKabc", "z9hG4bKdef", "z9hG4bKx"]
    assert parsed.to.tag == "x9" and parsed.from_.tag == "t1"
    assert (parsed.call_id, parsed.cseq) == ("call-1@10.0.0.9", CSeq(7, "INVITE"))


def test_response_for_keeps_an_existing_to_tag_and_adds_none_to_a_100() -> None:
    in_dialog = request(
        INVITE.replace(b"t: <sip:12319@10.0.0.1>", b"t: <sip:12319@10.0.0.1>;tag=ours")
    )
    assert response_for(in_dialog, 200, to_tag="new").to.tag == "ours"
    assert response_for(request(), 100).to.tag is None


@pytest.mark.parametrize("status", [180, 403, 420, 488, 500])
def test_response_for_tags_every_other_answer_to_a_tagless_request(status: int) -> None:
    """RFC 3261 §8.2.6.2: a fresh tag when the dialog has none yet."""
    first, second = response_for(request(), status), response_for(request(), status)
    assert first.to.tag and second.to.tag and first.to.tag != second.to.tag


def test_the_top_via_learns_the_source_port_and_address_when_rport_is_asked() -> None:
    invite = request()  # its top Via: 10.0.0.9:5062;branch=z9hG4bKabc;rport
    stamp_top_via(invite, ("203.0.113.5", 40123))
    top = response_for(invite, 200).vias[0]
    assert top.params == {"branch": "z9hG4bKabc", "rport": "40123", "received": "203.0.113.5"}
    assert (top.host, top.port) == ("10.0.0.9", 5062)  # sent-by kept
    # The second Via header (a list of two) is untouched.
    assert invite.headers.items[1] == request().headers.items[1]


def test_received_only_when_the_sent_by_is_not_the_source_and_no_rport() -> None:
    options = request(OPTIONS)  # Via: 10.0.0.9;branch=z9hG4bKo
    stamp_top_via(options, ("10.0.0.9", 5060))
    assert options.vias[0].params == {"branch": "z9hG4bKo"}
    stamp_top_via(options, ("198.51.100.7", 5060))
    assert options.vias[0].params == {"branch": "z9hG4bKo", "received": "198.51.100.7"}


def test_a_via_list_in_one_header_has_only_its_first_value_stamped() -> None:
    listed = request(
        INVITE.replace(b"v: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKabc;rport\r\n", b"")
    )
    stamp_top_via(listed, ("192.0.2.1", 5060))
    first, second = listed.vias
    assert first.params.get("received") == "192.0.2.1" and "received" not in second.params


def test_response_for_extra_headers_body_and_reason() -> None:
    response = response_for(
        request(),
        200,
        "Fine",
        extra=[("Contact", "<sip:gw@10.0.0.1>"), ("Allow", "INVITE, BYE")],
        body=b"v=0\r\n",
        content_type="application/sdp",
    )
    assert response.reason == "Fine" and response.body == b"v=0\r\n"
    assert response.headers.get("Contact") == "<sip:gw@10.0.0.1>"
    assert response.headers.get("c") == "application/sdp"
    assert b"Content-Length: 5\r\n" in bytes(response)


@pytest.mark.parametrize(
    "status, reason",
    [
        (100, "Trying"), (180, "Ringing"), (183, "Session Progress"), (200, "OK"),
        (202, "Accepted"), (400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"),
        (404, "Not Found"), (405, "Method Not Allowed"), (408, "Request Timeout"),
        (413, "Request Entity Too Large"), (415, "Unsupported Media Type"),
        (416, "Unsupported URI Scheme"), (420, "Bad Extension"),
        (480, "Temporarily Unavailable"), (481, "Call/Transaction Does Not Exist"),
        (482, "Loop Detected"), (483, "Too Many Hops"), (486, "Busy Here"),
        (487, "Request Terminated"), (488, "Not Acceptable Here"), (491, "Request Pending"),
        (500, "Server Internal Error"), (501, "Not Implemented"), (503, "Service Unavailable"),
        (505, "Version Not Supported"), (513, "Message Too Large"), (299, "Unknown"),
        (699, "Unknown"),
    ],
)  # fmt: skip
def test_standard_reason_phrases(status: int, reason: str) -> None:
    assert response_for(request(), status).reason == reason


def test_a_broken_request_still_gives_enough_for_a_400() -> None:
    broken = INVITE.replace(b"Max-Forwards: 69", b"Max-Forwards: many")
    with pytest.raises(SipParseError):
        parse_message(broken)
    summary = request_summary_for_400(broken)
    assert summary is not None and summary.method == "INVITE"
    assert summary.call_id == "call-1@10.0.0.9"
    reply = SipResponse.parse(bytes(response_for(summary, 400, to_tag="z")))
    assert reply.status == 400 and reply.to.tag == "z" and len(reply.vias) == 3
    assert reply.cseq == CSeq(7, "INVITE")


def test_a_400_echoes_broken_headers_as_received() -> None:
    summary = request_summary_for_400(INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: seven INVITE"))
    assert summary is not None
    assert b"\r\nCSeq: seven INVITE\r\n" in bytes(response_for(summary, 400))


def test_summaries_of_bad_start_lines_and_refusals() -> None:
    summary = request_summary_for_400(INVITE.replace(b"INVITE sip", b"INVITE  sip", 1))
    assert summary is not None and summary.method == "INVITE"
    assert request_summary_for_400(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n") is None
    assert request_summary_for_400(b"\x00\x01garbage") is None
    assert request_summary_for_400(b"") is None
    assert request_summary_for_400(re.sub(rb"(v|Via): [^\r]*\r\n", b"", INVITE)) is None
    assert request_summary_for_400(INVITE.replace(b"i: call-1@10.0.0.9\r\n", b"")) is None


def test_identifiers_are_fresh_and_well_formed() -> None:
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100 and all(b.startswith("z9hG4bK") and len(b) > 16 for b in branches)
    assert len({new_tag() for _ in range(100)}) == 100
    call_id = new_call_id("10.0.0.1")
    assert call_id.endswith("@10.0.0.1") and call_id != new_call_id("10.0.0.1")
    assert re.fullmatch(r"[0-9a-f]+", new_tag())


# --- robustness -----------------------------------------------------------------------------

SEEDS = [INVITE, RESPONSE, OPTIONS]
PIECES = [
    *(bytes([c]) for c in b'\r\n \t:;,<>"\\@%=\x00\xff'),
    b"SIP/2.0",
    b"\r\n\r\n",
    b"9" * 12,
]


def _assert_only_parse_errors(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError:
        request_summary_for_400(data)  # must not raise either
        return
    # Whatever parses must serialise and parse back to the same message.
    again = parse_message(bytes(message))
    assert type(again) is type(message)
    assert again.body == message.body
    strip = [(k, v) for k, v in message.headers.items if k != "Content-Length"]
    assert [(k, v) for k, v in again.headers.items if k != "Content-Length"] == strip
    for view in ("call_id", "cseq", "from_", "to", "vias"):
        getattr(message, view)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    mutated = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        where = rng.randrange(len(mutated) + 1)
        action = rng.randrange(5)
        if action == 0 and mutated:
            mutated[min(where, len(mutated) - 1)] = rng.randrange(256)
        elif action == 1:
            mutated[where:where] = rng.choice(PIECES)
        elif action == 2:
            del mutated[where : where + rng.randint(1, 20)]
        elif action == 3:
            mutated = mutated[:where]
        else:
            start = rng.randrange(len(mutated) + 1)
            mutated[where:where] = mutated[start : start + rng.randint(1, 40)]
    return bytes(mutated)


def test_random_mutations_and_truncations_only_ever_raise_parse_errors() -> None:
    rng = random.Random(3261)
    for seed in SEEDS:
        for cut in range(len(seed) + 1):
            _assert_only_parse_errors(seed[:cut])
        for _ in range(1500):
            _assert_only_parse_errors(_mutate(rng, seed))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 2000), st.binary(max_size=8)), max_size=6),
)
def test_generated_splices_only_ever_raise_parse_errors(
    seed: bytes, edits: list[tuple[int, bytes]]
) -> None:
    data = bytearray(seed)
    for where, insert in edits:
        position = where % (len(data) + 1)
        data[position : position + len(insert) // 2] = insert
    _assert_only_parse_errors(bytes(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_ever_raise_parse_errors(data: bytes) -> None:
    _assert_only_parse_errors(data)
