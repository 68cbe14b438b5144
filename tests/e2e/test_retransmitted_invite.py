"""A caller's INVITE sent again (same Call-ID and branch) is one call, answered alike each time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hotline.models import Call, CallEvent
from telephony.sip import NameAddr, SipResponse
from tests.conftest import RunningHotline
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def in_dialog(method: str, cseq: int, ok: bytes, local: tuple[str, int], transport: str) -> bytes:
    """ACK or BYE in the dialog the gateway's 200 OK set up (To tag, Contact)."""
    answer = SipResponse.parse(ok)
    target = NameAddr.parse(answer.headers.get("Contact") or "").uri
    host, port = local
    return (
        f"{method} {target} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {host}:{port};branch=z9hG4bK{method.lower()}{cseq};rport\r\n"
        f"From: {answer.headers.get('From')}\r\nTo: {answer.headers.get('To')}\r\n"
        f"Call-ID: {answer.call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def calls_recorded(hotline: RunningHotline, sip_call_id: str) -> tuple[list[Call], int]:
    """The call records with this SIP Call-ID, and how many times one was logged as arrived."""
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        calls = list(await db.scalars(select(Call).where(Call.sip_call_id == sip_call_id)))
        arrived = await db.scalar(
            select(func.count())
            .select_from(CallEvent)
            .join(Call, Call.id == CallEvent.call_id)
            .where(Call.sip_call_id == sip_call_id, CallEvent.kind == "arrived")
        )
    return calls, int(arrived or 0)


async def test_a_retransmitted_invite_over_udp_makes_one_call(hotline: RunningHotline) -> None:
    gateway = hotline.sip_address
    probe = SipProbe()
    loop = asyncio.get_running_loop()
    try:
        request = invite(probe, gateway, call_id="retrans-udp")
        await probe.send(request, gateway)
        await probe.send(request, gateway)  # the carrier did not see the 100 in time
        answers: list[bytes] = []
        async with asyncio.timeout(10):
            while not answers or status_of(answers[-1]) != 200:
                answers.append((await loop.sock_recvfrom(probe.sock, 65535))[0])
        answers += await probe.responses_until_sentinel(gateway)
        # Each copy was answered with the transaction's last response, byte for byte: the
        # 100 again, or the 200 if it had gone already; never a second 100 or 200 of its own.
        assert {status_of(a) for a in answers} == {100, 200}
        assert len(set(answers)) == 2, answers
        assert len(answers) >= 3
        ok = next(a for a in answers if status_of(a) == 200)

        await probe.send(request, gateway)  # once more, after the final response
        again = await probe.responses_until_sentinel(gateway)
        assert again and all(a == ok for a in again)
        assert hotline.system.gateway.active_calls == 1

        await probe.send(in_dialog("ACK", 1, ok, probe.address, "UDP"), gateway)
        await probe.send(in_dialog("BYE", 2, ok, probe.address, "UDP"), gateway)
        bye_answers = [a for a in await probe.responses_until_sentinel(gateway) if b" BYE\r\n" in a]
        assert [status_of(a) for a in bye_answers] == [200]
    finally:
        probe.close()
    calls, arrived = await calls_recorded(hotline, "retrans-udp")
    assert len(calls) == 1 and arrived == 1
    assert calls[0].state == "ended" and calls[0].end_reason == "caller-hangup"
    assert hotline.system.gateway.active_calls == 0


def tcp_invite(local: tuple[str, int], gateway: tuple[str, int], call_id: str) -> bytes:
    host, port = local
    body = (
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0\r\n"
    )
    head = (
        f"INVITE sip:12319@{gateway[0]}:{gateway[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP {host}:{port};branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:13900000000@{host}>;tag=a1\r\nTo: <sip:12319@{gateway[0]}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:13900000000@{host}:{port};transport=tcp>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_message(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(10):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        return head + await reader.readexactly(length)


async def test_an_invite_repeated_on_one_tcp_segment_gets_the_same_100_and_one_call(
    hotline: RunningHotline,
) -> None:
    """Both copies arrive together, before the gateway could answer 200: the second one gets
    the very 100 the first did (over TCP a peer should not repeat, but a UDP hop may)."""
    gateway = hotline.sip_address
    reader, writer = await asyncio.open_connection(*gateway)
    local = writer.get_extra_info("sockname")[:2]
    try:
        request = tcp_invite(local, gateway, "retrans-tcp")
        writer.write(request + request)
        first, second, ok = [await read_message(reader) for _ in range(3)]
        assert status_of(first) == 100 and second == first
        assert status_of(ok) == 200 and b"Call-ID: retrans-tcp" in ok
        assert b";transport=tcp>" in ok  # the dialog stays on TCP
        writer.write(in_dialog("ACK", 1, ok, local, "TCP") + in_dialog("BYE", 2, ok, local, "TCP"))
        while b" BYE\r\n" not in (bye_answer := await read_message(reader)):
            assert bye_answer == ok  # the 200 to INVITE again, sent before the ACK came
        assert status_of(bye_answer) == 200
    finally:
        writer.close()
    calls, arrived = await calls_recorded(hotline, "retrans-tcp")
    assert len(calls) == 1 and arrived == 1
    assert calls[0].end_reason == "caller-hangup"
