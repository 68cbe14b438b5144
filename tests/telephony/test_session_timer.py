"""Session timers (RFC 4028): what a request asks for, our answer, and the timer kept."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from telephony.session_timer import MIN_SE, SessionTimer, SessionTimers, TooBrief, negotiate
from telephony.sip import Headers, SipRequest, SipResponse


def request(*headers: tuple[str, str]) -> SipRequest:
    """An INVITE as it arrives (header names as the parser gives them, compact forms too)."""
    lines = [
        "INVITE sip:12319@10.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKst",
        "From: <sip:13900000000@10.0.0.9>;tag=a",
        "To: <sip:12319@10.0.0.1>",
        "Call-ID: st-1",
        "CSeq: 1 INVITE",
        *(f"{name}: {value}" for name, value in headers),
        "Content-Length: 0",
        "",
        "",
    ]
    return SipRequest.parse("\r\n".join(lines).encode())


def test_no_session_expires_no_timer() -> None:
    assert negotiate(request(("Supported", "timer"))) is None


def test_the_callers_choice_is_kept_and_a_supporting_caller_gets_require() -> None:
    timer = negotiate(request(("Session-Expires", "1800;refresher=uas"), ("k", "100rel, timer")))
    assert timer == SessionTimer(1800, "uas", True)
    assert timer.headers() == [("Session-Expires", "1800;refresher=uas"), ("Require", "timer")]
    assert timer.refresh_after == 900


def test_left_to_us_the_caller_refreshes_and_a_lapse_is_noticed_before_the_end() -> None:
    timer = negotiate(request(("x", "300")))  # compact form, no refresher, no Supported
    assert timer == SessionTimer(300, "uac", False)
    assert timer.headers() == [("Session-Expires", "300;refresher=uac")]
    assert timer.expires_after == 300 - 32
    assert SessionTimer(90, "uac", False).expires_after == 60  # a third when that is less


def test_too_brief_is_refused_with_our_minimum_and_garbage_is_an_error() -> None:
    with pytest.raises(TooBrief) as brief:
        negotiate(request(("Session-Expires", "60")))
    assert str(brief.value) == str(MIN_SE) == "90"
    for bad in ("soon", "", "99999999999", "-5"):
        with pytest.raises(ValueError):
            negotiate(request(("Session-Expires", bad)))


@dataclass
class FakeCall:
    id: str = "c1"
    ended: bool = False


@dataclass
class FakeDialog:
    destination: tuple[str, int] = ("10.0.0.9", 5060)


@dataclass
class FakeLeg:
    call: FakeCall = field(default_factory=FakeCall)
    ended: bool = False
    session_watch: asyncio.TimerHandle | None = None
    dialog: Any = field(default_factory=lambda: FakeDialog())


class FakeGateway:
    """What SessionTimers asks of the gateway, recorded."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.sent = asyncio.Event()
        self.updates: list[SipRequest] = []
        self.answer: Any = None

    def _end_call(self, call: FakeCall, reason: str, initiator: object) -> None:
        assert reason == "session-expired" and initiator is None
        call.ended = True
        self.ended.set()

    def _request(self, leg: FakeLeg, method: str) -> SipRequest:
        via = ("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKrefresh")
        self.last = SipRequest(method, "sip:caller@10.0.0.9", Headers([via]), b"")
        return self.last

    @property
    def _clients(self) -> FakeGateway:
        return self

    def start(
        self, branch: str, method: str, data: bytes, to: Any, on_response: Any, _: Any
    ) -> None:
        self.updates.append(self.last)
        self.answer = on_response
        self.sent.set()


async def test_a_session_its_caller_lets_lapse_is_ended() -> None:
    gateway, leg = FakeGateway(), FakeLeg()
    SessionTimers(gateway).start(leg, SessionTimer(1, "uac", False))
    await asyncio.wait_for(gateway.ended.wait(), timeout=10)
    assert leg.call.ended and leg.session_watch is None


async def test_a_refresh_from_the_caller_restarts_the_timer_and_an_ended_leg_stops_it() -> None:
    gateway, leg = FakeGateway(), FakeLeg()
    timers = SessionTimers(gateway)
    timers.start(leg, SessionTimer(1800, "uac", False))
    first = leg.session_watch
    timers.start(leg, SessionTimer(1800, "uac", False))  # a re-INVITE or UPDATE refreshed it
    assert first is not None and first.cancelled() and leg.session_watch is not first
    timers.stop(leg)
    assert leg.session_watch is None


async def test_as_the_refresher_we_send_update_and_go_on_after_a_2xx() -> None:
    gateway, leg = FakeGateway(), FakeLeg()
    SessionTimers(gateway).start(leg, SessionTimer(1, "uas", False))
    await asyncio.wait_for(gateway.sent.wait(), timeout=10)
    update = gateway.updates[0]
    assert update.method == "UPDATE"
    assert update.headers.get("Session-Expires") == "1;refresher=uas"
    gateway.answer(SipResponse(200, "OK", Headers(), b""))
    assert leg.session_watch is not None  # the next refresh is due
    leg.ended = True
