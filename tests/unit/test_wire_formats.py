"""SIP, SDP, RTP, G.711 and digest: parse, serialise, refuse bad bytes with ValueError."""

from __future__ import annotations

import random
import struct
import warnings

import pytest

from telephony import g711, sdp
from telephony.digest import DigestCredentials, NonceIssuer, expected_response, ha1, verify
from telephony.rtp import RtpPacket
from telephony.sip import (
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    parse_message,
    request_summary_for_400,
    response_for,
)
from tests.conftest import SHARED

TORTURE = SHARED / "testdata" / "rfc4475"
INVITE = (
    b"INVITE sip:12319@10.0.0.1:5060;user=phone SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKabc;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKdef, "
    b"SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKx\r\n"
    b'f: "Zhang San" <sip:13800138000@10.0.0.9>;tag=t1\r\n'
    b"t: <sip:12319@10.0.0.1>\r\n"
    b"i: call-1@10.0.0.9\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Subject: a folded\r\n  header\r\n"
    b"Contact: <sip:13800138000@10.0.0.9:5062>\r\n"
    b"Max-Forwards: 70\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n\r\nbody-and-noise"
)


def test_request_parses_compact_folded_and_multi_valued_headers() -> None:
    request = SipRequest.parse(INVITE)
    assert request.method == "INVITE"
    assert request.request_uri.user == "12319" and request.request_uri.params == {"user": "phone"}
    assert [v.branch for v in request.vias] == ["z9hG4bKabc", "z9hG4bKdef", "z9hG4bKx"]
    assert request.vias[2].host == "[2001:db8::1]" and request.vias[2].port == 5070
    assert request.from_.display == "Zhang San" and request.from_.tag == "t1"
    assert request.to.tag is None
    assert (request.cseq.number, request.cseq.method) == (7, "INVITE")
    assert request.headers.get("Subject") == "a folded header"
    assert request.body == b"body"  # Content-Length frames it; the rest is noise


def test_serialised_request_parses_back_the_same() -> None:
    request = SipRequest.parse(INVITE)
    again = SipRequest.parse(bytes(request))
    assert again.headers.items == [*request.headers.items[:-1], ("Content-Length", "4")]
    assert again.body == request.body and again.uri == request.uri


def test_response_for_copies_the_transaction_headers_and_adds_a_tag() -> None:
    request = SipRequest.parse(INVITE)
    response = response_for(request, 486, to_tag="x9")
    parsed = SipResponse.parse(bytes(response))
    assert (parsed.status, parsed.reason) == (486, "Busy Here")
    assert [v.branch for v in parsed.vias] == ["z9hG4bKabc", "z9hG4bKdef", "z9hG4bKx"]
    assert parsed.to.tag == "x9" and parsed.call_id == "call-1@10.0.0.9"


@pytest.mark.parametrize(
    "broken, why",
    [
        (INVITE.replace(b"i: call-1@10.0.0.9\r\n", b""), "missing Call-ID"),
        (INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: 7 BYE"), "CSeq method mismatch"),
        (INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: 4294967296 INVITE"), "CSeq number too large"),
        (INVITE.replace(b"l: 4", b"l: 400"), "body shorter than Content-Length"),
        (INVITE.replace(b"l: 4", b"l: five"), "bad Content-Length"),
        (
            INVITE.replace(b"t: <sip:12319@10.0.0.1>\r\n", b"t: <sip:a>\r\nTo: <sip:b>\r\n"),
            "more than one To",
        ),
        (b"SIP/2.0 999 Big\r\n\r\n", "status code out of range"),
        (b"INVITE  sip:x SIP/2.0\r\n\r\n", "bad request line"),
    ],
)
def test_broken_messages_raise_a_parse_error_that_says_why(broken: bytes, why: str) -> None:
    with pytest.raises(SipParseError, match=why):
        parse_message(broken)


def test_a_broken_request_still_gives_enough_for_a_400() -> None:
    summary = request_summary_for_400(INVITE.replace(b"CSeq: 7 INVITE", b"CSeq: seven INVITE"))
    assert summary is not None and summary.call_id == "call-1@10.0.0.9"
    assert request_summary_for_400(b"SIP/2.0 200 OK\r\n\r\n") is None
    assert request_summary_for_400(b"\x00\x01garbage") is None


def test_uris_and_name_addrs() -> None:
    uri = SipUri.parse("sip:user;par=u%40example.net@example.com:5070;transport=udp?h=v")
    assert (uri.user, uri.host, uri.port) == ("user;par=u%40example.net", "example.com", 5070)
    assert str(uri) == "sip:user;par=u%40example.net@example.com:5070;transport=udp?h=v"
    bare = NameAddr.parse("sip:1001@10.0.0.5;expires=60")
    assert bare.params == {"expires": "60"} and bare.uri.params == {}
    with pytest.raises(SipParseError):
        SipUri.parse("tel:+8612319")
    with pytest.raises(SipParseError):
        Via.parse("SIP/2.0/UDP")


def torture_files() -> list[str]:
    files = sorted(p.stem for p in TORTURE.glob("*.dat"))
    assert len(files) == 49, f"RFC 4475 messages expected in {TORTURE}"
    return files


VALID = [
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
]


@pytest.mark.parametrize("name", VALID)
def test_rfc4475_valid_messages_parse(name: str) -> None:
    message = parse_message((TORTURE / f"{name}.dat").read_bytes())
    if name == "intmeth":
        assert isinstance(message, SipRequest)
        assert message.method == "!interesting-Method0123456789_*+`.%indeed'~"
    if name == "esc02":
        assert isinstance(message, SipRequest) and message.method == "RE%47IST%45R"
        assert len(message.headers.get_all("Contact")) == 2
    if name == "dblreq":
        assert isinstance(message, SipRequest) and message.method == "REGISTER"
        assert message.body == b""
    if name == "semiuri":
        assert isinstance(message, SipRequest)
        assert message.request_uri.user == "user;par=u%40example.net"
    if name == "noreason":
        assert isinstance(message, SipResponse) and message.reason == ""


def test_no_torture_message_or_mutation_raises_anything_but_a_parse_error() -> None:
    rng = random.Random(4475)
    for name in torture_files():
        data = (TORTURE / f"{name}.dat").read_bytes()
        samples = [data, data[: len(data) // 2], data[::-1]]
        for _ in range(30):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            samples.append(bytes(mutated))
        for sample in samples:
            try:
                parse_message(sample)
            except SipParseError:
                pass


OFFER = (
    b"v=0\r\no=trunk 1 2 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 18 8 0 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)


def test_sdp_answer_picks_the_callers_first_g711_codec() -> None:
    offer = sdp.SessionDescription.parse(OFFER)
    assert (offer.connection_address, offer.audio_port) == ("10.0.0.9", 40000)
    assert sdp.choose_codec(offer) == sdp.PCMA
    answer = sdp.SessionDescription.parse(bytes(sdp.build_answer(offer, "10.0.0.1", 20000, 8, 5)))
    assert answer.payload_types == [8, 101] and answer.audio_port == 20000
    assert answer.rtpmaps[8] == "PCMA/8000"
    only_g729 = OFFER.replace(b"18 8 0 101", b"18")
    assert sdp.choose_codec(sdp.SessionDescription.parse(only_g729)) is None
    with pytest.raises(ValueError):
        sdp.SessionDescription.parse(b"v=0\r\nc=IN IP4 1.2.3.4\r\n")


def test_rtp_round_trip_and_refusals() -> None:
    packet = RtpPacket(8, 65535, 2**32 - 1, 0x12345678, b"\xd5" * 160, marker=True, csrcs=(1, 2))
    again = RtpPacket.parse(bytes(packet))
    assert again == packet
    padded = bytearray(bytes(RtpPacket(0, 1, 2, 3, b"abc")) + b"\x00\x00\x03")
    padded[0] |= 0x20
    assert RtpPacket.parse(bytes(padded)).payload == b"abc"
    for bad in [b"\x80" * 5, b"\x40" + b"\x00" * 11, bytes([0x8F]) + b"\x00" * 11]:
        with pytest.raises(ValueError):
            RtpPacket.parse(bad)


def test_g711_matches_the_reference_codec_for_every_value() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    pcm = struct.pack("<65536h", *range(-32768, 32768))
    codes = bytes(range(256))
    assert g711.linear_to_ulaw(pcm) == audioop.lin2ulaw(pcm, 2)
    assert g711.linear_to_alaw(pcm) == audioop.lin2alaw(pcm, 2)
    assert g711.ulaw_to_linear(codes) == audioop.ulaw2lin(codes, 2)
    assert g711.alaw_to_linear(codes) == audioop.alaw2lin(codes, 2)


def test_digest_matches_the_rfc_2617_example() -> None:
    creds = DigestCredentials.parse(
        'Digest username="Mufasa", realm="testrealm@host.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    secret = ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    assert expected_response(creds, "GET", secret) == "6629fae49393a05397450978507c4ef1"
    assert verify(creds, "GET", secret)
    assert not verify(creds, "GET", ha1("Mufasa", "testrealm@host.com", "wrong"))
    with pytest.raises(ValueError):
        DigestCredentials.parse("Basic dXNlcjpwYXNz")


def test_nonces_expire_and_cannot_be_forged() -> None:
    issuer = NonceIssuer(b"secret", lifetime_seconds=300)
    nonce = issuer.issue(now=1000.0)
    assert issuer.check(nonce, now=1200.0) == "ok"
    assert issuer.check(nonce, now=1301.0) == "stale"
    assert NonceIssuer(b"other").check(nonce, now=1000.0) == "invalid"
    assert issuer.check("not-a-nonce", now=1000.0) == "invalid"
