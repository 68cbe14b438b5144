"""RtpengineRelay's ng requests for a re-offer, mute and hold within a call, against a
recording fake of the ng client (the real daemon is driven in tests/e2e/test_rtpengine_media.py)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from telephony.media_relay import RtpengineRelay
from telephony.ng import NgClient, NgMessage, NgValue


class FakeNg:
    """Answers every command with an SDP whose session name is the command and its tag."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, NgValue]]] = []

    async def command(self, command: str, **params: NgValue) -> NgMessage:
        self.sent.append((command, params))
        return NgMessage(b"c", {b"sdp": answer_sdp(f"{command} {params.get('from-tag')}")})

    def close(self) -> None:
        return None


def answer_sdp(name: str) -> bytes:
    return (
        f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns={name}\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 30000 RTP/AVP 0\r\n"
    ).encode()


def relay() -> tuple[RtpengineRelay, FakeNg]:
    fake = FakeNg()
    return RtpengineRelay(cast(NgClient, fake)), fake


def sdp_of(params: dict[str, Any]) -> Any:
    return params["sdp"], params["from-tag"], params.get("to-tag")


def test_a_reoffer_for_a_call_rtpengine_does_not_carry_is_left_to_the_embedded_leg() -> None:
    relay_, fake = relay()
    assert asyncio.run(relay_.reoffer("unknown", True, b"caller v2")) is None
    assert fake.sent == []


def test_the_callers_reoffer_is_answered_with_the_other_sides_sdp_as_it_stands() -> None:
    relay_, fake = relay()

    async def scenario() -> list[bytes | None]:
        unknown = await relay_.reoffer("c", True, b"caller v2")  # no session yet
        await relay_.caller_offer("c", b"caller v1", b"player")
        queued = await relay_.reoffer("c", True, b"caller v2")  # while queued: the player
        await relay_.agent_offer("c", b"player")
        await relay_.agent_answer("c", b"phone v1")
        answered = await relay_.reoffer("c", True, b"caller v3")  # once answered: the phone
        return [unknown, queued, answered]

    assert asyncio.run(scenario()) == [
        None,
        answer_sdp("answer caller"),
        answer_sdp("answer caller"),
    ]
    offers = [(c, sdp_of(p)) for c, p in fake.sent]
    assert offers[2:4] == [
        ("offer", (b"caller v2", "caller", "callee")),
        ("answer", (b"player", "caller", "callee")),
    ]
    # The agent's offer carries the caller's newest SDP; the later re-offer answers with the
    # phone's.
    assert offers[4] == ("offer", (b"caller v2", "caller", None))
    assert offers[6:] == [
        ("offer", (b"caller v3", "caller", "callee")),
        ("answer", (b"phone v1", "caller", "callee")),
    ]


def test_the_agents_reoffer_comes_from_the_callee_tag_and_is_answered_with_the_callers() -> None:
    relay_, fake = relay()

    async def scenario() -> bytes | None:
        await relay_.caller_offer("c", b"caller v1", b"player")
        await relay_.agent_offer("c", b"player")
        await relay_.agent_answer("c", b"phone v1")
        held = await relay_.reoffer("c", False, b"phone sendonly")
        await relay_.reoffer("c", True, b"caller v2")
        return held

    assert asyncio.run(scenario()) == answer_sdp("answer callee")
    offers = [(c, sdp_of(p)) for c, p in fake.sent[4:]]
    assert offers == [
        ("offer", (b"phone sendonly", "callee", "caller")),
        ("answer", (b"caller v1", "callee", "caller")),
        ("offer", (b"caller v2", "caller", "callee")),
        ("answer", (b"phone sendonly", "caller", "callee")),  # the phone's SDP as it stands
    ]


def test_delete_forgets_the_sides() -> None:
    relay_, fake = relay()

    async def scenario() -> bytes | None:
        await relay_.caller_offer("c", b"caller v1", b"player")
        await relay_.delete("c")
        return await relay_.reoffer("c", True, b"caller v2")

    assert asyncio.run(scenario()) is None
    assert [c for c, _ in fake.sent] == ["offer", "answer", "delete"]


def blocking(fake: FakeNg) -> list[tuple[str, Any]]:
    """The block and unblock requests sent, with the tag each was for."""
    return [(c, p["from-tag"]) for c, p in fake.sent if c in ("block media", "unblock media")]


def test_mute_blocks_what_the_agents_phone_sends_and_unmute_lets_it_through() -> None:
    relay_, fake = relay()

    async def scenario() -> None:
        await relay_.mute("c", True)
        await relay_.mute("c", True)  # pressed twice: asked once
        await relay_.mute("c", False)

    asyncio.run(scenario())
    assert blocking(fake) == [("block media", "callee"), ("unblock media", "callee")]
    assert all(p["call-id"] == "c" for _, p in fake.sent)


def test_a_muted_agent_stays_muted_through_a_hold_and_its_resume() -> None:
    relay_, fake = relay()

    async def scenario() -> None:
        await relay_.mute("c", True)
        await relay_.hold("c", music_to_caller=True, music=b"")
        await relay_.resume("c")

    asyncio.run(scenario())
    assert blocking(fake) == [
        ("block media", "callee"),
        ("block media", "caller"),
        ("block media", "callee"),
        ("unblock media", "caller"),  # the agent hears the caller again, not the other way
    ]


def test_unmute_during_a_hold_takes_effect_at_the_resume() -> None:
    relay_, fake = relay()

    async def scenario() -> None:
        await relay_.mute("c", True)
        await relay_.hold("c", music_to_caller=True, music=b"")
        mark = len(fake.sent)
        await relay_.mute("c", False)
        assert len(fake.sent) == mark  # both still blocked by the hold
        await relay_.resume("c")

    asyncio.run(scenario())
    assert blocking(fake)[-2:] == [("unblock media", "caller"), ("unblock media", "callee")]


def test_take_back_points_the_callee_side_at_the_embedded_caller_leg_again() -> None:
    relay_, fake = relay()

    async def scenario() -> tuple[str, int] | None:
        await relay_.caller_offer("c", b"caller v1", b"player")
        await relay_.agent_offer("c", b"player")
        await relay_.agent_answer("c", b"phone")
        await relay_.mute("c", True)
        del fake.sent[:]
        return await relay_.take_back("c")

    # The answer names rtpengine's callee-facing address: where the embedded leg now sends.
    assert asyncio.run(scenario()) == ("127.0.0.1", 30000)
    assert [(c, p.get("from-tag")) for c, p in fake.sent] == [
        ("unblock media", "callee"),  # a muted agent is silenced by the embedded leg from now
        ("offer", "callee"),
        ("answer", "callee"),
    ]
    assert sdp_of(fake.sent[1][1]) == (b"player", "callee", "caller")
    assert sdp_of(fake.sent[2][1]) == (b"caller v1", "callee", "caller")
    assert asyncio.run(relay_.take_back("unknown")) is None
