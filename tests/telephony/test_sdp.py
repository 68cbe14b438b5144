"""SDP: reading offers, choosing G.711, writing offers and answers."""

from __future__ import annotations

import pytest

from telephony import sdp
from telephony.sdp import PCMA, PCMU, TELEPHONE_EVENT, SessionDescription

OFFER = (
    b"v=0\r\no=trunk 1234 5678 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 18 8 0 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
)


def test_offer_is_read() -> None:
    offer = SessionDescription.parse(OFFER)
    assert offer == SessionDescription(
        origin_address="10.0.0.9",
        connection_address="10.0.0.9",
        audio_port=40000,
        payload_types=[18, 8, 0, 101],
        rtpmaps={18: "G729/8000", 8: "PCMA/8000", 101: "telephone-event/8000"},
        direction="sendrecv",
        session_id=1234,
        session_version=5678,
    )


def test_media_level_connection_and_direction_override_the_session_level() -> None:
    body = (
        b"v=0\no=- 1 1 IN IP4 10.0.0.9\ns=-\nc=IN IP4 10.0.0.9\nt=0 0\na=sendrecv\n"
        b"m=video 50000 RTP/AVP 96\nc=IN IP4 10.0.0.77\na=rtpmap:96 H264/90000\na=inactive\n"
        b"m=audio 40002 RTP/AVP 0\nc=IN IP4 224.2.1.1/127\na=sendonly\n"
        b"m=audio 40004 RTP/AVP 8\n"
    )
    offer = SessionDescription.parse(body)
    # The first audio stream counts; the video stream's lines do not leak into it.
    assert (offer.connection_address, offer.audio_port) == ("224.2.1.1", 40002)
    assert offer.payload_types == [0] and offer.rtpmaps == {}
    assert offer.direction == "sendonly"


def test_session_level_direction_applies_when_the_stream_has_none() -> None:
    body = OFFER.replace(b"a=sendrecv\r\n", b"").replace(b"t=0 0\r\n", b"t=0 0\r\na=recvonly\r\n")
    assert SessionDescription.parse(body).direction == "recvonly"


@pytest.mark.parametrize(
    "body",
    [
        b"v=0\r\nc=IN IP4 1.2.3.4\r\n",  # no audio stream
        b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n",  # no address
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 4000 RTP/AVP 96\r\n",
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n",
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n",
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP PCMU\r\n",
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 200\r\n",
        b"v=0\r\nc=IN\r\nm=audio 4000 RTP/AVP 0\r\n",
        b"",
        b"\xff\xfe\x00",
    ],
)
def test_unusable_descriptions_raise_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        SessionDescription.parse(body)


def test_choose_codec_follows_the_offers_order() -> None:
    offer = SessionDescription.parse(OFFER)
    assert sdp.choose_codec(offer) == PCMA
    assert sdp.choose_codec(offer, supported=(PCMU,)) == PCMU
    assert sdp.choose_codec(offer, supported=()) is None
    only_g729 = OFFER.replace(b"18 8 0 101", b"18 101")
    assert sdp.choose_codec(SessionDescription.parse(only_g729)) is None


def test_choose_codec_recognises_g711_on_a_dynamic_payload_type() -> None:
    body = OFFER.replace(b"18 8 0 101", b"18 96 101").replace(
        b"a=rtpmap:8 PCMA/8000", b"a=rtpmap:96 pcmu/8000/1"
    )
    offer = SessionDescription.parse(body)
    assert sdp.choose_codec(offer) == PCMU
    answer = sdp.build_answer(offer, "10.0.0.1", 20000, PCMU, 5)
    assert answer.payload_types == [96, 101] and answer.rtpmaps[96] == "PCMU/8000"


def test_offer_is_written_exactly() -> None:
    offer = sdp.build_offer("10.0.0.1", 20000, [PCMU, PCMA], 42)
    assert bytes(offer) == (
        b"v=0\r\no=hotline 42 42 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
    assert SessionDescription.parse(bytes(offer)) == offer
    assert TELEPHONE_EVENT == 101


def test_answer_uses_one_codec_the_offers_event_type_and_the_mirrored_direction() -> None:
    body = OFFER.replace(b"101", b"100").replace(b"a=sendrecv", b"a=sendonly")
    answer = sdp.build_answer(SessionDescription.parse(body), "10.0.0.1", 20002, PCMA, 7)
    assert answer.payload_types == [PCMA, 100]
    assert answer.rtpmaps == {PCMA: "PCMA/8000", 100: "telephone-event/8000"}
    assert answer.direction == "recvonly"
    assert (answer.connection_address, answer.audio_port, answer.session_id) == (
        "10.0.0.1",
        20002,
        7,
    )
    assert SessionDescription.parse(bytes(answer)) == answer


def test_answer_without_offered_events_carries_only_the_codec() -> None:
    body = OFFER.replace(b" 101\r\n", b"\r\n").replace(
        b"a=rtpmap:101 telephone-event/8000\r\n", b""
    )
    answer = sdp.build_answer(SessionDescription.parse(body), "10.0.0.1", 20000, PCMU, 1)
    assert answer.payload_types == [PCMU] and b"telephone-event" not in bytes(answer)


def test_ipv6_addresses_are_written_as_ip6() -> None:
    data = bytes(sdp.build_offer("2001:db8::1", 20000, [PCMU], 1))
    assert b"c=IN IP6 2001:db8::1\r\n" in data and b"IN IP6 2001:db8::1\r\ns=" in data
    assert SessionDescription.parse(data).connection_address == "2001:db8::1"


def test_a_new_offer_keeps_the_sessions_origin_one_version_up() -> None:
    # What the phone got last (rtpengine's rewrite of the carrier's offer), then our offer.
    previous = b"v=0\r\no=- 1545997027 41 IN IP4 10.0.0.4\r\ns=-\r\nc=IN IP4 10.0.0.4\r\n"
    ours = sdp.build_offer("10.0.0.5", 30000, [sdp.PCMA], 7)
    offer = sdp.next_in_session(previous, bytes(ours))
    assert b"o=- 1545997027 42 IN IP4 10.0.0.4\r\n" in offer
    parsed = sdp.SessionDescription.parse(offer)
    assert (parsed.connection_address, parsed.audio_port) == ("10.0.0.5", 30000)
    assert sdp.next_in_session(b"v=0\r\n", bytes(ours)) == bytes(ours)  # no origin to keep
