"""Cutting a TCP stream into SIP messages (RFC 3261 §18.3): split, coalesced, broken."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.framing import Frame, FramingError, KeepAlive, StreamFramer
from telephony.sip import SipRequest, SipResponse, parse_message

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 8\r\n"
)


def invite(call_id: str = "tcp-1", body: bytes = SDP, length: str | None = None) -> bytes:
    head = (
        "INVITE sip:12319@127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK{call_id};rport\r\n"
        "From: <sip:13800138000@127.0.0.1>;tag=a1\r\n"
        "To: <sip:12319@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Content-Type: application/sdp\r\n"
    )
    if length != "omit":
        head += f"Content-Length: {len(body) if length is None else length}\r\n"
    return (head + "\r\n").encode() + body


RINGING = (
    b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
    b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
    b"l: 0\r\n\r\n"
)
BYE = (
    b"BYE sip:12319@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKb\r\n"
    b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n"
    b"content-length :  0 \r\n\r\n"
)


def frames(framer: StreamFramer) -> list[Frame]:
    got: list[Frame] = []
    while (frame := framer.next_frame()) is not None:
        got.append(frame)
    return got


def test_one_message_whole() -> None:
    framer = StreamFramer()
    framer.feed(invite())
    assert frames(framer) == [invite()]
    assert framer.buffered == 0
    message = parse_message(invite())
    assert isinstance(message, SipRequest) and message.body == SDP


def test_a_message_split_across_segments_comes_out_once_whole() -> None:
    data = invite()
    # Cut inside the start line, the headers, the empty line and the body.
    for cuts in ([5], [40, 200], [len(data) - len(SDP) - 1], [len(data) - 3], range(len(data))):
        framer = StreamFramer()
        out: list[Frame] = []
        bounds = [0, *cuts, len(data)]
        for start, end in itertools.pairwise(bounds):
            assert out == []
            framer.feed(data[start:end])
            out += frames(framer)
        assert out == [data]


def test_several_messages_in_one_segment_come_out_in_order() -> None:
    framer = StreamFramer()
    framer.feed(invite("a") + RINGING + BYE + invite("b")[:30])
    assert frames(framer) == [invite("a"), RINGING, BYE]
    framer.feed(invite("b")[30:])
    assert frames(framer) == [invite("b")]
    assert isinstance(parse_message(RINGING), SipResponse)
    assert isinstance(parse_message(BYE), SipRequest)


def test_the_body_ends_where_content_length_says_even_if_it_looks_like_sip() -> None:
    body = b"SIP/2.0 200 OK\r\n\r\n"
    framer = StreamFramer()
    framer.feed(invite(body=body) + BYE)
    assert frames(framer) == [invite(body=body), BYE]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1200), max_size=12))
def test_any_segmentation_gives_the_same_messages(cuts: list[int]) -> None:
    stream = invite("a") + b"\r\n" + RINGING + BYE + invite("b")
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    framer = StreamFramer()
    out: list[Frame] = []
    for start, end in itertools.pairwise(bounds):
        framer.feed(stream[start:end])
        out += frames(framer)
    assert out == [invite("a"), RINGING, BYE, invite("b")]


def test_blank_lines_between_messages_are_skipped_and_a_double_crlf_is_a_ping() -> None:
    framer = StreamFramer()
    framer.feed(b"\r\n" + BYE + b"\r\n\r\n" + RINGING + b"\r\n")
    assert frames(framer) == [BYE, KeepAlive(), RINGING]
    framer.feed(b"\r\n")
    assert frames(framer) == [KeepAlive()]
    framer.feed(b"\r\n\r")  # a ping still arriving
    assert frames(framer) == []
    framer.feed(b"\n")
    assert frames(framer) == [KeepAlive()]


def test_a_message_without_content_length_is_refused_with_400() -> None:
    framer = StreamFramer()
    framer.feed(BYE + invite(length="omit"))
    assert framer.next_frame() == BYE
    with pytest.raises(FramingError) as refused:
        framer.next_frame()
    assert refused.value.status == 400
    assert "Content-Length" in str(refused.value)
    assert refused.value.head.startswith(b"INVITE sip:12319@")


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "99999999999", ""])
def test_a_bad_content_length_is_refused_with_400(length: str) -> None:
    framer = StreamFramer()
    framer.feed(invite(length=length))
    with pytest.raises(FramingError) as refused:
        framer.next_frame()
    assert refused.value.status == 400


def test_two_different_content_lengths_are_refused() -> None:
    framer = StreamFramer()
    framer.feed(invite().replace(b"Content-Type:", b"l: 3\r\nContent-Type:"))
    with pytest.raises(FramingError) as refused:
        framer.next_frame()
    assert refused.value.status == 400


def test_a_message_over_the_cap_is_refused_with_513_before_its_body_arrives() -> None:
    framer = StreamFramer(max_message=2000)
    data = invite(body=b"x" * 3000)
    framer.feed(data[:600])  # the header section only: the length alone is enough
    with pytest.raises(FramingError) as refused:
        framer.next_frame()
    assert refused.value.status == 513


def test_a_header_section_that_never_ends_is_refused_at_the_cap() -> None:
    framer = StreamFramer(max_message=2000)
    framer.feed(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n")
    assert framer.next_frame() is None
    framer.feed(b"X-Long: " + b"a" * 2500 + b"\r\n")
    with pytest.raises(FramingError) as refused:
        framer.next_frame()
    assert refused.value.status == 513


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00\xff" * 700,
        b"INVITE\r\n\r\n",
        b"hello there\n",
    ],
)
def test_garbage_is_refused_at_once_without_an_answer(garbage: bytes) -> None:
    framer = StreamFramer()
    framer.feed(garbage)
    with pytest.raises(FramingError) as refused:
        framer.next_frame()
    assert refused.value.status is None


def test_garbage_after_a_good_message_still_lets_the_good_one_out() -> None:
    framer = StreamFramer()
    framer.feed(BYE + b"\x00\x01\x02junk")
    assert framer.next_frame() == BYE
    with pytest.raises(FramingError):
        framer.next_frame()


def test_a_start_line_still_arriving_is_waited_for() -> None:
    framer = StreamFramer()
    framer.feed(invite()[:20])
    assert framer.next_frame() is None
    framer.feed(invite()[20:])
    assert framer.next_frame() == invite()
